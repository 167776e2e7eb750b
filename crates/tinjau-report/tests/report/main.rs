//! The report crate on synthetic data: names that look like typst code stay text, sheet names
//! stay valid and unique, and the PDF is deterministic.

use std::collections::BTreeMap;
use std::process::Command;

use calamine::{Reader, Xlsx};

mod slips;
use chrono::NaiveDate;
use tinjau_core::merge::{
    MergeIndicator, MergeInput, MergeParticipant, SheetScores, merge, sensitivity,
};
use tinjau_core::package::{Method, Role, Scale};
use tinjau_core::report::RecapJuror;
use tinjau_report::{
    CsvStyle, InnovationTally, JuryMember, RecapVisit, VisitReport, berita_acara_pdf, recap_csv,
    recap_xlsx,
};

const HOSTILE: &str = "Kec. #panic(\"boom\") *tebal* $x$ [link] _miring_ \\ @ref <label>";

fn input() -> MergeInput {
    let sheets = ["A", "B"]
        .iter()
        .flat_map(|j| {
            ["p1", "p2"].iter().map(move |p| SheetScores {
                juror: j.to_string(),
                participant: p.to_string(),
                submitted: true,
                scores: BTreeMap::from([("k1".to_string(), if *p == "p1" { 80.0 } else { 60.0 })]),
            })
        })
        .collect();
    MergeInput {
        scale: Scale {
            min: 0.0,
            max: 100.0,
        },
        disagreement_threshold: 20.0,
        indicators: vec![MergeIndicator {
            id: "k1".into(),
            name: "Indikator #1 *".into(),
            weight: 1.0,
        }],
        participants: vec![
            MergeParticipant {
                id: "p1".into(),
                name: HOSTILE.into(),
            },
            MergeParticipant {
                id: "p2".into(),
                name: "Kecamatan Dua".into(),
            },
        ],
        sheets,
        conflicts: vec![],
        tie_breaks: vec![],
    }
}

fn report() -> VisitReport {
    let result = merge(&input(), Method::Mean);
    VisitReport {
        competition: "Lomba #uji".into(),
        stage: None,
        participant: HOSTILE.into(),
        region: None,
        visit_id: "v1".into(),
        date: NaiveDate::from_ymd_opt(2023, 11, 28).unwrap(),
        jury: vec![JuryMember {
            id: "ketua".into(),
            name: "Ketua $juri$".into(),
            institution: "Setda".into(),
            role: Role::Lead,
        }],
        method: Method::Mean,
        scale: Scale {
            min: 0.0,
            max: 100.0,
        },
        disagreement_threshold: 20.0,
        indicators: vec![("k1".into(), "Indikator #1 *".into(), 1.0)],
        result: result.participant("p1").unwrap().clone(),
        ranked: 2,
        innovations: InnovationTally {
            listed: 3,
            found: 1,
            partial: 1,
            not_found: 1,
            ..InnovationTally::default()
        },
        lead_notes: BTreeMap::from([("k1".into(), "Catatan #set text(red)".into())]),
        lock_hash: None,
        bundle_hash: None,
    }
}

