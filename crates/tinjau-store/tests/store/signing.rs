//! A laptop checks every pulled change's signature (`docs/signing.md`); only history the server
//! took before it checked signatures may come unsigned, and no server can widen that window
//! after saying where it ends.

use tinjau_core::chain::ChangeEntry;
use tinjau_core::signing::{JurorIdentity, JurorKey};
use tinjau_core::sync::{PullResponse, PulledChange};

use crate::support::{TestStore, VISIT};

fn page(changes: Vec<(u64, ChangeEntry)>, signed_from: u64, with_keys: bool) -> PullResponse {
    let (registrations, identities) = if with_keys {
        let identity = JurorIdentity::derive("tjk_akademisi", "skk-jatim-2023", "akademisi");
        (
            Vec::new(),
            vec![JurorKey {
                juror: "akademisi".into(),
                public_key: identity.public(),
            }],
        )
    } else {
        (Vec::new(), Vec::new())
    };
    PullResponse {
        next: changes.iter().map(|(seq, _)| *seq).max().unwrap_or(0),
        changes: changes
            .into_iter()
            .map(|(seq, entry)| PulledChange { seq, entry })
            .collect(),
        more: false,
        conflicts: Vec::new(),
        mark: None,
        log_changed: false,
        registrations,
        identities,
        signed_from,
        revocations: Vec::new(),
    }
}

fn unsigned(entry: &ChangeEntry) -> ChangeEntry {
    ChangeEntry {
        signature: None,
        ..entry.clone()
    }
}

fn score_of(lead: &TestStore, juror: &str, indicator: &str) -> Option<f64> {
    use rusqlite::OptionalExtension;
    rusqlite::Connection::open(lead.path().join(tinjau_store::DATABASE_FILE))
        .unwrap()
        .query_row(
            "SELECT value FROM score WHERE juror_id = ?1 AND visit_id = ?2 AND indicator_id = ?3",
            [juror, VISIT, indicator],
            |r| r.get(0),
        )
        .optional()
        .unwrap()
}

#[test]
fn only_history_from_before_signing_may_arrive_unsigned() {
    let mut juror = TestStore::juror("akademisi");
    for (indicator, value) in [("I1", 61.0), ("I2", 62.0), ("I3", 63.0), ("I4", 64.0)] {
        juror.store.score(VISIT, indicator, value, None).unwrap();
    }
    let registration = juror.store.register_device("tjk_akademisi").unwrap();
    let entries = juror.store.device_entries(juror.store.device_id()).unwrap();
    assert!(
        entries.iter().all(|e| e.signature.is_some()),
        "written signed"
    );
    let mut lead = TestStore::juror("ketua");

    // The server took positions 1 and 2 before it checked signatures.
    lead.store
        .apply_pulled(&page(
            vec![(1, unsigned(&entries[0])), (3, unsigned(&entries[1]))],
            3,
            true,
        ))
        .unwrap();
    assert_eq!(
        score_of(&lead, "akademisi", "I1"),
        Some(61.0),
        "before signing"
    );
    assert_eq!(
        score_of(&lead, "akademisi", "I2"),
        None,
        "after: must be signed"
    );

    // A server that later claims a wider window is not believed.
    lead.store
        .apply_pulled(&page(vec![(6, unsigned(&entries[2]))], 10, true))
        .unwrap();
    assert_eq!(
        score_of(&lead, "akademisi", "I3"),
        None,
        "the window never widens"
    );

    // A signed change counts once its device's registration verifies with the juror's key.
    let mut signed = page(vec![(7, entries[3].clone())], 3, false);
    lead.store.apply_pulled(&signed).unwrap();
    assert_eq!(
        score_of(&lead, "akademisi", "I4"),
        None,
        "no key, no registration"
    );
    let mut lead = TestStore::juror("ketua");
    signed.registrations = vec![registration];
    signed.identities = page(Vec::new(), 0, true).identities;
    lead.store.apply_pulled(&signed).unwrap();
    assert_eq!(score_of(&lead, "akademisi", "I4"), Some(64.0));
    let refused = lead.store.quarantine().unwrap();
    assert!(refused.is_empty(), "{refused:?}");
}

#[test]
fn a_registration_made_with_a_mistyped_token_is_replaced_by_the_right_one() {
    let mut juror = TestStore::juror("akademisi");
    let key = juror.store.device_key().unwrap().public();
    let wrong = juror.store.register_device("tjk_akademisj").unwrap();
    let right = juror.store.register_device("tjk_akademisi").unwrap();
    assert_ne!(wrong, right);
    let identity = JurorIdentity::derive("tjk_akademisi", "skk-jatim-2023", "akademisi");
    assert_eq!(
        right.verify(&identity.public(), "skk-jatim-2023", "akademisi"),
        Ok(&key)
    );
    assert_eq!(juror.store.own_registration().unwrap(), Some(right.clone()));
    // The same token again keeps it.
    assert_eq!(juror.store.register_device("tjk_akademisi").unwrap(), right);
}
