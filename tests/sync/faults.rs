//! At-least-once delivery with exactly-once effect, through replays, lost answers, and
//! processes killed in the middle.

use std::process::{Command, Stdio};
use std::time::Duration;

use tinjau_core::sync::{Outcome, PushRequest};
use tinjau_tests::{Db, Fault, Laptop, Proxy, Server, VISIT};

use crate::server_log;

const PAIR: [(&str, &str); 2] = [("ketua", "lead"), ("akademisi", "juror")];

fn outcomes(response: &tinjau_core::sync::PushResponse) -> Vec<&'static str> {
    response
        .outcomes
        .iter()
        .map(|o| match o.outcome {
            Outcome::Applied => "applied",
            Outcome::Duplicate => "duplicate",
            Outcome::Conflict { .. } => "conflict",
            Outcome::Rejected { .. } => "rejected",
        })
        .collect()
}

fn replayed_duplicated_and_reordered_pushes_change_nothing_twice(db: Db) {
    let (server, tokens) = Server::start(db.clone(), &PAIR);
    let mut juror = Laptop::joined(&server.url, &tokens["akademisi"], chrono::Duration::zero());
    juror.score_and_submit(VISIT, 70.0);
    let entries = juror.store.device_entries(juror.store.device_id()).unwrap();
    assert_eq!(entries.len(), 8);
    let client = juror.client(&server.url);
    let push = |changes: Vec<tinjau_core::chain::ChangeEntry>| {
        let request = PushRequest {
            device_id: juror.store.device_id(),
            client_time_ms: 0,
            changes,
            registrations: juror.registrations(),
        };
        client.push(&request).unwrap().0
    };
    // Later changes first (scores 4 to 7), then the earlier ones with the submission (which
    // the server takes only once every score it rests on has arrived) and one change twice.
    assert_eq!(outcomes(&push(entries[3..7].to_vec())), ["applied"; 4]);
    let mut first = entries[..3].to_vec();
    first.push(entries[7].clone());
    first.push(entries[0].clone());
    assert_eq!(
        outcomes(&push(first)),
        ["applied", "applied", "applied", "applied", "duplicate"]
    );
    // A replay of everything.
    assert_eq!(outcomes(&push(entries.clone())), ["duplicate"; 8], "{db:?}");
    // The client's own sync now learns that the server has it all.
    let report = juror.sync(&server.url).unwrap();
    assert_eq!((report.pushed, report.duplicates), (0, 8), "{db:?}");
    assert_eq!(
        server_log(&server.url, &tokens["ketua"]).len(),
        8,
        "{db:?}: no double effect"
    );
}

fn a_response_lost_after_commit_is_retried_and_answered_duplicate(db: Db) {
    let (server, tokens) = Server::start(db.clone(), &PAIR);
    let proxy = Proxy::start(&server.url);
    let mut juror = Laptop::joined(&server.url, &tokens["akademisi"], chrono::Duration::zero());
    juror.score_and_submit(VISIT, 75.0);
    proxy.set(Fault::DropResponse);
    let error = juror.sync(&proxy.url).unwrap_err();
    assert!(error.is_transient(), "{db:?}: {error}");
    assert_eq!(
        juror.store.sync_status().unwrap().pending_changes,
        8,
        "nothing is marked sent without an answer"
    );
    let report = juror.sync(&proxy.url).unwrap();
    assert_eq!(
        (report.pushed, report.duplicates),
        (0, 8),
        "{db:?}: the retry finds everything already there"
    );
    assert_eq!(juror.store.sync_status().unwrap().pending_changes, 0);
    assert_eq!(server_log(&server.url, &tokens["ketua"]).len(), 8, "{db:?}");
}

/// Writes `count` score changes on a juror's laptop (values alternate so each one is a change).
fn many_changes(laptop: &mut Laptop, count: usize) {
    for i in 0..count {
        let indicator = tinjau_tests::INDICATORS[i % 7];
        laptop
            .store
            .score(VISIT, indicator, (i % 90) as f64 + 0.5, None)
            .unwrap();
    }
}

