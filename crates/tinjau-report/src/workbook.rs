//! The competition workbook: the organiser's side of the package format, as an XLSX file with
//! one sheet per list, Indonesian headers and a note on each. `to_xlsx` writes a package,
//! `template` the same with the SKK Jawa Timur 2023 example, and `from_xlsx` reads one back —
//! all or nothing, every problem named by sheet, row and column in Indonesian, then the same
//! validation as the JSON importer. A package survives the round trip unchanged.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::io::Cursor;

use calamine::{Data, Range, Reader, Xlsx};
use rust_xlsxwriter::{Format, Note, Workbook, Worksheet};
use tinjau_core::Package;
use tinjau_core::package::{
    Competition, FORMAT, Indicator, Innovation, Juror, Method, Participant, Role, RubricBand,
    Scale, Visit,
};

use crate::ReportError;

/// One problem in a workbook, where the organiser will find it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkbookProblem {
    pub sheet: String,
    /// 1-based, as Excel shows it.
    pub row: Option<u32>,
    /// A, B, C, …
    pub column: Option<String>,
    pub problem: String,
}

impl fmt::Display for WorkbookProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sheet {}", self.sheet)?;
        if let Some(row) = self.row {
            write!(f, ", baris {row}")?;
        }
        if let Some(column) = &self.column {
            write!(f, ", kolom {column}")?;
        }
        write!(f, ": {}", self.problem)
    }
}

/// Every problem found; never empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct WorkbookErrors(pub Vec<WorkbookProblem>);

impl fmt::Display for WorkbookErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "berkas kompetisi tidak sah ({} masalah):", self.0.len())?;
        for problem in &self.0 {
            writeln!(f, "  - {problem}")?;
        }
        Ok(())
    }
}

struct Sheet {
    name: &'static str,
    note: &'static str,
    columns: &'static [(&'static str, &'static str)],
}

const KOMPETISI: Sheet = Sheet {
    name: "Kompetisi",
    note: "Satu baris per isian. Kolom A nama isian (jangan diubah), kolom B isinya.",
    columns: &[
        ("Isian", "Nama isian; jangan diubah."),
        ("Isi", "Isi untuk isian ini."),
    ],
};
const INDIKATOR: Sheet = Sheet {
    name: "Indikator",
    note: "Satu baris per indikator penilaian.",
    columns: &[
        (
            "ID",
            "Kode indikator, misalnya I1: huruf, angka, titik, garis bawah atau tanda minus; unik.",
        ),
        ("Nama", "Nama indikator."),
        (
            "Bobot",
            "Bobot indikator, lebih dari 0 (tidak harus berjumlah 100).",
        ),
    ],
};
const RUBRIK: Sheet = Sheet {
    name: "Rubrik",
    note: "Pita nilai tiap indikator (boleh kosong). Pita tidak boleh tumpang tindih.",
    columns: &[
        ("Indikator", "ID indikator dari sheet Indikator."),
        ("Dari", "Nilai terendah pita."),
        ("Sampai", "Nilai tertinggi pita."),
        ("Label", "Nama pita, misalnya Baik."),
    ],
};
const PESERTA: Sheet = Sheet {
    name: "Peserta",
    note: "Satu baris per peserta (kecamatan finalis).",
    columns: &[
        ("ID", "Kode peserta, unik, misalnya junrejo."),
        ("Nama", "Nama peserta, misalnya Kecamatan Junrejo."),
        ("Wilayah", "Kabupaten/kota (boleh kosong)."),
        (
            "Klaim inovasi",
            "Jumlah inovasi yang diklaim dalam paparan (boleh kosong).",
        ),
    ],
};
const KLAIM: Sheet = Sheet {
    name: "Klaim",
    note: "Jumlah inovasi yang diklaim peserta per indikator (boleh kosong).",
    columns: &[
        ("Peserta", "ID peserta dari sheet Peserta."),
        ("Indikator", "ID indikator dari sheet Indikator."),
        ("Jumlah", "Jumlah inovasi yang diklaim."),
    ],
};
const INOVASI: Sheet = Sheet {
    name: "Inovasi",
    note: "Satu baris per inovasi yang dipaparkan peserta.",
    columns: &[
        ("Peserta", "ID peserta dari sheet Peserta."),
        ("ID", "Kode inovasi, unik untuk peserta itu."),
        ("Indikator", "ID indikator tempat inovasi diklaim."),
        ("Nama", "Nama inovasi."),
        ("Ringkasan", "Ringkasan singkat (boleh kosong)."),
        ("Unggulan", "ya atau tidak."),
    ],
};
const JURI: Sheet = Sheet {
    name: "Juri",
    note: "Satu baris per anggota tim juri.",
    columns: &[
        ("ID", "Kode juri, unik, misalnya akademisi."),
        ("Nama", "Nama juri."),
        ("Instansi", "Instansi asal (boleh kosong)."),
        ("Peran", "ketua atau anggota."),
    ],
};
const KUNJUNGAN: Sheet = Sheet {
    name: "Kunjungan",
    note: "Satu baris per kunjungan lapangan.",
    columns: &[
        ("ID", "Kode kunjungan, unik, misalnya visit-junrejo."),
        ("Peserta", "ID peserta yang dikunjungi."),
        (
            "Tanggal",
            "Tanggal kunjungan, TTTT-BB-HH (misalnya 2023-11-28).",
        ),
        (
            "Juri",
            "ID juri tim kunjungan, dipisah koma; tepat satu ketua.",
        ),
    ],
};

