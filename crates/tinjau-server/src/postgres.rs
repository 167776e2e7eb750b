//! The scale-out backend: PostgreSQL through a connection pool. Instances keep nothing in
//! memory that another needs; pushes to one competition are serialised by locking its row
//! (`SELECT … FOR UPDATE`), so log positions are assigned in commit order with no gaps.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tinjau_core::Package;
use tinjau_core::sync::{
    AccessRole, ChangeOutcome, DeviceChain, FieldState, Known, Link, PullResponse, PushRequest,
};
use tokio_postgres::NoTls;
use uuid::Uuid;

use crate::backend::{
    AppendStep, BACKFILL_SCHEMA, BackendError, BackendResult, BlobStatus, Gathered, LogRow,
    MIGRATIONS, PULL_PAGE_BYTES, PublishOutcome, QuarantineView, TokenRecord, backfill_of_log,
    parse_json, parse_role, plan, plan_append, position, publish_outcome, pull_page,
    refusal_code_text, sql, stored_refusal, timestamp, touched,
};

pub struct PostgresBackend {
    pool: Pool,
}

fn pool_error(error: impl std::fmt::Display) -> BackendError {
    BackendError::Pool(error.to_string())
}

impl PostgresBackend {
    pub async fn connect(url: &str) -> BackendResult<Self> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| BackendError::Invalid(format!("the database URL is not valid: {e}")))?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(16)
            .build()
            .map_err(pool_error)?;
        let mut client = pool.get().await.map_err(pool_error)?;
        let tx = client.transaction().await?;
        // Two instances starting together must not both create the schema.
        tx.execute("SELECT pg_advisory_xact_lock(7413021)", &[])
            .await?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS tinjau_schema (version BIGINT NOT NULL)")
            .await?;
        let version: i64 = tx
            .query_opt("SELECT version FROM tinjau_schema", &[])
            .await?
            .map_or(0, |row| row.get(0));
        if version > MIGRATIONS.len() as i64 {
            return Err(BackendError::Invalid(format!(
                "the database was written by a newer tinjau-server (schema {version})"
            )));
        }
        for (index, migration) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            // One schema for both backends: PostgreSQL calls SQLite's BLOB type BYTEA.
            tx.batch_execute(&migration.replace(" BLOB ", " BYTEA "))
                .await?;
            if index + 1 == BACKFILL_SCHEMA && version > 0 {
                let rows = tx.query(sql::LOG_AND_QUARANTINE, &[]).await?;
                let backfill = backfill_of_log(
                    rows.iter()
                        .map(|r| (r.get(0), r.get(1), r.get::<_, i32>(2) == 1)),
                );
                for (competition, reference) in backfill.evidence {
                    tx.execute(
                        sql::INSERT_EVIDENCE_REF,
                        &[
                            &competition,
                            &reference.hash,
                            &reference.owner,
                            &reference.visit_id,
                            &(reference.size.min(i64::MAX as u64) as i64),
                        ],
                    )
                    .await?;
                }
                for (competition, device, seq, link) in backfill.links {
                    tx.execute(
                        sql::INSERT_LINK,
                        &[
                            &competition,
                            &device.to_string(),
                            &position(seq),
                            &link.hash,
                            &link.prev_hash,
                        ],
                    )
                    .await?;
                }
            }
        }
        tx.execute("DELETE FROM tinjau_schema", &[]).await?;
        tx.execute(
            "INSERT INTO tinjau_schema (version) VALUES ($1)",
            &[&(MIGRATIONS.len() as i64)],
        )
        .await?;
        tx.commit().await?;
        Ok(PostgresBackend { pool })
    }

    async fn client(&self) -> BackendResult<deadpool_postgres::Object> {
        self.pool.get().await.map_err(pool_error)
    }

    pub async fn publish(&self, package: &Package, text: String) -> BackendResult<PublishOutcome> {
        let id = package.competition.id.clone();
        let revision = package.revision;
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute("LOCK TABLE competition IN SHARE ROW EXCLUSIVE MODE", &[])
            .await?;
        let existing = tx.query_opt(sql::EXISTING, &[&id]).await?;
        let outcome =
            publish_outcome(&id, revision, &text, existing.map(|r| (r.get(0), r.get(1))))?;
        match outcome {
            PublishOutcome::Published { .. } => {
                tx.execute(sql::INSERT_COMPETITION, &[&id, &revision, &text])
                    .await?;
            }
            PublishOutcome::Updated { .. } => {
                tx.execute(sql::UPDATE_COMPETITION, &[&revision, &text, &id])
                    .await?;
            }
            PublishOutcome::Unchanged { .. } => {}
        }
        tx.commit().await?;
        Ok(outcome)
    }

    pub async fn competitions(&self) -> BackendResult<Vec<String>> {
        let client = self.client().await?;
        Ok(client
            .query(sql::COMPETITIONS, &[])
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }

    pub async fn insert_token(
        &self,
        competition: &str,
        juror: &str,
        role: AccessRole,
        hash: &str,
        now: &str,
    ) -> BackendResult<()> {
        let client = self.client().await?;
        client
            .execute(
                sql::INSERT_TOKEN,
                &[&hash, &competition, &juror, &role.as_str(), &now],
            )
            .await?;
        Ok(())
    }

    pub async fn revoke_token(&self, hash: &str, now: &str) -> BackendResult<bool> {
        let client = self.client().await?;
        let exists: i64 = client.query_one(sql::TOKEN_EXISTS, &[&hash]).await?.get(0);
        client.execute(sql::REVOKE_TOKEN, &[&now, &hash]).await?;
        Ok(exists > 0)
    }

    pub async fn authenticate(&self, hash: &str) -> BackendResult<Option<TokenRecord>> {
        let client = self.client().await?;
        client
            .query_opt(sql::AUTHENTICATE, &[&hash])
            .await?
            .map(|r| {
                Ok(TokenRecord {
                    competition: r.get(0),
                    juror: r.get(1),
                    role: parse_role(r.get(2))?,
                    revoked: r.get(3),
                })
            })
            .transpose()
    }

    pub async fn package_text(&self, competition: &str) -> BackendResult<String> {
        let client = self.client().await?;
        package_text(&**client, competition).await
    }

    pub async fn push(
        &self,
        auth: &TokenRecord,
        request: &PushRequest,
        now: DateTime<Utc>,
        skew_ms: i64,
    ) -> BackendResult<Vec<ChangeOutcome>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let space = auth.competition.as_str();
        let row = tx
            .query_opt(
                "SELECT package, counter FROM competition WHERE id = $1 FOR UPDATE",
                &[&space],
            )
            .await?
            .ok_or_else(|| {
                BackendError::NotFound(format!(
                    "competition \"{space}\" is not published on this server"
                ))
            })?;
        let package: Package = parse_json("package", row.get(0))?;
        let mut counter: i64 = row.get(1);
        let (ids, keys, positions) = touched(&package, request);
        let id_texts: Vec<String> = ids.iter().map(Uuid::to_string).collect();
        let mut known = HashMap::new();
        for row in tx
            .query(
                "SELECT change_id FROM change_log WHERE change_id = ANY($1)",
                &[&id_texts],
            )
            .await?
        {
            known.insert(parse_uuid(row.get(0))?, Known::Logged);
        }
        for row in tx
            .query("SELECT change_id, reason, code FROM quarantine WHERE competition = $1 AND change_id = ANY($2)", &[&space, &id_texts])
            .await?
        {
            known
                .entry(parse_uuid(row.get(0))?)
                .or_insert(Known::Quarantined(stored_refusal(row.get(1), row.get(2))));
        }
        let mut devices = HashMap::new();
        for (device, (low, high)) in positions {
            let Some(row) = tx
                .query_opt(sql::DEVICE, &[&space, &device.to_string()])
                .await?
            else {
                continue;
            };
            let links = tx
                .query(
                    sql::DEVICE_LINKS,
                    &[&space, &device.to_string(), &position(low), &position(high)],
                )
                .await?
                .iter()
                .map(|r| {
                    (
                        r.get::<_, i64>(0) as u64,
                        Link {
                            hash: r.get(1),
                            prev_hash: r.get(2),
                        },
                    )
                })
                .collect();
            devices.insert(
                device,
                DeviceChain {
                    juror: row.get(0),
                    links,
                },
            );
        }
        let row_ids: Vec<String> = keys.iter().map(|k| k.row_id.to_string()).collect();
        let mut states = HashMap::new();
        let mut open = Vec::new();
        for row in tx
            .query(
                "SELECT entity, row_id, field, state FROM field_state WHERE competition = $1 AND row_id = ANY($2)",
                &[&space, &row_ids],
            )
            .await?
        {
            let entity: &str = row.get(0);
            let key = tinjau_core::sync::FieldKey {
                entity: entity.parse().map_err(|e| BackendError::Corrupt(format!("entity: {e}")))?,
                row_id: parse_uuid(row.get(1))?,
                field: row.get(2),
            };
            if keys.binary_search(&key).is_ok() {
                let state: FieldState = parse_json("field state", row.get(3))?;
                open.extend(state.open_conflict.map(|id| id.to_string()));
                states.insert(key, state);
            }
        }
        let mut conflicts = HashMap::new();
        for row in tx
            .query(
                "SELECT id, view FROM conflict WHERE competition = $1 AND id = ANY($2)",
                &[&space, &open],
            )
            .await?
        {
            conflicts.insert(parse_uuid(row.get(0))?, parse_json("conflict", row.get(1))?);
        }
        let locked: HashSet<String> = tx
            .query(sql::LOCKED, &[&space])
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();

        let plan = plan(
            &Gathered {
                package,
                known,
                states,
                conflicts,
                locked,
                devices,
            },
            auth,
            request,
            now,
        );

        let received_at = timestamp(now);
        let insert = tx.prepare(sql::INSERT_LOG).await?;
        for logged in &plan.log {
            counter += 1;
            let entry = &logged.entry;
            let json = serde_json::to_string(entry).expect("an entry serialises");
            tx.execute(
                &insert,
                &[
                    &space,
                    &counter,
                    &entry.change_id.to_string(),
                    &entry.author,
                    &logged.owner,
                    &entry.entity.as_str(),
                    &entry.visit_id,
                    &json,
                    &received_at,
                ],
            )
            .await?;
        }
        let upsert = tx.prepare(sql::UPSERT_STATE).await?;
        for (key, state) in &plan.states {
            let json = serde_json::to_string(state).expect("a state serialises");
            tx.execute(
                &upsert,
                &[
                    &space,
                    &key.entity.as_str(),
                    &key.row_id.to_string(),
                    &key.field,
                    &json,
                ],
            )
            .await?;
        }
        for (id, view) in &plan.conflicts {
            let json = serde_json::to_string(view).expect("a conflict serialises");
            let resolved = i32::from(view.resolved_by.is_some());
            tx.execute(
                sql::UPSERT_CONFLICT,
                &[&space, &id.to_string(), &view.owner, &resolved, &json],
            )
            .await?;
        }
        for (entry, refusal) in &plan.quarantine {
            let json = serde_json::to_string(entry).expect("an entry serialises");
            tx.execute(
                sql::INSERT_QUARANTINE,
                &[
                    &space,
                    &entry.change_id.to_string(),
                    &entry.author,
                    &refusal.message,
                    &json,
                    &received_at,
                    &refusal_code_text(refusal.code),
                ],
            )
            .await?;
        }
        for visit in &plan.new_locks {
            tx.execute(sql::INSERT_LOCK, &[&space, visit]).await?;
        }
        for reference in &plan.evidence {
            tx.execute(
                sql::INSERT_EVIDENCE_REF,
                &[
                    &space,
                    &reference.hash,
                    &reference.owner,
                    &reference.visit_id,
                    &(reference.size.min(i64::MAX as u64) as i64),
                ],
            )
            .await?;
        }
        for (device, chain) in &plan.devices {
            let device = device.to_string();
            tx.execute(
                sql::UPSERT_DEVICE,
                &[&space, &device, &chain.juror, &received_at, &skew_ms],
            )
            .await?;
            for (seq, added) in &chain.links {
                tx.execute(
                    sql::INSERT_LINK,
                    &[
                        &space,
                        &device,
                        &position(*seq),
                        &added.hash,
                        &added.prev_hash,
                    ],
                )
                .await?;
            }
        }
        tx.execute(sql::SET_COUNTER, &[&counter, &space]).await?;
        tx.commit().await?;
        Ok(plan.outcomes)
    }

    pub async fn pull(
        &self,
        auth: &TokenRecord,
        after: u64,
        limit: u32,
    ) -> BackendResult<PullResponse> {
        let mut client = self.client().await?;
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let space = auth.competition.as_str();
        let package: Package = parse_json("package", &package_text(&*tx, space).await?)?;
        let rows = tx
            .query(
                sql::PULL,
                &[&space, &(after as i64), &i64::from(limit), &PULL_PAGE_BYTES],
            )
            .await?
            .iter()
            .map(|r| LogRow {
                seq: r.get(0),
                entry: r.get(1),
                owner: r.get(2),
                entity: r.get(3),
                visit_id: r.get(4),
                running: r.get(5),
            })
            .collect();
        let conflicts = tx
            .query(sql::OPEN_CONFLICTS, &[&space])
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        tx.commit().await?;
        pull_page(&package, auth, after, limit, rows, conflicts)
    }

    pub async fn quarantine(&self, competition: &str) -> BackendResult<Vec<QuarantineView>> {
        let client = self.client().await?;
        client
            .query(sql::QUARANTINE, &[&competition])
            .await?
            .iter()
            .map(|r| {
                Ok(QuarantineView {
                    change_id: parse_uuid(r.get(0))?,
                    author: r.get(1),
                    reason: r.get(2),
                    received_at: r.get(3),
                    entry: parse_json("quarantined entry", r.get(4))?,
                })
            })
            .collect()
    }

    pub async fn evidence_refs(
        &self,
        competition: &str,
        hash: &str,
    ) -> BackendResult<Vec<(String, String, i64)>> {
        let client = self.client().await?;
        Ok(client
            .query(sql::EVIDENCE_REFS, &[&competition, &hash])
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect())
    }

    pub async fn blob_status(&self, hash: &str) -> BackendResult<Option<BlobStatus>> {
        let client = self.client().await?;
        blob_status(&**client, hash, "").await
    }

    pub async fn blob_append(
        &self,
        hash: &str,
        size: u64,
        offset: u64,
        data: &[u8],
        now: &str,
    ) -> BackendResult<BlobStatus> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute(sql::INSERT_BLOB, &[&hash, &(size as i64), &now])
            .await?;
        let current = blob_status(&*tx, hash, " FOR UPDATE").await?;
        // A blob row created just now by this call starts empty, like no row at all.
        let current = current.filter(|s| s.received > 0 || s.complete || s.size != size);
        match plan_append(hash, current, size, offset, data.len())? {
            AppendStep::Done(status) => return Ok(status),
            AppendStep::Write { reset: true } => {
                tx.execute(sql::DROP_CHUNKS, &[&hash]).await?;
                tx.execute(sql::RESET_BLOB, &[&(size as i64), &hash])
                    .await?;
            }
            AppendStep::Write { reset: false } => {}
        }
        if !data.is_empty() {
            tx.execute(sql::INSERT_CHUNK, &[&hash, &(offset as i64), &data])
                .await?;
        }
        let received = offset + data.len() as u64;
        let mut complete = false;
        if received == size {
            let mut hasher = blake3::Hasher::new();
            for row in tx.query(sql::CHUNKS, &[&hash]).await? {
                hasher.update(row.get::<_, &[u8]>(0));
            }
            if hasher.finalize().to_hex().as_str() != hash {
                tx.execute(sql::DROP_CHUNKS, &[&hash]).await?;
                tx.execute(sql::SET_RECEIVED, &[&0i64, &0i32, &hash])
                    .await?;
                tx.commit().await?;
                return Err(BackendError::Invalid(format!(
                    "the uploaded file does not hash to {hash}; it was discarded: upload it again"
                )));
            }
            complete = true;
        }
        tx.execute(
            sql::SET_RECEIVED,
            &[&(received as i64), &i32::from(complete), &hash],
        )
        .await?;
        tx.commit().await?;
        Ok(BlobStatus {
            size,
            received,
            complete,
        })
    }

    pub async fn blob_read(&self, hash: &str) -> BackendResult<Option<Vec<u8>>> {
        let client = self.client().await?;
        match blob_status(&**client, hash, "").await? {
            Some(status) if status.complete => {
                let mut bytes = Vec::with_capacity(status.size as usize);
                for row in client.query(sql::CHUNKS, &[&hash]).await? {
                    bytes.extend_from_slice(row.get::<_, &[u8]>(0));
                }
                Ok(Some(bytes))
            }
            _ => Ok(None),
        }
    }
}

fn parse_uuid(text: &str) -> BackendResult<Uuid> {
    Uuid::parse_str(text).map_err(|e| BackendError::Corrupt(format!("id \"{text}\": {e}")))
}

async fn package_text(
    client: &impl tokio_postgres::GenericClient,
    competition: &str,
) -> BackendResult<String> {
    client
        .query_opt(sql::PACKAGE, &[&competition])
        .await?
        .map(|r| r.get(0))
        .ok_or_else(|| {
            BackendError::NotFound(format!(
                "competition \"{competition}\" is not published on this server"
            ))
        })
}

async fn blob_status(
    client: &impl tokio_postgres::GenericClient,
    hash: &str,
    suffix: &str,
) -> BackendResult<Option<BlobStatus>> {
    Ok(client
        .query_opt(&format!("{}{suffix}", sql::BLOB_STATUS), &[&hash])
        .await?
        .map(|r| BlobStatus {
            size: r.get::<_, i64>(0) as u64,
            received: r.get::<_, i64>(1) as u64,
            complete: r.get::<_, i32>(2) != 0,
        }))
}
