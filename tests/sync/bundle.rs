//! Result bundles (`docs/bundle.md`): the lead exports one file after a lock; `tinjau bundle
//! verify` (the real binary, no data folder) passes on the honest file and names the entry that
//! does not verify after a byte is flipped anywhere, a change is dropped, or a score is edited
//! and re-hashed.

use chrono::Duration;
use tinjau_core::Verdict;
use tinjau_core::bundle::{BundleEntry, read_bundle, seal};
use tinjau_store::VerifyRequest;
use tinjau_tests::{Db, Laptop, Server, VISIT};

const JURY: &[(&str, &str)] = &[
    ("ketua", "lead"),
    ("akademisi", "juror"),
    ("dindik", "juror"),
];

/// A visit done, synced and locked by the lead; the lead's laptop.
fn locked_visit() -> (Server, Laptop) {
    let (server, tokens) = Server::start(Db::Sqlite, JURY);
    let mut lead = Laptop::joined(&server.url, &tokens["ketua"], Duration::zero());
    for (i, (juror, _)) in JURY.iter().enumerate() {
        let mut laptop = if *juror == "ketua" {
            None
        } else {
            Some(Laptop::joined(
                &server.url,
                &tokens[*juror],
                Duration::zero(),
            ))
        };
        let laptop = laptop.as_mut().unwrap_or(&mut lead);
        laptop
            .store
            .verify(&VerifyRequest {
                visit: VISIT.into(),
                innovation: "lansia-smart".into(),
                verdict: Verdict::Found,
                note: Some(format!("catatan rahasia {juror}")),
                evidence: vec![],
            })
            .unwrap();
        laptop
            .store
            .observe(VISIT, &format!("pengamatan warga {juror}"), None, &[])
            .unwrap();
        // A score corrected once: the bundle carries both changes.
        laptop.store.score(VISIT, "I1", 50.0, None).unwrap();
        laptop.score_and_submit(VISIT, 61.5 + 4.0 * i as f64);
        if *juror == "ketua" {
            laptop.score_and_submit("visit-contoh-a", 70.0);
        }
        laptop.sync(&server.url).unwrap();
    }
    lead.sync(&server.url).unwrap();
    // Nothing locked, nothing to export.
    assert!(matches!(
        lead.store.export_bundle(),
        Err(tinjau_store::StoreError::NothingLocked)
    ));
    lead.store.lock(VISIT).unwrap();
    (server, lead)
}

fn verify_file(bytes: &[u8]) -> (bool, serde_json::Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hasil-skk-2023.tinjau");
    std::fs::write(&file, bytes).unwrap();
    crate::cli::tinjau(dir.path(), &["bundle", "verify", file.to_str().unwrap()])
}

fn lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut lines: Vec<Vec<u8>> = bytes.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
    lines.pop(); // after the last newline
    lines.pop(); // the seal
    lines
}

fn entry(line: &[u8]) -> BundleEntry {
    serde_json::from_slice(line).unwrap()
}

#[test]
fn an_honest_bundle_verifies_and_prints_the_locked_results() {
    let (_server, lead) = locked_visit();
    let bytes = lead.store.export_bundle().unwrap();
    assert_eq!(
        bytes,
        lead.store.export_bundle().unwrap(),
        "the same state, the same bytes"
    );
    let (ok, report, stderr) = verify_file(&bytes);
    assert!(ok, "{stderr}");
    assert_eq!(report["verified"], true);
    let merged = lead.store.merge(None).unwrap();
    let junrejo = merged.participant("junrejo").unwrap();
    let printed = report["ranking"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["participant"] == "junrejo")
        .unwrap();
    assert_eq!(printed["total"].as_f64(), junrejo.total);
    assert_eq!(printed["rank"].as_u64(), junrejo.rank.map(u64::from));
    assert_eq!(
        report["locks"][0]["hash"],
        lead.store.visit_lock(VISIT).unwrap().unwrap().hash.as_str()
    );
    // What a public verification does not need is not in it: no verdict notes, observations,
    // evidence or contact data; those changes are withheld (their chain place only).
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(!text.contains("catatan rahasia") && !text.contains("pengamatan warga"));
    assert!(report["withheld"].as_u64().unwrap() >= 6, "{report}");
    assert_eq!(
        lead.store.bundle_hash().unwrap().as_deref(),
        report["sha256"].as_str()
    );
    // The berita acara and the ranking print the bundle's hash.
    let today = chrono::Utc::now().date_naive();
    let dir = tempfile::tempdir().unwrap();
    let minutes = dir.path().join("berita-acara.pdf");
    let ranking = dir.path().join("peringkat.pdf");
    std::fs::write(
        &minutes,
        tinjau_report::berita_acara_pdf(&lead.store.visit_report(VISIT).unwrap(), today).unwrap(),
    )
    .unwrap();
    std::fs::write(
        &ranking,
        tinjau_report::ranking_pdf(&lead.store.ranking_report().unwrap(), today).unwrap(),
    )
    .unwrap();
    let hash = report["sha256"].as_str().unwrap();
    for pdf in [&minutes, &ranking] {
        let text = tinjau_tests::pdf_pages(pdf)
            .join("\n")
            .replace(char::is_whitespace, "");
        assert!(
            text.contains(hash),
            "{} lacks the bundle's hash",
            pdf.display()
        );
    }
}

