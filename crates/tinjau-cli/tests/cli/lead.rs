//! The team lead through the real binary: sheets over files, merge, ranking, lock, and the
//! official documents read back (PDF text with pdftotext, XLSX with calamine, CSV parsed).

use std::process::Command;

use calamine::{Data, Reader, Xlsx, open_workbook};

use crate::support::{Terminal, VISIT};

const INDICATORS: [&str; 7] = ["I1", "I2", "I3", "I4", "I5", "I6", "I7"];

/// Scores both visits (`base` + indicator number), verifies some innovations, submits both.
fn juror(id: &str, base: u32, verdicts: &[(&str, &str)]) -> Terminal {
    let laptop = Terminal::juror(id);
    for (i, indicator) in INDICATORS.iter().enumerate() {
        laptop.ok(&["score", VISIT, indicator, &(base + i as u32).to_string()]);
        laptop.ok(&[
            "score",
            "visit-contoh-a",
            indicator,
            &(base - 5).to_string(),
        ]);
    }
    for (innovation, status) in verdicts {
        laptop.ok(&["verify", VISIT, innovation, "--status", status]);
    }
    laptop.ok(&["submit", VISIT]);
    laptop.ok(&["submit", "visit-contoh-a"]);
    laptop
}

fn pdf_text(path: &std::path::Path) -> String {
    let output = Command::new("pdftotext")
        .args(["-layout", path.to_str().unwrap(), "-"])
        .output()
        .expect(
            "pdftotext (poppler-utils) must be installed: scripts/system-deps.sh test installs it",
        );
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn the_lead_merges_locks_and_produces_the_official_documents() {
    let lead = juror("ketua", 70, &[("sicandapol", "found")]);
    let jurors = [
        juror(
            "akademisi",
            80,
            &[
                ("sicandapol", "found"),
                ("lansia-smart", "found"),
                ("wa-bang", "not-found"),
            ],
        ),
        juror(
            "dindik",
            50,
            &[
                ("sicandapol", "partial"),
                ("lansia-smart", "found"),
                ("wa-bang", "not-found"),
            ],
        ),
        juror(
            "biro-hukum",
            90,
            &[("sicandapol", "found"), ("lansia-smart", "partial")],
        ),
    ];
    for juror in &jurors {
        let file = juror.dir.path().join("lembar.json");
        juror.ok(&["sheet", "export", VISIT, "--out", file.to_str().unwrap()]);
        let report = lead.json(&["sheet", "import", file.to_str().unwrap()]);
        assert!(report["applied"].as_u64().unwrap() >= 16, "{report}");
        assert_eq!(report["quarantined"].as_array().unwrap().len(), 0);
        // Importing again changes nothing.
        let again = lead.json(&["sheet", "import", file.to_str().unwrap()]);
        assert_eq!(again["applied"], 0);
    }

    // I1: 70, 80, 50, 90 → mean 72.5, spread 40: disputed.
    let merged = lead.json(&["merge", "--visit", VISIT]);
    let junrejo = merged["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["participant_id"] == "junrejo")
        .unwrap();
    assert_eq!(junrejo["cells"][0]["aggregate"], 72.5);
    assert_eq!(junrejo["cells"][0]["disputed"], true);
    assert_eq!(junrejo["total"], 75.5);
    let median = lead.json(&["merge", "--method", "median"]);
    assert_eq!(median["method"], "median");
    let ranking = lead.json(&["ranking"]);
    assert_eq!(ranking["results"].as_array().unwrap().len(), 4);
    let text = lead.ok(&["ranking"]);
    assert!(
        text.contains("Kecamatan Junrejo") && text.contains("zscore"),
        "{text}"
    );

    lead.ok(&[
        "lead-note",
        VISIT,
        "I1",
        "--text",
        "Dokumen SICANDAPOL dinilai berbeda oleh Dinas Pendidikan",
    ]);
    let lock = lead.json(&["lock", VISIT]);
    let hash = lock["hash"].as_str().unwrap().to_string();
    assert_eq!(hash.len(), 64);
    let (code, _) = lead.fails(&["lead-note", VISIT, "I2", "--text", "terlambat"]);
    assert_eq!(code, "visit_locked");

    let dir = lead.dir.path();
    let berita_acara = dir.join("berita-acara.pdf");
    lead.ok(&[
        "report",
        "berita-acara",
        VISIT,
        "--out",
        berita_acara.to_str().unwrap(),
    ]);
    let text = pdf_text(&berita_acara);
    for expected in [
        "BERITA ACARA TINJAU LAPANG",
        "LOMBA SINERGITAS KINERJA KECAMATAN PROVINSI JAWA TIMUR 2023",
        "Selasa, tanggal dua puluh delapan bulan November tahun dua ribu dua puluh tiga",
        "Kecamatan Junrejo, Kota Batu",
        "Penyelenggaraan urusan pemerintahan umum",
        "72,50",
        "75,50",
        "tujuh puluh lima koma lima",
        "rata-rata (mean)",
        "Dokumen SICANDAPOL",
        "Ketua Tim Juri",
        "Dinas Koperasi dan UMKM Provinsi Jawa Timur",
        &hash,
    ] {
        assert!(
            text.contains(expected),
            "the berita acara lacks {expected:?}:\n{text}"
        );
    }
    // Claims and the jury's verdicts: 33 claimed, 34 by indicator, 12 listed; sicandapol found
    // (3 of 4), lansia-smart found (2 of 3), wa-bang not found.
    let claims: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.contains("Inovasi yang diklaim")
                || l.contains("Tidak ditemukan")
                || l.contains("Ditemukan sesuai")
        })
        .collect();
    assert!(claims.iter().any(|l| l.contains("33")), "{claims:?}");
    assert!(
        claims
            .iter()
            .any(|l| l.contains("Ditemukan sesuai") && l.trim_end().ends_with('2')),
        "{claims:?}"
    );
    assert!(
        claims
            .iter()
            .any(|l| l.contains("Tidak ditemukan") && l.trim_end().ends_with('1')),
        "{claims:?}"
    );

    let ranking_pdf = dir.join("peringkat.pdf");
    lead.ok(&["report", "ranking", "--out", ranking_pdf.to_str().unwrap()]);
    let text = pdf_text(&ranking_pdf);
    for expected in [
        "BERITA ACARA PENETAPAN PERINGKAT",
        "Kecamatan Junrejo",
        "Kecamatan Contoh A (contoh)",
        "zscore",
        &hash,
    ] {
        assert!(
            text.contains(expected),
            "the ranking lacks {expected:?}:\n{text}"
        );
    }

    let xlsx = dir.join("rekap.xlsx");
    lead.ok(&["report", "rekap", "--out", xlsx.to_str().unwrap()]);
    let mut workbook: Xlsx<_> = open_workbook(&xlsx).unwrap();
    assert_eq!(
        workbook.sheet_names(),
        [
            "visit-junrejo",
            "visit-contoh-a",
            "peringkat",
            "sensitivitas"
        ]
    );
    let sheet = workbook.worksheet_range("visit-junrejo").unwrap();
    let find_row = |label: &str| {
        sheet
            .rows()
            .find(|row| row.first() == Some(&Data::String(label.into())))
            .unwrap_or_else(|| panic!("no row {label}"))
            .to_vec()
    };
    // Jurors are named as people read them: name (institution), never an id.
    assert_eq!(
        find_row("Anggota Tim Juri (Akademisi) (Akademisi)")[1],
        Data::Float(80.0),
        "scores are numbers"
    );
    assert_eq!(
        find_row("Anggota Tim Juri (Dinas Pendidikan) (Dinas Pendidikan Provinsi Jawa Timur)")[7],
        Data::Float(56.0)
    );
    assert!(
        sheet
            .rows()
            .all(|row| row.first() != Some(&Data::String("akademisi".into())))
    );
    assert_eq!(find_row("Agregat (mean)")[1], Data::Float(72.5));
    assert_eq!(find_row("Berbeda pendapat")[1], Data::String("ya".into()));
    assert_eq!(find_row("Nilai akhir")[1], Data::Float(75.5));
    let ranking_sheet = workbook.worksheet_range("peringkat").unwrap();
    assert!(ranking_sheet.rows().any(|r| r.get(1)
        == Some(&Data::String("Kecamatan Junrejo".into()))
        && r[0] == Data::Float(1.0)));

    let csv_dir = dir.join("csv");
    lead.ok(&[
        "report",
        "csv",
        "--plain",
        "--out",
        csv_dir.to_str().unwrap(),
    ]);
    let mut reader = csv::Reader::from_path(csv_dir.join("rekap-visit-junrejo.csv")).unwrap();
    assert_eq!(reader.headers().unwrap().get(1), Some("I1"));
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let aggregate = rows
        .iter()
        .find(|r| r.get(0) == Some("Agregat (mean)"))
        .unwrap();
    assert_eq!(aggregate.get(1).unwrap().parse::<f64>().unwrap(), 72.5);
    assert!(
        csv_dir.join("rekap-peringkat.csv").exists()
            && csv_dir.join("rekap-sensitivitas.csv").exists()
    );
}

