//! Package import: every rule of `docs/package.md`, all or nothing, revisions.

use serde_json::{Value, json};
use tinjau_store::{ImportOutcome, StoreError};

use crate::support::{DEMO, TestStore, VISIT, demo_value};

type Mutation = fn(&mut Value);

/// Each case breaks one rule; the error must name the path (and say something about why).
const BROKEN: &[(&str, Mutation, &str, &str)] = &[
    (
        "wrong format",
        |p| p["format"] = json!("tinjau-package/2"),
        "format",
        "tinjau-package/1",
    ),
    (
        "revision zero",
        |p| p["revision"] = json!(0),
        "revision",
        "positive",
    ),
    (
        "revision not an integer",
        |p| p["revision"] = json!(1.5),
        "revision",
        "invalid type",
    ),
    (
        "bad competition id",
        |p| p["competition"]["id"] = json!("skk jatim"),
        "competition.id",
        "letters, digits",
    ),
    (
        "empty participant id",
        |p| p["participants"][0]["id"] = json!(""),
        "participants[0].id",
        "an id of 1 to 128",
    ),
    (
        "duplicate indicator id",
        |p| p["indicators"][1]["id"] = json!("I1"),
        "indicators[1].id",
        "more than once",
    ),
    (
        "duplicate innovation id",
        |p| p["participants"][0]["innovations"][1]["id"] = json!("sicandapol"),
        "participants[0].innovations[1].id",
        "more than once",
    ),
    (
        "duplicate juror id",
        |p| p["jurors"][2]["id"] = json!("akademisi"),
        "jurors[2].id",
        "more than once",
    ),
    (
        "duplicate visit id",
        |p| p["visits"][1]["id"] = json!("visit-junrejo"),
        "visits[1].id",
        "more than once",
    ),
    (
        "innovation under unknown indicator",
        |p| p["participants"][0]["innovations"][0]["indicator"] = json!("I9"),
        "participants[0].innovations[0].indicator",
        "I9",
    ),
    (
        "visit of unknown participant",
        |p| p["visits"][0]["participant"] = json!("batu"),
        "visits[0].participant",
        "batu",
    ),
    (
        "visit with unknown juror",
        |p| p["visits"][0]["jurors"][1] = json!("ghost"),
        "visits[0].jurors[1]",
        "ghost",
    ),
    (
        "juror twice in a visit",
        |p| p["visits"][0]["jurors"][2] = json!("akademisi"),
        "visits[0].jurors[2]",
        "twice",
    ),
    (
        "visit without a lead",
        |p| p["visits"][0]["jurors"] = json!(["akademisi", "dindik"]),
        "visits[0].jurors",
        "found 0",
    ),
    (
        "visit with two leads",
        |p| p["jurors"][1]["role"] = json!("lead"),
        "visits[0].jurors",
        "found 2",
    ),
    (
        "unknown role",
        |p| p["jurors"][1]["role"] = json!("boss"),
        "jurors[1].role",
        "unknown variant",
    ),
    (
        "scale min not below max",
        |p| p["competition"]["scale"] = json!({"min": 100, "max": 100}),
        "competition.scale",
        "less than",
    ),
    (
        "weight zero",
        |p| p["indicators"][2]["weight"] = json!(0),
        "indicators[2].weight",
        "greater than 0",
    ),
    (
        "negative weight",
        |p| p["indicators"][3]["weight"] = json!(-1),
        "indicators[3].weight",
        "greater than 0",
    ),
    (
        "unknown method",
        |p| p["competition"]["method"] = json!("average"),
        "competition.method",
        "unknown variant",
    ),
    (
        "negative threshold",
        |p| p["competition"]["disagreement_threshold"] = json!(-1),
        "competition.disagreement_threshold",
        ">= 0",
    ),
    (
        "rubric band outside the scale",
        |p| p["indicators"][0]["rubric"][2]["to"] = json!(120),
        "indicators[0].rubric[2]",
        "outside the scale",
    ),
    (
        "rubric bands overlap",
        |p| p["indicators"][0]["rubric"][1]["from"] = json!(50),
        "indicators[0].rubric[1]",
        "overlaps",
    ),
    (
        "rubric band reversed",
        |p| p["indicators"][0]["rubric"][1] = json!({"from": 79, "to": 60, "label": "Baik"}),
        "indicators[0].rubric[1]",
        "greater than",
    ),
    (
        "date not ISO",
        |p| p["visits"][0]["date"] = json!("28-11-2023"),
        "visits[0].date",
        "YYYY-MM-DD",
    ),
    (
        "date impossible",
        |p| p["visits"][0]["date"] = json!("2023-02-30"),
        "visits[0].date",
        "YYYY-MM-DD",
    ),
    (
        "claim for unknown indicator",
        |p| p["participants"][0]["claimed_by_indicator"]["I9"] = json!(1),
        "participants[0].claimed_by_indicator.I9",
        "not an indicator",
    ),
    (
        "negative claim",
        |p| p["participants"][0]["claimed_innovations"] = json!(-3),
        "participants[0].claimed_innovations",
        "invalid value",
    ),
    (
        "unknown field (typo)",
        |p| {
            p["indicators"][0]
                .as_object_mut()
                .unwrap()
                .insert("wieght".into(), json!(1));
        },
        "indicators[0]",
        "unknown field `wieght`",
    ),
    (
        "missing field",
        |p| {
            p["indicators"][0].as_object_mut().unwrap().remove("weight");
        },
        "indicators[0]",
        "missing field `weight`",
    ),
    (
        "no indicators",
        |p| p["indicators"] = json!([]),
        "indicators",
        "at least one",
    ),
    (
        "empty name",
        |p| p["participants"][0]["name"] = json!("  "),
        "participants[0].name",
        "empty",
    ),
];

