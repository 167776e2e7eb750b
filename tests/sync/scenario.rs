//! Three jurors and a lead work offline, then sync in random order.

use chrono::Duration;
use tinjau_core::Verdict;
use tinjau_store::VerifyRequest;
use tinjau_tests::{Db, Laptop, Server, VISIT};

use crate::{foreign_rows, server_log};

const JURY: [(&str, &str); 4] = [
    ("ketua", "lead"),
    ("akademisi", "juror"),
    ("dindik", "juror"),
    ("biro-hukum", "juror"),
];

fn three_jurors_and_a_lead_work_offline_then_sync_in_random_order(db: Db) {
    let (server, tokens) = Server::start(db.clone(), &JURY);
    let mut laptops: Vec<(&str, Laptop)> = JURY
        .iter()
        .map(|(juror, _)| {
            (
                *juror,
                Laptop::joined(&server.url, &tokens[*juror], Duration::zero()),
            )
        })
        .collect();

    // Offline at the kecamatan: every juror checks, observes with a photo, scores, submits.
    for (i, (juror, laptop)) in laptops.iter_mut().enumerate() {
        let photo = laptop.dir.path().join(format!("{juror}.jpg"));
        std::fs::write(&photo, format!("foto dari {juror}")).unwrap();
        laptop
            .store
            .verify(&VerifyRequest {
                visit: VISIT.into(),
                innovation: "lansia-smart".into(),
                verdict: if i % 2 == 0 {
                    Verdict::Found
                } else {
                    Verdict::Partial
                },
                note: Some(format!("catatan {juror}")),
                evidence: vec![],
            })
            .unwrap();
        laptop
            .store
            .observe(VISIT, &format!("pengamatan {juror}"), None, &[photo])
            .unwrap();
        laptop.score_and_submit(VISIT, 60.0 + 8.0 * i as f64);
        if *juror == "ketua" {
            laptop.score_and_submit("visit-contoh-a", 70.0);
        }
    }

    // Back online, in an order nobody planned; then once more so everyone has everything.
    for index in [2, 0, 3, 1, 0, 1, 2, 3] {
        let (juror, laptop) = &mut laptops[index];
        let report = laptop
            .sync(&server.url)
            .unwrap_or_else(|e| panic!("{db:?} {juror}: {e}"));
        assert_eq!(report.quarantined, 0, "{db:?} {juror}: {report:?}");
    }

    let (_, lead) = &laptops[0];
    let input = lead.store.merge_input().unwrap();
    let submitted: Vec<&str> = input
        .sheets
        .iter()
        .filter(|s| s.participant == "junrejo" && s.submitted)
        .map(|s| s.juror.as_str())
        .collect();
    assert_eq!(
        submitted.len(),
        4,
        "{db:?}: the lead holds every submitted sheet: {submitted:?}"
    );
    let result = lead.store.merge(None).unwrap();
    assert_eq!(result.participant("junrejo").unwrap().cells[0].n, 4);
    // Every photo reached the lead's laptop.
    assert!(lead.store.missing_evidence().unwrap().is_empty(), "{db:?}");

    for (juror, laptop) in &laptops[1..] {
        assert_eq!(
            foreign_rows(laptop, "score", juror),
            0,
            "{db:?}: {juror} received another juror's scores"
        );
        assert_eq!(
            foreign_rows(laptop, "verification", juror),
            0,
            "{db:?}: {juror} received verdicts"
        );
        assert_eq!(
            foreign_rows(laptop, "sheet", juror),
            0,
            "{db:?}: {juror} received sheets"
        );
        // Observations and photos of the visit are shared with the visit team.
        assert_eq!(
            foreign_rows(laptop, "observation", juror),
            3,
            "{db:?}: {juror} sees the team's observations"
        );
        assert!(laptop.store.missing_evidence().unwrap().is_empty());
        let timeline = laptop.store.checklist(VISIT).unwrap().observations;
        assert_eq!(
            timeline.len(),
            4,
            "{db:?}: {juror} sees the whole team's observations"
        );
        assert!(
            timeline
                .iter()
                .all(|o| o.evidence.iter().all(|e| e.available)),
            "{db:?}: photos downloaded"
        );
        assert_eq!(laptop.store.sync_status().unwrap().pending_changes, 0);
        laptop.store.audit().unwrap();
    }

    // The log has no gaps, and each change is in it once.
    let log = server_log(&server.url, &tokens["ketua"]);
    let seqs: Vec<u64> = log.iter().map(|c| c.seq).collect();
    assert_eq!(seqs, (1..=log.len() as u64).collect::<Vec<_>>(), "{db:?}");
    let mut ids: Vec<_> = log.iter().map(|c| c.entry.change_id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), log.len(), "{db:?}: a change is in the log twice");
}

#[test]
fn pulled_pages_travel_compressed() {
    let (server, tokens) = Server::start(tinjau_tests::Db::Sqlite, &JURY);
    let mut juror = Laptop::joined(&server.url, &tokens["akademisi"], Duration::zero());
    juror.score_and_submit(VISIT, 70.0);
    juror.sync(&server.url).unwrap();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let response = reqwest::blocking::Client::new()
        .get(format!("{}/v1/pull?after=0", server.url))
        .bearer_auth(&tokens["ketua"])
        .header("accept-encoding", "gzip")
        .send()
        .unwrap();
    assert_eq!(
        response
            .headers()
            .get("content-encoding")
            .map(|v| v.to_str().unwrap()),
        Some("gzip")
    );
    // And the client counts the compressed bytes it received.
    let client = tinjau_sync::Client::new(&server.url, &tokens["ketua"], None).unwrap();
    let (page, wire) = client.pull(0, 1000).unwrap();
    let json = serde_json::to_vec(&page).unwrap().len() as u64;
    assert_eq!(page.changes.len(), 8);
    assert!(
        wire * 2 < json,
        "{wire} bytes on the wire for {json} bytes of JSON"
    );
}

tinjau_tests::per_backend!(three_jurors_and_a_lead_work_offline_then_sync_in_random_order,);
