//! Sync through the `tinjau` binary, as a juror types it.

use std::path::Path;

use tinjau_tests::{Db, Server, VISIT};

pub(crate) fn tinjau(dir: &Path, args: &[&str]) -> (bool, serde_json::Value, String) {
    let output = tinjau_tests::tinjau_cli()
        .arg("--data-dir")
        .arg(dir)
        .arg("--json")
        .args(args)
        .env_remove("TINJAU_DATA_DIR")
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    let value = serde_json::from_str(stdout.lines().last().unwrap_or("null"))
        .unwrap_or(serde_json::Value::Null);
    (output.status.success(), value, stderr)
}

#[test]
fn a_juror_joins_syncs_sees_and_resolves_a_conflict_from_the_command_line() {
    let (server, tokens) = Server::start(Db::Sqlite, &[("akademisi", "juror")]);
    let (office, field) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for dir in [office.path(), field.path()] {
        let (ok, report, stderr) = tinjau(
            dir,
            &[
                "sync",
                "--server",
                &server.url,
                "--token",
                &tokens["akademisi"],
            ],
        );
        assert!(ok, "{stderr}");
        assert_eq!(report["pushed"], 0);
    }
    assert!(tinjau(office.path(), &["score", VISIT, "I1", "80"]).0);
    let (_, status, _) = tinjau(office.path(), &["status"]);
    assert_eq!(status["pending_changes"], 1);
    assert!(tinjau(field.path(), &["score", VISIT, "I1", "65"]).0);
    let (ok, report, _) = tinjau(office.path(), &["sync"]);
    assert!(ok);
    assert_eq!(report["pushed"], 1);
    let (_, report, _) = tinjau(field.path(), &["sync"]);
    assert_eq!(report["conflicts"], 1);
    tinjau(office.path(), &["sync"]);

    let (_, status, _) = tinjau(office.path(), &["status"]);
    assert_eq!(
        (
            status["pending_changes"].as_u64(),
            status["open_conflicts"].as_u64()
        ),
        (Some(0), Some(1))
    );
    assert!(status["last_sync"].is_string() && status["clock_skew_ms"].is_i64());
    let (_, conflicts, _) = tinjau(office.path(), &["conflicts"]);
    let id = conflicts[0]["conflict_id"].as_str().unwrap().to_string();
    assert_eq!(conflicts[0]["candidates"].as_array().unwrap().len(), 2);

    let (ok, _, stderr) = tinjau(office.path(), &["resolve", &id, "--value", "72.5"]);
    assert!(ok, "{stderr}");
    tinjau(office.path(), &["sync"]);
    tinjau(field.path(), &["sync"]);
    let (_, checklist, _) = tinjau(field.path(), &["visit", VISIT]);
    assert_eq!(
        checklist["groups"][0]["score"]["value"], 72.5,
        "the resolution reached the other laptop"
    );
    let (_, conflicts, _) = tinjau(field.path(), &["conflicts"]);
    assert_eq!(conflicts.as_array().unwrap().len(), 0);
}

#[test]
fn sync_errors_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    assert!(tinjau(dir.path(), &["import", "--demo"]).0);
    let (ok, _, stderr) = tinjau(dir.path(), &["sync"]);
    assert!(!ok);
    assert!(
        stderr.contains("sync_setup") && stderr.contains("--server URL --token TOKEN"),
        "{stderr}"
    );
    // Nothing listens on port 9: offline, said plainly, after a few retries.
    let (ok, _, stderr) = tinjau(
        dir.path(),
        &["sync", "--server", "http://127.0.0.1:9", "--token", "tjk_x"],
    );
    assert!(!ok);
    assert!(
        stderr.contains("\"offline\"") && stderr.contains("cannot reach the server"),
        "{stderr}"
    );
    let (ok, _, stderr) = tinjau(
        dir.path(),
        &["sync", "--server", "ftp://example", "--token", "tjk_x"],
    );
    assert!(!ok);
    assert!(stderr.contains("http://"), "{stderr}");
}
