//! The official documents, chosen and rendered once for the CLI and the desktop app.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use tinjau_store::Store;

use crate::error::{AppResult, ErrorPayload};

/// A document the lead can produce.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Document {
    /// The berita acara of one visit (PDF).
    BeritaAcara { visit: String },
    /// The berita acara of the final ranking (PDF).
    Ranking,
    /// The score recap (XLSX).
    Rekap,
    /// The score recap as CSV files; `plain`: comma-separated with a decimal point, for machines.
    Csv { plain: bool },
    /// The lead's decisions `juror` may see (a reopened sheet, a lock), for their USB stick: the
    /// juror takes the file in on the Sync page (or `tinjau sheet import`).
    Decisions { juror: String },
    /// The result bundle anyone can verify (`docs/bundle.md`).
    Bundle,
}

/// One file of a rendered document: its suggested name and its bytes.
pub struct RenderedFile {
    pub name: String,
    pub bytes: Vec<u8>,
}

fn report_error(e: tinjau_report::ReportError) -> ErrorPayload {
    ErrorPayload::new("report_failed", e)
}

/// Renders `document` from the store (one file, or one per table for CSV).
pub fn render(
    store: &Store,
    document: &Document,
    today: NaiveDate,
) -> AppResult<Vec<RenderedFile>> {
    let package = store.package().ok();
    let store_error = |e: tinjau_store::StoreError| ErrorPayload::from_store(&e, package);
    let one = |name: String, bytes| Ok(vec![RenderedFile { name, bytes }]);
    match document {
        Document::BeritaAcara { visit } => {
            let report = store.visit_report(visit).map_err(store_error)?;
            let bytes = tinjau_report::berita_acara_pdf(&report, today).map_err(report_error)?;
            one(
                format!("Berita acara tinjau lapang - {}.pdf", report.participant),
                bytes,
            )
        }
        Document::Ranking => {
            let report = store.ranking_report().map_err(store_error)?;
            let bytes = tinjau_report::ranking_pdf(&report, today).map_err(report_error)?;
            one("Berita acara peringkat.pdf".into(), bytes)
        }
        Document::Rekap => {
            let (results, table) = store.ranking().map_err(store_error)?;
            let package = store.package().map_err(store_error)?;
            let bytes = tinjau_report::recap_xlsx(
                &package.competition.name,
                &store.recap_visits().map_err(store_error)?,
                &results,
                package.competition.method,
                &table,
            )
            .map_err(report_error)?;
            one("Rekap nilai.xlsx".into(), bytes)
        }
        Document::Decisions { juror } => {
            let bytes = store.export_decisions(juror).map_err(store_error)?;
            let name = package
                .and_then(|p| p.juror(juror))
                .map_or(juror.as_str(), |j| j.name.as_str());
            one(format!("Keputusan ketua untuk {name}.json"), bytes)
        }
        Document::Bundle => {
            let bytes = store.export_bundle().map_err(store_error)?;
            let id = package.map_or("", |p| p.competition.id.as_str());
            one(format!("hasil-{id}.tinjau"), bytes)
        }
        Document::Csv { plain } => {
            let (results, table) = store.ranking().map_err(store_error)?;
            let method = store.package().map_err(store_error)?.competition.method;
            let style = if *plain {
                tinjau_report::CsvStyle::Plain
            } else {
                tinjau_report::CsvStyle::Indonesian
            };
            let files = tinjau_report::recap_csv(
                &store.recap_visits().map_err(store_error)?,
                &results,
                method,
                &table,
                style,
            )
            .map_err(report_error)?;
            Ok(files
                .into_iter()
                .map(|(name, bytes)| RenderedFile { name, bytes })
                .collect())
        }
    }
}
