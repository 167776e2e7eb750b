//! The sync client: push this device's changes, pull what it may see, upload evidence with
//! resume, fetch missing evidence. Metadata goes first; files never hold it back.
//!
//! Nothing here needs a terminal: progress is reported through [`Progress`], so the CLI shows
//! a progress bar and the desktop app its own.

use std::io::{Read, Write};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::blocking::{Client as HttpClient, Response};
use serde::{Deserialize, Serialize};
use tinjau_core::chain::ChangeEntry;
use tinjau_core::hub::{HubHello, HubSession, HubSessionRequest};
use tinjau_core::signing::JurorIdentity;
use tinjau_core::sync::{
    CHUNK_BYTES, ChangeOutcome, ChunkSizer, MAX_BATCH_BYTES, MAX_BATCH_CHANGES, Outcome,
    PullResponse, PushRequest, PushResponse, Whoami,
};
use tinjau_core::views::OriginalsPolicy;
use tinjau_store::{Destination, Store, StoreError, SyncSettings};

mod pinning;

/// A pulled page may inflate to at most this (the server cuts pages at 4 MiB of entries).
const MAX_PULL_INFLATED_BYTES: u64 = 64 * 1024 * 1024;
/// An error answer is read up to this many bytes.
const MAX_ERROR_BYTES: u64 = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("{message} (the server answered {status}, {code})")]
    Server {
        status: u16,
        code: String,
        message: String,
    },
    #[error("cannot reach the server: {0}")]
    Network(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the server's answer is not understood: {0}")]
    Protocol(String),
    #[error("{0}")]
    Setup(String),
}

impl SyncError {
    /// A stable code for the CLI's JSON errors and the desktop app.
    pub fn code(&self) -> &str {
        match self {
            SyncError::Server { code, .. } => code,
            SyncError::Network(_) => "offline",
            SyncError::Store(e) => e.code(),
            SyncError::Protocol(_) => "protocol",
            SyncError::Setup(_) => "sync_setup",
        }
    }

    /// Worth trying again later (the network, or a server having a bad moment).
    pub fn is_transient(&self) -> bool {
        match self {
            SyncError::Network(_) => true,
            SyncError::Server { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }
}

pub type SyncResult<T> = Result<T, SyncError>;

fn network(error: reqwest::Error) -> SyncError {
    SyncError::Network(error.to_string())
}

/// A connection to one server with one token.
pub struct Client {
    base: String,
    token: String,
    /// The juror's own token, which their device's registration is made from: the bearer
    /// token itself at the central server; at a hub, where the bearer is a session secret,
    /// the token the juror proved they hold (it never leaves this laptop).
    identity_token: String,
    destination: Destination,
    http: HttpClient,
}

/// Names the server, never the token.
impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("destination", &self.destination)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobStatus {
    pub size: u64,
    pub received: u64,
    pub complete: bool,
}

impl Client {
    /// `pinned_sha256`: the hex SHA-256 of the server's certificate, for a lead's laptop with a
    /// self-signed certificate; without it HTTPS checks the system's trusted roots.
    pub fn new(server: &str, token: &str, pinned_sha256: Option<&str>) -> SyncResult<Client> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let base = server.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(SyncError::Setup(format!(
                "\"{server}\" is not a server address: it must start with http:// or https://"
            )));
        }
        let mut builder = HttpClient::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .user_agent(concat!("tinjau/", env!("CARGO_PKG_VERSION")));
        if let Some(pin) = pinned_sha256 {
            builder = builder.tls_backend_preconfigured(pinning::client_config(pin)?);
        }
        Ok(Client {
            base,
            token: token.to_string(),
            identity_token: token.to_string(),
            destination: Destination::Central,
            http: builder.build().map_err(network)?,
        })
    }

    /// Opens a session at a visit's hub (`docs/hub.md`) as this store's juror: the hub hands
    /// out a nonce, the juror signs it with the identity key `token` derives, and the hub
    /// answers a session secret for its sync protocol. The token is not sent. `pin`: the
    /// hub's words or full fingerprint, as the lead's screen shows it.
    pub fn join_hub(store: &Store, server: &str, token: &str, pin: &str) -> SyncResult<Client> {
        let competition = store.package()?.competition.id.clone();
        Client::hub_session(server, pin, &competition, &store.juror_id()?, token)
    }

