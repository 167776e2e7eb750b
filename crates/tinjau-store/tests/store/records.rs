//! The juror's writes: rules, the change log, evidence, and "an error writes nothing".

use chrono::{Duration, TimeZone, Utc};
use rusqlite::Connection;
use tinjau_core::{SheetState, Verdict};
use tinjau_store::{DATABASE_FILE, StoreError, VerifyRequest};

use crate::support::{DEMO, TestStore, VISIT, demo_value};

fn verify(innovation: &str, verdict: Verdict) -> VerifyRequest {
    VerifyRequest {
        visit: VISIT.into(),
        innovation: innovation.into(),
        verdict,
        note: None,
        evidence: vec![],
    }
}

fn change_count(laptop: &TestStore) -> i64 {
    Connection::open(laptop.path().join(DATABASE_FILE))
        .unwrap()
        .query_row("SELECT COUNT(*) FROM change_log", [], |r| r.get(0))
        .unwrap()
}

fn score_all(laptop: &mut TestStore) {
    for (i, indicator) in ["I1", "I2", "I3", "I4", "I5", "I6", "I7"]
        .iter()
        .enumerate()
    {
        laptop
            .store
            .score(VISIT, indicator, 60.0 + i as f64, None)
            .unwrap();
    }
}

/// Runs `action`, expects the error code, and checks nothing at all was written.
fn refused(
    laptop: &mut TestStore,
    code: &str,
    action: impl FnOnce(&mut TestStore) -> Result<(), StoreError>,
) -> String {
    let before = laptop.dump();
    let error = action(laptop).expect_err("the write should be refused");
    assert_eq!(error.code(), code, "{error}");
    assert_eq!(
        laptop.dump(),
        before,
        "a refused write ({code}) changed the store"
    );
    error.to_string()
}

#[test]
fn bad_values_are_refused_and_write_nothing() {
    let mut laptop = TestStore::juror("akademisi");
    laptop.store.score(VISIT, "I1", 80.0, None).unwrap();

    let message = refused(&mut laptop, "score_out_of_scale", |l| {
        l.store.score(VISIT, "I2", 100.5, None).map(drop)
    });
    assert!(
        message.contains("100.5") && message.contains("0–100"),
        "{message}"
    );
    refused(&mut laptop, "score_out_of_scale", |l| {
        l.store.score(VISIT, "I2", -1.0, None).map(drop)
    });
    refused(&mut laptop, "score_not_a_number", |l| {
        l.store.score(VISIT, "I2", f64::NAN, None).map(drop)
    });
    let message = refused(&mut laptop, "unknown_indicator", |l| {
        l.store.score(VISIT, "I8", 50.0, None).map(drop)
    });
    assert!(
        message.contains("I8") && message.contains("I1, I2"),
        "{message}"
    );
    let message = refused(&mut laptop, "unknown_visit", |l| {
        l.store.score("visit-batu", "I1", 50.0, None).map(drop)
    });
    assert!(
        message.contains("visit-batu") && message.contains("visit-junrejo"),
        "{message}"
    );
    let message = refused(&mut laptop, "unknown_innovation", |l| {
        l.store
            .verify(&verify("wa-bang-2", Verdict::Found))
            .map(drop)
    });
    assert!(message.contains("wa-bang-2"), "{message}");
    refused(&mut laptop, "unknown_participant", |l| {
        l.store.declare_conflict("bumiaji", "saudara")
    });
    refused(&mut laptop, "empty_text", |l| {
        l.store.declare_conflict("junrejo", " ")
    });
    refused(&mut laptop, "empty_text", |l| {
        l.store.observe(VISIT, "", None, &[]).map(drop)
    });
    refused(&mut laptop, "unknown_innovation", |l| {
        l.store.observe(VISIT, "x", Some("nope"), &[]).map(drop)
    });
}

