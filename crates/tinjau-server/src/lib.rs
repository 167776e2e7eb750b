//! Tinjau's central server, as a library: [`router`] builds the axum app over a [`Backend`], so
//! tests can run it in-process or as a real process, and `main.rs` stays small.
//!
//! Every handler is a thin edge: authenticate, parse, call the backend, answer. The decisions of
//! a push are made by `tinjau_core::sync::plan_push` inside the backend's transaction. Nothing
//! an instance keeps in memory is needed by another instance: several instances can serve one
//! PostgreSQL database.

mod backend;
pub mod console;
pub mod hub;
mod postgres;
mod sqlite;
mod store;

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use tinjau_core::sync::{AccessRole, PushRequest, Whoami};
use tokio::sync::Semaphore;

pub use backend::{
    Backend, BackendError, BlobStatus, ConsoleFacts, NewSession, Presented, PublishOutcome,
    RevisionRecord, SessionRecord, TokenRecord, TokenRow,
};
pub use tinjau_core::hub::HubSeed;

/// Compressed push bodies larger than this are refused.
pub const MAX_PUSH_BODY_BYTES: usize = 4 * 1024 * 1024;
/// A push body may inflate to at most this (guards against compression bombs). An honest batch
/// is at most 256 KiB of values plus one value of at most 256 KiB, about 1 MiB as JSON.
pub const MAX_PUSH_INFLATED_BYTES: u64 = 8 * 1024 * 1024;
/// Evidence chunks larger than this are refused.
pub const MAX_CHUNK_BYTES: usize = 4 * 1024 * 1024;
/// Default largest evidence file.
pub const DEFAULT_MAX_BLOB_BYTES: u64 = 200 * 1024 * 1024;

/// Where "now" comes from; passed in so tests can skew it.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

#[derive(Clone)]
pub struct AppState {
    pub backend: Arc<Backend>,
    pub clock: Clock,
    pub max_blob_bytes: u64,
    pub console: console::Console,
}

/// What went wrong, as the client sees it: a status, a stable code and a message.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Every problem found, when there are several (an uploaded package's mistakes).
    pub problems: Vec<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            problems: Vec::new(),
        }
    }

    fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }
}

impl From<backend::BackendError> for ApiError {
    fn from(error: backend::BackendError) -> Self {
        use backend::BackendError as E;
        match error {
            E::NotFound(what) => ApiError::new(StatusCode::NOT_FOUND, "not_found", what),
            E::Invalid(what) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", what),
            E::Conflict(what) => ApiError::new(StatusCode::CONFLICT, "offset_mismatch", what),
            E::TooLarge(what) => ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", what),
            E::Forbidden(what) => ApiError::new(StatusCode::FORBIDDEN, "forbidden", what),
            other => {
                tracing::error!(error = %other, "backend failure");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    other.to_string(),
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = serde_json::json!({"code": self.code, "message": self.message});
        if !self.problems.is_empty() {
            error["problems"] = self.problems.into();
        }
        let body = serde_json::json!({ "error": error });
        (self.status, Json(body)).into_response()
    }
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// Requests handled at once; more wait up to [`BUSY_WAIT`] for a turn, then get a 503 (a
/// client backs off and retries). Bounds the memory that request bodies can take.
pub const MAX_CONCURRENT_REQUESTS: usize = 32;
/// How long a request waits for its turn before the server answers it is busy.
pub const BUSY_WAIT: Duration = Duration::from_secs(10);
/// A request (body included) must be done in this time.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// Headers must arrive in this time (slow, half-sent requests are closed).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(20);

/// The server's routes over `state`.
pub fn router(state: AppState) -> Router {
    router_with(state, Router::new())
}

/// The server's routes over `state` and `extra` (a hub's own), behind the same limits.
pub(crate) fn router_with(state: AppState, extra: Router<AppState>) -> Router {
    let authenticated = Router::new()
        .route("/v1/whoami", get(whoami))
        .route("/v1/package", get(package))
        .route("/v1/push", post(push))
        // Pulls are JSON that compresses well (over 5x); evidence is served as stored.
        .route(
            "/v1/pull",
            get(pull).layer(tower_http::compression::CompressionLayer::new().gzip(true)),
        )
        .route("/v1/quarantine", get(quarantine))
        .route(
            "/v1/blobs/{hash}",
            get(blob_get).head(blob_head).patch(blob_patch),
        )
        // The token is checked from the headers alone, before any body is read: a request
        // without a valid token costs the server nothing but its headers.
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    let turns = Arc::new(Semaphore::new(MAX_CONCURRENT_REQUESTS));
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .merge(authenticated)
        .merge(console::routes(state.clone()))
        .merge(extra)
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such endpoint (the API is under /v1/)",
            )
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this endpoint does not take that method",
            )
        })
        .layer(DefaultBodyLimit::max(
            MAX_PUSH_BODY_BYTES.max(MAX_CHUNK_BYTES + 1024),
        ))
        .layer(middleware::from_fn(time_limit))
        .layer(middleware::from_fn(move |request, next| {
            take_turn(turns.clone(), request, next)
        }))
        .with_state(state)
}

