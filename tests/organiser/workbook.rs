//! The organiser's workbook: a package survives the round trip through XLSX unchanged, and a
//! workbook with mistakes is refused whole, every mistake named by sheet, row and column.

use rust_xlsxwriter::Workbook;
use tinjau_core::Package;
use tinjau_report::workbook::{from_xlsx, template, to_xlsx};

fn demo() -> Package {
    Package::parse(tinjau_tests::DEMO.as_bytes()).unwrap()
}

#[test]
fn the_demo_survives_the_round_trip_unchanged() {
    let package = demo();
    let back = from_xlsx(&to_xlsx(&package).unwrap()).unwrap();
    assert_eq!(back, package);
}

#[test]
fn the_template_reads_back_as_the_example_it_shows() {
    assert_eq!(from_xlsx(&template().unwrap()).unwrap(), demo());
}

/// Packages unlike the demo: decimals, no rubric, flagship innovations, several visits, every
/// method, a threshold or none, ids that look like numbers.
fn generated(seed: u64) -> Package {
    let mut package = demo();
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = |n: u64| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) % n
    };
    package.revision = 1 + next(50) as i64;
    package.competition.method = tinjau_core::package::Method::ALL[next(4) as usize];
    package.competition.disagreement_threshold = if next(2) == 0 { None } else { Some(7.5) };
    package.competition.stage = if next(2) == 0 {
        None
    } else {
        Some("Tahap 3".into())
    };
    for (i, indicator) in package.indicators.iter_mut().enumerate() {
        indicator.weight = 0.25 + next(400) as f64 / 4.0;
        if i % 2 == 1 {
            indicator.rubric.clear();
        }
    }
    for participant in &mut package.participants {
        participant.region = if next(2) == 0 {
            None
        } else {
            Some("Kab. Contoh".into())
        };
        participant.claimed_innovations = if next(3) == 0 {
            None
        } else {
            Some(next(90) as u32)
        };
        for innovation in &mut participant.innovations {
            innovation.flagship = next(2) == 0;
            if next(3) == 0 {
                innovation.summary.clear();
            }
        }
    }
    if next(2) == 0 {
        package.competition.id = "2023".into();
    }
    package
}

#[test]
fn generated_packages_survive_the_round_trip_unchanged() {
    for seed in 0..40 {
        let package = generated(seed);
        package.validate().unwrap();
        let back = from_xlsx(&to_xlsx(&package).unwrap()).unwrap_or_else(|e| panic!("{seed}: {e}"));
        assert_eq!(back, package, "seed {seed}");
    }
}

/// The demo's workbook with cells overwritten: (sheet, row, column, value) in Excel terms.
pub fn spoiled(edits: &[(&str, u32, u16, &str)]) -> Vec<u8> {
    // Rebuild the workbook from the demo's cells, then apply the edits.
    let original = to_xlsx(&demo()).unwrap();
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(original)).unwrap();
    use calamine::Reader;
    let mut out = Workbook::new();
    for name in book.sheet_names().to_owned() {
        let range = book.worksheet_range(&name).unwrap();
        let sheet = out.add_worksheet();
        sheet.set_name(&name).unwrap();
        for (row, cells) in range.rows().enumerate() {
            for (column, cell) in cells.iter().enumerate() {
                let (r, c) = (row as u32, column as u16);
                match cell {
                    calamine::Data::String(s) => {
                        sheet.write_string(r, c, s).unwrap();
                    }
                    calamine::Data::Float(f) => {
                        sheet.write_number(r, c, *f).unwrap();
                    }
                    _ => {}
                }
            }
        }
        for (sheet_name, row, column, value) in edits {
            if *sheet_name == name {
                sheet.write_string(row - 1, *column, *value).unwrap();
            }
        }
    }
    out.save_to_buffer().unwrap()
}

/// Ten mistakes across the sheets: (sheet, row, column, value) in Excel terms.
pub const TEN_MISTAKES: [(&str, u32, u16, &str); 10] = [
    ("Inovasi", 14, 2, "I9"),
    ("Inovasi", 3, 5, "mungkin"),
    ("Inovasi", 4, 0, "tidakada"),
    ("Indikator", 3, 2, "dua"),
    ("Indikator", 4, 1, " "),
    ("Rubrik", 2, 0, "I99"),
    ("Juri", 2, 3, "ketua umum"),
    ("Kunjungan", 2, 3, "ketua, siapa"),
    ("Kunjungan", 2, 1, "entah"),
    ("Klaim", 2, 2, "tiga"),
];