#[test]
fn evidence_problems_are_refused_before_anything_is_written() {
    let mut laptop = TestStore::with_limit(1024);
    laptop.store.import_package(DEMO.as_bytes()).unwrap();
    laptop.store.init_juror("akademisi").unwrap();
    let small = laptop.file("small.txt", b"notulen rapat");
    let big = laptop.file("big.bin", &vec![7u8; 2048]);
    let missing = laptop.path().join("hilang.jpg");

    let message = refused(&mut laptop, "evidence_unreadable", |l| {
        let mut request = verify("paten", Verdict::Found);
        request.evidence = vec![small.clone(), missing.clone()];
        l.store.verify(&request).map(drop)
    });
    assert!(message.contains("hilang.jpg"), "{message}");
    let message = refused(&mut laptop, "evidence_too_large", |l| {
        l.store
            .observe(VISIT, "foto", None, &[small.clone(), big.clone()])
            .map(drop)
    });
    assert!(
        message.contains("big.bin") && message.contains("2048") && message.contains("1024"),
        "{message}"
    );
    refused(&mut laptop, "evidence_unreadable", |l| {
        l.store
            .observe(VISIT, "folder", None, &[l.path().to_path_buf()])
            .map(drop)
    });
}

#[test]
fn evidence_is_stored_once_by_content() {
    let mut laptop = TestStore::juror("akademisi");
    let photo = laptop.file("foto.txt", b"the same bytes");
    let copy = laptop.file("salinan.txt", b"the same bytes");
    let mut request = verify("paten", Verdict::Found);
    request.evidence = vec![photo.clone()];
    let first = laptop.store.verify(&request).unwrap();
    let second = laptop
        .store
        .observe(VISIT, "loket PATEN", Some("paten"), &[copy])
        .unwrap();
    assert_eq!(first[0].hash, second.evidence[0].hash);
    assert_eq!(
        first[0].hash,
        blake3::hash(b"the same bytes").to_hex().to_string()
    );
    let stored: Vec<_> =
        std::fs::read_dir(laptop.path().join("evidence").join(&first[0].hash[..2]))
            .unwrap()
            .collect();
    assert_eq!(stored.len(), 1, "one copy of identical content");
    let checklist = laptop.store.checklist(VISIT).unwrap();
    let paten = &checklist.groups[1].innovations[0];
    assert_eq!(paten.evidence[0].original_name, "foto.txt");
    assert_eq!(
        checklist.observations[0].evidence[0].original_name,
        "salinan.txt"
    );
    // No temporary files are left behind.
    let leftovers = std::fs::read_dir(laptop.path().join("evidence"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".incoming")
        })
        .count();
    assert_eq!(leftovers, 0);
}

#[test]
fn a_submitted_sheet_is_read_only() {
    let mut laptop = TestStore::juror("akademisi");
    laptop.store.score(VISIT, "I1", 80.0, None).unwrap();
    let message = refused(&mut laptop, "sheet_incomplete", |l| l.store.submit(VISIT));
    assert!(message.contains("I2, I3, I4, I5, I6, I7"), "{message}");

    score_all(&mut laptop);
    laptop.store.submit(VISIT).unwrap();
    assert_eq!(
        laptop.store.sheet_state("akademisi", VISIT).unwrap(),
        SheetState::Submitted
    );

    refused(&mut laptop, "sheet_submitted", |l| {
        l.store.score(VISIT, "I1", 90.0, None).map(drop)
    });
    refused(&mut laptop, "sheet_submitted", |l| {
        l.store.verify(&verify("paten", Verdict::Found)).map(drop)
    });
    refused(&mut laptop, "sheet_submitted", |l| {
        l.store.observe(VISIT, "terlambat", None, &[]).map(drop)
    });
    refused(&mut laptop, "sheet_submitted", |l| l.store.submit(VISIT));
    // Another visit's sheet is still open.
    laptop
        .store
        .score("visit-contoh-a", "I1", 50.0, None)
        .unwrap();
}

#[test]
fn a_juror_not_on_the_jury_cannot_write_to_the_visit() {
    let mut package = demo_value();
    package["visits"][0]["jurors"] = serde_json::json!(["ketua", "dindik"]);
    let mut laptop = TestStore::empty();
    laptop
        .store
        .import_package(&serde_json::to_vec(&package).unwrap())
        .unwrap();
    laptop.store.init_juror("akademisi").unwrap();
    let message = refused(&mut laptop, "not_on_jury", |l| {
        l.store.score(VISIT, "I1", 80.0, None).map(drop)
    });
    assert!(
        message.contains("akademisi") && message.contains(VISIT),
        "{message}"
    );
    let visits = laptop.store.visits().unwrap();
    assert!(!visits[0].on_jury && visits[1].on_jury);
}

