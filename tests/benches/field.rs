//! `cargo build --release -p tinjau-server && cargo bench -p tinjau-tests --bench field`
//! (the server runs as its own process: its release binary must be built first)
//!
//! One visit's whole sync on a poor link: seven laptops (six jurors and the lead) share one
//! link through the fault proxy — `TINJAU_BENCH_MBIT` Mbit/s each way (default 1), 300 ms round
//! trip, and a cut every `TINJAU_BENCH_CUT_MB` MB (default 3) that drops the connections on it.
//! Each juror verifies the visit's twelve innovations, scores seven indicators and submits; the
//! jury attaches `TINJAU_BENCH_PHOTOS` phone photos between them (default 50; 4000×3000 JPEGs
//! of about 4 MB, generated). Every laptop syncs again until its sync succeeds, as the app's
//! sync loop does; the lead syncs over and over until it has every juror's changes and every
//! preview. Then each juror sends the originals ("kirim asli sekarang") over the same link.
//!
//! Reported: the time until the lead has every change and preview, beside the link's limit
//! (the bytes that must cross it ÷ bandwidth); the time until every original has reached the
//! server; the bytes that went up the link beyond the files and changes themselves (HTTP, and
//! what the cuts made send again). Without `--bench` (as `cargo test` runs it) it is a small
//! smoke run on a faster link.

use std::io::Write;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use tinjau_core::Verdict;
use tinjau_core::views::OriginalsPolicy;
use tinjau_store::VerifyRequest;
use tinjau_tests::{Db, Fault, INDICATORS, Laptop, Link, Proxy, Server, VISIT, phone_photo};

