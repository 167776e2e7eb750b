//! Writing and reading the change log.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use tinjau_core::chain::{ChangeEntry, GENESIS_HASH, verify_device_chain, verify_partial_chain};
use tinjau_core::change::{Change, FieldValue, Refusal, RefusalCode};
use tinjau_core::hlc::Hlc;
use tinjau_core::signing::{DeviceKey, Signature};
use tinjau_core::views::AuditReport;
use tinjau_core::{Package, ids};
use uuid::Uuid;

use crate::projection::{field_version, project};
use crate::{RandomSource, Result, Store, StoreError, device_key_of, meta_get, meta_set};

/// One transaction that changes domain rows and appends their change-log entries. Nothing is
/// visible, and nothing is durable, until [`ChangeWriter::commit`] returns.
pub(crate) struct ChangeWriter<'a> {
    pub(crate) tx: Transaction<'a>,
    package: &'a Package,
    device_id: Uuid,
    author: String,
    now: DateTime<Utc>,
    random: &'a mut dyn RandomSource,
    last_seq: u64,
    last_hash: String,
    hlc: Hlc,
    /// The key every change of this writer is signed with (read once, at `begin`).
    pub(crate) device_key: DeviceKey,
}

/// Which record a change writes (its field and value come with the [`FieldValue`]).
pub(crate) struct ChangeTarget<'t> {
    pub row_id: Uuid,
    pub visit_id: Option<&'t str>,
    pub target_id: Option<&'t str>,
}

impl<'a> ChangeWriter<'a> {
    pub(crate) fn begin(
        conn: &'a mut Connection,
        package: &'a Package,
        device_id: Uuid,
        author: String,
        now: DateTime<Utc>,
        random: &'a mut dyn RandomSource,
    ) -> Result<Self> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let last: Option<(i64, String)> = tx
            .query_row(
                "SELECT seq, hash FROM change_log WHERE device_id = ?1 ORDER BY seq DESC LIMIT 1",
                [device_id.to_string()],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        let (last_seq, last_hash) = match last {
            Some((seq, hash)) => (seq as u64, hash),
            None => (0, GENESIS_HASH.to_string()),
        };
        let hlc = stored_hlc(&tx)?;
        let device_key = device_key_of(&tx)?;
        Ok(ChangeWriter {
            tx,
            package,
            device_id,
            author,
            now,
            random,
            last_seq,
            last_hash,
            hlc,
            device_key,
        })
    }

    /// The transaction's time as stored in records (RFC 3339, milliseconds, UTC).
    pub(crate) fn now_text(&self) -> String {
        self.now
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    }

    /// A new UUIDv7 from the writer's clock and random source.
    pub(crate) fn new_record_id(&mut self) -> Uuid {
        ids::record_id(
            self.now.timestamp_millis().max(0) as u64,
            self.random.random_bytes(),
        )
    }

    /// Appends one change, based on the field's current version, and projects it.
    pub(crate) fn record(&mut self, target: &ChangeTarget<'_>, value: FieldValue) -> Result<()> {
        self.record_resolution(target, value, None)
    }

    /// Like [`ChangeWriter::record`], naming the conflict the change resolves. Fails (and the
    /// caller's transaction with it) unless the value is the field's value afterwards: nothing
    /// is reported as saved that is not.
    pub(crate) fn record_resolution(
        &mut self,
        target: &ChangeTarget<'_>,
        value: FieldValue,
        resolves: Option<Uuid>,
    ) -> Result<()> {
        let entity = value.entity();
        let field = value.field();
        let base_version = field_version(&self.tx, entity, &target.row_id.to_string(), field)?;
        let now_millis = self.now.timestamp_millis().max(0) as u64;
        self.hlc = self.hlc.tick(now_millis);
        let entry = ChangeEntry {
            change_id: self.new_record_id(),
            device_id: self.device_id,
            seq: self.last_seq + 1,
            author: self.author.clone(),
            entity,
            row_id: target.row_id,
            visit_id: target.visit_id.map(str::to_string),
            target_id: target.target_id.map(str::to_string),
            field: field.to_string(),
            value: value.encode(),
            base_version,
            hlc: self.hlc,
            resolves,
            prev_hash: String::new(),
            hash: String::new(),
            signature: None,
        }
        .seal(&self.last_hash)
        .signed(&self.device_key);
        insert_entry(&self.tx, &entry, "pending")?;
        let change = Change::local(entry, value);
        if !project(&self.tx, self.package, &change)? {
            return Err(StoreError::NotSaved);
        }
        let entry = change.into_entry();
        self.last_seq = entry.seq;
        self.last_hash = entry.hash;
        Ok(())
    }

    pub(crate) fn commit(self) -> Result<()> {
        meta_set(&self.tx, "hlc", &self.hlc.to_string())?;
        self.tx.commit()?;
        Ok(())
    }
}

