//! Errors as the user interfaces receive them: a stable code, the English message (the CLI
//! prints it), and the things the error is about *by their names* (a kecamatan, a juror, an
//! indicator), so the desktop app can say it in the user's language from its locale files
//! without ever showing an id such as `visit-junrejo` or a path such as `indicators[2].weight`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tinjau_core::RuleError;
use tinjau_core::package::Package;
use tinjau_store::StoreError;
use tinjau_sync::SyncError;

/// An error as a user interface receives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS, thiserror::Error)]
#[error("{message}")]
pub struct ErrorPayload {
    /// Stable and machine-readable; the UI's text is `error.<code>` in its locale files.
    pub code: String,
    /// In English, for the CLI and the logs.
    pub message: String,
    /// Named values for the UI's text (`{visit}`, `{juror}`, `{indicators}`, …).
    pub params: BTreeMap<String, String>,
}

pub type AppResult<T> = Result<T, ErrorPayload>;

impl ErrorPayload {
    pub fn new(code: &str, message: impl ToString) -> ErrorPayload {
        ErrorPayload {
            code: code.into(),
            message: message.to_string(),
            params: BTreeMap::new(),
        }
    }

    pub(crate) fn with(mut self, name: &str, value: impl ToString) -> ErrorPayload {
        self.params.insert(name.into(), value.to_string());
        self
    }

    /// A store error, its ids turned into the names a person knows them by.
    pub fn from_store(error: &StoreError, package: Option<&Package>) -> ErrorPayload {
        let names = Names(package);
        let base = ErrorPayload::new(error.code(), error);
        match error {
            StoreError::InvalidPackage(problems) => {
                let base = base.with("count", problems.0.len());
                // Where the first problem is, as a section and a position ("indicators", 3),
                // which the UI says in words ("indikator ke-3"); never a JSON path.
                match problems.0.first().and_then(|p| section_of(&p.path)) {
                    Some((section, position)) => {
                        base.with("section", section).with("position", position)
                    }
                    None => base,
                }
            }
            StoreError::OtherCompetition { have, got } => base.with("have", have).with("got", got),
            StoreError::OlderRevision { have, got } => base.with("have", have).with("got", got),
            StoreError::RevisionContentChanged { revision } => base.with("revision", revision),
            StoreError::UnknownVisit { visit, .. }
            | StoreError::UnknownInnovation { visit, .. }
            | StoreError::SheetSubmitted { visit }
            | StoreError::VisitLocked { visit }
            | StoreError::SheetAlreadySent { visit } => base.with("visit", names.visit(visit)),
            StoreError::SheetIncomplete { visit, missing }
            | StoreError::ResultIncomplete { visit, missing } => base
                .with("visit", names.visit(visit))
                .with("indicators", names.indicators(missing)),
            StoreError::NotOnJury { juror, visit }
            | StoreError::SheetNotSubmitted { juror, visit } => base
                .with("juror", names.juror(juror))
                .with("visit", names.visit(visit)),
            StoreError::UnknownJuror { juror, .. }
            | StoreError::NotLead { juror }
            | StoreError::JurorAlreadySet { current: juror, .. } => {
                base.with("juror", names.juror(juror))
            }
            StoreError::NotYours { owner } => base.with("juror", names.juror(owner)),
            StoreError::UnknownIndicator { indicator, .. } => {
                base.with("indicator", names.indicator(indicator))
            }
            StoreError::UnknownParticipant { participant, .. } => {
                base.with("participant", names.participant(participant))
            }
            StoreError::BlindUntilSubmitted { visits } => base.with(
                "visits",
                visits
                    .iter()
                    .map(|v| names.visit(v))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            StoreError::NotTied { participants } => base.with(
                "participants",
                participants
                    .iter()
                    .map(|p| names.participant(p))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            StoreError::EmptyText { field } => base.with("field", field),
            StoreError::EvidenceUnreadable { path, .. } => base.with("file", file_name(path)),
            StoreError::EvidenceTooLarge { path, size, limit } => base
                .with("file", file_name(path))
                .with("size_mb", megabytes(*size))
                .with("limit_mb", megabytes(*limit)),
            StoreError::Rule(RuleError::ScoreOutOfScale { value, min, max }) => base
                .with("value", decimal(*value))
                .with("min", decimal(*min))
                .with("max", decimal(*max)),
            StoreError::KeyMissing { reason } => base.with("reason", reason),
            StoreError::NewerSchema { found, known } => {
                base.with("found", found).with("known", known)
            }
            // The rest carry no name a person needs; their text says it all.
            _ => base.with("detail", error),
        }
    }

    /// A sync error (the server's answer, the network, or the store underneath).
    pub fn from_sync(error: &SyncError, package: Option<&Package>) -> ErrorPayload {
        match error {
            SyncError::Store(e) => ErrorPayload::from_store(e, package),
            SyncError::Server {
                status, message, ..
            } => ErrorPayload::new(error.code(), error)
                .with("status", status)
                .with("detail", message),
            _ => ErrorPayload::new(error.code(), error),
        }
    }
}

impl ErrorPayload {
    /// The visit's hub could not start (its port taken, its folder unwritable).
    pub fn hub_failed(error: &impl std::fmt::Display) -> ErrorPayload {
        ErrorPayload::new(
            "hub_failed",
            format!("the visit's hub could not start: {error}"),
        )
        .with("detail", error)
    }
}

/// The app's own errors (requests the shell cannot make sense of, and the like).
pub(crate) fn invalid_request(message: impl ToString) -> ErrorPayload {
    ErrorPayload::new("invalid_request", message)
}

/// Every code an error can carry to a user interface. Each has its words in both locale files
/// (`error.<code>`), which a test checks; another test checks that the store's, the sync
/// client's and the server's codes are all listed here.
pub const ERROR_CODES: &[&str] = &[
    // The store.
    "invalid_package",
    "other_competition",
    "older_revision",
    "revision_content_changed",
    "no_package",
    "no_juror",
    "nothing_locked",
    "unknown_juror",
    "juror_already_set",
    "unknown_visit",
    "unknown_innovation",
    "unknown_indicator",
    "unknown_participant",
    "not_on_jury",
    "score_out_of_scale",
    "score_not_a_number",
    "unknown_verdict",
    "invalid_value",
    "empty_text",
    "sheet_submitted",
    "sheet_incomplete",
    "evidence_unreadable",
    "evidence_too_large",
    "not_lead",
    "blind_until_submitted",
    "visit_locked",
    "not_tied",
    "sheet_not_submitted",
    "sheet_already_sent",
    "result_incomplete",
    "invalid_sheet_file",
    "unknown_conflict",
    "unknown_candidate",
    "unknown_evidence",
    "not_yours",
    "resolve_how",
    "refused",
    "not_saved",
    "device_copied",
    "newer_schema",
    "chain_broken",
    "corrupt",
    "store_locked",
    "wrong_key",
    "key_missing",
    "io",
    "database",
    // The sync client.
    "offline",
    "protocol",
    "sync_setup",
    // The server's answers.
    "unauthorized",
    "forbidden",
    "not_found",
    "method_not_allowed",
    "malformed",
    "invalid",
    "too_large",
    "offset_mismatch",
    "checksum_mismatch",
    "bad_range",
    "busy",
    "timeout",
    "internal",
    // This layer.
    "invalid_request",
    "invalid_join_file",
    "unknown_file",
    "pending_upload",
    "report_failed",
    "hub_needs_token",
    "hub_failed",
];

struct Names<'a>(Option<&'a Package>);

impl Names<'_> {
    /// A visit by its kecamatan's name ("Kecamatan Junrejo").
    fn visit(&self, id: &str) -> String {
        self.0
            .and_then(|p| p.visit(id))
            .and_then(|v| self.0.and_then(|p| p.participant(&v.participant)))
            .map(|p| p.name.clone())
            .unwrap_or_else(|| id.to_string())
    }