    /// [`Client::join_hub`] for `juror` of `competition`, without a store.
    pub fn hub_session(
        server: &str,
        pin: &str,
        competition: &str,
        juror: &str,
        token: &str,
    ) -> SyncResult<Client> {
        let parsed = pinning::parse_pin(pin)?;
        let mut client = Client::new(server, "", Some(pin))?;
        let response = client
            .http
            .get(client.url("/v1/hub"))
            .send()
            .map_err(network)?;
        let hello: HubHello = Self::check(response)?
            .json()
            .map_err(|e| SyncError::Protocol(format!("not a Tinjau hub: {e}")))?;
        if hello.competition != competition {
            return Err(SyncError::Setup(format!(
                "this hub is for \"{}\", not for this laptop's competition \"{competition}\"",
                hello.competition.chars().take(80).collect::<String>()
            )));
        }
        let identity = JurorIdentity::derive(token.trim(), competition, juror);
        let request = HubSessionRequest {
            proof: identity.sign_hub_session(competition, juror, &hello.nonce),
            juror: juror.to_string(),
            nonce: hello.nonce,
        };
        let response = client
            .http
            .post(client.url("/v1/hub/session"))
            .json(&request)
            .send()
            .map_err(network)?;
        let session: HubSession = Self::check(response)?
            .json()
            .map_err(|e| SyncError::Protocol(e.to_string()))?;
        client.token = session.session;
        client.identity_token = token.trim().to_string();
        client.destination = Destination::Hub(parsed.hub_id());
        Ok(client)
    }

    /// Where this client syncs to.
    pub fn destination(&self) -> &Destination {
        &self.destination
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Turns an error answer into a [`SyncError`] with the server's code and message (its
    /// JSON error, inflated when it came compressed). An answer that is not the server's JSON
    /// (a proxy's page, say) is named by its status, never printed as raw bytes.
    fn check(response: Response) -> SyncResult<Response> {
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let gzip = response
            .headers()
            .get("content-encoding")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
        let mut raw = Vec::new();
        let _ = response.take(MAX_ERROR_BYTES).read_to_end(&mut raw);
        let body = if gzip {
            let mut inflated = Vec::new();
            let _ = flate2::read::GzDecoder::new(&raw[..])
                .take(MAX_ERROR_BYTES)
                .read_to_end(&mut inflated);
            inflated
        } else {
            raw
        };
        let (code, message) = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| {
                Some((
                    v["error"]["code"].as_str()?.to_string(),
                    v["error"]["message"].as_str()?.to_string(),
                ))
            })
            .unwrap_or_else(|| {
                (
                    format!("http_{}", status.as_u16()),
                    format!(
                        "the server answered {status} without saying why (is this a Tinjau server?)"
                    ),
                )
            });
        Err(SyncError::Server {
            status: status.as_u16(),
            code,
            message,
        })
    }

    pub fn whoami(&self) -> SyncResult<Whoami> {
        let response = self
            .http
            .get(self.url("/v1/whoami"))
            .bearer_auth(&self.token)
            .send()
            .map_err(network)?;
        Self::check(response)?
            .json()
            .map_err(|e| SyncError::Protocol(e.to_string()))
    }

    pub fn package(&self) -> SyncResult<Vec<u8>> {
        let response = self
            .http
            .get(self.url("/v1/package"))
            .bearer_auth(&self.token)
            .send()
            .map_err(network)?;
        Ok(Self::check(response)?.bytes().map_err(network)?.to_vec())
    }

    /// Pushes one batch, gzip-compressed. Returns the answer and the bytes sent and received.
    pub fn push(&self, request: &PushRequest) -> SyncResult<(PushResponse, u64, u64)> {
        let json = serde_json::to_vec(request).expect("a push serialises");
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(&json).expect("writing to memory");
        let body = encoder.finish().expect("writing to memory");
        let sent = body.len() as u64;
        let response = self
            .http
            .post(self.url("/v1/push"))
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .body(body)
            .send()
            .map_err(network)?;
        let bytes = Self::check(response)?.bytes().map_err(network)?;
        let answer =
            serde_json::from_slice(&bytes).map_err(|e| SyncError::Protocol(e.to_string()))?;
        Ok((answer, sent, bytes.len() as u64))
    }

    /// One page of changes after `after`. The page comes gzip-compressed; it is inflated here
    /// (not by the HTTP library) so the bytes counted are the bytes on the wire.
    pub fn pull(&self, after: u64, limit: u32) -> SyncResult<(PullResponse, u64)> {
        self.pull_from(after, None, limit)
    }

