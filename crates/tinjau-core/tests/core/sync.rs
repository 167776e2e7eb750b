//! The push planner's properties: the same batch twice has no second effect, and concurrent
//! writes converge on the same value whatever order they arrive in.

use std::collections::{HashMap, HashSet};

use proptest::prelude::*;
use tinjau_core::chain::{ChangeEntry, GENESIS_HASH};
use tinjau_core::hlc::Hlc;
use tinjau_core::signing::{DeviceKey, JurorIdentity, Registration, Registry};
use tinjau_core::sync::{
    ConflictView, DeviceChain, FieldKey, FieldState, Known, Outcome, PushContext, plan_push,
};
use tinjau_core::{Entity, Package, ids};
use uuid::Uuid;

const DEMO: &str = include_str!("../../../../assets/skk-jatim-2023.json");
const VISIT: &str = "visit-junrejo";

/// A tiny server: the state a push plan is applied to.
#[derive(Default, Clone)]
struct Server {
    states: HashMap<FieldKey, FieldState>,
    conflicts: HashMap<Uuid, ConflictView>,
    known: HashMap<Uuid, Known>,
    devices: HashMap<Uuid, DeviceChain>,
    log: Vec<Uuid>,
}

impl Server {
    /// Pushes the batch as its laptops send it: each change signed by its device.
    fn push(&mut self, package: &Package, batch: &[ChangeEntry]) -> Vec<Outcome> {
        let signed: Vec<ChangeEntry> = batch
            .iter()
            .map(|entry| entry.clone().signed(&device_key(entry.device_id)))
            .collect();
        self.push_as_sent(package, &signed)
    }

    /// Pushes the batch exactly as given.
    fn push_as_sent(&mut self, package: &Package, batch: &[ChangeEntry]) -> Vec<Outcome> {
        let locked = HashSet::new();
        static REGISTRY: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();
        let registry = REGISTRY.get_or_init(registry);
        let plan = plan_push(
            &PushContext {
                package,
                clock_limit_millis: u64::MAX,
                devices: &self.devices,
                locked_visits: &locked,
                known: &self.known,
                states: &self.states,
                conflicts: &self.conflicts,
                registry,
            },
            batch,
        );
        for logged in &plan.log {
            self.known.insert(logged.entry.change_id, Known::Logged);
            self.log.push(logged.entry.change_id);
        }
        for (entry, reason) in &plan.quarantine {
            self.known
                .insert(entry.change_id, Known::Quarantined(reason.clone()));
        }
        self.states.extend(plan.states);
        self.conflicts.extend(plan.conflicts);
        for (device, added) in plan.devices {
            let chain = self.devices.entry(device).or_default();
            chain.juror = added.juror;
            chain.links.extend(added.links);
        }
        plan.outcomes.into_iter().map(|o| o.outcome).collect()
    }

    fn values(&self) -> Vec<(String, String)> {
        let mut values: Vec<(String, String)> = self
            .states
            .iter()
            .map(|(k, s)| (k.row_id.to_string(), s.value.clone()))
            .collect();
        values.sort();
        values
    }
}

const TOKEN: &str = "tjk_akademisi-token";

/// The key of test device `device` (a laptop's own, random in real life).
fn device_key(device: Uuid) -> DeviceKey {
    DeviceKey::from_seed([device.as_u128() as u8; 32])
}

/// What the server checks signatures against: akademisi's identity key (from the token), and
/// devices 1 to 9 registered to akademisi by it.
fn registry() -> Registry {
    let identity = JurorIdentity::derive(TOKEN, "skk-jatim-2023", "akademisi");
    let mut registry = Registry::new("skk-jatim-2023");
    registry.trust("akademisi", identity.public());
    for device in 1..10u128 {
        let id = Uuid::from_u128(device);
        let registration = identity.register(Registration::new(
            "skk-jatim-2023",
            "akademisi",
            id,
            device_key(id).public(),
            chrono::DateTime::UNIX_EPOCH,
        ));
        assert_eq!(registry.admit(&registration), Ok(true));
    }
    registry
}

