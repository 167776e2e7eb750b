//! The juror's operations: import, init, verify, observe, score, declare a conflict, submit.
//!
//! Each one validates everything first, then writes its domain rows and change-log entries in
//! one transaction; a call that returns an error has written nothing.

use std::path::PathBuf;

use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use tinjau_core::change::{
    ContentHash, EvidenceFile, EvidenceOwner, EvidenceRecord, FieldValue, FileName,
    ObservationRecord, Position, PreviewFile, Refusal, ScoreValue, Text,
};
use tinjau_core::domain::{captured_outside_visit, check_score, rubric_label};
use tinjau_core::package::{
    Innovation, Juror, Participant, RevisionRefusal, RevisionStep, Visit, revision_step,
};
use tinjau_core::views::{EvidenceView, ObservationView, ScoreView, SheetDelivery};
use tinjau_core::{Package, SheetState, Verdict, ids};
use uuid::Uuid;

use crate::changes::{ChangeTarget, ChangeWriter};
use crate::evidence::{self, IngestedFile};
use crate::{Result, Store, StoreError, meta_get, meta_set};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ImportOutcome {
    Imported {
        competition: String,
        revision: i64,
    },
    Updated {
        competition: String,
        from: i64,
        to: i64,
    },
    Unchanged {
        competition: String,
        revision: i64,
    },
}

/// `tinjau verify`: a verdict on one innovation, with an optional note and evidence files.
#[derive(Debug, Clone)]
pub struct VerifyRequest {
    pub visit: String,
    pub innovation: String,
    pub verdict: Verdict,
    /// `None` keeps the current note.
    pub note: Option<String>,
    pub evidence: Vec<PathBuf>,
}

/// The checked context of a write to one visit by this store's juror.
struct VisitScope {
    juror: String,
    visit: Visit,
    participant: Participant,
}

fn joined<'a>(ids: impl Iterator<Item = &'a str>) -> String {
    ids.collect::<Vec<_>>().join(", ")
}

