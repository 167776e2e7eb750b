//! Integration tests of the pure core.

mod indonesian;
mod merge;
mod package;
mod sync;