/// One change by akademisi on a given device to a score of indicator `k`.
fn change(device: u128, seq: u64, k: usize, value: u32, wall: u64) -> ChangeEntry {
    let indicator = format!("I{}", k + 1);
    ChangeEntry {
        change_id: Uuid::from_u128(device << 64 | u128::from(seq)),
        device_id: Uuid::from_u128(device),
        seq,
        author: "akademisi".into(),
        entity: Entity::Score,
        row_id: ids::score_id("skk-jatim-2023", "akademisi", VISIT, &indicator),
        visit_id: Some(VISIT.into()),
        target_id: Some(indicator),
        field: "value".into(),
        value: format!("{value}.0"),
        base_version: 0,
        // A device's clock strictly increases: its sequence number breaks ties in the counter.
        hlc: Hlc {
            wall_millis: wall,
            counter: seq as u32,
        },
        resolves: None,
        prev_hash: String::new(),
        hash: String::new(),
        signature: None,
    }
    .seal(GENESIS_HASH)
}

/// Concurrent writes: several devices, each writing some of three fields, none having seen the
/// others (every base_version is 0). Each device's changes form its hash chain.
fn concurrent_writes() -> impl Strategy<Value = Vec<ChangeEntry>> {
    proptest::collection::vec((1u128..5, 0usize..3, 0u32..=100, 0u64..1_000), 1..12).prop_map(
        |writes| {
            let mut heads: HashMap<u128, (u64, String)> = HashMap::new();
            writes
                .into_iter()
                .map(|(device, k, value, wall)| {
                    let (seq, prev) = heads.entry(device).or_insert((0, GENESIS_HASH.to_string()));
                    *seq += 1;
                    let sealed = change(device, *seq, k, value, wall).seal(prev);
                    *prev = sealed.hash.clone();
                    sealed
                })
                .collect()
        },
    )
}

/// Another arrival order of `batch`: devices interleave at random, each device's changes still
/// in its own order (a device's chain always arrives in order).
fn interleave(batch: &[ChangeEntry], seed: u64) -> Vec<ChangeEntry> {
    let mut shuffled = batch.to_vec();
    let mut state = seed | 1;
    for i in (1..shuffled.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        shuffled.swap(i, (state % (i as u64 + 1)) as usize);
    }
    let mut per_device: HashMap<Uuid, Vec<ChangeEntry>> = HashMap::new();
    for entry in batch {
        per_device
            .entry(entry.device_id)
            .or_default()
            .push(entry.clone());
    }
    let mut next: HashMap<Uuid, usize> = HashMap::new();
    shuffled
        .iter()
        .map(|slot| {
            let index = next.entry(slot.device_id).or_insert(0);
            *index += 1;
            per_device[&slot.device_id][*index - 1].clone()
        })
        .collect()
}

proptest! {
    #[test]
    fn the_same_batch_twice_has_no_second_effect(batch in concurrent_writes()) {
        let package = Package::parse(DEMO.as_bytes()).unwrap();
        let mut server = Server::default();
        server.push(&package, &batch);
        let before = (server.values(), server.log.clone());
        let again = server.push(&package, &batch);
        prop_assert!(again.iter().all(|o| *o == Outcome::Duplicate), "{:?}", again);
        prop_assert_eq!((server.values(), server.log.clone()), before);
    }

    #[test]
    fn concurrent_writes_converge_whatever_the_arrival_order(batch in concurrent_writes(), seed in any::<u64>()) {
        let package = Package::parse(DEMO.as_bytes()).unwrap();
        let mut in_order = Server::default();
        for change in &batch {
            in_order.push(&package, std::slice::from_ref(change));
        }
        let shuffled_batch = interleave(&batch, seed);
        let mut shuffled = Server::default();
        for change in &shuffled_batch {
            shuffled.push(&package, std::slice::from_ref(change));
        }
        prop_assert_eq!(in_order.values(), shuffled.values());
        // The value shown is the greatest (HLC, device) among the field's candidates.
        for (key, state) in &in_order.states {
            let winner = batch
                .iter()
                .filter(|c| FieldKey::of(c) == *key)
                .max_by_key(|c| (c.hlc, c.device_id, c.change_id))
                .unwrap();
            let same_value = batch.iter().filter(|c| FieldKey::of(c) == *key).all(|c| c.value == winner.value);
            prop_assert!(same_value || state.value == winner.value);
        }
        // Every accepted change is logged exactly once, and no value was lost: each distinct
        // value written to a contested field is a candidate of its conflict.
        prop_assert_eq!(in_order.log.len(), batch.len());
        for (key, state) in &in_order.states {
            let written: HashSet<&str> = batch.iter().filter(|c| FieldKey::of(c) == *key).map(|c| c.value.as_str()).collect();
            if written.len() > 1 {
                let conflict = &in_order.conflicts[&state.open_conflict.expect("contested fields stay in conflict")];
                let candidates: HashSet<&str> = conflict.candidates.iter().map(|c| c.value.as_str()).collect();
                prop_assert!(written.is_subset(&candidates), "{:?} vs {:?}", written, candidates);
            }
        }
    }
}