/// Serves one request at a time per turn of [`MAX_CONCURRENT_REQUESTS`].
async fn take_turn(turns: Arc<Semaphore>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(BUSY_WAIT, turns.acquire_owned()).await {
        Ok(Ok(_permit)) => next.run(request).await,
        _ => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "the server is busy: try again in a moment",
        )
        .into_response(),
    }
}

/// Answers 408 when a request (its body included) takes longer than [`REQUEST_TIMEOUT`].
async fn time_limit(request: Request, next: Next) -> Response {
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "timeout",
            "the request took too long (a slow or stalled connection): try again",
        )
        .into_response(),
    }
}

async fn require_token(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    match authenticate(&state, request.headers()).await {
        Ok(auth) => {
            request.extensions_mut().insert(auth);
            next.run(request).await
        }
        Err(error) => error.into_response(),
    }
}

/// The caller's token, checked against its stored hash.
async fn authenticate(state: &AppState, headers: &HeaderMap) -> ApiResult<TokenRecord> {
    let unauthorized =
        |message: &str| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message);
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| unauthorized("no token: send Authorization: Bearer TOKEN"))?;
    // The scheme is case-insensitive (RFC 9110): "bearer" is as good as "Bearer".
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|token| !token.is_empty() && token.len() <= 256)
        .ok_or_else(|| unauthorized("the Authorization header must be \"Bearer TOKEN\""))?;
    let record = state
        .backend
        .authenticate(&token_hash(token))
        .await?
        .ok_or_else(|| {
            unauthorized("unknown token: check it, or ask the organiser for a new one")
        })?;
    if record.revoked {
        return Err(unauthorized(
            "this token was revoked; ask the organiser for a new one",
        ));
    }
    let identity =
        tinjau_core::signing::JurorIdentity::derive(token, &record.competition, &record.juror);
    Ok(TokenRecord {
        presented: Some(Presented {
            hash: token_hash(token),
            identity: identity.public(),
        }),
        ..record
    })
}

/// A body that was too large or could not be read, as the JSON error shape.
fn body_error(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "the request body is larger than this server accepts ({} bytes)",
                MAX_PUSH_BODY_BYTES.max(MAX_CHUNK_BYTES + 1024)
            ),
        )
    } else {
        ApiError::bad_request(
            "malformed",
            format!("the request body could not be read: {rejection}"),
        )
    }
}

/// A new token (or session secret) from 32 random bytes: `tjk_` and URL-safe base64.
pub fn new_token(random: &[u8; 32]) -> String {
    use base64::Engine;
    format!(
        "tjk_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random)
    )
}

/// Tokens are stored only as this hash.
pub fn token_hash(token: &str) -> String {
    blake3::hash(token.as_bytes()).to_hex().to_string()
}

async fn whoami(
    State(state): State<AppState>,
    Extension(auth): Extension<TokenRecord>,
) -> ApiResult<Json<Whoami>> {
    Ok(Json(Whoami {
        juror: auth.juror,
        role: auth.role,
        competition: auth.competition,
        server_time_ms: (state.clock)().timestamp_millis(),
    }))
}

async fn package(
    State(state): State<AppState>,
    Extension(auth): Extension<TokenRecord>,
) -> ApiResult<Response> {
    let text = state.backend.package_text(&auth.competition).await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], text).into_response())
}

/// Reads a push body: gzip when `Content-Encoding: gzip`, capped after inflating.
fn inflate(headers: &HeaderMap, body: &[u8]) -> ApiResult<Vec<u8>> {
    let gzip = headers
        .get(header::CONTENT_ENCODING)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
    if !gzip {
        return Ok(body.to_vec());
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body)
        .take(MAX_PUSH_INFLATED_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| ApiError::bad_request("malformed", format!("the gzip body is broken: {e}")))?;
    if out.len() as u64 > MAX_PUSH_INFLATED_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the push inflates to more than {MAX_PUSH_INFLATED_BYTES} bytes"),
        ));
    }
    Ok(out)
}

