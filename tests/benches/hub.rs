//! `cargo build --release -p tinjau-server && cargo bench -p tinjau-tests --bench hub`
//! (the central server runs as its own process: its release binary must be built first)
//!
//! A visit converging at the lead's laptop with no internet (`docs/hub.md`). The jury joins the
//! central server and the lead syncs before leaving; then the central server is stopped. The
//! lead's laptop hosts the hub (HTTPS, pinned by its words); six jurors reach it through the
//! fault proxy as one shared link of `TINJAU_BENCH_MBIT` Mbit/s each way (default 5) with a
//! 100 ms round trip, as over one phone's hotspot; the lead syncs with its own hub over
//! loopback. Each of the seven verifies the visit's twelve innovations, scores seven indicators
//! and submits; the jury attaches `TINJAU_BENCH_PHOTOS` phone photos between them (default 50;
//! 4000×3000 JPEGs of about 4 MB, generated; previews travel first, originals wait for a fast
//! link as the app's default says).
//!
//! Reported: the time until the lead has every juror's sheet and every preview (jurors syncing
//! at once, each until its sync succeeds; the lead over and over); the time for the lead to
//! lock and every juror to hear the lock; and, back in town, the time of the lead's one sync
//! that relays everything to the central server (unthrottled). Without `--bench` (as
//! `cargo test` runs it) it is a small smoke run.

use std::io::Write;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use tinjau_core::Verdict;
use tinjau_core::views::OriginalsPolicy;
use tinjau_store::VerifyRequest;
use tinjau_tests::{Db, Fault, Hub, INDICATORS, Laptop, Link, Proxy, Server, VISIT, phone_photo};