#[test]
fn ten_mistakes_are_all_named_by_sheet_row_and_column_in_indonesian() {
    let bytes = spoiled(&TEN_MISTAKES);
    let errors = from_xlsx(&bytes).unwrap_err();
    let text: Vec<String> = errors.0.iter().map(ToString::to_string).collect();
    for expected in [
        "Sheet Inovasi, baris 14, kolom C: indikator I9 tidak ada di sheet Indikator",
        "Sheet Inovasi, baris 3, kolom F: \"mungkin\" bukan ya atau tidak",
        "Sheet Inovasi, baris 4, kolom A: peserta tidakada tidak ada di sheet Peserta",
        "Sheet Indikator, baris 3, kolom C: bobot harus berupa angka, bukan \"dua\"",
        "Sheet Indikator, baris 4, kolom B: nama indikator tidak boleh kosong",
        "Sheet Rubrik, baris 2, kolom A: indikator I99 tidak ada di sheet Indikator",
        "Sheet Juri, baris 2, kolom D: peran \"ketua umum\" tidak dikenal: ketua atau anggota",
        "Sheet Kunjungan, baris 2, kolom D: juri siapa tidak ada di sheet Juri",
        "Sheet Kunjungan, baris 2, kolom B: peserta entah tidak ada di sheet Peserta",
        "Sheet Klaim, baris 2, kolom C: jumlah harus berupa angka, bukan \"tiga\"",
    ] {
        assert!(
            text.iter().any(|t| t == expected),
            "missing «{expected}» in {text:#?}"
        );
    }
    assert_eq!(text.len(), 10, "exactly the ten: {text:#?}");
}

#[test]
fn what_only_the_importer_knows_is_placed_too() {
    // Two leads on one visit: a rule across rows, found by the package's own validation.
    let bytes = spoiled(&[("Juri", 3, 3, "ketua")]);
    let errors = from_xlsx(&bytes).unwrap_err();
    let first = errors.0[0].to_string();
    assert!(
        first.starts_with("Sheet Kunjungan, baris 2, kolom D:"),
        "{errors}"
    );
}

#[test]
fn a_file_that_is_not_a_workbook_is_refused_in_words() {
    let errors = from_xlsx(b"not a zip at all").unwrap_err();
    assert!(
        errors.to_string().contains("bukan berkas Excel"),
        "{errors}"
    );
}

#[test]
fn hostile_cells_are_refused_in_words_and_never_bent_or_panic() {
    let long = "x".repeat(32_000); // Excel's limit for a cell is 32,767 characters
    let bytes = spoiled(&[
        ("Kompetisi", 2, 1, "1e300"),
        ("Indikator", 2, 2, "1e999"),
        ("Klaim", 2, 2, "-3"),
        ("Peserta", 2, 3, "4.5"),
        ("Kunjungan", 2, 2, "28/11/2023"),
        ("Juri", 2, 0, &long),
        ("Inovasi", 2, 1, "dua kata"),
    ]);
    let errors = from_xlsx(&bytes).unwrap_err();
    let text = errors.to_string();
    for expected in [
        "Sheet Kompetisi, baris 2, kolom B: revisi harus bilangan bulat",
        "Sheet Indikator, baris 2, kolom C: bobot harus berupa angka",
        "Sheet Klaim, baris 2, kolom C: jumlah harus bilangan bulat",
        "Sheet Peserta, baris 2, kolom D: klaim inovasi harus bilangan bulat",
    ] {
        assert!(text.contains(expected), "missing «{expected}» in {text}");
    }
    // A zip that is not a workbook.
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("hello.txt", zip::write::SimpleFileOptions::default())
        .unwrap();
    std::io::Write::write_all(&mut zip, b"hello").unwrap();
    let not_a_workbook = zip.finish().unwrap().into_inner();
    assert!(
        from_xlsx(&not_a_workbook)
            .unwrap_err()
            .to_string()
            .contains("bukan berkas Excel")
    );
}
