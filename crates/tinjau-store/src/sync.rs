//! The store's side of sync: the outbox (this device's change log), pulled pages applied with
//! their cursor in one transaction, conflicts reported by the server, evidence uploads.

use rusqlite::{OptionalExtension, TransactionBehavior, params};
use tinjau_core::chain::ChangeEntry;
use tinjau_core::change::{Change, FieldKind, FieldValue, RefusalCode, clock_limit};
use tinjau_core::hlc::Hlc;
use tinjau_core::sync::{ChangeOutcome, ConflictView, Outcome, PullResponse};
use tinjau_core::views::{OriginalsPolicy, RefusedChangeView, SyncStatus};
use uuid::Uuid;

use crate::changes::{
    ChangeTarget, ENTRY_COLUMNS, Received, Source, entry_from_row, stored_hlc, take_in,
};
use crate::evidence::stored_path;
use crate::records::invalid;
use crate::{Result, Store, StoreError, meta_get, meta_set};

/// Where and as whom this store syncs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncSettings {
    pub server: String,
    pub token: String,
    /// SHA-256 of the server's certificate (hex), for a self-signed certificate.
    pub pinned_certificate: Option<String>,
}

/// An evidence file referenced here that this laptop does not have yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingFile {
    pub hash: String,
    /// Its size, as the evidence record names it (a server claiming another is not believed).
    pub size: u64,
    /// An original whose preview travels first: fetched by the laptop's [`OriginalsPolicy`].
    pub follows_preview: bool,
}

/// An evidence file this device must upload.
#[derive(Debug, Clone)]
pub struct PendingUpload {
    pub hash: String,
    pub size: u64,
    pub path: std::path::PathBuf,
    /// A photo's preview (sent first) rather than an original.
    pub preview: bool,
    /// An original whose preview travels first: it may wait ([`OriginalsPolicy`]).
    pub follows_preview: bool,
    /// The data folder's key, when the file is stored sealed.
    pub key: Option<crate::crypt::StoreKey>,
}

impl PendingUpload {
    /// The file's plain bytes, by offset.
    pub fn open(&self) -> std::io::Result<crate::crypt::EvidenceSource> {
        crate::crypt::EvidenceSource::open(&self.path, self.key.as_ref())
    }
}

impl Store {
    pub fn sync_settings(&self) -> Result<Option<SyncSettings>> {
        let server = meta_get(&self.conn, "sync_server")?;
        let token = meta_get(&self.conn, "sync_token")?;
        Ok(server.zip(token).map(|(server, token)| SyncSettings {
            server,
            token,
            pinned_certificate: meta_get(&self.conn, "sync_pin").ok().flatten(),
        }))
    }

