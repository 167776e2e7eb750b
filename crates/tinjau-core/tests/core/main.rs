//! Integration tests of the pure core.

mod bindings;
mod merge;
mod package;
mod sync;
