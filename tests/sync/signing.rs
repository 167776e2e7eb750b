//! Signed changes (`docs/signing.md`), against real server processes on SQLite and PostgreSQL:
//! a change counts only when the device that signed it is registered to its author by the
//! author's identity key — at the server on every push, and at every laptop on every pull, so
//! not even the server's own database can put words in a juror's mouth.

use chrono::Duration;
use tinjau_core::change::RefusalCode;
use tinjau_core::signing::{DeviceKey, JurorIdentity, Registration};
use tinjau_tests::{COMPETITION, Db, HostileLaptop, Laptop, Server, VISIT, refusal_code, score_on};

const JURY: &[(&str, &str)] = &[
    ("ketua", "lead"),
    ("akademisi", "juror"),
    ("dindik", "juror"),
];

/// Runs `statement` on the server's own database, as whoever holds it could (`$1`… parameters
/// mean the same on both backends).
fn server_sql(server: &Server, statement: &str, params: &[&str]) {
    match &server.db {
        Db::Sqlite => {
            let conn =
                rusqlite::Connection::open(server.data_dir.join("tinjau-server.sqlite3")).unwrap();
            let changed = conn
                .execute(statement, rusqlite::params_from_iter(params))
                .unwrap();
            assert!(changed > 0, "{statement} changed nothing");
        }
        Db::Postgres(url) => {
            let runtime = tokio::runtime::Runtime::new().unwrap();
            runtime.block_on(async {
                let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                    .await
                    .unwrap();
                tokio::spawn(connection);
                let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params
                    .iter()
                    .map(|p| p as &(dyn tokio_postgres::types::ToSql + Sync))
                    .collect();
                let changed = client.execute(statement, &params).await.unwrap();
                assert!(changed > 0, "{statement} changed nothing");
            });
        }
    }
}

fn a_change_not_signed_by_a_device_registered_to_its_author_is_refused_and_the_rest_go_on(db: Db) {
    let (server, tokens) = Server::start(db.clone(), JURY);
    let url = &server.url;
    let mut lead = Laptop::joined(url, &tokens["ketua"], Duration::zero());
    let mut honest = Laptop::joined(url, &tokens["dindik"], Duration::zero());
    let mut hostile = HostileLaptop::new(url, &tokens["akademisi"], "akademisi");

    // No signature at all (a laptop from before signing, or one that strips it).
    let unsigned = hostile.change(|_| {});
    let unsigned = tinjau_core::chain::ChangeEntry {
        signature: None,
        ..unsigned
    };
    assert_eq!(
        refusal_code(&hostile.push_one(unsigned)),
        Some(RefusalCode::Unsigned),
        "{db:?}"
    );
    // Signed by a key that is not the registered device's.
    let mut forged = hostile.change(|e| e.change_id = uuid::Uuid::new_v4());
    forged.seq = 1;
    let forged = forged
        .seal(tinjau_core::chain::GENESIS_HASH)
        .signed(&DeviceKey::from_seed([9; 32]));
    assert_eq!(
        refusal_code(&hostile.push_one(forged)),
        Some(RefusalCode::BadSignature),
        "{db:?}"
    );

    // A registration signed with the wrong identity key: whoever holds only public data (the
    // package, the server's database, a hub) cannot make the right one.
    let mut impostor = HostileLaptop::new(url, &tokens["akademisi"], "akademisi");
    impostor.registration = JurorIdentity::derive("tjk_not-the-token", COMPETITION, "akademisi")
        .register(Registration::new(
            COMPETITION,
            "akademisi",
            impostor.device_id,
            impostor.device_key.public(),
            chrono::Utc::now(),
        ));
    let change = impostor.change(|e| e.value = "99.0".into());
    assert_eq!(
        refusal_code(&impostor.push_one(change)),
        Some(RefusalCode::BadSignature),
        "{db:?}"
    );
    // Another juror's registered device cannot carry akademisi's changes, even with a token.
    let mut stolen = HostileLaptop::new(url, &tokens["dindik"], "dindik");
    stolen.registration = hostile.registration.clone();
    stolen.device_id = hostile.device_id;
    let change = stolen.change(|e| e.value = "10.0".into());
    assert!(
        matches!(
            refusal_code(&stolen.push_one(change)),
            Some(RefusalCode::ForeignDevice | RefusalCode::BadSignature)
        ),
        "{db:?}"
    );

    // The refused took no place in the chain: the hostile laptop's honest change there goes in.
    let fine = hostile.change(|e| {
        e.seq = 1;
        e.value = "81.0".into();
    });
    let fine = fine
        .seal(tinjau_core::chain::GENESIS_HASH)
        .signed(&hostile.device_key);
    assert_eq!(
        hostile.push_one(fine),
        tinjau_core::sync::Outcome::Applied,
        "{db:?}"
    );
    honest.store.score(VISIT, "I1", 70.0, None).unwrap();
    honest.sync(url).expect("an honest laptop syncs");
    lead.sync(url).expect("the lead syncs");
    assert_eq!(score_on(&lead, "akademisi", "I1"), Some(81.0), "{db:?}");
    assert_eq!(score_on(&lead, "dindik", "I1"), Some(70.0), "{db:?}");
    lead.store.audit().expect("the lead's audit trail verifies");
    assert!(
        lead.store.quarantine().unwrap().is_empty(),
        "{db:?}: nothing refused reaches a laptop"
    );
}

