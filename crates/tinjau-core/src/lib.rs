//! Tinjau's pure core.
//!
//! Everything here is a function of its inputs: no files, no database, no network, no clock.
//! Time, ids and randomness are passed in by the caller, so the store, the CLI, the desktop app
//! and the server all compute the same answers and tests are deterministic.

pub mod authority;
pub mod bundle;
pub mod chain;
pub mod change;
pub mod console;
pub mod discrepancy;
pub mod domain;
pub mod hex;
pub mod hlc;
pub mod hub;
pub mod ids;
pub mod indonesian;
pub mod join;
pub mod merge;
pub mod package;
pub mod report;
pub mod signing;
pub mod sync;
pub mod views;

pub use domain::{Entity, RuleError, SheetState, Verdict};
pub use package::{Package, PackageError, PackageErrors};
