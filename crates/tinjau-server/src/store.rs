//! What the server stores, written once over a small transaction trait ([`Tx`]): migrating the
//! schema, publishing a package, tokens, a push (gather → the core's plan → apply), a pull
//! page, the quarantine, and evidence blobs. Each backend (`sqlite.rs`, `postgres.rs`) is only
//! the glue that opens a transaction and runs a statement with [`Param`]s, answering [`Row`]s.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use tinjau_core::Package;
use tinjau_core::hub::HubSeed;
use tinjau_core::signing::{JurorKey, PublicKey, Registry, Revocation, SignedRegistration};
use tinjau_core::sync::{
    ChangeOutcome, ConflictView, DeviceChain, FieldKey, FieldState, Known, Link, PullResponse,
    PushRequest,
};
use uuid::Uuid;

use crate::backend::{
    AppendStep, BACKFILL_SCHEMA, BlobStatus, ConsoleFacts, Gathered, IssuedToken, LogRow,
    MIGRATIONS, NewSession, PULL_PAGE_BYTES, PublishOutcome, QuarantineView, RevisionRecord,
    SessionRecord, TokenRecord, TokenRow, backfill_of_log, parse_json, parse_role, plan,
    plan_append, position, publish_outcome, pull_page, refusal_code_text, sql, stored_refusal,
    timestamp, touched,
};

/// What can go wrong in storage.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("PostgreSQL pool: {0}")]
    Pool(String),
    #[error("background task failed: {0}")]
    Task(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

pub type BackendResult<T> = Result<T, BackendError>;

/// A statement's argument, the same on both backends.
#[derive(Debug, Clone)]
pub(crate) enum Param {
    Int(i64),
    Text(String),
    OptText(Option<String>),
    Bytes(Vec<u8>),
}

impl From<i64> for Param {
    fn from(value: i64) -> Param {
        Param::Int(value)
    }
}

impl From<&str> for Param {
    fn from(value: &str) -> Param {
        Param::Text(value.to_string())
    }
}

impl From<String> for Param {
    fn from(value: String) -> Param {
        Param::Text(value)
    }
}

impl From<Option<String>> for Param {
    fn from(value: Option<String>) -> Param {
        Param::OptText(value)
    }
}

impl From<&[u8]> for Param {
    fn from(value: &[u8]) -> Param {
        Param::Bytes(value.to_vec())
    }
}

macro_rules! params {
    ($($value:expr),* $(,)?) => {
        &[$(Param::from($value)),*]
    };
}

/// A value read back.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Null,
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
}

/// One row of an answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row(pub Vec<Cell>);

impl Row {
    fn cell(&self, index: usize) -> BackendResult<&Cell> {
        self.0
            .get(index)
            .ok_or_else(|| BackendError::Corrupt(format!("no column {index}")))
    }

    pub fn int(&self, index: usize) -> BackendResult<i64> {
        match self.cell(index)? {
            Cell::Int(value) => Ok(*value),
            other => Err(BackendError::Corrupt(format!(
                "column {index} is {other:?}, not a number"
            ))),
        }
    }

    pub fn text(&self, index: usize) -> BackendResult<String> {
        match self.cell(index)? {
            Cell::Text(value) => Ok(value.clone()),
            other => Err(BackendError::Corrupt(format!(
                "column {index} is {other:?}, not text"
            ))),
        }
    }

    pub fn opt_text(&self, index: usize) -> BackendResult<Option<String>> {
        match self.cell(index)? {
            Cell::Null => Ok(None),
            _ => self.text(index).map(Some),
        }
    }

    pub fn bytes(&self, index: usize) -> BackendResult<&[u8]> {
        match self.cell(index)? {
            Cell::Bytes(value) => Ok(value),
            other => Err(BackendError::Corrupt(format!(
                "column {index} is {other:?}, not bytes"
            ))),
        }
    }

    pub fn uuid(&self, index: usize) -> BackendResult<Uuid> {
        let text = self.text(index)?;
        Uuid::parse_str(&text).map_err(|e| BackendError::Corrupt(format!("id \"{text}\": {e}")))
    }
}

/// Where the two SQL dialects differ in what a statement must say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// A row lock on what a SELECT reads (SQLite's write transactions lock the database).
    fn for_update(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE",
        }
    }

    /// The text values of a JSON array parameter, as a subquery for `IN`.
    fn list(self, param: &str) -> String {
        match self {
            Dialect::Sqlite => format!("(SELECT value FROM json_each({param}))"),
            Dialect::Postgres => {
                format!("(SELECT jsonb_array_elements_text({param}::text::jsonb))")
            }
        }
    }
}

