//! Running the server for real: a backup taken while jurors push restores with every change
//! that had been acknowledged before it began, and the laptops give the restored server back
//! what it lost; the server's Debian package and its systemd unit.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tinjau_tests::{Db, Laptop, Server, VISIT};

/// (when a sync finished, how many of the laptop's changes were acknowledged by then).
type Acks = Arc<Mutex<Vec<(Instant, usize)>>>;

/// The ids of every change in a server database's log.
fn logged_changes(conn: &rusqlite::Connection) -> std::collections::HashSet<String> {
    conn.prepare("SELECT change_id FROM change_log")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

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
    let logged = logged_changes(&conn);
    let mut checked = 0;
    let mut after = 0;
    let mut laptops = Vec::new();
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
        laptops.push(laptop);
    }
    assert!(after > 0, "pushes went on during and after the backup");

    // What the restored server lost, the laptops still have: their next sync notices that the
    // server's log no longer holds what they saw, and sends it again.
    let mut every_change = std::collections::HashSet::new();
    for laptop in &mut laptops {
        let report = laptop
            .sync(&restored.url)
            .expect("a sync with the restored server");
        assert!(report.server_restored, "the laptop noticed the restore");
        let again = laptop.sync(&restored.url).unwrap();
        assert!(!again.server_restored, "once caught up, a sync is ordinary");
        for entry in laptop
            .store
            .device_entries(laptop.store.device_id())
            .unwrap()
        {
            every_change.insert(entry.change_id.to_string());
        }
    }
    let logged = logged_changes(&conn);
    let missing: Vec<_> = every_change.difference(&logged).collect();
    assert!(missing.is_empty(), "lost after the restore: {missing:?}");
    // And, once each has synced after the others, every laptop holds the team's notes.
    for laptop in &mut laptops {
        laptop.sync(&restored.url).unwrap();
    }
    for laptop in &laptops {
        let seen = laptop.store.checklist(VISIT).unwrap().observations.len();
        assert_eq!(
            seen,
            every_change.len(),
            "each laptop sees the whole team's notes"
        );
    }
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

/// The service's environment as systemd reads `EnvironmentFile` (KEY=value, `#` comments).
fn environment_file(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// `ExecStart` split and expanded as systemd does: `${VAR}` stays one word, `$VAR` splits into
/// words (none when empty).
fn exec_start(unit: &str, env: &[(String, String)]) -> Vec<String> {
    let line = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("the unit has an ExecStart");
    let value = |name: &str| {
        env.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let mut words = Vec::new();
    for word in line.split_whitespace() {
        if let Some(name) = word.strip_prefix("${").and_then(|w| w.strip_suffix('}')) {
            words.push(value(name));
        } else if let Some(name) = word.strip_prefix('$') {
            words.extend(value(name).split_whitespace().map(str::to_string));
        } else {
            words.push(word.to_string());
        }
    }
    words
}

#[test]
fn the_server_package_installs_a_unit_systemd_accepts_and_its_command_serves() {
    let root_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let work = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(root_dir.join("scripts/server-deb.sh"))
        .arg(tinjau_tests::bin("tinjau-server"))
        .arg(work.path())
        .output()
        .expect("running scripts/server-deb.sh");
    assert!(
        output.status.success(),
        "server-deb.sh: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let deb = String::from_utf8(output.stdout).unwrap().trim().to_string();
    let info = std::process::Command::new("dpkg-deb")
        .args(["--field", &deb, "Package", "Depends"])
        .output()
        .unwrap();
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(
        info.contains("tinjau-server") && info.contains("adduser"),
        "{info}"
    );
    let root = work.path().join("root");
    for args in [["-x", &deb], ["-e", &deb]] {
        let target = if args[0] == "-e" {
            root.join("DEBIAN")
        } else {
            root.clone()
        };
        let status = std::process::Command::new("dpkg-deb")
            .args(args)
            .arg(&target)
            .status()
            .unwrap();
        assert!(status.success());
    }
    let conffiles = std::fs::read_to_string(root.join("DEBIAN/conffiles")).unwrap();
    assert_eq!(
        conffiles.trim(),
        "/etc/tinjau/server.env",
        "settings survive upgrades"
    );
    let postinst = std::fs::read_to_string(root.join("DEBIAN/postinst")).unwrap();
    assert!(postinst.contains("adduser --system") && postinst.contains("/var/lib/tinjau"));
    for script in ["postinst", "prerm"] {
        let status = std::process::Command::new("sh")
            .arg("-n")
            .arg(root.join("DEBIAN").join(script))
            .status()
            .unwrap();
        assert!(status.success(), "{script} is valid shell");
    }

    // systemd accepts the unit (with the binary where the package puts it, here extracted).
    let unit =
        std::fs::read_to_string(root.join("lib/systemd/system/tinjau-server.service")).unwrap();
    assert!(unit.contains("User=tinjau") && unit.contains("StateDirectory=tinjau"));
    let binary = root.join("usr/bin/tinjau-server");
    let local_unit = work.path().join("tinjau-server.service");
    std::fs::write(
        &local_unit,
        unit.replace("/usr/bin/tinjau-server", &binary.to_string_lossy()),
    )
    .unwrap();
    let verify = std::process::Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&local_unit)
        .output()
        .expect("systemd-analyze (scripts/system-deps.sh test installs systemd)");
    let complaints = String::from_utf8_lossy(&verify.stderr);
    assert!(
        verify.status.success() && complaints.trim().is_empty(),
        "systemd-analyze verify: {complaints}"
    );

    // The unit's own command line, with the package's settings, serves sync and the console.
    let mut env =
        environment_file(&std::fs::read_to_string(root.join("etc/tinjau/server.env")).unwrap());
    let data = work.path().join("var-lib-tinjau");
    for (key, value) in &mut env {
        match key.as_str() {
            "TINJAU_SERVER_DATA_DIR" => *value = data.to_string_lossy().into_owned(),
            "TINJAU_LISTEN" => *value = "127.0.0.1:0".into(),
            _ => {}
        }
    }
    let command = exec_start(&unit, &env);
    assert_eq!(command[0], "/usr/bin/tinjau-server");
    assert_eq!(&command[1..], ["serve", "--listen", "127.0.0.1:0"]);
    let mut child = std::process::Command::new(&binary)
        .args(&command[1..])
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut first,
    )
    .unwrap();
    let url = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_string();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::blocking::Client::new();
    let health = http.get(format!("{url}/healthz")).send().unwrap();
    assert_eq!(health.status(), 200);
    let console = http.get(format!("{url}/console/")).send().unwrap();
    assert_eq!(
        console.status(),
        200,
        "the console's pages are in the binary"
    );
    assert!(console.text().unwrap().contains("Konsol Tinjau"));
    assert!(
        data.join("tinjau-server.sqlite3").exists(),
        "the data lives where the settings say"
    );
    let _ = child.kill();
    let _ = child.wait();
}
