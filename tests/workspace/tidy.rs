//! Tidiness, as rust-analyzer's `tidy.rs` keeps it: what the documentation names exists, and
//! every crate and module says what it is for.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

/// Files under `dir` with one of `extensions`, leaving out what is built or installed.
fn files(dir: &Path, extensions: &[&str], out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            let skipped = [
                "target",
                "node_modules",
                "dist",
                ".git",
                "corpus",
                "gen",
                "artifacts",
            ];
            if !skipped.contains(&name.as_str()) {
                files(&path, extensions, out);
            }
        } else if extensions.iter().any(|e| name.ends_with(e)) {
            out.push(path);
        }
    }
}

/// The top-level places a documented path can start from.
const TOP: &[&str] = &[
    "crates/",
    "docs/",
    "ui/",
    "src-tauri/",
    "tests/",
    "scripts/",
    "assets/",
    "fuzz/",
    ".ci/",
];

/// Backticked spans of `text` that name a file or folder of this repository.
fn documented_paths(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, span) in text.split('`').enumerate() {
        if i % 2 == 0 || span.contains(char::is_whitespace) {
            continue;
        }
        let span = span.trim_end_matches(['.', ',', ':', ')']);
        let is_path = TOP.iter().any(|top| span.starts_with(top))
            || (span.ends_with(".md") && !span.contains('*'))
            || span.starts_with("src/")
            || span.starts_with("migrations/");
        // Folders that tools make (and git ignores) are not in a fresh clone.
        let made = ["node_modules", "artifacts", "target", "dist", "gen"];
        let generated = span.split('/').any(|part| made.contains(&part))
            || span.contains('*')
            || span.contains('{')
            || span.contains('<');
        if is_path && !generated {
            out.push(span.to_string());
        }
    }
    out
}

#[test]
fn every_path_the_documentation_names_exists() {
    let root = root();
    let mut docs = Vec::new();
    files(&root, &[".md"], &mut docs);
    let mut sources = Vec::new();
    files(&root, &[".rs"], &mut sources);
    // What a fresh clone has: the files git tracks and the folders that hold them (a folder a
    // tool makes, present here, is not there).
    let listed = std::process::Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(&root)
        .output()
        .expect("git lists the tracked files");
    let mut tracked = std::collections::HashSet::new();
    for file in String::from_utf8_lossy(&listed.stdout)
        .split('\0')
        .filter(|f| !f.is_empty())
    {
        let mut path = std::path::Path::new(file);
        tracked.insert(file.to_string());
        while let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            tracked.insert(parent.to_string_lossy().into_owned());
            path = parent;
        }
    }
    assert!(tracked.len() > 100, "git ls-files listed the repository");
    let mut missing = Vec::new();
    let mut checked = 0;
    for file in docs.iter().chain(&sources) {
        let text = std::fs::read_to_string(file).unwrap();
        let text: String = if file.extension().is_some_and(|e| e == "rs") {
            text.lines()
                .filter(|l| l.trim_start().starts_with("//!"))
                .collect::<Vec<_>>()
                .join("\n")
        } else {
            text
        };
        // A path may be written from the repository's root, or from the file's own crate or
        // folder (`src/lib.rs` in a crate's docs).
        let mut bases = vec![root.clone()];
        let mut dir = file.parent();
        while let Some(d) = dir {
            if d == root {
                break;
            }
            bases.push(d.to_path_buf());
            dir = d.parent();
        }
        for path in documented_paths(&text) {
            checked += 1;
            let found = bases.iter().any(|base| {
                let full = base.join(&path);
                let relative = full.strip_prefix(&root).unwrap_or(&full);
                tracked.contains(relative.to_string_lossy().trim_end_matches('/'))
            });
            if !found {
                missing.push(format!(
                    "{} names `{path}`",
                    file.strip_prefix(&root).unwrap().display()
                ));
            }
        }
    }
    assert!(
        checked > 50,
        "only {checked} paths found: is the scan right?"
    );
    assert!(
        missing.is_empty(),
        "paths that do not exist:\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_crate_and_module_says_what_it_is_for() {
    let root = root();
    let mut sources = Vec::new();
    for dir in ["crates", "src-tauri/src", "tests"] {
        files(&root.join(dir), &[".rs"], &mut sources);
    }
    let mut builds = Vec::new();
    files(&root, &["build.rs"], &mut builds);
    let included: Vec<PathBuf> = builds
        .iter()
        .flat_map(|build| {
            let text = std::fs::read_to_string(build).unwrap();
            let dir = build.parent().unwrap().to_path_buf();
            text.split("include!(\"")
                .skip(1)
                .filter_map(|rest| rest.split('"').next().map(|p| dir.join(p)))
                .collect::<Vec<_>>()
        })
        .collect();
    let undocumented: Vec<String> = sources
        .iter()
        .filter(|file| {
            let path = file.to_string_lossy();
            // Library and binary roots and every module file under a `src/`, and each test
            // harness's root; build scripts and benches too.
            path.contains("/src/")
                || path.ends_with("/main.rs")
                || path.ends_with("/lib.rs")
                || path.ends_with("/build.rs")
                || path.contains("/benches/")
        })
        .filter(|file| {
            let text = std::fs::read_to_string(file).unwrap();
            // A file pulled into a build script with `include!` cannot hold an inner doc
            // comment; its item's own `///` says it instead.
            let included = included.iter().any(|i| file.ends_with(i));
            !(text.trim_start().starts_with("//!")
                || included && text.trim_start().starts_with("///"))
        })
        .map(|file| file.strip_prefix(&root).unwrap().display().to_string())
        .collect();
    assert!(sources.len() > 40, "the scan found the sources");
    assert!(
        undocumented.is_empty(),
        "files with no `//!` doc comment saying what they are for:\n{}",
        undocumented.join("\n")
    );
}

#[test]
fn the_path_scan_recognises_paths_and_only_paths() {
    let text = "see `crates/tinjau-core/src/merge.rs`, `docs/merge.md`. Not `a b`, not \
                `Store::score`, not `tests/desktop/node_modules`, not `ui/src/**/*.ts`.";
    assert_eq!(
        documented_paths(text),
        ["crates/tinjau-core/src/merge.rs", "docs/merge.md"]
    );
}

/// The workspace forbids unsafe code, and every crate takes the workspace's lints: a crate that
/// set its own (to allow `unsafe`, say) would slip past the compiler's check, not past this one.
#[test]
fn no_code_is_unsafe() {
    let root = root();
    let mut sources = Vec::new();
    for dir in ["crates", "src-tauri", "tests", "fuzz"] {
        files(&root.join(dir), &[".rs"], &mut sources);
    }
    let mut found = Vec::new();
    for path in &sources {
        let text = std::fs::read_to_string(path).unwrap();
        for (n, line) in text.lines().enumerate() {
            // The line's code: no comment, no string literal (a CSP test names 'unsafe-inline').
            let code: String = line
                .split("//")
                .next()
                .unwrap_or("")
                .split('"')
                .step_by(2)
                .collect();
            let words: Vec<&str> = code
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .collect();
            if words.contains(&"unsafe") || words.contains(&"unsafe_code") {
                let relative = path.strip_prefix(&root).unwrap().display().to_string();
                found.push(format!("{relative}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    // This test's own text names the words it looks for.
    found.retain(|f| !f.starts_with("tests/workspace/tidy.rs"));
    assert_eq!(found, Vec::<String>::new(), "unsafe code");
}
