//! PDFs typeset by typst: a minimal `World` holding one template, its data and the fonts.

use std::sync::OnceLock;

use chrono::{Datelike, NaiveDate};
use serde_json::{Value, json};
use tinjau_core::indonesian::{date_in_words, decimal_in_words, format_date, format_decimal};
use tinjau_core::package::Method;
use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};
use typst_layout::PagedDocument;

use crate::ReportError;
use tinjau_core::report::{JuryMember, RankingReport, VisitReport};

use crate::model::{method_label, role_label};

const BERITA_ACARA: &str = include_str!("../templates/berita-acara.typ");
const RANKING: &str = include_str!("../templates/peringkat.typ");
const SLIP: &str = include_str!("../templates/slip.typ");

const FONT_FILES: [&[u8]; 6] = [
    include_bytes!("../../../assets/fonts/LiberationSerif-Regular.ttf"),
    include_bytes!("../../../assets/fonts/LiberationSerif-Bold.ttf"),
    include_bytes!("../../../assets/fonts/LiberationSerif-Italic.ttf"),
    include_bytes!("../../../assets/fonts/LiberationSerif-BoldItalic.ttf"),
    include_bytes!("../../../assets/fonts/LiberationSans-Regular.ttf"),
    include_bytes!("../../../assets/fonts/LiberationSans-Bold.ttf"),
];

/// The fonts and the standard library, loaded once per process.
struct Shared {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let fonts: Vec<Font> = FONT_FILES
            .iter()
            .flat_map(|bytes| Font::iter(Bytes::new(*bytes)))
            .collect();
        Shared {
            library: LazyHash::new(Library::default()),
            book: LazyHash::new(FontBook::from_fonts(&fonts)),
            fonts,
        }
    })
}

fn file_id(path: &str) -> FileId {
    RootedPath::new(
        VirtualRoot::Project,
        VirtualPath::new(path).expect("a valid virtual path"),
    )
    .intern()
}

struct ReportWorld {
    main: Source,
    data_id: FileId,
    data: Bytes,
    today: Datetime,
}

impl World for ReportWorld {
    fn library(&self) -> &LazyHash<Library> {
        &shared().library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &shared().book
    }

