//! A visit's hub (`docs/hub.md`): the lead's laptop serving the same sync protocol to the jury on
//! site, over HTTPS with a certificate it made itself, from its own SQLite database beside the
//! lead's data folder.
//!
//! A juror opens a session by signing a one-time nonce with their identity key (the token
//! never leaves their laptop); the session secret is then the bearer token of the ordinary
//! sync routes, stored as a token of that juror carrying the proven identity key. Everything
//! else — signature checks, blind rules, chains, evidence — is the central server's code.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use tinjau_core::hub::{HubHello, HubSession, HubSessionRequest};
use tinjau_core::package::Role;
use tinjau_core::signing::hub_session_bytes;
use tinjau_core::sync::AccessRole;

use tinjau_core::hub::HubSeed;

use crate::backend::{Backend, BackendError, BackendResult};
use crate::console::{Console, ConsoleOptions, Random};
use crate::{ApiError, ApiResult, AppState, Clock, HEADER_READ_TIMEOUT, new_token, token_hash};

/// Nonces handed out and not yet used, at most this many (the oldest goes first).
const MAX_NONCES: usize = 512;
/// A nonce must be signed and returned within this time.
const NONCE_LIFETIME: Duration = Duration::from_secs(300);

/// The hub's own routes, beside the sync protocol.
#[derive(Clone)]
struct HubState {
    app: AppState,
    competition: String,
    nonces: Arc<Mutex<VecDeque<(String, Instant)>>>,
    random: Random,
}

impl HubState {
    fn mint_nonce(&self) -> String {
        let nonce = tinjau_core::hex::encode(&(self.random)());
        let mut nonces = self.nonces.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        nonces.retain(|(_, at)| now.duration_since(*at) < NONCE_LIFETIME);
        while nonces.len() >= MAX_NONCES {
            nonces.pop_front();
        }
        nonces.push_back((nonce.clone(), now));
        nonce
    }

    /// Takes a nonce this hub handed out (once: a second use finds it gone).
    fn take_nonce(&self, nonce: &str) -> bool {
        let mut nonces = self.nonces.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        match nonces.iter().position(|(n, _)| n == nonce) {
            Some(index) => nonces
                .remove(index)
                .is_some_and(|(_, at)| now.duration_since(at) < NONCE_LIFETIME),
            None => false,
        }
    }
}

/// The sync protocol's routes plus the hub's session routes.
pub fn router(app: AppState, competition: &str, random: Random) -> Router {
    let state = HubState {
        app: app.clone(),
        competition: competition.to_string(),
        nonces: Arc::new(Mutex::new(VecDeque::new())),
        random,
    };
    let (for_hello, for_session) = (state.clone(), state);
    let hub = Router::<AppState>::new()
        .route("/v1/hub", get(move || hello(for_hello.clone())))
        .route(
            "/v1/hub/session",
            post(move |body| open_session(for_session.clone(), body)),
        );
    crate::router_with(app, hub)
}

async fn hello(state: HubState) -> Json<HubHello> {
    Json(HubHello {
        competition: state.competition.clone(),
        nonce: state.mint_nonce(),
    })
}

async fn open_session(
    state: HubState,
    body: Result<Json<HubSessionRequest>, JsonRejection>,
) -> ApiResult<Json<HubSession>> {
    let unauthorized =
        |message: String| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message);
    let Json(request) = body.map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed",
            format!("not a hub session request: {}", e.body_text()),
        )
    })?;
    if !state.take_nonce(&request.nonce) {
        return Err(unauthorized(
            "this hub did not hand out that nonce, or it was used or expired: ask again".into(),
        ));
    }
    let backend = &state.app.backend;
    let package = backend.package(&state.competition).await?;
    let Some(juror) = package.juror(&request.juror) else {
        return Err(unauthorized(format!(
            "\"{}\" is not a juror of this competition",
            request.juror.chars().take(80).collect::<String>()
        )));
    };
    let message = hub_session_bytes(&state.competition, &juror.id, &request.nonce);
    let identity = backend
        .identity_keys(&state.competition, &juror.id)
        .await?
        .into_iter()
        .find(|key| key.verify(&message, &request.proof).is_ok())
        .ok_or_else(|| {
            unauthorized(format!(
                "the hub cannot confirm \"{}\": the proof is not from the token the organiser \
                 issued (or the lead's laptop has not synced since it was issued)",
                juror.id
            ))
        })?;
    let role = match juror.role {
        Role::Lead => AccessRole::Lead,
        Role::Juror => AccessRole::Juror,
    };
    let session = new_token(&(state.random)());
    backend
        .open_hub_session(
            &state.competition,
            &juror.id,
            role,
            &token_hash(&session),
            identity,
            (state.app.clock)(),
        )
        .await?;
    tracing::info!(juror = %juror.id, "a juror joined the hub");
    Ok(Json(HubSession { session }))
}

