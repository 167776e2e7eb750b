//! Saving an official document for a person to find: never over an earlier one.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{Result, StoreError};

/// Writes `bytes` into `folder` under `file_name`, or — when a file of that name is already
/// there (an earlier export) — under the first free "name (2).ext", "name (3).ext", …: exporting
/// again never silently replaces what was saved before. The file is complete and on disk when
/// this returns (written, fsynced, created only if the name was free). Returns its path.
pub fn save_without_overwriting(folder: &Path, file_name: &str, bytes: &[u8]) -> Result<PathBuf> {
    // A name made from a participant's name is a file name on every system: no separators,
    // nothing Windows forbids, no control characters.
    let file_name: String = file_name
        .chars()
        .map(|c| {
            if c.is_control() || "/\\:*?\"<>|".contains(c) {
                '-'
            } else {
                c
            }
        })
        .collect();
    let file_name = file_name.as_str();
    let io = |path: &Path| {
        let context = format!("saving {}", path.display());
        move |source| StoreError::Io { context, source }
    };
    std::fs::create_dir_all(folder).map_err(io(folder))?;
    let (stem, extension) = match file_name.rsplit_once('.') {
        Some((stem, extension)) if !stem.is_empty() => (stem, format!(".{extension}")),
        _ => (file_name, String::new()),
    };
    for n in 1..10_000 {
        let name = if n == 1 {
            file_name.to_string()
        } else {
            format!("{stem} ({n}){extension}")
        };
        let path = folder.join(name);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut file) => {
                let written = file.write_all(bytes).and_then(|()| file.sync_all());
                if let Err(source) = written {
                    let _ = std::fs::remove_file(&path);
                    return Err(io(&path)(source));
                }
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(source) => return Err(io(&path)(source)),
        }
    }
    Err(StoreError::Io {
        context: format!("saving {file_name} in {}", folder.display()),
        source: std::io::Error::other("every name up to (9999) is taken"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exporting_again_never_replaces_an_earlier_file() {
        let dir = tempfile::tempdir().unwrap();
        let first = save_without_overwriting(dir.path(), "Berita acara.pdf", b"one").unwrap();
        let second = save_without_overwriting(dir.path(), "Berita acara.pdf", b"two").unwrap();
        let third = save_without_overwriting(dir.path(), "Berita acara.pdf", b"three").unwrap();
        assert_eq!(first.file_name().unwrap(), "Berita acara.pdf");
        assert_eq!(second.file_name().unwrap(), "Berita acara (2).pdf");
        assert_eq!(third.file_name().unwrap(), "Berita acara (3).pdf");
        assert_eq!(std::fs::read(first).unwrap(), b"one");
        assert_eq!(std::fs::read(third).unwrap(), b"three");
        let odd = save_without_overwriting(dir.path(), "a/b:c\u{1b}.pdf", b"x").unwrap();
        assert_eq!(odd.file_name().unwrap(), "a-b-c-.pdf");
        assert_eq!(odd.parent().unwrap(), dir.path());
    }
}
