//! The organiser's console at `/console/`: static pages embedded in the binary and the JSON
//! endpoints behind them (`/console/api/…`, documented in `docs/console.md`), which a script
//! may call as well.
//!
//! Sign-in exchanges an organiser's (or a team lead's) token for a session cookie (HttpOnly,
//! SameSite=Strict, Secure under TLS) kept in the database, so every instance knows it. Every
//! request that changes something must echo the session's CSRF secret in `X-Tinjau-CSRF`.
//! Failed sign-ins are limited per client address.
//!
//! What the console shows of the jurors' work is read from a *mirror*: a lead's store (the same
//! `tinjau-store` projection a lead's laptop keeps) fed by pulling the server's own log, so the
//! progress and the official documents are computed by exactly the code the lead signs with.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use tinjau_core::Package;
use tinjau_core::authority::is_visit_lead;
use tinjau_core::console::{
    ConsoleCompetition, ConsoleProgress, ConsoleSession, JurorRow, JurorTokens, PackagePreview,
    VisitBoard, VisitGallery,
};
use tinjau_core::package::{PackageDiff, Role};
use tinjau_core::sync::AccessRole;
use tinjau_store::{Store, StoreOptions};

use crate::{ApiError, ApiResult, AppState, NewSession, TokenRecord, new_token, token_hash};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "tinjau_console";
/// The header that must carry the session's CSRF secret on every change.
pub const CSRF_HEADER: &str = "x-tinjau-csrf";
/// How long a console session lasts.
pub const SESSION_HOURS: i64 = 12;
/// Failed sign-ins allowed from one address within [`SIGN_IN_WINDOW_MINUTES`].
pub const MAX_FAILED_SIGN_INS: usize = 10;
pub const SIGN_IN_WINDOW_MINUTES: i64 = 10;
/// Addresses the limiter remembers at most (the oldest are forgotten first).
const LIMITER_ADDRESSES: usize = 10_000;
/// Uploaded packages (XLSX or JSON) larger than this are refused.
pub const MAX_UPLOAD_BYTES: usize = tinjau_core::package::MAX_PACKAGE_BYTES;

/// The pages, built by `scripts/ui.sh build` into ui/dist-console and embedded at compile
/// time (see `build.rs`): (path, bytes).
static FILES: &[(&str, &[u8])] = include!(concat!(env!("OUT_DIR"), "/console_files.rs"));

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; \
     font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Randomness for tokens and sessions; passed in so tests can fix it.
pub type Random = Arc<dyn Fn() -> [u8; 32] + Send + Sync>;

/// The operating system's randomness.
pub fn os_random() -> Random {
    Arc::new(|| {
        let mut bytes = [0u8; 32];
        bytes[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        bytes[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        bytes
    })
}

/// How the console is set up.
#[derive(Debug, Clone, Default)]
pub struct ConsoleOptions {
    /// The address jurors reach this server at, printed on slips and written to join files.
    pub public_url: Option<String>,
    /// SHA-256 (hex) of the server's self-signed certificate, printed on slips.
    pub pin: Option<String>,
    /// Mark the cookie `Secure` (the server runs HTTPS).
    pub secure_cookie: bool,
}

/// The console's shared state: options, the sign-in limiter and the mirrors.
#[derive(Clone)]
pub struct Console {
    options: Arc<ConsoleOptions>,
    random: Random,
    limiter: Arc<std::sync::Mutex<Limiter>>,
    mirrors: Arc<tokio::sync::Mutex<HashMap<String, MirrorSlot>>>,
}

impl Console {
    pub fn new(options: ConsoleOptions, random: Random) -> Console {
        Console {
            options: Arc::new(options),
            random,
            limiter: Arc::new(std::sync::Mutex::new(Limiter::default())),
            mirrors: Arc::default(),
        }
    }
}

/// Failed sign-ins by address, within a sliding window.
#[derive(Default)]
struct Limiter {
    failures: HashMap<IpAddr, VecDeque<DateTime<Utc>>>,
    order: VecDeque<IpAddr>,
}

impl Limiter {
    fn recent(&mut self, ip: IpAddr, now: DateTime<Utc>) -> usize {
        let window = Duration::minutes(SIGN_IN_WINDOW_MINUTES);
        match self.failures.get_mut(&ip) {
            Some(times) => {
                while times.front().is_some_and(|t| now - *t > window) {
                    times.pop_front();
                }
                times.len()
            }
            None => 0,
        }
    }

    fn fail(&mut self, ip: IpAddr, now: DateTime<Utc>) {
        if !self.failures.contains_key(&ip) {
            if self.order.len() >= LIMITER_ADDRESSES
                && let Some(oldest) = self.order.pop_front()
            {
                self.failures.remove(&oldest);
            }
            self.order.push_back(ip);
        }
        let times = self.failures.entry(ip).or_default();
        times.push_back(now);
        while times.len() > MAX_FAILED_SIGN_INS + 1 {
            times.pop_front();
        }
    }
}

/// The console's routes (pages and API), to merge into the server's router.
pub fn routes(state: AppState) -> Router<AppState> {
    let signed_in = Router::new()
        .route("/console/api/session", get(session_get).delete(sign_out))
        .route("/console/api/progress", get(progress))
        .route("/console/api/competition", get(competition))
        .route("/console/api/package.json", get(package_json))
        .route("/console/api/package.xlsx", get(package_xlsx))
        // A package may be larger than the sync API's bodies (16 MiB, as `publish` takes).
        .route(
            "/console/api/package/preview",
            post(package_preview).layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES + 1)),
        )
        .route(
            "/console/api/package/publish",
            post(package_publish).layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES + 1)),
        )
        .route("/console/api/jurors", get(jurors))
        .route("/console/api/jurors/{juror}/revoke", post(revoke))
        .route("/console/api/slips", post(slips))
        .route("/console/api/visits/{visit}/gallery", get(gallery))
        .route("/console/api/visits/{visit}/evidence/{hash}", get(evidence))
        .route(
            "/console/api/visits/{visit}/berita-acara.pdf",
            get(berita_acara),
        )
        .route("/console/api/ranking.pdf", get(ranking_pdf))
        .route("/console/api/rekap.xlsx", get(rekap_xlsx))
        .route("/console/api/bundle.tinjau", get(result_bundle))
        .route_layer(middleware::from_fn_with_state(state, require_session));
    Router::new()
        .route("/console/api/sign-in", post(sign_in))
        .merge(signed_in)
        .route("/console", get(|| async { redirect("/console/") }))
        .route("/console/", get(|| page("index.html")))
        .route(
            "/console/{*path}",
            get(|Path(path): Path<String>| page(path)),
        )
        .layer(middleware::from_fn(security_headers))
}