const SHEETS: [&Sheet; 8] = [
    &KOMPETISI, &INDIKATOR, &RUBRIK, &PESERTA, &KLAIM, &INOVASI, &JURI, &KUNJUNGAN,
];

/// The fields of the Kompetisi sheet, in order.
const FIELDS: [&str; 8] = [
    "revisi",
    "id",
    "nama",
    "tahap",
    "skala minimum",
    "skala maksimum",
    "metode",
    "ambang perbedaan",
];

fn method_word(method: Method) -> &'static str {
    match method {
        Method::Mean => "rata-rata",
        Method::Median => "median",
        Method::Trimmed => "terpangkas",
        Method::Zscore => "skor-z",
    }
}

fn method_of(word: &str) -> Option<Method> {
    match word.trim().to_lowercase().as_str() {
        "rata-rata" | "mean" => Some(Method::Mean),
        "median" => Some(Method::Median),
        "terpangkas" | "trimmed" => Some(Method::Trimmed),
        "skor-z" | "zscore" => Some(Method::Zscore),
        _ => None,
    }
}

fn xlsx_error(e: rust_xlsxwriter::XlsxError) -> ReportError {
    ReportError::Spreadsheet(e.to_string())
}

fn header(sheet: &mut Worksheet, spec: &Sheet) -> Result<(), ReportError> {
    let bold = Format::new().set_bold();
    for (column, (title, note)) in spec.columns.iter().enumerate() {
        let column = column as u16;
        // The sheet's own note leads the first column's.
        let note = if column == 0 {
            format!("{}\n\n{note}", spec.note)
        } else {
            (*note).to_string()
        };
        sheet
            .write_string_with_format(0, column, *title, &bold)
            .map_err(xlsx_error)?;
        sheet
            .insert_note(0, column, &Note::new(note).set_author("Tinjau"))
            .map_err(xlsx_error)?;
        sheet.set_column_width(column, 22).map_err(xlsx_error)?;
    }
    sheet.set_freeze_panes(1, 0).map_err(xlsx_error)?;
    Ok(())
}