/// A laptop with the demo imported and some field work, so "unchanged" covers field records.
fn laptop_with_work() -> TestStore {
    let mut laptop = TestStore::juror("akademisi");
    laptop.store.score(VISIT, "I1", 80.0, Some("baik")).unwrap();
    laptop
}

#[test]
fn every_rule_violation_names_its_path_and_changes_nothing() {
    let mut laptop = laptop_with_work();
    let before = laptop.dump();
    for (case, mutate, path, words) in BROKEN {
        let mut package = demo_value();
        mutate(&mut package);
        let bytes = serde_json::to_vec(&package).unwrap();
        let error = laptop.store.import_package(&bytes).unwrap_err();
        let StoreError::InvalidPackage(problems) = &error else {
            panic!("{case}: expected an invalid-package error, got {error}");
        };
        let message = error.to_string();
        assert!(
            problems
                .0
                .iter()
                .any(|p| p.path.starts_with(path) && p.to_string().contains(words)),
            "{case}: expected a problem at {path} mentioning {words:?}, got:\n{message}"
        );
        assert_eq!(error.code(), "invalid_package");
        assert_eq!(laptop.dump(), before, "{case}: the store changed");
    }
}

#[test]
fn validation_reports_every_problem_at_once() {
    let mut package = demo_value();
    package["indicators"][2]["weight"] = json!(0);
    package["visits"][0]["date"] = json!("kemarin");
    let error = TestStore::empty()
        .store
        .import_package(&serde_json::to_vec(&package).unwrap())
        .unwrap_err();
    let StoreError::InvalidPackage(problems) = error else {
        panic!("expected invalid package");
    };
    assert_eq!(problems.paths(), ["indicators[2].weight", "visits[0].date"]);
}

#[test]
fn bytes_that_are_not_a_package_are_refused_with_a_reason() {
    let mut laptop = TestStore::empty();
    let cases: &[(&[u8], &str)] = &[
        (b"", "EOF"),
        (b"not json", "not valid JSON"),
        (b"<html>", "not valid JSON"),
        (b"[1, 2]", "invalid type"),
        (
            b"{\"format\": \"tinjau-package/1\", \"revision\": 1, \"x\": \xff}",
            "UTF-8",
        ),
    ];
    for (bytes, words) in cases {
        let error = laptop.store.import_package(bytes).unwrap_err();
        assert!(error.to_string().contains(words), "{error}");
    }
    let huge = vec![b' '; tinjau_core::package::MAX_PACKAGE_BYTES + 1];
    let error = laptop.store.import_package(&huge).unwrap_err();
    assert!(error.to_string().contains("16 MiB"), "{error}");
    assert!(matches!(laptop.store.package(), Err(StoreError::NoPackage)));
}