impl Store {
    /// Imports a package, all or nothing. A newer revision of the same competition replaces the
    /// package and keeps every field record.
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub fn import_package(&mut self, bytes: &[u8]) -> Result<ImportOutcome> {
        let package = Package::parse(bytes)?;
        let stored = serde_json::to_string(&package).expect("a package serialises");
        let now = self.now_text();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let existing: Option<(String, i64, String)> = tx
            .query_row(
                "SELECT id, revision, package FROM competition LIMIT 1",
                [],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .optional()?;
        let competition = package.competition.id.clone();
        let got = package.revision;
        if let Some((have_id, _, _)) = &existing
            && *have_id != competition
        {
            return Err(StoreError::OtherCompetition {
                have: have_id.clone(),
                got: competition,
            });
        }
        let step = revision_step(
            existing.as_ref().map(|(_, r, p)| (*r, p.as_str())),
            got,
            &stored,
        )
        .map_err(|refusal| match refusal {
            RevisionRefusal::Older { have } => StoreError::OlderRevision { have, got },
            RevisionRefusal::ContentChanged => StoreError::RevisionContentChanged { revision: got },
        })?;
        let outcome = match step {
            RevisionStep::New => {
                tx.execute(
                    "INSERT INTO competition (id, revision, package, imported_at) VALUES (?1, ?2, ?3, ?4)",
                    params![competition, got, stored, now],
                )?;
                ImportOutcome::Imported {
                    competition,
                    revision: got,
                }
            }
            RevisionStep::Unchanged => ImportOutcome::Unchanged {
                competition,
                revision: got,
            },
            RevisionStep::Update { from } => {
                tx.execute(
                    "UPDATE competition SET revision = ?2, package = ?3, imported_at = ?4 WHERE id = ?1",
                    params![competition, got, stored, now],
                )?;
                ImportOutcome::Updated {
                    competition,
                    from,
                    to: got,
                }
            }
        };
        tx.commit()?;
        self.package = Some(package);
        Ok(outcome)
    }

    /// Sets this store's juror. Changing to another juror is refused once the first has work here.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    pub fn init_juror(&mut self, juror_id: &str) -> Result<Juror> {
        let package = self.package()?;
        let juror = package
            .juror(juror_id)
            .cloned()
            .ok_or_else(|| StoreError::UnknownJuror {
                juror: juror_id.to_string(),
                known: joined(package.jurors.iter().map(|j| j.id.as_str())),
            })?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(current) = meta_get(&tx, "juror_id")?
            && current != juror_id
        {
            let has_work: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM change_log WHERE author = ?1)",
                [&current],
                |row| row.get(0),
            )?;
            if has_work {
                return Err(StoreError::JurorAlreadySet {
                    current,
                    requested: juror_id.to_string(),
                });
            }
        }
        meta_set(&tx, "juror_id", juror_id)?;
        tx.commit()?;
        Ok(juror)
    }

    /// Records a verdict on one innovation.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    pub fn verify(&mut self, request: &VerifyRequest) -> Result<Vec<EvidenceView>> {
        let scope = self.writable_visit(&request.visit)?;
        let innovation = find_innovation(&scope, &request.innovation)?;
        let competition = self.package()?.competition.id.clone();
        let row_id =
            ids::verification_id(&competition, &scope.juror, &scope.visit.id, &innovation.id);
        let files = self.ingest_all(&request.evidence)?;

        let visit_date = scope.visit.date();
        let result = self.write(&scope.juror, |writer| {
            let current: Option<(Option<String>, String)> = writer
                .tx
                .query_row(
                    "SELECT verdict, note FROM verification WHERE id = ?1",
                    [row_id.to_string()],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()?;
            let (old_verdict, old_note) = current.unwrap_or_default();
            let note = request.note.clone().unwrap_or_else(|| old_note.clone());
            let target = ChangeTarget {
                row_id,
                visit_id: Some(&scope.visit.id),
                target_id: Some(&innovation.id),
            };
            if old_verdict.as_deref() != Some(request.verdict.as_str()) {
                writer.record(&target, FieldValue::Verdict(request.verdict))?;
            }
            if note != old_note {
                writer.record(&target, FieldValue::VerificationNote(text(note)?))?;
            }
            attach_evidence(
                writer,
                &scope,
                EvidenceOwner::Verification,
                row_id,
                &files,
                visit_date,
            )
        });
        self.forget_files_on_error(result, &files)
    }

    /// Records a free-text observation, optionally about one innovation.
    #[tracing::instrument(skip(self, text), err(level = "debug"))]
    pub fn observe(
        &mut self,
        visit: &str,
        text: &str,
        innovation: Option<&str>,
        evidence: &[PathBuf],
    ) -> Result<ObservationView> {
        let scope = self.writable_visit(visit)?;
        if text.trim().is_empty() {
            return Err(StoreError::EmptyText {
                field: "the observation text",
            });
        }
        let typed = self::text(text.to_string())?;
        let innovation_id = innovation
            .map(|id| find_innovation(&scope, id).map(|i| i.id.clone()))
            .transpose()?;
        let row_id = self.new_record_id();
        let files = self.ingest_all(evidence)?;
        let visit_date = scope.visit.date();
        let result = self.write(&scope.juror, |writer| {
            let observed_at = writer.now_text();
            let record = ObservationRecord {
                innovation_id: innovation_id.clone(),
                observed_at: observed_at.clone(),
                text: typed,
            };
            writer.record(
                &ChangeTarget {
                    row_id,
                    visit_id: Some(&scope.visit.id),
                    target_id: innovation_id.as_deref(),
                },
                FieldValue::Observation(record),
            )?;
            let evidence = attach_evidence(
                writer,
                &scope,
                EvidenceOwner::Observation,
                row_id,
                &files,
                visit_date,
            )?;
            Ok(ObservationView {
                observation_id: row_id,
                juror_id: scope.juror.clone(),
                observed_at,
                innovation_id: innovation_id.clone(),
                text: text.to_string(),
                evidence,
            })
        });
        self.forget_files_on_error(result, &files)
    }

    /// Scores one indicator for a visit.
    #[tracing::instrument(skip(self, note), err(level = "debug"))]
    pub fn score(
        &mut self,
        visit: &str,
        indicator: &str,
        value: f64,
        note: Option<&str>,
    ) -> Result<ScoreView> {
        let scope = self.writable_visit(visit)?;
        let package = self.package()?;
        let indicator =
            package
                .indicator(indicator)
                .cloned()
                .ok_or_else(|| StoreError::UnknownIndicator {
                    indicator: indicator.to_string(),
                    known: joined(package.indicators.iter().map(|i| i.id.as_str())),
                })?;
        check_score(&package.competition.scale, value)?;
        let value = ScoreValue::new(value).map_err(invalid)?;
        let note = note.map(|n| text(n.to_string())).transpose()?;
        let row_id = ids::score_id(
            &package.competition.id,
            &scope.juror,
            &scope.visit.id,
            &indicator.id,
        );
        self.write(&scope.juror, |writer| {
            let current: Option<(f64, String)> = writer
                .tx
                .query_row(
                    "SELECT value, note FROM score WHERE id = ?1",
                    [row_id.to_string()],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()?;
            let old_note = current.as_ref().map(|c| c.1.clone()).unwrap_or_default();
            let target = ChangeTarget {
                row_id,
                visit_id: Some(&scope.visit.id),
                target_id: Some(&indicator.id),
            };
            if current.as_ref().map(|c| c.0) != Some(value.get()) {
                writer.record(&target, FieldValue::ScoreValue(value))?;
            }
            let note = match note {
                Some(note) if note.as_str() != old_note => {
                    let saved = note.as_str().to_string();
                    writer.record(&target, FieldValue::ScoreNote(note))?;
                    saved
                }
                _ => old_note,
            };
            Ok(ScoreView {
                value: value.get(),
                band: rubric_label(&indicator, value.get()),
                note,
            })
        })
    }

    /// Declares a conflict of interest for a participant: the lead's merge excludes this juror's
    /// scores for it.
    #[tracing::instrument(skip(self, reason), err(level = "debug"))]
    pub fn declare_conflict(&mut self, participant: &str, reason: &str) -> Result<()> {
        let juror = self.juror_id()?;
        let package = self.package()?;
        let participant = package
            .participant(participant)
            .ok_or_else(|| StoreError::UnknownParticipant {
                participant: participant.to_string(),
                known: joined(package.participants.iter().map(|p| p.id.as_str())),
            })?
            .id
            .clone();
        if reason.trim().is_empty() {
            return Err(StoreError::EmptyText {
                field: "the reason for the conflict of interest",
            });
        }
        let typed = text(reason.to_string())?;
        let row_id = ids::conflict_of_interest_id(&package.competition.id, &juror, &participant);
        self.write(&juror, |writer| {
            let old: Option<String> = writer
                .tx
                .query_row(
                    "SELECT reason FROM conflict_of_interest WHERE id = ?1",
                    [row_id.to_string()],
                    |row| row.get(0),
                )
                .optional()?;
            if old.as_deref() != Some(reason) {
                writer.record(
                    &ChangeTarget {
                        row_id,
                        visit_id: None,
                        target_id: Some(&participant),
                    },
                    FieldValue::ConflictOfInterestReason(typed),
                )?;
            }
            Ok(())
        })
    }

    /// Submits this juror's sheet for a visit; refused while any indicator is unscored.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    pub fn submit(&mut self, visit: &str) -> Result<()> {
        let scope = self.writable_visit(visit)?;
        let missing = self.unscored_indicators(&scope.juror, &scope.visit.id)?;
        if !missing.is_empty() {
            return Err(StoreError::SheetIncomplete {
                visit: scope.visit.id,
                missing,
            });
        }
        let row_id = ids::sheet_id(
            &self.package()?.competition.id,
            &scope.juror,
            &scope.visit.id,
        );
        self.write_one(
            &scope.juror,
            row_id,
            &scope.visit.id,
            FieldValue::SheetState(SheetState::Submitted),
        )
    }

    /// Takes back this juror's submission of a visit's sheet while it has not left the laptop
    /// (not synced, not exported): the sheet is a draft again, by a logged change. A submission
    /// that was sent is the lead's to reopen.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    pub fn withdraw_submission(&mut self, visit: &str) -> Result<()> {
        let juror = self.juror_id()?;
        let visit = self.find_visit(visit)?.id.clone();
        self.ensure_unlocked(&visit)?;
        match self.sheet_delivery(&juror, &visit)? {
            SheetDelivery::Draft => {
                return Err(StoreError::SheetNotSubmitted { juror, visit });
            }
            SheetDelivery::Sent => return Err(StoreError::SheetAlreadySent { visit }),
            SheetDelivery::Final => {}
        }
        let row_id = ids::sheet_id(&self.package()?.competition.id, &juror, &visit);
        self.write_one(
            &juror,
            row_id,
            &visit,
            FieldValue::SheetState(SheetState::Draft),
        )
    }

    /// Takes an attached file off its record (`removed`), or puts it back, while the juror's
    /// sheet is a draft. Logged as a change; the file and the attachment stay in the store and
    /// in the audit trail, only the views leave it out.
    pub fn remove_evidence(&mut self, visit: &str, evidence: &str, removed: bool) -> Result<()> {
        let scope = self.writable_visit(visit)?;
        let row_id = Uuid::parse_str(evidence).ok();
        let owned: Option<String> = match row_id {
            Some(id) => self
                .conn
                .query_row(
                    "SELECT juror_id FROM evidence WHERE id = ?1 AND visit_id = ?2",
                    params![id.to_string(), scope.visit.id],
                    |row| row.get(0),
                )
                .optional()?,
            None => None,
        };
        let (Some(row_id), Some(owner)) = (row_id, owned) else {
            return Err(StoreError::UnknownEvidence {
                evidence: evidence.to_string(),
            });
        };
        if owner != scope.juror {
            return Err(StoreError::NotYours { owner });
        }
        self.write_one(
            &scope.juror,
            row_id,
            &scope.visit.id,
            FieldValue::EvidenceRemoved(removed),
        )
    }

    /// Where a juror's sheet stands: a draft; final (submitted here, not yet on a server or in
    /// a sheet file); or sent.
    pub fn sheet_delivery(&self, juror: &str, visit: &str) -> Result<SheetDelivery> {
        if self.sheet_state(juror, visit)? == SheetState::Draft {
            return Ok(SheetDelivery::Draft);
        }
        let row_id = ids::sheet_id(&self.package()?.competition.id, juror, visit);
        // The submission as this device wrote it (a submission received from elsewhere came
        // through a server or a file: it was sent).
        let own: Option<(i64, String)> = self
            .conn
            .query_row(
                "SELECT seq, sync_state FROM change_log
                 WHERE device_id = ?1 AND entity = 'sheet' AND field = 'state' AND row_id = ?2
                 ORDER BY seq DESC LIMIT 1",
                params![self.device_id.to_string(), row_id.to_string()],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        let Some((seq, sync_state)) = own else {
            return Ok(SheetDelivery::Sent);
        };
        let exported: Option<i64> = meta_get(&self.conn, &format!("sheet_exported:{visit}"))?
            .and_then(|text| text.parse().ok());
        Ok(
            if sync_state == "acked" || exported.is_some_and(|up_to| up_to >= seq) {
                SheetDelivery::Sent
            } else {
                SheetDelivery::Final
            },
        )
    }

    /// Records that the sheet of a visit, as this device has it now, left on a file (call it
    /// once the file is written): a submission in it counts as sent.
    pub fn record_sheet_exported(&mut self, visit: &str) -> Result<()> {
        let visit = self.find_visit(visit)?.id.clone();
        let up_to: i64 = self.conn.query_row(
            "SELECT COALESCE(MAX(seq), 0) FROM change_log WHERE device_id = ?1",
            [self.device_id.to_string()],
            |row| row.get(0),
        )?;
        meta_set(
            &self.conn,
            &format!("sheet_exported:{visit}"),
            &up_to.to_string(),
        )
    }

    /// The ids of the indicators this juror has not scored for a visit, in package order (the
    /// core's one rule, asked of this store's scores).
    pub fn unscored_indicators(&self, juror: &str, visit: &str) -> Result<Vec<String>> {
        unscored_in(&self.conn, self.package()?, juror, visit)
    }

    /// The state of a juror's sheet for a visit (no row yet means draft).
    pub fn sheet_state(&self, juror: &str, visit: &str) -> Result<SheetState> {
        let state: Option<String> = self
            .conn
            .query_row(
                "SELECT state FROM sheet WHERE juror_id = ?1 AND visit_id = ?2",
                params![juror, visit],
                |row| row.get(0),
            )
            .optional()?;
        match state {
            Some(text) => text
                .parse()
                .map_err(|e| StoreError::Corrupt(format!("sheet state: {e}"))),
            None => Ok(SheetState::Draft),
        }
    }

    /// Resolves a visit this store's juror may write to: known, on its jury, sheet not submitted.
    fn writable_visit(&self, visit_id: &str) -> Result<VisitScope> {
        let package = self.package()?;
        let juror = self.juror_id()?;
        let visit = self.find_visit(visit_id)?.clone();
        if !visit.jurors.contains(&juror) {
            return Err(StoreError::NotOnJury {
                juror,
                visit: visit.id,
            });
        }
        self.ensure_unlocked(&visit.id)?;
        if self.sheet_state(&juror, &visit.id)? == SheetState::Submitted {
            return Err(StoreError::SheetSubmitted { visit: visit.id });
        }
        let participant = package
            .participant(&visit.participant)
            .cloned()
            .ok_or_else(|| StoreError::Corrupt(format!("visit {} has no participant", visit.id)))?;
        Ok(VisitScope {
            juror,
            visit,
            participant,
        })
    }

    pub(crate) fn find_visit(&self, visit_id: &str) -> Result<&Visit> {
        let package = self.package()?;
        package
            .visit(visit_id)
            .ok_or_else(|| StoreError::UnknownVisit {
                visit: visit_id.to_string(),
                known: joined(package.visits.iter().map(|v| v.id.as_str())),
            })
    }

    /// Runs `body` in one change-writing transaction and commits it.
    /// Writes one change of `author`'s, about a record of `visit` with no target, in its own
    /// transaction.
    fn write_one(
        &mut self,
        author: &str,
        row_id: Uuid,
        visit: &str,
        value: FieldValue,
    ) -> Result<()> {
        self.write(author, |writer| {
            writer.record(
                &ChangeTarget {
                    row_id,
                    visit_id: Some(visit),
                    target_id: None,
                },
                value,
            )
        })
    }

    pub(crate) fn write<T>(
        &mut self,
        author: &str,
        body: impl FnOnce(&mut ChangeWriter<'_>) -> Result<T>,
    ) -> Result<T> {
        let now = self.options.clock.now();
        let package = self.package.as_ref().ok_or(StoreError::NoPackage)?;
        let mut writer = ChangeWriter::begin(
            &mut self.conn,
            package,
            self.device_id,
            author.to_string(),
            now,
            self.options.random.as_mut(),
        )?;
        let value = body(&mut writer)?;
        writer.commit()?;
        Ok(value)
    }

    /// Checks every file first (so a missing one writes nothing), then copies them in.
    fn ingest_all(&mut self, paths: &[PathBuf]) -> Result<Vec<IngestedFile>> {
        let limit = self.options.evidence_limit_bytes;
        for path in paths {
            evidence::precheck(path, limit)?;
        }
        let mut files = Vec::with_capacity(paths.len());
        for path in paths {
            let seal = self.key.as_ref().map(|key| {
                (
                    key,
                    self.options.random.as_mut() as &mut dyn crate::RandomSource,
                )
            });
            match evidence::ingest(&self.data_dir, path, limit, seal) {
                Ok(file) => files.push(file),
                Err(error) => {
                    remove_new_files(&files);
                    return Err(error);
                }
            }
        }
        Ok(files)
    }

    /// A failed transaction must not leave files it alone brought in.
    fn forget_files_on_error<T>(&self, result: Result<T>, files: &[IngestedFile]) -> Result<T> {
        if result.is_err() {
            remove_new_files(files);
        }
        result
    }
}

fn remove_new_files(files: &[IngestedFile]) {
    let stored = files.iter().flat_map(|f| {
        [
            f.newly_stored.as_ref(),
            f.preview.as_ref().and_then(|p| p.newly_stored.as_ref()),
        ]
    });
    for path in stored.flatten() {
        let _ = std::fs::remove_file(path);
    }
}

fn find_innovation<'s>(scope: &'s VisitScope, id: &str) -> Result<&'s Innovation> {
    scope
        .participant
        .innovation(id)
        .ok_or_else(|| StoreError::UnknownInnovation {
            visit: scope.visit.id.clone(),
            innovation: id.to_string(),
        })
}

