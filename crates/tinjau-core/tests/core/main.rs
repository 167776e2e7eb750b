//! Integration tests of the pure core.

mod package;
