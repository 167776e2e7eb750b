//! Storage behind one interface, with two real backends: SQLite (embedded, one process) and
//! PostgreSQL (several stateless instances). The same schema, the same planning, the same tests.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use tinjau_core::Package;
use tinjau_core::chain::ChangeEntry;
use tinjau_core::change::{FieldValue, Refusal, RefusalCode, clock_limit};
use tinjau_core::hub::HubSeed;
use tinjau_core::signing::{PublicKey, Registry, SignedRegistration};
use tinjau_core::sync::{
    AccessRole, ConflictView, DeviceChain, EvidenceRef, FieldKey, FieldState, Known, Link,
    PullResponse, PushContext, PushPlan, PushRequest, PushResponse, keys_to_gather, plan_push,
    positions_to_gather,
};
use uuid::Uuid;

use crate::postgres::{Access, PostgresBackend};
use crate::sqlite::SqliteBackend;
use crate::store;

pub use crate::store::{BackendError, BackendResult};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub competition: String,
    pub juror: String,
    pub role: AccessRole,
    pub revoked: bool,
    /// The bearer token presented with this request, when it came with one (not a console
    /// session): its hash and the juror identity key it derives (`docs/signing.md`).
    pub presented: Option<Presented>,
}

/// A token as stored when it is issued: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IssuedToken {
    pub juror: String,
    pub role: AccessRole,
    pub hash: String,
    pub identity: PublicKey,
}