#[test]
fn a_change_that_saw_the_latest_version_fast_forwards_even_with_an_older_clock() {
    let package = Package::parse(DEMO.as_bytes()).unwrap();
    let mut server = Server::default();
    let first = change(1, 1, 0, 80, 5_000_000);
    assert_eq!(
        server.push(&package, std::slice::from_ref(&first)),
        [Outcome::Applied]
    );
    // Device 2's clock is far behind, but it had seen version 1.
    let mut second = change(2, 1, 0, 60, 1);
    second.base_version = 1;
    let second = second.seal(GENESIS_HASH);
    assert_eq!(
        server.push(&package, std::slice::from_ref(&second)),
        [Outcome::Applied]
    );
    assert_eq!(server.values()[0].1, "60.0");
}

#[test]
fn a_change_is_applied_only_when_signed_by_a_device_registered_to_its_author() {
    let package = Package::parse(DEMO.as_bytes()).unwrap();
    let mut server = Server::default();
    let code = |outcomes: Vec<Outcome>| match outcomes.as_slice() {
        [Outcome::Rejected { code, .. }] => Some(*code),
        _ => None,
    };
    use tinjau_core::change::RefusalCode;

    // The same place in device 1's chain, each time another change (another id).
    let at_one = |id: u128| {
        let mut entry = change(1, 1, 0, 80, 1_000);
        entry.change_id = Uuid::from_u128(id);
        entry.seal(GENESIS_HASH)
    };
    // Unsigned (a laptop from before signing, or one that stripped it).
    let unsigned = at_one(101);
    assert_eq!(
        code(server.push_as_sent(&package, &[unsigned])),
        Some(RefusalCode::Unsigned)
    );
    // Signed by another device's key.
    let forged = at_one(102).signed(&device_key(Uuid::from_u128(2)));
    assert_eq!(
        code(server.push_as_sent(&package, &[forged])),
        Some(RefusalCode::BadSignature)
    );
    // Signed, then edited (the hash re-made to match, as a forger would).
    let mut edited = at_one(103).signed(&device_key(Uuid::from_u128(1)));
    let signature = edited.signature;
    edited.value = "95.0".into();
    let mut edited = edited.seal(GENESIS_HASH);
    edited.signature = signature;
    assert_eq!(
        code(server.push_as_sent(&package, &[edited])),
        Some(RefusalCode::BadSignature)
    );
    // A device nobody registered.
    let stranger = change(77, 1, 0, 80, 1_000).signed(&device_key(Uuid::from_u128(77)));
    assert_eq!(
        code(server.push_as_sent(&package, &[stranger])),
        Some(RefusalCode::ForeignDevice)
    );
    // None of them took a place in the chain: the honest change at that place is applied.
    let honest = at_one(104).signed(&device_key(Uuid::from_u128(1)));
    assert_eq!(server.push_as_sent(&package, &[honest]), [Outcome::Applied]);
    // A copied folder signs with the same key: it is still caught by its chain.
    let copy = at_one(105).signed(&device_key(Uuid::from_u128(1)));
    assert_eq!(
        code(server.push_as_sent(&package, &[copy])),
        Some(RefusalCode::DeviceCopied)
    );
}

