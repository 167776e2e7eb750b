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

/// Where a sync goes: the central server, or a visit's hub (`docs/hub.md`), named by the id of
/// its pin (`tinjau_core::hub::Pin::hub_id`). Each keeps its own place in the log it serves;
/// what a hub took is still owed to the central server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    Central,
    Hub(String),
}

impl Destination {
    /// The key of its pull cursor.
    fn space(&self, competition: &str) -> String {
        match self {
            Destination::Central => competition.to_string(),
            Destination::Hub(id) => format!("{competition}@hub:{id}"),
        }
    }
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

/// A visit's hub this laptop syncs with while it is set (`docs/hub.md`), and the juror's token
/// its sessions are proven with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitHub {
    pub server: String,
    /// The hub's words or full fingerprint.
    pub pin: String,
    pub token: String,
}

impl Store {
    /// The visit's hub, while this laptop syncs with one.
    pub fn visit_hub(&self) -> Result<Option<VisitHub>> {
        let server = meta_get(&self.conn, "hub_server")?;
        let pin = meta_get(&self.conn, "hub_pin")?;
        let token = meta_get(&self.conn, "hub_token")?;
        Ok(match (server, pin, token) {
            (Some(server), Some(pin), Some(token)) => Some(VisitHub { server, pin, token }),
            _ => None,
        })
    }

