//! The team lead: sheets arrive on a USB stick, are merged, ranked, reopened, tie-broken and
//! locked. Every laptop here is a separate real store.

use tinjau_core::Verdict;
use tinjau_core::chain::GENESIS_HASH;
use tinjau_core::package::Method;
use tinjau_store::{SheetFile, StoreError, VerifyRequest};

use crate::support::{TestStore, VISIT};

const CONTOH: &str = "visit-contoh-a";
const INDICATORS: [&str; 7] = ["I1", "I2", "I3", "I4", "I5", "I6", "I7"];

/// A juror who scores both visits (`base` + indicator number, contoh 10 lower) and submits.
fn juror_with_sheets(juror: &str, base: f64) -> TestStore {
    let mut laptop = TestStore::juror(juror);
    for (i, indicator) in INDICATORS.iter().enumerate() {
        laptop
            .store
            .score(VISIT, indicator, base + i as f64, None)
            .unwrap();
        laptop
            .store
            .score(CONTOH, indicator, base - 10.0 + i as f64, None)
            .unwrap();
    }
    laptop.store.submit(VISIT).unwrap();
    laptop.store.submit(CONTOH).unwrap();
    laptop
}

fn import(lead: &mut TestStore, juror: &TestStore, visit: &str) -> tinjau_store::SheetImportReport {
    let file = juror.store.export_sheet(visit, true).unwrap();
    lead.store.import_sheet(&file).unwrap()
}

/// The lead, with three jurors' sheets imported and their own sheets submitted.
fn lead_with_jury() -> (TestStore, Vec<TestStore>) {
    let mut lead = juror_with_sheets("ketua", 70.0);
    let jurors = vec![
        juror_with_sheets("akademisi", 80.0),
        juror_with_sheets("dindik", 60.0),
        juror_with_sheets("biro-hukum", 90.0),
    ];
    for juror in &jurors {
        let report = import(&mut lead, juror, VISIT);
        assert_eq!(report.quarantined, vec![], "{report:?}");
        assert_eq!(
            report.applied, 16,
            "14 scores and 2 sheet submissions of {}",
            report.juror
        );
    }
    (lead, jurors)
}

#[test]
fn the_lead_merges_every_submitted_sheet_that_arrived_on_a_usb_stick() {
    let (lead, _) = lead_with_jury();
    let result = lead.store.merge(Some(Method::Mean)).unwrap();
    let junrejo = result.participant("junrejo").unwrap();
    // I1: (70 + 80 + 60 + 90) / 4 = 75; every indicator adds its index.
    assert_eq!(junrejo.cells[0].aggregate, Some(75.0));
    assert_eq!(junrejo.cells[0].n, 4);
    assert_eq!(junrejo.cells[6].aggregate, Some(81.0));
    assert!(junrejo.cells[0].disputed, "spread 30 > 20");
    assert_eq!(junrejo.total, Some(78.0));
    assert_eq!(junrejo.rank, Some(1));
    assert_eq!(result.participant("contoh-a").unwrap().rank, Some(2));
    let median = lead.store.merge(Some(Method::Median)).unwrap();
    assert_eq!(
        median.participant("junrejo").unwrap().cells[0].aggregate,
        Some(75.0)
    );
    let (all, table) = lead.store.ranking().unwrap();
    assert_eq!(all.len(), 4);
    assert!(!table.top_three_change);
}

#[test]
fn importing_the_same_sheet_twice_changes_nothing() {
    let (mut lead, jurors) = lead_with_jury();
    let before = lead.dump();
    let report = import(&mut lead, &jurors[0], VISIT);
    assert_eq!((report.applied, report.duplicates), (0, 16));
    assert_eq!(lead.dump(), before);
}

#[test]
fn a_tampered_sheet_file_is_refused_whole() {
    let mut lead = juror_with_sheets("ketua", 70.0);
    let juror = juror_with_sheets("akademisi", 80.0);
    let mut file: SheetFile =
        serde_json::from_slice(&juror.store.export_sheet(VISIT, false).unwrap()).unwrap();
    file.entries[0].value = "100.0".into();
    let before = lead.dump();
    let error = lead
        .store
        .import_sheet(&serde_json::to_vec(&file).unwrap())
        .unwrap_err();
    assert_eq!(error.code(), "chain_broken", "{error}");
    assert!(error.to_string().contains("seq 1"), "{error}");
    assert_eq!(lead.dump(), before);

    let error = lead
        .store
        .import_sheet(b"{\"format\": \"tinjau-sheet/1\"}")
        .unwrap_err();
    assert_eq!(error.code(), "invalid_sheet_file");
    assert!(error.to_string().contains("missing field"), "{error}");
    assert_eq!(lead.dump(), before);
}

