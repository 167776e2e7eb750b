//! Tinjau's official outputs, computed from merge results: the berita acara (PDF), the rekap
//! nilai (XLSX) and CSV tables; and the organiser's competition workbook ([`workbook`]). Core
//! types in, bytes out; the caller writes the files.
//!
//! PDFs are typeset by typst from templates embedded in the binary, with the fonts shipped in
//! `assets/fonts`, so a document looks the same on every machine and needs no network.

mod model;
mod pdf;
mod tables;
pub mod workbook;

pub use model::method_label;
pub use pdf::{SlipPage, berita_acara_pdf, join_slips_pdf, ranking_pdf};
pub use tables::{CsvStyle, recap_csv, recap_xlsx};
pub use tinjau_core::report::{
    InnovationTally, JuryMember, RankingReport, RecapVisit, VisitReport,
};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("typesetting the PDF failed: {0}")]
    Typeset(String),
    #[error("writing the spreadsheet failed: {0}")]
    Spreadsheet(String),
    #[error("writing CSV failed: {0}")]
    Csv(String),
}
