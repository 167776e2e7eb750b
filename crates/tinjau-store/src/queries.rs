//! Read models: what `tinjau visits` and `tinjau visit` show.

use std::collections::HashMap;

use rusqlite::params;
use tinjau_core::SheetState;
use tinjau_core::Verdict;
use tinjau_core::discrepancy::visit_discrepancies;
use tinjau_core::domain::rubric_label;
use tinjau_core::views::{
    EvidenceView, GpsPoint, IndicatorGroup, InnovationCheck, ObservationView, ScoreView,
    VisitChecklist, VisitProgress,
};
use uuid::Uuid;

use crate::{Result, Store, StoreError};

impl Store {
    /// Every visit of the competition with this juror's progress on it.
    pub fn visits(&self) -> Result<Vec<VisitProgress>> {
        let package = self.package()?;
        let juror = self.juror_id()?;
        let mut checked = self.conn.prepare_cached(
            "SELECT COUNT(*) FROM verification WHERE juror_id = ?1 AND visit_id = ?2 AND verdict IS NOT NULL",
        )?;
        let mut scored = self.conn.prepare_cached(
            "SELECT COUNT(DISTINCT indicator_id) FROM score WHERE juror_id = ?1 AND visit_id = ?2",
        )?;
        let mut unsynced = self.conn.prepare_cached(
            "SELECT COUNT(*) FROM change_log WHERE device_id = ?1 AND visit_id = ?2 AND sync_state <> 'acked'",
        )?;
        let device = self.device_id.to_string();
        let mut out = Vec::with_capacity(package.visits.len());
        for visit in &package.visits {
            let participant = package.participant(&visit.participant);
            let innovations_checked: i64 =
                checked.query_row(params![juror, visit.id], |row| row.get(0))?;
            let indicators_scored: i64 =
                scored.query_row(params![juror, visit.id], |row| row.get(0))?;
            out.push(VisitProgress {
                visit_id: visit.id.clone(),
                participant_id: visit.participant.clone(),
                participant_name: participant.map(|p| p.name.clone()).unwrap_or_default(),
                region: participant.and_then(|p| p.region.clone()),
                date: visit.date.clone(),
                innovations_listed: participant.map_or(0, |p| p.innovations.len()),
                innovations_checked: innovations_checked as usize,
                indicators_total: package.indicators.len(),
                indicators_scored: indicators_scored as usize,
                sheet: self.sheet_state(&juror, &visit.id)?,
                delivery: self.sheet_delivery(&juror, &visit.id)?,
                on_jury: visit.jurors.contains(&juror),
                unsynced_changes: unsynced
                    .query_row(params![device, visit.id], |row| row.get::<_, i64>(0))?
                    as u64,
                jury: visit.jurors.clone(),
                submitted: visit
                    .jurors
                    .iter()
                    .map(|j| Ok((j, self.sheet_state(j, &visit.id)?)))
                    .filter_map(|r: Result<_>| match r {
                        Ok((j, SheetState::Submitted)) => Some(Ok(j.clone())),
                        Ok(_) => None,
                        Err(e) => Some(Err(e)),
                    })
                    .collect::<Result<_>>()?,
                lock_hash: self.visit_lock(&visit.id)?.map(|lock| lock.hash),
            });
        }
        Ok(out)
    }

