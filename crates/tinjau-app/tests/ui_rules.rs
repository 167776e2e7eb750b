//! The UI repeats two of the core's rules so that it can answer while a juror types: the score
//! grammar (`ui/src/lib/score.ts` beside `ScoreValue::parse_typed`) and the rubric band
//! (`rubricLabel` in `ui/src/lib/view.ts` beside `Indicator::band_for`). This test writes what
//! the core answers for many inputs to `ui/src/lib/core-cases.json`, and the UI's tests
//! (`ui/src/lib/core-cases.test.ts`) hold the TypeScript to the same answers. Stale → failure;
//! `TINJAU_UPDATE_BINDINGS=1` writes it again.

use tinjau_core::change::ScoreValue;
use tinjau_core::package::Package;

const TYPED: &[&str] = &[
    "0",
    "-0",
    "85",
    " 85 ",
    "72,5",
    "72.5",
    "72,25",
    "72,255",
    "72,",
    ",5",
    ".5",
    "5.",
    "0x10",
    "1e2",
    "1E2",
    "+5",
    "--5",
    "-5",
    "7 2",
    "1.000,5",
    "1,000.5",
    "100",
    "100,00",
    "100,01",
    "999999999",
    "1000000000",
    "Infinity",
    "NaN",
    "",
    " ",
    "٣",
    "５",
    "\u{a0}80",
    "80\u{a0}",
    "\u{85}80",
    "\u{feff}80",
    "\t80\n",
    "0,1",
    "0,01",
    "00,5",
    "007",
    "1,2,3",
    "1.2.3",
    "-0,5",
];

#[test]
fn the_uis_copies_of_core_rules_are_held_to_the_cores_answers() {
    let typed: Vec<serde_json::Value> = TYPED
        .iter()
        .map(|text| {
            let value = ScoreValue::parse_typed(text).ok().map(|v| v.get());
            serde_json::json!({ "text": text, "value": value })
        })
        .collect();
    let package = Package::parse(tinjau_app::DEMO_PACKAGE.as_bytes()).unwrap();
    let mut rubrics = Vec::new();
    let mut seen = Vec::new();
    for indicator in &package.indicators {
        let key = serde_json::to_string(&indicator.rubric).unwrap();
        if indicator.rubric.is_empty() || seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let scores: Vec<serde_json::Value> = (-4..=404)
            .map(|quarter| {
                let score = f64::from(quarter) / 4.0;
                let label = indicator.band_for(score).map(|b| b.label.clone());
                serde_json::json!([score, label])
            })
            .collect();
        rubrics.push(serde_json::json!({ "rubric": indicator.rubric, "scores": scores }));
    }
    assert!(!rubrics.is_empty(), "the demo has rubrics");
    let text = serde_json::to_string_pretty(&serde_json::json!({
        "generated_by": "crates/tinjau-app/tests/ui_rules.rs",
        "typed": typed,
        "rubrics": rubrics,
    }))
    .unwrap()
        + "\n";
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/lib/core-cases.json");
    if std::env::var("TINJAU_UPDATE_BINDINGS").as_deref() == Ok("1") {
        std::fs::write(&path, &text).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(&path).ok().as_deref(),
        Some(text.as_str()),
        "ui/src/lib/core-cases.json is stale; run TINJAU_UPDATE_BINDINGS=1 cargo test -p tinjau-app --test ui_rules"
    );
}
