//! The desktop shell: thin commands over the application layer (`tinjau-app`).
//!
//! Each command converts its input, makes one call to the session and returns its answer; no
//! rule lives here. Errors reach the UI as `{code, message, params}`, and the UI says them in
//! its language. Sync runs on its own connection to the store, in the background and on
//! demand, so the UI never waits for the network.

mod commands;

use std::ops::ControlFlow;
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::Duration;

use tauri::ipc::{InvokeBody, Request, Response};
use tauri::{Emitter, Manager, State};
use tinjau_app::hub::Hosting;
use tinjau_app::{Document, ErrorPayload, Overview, Session, SyncPhase, SyncProgress, sync_loop};
use tinjau_core::Verdict;
use tinjau_core::merge::{Lock, MergeResult, Ranking};
use tinjau_core::package::Method;
use tinjau_core::sync::ConflictView;
use tinjau_core::views::{
    AuditReport, ObservationView, OriginalsPolicy, QuarantinedChange, ScoreView, SheetImportReport,
    SyncStatus, VisitChecklist, VisitProgress,
};
use tinjau_store::VerifyRequest;

pub use commands::COMMANDS;

type CommandResult<T> = Result<T, ErrorPayload>;

/// The app's state: the session, and the channel that wakes the background sync.
pub struct Shell {
    session: Session,
    wake_sync: Mutex<mpsc::Sender<()>>,
    /// The join file the app was opened with (`tinjau-desktop FILE`), until it is used.
    opened_file: Mutex<Option<std::path::PathBuf>>,
    /// The visit's hub this laptop hosts, while it does (`docs/hub.md`).
    hub: Mutex<Option<(tinjau_server::hub::RunningHub, Hosting)>>,
}

fn raw_body<'a>(request: &'a Request<'_>, what: &str) -> CommandResult<&'a [u8]> {
    match request.body() {
        InvokeBody::Raw(bytes) => Ok(bytes),
        _ => Err(ErrorPayload::new(
            "invalid_request",
            format!("{what} must be sent as bytes"),
        )),
    }
}

#[tauri::command]
async fn overview(shell: State<'_, Shell>) -> CommandResult<Overview> {
    shell.session.overview()
}

/// Opens the encrypted data folder with the passphrase the person typed.
#[tauri::command]
async fn unlock(shell: State<'_, Shell>, passphrase: String) -> CommandResult<Overview> {
    shell.session.unlock(&passphrase)
}

/// Tries again to open a data folder that did not open (its key was not in the keyring, say,
/// and the person has unlocked the keyring since).
#[tauri::command]
async fn retry_open(shell: State<'_, Shell>) -> CommandResult<Overview> {
    let choice = choose_unlock(shell.session.data_dir());
    shell.session.retry(choice)
}

/// How to open the data folder: `TINJAU_PASSPHRASE`, the system keyring, or by asking.
fn choose_unlock(
    data_dir: &std::path::Path,
) -> Result<tinjau_app::keys::KeyChoice, tinjau_store::StoreError> {
    tinjau_app::keys::choose_unlock(
        data_dir,
        std::env::var(tinjau_app::keys::PASSPHRASE_ENV).ok(),
        tinjau_app::keys::system_keyring(
            std::env::var(tinjau_app::keys::KEYRING_ENV).ok().as_deref(),
        )
        .as_ref(),
        &mut tinjau_store::OsRandom,
    )
}

#[tauri::command]
async fn load_demo(shell: State<'_, Shell>) -> CommandResult<Overview> {
    shell.session.load_demo()
}

/// The package file's bytes, read by the UI from the file the juror picked.
#[tauri::command]
async fn import_package(shell: State<'_, Shell>, request: Request<'_>) -> CommandResult<Overview> {
    shell
        .session
        .import_package(raw_body(&request, "the package")?)
}

/// The lead takes in a juror's sheet file (from a USB stick): raw IPC bytes.
#[tauri::command]
async fn import_sheet(
    shell: State<'_, Shell>,
    request: Request<'_>,
) -> CommandResult<SheetImportReport> {
    let bytes = raw_body(&request, "the sheet file")?;
    shell.session.with(|s| s.import_sheet(bytes))
}

