//! Result bundles (`docs/bundle.md`): what a lead's laptop exports after a lock, and the
//! replay that recomputes the merge and every lock from a bundle's changes.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use tinjau_core::bundle::{BundleParts, VerifiedBundle, describe, write_bundle};
use tinjau_core::merge::MergeResult;
use tinjau_core::sync::{PullResponse, PulledChange};

use crate::changes::{ENTRY_COLUMNS, entry_from_row};
use crate::{Result, Store, StoreError, StoreOptions};

impl Store {
    /// The bundle of everything this laptop holds of the competition: the package, identity
    /// keys, registrations, revocations, and every change in the order they were made (those
    /// refused here are withheld: they hold their chain place but count for nothing). Only
    /// after a lock: before, there is no result to verify.
    pub fn export_bundle(&self) -> Result<Vec<u8>> {
        let locks: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM visit_lock", [], |r| r.get(0))?;
        if locks == 0 {
            return Err(StoreError::NothingLocked);
        }
        Ok(write_bundle(&self.bundle_parts()?))
    }

    /// The SHA-256 (hex) of the bundle this laptop would export now, as the documents print it;
    /// `None` before any lock.
    pub fn bundle_hash(&self) -> Result<Option<String>> {
        match self.export_bundle() {
            Ok(bytes) => {
                use sha2::Digest;
                Ok(Some(tinjau_core::hex::encode(&sha2::Sha256::digest(
                    &bytes,
                ))))
            }
            Err(StoreError::NothingLocked) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn bundle_parts(&self) -> Result<BundleParts> {
        let seed = self.hub_seed()?;
        let refused: HashSet<String> = self
            .conn
            .prepare("SELECT change_id FROM quarantine")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut changes = Vec::new();
        let mut withheld = HashSet::new();
        let mut statement = self.conn.prepare(&format!(
            "SELECT {ENTRY_COLUMNS}, sync_state FROM change_log ORDER BY hlc, device_id, seq"
        ))?;
        let state_column = ENTRY_COLUMNS.split(", ").count();
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let entry = entry_from_row(row)?;
            let state: String = row.get(state_column)?;
            if state == "quarantined" || refused.contains(&entry.change_id.to_string()) {
                withheld.insert(entry.change_id);
            }
            changes.push(entry);
        }
        Ok(BundleParts {
            competition: seed.package.competition.id.clone(),
            package_text: serde_json::to_string(&seed.package).expect("a package serialises"),
            identities: seed.identities,
            registrations: seed.registrations,
            revocations: seed.revocations,
            changes,
            withheld,
        })
    }
}

/// What a bundle's replay found: the recomputed results, and what was checked.
#[derive(Debug, Clone)]
pub struct BundleReport {
    pub competition: String,
    pub changes: usize,
    pub withheld: usize,
    pub devices: usize,
    /// Each lock: the visit, its participant's name, and its hash (recomputed, and equal).
    pub locks: Vec<(String, String, String)>,
    /// The merge with the competition's method, over everything the bundle holds.
    pub result: MergeResult,
}

/// Replays a bundle that read and verified (`tinjau_core::bundle::read_bundle`) into a fresh
/// store in `dir`, and recomputes every lock from its changes. A change the rules refuse, or a
/// lock whose recomputed hash differs, is named with its line.
pub fn replay_bundle(
    dir: &Path,
    bundle: &VerifiedBundle,
) -> std::result::Result<BundleReport, tinjau_core::bundle::BundleFailure> {
    let failure = |line: usize, what: String| tinjau_core::bundle::BundleFailure { line, what };
    let store_failure =
        |e: StoreError| failure(2, format!("the bundle could not be replayed: {e}"));
    let mut store = Store::open(dir, StoreOptions::default()).map_err(store_failure)?;
    store
        .import_package(bundle.package_text.as_bytes())
        .map_err(|e| failure(2, format!("the package does not read: {e}")))?;
    let lines: HashMap<String, (usize, &tinjau_core::chain::ChangeEntry)> = bundle
        .changes
        .iter()
        .map(|(line, entry)| (entry.change_id.to_string(), (*line, entry)))
        .collect();
    let package = store.package().map_err(store_failure)?.clone();
    // The changes in the bundle's order (the order they were made), a lock at a time: each
    // lock is recomputed from what was known when it was sealed, as the lead's laptop did.
    let mut locks = Vec::new();
    let mut from = 0;
    // Each segment ends just after a lock; the last one at the end of the bundle.
    let mut ends: Vec<usize> = bundle
        .changes
        .iter()
        .enumerate()
        .filter(|(_, (_, e))| e.entity == tinjau_core::Entity::Lock)
        .map(|(i, _)| i + 1)
        .collect();
    if ends.last() != Some(&bundle.changes.len()) {
        ends.push(bundle.changes.len());
    }
    for to in ends {
        let page = PullResponse {
            changes: bundle.changes[from..to]
                .iter()
                .enumerate()
                .map(|(i, (_, entry))| PulledChange {
                    seq: (from + i) as u64 + 1,
                    entry: entry.clone(),
                })
                .collect(),
            next: to as u64,
            more: false,
            conflicts: Vec::new(),
            mark: None,
            log_changed: false,
            // Kept by the store from the first page on.
            registrations: if from == 0 {
                bundle.registrations.clone()
            } else {
                Vec::new()
            },
            identities: if from == 0 {
                bundle.identities.clone()
            } else {
                Vec::new()
            },
            signed_from: 0,
            revocations: bundle.revocations.clone(),
        };
        store.apply_pulled(&page).map_err(store_failure)?;
        // The first change the rules refused, in the bundle's order.
        let refused = store.quarantine().map_err(store_failure)?;
        if let Some((line, entry, reason)) = refused
            .iter()
            .filter_map(|q| {
                lines
                    .get(&q.change_id.to_string())
                    .map(|(line, entry)| (*line, *entry, q.reason.clone()))
            })
            .min_by_key(|(line, _, _)| *line)
        {
            return Err(failure(
                line,
                format!("{} is refused by the rules: {reason}", describe(entry)),
            ));
        }
        from = to;
        let Some((line, lock_entry)) = to.checked_sub(1).map(|i| &bundle.changes[i]) else {
            break;
        };
        if lock_entry.entity != tinjau_core::Entity::Lock {
            continue;
        }
        let Some(visit) = lock_entry
            .visit_id
            .as_deref()
            .and_then(|v| package.visit(v))
        else {
            return Err(failure(*line, "a lock of no visit of the package".into()));
        };
        let Some(lock) = store.visit_lock(&visit.id).map_err(store_failure)? else {
            return Err(failure(*line, "the lock was not taken".into()));
        };
        let name = package
            .participant(&visit.participant)
            .map_or(visit.participant.clone(), |p| p.name.clone());
        if lock.locked.content_hash() != lock.hash {
            return Err(failure(
                *line,
                format!("the lock of {name} does not match its own content"),
            ));
        }
        let input = store.all_sheets().map_err(store_failure)?;
        let result = tinjau_core::merge::merge(&input, package.competition.method);
        let recomputed = store
            .locked_result(visit, &input, &result)
            .map_err(store_failure)?
            .content_hash();
        if recomputed != lock.hash {
            return Err(failure(
                *line,
                format!(
                    "the lock of {name} ({}) does not match the bundle's changes (they give {recomputed}): \
                     a change it sealed is missing or different",
                    lock.hash
                ),
            ));
        }
        locks.push((visit.id.clone(), name, lock.hash));
    }
    if locks.is_empty() {
        return Err(failure(
            2,
            "the bundle holds no lock: there is no result to verify".into(),
        ));
    }
    let input = store.all_sheets().map_err(store_failure)?;
    let result = tinjau_core::merge::merge(&input, package.competition.method);
    Ok(BundleReport {
        competition: bundle.competition.clone(),
        changes: bundle.changes.len(),
        withheld: bundle.withheld,
        devices: bundle.devices,
        locks,
        result,
    })
}
