//! What the organiser's console shows: the JSON bodies of `/console/api/…` (documented in
//! `docs/console.md`), generated as TypeScript for the console's pages like the app's types.

use serde::{Deserialize, Serialize};

use crate::domain::SheetState;
use crate::merge::Lock;
use crate::package::{PackageDiff, Role};
use crate::sync::AccessRole;
use crate::views::{EvidenceView, ObservationView};

/// Who is signed in to the console.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct ConsoleSession {
    /// The organiser's name, or the lead's juror id.
    pub name: String,
    /// The lead's name as the package gives it; the organiser's name otherwise.
    pub display_name: String,
    pub role: AccessRole,
    pub competition: String,
    pub competition_name: String,
    pub revision: i64,
    /// Echoed in the `X-Tinjau-CSRF` header of every request that changes something.
    pub csrf: String,
}

/// Every visit the signed-in person may follow, each with a row per juror.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct ConsoleProgress {
    /// The position in the server's log this picture was taken at.
    pub log_position: u64,
    pub visits: Vec<VisitBoard>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct VisitBoard {
    pub visit_id: String,
    pub participant_name: String,
    pub region: Option<String>,
    pub date: String,
    /// The visit's team lead (juror id), when the package names one on the jury.
    pub lead: Option<String>,
    pub innovations_listed: usize,
    pub indicators_total: usize,
    /// The locked result, once the lead locked the visit.
    pub lock: Option<Lock>,
    pub jurors: Vec<JurorRow>,
}

/// One juror's sheet for one visit, as far as the server has received it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct JurorRow {
    pub juror_id: String,
    pub name: String,
    pub institution: String,
    pub innovations_checked: usize,
    pub indicators_scored: usize,
    pub sheet: SheetState,
    /// The last contact of any of the juror's laptops (RFC 3339).
    pub last_sync: Option<String>,
    /// Files recorded on this visit whose upload has not completed.
    pub pending_evidence: u64,
    /// Open conflicts on the juror's records (all visits).
    pub open_conflicts: u64,
    /// The juror's changes the server quarantined (all visits).
    pub quarantined: u64,
}

/// A juror of the package with the state of their tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct JurorTokens {
    pub juror_id: String,
    pub name: String,
    pub institution: String,
    pub role: Role,
    /// The participants of the visits the juror is on, in visit order.
    pub visits: Vec<String>,
    pub active_tokens: u32,
    pub revoked_tokens: u32,
    /// When the newest token was issued (RFC 3339).
    pub last_issued: Option<String>,
}

/// A visit's shared observations and evidence, as the lead sees them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct VisitGallery {
    pub visit_id: String,
    pub participant_name: String,
    pub observations: Vec<ObservationView>,
    pub evidence: Vec<EvidenceView>,
}

/// One published revision of a package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct RevisionRecord {
    pub revision: i64,
    /// RFC 3339; empty for a revision published before the server kept the time.
    pub published_at: String,
}

/// The competition as published, and its revisions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct ConsoleCompetition {
    pub id: String,
    pub name: String,
    pub stage: Option<String>,
    pub revision: i64,
    pub participants: usize,
    pub innovations: usize,
    pub jurors: usize,
    pub visits: usize,
    pub indicators: usize,
    pub revisions: Vec<RevisionRecord>,
}

/// What an uploaded package would change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct PackagePreview {
    pub competition: String,
    pub name: String,
    pub from_revision: i64,
    pub to_revision: i64,
    pub diff: PackageDiff,
    /// Publishing it would change nothing (the same revision and content).
    pub unchanged: bool,
}