fn a_laptop_refuses_what_the_servers_own_database_forges_in_a_jurors_name(db: Db) {
    let (server, tokens) = Server::start(db.clone(), JURY);
    let url = &server.url;
    let mut juror = Laptop::joined(url, &tokens["akademisi"], Duration::zero());
    juror.store.score(VISIT, "I1", 60.0, None).unwrap();
    juror.sync(url).unwrap();

    // Whoever holds the server's database edits the score, re-hashing the entry so its chain
    // still fits; the device's signature cannot be re-made without the device's key.
    let entry = juror
        .store
        .device_entries(juror.store.device_id())
        .unwrap()
        .into_iter()
        .find(|e| e.field == "value")
        .unwrap();
    let mut edited = tinjau_core::chain::ChangeEntry {
        value: "95.0".into(),
        ..entry.clone()
    };
    edited.hash = edited.compute_hash();
    edited.signature = entry.signature;
    server_sql(
        &server,
        "UPDATE change_log SET entry = $1 WHERE change_id = $2",
        &[
            &serde_json::to_string(&edited).unwrap(),
            &entry.change_id.to_string(),
        ],
    );
    let mut lead = Laptop::joined(url, &tokens["ketua"], Duration::zero());
    lead.sync(url).expect("the lead's sync goes on");
    assert_eq!(
        score_on(&lead, "akademisi", "I1"),
        None,
        "{db:?}: the forgery is not applied"
    );
    let refused = lead.store.quarantine().unwrap();
    assert_eq!(refused.len(), 1, "{db:?}: {refused:?}");
    assert!(
        refused[0].reason.contains("signature"),
        "{db:?}: {refused:?}"
    );

    // Swapping the device's registered key for one the database's holder made does not help:
    // the registration is signed by the juror's identity key, which the server never holds.
    let their_key = DeviceKey::from_seed([42; 32]);
    let mut registration = juror.store.own_registration().unwrap().unwrap();
    registration.registration.device_key = their_key.public();
    server_sql(
        &server,
        "UPDATE device_registration SET registration = $1 WHERE device_id = $2",
        &[
            &serde_json::to_string(&registration).unwrap(),
            &juror.store.device_id().to_string(),
        ],
    );
    let resigned = edited.signed(&their_key);
    server_sql(
        &server,
        "UPDATE change_log SET entry = $1 WHERE change_id = $2",
        &[
            &serde_json::to_string(&resigned).unwrap(),
            &entry.change_id.to_string(),
        ],
    );
    let mut second = Laptop::joined(url, &tokens["ketua"], Duration::zero());
    second
        .sync(url)
        .expect("a second lead laptop's sync goes on");
    assert_eq!(score_on(&second, "akademisi", "I1"), None, "{db:?}");
    let refused = second.store.quarantine().unwrap();
    assert_eq!(refused.len(), 1, "{db:?}: {refused:?}");
}

fn a_data_folder_from_before_signing_signs_its_own_history_and_syncs(db: Db) {
    let (server, tokens) = Server::start(db.clone(), JURY);
    let url = &server.url;
    let mut juror = Laptop::joined(url, &tokens["akademisi"], Duration::zero());
    juror.store.score(VISIT, "I1", 77.0, None).unwrap();
    // What a folder from before signing holds: entries without signatures, no registration.
    let conn =
        rusqlite::Connection::open(juror.dir.path().join(tinjau_store::DATABASE_FILE)).unwrap();
    conn.execute_batch("UPDATE change_log SET signature = NULL; DELETE FROM device_registration;")
        .unwrap();
    drop(conn);
    let mut juror = juror.reopen();
    let entries = juror.store.device_entries(juror.store.device_id()).unwrap();
    let key = juror.store.device_key().unwrap().public();
    for entry in &entries {
        let signature = entry
            .signature
            .expect("signed at the first open after the upgrade");
        tinjau_core::signing::verify_change(entry, &key, &signature).unwrap();
    }
    let report = juror.sync(url).expect("the upgraded folder syncs");
    assert_eq!(report.quarantined, 0, "{db:?}: {report:?}");
    let mut lead = Laptop::joined(url, &tokens["ketua"], Duration::zero());
    lead.sync(url).unwrap();
    assert_eq!(score_on(&lead, "akademisi", "I1"), Some(77.0), "{db:?}");
}