    /// Syncs with `hub` from now on (the server stays remembered), or again with the server.
    pub fn set_visit_hub(&mut self, hub: Option<&VisitHub>) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        match hub {
            Some(hub) => {
                meta_set(&tx, "hub_server", &hub.server)?;
                meta_set(&tx, "hub_pin", &hub.pin)?;
                meta_set(&tx, "hub_token", &hub.token)?;
            }
            None => {
                tx.execute(
                    "DELETE FROM meta WHERE key IN ('hub_server', 'hub_pin', 'hub_token')",
                    [],
                )?;
            }
        }
        tx.commit()?;
        Ok(())
    }

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
        let entries = {
            let mut statement = tx.prepare(&format!(
                "SELECT {ENTRY_COLUMNS} FROM change_log
                 WHERE device_id = ?1 AND sync_state IN ('pending', 'inflight') ORDER BY seq LIMIT ?2"
            ))?;
            let rows = statement.query_map(
                params![self.device_id.to_string(), max_changes as i64],
                entry_from_row,
            )?;
            up_to_bytes(rows, max_bytes)?
        };
        for entry in &entries {
            tx.execute(
                "UPDATE change_log SET sync_state = 'inflight' WHERE change_id = ?1",
                [entry.change_id.to_string()],
            )?;
        }
        tx.commit()?;
        Ok(entries)
    }

    /// The next changes of this device a hub has not answered yet, oldest first. Nothing is
    /// marked: a change sent again is answered "duplicate".
    pub fn hub_outbox_batch(
        &self,
        hub: &str,
        max_changes: usize,
        max_bytes: usize,
    ) -> Result<Vec<ChangeEntry>> {
        let mut statement = self.conn.prepare(&format!(
            "SELECT {ENTRY_COLUMNS} FROM change_log
             WHERE device_id = ?1 AND sync_state <> 'quarantined'
               AND change_id NOT IN (SELECT change_id FROM hub_push WHERE hub = ?2)
             ORDER BY seq LIMIT ?3"
        ))?;
        let rows = statement.query_map(
            params![self.device_id.to_string(), hub, max_changes as i64],
            entry_from_row,
        )?;
        up_to_bytes(rows, max_bytes)
    }

    /// How many of this device's changes a hub has not answered yet.
    pub fn hub_pending(&self, hub: &str) -> Result<u64> {
        let count: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM change_log
             WHERE device_id = ?1 AND sync_state <> 'quarantined'
               AND change_id NOT IN (SELECT change_id FROM hub_push WHERE hub = ?2)",
            params![self.device_id.to_string(), hub],
            |r| r.get(0),
        )?;
        Ok(count as u64)
    }

    /// Records the answer of `destination` for each pushed change. A hub's acceptance is kept
    /// apart: the change is still owed to the central server. A refusal is the same anywhere
    /// (the rules are the same), and the change is quarantined here with its reason.
    pub fn record_push_outcomes_for(
        &mut self,
        destination: &Destination,
        outcomes: &[ChangeOutcome],
    ) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for outcome in outcomes {
            let id = outcome.change_id.to_string();
            match (&outcome.outcome, destination) {
                (Outcome::Rejected { reason, code }, _) => refuse_own(&tx, &id, reason, *code)?,
                (_, Destination::Central) => {
                    tx.execute(
                        "UPDATE change_log SET sync_state = 'acked' WHERE change_id = ?1",
                        [id],
                    )?;
                }
                (_, Destination::Hub(hub)) => {
                    tx.execute(
                        "INSERT INTO hub_push (hub, change_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                        params![hub, id],
                    )?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Records the central server's answer for each pushed change.
    pub fn record_push_outcomes(&mut self, outcomes: &[ChangeOutcome]) -> Result<()> {
        self.record_push_outcomes_for(&Destination::Central, outcomes)
    }

    /// Changes received by hand (sheet files) or from a visit's hub that the central server may
    /// not have, in the order of their clocks, with the registrations of their devices: what
    /// the next sync relays.
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
             ORDER BY c.hlc, c.device_id, c.seq LIMIT ?1"
        ))?;
        let entries = up_to_bytes(
            statement.query_map([max_changes as i64], entry_from_row)?,
            max_bytes,
        )?;
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
        self.pull_cursor_for(&Destination::Central)
    }

    /// Where the next pull from `destination` starts.
    pub fn pull_cursor_for(&self, destination: &Destination) -> Result<u64> {
        let space = destination.space(&self.package()?.competition.id);
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
        self.pull_mark_for(&Destination::Central)
    }

    /// `destination`'s mark of the position pulled up to.
    pub fn pull_mark_for(&self, destination: &Destination) -> Result<Option<String>> {
        let space = destination.space(&self.package()?.competition.id);
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
        self.lost_changes_at(&Destination::Central)
    }

    /// [`Store::server_lost_changes`] for any destination: a hub that lost its database (the
    /// lead started it afresh) gets this laptop's changes again, from the start of its log.
    pub fn lost_changes_at(&mut self, destination: &Destination) -> Result<u64> {
        let Destination::Hub(hub) = destination else {
            return self.central_lost_changes();
        };
        let space = destination.space(&self.package()?.competition.id);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute("DELETE FROM sync_cursor WHERE space = ?1", [space])?;
        let resent = tx.execute("DELETE FROM hub_push WHERE hub = ?1", [hub])?;
        tx.commit()?;
        tracing::warn!(resent, hub, "the hub lost changes: sending them again");
        Ok(resent as u64)
    }

    fn central_lost_changes(&mut self) -> Result<u64> {
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
        self.apply_pulled_from(&Destination::Central, page)
    }

    /// [`Store::apply_pulled`] for a page from `destination`. A hub's changes are owed to the
    /// central server (this laptop relays them at its next sync with it), and a hub's identity
    /// keys are believed only for jurors this laptop holds no key for.
    pub fn apply_pulled_from(
        &mut self,
        destination: &Destination,
        page: &PullResponse,
    ) -> Result<usize> {
        let package = self.package()?.clone();
        let space = destination.space(&package.competition.id);
        let (source, trust) = match destination {
            Destination::Central => (Source::Server, crate::signing::IdentityTrust::Keep),
            Destination::Hub(_) => (
                Source::Hub,
                crate::signing::IdentityTrust::UnknownJurorsOnly,
            ),
        };
        let now_millis = self.now().timestamp_millis().max(0) as u64;
        let limit = clock_limit(now_millis);
        let received_at = self.now_text();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut hlc = stored_hlc(&tx)?;
        let registry = crate::signing::registry_for(
            &tx,
            &package.competition.id,
            &page.identities,
            &page.registrations,
            &page.revocations,
            trust,
        )?;
        // A hub's log began after signing: everything it sends must be signed.
        let signed_from = match destination {
            Destination::Central => crate::signing::signed_from(&tx, page.signed_from)?,
            Destination::Hub(_) => 0,
        };
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
                source,
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
                // The central server has it now: nothing left to relay.
                if source == Source::Server {
                    tx.execute(
                        "DELETE FROM relay_outbox WHERE change_id = ?1",
                        [entry.change_id.to_string()],
                    )?;
                }
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

    /// The files `destination` may be missing: for the central server, [`Store::pending_uploads`];
    /// for a hub, every file of this juror whose record the hub took (the sync asks the hub
    /// what it has of each before sending, so a file is sent once).
    pub fn pending_uploads_for(&self, destination: &Destination) -> Result<Vec<PendingUpload>> {
        match destination {
            Destination::Central => self.pending_uploads(),
            Destination::Hub(hub) => self.evidence_where(
                "EXISTS (SELECT 1 FROM change_log c JOIN hub_push h ON h.change_id = c.change_id
                         WHERE c.entity = 'evidence' AND c.row_id = e.id AND h.hub = ?2)",
                "1 = 1",
                &hub.as_str(),
            ),
        }
    }

    /// Previews first (what the team and the lead look at), then originals; each by hash.
    fn unsent_evidence(&self, record_acknowledged: bool) -> Result<Vec<PendingUpload>> {
        self.evidence_where(
            "(?2 = 0 OR EXISTS (SELECT 1 FROM change_log c WHERE c.entity = 'evidence'
                                AND c.row_id = e.id AND c.sync_state = 'acked'))",
            "hash NOT IN (SELECT hash FROM evidence_upload)",
            &i64::from(record_acknowledged),
        )
    }

    /// This juror's files whose evidence record meets `record` (`?2` is `argument`), and
    /// which meet `file`: previews first, then originals; each by hash.
    fn evidence_where(
        &self,
        record: &str,
        file: &str,
        argument: &dyn rusqlite::ToSql,
    ) -> Result<Vec<PendingUpload>> {
        let juror = self.juror_id()?;
        let rows: Vec<(String, i64, bool, bool)> = self
            .conn
            .prepare(&format!(
                "WITH mine AS (
                     SELECT f.hash, f.size, f.preview_hash, f.preview_size
                     FROM evidence e JOIN evidence_file f ON f.hash = e.hash
                     WHERE e.juror_id = ?1 AND {record})
                 SELECT hash, size, preview, follows FROM (
                     SELECT preview_hash AS hash, preview_size AS size, 1 AS preview, 0 AS follows
                     FROM mine WHERE preview_hash IS NOT NULL
                     UNION
                     SELECT hash, size, 0 AS preview, preview_hash IS NOT NULL AS follows FROM mine)
                 WHERE {file}
                 ORDER BY preview DESC, hash"
            ))?
            .query_map(params![juror, argument], |r| {
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
            hub: meta_get(&self.conn, "hub_server")?,
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

/// Entries from `rows` until about `max_bytes` (at least one).
fn up_to_bytes(
    rows: impl Iterator<Item = rusqlite::Result<ChangeEntry>>,
    max_bytes: usize,
) -> Result<Vec<ChangeEntry>> {
    let mut entries = Vec::new();
    let mut bytes = 0;
    for row in rows {
        let entry = row?;
        bytes += entry.value.len() + 400;
        if !entries.is_empty() && bytes > max_bytes {
            break;
        }
        entries.push(entry);
    }
    Ok(entries)
}

/// One of this laptop's own changes refused by a server or hub: quarantined with its reason;
/// "device copied" marks the data folder for a new device.
fn refuse_own(
    tx: &rusqlite::Transaction<'_>,
    id: &str,
    reason: &str,
    code: RefusalCode,
) -> Result<()> {
    let code_text = serde_json::to_value(code)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string));
    tx.execute(
        "UPDATE change_log SET sync_state = 'quarantined', refusal = ?2, refusal_code = ?3
         WHERE change_id = ?1",
        params![id, reason, code_text],
    )?;
    if code == RefusalCode::DeviceCopied {
        meta_set(tx, "device_copied", "1")?;
    }
    Ok(())
}