    pub fn set_sync_settings(&mut self, settings: &SyncSettings) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        meta_set(&tx, "sync_server", &settings.server)?;
        meta_set(&tx, "sync_token", &settings.token)?;
        match &settings.pinned_certificate {
            Some(pin) => meta_set(&tx, "sync_pin", pin)?,
            None => {
                tx.execute("DELETE FROM meta WHERE key = 'sync_pin'", [])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The next changes to push, oldest first, marked in flight (a crash resets them to
    /// pending when the store opens, so they are sent again and answered "duplicate").
    pub fn outbox_batch(
        &mut self,
        max_changes: usize,
        max_bytes: usize,
    ) -> Result<Vec<ChangeEntry>> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut entries = Vec::new();
        {
            let mut statement = tx.prepare(&format!(
                "SELECT {ENTRY_COLUMNS} FROM change_log
                 WHERE device_id = ?1 AND sync_state IN ('pending', 'inflight') ORDER BY seq LIMIT ?2"
            ))?;
            let rows = statement.query_map(
                params![self.device_id.to_string(), max_changes as i64],
                entry_from_row,
            )?;
            let mut bytes = 0;
            for row in rows {
                let entry = row?;
                bytes += entry.value.len() + 400;
                if !entries.is_empty() && bytes > max_bytes {
                    break;
                }
                entries.push(entry);
            }
        }
        for entry in &entries {
            tx.execute(
                "UPDATE change_log SET sync_state = 'inflight' WHERE change_id = ?1",
                [entry.change_id.to_string()],
            )?;
        }
        tx.commit()?;
        Ok(entries)
    }

    /// Records the server's answer for each pushed change.
    pub fn record_push_outcomes(&mut self, outcomes: &[ChangeOutcome]) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for outcome in outcomes {
            let id = outcome.change_id.to_string();
            match &outcome.outcome {
                Outcome::Applied | Outcome::Duplicate | Outcome::Conflict { .. } => {
                    tx.execute(
                        "UPDATE change_log SET sync_state = 'acked' WHERE change_id = ?1",
                        [id],
                    )?;
                }
                Outcome::Rejected { reason, code } => {
                    let code_text = serde_json::to_value(code)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string));
                    tx.execute(
                        "UPDATE change_log SET sync_state = 'quarantined', refusal = ?2, refusal_code = ?3
                         WHERE change_id = ?1",
                        params![id, reason, code_text],
                    )?;
                    if *code == RefusalCode::DeviceCopied {
                        meta_set(&tx, "device_copied", "1")?;
                    }
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Changes received by hand (sheet files) that the server may not have, oldest first per
    /// device, with the registrations of their devices: what the next sync relays.
    pub fn relay_batch(
        &self,
        max_changes: usize,
        max_bytes: usize,
    ) -> Result<(
        Vec<ChangeEntry>,
        Vec<tinjau_core::signing::SignedRegistration>,
    )> {
        let columns = ENTRY_COLUMNS
            .split(", ")
            .map(|c| format!("c.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let mut statement = self.conn.prepare(&format!(
            "SELECT {columns} FROM change_log c JOIN relay_outbox r ON r.change_id = c.change_id
             ORDER BY c.device_id, c.seq LIMIT ?1"
        ))?;
        let mut entries = Vec::new();
        let mut bytes = 0;
        for row in statement.query_map([max_changes as i64], entry_from_row)? {
            let entry = row?;
            bytes += entry.value.len() + 400;
            if !entries.is_empty() && bytes > max_bytes {
                break;
            }
            entries.push(entry);
        }
        let devices: std::collections::BTreeSet<Uuid> =
            entries.iter().map(|e| e.device_id).collect();
        let mut registrations = Vec::new();
        for device in devices {
            registrations.extend(crate::signing::registration_of(
                &self.conn,
                &device.to_string(),
            )?);
        }
        Ok((entries, registrations))
    }

    /// The server answered relayed changes (whatever it said, they are no longer this laptop's
    /// to send: a refusal is the server's, kept in its quarantine).
    pub fn record_relay_outcomes(&mut self, outcomes: &[ChangeOutcome]) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for outcome in outcomes {
            tx.execute(
                "DELETE FROM relay_outbox WHERE change_id = ?1",
                [outcome.change_id.to_string()],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Puts changes answered in flight back to pending (the push failed before an answer).
    pub fn release_inflight(&mut self) -> Result<()> {
        self.conn.execute(
            "UPDATE change_log SET sync_state = 'pending' WHERE sync_state = 'inflight'",
            [],
        )?;
        Ok(())
    }

    /// Where the next pull starts.
    pub fn pull_cursor(&self) -> Result<u64> {
        let space = self.package()?.competition.id.clone();
        let cursor: Option<i64> = self
            .conn
            .query_row(
                "SELECT cursor FROM sync_cursor WHERE space = ?1",
                [space],
                |r| r.get(0),
            )
            .optional()?;
        Ok(cursor.unwrap_or(0) as u64)
    }

    /// The server's mark of the position pulled up to (see `PullResponse::mark`).
    pub fn pull_mark(&self) -> Result<Option<String>> {
        let space = self.package()?.competition.id.clone();
        Ok(self
            .conn
            .query_row(
                "SELECT mark FROM sync_cursor WHERE space = ?1",
                [space],
                |r| r.get(0),
            )
            .optional()?
            .flatten())
    }

    /// The server no longer holds what this laptop saw (it was restored from a backup): pull
    /// from the start again, and send again every change of this laptop and every file it
    /// acknowledged, so the server gets back what it lost. What it still has is answered
    /// "duplicate"; nothing is lost here.
    pub fn server_lost_changes(&mut self) -> Result<u64> {
        let space = self.package()?.competition.id.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute("DELETE FROM sync_cursor WHERE space = ?1", [space])?;
        let resent = tx.execute(
            "UPDATE change_log SET sync_state = 'pending' WHERE device_id = ?1 AND sync_state = 'acked'",
            [self.device_id.to_string()],
        )?;
        tx.execute("DELETE FROM evidence_upload", [])?;
        tx.commit()?;
        tracing::warn!(
            resent,
            "the server lost changes (restored from a backup): sending them again"
        );
        Ok(resent as u64)
    }

    /// Applies one pulled page and moves the cursor, in one transaction: the cursor never runs
    /// ahead of the data it stands for. A change that is malformed, refused or clashes with one
    /// already here is quarantined or set aside with the reason, never a reason to stop: one
    /// laptop's change can never stop another's sync. Returns how many changes were new here.
    pub fn apply_pulled(&mut self, page: &PullResponse) -> Result<usize> {
        let package = self.package()?.clone();
        let space = package.competition.id.clone();
        let now_millis = self.now().timestamp_millis().max(0) as u64;
        let limit = clock_limit(now_millis);
        let received_at = self.now_text();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut hlc = stored_hlc(&tx)?;
        let registry = crate::signing::registry_for(
            &tx,
            &space,
            &page.identities,
            &page.registrations,
            &page.revocations,
        )?;
        let signed_from = crate::signing::signed_from(&tx, page.signed_from)?;
        let mut new = 0;
        for pulled in &page.changes {
            let entry = &pulled.entry;
            // History the server took before it checked signatures may be unsigned; everything
            // else must be signed by a device registered to its author.
            let before_signing = pulled.seq < signed_from && entry.signature.is_none();
            let received = take_in(
                &tx,
                &package,
                entry,
                Source::Server,
                limit,
                &received_at,
                |change| {
                    if !before_signing && let Err(refusal) = registry.check(change.entry()) {
                        return Ok(Some(refusal));
                    }
                    Ok(tinjau_core::authority::check_change(&package, change).err())
                },
            )?;
            if matches!(received, Received::Duplicate) {
                continue;
            }
            if entry.hlc.wall_millis <= limit {
                hlc = hlc.observe(entry.hlc, now_millis);
            }
            new += 1;
        }
        tx.execute(
            "INSERT INTO sync_cursor (space, cursor, mark) VALUES (?1, ?2, ?3)
             ON CONFLICT (space) DO UPDATE SET cursor = excluded.cursor, mark = excluded.mark",
            params![space, page.next.min(i64::MAX as u64) as i64, page.mark],
        )?;
        tx.execute("DELETE FROM conflict", [])?;
        for conflict in &page.conflicts {
            tx.execute(
                "INSERT INTO conflict (id, view) VALUES (?1, ?2) ON CONFLICT (id) DO NOTHING",
                params![
                    conflict.conflict_id.to_string(),
                    serde_json::to_string(conflict).expect("a conflict serialises")
                ],
            )?;
        }
        meta_set(&tx, "hlc", &hlc.to_string())?;
        tx.commit()?;
        Ok(new)
    }

    /// Whether the server said this data folder was copied to another laptop (and both were
    /// used): then [`Store::continue_as_new_device`] is the way on.
    pub fn device_copied(&self) -> Result<bool> {
        Ok(meta_get(&self.conn, "device_copied")?.is_some())
    }

    /// Continues this data folder as a new device, after the server found it was copied: this
    /// device's changes the server has not accepted (unsent, or refused as the copy's) are
    /// written again, in order, under a new device id, in one transaction. The old device's
    /// entries stay in the log for the audit trail. Returns the new device id.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    pub fn continue_as_new_device(&mut self) -> Result<Uuid> {
        let juror = self.juror_id()?;
        let old = self.device_id;
        let entries: Vec<ChangeEntry> = self
            .conn
            .prepare(&format!(
                "SELECT {ENTRY_COLUMNS} FROM change_log WHERE device_id = ?1
                   AND (sync_state IN ('pending', 'inflight')
                        OR (sync_state = 'quarantined' AND refusal_code = 'device_copied'))
                 ORDER BY seq"
            ))?
            .query_map([old.to_string()], entry_from_row)?
            .collect::<rusqlite::Result<_>>()?;
        let new = self.new_record_id();
        let now = self.now_text();
        let device_key = crate::new_device_key(self.options.random.as_mut());
        self.device_id = new;
        let result = self.write(&juror, |writer| {
            meta_set(&writer.tx, "device_id", &new.to_string())?;
            // A new device has a key of its own: the copy's must not sign for it.
            meta_set(&writer.tx, crate::DEVICE_KEY, &device_key)?;
            writer.device_key = crate::device_key_of(&writer.tx)?;
            writer.tx.execute("DELETE FROM meta WHERE key = 'device_copied'", [])?;
            writer.tx.execute(
                "INSERT INTO retired_device (device_id, retired_at, reason) VALUES (?1, ?2, ?3)",
                params![old.to_string(), now, "the data folder was copied to another laptop"],
            )?;
            for entry in &entries {
                writer.tx.execute(
                    "UPDATE change_log SET sync_state = 'quarantined', refusal = ?2, refusal_code = 'rewritten'
                     WHERE change_id = ?1",
                    params![
                        entry.change_id.to_string(),
                        format!("written again as device {new}")
                    ],
                )?;
                let value = FieldValue::decode(entry.entity, &entry.field, &entry.value)
                    .map_err(|r| StoreError::Corrupt(format!("change {}: {r}", entry.change_id)))?;
                writer.record_resolution(
                    &ChangeTarget {
                        row_id: entry.row_id,
                        visit_id: entry.visit_id.as_deref(),
                        target_id: entry.target_id.as_deref(),
                    },
                    value,
                    entry.resolves,
                )?;
            }
            Ok(())
        });
        if let Err(error) = result {
            self.device_id = old;
            return Err(error);
        }
        tracing::info!(%old, %new, rewritten = entries.len(), "continuing as a new device");
        Ok(new)
    }

    /// The open conflicts the server reported at the last pull.
    pub fn conflicts(&self) -> Result<Vec<ConflictView>> {
        let views: Vec<String> = self
            .conn
            .prepare("SELECT view FROM conflict ORDER BY id")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        views
            .iter()
            .map(|v| {
                serde_json::from_str(v).map_err(|e| StoreError::Corrupt(format!("conflict: {e}")))
            })
            .collect()
    }

    /// Resolves a conflict on one of this juror's records, by picking a candidate or giving a
    /// value. The resolution is an ordinary change that names the conflict.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    pub fn resolve_conflict(
        &mut self,
        conflict_id: Uuid,
        pick: Option<Uuid>,
        value: Option<&str>,
    ) -> Result<String> {
        let juror = self.juror_id()?;
        let conflict = self
            .conflicts()?
            .into_iter()
            .find(|c| c.conflict_id == conflict_id)
            .ok_or_else(|| StoreError::UnknownConflict {
                conflict: conflict_id.to_string(),
            })?;
        if conflict.owner != juror {
            return Err(StoreError::NotYours {
                owner: conflict.owner,
            });
        }
        let kind = FieldKind::of(conflict.entity, &conflict.field).ok_or_else(|| {
            StoreError::Refused(format!(
                "{} has no field \"{}\"",
                conflict.entity.as_str(),
                conflict.field
            ))
        })?;
        let value = match (pick, value) {
            (Some(pick), None) => {
                let candidate = conflict
                    .candidates
                    .iter()
                    .find(|c| c.change_id == pick)
                    .ok_or_else(|| StoreError::UnknownCandidate {
                        candidate: pick.to_string(),
                    })?;
                FieldValue::decode(conflict.entity, &conflict.field, &candidate.value)
                    .map_err(|r| StoreError::Refused(r.message))?
            }
            (None, Some(text)) => kind.from_typed(text).map_err(invalid)?,
            _ => return Err(StoreError::ResolveHow),
        };
        if let Some(visit) = &conflict.visit_id {
            self.ensure_unlocked(visit)?;
        }
        // The resolution must pass the same rules as any change of this field.
        let probe = ChangeEntry {
            change_id: Uuid::nil(),
            device_id: self.device_id,
            seq: 1,
            author: juror.clone(),
            entity: conflict.entity,
            row_id: conflict.row_id,
            visit_id: conflict.visit_id.clone(),
            target_id: conflict.target_id.clone(),
            field: conflict.field.clone(),
            value: value.encode(),
            base_version: 0,
            hlc: Hlc::default(),
            resolves: None,
            prev_hash: String::new(),
            hash: String::new(),
            signature: None,
        };
        tinjau_core::authority::check_change(self.package()?, &Change::local(probe, value.clone()))
            .map_err(|r| StoreError::Refused(r.message))?;
        let value_json = value.encode();
        self.write(&juror, |writer| {
            writer.record_resolution(
                &ChangeTarget {
                    row_id: conflict.row_id,
                    visit_id: conflict.visit_id.as_deref(),
                    target_id: conflict.target_id.as_deref(),
                },
                value,
                Some(conflict_id),
            )
        })?;
        self.conn.execute(
            "DELETE FROM conflict WHERE id = ?1",
            [conflict_id.to_string()],
        )?;
        Ok(value_json)
    }

    /// This juror's evidence files to upload now: not confirmed by the server yet, and whose
    /// record the server has accepted (it takes a file only from the juror who attached it).
    pub fn pending_uploads(&self) -> Result<Vec<PendingUpload>> {
        self.unsent_evidence(true)
    }

    /// Previews first (what the team and the lead look at), then originals; each by hash.
    fn unsent_evidence(&self, record_acknowledged: bool) -> Result<Vec<PendingUpload>> {
        let juror = self.juror_id()?;
        let rows: Vec<(String, i64, bool, bool)> = self
            .conn
            .prepare(
                "WITH mine AS (
                     SELECT f.hash, f.size, f.preview_hash, f.preview_size
                     FROM evidence e JOIN evidence_file f ON f.hash = e.hash
                     WHERE e.juror_id = ?1
                       AND (?2 = 0 OR EXISTS (SELECT 1 FROM change_log c WHERE c.entity = 'evidence'
                                              AND c.row_id = e.id AND c.sync_state = 'acked')))
                 SELECT hash, size, preview, follows FROM (
                     SELECT preview_hash AS hash, preview_size AS size, 1 AS preview, 0 AS follows
                     FROM mine WHERE preview_hash IS NOT NULL
                     UNION
                     SELECT hash, size, 0 AS preview, preview_hash IS NOT NULL AS follows FROM mine)
                 WHERE hash NOT IN (SELECT hash FROM evidence_upload)
                 ORDER BY preview DESC, hash",
            )?
            .query_map(params![juror, record_acknowledged], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows
            .into_iter()
            .map(|(hash, size, preview, follows_preview)| PendingUpload {
                path: stored_path(&self.data_dir, &hash),
                hash,
                size: size as u64,
                preview,
                follows_preview,
                key: self.key.clone(),
            })
            .filter(|upload| upload.path.exists())
            .collect())
    }

    /// When the originals of photos are sent (this laptop's choice; "now" unless changed).
    pub fn originals_policy(&self) -> Result<OriginalsPolicy> {
        Ok(meta_get(&self.conn, "originals_policy")?
            .and_then(|text| OriginalsPolicy::parse(&text))
            .unwrap_or_default())
    }

    pub fn set_originals_policy(&mut self, policy: OriginalsPolicy) -> Result<()> {
        meta_set(&self.conn, "originals_policy", policy.as_str())
    }

    pub fn mark_uploaded(&mut self, hash: &str) -> Result<()> {
        let now = self.now_text();
        self.conn.execute(
            "INSERT INTO evidence_upload (hash, uploaded_at) VALUES (?1, ?2) ON CONFLICT (hash) DO NOTHING",
            params![hash, now],
        )?;
        Ok(())
    }

    /// Evidence referenced here whose file this store lacks (to fetch from the server).
    /// Previews come first, so what the team looks at arrives before the originals.
    pub fn missing_evidence(&self) -> Result<Vec<String>> {
        Ok(self
            .missing_files()?
            .into_iter()
            .map(|file| file.hash)
            .collect())
    }

    /// [`Store::missing_evidence`], saying which are originals whose preview travels first.
    pub fn missing_files(&self) -> Result<Vec<MissingFile>> {
        let rows: Vec<(String, i64, bool)> = self
            .conn
            .prepare(
                "SELECT hash, MAX(size), MAX(follows) FROM (
                     SELECT f.preview_hash AS hash, f.preview_size AS size, 1 AS preview,
                            0 AS follows
                     FROM evidence e JOIN evidence_file f ON f.hash = e.hash
                     WHERE f.preview_hash IS NOT NULL
                     UNION
                     SELECT e.hash, f.size, 0 AS preview, f.preview_hash IS NOT NULL AS follows
                     FROM evidence e JOIN evidence_file f ON f.hash = e.hash)
                 GROUP BY hash ORDER BY MAX(preview) DESC, hash",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows
            .into_iter()
            .filter(|(hash, _, _)| !stored_path(&self.data_dir, hash).exists())
            .map(|(hash, size, follows_preview)| MissingFile {
                hash,
                size: size.max(0) as u64,
                follows_preview,
            })
            .collect())
    }

    /// Stores a downloaded evidence file after checking its hash.
    pub fn store_evidence_bytes(&mut self, hash: &str, bytes: &[u8]) -> Result<()> {
        self.store_received(hash, bytes).map(drop)
    }

    /// Records whether the server answered at the last try (any answer counts, a refusal too).
    pub fn record_contact(&mut self, answered: bool) -> Result<()> {
        meta_set(
            &self.conn,
            "server_answers",
            if answered { "1" } else { "0" },
        )
    }

    pub fn record_sync_success(&mut self, skew_ms: i64) -> Result<()> {
        let now = self.now_text();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        meta_set(&tx, "last_sync", &now)?;
        meta_set(&tx, "clock_skew_ms", &skew_ms.to_string())?;
        tx.commit()?;
        Ok(())
    }

    pub fn sync_status(&self) -> Result<SyncStatus> {
        let device = self.device_id.to_string();
        let quarantined = self
            .conn
            .prepare(
                "SELECT change_id, entity, field, COALESCE(refusal, '') FROM change_log
                 WHERE device_id = ?1 AND sync_state = 'quarantined'
                   AND COALESCE(refusal_code, '') NOT IN ('device_copied', 'rewritten')
                 ORDER BY seq",
            )?
            .query_map([&device], |r| {
                Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .map(|row| {
                let (id, entity, field, reason) = row?;
                Ok(RefusedChangeView {
                    change_id: Uuid::parse_str(&id)
                        .map_err(|_| StoreError::Corrupt(format!("change id {id}")))?,
                    entity,
                    field,
                    reason,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let pending_changes: i64 = self.conn.query_row(
            // A change refused only because the data folder was copied still waits to be sent
            // (written again under a new device).
            "SELECT COUNT(*) FROM change_log WHERE device_id = ?1
             AND (sync_state IN ('pending', 'inflight')
                  OR (sync_state = 'quarantined' AND refusal_code = 'device_copied'))",
            [&device],
            |r| r.get(0),
        )?;
        let uploads = if self.juror_id().is_ok() {
            self.unsent_evidence(false)?
        } else {
            Vec::new()
        };
        Ok(SyncStatus {
            server: meta_get(&self.conn, "sync_server")?,
            device_id: self.device_id,
            pending_changes: pending_changes as u64,
            quarantined,
            pending_evidence_files: uploads.len() as u64,
            pending_evidence_bytes: uploads.iter().map(|u| u.size).sum(),
            pending_originals: uploads.iter().filter(|u| u.follows_preview).count() as u64,
            pending_original_bytes: uploads
                .iter()
                .filter(|u| u.follows_preview)
                .map(|u| u.size)
                .sum(),
            originals: self.originals_policy()?,
            last_sync: meta_get(&self.conn, "last_sync")?,
            open_conflicts: self
                .conn
                .query_row("SELECT COUNT(*) FROM conflict", [], |r| r.get::<_, i64>(0))?
                as usize,
            clock_skew_ms: meta_get(&self.conn, "clock_skew_ms")?.and_then(|t| t.parse().ok()),
            device_copied: self.device_copied()?,
            server_answers: meta_get(&self.conn, "server_answers")?.map(|v| v == "1"),
        })
    }
}
