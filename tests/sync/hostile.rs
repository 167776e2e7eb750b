//! One laptop, file or request must never break sync for the others. Each test is a finding of
//! the attack review (B1–B12), against real server processes on SQLite and PostgreSQL: the
//! attacker is a [`HostileLaptop`] (any change, sealed like the real client's) or a copied data
//! folder, and the test asserts what the *other* laptops can still do.

use chrono::Duration;
use tinjau_core::Entity;
use tinjau_core::change::RefusalCode;
use tinjau_core::sync::Outcome;
use tinjau_store::StoreError;
use tinjau_sync::SyncError;
use tinjau_tests::{
    Db, HostileLaptop, INDICATORS, Laptop, Server, VISIT, copy_laptop, photo, refusal_code,
    score_on as lead_sees,
};

const JURY: &[(&str, &str)] = &[
    ("ketua", "lead"),
    ("akademisi", "juror"),
    ("dindik", "juror"),
];

/// Every honest laptop still syncs, and its audit trail verifies.
fn everyone_still_syncs(db: &tinjau_tests::Db, url: &str, laptops: &mut [&mut Laptop]) {
    for laptop in laptops.iter_mut() {
        let report = laptop.sync(url);
        assert!(
            report.is_ok(),
            "{db:?}: an honest laptop's sync failed: {report:?}"
        );
        laptop.store.audit().expect("the audit trail verifies");
        laptop
            .store
            .checklist(VISIT)
            .expect("the visit still opens");
    }
}

fn b1_a_copied_data_folder_is_detected_and_recovers_without_losing_anything(db: Db) {
    let (server, tokens) = Server::start(db.clone(), JURY);
    let url = &server.url;
    let mut lead = Laptop::joined(url, &tokens["ketua"], Duration::zero());
    let mut other = Laptop::joined(url, &tokens["dindik"], Duration::zero());
    let mut original = Laptop::joined(url, &tokens["akademisi"], Duration::zero());
    original.store.score(VISIT, "I1", 80.0, None).unwrap();
    original.sync(url).unwrap();

    // The juror copies the whole data folder to a second laptop; both copies are used.
    let mut copy = copy_laptop(&original);
    original.store.score(VISIT, "I2", 81.0, None).unwrap();
    copy.store.score(VISIT, "I2", 60.0, None).unwrap();
    copy.store.score(VISIT, "I3", 70.0, None).unwrap();
    original.sync(url).unwrap();
    let error = copy.sync(url).unwrap_err();
    assert!(
        matches!(error, SyncError::Store(StoreError::DeviceCopied)),
        "{db:?}: the copy is told: {error}"
    );
    assert!(error.to_string().contains("copied"), "{error}");
    assert!(copy.store.sync_status().unwrap().device_copied);

    // Nobody else is stopped: another juror's later changes still reach the lead.
    other.store.score(VISIT, "I1", 66.0, None).unwrap();
    everyone_still_syncs(&db, url, &mut [&mut other, &mut lead, &mut original]);
    other.store.score(VISIT, "I2", 67.0, None).unwrap();
    everyone_still_syncs(&db, url, &mut [&mut other, &mut lead]);
    assert_eq!(lead_sees(&lead, "dindik", "I2"), Some(67.0), "{db:?}");
    assert_eq!(lead_sees(&lead, "akademisi", "I2"), Some(81.0), "{db:?}");

    // The copy continues as a new device: its unsent work is written again and arrives.
    let old_device = copy.store.device_id();
    let new_device = copy.store.continue_as_new_device().unwrap();
    assert_ne!(old_device, new_device);
    assert!(!copy.store.sync_status().unwrap().device_copied);
    copy.sync(url).expect("the new device syncs");
    let status = copy.store.sync_status().unwrap();
    assert_eq!(status.pending_changes, 0, "{db:?}");
    assert!(
        status.quarantined.is_empty(),
        "{db:?}: nothing shows as refused: {:?}",
        status.quarantined
    );
    everyone_still_syncs(&db, url, &mut [&mut lead, &mut copy, &mut original]);
    assert_eq!(
        lead_sees(&lead, "akademisi", "I3"),
        Some(70.0),
        "{db:?}: nothing lost"
    );
    // Both I2 values are in the lead's log: 81 from the original, 60 from the copy.
    let logged = crate::logged_values(&lead, "akademisi", "I2");
    assert!(
        logged.contains(&"81.0".to_string()) && logged.contains(&"60.0".to_string()),
        "{db:?}: {logged:?}"
    );
}