fn a_sheet_on_a_usb_stick_is_checked_against_the_jurors_identity_key(db: Db) {
    let (server, tokens) = Server::start(db.clone(), JURY);
    let url = &server.url;
    let mut juror = Laptop::joined(url, &tokens["akademisi"], Duration::zero());
    juror.store.score(VISIT, "I1", 50.0, None).unwrap();
    juror.sync(url).unwrap();
    // The lead syncs once (and so holds the jury's identity keys), then the visit is offline.
    let mut lead = Laptop::joined(url, &tokens["ketua"], Duration::zero());
    lead.sync(url).unwrap();
    juror.score_and_submit(VISIT, 70.0);
    let sheet = juror.store.export_sheet(VISIT, false).unwrap();

    // One byte of a score edited on the stick, the chain re-hashed from there on: the
    // signatures, which only the juror's device can make, no longer fit.
    let mut file: serde_json::Value = serde_json::from_slice(&sheet).unwrap();
    let mut entries: Vec<tinjau_core::chain::ChangeEntry> =
        serde_json::from_value(file["entries"].clone()).unwrap();
    let edited = entries
        .iter()
        .position(|e| e.field == "value" && e.value == "73.0")
        .expect("the juror's I4 score");
    entries[edited].value = "93.0".into();
    for i in edited..entries.len() {
        let prev = entries[i - 1].hash.clone();
        let signature = entries[i].signature;
        entries[i] = entries[i].clone().seal(&prev);
        entries[i].signature = signature;
    }
    file["entries"] = serde_json::to_value(&entries).unwrap();
    let report = lead
        .store
        .import_sheet(&serde_json::to_vec(&file).unwrap())
        .expect("a tampered sheet is imported, its changes refused");
    assert!(report.signatures_checked, "{db:?}");
    assert!(!report.quarantined.is_empty(), "{db:?}: {report:?}");
    assert!(
        report
            .quarantined
            .iter()
            .all(|r| r.reason.contains("signature")),
        "{db:?}: {report:?}"
    );
    // What came before the edit is the juror's and counts; the edited score and all after it
    // do not (the submission neither).
    assert_eq!(score_on(&lead, "akademisi", "I1"), Some(70.0), "{db:?}");
    assert_eq!(score_on(&lead, "akademisi", "I3"), Some(72.0), "{db:?}");
    assert_eq!(score_on(&lead, "akademisi", "I4"), None, "{db:?}");

    // Unsigned, the same sheet is refused as well (on a fresh lead laptop that synced).
    let mut stripped: serde_json::Value = serde_json::from_slice(&sheet).unwrap();
    for entry in stripped["entries"].as_array_mut().unwrap() {
        entry.as_object_mut().unwrap().remove("signature");
    }
    let mut second = Laptop::joined(url, &tokens["ketua"], Duration::zero());
    second.sync(url).unwrap();
    let report = second
        .store
        .import_sheet(&serde_json::to_vec(&stripped).unwrap())
        .unwrap();
    assert_eq!(report.applied, 0, "{db:?}: {report:?}");
    assert!(
        report
            .quarantined
            .iter()
            .all(|r| r.reason.contains("no signature")),
        "{db:?}: {report:?}"
    );

    // The honest sheet goes in whole.
    let mut third = Laptop::joined(url, &tokens["ketua"], Duration::zero());
    third.sync(url).unwrap();
    let report = third.store.import_sheet(&sheet).unwrap();
    assert!(report.signatures_checked, "{db:?}");
    assert!(report.quarantined.is_empty(), "{db:?}: {report:?}");
    assert_eq!(score_on(&third, "akademisi", "I1"), Some(70.0), "{db:?}");
}

