//! What can go wrong in the store, with a stable code for each kind (the CLI's JSON errors and
//! the desktop app match on the code, never on the message).

use std::path::PathBuf;

use tinjau_core::chain::ChainBreak;
use tinjau_core::{PackageErrors, RuleError};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    InvalidPackage(#[from] PackageErrors),
    #[error(
        "this data directory holds competition \"{have}\"; the package is for \"{got}\" (use another --data-dir)"
    )]
    OtherCompetition { have: String, got: String },
    #[error(
        "the package is revision {got}, older than the imported revision {have}; nothing was changed"
    )]
    OlderRevision { have: i64, got: i64 },
    #[error(
        "the package is revision {revision}, already imported with different content; the organiser must raise the revision"
    )]
    RevisionContentChanged { revision: i64 },
    #[error("no competition package imported yet: run `tinjau import PACKAGE.json` first")]
    NoPackage,
    #[error("this store has no juror yet: run `tinjau init --juror JUROR_ID` first")]
    NoJuror,
    #[error("no visit is locked yet: a result bundle holds locked results (lock a visit first)")]
    NothingLocked,
    #[error("unknown juror \"{juror}\"; the package's jurors are: {known}")]
    UnknownJuror { juror: String, known: String },
    #[error(
        "this store already belongs to juror \"{current}\" and holds their work; use another --data-dir for \"{requested}\""
    )]
    JurorAlreadySet { current: String, requested: String },
    #[error("unknown visit \"{visit}\"; the visits are: {known}")]
    UnknownVisit { visit: String, known: String },
    #[error("visit \"{visit}\" has no innovation \"{innovation}\"")]
    UnknownInnovation { visit: String, innovation: String },
    #[error("unknown indicator \"{indicator}\"; the indicators are: {known}")]
    UnknownIndicator { indicator: String, known: String },
    #[error("unknown participant \"{participant}\"; the participants are: {known}")]
    UnknownParticipant { participant: String, known: String },
    #[error("juror \"{juror}\" is not on the jury of visit \"{visit}\"")]
    NotOnJury { juror: String, visit: String },
    #[error(transparent)]
    Rule(#[from] RuleError),
    #[error("{field} must not be empty")]
    EmptyText { field: &'static str },
    #[error("your sheet for visit \"{visit}\" is submitted and read-only")]
    SheetSubmitted { visit: String },
    #[error("cannot submit visit \"{visit}\": indicators not scored yet: {}", missing.join(", "))]
    SheetIncomplete { visit: String, missing: Vec<String> },
    #[error("evidence file {}: {reason}", path.display())]
    EvidenceUnreadable { path: PathBuf, reason: String },
    #[error("evidence file {} is {size} bytes; the limit is {limit} bytes", path.display())]
    EvidenceTooLarge {
        path: PathBuf,
        size: u64,
        limit: u64,
    },
    #[error(
        "\"{juror}\" is not the team lead of this competition or visit; only the lead may do this"
    )]
    NotLead { juror: String },
    #[error("submit your own sheet first: as a juror you see no merged result before that (visits: {})", visits.join(", "))]
    BlindUntilSubmitted { visits: Vec<String> },
    #[error("visit \"{visit}\" is locked: its result is sealed and no change is accepted")]
    VisitLocked { visit: String },
    #[error("{} do not share a rank, so there is no tie to break", participants.join(", "))]
    NotTied { participants: Vec<String> },
    #[error("the sheet of \"{juror}\" for visit \"{visit}\" is not submitted yet")]
    SheetNotSubmitted { juror: String, visit: String },
    #[error(
        "your sheet for visit \"{visit}\" was already sent (to the server or on a sheet file): only the team lead can reopen it"
    )]
    SheetAlreadySent { visit: String },
    #[error("cannot lock visit \"{visit}\": no juror scored {}", missing.join(", "))]
    ResultIncomplete { visit: String, missing: Vec<String> },
    #[error(
        "no open conflict \"{conflict}\": run `tinjau sync` to refresh, then `tinjau conflicts`"
    )]
    UnknownConflict { conflict: String },
    #[error("no attached file \"{evidence}\" in this visit")]
    UnknownEvidence { evidence: String },
    #[error("the conflict has no candidate \"{candidate}\"")]
    UnknownCandidate { candidate: String },
    #[error("this is \"{owner}\"'s record: only they can resolve it")]
    NotYours { owner: String },
    #[error("give either --pick CANDIDATE or --value VALUE")]
    ResolveHow,
    #[error("refused: {0}")]
    Refused(String),
    /// A value a person gave that no change may carry (too long, control characters, a score
    /// with three decimals, …).
    #[error("{0}")]
    InvalidValue(String),
    #[error(
        "the change was not saved: a later change of the same field already holds it (this laptop's clock is behind a received one)"
    )]
    NotSaved,
    #[error(
        "this data folder was copied from another laptop and both copies were used; continue here as a new device with `tinjau sync --new-device` (your unsent changes are written again under it, nothing is lost)"
    )]
    DeviceCopied,
    #[error("sheet file: {0}")]
    SheetFile(String),
    #[error(
        "the database was written by a newer Tinjau (schema {found}; this version knows up to {known})"
    )]
    NewerSchema { found: i64, known: i64 },
    #[error(transparent)]
    ChainBroken(#[from] ChainBreak),
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    #[error(
        "this data folder is encrypted: unlock it with its passphrase (TINJAU_PASSPHRASE) or from the system keyring"
    )]
    Locked,
    #[error("the passphrase (or keyring key) does not open this data folder")]
    WrongKey,
    /// The folder's key is kept in the system keyring, which does not give it now (locked,
    /// unavailable, or its entry removed).
    #[error(
        "this data folder's key is kept in the system keyring, which does not have it now ({reason}): unlock the keyring (log in to the desktop) and try again, or restore the folder from a backup"
    )]
    KeyMissing { reason: String },
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
}