#[test]
fn the_juror_is_chosen_once() {
    let mut laptop = TestStore::empty();
    assert_eq!(
        laptop.store.init_juror("akademisi").unwrap_err().code(),
        "no_package"
    );
    laptop.store.import_package(DEMO.as_bytes()).unwrap();
    assert_eq!(
        laptop
            .store
            .score(VISIT, "I1", 1.0, None)
            .unwrap_err()
            .code(),
        "no_juror"
    );
    let error = laptop.store.init_juror("siapa").unwrap_err();
    assert_eq!(error.code(), "unknown_juror");
    assert!(error.to_string().contains("akademisi, dindik"), "{error}");
    // Changing one's mind before any work is fine; after work it is refused.
    laptop.store.init_juror("dindik").unwrap();
    laptop.store.init_juror("akademisi").unwrap();
    laptop.store.score(VISIT, "I1", 70.0, None).unwrap();
    assert_eq!(
        laptop.store.init_juror("dinkes").unwrap_err().code(),
        "juror_already_set"
    );
    laptop.store.init_juror("akademisi").unwrap();
}

#[test]
fn each_change_writes_one_chained_log_entry_per_changed_field() {
    let mut laptop = TestStore::juror("akademisi");
    laptop.store.score(VISIT, "I1", 80.0, Some("rapi")).unwrap();
    assert_eq!(change_count(&laptop), 2, "value and note");
    laptop.store.score(VISIT, "I1", 80.0, None).unwrap();
    assert_eq!(
        change_count(&laptop),
        2,
        "saving the same value records nothing new"
    );
    laptop.store.score(VISIT, "I1", 82.5, None).unwrap();
    assert_eq!(change_count(&laptop), 3);

    let entries = laptop
        .store
        .device_entries(laptop.store.device_id())
        .unwrap();
    let seqs: Vec<u64> = entries.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [1, 2, 3]);
    let value_changes: Vec<_> = entries.iter().filter(|e| e.field == "value").collect();
    assert_eq!(value_changes[0].base_version, 0);
    assert_eq!(value_changes[1].base_version, 1);
    assert_eq!(value_changes[1].value, "82.5");
    assert_eq!(
        value_changes[0].row_id,
        tinjau_core::ids::score_id("skk-jatim-2023", "akademisi", VISIT, "I1"),
        "a score's id is the deterministic UUIDv5 of juror × visit × indicator"
    );
    assert_eq!(entries[1].prev_hash, entries[0].hash);
    assert_eq!(laptop.store.audit().unwrap().entries, 3);
}

#[test]
fn a_clock_that_jumps_back_still_records_in_order() {
    let mut laptop = TestStore::juror("akademisi");
    laptop.store.score(VISIT, "I1", 80.0, None).unwrap();
    // The laptop's battery died and the clock reset to 2000.
    laptop
        .clock
        .set(Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap());
    laptop.store.score(VISIT, "I2", 81.0, None).unwrap();
    laptop
        .clock
        .set(Utc.with_ymd_and_hms(2023, 11, 28, 2, 0, 0).unwrap() + Duration::days(400));
    laptop.store.score(VISIT, "I3", 82.0, None).unwrap();
    let entries = laptop
        .store
        .device_entries(laptop.store.device_id())
        .unwrap();
    assert!(
        entries.windows(2).all(|w| w[0].hlc < w[1].hlc),
        "{entries:#?}"
    );
    assert_eq!(
        laptop.store.checklist(VISIT).unwrap().groups[2]
            .score
            .as_ref()
            .unwrap()
            .value,
        82.0
    );
}

