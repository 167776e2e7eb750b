//! The desktop shell: thin commands over the store, the sync client and the reports.
//!
//! Each command converts its input, calls one library function and converts the answer; no
//! rule lives here. Errors reach the UI as `{code, message}`. Sync runs on its own connection
//! to the store, in the background and on demand, so the UI never waits for the network.

mod commands;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::Duration;

use tauri::ipc::{InvokeBody, Request, Response};
use tauri::{Emitter, Manager, State};
use tinjau_core::Verdict;
use tinjau_core::merge::{Lock, MergeResult, Ranking};
use tinjau_core::package::{Method, Role};
use tinjau_core::sync::ConflictView;
use tinjau_core::views::{
    AuditReport, ErrorPayload, ObservationView, Overview, QuarantinedChange, ScoreView,
    SheetImportReport, SyncProgress, SyncStatus, VisitChecklist, VisitProgress,
};
use tinjau_store::{Store, StoreError, StoreOptions, VerifyRequest};

pub use commands::COMMANDS;

/// The SKK Jawa Timur 2023 demo package, offered on an empty first run.
const DEMO_PACKAGE: &str = include_str!("../../assets/skk-jatim-2023.json");

type CommandResult<T> = Result<T, ErrorPayload>;

fn error(code: &str, message: impl ToString) -> ErrorPayload {
    ErrorPayload {
        code: code.into(),
        message: message.to_string(),
    }
}

fn store_error(e: StoreError) -> ErrorPayload {
    error(e.code(), e)
}

fn sync_error(e: tinjau_sync::SyncError) -> ErrorPayload {
    let code = e.code().to_string();
    error(&code, e)
}

/// The app's state: the store the UI works on, files staged for attaching, and sync's state.
pub struct Shell {
    data_dir: PathBuf,
    store: Mutex<Store>,
    staged: Mutex<HashMap<String, PathBuf>>,
    syncing: AtomicBool,
    wake_sync: Mutex<mpsc::Sender<()>>,
}

impl Shell {
    fn with<T>(&self, work: impl FnOnce(&mut Store) -> Result<T, StoreError>) -> CommandResult<T> {
        let mut store = self.store.lock().unwrap_or_else(|p| p.into_inner());
        work(&mut store).map_err(store_error)
    }

    fn take_staged(&self, tokens: &[String]) -> CommandResult<Vec<PathBuf>> {
        let mut staged = self.staged.lock().unwrap_or_else(|p| p.into_inner());
        tokens
            .iter()
            .map(|t| {
                staged
                    .remove(t)
                    .ok_or_else(|| error("unknown_file", format!("no staged file {t}")))
            })
            .collect()
    }
}

/// Removes staged copies once they are in the store (or refused).
fn discard(paths: &[PathBuf]) {
    for path in paths {
        if let Some(folder) = path.parent() {
            let _ = std::fs::remove_dir_all(folder);
        }
    }
}

/// Where the app keeps its data: `TINJAU_DATA_DIR`, or the OS data directory (shared with the
/// `tinjau` command line).
pub fn data_dir() -> PathBuf {
    std::env::var_os("TINJAU_DATA_DIR")
        .map(PathBuf::from)
        .or_else(|| dirs::data_dir().map(|d| d.join("tinjau")))
        .unwrap_or_else(|| PathBuf::from("tinjau-data"))
}

