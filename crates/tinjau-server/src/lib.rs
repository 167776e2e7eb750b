//! Tinjau's central server, as a library: [`router`] builds the axum app over a [`Backend`], so
//! tests can run it in-process or as a real process, and `main.rs` stays small.
//!
//! Every handler is a thin edge: authenticate, parse, call the backend, answer. The decisions of
//! a push are made by `tinjau_core::sync::plan_push` inside the backend's transaction. Nothing
//! an instance keeps in memory is needed by another instance: several instances can serve one
//! PostgreSQL database.

mod backend;
mod postgres;
mod sqlite;

use std::io::Read;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use tinjau_core::sync::{AccessRole, PushRequest, Whoami};

pub use backend::{Backend, BlobStatus, PublishOutcome, TokenRecord};

/// Compressed push bodies larger than this are refused.
pub const MAX_PUSH_BODY_BYTES: usize = 4 * 1024 * 1024;
/// A push body may inflate to at most this (guards against compression bombs).
pub const MAX_PUSH_INFLATED_BYTES: u64 = 32 * 1024 * 1024;
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
}

/// What went wrong, as the client sees it: a status, a stable code and a message.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
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
        let body = serde_json::json!({"error": {"code": self.code, "message": self.message}});
        (self.status, Json(body)).into_response()
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// The server's routes over `state`.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
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
        .layer(DefaultBodyLimit::max(
            MAX_PUSH_BODY_BYTES.max(MAX_CHUNK_BYTES + 1024),
        ))
        .with_state(state)
}

/// The caller's token, checked against its stored hash.
async fn authenticate(state: &AppState, headers: &HeaderMap) -> ApiResult<TokenRecord> {
    let unauthorized =
        |message: &str| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message);
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| unauthorized("no token: send Authorization: Bearer TOKEN"))?;
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| unauthorized("the Authorization header must be \"Bearer TOKEN\""))?;
    let record = state
        .backend
        .authenticate(&token_hash(token.trim()))
        .await?
        .ok_or_else(|| unauthorized("unknown token"))?;
    if record.revoked {
        return Err(unauthorized(
            "this token was revoked; ask the organiser for a new one",
        ));
    }
    Ok(record)
}

/// Tokens are stored only as this hash.
pub fn token_hash(token: &str) -> String {
    blake3::hash(token.as_bytes()).to_hex().to_string()
}

async fn whoami(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Json<Whoami>> {
    let auth = authenticate(&state, &headers).await?;
    Ok(Json(Whoami {
        juror: auth.juror,
        role: auth.role,
        competition: auth.competition,
        server_time_ms: (state.clock)().timestamp_millis(),
    }))
}

async fn package(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let auth = authenticate(&state, &headers).await?;
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
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let auth = authenticate(&state, &headers).await?;
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
    let now = (state.clock)();
    let response = state.backend.push(&auth, request, now).await?;
    Ok(Json(response).into_response())
}

#[derive(Deserialize)]
struct PullQuery {
    #[serde(default)]
    after: u64,
    #[serde(default = "default_page")]
    limit: u32,
}

fn default_page() -> u32 {
    1000
}

async fn pull(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<PullQuery>,
) -> ApiResult<Response> {
    let auth = authenticate(&state, &headers).await?;
    let limit = query.limit.clamp(1, 5000);
    let page = state.backend.pull(&auth, query.after, limit).await?;
    Ok(Json(page).into_response())
}

async fn quarantine(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let auth = authenticate(&state, &headers).await?;
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

/// How much of an evidence file the server has: resume from `Upload-Offset`.
async fn blob_head(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(hash): Path<String>,
) -> ApiResult<Response> {
    authenticate(&state, &headers).await?;
    check_hash(&hash)?;
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
    headers: HeaderMap,
    Path(hash): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    authenticate(&state, &headers).await?;
    check_hash(&hash)?;
    let offset = header_u64(&headers, "upload-offset")?;
    let size = header_u64(&headers, "upload-length")?;
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
    headers: HeaderMap,
    Path(hash): Path<String>,
) -> ApiResult<Response> {
    authenticate(&state, &headers).await?;
    check_hash(&hash)?;
    match state.backend.blob_read(&hash).await? {
        Some(bytes) => {
            Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
        }
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no complete file {hash} on this server"),
        )),
    }
}