fn redirect(to: &'static str) -> Response {
    (StatusCode::PERMANENT_REDIRECT, [(header::LOCATION, to)]).into_response()
}

async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(CSP));
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

async fn page(path: impl AsRef<str>) -> Response {
    let path = path.as_ref();
    let Some((_, bytes)) = FILES.iter().find(|(name, _)| *name == path) else {
        if FILES.is_empty() {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "The console's pages were not built into this server: run scripts/ui.sh build, then build tinjau-server again.",
            )
                .into_response();
        }
        return ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such page").into_response();
    };
    let mime = match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("woff2") => "font/woff2",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    };
    // Hashed asset names never change content; the page itself is always fetched fresh.
    let cache = if path.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-store"
    };
    (
        [(header::CONTENT_TYPE, mime), (header::CACHE_CONTROL, cache)],
        *bytes,
    )
        .into_response()
}

/// Who is signed in, for the handlers behind [`require_session`].
#[derive(Clone)]
struct Signed {
    auth: TokenRecord,
    session_hash: String,
    csrf: String,
}

fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim().to_string())
        .filter(|value| !value.is_empty() && value.len() <= 128)
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "signed_out", message)
}

async fn require_session(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    match check_session(&state, request.method(), request.headers()).await {
        Ok(signed) => {
            request.extensions_mut().insert(signed);
            next.run(request).await
        }
        Err(error) => error.into_response(),
    }
}

async fn check_session(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
) -> ApiResult<Signed> {
    let secret = cookie_value(headers).ok_or_else(|| unauthorized("not signed in"))?;
    let hash = token_hash(&secret);
    let record = state
        .backend
        .session(&hash)
        .await?
        .ok_or_else(|| unauthorized("the session has ended: sign in again"))?;
    let expired = DateTime::parse_from_rfc3339(&record.expires_at)
        .map(|t| t.with_timezone(&Utc) <= (state.clock)())
        .unwrap_or(true);
    if expired || record.auth.revoked {
        return Err(unauthorized("the session has ended: sign in again"));
    }
    if method != Method::GET && method != Method::HEAD {
        let sent = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        if sent != Some(record.csrf.as_str()) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "csrf",
                "the request did not carry the session's X-Tinjau-CSRF value",
            ));
        }
    }
    Ok(Signed {
        auth: record.auth,
        session_hash: hash,
        csrf: record.csrf,
    })
}

#[derive(Deserialize)]
struct SignIn {
    token: String,
}

/// The client's address, when the server knows it.
fn client_ip(request_info: Option<&ConnectInfo<SocketAddr>>) -> IpAddr {
    request_info.map_or(IpAddr::from([0, 0, 0, 0]), |info| info.0.ip())
}

