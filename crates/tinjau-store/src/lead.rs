//! The team lead's work: merging every juror's submitted sheet, ranking, and the decisions the
//! lead records (reopen a sheet, break a tie, note a disputed indicator, lock a result).

use rusqlite::OptionalExtension;
use tinjau_core::authority::is_visit_lead;
use tinjau_core::change::FieldValue;
use tinjau_core::merge::{
    Lock, LockedResult, MergeInput, MergeResult, Sensitivity, SheetScores, TieBreak, merge,
    sensitivity,
};
use tinjau_core::package::{Method, Role};
use tinjau_core::{SheetState, ids};

use crate::changes::ChangeTarget;
use crate::records::text;
use crate::{Result, Store, StoreError};

pub use tinjau_core::views::QuarantinedChange;

impl Store {
    /// This store's juror, who must be the team lead.
    fn lead(&self) -> Result<String> {
        let juror = self.juror_id()?;
        match self.package()?.juror(&juror) {
            Some(j) if j.role == Role::Lead => Ok(juror),
            _ => Err(StoreError::NotLead { juror }),
        }
    }

    /// This store's juror, who must be the lead of `visit`.
    fn visit_lead(&self, visit: &str) -> Result<String> {
        let juror = self.lead()?;
        let visit = self.find_visit(visit)?;
        if !is_visit_lead(self.package()?, visit, &juror) {
            return Err(StoreError::NotLead { juror });
        }
        Ok(juror)
    }

    /// Everything the merge needs, from every juror's records in this store. A lead who is also
    /// a juror of a visit sees no merged result until their own sheet for it is submitted.
    pub fn merge_input(&self) -> Result<MergeInput> {
        let lead = self.lead()?;
        let package = self.package()?;
        let mut own_drafts = Vec::new();
        for visit in package.visits.iter().filter(|v| v.jurors.contains(&lead)) {
            if self.sheet_state(&lead, &visit.id)? != SheetState::Submitted {
                own_drafts.push(visit.id.clone());
            }
        }
        if !own_drafts.is_empty() {
            return Err(StoreError::BlindUntilSubmitted { visits: own_drafts });
        }
        self.all_sheets()
    }

