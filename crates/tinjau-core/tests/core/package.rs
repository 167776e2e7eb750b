//! Package details the store tests do not reach: rubric bands, strict dates, ids, defaults.

use tinjau_core::Package;
use tinjau_core::domain::{captured_outside_visit, check_score, rubric_label};
use tinjau_core::package::{is_valid_id, parse_iso_date};

const DEMO: &str = include_str!("../../../../assets/skk-jatim-2023.json");

fn demo() -> Package {
    Package::parse(DEMO.as_bytes()).unwrap()
}

#[test]
fn a_scores_band_is_the_last_band_starting_at_or_below_it() {
    let package = demo();
    let indicator = package.indicator("I1").unwrap();
    let label = |v: f64| rubric_label(indicator, v);
    assert_eq!(label(0.0).as_deref(), Some("Kurang"));
    assert_eq!(
        label(59.5).as_deref(),
        Some("Kurang"),
        "decimals in a gap stay in the lower band"
    );
    assert_eq!(label(60.0).as_deref(), Some("Baik"));
    assert_eq!(label(79.99).as_deref(), Some("Baik"));
    assert_eq!(label(100.0).as_deref(), Some("Sangat baik"));
}

#[test]
fn scores_must_lie_on_the_scale() {
    let scale = demo().competition.scale;
    assert!(check_score(&scale, 0.0).is_ok());
    assert!(check_score(&scale, 100.0).is_ok());
    assert!(check_score(&scale, 72.25).is_ok());
    assert!(check_score(&scale, 100.0001).is_err());
    assert!(check_score(&scale, f64::INFINITY).is_err());
}

#[test]
fn dates_are_strict_iso_calendar_dates() {
    assert!(parse_iso_date("2023-11-28").is_some());
    for bad in [
        "2023-1-5",
        "28/11/2023",
        "2023-11-28T00:00",
        "2023-13-01",
        "",
        "２０２３-11-28",
    ] {
        assert!(parse_iso_date(bad).is_none(), "{bad}");
    }
}

#[test]
fn ids_are_plain_ascii_tokens() {
    for good in ["I1", "visit-junrejo", "a.b_c-9"] {
        assert!(is_valid_id(good), "{good}");
    }
    for bad in ["", "dua kata", "kecamatan/junrejo", "é"] {
        assert!(!is_valid_id(bad), "{bad}");
    }
    // Every id a package gives must fit in a change (at most 128 bytes): a longer one would
    // import, and then every change about it would be refused by every receiver.
    assert!(is_valid_id(&"a".repeat(128)));
    assert!(!is_valid_id(&"a".repeat(129)));
    let mut package = serde_json::to_value(demo()).unwrap();
    package["visits"][0]["id"] = serde_json::json!("v".repeat(129));
    let errors = tinjau_core::Package::parse(package.to_string().as_bytes()).unwrap_err();
    assert!(errors.paths().contains(&"visits[0].id"), "{errors}");
}

#[test]
fn the_disagreement_threshold_defaults_to_a_fifth_of_the_scale() {
    let mut package = demo();
    assert_eq!(package.disagreement_threshold(), 20.0);
    package.competition.disagreement_threshold = None;
    package.competition.scale.max = 50.0;
    assert_eq!(package.disagreement_threshold(), 10.0);
}

#[test]
fn the_capture_date_tolerance_is_one_day_either_side() {
    let visit = parse_iso_date("2023-11-28").unwrap();
    let at =
        |text: &str| Some(chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap());
    assert!(!captured_outside_visit(at("2023-11-27 00:01"), visit));
    assert!(!captured_outside_visit(at("2023-11-29 23:59"), visit));
    assert!(captured_outside_visit(at("2023-11-26 23:59"), visit));
    assert!(captured_outside_visit(at("2023-11-30 00:00"), visit));
    assert!(!captured_outside_visit(None, visit));
}

#[test]
fn a_parsed_package_round_trips_through_json() {
    let package = demo();
    let text = serde_json::to_string(&package).unwrap();
    assert_eq!(Package::parse(text.as_bytes()).unwrap(), package);
}

