//! From changes to domain rows: the one place that writes field records.
//!
//! Local writes and changes received from other devices (sheet files, sync) both go through
//! [`project`], so a record looks the same however it arrived. Concurrent writes of one field
//! are ordered last-writer-wins by (HLC, device id): a total order every device agrees on.

use chrono::{DateTime, SecondsFormat};
use rusqlite::{OptionalExtension, Transaction, params};
use tinjau_core::authority::sheet_owner;
use tinjau_core::chain::ChangeEntry;
use tinjau_core::views::EvidenceView;
use tinjau_core::{Entity, Package};

use crate::{Result, StoreError};

/// The last-writer-wins key of a change.
pub(crate) fn writer_key(entry: &ChangeEntry) -> String {
    format!("{}@{}", entry.hlc, entry.device_id)
}

/// The version of a field before this change, for `base_version`.
pub(crate) fn field_version(
    tx: &Transaction<'_>,
    entity: Entity,
    row_id: &str,
    field: &str,
) -> Result<u64> {
    let version: Option<i64> = tx
        .query_row(
            "SELECT version FROM field_version WHERE entity = ?1 AND row_id = ?2 AND field = ?3",
            params![entity.as_str(), row_id, field],
            |row| row.get(0),
        )
        .optional()?;
    Ok(version.unwrap_or(0) as u64)
}