    /// Every juror's records as the merge takes them, without the blind rule (for a bundle's
    /// verification, which has no juror of its own).
    pub(crate) fn all_sheets(&self) -> Result<MergeInput> {
        let package = self.package()?;
        let mut input = MergeInput::from_package(package);
        // Two queries for the whole competition (a bundle's verification asks at every lock).
        let mut scores: std::collections::HashMap<
            (String, String),
            std::collections::BTreeMap<String, f64>,
        > = std::collections::HashMap::new();
        let mut statement = self
            .conn
            .prepare_cached("SELECT juror_id, visit_id, indicator_id, value FROM score")?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            scores
                .entry((row.get(0)?, row.get(1)?))
                .or_default()
                .insert(row.get(2)?, row.get(3)?);
        }
        let mut states: std::collections::HashMap<(String, String), SheetState> =
            std::collections::HashMap::new();
        let mut statement = self
            .conn
            .prepare_cached("SELECT juror_id, visit_id, state FROM sheet")?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let state: String = row.get(2)?;
            let state = state
                .parse()
                .map_err(|e| StoreError::Corrupt(format!("sheet state: {e}")))?;
            states.insert((row.get(0)?, row.get(1)?), state);
        }
        for visit in &package.visits {
            for juror in &visit.jurors {
                let key = (juror.clone(), visit.id.clone());
                let sheet = SheetScores {
                    juror: juror.clone(),
                    participant: visit.participant.clone(),
                    submitted: states.get(&key) == Some(&SheetState::Submitted),
                    scores: scores.remove(&key).unwrap_or_default(),
                };
                if sheet.submitted || !sheet.scores.is_empty() {
                    input.sheets.push(sheet);
                }
            }
        }
        input.conflicts = self
            .conn
            .prepare("SELECT juror_id, participant_id FROM conflict_of_interest ORDER BY 1, 2")?
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let decisions: Vec<String> = self
            .conn
            .prepare("SELECT decision FROM tie_break ORDER BY id")?
            .query_map([], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        input.tie_breaks = decisions
            .iter()
            .map(|d| {
                serde_json::from_str(d).map_err(|e| StoreError::Corrupt(format!("tie-break: {e}")))
            })
            .collect::<Result<_>>()?;
        Ok(input)
    }

    /// The merged result with `method` (default: the competition's).
    pub fn merge(&self, method: Option<Method>) -> Result<MergeResult> {
        let method = method.unwrap_or(self.package()?.competition.method);
        Ok(merge(&self.merge_input()?, method))
    }

    /// The ranking under all four methods, and the sensitivity table.
    pub fn ranking(&self) -> Result<(Vec<MergeResult>, Sensitivity)> {
        Ok(sensitivity(&self.merge_input()?))
    }

    /// Reopens a juror's submitted sheet so they can correct it; the reason is recorded.
    #[tracing::instrument(skip(self, reason), err(level = "debug"))]
    pub fn reopen(&mut self, visit: &str, juror: &str, reason: &str) -> Result<()> {
        let lead = self.visit_lead(visit)?;
        self.ensure_unlocked(visit)?;
        let visit = self.find_visit(visit)?.clone();
        if !visit.jurors.iter().any(|j| j == juror) {
            return Err(StoreError::NotOnJury {
                juror: juror.into(),
                visit: visit.id,
            });
        }
        if reason.trim().is_empty() {
            return Err(StoreError::EmptyText {
                field: "the reason for reopening",
            });
        }
        if self.sheet_state(juror, &visit.id)? != SheetState::Submitted {
            return Err(StoreError::SheetNotSubmitted {
                juror: juror.into(),
                visit: visit.id,
            });
        }
        let reason = text(reason.to_string())?;
        let row_id = ids::sheet_id(&self.package()?.competition.id, juror, &visit.id);
        self.write(&lead, |writer| {
            let target = ChangeTarget {
                row_id,
                visit_id: Some(&visit.id),
                target_id: None,
            };
            writer.record(&target, FieldValue::ReopenReason(reason))?;
            writer.record(&target, FieldValue::SheetState(SheetState::Draft))
        })
    }

    /// Records the lead's order for participants that share a rank, with the reason.
    #[tracing::instrument(skip(self, reason), err(level = "debug"))]
    pub fn break_tie(&mut self, order: &[String], reason: &str) -> Result<()> {
        let lead = self.lead()?;
        if reason.trim().is_empty() {
            return Err(StoreError::EmptyText {
                field: "the reason for the tie-break",
            });
        }
        let result = self.merge(None)?;
        let ranks: Vec<Option<u32>> = order
            .iter()
            .map(|id| {
                result
                    .participant(id)
                    .map(|p| if p.tied { p.rank } else { None })
                    .ok_or_else(|| StoreError::UnknownParticipant {
                        participant: id.clone(),
                        known: result
                            .participants
                            .iter()
                            .map(|p| p.participant_id.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    })
            })
            .collect::<Result<_>>()?;
        let group_size = ranks.first().copied().flatten().map(|rank| {
            result
                .participants
                .iter()
                .filter(|p| p.tied && p.rank == Some(rank))
                .count()
        });
        let tied_together = order.len() >= 2
            && ranks.iter().all(|r| r.is_some() && *r == ranks[0])
            && group_size == Some(order.len());
        if !tied_together {
            return Err(StoreError::NotTied {
                participants: order.to_vec(),
            });
        }
        let competition = self.package()?.competition.id.clone();
        let decision = TieBreak {
            order: order.to_vec(),
            reason: text(reason.to_string())?.into_string(),
        };
        self.write(&lead, |writer| {
            writer.record(
                &ChangeTarget {
                    row_id: ids::tie_break_id(&competition, order),
                    visit_id: None,
                    target_id: None,
                },
                FieldValue::TieBreak(decision),
            )
        })
    }

    /// The lead's note on an indicator of a visit (shown beside disputed indicators).
    pub fn lead_note(&mut self, visit: &str, indicator: &str, note: &str) -> Result<()> {
        let lead = self.visit_lead(visit)?;
        self.ensure_unlocked(visit)?;
        let package = self.package()?;
        let indicator = package
            .indicator(indicator)
            .ok_or_else(|| StoreError::UnknownIndicator {
                indicator: indicator.to_string(),
                known: package
                    .indicators
                    .iter()
                    .map(|i| i.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?
            .id
            .clone();
        let row_id = ids::lead_note_id(&package.competition.id, visit, &indicator);
        let visit = visit.to_string();
        let note = text(note.to_string())?;
        self.write(&lead, |writer| {
            writer.record(
                &ChangeTarget {
                    row_id,
                    visit_id: Some(&visit),
                    target_id: Some(&indicator),
                },
                FieldValue::LeadNote(note),
            )
        })
    }

    /// The lead's notes on a visit's indicators, by indicator id.
    pub fn lead_notes(&self, visit: &str) -> Result<Vec<(String, String)>> {
        Ok(self
            .conn
            .prepare("SELECT indicator_id, note FROM lead_note WHERE visit_id = ?1 ORDER BY indicator_id")?
            .query_map([visit], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// Locks a visit's result: seals its inputs and outputs under a content hash. Afterwards no
    /// write to the visit is accepted here, and late changes that arrive are quarantined.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    pub fn lock(&mut self, visit: &str) -> Result<Lock> {
        let lead = self.visit_lead(visit)?;
        self.ensure_unlocked(visit)?;
        let visit = self.find_visit(visit)?.clone();
        let input = self.merge_input()?;
        let result = merge(&input, self.package()?.competition.method);
        let locked = self.locked_result(&visit, &input, &result)?;
        let lock = Lock {
            hash: locked.content_hash(),
            locked,
        };
        let row_id = ids::lock_id(&self.package()?.competition.id, &visit.id);
        self.write(&lead, |writer| {
            writer.record(
                &ChangeTarget {
                    row_id,
                    visit_id: Some(&visit.id),
                    target_id: None,
                },
                FieldValue::Lock(Box::new(lock.clone())),
            )
        })?;
        Ok(lock)
    }

    /// What a lock of `visit` seals, from `input`: its submitted sheets, the merged result and
    /// who did not submit.
    pub(crate) fn locked_result(
        &self,
        visit: &tinjau_core::package::Visit,
        input: &MergeInput,
        result: &tinjau_core::merge::MergeResult,
    ) -> Result<LockedResult> {
        let method = result.method;
        let participant = result
            .participant(&visit.participant)
            .cloned()
            .ok_or_else(|| StoreError::Corrupt(format!("no result for {}", visit.participant)))?;
        if !participant.missing.is_empty() {
            return Err(StoreError::ResultIncomplete {
                visit: visit.id.clone(),
                missing: participant.missing,
            });
        }
        let mut inputs: Vec<SheetScores> = input
            .sheets
            .iter()
            .filter(|s| s.participant == visit.participant && s.submitted)
            .filter(|s| !participant.excluded_jurors.contains(&s.juror))
            .cloned()
            .collect();
        inputs.sort_by(|a, b| a.juror.cmp(&b.juror));
        let mut not_submitted = Vec::new();
        for juror in &visit.jurors {
            if self.sheet_state(juror, &visit.id)? != SheetState::Submitted {
                not_submitted.push(juror.clone());
            }
        }
        Ok(LockedResult {
            visit_id: visit.id.clone(),
            method,
            inputs,
            excluded_jurors: participant.excluded_jurors.clone(),
            not_submitted,
            result: participant,
        })
    }

    /// The lock of a visit, if it is locked.
    pub fn visit_lock(&self, visit: &str) -> Result<Option<Lock>> {
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT lock FROM visit_lock WHERE visit_id = ?1",
                [visit],
                |row| row.get(0),
            )
            .optional()?;
        text.map(|t| {
            serde_json::from_str(&t).map_err(|e| StoreError::Corrupt(format!("lock: {e}")))
        })
        .transpose()
    }

    pub(crate) fn ensure_unlocked(&self, visit: &str) -> Result<()> {
        let locked: bool = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM visit_lock WHERE visit_id = ?1)",
            [visit],
            |row| row.get(0),
        )?;
        if locked {
            return Err(StoreError::VisitLocked {
                visit: visit.to_string(),
            });
        }
        Ok(())
    }

    /// Changes received but refused, newest first.
    pub fn quarantine(&self) -> Result<Vec<QuarantinedChange>> {
        Ok(self
            .conn
            .prepare(
                "SELECT q.change_id, c.author, c.entity, c.visit_id, q.reason, q.received_at
                 FROM quarantine q JOIN change_log c ON c.change_id = q.change_id
                 ORDER BY q.received_at DESC, q.change_id",
            )?
            .query_map([], |row| {
                Ok(QuarantinedChange {
                    change_id: row.get(0)?,
                    author: row.get(1)?,
                    entity: row.get(2)?,
                    visit_id: row.get(3)?,
                    reason: row.get(4)?,
                    received_at: row.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?)
    }
}