fn attach_evidence(
    writer: &mut ChangeWriter<'_>,
    scope: &VisitScope,
    owner_entity: EvidenceOwner,
    owner_id: Uuid,
    files: &[IngestedFile],
    visit_date: Option<chrono::NaiveDate>,
) -> Result<Vec<EvidenceView>> {
    let mut views = Vec::with_capacity(files.len());
    for file in files {
        let captured_at = file
            .captured_at
            .map(|at| at.format("%Y-%m-%dT%H:%M:%S").to_string());
        let outside_visit_date =
            visit_date.is_some_and(|date| captured_outside_visit(file.captured_at, date));
        let evidence_id = writer.new_record_id();
        // Whether the file is on a given laptop is that laptop's business, not the record's.
        let record = EvidenceRecord {
            evidence: EvidenceFile {
                captured_at: captured_at.clone(),
                gps: file.gps.map(|g| Position {
                    latitude: g.latitude,
                    longitude: g.longitude,
                }),
                hash: ContentHash::parse(&file.hash).map_err(invalid)?,
                mime: file.mime.clone(),
                original_name: FileName::sanitize(&file.original_name),
                outside_visit_date,
                preview: match &file.preview {
                    Some(preview) => Some(PreviewFile {
                        hash: ContentHash::parse(&preview.hash).map_err(invalid)?,
                        size: preview.size,
                    }),
                    None => None,
                },
                size: file.size,
            },
            owner_entity,
            owner_id,
        };
        let view = EvidenceView {
            id: evidence_id.to_string(),
            juror_id: scope.juror.clone(),
            hash: file.hash.clone(),
            original_name: record.evidence.original_name.as_str().to_string(),
            size: file.size,
            mime: file.mime.clone(),
            captured_at,
            gps: file.gps,
            outside_visit_date,
            available: true,
            preview_hash: file.preview.as_ref().map(|p| p.hash.clone()),
            preview_available: file.preview.is_some(),
            original_pending: file.preview.is_some(),
        };
        writer.record(
            &ChangeTarget {
                row_id: evidence_id,
                visit_id: Some(&scope.visit.id),
                target_id: Some(&owner_id.to_string()),
            },
            FieldValue::Evidence(record),
        )?;
        views.push(view);
    }
    Ok(views)
}

/// A value a person gave that no change may carry, as the store's error.
pub(crate) fn invalid(refusal: Refusal) -> StoreError {
    StoreError::InvalidValue(refusal.message)
}

/// Text a person wrote, checked against the bounds every change obeys.
pub(crate) fn text(text: String) -> Result<Text> {
    Text::new(text).map_err(invalid)
}

/// The core's one completeness rule (`sync::unscored_indicators`), asked of the scores a
/// database holds (a transaction's too: what a sheet file applied so far counts).
pub(crate) fn unscored_in(
    conn: &rusqlite::Connection,
    package: &Package,
    juror: &str,
    visit: &str,
) -> Result<Vec<String>> {
    let mut statement = conn.prepare_cached("SELECT 1 FROM score WHERE id = ?1")?;
    let mut failure = None;
    let missing = tinjau_core::sync::unscored_indicators(package, juror, visit, |key| {
        statement
            .exists([key.row_id.to_string()])
            .unwrap_or_else(|e| {
                failure = Some(e);
                false
            })
    });
    match failure {
        Some(error) => Err(error.into()),
        None => Ok(missing),
    }
}