async fn sign_in(
    State(state): State<AppState>,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    body: Result<Json<SignIn>, JsonRejection>,
) -> ApiResult<Response> {
    let now = (state.clock)();
    let ip = client_ip(connect.as_ref().map(|e| &e.0));
    let limited = {
        let mut limiter = state
            .console
            .limiter
            .lock()
            .expect("the limiter is never poisoned");
        limiter.recent(ip, now) >= MAX_FAILED_SIGN_INS
    };
    if limited {
        let mut response = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "too many failed sign-ins from this address: wait {SIGN_IN_WINDOW_MINUTES} minutes"
            ),
        )
        .into_response();
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(SIGN_IN_WINDOW_MINUTES as u64 * 60),
        );
        return Ok(response);
    }
    let Json(SignIn { token }) = body.map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed",
            format!("send {{\"token\": \"…\"}} as JSON: {}", e.body_text()),
        )
    })?;
    let fail = |code: &'static str, status: StatusCode, message: &str| {
        state
            .console
            .limiter
            .lock()
            .expect("the limiter is never poisoned")
            .fail(ip, now);
        ApiError::new(status, code, message)
    };
    let token = token.trim();
    if token.is_empty() || token.len() > 256 {
        return Err(fail(
            "unknown_token",
            StatusCode::UNAUTHORIZED,
            "unknown token",
        ));
    }
    let token_hash_value = token_hash(token);
    let Some(auth) = state.backend.authenticate(&token_hash_value).await? else {
        return Err(fail(
            "unknown_token",
            StatusCode::UNAUTHORIZED,
            "unknown token",
        ));
    };
    if auth.revoked {
        return Err(fail(
            "revoked",
            StatusCode::UNAUTHORIZED,
            "this token was revoked",
        ));
    }
    if auth.role == AccessRole::Juror {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "juror_token",
            "the console is for the organiser and team leads; jurors use the Tinjau app",
        ));
    }
    let secret = new_token(&(state.console.random)());
    let csrf = new_token(&(state.console.random)());
    let session = NewSession {
        hash: token_hash(&secret),
        token_hash: token_hash_value,
        csrf: csrf.clone(),
        expires_at: crate::backend::timestamp(now + Duration::hours(SESSION_HOURS)),
    };
    state.backend.open_session(&session, now).await?;
    let view = session_view(&state, &auth, csrf).await?;
    let secure = if state.console.options.secure_cookie {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{SESSION_COOKIE}={secret}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        SESSION_HOURS * 3600
    );
    let mut response = Json(view).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).expect("the cookie is ASCII"),
    );
    Ok(response)
}

async fn session_view(
    state: &AppState,
    auth: &TokenRecord,
    csrf: String,
) -> ApiResult<ConsoleSession> {
    let package = state.backend.package(&auth.competition).await?;
    let display_name = package
        .juror(&auth.juror)
        .map_or_else(|| auth.juror.clone(), |j| j.name.clone());
    Ok(ConsoleSession {
        name: auth.juror.clone(),
        display_name,
        role: auth.role,
        competition: auth.competition.clone(),
        competition_name: package.competition.name.clone(),
        revision: package.revision,
        csrf,
    })
}

async fn session_get(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
) -> ApiResult<Json<ConsoleSession>> {
    Ok(Json(session_view(&state, &signed.auth, signed.csrf).await?))
}

async fn sign_out(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
) -> ApiResult<Response> {
    state.backend.close_session(&signed.session_hash).await?;
    let cookie = format!("{SESSION_COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0");
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

fn organiser_only(signed: &Signed) -> ApiResult<()> {
    if signed.auth.role == AccessRole::Organiser {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "organiser_only",
            "only the organiser may do this",
        ))
    }
}

/// The visits `signed` may follow: every visit for the organiser, the visits they lead for a
/// team lead.
fn may_follow(package: &Package, signed: &Signed, visit: &tinjau_core::package::Visit) -> bool {
    match signed.auth.role {
        AccessRole::Organiser => true,
        AccessRole::Lead => is_visit_lead(package, visit, &signed.auth.juror),
        AccessRole::Juror => false,
    }
}

fn followed_visit<'p>(
    package: &'p Package,
    signed: &Signed,
    visit: &str,
) -> ApiResult<&'p tinjau_core::package::Visit> {
    package
        .visits
        .iter()
        .find(|v| v.id == visit && may_follow(package, signed, v))
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such visit"))
}

/// One competition's mirror, made on first use.
type MirrorSlot = Arc<tokio::sync::Mutex<Option<Mirror>>>;

/// A lead's store fed from the server's own log.
struct Mirror {
    _dir: tempfile::TempDir,
    store: Store,
    package_text: String,
}

fn store_error(error: tinjau_store::StoreError) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, error.code(), error.to_string())
}

