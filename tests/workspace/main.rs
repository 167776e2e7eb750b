//! Invariants of the workspace itself, checked with `cargo metadata`.

use std::collections::{BTreeSet, HashMap};
use std::process::Command;

mod commands;
mod portable;
mod tidy;

/// Crates that do IO (databases, network, async runtimes, UI shells, files).
const IO_CRATES: &[&str] = &[
    "rusqlite",
    "libsqlite3-sys",
    "reqwest",
    "hyper",
    "tokio",
    "mio",
    "axum",
    "tauri",
    "wry",
    "tempfile",
    "postgres",
    "tokio-postgres",
    "sqlx",
];

fn metadata() -> serde_json::Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(rustc)
        .arg("-vV")
        .output()
        .expect("rustc -vV runs");
    let host = String::from_utf8(version.stdout)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .expect("rustc names its host");
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--filter-platform",
            &host,
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Every crate `root` depends on to build (normal dependencies, transitively; no dev-deps).
fn normal_dependencies(metadata: &serde_json::Value, root_name: &str) -> BTreeSet<String> {
    let names: HashMap<&str, &str> = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let nodes: HashMap<&str, &serde_json::Value> = metadata["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["id"].as_str().unwrap(), n))
        .collect();
    let root = names
        .iter()
        .find(|(_, name)| **name == root_name)
        .map(|(id, _)| *id)
        .unwrap();
    let mut seen = BTreeSet::new();
    let mut stack = vec![root];
    while let Some(id) = stack.pop() {
        for dep in nodes[id]["deps"].as_array().unwrap() {
            let is_normal = dep["dep_kinds"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kind"].is_null());
            let dep_id = dep["pkg"].as_str().unwrap();
            if is_normal && seen.insert(names[dep_id].to_string()) {
                stack.push(dep_id);
            }
        }
    }
    seen
}

#[test]
fn the_core_has_no_io_dependencies() {
    let deps = normal_dependencies(&metadata(), "tinjau-core");
    let forbidden: Vec<&&str> = IO_CRATES.iter().filter(|c| deps.contains(**c)).collect();
    assert!(
        forbidden.is_empty(),
        "tinjau-core depends on IO crates {forbidden:?}"
    );
    // The check sees real dependencies (guards against a broken walk passing vacuously).
    assert!(
        deps.contains("serde") && deps.contains("blake3"),
        "{deps:?}"
    );
}

#[test]
fn the_store_does_not_depend_on_network_or_ui_crates() {
    let deps = normal_dependencies(&metadata(), "tinjau-store");
    for crate_name in ["reqwest", "hyper", "tokio", "axum", "tauri"] {
        assert!(
            !deps.contains(crate_name),
            "tinjau-store depends on {crate_name}"
        );
    }
    assert!(deps.contains("rusqlite"));
}

#[test]
fn the_reports_depend_on_the_core_only_not_on_the_store_or_the_network() {
    let deps = normal_dependencies(&metadata(), "tinjau-report");
    for crate_name in ["tinjau-store", "rusqlite", "reqwest", "tokio", "tauri"] {
        assert!(
            !deps.contains(crate_name),
            "tinjau-report depends on {crate_name}"
        );
    }
    assert!(deps.contains("tinjau-core") && deps.contains("typst"));
}

/// The desktop commands' names are listed for the permissions (`src-tauri/src/commands.rs`,
/// which `build.rs` reads) and granted by the capability; both must name exactly the commands
/// `generate_handler!` registers. (The UI's side is generated: see `commands.rs` here.)
#[test]
fn every_desktop_command_is_registered_and_granted_by_its_name() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let read = |path: &str| std::fs::read_to_string(root.join(path)).unwrap();
    let quoted = |text: &str| -> BTreeSet<String> {
        text.split('"')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    };
    let commands_rs = read("src-tauri/src/commands.rs");
    let listed = quoted(&commands_rs[commands_rs.find("&[").unwrap()..]);
    let lib = read("src-tauri/src/lib.rs");
    let handler = &lib[lib.find("generate_handler![").unwrap()..];
    let handler = &handler[..handler.find(']').unwrap()];
    let registered: BTreeSet<String> = handler["generate_handler![".len()..]
        .split(',')
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .collect();
    let capability: serde_json::Value =
        serde_json::from_str(&read("src-tauri/capabilities/default.json")).unwrap();
    let granted: BTreeSet<String> = capability["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p.as_str()?.strip_prefix("allow-"))
        .map(|p| p.replace('-', "_"))
        .collect();
    assert_eq!(
        registered, listed,
        "generate_handler! and commands.rs differ"
    );
    assert_eq!(granted, listed, "the capability and commands.rs differ");
}