fn a_revoked_device_is_refused_everywhere_from_its_revocation_on(db: Db) {
    let (server, tokens) = Server::start(db.clone(), JURY);
    let url = &server.url;
    let mut stolen = Laptop::joined(url, &tokens["akademisi"], Duration::zero());
    stolen.store.score(VISIT, "I1", 60.0, None).unwrap();
    stolen.sync(url).unwrap();
    let device = stolen.store.sync_status().unwrap().device_id;
    assert_eq!(device, stolen.store.device_id());

    // The laptop is stolen: the organiser revokes its device, from the change after the last
    // one the server holds. (The token is left valid here, to show the device's revocation is
    // enough: in the field the organiser withdraws both.)
    let said = server.revoke_device(device, None);
    assert!(said.contains("revoked from its change 2"), "{said}");
    assert!(
        server
            .admin_command()
            .args([
                "revoke-device",
                "--device",
                &device.to_string(),
                "--from-seq",
                "0"
            ])
            .output()
            .map(|o| !o.status.success())
            .unwrap(),
        "position 0 is refused, not stored"
    );
    stolen.score_and_submit(VISIT, 10.0);
    let report = stolen.sync(url).expect("the thief's sync is answered");
    assert_eq!(report.pushed, 0, "{db:?}: {report:?}");
    let refused = stolen.store.sync_status().unwrap().quarantined;
    assert_eq!(refused.len(), 8, "{db:?}: {refused:?}");
    assert!(
        refused.iter().all(|r| r.reason.contains("was revoked")),
        "{db:?}: {refused:?}"
    );

    // Its sheet on a USB stick is refused by the lead, who learnt of the revocation at sync.
    let mut lead = Laptop::joined(url, &tokens["ketua"], Duration::zero());
    lead.sync(url).unwrap();
    let report = lead
        .store
        .import_sheet(&stolen.store.export_sheet(VISIT, false).unwrap())
        .unwrap();
    assert_eq!(
        (report.applied, report.duplicates),
        (0, 1),
        "{db:?}: {report:?}"
    );
    assert_eq!(report.quarantined.len(), 8, "{db:?}: {report:?}");
    assert!(
        report
            .quarantined
            .iter()
            .all(|r| r.reason.contains("revoked")),
        "{db:?}: {report:?}"
    );
    assert_eq!(score_on(&lead, "akademisi", "I1"), Some(60.0), "{db:?}");

    // The juror goes on from a new laptop (a new device).
    let mut replacement = Laptop::joined(url, &tokens["akademisi"], Duration::zero());
    replacement.store.score(VISIT, "I1", 65.0, None).unwrap();
    let report = replacement.sync(url).unwrap();
    assert_eq!(report.quarantined, 0, "{db:?}: {report:?}");
    lead.sync(url).unwrap();
    assert_eq!(score_on(&lead, "akademisi", "I1"), Some(65.0), "{db:?}");
}

fn a_sheet_from_a_usb_stick_reaches_the_server_through_the_lead_and_converges(db: Db) {
    let (server, tokens) = Server::start(db.clone(), JURY);
    let url = &server.url;
    // A juror whose laptop joined, then never reached the server again.
    let mut juror = Laptop::joined(url, &tokens["akademisi"], Duration::zero());
    juror.score_and_submit(VISIT, 70.0);
    let sheet = juror.store.export_sheet(VISIT, false).unwrap();

    // The lead (who synced before the visit, and so holds every juror's identity key) takes
    // the sheet from the USB stick, checks it, and relays it at the next sync.
    let mut lead = Laptop::joined(url, &tokens["ketua"], Duration::zero());
    lead.sync(url).unwrap();
    let report = lead.store.import_sheet(&sheet).unwrap();
    assert!(report.signatures_checked, "{db:?}: {report:?}");
    assert_eq!(report.applied, 8, "{db:?}: {report:?}");
    let relay = lead.sync(url).expect("the lead's sync relays the sheet");
    assert_eq!(relay.relayed, 8, "{db:?}: {relay:?}");
    assert_eq!(lead.sync(url).unwrap().relayed, 0, "{db:?}: relayed once");

    // The server holds the juror's work: another lead laptop pulls it.
    let mut other = Laptop::joined(url, &tokens["ketua"], Duration::zero());
    other.sync(url).unwrap();
    assert_eq!(score_on(&other, "akademisi", "I1"), Some(70.0), "{db:?}");
    assert_eq!(score_on(&other, "akademisi", "I7"), Some(76.0), "{db:?}");
    assert!(other.store.quarantine().unwrap().is_empty(), "{db:?}");

    // The juror syncs directly later: every change is already there, none applied twice.
    let direct = juror.sync(url).unwrap();
    assert_eq!(
        (direct.pushed, direct.duplicates, direct.quarantined),
        (0, 8, 0),
        "{db:?}: {direct:?}"
    );
    juror
        .store
        .audit()
        .expect("the juror's audit trail verifies");

    // A relayer cannot write in a juror's name: a registration for akademisi made from the
    // lead's token is not signed by akademisi's identity key.
    let mut relayer = HostileLaptop::new(url, &tokens["ketua"], "akademisi");
    let change = relayer.change(|e| e.value = "11.0".into());
    assert_eq!(
        refusal_code(&relayer.push_one(change)),
        Some(RefusalCode::BadSignature),
        "{db:?}"
    );
    other.sync(url).unwrap();
    assert_eq!(score_on(&other, "akademisi", "I1"), Some(70.0), "{db:?}");
}