/// The mirror of `competition`, caught up with the log, locked for the caller's use.
async fn mirror(
    state: &AppState,
    competition: &str,
) -> ApiResult<tokio::sync::OwnedMutexGuard<Option<Mirror>>> {
    let slot = {
        let mut mirrors = state.console.mirrors.lock().await;
        mirrors.entry(competition.to_string()).or_default().clone()
    };
    let mut guard = slot.lock_owned().await;
    let text = state.backend.package_text(competition).await?;
    if guard.as_ref().is_none_or(|m| m.package_text != text) {
        *guard = Some(new_mirror(&text)?);
    }
    let mirror = guard.as_mut().expect("the mirror was just made");
    let lead = mirror.store.juror_id().map_err(store_error)?;
    let auth = TokenRecord {
        competition: competition.to_string(),
        juror: lead,
        role: AccessRole::Organiser,
        revoked: false,
        presented: None,
    };
    loop {
        let cursor = mirror.store.pull_cursor().map_err(store_error)?;
        let page = state.backend.pull(&auth, cursor, None, 1000).await?;
        mirror.store.apply_pulled(&page).map_err(store_error)?;
        if !page.more {
            break;
        }
    }
    Ok(guard)
}

fn new_mirror(package_text: &str) -> ApiResult<Mirror> {
    let internal = |e: String| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e);
    let dir = tempfile::Builder::new()
        .prefix("tinjau-console-")
        .tempdir()
        .map_err(|e| internal(format!("making the console's working folder: {e}")))?;
    let mut store = Store::open(dir.path(), StoreOptions::default()).map_err(store_error)?;
    store
        .import_package(package_text.as_bytes())
        .map_err(store_error)?;
    let lead = store
        .package()
        .map_err(store_error)?
        .jurors
        .iter()
        .find(|j| j.role == Role::Lead)
        .map(|j| j.id.clone())
        .ok_or_else(|| internal("the package names no team lead".into()))?;
    store.init_juror(&lead).map_err(store_error)?;
    Ok(Mirror {
        _dir: dir,
        store,
        package_text: package_text.to_string(),
    })
}

async fn progress(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
) -> ApiResult<Json<ConsoleProgress>> {
    let competition = signed.auth.competition.clone();
    let facts = state.backend.console_facts(&competition).await?;
    let guard = mirror(&state, &competition).await?;
    let mirror = guard.as_ref().expect("mirror() leaves a mirror");
    let store = &mirror.store;
    let package = store.package().map_err(store_error)?;
    let mut visits = Vec::new();
    for visit in package
        .visits
        .iter()
        .filter(|v| may_follow(package, &signed, v))
    {
        let participant = package.participant(&visit.participant);
        let mut jurors = Vec::new();
        for juror_id in &visit.jurors {
            let juror = package.juror(juror_id);
            let (checked, scored) = store
                .juror_progress(juror_id, &visit.id)
                .map_err(store_error)?;
            jurors.push(JurorRow {
                juror_id: juror_id.clone(),
                name: juror.map_or_else(|| juror_id.clone(), |j| j.name.clone()),
                institution: juror.map(|j| j.institution.clone()).unwrap_or_default(),
                innovations_checked: checked,
                indicators_scored: scored,
                sheet: store
                    .sheet_state(juror_id, &visit.id)
                    .map_err(store_error)?,
                last_sync: facts.last_seen.get(juror_id).cloned(),
                pending_evidence: facts
                    .pending_evidence
                    .get(&(juror_id.clone(), visit.id.clone()))
                    .copied()
                    .unwrap_or(0),
                open_conflicts: facts.open_conflicts.get(juror_id).copied().unwrap_or(0),
                quarantined: facts.quarantined.get(juror_id).copied().unwrap_or(0),
            });
        }
        visits.push(VisitBoard {
            visit_id: visit.id.clone(),
            participant_name: participant
                .map_or_else(|| visit.participant.clone(), |p| p.name.clone()),
            region: participant.and_then(|p| p.region.clone()),
            date: visit.date.clone(),
            lead: visit
                .jurors
                .iter()
                .find(|j| is_visit_lead(package, visit, j))
                .cloned(),
            innovations_listed: participant.map_or(0, |p| p.innovations.len()),
            indicators_total: package.indicators.len(),
            lock: store.visit_lock(&visit.id).map_err(store_error)?,
            jurors,
        });
    }
    Ok(Json(ConsoleProgress {
        log_position: store.pull_cursor().map_err(store_error)?,
        visits,
    }))
}

async fn competition(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
) -> ApiResult<Json<ConsoleCompetition>> {
    let package = state.backend.package(&signed.auth.competition).await?;
    let revisions = state.backend.revisions(&signed.auth.competition).await?;
    Ok(Json(ConsoleCompetition {
        id: package.competition.id.clone(),
        name: package.competition.name.clone(),
        stage: package.competition.stage.clone(),
        revision: package.revision,
        participants: package.participants.len(),
        innovations: package
            .participants
            .iter()
            .map(|p| p.innovations.len())
            .sum(),
        jurors: package.jurors.len(),
        visits: package.visits.len(),
        indicators: package.indicators.len(),
        revisions,
    }))
}