/// One transaction on either backend.
pub(crate) trait Tx {
    fn dialect(&self) -> Dialect;
    async fn query(&mut self, sql: &str, params: &[Param]) -> BackendResult<Vec<Row>>;
    async fn execute(&mut self, sql: &str, params: &[Param]) -> BackendResult<u64>;
    /// Runs a migration script.
    async fn batch(&mut self, sql: &str) -> BackendResult<()>;
    /// The schema version stored in the database (0 when new).
    async fn schema_version(&mut self) -> BackendResult<i64>;
    async fn set_schema_version(&mut self, version: i64) -> BackendResult<()>;

    async fn query_opt(&mut self, sql: &str, params: &[Param]) -> BackendResult<Option<Row>> {
        Ok(self.query(sql, params).await?.into_iter().next())
    }
}

/// Brings the schema up to date, filling what a new table needs from the log once.
pub(crate) async fn migrate(tx: &mut impl Tx) -> BackendResult<()> {
    let version = tx.schema_version().await?;
    if version > MIGRATIONS.len() as i64 {
        return Err(BackendError::Invalid(format!(
            "the database was written by a newer tinjau-server (schema {version})"
        )));
    }
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.batch(migration).await?;
        if index + 1 == BACKFILL_SCHEMA && version > 0 {
            let rows = tx.query(sql::LOG_AND_QUARANTINE, &[]).await?;
            let rows = rows
                .iter()
                .map(|r| Ok((r.text(0)?, r.text(1)?, r.int(2)? == 1)))
                .collect::<BackendResult<Vec<_>>>()?;
            let backfill = backfill_of_log(rows);
            for (competition, reference) in backfill.evidence {
                let size = reference.size.min(i64::MAX as u64) as i64;
                tx.execute(
                    sql::INSERT_EVIDENCE_REF,
                    params![
                        competition,
                        reference.hash,
                        reference.owner,
                        reference.visit_id,
                        size
                    ],
                )
                .await?;
            }
            for (competition, device, seq, link) in backfill.links {
                tx.execute(
                    sql::INSERT_LINK,
                    params![
                        competition,
                        device.to_string(),
                        position(seq),
                        link.hash,
                        link.prev_hash
                    ],
                )
                .await?;
            }
        }
    }
    tx.set_schema_version(MIGRATIONS.len() as i64).await
}

pub(crate) async fn publish(
    tx: &mut impl Tx,
    package: &Package,
    text: &str,
    now: &str,
) -> BackendResult<PublishOutcome> {
    let id = package.competition.id.as_str();
    let revision = package.revision;
    let existing = match tx.query_opt(sql::EXISTING, params![id]).await? {
        Some(row) => Some((row.int(0)?, row.text(1)?)),
        None => None,
    };
    let outcome = publish_outcome(id, revision, text, existing)?;
    match outcome {
        PublishOutcome::Published { .. } => {
            tx.execute(sql::INSERT_COMPETITION, params![id, revision, text])
                .await?;
        }
        PublishOutcome::Updated { .. } => {
            tx.execute(sql::UPDATE_COMPETITION, params![revision, text, id])
                .await?;
        }
        PublishOutcome::Unchanged { .. } => return Ok(outcome),
    }
    tx.execute(sql::INSERT_REVISION, params![id, revision, text, now])
        .await?;
    Ok(outcome)
}

pub(crate) async fn revisions(
    tx: &mut impl Tx,
    competition: &str,
) -> BackendResult<Vec<RevisionRecord>> {
    tx.query(sql::REVISIONS, params![competition])
        .await?
        .iter()
        .map(|r| {
            Ok(RevisionRecord {
                revision: r.int(0)?,
                published_at: r.text(1)?,
            })
        })
        .collect()
}

pub(crate) async fn tokens(tx: &mut impl Tx, competition: &str) -> BackendResult<Vec<TokenRow>> {
    tx.query(sql::TOKENS, params![competition])
        .await?
        .iter()
        .map(|r| {
            Ok(TokenRow {
                juror: r.text(0)?,
                role: parse_role(&r.text(1)?)?,
                created_at: r.text(2)?,
                revoked_at: r.opt_text(3)?,
            })
        })
        .collect()
}

