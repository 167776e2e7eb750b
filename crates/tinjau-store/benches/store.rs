//! `cargo bench -p tinjau-store --bench store`
//!
//! 1. Durable save latency: 10,000 score/verification saves through the store (domain row plus
//!    change-log entry, one transaction each, WAL + synchronous=FULL), beside a bare SQLite
//!    insert with the same pragmas on the same disk, plain and encrypted (SQLCipher). Reports
//!    p50/p99, the ratio and the cost of encryption.
//! 2. Import time of a package with 50 participants × 40 innovations.
//!
//! Set `TINJAU_BENCH_SAVES` to change the number of saves. The data goes to a temporary
//! directory under `TINJAU_BENCH_DIR` (default: the system's temp dir), so the disk is the one
//! a juror's data would be on when that variable points at it.

use std::io::Write;
use std::time::{Duration, Instant};

use tinjau_core::Verdict;
use tinjau_store::{Store, StoreOptions, VerifyRequest, open_connection};

const VISIT: &str = "visit-junrejo";
const DEMO: &str = include_str!("../../../assets/skk-jatim-2023.json");

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

fn report(out: &mut impl Write, name: &str, mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let (p50, p99) = (percentile(&samples, 0.50), percentile(&samples, 0.99));
    let _ = writeln!(
        out,
        "{name:<34} n={:<6} p50={:>9.3?} p99={:>9.3?} max={:>9.3?}",
        samples.len(),
        p50,
        p99,
        samples[samples.len() - 1]
    );
    (p50, p99)
}

fn temp_dir() -> tempfile::TempDir {
    match std::env::var_os("TINJAU_BENCH_DIR") {
        Some(dir) => tempfile::tempdir_in(dir).expect("temp dir in TINJAU_BENCH_DIR"),
        None => tempfile::tempdir().expect("temp dir"),
    }
}

/// A store as the app opens it (`encrypted`: SQLCipher, keyed from a passphrase) or plain.
fn open(dir: &std::path::Path, encrypted: bool) -> Store {
    let unlock = encrypted.then(|| {
        tinjau_store::crypt::Unlock::Passphrase(zeroize::Zeroizing::new("bench".to_string()))
    });
    Store::open(
        dir,
        StoreOptions {
            unlock,
            ..StoreOptions::default()
        },
    )
    .unwrap()
}

fn store_saves(saves: usize, encrypted: bool) -> Vec<Duration> {
    let dir = temp_dir();
    let mut store = open(dir.path(), encrypted);
    store.import_package(DEMO.as_bytes()).unwrap();
    store.init_juror("akademisi").unwrap();
    let package = store.package().unwrap().clone();
    let indicators: Vec<String> = package.indicators.iter().map(|i| i.id.clone()).collect();
    let innovations: Vec<String> = package
        .participant("junrejo")
        .unwrap()
        .innovations
        .iter()
        .map(|i| i.id.clone())
        .collect();
    let verdicts = [Verdict::Found, Verdict::Partial, Verdict::NotFound];
    let mut samples = Vec::with_capacity(saves);
    for i in 0..saves {
        let started = Instant::now();
        if i % 2 == 0 {
            // Each save changes the value, so each one writes a change-log entry.
            let value = (i % 100) as f64 + 0.5;
            store
                .score(VISIT, &indicators[i / 2 % indicators.len()], value, None)
                .unwrap();
        } else {
            store
                .verify(&VerifyRequest {
                    visit: VISIT.into(),
                    innovation: innovations[i / 2 % innovations.len()].clone(),
                    verdict: verdicts[i / 2 / innovations.len() % verdicts.len()],
                    note: Some(format!("catatan {i}")),
                    evidence: vec![],
                })
                .unwrap();
        }
        samples.push(started.elapsed());
    }
    store.audit().unwrap();
    samples
}

fn bare_inserts(saves: usize) -> Vec<Duration> {
    let dir = temp_dir();
    let conn = open_connection(&dir.path().join("bare.sqlite3")).unwrap();
    conn.execute_batch(
        "CREATE TABLE bare (id INTEGER PRIMARY KEY, value REAL NOT NULL, note TEXT NOT NULL)",
    )
    .unwrap();
    let mut insert = conn
        .prepare("INSERT INTO bare (value, note) VALUES (?1, ?2)")
        .unwrap();
    let mut samples = Vec::with_capacity(saves);
    for i in 0..saves {
        let started = Instant::now();
        insert
            .execute(rusqlite::params![i as f64, "catatan"])
            .unwrap();
        samples.push(started.elapsed());
    }
    samples
}

fn big_package(participants: usize, innovations: usize) -> Vec<u8> {
    let mut package: serde_json::Value = serde_json::from_str(DEMO).unwrap();
    let template = package["participants"][0].clone();
    let mut all = Vec::new();
    for p in 0..participants {
        let mut participant = template.clone();
        participant["id"] = format!("kecamatan-{p}").into();
        participant["name"] = format!("Kecamatan Contoh {p} (contoh)").into();
        participant["innovations"] = (0..innovations)
            .map(|n| {
                serde_json::json!({
                    "id": format!("inovasi-{n}"),
                    "indicator": format!("I{}", n % 7 + 1),
                    "name": format!("Inovasi {n}"),
                    "summary": "Ringkasan inovasi contoh untuk uji kecepatan impor paket.",
                    "flagship": n == 0
                })
            })
            .collect();
        all.push(participant);
    }
    package["participants"] = all.into();
    package["visits"] = (0..participants)
        .map(|p| {
            serde_json::json!({
                "id": format!("visit-{p}"), "participant": format!("kecamatan-{p}"),
                "date": "2023-11-28", "jurors": ["ketua", "akademisi", "dindik"]
            })
        })
        .collect();
    serde_json::to_vec(&package).unwrap()
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: run a tiny smoke.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let saves: usize = std::env::var("TINJAU_BENCH_SAVES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if smoke { 20 } else { 10_000 });
    let mut out = std::io::stdout().lock();

    let _ = writeln!(
        out,
        "durable saves ({saves} each, WAL + synchronous=FULL, one transaction per save)"
    );
    let (store_p50, store_p99) = report(
        &mut out,
        "store: score/verify + change log",
        store_saves(saves, false),
    );
    let (sealed_p50, sealed_p99) = report(
        &mut out,
        "the same, encrypted (SQLCipher)",
        store_saves(saves, true),
    );
    let (_, bare_p99) = report(
        &mut out,
        "bare SQLite insert, same pragmas",
        bare_inserts(saves),
    );
    let _ = writeln!(
        out,
        "p99 ratio store/bare: {:.2}x plain, {:.2}x encrypted (target: within 2x); \
         encryption costs {:+.0} µs at p50, {:+.0} µs at p99",
        store_p99.as_secs_f64() / bare_p99.as_secs_f64(),
        sealed_p99.as_secs_f64() / bare_p99.as_secs_f64(),
        (sealed_p50.as_secs_f64() - store_p50.as_secs_f64()) * 1e6,
        (sealed_p99.as_secs_f64() - store_p99.as_secs_f64()) * 1e6,
    );

    let bytes = big_package(50, 40);
    let runs = if smoke { 1 } else { 10 };
    let mut samples = Vec::new();
    for _ in 0..runs {
        let dir = temp_dir();
        let mut store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        let started = Instant::now();
        store.import_package(&bytes).unwrap();
        samples.push(started.elapsed());
    }
    let _ = writeln!(
        out,
        "\npackage import: 50 participants x 40 innovations ({} KiB)",
        bytes.len() / 1024
    );
    report(&mut out, "import (parse + validate + commit)", samples);
}