/// The hub's certificate and key, made once and kept in its folder so its pin stays the same
/// for the whole visit (and the next time the lead starts it).
pub struct HubCertificate {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub sha256: [u8; 32],
}

impl HubCertificate {
    /// The certificate in `dir`, made there when missing.
    pub fn load_or_make(dir: &Path) -> BackendResult<HubCertificate> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        use sha2::Digest;
        let (cert, key) = (dir.join("hub-cert.pem"), dir.join("hub-key.pem"));
        if !(cert.exists() && key.exists()) {
            let certified = rcgen::generate_simple_self_signed(vec![
                "tinjau-hub".into(),
                "localhost".into(),
            ])
            .map_err(|e| BackendError::Invalid(format!("making the hub's certificate: {e}")))?;
            write_private(&key, certified.signing_key.serialize_pem().as_bytes())?;
            std::fs::write(&cert, certified.cert.pem())?;
        }
        let der = CertificateDer::pem_file_iter(&cert)
            .ok()
            .and_then(|mut certs| certs.next())
            .and_then(Result::ok)
            .ok_or_else(|| {
                BackendError::Corrupt(format!("{} holds no certificate", cert.display()))
            })?;
        Ok(HubCertificate {
            sha256: sha2::Sha256::digest(der.as_ref()).into(),
            cert,
            key,
        })
    }
}

/// Writes a file only its owner can read (the hub's private key).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(&mut options.open(path)?, bytes)
}

/// A hub serving in the background.
pub struct RunningHub {
    pub addr: SocketAddr,
    /// SHA-256 of its certificate.
    pub sha256: [u8; 32],
    handle: axum_server::Handle<SocketAddr>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RunningHub {
    /// Its pin in full (hex).
    pub fn pin(&self) -> String {
        tinjau_core::hex::encode(&self.sha256)
    }

    /// Stops taking requests, finishes those in flight (a few seconds at most), and returns.
    pub fn stop(mut self) {
        self.handle.graceful_shutdown(Some(Duration::from_secs(5)));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    /// Serves until the process ends.
    pub fn wait(mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// How a hub is started.
pub struct HubConfig {
    /// Its folder: its database and certificate.
    pub dir: PathBuf,
    pub listen: SocketAddr,
    pub clock: Clock,
    pub random: Random,
    pub max_blob_bytes: u64,
}

/// Seeds the hub's database from `seed` and serves HTTPS on `config.listen`, on a thread of its
/// own; returns once it listens.
pub fn start(config: HubConfig, seed: &HubSeed) -> BackendResult<RunningHub> {
    std::fs::create_dir_all(&config.dir)?;
    let certificate = HubCertificate::load_or_make(&config.dir)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let backend = Backend::sqlite(&config.dir)?;
    runtime.block_on(backend.seed_hub(seed, (config.clock)()))?;
    let listener = std::net::TcpListener::bind(config.listen)?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let tls = runtime
        .block_on(axum_server::tls_rustls::RustlsConfig::from_pem_file(
            &certificate.cert,
            &certificate.key,
        ))
        .map_err(|e| BackendError::Invalid(format!("loading the hub's certificate: {e}")))?;
    let state = AppState {
        backend: Arc::new(backend),
        clock: config.clock,
        max_blob_bytes: config.max_blob_bytes,
        console: Console::new(ConsoleOptions::default(), config.random.clone()),
    };
    let app = router(state, &seed.package.competition.id, config.random)
        .into_make_service_with_connect_info::<SocketAddr>();
    let handle = axum_server::Handle::new();
    let mut server = {
        let _inside = runtime.enter();
        axum_server::from_tcp_rustls(listener, tls)?
    };
    server
        .http_builder()
        .http1()
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let serving = handle.clone();
    let thread = std::thread::Builder::new()
        .name("tinjau-hub".into())
        .spawn(move || {
            if let Err(error) = runtime.block_on(server.handle(serving).serve(app)) {
                tracing::error!(%error, "the hub stopped");
            }
        })?;
    Ok(RunningHub {
        addr,
        sha256: certificate.sha256,
        handle,
        thread: Some(thread),
    })
}