    /// A page after `after`, sending the `mark` the server gave for it: a server that no longer
    /// holds what was seen there answers `log_changed`.
    pub fn pull_from(
        &self,
        after: u64,
        mark: Option<&str>,
        limit: u32,
    ) -> SyncResult<(PullResponse, u64)> {
        let mark = mark
            .filter(|m| m.len() <= 64 && m.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(|m| format!("&mark={m}"))
            .unwrap_or_default();
        let response = self
            .http
            .get(self.url(&format!("/v1/pull?after={after}&limit={limit}{mark}")))
            .bearer_auth(&self.token)
            .header("accept-encoding", "gzip")
            .send()
            .map_err(network)?;
        let response = Self::check(response)?;
        let gzip = response
            .headers()
            .get("content-encoding")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
        let wire = response.bytes().map_err(network)?;
        let json = if gzip {
            let mut inflated = Vec::new();
            flate2::read::GzDecoder::new(&wire[..])
                .take(MAX_PULL_INFLATED_BYTES + 1)
                .read_to_end(&mut inflated)
                .map_err(|e| SyncError::Protocol(format!("the compressed page is broken: {e}")))?;
            if inflated.len() as u64 > MAX_PULL_INFLATED_BYTES {
                return Err(SyncError::Protocol(
                    "a pulled page inflates past 256 MiB".into(),
                ));
            }
            inflated
        } else {
            wire.to_vec()
        };
        let page = serde_json::from_slice(&json).map_err(|e| SyncError::Protocol(e.to_string()))?;
        Ok((page, wire.len() as u64))
    }

    fn blob_headers(response: &Response) -> SyncResult<BlobStatus> {
        let number = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| SyncError::Protocol(format!("the answer lacks {name}")))
        };
        Ok(BlobStatus {
            size: number("upload-length")?,
            received: number("upload-offset")?,
            complete: response
                .headers()
                .get("upload-complete")
                .is_some_and(|v| v == "true"),
        })
    }

    /// How much of an evidence file the server has (`None`: nothing yet).
    pub fn blob_status(&self, hash: &str) -> SyncResult<Option<BlobStatus>> {
        let response = self
            .http
            .head(self.url(&format!("/v1/blobs/{hash}")))
            .bearer_auth(&self.token)
            .send()
            .map_err(network)?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let response = Self::check(response)?;
        Self::blob_headers(&response).map(Some)
    }

    /// Sends one chunk at `offset`, with its checksum.
    pub fn blob_patch(
        &self,
        hash: &str,
        size: u64,
        offset: u64,
        chunk: &[u8],
    ) -> SyncResult<BlobStatus> {
        let response = self
            .http
            .patch(self.url(&format!("/v1/blobs/{hash}")))
            .bearer_auth(&self.token)
            .header("upload-offset", offset)
            .header("upload-length", size)
            .header("chunk-checksum", blake3::hash(chunk).to_hex().as_str())
            .body(chunk.to_vec())
            .send()
            .map_err(network)?;
        let response = Self::check(response)?;
        Self::blob_headers(&response)
    }

    /// Up to `len` bytes of a file from `offset` (an HTTP range), and the file's size.
    /// `None`: the server has no such file for this token.
    pub fn blob_get_part(&self, hash: &str, offset: u64, len: u64) -> SyncResult<Option<Part>> {
        let last = offset.saturating_add(len.max(1) - 1);
        let response = self
            .http
            .get(self.url(&format!("/v1/blobs/{hash}")))
            .bearer_auth(&self.token)
            .header(reqwest::header::RANGE, format!("bytes={offset}-{last}"))
            .send()
            .map_err(network)?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let response = Self::check(response)?;
        if response.status() != StatusCode::PARTIAL_CONTENT {
            // A server without ranges sends the whole file.
            let bytes = response.bytes().map_err(network)?.to_vec();
            let size = bytes.len() as u64;
            return Ok(Some(Part {
                offset: 0,
                bytes,
                size,
            }));
        }
        let (start, size) = response
            .headers()
            .get(reqwest::header::CONTENT_RANGE)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_content_range)
            .ok_or_else(|| {
                SyncError::Protocol("a part came without a valid Content-Range".into())
            })?;
        let mut bytes = Vec::new();
        response
            .take(len)
            .read_to_end(&mut bytes)
            .map_err(|e| SyncError::Network(e.to_string()))?;
        if start != offset || start + bytes.len() as u64 > size {
            return Err(SyncError::Protocol(format!(
                "asked for bytes from {offset}, the server sent {start}..+{} of {size}",
                bytes.len()
            )));
        }
        Ok(Some(Part {
            offset: start,
            bytes,
            size,
        }))
    }

    pub fn blob_get(&self, hash: &str) -> SyncResult<Option<Vec<u8>>> {
        let response = self
            .http
            .get(self.url(&format!("/v1/blobs/{hash}")))
            .bearer_auth(&self.token)
            .send()
            .map_err(network)?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        Ok(Some(
            Self::check(response)?.bytes().map_err(network)?.to_vec(),
        ))
    }
}

/// Part of a file, as [`Client::blob_get_part`] fetched it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub offset: u64,
    pub bytes: Vec<u8>,
    /// The whole file's size.
    pub size: u64,
}

/// `bytes START-END/SIZE` → (START, SIZE).
fn parse_content_range(text: &str) -> Option<(u64, u64)> {
    let (range, size) = text.strip_prefix("bytes ")?.split_once('/')?;
    let (start, end) = range.split_once('-')?;
    let (start, end, size): (u64, u64, u64) =
        (start.parse().ok()?, end.parse().ok()?, size.parse().ok()?);
    (start <= end && end < size).then_some((start, size))
}

/// The phases of a sync, in order: metadata first, files after.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Push,
    Pull,
    Upload,
    Download,
}

/// Where a sync reports how far it got.
pub trait Progress {
    fn update(&mut self, phase: Phase, done: u64, total: u64);

