//! The rekap nilai: one neutral table model, written as XLSX (numbers as numbers) or CSV.

use std::collections::HashSet;

use rust_xlsxwriter::{Format, Workbook};
use tinjau_core::merge::{MergeResult, Sensitivity};
use tinjau_core::package::Method;

use crate::ReportError;
use tinjau_core::report::RecapVisit;

use crate::model::method_label;

enum Cell {
    Text(String),
    /// A score, total or spread: two decimals.
    Number(f64),
    /// A rank, a count, a weight that is a whole number: no decimals.
    Whole(f64),
    Empty,
}

struct Table {
    name: String,
    header: Vec<String>,
    rows: Vec<Vec<Cell>>,
}

fn text(value: impl Into<String>) -> Cell {
    Cell::Text(value.into())
}

fn number(value: Option<f64>) -> Cell {
    value.map_or(Cell::Empty, Cell::Number)
}

fn whole(value: Option<f64>) -> Cell {
    value.map_or(Cell::Empty, Cell::Whole)
}

/// A weight: whole when it is one, with decimals otherwise.
fn weight(value: f64) -> Cell {
    if value.fract() == 0.0 {
        Cell::Whole(value)
    } else {
        Cell::Number(value)
    }
}

fn visit_table(visit: &RecapVisit, result: &MergeResult) -> Table {
    let participant = result.participant(&visit.participant_id);
    let mut header = vec!["Juri".to_string()];
    header.extend(result.indicators.iter().map(|i| i.indicator_id.clone()));
    header.push("Keterangan".into());
    let mut rows = Vec::new();
    for juror in &visit.jurors {
        let mut row = vec![text(juror.label.clone())];
        let mut counted = false;
        for indicator in &result.indicators {
            let score = participant
                .and_then(|p| {
                    p.cells
                        .iter()
                        .find(|c| c.indicator_id == indicator.indicator_id)
                })
                .and_then(|c| c.scores.iter().find(|s| s.juror == juror.id))
                .map(|s| s.value);
            counted |= score.is_some();
            row.push(number(score));
        }
        let excluded = participant.is_some_and(|p| p.excluded_jurors.contains(&juror.id));
        row.push(text(if excluded {
            "dikecualikan (konflik kepentingan)"
        } else if counted {
            ""
        } else {
            "lembar belum dikirim"
        }));
        rows.push(row);
    }
    let per_cell = |label: &str, value: &dyn Fn(&tinjau_core::merge::CellResult) -> Cell| {
        let mut row = vec![text(label)];
        for indicator in &result.indicators {
            row.push(
                participant
                    .and_then(|p| {
                        p.cells
                            .iter()
                            .find(|c| c.indicator_id == indicator.indicator_id)
                    })
                    .map_or(Cell::Empty, value),
            );
        }
        row.push(Cell::Empty);
        row
    };
    rows.push(per_cell(
        &format!("Agregat ({})", result.method.as_str()),
        &|c| number(c.aggregate),
    ));
    rows.push(per_cell("Jumlah juri (n)", &|c| Cell::Whole(c.n as f64)));
    rows.push(per_cell("Selisih (maks - min)", &|c| number(c.spread)));
    rows.push(per_cell("Berbeda pendapat", &|c| {
        text(if c.disputed { "ya" } else { "" })
    }));
    let mut weights = vec![text("Bobot")];
    weights.extend(result.indicators.iter().map(|i| weight(i.weight)));
    weights.push(Cell::Empty);
    rows.push(weights);
    let mut alpha = vec![text("Alpha Krippendorff (seluruh kompetisi)")];
    alpha.extend(result.indicators.iter().map(|i| number(i.alpha)));
    alpha.push(text(
        "dihitung atas semua peserta dan semua juri, bukan hanya kunjungan ini; diagnostik, tidak dipakai untuk peringkat",
    ));
    rows.push(alpha);
    rows.push(vec![
        text("Nilai akhir"),
        number(participant.and_then(|p| p.total)),
    ]);
    rows.push(vec![
        text("Peringkat"),
        whole(participant.and_then(|p| p.rank).map(f64::from)),
        text(if participant.is_some_and(|p| p.tied) {
            "nilai sama"
        } else {
            ""
        }),
    ]);
    Table {
        name: visit.visit_id.clone(),
        header,
        rows,
    }
}

fn ranking_table(result: &MergeResult) -> Table {
    Table {
        name: "peringkat".into(),
        header: [
            "Peringkat",
            "Kecamatan",
            "Nilai akhir",
            "Nilai sama",
            "Keterangan",
        ]
        .map(String::from)
        .to_vec(),
        rows: result
            .participants
            .iter()
            .map(|p| {
                vec![
                    whole(p.rank.map(f64::from)),
                    text(p.name.clone()),
                    number(p.total),
                    text(if p.tied { "ya" } else { "" }),
                    text(match (&p.tie_break_reason, p.missing.is_empty()) {
                        (Some(reason), _) => format!("urutan ditetapkan ketua: {reason}"),
                        (None, false) => format!("belum lengkap: {}", p.missing.join(", ")),
                        _ => String::new(),
                    }),
                ]
            })
            .collect(),
    }
}

fn sensitivity_table(sensitivity: &Sensitivity) -> Table {
    let mut header = vec!["Kecamatan".to_string()];
    for method in Method::ALL {
        header.push(format!("Peringkat {}", method.as_str()));
        header.push(format!("Nilai {}", method.as_str()));
    }
    Table {
        name: "sensitivitas".into(),
        header,
        rows: sensitivity
            .rows
            .iter()
            .map(|row| {
                let mut cells = vec![text(row.name.clone())];
                for m in &row.by_method {
                    cells.push(whole(m.rank.map(f64::from)));
                    cells.push(number(m.total));
                }
                cells
            })
            .collect(),
    }
}

