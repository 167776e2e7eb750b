//! Bad input through the binary: a clear message naming the problem, a non-zero exit, JSON
//! errors on stderr with `--json`, and nothing written.

use crate::support::{Terminal, VISIT, demo_package};

fn changes(laptop: &Terminal) -> i64 {
    laptop
        .database()
        .query_row("SELECT COUNT(*) FROM change_log", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn bad_writes_name_the_bad_value_and_write_nothing() {
    let laptop = Terminal::juror("akademisi");
    laptop.ok(&["score", VISIT, "I1", "80"]);
    let before = changes(&laptop);

    let cases: &[(&[&str], &str, &str)] = &[
        (&["score", VISIT, "I1", "101"], "score_out_of_scale", "101"),
        (&["score", VISIT, "I1", "-5"], "score_out_of_scale", "-5"),
        (
            &["score", VISIT, "I1", "delapan"],
            "score_not_a_number",
            "delapan",
        ),
        (&["score", VISIT, "I9", "50"], "unknown_indicator", "I9"),
        (
            &["score", "visit-bumiaji", "I1", "50"],
            "unknown_visit",
            "visit-bumiaji",
        ),
        (
            &["verify", VISIT, "sipandu", "--status", "found"],
            "unknown_innovation",
            "sipandu",
        ),
        (
            &[
                "verify",
                VISIT,
                "paten",
                "--status",
                "found",
                "--evidence",
                "/nonexistent/foto.jpg",
            ],
            "evidence_unreadable",
            "/nonexistent/foto.jpg",
        ),
        (
            &["observe", VISIT, "--text", "  "],
            "empty_text",
            "observation",
        ),
        (
            &["coi", "bumiaji", "--reason", "kerabat"],
            "unknown_participant",
            "bumiaji",
        ),
        (
            &["init", "--juror", "walikota"],
            "unknown_juror",
            "walikota",
        ),
        (&["submit", VISIT], "sheet_incomplete", "I2, I3"),
    ];
    for (args, code, words) in cases {
        let (got_code, message) = laptop.fails(args);
        assert_eq!(&got_code, code, "tinjau {args:?}: {message}");
        assert!(
            message.contains(words),
            "tinjau {args:?}: {message:?} should name {words:?}"
        );
    }
    assert_eq!(changes(&laptop), before, "a refused command wrote a change");
}

#[test]
fn a_file_over_the_evidence_limit_is_refused() {
    let laptop = Terminal::juror("akademisi");
    let big = laptop.file("video.mp4", &vec![0u8; 1024 * 1024 + 1]);
    let (code, message) = laptop.fails(&[
        "--evidence-limit-mib",
        "1",
        "verify",
        VISIT,
        "paten",
        "--status",
        "found",
        "--evidence",
        big.to_str().unwrap(),
    ]);
    assert_eq!(code, "evidence_too_large");
    assert!(
        message.contains("video.mp4") && message.contains("1048577"),
        "{message}"
    );
    assert!(
        !laptop.data_dir().join("evidence").exists()
            || std::fs::read_dir(laptop.data_dir().join("evidence"))
                .unwrap()
                .next()
                .is_none()
    );
}

#[test]
fn writing_to_a_submitted_sheet_is_refused() {
    let laptop = Terminal::juror("dinkes");
    for indicator in ["I1", "I2", "I3", "I4", "I5", "I6", "I7"] {
        laptop.ok(&["score", VISIT, indicator, "70"]);
    }
    laptop.ok(&["submit", VISIT]);
    let before = changes(&laptop);
    for args in [
        &["score", VISIT, "I1", "75"][..],
        &["verify", VISIT, "paten", "--status", "found"],
        &["observe", VISIT, "--text", "susulan"],
        &["submit", VISIT],
    ] {
        let (code, message) = laptop.fails(args);
        assert_eq!(code, "sheet_submitted", "{message}");
        assert!(message.contains("read-only"), "{message}");
    }
    assert_eq!(changes(&laptop), before);
}

#[test]
fn broken_packages_are_refused_with_paths_and_change_nothing() {
    let laptop = Terminal::new();
    let (code, message) = laptop.fails(&["import", "/nonexistent/paket.json"]);
    assert_eq!(code, "io");
    assert!(message.contains("/nonexistent/paket.json"), "{message}");

    let mut package: serde_json::Value =
        serde_json::from_slice(&std::fs::read(demo_package()).unwrap()).unwrap();
    package["indicators"][2]["weight"] = serde_json::json!(0);
    let broken = laptop.file("rusak.json", package.to_string().as_bytes());
    let output = laptop.run(&["--json", "import", broken.to_str().unwrap()]);
    assert!(!output.status.success());
    let error: serde_json::Value = serde_json::from_slice(&output.stderr).unwrap();
    assert_eq!(error["error"]["code"], "invalid_package");
    assert_eq!(
        error["error"]["problems"][0]["path"],
        "indicators[2].weight"
    );
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("rusak.json")
    );

    let huge = laptop.file("besar.json", &vec![b' '; 16 * 1024 * 1024 + 1]);
    let (code, message) = laptop.fails(&["import", huge.to_str().unwrap()]);
    assert_eq!(code, "invalid_package");
    assert!(message.contains("16 MiB"), "{message}");

    // Nothing was imported by any of these.
    let (code, _) = laptop.fails(&["visits"]);
    assert_eq!(code, "no_package");

    // Without --json, the message is for people and the exit code is non-zero.
    let output = laptop.run(&["import", broken.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.starts_with("error: importing")
            && stderr.contains("indicators[2].weight: must be greater than 0"),
        "{stderr}"
    );
}

#[test]
fn usage_errors_exit_non_zero_without_panicking() {
    let laptop = Terminal::juror("akademisi");
    for args in [
        &["verify", VISIT, "paten", "--status", "maybe"][..],
        &["score"],
        &["frobnicate"],
    ] {
        let output = laptop.run(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