fn b5_a_juror_cannot_plant_entries_in_another_jurors_device_chain(db: Db) {
    let (server, tokens) = Server::start(db.clone(), JURY);
    let url = &server.url;
    let mut lead = Laptop::joined(url, &tokens["ketua"], Duration::zero());
    let mut victim = Laptop::joined(url, &tokens["dindik"], Duration::zero());
    victim.store.score(VISIT, "I1", 70.0, None).unwrap();
    victim.sync(url).unwrap();

    let mut attacker = HostileLaptop::new(url, &tokens["akademisi"], "akademisi");
    // The victim's device, its next position, a random link, the attacker's own score.
    attacker.device_id = victim.store.device_id();
    let planted = attacker.change(|entry| {
        entry.seq = 2;
        entry.prev_hash = "f".repeat(64);
    });
    let outcome = attacker.push_one(planted);
    assert_eq!(
        refusal_code(&outcome),
        Some(RefusalCode::ForeignDevice),
        "{db:?}: {outcome:?}"
    );
    // Nor may it claim to be the victim.
    let mut impostor = HostileLaptop::new(url, &tokens["akademisi"], "dindik");
    impostor.device_id = victim.store.device_id();
    let change = impostor_change(&mut impostor);
    let outcome = impostor.push_one(change);
    assert!(matches!(outcome, Outcome::Rejected { .. }), "{db:?}");

    victim.store.score(VISIT, "I2", 71.0, None).unwrap();
    everyone_still_syncs(&db, url, &mut [&mut victim, &mut lead]);
    assert_eq!(lead_sees(&lead, "dindik", "I2"), Some(71.0), "{db:?}");
}

fn impostor_change(laptop: &mut HostileLaptop) -> tinjau_core::chain::ChangeEntry {
    laptop.change(|entry| {
        entry.seq = 2;
        entry.row_id = tinjau_core::ids::score_id("skk-jatim-2023", "dindik", VISIT, "I1");
    })
}

fn b2_b10_b11_poisoned_values_are_refused_and_nobody_panics(db: Db) {
    let (server, tokens) = Server::start(db.clone(), JURY);
    let url = &server.url;
    let mut lead = Laptop::joined(url, &tokens["ketua"], Duration::zero());
    let mut other = Laptop::joined(url, &tokens["dindik"], Duration::zero());
    let mut attacker = HostileLaptop::new(url, &tokens["akademisi"], "akademisi");
    let evidence = |hash: &str, owner: &str, name: &str| {
        format!(
            r#"{{"evidence":{{"captured_at":null,"gps":null,"hash":"{hash}","mime":"image/jpeg","original_name":"{name}","outside_visit_date":false,"size":3}},"owner_entity":"observation","owner_id":"{owner}"}}"#
        )
    };
    let good_hash = "a".repeat(64);
    let owner = uuid::Uuid::new_v4().to_string();
    let poisons: Vec<(Entity, &str, String)> = vec![
        (Entity::Evidence, "record", evidence("x", &owner, "a.jpg")),
        (
            Entity::Evidence,
            "record",
            evidence(&good_hash, "not-a-uuid", "a.jpg"),
        ),
        (
            Entity::Evidence,
            "record",
            evidence(&good_hash, &owner, "\\u001b[2Jpwned.jpg"),
        ),
        (Entity::Score, "value", "\"80\"".into()),
        (Entity::Score, "value", "80 ".into()),
        (Entity::Score, "value", "8e1".into()),
        (Entity::Score, "value", "-0".into()),
        (Entity::Score, "value", "1e-400".into()),
        (Entity::Score, "value", "80".into()),
        (Entity::Score, "value", "1e999".into()),
        (
            Entity::Score,
            "note",
            "\"\\u0007\\u001b]0;x\\u0007\"".into(),
        ),
        (Entity::Score, "nilai", "80.0".into()),
    ];
    for (entity, field, value) in &poisons {
        let change = attacker.value(*entity, field, value);
        let outcome = attacker.push_one(change);
        assert_eq!(
            refusal_code(&outcome),
            Some(RefusalCode::Malformed),
            "{db:?}: {entity:?}.{field} = {value} must be refused: {outcome:?}"
        );
    }
    // A sheet submitted with one score of seven.
    let score = attacker.value(Entity::Score, "value", "80.0");
    assert_eq!(attacker.push_one(score), Outcome::Applied, "{db:?}");
    let submit = attacker.value(Entity::Sheet, "state", "\"submitted\"");
    assert_eq!(
        refusal_code(&attacker.push_one(submit)),
        Some(RefusalCode::SheetIncomplete),
        "{db:?}"
    );
    // Equal numbers are one value: the canonical 80.0 again is no conflict.
    let again = attacker.value(Entity::Score, "value", "80.0");
    assert_eq!(attacker.push_one(again), Outcome::Applied, "{db:?}");

    other.store.score(VISIT, "I1", 66.0, None).unwrap();
    everyone_still_syncs(&db, url, &mut [&mut other, &mut lead]);
    assert_eq!(lead_sees(&lead, "akademisi", "I1"), Some(80.0), "{db:?}");
    assert_eq!(lead.store.conflicts().unwrap().len(), 0, "{db:?}");
}