/// This device's hybrid logical clock as last stored.
pub(crate) fn stored_hlc(conn: &Connection) -> Result<Hlc> {
    match meta_get(conn, "hlc")? {
        Some(text) => text
            .parse()
            .map_err(|e| StoreError::Corrupt(format!("meta.hlc: {e}"))),
        None => Ok(Hlc::default()),
    }
}

/// Appends an entry to the change log; `sync_state` is `pending` for this device's own changes
/// (the outbox) and `acked` for changes received from elsewhere.
pub(crate) fn insert_entry(conn: &Connection, entry: &ChangeEntry, sync_state: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO change_log (device_id, seq, change_id, author, entity, row_id, visit_id,
                                 target_id, field, value, base_version, hlc, prev_hash, hash, sync_state,
                                 resolves, signature)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
        params![
            entry.device_id.to_string(),
            entry.seq as i64,
            entry.change_id.to_string(),
            entry.author,
            entry.entity.as_str(),
            entry.row_id.to_string(),
            entry.visit_id,
            entry.target_id,
            entry.field,
            entry.value,
            entry.base_version as i64,
            entry.hlc.to_string(),
            entry.prev_hash,
            entry.hash,
            sync_state,
            entry.resolves.map(|r| r.to_string()),
            entry.signature.map(|s| s.to_string()),
        ],
    )?;
    Ok(())
}

/// Takes in a change received from another device (a sheet file, a pull), already parsed: it
/// always joins the change log (the audit trail keeps everything); it is applied to the records
/// unless refused, and then it is quarantined with the reason instead. `refused` is (reason,
/// received at). Returns whether it was applied.
pub(crate) fn receive(
    tx: &Transaction<'_>,
    package: &Package,
    change: &Change,
    refused: Option<(&str, &str)>,
    source: Source,
) -> Result<bool> {
    insert_entry(tx, change.entry(), "acked")?;
    match refused {
        Some((reason, received_at)) => {
            quarantine(tx, change.entry(), reason, received_at)?;
            Ok(false)
        }
        None => {
            project(tx, package, change)?;
            if matches!(source, Source::Hand | Source::Hub) {
                tx.execute(
                    "INSERT INTO relay_outbox (change_id) VALUES (?1) ON CONFLICT DO NOTHING",
                    [change.entry().change_id.to_string()],
                )?;
            }
            Ok(true)
        }
    }
}

fn quarantine(tx: &Transaction<'_>, entry: &ChangeEntry, reason: &str, at: &str) -> Result<()> {
    tx.execute(
        "INSERT INTO quarantine (change_id, reason, received_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (change_id) DO NOTHING",
        params![entry.change_id.to_string(), reason, at],
    )?;
    Ok(())
}

/// Where a received change came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// A pull: the server has it.
    Server,
    /// A pull from a visit's hub: the central server may not have it yet, so the next sync
    /// with it relays it.
    Hub,
    /// A file carried by hand, its signatures checked: the server may not have it yet, so the
    /// next sync relays it.
    Hand,
    /// A file carried by hand whose signatures could not be checked (no identity key of its
    /// juror here, or a laptop that never had the token): taken on the rules alone, not relayed
    /// (the server would refuse it).
    HandUnchecked,
}

/// What became of a change received from elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Received {
    /// Already here.
    Duplicate,
    Applied,
    /// Logged and quarantined (refused by a rule), with the reason.
    Quarantined(String),
    /// Kept aside, outside the change log, with the reason: it cannot be part of any chain here
    /// (its content does not match its hash, or another change of its device already holds its
    /// place).
    SetAside(String),
}

