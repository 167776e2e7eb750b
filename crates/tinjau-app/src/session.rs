//! A desktop session: one data folder, the store connection the UI works on, files staged for
//! attaching, and whether a sync is running. Sync and joining use their own connections, so the
//! UI never waits for the network.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tinjau_core::Verdict;
use tinjau_core::views::{AuditReport, ObservationView, SyncStatus};
use tinjau_store::crypt::Unlock;
use tinjau_store::{Store, StoreError, StoreOptions, VerifyRequest};

use crate::documents::{Document, render};
use crate::error::{AppResult, ErrorPayload, invalid_request};
use crate::keys::KeyChoice;
use crate::views::Overview;

/// The SKK Jawa Timur 2023 demo package, shipped in `assets/`.
pub const DEMO_PACKAGE: &str = include_str!("../../../assets/skk-jatim-2023.json");

/// How a shut store waits.
#[derive(Default)]
struct Waiting {
    /// The passphrase is being chosen now (a new folder, no keyring).
    new_store: bool,
    /// Why the folder did not open, shown until a retry opens it.
    failure: Option<ErrorPayload>,
}

pub struct Session {
    data_dir: PathBuf,
    /// `None` while the data folder waits for its passphrase.
    store: Mutex<Option<Store>>,
    /// While the store is shut: how it waits (for a passphrase, or after a failed opening).
    waiting: Mutex<Waiting>,
    staged: Mutex<HashMap<String, PathBuf>>,
    /// Held while a sync runs: syncs (the background's, the juror's button) take turns.
    syncing: Mutex<()>,
}

impl Session {
    /// Opens the data folder as `choice` allows: at once with a key, or locked until
    /// [`Session::unlock`] is given the passphrase.
    pub fn open(data_dir: &Path, choice: KeyChoice) -> AppResult<Session> {
        let session = Session::shut(data_dir, Waiting::default());
        session.open_as(choice)?;
        Ok(session)
    }

    /// A session whose data folder could not be opened (its key is missing from the keyring,
    /// say): the app shows why, in words, and can try again ([`Session::retry`]) instead of
    /// closing with a line in a log nobody reads.
    pub fn failed(data_dir: &Path, error: ErrorPayload) -> Session {
        Session::shut(
            data_dir,
            Waiting {
                new_store: false,
                failure: Some(error),
            },
        )
    }

    fn shut(data_dir: &Path, waiting: Waiting) -> Session {
        Session {
            data_dir: data_dir.to_path_buf(),
            store: Mutex::new(None),
            waiting: Mutex::new(waiting),
            staged: Mutex::new(HashMap::new()),
            syncing: Mutex::new(()),
        }
    }

    fn open_as(&self, choice: KeyChoice) -> AppResult<()> {
        let mut slot = self.store.lock().unwrap_or_else(|p| p.into_inner());
        let mut waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        match choice {
            KeyChoice::Ready(unlock) => {
                *slot = Some(open_store(&self.data_dir, Some(unlock))?);
                *waiting = Waiting::default();
            }
            KeyChoice::NeedPassphrase { new_store } => {
                *waiting = Waiting {
                    new_store,
                    failure: None,
                };
            }
        }
        Ok(())
    }

