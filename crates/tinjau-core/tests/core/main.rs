//! Integration tests of the pure core.

mod bindings;
mod indonesian;
mod merge;
mod package;
mod sync;