    /// One evidence file's upload: `done` of `total` bytes.
    fn file(&mut self, _hash: &str, _done: u64, _total: u64) {}
}

/// For callers that do not show progress.
pub struct NoProgress;

impl Progress for NoProgress {
    fn update(&mut self, _: Phase, _: u64, _: u64) {}
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncReport {
    pub pushed: u64,
    pub duplicates: u64,
    pub conflicts: u64,
    pub quarantined: u64,
    /// Other jurors' changes this laptop received on sheet files and the server took from it.
    pub relayed: u64,
    pub pulled: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub evidence_uploaded: u64,
    pub evidence_downloaded: u64,
    /// Of the files uploaded, photos' previews.
    pub previews_uploaded: u64,
    /// Originals of photos left for later by the laptop's [`OriginalsPolicy`]: not sent from
    /// here, or not fetched from the server.
    pub originals_held: u64,
    pub clock_skew_ms: i64,
    /// The server had been restored from a backup: this laptop pulled everything again and
    /// sent its own changes and files again.
    pub server_restored: bool,
}

/// Sets up a fresh store from a server: the token says who this juror is, the server gives
/// the package. Remembers the server and token for later syncs.
pub fn join(
    store: &mut Store,
    server: &str,
    token: &str,
    pinned_sha256: Option<&str>,
) -> SyncResult<Whoami> {
    let client = Client::new(server, token, pinned_sha256)?;
    let whoami = client.whoami()?;
    store.import_package(&client.package()?)?;
    if whoami.role != tinjau_core::sync::AccessRole::Organiser {
        store.init_juror(&whoami.juror)?;
        store.register_device(token)?;
    }
    store.set_sync_settings(&SyncSettings {
        server: server.to_string(),
        token: token.to_string(),
        pinned_certificate: pinned_sha256.map(str::to_string),
    })?;
    Ok(whoami)
}

/// One full sync: push, pull, upload evidence, download missing evidence. Whether the server
/// answered is recorded (what "online" shows).
pub fn sync_once(
    store: &mut Store,
    client: &Client,
    progress: &mut dyn Progress,
) -> SyncResult<SyncReport> {
    let policy = store.originals_policy()?;
    sync_with(
        store,
        client,
        progress,
        Originals {
            send: policy,
            fetch: policy,
        },
    )
}

/// When photos' originals go up and come down in one sync.
#[derive(Debug, Clone, Copy)]
struct Originals {
    send: OriginalsPolicy,
    fetch: OriginalsPolicy,
}

/// One full sync that sends every original now, whatever the laptop's policy ("kirim asli
/// sekarang").
pub fn sync_sending_originals(
    store: &mut Store,
    client: &Client,
    progress: &mut dyn Progress,
) -> SyncResult<SyncReport> {
    let fetch = store.originals_policy()?;
    sync_with(
        store,
        client,
        progress,
        Originals {
            send: OriginalsPolicy::Now,
            fetch,
        },
    )
}

fn sync_with(
    store: &mut Store,
    client: &Client,
    progress: &mut dyn Progress,
    originals: Originals,
) -> SyncResult<SyncReport> {
    let result = sync_steps(store, client, progress, originals);
    if client.destination == Destination::Central {
        let answered = !matches!(result, Err(SyncError::Network(_)));
        store.record_contact(answered)?;
    }
    result
}

fn sync_steps(
    store: &mut Store,
    client: &Client,
    progress: &mut dyn Progress,
    originals: Originals,
) -> SyncResult<SyncReport> {
    match sync_round(store, client, progress, originals)? {
        Round::Done(report) => Ok(report),
        // The server was restored from a backup: everything again, once.
        Round::ServerLostChanges => {
            store.lost_changes_at(&client.destination)?;
            match sync_round(store, client, progress, originals)? {
                Round::Done(mut report) => {
                    report.server_restored = true;
                    Ok(report)
                }
                Round::ServerLostChanges => Err(SyncError::Protocol(
                    "the server's log changed again while catching up: sync again".into(),
                )),
            }
        }
    }
}

enum Round {
    Done(SyncReport),
    ServerLostChanges,
}

fn sync_round(
    store: &mut Store,
    client: &Client,
    progress: &mut dyn Progress,
    originals: Originals,
) -> SyncResult<Round> {
    let mut report = SyncReport::default();
    let destination = client.destination.clone();

    // Push: every pending change, in batches, answered one by one. A hub keeps its own record
    // of what it took: the central server is still owed all of it. To the central server go,
    // with this laptop's own changes, those it received by hand (sheet files) or from a visit's
    // hub, relayed: the author's signatures, not this laptop's token, prove who wrote each.
    // Both go in the order they were made (their clocks), so a juror's score taken at the hub
    // reaches the central server before the lead's lock that sealed it.
    let total = match &destination {
        Destination::Central => store.sync_status()?.pending_changes,
        Destination::Hub(hub) => store.hub_pending(hub)?,
    };
    loop {
        let (own, relayed, mut registrations) = match &destination {
            Destination::Central => {
                let own = store.outbox_batch(MAX_BATCH_CHANGES, MAX_BATCH_BYTES)?;
                let (relayed, registrations) =
                    store.relay_batch(MAX_BATCH_CHANGES, MAX_BATCH_BYTES)?;
                (own, relayed, registrations)
            }
            Destination::Hub(hub) => (
                store.hub_outbox_batch(hub, MAX_BATCH_CHANGES, MAX_BATCH_BYTES)?,
                Vec::new(),
                Vec::new(),
            ),
        };
        if own.is_empty() && relayed.is_empty() {
            break;
        }
        let (batch, own_ids) = in_clock_order(own, relayed, MAX_BATCH_CHANGES);
        // The registration binding this device to its juror travels with every push (the
        // server keeps the first; a server restored from a backup gets it again).
        if !own_ids.is_empty() {
            registrations.push(store.register_device(&client.identity_token)?);
        }
        let request = PushRequest {
            device_id: store.device_id(),
            client_time_ms: store.now_millis(),
            changes: batch,
            registrations,
        };
        let (answer, sent, received) = match client.push(&request) {
            Ok(answer) => answer,
            Err(error) => {
                // No answer: the changes stay pending and are sent again (answered
                // "duplicate" where the server had committed them).
                if destination == Destination::Central {
                    store.release_inflight()?;
                }
                return Err(error);
            }
        };
        let (mine, theirs): (Vec<ChangeOutcome>, Vec<ChangeOutcome>) = answer
            .outcomes
            .iter()
            .cloned()
            .partition(|o| own_ids.contains(&o.change_id));
        store.record_push_outcomes_for(&destination, &mine)?;
        store.record_relay_outcomes(&theirs)?;
        for outcome in &mine {
            match outcome.outcome {
                Outcome::Applied => report.pushed += 1,
                Outcome::Duplicate => report.duplicates += 1,
                Outcome::Conflict { .. } => report.conflicts += 1,
                Outcome::Rejected { .. } => report.quarantined += 1,
            }
        }
        report.relayed += theirs
            .iter()
            .filter(|o| matches!(o.outcome, Outcome::Applied | Outcome::Conflict { .. }))
            .count() as u64;
        for refused in theirs
            .iter()
            .filter(|o| matches!(o.outcome, Outcome::Rejected { .. }))
        {
            tracing::warn!(change = %refused.change_id, outcome = ?refused.outcome, "the server refused a relayed change");
        }
        report.bytes_sent += sent;
        report.bytes_received += received;
        report.clock_skew_ms = answer.skew_ms;
        progress.update(
            Phase::Push,
            report.pushed + report.duplicates + report.conflicts + report.quarantined,
            total,
        );
    }

    // Pull: pages applied with their cursor in one transaction each.
    let mut cursor = store.pull_cursor_for(&destination)?;
    let mut mark = store.pull_mark_for(&destination)?;
    loop {
        let (page, received) = client.pull_from(cursor, mark.as_deref(), 1000)?;
        if page.log_changed {
            return Ok(Round::ServerLostChanges);
        }
        mark = page.mark.clone();
        report.bytes_received += received;
        report.pulled += store.apply_pulled_from(&destination, &page)? as u64;
        cursor = page.next;
        progress.update(Phase::Pull, report.pulled, report.pulled);
        if !page.more {
            break;
        }
    }

    // Evidence after all metadata: previews first (ordered so by the store), then documents
    // and originals. Whether photos' originals go now depends on the policy; for "when fast",
    // on the rate of the last chunk this sync sent (a preview, or the original's own first
    // chunk when there was none): a slow link stops at a chunk boundary, and the next sync
    // resumes from there.
    let uploads = store.pending_uploads_for(&destination)?;
    let total_bytes: u64 = uploads.iter().map(|u| u.size).sum();
    let mut done_bytes = 0;
    let mut link = LinkRate::default();
    let mut sizer = ChunkSizer::default();
    for upload in uploads {
        let gated = upload.follows_preview && originals.send != OriginalsPolicy::Now;
        if gated && (originals.send == OriginalsPolicy::Later || link.slow()) {
            report.originals_held += 1;
            continue;
        }
        let mut keep_going = |bytes: u64, took: std::time::Duration| {
            link.measured(bytes, took);
            !(gated && link.slow())
        };
        let sent = upload_file_while(
            client,
            &upload,
            &mut sizer,
            &mut |sent| {
                progress.update(Phase::Upload, done_bytes + sent, total_bytes);
                progress.file(&upload.hash, sent, upload.size);
            },
            &mut keep_going,
        );
        done_bytes += upload.size;
        match sent {
            Ok(Uploaded { sent, complete }) => {
                report.bytes_sent += sent;
                if !complete {
                    report.originals_held += 1;
                    continue;
                }
                // A hub having the file does not mean the central server has it.
                if destination == Destination::Central {
                    store.mark_uploaded(&upload.hash)?;
                }
                report.evidence_uploaded += 1;
                if upload.preview {
                    report.previews_uploaded += 1;
                }
            }
            // The server does not take this file from us (its record was refused): the
            // other files and the next sync go on.
            Err(SyncError::Server {
                status: 403,
                message,
                ..
            }) => {
                tracing::warn!(hash = %upload.hash, %message, "the server refused an evidence file");
            }
            Err(error) => return Err(error),
        }
    }
    // Others' files: previews first; originals by the same policy, judged on how fast this
    // sync's downloads (or, before any, its uploads) went.
    let missing = store.missing_files()?;
    let total = missing.len() as u64;
    let mut down = LinkRate::default();
    let mut sizer = ChunkSizer::default();
    for file in missing {
        if file.follows_preview && originals.fetch != OriginalsPolicy::Now {
            let slow = match down.0 {
                Some(_) => down.slow(),
                None => link.slow(),
            };
            if originals.fetch == OriginalsPolicy::Later || slow {
                report.originals_held += 1;
                continue;
            }
        }
        let fetched = download_file(
            client,
            &file.hash,
            file.size,
            &mut sizer,
            &mut |bytes, took| down.measured(bytes, took),
        )?;
        if let Some(bytes) = fetched {
            report.bytes_received += bytes.len() as u64;
            store.store_evidence_bytes(&file.hash, &bytes)?;
            report.evidence_downloaded += 1;
        }
        progress.update(Phase::Download, report.evidence_downloaded, total);
    }

    if destination == Destination::Central {
        store.record_sync_success(report.clock_skew_ms)?;
    }
    if store.device_copied()? {
        // Everything else went through; this laptop's own changes wait for the juror to
        // continue as a new device, and they must hear it.
        return Err(SyncError::Store(StoreError::DeviceCopied));
    }
    Ok(Round::Done(report))
}

/// This laptop's own changes and relayed ones, merged in the order of their clocks (each list
/// is already in that order), at most `max`; and which of them are this laptop's own. What is
/// left out goes in the next batch.
fn in_clock_order(
    own: Vec<ChangeEntry>,
    relayed: Vec<ChangeEntry>,
    max: usize,
) -> (Vec<ChangeEntry>, std::collections::HashSet<uuid::Uuid>) {
    let own_ids: std::collections::HashSet<uuid::Uuid> = own.iter().map(|e| e.change_id).collect();
    let mut all: Vec<ChangeEntry> = own.into_iter().chain(relayed).collect();
    // Stable: one device's changes keep their chain order.
    all.sort_by_key(|e| e.hlc);
    all.truncate(max.max(1));
    let own_ids = all
        .iter()
        .map(|e| e.change_id)
        .filter(|id| own_ids.contains(id))
        .collect();
    (all, own_ids)
}

/// The upload rate of the last chunk sent, for [`OriginalsPolicy::WhenFast`].
#[derive(Default)]
struct LinkRate(Option<f64>);

impl LinkRate {
    /// Chunks this small say more about the round trip than about the link.
    const MIN_SAMPLE_BYTES: u64 = 64 * 1024;

