//! Tinjau's application layer: the use cases the `tinjau` CLI and the desktop shell both call —
//! open a data folder, the overview, documents, the audit, evidence bytes, the one sync loop —
//! and the types that cross into a user interface (errors with codes and names, the overview,
//! sync progress). The CLI and the shell only parse input, make one call here, and print or
//! return the answer.

pub mod documents;
pub mod error;
pub mod hub;
pub mod keys;
pub mod session;
pub mod sync_loop;
pub mod views;

use std::path::{Path, PathBuf};

pub use documents::{Document, RenderedFile, render};
pub use error::{AppResult, ERROR_CODES, ErrorPayload};
pub use session::{DEMO_PACKAGE, Session, audit, overview};
pub use views::{Overview, SyncPhase, SyncProgress};

/// The data folder when none is given: `TINJAU_DATA_DIR`, else the operating system's place
/// for application data (`~/.local/share/tinjau` on Linux, `%APPDATA%\Tinjau\data` on Windows,
/// `~/Library/Application Support/Tinjau` on macOS). `None` on a system with no home folder.
pub fn default_data_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("TINJAU_DATA_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("", "", "Tinjau").map(|d| d.data_dir().to_path_buf())
}

/// Where the desktop app saves the documents it exports: `Downloads/Tinjau`, or the data
/// folder's `documents` on a system without a Downloads folder.
pub fn documents_folder(data_dir: &Path) -> PathBuf {
    directories::UserDirs::new()
        .and_then(|u| u.download_dir().map(Path::to_path_buf))
        .map(|d| d.join("Tinjau"))
        .unwrap_or_else(|| data_dir.join("documents"))
}

/// Shows `folder` in the system's file manager (`xdg-open`, Explorer, Finder), or in the
/// program named by `TINJAU_OPENER` (which the end-to-end tests use to see what was opened).
pub fn open_folder(folder: &Path) -> AppResult<()> {
    let opener = std::env::var_os("TINJAU_OPENER")
        .filter(|o| !o.is_empty())
        .unwrap_or_else(|| {
            if cfg!(windows) {
                "explorer".into()
            } else if cfg!(target_os = "macos") {
                "open".into()
            } else {
                "xdg-open".into()
            }
        });
    std::fs::create_dir_all(folder)
        .map_err(|e| ErrorPayload::new("io", format!("creating {}: {e}", folder.display())))?;
    let mut child = std::process::Command::new(&opener)
        .arg(folder)
        .stdin(std::process::Stdio::null())
        .spawn()
        .map_err(|e| {
            ErrorPayload::new(
                "io",
                format!(
                    "opening {} with {}: {e}",
                    folder.display(),
                    opener.display()
                ),
            )
        })?;
    // Reap the opener when it exits, so it never lingers as a zombie.
    std::thread::spawn(move || child.wait());
    Ok(())
}