/// A file to save: its name both as safe ASCII and, for browsers that read it, exactly
/// (RFC 6266 `filename*`, percent-encoded UTF-8).
fn download(bytes: Vec<u8>, mime: &'static str, file_name: &str) -> Response {
    let encoded: String = file_name
        .bytes()
        .take(400)
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    (
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{}\"; filename*=UTF-8''{encoded}",
                    safe_file_name(file_name)
                ),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// A file name any browser and operating system accepts: letters, digits, `-`, `_`, `.`.
fn safe_file_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .take(100)
        .collect();
    let cleaned = cleaned.trim_start_matches('.').to_string();
    if cleaned.is_empty() {
        "berkas".into()
    } else {
        cleaned
    }
}

async fn package_json(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
) -> ApiResult<Response> {
    organiser_only(&signed)?;
    let text = state.backend.package_text(&signed.auth.competition).await?;
    Ok(download(
        text.into_bytes(),
        "application/json",
        &format!("{}.json", signed.auth.competition),
    ))
}

async fn package_xlsx(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
) -> ApiResult<Response> {
    organiser_only(&signed)?;
    let package = state.backend.package(&signed.auth.competition).await?;
    let bytes = tinjau_report::workbook::to_xlsx(&package)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    Ok(download(
        bytes,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        &format!(
            "{}-revisi-{}.xlsx",
            signed.auth.competition, package.revision
        ),
    ))
}

/// An uploaded file that is not a valid package: every problem, each a sentence.
fn invalid_upload(problems: Vec<String>) -> ApiError {
    let mut error = ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_package",
        format!(
            "the file is not a valid package ({} problems)",
            problems.len()
        ),
    );
    error.problems = problems;
    error
}

/// Reads an uploaded XLSX workbook or JSON package, all or nothing.
fn read_upload(body: Result<Bytes, BytesRejection>) -> ApiResult<Package> {
    let body = body.map_err(|e| {
        ApiError::new(
            e.status(),
            "too_large",
            format!("the file could not be read: {e}"),
        )
    })?;
    if body.len() > MAX_UPLOAD_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "a package is at most 16 MiB",
        ));
    }
    if body.starts_with(b"PK") {
        tinjau_report::workbook::from_xlsx(&body)
            .map_err(|errors| invalid_upload(errors.0.iter().map(ToString::to_string).collect()))
    } else {
        Package::parse(&body)
            .map_err(|errors| invalid_upload(errors.0.iter().map(ToString::to_string).collect()))
    }
}

fn same_competition(signed: &Signed, package: &Package) -> ApiResult<()> {
    if package.competition.id != signed.auth.competition {
        return Err(invalid_upload(vec![format!(
            "berkas ini untuk kompetisi \"{}\", bukan \"{}\" yang dikelola konsol ini",
            package.competition.id, signed.auth.competition
        )]));
    }
    Ok(())
}