fn time_of(entry: &ChangeEntry) -> String {
    DateTime::from_timestamp_millis(entry.hlc.wall_millis as i64)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn text(entry: &ChangeEntry) -> Result<String> {
    serde_json::from_str(&entry.value)
        .map_err(|e| StoreError::Corrupt(format!("change {}: {e}", entry.change_id)))
}

fn json(entry: &ChangeEntry) -> Result<serde_json::Value> {
    serde_json::from_str(&entry.value)
        .map_err(|e| StoreError::Corrupt(format!("change {}: {e}", entry.change_id)))
}

/// Applies a change to the domain tables unless a later write of the same field already did.
/// Returns whether it was applied.
pub(crate) fn project(
    tx: &Transaction<'_>,
    package: &Package,
    entry: &ChangeEntry,
) -> Result<bool> {
    let row_id = entry.row_id.to_string();
    let key = writer_key(entry);
    let current: Option<(i64, String)> = tx
        .query_row(
            "SELECT version, set_by FROM field_version WHERE entity = ?1 AND row_id = ?2 AND field = ?3",
            params![entry.entity.as_str(), row_id, entry.field],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    if let Some((_, set_by)) = &current
        && *set_by >= key
    {
        // Superseded by a later writer, but still counted: versions count every accepted
        // change of a field, here as on the server, so `base_version` means the same on both.
        tx.execute(
            "UPDATE field_version SET version = version + 1 WHERE entity = ?1 AND row_id = ?2 AND field = ?3",
            params![entry.entity.as_str(), row_id, entry.field],
        )?;
        return Ok(false);
    }
    let at = time_of(entry);
    let author = entry.author.as_str();
    let visit = entry.visit_id.as_deref();
    let target = entry.target_id.as_deref();
    match (entry.entity, entry.field.as_str()) {
        (Entity::Score, "value") => {
            let value: f64 = serde_json::from_str(&entry.value)
                .map_err(|e| StoreError::Corrupt(format!("score value: {e}")))?;
            tx.execute(
                "INSERT INTO score (id, juror_id, visit_id, indicator_id, value, note, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, '', ?6)
                 ON CONFLICT (id) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                params![row_id, author, visit, target, value, at],
            )?;
        }
        (Entity::Score, "note") => {
            tx.execute(
                "UPDATE score SET note = ?2, updated_at = ?3 WHERE id = ?1",
                params![row_id, text(entry)?, at],
            )?;
        }
        (Entity::Verification, "verdict") => {
            let verdict: tinjau_core::Verdict = serde_json::from_str(&entry.value)
                .map_err(|e| StoreError::Corrupt(format!("verdict: {e}")))?;
            tx.execute(
                "INSERT INTO verification (id, juror_id, visit_id, innovation_id, verdict, note, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, '', ?6)
                 ON CONFLICT (id) DO UPDATE SET verdict = excluded.verdict, updated_at = excluded.updated_at",
                params![row_id, author, visit, target, verdict.as_str(), at],
            )?;
        }
        (Entity::Verification, "note") => {
            tx.execute(
                "UPDATE verification SET note = ?2, updated_at = ?3 WHERE id = ?1",
                params![row_id, text(entry)?, at],
            )?;
        }
        (Entity::Sheet, "state") => {
            let visit_id =
                visit.ok_or_else(|| StoreError::Corrupt("sheet change without visit".into()))?;
            let owner = package
                .visit(visit_id)
                .and_then(|v| sheet_owner(package, v, entry.row_id))
                .ok_or_else(|| StoreError::Corrupt(format!("sheet {row_id} has no owner")))?;
            let state: tinjau_core::SheetState = serde_json::from_str(&entry.value)
                .map_err(|e| StoreError::Corrupt(format!("sheet state: {e}")))?;
            tx.execute(
                "INSERT INTO sheet (id, juror_id, visit_id, state, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
                params![row_id, owner, visit_id, state.as_str(), at],
            )?;
        }
        (Entity::Sheet, "reopen_reason") => {
            tx.execute(
                "UPDATE sheet SET reopen_reason = ?2 WHERE id = ?1",
                params![row_id, text(entry)?],
            )?;
        }
        (Entity::ConflictOfInterest, "reason") => {
            tx.execute(
                "INSERT INTO conflict_of_interest (id, juror_id, participant_id, reason, declared_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (id) DO UPDATE SET reason = excluded.reason",
                params![row_id, author, target, text(entry)?, at],
            )?;
        }
        (Entity::Observation, "record") => {
            let record = json(entry)?;
            tx.execute(
                "INSERT INTO observation (id, juror_id, visit_id, innovation_id, text, observed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO NOTHING",
                params![
                    row_id,
                    author,
                    visit,
                    record["innovation_id"].as_str(),
                    record["text"].as_str().unwrap_or_default(),
                    record["observed_at"].as_str().unwrap_or(&at),
                ],
            )?;
        }
        (Entity::Evidence, "record") => {
            let record = json(entry)?;
            let mut evidence = record["evidence"].clone();
            evidence["available"] = true.into();
            let view: EvidenceView = serde_json::from_value(evidence)
                .map_err(|e| StoreError::Corrupt(format!("evidence record: {e}")))?;
            tx.execute(
                "INSERT INTO evidence_file (hash, size, mime, captured_at, gps_lat, gps_lon, stored_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (hash) DO NOTHING",
                params![
                    view.hash,
                    view.size as i64,
                    view.mime,
                    view.captured_at,
                    view.gps.map(|g| g.latitude),
                    view.gps.map(|g| g.longitude),
                    at
                ],
            )?;
            tx.execute(
                "INSERT INTO evidence (id, hash, juror_id, visit_id, owner_entity, owner_id, original_name,
                                       outside_visit_date, attached_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (id) DO NOTHING",
                params![
                    row_id,
                    view.hash,
                    author,
                    visit,
                    record["owner_entity"].as_str().unwrap_or("observation"),
                    record["owner_id"].as_str().unwrap_or_default(),
                    view.original_name,
                    view.outside_visit_date,
                    at
                ],
            )?;
        }
        (Entity::TieBreak, "decision") => {
            tx.execute(
                "INSERT INTO tie_break (id, decision, decided_by, decided_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO UPDATE SET decision = excluded.decision, decided_by = excluded.decided_by,
                                                decided_at = excluded.decided_at",
                params![row_id, entry.value, author, at],
            )?;
        }
        (Entity::Lock, "lock") => {
            tx.execute(
                "INSERT INTO visit_lock (visit_id, lock, locked_by, locked_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (visit_id) DO UPDATE SET lock = excluded.lock, locked_by = excluded.locked_by,
                                                      locked_at = excluded.locked_at",
                params![visit, entry.value, author, at],
            )?;
        }
        (Entity::LeadNote, "note") => {
            tx.execute(
                "INSERT INTO lead_note (visit_id, indicator_id, note) VALUES (?1, ?2, ?3)
                 ON CONFLICT (visit_id, indicator_id) DO UPDATE SET note = excluded.note",
                params![visit, target, text(entry)?],
            )?;
        }
        (entity, field) => {
            return Err(StoreError::Corrupt(format!(
                "no field \"{field}\" on {}",
                entity.as_str()
            )));
        }
    }
    tx.execute(
        "INSERT INTO field_version (entity, row_id, field, version, set_by) VALUES (?1, ?2, ?3, 1, ?4)
         ON CONFLICT (entity, row_id, field) DO UPDATE SET version = version + 1, set_by = excluded.set_by",
        params![entry.entity.as_str(), row_id, entry.field, key],
    )?;
    Ok(true)
}