const JURORS: [&str; 7] = tinjau_tests::JURY;

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Syncs with the hub until a sync succeeds, as the app's sync loop does.
fn sync_until_done(laptop: &mut Laptop, hub: &Hub) -> tinjau_sync::SyncReport {
    loop {
        match laptop.sync_hub(hub) {
            Ok(report) => return report,
            Err(error) => {
                if std::env::var_os("TINJAU_BENCH_VERBOSE").is_some() {
                    let _ = writeln!(std::io::stderr(), "hub sync failed: {error}");
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// Every juror's sheet submitted and every preview here.
fn lead_has_everything(lead: &Laptop, photos: usize) -> bool {
    let evidence = lead.store.visit_evidence(VISIT).unwrap();
    JURORS.iter().all(|juror| {
        lead.store.sheet_state(juror, VISIT).ok() == Some(tinjau_core::SheetState::Submitted)
    }) && evidence.len() == photos
        && evidence
            .iter()
            .all(|e| e.preview_available || (e.preview_hash.is_none() && e.available))
}

fn main() {
    let smoke = !std::env::args().any(|a| a == "--bench");
    let photos: usize = env("TINJAU_BENCH_PHOTOS", if smoke { 7 } else { 50 });
    let mbit: f64 = env("TINJAU_BENCH_MBIT", if smoke { 40.0 } else { 5.0 });
    let (width, height) = if smoke { (1600, 1200) } else { (4000, 3000) };
    let bytes_per_second = (mbit * 1e6 / 8.0) as u64;
    let mut out = std::io::stdout().lock();

    let roles = tinjau_tests::jury_roles();
    let (mut server, tokens) = Server::start(Db::Sqlite, &roles);
    let package = tinjau_core::Package::parse(tinjau_tests::DEMO.as_bytes()).unwrap();
    let visit = package.visit(VISIT).unwrap();
    let innovations: Vec<String> = package
        .participant(&visit.participant)
        .unwrap()
        .innovations
        .iter()
        .map(|i| i.id.clone())
        .collect();

    // Before leaving: the jury joins, the lead syncs (the jury's identity keys come with it).
    let mut laptops: Vec<Laptop> = JURORS
        .iter()
        .map(|juror| Laptop::joined(&server.url, &tokens[*juror], chrono::Duration::zero()))
        .collect();
    laptops[0].sync(&server.url).unwrap();
    server.kill9();

    // At the kecamatan, offline: each laptop's visit.
    let folder = tempfile::tempdir().unwrap();
    let mut change_count = 0;
    let mut preview_bytes = 0u64;
    for (n, (juror, laptop)) in JURORS.iter().zip(laptops.iter_mut()).enumerate() {
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
            for view in laptop
                .store
                .verify(&VerifyRequest {
                    visit: VISIT.into(),
                    innovation: innovation.clone(),
                    verdict: Verdict::Found,
                    note: Some(format!("dicek oleh {juror}")),
                    evidence,
                })
                .unwrap()
            {
                if let Some(preview) = &view.preview_hash {
                    preview_bytes +=
                        laptop.store.evidence_bytes(preview).unwrap().unwrap().len() as u64;
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
        if n == 0 {
            laptop.score_and_submit("visit-contoh-a", 70.0);
        }
        change_count += laptop
            .store
            .device_entries(laptop.store.device_id())
            .unwrap()
            .len();
    }

    let mut lead = laptops.remove(0);
    let direct = Hub::start(&lead);
    let proxy = Proxy::start(&direct.url);
    proxy.set(Fault::Link(Link {
        bytes_per_second,
        one_way: Duration::from_millis(50),
        cut_every: None,
        cuts_count_down: false,
    }));
    let linked = direct.via(&proxy.url.replacen("http://", "https://", 1));

    // Everyone syncs at once; the lead until it has every sheet and preview.
    let barrier = Arc::new(Barrier::new(JURORS.len()));
    let started = Instant::now();
    let linked = Arc::new(linked);
    let threads: Vec<_> = laptops
        .into_iter()
        .map(|mut laptop| {
            let (hub, barrier) = (linked.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                sync_until_done(&mut laptop, &hub);
                laptop
            })
        })
        .collect();
    barrier.wait();
    let mut lead_syncs = 0;
    loop {
        sync_until_done(&mut lead, &direct);
        lead_syncs += 1;
        if lead_has_everything(&lead, photos) {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let converged = started.elapsed();
    let mut jurors: Vec<Laptop> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let merged = lead.store.merge(None).unwrap();
    assert_eq!(merged.participant("junrejo").unwrap().cells[0].n, 7);

    // The lead locks on site; every juror hears it (originals wait: only the lock is timed).
    for juror in &mut jurors {
        juror
            .store
            .set_originals_policy(OriginalsPolicy::Later)
            .unwrap();
    }
    let started = Instant::now();
    let lock = lead.store.lock(VISIT).unwrap();
    sync_until_done(&mut lead, &direct);
    for juror in &mut jurors {
        sync_until_done(juror, &linked);
        assert_eq!(
            juror.store.visit_lock(VISIT).unwrap().map(|l| l.hash),
            Some(lock.hash.clone())
        );
    }
    let locked = started.elapsed();
    let up = proxy.bytes_up();
    let down = proxy.bytes_down();
    drop(proxy);
    direct.stop();

    // Back in town: one sync relays everything to the central server.
    server.restart();
    let started = Instant::now();
    let report = lead.sync(&server.url).unwrap();
    let relayed = started.elapsed();
    assert!(report.relayed > 0);
    let mut check = Laptop::joined(&server.url, &tokens["ketua"], chrono::Duration::zero());
    check.sync(&server.url).unwrap();
    assert_eq!(check.store.merge(None).unwrap(), merged);

    let _ = writeln!(
        out,
        "hub, 7 jurors' whole visits ({change_count} changes, {photos} photos, {:.2} MB of previews) over a shared {mbit} Mbit/s link: \
         lead has every sheet and preview after {:.1} s ({lead_syncs} lead syncs); lock heard by all {:.1} s later; \
         {:.2} MB up and {:.2} MB down the link; the lead's relay of {} changes to the central server took {:.2} s",
        preview_bytes as f64 / 1e6,
        converged.as_secs_f64(),
        locked.as_secs_f64(),
        up as f64 / 1e6,
        down as f64 / 1e6,
        report.relayed,
        relayed.as_secs_f64(),
    );
}