/// Revokes every live juror or lead token of `juror`; how many there were.
pub(crate) async fn revoke_juror(
    tx: &mut impl Tx,
    competition: &str,
    juror: &str,
    now: &str,
) -> BackendResult<u64> {
    tx.execute(sql::REVOKE_JUROR, params![now, competition, juror])
        .await
}

pub(crate) async fn insert_session(
    tx: &mut impl Tx,
    session: &NewSession,
    now: &str,
) -> BackendResult<()> {
    tx.execute(sql::DELETE_EXPIRED_SESSIONS, params![now])
        .await?;
    tx.execute(
        sql::INSERT_SESSION,
        params![
            session.hash.as_str(),
            session.token_hash.as_str(),
            session.csrf.as_str(),
            now,
            session.expires_at.as_str()
        ],
    )
    .await?;
    Ok(())
}

pub(crate) async fn session(tx: &mut impl Tx, hash: &str) -> BackendResult<Option<SessionRecord>> {
    let Some(row) = tx.query_opt(sql::SESSION, params![hash]).await? else {
        return Ok(None);
    };
    Ok(Some(SessionRecord {
        auth: TokenRecord {
            competition: row.text(0)?,
            juror: row.text(1)?,
            role: parse_role(&row.text(2)?)?,
            revoked: row.int(3)? != 0,
            presented: None,
        },
        csrf: row.text(4)?,
        expires_at: row.text(5)?,
    }))
}

pub(crate) async fn delete_session(tx: &mut impl Tx, hash: &str) -> BackendResult<()> {
    tx.execute(sql::DELETE_SESSION, params![hash]).await?;
    Ok(())
}

/// What the console shows beside each juror's sheet that only the server knows.
pub(crate) async fn console_facts(
    tx: &mut impl Tx,
    competition: &str,
) -> BackendResult<ConsoleFacts> {
    let mut facts = ConsoleFacts::default();
    for row in tx.query(sql::LAST_SEEN, params![competition]).await? {
        facts.last_seen.insert(row.text(0)?, row.text(1)?);
    }
    for row in tx
        .query(sql::PENDING_EVIDENCE, params![competition])
        .await?
    {
        let count = row.int(2)?.max(0) as u64;
        facts
            .pending_evidence
            .insert((row.text(0)?, row.text(1)?), count);
    }
    for row in tx
        .query(sql::CONFLICTS_BY_OWNER, params![competition])
        .await?
    {
        facts
            .open_conflicts
            .insert(row.text(0)?, row.int(1)?.max(0) as u64);
    }
    for row in tx
        .query(sql::QUARANTINE_BY_AUTHOR, params![competition])
        .await?
    {
        facts
            .quarantined
            .insert(row.text(0)?, row.int(1)?.max(0) as u64);
    }
    Ok(facts)
}

pub(crate) async fn competitions(tx: &mut impl Tx) -> BackendResult<Vec<String>> {
    tx.query(sql::COMPETITIONS, &[])
        .await?
        .iter()
        .map(|r| r.text(0))
        .collect()
}

/// Stores new tokens of `competition` at once.
pub(crate) async fn insert_tokens(
    tx: &mut impl Tx,
    competition: &str,
    tokens: &[IssuedToken],
    now: &str,
) -> BackendResult<()> {
    for token in tokens {
        tx.execute(
            sql::INSERT_TOKEN,
            params![
                token.hash.as_str(),
                competition,
                token.juror.as_str(),
                token.role.as_str(),
                now,
                token.identity.to_string()
            ],
        )
        .await?;
    }
    Ok(())
}

pub(crate) async fn revoke_token(tx: &mut impl Tx, hash: &str, now: &str) -> BackendResult<bool> {
    let exists = match tx.query_opt(sql::TOKEN_EXISTS, params![hash]).await? {
        Some(row) => row.int(0)? > 0,
        None => false,
    };
    tx.execute(sql::REVOKE_TOKEN, params![now, hash]).await?;
    Ok(exists)
}

pub(crate) async fn authenticate(
    tx: &mut impl Tx,
    hash: &str,
) -> BackendResult<Option<TokenRecord>> {
    let Some(row) = tx.query_opt(sql::AUTHENTICATE, params![hash]).await? else {
        return Ok(None);
    };
    Ok(Some(TokenRecord {
        competition: row.text(0)?,
        juror: row.text(1)?,
        role: parse_role(&row.text(2)?)?,
        revoked: row.int(3)? != 0,
        presented: None,
    }))
}

pub(crate) async fn package_text(tx: &mut impl Tx, competition: &str) -> BackendResult<String> {
    tx.query_opt(sql::PACKAGE, params![competition])
        .await?
        .ok_or_else(|| not_published(competition))?
        .text(0)
}