/// A package as the organiser's workbook.
pub fn to_xlsx(package: &Package) -> Result<Vec<u8>, ReportError> {
    let mut book = Workbook::new();
    let mut sheets: Vec<Worksheet> = Vec::new();
    for spec in SHEETS {
        let mut sheet = Worksheet::new();
        sheet.set_name(spec.name).map_err(xlsx_error)?;
        header(&mut sheet, spec)?;
        sheets.push(sheet);
    }
    let c = &package.competition;
    {
        let s = &mut sheets[0];
        let text = |s: &mut Worksheet, row: u32, value: &str| {
            s.write_string(row, 1, value).map(drop).map_err(xlsx_error)
        };
        for (row, field) in FIELDS.iter().enumerate() {
            s.write_string(row as u32 + 1, 0, *field)
                .map_err(xlsx_error)?;
        }
        s.write_number(1, 1, package.revision as f64)
            .map_err(xlsx_error)?;
        text(s, 2, &c.id)?;
        text(s, 3, &c.name)?;
        if let Some(stage) = &c.stage {
            text(s, 4, stage)?;
        }
        s.write_number(5, 1, c.scale.min).map_err(xlsx_error)?;
        s.write_number(6, 1, c.scale.max).map_err(xlsx_error)?;
        text(s, 7, method_word(c.method))?;
        if let Some(threshold) = c.disagreement_threshold {
            s.write_number(8, 1, threshold).map_err(xlsx_error)?;
        }
    }
    let mut rubric_row = 1;
    for (i, indicator) in package.indicators.iter().enumerate() {
        let row = i as u32 + 1;
        let s = &mut sheets[1];
        s.write_string(row, 0, &indicator.id).map_err(xlsx_error)?;
        s.write_string(row, 1, &indicator.name)
            .map_err(xlsx_error)?;
        s.write_number(row, 2, indicator.weight)
            .map_err(xlsx_error)?;
        for band in &indicator.rubric {
            let s = &mut sheets[2];
            s.write_string(rubric_row, 0, &indicator.id)
                .map_err(xlsx_error)?;
            s.write_number(rubric_row, 1, band.from)
                .map_err(xlsx_error)?;
            s.write_number(rubric_row, 2, band.to).map_err(xlsx_error)?;
            s.write_string(rubric_row, 3, &band.label)
                .map_err(xlsx_error)?;
            rubric_row += 1;
        }
    }
    let (mut claim_row, mut innovation_row) = (1, 1);
    for (p, participant) in package.participants.iter().enumerate() {
        let row = p as u32 + 1;
        let s = &mut sheets[3];
        s.write_string(row, 0, &participant.id)
            .map_err(xlsx_error)?;
        s.write_string(row, 1, &participant.name)
            .map_err(xlsx_error)?;
        if let Some(region) = &participant.region {
            s.write_string(row, 2, region).map_err(xlsx_error)?;
        }
        if let Some(claimed) = participant.claimed_innovations {
            s.write_number(row, 3, f64::from(claimed))
                .map_err(xlsx_error)?;
        }
        for (indicator, count) in &participant.claimed_by_indicator {
            let s = &mut sheets[4];
            s.write_string(claim_row, 0, &participant.id)
                .map_err(xlsx_error)?;
            s.write_string(claim_row, 1, indicator)
                .map_err(xlsx_error)?;
            s.write_number(claim_row, 2, f64::from(*count))
                .map_err(xlsx_error)?;
            claim_row += 1;
        }
        for innovation in &participant.innovations {
            let s = &mut sheets[5];
            let r = innovation_row;
            s.write_string(r, 0, &participant.id).map_err(xlsx_error)?;
            s.write_string(r, 1, &innovation.id).map_err(xlsx_error)?;
            s.write_string(r, 2, &innovation.indicator)
                .map_err(xlsx_error)?;
            s.write_string(r, 3, &innovation.name).map_err(xlsx_error)?;
            if !innovation.summary.is_empty() {
                s.write_string(r, 4, &innovation.summary)
                    .map_err(xlsx_error)?;
            }
            s.write_string(r, 5, if innovation.flagship { "ya" } else { "tidak" })
                .map_err(xlsx_error)?;
            innovation_row += 1;
        }
    }
    for (j, juror) in package.jurors.iter().enumerate() {
        let row = j as u32 + 1;
        let s = &mut sheets[6];
        s.write_string(row, 0, &juror.id).map_err(xlsx_error)?;
        s.write_string(row, 1, &juror.name).map_err(xlsx_error)?;
        if !juror.institution.is_empty() {
            s.write_string(row, 2, &juror.institution)
                .map_err(xlsx_error)?;
        }
        let role = match juror.role {
            Role::Lead => "ketua",
            Role::Juror => "anggota",
        };
        s.write_string(row, 3, role).map_err(xlsx_error)?;
    }
    for (v, visit) in package.visits.iter().enumerate() {
        let row = v as u32 + 1;
        let s = &mut sheets[7];
        s.write_string(row, 0, &visit.id).map_err(xlsx_error)?;
        s.write_string(row, 1, &visit.participant)
            .map_err(xlsx_error)?;
        s.write_string(row, 2, &visit.date).map_err(xlsx_error)?;
        s.write_string(row, 3, visit.jurors.join(", "))
            .map_err(xlsx_error)?;
    }
    for sheet in sheets {
        book.push_worksheet(sheet);
    }
    book.save_to_buffer().map_err(xlsx_error)
}