#[tauri::command]
async fn lead_reopen(
    shell: State<'_, Shell>,
    visit: String,
    juror: String,
    reason: String,
) -> CommandResult<()> {
    shell.session.with(|s| s.reopen(&visit, &juror, &reason))
}

#[tauri::command]
async fn lead_note(
    shell: State<'_, Shell>,
    visit: String,
    indicator: String,
    note: String,
) -> CommandResult<()> {
    shell
        .session
        .with(|s| s.lead_note(&visit, &indicator, &note))
}

#[tauri::command]
async fn lead_quarantine(shell: State<'_, Shell>) -> CommandResult<Vec<QuarantinedChange>> {
    shell.session.with(|s| s.quarantine())
}

#[tauri::command]
async fn lead_tiebreak(
    shell: State<'_, Shell>,
    order: Vec<String>,
    reason: String,
) -> CommandResult<()> {
    shell.session.with(|s| s.break_tie(&order, &reason))
}

#[tauri::command]
async fn choose_juror(
    shell: State<'_, Shell>,
    juror: String,
    token: Option<String>,
) -> CommandResult<Overview> {
    shell.session.choose_juror(&juror, token.as_deref())
}

#[tauri::command]
async fn join_server(
    app: tauri::AppHandle,
    server: String,
    token: String,
    pin: Option<String>,
) -> CommandResult<Overview> {
    off_the_ui_thread(app, move |app| {
        app.state::<Shell>()
            .session
            .join(&server, &token, pin.as_deref())
    })
    .await
}

/// Runs work that waits on the network on the blocking pool, so the UI never waits for it.
async fn off_the_ui_thread<T: Send + 'static>(
    app: tauri::AppHandle,
    work: impl FnOnce(&tauri::AppHandle) -> CommandResult<T> + Send + 'static,
) -> CommandResult<T> {
    tauri::async_runtime::spawn_blocking(move || work(&app))
        .await
        .map_err(|e| ErrorPayload::new("internal", e))?
}

/// Joins with a join file (`*.tinjau`) the juror picked: its bytes.
#[tauri::command]
async fn join_with_file(app: tauri::AppHandle, request: Request<'_>) -> CommandResult<Overview> {
    let bytes = raw_body(&request, "the join file")?.to_vec();
    off_the_ui_thread(app, move |app| {
        app.state::<Shell>().session.join_with_file(&bytes)
    })
    .await
}

/// Joins with the join file the app was opened with, once; `None` when there was none.
#[tauri::command]
async fn join_opened_file(app: tauri::AppHandle) -> CommandResult<Option<Overview>> {
    let opened = app
        .state::<Shell>()
        .opened_file
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take();
    let Some(path) = opened else {
        return Ok(None);
    };
    off_the_ui_thread(app, move |app| {
        app.state::<Shell>().session.join_with_path(&path).map(Some)
    })
    .await
}

#[tauri::command]
async fn visits(shell: State<'_, Shell>) -> CommandResult<Vec<VisitProgress>> {
    shell.session.with(|s| s.visits())
}

#[tauri::command]
async fn checklist(shell: State<'_, Shell>, visit: String) -> CommandResult<VisitChecklist> {
    shell.session.with(|s| s.checklist(&visit))
}