    fn measured(&mut self, bytes: u64, took: std::time::Duration) {
        if bytes >= Self::MIN_SAMPLE_BYTES {
            self.0 = Some(bytes as f64 / took.as_secs_f64().max(1e-6));
        }
    }

    fn slow(&self) -> bool {
        self.0
            .is_some_and(|rate| rate < OriginalsPolicy::FAST_LINK_BYTES_PER_SECOND as f64)
    }
}

/// What one file's upload did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Uploaded {
    /// Bytes sent by this call.
    pub sent: u64,
    /// The server holds the whole file, verified.
    pub complete: bool,
}

/// How many chunks in a row may be lost to a dropped link before a transfer gives up (and
/// the next sync resumes it).
const LOST_CHUNKS: u32 = 4;

/// Uploads one file from where the server's copy ends; returns the bytes sent. A chunk the
/// server refuses as corrupt is sent again (up to three times).
pub fn upload_file(
    client: &Client,
    upload: &tinjau_store::PendingUpload,
    sent: &mut dyn FnMut(u64),
) -> SyncResult<u64> {
    upload_file_while(
        client,
        upload,
        &mut ChunkSizer::default(),
        sent,
        &mut |_, _| true,
    )
    .map(|uploaded| uploaded.sent)
}

/// Fetches one file of `size` bytes (as its record names it) in parts sized by `sizer`, each
/// short enough to cross a poor link between two cuts; a part lost to a dropped link is asked
/// for again, from where the last one ended. `measured` hears each part's size and how long it
/// took. `None`: the server has no such file for this token. A server that claims another size
/// is not believed (the file's hash is checked by the store as well).
pub fn download_file(
    client: &Client,
    hash: &str,
    size: u64,
    sizer: &mut ChunkSizer,
    measured: &mut dyn FnMut(u64, Duration),
) -> SyncResult<Option<Vec<u8>>> {
    if size == 0 {
        // No range starts inside an empty file.
        return client.blob_get(hash);
    }
    // Grown as parts arrive: the size is another laptop's word until the server's agrees.
    let mut bytes = Vec::new();
    let mut lost = 0;
    loop {
        let started = std::time::Instant::now();
        let part = match client.blob_get_part(hash, bytes.len() as u64, sizer.size() as u64) {
            Ok(Some(part)) => part,
            Ok(None) => return Ok(None),
            Err(SyncError::Network(message)) if lost < LOST_CHUNKS => {
                tracing::debug!(%hash, %message, "a part was lost on the way; asking again");
                lost += 1;
                sizer.lost();
                continue;
            }
            Err(error) => return Err(error),
        };
        lost = 0;
        if part.size != size {
            return Err(SyncError::Protocol(format!(
                "the server says {hash} has {} bytes; its record says {size}",
                part.size
            )));
        }
        if part.bytes.is_empty() && size > 0 {
            return Err(SyncError::Protocol(format!(
                "the server sent no bytes of {hash} from {}",
                bytes.len()
            )));
        }
        let took = started.elapsed();
        sizer.measured(part.bytes.len() as u64, took);
        measured(part.bytes.len() as u64, took);
        if part.offset == 0 && part.bytes.len() as u64 == part.size {
            return Ok(Some(part.bytes));
        }
        bytes.extend_from_slice(&part.bytes);
        if bytes.len() as u64 >= part.size {
            return Ok(Some(bytes));
        }
    }
}

