//! A visit's hub (`docs/hub.md`): the lead's laptop serves the sync protocol on site, over
//! HTTPS pinned by its words, while the central server is out of reach; later the lead relays
//! everything to the central server. Real stores, a real hub on 127.0.0.1, real central server
//! processes on SQLite and PostgreSQL.

use chrono::Duration;
use tinjau_core::Verdict;
use tinjau_core::change::RefusalCode;
use tinjau_core::signing::{DeviceKey, JurorIdentity, Registration};
use tinjau_store::VerifyRequest;
use tinjau_tests::{
    COMPETITION, Db, HostileLaptop, Hub, INDICATORS, Laptop, Server, VISIT, jury_roles,
    refusal_code, score_on,
};

use crate::foreign_rows;

/// The whole jury joined the central server before the visit (as they do at the briefing).
fn jury_joined(
    server: &Server,
    tokens: &std::collections::HashMap<String, String>,
) -> Vec<(String, Laptop)> {
    jury_roles()
        .iter()
        .map(|(juror, _)| {
            (
                juror.to_string(),
                Laptop::joined(&server.url, &tokens[*juror], Duration::zero()),
            )
        })
        .collect()
}

fn seven_laptops_converge_at_the_hub_offline_and_the_lead_relays_to_the_central_server(db: Db) {
    let (mut server, tokens) = Server::start(db.clone(), &jury_roles());
    let mut jury = jury_joined(&server, &tokens);
    // The lead syncs before leaving: the jury's identity keys are on the lead's laptop.
    jury[0].1.sync(&server.url).unwrap();
    assert_eq!(jury[0].0, "ketua");

    // At the kecamatan: no internet. The central server is out of reach for the whole visit.
    server.kill9();
    let hub = Hub::start(&jury[0].1);

    for (i, (juror, laptop)) in jury.iter_mut().enumerate() {
        let photo = laptop.dir.path().join(format!("{juror}.jpg"));
        std::fs::write(&photo, format!("foto dari {juror}")).unwrap();
        laptop
            .store
            .verify(&VerifyRequest {
                visit: VISIT.into(),
                innovation: "lansia-smart".into(),
                verdict: Verdict::Found,
                note: Some(format!("catatan {juror}")),
                evidence: vec![],
            })
            .unwrap();
        laptop
            .store
            .observe(VISIT, &format!("pengamatan {juror}"), None, &[photo])
            .unwrap();
        laptop.score_and_submit(VISIT, 60.0 + 3.0 * i as f64);
        if juror == "ketua" {
            laptop.score_and_submit("visit-contoh-a", 70.0);
        }
    }
    // Every juror syncs with the hub (twice: the second brings what others sent meanwhile).
    for _ in 0..2 {
        for (juror, laptop) in jury.iter_mut() {
            let report = laptop
                .sync_hub(&hub)
                .unwrap_or_else(|e| panic!("{db:?} {juror} at the hub: {e}"));
            assert_eq!(report.quarantined, 0, "{db:?} {juror}: {report:?}");
        }
    }

    // The lead holds every sheet and merges on site.
    let lead = &jury[0].1;
    for (i, (juror, _)) in jury.iter().enumerate() {
        assert_eq!(
            score_on(lead, juror, "I1"),
            Some(60.0 + 3.0 * i as f64),
            "{db:?}: the lead has {juror}'s score"
        );
    }
    let on_site = lead.store.merge(None).unwrap();
    assert_eq!(on_site.participant("junrejo").unwrap().cells[0].n, 7);
    assert!(
        lead.store.missing_evidence().unwrap().is_empty(),
        "{db:?}: every photo at the lead: {:?}",
        lead.store.missing_evidence().unwrap()
    );
    // Blind rules hold at the hub: a juror sees the team's observations, no one else's scores.
    for (juror, laptop) in &jury[1..] {
        assert_eq!(
            foreign_rows(laptop, "score", juror),
            0,
            "{db:?}: {juror} saw scores"
        );
        assert_eq!(
            foreign_rows(laptop, "observation", juror),
            6,
            "{db:?}: {juror}"
        );
    }

    // The lead locks, the jurors hear it from the hub, and the berita acara prints on site.
    let lock = jury[0].1.store.lock(VISIT).unwrap();
    jury[0].1.sync_hub(&hub).unwrap();
    jury[3].1.sync_hub(&hub).unwrap();
    assert_eq!(
        jury[3].1.store.visit_lock(VISIT).unwrap().map(|l| l.hash),
        Some(lock.hash.clone()),
        "{db:?}: a juror's laptop knows the visit is locked"
    );
    let report = jury[0].1.store.visit_report(VISIT).unwrap();
    let pdf = tinjau_report::berita_acara_pdf(&report, chrono::Utc::now().date_naive()).unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    hub.stop();

    // Back in town: the lead's one sync sends the central server everything the hub held.
    server.restart();
    let report = jury[0].1.sync(&server.url).unwrap();
    assert!(
        report.relayed >= 6 * (INDICATORS.len() as u64 + 1),
        "{db:?}: {report:?}"
    );
    // A fresh laptop of the lead's pulls from the central server: its merge and lock equal
    // the hub's.
    let mut check = Laptop::joined(&server.url, &tokens["ketua"], Duration::zero());
    check.sync(&server.url).unwrap();
    assert_eq!(check.store.merge(None).unwrap(), on_site, "{db:?}");
    assert_eq!(
        check.store.visit_lock(VISIT).unwrap().map(|l| l.hash),
        Some(lock.hash),
        "{db:?}"
    );
    // A juror syncing directly later converges with the relayed copy: nothing twice.
    let (juror, laptop) = &mut jury[2];
    let report = laptop.sync(&server.url).unwrap();
    assert_eq!(report.quarantined, 0, "{db:?} {juror}: {report:?}");
    assert_eq!(
        report.pushed, 0,
        "{db:?} {juror}: everything was relayed: {report:?}"
    );
    assert!(report.duplicates > 0, "{db:?} {juror}: {report:?}");
    assert_eq!(laptop.store.sync_status().unwrap().pending_changes, 0);
}