async fn push(
    State(state): State<AppState>,
    Extension(auth): Extension<TokenRecord>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let body = body.map_err(body_error)?;
    if auth.role == AccessRole::Organiser {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the organiser writes no field records",
        ));
    }
    let json = inflate(&headers, &body)?;
    let deserializer = &mut serde_json::Deserializer::from_slice(&json);
    let request: PushRequest = serde_path_to_error::deserialize(deserializer).map_err(|e| {
        ApiError::bad_request(
            "malformed",
            format!(
                "the request body is not a valid push: {}: {}",
                e.path(),
                e.inner()
            ),
        )
    })?;
    if request.changes.len() > tinjau_core::sync::MAX_BATCH_CHANGES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "a push carries at most {} changes, this one {}",
                tinjau_core::sync::MAX_BATCH_CHANGES,
                request.changes.len()
            ),
        ));
    }
    if request.registrations.len() > tinjau_core::sync::MAX_PUSH_REGISTRATIONS {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "a push carries at most {} device registrations, this one {}",
                tinjau_core::sync::MAX_PUSH_REGISTRATIONS,
                request.registrations.len()
            ),
        ));
    }
    let now = (state.clock)();
    let response = state.backend.push(&auth, request, now).await?;
    Ok(Json(response).into_response())
}

#[derive(Deserialize)]
struct PullQuery {
    #[serde(default)]
    after: u64,
    /// The mark the previous page gave for `after` (see `PullResponse::mark`).
    #[serde(default)]
    mark: Option<String>,
    #[serde(default = "default_page")]
    limit: u32,
}

fn default_page() -> u32 {
    1000
}

async fn pull(
    State(state): State<AppState>,
    Extension(auth): Extension<TokenRecord>,
    query: Result<Query<PullQuery>, QueryRejection>,
) -> ApiResult<Response> {
    let Query(query) = query.map_err(|e| {
        ApiError::bad_request(
            "malformed",
            format!(
                "the query is not valid (after=N&limit=N, whole numbers): {}",
                e.body_text()
            ),
        )
    })?;
    if query.after > i64::MAX as u64 {
        return Err(ApiError::bad_request(
            "malformed",
            format!("after={} is beyond any position in the log", query.after),
        ));
    }
    let limit = query.limit.clamp(1, 5000);
    if query.mark.as_ref().is_some_and(|m| m.len() > 64) {
        return Err(ApiError::bad_request(
            "malformed",
            "mark is at most 64 characters",
        ));
    }
    let page = state
        .backend
        .pull(&auth, query.after, query.mark.as_deref(), limit)
        .await?;
    Ok(Json(page).into_response())
}

async fn quarantine(
    State(state): State<AppState>,
    Extension(auth): Extension<TokenRecord>,
) -> ApiResult<Response> {
    if !auth.role.sees_everything() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only the lead and the organiser see the quarantine",
        ));
    }
    Ok(Json(state.backend.quarantine(&auth.competition).await?).into_response())
}

fn check_hash(hash: &str) -> ApiResult<()> {
    if hash.len() == 64
        && hash
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "malformed",
            format!("\"{hash}\" is not a BLAKE3 hash (64 lowercase hex digits)"),
        ))
    }
}

fn blob_headers(status: &BlobStatus) -> [(header::HeaderName, HeaderValue); 3] {
    [
        (
            header::HeaderName::from_static("upload-offset"),
            HeaderValue::from(status.received),
        ),
        (
            header::HeaderName::from_static("upload-length"),
            HeaderValue::from(status.size),
        ),
        (
            header::HeaderName::from_static("upload-complete"),
            HeaderValue::from_static(if status.complete { "true" } else { "false" }),
        ),
    ]
}

/// The answer for a file the caller may not see: the same as for a file that does not exist,
/// so nobody learns which files exist.
fn no_such_file(hash: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no file {hash} that you may see on this server"),
    )
}