    /// This juror's whole checklist for one visit.
    pub fn checklist(&self, visit_id: &str) -> Result<VisitChecklist> {
        let package = self.package()?;
        let juror = self.juror_id()?;
        let visit = self.find_visit(visit_id)?;
        let participant = package
            .participant(&visit.participant)
            .ok_or_else(|| StoreError::Corrupt(format!("visit {} has no participant", visit.id)))?;

        let mut verifications: HashMap<String, (Option<Verdict>, String, Uuid)> = HashMap::new();
        let mut statement = self.conn.prepare_cached(
            "SELECT innovation_id, verdict, note, id FROM verification WHERE juror_id = ?1 AND visit_id = ?2",
        )?;
        let rows = statement.query_map(params![juror, visit.id], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, Option<String>>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
            ))
        })?;
        for row in rows {
            let (innovation, verdict, note, id) = row?;
            let verdict = verdict
                .map(|v| v.parse::<Verdict>())
                .transpose()
                .map_err(|e| StoreError::Corrupt(format!("verification verdict: {e}")))?;
            let id = Uuid::parse_str(&id)
                .map_err(|_| StoreError::Corrupt(format!("verification id \"{id}\"")))?;
            verifications.insert(innovation, (verdict, note, id));
        }

        let mut scores: HashMap<String, (f64, String)> = HashMap::new();
        let mut statement = self.conn.prepare_cached(
            "SELECT indicator_id, value, note FROM score WHERE juror_id = ?1 AND visit_id = ?2",
        )?;
        for row in statement.query_map(params![juror, visit.id], |row| {
            Ok((row.get::<_, String>(0)?, row.get(1)?, row.get(2)?))
        })? {
            let (indicator, value, note) = row?;
            scores.insert(indicator, (value, note));
        }

        let mut evidence = self.evidence_by_owner(&visit.id)?;
        let mut groups = Vec::with_capacity(package.indicators.len());
        for indicator in &package.indicators {
            let innovations: Vec<InnovationCheck> = participant
                .innovations
                .iter()
                .filter(|i| i.indicator == indicator.id)
                .map(|innovation| {
                    let (verdict, note, id) = verifications
                        .get(&innovation.id)
                        .cloned()
                        .map(|(v, n, id)| (v, n, Some(id)))
                        .unwrap_or((None, String::new(), None));
                    InnovationCheck {
                        innovation_id: innovation.id.clone(),
                        name: innovation.name.clone(),
                        summary: innovation.summary.clone(),
                        flagship: innovation.flagship,
                        verdict,
                        note,
                        evidence: id.and_then(|id| evidence.remove(&id)).unwrap_or_default(),
                    }
                })
                .collect();
            groups.push(IndicatorGroup {
                indicator_id: indicator.id.clone(),
                name: indicator.name.clone(),
                weight: indicator.weight,
                claimed: participant.claimed_by_indicator.get(&indicator.id).copied(),
                listed: innovations.len(),
                innovations,
                rubric: indicator.rubric.clone(),
                score: scores.get(&indicator.id).map(|(value, note)| ScoreView {
                    value: *value,
                    band: rubric_label(indicator, *value),
                    note: note.clone(),
                }),
            });
        }

        // The whole visit team's observations (sync shares them), in time order.
        let mut observations = Vec::new();
        let mut statement = self.conn.prepare_cached(
            "SELECT id, observed_at, innovation_id, text, juror_id FROM observation
             WHERE visit_id = ?1 ORDER BY observed_at, id",
        )?;
        for row in statement.query_map(params![visit.id], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, Option<String>>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, String>(4)?,
            ))
        })? {
            let (id, observed_at, innovation_id, text, juror_id) = row?;
            let observation_id = Uuid::parse_str(&id)
                .map_err(|_| StoreError::Corrupt(format!("observation id \"{id}\"")))?;
            observations.push(ObservationView {
                observation_id,
                juror_id,
                observed_at,
                innovation_id,
                text,
                evidence: evidence.remove(&observation_id).unwrap_or_default(),
            });
        }

        let verdicts: HashMap<&str, Verdict> = verifications
            .iter()
            .filter_map(|(id, (verdict, _, _))| verdict.map(|v| (id.as_str(), v)))
            .collect();
        let conflict_of_interest: Option<String> = self
            .conn
            .query_row(
                "SELECT reason FROM conflict_of_interest WHERE juror_id = ?1 AND participant_id = ?2",
                params![juror, participant.id],
                |row| row.get(0),
            )
            .ok();
        Ok(VisitChecklist {
            visit_id: visit.id.clone(),
            date: visit.date.clone(),
            participant_id: participant.id.clone(),
            participant_name: participant.name.clone(),
            region: participant.region.clone(),
            sheet: self.sheet_state(&juror, &visit.id)?,
            delivery: self.sheet_delivery(&juror, &visit.id)?,
            juror_id: juror,
            conflict_of_interest,
            scale: package.competition.scale,
            groups,
            observations,
            discrepancies: visit_discrepancies(participant, &package.indicators, &verdicts),
        })
    }

    /// Evidence of a visit by the record it is attached to (owner ids are unique, so every
    /// juror's attachments can be looked up together).
    /// How far `juror` is on `visit` as this store holds it: (innovations with a verdict,
    /// indicators scored). The lead's (and the console's) view of each teammate.
    pub fn juror_progress(&self, juror: &str, visit: &str) -> Result<(usize, usize)> {
        let checked: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM verification WHERE juror_id = ?1 AND visit_id = ?2 AND verdict IS NOT NULL",
            params![juror, visit],
            |row| row.get(0),
        )?;
        let scored: i64 = self.conn.query_row(
            "SELECT COUNT(DISTINCT indicator_id) FROM score WHERE juror_id = ?1 AND visit_id = ?2",
            params![juror, visit],
            |row| row.get(0),
        )?;
        Ok((checked.max(0) as usize, scored.max(0) as usize))
    }

    /// Every file attached on `visit` by any juror and not taken off, in the order attached.
    pub fn visit_evidence(&self, visit: &str) -> Result<Vec<EvidenceView>> {
        Ok(self
            .evidence_rows(visit)?
            .into_iter()
            .map(|(_, view)| view)
            .collect())
    }

    fn evidence_by_owner(&self, visit: &str) -> Result<HashMap<Uuid, Vec<EvidenceView>>> {
        let mut out: HashMap<Uuid, Vec<EvidenceView>> = HashMap::new();
        for (owner, view) in self.evidence_rows(visit)? {
            out.entry(owner).or_default().push(view);
        }
        Ok(out)
    }

    /// (owner record, file) of every attachment on `visit` still on its record.
    fn evidence_rows(&self, visit: &str) -> Result<Vec<(Uuid, EvidenceView)>> {
        let me = self.juror_id().ok();
        let mut statement = self.conn.prepare_cached(
            "SELECT e.owner_id, e.hash, e.original_name, f.size, f.mime, f.captured_at, f.gps_lat,
                    f.gps_lon, e.outside_visit_date, e.id, e.juror_id, f.preview_hash,
                    EXISTS (SELECT 1 FROM evidence_upload u WHERE u.hash = e.hash)
             FROM evidence e JOIN evidence_file f ON f.hash = e.hash
             WHERE e.visit_id = ?1 AND e.removed = 0 ORDER BY e.attached_at, e.rowid",
        )?;
        let mut out = Vec::new();
        for row in statement.query_map(params![visit], |row| {
            let lat: Option<f64> = row.get(6)?;
            let lon: Option<f64> = row.get(7)?;
            Ok((
                row.get::<_, String>(0)?,
                EvidenceView {
                    hash: row.get(1)?,
                    original_name: row.get(2)?,
                    size: row.get::<_, i64>(3)? as u64,
                    mime: row.get(4)?,
                    captured_at: row.get(5)?,
                    gps: lat.zip(lon).map(|(latitude, longitude)| GpsPoint {
                        latitude,
                        longitude,
                    }),
                    outside_visit_date: row.get(8)?,
                    id: row.get(9)?,
                    juror_id: row.get(10)?,
                    available: true,
                    preview_hash: row.get(11)?,
                    preview_available: false,
                    original_pending: !row.get::<_, bool>(12)?,
                },
            ))
        })? {
            let (owner, mut view) = row?;
            view.available = crate::evidence::stored_path(&self.data_dir, &view.hash).exists();
            view.preview_available = view.preview_hash.as_deref().is_some_and(|preview| {
                crate::evidence::stored_path(&self.data_dir, preview).exists()
            });
            // Only a file with a preview has an original that travels separately: on the
            // laptop that attached it, until the server confirms it; elsewhere, until it
            // arrives.
            let uploaded = !view.original_pending;
            view.original_pending = view.preview_hash.is_some()
                && if view.available && view.juror_id == me.as_deref().unwrap_or_default() {
                    !uploaded
                } else {
                    !view.available
                };
            let owner = Uuid::parse_str(&owner)
                .map_err(|_| StoreError::Corrupt(format!("evidence owner \"{owner}\"")))?;
            out.push((owner, view));
        }
        Ok(out)
    }
}
