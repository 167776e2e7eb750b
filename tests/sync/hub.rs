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

/// `tinjau host` and `tinjau sync --server HUB --pin WORDS`, as the lead and a juror type them.
#[test]
fn the_lead_hosts_and_a_juror_syncs_from_the_command_line() {
    use std::io::BufRead;
    let (server, tokens) = Server::start(Db::Sqlite, &[("ketua", "lead"), ("akademisi", "juror")]);
    let (lead, juror) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let join = |dir: &std::path::Path, who: &str| {
        let (ok, _, stderr) = crate::cli::tinjau(
            dir,
            &["sync", "--server", &server.url, "--token", &tokens[who]],
        );
        assert!(ok, "{stderr}");
    };
    join(lead.path(), "ketua");
    join(juror.path(), "akademisi");
    // Only the lead's laptop hosts.
    let (ok, _, stderr) = crate::cli::tinjau(juror.path(), &["host", "--listen", "127.0.0.1:0"]);
    assert!(!ok && stderr.contains("team lead"), "{stderr}");

    let mut host = tinjau_tests::tinjau_cli()
        .arg("--data-dir")
        .arg(lead.path())
        .args(["--json", "host", "--listen", "127.0.0.1:0"])
        .env_remove("TINJAU_DATA_DIR")
        .env("RUST_LOG", "off")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(host.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let hosting: serde_json::Value = serde_json::from_str(&line).unwrap();
    let (address, words) = (
        hosting["address"].as_str().unwrap().to_string(),
        hosting["pin_words"].as_str().unwrap().to_string(),
    );
    // Only two jurors were given tokens: the hub says it cannot confirm the others.
    assert_eq!(
        hosting["unconfirmable_jurors"],
        serde_json::json!(["dindik", "biro-hukum", "peneliti", "dinkes", "dinkop"])
    );

    assert!(crate::cli::tinjau(juror.path(), &["score", VISIT, "I1", "80"]).0);
    // A wrong pin: nothing is sent, and the error says why.
    let (ok, _, stderr) = crate::cli::tinjau(
        juror.path(),
        &[
            "sync",
            "--server",
            &address,
            "--pin",
            "abu abu abu abu abu abu abu kucing",
        ],
    );
    assert!(!ok && stderr.contains("kucing"), "{stderr}");
    let (ok, report, stderr) = crate::cli::tinjau(
        juror.path(),
        &["sync", "--server", &address, "--pin", &words],
    );
    assert!(ok, "{stderr}");
    assert_eq!(report["pushed"], 1, "{report}");
    // The central server is still the one remembered, and is still owed the score.
    let (_, status, _) = crate::cli::tinjau(juror.path(), &["status"]);
    assert_eq!(status["server"], server.url.as_str());
    assert_eq!(status["pending_changes"], 1);
    let (ok, report, stderr) = crate::cli::tinjau(
        lead.path(),
        &["sync", "--server", &address, "--pin", &words],
    );
    assert!(ok, "{stderr}");
    assert_eq!(report["pulled"], 1, "{report}");
    let _ = host.kill();
    let _ = host.wait();
}

/// Requests a hostile laptop on the hotspot could craft: the hub answers each with a 4xx and
/// goes on serving the jury.
#[test]
fn crafted_session_requests_are_refused_and_the_hub_goes_on() {
    let (server, tokens) = Server::start(Db::Sqlite, &jury_roles());
    let mut lead = Laptop::joined(&server.url, &tokens["ketua"], Duration::zero());
    lead.sync(&server.url).unwrap();
    let hub = Hub::start(&lead);
    let http = reqwest::blocking::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let hello = || -> tinjau_core::hub::HubHello {
        http.get(format!("{}/v1/hub", hub.url))
            .send()
            .unwrap()
            .json()
            .unwrap()
    };
    let session = |body: serde_json::Value| {
        http.post(format!("{}/v1/hub/session", hub.url))
            .json(&body)
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    let identity = JurorIdentity::derive(&tokens["akademisi"], COMPETITION, "akademisi");
    let proof = |nonce: &str| {
        identity
            .sign_hub_session(COMPETITION, "akademisi", nonce)
            .to_string()
    };
    // A nonce the hub never gave.
    assert_eq!(
        session(serde_json::json!({"juror": "akademisi", "nonce": "00", "proof": proof("00")})),
        401
    );
    // A valid proof, replayed.
    let nonce = hello().nonce;
    let valid = serde_json::json!({"juror": "akademisi", "nonce": nonce, "proof": proof(&nonce)});
    assert_eq!(session(valid.clone()), 200);
    assert_eq!(session(valid), 401);
    // Malformed: not a signature, unknown fields, not JSON.
    let nonce = hello().nonce;
    assert_eq!(
        session(serde_json::json!({"juror": "akademisi", "nonce": nonce, "proof": "zz"})),
        400
    );
    assert_eq!(
        session(
            serde_json::json!({"juror": "akademisi", "nonce": nonce, "proof": proof(&nonce), "role": "lead"})
        ),
        400
    );
    let status = http
        .post(format!("{}/v1/hub/session", hub.url))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 400);
    // A huge juror name.
    let nonce = hello().nonce;
    let huge = "x".repeat(2_000_000);
    assert_eq!(
        session(serde_json::json!({"juror": huge, "nonce": nonce, "proof": proof(&nonce)})),
        401
    );
    // A flood of nonces: the oldest give way, a fresh one still works.
    let first = hello().nonce;
    for _ in 0..600 {
        hello();
    }
    assert_eq!(
        session(serde_json::json!({"juror": "akademisi", "nonce": first, "proof": proof(&first)})),
        401
    );
    // The jury goes on.
    let mut juror = Laptop::joined(&server.url, &tokens["dindik"], Duration::zero());
    juror.store.score(VISIT, "I1", 70.0, None).unwrap();
    assert_eq!(juror.sync_hub(&hub).unwrap().pushed, 1);
}

/// USB both ways: a juror's sheet to the lead, and the lead's decisions (a reopened sheet, a
/// lock) back to the juror on a file, checked against the lead's identity key.
#[test]
fn the_leads_decisions_travel_back_to_a_juror_on_a_file() {
    use tinjau_core::SheetState;
    let (server, tokens) = Server::start(Db::Sqlite, &[("ketua", "lead"), ("akademisi", "juror")]);
    let url = &server.url;
    let mut lead = Laptop::joined(url, &tokens["ketua"], Duration::zero());
    let mut juror = Laptop::joined(url, &tokens["akademisi"], Duration::zero());
    // Both synced at the briefing: each holds the other's identity key.
    lead.sync(url).unwrap();
    juror.sync(url).unwrap();
    lead.score_and_submit(VISIT, 80.0);
    lead.score_and_submit("visit-contoh-a", 80.0);

    // No network at the kecamatan: the sheet goes to the lead on a stick.
    juror.score_and_submit(VISIT, 70.0);
    let sheet = juror.store.export_sheet(VISIT, false).unwrap();
    assert!(lead.store.import_sheet(&sheet).unwrap().signatures_checked);
    lead.store
        .reopen(VISIT, "akademisi", "Nilai I3 salah ketik")
        .unwrap();
    let decisions = lead.store.export_decisions("akademisi").unwrap();
    let text = String::from_utf8(decisions.clone()).unwrap();
    assert!(!text.contains("\"80\""), "the lead's own scores stay blind");

    // A laptop that never synced cannot check the lead's signature: refused whole.
    let mut stranger = Laptop::new(Duration::zero());
    stranger
        .store
        .import_package(tinjau_tests::DEMO.as_bytes())
        .unwrap();
    stranger.store.init_juror("akademisi").unwrap();
    let refused = stranger.store.import_sheet(&decisions).unwrap_err();
    assert!(refused.to_string().contains("identity key"), "{refused}");

    // A forged copy (the lead's registration swapped for one the forger made) changes nothing.
    let mut forged: serde_json::Value = serde_json::from_slice(&decisions).unwrap();
    let fake = JurorIdentity::derive("tjk_not-the-leads", COMPETITION, "ketua");
    let registration: tinjau_core::signing::SignedRegistration =
        serde_json::from_value(forged["registrations"][0].clone()).unwrap();
    forged["registrations"][0] =
        serde_json::to_value(fake.register(registration.registration)).unwrap();
    let mut copy = copy_of(&juror);
    let report = copy
        .1
        .import_sheet(&serde_json::to_vec(&forged).unwrap())
        .unwrap();
    assert_eq!(report.applied, 0, "{report:?}");
    assert_eq!(
        copy.1.sheet_state("akademisi", VISIT).unwrap(),
        SheetState::Submitted
    );

    // The honest file reopens the juror's sheet; the correction goes back by stick.
    let report = juror.store.import_sheet(&decisions).unwrap();
    assert!(
        report.signatures_checked && report.applied >= 1,
        "{report:?}"
    );
    assert_eq!(
        juror.store.sheet_state("akademisi", VISIT).unwrap(),
        SheetState::Draft
    );
    juror.store.score(VISIT, "I3", 73.0, None).unwrap();
    juror.store.submit(VISIT).unwrap();
    lead.store
        .import_sheet(&juror.store.export_sheet(VISIT, false).unwrap())
        .unwrap();
    assert_eq!(score_on(&lead, "akademisi", "I3"), Some(73.0));
    // The lock reaches the juror the same way.
    let lock = lead.store.lock(VISIT).unwrap();
    juror
        .store
        .import_sheet(&lead.store.export_decisions("akademisi").unwrap())
        .unwrap();
    assert_eq!(
        juror.store.visit_lock(VISIT).unwrap().map(|l| l.hash),
        Some(lock.hash)
    );
}

/// A copy of a laptop's data folder, opened on its own.
fn copy_of(laptop: &Laptop) -> (tempfile::TempDir, tinjau_store::Store) {
    let copy = tinjau_tests::copy_laptop(laptop);
    (copy.dir, copy.store)
}