    fn juror(&self, id: &str) -> String {
        self.0
            .and_then(|p| p.juror(id))
            .map(|j| j.name.clone())
            .unwrap_or_else(|| id.to_string())
    }

    fn participant(&self, id: &str) -> String {
        self.0
            .and_then(|p| p.participant(id))
            .map(|p| p.name.clone())
            .unwrap_or_else(|| id.to_string())
    }

    fn indicator(&self, id: &str) -> String {
        self.0
            .and_then(|p| p.indicator(id))
            .map(|i| format!("{} {}", i.id, i.name))
            .unwrap_or_else(|| id.to_string())
    }

    fn indicators(&self, ids: &[String]) -> String {
        ids.iter()
            .map(|id| self.indicator(id))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// `indicators[2].weight` → `("indicators", 3)`: the top-level list and the 1-based position.
fn section_of(path: &str) -> Option<(&str, usize)> {
    let (section, rest) = path.split_once('[')?;
    let index: usize = rest.split_once(']')?.0.parse().ok()?;
    let known = ["indicators", "participants", "jurors", "visits"];
    known.contains(&section).then_some((section, index + 1))
}

fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Megabytes with a decimal comma, as the UI's Indonesian text reads it.
fn megabytes(bytes: u64) -> String {
    decimal((bytes as f64 / (1024.0 * 1024.0) * 10.0).round() / 10.0)
}

fn decimal(value: f64) -> String {
    value.to_string().replace('.', ",")
}
