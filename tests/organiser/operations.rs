//! Running the server for real: a backup taken while jurors push restores with every change
//! that had been acknowledged before it began.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tinjau_tests::{Db, Laptop, Server, VISIT};

/// (when a sync finished, how many of the laptop's changes were acknowledged by then).
type Acks = Arc<Mutex<Vec<(Instant, usize)>>>;

#[test]
fn a_backup_taken_during_pushes_restores_every_acknowledged_change() {
    let jurors = [
        ("akademisi", "juror"),
        ("dindik", "juror"),
        ("dinkes", "juror"),
    ];
    let (server, tokens) = Server::start(Db::Sqlite, &jurors);
    let stop = Arc::new(AtomicBool::new(false));
    let mut pushers = Vec::new();
    for (juror, _) in jurors {
        let (url, token, stop) = (server.url.clone(), tokens[juror].clone(), stop.clone());
        let acks: Acks = Arc::default();
        let record = acks.clone();
        let handle = std::thread::spawn(move || {
            let mut laptop = Laptop::joined(&url, &token, chrono::Duration::zero());
            let mut round = 0;
            while !stop.load(Ordering::Relaxed) && round < 2000 {
                laptop
                    .store
                    .observe(VISIT, &format!("Catatan {round} dari {juror}"), None, &[])
                    .unwrap();
                laptop.sync(&url).expect("a push");
                let acked = laptop
                    .store
                    .device_entries(laptop.store.device_id())
                    .unwrap()
                    .len();
                record.lock().unwrap().push((Instant::now(), acked));
                round += 1;
            }
            laptop
        });
        pushers.push((handle, acks));
    }
    // Pushes are under way; back up in the middle of them.
    while pushers
        .iter()
        .any(|(_, acks)| acks.lock().unwrap().len() < 5)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("cadangan.sqlite3");
    let began = Instant::now();
    let output = server
        .admin_command()
        .args(["backup", "--out"])
        .arg(&backup)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "backup: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);

    // Restore: the file becomes a new server's database.
    let restored_dir = tempfile::tempdir().unwrap();
    std::fs::copy(&backup, restored_dir.path().join("tinjau-server.sqlite3")).unwrap();
    let restored = Server::spawn(
        Db::Sqlite,
        restored_dir.path().to_path_buf(),
        None,
        Vec::new(),
    );
    let conn =
        rusqlite::Connection::open(restored_dir.path().join("tinjau-server.sqlite3")).unwrap();
    let logged: std::collections::HashSet<String> = conn
        .prepare("SELECT change_id FROM change_log")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut checked = 0;
    let mut after = 0;
    for (handle, acks) in pushers {
        let laptop = handle.join().expect("a pusher");
        let entries = laptop
            .store
            .device_entries(laptop.store.device_id())
            .unwrap();
        let acks = acks.lock().unwrap();
        let before_backup = acks
            .iter()
            .filter(|(at, _)| *at < began)
            .map(|(_, n)| *n)
            .max()
            .unwrap_or(0);
        assert!(before_backup >= 5, "pushes ran before the backup");
        for entry in &entries[..before_backup] {
            assert!(
                logged.contains(&entry.change_id.to_string()),
                "change {} was acknowledged before the backup began but is not in it",
                entry.change_id
            );
            checked += 1;
        }
        after += entries.len() - before_backup;
    }
    assert!(after > 0, "pushes went on during and after the backup");
    // The restored server serves: a juror's token from before the backup still works.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let status = reqwest::blocking::Client::new()
        .get(format!("{}/v1/whoami", restored.url))
        .bearer_auth(&tokens["akademisi"])
        .send()
        .unwrap()
        .status();
    assert_eq!(status, 200);
    assert!(checked >= 15);
}

#[test]
fn a_postgresql_backup_is_left_to_pg_dump_in_words() {
    let Some(db) = tinjau_tests::postgres() else {
        return;
    };
    let (server, _) = Server::start(db, &[]);
    let out = tempfile::tempdir().unwrap();
    let output = server
        .admin_command()
        .args(["backup", "--out"])
        .arg(out.path().join("x.sqlite3"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("pg_dump"));
    assert!(!out.path().join("x.sqlite3").exists());
}