fn recap_tables(
    visits: &[RecapVisit],
    results: &[MergeResult],
    method: Method,
    sensitivity: &Sensitivity,
) -> Vec<Table> {
    let primary = results
        .iter()
        .find(|r| r.method == method)
        .unwrap_or(&results[0]);
    let mut tables: Vec<Table> = visits.iter().map(|v| visit_table(v, primary)).collect();
    tables.push(ranking_table(primary));
    tables.push(sensitivity_table(sensitivity));
    // Every row as wide as the header, so CSV readers see a rectangle.
    for table in &mut tables {
        let width = table.header.len();
        for row in &mut table.rows {
            while row.len() < width {
                row.push(Cell::Empty);
            }
        }
    }
    tables
}

/// A worksheet name Excel accepts: at most 31 characters, none of `[]:*?/\`, unique.
fn sheet_name(name: &str, taken: &mut HashSet<String>) -> String {
    let clean: String = name
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '-' } else { c })
        .take(31)
        .collect();
    let mut candidate = clean.clone();
    let mut n = 2;
    while !taken.insert(candidate.to_lowercase()) {
        let suffix = format!("~{n}");
        candidate = format!(
            "{}{suffix}",
            clean.chars().take(31 - suffix.len()).collect::<String>()
        );
        n += 1;
    }
    candidate
}

/// The rekap nilai workbook: one sheet per visit, a ranking sheet and a sensitivity sheet.
pub fn recap_xlsx(
    competition: &str,
    visits: &[RecapVisit],
    results: &[MergeResult],
    method: Method,
    sensitivity: &Sensitivity,
) -> Result<Vec<u8>, ReportError> {
    let error = |e: rust_xlsxwriter::XlsxError| ReportError::Spreadsheet(e.to_string());
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let decimal = Format::new().set_num_format("0.00");
    // Excel's built-in whole-number format ("0").
    let integer = Format::new().set_num_format_index(1);
    let mut taken = HashSet::new();
    for table in recap_tables(visits, results, method, sensitivity) {
        let sheet = workbook.add_worksheet();
        sheet
            .set_name(sheet_name(&table.name, &mut taken))
            .map_err(error)?;
        sheet
            .write_string_with_format(
                0,
                0,
                format!(
                    "{competition} — rekap nilai, metode {}",
                    method_label(method)
                ),
                &bold,
            )
            .map_err(error)?;
        for (col, title) in table.header.iter().enumerate() {
            sheet
                .write_string_with_format(2, col as u16, title, &bold)
                .map_err(error)?;
        }
        for (r, row) in table.rows.iter().enumerate() {
            let r = r as u32 + 3;
            for (c, cell) in row.iter().enumerate() {
                let c = c as u16;
                match cell {
                    Cell::Text(t) if !t.is_empty() => {
                        sheet.write_string(r, c, t).map_err(error)?;
                    }
                    Cell::Number(n) => {
                        sheet
                            .write_number_with_format(r, c, *n, &decimal)
                            .map_err(error)?;
                    }
                    Cell::Whole(n) => {
                        sheet
                            .write_number_with_format(r, c, *n, &integer)
                            .map_err(error)?;
                    }
                    _ => {}
                }
            }
        }
        sheet.set_column_width(0, 28).map_err(error)?;
    }
    workbook.save_to_buffer().map_err(error)
}

/// How the CSV files are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CsvStyle {
    /// For Excel or LibreOffice set to Indonesian: `;` between fields, a decimal comma, and a
    /// UTF-8 byte-order mark so names with accents open right.
    #[default]
    Indonesian,
    /// For programs: `,` between fields, a decimal point, no byte-order mark.
    Plain,
}

/// The same tables as CSV files: (file name, bytes). Numbers in full precision (never
/// rounded: the spreadsheet rounds for display).
pub fn recap_csv(
    visits: &[RecapVisit],
    results: &[MergeResult],
    method: Method,
    sensitivity: &Sensitivity,
    style: CsvStyle,
) -> Result<Vec<(String, Vec<u8>)>, ReportError> {
    let error = |e: csv::Error| ReportError::Csv(e.to_string());
    let (delimiter, bom): (u8, &[u8]) = match style {
        CsvStyle::Indonesian => (b';', b"\xEF\xBB\xBF"),
        CsvStyle::Plain => (b',', b""),
    };
    let number = |n: f64| {
        let text = n.to_string();
        match style {
            CsvStyle::Indonesian => text.replace('.', ","),
            CsvStyle::Plain => text,
        }
    };
    let mut files = Vec::new();
    for table in recap_tables(visits, results, method, sensitivity) {
        let mut writer = csv::WriterBuilder::new()
            .delimiter(delimiter)
            .from_writer(bom.to_vec());
        writer.write_record(&table.header).map_err(error)?;
        for row in &table.rows {
            writer
                .write_record(row.iter().map(|cell| match cell {
                    Cell::Text(t) => t.clone(),
                    Cell::Number(n) | Cell::Whole(n) => number(*n),
                    Cell::Empty => String::new(),
                }))
                .map_err(error)?;
        }
        let bytes = writer
            .into_inner()
            .map_err(|e| ReportError::Csv(e.to_string()))?;
        let name: String = table
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        files.push((format!("rekap-{name}.csv"), bytes));
    }
    Ok(files)
}
