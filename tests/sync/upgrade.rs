//! A server database written by the first schema upgrades in place: the tables added since are
//! filled from its log once (who attached which file, every device's chain), on both backends.

use tinjau_core::chain::{ChangeEntry, GENESIS_HASH};
use tinjau_core::change::{
    ContentHash, EvidenceFile, EvidenceOwner, EvidenceRecord, FieldValue, FileName,
};
use tinjau_server::Backend;
use tinjau_tests::{DEMO, Db, VISIT};

const FIRST_SCHEMA: &str = include_str!("../../crates/tinjau-server/migrations/0001_init.sql");

/// A juror's evidence record as an older server logged it.
fn logged_evidence() -> (ChangeEntry, String) {
    let bytes = b"foto balai warga";
    let hash = blake3::hash(bytes).to_hex().to_string();
    let record = EvidenceRecord {
        evidence: EvidenceFile {
            captured_at: None,
            gps: None,
            hash: ContentHash::parse(&hash).unwrap(),
            mime: "image/jpeg".into(),
            original_name: FileName::sanitize("balai.jpg"),
            outside_visit_date: false,
            preview: None,
            size: bytes.len() as u64,
        },
        owner_entity: EvidenceOwner::Observation,
        owner_id: uuid::Uuid::new_v4(),
    };
    let entry = ChangeEntry {
        change_id: uuid::Uuid::new_v4(),
        device_id: uuid::Uuid::new_v4(),
        seq: 1,
        author: "akademisi".into(),
        entity: tinjau_core::Entity::Evidence,
        row_id: uuid::Uuid::new_v4(),
        visit_id: Some(VISIT.into()),
        target_id: Some(record.owner_id.to_string()),
        field: "record".into(),
        value: FieldValue::Evidence(record).encode(),
        base_version: 0,
        hlc: tinjau_core::hlc::Hlc {
            wall_millis: 1_700_000_000_000,
            counter: 0,
        },
        resolves: None,
        prev_hash: String::new(),
        hash: String::new(),
        signature: None,
    }
    .seal(GENESIS_HASH);
    (entry, hash)
}

fn an_old_database_upgrades_and_fills_the_new_tables_once(db: Db) {
    let (entry, hash) = logged_evidence();
    let json = serde_json::to_string(&entry).unwrap();
    let package: tinjau_core::Package = tinjau_core::Package::parse(DEMO.as_bytes()).unwrap();
    let package = serde_json::to_string(&package).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let backend = match &db {
        Db::Sqlite => {
            let conn = rusqlite::Connection::open(dir.path().join("tinjau-server.sqlite3")).unwrap();
            conn.execute_batch(FIRST_SCHEMA).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            conn.execute(
                "INSERT INTO competition (id, revision, package, counter) VALUES ('skk-jatim-2023', 1, ?1, 1)",
                [&package],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO change_log (competition, seq, change_id, author, owner, entity, visit_id, entry, received_at)
                 VALUES ('skk-jatim-2023', 1, ?1, 'akademisi', 'akademisi', 'evidence', ?2, ?3, '2023-11-28T02:00:00.000Z')",
                [entry.change_id.to_string(), VISIT.to_string(), json],
            )
            .unwrap();
            drop(conn);
            Backend::sqlite(dir.path()).expect("the old database upgrades")
        }
        Db::Postgres(url) => runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(connection);
            client
                .batch_execute(&FIRST_SCHEMA.replace(" BLOB ", " BYTEA "))
                .await
                .unwrap();
            client
                .batch_execute(
                    "CREATE TABLE tinjau_schema (version BIGINT NOT NULL);
                     INSERT INTO tinjau_schema (version) VALUES (1)",
                )
                .await
                .unwrap();
            client
                .execute(
                    "INSERT INTO competition (id, revision, package, counter) VALUES ('skk-jatim-2023', 1, $1, 1)",
                    &[&package],
                )
                .await
                .unwrap();
            client
                .execute(
                    "INSERT INTO change_log (competition, seq, change_id, author, owner, entity, visit_id, entry, received_at)
                     VALUES ('skk-jatim-2023', 1, $1, 'akademisi', 'akademisi', 'evidence', $2, $3, '2023-11-28T02:00:00.000Z')",
                    &[&entry.change_id.to_string(), &VISIT, &json],
                )
                .await
                .unwrap();
            Backend::postgres(url).await.expect("the old database upgrades")
        }),
    };
    runtime.block_on(async {
        let refs = backend
            .evidence_refs("skk-jatim-2023", &hash)
            .await
            .unwrap();
        assert_eq!(
            refs,
            [("akademisi".to_string(), VISIT.to_string(), 16)],
            "who attached the file is known from the old log"
        );
        // Opening again changes nothing (the backfill ran once).
        drop(backend);
        let again = match &db {
            Db::Sqlite => Backend::sqlite(dir.path()).unwrap(),
            Db::Postgres(url) => Backend::postgres(url).await.unwrap(),
        };
        assert_eq!(
            again.evidence_refs("skk-jatim-2023", &hash).await.unwrap(),
            refs
        );
    });
}

tinjau_tests::per_backend!(an_old_database_upgrades_and_fills_the_new_tables_once);