fn b3_a_clock_at_the_end_of_time_is_refused_and_saved_means_saved(db: Db) {
    let (server, tokens) = Server::start(db.clone(), JURY);
    let url = &server.url;
    let mut lead = Laptop::joined(url, &tokens["ketua"], Duration::zero());
    let mut other = Laptop::joined(url, &tokens["dindik"], Duration::zero());
    let mut attacker = HostileLaptop::new(url, &tokens["akademisi"], "akademisi");
    for hlc in ["18446744073709551615-4294967295", "99999999999999-0"] {
        let change = attacker.change(|entry| entry.hlc = hlc.parse().unwrap());
        assert_eq!(
            refusal_code(&attacker.push_one(change)),
            Some(RefusalCode::ClockAhead),
            "{db:?}: {hlc}"
        );
    }
    everyone_still_syncs(&db, url, &mut [&mut other, &mut lead]);
    // Every later write is what it says: the value saved is the field's value.
    for value in [61.0, 62.0, 63.0] {
        other.store.score(VISIT, "I4", value, None).unwrap();
        let checklist = other.store.checklist(VISIT).unwrap();
        let shown = checklist
            .groups
            .iter()
            .find(|g| g.indicator_id == "I4")
            .and_then(|g| g.score.as_ref())
            .map(|s| s.value);
        assert_eq!(shown, Some(value), "{db:?}");
    }
}

fn b4_values_are_bounded_and_pages_are_cut_by_bytes(db: Db) {
    let (server, tokens) = Server::start(db.clone(), JURY);
    let url = &server.url;
    let mut lead = Laptop::joined(url, &tokens["ketua"], Duration::zero());
    let mut other = Laptop::joined(url, &tokens["dindik"], Duration::zero());
    let mut attacker = HostileLaptop::new(url, &tokens["akademisi"], "akademisi");
    let observation = |text: &str| {
        serde_json::json!({"innovation_id": null, "observed_at": "2023-11-28T10:00:00.000Z", "text": text})
            .to_string()
    };
    // One observation of 1 MiB: over the 64 KiB a text may hold.
    let big = attacker.value(
        Entity::Observation,
        "record",
        &observation(&"x".repeat(1 << 20)),
    );
    assert_eq!(
        refusal_code(&attacker.push_one(big)),
        Some(RefusalCode::Malformed),
        "{db:?}"
    );
    // A push of 10 MiB of JSON (in one compressed body) is refused whole, with a 413.
    let huge = attacker.value(
        Entity::Observation,
        "record",
        &observation(&"y".repeat(10 << 20)),
    );
    match attacker.push(vec![huge]) {
        Err(SyncError::Server { status: 413, .. }) => {}
        other => panic!("{db:?}: a 10 MiB push must be refused with 413: {other:?}"),
    }
    // Many observations at the limit are accepted; pulls stay in bounded pages.
    let text = "z".repeat(60 * 1024);
    for _ in 0..4 {
        let batch: Vec<_> = (0..40)
            .map(|_| attacker.value(Entity::Observation, "record", &observation(&text)))
            .collect();
        let answer = attacker.push(batch).unwrap();
        assert!(
            answer
                .outcomes
                .iter()
                .all(|o| o.outcome == Outcome::Applied),
            "{db:?}"
        );
    }
    let client = lead.client(url);
    let (page, wire) = client.pull(0, 5000).unwrap();
    let inflated = serde_json::to_vec(&page).unwrap().len();
    assert!(
        page.more,
        "{db:?}: 9.6 MB of observations take more than one page"
    );
    assert!(
        inflated < 6 << 20,
        "{db:?}: a page is cut by bytes: {inflated} bytes, {wire} on the wire"
    );
    everyone_still_syncs(&db, url, &mut [&mut other, &mut lead]);
    let observations = lead.store.checklist(VISIT).unwrap().observations.len();
    assert_eq!(observations, 160, "{db:?}");
}