fn the_hub_refuses_forged_foreign_and_revoked_changes_and_strangers(db: Db) {
    let (server, tokens) = Server::start(db.clone(), &jury_roles());
    let url = &server.url;
    let mut lead = Laptop::joined(url, &tokens["ketua"], Duration::zero());
    // A laptop of dindik's is lost before the visit; the organiser revokes its device.
    let mut lost = Laptop::joined(url, &tokens["dindik"], Duration::zero());
    lost.store.score(VISIT, "I1", 50.0, None).unwrap();
    lost.sync(url).unwrap();
    server.revoke_device(lost.store.device_id(), None);
    lead.sync(url).unwrap();
    let hub = Hub::start(&lead);
    let session = |juror: &str, token: &str| {
        tinjau_sync::Client::hub_session(&hub.url, &hub.words, COMPETITION, juror, token)
    };

    // Strangers: a wrong token, a wrong pin, another juror's name.
    let wrong = session("akademisi", "tjk_not-the-token").unwrap_err();
    assert!(
        matches!(wrong, tinjau_sync::SyncError::Server { status: 401, .. }),
        "{wrong}"
    );
    let wrong = session("akademisi", &tokens["dindik"]).unwrap_err();
    assert!(
        matches!(wrong, tinjau_sync::SyncError::Server { status: 401, .. }),
        "{wrong}"
    );
    let other_pin = "abu abu abu abu abu abu abu abu";
    let wrong = tinjau_sync::Client::hub_session(
        &hub.url,
        other_pin,
        COMPETITION,
        "akademisi",
        &tokens["akademisi"],
    )
    .unwrap_err();
    assert!(
        matches!(wrong, tinjau_sync::SyncError::Network(_)),
        "{wrong}"
    );

    // A hostile laptop with akademisi's token, at the hub.
    let mut hostile = HostileLaptop::new(url, &tokens["akademisi"], "akademisi");
    hostile.client = session("akademisi", &tokens["akademisi"]).unwrap();
    // Written in dindik's name from akademisi's device: refused.
    let foreign = hostile.change(|e| e.author = "dindik".into());
    assert_eq!(
        refusal_code(&hostile.push_one(foreign)),
        Some(RefusalCode::ForeignDevice),
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
    // A registration signed with the wrong identity key (all the hub could make).
    let mut impostor = HostileLaptop::new(url, &tokens["akademisi"], "akademisi");
    impostor.client = session("akademisi", &tokens["akademisi"]).unwrap();
    impostor.registration = JurorIdentity::derive("tjk_the-hub-guessing", COMPETITION, "akademisi")
        .register(Registration::new(
            COMPETITION,
            "akademisi",
            impostor.device_id,
            impostor.device_key.public(),
            chrono::Utc::now(),
        ));
    let change = impostor.change(|_| {});
    assert_eq!(
        refusal_code(&impostor.push_one(change)),
        Some(RefusalCode::BadSignature),
        "{db:?}"
    );
    // The lost laptop, found by someone with dindik's token, at the hub: its device is revoked.
    lost.store.score(VISIT, "I2", 51.0, None).unwrap();
    let report = lost.sync_hub(&hub).unwrap();
    assert_eq!(report.quarantined, 1, "{db:?}: {report:?}");
    let refused = lost.store.sync_status().unwrap().quarantined;
    assert!(
        refused.len() == 1 && refused[0].reason.contains("revoked"),
        "{db:?}: {refused:?}"
    );

    // An honest juror goes on; the lead has only what is honest.
    let mut honest = Laptop::joined(url, &tokens["biro-hukum"], Duration::zero());
    honest.store.score(VISIT, "I1", 77.0, None).unwrap();
    honest.sync_hub(&hub).unwrap();
    lead.sync_hub(&hub).unwrap();
    assert_eq!(score_on(&lead, "biro-hukum", "I1"), Some(77.0), "{db:?}");
    assert_eq!(score_on(&lead, "akademisi", "I1"), None, "{db:?}");
    assert_eq!(score_on(&lead, "dindik", "I2"), None, "{db:?}");
    // And the central server refuses the same when the lead relays: nothing forged got in.
    lead.sync(url).unwrap();
    let mut check = Laptop::joined(url, &tokens["ketua"], Duration::zero());
    check.sync(url).unwrap();
    assert_eq!(score_on(&check, "biro-hukum", "I1"), Some(77.0), "{db:?}");
    assert_eq!(score_on(&check, "dindik", "I2"), None, "{db:?}");
    assert_eq!(score_on(&check, "akademisi", "I1"), None, "{db:?}");
}

/// The hub's database is the lead's: whoever edits a juror's score in it and re-hashes the
/// change (or publishes another identity key for that juror) gets it refused by the juror's
/// laptop and by the central server.
fn a_laptop_refuses_what_the_hubs_own_database_forges(db: Db) {
    let (server, tokens) = Server::start(db.clone(), &jury_roles());
    let url = &server.url;
    let mut lead = Laptop::joined(url, &tokens["ketua"], Duration::zero());
    lead.sync(url).unwrap();
    let mut akademisi = Laptop::joined(url, &tokens["akademisi"], Duration::zero());
    let mut dindik = Laptop::joined(url, &tokens["dindik"], Duration::zero());
    // dindik synced at the briefing: akademisi's identity key is on dindik's laptop.
    dindik.sync(url).unwrap();
    let hub = Hub::start(&lead);
    akademisi
        .store
        .observe(VISIT, "posyandu berjalan", None, &[])
        .unwrap();
    akademisi.sync_hub(&hub).unwrap();

    // The hub's owner rewrites the observation and re-hashes it, and swaps in an identity key
    // of their own making for akademisi, with a device registered by it.
    let database = rusqlite::Connection::open(Hub::database(&lead)).unwrap();
    let fake = JurorIdentity::derive("tjk_made-by-the-hub", COMPETITION, "akademisi");
    database
        .execute(
            "INSERT INTO token (hash, competition, juror, role, created_at, identity_key)
             VALUES ('x', ?1, 'akademisi', 'juror', '2023-11-28', ?2)",
            [COMPETITION, &fake.public().to_string()],
        )
        .unwrap();
    let (seq, entry): (i64, String) = database
        .query_row(
            "SELECT seq, entry FROM change_log WHERE entry LIKE '%posyandu berjalan%'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let mut change: tinjau_core::chain::ChangeEntry = serde_json::from_str(&entry).unwrap();
    let device = DeviceKey::from_seed([3; 32]);
    change.value = change.value.replace("berjalan", "tidak ada");
    change.device_id = uuid::Uuid::new_v4();
    let registration = fake.register(Registration::new(
        COMPETITION,
        "akademisi",
        change.device_id,
        device.public(),
        chrono::Utc::now(),
    ));
    let change = change
        .seal(tinjau_core::chain::GENESIS_HASH)
        .signed(&device);
    database
        .execute(
            "UPDATE change_log SET entry = ?1 WHERE seq = ?2",
            rusqlite::params![serde_json::to_string(&change).unwrap(), seq],
        )
        .unwrap();
    database
        .execute(
            "INSERT INTO device_registration (competition, device_id, juror, registration)
             VALUES (?1, ?2, 'akademisi', ?3)",
            rusqlite::params![
                COMPETITION,
                change.device_id.to_string(),
                serde_json::to_string(&registration).unwrap()
            ],
        )
        .unwrap();
    drop(database);

    // dindik's laptop knows akademisi's real key (from the central server): refused.
    let report = dindik.sync_hub(&hub).unwrap();
    assert_eq!(
        report.pulled, 1,
        "{db:?}: the forged change arrived: {report:?}"
    );
    let timeline = dindik.store.checklist(VISIT).unwrap().observations;
    assert!(
        timeline.iter().all(|o| o.juror_id != "akademisi"),
        "{db:?}: the forged observation was taken: {timeline:?}"
    );
    // The lead relays it to the central server, which refuses it too.
    lead.sync_hub(&hub).unwrap();
    lead.sync(url).unwrap();
    let mut check = Laptop::joined(url, &tokens["dindik"], Duration::zero());
    check.sync(url).unwrap();
    let timeline = check.store.checklist(VISIT).unwrap().observations;
    assert!(
        timeline.iter().all(|o| !o.text.contains("tidak ada")),
        "{db:?}"
    );
}

tinjau_tests::per_backend!(
    seven_laptops_converge_at_the_hub_offline_and_the_lead_relays_to_the_central_server,
    the_hub_refuses_forged_foreign_and_revoked_changes_and_strangers,
    a_laptop_refuses_what_the_hubs_own_database_forges,
);