#[test]
fn a_byte_flipped_anywhere_is_named_by_its_line() {
    let (_server, lead) = locked_visit();
    let bytes = lead.store.export_bundle().unwrap();
    let starts: Vec<usize> = std::iter::once(0)
        .chain(
            bytes
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i + 1),
        )
        .collect();
    let line_of = |at: usize| starts.iter().rposition(|s| *s <= at).unwrap() + 1;
    // Every line, at its start, middle and end (and every 97th byte besides).
    let mut positions: Vec<usize> = Vec::new();
    for pair in starts.windows(2) {
        let (start, end) = (pair[0], pair[1] - 1);
        positions.extend([start, (start + end) / 2, end - 1]);
    }
    positions.extend((0..bytes.len()).step_by(97));
    positions.retain(|p| bytes[*p] != b'\n');
    let limit = u64::MAX;
    let mut checked = 0;
    for at in positions {
        let mut flipped = bytes.clone();
        flipped[at] ^= 0x01;
        let failure = read_bundle(&flipped, limit).expect_err("a flipped byte never verifies");
        assert_eq!(
            failure.line,
            line_of(at),
            "byte {at} flipped: named {failure}"
        );
        checked += 1;
    }
    assert!(checked > 100, "{checked}");
    // As a person sees it, with the real binary.
    let mut flipped = bytes.clone();
    let at = starts[5] + 10;
    flipped[at] ^= 0x01;
    let (ok, _, stderr) = verify_file(&flipped);
    assert!(!ok, "a flipped bundle must not verify");
    assert!(
        stderr.contains("does NOT verify") && stderr.contains(&format!("line {}", line_of(at))),
        "{stderr}"
    );
}

#[test]
fn a_dropped_change_or_an_edited_score_is_named_even_when_the_bundle_is_sealed_again() {
    let (_server, lead) = locked_visit();
    let bytes = lead.store.export_bundle().unwrap();
    let original = lines(&bytes);
    let score_lines: Vec<usize> = original
        .iter()
        .enumerate()
        .filter(|(_, l)| {
            matches!(entry(l), BundleEntry::Change { entry } if entry.entity == tinjau_core::Entity::Score && entry.author == "akademisi")
        })
        .map(|(i, _)| i)
        .collect();
    assert!(score_lines.len() >= 8, "{score_lines:?}");

    // A change dropped from the middle of a device's chain: a gap, named.
    let mut dropped = original.clone();
    dropped.remove(score_lines[2]);
    let (ok, _, stderr) = verify_file(&seal(&dropped));
    assert!(!ok && stderr.contains("missing"), "{stderr}");

    // The last change of a juror's chain dropped (no gap): the lock no longer matches.
    let last = *original
        .iter()
        .enumerate()
        .filter(|(_, l)| match entry(l) {
            BundleEntry::Change { entry } => entry.author == "dindik",
            BundleEntry::Withheld { author, .. } => author == "dindik",
            _ => false,
        })
        .map(|(i, _)| i)
        .collect::<Vec<_>>()
        .last()
        .unwrap();
    let mut tail = original.clone();
    tail.remove(last);
    let (ok, _, stderr) = verify_file(&seal(&tail));
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains("does not match") || stderr.contains("refused"),
        "{stderr}"
    );

    // A score edited and re-hashed (its signature kept, as nobody else can make one).
    let at = *score_lines.last().unwrap();
    let BundleEntry::Change { entry: change } = entry(&original[at]) else {
        unreachable!()
    };
    let signature = change.signature;
    let mut edited = tinjau_core::chain::ChangeEntry {
        value: "99".into(),
        ..change.clone()
    }
    .seal(&change.prev_hash);
    edited.signature = signature;
    let mut rewritten = original.clone();
    rewritten[at] = serde_json::to_vec(&BundleEntry::Change { entry: edited }).unwrap();
    let (ok, _, stderr) = verify_file(&seal(&rewritten));
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains(&format!("line {}", at + 1)) && stderr.contains("bad_signature"),
        "{stderr}"
    );
}

/// Visits are locked one after another as the jury travels: a visit locked before the next is
/// scored must verify against what was known at its lock, not against the final ranking.
#[test]
fn visits_locked_one_after_another_verify() {
    let (server, tokens) = Server::start(Db::Sqlite, JURY);
    let laptops: Vec<Laptop> = JURY
        .iter()
        .map(|(juror, _)| Laptop::joined(&server.url, &tokens[*juror], Duration::zero()))
        .collect();
    let mut laptops = laptops;
    // Day one: Junrejo, locked that evening (ranked first: it is the only one complete).
    for laptop in &mut laptops {
        laptop.score_and_submit(VISIT, 60.0);
        laptop.sync(&server.url).unwrap();
    }
    let lead = &mut laptops[0];
    lead.sync(&server.url).unwrap();
    // The lead's own sheet of the other visit must be in before any merge (blind rule).
    lead.score_and_submit("visit-contoh-a", 50.0);
    let first = lead.store.lock(VISIT).unwrap();
    assert_eq!(first.locked.result.rank, Some(1));
    lead.sync(&server.url).unwrap();
    // Day two: the other kecamatan scores higher; Junrejo's lock stays as it was sealed.
    for laptop in laptops.iter_mut().skip(1) {
        laptop.score_and_submit("visit-contoh-a", 93.0);
        laptop.sync(&server.url).unwrap();
    }
    let lead = &mut laptops[0];
    lead.sync(&server.url).unwrap();
    lead.store.lock("visit-contoh-a").unwrap();
    let final_rank = lead
        .store
        .merge(None)
        .unwrap()
        .participant("junrejo")
        .unwrap()
        .rank;
    assert_ne!(
        final_rank, first.locked.result.rank,
        "the ranking moved after Junrejo's lock (the case this test is about)"
    );
    let (ok, report, stderr) = verify_file(&lead.store.export_bundle().unwrap());
    assert!(ok, "{stderr}");
    assert_eq!(report["locks"].as_array().unwrap().len(), 2);
}
