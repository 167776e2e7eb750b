//! The report crate on synthetic data: names that look like typst code stay text, sheet names
//! stay valid and unique, and the PDF is deterministic.

use std::collections::BTreeMap;
use std::process::Command;

use calamine::{Reader, Xlsx};
use chrono::NaiveDate;
use tinjau_core::merge::{
    MergeIndicator, MergeInput, MergeParticipant, SheetScores, merge, sensitivity,
};
use tinjau_core::package::{Method, Role, Scale};
use tinjau_report::{
    InnovationTally, JuryMember, RecapVisit, VisitReport, berita_acara_pdf, recap_xlsx,
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
            jurors: vec!["A".into(), "B".into()],
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
