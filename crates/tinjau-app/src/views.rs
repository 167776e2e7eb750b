//! What the user interfaces receive that is not domain: the first screen's overview and sync
//! progress events. (The domain's read models stay in `tinjau_core::views`.)

use serde::{Deserialize, Serialize};

/// What the desktop app needs to decide its first screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct Overview {
    /// The competition's name, once a package is imported.
    pub competition: Option<String>,
    pub stage: Option<String>,
    /// This store's juror, once chosen.
    pub juror: Option<tinjau_core::package::Juror>,
    /// The package's jurors, to choose from.
    pub jurors: Vec<tinjau_core::package::Juror>,
    pub is_lead: bool,
    pub server: Option<String>,
    pub data_dir: String,
    pub version: String,
    /// The data folder is encrypted and waits for its passphrase ("Buka data").
    pub locked: bool,
    /// Locked, and the passphrase is being chosen now (a new folder on a machine without a
    /// keyring): the person types it twice.
    pub new_passphrase: bool,
    /// The data folder could not be opened, and why (its key missing from the keyring, a
    /// damaged file): the app says so and offers to try again.
    pub open_error: Option<crate::error::ErrorPayload>,
}

impl Overview {
    /// A data folder waiting for its passphrase: nothing else is known yet.
    pub fn locked(data_dir: &std::path::Path, new_passphrase: bool) -> Overview {
        Overview {
            competition: None,
            stage: None,
            juror: None,
            jurors: Vec::new(),
            is_lead: false,
            server: None,
            data_dir: data_dir.display().to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            locked: true,
            new_passphrase,
            open_error: None,
        }
    }
}

/// The phases of a sync, in order: metadata first, files after.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum SyncPhase {
    Push,
    Pull,
    Upload,
    Download,
}

impl From<tinjau_sync::Phase> for SyncPhase {
    fn from(phase: tinjau_sync::Phase) -> SyncPhase {
        match phase {
            tinjau_sync::Phase::Push => SyncPhase::Push,
            tinjau_sync::Phase::Pull => SyncPhase::Pull,
            tinjau_sync::Phase::Upload => SyncPhase::Upload,
            tinjau_sync::Phase::Download => SyncPhase::Download,
        }
    }
}

/// A sync progress event: `done` of `total` in one phase, or, with `file`, in one evidence
/// file's upload (bytes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct SyncProgress {
    pub phase: SyncPhase,
    pub done: u64,
    pub total: u64,
    /// The evidence file (its hash) this progress is about, for per-file bars.
    pub file: Option<String>,
}