/// What a request's bearer token proves beyond its juror: the token's hash (the row it is) and
/// the identity public key derived from the token's text, which only its holder can derive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presented {
    pub hash: String,
    pub identity: PublicKey,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobStatus {
    pub size: u64,
    pub received: u64,
    pub complete: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum PublishOutcome {
    Published {
        competition: String,
        revision: i64,
    },
    Updated {
        competition: String,
        from: i64,
        to: i64,
    },
    Unchanged {
        competition: String,
        revision: i64,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuarantineView {
    pub change_id: Uuid,
    pub author: String,
    pub reason: String,
    pub received_at: String,
    pub entry: ChangeEntry,
}

pub use tinjau_core::console::RevisionRecord;

/// A token as the console lists it: whose, which role, when issued and revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRow {
    pub juror: String,
    pub role: AccessRole,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

/// A console sign-in to store: hashes and secrets made by the caller (randomness passed in).
#[derive(Debug, Clone)]
pub struct NewSession {
    pub hash: String,
    pub token_hash: String,
    pub csrf: String,
    pub expires_at: String,
}

/// A stored console sign-in with the token behind it.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub auth: TokenRecord,
    pub csrf: String,
    pub expires_at: String,
}

/// Per-juror facts only the server knows.
#[derive(Debug, Clone, Default)]
pub struct ConsoleFacts {
    /// Juror → the last contact of any of their devices (RFC 3339).
    pub last_seen: HashMap<String, String>,
    /// (juror, visit) → evidence files recorded but not yet completely uploaded.
    pub pending_evidence: HashMap<(String, String), u64>,
    /// Juror → open conflicts on their records.
    pub open_conflicts: HashMap<String, u64>,
    /// Juror → changes of theirs the server quarantined.
    pub quarantined: HashMap<String, u64>,
}

pub enum Backend {
    Sqlite(SqliteBackend),
    Postgres(PostgresBackend),
}

/// Runs one `store` function in one transaction on whichever backend this is, committing
/// when it succeeds. `$tx` names the transaction in `$body`; what `$body` uses must be owned
/// (SQLite runs it on the blocking thread pool).
macro_rules! transact {
    ($self:ident, $access:ident, |$tx:ident| $body:expr) => {
        match $self {
            Backend::Sqlite(backend) => {
                backend
                    .transact(Access::$access == Access::Write, move |$tx| {
                        SqliteBackend::finish($body)
                    })
                    .await
            }
            Backend::Postgres(backend) => {
                let mut client = backend.client().await?;
                let mut open = PostgresBackend::begin(&mut client, Access::$access).await?;
                let output = {
                    let $tx = &mut open;
                    $body.await?
                };
                open.0.commit().await?;
                Ok(output)
            }
        }
    };
}

impl Backend {
    /// Opens the embedded SQLite database in `data_dir`.
    pub fn sqlite(data_dir: &std::path::Path) -> BackendResult<Backend> {
        Ok(Backend::Sqlite(SqliteBackend::open(data_dir)?))
    }

    /// Connects to PostgreSQL (`postgres://…`) and applies the schema if it is missing.
    pub async fn postgres(url: &str) -> BackendResult<Backend> {
        Ok(Backend::Postgres(PostgresBackend::connect(url).await?))
    }

    pub async fn publish(
        &self,
        package: &Package,
        now: DateTime<Utc>,
    ) -> BackendResult<PublishOutcome> {
        let text = serde_json::to_string(package).expect("a package serialises");
        let package = package.clone();
        let at = timestamp(now);
        transact!(self, Write, |tx| store::publish(tx, &package, &text, &at))
    }

    /// A consistent copy of the whole database at `out` (SQLite); PostgreSQL is backed up with
    /// its own tools (`pg_dump`, see docs/operations.md). Returns the copy's size.
    pub async fn backup(&self, out: &std::path::Path) -> BackendResult<u64> {
        match self {
            Backend::Sqlite(backend) => backend.backup(out).await,
            Backend::Postgres(_) => Err(BackendError::Invalid(
                "a PostgreSQL database is backed up with pg_dump (see docs/operations.md)".into(),
            )),
        }
    }

    /// Every revision of `competition` published, newest first.
    pub async fn revisions(&self, competition: &str) -> BackendResult<Vec<RevisionRecord>> {
        let competition = competition.to_string();
        transact!(self, Read, |tx| store::revisions(tx, &competition))
    }

    /// Every token of `competition` (never the token itself: it is not kept).
    pub async fn tokens(&self, competition: &str) -> BackendResult<Vec<TokenRow>> {
        let competition = competition.to_string();
        transact!(self, Read, |tx| store::tokens(tx, &competition))
    }

    /// Revokes every live token of a juror of `competition`; how many there were.
    pub async fn revoke_juror(
        &self,
        competition: &str,
        juror: &str,
        now: DateTime<Utc>,
    ) -> BackendResult<u64> {
        let (competition, juror, at) = (competition.to_string(), juror.to_string(), timestamp(now));
        transact!(self, Write, |tx| store::revoke_juror(
            tx,
            &competition,
            &juror,
            &at
        ))
    }

    pub async fn open_session(
        &self,
        session: &NewSession,
        now: DateTime<Utc>,
    ) -> BackendResult<()> {
        let (session, at) = (session.clone(), timestamp(now));
        transact!(self, Write, |tx| store::insert_session(tx, &session, &at))
    }

    pub async fn session(&self, hash: &str) -> BackendResult<Option<SessionRecord>> {
        let hash = hash.to_string();
        transact!(self, Read, |tx| store::session(tx, &hash))
    }

    pub async fn close_session(&self, hash: &str) -> BackendResult<()> {
        let hash = hash.to_string();
        transact!(self, Write, |tx| store::delete_session(tx, &hash))
    }

    pub async fn console_facts(&self, competition: &str) -> BackendResult<ConsoleFacts> {
        let competition = competition.to_string();
        transact!(self, Read, |tx| store::console_facts(tx, &competition))
    }

    /// Stores a new token's hash and the juror identity public key it derives (the token
    /// itself is not kept); returns the competition it is for.
    pub async fn issue_token(
        &self,
        competition: Option<&str>,
        juror: &str,
        role: AccessRole,
        token: &str,
        now: DateTime<Utc>,
    ) -> BackendResult<String> {
        let competition = self.competition(competition).await?;
        self.issue_tokens(
            &competition,
            &[(juror.to_string(), role, token.to_string())],
            now,
        )
        .await?;
        Ok(competition)
    }

    /// Stores several new tokens of `competition` (juror, role, token) in one transaction: all
    /// of them or none, each checked against the package first. Of each token only its hash
    /// and its identity public key are kept.
    pub async fn issue_tokens(
        &self,
        competition: &str,
        tokens: &[(String, AccessRole, String)],
        now: DateTime<Utc>,
    ) -> BackendResult<()> {
        let package = self.package(competition).await?;
        let mut issued = Vec::with_capacity(tokens.len());
        for (juror, role, token) in tokens {
            tinjau_core::sync::role_allowed(&package, juror, *role)
                .map_err(BackendError::Invalid)?;
            let identity =
                tinjau_core::signing::JurorIdentity::derive(token, competition, juror).public();
            issued.push(IssuedToken {
                juror: juror.clone(),
                role: *role,
                hash: crate::token_hash(token),
                identity,
            });
        }
        let (space, at) = (competition.to_string(), timestamp(now));
        transact!(self, Write, |tx| store::insert_tokens(
            tx, &space, &issued, &at
        ))
    }

    /// The identity keys the server holds for `juror` of `competition`.
    pub async fn identity_keys(
        &self,
        competition: &str,
        juror: &str,
    ) -> BackendResult<Vec<PublicKey>> {
        let competition = competition.to_string();
        let keys = transact!(self, Read, |tx| store::identity_keys(tx, &competition))?;
        Ok(keys
            .into_iter()
            .filter(|(j, _)| j == juror)
            .map(|(_, key)| key)
            .collect())
    }

    /// Opens a session at a visit's hub for a juror who proved their identity key: the
    /// session's hash is stored as a token of `juror` that carries the proven key.
    pub async fn open_hub_session(
        &self,
        competition: &str,
        juror: &str,
        role: AccessRole,
        session_hash: &str,
        identity: PublicKey,
        now: DateTime<Utc>,
    ) -> BackendResult<()> {
        let issued = [IssuedToken {
            juror: juror.to_string(),
            role,
            hash: session_hash.to_string(),
            identity,
        }];
        let (space, at) = (competition.to_string(), timestamp(now));
        transact!(self, Write, |tx| store::insert_tokens(
            tx, &space, &issued, &at
        ))
    }

    /// Fills a visit's hub from the lead's laptop (`docs/hub.md`): the package, the jurors'
    /// identity keys (held as revoked tokens nobody can present), the device registrations that
    /// verify against them, and the revocations. Safe to run again: what is there stays.
    pub async fn seed_hub(&self, seed: &HubSeed, now: DateTime<Utc>) -> BackendResult<()> {
        self.publish(&seed.package, now).await?;
        let space = seed.package.competition.id.clone();
        let mut registry = Registry::new(&space);
        for key in &seed.identities {
            tinjau_core::sync::role_allowed(&seed.package, &key.juror, AccessRole::Juror)
                .map_err(BackendError::Invalid)?;
            registry.trust(&key.juror, key.public_key);
        }
        let registrations: Vec<SignedRegistration> = seed
            .registrations
            .iter()
            .filter(|r| matches!(registry.admit(r), Ok(true)))
            .cloned()
            .collect();
        let (seed, at) = (seed.clone(), timestamp(now));
        transact!(self, Write, |tx| store::seed_hub(
            tx,
            &space,
            &seed,
            &registrations,
            &at
        ))
    }

    /// The competition named, or the only one published.
    pub async fn competition(&self, competition: Option<&str>) -> BackendResult<String> {
        Ok(match competition {
            Some(c) => c.to_string(),
            None => {
                let all = transact!(self, Read, |tx| store::competitions(tx))?;
                match all.as_slice() {
                    [only] => only.clone(),
                    [] => return Err(BackendError::NotFound(
                        "no competition published yet: run `tinjau-server publish PACKAGE.json`"
                            .into(),
                    )),
                    _ => {
                        return Err(BackendError::Invalid(format!(
                            "several competitions are published ({}): pass --competition",
                            all.join(", ")
                        )));
                    }
                }
            }
        })
    }

    /// Withdraws a token; `false` when no such token exists.
    pub async fn revoke_token(&self, hash: &str, now: DateTime<Utc>) -> BackendResult<bool> {
        let (hash, at) = (hash.to_string(), timestamp(now));
        transact!(self, Write, |tx| store::revoke_token(tx, &hash, &at))
    }

    /// Revokes a device of `competition` from chain position `from_seq` on (by default, the
    /// position after the last one the server holds): its later changes are refused here and
    /// by every laptop that pulls. Returns the position it is revoked from.
    pub async fn revoke_device(
        &self,
        competition: Option<&str>,
        device: Uuid,
        from_seq: Option<u64>,
        now: DateTime<Utc>,
    ) -> BackendResult<(String, u64)> {
        let competition = self.competition(competition).await?;
        let (space, at) = (competition.clone(), timestamp(now));
        let from = transact!(self, Write, |tx| store::revoke_device(
            tx, &space, device, from_seq, &at
        ))?;
        Ok((competition, from))
    }

    pub async fn authenticate(&self, hash: &str) -> BackendResult<Option<TokenRecord>> {
        let hash = hash.to_string();
        transact!(self, Read, |tx| store::authenticate(tx, &hash))
    }

    pub async fn package_text(&self, competition: &str) -> BackendResult<String> {
        let competition = competition.to_string();
        transact!(self, Read, |tx| store::package_text(tx, &competition))
    }

    pub async fn package(&self, competition: &str) -> BackendResult<Package> {
        let text = self.package_text(competition).await?;
        serde_json::from_str(&text).map_err(|e| BackendError::Corrupt(format!("package: {e}")))
    }

    pub async fn push(
        &self,
        auth: &TokenRecord,
        request: PushRequest,
        now: DateTime<Utc>,
    ) -> BackendResult<PushResponse> {
        let skew_ms = now.timestamp_millis() - request.client_time_ms;
        let auth = auth.clone();
        let planned = request;
        let outcomes = transact!(self, Write, |tx| store::push(
            tx, &auth, &planned, now, skew_ms
        ))?;
        Ok(PushResponse {
            outcomes,
            server_time_ms: now.timestamp_millis(),
            skew_ms,
        })
    }

    /// A page of the log after `after`. With the `mark` the client was given for `after`, a log
    /// that no longer holds what the client saw there answers `log_changed`.
    pub async fn pull(
        &self,
        auth: &TokenRecord,
        after: u64,
        mark: Option<&str>,
        limit: u32,
    ) -> BackendResult<PullResponse> {
        let (auth, mark) = (auth.clone(), mark.map(str::to_string));
        transact!(self, Read, |tx| store::pull(
            tx,
            &auth,
            after,
            mark.as_deref(),
            limit
        ))
    }

    pub async fn quarantine(&self, competition: &str) -> BackendResult<Vec<QuarantineView>> {
        let competition = competition.to_string();
        transact!(self, Read, |tx| store::quarantine(tx, &competition))
    }

    pub async fn blob_status(&self, hash: &str) -> BackendResult<Option<BlobStatus>> {
        let hash = hash.to_string();
        transact!(self, Read, |tx| store::blob_status(tx, &hash))
    }

    /// Which of `hashes` are completely uploaded, read in one transaction.
    pub async fn complete_blobs(&self, hashes: &[String]) -> BackendResult<HashSet<String>> {
        let hashes = hashes.to_vec();
        transact!(self, Read, |tx| store::complete_blobs(tx, &hashes))
    }

    /// The records of `competition` that reference the file: (owner, visit, size).
    pub async fn evidence_refs(
        &self,
        competition: &str,
        hash: &str,
    ) -> BackendResult<Vec<(String, String, i64)>> {
        let (competition, hash) = (competition.to_string(), hash.to_string());
        transact!(self, Read, |tx| store::evidence_refs(
            tx,
            &competition,
            &hash
        ))
    }

    /// Whether `auth` may see the file: a record they may see references it.
    pub async fn may_see_blob(&self, auth: &TokenRecord, hash: &str) -> BackendResult<bool> {
        let refs = self.evidence_refs(&auth.competition, hash).await?;
        if refs.is_empty() {
            return Ok(false);
        }
        let package = self.package(&auth.competition).await?;
        Ok(may_see_evidence(&package, auth, &refs))
    }

    /// Checks that `auth` may upload the file at `size` bytes.
    pub async fn may_upload_blob(
        &self,
        auth: &TokenRecord,
        hash: &str,
        size: u64,
    ) -> BackendResult<()> {
        let refs = self.evidence_refs(&auth.competition, hash).await?;
        check_upload(auth, hash, size, &refs)
    }

    pub async fn blob_append(
        &self,
        hash: &str,
        size: u64,
        offset: u64,
        data: &[u8],
        now: DateTime<Utc>,
    ) -> BackendResult<BlobStatus> {
        let (name, data, at) = (hash.to_string(), data.to_vec(), timestamp(now));
        let appended = transact!(self, Write, |tx| store::blob_append(
            tx, &name, size, offset, &data, &at
        ))?;
        match appended {
            store::Appended::Status(status) => Ok(status),
            store::Appended::Discarded => Err(store::discarded(hash)),
        }
    }

    pub async fn blob_read(&self, hash: &str) -> BackendResult<Option<Vec<u8>>> {
        let hash = hash.to_string();
        transact!(self, Read, |tx| store::blob_read(tx, &hash))
    }

    /// Bytes `start..=end` of a complete file (cut at its end), and its size.
    pub async fn blob_read_range(
        &self,
        hash: &str,
        start: u64,
        end: u64,
    ) -> BackendResult<Option<(Vec<u8>, u64)>> {
        let hash = hash.to_string();
        transact!(self, Read, |tx| store::blob_read_range(
            tx, &hash, start, end
        ))
    }
}

/// The server's schema migrations, in order (one schema for both backends).
pub(crate) const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_hostile_laptops.sql"),
    include_str!("../migrations/0003_console.sql"),
    include_str!("../migrations/0004_signed_changes.sql"),
    include_str!("../migrations/0005_device_revocation.sql"),
];

/// The schema version that introduced `evidence_ref` and `device_entry`: a database upgraded
/// past it has them filled from its log once ([`backfill_of_log`]).
pub(crate) const BACKFILL_SCHEMA: usize = 2;

/// What a database from before device chains and evidence scope holds of them, read from its
/// logged and quarantined entries. Rows: (competition, entry JSON, logged).
pub(crate) struct Backfill {
    pub evidence: Vec<(String, EvidenceRef)>,
    /// (competition, device, seq, link)
    pub links: Vec<(String, Uuid, u64, Link)>,
}

pub(crate) fn backfill_of_log(rows: impl IntoIterator<Item = (String, String, bool)>) -> Backfill {
    let mut backfill = Backfill {
        evidence: Vec::new(),
        links: Vec::new(),
    };
    for (competition, json, logged) in rows {
        let Ok(entry) = serde_json::from_str::<ChangeEntry>(&json) else {
            continue;
        };
        if entry.compute_hash() != entry.hash {
            continue;
        }
        backfill.links.push((
            competition.clone(),
            entry.device_id,
            entry.seq,
            Link {
                hash: entry.hash.clone(),
                prev_hash: entry.prev_hash.clone(),
            },
        ));
        if !logged {
            continue;
        }
        if let Ok(FieldValue::Evidence(record)) =
            FieldValue::decode(entry.entity, &entry.field, &entry.value)
        {
            for reference in tinjau_core::sync::evidence_refs(&record, &entry) {
                backfill.evidence.push((competition.clone(), reference));
            }
        }
    }
    backfill
}

/// What publishing `revision` does given the stored (revision, package), if any.
pub(crate) fn publish_outcome(
    competition: &str,
    revision: i64,
    text: &str,
    existing: Option<(i64, String)>,
) -> BackendResult<PublishOutcome> {
    use tinjau_core::package::{RevisionRefusal, RevisionStep, revision_step};
    let competition = competition.to_string();
    match revision_step(
        existing.as_ref().map(|(r, p)| (*r, p.as_str())),
        revision,
        text,
    ) {
        Ok(RevisionStep::New) => Ok(PublishOutcome::Published {
            competition,
            revision,
        }),
        Ok(RevisionStep::Unchanged) => Ok(PublishOutcome::Unchanged {
            competition,
            revision,
        }),
        Ok(RevisionStep::Update { from }) => Ok(PublishOutcome::Updated {
            competition,
            from,
            to: revision,
        }),
        Err(RevisionRefusal::Older { have }) => Err(BackendError::Invalid(format!(
            "revision {revision} is older than the published revision {have}"
        ))),
        Err(RevisionRefusal::ContentChanged) => Err(BackendError::Invalid(format!(
            "revision {revision} is already published with different content; raise the revision"
        ))),
    }
}

pub(crate) fn timestamp(now: DateTime<Utc>) -> String {
    now.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// What a push needs to read before planning (inside its transaction).
pub(crate) struct Gathered {
    pub package: Package,
    pub registry: Registry,
    pub known: HashMap<Uuid, Known>,
    pub states: HashMap<FieldKey, FieldState>,
    pub conflicts: HashMap<Uuid, ConflictView>,
    pub locked: HashSet<String>,
    pub devices: HashMap<Uuid, DeviceChain>,
}

/// The lowest and highest chain positions to gather, per device.
pub(crate) type Positions = BTreeMap<Uuid, (u64, u64)>;

/// The change ids, field keys and device chain positions a push touches.
pub(crate) fn touched(
    package: &Package,
    request: &PushRequest,
) -> (Vec<Uuid>, Vec<FieldKey>, Positions) {
    let ids = request.changes.iter().map(|c| c.change_id).collect();
    let keys = keys_to_gather(package, &request.changes);
    (ids, keys, positions_to_gather(&request.changes))
}

/// Positions as the database stores them (a BIGINT).
pub(crate) fn position(seq: u64) -> i64 {
    seq.min(i64::MAX as u64) as i64
}

pub(crate) fn plan(gathered: &Gathered, request: &PushRequest, now: DateTime<Utc>) -> PushPlan {
    plan_push(
        &PushContext {
            package: &gathered.package,
            clock_limit_millis: clock_limit(now.timestamp_millis().max(0) as u64),
            devices: &gathered.devices,
            locked_visits: &gathered.locked,
            known: &gathered.known,
            states: &gathered.states,
            conflicts: &gathered.conflicts,
            registry: &gathered.registry,
        },
        &request.changes,
    )
}

/// A refusal as stored (message and code) and read back.
pub(crate) fn refusal_code_text(code: RefusalCode) -> String {
    serde_json::to_value(code)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "refused".into())
}

pub(crate) fn stored_refusal(message: String, code: &str) -> Refusal {
    Refusal::new(
        serde_json::from_value(serde_json::Value::String(code.to_string())).unwrap_or_default(),
        message,
    )
}

pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(
    what: &str,
    text: &str,
) -> BackendResult<T> {
    serde_json::from_str(text).map_err(|e| BackendError::Corrupt(format!("{what}: {e}")))
}

pub(crate) fn parse_role(text: &str) -> BackendResult<AccessRole> {
    AccessRole::parse(text).ok_or_else(|| BackendError::Corrupt(format!("token role \"{text}\"")))
}

/// What appending a chunk does, given the blob's current status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AppendStep {
    /// The file is already complete: nothing to write.
    Done(BlobStatus),
    /// Write the chunk; `reset` first drops a partial upload of another length (left by an
    /// older server that let anyone start one): the owner's announced length wins.
    Write { reset: bool },
}

