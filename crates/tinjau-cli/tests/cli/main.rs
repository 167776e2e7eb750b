//! The `tinjau` binary, run for real in temporary data directories.

mod support;

mod audit;
mod crash;
mod errors;
mod evidence;
mod lead;
mod walkthrough;
