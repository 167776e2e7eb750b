//! `cargo bench -p tinjau-tests --bench bundle`
//!
//! The time `tinjau bundle verify` takes (read and check every line, signature and chain, then
//! replay into a scratch store and recompute the merge and every lock), for a result bundle of
//! the SKK demo (two visits, seven jurors) and of a competition the size of 38 provinces × 30
//! participants, ten jurors on every visit (`TINJAU_BENCH_PARTICIPANTS`, default 1140; every
//! visit locked). The bundles are made by real stores: each juror's laptop scores and submits
//! every visit (signed by its device, registered with its token's identity key), the lead's
//! laptop takes them in, scores, and locks every visit. Without `--bench` (as `cargo test` runs
//! it) it is a small smoke run.

use std::io::Write;
use std::time::Instant;

use tinjau_core::signing::{JurorIdentity, JurorKey};
use tinjau_core::sync::{PullResponse, PulledChange};
use tinjau_store::{Store, StoreOptions};

const INDICATORS: [&str; 7] = tinjau_tests::INDICATORS;

/// The demo package grown to `participants` kecamatan and ten jurors on every visit.
fn package(participants: usize) -> Vec<u8> {
    let mut package: serde_json::Value = serde_json::from_str(tinjau_tests::DEMO).unwrap();
    let template = package["participants"][0].clone();
    let mut jurors = package["jurors"].as_array().unwrap().clone();
    for n in 0..3 {
        let mut juror = jurors[1].clone();
        juror["id"] = format!("juri-tambahan-{n}").into();
        juror["name"] = format!("Juri Tambahan {n}").into();
        jurors.push(juror);
    }
    let ids: Vec<serde_json::Value> = jurors.iter().map(|j| j["id"].clone()).collect();
    let mut all = Vec::new();
    let mut visits = Vec::new();
    for p in 0..participants {
        let mut participant = template.clone();
        participant["id"] = format!("kec-{p:04}").into();
        participant["name"] = format!("Kecamatan {p:04}").into();
        if let Some(innovations) = participant["innovations"].as_array_mut() {
            for innovation in innovations {
                let id = innovation["id"].as_str().unwrap().to_string();
                innovation["id"] = format!("{id}-{p}").into();
            }
        }
        all.push(participant);
        visits.push(serde_json::json!({
            "id": format!("visit-{p:04}"),
            "participant": format!("kec-{p:04}"),
            "date": "2023-11-28",
            "jurors": ids,
        }));
    }
    package["participants"] = all.into();
    package["visits"] = visits.into();
    package["jurors"] = jurors.into();
    serde_json::to_vec(&package).unwrap()
}

fn store(dir: &std::path::Path, package: &[u8], juror: &str) -> Store {
    let mut store = Store::open(dir, StoreOptions::default()).unwrap();
    store.import_package(package).unwrap();
    store.init_juror(juror).unwrap();
    store
        .register_device(&format!("tjk_token-of-{juror}"))
        .unwrap();
    store
}

/// A bundle with every visit of `package` scored by every juror and locked.
fn locked_bundle(package_bytes: &[u8]) -> (Vec<u8>, usize) {
    let package = tinjau_core::Package::parse(package_bytes).unwrap();
    let competition = package.competition.id.clone();
    let visits: Vec<String> = package.visits.iter().map(|v| v.id.clone()).collect();
    let jurors: Vec<String> = package.jurors.iter().map(|j| j.id.clone()).collect();
    let lead_dir = tempfile::tempdir().unwrap();
    let mut lead = store(lead_dir.path(), package_bytes, "ketua");
    let mut page = PullResponse {
        changes: Vec::new(),
        next: 0,
        more: false,
        conflicts: Vec::new(),
        mark: None,
        log_changed: false,
        registrations: Vec::new(),
        identities: jurors
            .iter()
            .map(|j| JurorKey {
                juror: j.clone(),
                public_key: JurorIdentity::derive(&format!("tjk_token-of-{j}"), &competition, j)
                    .public(),
            })
            .collect(),
        signed_from: 0,
        revocations: Vec::new(),
    };
    for (n, juror) in jurors.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let mut laptop = if juror == "ketua" {
            None
        } else {
            Some(store(dir.path(), package_bytes, juror))
        };
        let laptop = laptop.as_mut().unwrap_or(&mut lead);
        for (v, visit) in visits.iter().enumerate() {
            for (i, indicator) in INDICATORS.iter().enumerate() {
                let score = 55.0 + ((n * 7 + v * 3 + i * 5) % 45) as f64;
                laptop.score(visit, indicator, score, None).unwrap();
            }
            laptop.submit(visit).unwrap();
        }
        if juror != "ketua" {
            page.registrations
                .extend(laptop.own_registration().unwrap());
            for entry in laptop.device_entries(laptop.device_id()).unwrap() {
                page.changes.push(PulledChange {
                    seq: page.changes.len() as u64 + 1,
                    entry,
                });
            }
        }
    }
    page.next = page.changes.len() as u64;
    lead.apply_pulled(&page).unwrap();
    for visit in &visits {
        lead.lock(visit).unwrap();
    }
    let changes = lead.device_entries(lead.device_id()).unwrap().len() + page.changes.len();
    (lead.export_bundle().unwrap(), changes)
}

fn verify(bytes: &[u8]) -> (f64, f64, usize) {
    let started = Instant::now();
    let bundle = tinjau_core::bundle::read_bundle(bytes, u64::MAX).unwrap();
    let read = started.elapsed().as_secs_f64();
    let scratch = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let report = tinjau_store::replay_bundle(scratch.path(), &bundle).unwrap();
    (read, started.elapsed().as_secs_f64(), report.locks.len())
}

fn main() {
    let smoke = !std::env::args().any(|a| a == "--bench");
    let participants: usize = std::env::var("TINJAU_BENCH_PARTICIPANTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if smoke { 3 } else { 1140 });
    let mut out = std::io::stdout().lock();
    for (name, package) in [
        (
            "the SKK demo (2 visits, 7 jurors)",
            tinjau_tests::DEMO.as_bytes().to_vec(),
        ),
        (
            "38 provinces × 30 participants, 10 jurors each",
            package(participants),
        ),
    ] {
        let count = tinjau_core::Package::parse(&package).unwrap().visits.len();
        let started = Instant::now();
        let (bytes, changes) = locked_bundle(&package);
        let made = started.elapsed().as_secs_f64();
        let (read, replay, locks) = verify(&bytes);
        let _ = writeln!(
            out,
            "bundle verify, {name}: {count} visits, {changes} changes, {locks} locks, {:.1} MB: \
             read + signatures + chains {:.2} s, replay + merge + locks {:.2} s, total {:.2} s (made in {made:.0} s)",
            bytes.len() as f64 / 1e6,
            read,
            replay,
            read + replay
        );
    }
}