#[test]
fn a_sheet_forging_another_jurors_scores_is_quarantined_not_applied() {
    let mut lead = juror_with_sheets("ketua", 70.0);
    let forger = juror_with_sheets("akademisi", 80.0);
    // The forger rewrites their file as if it were dindik's and re-seals the whole chain.
    let mut file: SheetFile =
        serde_json::from_slice(&forger.store.export_sheet(VISIT, false).unwrap()).unwrap();
    file.juror = "dindik".into();
    let mut prev = GENESIS_HASH.to_string();
    for entry in &mut file.entries {
        entry.author = "dindik".into();
        *entry = entry.clone().seal(&prev);
        prev = entry.hash.clone();
    }
    let report = lead
        .store
        .import_sheet(&serde_json::to_vec(&file).unwrap())
        .unwrap();
    assert_eq!(report.applied, 0);
    assert_eq!(report.quarantined.len(), file.entries.len());
    assert!(
        report.quarantined[0]
            .reason
            .contains("does not belong to \"dindik\""),
        "{:?}",
        report.quarantined[0]
    );
    assert_eq!(lead.store.quarantine().unwrap().len(), file.entries.len());
    // Nothing of it counts: only the lead's own sheet is merged.
    let result = lead.store.merge(None).unwrap();
    assert_eq!(result.participant("junrejo").unwrap().cells[0].n, 1);
    lead.store.audit().unwrap();
}

#[test]
fn a_lead_who_is_also_a_juror_sees_nothing_merged_before_submitting() {
    let mut lead = TestStore::juror("ketua");
    lead.store.score(VISIT, "I1", 70.0, None).unwrap();
    let error = lead.store.merge(None).unwrap_err();
    assert_eq!(error.code(), "blind_until_submitted");
    assert!(error.to_string().contains(VISIT), "{error}");
    let juror = TestStore::juror("akademisi");
    assert_eq!(juror.store.merge(None).unwrap_err().code(), "not_lead");
}

#[test]
fn a_reopened_sheet_stops_counting_until_it_is_submitted_again() {
    let (mut lead, _) = lead_with_jury();
    let before = lead.store.merge(Some(Method::Mean)).unwrap();
    assert_eq!(before.participant("junrejo").unwrap().cells[0].n, 4);
    assert_eq!(
        lead.store.reopen(VISIT, "dindik", " ").unwrap_err().code(),
        "empty_text"
    );
    lead.store
        .reopen(VISIT, "dindik", "Nilai I3 salah ketik")
        .unwrap();
    let after = lead.store.merge(Some(Method::Mean)).unwrap();
    assert_eq!(after.participant("junrejo").unwrap().cells[0].n, 3);
    assert_eq!(
        lead.store
            .reopen(VISIT, "dindik", "lagi")
            .unwrap_err()
            .code(),
        "sheet_not_submitted"
    );
    lead.store.audit().unwrap();
}

#[test]
fn ties_share_a_rank_until_the_lead_records_an_order() {
    let mut lead = TestStore::juror("ketua");
    for indicator in INDICATORS {
        lead.store.score(VISIT, indicator, 75.0, None).unwrap();
        lead.store.score(CONTOH, indicator, 75.0, None).unwrap();
    }
    lead.store.submit(VISIT).unwrap();
    lead.store.submit(CONTOH).unwrap();
    let result = lead.store.merge(None).unwrap();
    assert!(
        result
            .participants
            .iter()
            .all(|p| p.tied && p.rank == Some(1))
    );
    let order = vec!["contoh-a".to_string(), "junrejo".to_string()];
    assert_eq!(
        lead.store.break_tie(&order, "").unwrap_err().code(),
        "empty_text"
    );
    assert_eq!(
        lead.store.break_tie(&order[..1], "x").unwrap_err().code(),
        "not_tied"
    );
    lead.store
        .break_tie(&order, "Dampak inovasi lebih luas")
        .unwrap();
    let result = lead.store.merge(None).unwrap();
    let ranks: Vec<(&str, Option<u32>)> = result
        .participants
        .iter()
        .map(|p| (p.participant_id.as_str(), p.rank))
        .collect();
    assert_eq!(ranks, [("contoh-a", Some(1)), ("junrejo", Some(2))]);
    assert_eq!(
        result.participants[0].tie_break_reason.as_deref(),
        Some("Dampak inovasi lebih luas")
    );
}

