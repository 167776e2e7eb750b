//! From changes to domain rows: the one place that writes field records.
//!
//! Local writes and changes received from other devices (sheet files, sync) both go through
//! [`project`], so a record looks the same however it arrived. Concurrent writes of one field
//! are ordered last-writer-wins by (HLC, device id): a total order every device agrees on.

use chrono::{DateTime, SecondsFormat};
use rusqlite::{OptionalExtension, Transaction, params};
use tinjau_core::authority::sheet_owner;
use tinjau_core::chain::ChangeEntry;
use tinjau_core::change::{Change, FieldValue};
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
    DateTime::from_timestamp_millis(entry.hlc.wall_millis.min(i64::MAX as u64) as i64)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Applies a change to the domain tables unless a later write of the same field already did.
/// Returns whether it was applied.
pub(crate) fn project(tx: &Transaction<'_>, package: &Package, change: &Change) -> Result<bool> {
    let entry = change.entry();
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
    match change.value() {
        FieldValue::ScoreValue(value) => {
            tx.execute(
                "INSERT INTO score (id, juror_id, visit_id, indicator_id, value, note, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, '', ?6)
                 ON CONFLICT (id) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                params![row_id, author, visit, target, value.get(), at],
            )?;
        }
        FieldValue::ScoreNote(note) => {
            tx.execute(
                "UPDATE score SET note = ?2, updated_at = ?3 WHERE id = ?1",
                params![row_id, note.as_str(), at],
            )?;
        }
        FieldValue::Verdict(verdict) => {
            tx.execute(
                "INSERT INTO verification (id, juror_id, visit_id, innovation_id, verdict, note, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, '', ?6)
                 ON CONFLICT (id) DO UPDATE SET verdict = excluded.verdict, updated_at = excluded.updated_at",
                params![row_id, author, visit, target, verdict.as_str(), at],
            )?;
        }
        FieldValue::VerificationNote(note) => {
            tx.execute(
                "UPDATE verification SET note = ?2, updated_at = ?3 WHERE id = ?1",
                params![row_id, note.as_str(), at],
            )?;
        }
        FieldValue::SheetState(state) => {
            let visit_id =
                visit.ok_or_else(|| StoreError::Corrupt("sheet change without visit".into()))?;
            let owner = package
                .visit(visit_id)
                .and_then(|v| sheet_owner(package, v, entry.row_id))
                .ok_or_else(|| StoreError::Corrupt(format!("sheet {row_id} has no owner")))?;
            tx.execute(
                "INSERT INTO sheet (id, juror_id, visit_id, state, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
                params![row_id, owner, visit_id, state.as_str(), at],
            )?;
        }
        FieldValue::ReopenReason(reason) => {
            tx.execute(
                "UPDATE sheet SET reopen_reason = ?2 WHERE id = ?1",
                params![row_id, reason.as_str()],
            )?;
        }
        FieldValue::ConflictOfInterestReason(reason) => {
            tx.execute(
                "INSERT INTO conflict_of_interest (id, juror_id, participant_id, reason, declared_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (id) DO UPDATE SET reason = excluded.reason",
                params![row_id, author, target, reason.as_str(), at],
            )?;
        }
        FieldValue::Observation(record) => {
            tx.execute(
                "INSERT INTO observation (id, juror_id, visit_id, innovation_id, text, observed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO NOTHING",
                params![
                    row_id,
                    author,
                    visit,
                    record.innovation_id,
                    record.text.as_str(),
                    record.observed_at,
                ],
            )?;
        }
        FieldValue::Evidence(record) => {
            let file = &record.evidence;
            tx.execute(
                "INSERT INTO evidence_file (hash, size, mime, captured_at, gps_lat, gps_lon, stored_at,
                                            preview_hash, preview_size)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (hash) DO NOTHING",
                params![
                    file.hash.as_str(),
                    file.size.min(i64::MAX as u64) as i64,
                    file.mime,
                    file.captured_at,
                    file.gps.map(|g| g.latitude),
                    file.gps.map(|g| g.longitude),
                    at,
                    file.preview.as_ref().map(|p| p.hash.as_str()),
                    file.preview
                        .as_ref()
                        .map(|p| p.size.min(i64::MAX as u64) as i64),
                ],
            )?;
            tx.execute(
                "INSERT INTO evidence (id, hash, juror_id, visit_id, owner_entity, owner_id, original_name,
                                       outside_visit_date, attached_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (id) DO NOTHING",
                params![
                    row_id,
                    file.hash.as_str(),
                    author,
                    visit,
                    record.owner_entity.entity().as_str(),
                    record.owner_id.to_string(),
                    file.original_name.as_str(),
                    file.outside_visit_date,
                    at
                ],
            )?;
        }
        FieldValue::EvidenceRemoved(removed) => {
            // Only on the author's own attachment: anyone else's removal changes nothing.
            tx.execute(
                "UPDATE evidence SET removed = ?3 WHERE id = ?1 AND juror_id = ?2",
                params![row_id, author, removed],
            )?;
        }
        FieldValue::TieBreak(_) => {
            tx.execute(
                "INSERT INTO tie_break (id, decision, decided_by, decided_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO UPDATE SET decision = excluded.decision, decided_by = excluded.decided_by,
                                                decided_at = excluded.decided_at",
                params![row_id, entry.value, author, at],
            )?;
        }
        FieldValue::Lock(_) => {
            tx.execute(
                "INSERT INTO visit_lock (visit_id, lock, locked_by, locked_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (visit_id) DO UPDATE SET lock = excluded.lock, locked_by = excluded.locked_by,
                                                      locked_at = excluded.locked_at",
                params![visit, entry.value, author, at],
            )?;
        }
        FieldValue::LeadNote(note) => {
            tx.execute(
                "INSERT INTO lead_note (visit_id, indicator_id, note) VALUES (?1, ?2, ?3)
                 ON CONFLICT (visit_id, indicator_id) DO UPDATE SET note = excluded.note",
                params![visit, target, note.as_str()],
            )?;
        }
    }
    tx.execute(
        "INSERT INTO field_version (entity, row_id, field, version, set_by) VALUES (?1, ?2, ?3, 1, ?4)
         ON CONFLICT (entity, row_id, field) DO UPDATE SET version = version + 1, set_by = excluded.set_by",
        params![entry.entity.as_str(), row_id, entry.field, key],
    )?;
    Ok(true)
}