fn not_published(competition: &str) -> BackendError {
    BackendError::NotFound(format!(
        "competition \"{competition}\" is not published on this server"
    ))
}

fn json_list(items: impl IntoIterator<Item = String>) -> String {
    serde_json::to_string(&items.into_iter().collect::<Vec<_>>()).expect("strings serialise")
}

/// A push: everything it touches is read in its transaction (the competition's row locked),
/// the core plans it, and the plan is written — all or nothing.
pub(crate) async fn push(
    tx: &mut impl Tx,
    auth: &TokenRecord,
    request: &PushRequest,
    now: DateTime<Utc>,
    skew_ms: i64,
) -> BackendResult<Vec<ChangeOutcome>> {
    let dialect = tx.dialect();
    let space = auth.competition.as_str();
    let row = tx
        .query_opt(
            &format!(
                "SELECT package, counter FROM competition WHERE id = $1{}",
                dialect.for_update()
            ),
            params![space],
        )
        .await?
        .ok_or_else(|| not_published(space))?;
    let package: Package = parse_json("package", &row.text(0)?)?;
    let mut counter = row.int(1)?;
    let (ids, keys, positions) = touched(&package, request);

    let ids = json_list(ids.iter().map(Uuid::to_string));
    let mut known = HashMap::new();
    let logged = format!(
        "SELECT change_id FROM change_log WHERE change_id IN {}",
        dialect.list("$1")
    );
    for row in tx.query(&logged, params![ids.as_str()]).await? {
        known.insert(row.uuid(0)?, Known::Logged);
    }
    let refused = format!(
        "SELECT change_id, reason, code FROM quarantine WHERE competition = $1 AND change_id IN {}",
        dialect.list("$2")
    );
    for row in tx.query(&refused, params![space, ids.as_str()]).await? {
        known
            .entry(row.uuid(0)?)
            .or_insert(Known::Quarantined(stored_refusal(
                row.text(1)?,
                &row.text(2)?,
            )));
    }

    let mut devices = HashMap::new();
    for (device, (low, high)) in positions {
        let device_text = device.to_string();
        let Some(owner) = tx
            .query_opt(sql::DEVICE, params![space, device_text.as_str()])
            .await?
        else {
            continue;
        };
        let links = tx
            .query(
                sql::DEVICE_LINKS,
                params![space, device_text.as_str(), position(low), position(high)],
            )
            .await?
            .iter()
            .map(|r| {
                Ok((
                    r.int(0)? as u64,
                    Link {
                        hash: r.text(1)?,
                        prev_hash: r.text(2)?,
                    },
                ))
            })
            .collect::<BackendResult<_>>()?;
        devices.insert(
            device,
            DeviceChain {
                juror: owner.text(0)?,
                links,
            },
        );
    }

    let row_ids = json_list(keys.iter().map(|k| k.row_id.to_string()));
    let mut states = HashMap::new();
    let mut open = Vec::new();
    let statement = format!(
        "SELECT entity, row_id, field, state FROM field_state WHERE competition = $1 AND row_id IN {}",
        dialect.list("$2")
    );
    for row in tx
        .query(&statement, params![space, row_ids.as_str()])
        .await?
    {
        let key = FieldKey {
            entity: row
                .text(0)?
                .parse()
                .map_err(|e| BackendError::Corrupt(format!("entity: {e}")))?,
            row_id: row.uuid(1)?,
            field: row.text(2)?,
        };
        if keys.binary_search(&key).is_ok() {
            let state: FieldState = parse_json("field state", &row.text(3)?)?;
            open.extend(state.open_conflict.map(|id| id.to_string()));
            states.insert(key, state);
        }
    }
    let mut conflicts: HashMap<Uuid, ConflictView> = HashMap::new();
    let statement = format!(
        "SELECT id, view FROM conflict WHERE competition = $1 AND id IN {}",
        dialect.list("$2")
    );
    for row in tx
        .query(&statement, params![space, json_list(open)])
        .await?
    {
        conflicts.insert(row.uuid(0)?, parse_json("conflict", &row.text(1)?)?);
    }
    let locked: HashSet<String> = tx
        .query(sql::LOCKED, params![space])
        .await?
        .iter()
        .map(|r| r.text(0))
        .collect::<BackendResult<_>>()?;
    let registry = gather_registry(tx, auth, request).await?;

    let plan = plan(
        &Gathered {
            package,
            registry,
            known,
            states,
            conflicts,
            locked,
            devices,
        },
        request,
        now,
    );

    let received_at = timestamp(now);
    for logged in &plan.log {
        counter += 1;
        let entry = &logged.entry;
        let json = serde_json::to_string(entry).expect("an entry serialises");
        tx.execute(
            sql::INSERT_LOG,
            params![
                space,
                counter,
                entry.change_id.to_string(),
                entry.author.as_str(),
                logged.owner.as_str(),
                entry.entity.as_str(),
                entry.visit_id.clone(),
                json,
                received_at.as_str(),
            ],
        )
        .await?;
    }
    for (key, state) in &plan.states {
        let json = serde_json::to_string(state).expect("a state serialises");
        tx.execute(
            sql::UPSERT_STATE,
            params![
                space,
                key.entity.as_str(),
                key.row_id.to_string(),
                key.field.as_str(),
                json
            ],
        )
        .await?;
    }
    for (id, view) in &plan.conflicts {
        let json = serde_json::to_string(view).expect("a conflict serialises");
        let resolved = i64::from(view.resolved_by.is_some());
        tx.execute(
            sql::UPSERT_CONFLICT,
            params![space, id.to_string(), view.owner.as_str(), resolved, json],
        )
        .await?;
    }
    for (entry, refusal) in &plan.quarantine {
        let json = serde_json::to_string(entry).expect("an entry serialises");
        tx.execute(
            sql::INSERT_QUARANTINE,
            params![
                space,
                entry.change_id.to_string(),
                entry.author.as_str(),
                refusal.message.as_str(),
                json,
                received_at.as_str(),
                refusal_code_text(refusal.code),
            ],
        )
        .await?;
    }
    for visit in &plan.new_locks {
        tx.execute(sql::INSERT_LOCK, params![space, visit.as_str()])
            .await?;
    }
    for reference in &plan.evidence {
        let size = reference.size.min(i64::MAX as u64) as i64;
        tx.execute(
            sql::INSERT_EVIDENCE_REF,
            params![
                space,
                reference.hash.as_str(),
                reference.owner.as_str(),
                reference.visit_id.as_str(),
                size
            ],
        )
        .await?;
    }
    for (device, chain) in &plan.devices {
        let device = device.to_string();
        tx.execute(
            sql::UPSERT_DEVICE,
            params![
                space,
                device.as_str(),
                chain.juror.as_str(),
                received_at.as_str(),
                skew_ms
            ],
        )
        .await?;
        for (seq, added) in &chain.links {
            tx.execute(
                sql::INSERT_LINK,
                params![
                    space,
                    device.as_str(),
                    position(*seq),
                    added.hash.as_str(),
                    added.prev_hash.as_str()
                ],
            )
            .await?;
        }
    }
    tx.execute(sql::SET_COUNTER, params![counter, space])
        .await?;
    Ok(plan.outcomes)
}