#[tauri::command]
async fn verify(
    shell: State<'_, Shell>,
    visit: String,
    innovation: String,
    verdict: Verdict,
    note: Option<String>,
) -> CommandResult<()> {
    shell.session.with(|s| {
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
    let bytes = raw_body(&request, "the file")?;
    let name = request
        .headers()
        .get("x-file-name")
        .and_then(|v| v.to_str().ok())
        .map(tinjau_app::session::percent_decode)
        .unwrap_or_default();
    shell.session.stage_file(&name, bytes)
}

#[tauri::command]
async fn attach_to_innovation(
    shell: State<'_, Shell>,
    visit: String,
    innovation: String,
    verdict: Verdict,
    files: Vec<String>,
) -> CommandResult<()> {
    shell
        .session
        .attach_to_innovation(visit, innovation, verdict, &files)
}

#[tauri::command]
async fn observe(
    shell: State<'_, Shell>,
    visit: String,
    text: String,
    innovation: Option<String>,
    files: Vec<String>,
) -> CommandResult<ObservationView> {
    shell
        .session
        .observe(&visit, &text, innovation.as_deref(), &files)
}

#[tauri::command]
async fn score(
    shell: State<'_, Shell>,
    visit: String,
    indicator: String,
    value: f64,
    note: Option<String>,
) -> CommandResult<ScoreView> {
    shell
        .session
        .with(|s| s.score(&visit, &indicator, value, note.as_deref()))
}

#[tauri::command]
async fn submit(shell: State<'_, Shell>, visit: String) -> CommandResult<()> {
    shell.session.with(|s| s.submit(&visit))
}

#[tauri::command]
async fn withdraw_submission(shell: State<'_, Shell>, visit: String) -> CommandResult<()> {
    shell.session.with(|s| s.withdraw_submission(&visit))
}

/// Takes an attached file off its record, or puts it back (undo), while the sheet is a draft.
#[tauri::command]
async fn remove_evidence(
    shell: State<'_, Shell>,
    visit: String,
    evidence: String,
    removed: bool,
) -> CommandResult<()> {
    shell
        .session
        .with(|s| s.remove_evidence(&visit, &evidence, removed))
}

/// An evidence file's bytes (for thumbnails and the enlarged view).
#[tauri::command]
async fn evidence_file(shell: State<'_, Shell>, hash: String) -> CommandResult<Response> {
    shell.session.evidence_bytes(&hash).map(Response::new)
}

/// Emits sync progress to the UI.
struct EventProgress(tauri::AppHandle);

impl EventProgress {
    fn emit(&self, phase: SyncPhase, done: u64, total: u64, file: Option<String>) {
        let progress = SyncProgress {
            phase,
            done,
            total,
            file,
        };
        let _ = self.0.emit("sync-progress", progress);
    }
}

impl tinjau_sync::Progress for EventProgress {
    fn update(&mut self, phase: tinjau_sync::Phase, done: u64, total: u64) {
        self.emit(phase.into(), done, total, None);
    }

    fn file(&mut self, hash: &str, done: u64, total: u64) {
        self.emit(SyncPhase::Upload, done, total, Some(hash.to_string()));
    }
}

/// One sync (after any running one), its outcome told to the UI.
fn sync_and_tell(app: &tauri::AppHandle, originals_now: bool) -> CommandResult<SyncStatus> {
    let result = app
        .state::<Shell>()
        .session
        .sync(&mut EventProgress(app.clone()), originals_now);
    let _ = match &result {
        Ok(status) => app.emit("sync-status", status),
        Err(e) => app.emit("sync-error", e),
    };
    result
}

#[tauri::command]
async fn sync_now(app: tauri::AppHandle) -> CommandResult<SyncStatus> {
    off_the_ui_thread(app, |app| sync_and_tell(app, false)).await
}

/// "Kirim asli sekarang": one sync that sends every photo's original whatever the policy.
#[tauri::command]
async fn send_originals_now(app: tauri::AppHandle) -> CommandResult<SyncStatus> {
    off_the_ui_thread(app, |app| sync_and_tell(app, true)).await
}

/// When this laptop sends photos' originals (now, when the link is fast, or later).
#[tauri::command]
async fn set_originals_policy(
    shell: State<'_, Shell>,
    policy: OriginalsPolicy,
) -> CommandResult<SyncStatus> {
    shell.session.with(|s| {
        s.set_originals_policy(policy)?;
        s.sync_status()
    })
}

#[tauri::command]
async fn sync_status(shell: State<'_, Shell>) -> CommandResult<SyncStatus> {
    shell.session.with(|s| s.sync_status())
}

/// "Gabung ke hub": syncs go to the visit's hub at `server` (pinned by the lead's words) until
/// the juror leaves it. `token`: only for a laptop that never joined the server.
#[tauri::command]
async fn join_hub(
    app: tauri::AppHandle,
    server: String,
    pin: String,
    token: Option<String>,
) -> CommandResult<SyncStatus> {
    off_the_ui_thread(app, move |app| {
        let status = app
            .state::<Shell>()
            .session
            .join_hub(&server, &pin, token.as_deref())?;
        wake(app);
        Ok(status)
    })
    .await
}

/// Syncs go to the central server again.
#[tauri::command]
async fn leave_hub(shell: State<'_, Shell>) -> CommandResult<SyncStatus> {
    shell.session.leave_hub()
}

/// "Jadikan laptop ini hub kunjungan": the lead's laptop serves the visit's jury (on
/// `TINJAU_HUB_LISTEN`, by default every address on port 8717) and syncs with its own hub.
#[tauri::command]
async fn host_hub(app: tauri::AppHandle) -> CommandResult<Hosting> {
    off_the_ui_thread(app, |app| {
        let shell = app.state::<Shell>();
        let mut hosted = shell.hub.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, hosting)) = hosted.as_ref() {
            return Ok(hosting.clone());
        }
        let seed = shell.session.hub_seed()?;
        let listen = std::env::var("TINJAU_HUB_LISTEN")
            .ok()
            .and_then(|text| text.parse().ok())
            .unwrap_or_else(|| {
                std::net::SocketAddr::from(([0, 0, 0, 0], tinjau_core::hub::DEFAULT_HUB_PORT))
            });
        let running = tinjau_server::hub::start(
            tinjau_server::hub::HubConfig {
                dir: shell.session.data_dir().join("hub"),
                listen,
                clock: std::sync::Arc::new(chrono::Utc::now),
                random: tinjau_server::console::os_random(),
                max_blob_bytes: tinjau_server::DEFAULT_MAX_BLOB_BYTES,
            },
            &seed,
        )
        .map_err(|e| ErrorPayload::hub_failed(&e))?;
        let hosting = Hosting::new(
            running.addr,
            &running.sha256,
            tinjau_app::hub::unconfirmable(&seed),
        );
        // The lead's own laptop syncs with its hub over loopback, pinned in full.
        let own = format!("https://127.0.0.1:{}", running.addr.port());
        if let Err(error) = shell.session.join_hub(&own, &running.pin(), None) {
            running.stop();
            return Err(error);
        }
        *hosted = Some((running, hosting.clone()));
        wake(app);
        Ok(hosting)
    })
    .await
}