async fn package_preview(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<PackagePreview>> {
    organiser_only(&signed)?;
    let package = read_upload(body)?;
    same_competition(&signed, &package)?;
    let stored = state.backend.package(&signed.auth.competition).await?;
    let text = serde_json::to_string(&package).expect("a package serialises");
    let stored_text = serde_json::to_string(&stored).expect("a package serialises");
    let outcome = crate::backend::publish_outcome(
        &package.competition.id,
        package.revision,
        &text,
        Some((stored.revision, stored_text)),
    )
    .map_err(|e| invalid_upload(vec![e.to_string()]))?;
    Ok(Json(PackagePreview {
        competition: package.competition.id.clone(),
        name: package.competition.name.clone(),
        from_revision: stored.revision,
        to_revision: package.revision,
        diff: PackageDiff::between(&stored, &package),
        unchanged: matches!(outcome, crate::PublishOutcome::Unchanged { .. }),
    }))
}

async fn package_publish(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<crate::PublishOutcome>> {
    organiser_only(&signed)?;
    let package = read_upload(body)?;
    same_competition(&signed, &package)?;
    let outcome = state
        .backend
        .publish(&package, (state.clock)())
        .await
        .map_err(|e| match e {
            crate::BackendError::Invalid(message) => invalid_upload(vec![message]),
            other => ApiError::from(other),
        })?;
    tracing::info!(
        competition = %package.competition.id,
        revision = package.revision,
        "published from the console"
    );
    Ok(Json(outcome))
}

async fn jurors(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
) -> ApiResult<Json<Vec<JurorTokens>>> {
    organiser_only(&signed)?;
    let package = state.backend.package(&signed.auth.competition).await?;
    let tokens = state.backend.tokens(&signed.auth.competition).await?;
    Ok(Json(juror_tokens(&package, &tokens)))
}

fn visit_label(package: &Package, visit: &tinjau_core::package::Visit) -> String {
    let name = package
        .participant(&visit.participant)
        .map_or_else(|| visit.participant.clone(), |p| p.name.clone());
    match visit.date() {
        Some(date) => format!("{name}, {}", tinjau_core::indonesian::format_date(date)),
        None => name,
    }
}

fn juror_tokens(package: &Package, tokens: &[crate::TokenRow]) -> Vec<JurorTokens> {
    package
        .jurors
        .iter()
        .map(|juror| {
            let theirs: Vec<&crate::TokenRow> = tokens
                .iter()
                .filter(|t| t.juror == juror.id && t.role != AccessRole::Organiser)
                .collect();
            JurorTokens {
                juror_id: juror.id.clone(),
                name: juror.name.clone(),
                institution: juror.institution.clone(),
                role: juror.role,
                visits: package
                    .visits
                    .iter()
                    .filter(|v| v.jurors.contains(&juror.id))
                    .map(|v| visit_label(package, v))
                    .collect(),
                active_tokens: theirs.iter().filter(|t| t.revoked_at.is_none()).count() as u32,
                revoked_tokens: theirs.iter().filter(|t| t.revoked_at.is_some()).count() as u32,
                last_issued: theirs.iter().map(|t| t.created_at.clone()).max(),
            }
        })
        .collect()
}

async fn revoke(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Path(juror): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    organiser_only(&signed)?;
    let package = state.backend.package(&signed.auth.competition).await?;
    if package.juror(&juror).is_none() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such juror",
        ));
    }
    let revoked = state
        .backend
        .revoke_juror(&signed.auth.competition, &juror, (state.clock)())
        .await?;
    tracing::info!(%juror, revoked, "revoked from the console");
    Ok(Json(serde_json::json!({ "revoked": revoked })))
}

/// Which jurors get a new token and a slip: the named ones, or (none named) every juror who
/// has no live token.
#[derive(Deserialize, Default)]
struct SlipRequest {
    #[serde(default)]
    jurors: Option<Vec<String>>,
}

/// The slips of `jurors`, each with a new token, as one PDF (one A4 page each); the tokens are
/// stored only once every slip is made and the PDF is typeset, all in one transaction, so a
/// refused juror, a join file a laptop would not accept or a failed PDF issues nothing. A juror
/// named twice gets one slip. Used by the console's "Cetak slip" and `token --all --slips`.
pub async fn issue_slips(
    backend: &crate::Backend,
    random: &Random,
    now: DateTime<Utc>,
    competition: &str,
    jurors: &[String],
    server_url: &str,
    pin: Option<&str>,
) -> ApiResult<(Vec<tinjau_report::SlipPage>, Vec<u8>)> {
    let package = backend.package(competition).await?;
    let mut pages = Vec::new();
    let mut tokens = Vec::new();
    for juror_id in jurors {
        if tokens.iter().any(|(j, _, _)| j == juror_id) {
            continue;
        }
        let juror = package.juror(juror_id).ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no juror \"{juror_id}\""),
            )
        })?;
        let role = match juror.role {
            Role::Lead => AccessRole::Lead,
            Role::Juror => AccessRole::Juror,
        };
        let token = new_token(&random());
        let join = tinjau_core::join::JoinSlip::new(server_url, &token, pin, competition, juror_id);
        tinjau_core::join::JoinSlip::parse(join.encode().as_bytes()).map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                format!("the join file would not be accepted: {e}"),
            )
        })?;
        tokens.push((juror_id.clone(), role, token.clone()));
        pages.push(tinjau_report::SlipPage {
            name: juror.name.clone(),
            institution: juror.institution.clone(),
            role: juror.role,
            visits: package
                .visits
                .iter()
                .filter(|v| v.jurors.contains(juror_id))
                .map(|v| visit_label(&package, v))
                .collect(),
            join,
            file_name: format!("{}.tinjau", safe_file_name(juror_id)),
        });
    }
    let pdf = tinjau_report::join_slips_pdf(
        &package.competition.name,
        package.competition.stage.as_deref(),
        &pages,
        now.date_naive(),
    )
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    backend.issue_tokens(competition, &tokens, now).await?;
    Ok((pages, pdf))
}

/// The jurors of `competition` who hold no live token.
pub async fn jurors_without_token(
    backend: &crate::Backend,
    competition: &str,
) -> ApiResult<Vec<String>> {
    let package = backend.package(competition).await?;
    let tokens = backend.tokens(competition).await?;
    Ok(juror_tokens(&package, &tokens)
        .into_iter()
        .filter(|j| j.active_tokens == 0)
        .map(|j| j.juror_id)
        .collect())
}

