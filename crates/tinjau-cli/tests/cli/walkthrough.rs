//! A juror's whole visit through the real binary, offline, as the README walks it.

use crate::support::{Terminal, VISIT, demo_package, photo};

#[test]
fn a_juror_does_a_whole_visit_from_the_command_line() {
    let laptop = Terminal::new();
    let imported = laptop.ok(&["import", demo_package().to_str().unwrap()]);
    assert_eq!(imported.trim(), "Imported skk-jatim-2023 (revision 1)");
    let juror = laptop.json(&["init", "--juror", "akademisi"]);
    assert_eq!(juror["institution"], "Akademisi");

    let visits = laptop.json(&["visits"]);
    assert_eq!(visits[0]["visit_id"], VISIT);
    assert_eq!(visits[0]["innovations_listed"], 12);
    assert_eq!(visits[0]["sheet"], "draft");

    let foto = laptop.file("lansia-smart.jpg", &photo("2023:11:28 10:15:00"));
    let saved = laptop.ok(&[
        "verify",
        VISIT,
        "lansia-smart",
        "--status",
        "found",
        "--note",
        "Batik lansia dijual di toko oleh-oleh",
        "--evidence",
        foto.to_str().unwrap(),
    ]);
    assert!(
        saved.starts_with("Saved: visit-junrejo lansia-smart = found"),
        "{saved}"
    );
    laptop.ok(&[
        "verify",
        VISIT,
        "paten",
        "--status",
        "partial",
        "--note",
        "Loket buka, SOP belum dipasang",
    ]);
    laptop.ok(&["verify", VISIT, "wa-bang", "--status", "not-found"]);
    laptop.ok(&[
        "observe",
        VISIT,
        "--text",
        "Camat memaparkan 33 inovasi",
        "--innovation",
        "lansia-smart",
    ]);
    laptop.ok(&[
        "coi",
        "contoh-a",
        "--reason",
        "Pernah membina kecamatan ini",
    ]);

    for (indicator, value) in [
        ("I1", "85"),
        ("I2", "72.5"),
        ("I3", "60"),
        ("I4", "90"),
        ("I5", "78"),
        ("I6", "55"),
        ("I7", "80"),
    ] {
        let saved = laptop.json(&["score", VISIT, indicator, value, "--note", "sesuai paparan"]);
        assert_eq!(
            saved["score"]["value"].as_f64().unwrap(),
            value.parse::<f64>().unwrap()
        );
    }
    let submitted = laptop.ok(&["submit", VISIT]);
    assert!(submitted.contains("read-only"), "{submitted}");

    let checklist = laptop.json(&["visit", VISIT]);
    assert_eq!(checklist["sheet"], "submitted");
    assert_eq!(checklist["groups"][1]["score"]["value"], 72.5);
    assert_eq!(checklist["groups"][1]["score"]["band"], "Baik");
    assert_eq!(checklist["groups"][5]["score"]["band"], "Kurang");
    let lansia = &checklist["groups"][3]["innovations"][1];
    assert_eq!(lansia["innovation_id"], "lansia-smart");
    assert_eq!(lansia["verdict"], "found");
    assert_eq!(lansia["evidence"][0]["mime"], "image/jpeg");
    assert_eq!(lansia["evidence"][0]["captured_at"], "2023-11-28T10:15:00");
    assert_eq!(lansia["evidence"][0]["outside_visit_date"], false);
    assert_eq!(
        checklist["groups"][1]["innovations"][0]["verdict"],
        "partial"
    );
    assert_eq!(
        checklist["observations"][0]["text"],
        "Camat memaparkan 33 inovasi"
    );
    let kinds: Vec<&str> = checklist["discrepancies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"claimed_total_vs_by_indicator"),
        "{kinds:?}"
    );
    assert!(kinds.contains(&"not_found"), "{kinds:?}");

    // The human view says the same things in words.
    let text = laptop.ok(&["visit", VISIT]);
    assert!(
        text.contains("claimed 33 innovations in total, but 34 by indicator"),
        "{text}"
    );
    assert!(text.contains("72.5 (Baik)"), "{text}");
    assert!(text.contains("[unggulan]"), "{text}");

    let visits = laptop.json(&["visits"]);
    assert_eq!(visits[0]["innovations_checked"], 3);
    assert_eq!(visits[0]["indicators_scored"], 7);
    assert_eq!(visits[0]["sheet"], "submitted");

    let audit = laptop.json(&["audit"]);
    assert!(audit["entries"].as_u64().unwrap() >= 20, "{audit}");
    assert_eq!(audit["devices"], 1);
}

#[test]
fn the_demo_package_imports_without_a_file_and_data_dir_comes_from_the_environment() {
    let laptop = Terminal::new();
    let output = std::process::Command::new(crate::support::BIN)
        .args(["import", "--demo"])
        .env("TINJAU_DATA_DIR", laptop.data_dir())
        .env("TINJAU_PASSPHRASE", tinjau_tests::TEST_PASSPHRASE)
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(laptop.data_dir().join("tinjau.sqlite3").exists());
    laptop.ok(&["init", "--juror", "ketua"]);
    assert_eq!(laptop.json(&["visits"]).as_array().unwrap().len(), 2);
}
