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

/// Each data folder gets its device's signing key once (a folder from before signing at its
/// first open after the upgrade); it is kept across opens, differs between laptops, and a
/// folder that continues as a new device gets a new one (docs/signing.md).
#[test]
fn every_data_folder_keeps_a_device_key_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    {
        // As a Tinjau from before signing left it: no key.
        let mut conn = Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
        apply_migrations_up_to(&mut conn, MIGRATIONS.len()).unwrap();
        let keys: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM meta WHERE key = 'device_key'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(keys, 0);
    }
    let clock = TestClock::at(visit_day());
    let first = Store::open(dir.path(), options(&clock, 1 << 20))
        .unwrap()
        .device_key()
        .unwrap()
        .public();
    let again = Store::open(dir.path(), options(&clock, 1 << 20))
        .unwrap()
        .device_key()
        .unwrap()
        .public();
    assert_eq!(first, again, "kept across opens");

    let other = crate::support::TestStore::juror("akademisi");
    let other_key = other.store.device_key().unwrap().public();
    assert_ne!(other_key, first, "another laptop, another key");

    let mut copy = other;
    copy.store.continue_as_new_device().unwrap();
    let new_key = copy.store.device_key().unwrap().public();
    assert_ne!(new_key, other_key, "a new device, a new key");
    // The key signs what the core verifies.
    let entry = tinjau_core::chain::ChangeEntry {
        change_id: uuid::Uuid::nil(),
        device_id: copy.store.device_id(),
        seq: 1,
        author: "akademisi".into(),
        entity: tinjau_core::domain::Entity::Score,
        row_id: uuid::Uuid::nil(),
        visit_id: None,
        target_id: None,
        field: "value".into(),
        value: "80".into(),
        base_version: 0,
        hlc: "1-0".parse().unwrap(),
        resolves: None,
        prev_hash: String::new(),
        hash: String::new(),
        signature: None,
    };
    let signature = copy.store.device_key().unwrap().sign_change(&entry);
    assert_eq!(
        tinjau_core::signing::verify_change(&entry, &new_key, &signature),
        Ok(())
    );
}
