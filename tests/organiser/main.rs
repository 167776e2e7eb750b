//! The organiser's side: the competition workbook, and the console served by `tinjau-server`
//! driven in a real browser (headless chromium) and over HTTP as a script or an attacker would.

#[cfg(target_os = "linux")]
mod console;
mod http;
mod operations;
mod slips;
mod workbook;