fn b6_b8_evidence_belongs_to_whoever_attached_it_and_is_seen_only_by_its_team(db: Db) {
    let (server, tokens) = Server::start(db.clone(), JURY);
    let url = &server.url;
    let mut owner = Laptop::joined(url, &tokens["akademisi"], Duration::zero());
    let mut lead = Laptop::joined(url, &tokens["ketua"], Duration::zero());
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("galeri-batik.jpg");
    std::fs::write(&path, photo("2023:11:28 10:00:00")).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let hash = blake3::hash(&bytes).to_hex().to_string();
    owner
        .store
        .verify(&tinjau_store::VerifyRequest {
            visit: VISIT.into(),
            innovation: "lansia-smart".into(),
            verdict: tinjau_core::Verdict::Found,
            note: None,
            evidence: vec![path.clone()],
        })
        .unwrap();
    // The record reaches the server; the file does not yet.
    let batch = owner.store.outbox_batch(500, 1 << 20).unwrap();
    let client = owner.client(url);
    let (answer, _, _) = client
        .push(&tinjau_core::sync::PushRequest {
            device_id: owner.store.device_id(),
            client_time_ms: chrono::Utc::now().timestamp_millis(),
            changes: batch,
            registrations: owner.registrations(),
        })
        .unwrap();
    owner.store.record_push_outcomes(&answer.outcomes).unwrap();

    // Another juror's token cannot start, bend or finish the upload.
    let intruder = tinjau_sync::Client::new(url, &tokens["dindik"], None).unwrap();
    match intruder.blob_patch(&hash, 5, 0, b"xxxxx") {
        Err(SyncError::Server { status: 403, .. }) => {}
        other => panic!("{db:?}: only the owner uploads: {other:?}"),
    }
    // The owner with a wrong length is told, and nothing is stored.
    match client.blob_patch(&hash, bytes.len() as u64 + 1, 0, &bytes) {
        Err(SyncError::Server { status: 409, .. }) => {}
        other => panic!("{db:?}: a wrong length is refused: {other:?}"),
    }
    owner.sync(url).expect("the owner's upload goes through");
    assert!(client.blob_status(&hash).unwrap().unwrap().complete);

    // Someone on the visit's team sees it; a token of another competition does not, not
    // even whether it exists.
    assert_eq!(
        lead.client(url).blob_get(&hash).unwrap(),
        Some(bytes.clone())
    );
    let stranger = another_competitions_token(&server);
    let outsider = tinjau_sync::Client::new(url, &stranger, None).unwrap();
    assert_eq!(outsider.blob_status(&hash).unwrap(), None, "{db:?}");
    assert_eq!(outsider.blob_get(&hash).unwrap(), None, "{db:?}");
    // Nor does anyone see a file no record of theirs references.
    let unknown = "b".repeat(64);
    assert_eq!(lead.client(url).blob_status(&unknown).unwrap(), None);
    everyone_still_syncs(&db, url, &mut [&mut lead, &mut owner]);
}

/// Publishes a second competition on the server and returns a juror token of it.
fn another_competitions_token(server: &Server) -> String {
    let package = tinjau_tests::DEMO.replace("skk-jatim-2023", "skk-jatim-2024");
    let path = server.data_dir.join("other.json");
    std::fs::write(&path, package).unwrap();
    server.publish(&path);
    server.token_for("skk-jatim-2024", "akademisi", "juror")
}

