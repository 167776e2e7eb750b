//! What the official documents say, as plain data: the store assembles it, the report crate
//! renders it, the desktop app can show it.

use std::collections::BTreeMap;

use crate::merge::{MergeResult, ParticipantResult, Sensitivity};
use crate::package::{Method, Role, Scale};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JuryMember {
    pub id: String,
    pub name: String,
    pub institution: String,
    pub role: Role,
}

/// What the jury found of the participant's claims.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InnovationTally {
    pub claimed_total: Option<u32>,
    /// The sum of the per-indicator claims, when given.
    pub claimed_by_indicator: Option<u32>,
    pub listed: usize,
    pub found: usize,
    pub partial: usize,
    pub not_found: usize,
    pub unchecked: usize,
}

/// One visit's berita acara.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisitReport {
    pub competition: String,
    pub stage: Option<String>,
    pub participant: String,
    pub region: Option<String>,
    pub visit_id: String,
    pub date: NaiveDate,
    pub jury: Vec<JuryMember>,
    pub method: Method,
    pub scale: Scale,
    pub disagreement_threshold: f64,
    /// Indicator id → (name, weight), in package order.
    pub indicators: Vec<(String, String, f64)>,
    pub result: ParticipantResult,
    /// Participants ranked in the whole competition so far.
    pub ranked: usize,
    pub innovations: InnovationTally,
    /// Indicator id → the lead's note.
    pub lead_notes: BTreeMap<String, String>,
    pub lock_hash: Option<String>,
    /// SHA-256 of the result bundle (`tinjau bundle export`) of the state printed: anyone can
    /// check the bundle with `tinjau bundle verify` and see it is this one.
    pub bundle_hash: Option<String>,
}

/// The ranking berita acara across all visits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankingReport {
    pub competition: String,
    pub stage: Option<String>,
    pub date: NaiveDate,
    pub method: Method,
    /// Results under every method, in [`Method::ALL`] order.
    pub results: Vec<MergeResult>,
    pub sensitivity: Sensitivity,
    pub jury: Vec<JuryMember>,
    /// Participant name → locked result hash.
    pub locks: Vec<(String, String)>,
    /// SHA-256 of the result bundle of the state printed (see [`VisitReport::bundle_hash`]).
    pub bundle_hash: Option<String>,
}

/// One visit in the rekap nilai.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecapVisit {
    pub visit_id: String,
    pub participant_id: String,
    pub date: NaiveDate,
    /// The visit's jurors, in package order.
    pub jurors: Vec<RecapJuror>,
}

/// A juror as a person reads them in the rekap: their id (to find their scores) and their
/// name with institution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecapJuror {
    pub id: String,
    /// "Name (Institution)".
    pub label: String,
}

impl JuryMember {
    /// "Name (Institution)", as documents name a juror.
    pub fn label(&self) -> String {
        format!("{} ({})", self.name, self.institution)
    }
}

/// Counts the jury's verdicts on a participant's listed innovations (each innovation's verdict
/// is [`consolidated_verdict`] of the jurors' verdicts on it).
pub fn innovation_tally(
    participant: &crate::package::Participant,
    verdicts: &std::collections::HashMap<String, Vec<crate::Verdict>>,
) -> InnovationTally {
    use crate::Verdict;
    use crate::domain::consolidated_verdict;
    let mut tally = InnovationTally {
        claimed_total: participant.claimed_innovations,
        claimed_by_indicator: (!participant.claimed_by_indicator.is_empty())
            .then(|| participant.claimed_by_indicator.values().sum()),
        listed: participant.innovations.len(),
        ..InnovationTally::default()
    };
    for innovation in &participant.innovations {
        let given = verdicts.get(&innovation.id).map_or(&[][..], Vec::as_slice);
        match consolidated_verdict(given) {
            Some(Verdict::Found) => tally.found += 1,
            Some(Verdict::Partial) => tally.partial += 1,
            Some(Verdict::NotFound) => tally.not_found += 1,
            None => tally.unchecked += 1,
        }
    }
    tally
}