/// Validates an appended chunk against the blob's current status. Only the file's owner at
/// its announced size gets here ([`check_upload`]).
pub(crate) fn plan_append(
    hash: &str,
    status: Option<BlobStatus>,
    size: u64,
    offset: u64,
    len: usize,
) -> BackendResult<AppendStep> {
    let resume = |have: u64| {
        BackendError::Conflict(format!(
            "the server has {have} bytes of {hash}, not {offset}: resume from there"
        ))
    };
    let reset = match status {
        Some(status) if status.complete => return Ok(AppendStep::Done(status)),
        Some(status) if status.size != size => {
            if offset != 0 {
                return Err(resume(0));
            }
            true
        }
        Some(status) if status.received != offset => return Err(resume(status.received)),
        Some(_) => false,
        None if offset != 0 => return Err(resume(0)),
        None => false,
    };
    if offset.checked_add(len as u64).is_none_or(|end| end > size) {
        return Err(BackendError::Invalid(format!(
            "the chunk runs past the announced length {size}"
        )));
    }
    Ok(AppendStep::Write { reset })
}

/// The statements both backends run. SQLite reads `$1` as a *named* parameter and numbers
/// named parameters by first appearance, so `$1, $2, …` must first appear in that order for
/// the same positional arguments to mean the same thing on both (a test checks every one).
pub(crate) mod sql {
    pub const PACKAGE: &str = "SELECT package FROM competition WHERE id = $1";
    pub const COMPETITIONS: &str = "SELECT id FROM competition ORDER BY id";
    pub const EXISTING: &str = "SELECT revision, package FROM competition WHERE id = $1";
    pub const INSERT_COMPETITION: &str =
        "INSERT INTO competition (id, revision, package, counter) VALUES ($1, $2, $3, 0)";
    pub const UPDATE_COMPETITION: &str =
        "UPDATE competition SET revision = $1, package = $2 WHERE id = $3";
    pub const INSERT_TOKEN: &str = "INSERT INTO token (hash, competition, juror, role, created_at, identity_key) VALUES ($1, $2, $3, $4, $5, $6)";
    pub const REVOKE_TOKEN: &str =
        "UPDATE token SET revoked_at = $1 WHERE hash = $2 AND revoked_at IS NULL";
    pub const TOKEN_EXISTS: &str = "SELECT COUNT(*) FROM token WHERE hash = $1";
    pub const AUTHENTICATE: &str =
        "SELECT competition, juror, role, revoked_at IS NOT NULL FROM token WHERE hash = $1";
    pub const LOCKED: &str = "SELECT visit_id FROM visit_lock WHERE competition = $1";
    pub const INSERT_LOG: &str = "INSERT INTO change_log (competition, seq, change_id, author, owner, entity, visit_id, entry, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
    pub const UPSERT_STATE: &str = "INSERT INTO field_state (competition, entity, row_id, field, state) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (competition, entity, row_id, field) DO UPDATE SET state = excluded.state";
    pub const UPSERT_CONFLICT: &str = "INSERT INTO conflict (competition, id, owner, resolved, view) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (competition, id) DO UPDATE SET resolved = excluded.resolved, view = excluded.view";
    pub const INSERT_QUARANTINE: &str =
        "INSERT INTO quarantine (competition, change_id, author, reason, entry, received_at, code)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (competition, change_id) DO NOTHING";
    pub const INSERT_LOCK: &str = "INSERT INTO visit_lock (competition, visit_id) VALUES ($1, $2) ON CONFLICT (competition, visit_id) DO NOTHING";
    pub const SET_COUNTER: &str = "UPDATE competition SET counter = $1 WHERE id = $2";
    pub const UPSERT_DEVICE: &str =
        "INSERT INTO device (competition, device_id, juror, last_seen_at, skew_ms)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (competition, device_id) DO UPDATE SET last_seen_at = excluded.last_seen_at,
             skew_ms = excluded.skew_ms";
    pub const DEVICE: &str = "SELECT juror FROM device WHERE competition = $1 AND device_id = $2";
    pub const SIGNED_FROM: &str = "SELECT signed_from FROM competition WHERE id = $1";
    pub const REVOCATIONS: &str = "SELECT device_id, from_seq FROM device_revocation WHERE competition = $1 ORDER BY device_id";
    pub const DEVICE_HEAD: &str =
        "SELECT COALESCE(MAX(seq), 0) FROM device_entry WHERE competition = $1 AND device_id = $2";
    pub const REVOKE_DEVICE: &str = "INSERT INTO device_revocation (competition, device_id, from_seq, revoked_at)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (competition, device_id) DO UPDATE SET from_seq = CASE WHEN excluded.from_seq < device_revocation.from_seq
             THEN excluded.from_seq ELSE device_revocation.from_seq END";
    pub const HUB_IDENTITY: &str =
        "INSERT INTO token (hash, competition, juror, role, created_at, identity_key, revoked_at)
         VALUES ($1, $2, $3, 'juror', $4, $5, $4) ON CONFLICT (hash) DO NOTHING";
    pub const LEARN_IDENTITY: &str =
        "UPDATE token SET identity_key = $1 WHERE hash = $2 AND identity_key IS NULL";
    pub const IDENTITIES: &str = "SELECT DISTINCT juror, identity_key FROM token
         WHERE competition = $1 AND identity_key IS NOT NULL ORDER BY juror, identity_key";
    pub const REGISTRATION: &str =
        "SELECT registration FROM device_registration WHERE competition = $1 AND device_id = $2";
    pub const INSERT_REGISTRATION: &str =
        "INSERT INTO device_registration (competition, device_id, juror, registration)
         VALUES ($1, $2, $3, $4) ON CONFLICT (competition, device_id) DO NOTHING";
    pub const DEVICE_LINKS: &str = "SELECT seq, hash, prev_hash FROM device_entry
         WHERE competition = $1 AND device_id = $2 AND seq BETWEEN $3 AND $4";
    pub const INSERT_LINK: &str =
        "INSERT INTO device_entry (competition, device_id, seq, hash, prev_hash)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (competition, device_id, seq) DO NOTHING";
    pub const LOG_AND_QUARANTINE: &str = "SELECT competition, entry, 1 FROM change_log
         UNION ALL SELECT competition, entry, 0 FROM quarantine";
    pub const INSERT_EVIDENCE_REF: &str =
        "INSERT INTO evidence_ref (competition, hash, owner, visit_id, size)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (competition, hash, owner, visit_id) DO NOTHING";
    pub const EVIDENCE_REFS: &str =
        "SELECT owner, visit_id, size FROM evidence_ref WHERE competition = $1 AND hash = $2";
    /// One page of the log after a cursor: at most `$3` rows, and no more rows than fit in
    /// `$4` bytes of entries (the first row always comes), so a page's memory is bounded
    /// whatever the entries hold. `running` lets the caller tell a page cut by bytes.
    pub const PULL: &str = "SELECT seq, entry, owner, entity, visit_id, running FROM (
             SELECT seq, entry, owner, entity, visit_id,
                    SUM(LENGTH(entry)) OVER (ORDER BY seq) AS running
             FROM change_log WHERE competition = $1 AND seq > $2 ORDER BY seq LIMIT $3
         ) AS page WHERE running - LENGTH(entry) < $4 ORDER BY seq";
    pub const OPEN_CONFLICTS: &str =
        "SELECT owner, view FROM conflict WHERE competition = $1 AND resolved = 0 ORDER BY id";
    pub const QUARANTINE: &str =
        "SELECT change_id, author, reason, received_at, entry FROM quarantine
         WHERE competition = $1 ORDER BY received_at, change_id";
    pub const BLOB_STATUS: &str = "SELECT size, received, complete FROM blob WHERE hash = $1";
    pub const INSERT_BLOB: &str =
        "INSERT INTO blob (hash, size, received, complete, created_at) VALUES ($1, $2, 0, 0, $3)
         ON CONFLICT (hash) DO NOTHING";
    pub const INSERT_CHUNK: &str =
        "INSERT INTO blob_chunk (hash, offset_bytes, data) VALUES ($1, $2, $3)";
    pub const SET_RECEIVED: &str = "UPDATE blob SET received = $1, complete = $2 WHERE hash = $3";
    pub const CHUNKS: &str = "SELECT data FROM blob_chunk WHERE hash = $1 ORDER BY offset_bytes";
    /// The chunks that may overlap a range: none is longer than the largest chunk a client
    /// may send, so none that starts that far before the range reaches into it.
    pub const CHUNKS_IN: &str = "SELECT offset_bytes, data FROM blob_chunk
         WHERE hash = $1 AND offset_bytes > $2 AND offset_bytes <= $3 ORDER BY offset_bytes";
    pub const DROP_CHUNKS: &str = "DELETE FROM blob_chunk WHERE hash = $1";
    pub const RESET_BLOB: &str =
        "UPDATE blob SET size = $1, received = 0, complete = 0 WHERE hash = $2";
    pub const INSERT_REVISION: &str =
        "INSERT INTO package_revision (competition, revision, package, published_at)
         VALUES ($1, $2, $3, $4) ON CONFLICT (competition, revision) DO NOTHING";
    pub const REVISIONS: &str = "SELECT revision, published_at FROM package_revision
         WHERE competition = $1 ORDER BY revision DESC";
    pub const TOKENS: &str = "SELECT juror, role, created_at, revoked_at FROM token
         WHERE competition = $1 ORDER BY created_at, juror";
    pub const REVOKE_JUROR: &str = "UPDATE token SET revoked_at = $1
         WHERE competition = $2 AND juror = $3 AND role <> 'organiser' AND revoked_at IS NULL";
    pub const INSERT_SESSION: &str =
        "INSERT INTO console_session (hash, token_hash, csrf, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)";
    pub const SESSION: &str =
        "SELECT t.competition, t.juror, t.role, t.revoked_at IS NOT NULL, s.csrf, s.expires_at
         FROM console_session s JOIN token t ON t.hash = s.token_hash WHERE s.hash = $1";
    pub const CHANGE_AT: &str =
        "SELECT change_id FROM change_log WHERE competition = $1 AND seq = $2";
    pub const DELETE_SESSION: &str = "DELETE FROM console_session WHERE hash = $1";
    pub const DELETE_EXPIRED_SESSIONS: &str = "DELETE FROM console_session WHERE expires_at < $1";
    pub const LAST_SEEN: &str = "SELECT juror, MAX(last_seen_at) FROM device
         WHERE competition = $1 GROUP BY juror";
    pub const PENDING_EVIDENCE: &str = "SELECT e.owner, e.visit_id, COUNT(*) FROM evidence_ref e
         LEFT JOIN blob b ON b.hash = e.hash
         WHERE e.competition = $1 AND (b.complete IS NULL OR b.complete = 0)
         GROUP BY e.owner, e.visit_id";
    pub const CONFLICTS_BY_OWNER: &str = "SELECT owner, COUNT(*) FROM conflict
         WHERE competition = $1 AND resolved = 0 GROUP BY owner";
    pub const QUARANTINE_BY_AUTHOR: &str = "SELECT author, COUNT(*) FROM quarantine
         WHERE competition = $1 GROUP BY author";

    #[cfg(test)]
    pub const ALL: &[&str] = &[
        PACKAGE,
        COMPETITIONS,
        EXISTING,
        INSERT_COMPETITION,
        UPDATE_COMPETITION,
        INSERT_TOKEN,
        HUB_IDENTITY,
        REVOKE_TOKEN,
        TOKEN_EXISTS,
        AUTHENTICATE,
        LOCKED,
        INSERT_LOG,
        UPSERT_STATE,
        UPSERT_CONFLICT,
        INSERT_QUARANTINE,
        INSERT_LOCK,
        SET_COUNTER,
        UPSERT_DEVICE,
        DEVICE,
        SIGNED_FROM,
        REVOCATIONS,
        DEVICE_HEAD,
        REVOKE_DEVICE,
        LEARN_IDENTITY,
        IDENTITIES,
        REGISTRATION,
        INSERT_REGISTRATION,
        DEVICE_LINKS,
        INSERT_LINK,
        LOG_AND_QUARANTINE,
        INSERT_EVIDENCE_REF,
        EVIDENCE_REFS,
        PULL,
        OPEN_CONFLICTS,
        QUARANTINE,
        BLOB_STATUS,
        INSERT_BLOB,
        INSERT_CHUNK,
        SET_RECEIVED,
        CHUNKS,
        CHUNKS_IN,
        DROP_CHUNKS,
        INSERT_REVISION,
        REVISIONS,
        TOKENS,
        REVOKE_JUROR,
        INSERT_SESSION,
        SESSION,
        DELETE_SESSION,
        CHANGE_AT,
        DELETE_EXPIRED_SESSIONS,
        LAST_SEEN,
        PENDING_EVIDENCE,
        CONFLICTS_BY_OWNER,
        QUARANTINE_BY_AUTHOR,
        RESET_BLOB,
    ];

    #[cfg(test)]
    mod tests {
        /// Placeholders in order of first appearance.
        fn first_appearances(statement: &str) -> Vec<u32> {
            let mut seen = Vec::new();
            let bytes = statement.as_bytes();
            for (i, _) in statement.match_indices('$') {
                let digits: String = bytes[i + 1..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .map(|&b| b as char)
                    .collect();
                if let Ok(n) = digits.parse::<u32>()
                    && !seen.contains(&n)
                {
                    seen.push(n);
                }
            }
            seen
        }

        #[test]
        fn every_statement_numbers_its_placeholders_in_order_of_first_use() {
            for statement in super::ALL {
                let order = first_appearances(statement);
                let expected: Vec<u32> = (1..=order.len() as u32).collect();
                assert_eq!(
                    order, expected,
                    "out of order (SQLite would bind wrongly): {statement}"
                );
            }
        }
    }
}