#[test]
fn a_newer_revision_replaces_the_same_must_match_an_older_is_refused() {
    use tinjau_core::package::{RevisionRefusal, RevisionStep, revision_step};
    assert_eq!(revision_step(None, 1, "a"), Ok(RevisionStep::New));
    assert_eq!(
        revision_step(Some((1, "a")), 1, "a"),
        Ok(RevisionStep::Unchanged)
    );
    assert_eq!(
        revision_step(Some((1, "a")), 2, "b"),
        Ok(RevisionStep::Update { from: 1 })
    );
    assert_eq!(
        revision_step(Some((3, "a")), 2, "b"),
        Err(RevisionRefusal::Older { have: 3 })
    );
    assert_eq!(
        revision_step(Some((1, "a")), 1, "b"),
        Err(RevisionRefusal::ContentChanged)
    );
}

/// The published JSON Schema (`docs/package.schema.json`) and the importer agree: the demo
/// package satisfies both, and each broken package below is refused by both.
#[test]
fn the_json_schema_in_docs_agrees_with_the_importer() {
    let schema_path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/package.schema.json"
    );
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema");
    let demo: serde_json::Value = serde_json::to_value(demo()).unwrap();
    let problems: Vec<String> = validator
        .iter_errors(&demo)
        .map(|e| e.to_string())
        .collect();
    assert!(
        problems.is_empty(),
        "the demo breaks the schema: {problems:?}"
    );
    let raw: serde_json::Value =
        serde_json::from_str(include_str!("../../../../assets/skk-jatim-2023.json")).unwrap();
    assert!(
        validator.is_valid(&raw),
        "the shipped demo file satisfies the schema"
    );

    type Break = fn(&mut serde_json::Value);
    let broken: [(&str, Break); 9] = [
        ("another format", |p| {
            p["format"] = "tinjau-package/2".into()
        }),
        ("revision 0", |p| p["revision"] = 0.into()),
        ("an unknown field", |p| p["competition"]["typo"] = 1.into()),
        ("a weight of 0", |p| p["indicators"][0]["weight"] = 0.into()),
        ("an id with a space", |p| {
            p["jurors"][0]["id"] = "dua kata".into()
        }),
        ("a 129-byte id", |p| {
            p["participants"][0]["id"] = "p".repeat(129).into()
        }),
        ("an unknown method", |p| {
            p["competition"]["method"] = "vote".into()
        }),
        ("a blank name", |p| p["indicators"][0]["name"] = "  ".into()),
        ("no indicators", |p| p["indicators"] = serde_json::json!([])),
    ];
    for (what, spoil) in broken {
        let mut package = raw.clone();
        spoil(&mut package);
        assert!(!validator.is_valid(&package), "the schema accepts {what}");
        assert!(
            tinjau_core::Package::parse(package.to_string().as_bytes()).is_err(),
            "the importer accepts {what}"
        );
    }
}

#[test]
fn a_revisions_diff_names_what_is_added_removed_and_changed() {
    use tinjau_core::package::PackageDiff;
    let old = demo();
    assert!(PackageDiff::between(&old, &old).is_empty());
    let mut new = old.clone();
    new.revision += 1;
    new.jurors.retain(|j| j.id != "dindik");
    for visit in &mut new.visits {
        visit.jurors.retain(|j| j != "dindik");
    }
    new.participants[0].innovations.pop();
    let removed_innovation = format!(
        "{}/{}",
        old.participants[0].id,
        old.participants[0].innovations.last().unwrap().id
    );
    new.indicators[0].weight = 2.0;
    let diff = PackageDiff::between(&old, &new);
    assert_eq!(diff.jurors_removed, ["dindik"]);
    assert_eq!(diff.innovations_removed, [removed_innovation]);
    assert!(diff.changed.contains(&"I1".to_string()), "{diff}");
    assert!(diff.participants_added.is_empty() && diff.participants_removed.is_empty());
    assert!(
        diff.to_string().contains("jurors removed: dindik"),
        "{diff}"
    );
}