/// How much of an evidence file the server has: resume from `Upload-Offset`. Only to those who
/// may see a record referencing it (its uploader among them).
async fn blob_head(
    State(state): State<AppState>,
    Extension(auth): Extension<TokenRecord>,
    Path(hash): Path<String>,
) -> ApiResult<Response> {
    check_hash(&hash)?;
    if !state.backend.may_see_blob(&auth, &hash).await? {
        return Ok(StatusCode::NOT_FOUND.into_response());
    }
    match state.backend.blob_status(&hash).await? {
        Some(status) => Ok((StatusCode::OK, blob_headers(&status)).into_response()),
        None => Ok(StatusCode::NOT_FOUND.into_response()),
    }
}

fn header_u64(headers: &HeaderMap, name: &str) -> ApiResult<u64> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| {
            ApiError::bad_request("malformed", format!("header {name} must be a whole number"))
        })
}

/// Appends one chunk at `Upload-Offset`, checked against `Chunk-Checksum` (BLAKE3 of the chunk).
/// The last chunk completes the file, which must then hash to its name.
async fn blob_patch(
    State(state): State<AppState>,
    Extension(auth): Extension<TokenRecord>,
    headers: HeaderMap,
    Path(hash): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    check_hash(&hash)?;
    let offset = header_u64(&headers, "upload-offset")?;
    let size = header_u64(&headers, "upload-length")?;
    // Only the juror who attached the file uploads it, at the size their record announced;
    // checked before the chunk is read.
    state.backend.may_upload_blob(&auth, &hash, size).await?;
    let body = body.map_err(body_error)?;
    if size > state.max_blob_bytes {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "the file is {size} bytes; this server accepts at most {} bytes",
                state.max_blob_bytes
            ),
        ));
    }
    if body.len() > MAX_CHUNK_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("chunks are at most {MAX_CHUNK_BYTES} bytes"),
        ));
    }
    let checksum = headers
        .get("chunk-checksum")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ApiError::bad_request(
                "malformed",
                "header Chunk-Checksum (BLAKE3 of the chunk, hex) is required",
            )
        })?;
    if blake3::hash(&body).to_hex().as_str() != checksum {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "checksum_mismatch",
            "the chunk does not match its checksum: send it again",
        ));
    }
    let now = (state.clock)();
    let status = state
        .backend
        .blob_append(&hash, size, offset, &body, now)
        .await?;
    Ok((StatusCode::OK, blob_headers(&status)).into_response())
}

async fn blob_get(
    State(state): State<AppState>,
    Extension(auth): Extension<TokenRecord>,
    Path(hash): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    check_hash(&hash)?;
    let range = match headers.get(header::RANGE) {
        Some(value) => Some(parse_range(value)?),
        None => None,
    };
    if !state.backend.may_see_blob(&auth, &hash).await? {
        return Err(no_such_file(&hash));
    }
    let octets = (header::CONTENT_TYPE, "application/octet-stream");
    let Some((start, end)) = range else {
        return match state.backend.blob_read(&hash).await? {
            Some(bytes) => Ok(([octets], bytes).into_response()),
            None => Err(no_such_file(&hash)),
        };
    };
    // A client on a poor link fetches a file in parts, each short enough to cross between
    // two cuts; one range per request.
    let end = end.unwrap_or(u64::MAX);
    let Some((part, total)) = state.backend.blob_read_range(&hash, start, end).await? else {
        return Err(no_such_file(&hash));
    };
    if start >= total {
        return Err(ApiError::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "bad_range",
            format!("the file has {total} bytes; the range starts at {start}"),
        ));
    }
    let last = start + part.len() as u64 - 1;
    let content_range = format!("bytes {start}-{last}/{total}");
    Ok((
        StatusCode::PARTIAL_CONTENT,
        [octets, (header::CONTENT_RANGE, content_range.as_str())],
        part,
    )
        .into_response())
}

/// `Range: bytes=START-` or `bytes=START-END` (one range; END inclusive).
fn parse_range(value: &header::HeaderValue) -> ApiResult<(u64, Option<u64>)> {
    let bad = || {
        ApiError::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "bad_range",
            "Range must be one range of bytes: bytes=START- or bytes=START-END",
        )
    };
    let text = value.to_str().map_err(|_| bad())?;
    let (start, end) = text
        .strip_prefix("bytes=")
        .and_then(|r| r.split_once('-'))
        .ok_or_else(bad)?;
    let start: u64 = start.parse().map_err(|_| bad())?;
    let end = match end {
        "" => None,
        end => Some(end.parse::<u64>().map_err(|_| bad())?),
    };
    if end.is_some_and(|end| end < start) {
        return Err(bad());
    }
    Ok((start, end))
}