/// What a push's signatures are checked against (`docs/signing.md`): the identity keys the
/// competition's tokens derive (the pushing token's learnt now, when it is new here), the stored
/// registrations of the devices the push names, and the registrations it carries — those that
/// verify are stored; those that do not make their device's changes refused with the reason.
async fn gather_registry(
    tx: &mut impl Tx,
    auth: &TokenRecord,
    request: &PushRequest,
) -> BackendResult<Registry> {
    let space = auth.competition.as_str();
    if let Some(presented) = &auth.presented {
        tx.execute(
            sql::LEARN_IDENTITY,
            params![presented.identity.to_string(), presented.hash.as_str()],
        )
        .await?;
    }
    let mut registry = Registry::new(space);
    for (juror, key) in identities(tx, space).await? {
        registry.trust(&juror, key);
    }
    for revocation in revocations(tx, space).await? {
        registry.revoke(&revocation);
    }
    let devices: BTreeSet<Uuid> = request.changes.iter().map(|c| c.device_id).collect();
    for device in &devices {
        if let Some(stored) = registration(tx, space, device).await? {
            registry.known(stored);
        }
    }
    for signed in &request.registrations {
        if let Ok(true) = registry.admit(signed) {
            keep_registration(tx, space, signed).await?;
        }
    }
    Ok(registry)
}