#[test]
fn jurors_cannot_do_the_leads_work_and_the_lead_stays_blind_until_submitting() {
    let juror = Terminal::juror("akademisi");
    let (code, _) = juror.fails(&["merge"]);
    assert_eq!(code, "not_lead");
    let (code, _) = juror.fails(&["lock", VISIT]);
    assert_eq!(code, "not_lead");
    let lead = Terminal::juror("ketua");
    lead.ok(&["score", VISIT, "I1", "80"]);
    let (code, message) = lead.fails(&["ranking"]);
    assert_eq!(code, "blind_until_submitted");
    assert!(message.contains(VISIT), "{message}");
    let never = lead.dir.path().join("never.json");
    let (code, _) = lead.fails(&["sheet", "export", VISIT, "--out", never.to_str().unwrap()]);
    assert_eq!(code, "sheet_not_submitted");
}

#[test]
fn a_broken_sheet_file_is_refused_with_a_reason() {
    let lead = Terminal::juror("ketua");
    let broken = lead.file(
        "rusak.json",
        b"{\"format\": \"tinjau-sheet/1\", \"competition\": 3}",
    );
    let (code, message) = lead.fails(&["sheet", "import", broken.to_str().unwrap()]);
    assert_eq!(code, "invalid_sheet_file");
    assert!(message.contains("competition"), "{message}");
    let (code, _) = lead.fails(&["sheet", "import", "/nonexistent/lembar.json"]);
    assert_eq!(code, "io");
}