impl StoreError {
    /// A stable, machine-readable code for this kind of error.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::InvalidPackage(_) => "invalid_package",
            StoreError::OtherCompetition { .. } => "other_competition",
            StoreError::OlderRevision { .. } => "older_revision",
            StoreError::RevisionContentChanged { .. } => "revision_content_changed",
            StoreError::NoPackage => "no_package",
            StoreError::NoJuror => "no_juror",
            StoreError::NothingLocked => "nothing_locked",
            StoreError::UnknownJuror { .. } => "unknown_juror",
            StoreError::JurorAlreadySet { .. } => "juror_already_set",
            StoreError::UnknownVisit { .. } => "unknown_visit",
            StoreError::UnknownInnovation { .. } => "unknown_innovation",
            StoreError::UnknownIndicator { .. } => "unknown_indicator",
            StoreError::UnknownParticipant { .. } => "unknown_participant",
            StoreError::NotOnJury { .. } => "not_on_jury",
            StoreError::Rule(RuleError::ScoreOutOfScale { .. }) => "score_out_of_scale",
            StoreError::Rule(RuleError::ScoreNotANumber(_)) => "score_not_a_number",
            StoreError::Rule(RuleError::UnknownVerdict(_)) => "unknown_verdict",
            StoreError::Rule(_) => "invalid_value",
            StoreError::EmptyText { .. } => "empty_text",
            StoreError::SheetSubmitted { .. } => "sheet_submitted",
            StoreError::SheetIncomplete { .. } => "sheet_incomplete",
            StoreError::EvidenceUnreadable { .. } => "evidence_unreadable",
            StoreError::EvidenceTooLarge { .. } => "evidence_too_large",
            StoreError::NotLead { .. } => "not_lead",
            StoreError::BlindUntilSubmitted { .. } => "blind_until_submitted",
            StoreError::VisitLocked { .. } => "visit_locked",
            StoreError::NotTied { .. } => "not_tied",
            StoreError::SheetNotSubmitted { .. } => "sheet_not_submitted",
            StoreError::SheetAlreadySent { .. } => "sheet_already_sent",
            StoreError::ResultIncomplete { .. } => "result_incomplete",
            StoreError::SheetFile(_) => "invalid_sheet_file",
            StoreError::UnknownConflict { .. } => "unknown_conflict",
            StoreError::UnknownCandidate { .. } => "unknown_candidate",
            StoreError::UnknownEvidence { .. } => "unknown_evidence",
            StoreError::NotYours { .. } => "not_yours",
            StoreError::ResolveHow => "resolve_how",
            StoreError::Refused(_) => "refused",
            StoreError::InvalidValue(_) => "invalid_value",
            StoreError::NotSaved => "not_saved",
            StoreError::DeviceCopied => "device_copied",
            StoreError::NewerSchema { .. } => "newer_schema",
            StoreError::ChainBroken(_) => "chain_broken",
            StoreError::Corrupt(_) => "corrupt",
            StoreError::Locked => "store_locked",
            StoreError::WrongKey => "wrong_key",
            StoreError::KeyMissing { .. } => "key_missing",
            StoreError::Io { .. } => "io",
            StoreError::Database(_) => "database",
        }
    }
}