/// The template an organiser fills in: every sheet with its notes, and the SKK Jawa Timur 2023
/// example in the rows (replace them).
pub fn template() -> Result<Vec<u8>, ReportError> {
    let example = Package::parse(include_bytes!("../../../assets/skk-jatim-2023.json"))
        .map_err(|e| ReportError::Spreadsheet(e.to_string()))?;
    to_xlsx(&example)
}

fn column_letter(index: usize) -> String {
    let mut n = index + 1;
    let mut letters = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.push(b'A' + rem as u8);
        n = (n - 1) / 26;
    }
    letters.reverse();
    String::from_utf8(letters).unwrap_or_default()
}

/// Reads cells of one sheet, collecting problems where they are.
struct Reading<'a> {
    sheet: &'static str,
    problems: &'a mut Vec<WorkbookProblem>,
}

impl Reading<'_> {
    fn problem(&mut self, row: u32, column: usize, problem: String) {
        self.problems.push(WorkbookProblem {
            sheet: self.sheet.into(),
            row: Some(row),
            column: Some(column_letter(column)),
            problem,
        });
    }

    /// Text, or `None` for an empty cell; a number is taken as its digits (an id `2023`).
    fn text(&mut self, cells: &[Data], row: u32, column: usize) -> Option<String> {
        match cells.get(column).unwrap_or(&Data::Empty) {
            Data::Empty => None,
            Data::String(s) if s.trim().is_empty() => None,
            Data::String(s) => Some(s.trim().to_string()),
            Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => Some(format!("{}", *f as i64)),
            Data::Float(f) => Some(f.to_string()),
            Data::Int(i) => Some(i.to_string()),
            Data::Bool(b) => Some(if *b { "ya" } else { "tidak" }.to_string()),
            other => {
                self.problem(row, column, format!("isi \"{other}\" tidak dapat dibaca"));
                None
            }
        }
    }

    fn required_text(&mut self, cells: &[Data], row: u32, column: usize, what: &str) -> String {
        self.text(cells, row, column).unwrap_or_else(|| {
            self.problem(row, column, format!("{what} tidak boleh kosong"));
            String::new()
        })
    }

    fn number(&mut self, cells: &[Data], row: u32, column: usize, what: &str) -> Option<f64> {
        match cells.get(column).unwrap_or(&Data::Empty) {
            Data::Empty => None,
            Data::Float(f) => Some(*f),
            Data::Int(i) => Some(*i as f64),
            Data::String(s) if s.trim().is_empty() => None,
            Data::String(s) => match s.trim().replace(',', ".").parse::<f64>() {
                Ok(v) if v.is_finite() => Some(v),
                _ => {
                    self.problem(
                        row,
                        column,
                        format!("{what} harus berupa angka, bukan \"{s}\""),
                    );
                    None
                }
            },
            other => {
                self.problem(
                    row,
                    column,
                    format!("{what} harus berupa angka, bukan \"{other}\""),
                );
                None
            }
        }
    }

    fn required_number(&mut self, cells: &[Data], row: u32, column: usize, what: &str) -> f64 {
        self.number(cells, row, column, what).unwrap_or_else(|| {
            if matches!(cells.get(column), None | Some(Data::Empty)) {
                self.problem(row, column, format!("{what} tidak boleh kosong"));
            }
            0.0
        })
    }

    fn count(&mut self, cells: &[Data], row: u32, column: usize, what: &str) -> Option<u32> {
        let value = self.number(cells, row, column, what)?;
        if value.fract() != 0.0 || !(0.0..=f64::from(u32::MAX)).contains(&value) {
            self.problem(
                row,
                column,
                format!("{what} harus bilangan bulat 0 atau lebih, bukan {value}"),
            );
            return None;
        }
        Some(value as u32)
    }

    fn date(&mut self, cells: &[Data], row: u32, column: usize) -> String {
        match cells.get(column).unwrap_or(&Data::Empty) {
            // A date Excel recognised: days since 1899-12-30.
            Data::DateTime(d) => {
                let base = chrono::NaiveDate::from_ymd_opt(1899, 12, 30).expect("a date");
                base.checked_add_days(chrono::Days::new(d.as_f64().max(0.0) as u64))
                    .map(|d| d.format("%Y-%m-%d").to_string())
                    .unwrap_or_default()
            }
            _ => self.required_text(cells, row, column, "tanggal"),
        }
    }
}

