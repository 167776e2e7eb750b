fn main() {
    // Only the commands listed here exist for the UI; capabilities grant each one explicitly.
    tauri_build::try_build(
        tauri_build::Attributes::new().app_manifest(
            tauri_build::AppManifest::new().commands(tinjau_desktop_commands::COMMANDS),
        ),
    )
    .expect("tauri build step");
}

mod tinjau_desktop_commands {
    include!("src/commands.rs");
}
