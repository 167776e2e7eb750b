//! Photo evidence with real EXIF: capture time, GPS, and the "outside the visit date" flag.

use tinjau_core::domain::OUTSIDE_VISIT_DATE_LABEL;

use crate::support::{Terminal, VISIT, photo};

#[test]
fn a_photo_taken_on_another_day_is_flagged_not_refused() {
    let laptop = Terminal::juror("akademisi");
    let on_the_day = laptop.file("hari-h.jpg", &photo("2023:11:28 09:00:00"));
    let day_after = laptop.file("besoknya.jpg", &photo("2023:11:29 21:00:00"));
    let last_month = laptop.file("bulan-lalu.jpg", &photo("2023:10:01 08:30:00"));

    let saved = laptop.ok(&[
        "observe",
        VISIT,
        "--text",
        "Foto galeri batik",
        "--evidence",
        on_the_day.to_str().unwrap(),
        "--evidence",
        day_after.to_str().unwrap(),
        "--evidence",
        last_month.to_str().unwrap(),
    ]);
    assert!(saved.contains("bulan-lalu.jpg (image/jpeg"), "{saved}");
    assert!(saved.contains(OUTSIDE_VISIT_DATE_LABEL), "{saved}");

    let checklist = laptop.json(&["visit", VISIT]);
    let evidence = checklist["observations"][0]["evidence"].as_array().unwrap();
    let flags: Vec<(&str, &str, bool)> = evidence
        .iter()
        .map(|e| {
            (
                e["original_name"].as_str().unwrap(),
                e["captured_at"].as_str().unwrap(),
                e["outside_visit_date"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        flags,
        [
            ("hari-h.jpg", "2023-11-28T09:00:00", false),
            ("besoknya.jpg", "2023-11-29T21:00:00", false),
            ("bulan-lalu.jpg", "2023-10-01T08:30:00", true),
        ]
    );
    let gps = &evidence[0]["gps"];
    assert!(
        (gps["latitude"].as_f64().unwrap() + 7.9).abs() < 1e-9,
        "{gps}"
    );
    assert!(
        (gps["longitude"].as_f64().unwrap() - 112.55).abs() < 1e-9,
        "{gps}"
    );
}

#[test]
fn a_document_without_exif_is_stored_without_a_capture_time() {
    let laptop = Terminal::juror("akademisi");
    let pdf = laptop.file(
        "sk-camat.pdf",
        b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n",
    );
    let saved = laptop.json(&[
        "verify",
        VISIT,
        "renlap-terpadu",
        "--status",
        "found",
        "--evidence",
        pdf.to_str().unwrap(),
    ]);
    assert_eq!(saved["evidence"][0]["mime"], "application/pdf");
    assert!(saved["evidence"][0]["captured_at"].is_null());
    assert_eq!(saved["evidence"][0]["outside_visit_date"], false);
}

#[test]
fn a_file_name_with_terminal_escapes_is_stored_and_shown_harmless() {
    let laptop = Terminal::juror("akademisi");
    let hostile = laptop.file(
        "foto\u{1b}[2J\u{1b}]0;pwned\u{7}.jpg",
        &photo("2023:11:28 09:00:00"),
    );
    let saved = laptop.ok(&[
        "observe",
        VISIT,
        "--text",
        "Foto",
        "--evidence",
        hostile.to_str().unwrap(),
    ]);
    assert!(
        !saved.contains('\u{1b}') && !saved.contains('\u{7}'),
        "{saved:?}"
    );
    assert!(saved.contains("foto?[2J?]0;pwned?.jpg"), "{saved}");
    let checklist = laptop.json(&["visit", VISIT]);
    let name = checklist["observations"][0]["evidence"][0]["original_name"]
        .as_str()
        .unwrap();
    assert_eq!(
        name, "foto?[2J?]0;pwned?.jpg",
        "stored without control characters"
    );
}

#[cfg(unix)]
#[test]
fn a_fifo_offered_as_evidence_is_refused_at_once() {
    let laptop = Terminal::juror("akademisi");
    let fifo = laptop.data_dir().join("pipa.jpg");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    let started = std::time::Instant::now();
    let (_, stderr) = laptop.fails(&[
        "observe",
        VISIT,
        "--text",
        "Foto",
        "--evidence",
        fifo.to_str().unwrap(),
    ]);
    assert!(stderr.contains("not a regular file"), "{stderr}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}