async fn slips(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    body: Result<Json<SlipRequest>, JsonRejection>,
) -> ApiResult<Response> {
    organiser_only(&signed)?;
    let Json(request) =
        body.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "malformed", e.body_text()))?;
    let server_url = state.console.options.public_url.clone().ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "no_public_url",
            "the server does not know the address jurors reach it at: start it with --public-url",
        )
    })?;
    let competition = signed.auth.competition.clone();
    let jurors = match request.jurors {
        Some(jurors) => jurors,
        None => jurors_without_token(&state.backend, &competition).await?,
    };
    if jurors.is_empty() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "nothing_to_issue",
            "every juror already holds a token: revoke one to issue a new slip",
        ));
    }
    if jurors.len() > 1000 {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "at most 1000 slips at once",
        ));
    }
    let (pages, pdf) = issue_slips(
        &state.backend,
        &state.console.random,
        (state.clock)(),
        &competition,
        &jurors,
        &server_url,
        state.console.options.pin.as_deref(),
    )
    .await?;
    tracing::info!(slips = pages.len(), "issued slips from the console");
    Ok(download(
        pdf,
        "application/pdf",
        &format!("slip-{competition}.pdf"),
    ))
}

async fn gallery(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Path(visit): Path<String>,
) -> ApiResult<Json<VisitGallery>> {
    let guard = mirror(&state, &signed.auth.competition).await?;
    let store = &guard.as_ref().expect("mirror() leaves a mirror").store;
    let package = store.package().map_err(store_error)?;
    let visit = followed_visit(package, &signed, &visit)?.clone();
    let checklist = store.checklist(&visit.id).map_err(store_error)?;
    let mut evidence = store.visit_evidence(&visit.id).map_err(store_error)?;
    let mut observations = checklist.observations;
    let hashes: Vec<String> = evidence
        .iter()
        .chain(observations.iter().flat_map(|o| o.evidence.iter()))
        .flat_map(|e| std::iter::once(e.hash.clone()).chain(e.preview_hash.clone()))
        .collect();
    let complete = state.backend.complete_blobs(&hashes).await?;
    let files = evidence
        .iter_mut()
        .chain(observations.iter_mut().flat_map(|o| o.evidence.iter_mut()));
    for file in files {
        // What the server holds, whole: the mirror's own folder has no files.
        file.available = complete.contains(&file.hash);
        file.preview_available = file
            .preview_hash
            .as_ref()
            .is_some_and(|preview| complete.contains(preview));
        file.original_pending = file.preview_hash.is_some() && !file.available;
    }
    Ok(Json(VisitGallery {
        visit_id: visit.id.clone(),
        participant_name: checklist.participant_name,
        observations,
        evidence,
    }))
}

async fn evidence(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Path((visit, hash)): Path<(String, String)>,
) -> ApiResult<Response> {
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such file on this visit",
        )
    };
    // The file must be recorded on this visit, a visit the caller follows (the server's own
    // evidence references; no need to catch the mirror up for every thumbnail).
    let package = state.backend.package(&signed.auth.competition).await?;
    let visit = followed_visit(&package, &signed, &visit)?;
    let refs = state
        .backend
        .evidence_refs(&signed.auth.competition, &hash)
        .await?;
    if !refs.iter().any(|(_, on, _)| *on == visit.id) {
        return Err(not_found());
    }
    let bytes = state
        .backend
        .blob_read(&hash)
        .await?
        .ok_or_else(not_found)?;
    // Pictures are shown, by what the bytes are (not what a record claims); anything else is a
    // download. Neither may run script (a crafted SVG or HTML file attached as evidence).
    let (mime, disposition) = match picture_type(&bytes) {
        Some(picture) => (picture, "inline"),
        None => ("application/octet-stream", "attachment"),
    };
    Ok((
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (header::CONTENT_DISPOSITION, disposition.to_string()),
            (
                header::CONTENT_SECURITY_POLICY,
                "sandbox; default-src 'none'".to_string(),
            ),
            (header::CACHE_CONTROL, "private, max-age=3600".to_string()),
        ],
        bytes,
    )
        .into_response())
}

/// The picture format of `bytes` by their signature: JPEG, PNG, GIF or WebP.
fn picture_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

fn not_locked(message: &str) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "not_locked", message)
}

/// One official document rendered from the mirror by the lead's own use case.
fn document(
    state: &AppState,
    store: &Store,
    document: &tinjau_app::documents::Document,
    mime: &'static str,
) -> ApiResult<Response> {
    let files = tinjau_app::documents::render(store, document, (state.clock)().date_naive())
        .map_err(|e| ApiError::new(StatusCode::CONFLICT, "document_failed", e.message))?;
    let file = files.into_iter().next().ok_or_else(|| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "no file was rendered",
        )
    })?;
    Ok(download(file.bytes, mime, &file.name))
}