fn a_juror_who_never_reaches_a_server_registers_with_the_slips_token(db: Db) {
    let (server, tokens) = Server::start(db.clone(), JURY);
    let url = &server.url;
    let mut lead = Laptop::joined(url, &tokens["ketua"], Duration::zero());
    lead.sync(url).unwrap();
    // Set up from the package file, with the token from the slip (`tinjau init --token`).
    let offline = |juror: &str, token: Option<&str>| {
        let mut laptop = Laptop::new(Duration::zero());
        laptop
            .store
            .import_package(tinjau_tests::DEMO.as_bytes())
            .unwrap();
        laptop.store.init_juror(juror).unwrap();
        if let Some(token) = token {
            laptop.store.register_device(token).unwrap();
        }
        laptop.score_and_submit(VISIT, 80.0);
        laptop.store.export_sheet(VISIT, false).unwrap()
    };
    let report = lead
        .store
        .import_sheet(&offline("akademisi", Some(&tokens["akademisi"])))
        .unwrap();
    assert!(report.signatures_checked, "{db:?}: {report:?}");
    assert_eq!(report.applied, 8, "{db:?}: {report:?}");

    // Without the token the laptop has no registration: its sheet is taken on the rules alone,
    // says so, and is not relayed (the server would refuse it).
    let report = lead.store.import_sheet(&offline("dindik", None)).unwrap();
    assert!(!report.signatures_checked, "{db:?}: {report:?}");
    assert_eq!(report.applied, 8, "{db:?}: {report:?}");
    let relay = lead.sync(url).unwrap();
    assert_eq!(
        relay.relayed, 8,
        "{db:?}: only the checked sheet: {relay:?}"
    );
    let mut other = Laptop::joined(url, &tokens["ketua"], Duration::zero());
    other.sync(url).unwrap();
    assert_eq!(score_on(&other, "akademisi", "I1"), Some(80.0), "{db:?}");
    assert_eq!(score_on(&other, "dindik", "I1"), None, "{db:?}");
}

fn a_push_stuffed_with_registrations_is_refused_whole_and_others_go_on(db: Db) {
    let (server, tokens) = Server::start(db.clone(), JURY);
    let url = &server.url;
    let mut hostile = HostileLaptop::new(url, &tokens["akademisi"], "akademisi");
    let change = hostile.change(|_| {});
    let stuffed = tinjau_core::sync::PushRequest {
        device_id: hostile.device_id,
        client_time_ms: 0,
        changes: vec![change],
        registrations: vec![
            hostile.registration.clone();
            tinjau_core::sync::MAX_PUSH_REGISTRATIONS + 1
        ],
    };
    let client = tinjau_sync::Client::new(url, &tokens["akademisi"], None).unwrap();
    match client.push(&stuffed) {
        Err(tinjau_sync::SyncError::Server { status: 413, .. }) => {}
        other => panic!("{db:?}: {other:?}"),
    }
    // Nothing of it was taken; the honest laptops sync.
    let mut honest = Laptop::joined(url, &tokens["dindik"], Duration::zero());
    honest.store.score(VISIT, "I1", 70.0, None).unwrap();
    honest.sync(url).expect("an honest laptop syncs");
    let mut lead = Laptop::joined(url, &tokens["ketua"], Duration::zero());
    lead.sync(url).unwrap();
    assert_eq!(score_on(&lead, "akademisi", "I1"), None, "{db:?}");
    assert_eq!(score_on(&lead, "dindik", "I1"), Some(70.0), "{db:?}");
}

tinjau_tests::per_backend!(
    a_push_stuffed_with_registrations_is_refused_whole_and_others_go_on,
    a_juror_who_never_reaches_a_server_registers_with_the_slips_token,
    a_sheet_from_a_usb_stick_reaches_the_server_through_the_lead_and_converges,
    a_revoked_device_is_refused_everywhere_from_its_revocation_on,
    a_sheet_on_a_usb_stick_is_checked_against_the_jurors_identity_key,
    a_change_not_signed_by_a_device_registered_to_its_author_is_refused_and_the_rest_go_on,
    a_laptop_refuses_what_the_servers_own_database_forges_in_a_jurors_name,
    a_data_folder_from_before_signing_signs_its_own_history_and_syncs,
);
