//! The `tinjau-desktop` program: starts the Tauri shell (`tinjau_desktop::run`).

// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    tinjau_desktop::run();
}
