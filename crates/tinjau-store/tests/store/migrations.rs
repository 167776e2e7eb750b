//! Schema upgrades: a database written by the previous schema opens, upgraded, with its data.

use rusqlite::{Connection, params};
use tinjau_store::{DATABASE_FILE, MIGRATIONS, Store, apply_migrations_up_to};

use crate::support::{DEMO, TestClock, VISIT, options, visit_day};

#[test]
fn a_database_from_the_previous_schema_is_upgraded_with_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let previous = MIGRATIONS.len() - 1;
    {
        // As the previous Tinjau left it: a package, this juror, one score and its change.
        let mut conn = Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
        apply_migrations_up_to(&mut conn, previous).unwrap();
        let package: tinjau_core::Package = serde_json::from_str(DEMO).unwrap();
        conn.execute(
            "INSERT INTO competition (id, revision, package, imported_at) VALUES (?1, 1, ?2, '2023-11-27T00:00:00Z')",
            params![package.competition.id, serde_json::to_string(&package).unwrap()],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('juror_id', 'akademisi')",
            [],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO score (id, juror_id, visit_id, indicator_id, value, note, updated_at)
             VALUES ('s1', 'akademisi', ?1, 'I1', 77.5, 'lama', '2023-11-28T03:00:00Z')",
            [VISIT],
        )
        .unwrap();
    }

    let clock = TestClock::at(visit_day());
    let mut store = Store::open(dir.path(), options(&clock, 1 << 20)).unwrap();
    let version: i64 = Connection::open(dir.path().join(DATABASE_FILE))
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, MIGRATIONS.len() as i64);
    let checklist = store.checklist(VISIT).unwrap();
    assert_eq!(checklist.groups[0].score.as_ref().unwrap().value, 77.5);
    // And the upgraded store works: a new change lands in the outbox as unsynced.
    store.score(VISIT, "I2", 70.0, None).unwrap();
    assert_eq!(store.unsynced_changes().unwrap(), 1);
    store.audit().unwrap();
}

#[test]
fn a_database_from_a_newer_tinjau_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    {
        let conn = Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
    }
    let clock = TestClock::at(visit_day());
    let error = Store::open(dir.path(), options(&clock, 1 << 20)).unwrap_err();
    assert_eq!(error.code(), "newer_schema", "{error}");
    assert!(error.to_string().contains("99"));
}