/// Stores a device registration that verified (the first one of a device stays).
async fn keep_registration(
    tx: &mut impl Tx,
    space: &str,
    signed: &SignedRegistration,
) -> BackendResult<()> {
    let r = &signed.registration;
    tx.execute(
        sql::INSERT_REGISTRATION,
        params![
            space,
            r.device_id.to_string(),
            r.juror.as_str(),
            serde_json::to_string(signed).expect("a registration serialises")
        ],
    )
    .await?;
    Ok(())
}

/// Every device of `space` the organiser revoked.
async fn revocations(tx: &mut impl Tx, space: &str) -> BackendResult<Vec<Revocation>> {
    tx.query(sql::REVOCATIONS, params![space])
        .await?
        .iter()
        .map(|r| {
            Ok(Revocation {
                device_id: r.uuid(0)?,
                from_seq: r.int(1)?.max(1) as u64,
            })
        })
        .collect()
}

pub(crate) async fn revoke_device(
    tx: &mut impl Tx,
    space: &str,
    device: Uuid,
    from_seq: Option<u64>,
    at: &str,
) -> BackendResult<u64> {
    let device_text = device.to_string();
    let from = match from_seq {
        Some(0) => {
            return Err(BackendError::Invalid(
                "chain positions start at 1: --from-seq 1 revokes every change of the device"
                    .into(),
            ));
        }
        Some(from) => from,
        None => match tx
            .query_opt(sql::DEVICE_HEAD, params![space, device_text.as_str()])
            .await?
        {
            Some(row) => row.int(0)?.max(0) as u64 + 1,
            None => 1,
        },
    };
    tx.execute(
        sql::REVOKE_DEVICE,
        params![space, device_text.as_str(), position(from), at],
    )
    .await?;
    Ok(from)
}

/// [`identities`], for the backend.
pub(crate) async fn identity_keys(
    tx: &mut impl Tx,
    space: &str,
) -> BackendResult<Vec<(String, PublicKey)>> {
    identities(tx, space).await
}

/// Stores what a hub starts from (the package is published first): each identity key as a
/// revoked token whose "hash" no token can have, the registrations that verified, and the
/// revocations.
pub(crate) async fn seed_hub(
    tx: &mut impl Tx,
    space: &str,
    seed: &HubSeed,
    registrations: &[SignedRegistration],
    at: &str,
) -> BackendResult<()> {
    for key in &seed.identities {
        let hash = format!("identity:{}:{}", key.juror, key.public_key);
        tx.execute(
            sql::HUB_IDENTITY,
            params![
                hash.as_str(),
                space,
                key.juror.as_str(),
                at,
                key.public_key.to_string()
            ],
        )
        .await?;
    }
    for signed in registrations {
        keep_registration(tx, space, signed).await?;
    }
    for revocation in &seed.revocations {
        revoke_device(
            tx,
            space,
            revocation.device_id,
            Some(revocation.from_seq.max(1)),
            at,
        )
        .await?;
    }
    Ok(())
}

/// The identity keys of `space`'s jurors that the server has learnt.
async fn identities(tx: &mut impl Tx, space: &str) -> BackendResult<Vec<(String, PublicKey)>> {
    tx.query(sql::IDENTITIES, params![space])
        .await?
        .iter()
        .map(|r| {
            let key = PublicKey::parse_hex(&r.text(1)?)
                .map_err(|e| BackendError::Corrupt(format!("token identity key: {e}")))?;
            Ok((r.text(0)?, key))
        })
        .collect()
}

/// A device's stored registration.
async fn registration(
    tx: &mut impl Tx,
    space: &str,
    device: &Uuid,
) -> BackendResult<Option<SignedRegistration>> {
    match tx
        .query_opt(sql::REGISTRATION, params![space, device.to_string()])
        .await?
    {
        Some(row) => Ok(Some(parse_json("device registration", &row.text(0)?)?)),
        None => Ok(None),
    }
}

/// One page of the log after `after`, as `auth` may see it.
/// The mark of position `seq` of `space`'s log; `None` at 0 or where the log holds nothing.
async fn mark_at(tx: &mut impl Tx, space: &str, seq: u64) -> BackendResult<Option<String>> {
    if seq == 0 {
        return Ok(None);
    }
    let row = tx
        .query_opt(sql::CHANGE_AT, params![space, position(seq)])
        .await?;
    Ok(match row {
        Some(row) => Some(tinjau_core::sync::position_mark(space, seq, &row.text(0)?)),
        None => None,
    })
}