async fn berita_acara(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Path(visit): Path<String>,
) -> ApiResult<Response> {
    let guard = mirror(&state, &signed.auth.competition).await?;
    let store = &guard.as_ref().expect("mirror() leaves a mirror").store;
    let package = store.package().map_err(store_error)?;
    let visit = followed_visit(package, &signed, &visit)?.id.clone();
    if store.visit_lock(&visit).map_err(store_error)?.is_none() {
        return Err(not_locked("the visit's result is not locked yet"));
    }
    let which = tinjau_app::documents::Document::BeritaAcara { visit };
    document(&state, store, &which, "application/pdf")
}

/// Checks that every visit `signed` follows is locked.
fn all_locked(store: &Store, signed: &Signed) -> ApiResult<()> {
    let package = store.package().map_err(store_error)?;
    for visit in package
        .visits
        .iter()
        .filter(|v| may_follow(package, signed, v))
    {
        if store.visit_lock(&visit.id).map_err(store_error)?.is_none() {
            return Err(not_locked(
                "the official ranking and recap are available once every visit is locked",
            ));
        }
    }
    Ok(())
}

/// A document of the whole competition (organiser only), once every visit is locked.
async fn final_document(
    state: &AppState,
    signed: &Signed,
    which: tinjau_app::documents::Document,
    mime: &'static str,
) -> ApiResult<Response> {
    organiser_only(signed)?;
    let guard = mirror(state, &signed.auth.competition).await?;
    let store = &guard.as_ref().expect("mirror() leaves a mirror").store;
    all_locked(store, signed)?;
    document(state, store, &which, mime)
}

async fn ranking_pdf(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
) -> ApiResult<Response> {
    let which = tinjau_app::documents::Document::Ranking;
    final_document(&state, &signed, which, "application/pdf").await
}

async fn rekap_xlsx(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
) -> ApiResult<Response> {
    let which = tinjau_app::documents::Document::Rekap;
    let mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    final_document(&state, &signed, which, mime).await
}

/// The result bundle (`docs/bundle.md`) for the public, once every visit is locked: anyone
/// checks it with `tinjau bundle verify`.
async fn result_bundle(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
) -> ApiResult<Response> {
    organiser_only(&signed)?;
    let guard = mirror(&state, &signed.auth.competition).await?;
    let store = &guard.as_ref().expect("mirror() leaves a mirror").store;
    all_locked(store, &signed)?;
    let bytes = store.export_bundle().map_err(store_error)?;
    Ok(download(
        bytes,
        "application/octet-stream",
        &format!("hasil-{}.tinjau", signed.auth.competition),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limiter_counts_failures_per_address_within_the_window() {
        let mut limiter = Limiter::default();
        let now = Utc::now();
        let (a, b) = (IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 2]));
        for _ in 0..MAX_FAILED_SIGN_INS {
            limiter.fail(a, now);
        }
        assert_eq!(limiter.recent(a, now), MAX_FAILED_SIGN_INS);
        assert_eq!(limiter.recent(b, now), 0);
        let later = now + Duration::minutes(SIGN_IN_WINDOW_MINUTES + 1);
        assert_eq!(limiter.recent(a, later), 0, "failures age out");
    }

    #[test]
    fn the_limiter_forgets_the_oldest_address_first_and_stays_bounded() {
        let mut limiter = Limiter::default();
        let now = Utc::now();
        for i in 0..(LIMITER_ADDRESSES as u32 + 5) {
            limiter.fail(IpAddr::from(i.to_be_bytes()), now);
        }
        assert_eq!(limiter.failures.len(), LIMITER_ADDRESSES);
        assert_eq!(limiter.recent(IpAddr::from(0u32.to_be_bytes()), now), 0);
    }

    #[test]
    fn pictures_are_known_by_their_bytes_not_their_names() {
        assert_eq!(picture_type(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(picture_type(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(picture_type(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(picture_type(b"<svg onload=alert(1)>"), None);
        assert_eq!(picture_type(b"<script>alert(1)</script>"), None);
        assert_eq!(picture_type(b"RIFF"), None);
        assert_eq!(picture_type(b""), None);
    }

    #[test]
    fn file_names_are_safe_everywhere() {
        assert_eq!(safe_file_name("../../etc/passwd"), "-..-etc-passwd");
        assert_eq!(
            safe_file_name("berita acara \"x\".pdf"),
            "berita-acara--x-.pdf"
        );
        assert_eq!(safe_file_name(""), "berkas");
        assert_eq!(safe_file_name("..."), "berkas");
    }
}