/// Takes in one change received from elsewhere, whatever it holds: never fails on the change's
/// content (a bad change is quarantined or set aside with the reason, and the rest go on), so
/// one laptop's change can never stop another's sync. `check` is the sender's rule (authority,
/// locks) applied to a well-formed change.
pub(crate) fn take_in(
    tx: &Transaction<'_>,
    package: &Package,
    entry: &ChangeEntry,
    source: Source,
    clock_limit_millis: u64,
    received_at: &str,
    check: impl FnOnce(&Change) -> Result<Option<Refusal>>,
) -> Result<Received> {
    let id = entry.change_id.to_string();
    let present: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM change_log WHERE change_id = ?1)
             OR EXISTS (SELECT 1 FROM set_aside WHERE change_id = ?1)",
        [&id],
        |r| r.get(0),
    )?;
    if present {
        return Ok(Received::Duplicate);
    }
    let set_aside = |reason: &str, applied: bool| -> Result<Received> {
        tx.execute(
            "INSERT INTO set_aside (change_id, device_id, seq, entry, reason, applied, received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                id,
                entry.device_id.to_string(),
                entry.seq.min(i64::MAX as u64) as i64,
                serde_json::to_string(entry).expect("an entry serialises"),
                reason,
                applied,
                received_at
            ],
        )?;
        Ok(Received::SetAside(reason.to_string()))
    };
    // Parsed once (hashing is the costly part of a received change).
    let parsed = Change::parse(entry.clone(), clock_limit_millis);
    if entry.seq == 0 || entry.seq > i64::MAX as u64 {
        return set_aside("its sequence number is out of range", false);
    }
    if let Err(refusal) = &parsed
        && refusal.code == RefusalCode::HashMismatch
    {
        return set_aside(&refusal.message, false);
    }
    let taken: Option<String> = tx
        .query_row(
            "SELECT change_id FROM change_log WHERE device_id = ?1 AND seq = ?2",
            params![entry.device_id.to_string(), entry.seq as i64],
            |r| r.get(0),
        )
        .optional()?;
    match parsed {
        Ok(change) => {
            let refusal = check(&change)?;
            if taken.is_some() {
                // Two changes with one place in a device's chain: a copied data folder. The one
                // received is still the server's truth about that juror's work, so it is applied
                // (unless refused), but it cannot join this store's log.
                let applied = refusal.is_none() && project(tx, package, &change)?;
                return set_aside(
                    "another change of its device holds the same place: a copied data folder",
                    applied,
                );
            }
            let reason = refusal.map(|r| r.message);
            let applied = receive(
                tx,
                package,
                &change,
                reason.as_deref().map(|r| (r, received_at)),
                source,
            )?;
            Ok(match (applied, reason) {
                (true, _) => Received::Applied,
                (false, reason) => Received::Quarantined(reason.unwrap_or_default()),
            })
        }
        Err(refusal) if taken.is_none() => {
            // Well sealed but malformed: it is part of its device's history, so it is logged
            // (the audit trail stays whole) and quarantined, never applied.
            insert_entry(tx, entry, "acked")?;
            quarantine(tx, entry, &refusal.message, received_at)?;
            Ok(Received::Quarantined(refusal.message))
        }
        Err(refusal) => set_aside(&refusal.message, false),
    }
}

pub(crate) fn entry_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ChangeEntry> {
    fn parse<T: std::str::FromStr>(index: usize, text: String) -> rusqlite::Result<T>
    where
        T::Err: std::error::Error + Send + Sync + 'static,
    {
        text.parse().map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(
                index,
                rusqlite::types::Type::Text,
                Box::new(e),
            )
        })
    }
    Ok(ChangeEntry {
        device_id: parse(0, row.get(0)?)?,
        seq: row.get::<_, i64>(1)? as u64,
        change_id: parse(2, row.get(2)?)?,
        author: row.get(3)?,
        entity: parse(4, row.get(4)?)?,
        row_id: parse(5, row.get(5)?)?,
        visit_id: row.get(6)?,
        target_id: row.get(7)?,
        field: row.get(8)?,
        value: row.get(9)?,
        base_version: row.get::<_, i64>(10)? as u64,
        hlc: parse(11, row.get(11)?)?,
        prev_hash: row.get(12)?,
        hash: row.get(13)?,
        signature: row
            .get::<_, Option<String>>(15)?
            .map(|text| {
                Signature::parse_hex(&text).ok_or_else(|| {
                    rusqlite::Error::FromSqlConversionFailure(
                        15,
                        rusqlite::types::Type::Text,
                        "a signature is 128 hex digits".into(),
                    )
                })
            })
            .transpose()?,
        resolves: row
            .get::<_, Option<String>>(14)?
            .map(|text| parse(14, text))
            .transpose()?,
    })
}

pub(crate) const ENTRY_COLUMNS: &str = "device_id, seq, change_id, author, entity, row_id, visit_id, \
                             target_id, field, value, base_version, hlc, prev_hash, hash, resolves, \
                             signature";

impl Store {
    /// Every change-log entry of one device, in sequence order.
    pub fn device_entries(&self, device_id: Uuid) -> Result<Vec<ChangeEntry>> {
        let mut statement = self.conn.prepare(&format!(
            "SELECT {ENTRY_COLUMNS} FROM change_log WHERE device_id = ?1 ORDER BY seq"
        ))?;
        let entries = statement
            .query_map([device_id.to_string()], entry_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| StoreError::Corrupt(format!("change log: {e}")))?;
        Ok(entries)
    }

    /// Verifies every device's hash chain; names the first broken entry.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    pub fn audit(&self) -> Result<AuditReport> {
        let devices: Vec<String> = self
            .conn
            .prepare("SELECT DISTINCT device_id FROM change_log ORDER BY device_id")?
            .query_map([], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut entries = 0;
        for device in &devices {
            let device_id = Uuid::parse_str(device)
                .map_err(|_| StoreError::Corrupt(format!("change log device id \"{device}\"")))?;
            let chain = self.device_entries(device_id)?;
            // This device's chain must be whole; of another device this store may hold only
            // what it was allowed to receive.
            if device_id == self.device_id {
                verify_device_chain(&chain)?;
            } else {
                verify_partial_chain(&chain)?;
            }
            entries += chain.len() as u64;
        }
        Ok(AuditReport {
            devices: devices.len(),
            entries,
        })
    }
}