/// Stops the hub this laptop hosts; syncs go to the central server again.
#[tauri::command]
async fn stop_hub(app: tauri::AppHandle) -> CommandResult<SyncStatus> {
    off_the_ui_thread(app, |app| {
        let shell = app.state::<Shell>();
        let running = shell.hub.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some((running, _)) = running {
            running.stop();
        }
        shell.session.leave_hub()
    })
    .await
}

/// The hub this laptop hosts, if it does.
#[tauri::command]
async fn hosting(shell: State<'_, Shell>) -> CommandResult<Option<Hosting>> {
    Ok(shell
        .hub
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .map(|(_, hosting)| hosting.clone()))
}

/// After sync found this data folder was copied to another laptop: continue as a new device.
#[tauri::command]
async fn continue_as_new_device(shell: State<'_, Shell>) -> CommandResult<SyncStatus> {
    shell.session.with(|s| {
        s.continue_as_new_device()?;
        s.sync_status()
    })
}

#[tauri::command]
async fn conflicts(shell: State<'_, Shell>) -> CommandResult<Vec<ConflictView>> {
    shell.session.with(|s| s.conflicts())
}

#[tauri::command]
async fn resolve_conflict(
    shell: State<'_, Shell>,
    conflict: String,
    pick: String,
) -> CommandResult<()> {
    let parse = tinjau_app::session::parse_id;
    let (conflict, pick) = (parse(&conflict)?, parse(&pick)?);
    shell
        .session
        .with(|s| s.resolve_conflict(conflict, Some(pick), None).map(drop))
}

#[tauri::command]
async fn audit(shell: State<'_, Shell>) -> CommandResult<AuditReport> {
    shell.session.audit()
}

#[tauri::command]
async fn lead_merge(shell: State<'_, Shell>, method: Option<Method>) -> CommandResult<MergeResult> {
    shell.session.with(|s| s.merge(method))
}