#[test]
fn after_a_tie_break_the_ranking_shows_the_decided_order() {
    // The lead alone scores both kecamatan the same: a tie.
    let lead = Terminal::juror("ketua");
    for visit in [VISIT, "visit-contoh-a"] {
        for indicator in INDICATORS {
            lead.ok(&["score", visit, indicator, "80"]);
        }
        lead.ok(&["submit", visit]);
    }
    let before = lead.ok(&["merge"]);
    assert!(
        before.contains("1= "),
        "an open tie shares its rank:\n{before}"
    );
    lead.ok(&[
        "tiebreak",
        "--order",
        "contoh-a,junrejo",
        "--reason",
        "Dampak inovasi lebih luas",
    ]);
    let after = lead.ok(&["merge"]);
    assert!(!after.contains("1= ") && !after.contains("2= "), "{after}");
    let first = after.find("1. ").expect("rank 1 is shown");
    let second = after.find("2. ").expect("rank 2 is shown");
    assert!(first < second, "{after}");
    assert!(after[first..second].contains("Contoh"), "{after}");
    let ranking = lead.ok(&["ranking"]);
    let contoh = ranking.lines().find(|l| l.contains("Contoh")).unwrap();
    let junrejo = ranking.lines().find(|l| l.contains("Junrejo")).unwrap();
    assert!(
        contoh.contains("1 (80.00)") && junrejo.contains("2 (80.00)"),
        "{ranking}"
    );
}
