//! Integration tests of the pure core.

mod merge;
mod package;
mod sync;