    /// Tries a failed opening again, as `choice` now says (the keyring may be unlocked now).
    /// An open store is left as it is.
    pub fn retry(&self, choice: Result<KeyChoice, StoreError>) -> AppResult<Overview> {
        let open = self
            .store
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some();
        if !open {
            let result = choice
                .map_err(|e| ErrorPayload::from_store(&e, None))
                .and_then(|choice| self.open_as(choice));
            if let Err(error) = result {
                tracing::warn!(%error, dir = %self.data_dir.display(), "the data folder still does not open");
                self.waiting
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .failure = Some(error);
            }
        }
        self.overview()
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Opens a locked data folder with the passphrase the person typed.
    pub fn unlock(&self, passphrase: &str) -> AppResult<Overview> {
        if passphrase.is_empty() {
            return Err(ErrorPayload::new("wrong_key", "type the passphrase"));
        }
        {
            let mut slot = self.store.lock().unwrap_or_else(|p| p.into_inner());
            if slot.is_none() {
                let unlock = Unlock::Passphrase(zeroize::Zeroizing::new(passphrase.to_string()));
                *slot = Some(open_store(&self.data_dir, Some(unlock))?);
            }
        }
        self.overview()
    }

    /// Runs one store operation on the UI's connection; its error names things by their names.
    pub fn with<T>(&self, work: impl FnOnce(&mut Store) -> Result<T, StoreError>) -> AppResult<T> {
        let mut slot = self.store.lock().unwrap_or_else(|p| p.into_inner());
        let store = slot
            .as_mut()
            .ok_or_else(|| ErrorPayload::from_store(&StoreError::Locked, None))?;
        work(store).map_err(|e| ErrorPayload::from_store(&e, store.package().ok()))
    }

    /// A second connection to the data folder (sync, joining), opened as the UI's was.
    fn second_connection(&self) -> AppResult<Store> {
        let unlock = {
            let slot = self.store.lock().unwrap_or_else(|p| p.into_inner());
            slot.as_ref()
                .ok_or_else(|| ErrorPayload::from_store(&StoreError::Locked, None))?
                .reopen_with()
        };
        open_store(&self.data_dir, unlock)
    }

    pub fn overview(&self) -> AppResult<Overview> {
        {
            let slot = self.store.lock().unwrap_or_else(|p| p.into_inner());
            if slot.is_none() {
                let waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
                let mut overview = Overview::locked(&self.data_dir, waiting.new_store);
                overview.open_error = waiting.failure.clone();
                return Ok(overview);
            }
        }
        self.with(|s| overview(s, &self.data_dir))
    }

    pub fn import_package(&self, bytes: &[u8]) -> AppResult<Overview> {
        self.with(|s| {
            s.import_package(bytes)?;
            overview(s, &self.data_dir)
        })
    }

    pub fn load_demo(&self) -> AppResult<Overview> {
        self.import_package(DEMO_PACKAGE.as_bytes())
    }

    /// Chooses who this laptop's juror is; with the token from their slip, also registers the
    /// laptop as theirs (offline), so the lead can check and relay their sheet files.
    pub fn choose_juror(&self, juror: &str, token: Option<&str>) -> AppResult<Overview> {
        self.with(|s| {
            s.init_juror(juror)?;
            if let Some(token) = token.map(str::trim).filter(|t| !t.is_empty()) {
                s.register_device(token)?;
            }
            overview(s, &self.data_dir)
        })
    }

    /// Joins a server with a token (the network on its own connection), then re-reads what the
    /// join wrote on the UI's.
    pub fn join(&self, server: &str, token: &str, pin: Option<&str>) -> AppResult<Overview> {
        {
            let mut store = self.second_connection()?;
            tinjau_sync::join(
                &mut store,
                server.trim(),
                token.trim(),
                pin.map(str::trim).filter(|p| !p.is_empty()),
            )
            .map_err(|e| ErrorPayload::from_sync(&e, store.package().ok()))?;
        }
        let fresh = self.second_connection()?;
        *self.store.lock().unwrap_or_else(|p| p.into_inner()) = Some(fresh);
        self.overview()
    }

    /// Joins with the join file (`*.tinjau`) the organiser handed out.
    pub fn join_with_file(&self, bytes: &[u8]) -> AppResult<Overview> {
        let slip = tinjau_core::join::JoinSlip::parse(bytes).map_err(|reason| {
            ErrorPayload::new("invalid_join_file", &reason).with("detail", reason)
        })?;
        self.join(&slip.server, &slip.token, slip.pin.as_deref())
    }

    /// Joins with the join file at `path` (the app was opened with it: `tinjau-desktop FILE`).
    /// Reads at most a join file's size: anything larger is refused, not read whole.
    pub fn join_with_path(&self, path: &std::path::Path) -> AppResult<Overview> {
        use std::io::Read;
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|file| {
                file.take(tinjau_core::join::MAX_JOIN_BYTES as u64 + 1)
                    .read_to_end(&mut bytes)
            })
            .map_err(|e| {
                ErrorPayload::new("io", format!("reading {}: {e}", path.display()))
                    .with("path", path.display().to_string())
            })?;
        self.join_with_file(&bytes)
    }

    /// Keeps a picked or dropped file until it is attached; returns a token naming it.
    pub fn stage_file(&self, name: &str, bytes: &[u8]) -> AppResult<String> {
        let name = staged_name(name);
        let token = uuid::Uuid::new_v4().to_string();
        let folder = self.data_dir.join("staging").join(&token);
        let path = folder.join(&name);
        std::fs::create_dir_all(&folder)
            .and_then(|()| std::fs::write(&path, bytes))
            .map_err(|e| ErrorPayload::new("io", format!("keeping {name}: {e}")))?;
        self.staged
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(token.clone(), path);
        Ok(token)
    }

