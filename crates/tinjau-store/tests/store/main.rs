//! Integration tests of the store, on real SQLite files in temporary directories.

mod support;

mod import;
mod lead;
mod migrations;
mod records;
mod signing;
