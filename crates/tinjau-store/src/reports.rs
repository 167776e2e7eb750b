//! The data of the official documents, assembled from every juror's records in this store.

use std::collections::HashMap;

use rusqlite::params;
use tinjau_core::merge::merge;
use tinjau_core::report::{
    JuryMember, RankingReport, RecapJuror, RecapVisit, VisitReport, innovation_tally,
};
use tinjau_core::{SheetState, Verdict};

use crate::{Result, Store, StoreError};

impl Store {
    fn jury(&self, jurors: &[String]) -> Result<Vec<JuryMember>> {
        let package = self.package()?;
        let mut members: Vec<JuryMember> = jurors
            .iter()
            .filter_map(|id| package.juror(id))
            .map(|j| JuryMember {
                id: j.id.clone(),
                name: j.name.clone(),
                institution: j.institution.clone(),
                role: j.role,
            })
            .collect();
        // The lead signs first.
        members.sort_by_key(|m| m.role != tinjau_core::package::Role::Lead);
        Ok(members)
    }

    /// Verdicts by innovation from the jurors whose sheet counts (submitted, no conflict of
    /// interest for the participant).
    fn jury_verdicts(&self, visit_id: &str) -> Result<HashMap<String, Vec<Verdict>>> {
        let visit = self.find_visit(visit_id)?.clone();
        let mut out: HashMap<String, Vec<Verdict>> = HashMap::new();
        let mut statement = self.conn.prepare(
            "SELECT v.innovation_id, v.verdict FROM verification v
             WHERE v.visit_id = ?1 AND v.juror_id = ?2 AND v.verdict IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM conflict_of_interest c
                               WHERE c.juror_id = v.juror_id AND c.participant_id = ?3)",
        )?;
        for juror in &visit.jurors {
            if self.sheet_state(juror, &visit.id)? != SheetState::Submitted {
                continue;
            }
            for row in statement.query_map(params![visit.id, juror, visit.participant], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
            })? {
                let (innovation, verdict) = row?;
                let verdict = verdict
                    .parse()
                    .map_err(|e| StoreError::Corrupt(format!("verdict: {e}")))?;
                out.entry(innovation).or_default().push(verdict);
            }
        }
        Ok(out)
    }

    /// The berita acara of one visit (the lead's; blind rules apply).
    pub fn visit_report(&self, visit_id: &str) -> Result<VisitReport> {
        let package = self.package()?;
        let visit = self.find_visit(visit_id)?.clone();
        let participant = package
            .participant(&visit.participant)
            .ok_or_else(|| StoreError::Corrupt(format!("visit {} has no participant", visit.id)))?;
        let method = package.competition.method;
        let result = merge(&self.merge_input()?, method);
        let ranked = result
            .participants
            .iter()
            .filter(|p| p.rank.is_some())
            .count();
        let participant_result = result
            .participant(&participant.id)
            .cloned()
            .ok_or_else(|| StoreError::Corrupt(format!("no result for {}", participant.id)))?;
        Ok(VisitReport {
            competition: package.competition.name.clone(),
            stage: package.competition.stage.clone(),
            participant: participant.name.clone(),
            region: participant.region.clone(),
            visit_id: visit.id.clone(),
            date: visit
                .date()
                .ok_or_else(|| StoreError::Corrupt(format!("visit {} date", visit.id)))?,
            jury: self.jury(&visit.jurors)?,
            method,
            scale: package.competition.scale,
            disagreement_threshold: package.disagreement_threshold(),
            indicators: package
                .indicators
                .iter()
                .map(|i| (i.id.clone(), i.name.clone(), i.weight))
                .collect(),
            result: participant_result,
            ranked,
            innovations: innovation_tally(participant, &self.jury_verdicts(&visit.id)?),
            lead_notes: self.lead_notes(&visit.id)?.into_iter().collect(),
            lock_hash: self.visit_lock(&visit.id)?.map(|lock| lock.hash),
            bundle_hash: self.bundle_hash()?,
        })
    }

    /// The ranking berita acara across all visits, dated today.
    pub fn ranking_report(&self) -> Result<RankingReport> {
        let package = self.package()?;
        let (results, sensitivity) = self.ranking()?;
        let mut jurors: Vec<String> = Vec::new();
        for visit in &package.visits {
            for juror in &visit.jurors {
                if !jurors.contains(juror) {
                    jurors.push(juror.clone());
                }
            }
        }
        let mut locks = Vec::new();
        for visit in &package.visits {
            if let Some(lock) = self.visit_lock(&visit.id)? {
                let name = package
                    .participant(&visit.participant)
                    .map_or(visit.participant.clone(), |p| p.name.clone());
                locks.push((name, lock.hash));
            }
        }
        Ok(RankingReport {
            competition: package.competition.name.clone(),
            stage: package.competition.stage.clone(),
            date: self.now().date_naive(),
            method: package.competition.method,
            results,
            sensitivity,
            jury: self.jury(&jurors)?,
            locks,
            bundle_hash: self.bundle_hash()?,
        })
    }

    /// The visits as the rekap nilai lists them.
    pub fn recap_visits(&self) -> Result<Vec<RecapVisit>> {
        let package = self.package()?;
        package
            .visits
            .iter()
            .map(|visit| {
                Ok(RecapVisit {
                    visit_id: visit.id.clone(),
                    participant_id: visit.participant.clone(),
                    date: visit
                        .date()
                        .ok_or_else(|| StoreError::Corrupt(format!("visit {} date", visit.id)))?,
                    jurors: visit
                        .jurors
                        .iter()
                        .map(|id| RecapJuror {
                            id: id.clone(),
                            label: package.juror(id).map_or_else(
                                || id.clone(),
                                |j| format!("{} ({})", j.name, j.institution),
                            ),
                        })
                        .collect(),
                })
            })
            .collect()
    }
}