#[tauri::command]
async fn lead_ranking(shell: State<'_, Shell>) -> CommandResult<Ranking> {
    shell.session.with(|s| {
        s.ranking().map(|(results, sensitivity)| Ranking {
            results,
            sensitivity,
        })
    })
}

#[tauri::command]
async fn lead_lock(shell: State<'_, Shell>, visit: String) -> CommandResult<Lock> {
    shell.session.with(|s| s.lock(&visit))
}

/// Writes an official document to `Downloads/Tinjau`; returns its path.
#[tauri::command]
async fn lead_export(shell: State<'_, Shell>, document: Document) -> CommandResult<String> {
    let folder = tinjau_app::documents_folder(shell.session.data_dir());
    let today = chrono::Local::now().date_naive();
    let path = shell.session.export(&document, today, &folder)?;
    Ok(path.display().to_string())
}

/// Shows the folder the documents are exported to.
#[tauri::command]
async fn open_documents_folder(shell: State<'_, Shell>) -> CommandResult<()> {
    tinjau_app::open_folder(&tinjau_app::documents_folder(shell.session.data_dir()))
}

/// Syncs in the background: every minute, and at once when the UI says the network is back.
fn background_sync(app: tauri::AppHandle, wake: mpsc::Receiver<()>) {
    let interval = Duration::from_secs(60);
    // The window comes first; the first sync a few seconds later.
    let _ = wake.recv_timeout(Duration::from_secs(5));
    let _ = sync_loop::run(
        sync_loop::Plan::Forever { interval },
        &mut || {
            let session = &app.state::<Shell>().session;
            if !session.sync_configured() {
                return Ok(());
            }
            sync_and_tell(&app, false).map(drop)
        },
        &mut sync_loop::random_unit,
        &mut |delay| {
            let _ = wake.recv_timeout(delay);
        },
        &mut |_| ControlFlow::Continue(()),
    );
}

/// Wakes the background sync (it syncs now, then waits its interval again).
fn wake(app: &tauri::AppHandle) {
    let _ = app
        .state::<Shell>()
        .wake_sync
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .send(());
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
    let Some(data_dir) = tinjau_app::default_data_dir() else {
        tracing::error!("no data folder on this system: set TINJAU_DATA_DIR");
        std::process::exit(1);
    };
    let session = match choose_unlock(&data_dir)
        .map_err(|e| tinjau_app::ErrorPayload::from_store(&e, None))
        .and_then(|choice| Session::open(&data_dir, choice))
    {
        Ok(session) => session,
        // Said on screen, in the person's language, with a way to try again.
        Err(e) => {
            tracing::error!(error = %e, dir = %data_dir.display(), "cannot open the data folder");
            Session::failed(&data_dir, e)
        }
    };
    let (wake, woken) = mpsc::channel();
    tauri::Builder::default()
        .manage(Shell {
            session,
            wake_sync: Mutex::new(wake),
            // `tinjau-desktop FILE`: a join file the organiser handed out, opened with the app.
            opened_file: Mutex::new(std::env::args_os().nth(1).map(std::path::PathBuf::from)),
            hub: Mutex::new(None),
        })
        .setup(|app| {
            let handle = app.handle().clone();
            std::thread::spawn(move || background_sync(handle, woken));
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            overview,
            retry_open,
            load_demo,
            import_package,
            choose_juror,
            join_server,
            join_with_file,
            join_opened_file,
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
            remove_evidence,
            unlock,
            sync_now,
            send_originals_now,
            set_originals_policy,
            sync_status,
            continue_as_new_device,
            conflicts,
            resolve_conflict,
            audit,
            lead_merge,
            lead_ranking,
            lead_lock,
            lead_export,
            open_documents_folder,
            import_sheet,
            lead_reopen,
            lead_note,
            lead_quarantine,
            lead_tiebreak,
            wake_sync,
            join_hub,
            leave_hub,
            host_hub,
            stop_hub,
            hosting,
        ])
        .run(tauri::generate_context!())
        .expect("the Tauri application runs");
}
