//! Clocks are never trusted for causality and never a reason to reject data.

use chrono::Duration;
use tinjau_tests::{Db, Laptop, Server, VISIT};

fn skewed_clocks_sync_causality_holds_and_concurrent_edits_become_conflicts(db: Db) {
    let (server, tokens) = Server::start(
        db.clone(),
        &[
            ("ketua", "lead"),
            ("akademisi", "juror"),
            ("dindik", "juror"),
            ("dinkes", "juror"),
        ],
    );
    let url = &server.url;
    // A day slow, a day fast, ten years fast.
    let mut slow = Laptop::joined(url, &tokens["dindik"], Duration::days(-1));
    let mut fast = Laptop::joined(url, &tokens["dinkes"], Duration::days(1));
    slow.score_and_submit(VISIT, 70.0);
    fast.score_and_submit(VISIT, 72.0);
    for laptop in [&mut slow, &mut fast] {
        let report = laptop.sync(url).unwrap();
        assert_eq!(
            report.quarantined, 0,
            "{db:?}: a skewed clock is never a reason to refuse"
        );
    }
    let slow_skew = slow.store.sync_status().unwrap().clock_skew_ms.unwrap();
    assert!(
        (slow_skew - 86_400_000).abs() < 60_000,
        "{db:?}: the server saw the skew: {slow_skew}"
    );

    // One juror, two laptops: the office one is right, the other one is ten years ahead.
    let token = &tokens["akademisi"];
    let mut office = Laptop::joined(url, token, Duration::zero());
    let mut future = Laptop::joined(url, token, Duration::days(3653));
    office.store.score(VISIT, "I1", 80.0, None).unwrap();
    future.store.score(VISIT, "I1", 60.0, None).unwrap();
    office.sync(url).unwrap();
    let report = future.sync(url).unwrap();
    assert_eq!(
        (report.conflicts, report.quarantined),
        (1, 0),
        "{db:?}: concurrent edits surface as a conflict"
    );
    office.sync(url).unwrap();
    for laptop in [&office, &future] {
        let conflicts = laptop.store.conflicts().unwrap();
        assert_eq!(conflicts.len(), 1, "{db:?}: both laptops see the conflict");
        let values: Vec<&str> = conflicts[0]
            .candidates
            .iter()
            .map(|c| c.value.as_str())
            .collect();
        assert_eq!(values, ["80.0", "60.0"], "{db:?}: every candidate is kept");
    }
    // Meanwhile both laptops show the same provisional winner (greatest HLC: the future one).
    let shown = |laptop: &Laptop| {
        laptop.store.checklist(VISIT).unwrap().groups[0]
            .score
            .as_ref()
            .unwrap()
            .value
    };
    assert_eq!(shown(&office), 60.0);
    assert_eq!(shown(&future), 60.0);

    // Resolving is an ordinary change: the office laptop picks 80.
    let conflict = office.store.conflicts().unwrap().remove(0);
    let pick = conflict
        .candidates
        .iter()
        .find(|c| c.value == "80.0")
        .unwrap()
        .change_id;
    office
        .store
        .resolve_conflict(conflict.conflict_id, Some(pick), None)
        .unwrap();
    office.sync(url).unwrap();
    future.sync(url).unwrap();
    assert!(future.store.conflicts().unwrap().is_empty(), "{db:?}");
    assert_eq!(
        shown(&future),
        80.0,
        "{db:?}: the resolution reached the other laptop"
    );

    // Causality beats clocks: having seen the future laptop's edit, the office laptop (whose
    // clock is ten years behind it) edits again: a fast-forward, not a conflict.
    future.store.score(VISIT, "I2", 50.0, None).unwrap();
    future.sync(url).unwrap();
    office.sync(url).unwrap();
    office.store.score(VISIT, "I2", 90.0, None).unwrap();
    let report = office.sync(url).unwrap();
    assert_eq!(
        (report.pushed, report.conflicts),
        (1, 0),
        "{db:?}: {report:?}"
    );
    future.sync(url).unwrap();
    assert_eq!(
        future.store.checklist(VISIT).unwrap().groups[1]
            .score
            .as_ref()
            .unwrap()
            .value,
        90.0,
        "{db:?}"
    );
}

tinjau_tests::per_backend!(
    skewed_clocks_sync_causality_holds_and_concurrent_edits_become_conflicts,
);