pub(crate) async fn pull(
    tx: &mut impl Tx,
    auth: &TokenRecord,
    after: u64,
    mark: Option<&str>,
    limit: u32,
) -> BackendResult<PullResponse> {
    let space = auth.competition.as_str();
    let package: Package = parse_json("package", &package_text(tx, space).await?)?;
    if let Some(mark) = mark
        && after > 0
        && mark_at(tx, space, after).await?.as_deref() != Some(mark)
    {
        return Ok(PullResponse {
            changes: Vec::new(),
            next: 0,
            more: true,
            conflicts: Vec::new(),
            mark: None,
            log_changed: true,
            registrations: Vec::new(),
            identities: Vec::new(),
            signed_from: 0,
            revocations: Vec::new(),
        });
    }
    let after_position = after.min(i64::MAX as u64) as i64;
    let rows = tx
        .query(
            sql::PULL,
            params![space, after_position, i64::from(limit), PULL_PAGE_BYTES],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(LogRow {
                seq: r.int(0)?,
                entry: r.text(1)?,
                owner: r.text(2)?,
                entity: r.text(3)?,
                visit_id: r.opt_text(4)?,
                running: r.int(5)?,
            })
        })
        .collect::<BackendResult<Vec<_>>>()?;
    let conflicts = tx
        .query(sql::OPEN_CONFLICTS, params![space])
        .await?
        .iter()
        .map(|r| Ok((r.text(0)?, r.text(1)?)))
        .collect::<BackendResult<Vec<_>>>()?;
    let mut page = pull_page(&package, auth, after, limit, rows, conflicts)?;
    page.mark = mark_at(tx, space, page.next).await?;
    // What a laptop checks the page's signatures against.
    let devices: BTreeSet<Uuid> = page.changes.iter().map(|c| c.entry.device_id).collect();
    for device in &devices {
        page.registrations
            .extend(registration(tx, space, device).await?);
    }
    if let Some(row) = tx.query_opt(sql::SIGNED_FROM, params![space]).await? {
        page.signed_from = row.int(0)?.max(0) as u64;
    }
    page.revocations = revocations(tx, space).await?;
    // Every juror's, on every page: a lead who syncs before a visit can check sheet files of
    // jurors who never reached the server.
    page.identities = identities(tx, space)
        .await?
        .into_iter()
        .map(|(juror, public_key)| JurorKey { juror, public_key })
        .collect();
    Ok(page)
}

pub(crate) async fn quarantine(
    tx: &mut impl Tx,
    competition: &str,
) -> BackendResult<Vec<QuarantineView>> {
    tx.query(sql::QUARANTINE, params![competition])
        .await?
        .iter()
        .map(|r| {
            Ok(QuarantineView {
                change_id: r.uuid(0)?,
                author: r.text(1)?,
                reason: r.text(2)?,
                received_at: r.text(3)?,
                entry: parse_json("quarantined entry", &r.text(4)?)?,
            })
        })
        .collect()
}

pub(crate) async fn evidence_refs(
    tx: &mut impl Tx,
    competition: &str,
    hash: &str,
) -> BackendResult<Vec<(String, String, i64)>> {
    tx.query(sql::EVIDENCE_REFS, params![competition, hash])
        .await?
        .iter()
        .map(|r| Ok((r.text(0)?, r.text(1)?, r.int(2)?)))
        .collect()
}

pub(crate) async fn complete_blobs(
    tx: &mut impl Tx,
    hashes: &[String],
) -> BackendResult<std::collections::HashSet<String>> {
    let mut complete = std::collections::HashSet::new();
    for hash in hashes {
        if read_blob_status(tx, hash, "")
            .await?
            .is_some_and(|s| s.complete)
        {
            complete.insert(hash.clone());
        }
    }
    Ok(complete)
}

pub(crate) async fn blob_status(tx: &mut impl Tx, hash: &str) -> BackendResult<Option<BlobStatus>> {
    read_blob_status(tx, hash, "").await
}

async fn read_blob_status(
    tx: &mut impl Tx,
    hash: &str,
    suffix: &str,
) -> BackendResult<Option<BlobStatus>> {
    match tx
        .query_opt(&format!("{}{suffix}", sql::BLOB_STATUS), params![hash])
        .await?
    {
        Some(row) => Ok(Some(BlobStatus {
            size: row.int(0)? as u64,
            received: row.int(1)? as u64,
            complete: row.int(2)? != 0,
        })),
        None => Ok(None),
    }
}

/// What appending a chunk did: the new status, or the whole file discarded because it did not
/// hash to its name (the discard is committed; the caller reports it).
pub(crate) enum Appended {
    Status(BlobStatus),
    Discarded,
}