fn overview_of(store: &Store, data_dir: &Path) -> Result<Overview, StoreError> {
    let package = store.package().ok();
    let juror = store
        .juror_id()
        .ok()
        .and_then(|id| package.and_then(|p| p.juror(&id)).cloned());
    Ok(Overview {
        competition: package.map(|p| p.competition.name.clone()),
        stage: package.and_then(|p| p.competition.stage.clone()),
        is_lead: juror.as_ref().is_some_and(|j| j.role == Role::Lead),
        juror,
        jurors: package.map(|p| p.jurors.clone()).unwrap_or_default(),
        server: store.sync_settings()?.map(|s| s.server),
        data_dir: data_dir.display().to_string(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}

#[tauri::command]
async fn overview(shell: State<'_, Shell>) -> CommandResult<Overview> {
    shell.with(|s| overview_of(s, &shell.data_dir))
}

#[tauri::command]
async fn load_demo(shell: State<'_, Shell>) -> CommandResult<Overview> {
    shell.with(|s| {
        s.import_package(DEMO_PACKAGE.as_bytes())?;
        overview_of(s, &shell.data_dir)
    })
}

/// The package file's bytes, read by the UI from the file the juror picked.
#[tauri::command]
async fn import_package(shell: State<'_, Shell>, request: Request<'_>) -> CommandResult<Overview> {
    let InvokeBody::Raw(bytes) = request.body() else {
        return Err(error(
            "invalid_request",
            "the package must be sent as bytes",
        ));
    };
    shell.with(|s| {
        s.import_package(bytes)?;
        overview_of(s, &shell.data_dir)
    })
}

/// The lead takes in a juror's sheet file (from a USB stick): raw IPC bytes.
#[tauri::command]
async fn import_sheet(
    shell: State<'_, Shell>,
    request: Request<'_>,
) -> CommandResult<SheetImportReport> {
    let InvokeBody::Raw(bytes) = request.body() else {
        return Err(error(
            "invalid_request",
            "the sheet file must be sent as bytes",
        ));
    };
    shell.with(|s| s.import_sheet(bytes))
}

#[tauri::command]
async fn lead_reopen(
    shell: State<'_, Shell>,
    visit: String,
    juror: String,
    reason: String,
) -> CommandResult<()> {
    shell.with(|s| s.reopen(&visit, &juror, &reason))
}

#[tauri::command]
async fn lead_note(
    shell: State<'_, Shell>,
    visit: String,
    indicator: String,
    note: String,
) -> CommandResult<()> {
    shell.with(|s| s.lead_note(&visit, &indicator, &note))
}

#[tauri::command]
async fn lead_quarantine(shell: State<'_, Shell>) -> CommandResult<Vec<QuarantinedChange>> {
    shell.with(|s| s.quarantine())
}

#[tauri::command]
async fn lead_tiebreak(
    shell: State<'_, Shell>,
    order: Vec<String>,
    reason: String,
) -> CommandResult<()> {
    shell.with(|s| s.break_tie(&order, &reason))
}

#[tauri::command]
async fn choose_juror(shell: State<'_, Shell>, juror: String) -> CommandResult<Overview> {
    shell.with(|s| {
        s.init_juror(&juror)?;
        overview_of(s, &shell.data_dir)
    })
}

#[tauri::command]
async fn join_server(
    shell: State<'_, Shell>,
    server: String,
    token: String,
    pin: Option<String>,
) -> CommandResult<Overview> {
    let data_dir = shell.data_dir.clone();
    // The network happens on its own connection to the store, off the UI's.
    tauri::async_runtime::spawn_blocking(move || -> CommandResult<()> {
        let mut store = Store::open(&data_dir, StoreOptions::default()).map_err(store_error)?;
        tinjau_sync::join(
            &mut store,
            server.trim(),
            token.trim(),
            pin.as_deref().filter(|p| !p.is_empty()),
        )
        .map(drop)
        .map_err(sync_error)
    })
    .await
    .map_err(|e| error("internal", e))??;
    // The UI's connection re-reads what the join wrote.
    let fresh = Store::open(&shell.data_dir, StoreOptions::default()).map_err(store_error)?;
    *shell.store.lock().unwrap_or_else(|p| p.into_inner()) = fresh;
    shell.with(|s| overview_of(s, &shell.data_dir))
}

#[tauri::command]
async fn visits(shell: State<'_, Shell>) -> CommandResult<Vec<VisitProgress>> {
    shell.with(|s| s.visits())
}

#[tauri::command]
async fn checklist(shell: State<'_, Shell>, visit: String) -> CommandResult<VisitChecklist> {
    shell.with(|s| s.checklist(&visit))
}

#[tauri::command]
async fn verify(
    shell: State<'_, Shell>,
    visit: String,
    innovation: String,
    verdict: Verdict,
    note: Option<String>,
) -> CommandResult<()> {
    shell.with(|s| {
        s.verify(&VerifyRequest {
            visit,
            innovation,
            verdict,
            note,
            evidence: vec![],
        })
        .map(drop)
    })
}

/// Receives a file's bytes (picked or dropped in the UI) and keeps it until it is attached.
/// The file name comes in the `x-file-name` header, percent-encoded.
#[tauri::command]
async fn stage_file(shell: State<'_, Shell>, request: Request<'_>) -> CommandResult<String> {
    let InvokeBody::Raw(bytes) = request.body() else {
        return Err(error("invalid_request", "the file must be sent as bytes"));
    };
    let name = request
        .headers()
        .get("x-file-name")
        .and_then(|v| v.to_str().ok())
        .map(percent_decode)
        .filter(|n| !n.is_empty() && !n.contains('/') && n != "." && n != "..")
        .unwrap_or_else(|| "bukti".into());
    let token = uuid::Uuid::new_v4().to_string();
    let folder = shell.data_dir.join("staging").join(&token);
    let path = folder.join(&name);
    std::fs::create_dir_all(&folder)
        .and_then(|()| std::fs::write(&path, bytes))
        .map_err(|e| error("io", format!("keeping {name}: {e}")))?;
    shell
        .staged
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(token.clone(), path);
    Ok(token)
}

fn percent_decode(text: &str) -> String {
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

#[tauri::command]
async fn attach_to_innovation(
    shell: State<'_, Shell>,
    visit: String,
    innovation: String,
    verdict: Verdict,
    files: Vec<String>,
) -> CommandResult<()> {
    let evidence = shell.take_staged(&files)?;
    let result = shell.with(|s| {
        s.verify(&VerifyRequest {
            visit,
            innovation,
            verdict,
            note: None,
            evidence: evidence.clone(),
        })
        .map(drop)
    });
    discard(&evidence);
    result
}

#[tauri::command]
async fn observe(
    shell: State<'_, Shell>,
    visit: String,
    text: String,
    innovation: Option<String>,
    files: Vec<String>,
) -> CommandResult<ObservationView> {
    let evidence = shell.take_staged(&files)?;
    let result = shell.with(|s| s.observe(&visit, &text, innovation.as_deref(), &evidence));
    discard(&evidence);
    result
}

#[tauri::command]
async fn score(
    shell: State<'_, Shell>,
    visit: String,
    indicator: String,
    value: f64,
    note: Option<String>,
) -> CommandResult<ScoreView> {
    shell.with(|s| s.score(&visit, &indicator, value, note.as_deref()))
}

#[tauri::command]
async fn submit(shell: State<'_, Shell>, visit: String) -> CommandResult<()> {
    shell.with(|s| s.submit(&visit))
}

#[tauri::command]
async fn withdraw_submission(shell: State<'_, Shell>, visit: String) -> CommandResult<()> {
    shell.with(|s| s.withdraw_submission(&visit))
}

/// An evidence file's bytes (for thumbnails and previews).
#[tauri::command]
async fn evidence_file(shell: State<'_, Shell>, hash: String) -> CommandResult<Response> {
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(error(
            "invalid_request",
            format!("\"{hash}\" is not an evidence hash"),
        ));
    }
    let path = shell.data_dir.join("evidence").join(&hash[..2]).join(&hash);
    std::fs::read(&path).map(Response::new).map_err(|_| {
        error(
            "pending_upload",
            "this file has not reached this laptop yet",
        )
    })
}

/// Emits sync progress to the UI.
struct EventProgress(tauri::AppHandle);

impl tinjau_sync::Progress for EventProgress {
    fn update(&mut self, phase: tinjau_sync::Phase, done: u64, total: u64) {
        let phase = serde_json::to_value(phase)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let progress = SyncProgress {
            phase,
            done,
            total,
            file: None,
        };
        let _ = self.0.emit("sync-progress", progress);
    }

    fn file(&mut self, hash: &str, done: u64, total: u64) {
        let progress = SyncProgress {
            phase: "upload".into(),
            done,
            total,
            file: Some(hash.to_string()),
        };
        let _ = self.0.emit("sync-progress", progress);
    }
}

/// One sync on its own store connection; `None` when another sync is running.
fn sync_on_own_connection(app: &tauri::AppHandle) -> Option<Result<SyncStatus, ErrorPayload>> {
    let shell = app.state::<Shell>();
    if shell.syncing.swap(true, Ordering::SeqCst) {
        return None;
    }
    let result = (|| {
        let mut store =
            Store::open(&shell.data_dir, StoreOptions::default()).map_err(store_error)?;
        let client = tinjau_sync::client_for(&store).map_err(sync_error)?;
        tinjau_sync::sync_once(&mut store, &client, &mut EventProgress(app.clone()))
            .map_err(sync_error)?;
        store.sync_status().map_err(store_error)
    })();
    shell.syncing.store(false, Ordering::SeqCst);
    match &result {
        Ok(status) => {
            let _ = app.emit("sync-status", status);
        }
        Err(e) => {
            let _ = app.emit("sync-error", e);
        }
    }
    Some(result)
}

#[tauri::command]
async fn sync_now(app: tauri::AppHandle) -> CommandResult<SyncStatus> {
    tauri::async_runtime::spawn_blocking(move || {
        sync_on_own_connection(&app)
            .unwrap_or_else(|| Err(error("sync_busy", "a sync is already running")))
    })
    .await
    .map_err(|e| error("internal", e))?
}

#[tauri::command]
async fn sync_status(shell: State<'_, Shell>) -> CommandResult<SyncStatus> {
    shell.with(|s| s.sync_status())
}

/// After sync found this data folder was copied to another laptop: continue as a new device.
#[tauri::command]
async fn continue_as_new_device(shell: State<'_, Shell>) -> CommandResult<SyncStatus> {
    shell.with(|s| {
        s.continue_as_new_device()?;
        s.sync_status()
    })
}

#[tauri::command]
async fn conflicts(shell: State<'_, Shell>) -> CommandResult<Vec<ConflictView>> {
    shell.with(|s| s.conflicts())
}

#[tauri::command]
async fn resolve_conflict(
    shell: State<'_, Shell>,
    conflict: String,
    pick: String,
) -> CommandResult<()> {
    let parse = |text: &str| {
        uuid::Uuid::parse_str(text)
            .map_err(|_| error("invalid_request", format!("\"{text}\" is not an id")))
    };
    let (conflict, pick) = (parse(&conflict)?, parse(&pick)?);
    shell.with(|s| s.resolve_conflict(conflict, Some(pick), None).map(drop))
}

#[tauri::command]
async fn audit(shell: State<'_, Shell>) -> CommandResult<AuditReport> {
    shell.with(|s| {
        let report = s.audit()?;
        s.integrity_check()?;
        Ok(report)
    })
}

#[tauri::command]
async fn lead_merge(shell: State<'_, Shell>, method: Option<Method>) -> CommandResult<MergeResult> {
    shell.with(|s| s.merge(method))
}

#[tauri::command]
async fn lead_ranking(shell: State<'_, Shell>) -> CommandResult<Ranking> {
    shell.with(|s| {
        s.ranking().map(|(results, sensitivity)| Ranking {
            results,
            sensitivity,
        })
    })
}

#[tauri::command]
async fn lead_lock(shell: State<'_, Shell>, visit: String) -> CommandResult<Lock> {
    shell.with(|s| s.lock(&visit))
}

/// Writes an official document to the Downloads folder; returns its path.
#[tauri::command]
async fn lead_export(
    shell: State<'_, Shell>,
    kind: String,
    visit: Option<String>,
) -> CommandResult<String> {
    let today = chrono::Local::now().date_naive();
    let report_error = |e: tinjau_report::ReportError| error("report_failed", e);
    let (name, bytes) = {
        let store = shell.store.lock().unwrap_or_else(|p| p.into_inner());
        match (kind.as_str(), visit) {
            ("berita-acara", Some(visit)) => {
                let report = store.visit_report(&visit).map_err(store_error)?;
                (
                    format!("Berita acara tinjau lapang - {}.pdf", report.participant),
                    tinjau_report::berita_acara_pdf(&report, today).map_err(report_error)?,
                )
            }
            ("ranking", _) => (
                "Berita acara peringkat.pdf".to_string(),
                tinjau_report::ranking_pdf(&store.ranking_report().map_err(store_error)?, today)
                    .map_err(report_error)?,
            ),
            ("rekap", _) => {
                let (results, table) = store.ranking().map_err(store_error)?;
                let package = store.package().map_err(store_error)?;
                let bytes = tinjau_report::recap_xlsx(
                    &package.competition.name,
                    &store.recap_visits().map_err(store_error)?,
                    &results,
                    package.competition.method,
                    &table,
                )
                .map_err(report_error)?;
                ("Rekap nilai.xlsx".to_string(), bytes)
            }
            (other, _) => {
                return Err(error(
                    "invalid_request",
                    format!("unknown document \"{other}\""),
                ));
            }
        }
    };
    let folder = dirs::download_dir()
        .unwrap_or_else(|| shell.data_dir.clone())
        .join("Tinjau");
    let path =
        tinjau_store::save_without_overwriting(&folder, &name, &bytes).map_err(store_error)?;
    Ok(path.display().to_string())
}

/// Syncs in the background: every minute, and at once when the UI says the network is back.
fn background_sync(app: tauri::AppHandle, wake: mpsc::Receiver<()>) {
    let mut attempt = 0;
    let mut delay = Duration::from_secs(5);
    loop {
        let _ = wake.recv_timeout(delay);
        let configured = {
            let shell = app.state::<Shell>();
            let store = shell.store.lock().unwrap_or_else(|p| p.into_inner());
            store.sync_settings().ok().flatten().is_some()
        };
        if !configured {
            delay = Duration::from_secs(60);
            continue;
        }
        delay = match sync_on_own_connection(&app) {
            Some(Ok(_)) | None => {
                attempt = 0;
                Duration::from_secs(60)
            }
            Some(Err(_)) => {
                let unit = f64::from(uuid::Uuid::new_v4().as_bytes()[0]) / 256.0;
                attempt += 1;
                tinjau_core::sync::retry_delay(attempt, unit)
            }
        };
    }
}

#[tauri::command]
async fn wake_sync(shell: State<'_, Shell>) -> CommandResult<()> {
    let _ = shell
        .wake_sync
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .send(());
    Ok(())
}

pub fn run() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let data_dir = data_dir();
    let store = match Store::open(&data_dir, StoreOptions::default()) {
        Ok(store) => store,
        Err(e) => {
            tracing::error!(error = %e, dir = %data_dir.display(), "cannot open the data folder");
            std::process::exit(1);
        }
    };
    let (wake, woken) = mpsc::channel();
    tauri::Builder::default()
        .manage(Shell {
            data_dir,
            store: Mutex::new(store),
            staged: Mutex::new(HashMap::new()),
            syncing: AtomicBool::new(false),
            wake_sync: Mutex::new(wake),
        })
        .setup(|app| {
            let handle = app.handle().clone();
            std::thread::spawn(move || background_sync(handle, woken));
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            overview,
            load_demo,
            import_package,
            choose_juror,
            join_server,
            visits,
            checklist,
            verify,
            stage_file,
            attach_to_innovation,
            observe,
            score,
            submit,
            withdraw_submission,
            evidence_file,
            sync_now,
            sync_status,
            continue_as_new_device,
            conflicts,
            resolve_conflict,
            audit,
            lead_merge,
            lead_ranking,
            lead_lock,
            lead_export,
            import_sheet,
            lead_reopen,
            lead_note,
            lead_quarantine,
            lead_tiebreak,
            wake_sync,
        ])
        .run(tauri::generate_context!())
        .expect("the Tauri application runs");
}