fn tinjau(data_dir: &std::path::Path, args: &[&str]) -> Command {
    let mut command = tinjau_tests::tinjau_cli();
    command
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("TINJAU_DATA_DIR")
        .env("RUST_LOG", "off")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

fn a_client_killed_mid_push_and_mid_pull_converges_and_its_cursor_never_runs_ahead(db: Db) {
    let (server, tokens) = Server::start(db.clone(), &PAIR);
    let proxy = Proxy::start(&server.url);
    let mut juror = Laptop::joined(&proxy.url, &tokens["akademisi"], chrono::Duration::zero());
    many_changes(&mut juror, 1500);
    // Close the store, keep its folder: the `tinjau` binary takes over.
    let Laptop {
        dir: juror_folder,
        store,
        ..
    } = juror;
    drop(store);
    let juror_dir = juror_folder.path().to_path_buf();

    // A slow link (about 60 KB/s); the `tinjau` process is killed at several moments.
    proxy.set(Fault::Throttle(60_000));
    for kill_after in [150u64, 400, 900] {
        let mut child = tinjau(&juror_dir, &["sync"]).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(kill_after));
        let _ = child.kill();
        let _ = child.wait();
    }
    proxy.set(Fault::Pass);
    let output = tinjau(&juror_dir, &["sync"])
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{db:?}: the sync after the kills fails: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        server_log(&server.url, &tokens["ketua"]).len(),
        1500,
        "{db:?}: every change once"
    );

    // The lead (joined, nothing pulled yet) is killed in the middle of its pull, several times.
    let mut lead = Laptop::new(chrono::Duration::zero());
    tinjau_sync::join(&mut lead.store, &proxy.url, &tokens["ketua"], None).unwrap();
    let Laptop {
        dir: lead_folder,
        store,
        ..
    } = lead;
    drop(store);
    let lead_path = lead_folder.path().to_path_buf();
    proxy.set(Fault::Throttle(60_000));
    for kill_after in [120u64, 300, 600] {
        let mut child = tinjau(&lead_path, &["sync"]).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(kill_after));
        let _ = child.kill();
        let _ = child.wait();
        // Whatever the cursor says was applied, is applied.
        let conn = tinjau_tests::app_database(&lead_path);
        let cursor: i64 = conn
            .query_row(
                "SELECT COALESCE(MAX(cursor), 0) FROM sync_cursor",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let log = server_log(&server.url, &tokens["ketua"]);
        for change in log.iter().filter(|c| c.seq as i64 <= cursor) {
            let present: bool = conn
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM change_log WHERE change_id = ?1)",
                    [change.entry.change_id.to_string()],
                    |r| r.get(0),
                )
                .unwrap();
            assert!(
                present,
                "{db:?}: cursor {cursor} is ahead of change {} (seq {})",
                change.entry.change_id, change.seq
            );
        }
        let integrity: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(integrity, "ok");
    }
    proxy.set(Fault::Pass);
    assert!(tinjau(&lead_path, &["sync"]).status().unwrap().success());
    let conn = tinjau_tests::app_database(&lead_path);
    let held: i64 = conn
        .query_row("SELECT COUNT(*) FROM change_log", [], |r| r.get(0))
        .unwrap();
    assert_eq!(held, 1500, "{db:?}: the lead converges on every change");
    assert!(tinjau(&lead_path, &["audit"]).status().unwrap().success());
}

fn a_server_killed_mid_push_and_restarted_converges(db: Db) {
    let (mut server, tokens) = Server::start(db.clone(), &PAIR);
    let proxy = Proxy::start(&server.url);
    let mut juror = Laptop::joined(&server.url, &tokens["akademisi"], chrono::Duration::zero());
    many_changes(&mut juror, 1200);
    proxy.set(Fault::Throttle(60_000));
    let proxy_url = proxy.url.clone();
    let pushing = std::thread::spawn(move || {
        let result = juror.sync(&proxy_url);
        (juror, result)
    });
    std::thread::sleep(Duration::from_millis(700));
    server.kill9();
    let (juror, result) = pushing.join().unwrap();
    assert!(
        result.is_err(),
        "{db:?}: the push should have been cut by the kill"
    );
    let mut juror = juror.reopen();
    server.restart();
    proxy.retarget(&server.url);
    proxy.set(Fault::Pass);
    juror.sync(&proxy.url).unwrap();
    assert_eq!(
        juror.store.sync_status().unwrap().pending_changes,
        0,
        "{db:?}"
    );
    let log = server_log(&server.url, &tokens["ketua"]);
    assert_eq!(
        log.len(),
        1200,
        "{db:?}: every change once after the restart"
    );
    let seqs: Vec<u64> = log.iter().map(|c| c.seq).collect();
    assert_eq!(seqs, (1..=1200).collect::<Vec<_>>(), "{db:?}: no gaps");
}

tinjau_tests::per_backend!(
    replayed_duplicated_and_reordered_pushes_change_nothing_twice,
    a_response_lost_after_commit_is_retried_and_answered_duplicate,
    a_client_killed_mid_push_and_mid_pull_converges_and_its_cursor_never_runs_ahead,
    a_server_killed_mid_push_and_restarted_converges,
);