/// Appends one chunk of an evidence file at `offset`; on the last chunk, checks the whole
/// file's hash ("hash, then discard": a file that does not hash to its name is dropped).
pub(crate) async fn blob_append(
    tx: &mut impl Tx,
    hash: &str,
    size: u64,
    offset: u64,
    data: &[u8],
    now: &str,
) -> BackendResult<Appended> {
    let dialect = tx.dialect();
    let size_param = size.min(i64::MAX as u64) as i64;
    tx.execute(sql::INSERT_BLOB, params![hash, size_param, now])
        .await?;
    let current = read_blob_status(tx, hash, dialect.for_update()).await?;
    // A blob row created just now by this call starts empty, like no row at all.
    let current = current.filter(|s| s.received > 0 || s.complete || s.size != size);
    match plan_append(hash, current, size, offset, data.len())? {
        AppendStep::Done(status) => return Ok(Appended::Status(status)),
        AppendStep::Write { reset: true } => {
            tx.execute(sql::DROP_CHUNKS, params![hash]).await?;
            tx.execute(sql::RESET_BLOB, params![size_param, hash])
                .await?;
        }
        AppendStep::Write { reset: false } => {}
    }
    if !data.is_empty() {
        let at = offset.min(i64::MAX as u64) as i64;
        tx.execute(sql::INSERT_CHUNK, params![hash, at, data])
            .await?;
    }
    let received = offset + data.len() as u64;
    let mut complete = false;
    if received == size {
        let mut hasher = blake3::Hasher::new();
        for row in tx.query(sql::CHUNKS, params![hash]).await? {
            hasher.update(row.bytes(0)?);
        }
        if hasher.finalize().to_hex().as_str() != hash {
            tx.execute(sql::DROP_CHUNKS, params![hash]).await?;
            tx.execute(sql::SET_RECEIVED, params![0i64, 0i64, hash])
                .await?;
            return Ok(Appended::Discarded);
        }
        complete = true;
    }
    let received_param = received.min(i64::MAX as u64) as i64;
    tx.execute(
        sql::SET_RECEIVED,
        params![received_param, i64::from(complete), hash],
    )
    .await?;
    Ok(Appended::Status(BlobStatus {
        size,
        received,
        complete,
    }))
}

pub(crate) async fn blob_read(tx: &mut impl Tx, hash: &str) -> BackendResult<Option<Vec<u8>>> {
    match blob_status(tx, hash).await? {
        Some(status) if status.complete => {
            let mut bytes = Vec::with_capacity(status.size.min(1 << 30) as usize);
            for row in tx.query(sql::CHUNKS, params![hash]).await? {
                bytes.extend_from_slice(row.bytes(0)?);
            }
            Ok(Some(bytes))
        }
        _ => Ok(None),
    }
}

/// Bytes `start..=end` of a complete file, cut at its end, and the file's size; `None` when
/// the file is not (yet) complete. A `start` past the end gives no bytes.
pub(crate) async fn blob_read_range(
    tx: &mut impl Tx,
    hash: &str,
    start: u64,
    end: u64,
) -> BackendResult<Option<(Vec<u8>, u64)>> {
    let size = match blob_status(tx, hash).await? {
        Some(status) if status.complete => status.size,
        _ => return Ok(None),
    };
    if start >= size {
        return Ok(Some((Vec::new(), size)));
    }
    let last = end.min(size - 1);
    let lowest = start as i64 - crate::MAX_CHUNK_BYTES as i64;
    let mut part = Vec::with_capacity((last - start + 1).min(1 << 30) as usize);
    for row in tx
        .query(
            sql::CHUNKS_IN,
            params![hash, lowest, last.min(i64::MAX as u64) as i64],
        )
        .await?
    {
        let offset = row.int(0)?.max(0) as u64;
        let data = row.bytes(1)?;
        let from = start.saturating_sub(offset) as usize;
        let to = ((last + 1).saturating_sub(offset) as usize).min(data.len());
        if from < to {
            part.extend_from_slice(&data[from..to]);
        }
    }
    if part.len() as u64 != last - start + 1 {
        return Err(BackendError::Invalid(format!(
            "the stored file {hash} is missing bytes in {start}..={last}"
        )));
    }
    Ok(Some((part, size)))
}

/// The error a discarded upload answers with.
pub(crate) fn discarded(hash: &str) -> BackendError {
    BackendError::Invalid(format!(
        "the uploaded file does not hash to {hash}; it was discarded: upload it again"
    ))
}