/// [`upload_file`], in chunks sized by `sizer`, asking `keep_going` after each chunk (its size
/// and how long it took) whether to send the next; a file left unfinished resumes from there
/// at the next call. A chunk lost to a dropped link is sent again from the server's offset.
pub fn upload_file_while(
    client: &Client,
    upload: &tinjau_store::PendingUpload,
    sizer: &mut ChunkSizer,
    sent: &mut dyn FnMut(u64),
    keep_going: &mut dyn FnMut(u64, std::time::Duration) -> bool,
) -> SyncResult<Uploaded> {
    let mut offset = match client.blob_status(&upload.hash)? {
        Some(status) if status.complete => {
            return Ok(Uploaded {
                sent: 0,
                complete: true,
            });
        }
        Some(status) => status.received,
        None => 0,
    };
    let mut file = upload
        .open()
        .map_err(|e| SyncError::Setup(format!("reading {}: {e}", upload.path.display())))?;
    let mut buffer = vec![0u8; CHUNK_BYTES];
    let mut bytes_sent = 0;
    let mut attempts = 0;
    let mut lost = 0;
    loop {
        let filled = file
            .read_at(offset, &mut buffer[..sizer.size().min(CHUNK_BYTES)])
            .map_err(|e| SyncError::Setup(format!("reading {}: {e}", upload.path.display())))?;
        let chunk = &buffer[..filled];
        let started = std::time::Instant::now();
        match client.blob_patch(&upload.hash, upload.size, offset, chunk) {
            Ok(status) => {
                bytes_sent += chunk.len() as u64;
                offset = status.received;
                sent(offset);
                let took = started.elapsed();
                sizer.measured(chunk.len() as u64, took);
                let go_on = keep_going(chunk.len() as u64, took);
                if status.complete || !go_on {
                    return Ok(Uploaded {
                        sent: bytes_sent,
                        complete: status.complete,
                    });
                }
                attempts = 0;
                lost = 0;
            }
            Err(SyncError::Network(message)) if lost < LOST_CHUNKS => {
                // The link dropped with the chunk on it: the server keeps what it had; ask
                // where that ends (the ask may fail too, and then this sync does).
                tracing::debug!(hash = %upload.hash, %message, "a chunk was lost on the way");
                bytes_sent += chunk.len() as u64;
                lost += 1;
                sizer.lost();
                match client.blob_status(&upload.hash)? {
                    // The chunk got there (the answer did not): the file is whole.
                    Some(status) if status.complete => {
                        return Ok(Uploaded {
                            sent: bytes_sent,
                            complete: true,
                        });
                    }
                    status => offset = status.map_or(0, |s| s.received),
                }
            }
            Err(SyncError::Server { code, .. }) if code == "checksum_mismatch" && attempts < 3 => {
                attempts += 1;
            }
            Err(SyncError::Server { code, .. }) if code == "offset_mismatch" && attempts < 3 => {
                // Another attempt got further (or less far): continue from the server's offset.
                attempts += 1;
                offset = client.blob_status(&upload.hash)?.map_or(0, |s| s.received);
            }
            Err(error) => return Err(error),
        }
    }
}