#[test]
fn a_newer_revision_updates_the_package_and_keeps_field_work() {
    let mut laptop = laptop_with_work();
    laptop
        .store
        .observe(VISIT, "Balai warga ramai", None, &[])
        .unwrap();
    let mut newer = demo_value();
    newer["revision"] = json!(2);
    newer["competition"]["stage"] = json!("Tahap III - Tinjau Lapang (revisi)");
    // The organiser drops an innovation this juror already checked: the record must survive.
    laptop
        .store
        .verify(&tinjau_store::VerifyRequest {
            visit: VISIT.into(),
            innovation: "desa-tangguh".into(),
            verdict: tinjau_core::Verdict::Partial,
            note: None,
            evidence: vec![],
        })
        .unwrap();
    newer["participants"][0]["innovations"]
        .as_array_mut()
        .unwrap()
        .pop();
    let outcome = laptop
        .store
        .import_package(&serde_json::to_vec(&newer).unwrap())
        .unwrap();
    assert_eq!(
        outcome,
        ImportOutcome::Updated {
            competition: "skk-jatim-2023".into(),
            from: 1,
            to: 2
        }
    );
    let checklist = laptop.store.checklist(VISIT).unwrap();
    assert_eq!(checklist.groups[0].score.as_ref().unwrap().value, 80.0);
    assert_eq!(checklist.observations.len(), 1);
    assert_eq!(laptop.store.package().unwrap().revision, 2);
    let verifications: i64 =
        rusqlite::Connection::open(laptop.path().join(tinjau_store::DATABASE_FILE))
            .unwrap()
            .query_row(
                "SELECT COUNT(*) FROM verification WHERE innovation_id = 'desa-tangguh'",
                [],
                |r| r.get(0),
            )
            .unwrap();
    assert_eq!(
        verifications, 1,
        "the dropped innovation's verification is kept"
    );
}

#[test]
fn older_or_altered_revisions_and_other_competitions_are_refused() {
    let mut laptop = laptop_with_work();
    let mut newer = demo_value();
    newer["revision"] = json!(3);
    laptop
        .store
        .import_package(&serde_json::to_vec(&newer).unwrap())
        .unwrap();
    let before = laptop.dump();

    let error = laptop.store.import_package(DEMO.as_bytes()).unwrap_err();
    assert_eq!(error.code(), "older_revision", "{error}");

    newer["competition"]["name"] = json!("Nama lain");
    let error = laptop
        .store
        .import_package(&serde_json::to_vec(&newer).unwrap())
        .unwrap_err();
    assert_eq!(error.code(), "revision_content_changed", "{error}");

    let mut other = demo_value();
    other["competition"]["id"] = json!("skk-jatim-2024");
    let error = laptop
        .store
        .import_package(&serde_json::to_vec(&other).unwrap())
        .unwrap_err();
    assert_eq!(error.code(), "other_competition", "{error}");
    assert!(error.to_string().contains("skk-jatim-2024"));

    assert_eq!(laptop.dump(), before);
}

#[test]
fn reimporting_the_same_revision_is_a_no_op() {
    let mut laptop = laptop_with_work();
    let before = laptop.dump();
    let outcome = laptop.store.import_package(DEMO.as_bytes()).unwrap();
    assert!(matches!(
        outcome,
        ImportOutcome::Unchanged { revision: 1, .. }
    ));
    assert_eq!(laptop.dump(), before);
}

#[test]
fn the_demo_package_is_the_real_junrejo_case() {
    let laptop = TestStore::juror("ketua");
    let package = laptop.store.package().unwrap();
    assert_eq!(package.indicators.len(), 7);
    assert!(package.indicators.iter().all(|i| i.weight == 1.0));
    let junrejo = package.participant("junrejo").unwrap();
    assert_eq!(junrejo.claimed_innovations, Some(33));
    assert_eq!(junrejo.claimed_by_indicator.values().sum::<u32>(), 34);
    assert_eq!(junrejo.innovations.len(), 12);
    assert_eq!(package.visit(VISIT).unwrap().date, "2023-11-28");
    // Any other finalist is marked as an example.
    for participant in package.participants.iter().filter(|p| p.id != "junrejo") {
        assert!(participant.name.contains("contoh"), "{}", participant.name);
    }
    // No personal names: jurors are named by role and institution.
    assert!(package.jurors.iter().all(|j| j.name.contains("Tim Juri")));
}
