//! Errors reach a user interface by code, with the things they are about named as a person
//! knows them; every code has its words in both of the desktop app's languages.

use std::collections::BTreeSet;
use std::path::Path;

use tinjau_app::{ERROR_CODES, Session};

fn workspace_file(path: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

/// The string literals that follow `marker` in `text` (`=> "code"`, `"code",` after a status…).
fn literals_after(text: &str, marker: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (at, _) in text.match_indices(marker) {
        let rest = text[at + marker.len()..].trim_start();
        if let Some(rest) = rest.strip_prefix('"')
            && let Some(end) = rest.find('"')
        {
            let code = &rest[..end];
            if !code.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                found.insert(code.to_string());
            }
        }
    }
    found
}

#[test]
fn every_code_the_layers_below_can_send_is_known() {
    let mut codes = BTreeSet::new();
    let store = workspace_file("crates/tinjau-store/src/error.rs");
    let store_codes = store
        .split("pub fn code")
        .nth(1)
        .expect("StoreError::code exists");
    codes.extend(literals_after(store_codes, "=>"));
    let sync = workspace_file("crates/tinjau-sync/src/lib.rs");
    let sync_codes = sync
        .split("pub fn code")
        .nth(1)
        .expect("SyncError::code exists");
    let sync_codes = &sync_codes[..sync_codes.find("pub fn is_transient").unwrap()];
    codes.extend(literals_after(sync_codes, "=>"));
    let server = workspace_file("crates/tinjau-server/src/lib.rs");
    for status in server.match_indices("StatusCode::") {
        let rest = &server[status.0 + "StatusCode::".len()..];
        let after_status = rest.trim_start_matches(|c: char| c.is_ascii_uppercase() || c == '_');
        if let Some(after_comma) = after_status.trim_start().strip_prefix(',') {
            codes.extend(literals_after(
                &after_comma[..after_comma.len().min(80)],
                "",
            ));
        }
    }
    codes.extend(literals_after(&server, "bad_request("));
    for file in ["session.rs", "documents.rs", "error.rs"] {
        let text = workspace_file(&format!("crates/tinjau-app/src/{file}"));
        codes.extend(literals_after(&text, "ErrorPayload::new("));
    }
    let shell = workspace_file("src-tauri/src/lib.rs");
    codes.extend(literals_after(&shell, "ErrorPayload::new("));
    assert!(codes.len() > 50, "the scan found the codes: {codes:?}");
    let known: BTreeSet<String> = ERROR_CODES.iter().map(|c| c.to_string()).collect();
    let unknown: Vec<_> = codes.difference(&known).collect();
    assert!(
        unknown.is_empty(),
        "codes a user interface may receive but ERROR_CODES does not list: {unknown:?}"
    );
}

#[test]
fn every_known_code_has_words_in_both_languages() {
    for locale in ["id", "en"] {
        let text = workspace_file(&format!("ui/src/locales/{locale}.json"));
        let words: serde_json::Value = serde_json::from_str(&text).unwrap();
        let missing: Vec<_> = ERROR_CODES
            .iter()
            .filter(|code| words.get(format!("error.{code}")).is_none())
            .collect();
        assert!(
            missing.is_empty(),
            "ui/src/locales/{locale}.json has no words for {missing:?}"
        );
    }
}

#[test]
fn an_error_names_the_kecamatan_and_the_indicators_not_their_ids() {
    let dir = tempfile::tempdir().unwrap();
    let session = Session::open(
        dir.path(),
        tinjau_app::keys::KeyChoice::passphrase("tes-kata-sandi"),
    )
    .unwrap();
    session.load_demo().unwrap();
    session.choose_juror("akademisi", None).unwrap();
    let error = session.with(|s| s.submit("visit-junrejo")).unwrap_err();
    assert_eq!(error.code, "sheet_incomplete");
    assert_eq!(error.params["visit"], "Kecamatan Junrejo");
    let indicators = &error.params["indicators"];
    assert!(
        indicators.starts_with("I1 ") && !indicators.contains("visit-"),
        "indicators named by code and name: {indicators}"
    );
    assert!(
        error.message.contains("visit-junrejo"),
        "the CLI's English keeps the id"
    );

    let error = session.with(|s| s.checklist("visit-nowhere")).unwrap_err();
    assert_eq!(error.code, "unknown_visit");

    // A crafted attachment id names nothing, whatever its shape.
    for evidence in [
        "../../x",
        "",
        &"f".repeat(10_000),
        "00000000-0000-0000-0000-000000000000",
    ] {
        let error = session
            .with(|s| s.remove_evidence("visit-junrejo", evidence, true))
            .unwrap_err();
        assert_eq!(error.code, "unknown_evidence");
    }

    let error = session.evidence_bytes(&"ab".repeat(32)).unwrap_err();
    assert_eq!(error.code, "pending_upload");
    let error = session.evidence_bytes("../../etc/passwd").unwrap_err();
    assert_eq!(error.code, "pending_upload", "a non-hash names no file");
}

#[test]
fn a_staged_file_name_never_leaves_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    let session = Session::open(
        dir.path(),
        tinjau_app::keys::KeyChoice::passphrase("tes-kata-sandi"),
    )
    .unwrap();
    for name in [
        "../../escape.jpg",
        "..",
        "a\\b.jpg",
        "c:d.jpg",
        "x\u{1b}[2J.jpg",
        "",
    ] {
        session.stage_file(name, b"bytes").unwrap();
    }
    let staged = dir.path().join("staging");
    for folder in std::fs::read_dir(&staged).unwrap() {
        let files: Vec<_> = std::fs::read_dir(folder.unwrap().path())
            .unwrap()
            .map(|f| f.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(files, vec!["bukti".to_string()]);
    }
    assert!(!dir.path().join("escape.jpg").exists());
}