/// Data rows of a sheet (after its header): (Excel row number, cells).
fn rows(range: &Range<Data>) -> Vec<(u32, Vec<Data>)> {
    let (start_row, start_col) = range.start().unwrap_or((0, 0));
    range
        .rows()
        .enumerate()
        .map(|(i, cells)| {
            let mut full = vec![Data::Empty; start_col as usize];
            full.extend(cells.iter().cloned());
            (start_row + i as u32 + 1, full)
        })
        .filter(|(row, cells)| *row > 1 && cells.iter().any(|c| !matches!(c, Data::Empty)))
        .collect()
}

/// Reads a workbook into a package: all or nothing.
pub fn from_xlsx(bytes: &[u8]) -> Result<Package, WorkbookErrors> {
    let whole = |problem: String| {
        WorkbookErrors(vec![WorkbookProblem {
            sheet: "-".into(),
            row: None,
            column: None,
            problem,
        }])
    };
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).map_err(|e| {
        whole(format!(
            "berkas ini bukan berkas Excel (.xlsx) yang utuh: {e}"
        ))
    })?;
    let mut problems = Vec::new();
    let mut ranges = HashMap::new();
    for spec in SHEETS {
        match book.worksheet_range(spec.name) {
            Ok(range) => {
                ranges.insert(spec.name, range);
            }
            Err(_) => problems.push(WorkbookProblem {
                sheet: spec.name.into(),
                row: None,
                column: None,
                problem:
                    "sheet ini tidak ada; gunakan template dari `tinjau-server package template`"
                        .into(),
            }),
        }
    }
    if !problems.is_empty() {
        return Err(WorkbookErrors(problems));
    }
    // Where each field of the package came from, to place the importer's own findings.
    let mut places: BTreeMap<String, (&'static str, u32, usize)> = BTreeMap::new();

    // Kompetisi.
    let mut fields: HashMap<String, (u32, Vec<Data>)> = HashMap::new();
    {
        let mut r = Reading {
            sheet: KOMPETISI.name,
            problems: &mut problems,
        };
        for (row, cells) in rows(&ranges[KOMPETISI.name]) {
            let Some(field) = r.text(&cells, row, 0) else {
                continue;
            };
            let key = field.to_lowercase();
            if !FIELDS.contains(&key.as_str()) {
                r.problem(row, 0, format!("isian \"{field}\" tidak dikenal"));
                continue;
            }
            fields.insert(key, (row, cells));
        }
    }
    let mut r = Reading {
        sheet: KOMPETISI.name,
        problems: &mut problems,
    };
    let field_text = |r: &mut Reading, key: &str| -> Option<String> {
        let (row, cells) = fields.get(key)?;
        r.text(cells, *row, 1)
    };
    // A whole number, never one bent to fit (1e300 is not revision 9223372036854775807).
    let revision = match fields.get("revisi") {
        Some((row, cells)) => r.count(cells, *row, 1, "revisi").map_or(0, i64::from),
        None => 0,
    };
    let number_field = |r: &mut Reading, key: &str, what: &str| -> Option<f64> {
        let (row, cells) = fields.get(key)?;
        r.number(cells, *row, 1, what)
    };
    let scale_min = number_field(&mut r, "skala minimum", "skala minimum").unwrap_or(0.0);
    let scale_max = number_field(&mut r, "skala maksimum", "skala maksimum").unwrap_or(100.0);
    let threshold = number_field(&mut r, "ambang perbedaan", "ambang perbedaan");
    let method = match field_text(&mut r, "metode") {
        None => Method::default(),
        Some(word) => method_of(&word).unwrap_or_else(|| {
            let row = fields["metode"].0;
            r.problem(
                row,
                1,
                format!(
                    "metode \"{word}\" tidak dikenal: rata-rata, median, terpangkas, atau skor-z"
                ),
            );
            Method::default()
        }),
    };
    let competition = Competition {
        id: field_text(&mut r, "id").unwrap_or_default(),
        name: field_text(&mut r, "nama").unwrap_or_default(),
        stage: field_text(&mut r, "tahap"),
        scale: Scale {
            min: scale_min,
            max: scale_max,
        },
        method,
        disagreement_threshold: threshold,
    };
    for (key, path) in [
        ("revisi", "revision"),
        ("id", "competition.id"),
        ("nama", "competition.name"),
        ("skala minimum", "competition.scale"),
        ("ambang perbedaan", "competition.disagreement_threshold"),
    ] {
        if let Some((row, _)) = fields.get(key) {
            places.insert(path.into(), (KOMPETISI.name, *row, 1));
        }
    }
    for key in ["id", "nama"] {
        if field_text(&mut r, key).is_none() {
            r.problems.push(WorkbookProblem {
                sheet: KOMPETISI.name.into(),
                row: fields.get(key).map(|(row, _)| *row),
                column: Some("B".into()),
                problem: format!("isian \"{key}\" tidak boleh kosong"),
            });
        }
    }

    // Indikator and Rubrik.
    let mut indicators: Vec<Indicator> = Vec::new();
    let mut r = Reading {
        sheet: INDIKATOR.name,
        problems: &mut problems,
    };
    for (row, cells) in rows(&ranges[INDIKATOR.name]) {
        let i = indicators.len();
        places.insert(format!("indicators[{i}].id"), (INDIKATOR.name, row, 0));
        places.insert(format!("indicators[{i}].name"), (INDIKATOR.name, row, 1));
        places.insert(format!("indicators[{i}].weight"), (INDIKATOR.name, row, 2));
        places.insert(format!("indicators[{i}]"), (INDIKATOR.name, row, 0));
        indicators.push(Indicator {
            id: r.required_text(&cells, row, 0, "ID indikator"),
            name: r.required_text(&cells, row, 1, "nama indikator"),
            weight: r.required_number(&cells, row, 2, "bobot"),
            rubric: Vec::new(),
        });
    }
    let indicator_ids: HashSet<String> = indicators.iter().map(|i| i.id.clone()).collect();
    let mut r = Reading {
        sheet: RUBRIK.name,
        problems: &mut problems,
    };
    for (row, cells) in rows(&ranges[RUBRIK.name]) {
        let id = r.required_text(&cells, row, 0, "indikator");
        let band = RubricBand {
            from: r.required_number(&cells, row, 1, "nilai \"dari\""),
            to: r.required_number(&cells, row, 2, "nilai \"sampai\""),
            label: r.required_text(&cells, row, 3, "label"),
        };
        match indicators.iter().position(|i| i.id == id) {
            Some(i) => {
                let b = indicators[i].rubric.len();
                places.insert(
                    format!("indicators[{i}].rubric[{b}]"),
                    (RUBRIK.name, row, 1),
                );
                places.insert(
                    format!("indicators[{i}].rubric[{b}].label"),
                    (RUBRIK.name, row, 3),
                );
                indicators[i].rubric.push(band);
            }
            None if id.is_empty() => {}
            None => r.problem(
                row,
                0,
                format!("indikator {id} tidak ada di sheet Indikator"),
            ),
        }
    }

    // Peserta, Klaim, Inovasi.
    let mut participants: Vec<Participant> = Vec::new();
    let mut r = Reading {
        sheet: PESERTA.name,
        problems: &mut problems,
    };
    for (row, cells) in rows(&ranges[PESERTA.name]) {
        let p = participants.len();
        places.insert(format!("participants[{p}]"), (PESERTA.name, row, 0));
        places.insert(format!("participants[{p}].id"), (PESERTA.name, row, 0));
        places.insert(format!("participants[{p}].name"), (PESERTA.name, row, 1));
        participants.push(Participant {
            id: r.required_text(&cells, row, 0, "ID peserta"),
            name: r.required_text(&cells, row, 1, "nama peserta"),
            region: r.text(&cells, row, 2),
            claimed_innovations: r.count(&cells, row, 3, "klaim inovasi"),
            claimed_by_indicator: BTreeMap::new(),
            innovations: Vec::new(),
        });
    }
    let find_participant =
        |participants: &[Participant], id: &str| participants.iter().position(|p| p.id == id);
    let mut r = Reading {
        sheet: KLAIM.name,
        problems: &mut problems,
    };
    for (row, cells) in rows(&ranges[KLAIM.name]) {
        let participant = r.required_text(&cells, row, 0, "peserta");
        let indicator = r.required_text(&cells, row, 1, "indikator");
        let count = r.count(&cells, row, 2, "jumlah");
        if !indicator.is_empty() && !indicator_ids.contains(&indicator) {
            r.problem(
                row,
                1,
                format!("indikator {indicator} tidak ada di sheet Indikator"),
            );
        }
        match (find_participant(&participants, &participant), count) {
            (Some(p), Some(count)) => {
                places.insert(
                    format!("participants[{p}].claimed_by_indicator.{indicator}"),
                    (KLAIM.name, row, 1),
                );
                if participants[p]
                    .claimed_by_indicator
                    .insert(indicator.clone(), count)
                    .is_some()
                {
                    r.problem(
                        row,
                        1,
                        format!(
                            "klaim {participant} untuk indikator {indicator} tertulis dua kali"
                        ),
                    );
                }
            }
            (None, _) if !participant.is_empty() => {
                r.problem(
                    row,
                    0,
                    format!("peserta {participant} tidak ada di sheet Peserta"),
                );
            }
            _ => {}
        }
    }
    let mut r = Reading {
        sheet: INOVASI.name,
        problems: &mut problems,
    };
    for (row, cells) in rows(&ranges[INOVASI.name]) {
        let participant = r.required_text(&cells, row, 0, "peserta");
        let flagship = match r.text(&cells, row, 5).map(|t| t.to_lowercase()) {
            None => false,
            Some(t) if t == "ya" || t == "y" || t == "true" => true,
            Some(t) if t == "tidak" || t == "t" || t == "false" => false,
            Some(t) => {
                r.problem(row, 5, format!("\"{t}\" bukan ya atau tidak"));
                false
            }
        };
        let innovation = Innovation {
            id: r.required_text(&cells, row, 1, "ID inovasi"),
            indicator: r.required_text(&cells, row, 2, "indikator"),
            name: r.required_text(&cells, row, 3, "nama inovasi"),
            summary: r.text(&cells, row, 4).unwrap_or_default(),
            flagship,
        };
        if !innovation.indicator.is_empty() && !indicator_ids.contains(&innovation.indicator) {
            r.problem(
                row,
                2,
                format!(
                    "indikator {} tidak ada di sheet Indikator",
                    innovation.indicator
                ),
            );
        }
        match find_participant(&participants, &participant) {
            Some(p) => {
                let n = participants[p].innovations.len();
                let base = format!("participants[{p}].innovations[{n}]");
                places.insert(format!("{base}.id"), (INOVASI.name, row, 1));
                places.insert(format!("{base}.indicator"), (INOVASI.name, row, 2));
                places.insert(format!("{base}.name"), (INOVASI.name, row, 3));
                places.insert(base, (INOVASI.name, row, 1));
                participants[p].innovations.push(innovation);
            }
            None if !participant.is_empty() => {
                r.problem(
                    row,
                    0,
                    format!("peserta {participant} tidak ada di sheet Peserta"),
                );
            }
            None => {}
        }
    }

    // Juri and Kunjungan.
    let mut jurors: Vec<Juror> = Vec::new();
    let mut r = Reading {
        sheet: JURI.name,
        problems: &mut problems,
    };
    for (row, cells) in rows(&ranges[JURI.name]) {
        let j = jurors.len();
        places.insert(format!("jurors[{j}].id"), (JURI.name, row, 0));
        places.insert(format!("jurors[{j}].name"), (JURI.name, row, 1));
        let role = match r.text(&cells, row, 3).map(|t| t.to_lowercase()).as_deref() {
            Some("ketua") | Some("lead") => Role::Lead,
            Some("anggota") | Some("juror") | None => Role::Juror,
            Some(other) => {
                r.problem(
                    row,
                    3,
                    format!("peran \"{other}\" tidak dikenal: ketua atau anggota"),
                );
                Role::Juror
            }
        };
        jurors.push(Juror {
            id: r.required_text(&cells, row, 0, "ID juri"),
            name: r.required_text(&cells, row, 1, "nama juri"),
            institution: r.text(&cells, row, 2).unwrap_or_default(),
            role,
        });
    }
    let juror_ids: HashSet<String> = jurors.iter().map(|j| j.id.clone()).collect();
    let mut visits: Vec<Visit> = Vec::new();
    let mut r = Reading {
        sheet: KUNJUNGAN.name,
        problems: &mut problems,
    };
    for (row, cells) in rows(&ranges[KUNJUNGAN.name]) {
        let v = visits.len();
        places.insert(format!("visits[{v}]"), (KUNJUNGAN.name, row, 0));
        places.insert(format!("visits[{v}].id"), (KUNJUNGAN.name, row, 0));
        places.insert(format!("visits[{v}].participant"), (KUNJUNGAN.name, row, 1));
        places.insert(format!("visits[{v}].date"), (KUNJUNGAN.name, row, 2));
        places.insert(format!("visits[{v}].jurors"), (KUNJUNGAN.name, row, 3));
        let participant = r.required_text(&cells, row, 1, "peserta");
        if !participant.is_empty() && find_participant(&participants, &participant).is_none() {
            r.problem(
                row,
                1,
                format!("peserta {participant} tidak ada di sheet Peserta"),
            );
        }
        let team: Vec<String> = r
            .required_text(&cells, row, 3, "juri")
            .split([',', ';'])
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        for juror in &team {
            if !juror_ids.contains(juror) {
                r.problem(row, 3, format!("juri {juror} tidak ada di sheet Juri"));
            }
        }
        visits.push(Visit {
            id: r.required_text(&cells, row, 0, "ID kunjungan"),
            participant,
            date: r.date(&cells, row, 2),
            jurors: team,
        });
    }

    if !problems.is_empty() {
        return Err(WorkbookErrors(problems));
    }
    let package = Package {
        format: FORMAT.into(),
        revision,
        competition,
        indicators,
        participants,
        jurors,
        visits,
    };
    // The same rules as the JSON importer, each placed where the organiser typed it.
    if let Err(errors) = package.validate() {
        let placed = errors
            .0
            .into_iter()
            .map(|e| {
                let mut path = e.path.as_str();
                loop {
                    if let Some((sheet, row, column)) = places.get(path) {
                        break WorkbookProblem {
                            sheet: (*sheet).into(),
                            row: Some(*row),
                            column: Some(column_letter(*column)),
                            problem: e.problem.clone(),
                        };
                    }
                    match path.rfind(['.', '[']) {
                        Some(cut) => path = &path[..cut],
                        None => {
                            break WorkbookProblem {
                                sheet: "-".into(),
                                row: None,
                                column: None,
                                problem: e.to_string(),
                            };
                        }
                    }
                }
            })
            .collect();
        return Err(WorkbookErrors(placed));
    }
    Ok(package)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_lettered_as_excel_does() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
    }
}