    /// Runs `work` with the staged files' paths, then removes the staged copies (they are in
    /// the store, or were refused).
    fn with_staged<T>(
        &self,
        tokens: &[String],
        work: impl FnOnce(&mut Store, Vec<PathBuf>) -> Result<T, StoreError>,
    ) -> AppResult<T> {
        let paths = {
            let mut staged = self.staged.lock().unwrap_or_else(|p| p.into_inner());
            tokens
                .iter()
                .map(|t| {
                    staged.remove(t).ok_or_else(|| {
                        ErrorPayload::new("unknown_file", format!("no staged file {t}"))
                    })
                })
                .collect::<AppResult<Vec<_>>>()?
        };
        let result = self.with(|s| work(s, paths.clone()));
        for path in &paths {
            if let Some(folder) = path.parent() {
                let _ = std::fs::remove_dir_all(folder);
            }
        }
        result
    }

    pub fn attach_to_innovation(
        &self,
        visit: String,
        innovation: String,
        verdict: Verdict,
        files: &[String],
    ) -> AppResult<()> {
        self.with_staged(files, |s, evidence| {
            s.verify(&VerifyRequest {
                visit,
                innovation,
                verdict,
                note: None,
                evidence,
            })
            .map(drop)
        })
    }

    pub fn observe(
        &self,
        visit: &str,
        text: &str,
        innovation: Option<&str>,
        files: &[String],
    ) -> AppResult<ObservationView> {
        self.with_staged(files, |s, evidence| {
            s.observe(visit, text, innovation, &evidence)
        })
    }

    /// An evidence file's bytes (for thumbnails and the enlarged view).
    pub fn evidence_bytes(&self, hash: &str) -> AppResult<Vec<u8>> {
        self.with(|s| s.evidence_bytes(hash))?.ok_or_else(|| {
            ErrorPayload::new(
                "pending_upload",
                "this file has not reached this laptop yet",
            )
        })
    }

    pub fn audit(&self) -> AppResult<AuditReport> {
        self.with(|s| audit(s))
    }

    /// Renders a document and saves it in `folder` (never over an earlier file); returns
    /// where it was saved.
    pub fn export(
        &self,
        document: &Document,
        today: chrono::NaiveDate,
        folder: &Path,
    ) -> AppResult<PathBuf> {
        let slot = self.store.lock().unwrap_or_else(|p| p.into_inner());
        let store = slot
            .as_ref()
            .ok_or_else(|| ErrorPayload::from_store(&StoreError::Locked, None))?;
        let files = render(store, document, today)?;
        let mut saved = None;
        for file in files {
            let path = tinjau_store::save_without_overwriting(folder, &file.name, &file.bytes)
                .map_err(|e| ErrorPayload::from_store(&e, store.package().ok()))?;
            saved.get_or_insert(path);
        }
        saved.ok_or_else(|| ErrorPayload::new("report_failed", "the document has no file"))
    }

    /// Whether this laptop has a server (or a visit's hub) to sync with.
    pub fn sync_configured(&self) -> bool {
        self.with(|s| Ok(s.sync_settings()?.is_some() || s.visit_hub()?.is_some()))
            .unwrap_or(false)
    }

    /// Joins a visit's hub (`docs/hub.md`): a session is opened once to check the address, the
    /// pin and the token, then every sync goes to the hub until [`Session::leave_hub`]. The
    /// token is the one this laptop joined the server with, or `token` (a laptop that never
    /// reached the server).
    pub fn join_hub(&self, server: &str, pin: &str, token: Option<&str>) -> AppResult<SyncStatus> {
        let _turn = self.syncing.lock().unwrap_or_else(|p| p.into_inner());
        let mut store = self.second_connection()?;
        let package = store.package().ok().cloned();
        let stored = store
            .sync_settings()
            .map_err(|e| ErrorPayload::from_store(&e, package.as_ref()))?
            .map(|s| s.token);
        let token = token
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .or(stored)
            .ok_or_else(|| {
                ErrorPayload::new(
                    "hub_needs_token",
                    "this laptop never joined the server: type the token from your slip",
                )
            })?;
        let hub = tinjau_store::VisitHub {
            server: server.trim().trim_end_matches('/').to_string(),
            pin: pin.trim().to_string(),
            token,
        };
        tinjau_sync::Client::join_hub(&store, &hub.server, &hub.token, &hub.pin)
            .map_err(|e| ErrorPayload::from_sync(&e, package.as_ref()))?;
        store
            .set_visit_hub(Some(&hub))
            .and_then(|()| store.sync_status())
            .map_err(|e| ErrorPayload::from_store(&e, package.as_ref()))
    }