/// Whether `server` is a visit's hub (it answers `/v1/hub`); a central server answers 404.
pub fn is_hub(server: &str, pin: &str) -> SyncResult<bool> {
    let client = Client::new(server, "", Some(pin))?;
    let response = client
        .http
        .get(client.url("/v1/hub"))
        .send()
        .map_err(network)?;
    match response.status() {
        StatusCode::NOT_FOUND => Ok(false),
        _ => Client::check(response).map(|_| true),
    }
}

/// A client from a store's remembered settings.
pub fn client_for(store: &Store) -> SyncResult<Client> {
    let settings = store.sync_settings()?.ok_or_else(|| {
        SyncError::Setup(
            "this store has not synced yet: run `tinjau sync --server URL --token TOKEN`".into(),
        )
    })?;
    Client::new(
        &settings.server,
        &settings.token,
        settings.pinned_certificate.as_deref(),
    )
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;

    use super::*;

    /// A server that answers every request with `answer`, for as many requests as come.
    fn answering(answer: &'static str) -> String {
        serving(move |_| Some(answer.to_string()))
    }

    /// A server that reads each request whole and answers by `answer(method)`; `None` closes
    /// the connection without a word (the link dropped the answer).
    fn serving(answer: impl Fn(&str) -> Option<String> + Send + 'static) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let (mut line, mut method, mut length) = (String::new(), String::new(), 0usize);
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    if method.is_empty() {
                        method = line.split(' ').next().unwrap_or("").to_string();
                    }
                    if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = value.trim().parse().unwrap_or(0);
                    }
                    line.clear();
                }
                let mut body = vec![0; length];
                let _ = std::io::Read::read_exact(&mut reader, &mut body);
                match answer(&method) {
                    Some(text) => {
                        let _ = stream.write_all(text.as_bytes());
                    }
                    None => drop(stream),
                }
            }
        });
        url
    }

    /// The last chunk got there and the link dropped its answer: the client asks, hears the
    /// file is whole, and reports it so (no empty chunk sent past the end, no error).
    #[test]
    fn a_last_chunk_whose_answer_was_lost_is_found_complete() {
        static HEADS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let url = serving(|method| {
            match method {
            // First: nothing there yet. After the chunk: the file is whole.
            "HEAD" if HEADS.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 => {
                Some("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n".into())
            }
            "HEAD" => Some(
                "HTTP/1.1 200 OK\r\nupload-length: 10\r\nupload-offset: 10\r\nupload-complete: true\r\ncontent-length: 0\r\n\r\n"
                    .into(),
            ),
            // The chunk arrives; its answer is lost.
            _ => None,
        }
        });
        let dir = std::env::temp_dir().join(format!("tinjau-sync-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("file");
        std::fs::write(&path, b"0123456789").unwrap();
        let upload = tinjau_store::PendingUpload {
            hash: "ab".into(),
            size: 10,
            path,
            preview: false,
            follows_preview: false,
            key: None,
        };
        let uploaded = upload_file_while(
            &client(&url),
            &upload,
            &mut ChunkSizer::default(),
            &mut |_| {},
            &mut |_, _| true,
        );
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            uploaded.unwrap(),
            Uploaded {
                sent: 10,
                complete: true
            }
        );
        assert_eq!(HEADS.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    fn client(url: &str) -> Client {
        Client::new(url, "token", None).unwrap()
    }

    #[test]
    fn a_server_that_sends_empty_parts_does_not_keep_a_download_going() {
        let url = answering(
            "HTTP/1.1 206 Partial Content\r\ncontent-range: bytes 0-9/10\r\ncontent-length: 0\r\n\r\n",
        );
        let result = download_file(
            &client(&url),
            "ab",
            10,
            &mut ChunkSizer::default(),
            &mut |_, _| {},
        );
        assert!(matches!(result, Err(SyncError::Protocol(_))), "{result:?}");
    }

    #[test]
    fn a_part_from_elsewhere_or_beyond_the_file_is_refused() {
        for range in [
            "bytes 5-9/10",
            "bytes 0-19/10",
            "bytes 9-3/10",
            "items 0-9/10",
            "bytes 0-9/x",
        ] {
            let answer: &'static str = Box::leak(
                format!(
                    "HTTP/1.1 206 Partial Content\r\ncontent-range: {range}\r\ncontent-length: 10\r\n\r\n0123456789"
                )
                .into_boxed_str(),
            );
            let url = answering(answer);
            let result = client(&url).blob_get_part("ab", 0, 10);
            assert!(
                matches!(result, Err(SyncError::Protocol(_))),
                "{range}: {result:?}"
            );
        }
    }

    #[test]
    fn a_server_without_ranges_sends_the_whole_file_which_is_taken() {
        let url = answering("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n0123456789");
        let mut sizer = ChunkSizer::default();
        let result = download_file(&client(&url), "ab", 10, &mut sizer, &mut |_, _| {});
        assert_eq!(result.unwrap().unwrap(), b"0123456789");
        let other = download_file(&client(&url), "ab", 11, &mut sizer, &mut |_, _| {});
        assert!(matches!(other, Err(SyncError::Protocol(_))), "{other:?}");
    }
}