#[test]
fn a_locked_visit_refuses_writes_and_quarantines_late_sheets() {
    let mut lead = juror_with_sheets("ketua", 70.0);
    let mut late = TestStore::juror("akademisi");
    late.store.score(VISIT, "I1", 99.0, None).unwrap();

    let lock = lead.store.lock(VISIT).unwrap();
    assert_eq!(lock.hash, lock.locked.content_hash());
    assert_eq!(lock.hash.len(), 64);
    assert!(lock.locked.not_submitted.contains(&"akademisi".to_string()));
    assert_eq!(lead.store.visit_lock(VISIT).unwrap().unwrap(), lock);
    assert_eq!(lead.store.lock(VISIT).unwrap_err().code(), "visit_locked");
    assert_eq!(
        lead.store.reopen(VISIT, "ketua", "x").unwrap_err().code(),
        "visit_locked"
    );
    assert_eq!(
        lead.store.lead_note(VISIT, "I1", "x").unwrap_err().code(),
        "visit_locked"
    );

    for indicator in INDICATORS {
        late.store.score(VISIT, indicator, 99.0, None).unwrap();
    }
    late.store.submit(VISIT).unwrap();
    let report = import(&mut lead, &late, VISIT);
    assert_eq!(report.applied, 0);
    assert!(
        report
            .quarantined
            .iter()
            .all(|q| q.reason.contains("locked")),
        "{report:?}"
    );
    // The sealed result did not move.
    let result = lead.store.merge(None).unwrap();
    assert_eq!(result.participant("junrejo").unwrap().cells[0].n, 1);
}

#[test]
fn locking_needs_every_indicator_scored() {
    let mut lead = TestStore::juror("ketua");
    for indicator in INDICATORS {
        lead.store.score(VISIT, indicator, 70.0, None).unwrap();
    }
    lead.store.submit(VISIT).unwrap();
    lead.store.submit(CONTOH).unwrap_err();
    // The lead's contoh-a sheet is a draft: blind rule first.
    assert_eq!(
        lead.store.lock(VISIT).unwrap_err().code(),
        "blind_until_submitted"
    );
}

#[test]
fn evidence_travels_in_the_sheet_file_when_asked() {
    let mut lead = juror_with_sheets("ketua", 70.0);
    let mut juror = TestStore::juror("akademisi");
    let photo = juror.file("paten.txt", b"loket PATEN");
    juror
        .store
        .verify(&VerifyRequest {
            visit: VISIT.into(),
            innovation: "paten".into(),
            verdict: Verdict::Found,
            note: None,
            evidence: vec![photo],
        })
        .unwrap();
    let shared = juror.file("balai.txt", b"foto balai warga");
    juror
        .store
        .observe(VISIT, "Balai warga dipakai rapat", None, &[shared])
        .unwrap();
    for indicator in INDICATORS {
        juror.store.score(VISIT, indicator, 80.0, None).unwrap();
    }
    juror.store.submit(VISIT).unwrap();

    let without = lead
        .store
        .import_sheet(&juror.store.export_sheet(VISIT, false).unwrap())
        .unwrap();
    assert_eq!((without.evidence_stored, without.evidence_missing), (0, 2));
    // The teammate's observation is in the lead's timeline, its photo shown as pending upload.
    let observed = lead.store.checklist(VISIT).unwrap().observations;
    let theirs = observed
        .iter()
        .find(|o| o.juror_id == "akademisi")
        .expect("the team's observations are shared");
    assert!(!theirs.evidence[0].available);
    let with = lead
        .store
        .import_sheet(&juror.store.export_sheet(VISIT, true).unwrap())
        .unwrap();
    assert_eq!(
        (with.evidence_stored, with.evidence_missing, with.applied),
        (2, 0, 0)
    );
    let observed = lead.store.checklist(VISIT).unwrap().observations;
    assert!(
        observed
            .iter()
            .all(|o| o.evidence.iter().all(|e| e.available))
    );
    let hash = blake3::hash(b"loket PATEN").to_hex().to_string();
    assert!(
        lead.path()
            .join("evidence")
            .join(&hash[..2])
            .join(&hash)
            .exists()
    );
    // The juror must have submitted before exporting.
    let draft = TestStore::juror("dindik");
    assert!(matches!(
        draft.store.export_sheet(VISIT, false),
        Err(StoreError::SheetNotSubmitted { .. })
    ));
}