    /// What a visit's hub hosted on this laptop starts from; only the team lead's laptop hosts.
    pub fn hub_seed(&self) -> AppResult<tinjau_core::hub::HubSeed> {
        self.with(|s| {
            let juror = s.juror_id()?;
            let seed = s.hub_seed()?;
            match seed.package.juror(&juror).map(|j| j.role) {
                Some(tinjau_core::package::Role::Lead) => Ok(seed),
                _ => Err(StoreError::NotLead { juror }),
            }
        })
    }

    /// Syncs with the server again, not with the visit's hub.
    pub fn leave_hub(&self) -> AppResult<SyncStatus> {
        self.with(|s| {
            s.set_visit_hub(None)?;
            s.sync_status()
        })
    }

    /// One sync on its own store connection, after any sync already running has finished.
    /// With `originals_now`, every photo's original goes in this sync whatever the laptop's
    /// policy ("kirim asli sekarang").
    pub fn sync(
        &self,
        progress: &mut dyn tinjau_sync::Progress,
        originals_now: bool,
    ) -> AppResult<SyncStatus> {
        let _turn = self.syncing.lock().unwrap_or_else(|p| p.into_inner());
        (|| {
            let mut store = self.second_connection()?;
            let sync_error = |e: tinjau_sync::SyncError, store: &Store| {
                ErrorPayload::from_sync(&e, store.package().ok())
            };
            let hub = store
                .visit_hub()
                .map_err(|e| ErrorPayload::from_store(&e, store.package().ok()))?;
            let client = match hub {
                Some(hub) => {
                    tinjau_sync::Client::join_hub(&store, &hub.server, &hub.token, &hub.pin)
                }
                None => tinjau_sync::client_for(&store),
            }
            .map_err(|e| sync_error(e, &store))?;
            if originals_now {
                tinjau_sync::sync_sending_originals(&mut store, &client, progress)
            } else {
                tinjau_sync::sync_once(&mut store, &client, progress)
            }
            .map_err(|e| sync_error(e, &store))?;
            store
                .sync_status()
                .map_err(|e| ErrorPayload::from_store(&e, store.package().ok()))
        })()
    }
}

fn open_store(data_dir: &Path, unlock: Option<Unlock>) -> AppResult<Store> {
    Store::open(
        data_dir,
        StoreOptions {
            unlock,
            ..StoreOptions::default()
        },
    )
    .map_err(|e| ErrorPayload::from_store(&e, None))
}

/// What the desktop app needs to decide its first screen.
pub fn overview(store: &Store, data_dir: &Path) -> Result<Overview, StoreError> {
    let package = store.package().ok();
    let juror = store
        .juror_id()
        .ok()
        .and_then(|id| package.and_then(|p| p.juror(&id)).cloned());
    Ok(Overview {
        competition: package.map(|p| p.competition.name.clone()),
        stage: package.and_then(|p| p.competition.stage.clone()),
        is_lead: juror
            .as_ref()
            .is_some_and(|j| j.role == tinjau_core::package::Role::Lead),
        juror,
        jurors: package.map(|p| p.jurors.clone()).unwrap_or_default(),
        server: store.sync_settings()?.map(|s| s.server),
        data_dir: data_dir.display().to_string(),
        version: env!("CARGO_PKG_VERSION").into(),
        locked: false,
        open_error: None,
        new_passphrase: false,
    })
}

/// The audit: every device's hash chain, then SQLite's own integrity check.
pub fn audit(store: &Store) -> Result<AuditReport, StoreError> {
    let report = store.audit()?;
    store.integrity_check()?;
    Ok(report)
}

/// A staged file keeps the name it had, unless that name could leave its folder or is not a
/// file name on every system; then it is called "bukti".
fn staged_name(name: &str) -> String {
    let ok = !name.is_empty()
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| matches!(c, '/' | '\\' | ':') || c.is_control());
    if ok { name.to_string() } else { "bukti".into() }
}

/// A file name sent percent-encoded (in the shell's `x-file-name` header), decoded.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(byte) = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A conflict or candidate id from the UI.
pub fn parse_id(text: &str) -> AppResult<uuid::Uuid> {
    uuid::Uuid::parse_str(text).map_err(|_| invalid_request(format!("\"{text}\" is not an id")))
}
