//! The embedded backend: one SQLite file, one connection, writes serialised by SQLite itself
//! (`BEGIN IMMEDIATE`), blocking calls moved off the async runtime.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use tinjau_core::Package;
use tinjau_core::sync::{
    AccessRole, ChangeOutcome, DeviceChain, Known, Link, PullResponse, PushRequest,
};
use uuid::Uuid;

use crate::backend::{
    AppendStep, BACKFILL_SCHEMA, BackendError, BackendResult, BlobStatus, Gathered, LogRow,
    PULL_PAGE_BYTES, PublishOutcome, QuarantineView, TokenRecord, backfill_of_log, parse_json,
    parse_role, plan, plan_append, position, publish_outcome, pull_page, refusal_code_text, sql,
    stored_refusal, timestamp, touched,
};

const MIGRATIONS: &[&str] = crate::backend::MIGRATIONS;

pub struct SqliteBackend {
    conn: Arc<Mutex<Connection>>,
}

impl SqliteBackend {
    pub fn open(data_dir: &std::path::Path) -> BackendResult<Self> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            BackendError::Invalid(format!("cannot create {}: {e}", data_dir.display()))
        })?;
        let mut conn = Connection::open(data_dir.join("tinjau-server.sqlite3"))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > MIGRATIONS.len() as i64 {
            return Err(BackendError::Invalid(format!(
                "the database was written by a newer tinjau-server (schema {version})"
            )));
        }
        for (index, migration) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.execute_batch(migration)?;
            tx.pragma_update(None, "user_version", index as i64 + 1)?;
            if index + 1 == BACKFILL_SCHEMA && version > 0 {
                let rows: Vec<(String, String, bool)> = tx
                    .prepare(sql::LOG_AND_QUARANTINE)?
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? == 1)))?
                    .collect::<rusqlite::Result<_>>()?;
                let backfill = backfill_of_log(rows);
                for (competition, reference) in backfill.evidence {
                    tx.execute(
                        sql::INSERT_EVIDENCE_REF,
                        params![
                            competition,
                            reference.hash,
                            reference.owner,
                            reference.visit_id,
                            reference.size as i64
                        ],
                    )?;
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
                    )?;
                }
            }
        }
        tx.commit()?;
        Ok(SqliteBackend {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> BackendResult<T> + Send + 'static,
    ) -> BackendResult<T> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            work(&mut conn)
        })
        .await
        .map_err(|e| BackendError::Task(e.to_string()))?
    }

    pub async fn publish(&self, package: &Package, text: String) -> BackendResult<PublishOutcome> {
        let id = package.competition.id.clone();
        let revision = package.revision;
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let existing: Option<(i64, String)> = tx
                .query_row(sql::EXISTING, [&id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            let outcome = publish_outcome(&id, revision, &text, existing)?;
            match outcome {
                PublishOutcome::Published { .. } => {
                    tx.execute(sql::INSERT_COMPETITION, params![id, revision, text])?;
                }
                PublishOutcome::Updated { .. } => {
                    tx.execute(sql::UPDATE_COMPETITION, params![revision, text, id])?;
                }
                PublishOutcome::Unchanged { .. } => {}
            }
            tx.commit()?;
            Ok(outcome)
        })
        .await
    }

    pub async fn competitions(&self) -> BackendResult<Vec<String>> {
        self.run(|conn| {
            Ok(conn
                .prepare(sql::COMPETITIONS)?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    pub async fn insert_token(
        &self,
        competition: &str,
        juror: &str,
        role: AccessRole,
        hash: &str,
        now: &str,
    ) -> BackendResult<()> {
        let args = (
            competition.to_string(),
            juror.to_string(),
            role.as_str(),
            hash.to_string(),
            now.to_string(),
        );
        self.run(move |conn| {
            conn.execute(
                sql::INSERT_TOKEN,
                params![args.3, args.0, args.1, args.2, args.4],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn revoke_token(&self, hash: &str, now: &str) -> BackendResult<bool> {
        let (hash, now) = (hash.to_string(), now.to_string());
        self.run(move |conn| {
            let exists: i64 = conn.query_row(sql::TOKEN_EXISTS, [&hash], |r| r.get(0))?;
            conn.execute(sql::REVOKE_TOKEN, params![now, hash])?;
            Ok(exists > 0)
        })
        .await
    }

    pub async fn authenticate(&self, hash: &str) -> BackendResult<Option<TokenRecord>> {
        let hash = hash.to_string();
        self.run(move |conn| {
            let row: Option<(String, String, String, bool)> = conn
                .query_row(sql::AUTHENTICATE, [&hash], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })
                .optional()?;
            row.map(|(competition, juror, role, revoked)| {
                Ok(TokenRecord {
                    competition,
                    juror,
                    role: parse_role(&role)?,
                    revoked,
                })
            })
            .transpose()
        })
        .await
    }

    pub async fn package_text(&self, competition: &str) -> BackendResult<String> {
        let competition = competition.to_string();
        self.run(move |conn| package_text(conn, &competition)).await
    }

    pub async fn push(
        &self,
        auth: &TokenRecord,
        request: &PushRequest,
        now: DateTime<Utc>,
        skew_ms: i64,
    ) -> BackendResult<Vec<ChangeOutcome>> {
        let (auth, request) = (auth.clone(), request.clone());
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let space = auth.competition.as_str();
            let package: Package = parse_json("package", &package_text(&tx, space)?)?;
            let (ids, keys, positions) = touched(&package, &request);
            let mut known = HashMap::new();
            {
                let mut logged = tx.prepare_cached("SELECT 1 FROM change_log WHERE change_id = $1")?;
                let mut refused = tx.prepare_cached(
                    "SELECT reason, code FROM quarantine WHERE competition = $1 AND change_id = $2",
                )?;
                for id in &ids {
                    let text = id.to_string();
                    if logged.exists([&text])? {
                        known.insert(*id, Known::Logged);
                    } else if let Some((reason, code)) = refused
                        .query_row(params![space, text], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                        .optional()?
                    {
                        known.insert(*id, Known::Quarantined(stored_refusal(reason, &code)));
                    }
                }
            }
            let mut devices = HashMap::new();
            for (device, (low, high)) in positions {
                let juror: Option<String> = tx
                    .prepare_cached(sql::DEVICE)?
                    .query_row(params![space, device.to_string()], |r| r.get(0))
                    .optional()?;
                let Some(juror) = juror else { continue };
                let links = tx
                    .prepare_cached(sql::DEVICE_LINKS)?
                    .query_map(params![space, device.to_string(), position(low), position(high)], |r| {
                        Ok((r.get::<_, i64>(0)? as u64, Link { hash: r.get(1)?, prev_hash: r.get(2)? }))
                    })?
                    .collect::<rusqlite::Result<_>>()?;
                devices.insert(device, DeviceChain { juror, links });
            }
            let mut states = HashMap::new();
            let mut conflicts = HashMap::new();
            {
                let mut state = tx.prepare_cached(
                    "SELECT state FROM field_state WHERE competition = $1 AND entity = $2 AND row_id = $3 AND field = $4",
                )?;
                let mut conflict = tx.prepare_cached("SELECT view FROM conflict WHERE competition = $1 AND id = $2")?;
                for key in keys {
                    let text: Option<String> = state
                        .query_row(params![space, key.entity.as_str(), key.row_id.to_string(), key.field], |r| r.get(0))
                        .optional()?;
                    if let Some(text) = text {
                        let parsed: tinjau_core::sync::FieldState = parse_json("field state", &text)?;
                        if let Some(id) = parsed.open_conflict {
                            let view: String = conflict.query_row(params![space, id.to_string()], |r| r.get(0))?;
                            conflicts.insert(id, parse_json("conflict", &view)?);
                        }
                        states.insert(key, parsed);
                    }
                }
            }
            let locked: HashSet<String> = tx
                .prepare_cached(sql::LOCKED)?
                .query_map([space], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let mut counter: i64 = tx.query_row("SELECT counter FROM competition WHERE id = $1", [space], |r| r.get(0))?;

            let plan = plan(&Gathered { package, known, states, conflicts, locked, devices }, &auth, &request, now);

            let received_at = timestamp(now);
            {
                let mut insert = tx.prepare_cached(sql::INSERT_LOG)?;
                for logged in &plan.log {
                    counter += 1;
                    let entry = &logged.entry;
                    insert.execute(params![
                        space,
                        counter,
                        entry.change_id.to_string(),
                        entry.author,
                        logged.owner,
                        entry.entity.as_str(),
                        entry.visit_id,
                        serde_json::to_string(entry).expect("an entry serialises"),
                        received_at,
                    ])?;
                }
                let mut upsert = tx.prepare_cached(sql::UPSERT_STATE)?;
                for (key, state) in &plan.states {
                    upsert.execute(params![
                        space,
                        key.entity.as_str(),
                        key.row_id.to_string(),
                        key.field,
                        serde_json::to_string(state).expect("a state serialises"),
                    ])?;
                }
                let mut upsert = tx.prepare_cached(sql::UPSERT_CONFLICT)?;
                for (id, view) in &plan.conflicts {
                    upsert.execute(params![
                        space,
                        id.to_string(),
                        view.owner,
                        i64::from(view.resolved_by.is_some()),
                        serde_json::to_string(view).expect("a conflict serialises"),
                    ])?;
                }
                let mut insert = tx.prepare_cached(sql::INSERT_QUARANTINE)?;
                for (entry, refusal) in &plan.quarantine {
                    insert.execute(params![
                        space,
                        entry.change_id.to_string(),
                        entry.author,
                        refusal.message,
                        serde_json::to_string(entry).expect("an entry serialises"),
                        received_at,
                        refusal_code_text(refusal.code),
                    ])?;
                }
                for visit in &plan.new_locks {
                    tx.execute(sql::INSERT_LOCK, params![space, visit])?;
                }
                let mut insert = tx.prepare_cached(sql::INSERT_EVIDENCE_REF)?;
                for reference in &plan.evidence {
                    insert.execute(params![
                        space,
                        reference.hash,
                        reference.owner,
                        reference.visit_id,
                        reference.size.min(i64::MAX as u64) as i64,
                    ])?;
                }
                let mut upsert = tx.prepare_cached(sql::UPSERT_DEVICE)?;
                let mut link = tx.prepare_cached(sql::INSERT_LINK)?;
                for (device, chain) in &plan.devices {
                    let device = device.to_string();
                    upsert.execute(params![space, device, chain.juror, received_at, skew_ms])?;
                    for (seq, added) in &chain.links {
                        link.execute(params![space, device, position(*seq), added.hash, added.prev_hash])?;
                    }
                }
            }
            tx.execute(sql::SET_COUNTER, params![counter, space])?;
            tx.commit()?;
            Ok(plan.outcomes)
        })
        .await
    }

    pub async fn pull(
        &self,
        auth: &TokenRecord,
        after: u64,
        limit: u32,
    ) -> BackendResult<PullResponse> {
        let auth = auth.clone();
        self.run(move |conn| {
            let tx = conn.transaction()?;
            let space = auth.competition.as_str();
            let package: Package = parse_json("package", &package_text(&tx, space)?)?;
            let rows = tx
                .prepare_cached(sql::PULL)?
                .query_map(
                    params![space, after as i64, i64::from(limit), PULL_PAGE_BYTES],
                    |r| {
                        Ok(LogRow {
                            seq: r.get(0)?,
                            entry: r.get(1)?,
                            owner: r.get(2)?,
                            entity: r.get(3)?,
                            visit_id: r.get(4)?,
                            running: r.get(5)?,
                        })
                    },
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let conflicts = tx
                .prepare_cached(sql::OPEN_CONFLICTS)?
                .query_map([space], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            pull_page(&package, &auth, after, limit, rows, conflicts)
        })
        .await
    }

    pub async fn quarantine(&self, competition: &str) -> BackendResult<Vec<QuarantineView>> {
        let competition = competition.to_string();
        self.run(move |conn| {
            let rows = conn
                .prepare(sql::QUARANTINE)?
                .query_map([&competition], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get::<_, String>(4)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(id, author, reason, received_at, entry)| {
                    Ok(QuarantineView {
                        change_id: Uuid::parse_str(&id)
                            .map_err(|e| BackendError::Corrupt(e.to_string()))?,
                        author,
                        reason,
                        received_at,
                        entry: parse_json("quarantined entry", &entry)?,
                    })
                })
                .collect()
        })
        .await
    }

    pub async fn evidence_refs(
        &self,
        competition: &str,
        hash: &str,
    ) -> BackendResult<Vec<(String, String, i64)>> {
        let (competition, hash) = (competition.to_string(), hash.to_string());
        self.run(move |conn| {
            Ok(conn
                .prepare_cached(sql::EVIDENCE_REFS)?
                .query_map(params![competition, hash], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?
                .collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    pub async fn blob_status(&self, hash: &str) -> BackendResult<Option<BlobStatus>> {
        let hash = hash.to_string();
        self.run(move |conn| blob_status(conn, &hash)).await
    }

    pub async fn blob_append(
        &self,
        hash: &str,
        size: u64,
        offset: u64,
        data: &[u8],
        now: &str,
    ) -> BackendResult<BlobStatus> {
        let (hash, data, now) = (hash.to_string(), data.to_vec(), now.to_string());
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            match plan_append(&hash, blob_status(&tx, &hash)?, size, offset, data.len())? {
                AppendStep::Done(status) => return Ok(status),
                AppendStep::Write { reset: true } => {
                    tx.execute(sql::DROP_CHUNKS, [&hash])?;
                    tx.execute(sql::RESET_BLOB, params![size as i64, hash])?;
                }
                AppendStep::Write { reset: false } => {}
            }
            tx.execute(sql::INSERT_BLOB, params![hash, size as i64, now])?;
            if !data.is_empty() {
                tx.execute(sql::INSERT_CHUNK, params![hash, offset as i64, data])?;
            }
            let received = offset + data.len() as u64;
            let mut complete = false;
            if received == size {
                let mut hasher = blake3::Hasher::new();
                for chunk in tx.prepare(sql::CHUNKS)?.query_map([&hash], |r| r.get::<_, Vec<u8>>(0))? {
                    hasher.update(&chunk?);
                }
                if hasher.finalize().to_hex().as_str() != hash {
                    tx.execute(sql::DROP_CHUNKS, [&hash])?;
                    tx.execute(sql::SET_RECEIVED, params![0i64, 0i64, hash])?;
                    tx.commit()?;
                    return Err(BackendError::Invalid(format!(
                        "the uploaded file does not hash to {hash}; it was discarded: upload it again"
                    )));
                }
                complete = true;
            }
            tx.execute(sql::SET_RECEIVED, params![received as i64, i64::from(complete), hash])?;
            tx.commit()?;
            Ok(BlobStatus { size, received, complete })
        })
        .await
    }

    pub async fn blob_read(&self, hash: &str) -> BackendResult<Option<Vec<u8>>> {
        let hash = hash.to_string();
        self.run(move |conn| match blob_status(conn, &hash)? {
            Some(status) if status.complete => {
                let mut bytes = Vec::with_capacity(status.size as usize);
                for chunk in conn
                    .prepare(sql::CHUNKS)?
                    .query_map([&hash], |r| r.get::<_, Vec<u8>>(0))?
                {
                    bytes.extend_from_slice(&chunk?);
                }
                Ok(Some(bytes))
            }
            _ => Ok(None),
        })
        .await
    }
}

fn package_text(conn: &Connection, competition: &str) -> BackendResult<String> {
    conn.query_row(sql::PACKAGE, [competition], |r| r.get(0))
        .optional()?
        .ok_or_else(|| {
            BackendError::NotFound(format!(
                "competition \"{competition}\" is not published on this server"
            ))
        })
}

fn blob_status(conn: &Connection, hash: &str) -> BackendResult<Option<BlobStatus>> {
    Ok(conn
        .query_row(sql::BLOB_STATUS, [hash], |r| {
            Ok(BlobStatus {
                size: r.get::<_, i64>(0)? as u64,
                received: r.get::<_, i64>(1)? as u64,
                complete: r.get::<_, i64>(2)? != 0,
            })
        })
        .optional()?)
}