fn b9_the_cli_says_why_the_server_refused_in_words(db: Db) {
    let (server, tokens) = Server::start(db.clone(), JURY);
    let dir = tempfile::tempdir().unwrap();
    let token = server.token("akademisi", "juror");
    let (ok, _, stderr) = crate::cli::tinjau(
        dir.path(),
        &["sync", "--server", &server.url, "--token", &token],
    );
    assert!(ok, "{stderr}");
    server.revoke(&token);
    let (ok, _, stderr) = crate::cli::tinjau(dir.path(), &["sync"]);
    assert!(!ok);
    let error: serde_json::Value = serde_json::from_str(stderr.trim().lines().last().unwrap())
        .unwrap_or_else(|_| panic!("{db:?}: a JSON error: {stderr}"));
    assert_eq!(error["error"]["code"], "unauthorized", "{db:?}: {stderr}");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("this token was revoked; ask the organiser for a new one"),
        "{db:?}: {message}"
    );
    let _ = tokens;
}

fn b12_the_http_edge_speaks_json_and_reads_nothing_before_the_token(db: Db) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (server, tokens) = Server::start(db.clone(), JURY);
    let url = &server.url;
    let http = reqwest::blocking::Client::new();
    let json = |response: reqwest::blocking::Response| {
        let status = response.status().as_u16();
        let body: serde_json::Value = response
            .json()
            .unwrap_or_else(|e| panic!("{db:?}: status {status} is not JSON: {e}"));
        (
            status,
            body["error"]["code"].as_str().unwrap_or("").to_string(),
        )
    };
    let token = &tokens["akademisi"];
    // A lower-case scheme is still a bearer token.
    let response = http
        .get(format!("{url}/v1/whoami"))
        .header("authorization", format!("bearer {token}"))
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200, "{db:?}");
    // Malformed queries, cursors past the end of any log, unknown paths: JSON 4xx.
    let bad = [
        format!("{url}/v1/pull?after=abc"),
        format!("{url}/v1/pull?after=9223372036854775808"),
        format!("{url}/v1/pull?after=18446744073709551615"),
        format!("{url}/v1/pull?limit=-1"),
    ];
    for address in bad {
        let (status, code) = json(http.get(&address).bearer_auth(token).send().unwrap());
        assert_eq!(
            (status, code.as_str()),
            (400, "malformed"),
            "{db:?}: {address}"
        );
    }
    let (status, code) = json(http.get(format!("{url}/nowhere")).send().unwrap());
    assert_eq!((status, code.as_str()), (404, "not_found"), "{db:?}");
    // An oversized body is a JSON 413 too.
    let (status, code) = json(
        http.post(format!("{url}/v1/push"))
            .bearer_auth(token)
            .body(vec![b' '; 5 * 1024 * 1024])
            .send()
            .unwrap(),
    );
    assert_eq!((status, code.as_str()), (413, "too_large"), "{db:?}");
}

/// The server process's resident memory, in KiB (read from /proc: Linux only; elsewhere the
/// memory bound is not measured, and the test says so).
#[cfg(target_os = "linux")]
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[cfg(not(target_os = "linux"))]
fn rss_kib(_pid: u32) -> Option<u64> {
    None
}