#[test]
fn the_checklist_shows_progress_and_discrepancies() {
    let mut laptop = TestStore::juror("akademisi");
    laptop
        .store
        .verify(&verify("sicandapol", Verdict::Found))
        .unwrap();
    let mut request = verify("lansia-smart", Verdict::NotFound);
    request.note = Some("Galeri batik tutup".into());
    laptop.store.verify(&request).unwrap();
    laptop
        .store
        .declare_conflict("junrejo", "Pernah menjadi narasumber kecamatan")
        .unwrap();

    let visits = laptop.store.visits().unwrap();
    assert_eq!(
        (visits[0].innovations_checked, visits[0].innovations_listed),
        (2, 12)
    );
    let checklist = laptop.store.checklist(VISIT).unwrap();
    assert_eq!(
        checklist.conflict_of_interest.as_deref(),
        Some("Pernah menjadi narasumber kecamatan")
    );
    let lines: Vec<String> = checklist
        .discrepancies
        .iter()
        .map(|d| d.to_string())
        .collect();
    assert_eq!(
        lines,
        [
            "claimed 33 innovations in total, but 34 by indicator",
            "claimed 33 innovations, 12 listed in the package",
            "indicator I3: claimed 5, 1 listed",
            "indicator I4: claimed 17, 2 listed",
            "indicator I5: claimed 4, 1 listed",
            "10 innovation(s) not checked yet: kampung-kerukunan, paten, sipmas, monggo-lapor, wa-bang, bule-junrejo, renlap-terpadu, pojok-guyub-rukun, pisah-mandiri, desa-tangguh",
            "not found on site: Lansia Smart (lansia-smart)",
        ]
    );
    let i4 = &checklist.groups[3];
    assert_eq!((i4.claimed, i4.listed), (Some(17), 2));
    assert_eq!(i4.innovations[1].note, "Galeri batik tutup");
}

#[test]
fn reopening_the_store_finds_everything_and_resets_inflight_changes() {
    let mut laptop = TestStore::juror("akademisi");
    laptop.store.score(VISIT, "I1", 80.0, None).unwrap();
    let device = laptop.store.device_id();
    Connection::open(laptop.path().join(DATABASE_FILE))
        .unwrap()
        .execute("UPDATE change_log SET sync_state = 'inflight'", [])
        .unwrap();
    let TestStore { dir, clock, store } = laptop;
    drop(store);
    let store =
        tinjau_store::Store::open(dir.path(), crate::support::options(&clock, 1 << 20)).unwrap();
    assert_eq!(store.device_id(), device, "the device keeps its id");
    assert_eq!(store.unsynced_changes().unwrap(), 1);
    let pending: i64 = Connection::open(dir.path().join(DATABASE_FILE))
        .unwrap()
        .query_row(
            "SELECT COUNT(*) FROM change_log WHERE sync_state = 'pending'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(pending, 1);
}

#[test]
fn a_submission_is_final_until_it_leaves_and_can_be_withdrawn_until_then() {
    use tinjau_core::views::SheetDelivery;
    let mut laptop = TestStore::juror("akademisi");
    let delivery = |laptop: &TestStore| laptop.store.sheet_delivery("akademisi", VISIT).unwrap();
    assert_eq!(delivery(&laptop), SheetDelivery::Draft);
    for (i, indicator) in ["I1", "I2", "I3", "I4", "I5", "I6", "I7"]
        .iter()
        .enumerate()
    {
        laptop
            .store
            .score(VISIT, indicator, 70.0 + i as f64, None)
            .unwrap();
    }
    laptop.store.submit(VISIT).unwrap();
    assert_eq!(
        delivery(&laptop),
        SheetDelivery::Final,
        "submitted, not sent"
    );
    // Withdrawn: a draft again, by a logged change, and writable.
    laptop.store.withdraw_submission(VISIT).unwrap();
    assert_eq!(delivery(&laptop), SheetDelivery::Draft);
    assert_eq!(
        laptop.store.sheet_state("akademisi", VISIT).unwrap(),
        SheetState::Draft
    );
    laptop.store.score(VISIT, "I1", 71.5, None).unwrap();
    laptop.store.audit().unwrap();
    // Submitted again and handed over on a file: sent, and no longer the juror's to withdraw.
    laptop.store.submit(VISIT).unwrap();
    laptop.store.export_sheet(VISIT, false).unwrap();
    assert_eq!(
        delivery(&laptop),
        SheetDelivery::Final,
        "exporting alone is not sending"
    );
    laptop.store.record_sheet_exported(VISIT).unwrap();
    assert_eq!(delivery(&laptop), SheetDelivery::Sent);
    let before = laptop.dump();
    let error = laptop.store.withdraw_submission(VISIT).unwrap_err();
    assert_eq!(error.code(), "sheet_already_sent");
    assert_eq!(laptop.dump(), before, "a refused withdrawal writes nothing");
    // A draft cannot be withdrawn.
    let mut other = TestStore::juror("dindik");
    assert_eq!(
        other.store.withdraw_submission(VISIT).unwrap_err().code(),
        "sheet_not_submitted"
    );
}