#[test]
fn names_that_look_like_typst_code_are_printed_literally() {
    let today = NaiveDate::from_ymd_opt(2023, 11, 29).unwrap();
    let pdf = berita_acara_pdf(&report(), today).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ba.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let output = Command::new("pdftotext")
        .args([path.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (poppler-utils) is needed: scripts/system-deps.sh test installs it");
    let text = String::from_utf8(output.stdout)
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for literal in [
        "#panic(\"boom\")",
        "*tebal*",
        "$x$",
        "Ketua $juri$",
        "Catatan #set text(red)",
        "belum dikunci",
    ] {
        assert!(text.contains(literal), "{literal:?} missing from:\n{text}");
    }
    // The same inputs give the same bytes.
    assert_eq!(berita_acara_pdf(&report(), today).unwrap(), pdf);
}

#[test]
fn long_or_odd_visit_ids_become_valid_unique_sheet_names() {
    let input = input();
    let (results, table) = sensitivity(&input);
    let long = "kunjungan-kecamatan-dengan-nama-yang-sangat-panjang";
    let visits: Vec<RecapVisit> = [format!("{long}-1"), format!("{long}-2"), "a/b:c*d?".into()]
        .into_iter()
        .zip(["p1", "p2", "p1"])
        .map(|(visit_id, participant)| RecapVisit {
            visit_id,
            participant_id: participant.into(),
            date: NaiveDate::from_ymd_opt(2023, 11, 28).unwrap(),
            jurors: jurors(),
        })
        .collect();
    let bytes = recap_xlsx("Lomba", &visits, &results, Method::Mean, &table).unwrap();
    let mut workbook = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    let names = workbook.sheet_names();
    assert_eq!(names.len(), 5);
    assert!(names.iter().all(|n| n.chars().count() <= 31), "{names:?}");
    assert_eq!(names[2], "a-b-c-d-");
    assert_ne!(names[0], names[1]);
    assert!(workbook.worksheet_range(&names[0]).is_ok());
}

fn jurors() -> Vec<RecapJuror> {
    [
        ("A", "Dr. Ani (Universitas Brawijaya)"),
        ("B", "Budi (Dinas Pendidikan)"),
    ]
    .into_iter()
    .map(|(id, label)| RecapJuror {
        id: id.into(),
        label: label.into(),
    })
    .collect()
}

fn one_visit() -> Vec<RecapVisit> {
    vec![RecapVisit {
        visit_id: "visit-p1".into(),
        participant_id: "p1".into(),
        date: NaiveDate::from_ymd_opt(2023, 11, 28).unwrap(),
        jurors: jurors(),
    }]
}

#[test]
fn the_rekap_names_jurors_and_shows_ranks_counts_and_weights_as_whole_numbers() {
    let (results, table) = sensitivity(&input());
    let bytes = recap_xlsx("Lomba", &one_visit(), &results, Method::Mean, &table).unwrap();
    let mut workbook = Xlsx::new(std::io::Cursor::new(bytes.clone())).unwrap();
    let sheet = workbook.worksheet_range("visit-p1").unwrap();
    let first_column: Vec<String> = sheet.rows().map(|r| r[0].to_string()).collect();
    assert!(
        first_column.contains(&"Dr. Ani (Universitas Brawijaya)".to_string()),
        "{first_column:?}"
    );
    assert!(
        !first_column.contains(&"A".to_string()),
        "no juror ids: {first_column:?}"
    );
    assert!(
        first_column.iter().any(|c| c.contains("seluruh kompetisi")),
        "the alpha row says it is competition-wide"
    );
    // Ranks, counts and whole weights carry the integer format "0" (built-in number format
    // 1); scores "0.00".
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut styles = String::new();
    std::io::Read::read_to_string(&mut archive.by_name("xl/styles.xml").unwrap(), &mut styles)
        .unwrap();
    let cell_formats: Vec<&str> = styles
        .split("<cellXfs")
        .nth(1)
        .unwrap()
        .split("<xf ")
        .skip(1)
        .collect();
    let integer_style = cell_formats
        .iter()
        .position(|xf| xf.contains("numFmtId=\"1\""))
        .expect("an integer cell format");
    let mut sheet_xml = String::new();
    std::io::Read::read_to_string(
        &mut archive.by_name("xl/worksheets/sheet1.xml").unwrap(),
        &mut sheet_xml,
    )
    .unwrap();
    let rows: Vec<&str> = sheet_xml.split("<row ").skip(1).collect();
    let row_of = |label: &str| {
        let index = first_column.iter().position(|c| c == label).unwrap();
        rows.iter()
            .find(|r| r.starts_with(&format!("r=\"{}\"", index + 1)))
            .copied()
            .unwrap()
    };
    for label in ["Jumlah juri (n)", "Bobot", "Peringkat"] {
        assert!(
            row_of(label).contains(&format!("s=\"{integer_style}\"")),
            "{label} is written as a whole number"
        );
    }
}

#[test]
fn csv_opens_in_excel_set_to_indonesian_and_plain_stays_for_programs() {
    let (results, table) = sensitivity(&input());
    let files = recap_csv(
        &one_visit(),
        &results,
        Method::Mean,
        &table,
        CsvStyle::Indonesian,
    )
    .unwrap();
    let (_, visit) = files
        .iter()
        .find(|(n, _)| n == "rekap-visit-p1.csv")
        .unwrap();
    assert!(
        visit.starts_with(b"\xEF\xBB\xBF"),
        "a UTF-8 byte-order mark"
    );
    let text = String::from_utf8(visit[3..].to_vec()).unwrap();
    let header = text.lines().next().unwrap();
    assert!(header.starts_with("Juri;"), "{header}");
    let ani = text.lines().find(|l| l.starts_with("Dr. Ani")).unwrap();
    assert!(ani.contains(";80;") || ani.contains(";80"), "{ani}");
    let plain = recap_csv(
        &one_visit(),
        &results,
        Method::Mean,
        &table,
        CsvStyle::Plain,
    )
    .unwrap();
    let (_, visit) = plain
        .iter()
        .find(|(n, _)| n == "rekap-visit-p1.csv")
        .unwrap();
    assert!(visit.starts_with(b"Juri,"));
    // A decimal: the comma style writes 72,5 where the plain one writes 72.5.
    let input = {
        let mut input = input();
        input.sheets[0].scores.insert("k1".into(), 72.5);
        input
    };
    let (results, table) = sensitivity(&input);
    for (style, expected) in [(CsvStyle::Indonesian, ";72,5"), (CsvStyle::Plain, ",72.5")] {
        let files = recap_csv(&one_visit(), &results, Method::Mean, &table, style).unwrap();
        let (_, bytes) = files
            .iter()
            .find(|(n, _)| n == "rekap-visit-p1.csv")
            .unwrap();
        let text = String::from_utf8_lossy(bytes);
        assert!(text.contains(expected), "{style:?}: {text}");
    }
}

#[test]
fn signatures_never_stand_on_a_page_away_from_what_they_sign() {
    let today = NaiveDate::from_ymd_opt(2023, 11, 29).unwrap();
    let jury: Vec<JuryMember> = (1..=7)
        .map(|i| JuryMember {
            id: format!("juri-{i}"),
            name: format!("Penandatangan Nomor{i}"),
            institution: "Instansi".into(),
            role: if i == 1 { Role::Lead } else { Role::Juror },
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    // Notes of growing length move the end of the document over every page position.
    for lines in (0..60).step_by(5) {
        let mut report = report();
        report.jury = jury.clone();
        report.lead_notes = BTreeMap::from([(
            "k1".into(),
            "Catatan panjang ketua tim juri tentang indikator ini. ".repeat(lines * 2),
        )]);
        let pdf = berita_acara_pdf(&report, today).unwrap();
        let path = dir.path().join(format!("ba-{lines}.pdf"));
        std::fs::write(&path, &pdf).unwrap();
        let output = Command::new("pdftotext")
            .args(["-layout", path.to_str().unwrap(), "-"])
            .output()
            .expect("pdftotext (poppler-utils) is needed");
        let text = String::from_utf8(output.stdout).unwrap();
        let pages: Vec<&str> = text.split('\u{c}').collect();
        let closing = pages
            .iter()
            .position(|p| p.contains("Demikian berita acara"))
            .expect("the closing sentence");
        for member in &jury {
            // The name is also in the jury list at the top: the signature is its last place.
            let page = pages
                .iter()
                .rposition(|p| p.contains(&member.name))
                .expect("every signature");
            assert_eq!(
                page,
                closing,
                "{lines} note lines: {}'s signature is on page {} but the closing sentence on page {}",
                member.name,
                page + 1,
                closing + 1
            );
        }
        assert!(
            pages[closing].contains("Penguncian Hasil"),
            "{lines} note lines: the lock section stays with the signatures"
        );
    }
}