fn b7_a_hundred_hostile_connections_leave_memory_bounded_and_honest_sync_working(db: Db) {
    use std::io::{Read, Write};
    let (server, tokens) = Server::start(db.clone(), JURY);
    let url = server.url.clone();
    let address = url.trim_start_matches("http://").to_string();
    let mut honest = Laptop::joined(&url, &tokens["dindik"], Duration::zero());
    let pid = server.pid();
    let before = rss_kib(pid);
    // 100 connections, each announcing a 4 MiB body without a token and sending 64 KiB
    // of it; and 20 that never finish their headers.
    let body_head = format!(
        "POST /v1/push HTTP/1.1\r\nHost: {address}\r\nContent-Length: {}\r\n\r\n",
        4 * 1024 * 1024
    );
    let mut sockets = Vec::new();
    for _ in 0..100 {
        let mut socket = std::net::TcpStream::connect(&address).unwrap();
        socket
            .set_write_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        socket.write_all(body_head.as_bytes()).unwrap();
        let _ = socket.write_all(&[b'x'; 64 * 1024]);
        sockets.push(socket);
    }
    let mut half = Vec::new();
    for _ in 0..20 {
        let mut socket = std::net::TcpStream::connect(&address).unwrap();
        socket
            .write_all(b"POST /v1/push HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
        half.push(socket);
    }
    let during = rss_kib(pid);
    // Meanwhile an honest juror syncs.
    honest
        .store
        .score(VISIT, INDICATORS[0], 70.0, None)
        .unwrap();
    honest
        .sync(&url)
        .expect("an honest juror syncs during the attack");
    // Every tokenless request was answered 401 without its body being read.
    let mut answered = 0;
    for socket in &mut sockets {
        socket
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let mut buffer = [0u8; 12];
        if socket.read_exact(&mut buffer).is_ok() && buffer.starts_with(b"HTTP/1.1 401") {
            answered += 1;
        }
    }
    assert_eq!(answered, 100, "{db:?}");
    match before.zip(during) {
        Some((before, during)) => {
            let growth_mib = during.saturating_sub(before) / 1024;
            // Reported by the closing note: rerun with --nocapture to see it.
            let _ = writeln!(
                std::io::stderr(),
                "{db:?}: server RSS {} MiB before, {} MiB with 120 hostile connections (+{growth_mib} MiB)",
                before / 1024,
                during / 1024
            );
            assert!(growth_mib < 64, "{db:?}: memory grew by {growth_mib} MiB");
        }
        None => {
            let _ = writeln!(
                std::io::stderr(),
                "*** {db:?}: the server's memory is measured on Linux only (/proc); not here ***"
            );
        }
    }
    // Half-sent headers are cut after the header timeout.
    for socket in &mut half {
        socket
            .set_read_timeout(Some(std::time::Duration::from_secs(40)))
            .unwrap();
        let mut buffer = Vec::new();
        let closed = socket.read_to_end(&mut buffer).is_ok();
        assert!(
            closed,
            "{db:?}: a half-sent request is closed by the server"
        );
    }
}

#[test]
fn b2_b3_the_same_poison_on_a_usb_stick_is_quarantined_and_the_lead_keeps_working() {
    let laptop = |juror: &str| {
        let mut laptop = Laptop::new(Duration::zero());
        laptop
            .store
            .import_package(tinjau_tests::DEMO.as_bytes())
            .unwrap();
        laptop.store.init_juror(juror).unwrap();
        laptop
    };
    let mut juror = laptop("akademisi");
    let mut lead = laptop("ketua");
    juror.score_and_submit(VISIT, 70.0);
    let mut file: tinjau_store::SheetFile =
        serde_json::from_slice(&juror.store.export_sheet(VISIT, false).unwrap()).unwrap();
    // Re-sealed poison appended to the juror's own chain, as a hostile juror could.
    let last = file.entries.last().unwrap().clone();
    let mut prev = last.hash.clone();
    let mut seq = last.seq;
    let poisons = [
        (
            Entity::Evidence,
            "record",
            r#"{"evidence":{"captured_at":null,"gps":null,"hash":"x","mime":"image/jpeg","original_name":"a.jpg","outside_visit_date":false,"size":3},"owner_entity":"observation","owner_id":"00000000-0000-0000-0000-000000000001"}"#,
            None,
        ),
        (Entity::Score, "value", "8e1", None),
        (
            Entity::Score,
            "note",
            "\"catatan\"",
            Some("18446744073709551615-4294967295"),
        ),
    ];
    for (entity, field, value, hlc) in poisons {
        seq += 1;
        let mut entry = last.clone();
        entry.change_id = uuid::Uuid::new_v4();
        entry.seq = seq;
        entry.entity = entity;
        entry.field = field.into();
        entry.value = value.into();
        if entity == Entity::Evidence {
            entry.row_id = uuid::Uuid::new_v4();
            entry.target_id = Some("00000000-0000-0000-0000-000000000001".into());
        } else {
            entry.row_id = tinjau_core::ids::score_id("skk-jatim-2023", "akademisi", VISIT, "I1");
            entry.target_id = Some("I1".into());
        }
        if let Some(hlc) = hlc {
            entry.hlc = hlc.parse().unwrap();
        }
        let sealed = entry.seal(&prev);
        prev = sealed.hash.clone();
        file.entries.push(sealed);
    }
    let report = lead
        .store
        .import_sheet(&serde_json::to_vec(&file).unwrap())
        .expect("a sheet with poison is imported, the poison quarantined");
    assert_eq!(report.quarantined.len(), 3, "{report:?}");
    assert_eq!(report.applied, 8, "the juror's real sheet counts");
    lead.store
        .checklist(VISIT)
        .expect("the lead's visit still opens");
    lead.store.audit().expect("the lead's audit trail verifies");
    // The lead's clock was not dragged to the end of time: later writes are what they say.
    lead.store.score(VISIT, "I1", 77.0, None).unwrap();
    lead.store.score(VISIT, "I1", 78.0, None).unwrap();
    let shown = lead.store.checklist(VISIT).unwrap().groups[0]
        .score
        .as_ref()
        .map(|s| s.value);
    assert_eq!(shown, Some(78.0));
}

fn a_submission_is_sent_once_the_server_has_it_and_only_then_out_of_the_jurors_hands(db: Db) {
    use tinjau_core::views::SheetDelivery;
    let (server, tokens) = Server::start(db.clone(), JURY);
    let url = &server.url;
    let mut lead = Laptop::joined(url, &tokens["ketua"], Duration::zero());
    let mut juror = Laptop::joined(url, &tokens["akademisi"], Duration::zero());
    let delivery = |laptop: &Laptop| laptop.store.sheet_delivery("akademisi", VISIT).unwrap();
    // Submitted and withdrawn before any sync: both changes travel, the sheet is a draft.
    juror.score_and_submit(VISIT, 70.0);
    assert_eq!(delivery(&juror), SheetDelivery::Final);
    juror.store.withdraw_submission(VISIT).unwrap();
    juror.sync(url).unwrap();
    lead.sync(url).unwrap();
    assert_eq!(
        lead.store.sheet_state("akademisi", VISIT).unwrap(),
        tinjau_core::SheetState::Draft,
        "{db:?}"
    );
    // Submitted again and synced: sent, and the juror can no longer take it back.
    juror.store.submit(VISIT).unwrap();
    juror.sync(url).unwrap();
    assert_eq!(delivery(&juror), SheetDelivery::Sent, "{db:?}");
    assert_eq!(
        juror.store.withdraw_submission(VISIT).unwrap_err().code(),
        "sheet_already_sent"
    );
    // Nor can a hostile client of the same juror withdraw it behind the laptop's back.
    let mut attacker = HostileLaptop::new(url, &tokens["akademisi"], "akademisi");
    let withdraw = attacker.value(Entity::Sheet, "state", "\"draft\"");
    assert_eq!(
        refusal_code(&attacker.push_one(withdraw)),
        Some(RefusalCode::NotAllowed),
        "{db:?}"
    );
    lead.sync(url).unwrap();
    assert_eq!(
        lead.store.sheet_state("akademisi", VISIT).unwrap(),
        tinjau_core::SheetState::Submitted,
        "{db:?}"
    );
}

fn only_the_juror_who_attached_a_file_can_take_it_off_the_record(db: Db) {
    let (server, tokens) = Server::start(db.clone(), JURY);
    let url = &server.url;
    let mut owner = Laptop::joined(url, &tokens["akademisi"], Duration::zero());
    let mut lead = Laptop::joined(url, &tokens["ketua"], Duration::zero());
    let folder = tempfile::tempdir().unwrap();
    let (kept, wrong) = (
        folder.path().join("balai.jpg"),
        folder.path().join("salah.jpg"),
    );
    std::fs::write(&kept, photo("2023:11:28 10:00:00")).unwrap();
    std::fs::write(&wrong, photo("2023:11:28 10:05:00")).unwrap();
    owner
        .store
        .observe(VISIT, "Balai warga dipakai rapat", None, &[kept, wrong])
        .unwrap();
    owner.sync(url).unwrap();
    lead.sync(url).unwrap();
    let shared = |laptop: &Laptop| -> Vec<String> {
        let list = laptop.store.checklist(VISIT).unwrap();
        let observation = list
            .observations
            .iter()
            .find(|o| o.juror_id == "akademisi")
            .expect("the observation is shared with the team");
        observation
            .evidence
            .iter()
            .map(|e| e.original_name.clone())
            .collect()
    };
    assert_eq!(shared(&lead), ["balai.jpg", "salah.jpg"], "{db:?}");
    let wrong_id = owner.store.checklist(VISIT).unwrap().observations[0].evidence[1]
        .id
        .clone();

    // A teammate's token removes the owner's attachment: the change is well formed and the
    // teammate is on the jury, but it takes off nothing, anywhere.
    let mut intruder = HostileLaptop::new(url, &tokens["dindik"], "dindik");
    let removal = intruder.change(|entry| {
        entry.entity = Entity::Evidence;
        entry.row_id = uuid::Uuid::parse_str(&wrong_id).unwrap();
        entry.target_id = None;
        entry.field = "removed".into();
        entry.value = "true".into();
    });
    let _ = intruder.push(vec![removal]);
    lead.sync(url).unwrap();
    owner.sync(url).unwrap();
    assert_eq!(shared(&lead), ["balai.jpg", "salah.jpg"], "{db:?}");
    assert_eq!(
        owner.store.checklist(VISIT).unwrap().observations[0]
            .evidence
            .len(),
        2
    );
    // Nor can another laptop's own store do it.
    let mut teammate = Laptop::joined(url, &tokens["dindik"], Duration::zero());
    teammate.sync(url).unwrap();
    match teammate.store.remove_evidence(VISIT, &wrong_id, true) {
        Err(StoreError::NotYours { owner }) => assert_eq!(owner, "akademisi"),
        other => panic!("{db:?}: {other:?}"),
    }

    // The owner removes it: gone from every view, still in the store and the audit trail.
    owner.store.remove_evidence(VISIT, &wrong_id, true).unwrap();
    owner.sync(url).unwrap();
    lead.sync(url).unwrap();
    assert_eq!(shared(&lead), ["balai.jpg"], "{db:?}");
    assert_eq!(shared(&owner), ["balai.jpg"], "{db:?}");
    owner.store.audit().unwrap();
    let hash = blake3::hash(&photo("2023:11:28 10:05:00"))
        .to_hex()
        .to_string();
    assert_eq!(
        owner.store.evidence_bytes(&hash).unwrap(),
        Some(photo("2023:11:28 10:05:00")),
        "the file stays for the audit trail"
    );
    // After the sheet is submitted, nothing is taken off any more.
    for indicator in tinjau_tests::INDICATORS {
        owner.store.score(VISIT, indicator, 80.0, None).unwrap();
    }
    owner.store.submit(VISIT).unwrap();
    let list = owner.store.checklist(VISIT).unwrap();
    let kept_id = &list.observations[0].evidence[0].id;
    assert_eq!(
        owner
            .store
            .remove_evidence(VISIT, kept_id, true)
            .unwrap_err()
            .code(),
        "sheet_submitted"
    );
    everyone_still_syncs(&db, url, &mut [&mut lead, &mut owner, &mut teammate]);
}

tinjau_tests::per_backend!(
    b1_a_copied_data_folder_is_detected_and_recovers_without_losing_anything,
    b5_a_juror_cannot_plant_entries_in_another_jurors_device_chain,
    b2_b10_b11_poisoned_values_are_refused_and_nobody_panics,
    b3_a_clock_at_the_end_of_time_is_refused_and_saved_means_saved,
    b4_values_are_bounded_and_pages_are_cut_by_bytes,
    b6_b8_evidence_belongs_to_whoever_attached_it_and_is_seen_only_by_its_team,
    b9_the_cli_says_why_the_server_refused_in_words,
    b12_the_http_edge_speaks_json_and_reads_nothing_before_the_token,
    b7_a_hundred_hostile_connections_leave_memory_bounded_and_honest_sync_working,
    a_submission_is_sent_once_the_server_has_it_and_only_then_out_of_the_jurors_hands,
    only_the_juror_who_attached_a_file_can_take_it_off_the_record,
);