/// Bytes of entries one pulled page carries at most (beside its row count).
pub const PULL_PAGE_BYTES: i64 = 4 * 1024 * 1024;

/// A pulled row, before the visibility filter.
pub(crate) struct LogRow {
    pub seq: i64,
    pub entry: String,
    pub owner: String,
    pub entity: String,
    pub visit_id: Option<String>,
    /// Bytes of entries up to and including this row.
    pub running: i64,
}

/// Builds a pull page from the rows read after `after`.
pub(crate) fn pull_page(
    package: &Package,
    auth: &TokenRecord,
    after: u64,
    limit: u32,
    rows: Vec<LogRow>,
    conflicts: Vec<(String, String)>,
) -> BackendResult<PullResponse> {
    let cut_by_bytes = rows.last().is_some_and(|r| r.running >= PULL_PAGE_BYTES);
    let more = rows.len() as u32 == limit || cut_by_bytes;
    let next = rows.last().map_or(after, |r| r.seq as u64);
    let mut changes = Vec::new();
    for row in rows {
        let entity: tinjau_core::Entity = row
            .entity
            .parse()
            .map_err(|e| BackendError::Corrupt(format!("log entity: {e}")))?;
        if tinjau_core::sync::visible_to(
            package,
            &auth.juror,
            auth.role,
            entity,
            &row.owner,
            row.visit_id.as_deref(),
        ) {
            changes.push(tinjau_core::sync::PulledChange {
                seq: row.seq as u64,
                entry: parse_json("log entry", &row.entry)?,
            });
        }
    }
    let conflicts = conflicts
        .into_iter()
        .filter(|(owner, _)| auth.role.sees_everything() || *owner == auth.juror)
        .map(|(_, view)| parse_json("conflict", &view))
        .collect::<BackendResult<_>>()?;
    Ok(PullResponse {
        changes,
        next,
        more,
        conflicts,
        mark: None,
        log_changed: false,
        registrations: Vec::new(),
        identities: Vec::new(),
        signed_from: 0,
        revocations: Vec::new(),
    })
}