const JURORS: [&str; 7] = tinjau_tests::JURY;

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Syncs until a sync succeeds (a cut link fails one), as the app's sync loop does.
fn sync_until_done(
    laptop: &mut Laptop,
    url: &str,
    originals: bool,
) -> (tinjau_sync::SyncReport, u32) {
    let mut failures = 0;
    loop {
        let client = laptop.client(url);
        let result = if originals {
            tinjau_sync::sync_sending_originals(
                &mut laptop.store,
                &client,
                &mut tinjau_sync::NoProgress,
            )
        } else {
            tinjau_sync::sync_once(&mut laptop.store, &client, &mut tinjau_sync::NoProgress)
        };
        match result {
            Ok(report) => return (report, failures),
            Err(error) => {
                if std::env::var_os("TINJAU_BENCH_VERBOSE").is_some() {
                    let _ = writeln!(std::io::stderr(), "sync failed: {error}");
                }
                failures += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// Every juror's sheet submitted and every preview here.
fn lead_has_everything(lead: &Laptop, photos: usize) -> bool {
    let evidence = lead.store.visit_evidence(VISIT).unwrap();
    let submitted = JURORS.iter().all(|juror| {
        lead.store.sheet_state(juror, VISIT).ok() == Some(tinjau_core::SheetState::Submitted)
    });
    submitted
        && evidence.len() == photos
        && evidence
            .iter()
            .all(|e| e.preview_available || (e.preview_hash.is_none() && e.available))
}

fn main() {
    let smoke = !std::env::args().any(|a| a == "--bench");
    let photos: usize = env("TINJAU_BENCH_PHOTOS", if smoke { 7 } else { 50 });
    let mbit: f64 = env("TINJAU_BENCH_MBIT", if smoke { 40.0 } else { 1.0 });
    let cut_mb: f64 = env("TINJAU_BENCH_CUT_MB", 3.0);
    let (width, height) = if smoke { (1600, 1200) } else { (4000, 3000) };
    let bytes_per_second = (mbit * 1e6 / 8.0) as u64;
    let mut out = std::io::stdout().lock();

    let roles = tinjau_tests::jury_roles();
    let (server, tokens) = Server::start(Db::Sqlite, &roles);
    let package = tinjau_core::Package::parse(tinjau_tests::DEMO.as_bytes()).unwrap();
    let visit = package.visit(VISIT).unwrap();
    let innovations: Vec<String> = package
        .participant(&visit.participant)
        .unwrap()
        .innovations
        .iter()
        .map(|i| i.id.clone())
        .collect();

    // Each laptop's visit, offline: verdicts, scores, its share of the photos, submitted.
    let started = Instant::now();
    let folder = tempfile::tempdir().unwrap();
    let mut laptops = Vec::new();
    let mut file_bytes = 0u64;
    let mut original_bytes = 0u64;
    let mut preview_bytes = 0u64;
    let mut originals = Vec::new();
    for (n, juror) in JURORS.iter().enumerate() {
        let mut laptop = Laptop::joined(&server.url, &tokens[*juror], chrono::Duration::zero());
        laptop
            .store
            .set_originals_policy(OriginalsPolicy::WhenFast)
            .unwrap();
        let mine: Vec<usize> = (0..photos).filter(|p| p % JURORS.len() == n).collect();
        for (i, innovation) in innovations.iter().enumerate() {
            let evidence: Vec<std::path::PathBuf> = mine
                .iter()
                .filter(|p| *p / JURORS.len() % innovations.len() == i)
                .map(|p| {
                    let path = folder.path().join(format!("IMG_{p:04}.jpg"));
                    std::fs::write(&path, phone_photo(width, height, 6, *p as u64)).unwrap();
                    path
                })
                .collect();
            let views = laptop
                .store
                .verify(&VerifyRequest {
                    visit: VISIT.into(),
                    innovation: innovation.clone(),
                    verdict: Verdict::Found,
                    note: Some(format!("dicek oleh {juror}")),
                    evidence,
                })
                .unwrap();
            for view in views {
                file_bytes += view.size;
                original_bytes += view.size;
                originals.push(view.hash.clone());
                if let Some(preview) = &view.preview_hash {
                    let size = laptop.store.evidence_bytes(preview).unwrap().unwrap().len();
                    preview_bytes += size as u64;
                    file_bytes += size as u64;
                }
            }
        }
        for (i, indicator) in INDICATORS.iter().enumerate() {
            laptop
                .store
                .score(VISIT, indicator, 60.0 + (n * 3 + i) as f64, None)
                .unwrap();
        }
        laptop.store.submit(VISIT).unwrap();
        laptops.push(laptop);
    }
    let _ = writeln!(
        out,
        "{photos} photos ({:.1} MB originals, {:.2} MB previews, {:.0} KB per preview) attached in {:.1?}",
        original_bytes as f64 / 1e6,
        preview_bytes as f64 / 1e6,
        preview_bytes as f64 / photos.max(1) as f64 / 1e3,
        started.elapsed()
    );

    let proxy = Proxy::start(&server.url);
    proxy.set(Fault::Link(Link {
        bytes_per_second,
        one_way: Duration::from_millis(150),
        cut_every: Some((cut_mb * 1e6) as u64),
        cuts_count_down: false,
    }));
    let url = proxy.url.clone();

    // Phase 1: everyone syncs at once; the lead until it has every change and preview.
    let barrier = Arc::new(Barrier::new(JURORS.len()));
    let started = Instant::now();
    let mut lead = laptops.remove(0);
    let threads: Vec<_> = laptops
        .into_iter()
        .map(|mut laptop| {
            let (url, barrier) = (url.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let (report, failures) = sync_until_done(&mut laptop, &url, false);
                (laptop, report, failures)
            })
        })
        .collect();
    barrier.wait();
    let mut lead_syncs = 0;
    loop {
        sync_until_done(&mut lead, &url, false);
        lead_syncs += 1;
        if lead_has_everything(&lead, photos) {
            break;
        }
    }
    let previews_in = started.elapsed();
    let mut jurors = Vec::new();
    let mut cut_short = 0;
    for thread in threads {
        let (laptop, _, failures) = thread.join().unwrap();
        cut_short += failures;
        jurors.push(laptop);
    }
    let up_phase1 = proxy.link_bytes_up();
    let down_phase1 = proxy.bytes_down();
    // Each preview goes up once and down to the six other laptops (the team sees the team's
    // photos): the busier direction bounds the time. Had only the lead fetched them, once up
    // and once down.
    let down_bytes = preview_bytes as f64 * (JURORS.len() - 1) as f64;
    let limit = down_bytes.max(preview_bytes as f64) / bytes_per_second as f64;
    let lead_only = preview_bytes as f64 / bytes_per_second as f64;
    let _ = writeln!(
        out,
        "link {mbit} Mbit/s, 300 ms round trip, a cut every {cut_mb} MB up: the lead had all 7 \
         submitted sheets and all {photos} previews after {:.1} s ({lead_syncs} lead syncs; \
         {cut_short} juror syncs cut short; {:.2} MB up, {:.2} MB down). Link limit: {:.1} s \
         ({:.2} MB of previews, each down to 6 laptops: {:.2} MB ÷ {mbit} Mbit/s) = {:.2}× the \
         limit (goal <= 1.2×); {:.2}× the {:.1} s a link carrying the previews once would need",
        previews_in.as_secs_f64(),
        up_phase1 as f64 / 1e6,
        down_phase1 as f64 / 1e6,
        limit,
        preview_bytes as f64 / 1e6,
        down_bytes / 1e6,
        previews_in.as_secs_f64() / limit.max(1e-9),
        previews_in.as_secs_f64() / lead_only.max(1e-9),
        lead_only,
    );

    // Phase 2: the jurors send their originals ("kirim asli sekarang"), over the same link.
    jurors.push(lead);
    let threads: Vec<_> = jurors
        .into_iter()
        .map(|mut laptop| {
            let url = url.clone();
            std::thread::spawn(move || {
                let (report, failures) = sync_until_done(&mut laptop, &url, true);
                (laptop, report, failures)
            })
        })
        .collect();
    // When is every original on the server? Asked of the server directly, off the link.
    let observer = tinjau_sync::Client::new(&server.url, &tokens["ketua"], None).unwrap();
    let sent_at = loop {
        let arrived = originals.iter().all(|hash| {
            observer
                .blob_status(hash)
                .unwrap()
                .is_some_and(|s| s.complete)
        });
        if arrived {
            break started.elapsed();
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    let mut failed_syncs = 0;
    for thread in threads {
        let (laptop, _, failures) = thread.join().unwrap();
        failed_syncs += failures;
        let status = laptop.store.sync_status().unwrap();
        assert_eq!(
            (status.pending_changes, status.pending_evidence_files),
            (0, 0)
        );
    }
    let finished = started.elapsed();
    let up = proxy.link_bytes_up();
    let _ = writeln!(
        out,
        "every original on the server after {:.1} s, every laptop done after {:.1} s (link \
         limit for all files up {:.1} s); \
         {:.1} MB went up for {:.1} MB of files: {:.2} MB ({:.1}%) of HTTP, changes and bytes sent \
         again after {} cuts ({failed_syncs} syncs cut short); {:.2} MB up before the originals",
        sent_at.as_secs_f64(),
        finished.as_secs_f64(),
        file_bytes as f64 / bytes_per_second as f64,
        up as f64 / 1e6,
        file_bytes as f64 / 1e6,
        (up.saturating_sub(file_bytes)) as f64 / 1e6,
        100.0 * up.saturating_sub(file_bytes) as f64 / file_bytes.max(1) as f64,
        proxy.cuts(),
        up_phase1 as f64 / 1e6,
    );
    drop(server);
}