#[test]
fn a_registration_not_signed_by_the_jurors_identity_key_binds_nothing() {
    let identity = JurorIdentity::derive(TOKEN, "skk-jatim-2023", "akademisi");
    let mut registry = Registry::new("skk-jatim-2023");
    registry.trust("akademisi", identity.public());
    let device = Uuid::from_u128(40);
    let claim = |by: &JurorIdentity, juror: &str| {
        by.register(Registration::new(
            "skk-jatim-2023",
            juror,
            device,
            device_key(device).public(),
            chrono::DateTime::UNIX_EPOCH,
        ))
    };
    use tinjau_core::change::RefusalCode;
    // Signed with the wrong identity key (another token, as a hub or a server could make).
    let wrong = JurorIdentity::derive("tjk_someone-else", "skk-jatim-2023", "akademisi");
    assert_eq!(
        registry
            .admit(&claim(&wrong, "akademisi"))
            .map_err(|r| r.code),
        Err(RefusalCode::BadSignature)
    );
    let entry = change(40, 1, 0, 80, 1_000).signed(&device_key(device));
    assert_eq!(
        registry.check(&entry).map_err(|r| r.code),
        Err(RefusalCode::BadSignature),
        "the device's changes are refused for the reason its registration was"
    );
    // A juror whose identity key is not known here.
    assert_eq!(
        registry
            .admit(&claim(&identity, "dinkes"))
            .map_err(|r| r.code),
        Err(RefusalCode::ForeignDevice)
    );
    // The real registration binds it; a second one for another juror or key changes nothing.
    assert_eq!(registry.admit(&claim(&identity, "akademisi")), Ok(true));
    assert_eq!(registry.admit(&claim(&identity, "akademisi")), Ok(false));
    assert_eq!(registry.check(&entry), Ok(()));
    let mut rekeyed = claim(&identity, "akademisi");
    rekeyed.registration.device_key = device_key(Uuid::from_u128(41)).public();
    let rekeyed = identity.register(rekeyed.registration);
    assert_eq!(
        registry.admit(&rekeyed).map_err(|r| r.code),
        Err(RefusalCode::ForeignDevice)
    );
    assert_eq!(registry.check(&entry), Ok(()));
    // Another juror's change from this device.
    let mut theirs = change(40, 2, 0, 80, 1_000);
    theirs.author = "dinkes".into();
    let theirs = theirs.seal(&entry.hash).signed(&device_key(device));
    assert_eq!(
        registry.check(&theirs).map_err(|r| r.code),
        Err(RefusalCode::ForeignDevice)
    );
}

#[test]
fn a_revoked_device_is_refused_from_its_revocation_on_and_not_before() {
    use tinjau_core::change::RefusalCode;
    use tinjau_core::signing::Revocation;
    let mut registry = registry();
    let device = Uuid::from_u128(3);
    let first = change(3, 1, 0, 80, 1_000).signed(&device_key(device));
    let second = change(3, 2, 1, 80, 1_001)
        .seal(&first.hash)
        .signed(&device_key(device));
    registry.revoke(&Revocation {
        device_id: device,
        from_seq: 5,
    });
    registry.revoke(&Revocation {
        device_id: device,
        from_seq: 2,
    });
    assert_eq!(
        registry.check(&first),
        Ok(()),
        "accepted before the revocation"
    );
    assert_eq!(
        registry.check(&second).map_err(|r| r.code),
        Err(RefusalCode::RevokedDevice),
        "the earliest revocation wins"
    );
    // A forged signature is still named as such, not as a revocation.
    let forged = change(3, 9, 1, 80, 1_001).signed(&device_key(Uuid::from_u128(4)));
    assert_eq!(
        registry.check(&forged).map_err(|r| r.code),
        Err(RefusalCode::BadSignature)
    );
}