/// Who may see an evidence file: someone who may see a record that references it.
pub(crate) fn may_see_evidence(
    package: &Package,
    auth: &TokenRecord,
    refs: &[(String, String, i64)],
) -> bool {
    refs.iter().any(|(owner, visit, _)| {
        tinjau_core::sync::visible_to(
            package,
            &auth.juror,
            auth.role,
            tinjau_core::Entity::Evidence,
            owner,
            Some(visit),
        )
    })
}

/// Whether `auth` may upload the file `hash` of `size` bytes: only a juror who attached it, at
/// the size their record announced.
pub(crate) fn check_upload(
    auth: &TokenRecord,
    hash: &str,
    size: u64,
    refs: &[(String, String, i64)],
) -> BackendResult<()> {
    let own: Vec<u64> = refs
        .iter()
        .filter(|(owner, _, _)| *owner == auth.juror)
        .map(|(_, _, size)| *size as u64)
        .collect();
    if own.is_empty() {
        return Err(BackendError::Forbidden(format!(
            "file {hash} is not attached to any record of \"{}\": only the juror who attached it uploads it (push the record first)",
            auth.juror
        )));
    }
    if !own.contains(&size) {
        return Err(BackendError::Conflict(format!(
            "file {hash} was announced as {} bytes, not {size}",
            own[0]
        )));
    }
    Ok(())
}