    fn main(&self) -> FileId {
        self.main.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            Ok(self.main.clone())
        } else {
            Err(FileError::NotFound(id.vpath().get_without_slash().into()))
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.data_id {
            Ok(self.data.clone())
        } else {
            Err(FileError::NotFound(id.vpath().get_without_slash().into()))
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        shared().fonts.get(index).cloned()
    }

    fn today(&self, _offset: Option<typst::foundations::Duration>) -> Option<Datetime> {
        Some(self.today)
    }
}

/// Typesets `template` with `data` (read by the template as `json("/data.json")`).
fn typeset(template: &str, data: &Value, today: NaiveDate) -> Result<Vec<u8>, ReportError> {
    let world = ReportWorld {
        main: Source::new(file_id("/main.typ"), template.to_string()),
        data_id: file_id("/data.json"),
        data: Bytes::new(serde_json::to_vec(data).expect("report data serialises")),
        today: Datetime::from_ymd(today.year(), today.month() as u8, today.day() as u8)
            .expect("a valid date"),
    };
    let document = typst::compile::<PagedDocument>(&world)
        .output
        .map_err(typeset_error)?;
    typst_pdf::pdf(&document, &typst_pdf::PdfOptions::default()).map_err(typeset_error)
}

fn typeset_error(errors: typst::ecow::EcoVec<typst::diag::SourceDiagnostic>) -> ReportError {
    let messages: Vec<String> = errors.iter().map(|e| e.message.to_string()).collect();
    ReportError::Typeset(messages.join("; "))
}

fn two(value: Option<f64>) -> String {
    value.map_or("—".into(), |v| format_decimal(v, 2))
}

fn number(value: f64) -> String {
    if value.fract() == 0.0 {
        format_decimal(value, 0)
    } else {
        format_decimal(value, 2)
    }
}

/// The berita acara tinjau lapang of one visit.
pub fn berita_acara_pdf(report: &VisitReport, today: NaiveDate) -> Result<Vec<u8>, ReportError> {
    let result = &report.result;
    let location = match &report.region {
        Some(region) => format!("{}, {region}", report.participant),
        None => report.participant.clone(),
    };
    let indicators: Vec<Value> = report
        .indicators
        .iter()
        .enumerate()
        .map(|(i, (id, name, weight))| {
            let cell = result.cells.iter().find(|c| &c.indicator_id == id);
            json!({
                "no": (i + 1).to_string(),
                "name": name,
                "weight": number(*weight),
                "n": cell.map_or(0, |c| c.n).to_string(),
                "aggregate": two(cell.and_then(|c| c.aggregate)),
                "range": cell.and_then(|c| c.min.zip(c.max)).map_or("—".into(), |(lo, hi)| format!("{}–{}", two(Some(lo)), two(Some(hi)))),
                "disputed": cell.is_some_and(|c| c.disputed),
            })
        })
        .collect();
    // Disputed indicators, and any other the lead wrote a note on: a note is never left out.
    let disputed: Vec<Value> = result
        .cells
        .iter()
        .filter(|c| c.disputed || report.lead_notes.contains_key(&c.indicator_id))
        .map(|c| {
            let name = report
                .indicators
                .iter()
                .find(|(id, _, _)| id == &c.indicator_id)
                .map_or(c.indicator_id.clone(), |(_, name, _)| name.clone());
            json!({
                "indicator": if c.disputed {
                    format!("{} {} (berbeda pendapat)", c.indicator_id, name)
                } else {
                    format!("{} {}", c.indicator_id, name)
                },
                "spread": two(c.spread),
                "range": format!("{}–{}", two(c.min), two(c.max)),
                "note": report.lead_notes.get(&c.indicator_id).cloned().unwrap_or_else(|| "—".into()),
            })
        })
        .collect();
    let tally = &report.innovations;
    let mut claims = Vec::new();
    if let Some(total) = tally.claimed_total {
        claims.push(
            json!({"label": "Inovasi yang diklaim dalam paparan", "value": total.to_string()}),
        );
    }
    if let Some(sum) = tally.claimed_by_indicator {
        claims.push(json!({"label": "Jumlah klaim per indikator", "value": sum.to_string()}));
    }
    for (label, value) in [
        ("Inovasi yang terdaftar untuk ditinjau", tally.listed),
        ("Ditemukan sesuai paparan", tally.found),
        ("Ditemukan sebagian", tally.partial),
        ("Tidak ditemukan", tally.not_found),
        ("Belum diperiksa", tally.unchecked),
    ] {
        claims.push(json!({"label": label, "value": value.to_string()}));
    }
    let rank = match (result.rank, result.tied, &result.tie_break_reason) {
        (Some(rank), false, _) => format!(
            "peringkat {rank} dari {} peserta yang telah dinilai",
            report.ranked
        ),
        (Some(rank), true, None) => format!(
            "peringkat {rank} (sama) dari {} peserta yang telah dinilai",
            report.ranked
        ),
        (Some(rank), true, Some(reason)) => format!(
            "peringkat {rank} dari {} peserta yang telah dinilai (nilai sama; urutan ditetapkan ketua tim juri: {reason})",
            report.ranked
        ),
        (None, _, _) => "belum dapat diperingkat (nilai belum lengkap)".into(),
    };
    let named = |id: &String| {
        report
            .jury
            .iter()
            .find(|j| &j.id == id)
            .map_or_else(|| id.clone(), JuryMember::label)
    };
    let data = json!({
        "competition": report.competition,
        "stage": report.stage.clone().unwrap_or_default(),
        "participant": report.participant,
        "location": location,
        "date_text": format_date(report.date),
        "opening": format!(
            "Pada hari ini {} ({}), bertempat di {}, Tim Juri {} telah melaksanakan tinjau lapang untuk memastikan bahwa inovasi yang dipaparkan sebelumnya benar-benar ada dan memberikan manfaat bagi masyarakat, dengan hasil sebagai berikut.",
            date_in_words(report.date),
            report.date.format("%d-%m-%Y"),
            location,
            report.competition,
        ),
        "jury": report.jury.iter().enumerate().map(|(i, j)| json!({
            "no": (i + 1).to_string(), "name": j.name, "institution": j.institution, "role": role_label(j.role),
        })).collect::<Vec<_>>(),
        "indicators": indicators,
        "total": two(result.total),
        "total_words": result.total.map(|t| decimal_in_words(t, 2)).unwrap_or_default(),
        "rank": rank,
        "method": method_label(report.method),
        "scale": format!("{}–{}", number(report.scale.min), number(report.scale.max)),
        "threshold": number(report.disagreement_threshold),
        "claims": claims,
        "disputed": disputed,
        "excluded": result.excluded_jurors.iter().map(named).collect::<Vec<_>>().join(", "),
        "lock_hash": report.lock_hash.clone().unwrap_or_default(),
        "bundle_hash": report.bundle_hash.clone().unwrap_or_default(),
        "today": format_date(today),
    });
    typeset(BERITA_ACARA, &data, today)
}

/// The ranking berita acara across all visits, with the sensitivity table.
pub fn ranking_pdf(report: &RankingReport, today: NaiveDate) -> Result<Vec<u8>, ReportError> {
    let primary = report
        .results
        .iter()
        .find(|r| r.method == report.method)
        .unwrap_or(&report.results[0]);
    let ranking: Vec<Value> = primary
        .participants
        .iter()
        .map(|p| {
            json!({
                "rank": p.rank.map_or("—".into(), |r| if p.tied && p.tie_break_reason.is_none() { format!("{r}*") } else { r.to_string() }),
                "name": p.name,
                "total": two(p.total),
                "note": match (&p.tie_break_reason, p.missing.is_empty()) {
                    (Some(reason), _) => format!("Nilai sama; urutan ditetapkan ketua: {reason}"),
                    (None, false) => format!("Belum lengkap: {}", p.missing.join(", ")),
                    (None, true) if p.tied => "Nilai sama, belum diputuskan".into(),
                    _ => String::new(),
                },
            })
        })
        .collect();
    let methods: Vec<&str> = Method::ALL.iter().map(|m| m.as_str()).collect();
    let sensitivity: Vec<Value> = report
        .sensitivity
        .rows
        .iter()
        .map(|row| {
            json!({
                "name": row.name,
                "cells": row.by_method.iter().map(|m| match (m.rank, m.total) {
                    (Some(rank), Some(total)) => format!("{rank} ({})", format_decimal(total, 2)),
                    _ => "—".into(),
                }).collect::<Vec<_>>(),
            })
        })
        .collect();
    let data = json!({
        "competition": report.competition,
        "stage": report.stage.clone().unwrap_or_default(),
        "opening": format!(
            "Pada hari ini {} ({}), Tim Juri {} menetapkan peringkat peserta berdasarkan hasil tinjau lapang, dengan metode agregasi nilai {}.",
            date_in_words(report.date), report.date.format("%d-%m-%Y"), report.competition, method_label(report.method)
        ),
        "ranking": ranking,
        "methods": methods,
        "sensitivity": sensitivity,
        "stable": if report.sensitivity.top_three_change {
            "Susunan tiga besar BERUBAH bila metode agregasi lain digunakan: peserta yang masuk tiga besar tidak sama di semua metode; ketua tim juri perlu mencermati tabel ini."
        } else if report.sensitivity.top_three_order_changes {
            "Tiga besar diisi peserta yang sama di keempat metode agregasi, tetapi urutan di antara mereka berbeda antarmetode; lihat tabel di bawah."
        } else {
            "Tiga besar dan urutannya tidak berubah di antara keempat metode agregasi."
        },
        "locks": report.locks.iter().map(|(name, hash)| json!({"name": name, "hash": hash})).collect::<Vec<_>>(),
        "bundle_hash": report.bundle_hash.clone().unwrap_or_default(),
        "jury": report.jury.iter().map(|j| json!({"name": j.name, "institution": j.institution, "role": role_label(j.role)})).collect::<Vec<_>>(),
        "today": format_date(today),
    });
    typeset(RANKING, &data, today)
}

/// One juror's join slip: who they are and the join file their laptop opens.
#[derive(Debug, Clone)]
pub struct SlipPage {
    pub name: String,
    pub institution: String,
    pub role: tinjau_core::package::Role,
    /// The visits the juror is on, as a person reads them ("Kecamatan Junrejo, 12 Oktober 2023").
    pub visits: Vec<String>,
    pub join: tinjau_core::join::JoinSlip,
    /// The join file's name, as the organiser hands it out.
    pub file_name: String,
}

/// The QR code of `text` as SVG (error correction M: a creased slip still scans).
fn qr_svg(text: &str) -> Result<String, ReportError> {
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M)
        .map_err(|e| ReportError::Typeset(format!("the QR code cannot hold the join file: {e}")))?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .quiet_zone(true)
        .min_dimensions(240, 240)
        .build())
}

/// Join slips: one A4 page per juror (name, institution, visits, the server, the token, the
/// certificate fingerprint when there is one, and a QR code of the join file).
pub fn join_slips_pdf(
    competition: &str,
    stage: Option<&str>,
    slips: &[SlipPage],
    today: NaiveDate,
) -> Result<Vec<u8>, ReportError> {
    let pages = slips
        .iter()
        .map(|slip| {
            Ok(json!({
                "name": slip.name,
                "institution": slip.institution,
                "role": role_label(slip.role),
                "visits": if slip.visits.is_empty() { vec!["—".to_string()] } else { slip.visits.clone() },
                "server": slip.join.server,
                "token": slip.join.token,
                "pin": slip.join.pin.clone().unwrap_or_default(),
                "qr": qr_svg(&serde_json::to_string(&slip.join).expect("a join slip serialises"))?,
                "file": slip.file_name,
            }))
        })
        .collect::<Result<Vec<Value>, ReportError>>()?;
    let data = json!({
        "competition": competition,
        "stage": stage.unwrap_or_default(),
        "slips": pages,
        "today": format_date(today),
    });
    typeset(SLIP, &data, today)
}
