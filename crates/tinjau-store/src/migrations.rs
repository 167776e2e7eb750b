//! Embedded, append-only schema migrations, tracked by SQLite's `user_version`.

use rusqlite::{Connection, TransactionBehavior};

use crate::{Result, StoreError};

/// Every migration in order; migration `i` brings the schema to version `i + 1`.
pub const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_init", include_str!("../migrations/0001_init.sql")),
    (
        "0002_sync_outbox",
        include_str!("../migrations/0002_sync_outbox.sql"),
    ),
    ("0003_lead", include_str!("../migrations/0003_lead.sql")),
    ("0004_sync", include_str!("../migrations/0004_sync.sql")),
    (
        "0005_hostile_input",
        include_str!("../migrations/0005_hostile_input.sql"),
    ),
    (
        "0006_evidence_removed",
        include_str!("../migrations/0006_evidence_removed.sql"),
    ),
    (
        "0007_pull_mark",
        include_str!("../migrations/0007_pull_mark.sql"),
    ),
    (
        "0008_evidence_preview",
        include_str!("../migrations/0008_evidence_preview.sql"),
    ),
    (
        "0009_signed_changes",
        include_str!("../migrations/0009_signed_changes.sql"),
    ),
    (
        "0010_device_revocation",
        include_str!("../migrations/0010_device_revocation.sql"),
    ),
    (
        "0011_relay_outbox",
        include_str!("../migrations/0011_relay_outbox.sql"),
    ),
    ("0012_hub", include_str!("../migrations/0012_hub.sql")),
];

pub(crate) fn migrate(conn: &mut Connection) -> Result<()> {
    apply_migrations_up_to(conn, MIGRATIONS.len())
}

/// Applies the migrations not yet applied, up to schema version `target`. Public so tests can
/// build a database as an older Tinjau left it.
pub fn apply_migrations_up_to(conn: &mut Connection, target: usize) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if current > MIGRATIONS.len() as i64 {
        return Err(StoreError::NewerSchema {
            found: current,
            known: MIGRATIONS.len() as i64,
        });
    }
    for (index, (name, sql)) in MIGRATIONS
        .iter()
        .enumerate()
        .take(target)
        .skip(current as usize)
    {
        tracing::info!(migration = name, "applying schema migration");
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
    }
    tx.commit()?;
    Ok(())
}
