//! The bodies of Tinjau's fuzz targets: everything a laptop or the server receives from
//! elsewhere, fed arbitrary input. Each body must return without panicking whatever it gets;
//! `fuzz/` runs them under libFuzzer (cargo-fuzz, nightly) and `tests/corpus.rs` replays the
//! committed corpus on stable in every test run.
//!
//! Raw bytes reach only the outermost parser, so the structured targets build their input
//! from the bytes with [`arbitrary`]: well-formed-looking changes (sealed like the real
//! client's, or not) whose every field may be hostile, so the fuzzer reaches the rules behind
//! the parser instead of dying on JSON syntax.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use arbitrary::{Result, Unstructured};
use tinjau_core::chain::{ChangeEntry, GENESIS_HASH};
use tinjau_core::hlc::Hlc;
use tinjau_core::signing::{
    DeviceKey, JurorIdentity, JurorKey, Registration, Registry, SignedRegistration,
};
use tinjau_core::sync::{PullResponse, PulledChange, PushContext, plan_push};
use tinjau_core::{Entity, Package};
use tinjau_store::{Store, StoreOptions};
use uuid::Uuid;

/// The demo package every target runs against.
pub const DEMO: &str = include_str!("../../../assets/skk-jatim-2023.json");

/// A target's body: any input, no panic.
pub type Body = fn(&[u8]);

/// The targets, by name (the folders of `fuzz/corpus/`).
pub const TARGETS: &[(&str, Body)] = &[
    ("package", package),
    ("sheet_import", sheet_import),
    ("push", push),
    ("pulled_page", pulled_page),
    ("bundle", bundle),
];

/// A competition package: parsed and validated, or refused with its problems named.
pub fn package(data: &[u8]) {
    if let Ok(package) = Package::parse(data) {
        // What was accepted must serialise and parse again to the same package.
        let text = serde_json::to_vec(&package).expect("a package serialises");
        let again = Package::parse(&text).expect("an accepted package parses again");
        assert_eq!(again, package);
    }
}

const JURORS: [&str; 4] = ["ketua", "akademisi", "dindik", "orang-lain"];
const FIELDS: [(Entity, &str); 13] = [
    (Entity::Score, "value"),
    (Entity::Score, "note"),
    (Entity::Verification, "verdict"),
    (Entity::Verification, "note"),
    (Entity::Sheet, "state"),
    (Entity::Sheet, "reopen_reason"),
    (Entity::ConflictOfInterest, "reason"),
    (Entity::Observation, "record"),
    (Entity::Evidence, "record"),
    (Entity::TieBreak, "decision"),
    (Entity::Lock, "lock"),
    (Entity::LeadNote, "note"),
    (Entity::Score, "nilai"),
];
const VALUES: [&str; 16] = [
    "80.0",
    "80",
    "-0.0",
    "1e-400",
    "100.5",
    "\"found\"",
    "\"not_found\"",
    "\"submitted\"",
    "\"draft\"",
    "\"catatan\"",
    "\"\\u001b[2J\"",
    "null",
    r#"{"innovation_id":null,"observed_at":"2023-11-28T10:00:00.000Z","text":"ok"}"#,
    r#"{"evidence":{"captured_at":null,"gps":null,"hash":"x","mime":"image/jpeg","original_name":"a.jpg","outside_visit_date":false,"size":3},"owner_entity":"observation","owner_id":"x"}"#,
    r#"{"order":["junrejo","contoh-a"],"reason":"r"}"#,
    "{}",
];

/// Changes whose every field may be hostile; most are sealed as the real client seals them
/// (so they pass the hash check and reach the rules), each device's in a chain of its own.
fn changes(u: &mut Unstructured<'_>) -> Result<Vec<ChangeEntry>> {
    let count = u.int_in_range(0..=24)?;
    let mut heads: HashMap<u8, (u64, String)> = HashMap::new();
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let device: u8 = u.int_in_range(0..=3)?;
        // Mostly the juror the device is registered to, so the rules behind the signature
        // check are reached.
        let juror = if u.ratio(3, 4)? {
            JURORS[usize::from(device)]
        } else {
            *u.choose(&JURORS)?
        };
        let (entity, field) = *u.choose(&FIELDS)?;
        let value = if u.ratio(1, 4)? {
            String::arbitrary_take(u)?
        } else {
            u.choose(&VALUES)?.to_string()
        };
        let visit = if u.ratio(1, 8)? {
            None
        } else {
            Some(
                u.choose(&["visit-junrejo", "visit-contoh-a", "nowhere", ""])?
                    .to_string(),
            )
        };
        let indicator = format!("I{}", u.int_in_range(0..=8)?);
        let target = match entity {
            Entity::Verification => Some(u.choose(&["lansia-smart", "wa-bang", "x"])?.to_string()),
            Entity::ConflictOfInterest => Some(u.choose(&["junrejo", "contoh-a"])?.to_string()),
            Entity::Sheet | Entity::Lock | Entity::TieBreak => None,
            _ => Some(indicator.clone()),
        };
        let visit_text = visit.clone().unwrap_or_default();
        let row_id = match entity {
            Entity::Score => {
                tinjau_core::ids::score_id("skk-jatim-2023", juror, &visit_text, &indicator)
            }
            Entity::Sheet => tinjau_core::ids::sheet_id("skk-jatim-2023", juror, &visit_text),
            Entity::Lock => tinjau_core::ids::lock_id("skk-jatim-2023", &visit_text),
            _ => Uuid::from_u128(u.arbitrary()?),
        };
        let (seq, prev) = heads.entry(device).or_insert((0, GENESIS_HASH.to_string()));
        *seq += 1;
        let mut entry = ChangeEntry {
            change_id: Uuid::from_u128(u.arbitrary::<u128>()? | 1),
            device_id: Uuid::from_u128(u128::from(device) + 1),
            seq: if u.ratio(1, 16)? {
                u.arbitrary()?
            } else {
                *seq
            },
            author: juror.to_string(),
            entity,
            row_id,
            visit_id: visit,
            target_id: target,
            field: field.to_string(),
            value,
            base_version: u.int_in_range(0..=3)?,
            hlc: Hlc {
                wall_millis: if u.ratio(1, 8)? {
                    u.arbitrary()?
                } else {
                    1_700_000_000_000 + out.len() as u64
                },
                counter: u.arbitrary()?,
            },
            resolves: None,
            prev_hash: String::new(),
            hash: String::new(),
            signature: None,
        }
        .seal(prev);
        *prev = entry.hash.clone();
        if !u.ratio(1, 16)? {
            entry = entry.signed(&device_key(device));
        }
        if u.ratio(1, 16)? {
            entry.value.push(' ');
        }
        out.push(entry);
    }
    Ok(out)
}

/// Test device `device`'s key (its id is `device + 1`).
fn device_key(device: u8) -> DeviceKey {
    DeviceKey::from_seed([device; 32])
}

/// Each juror's identity key, and devices 1 to 4 registered to `JURORS[0..4]`.
fn identities_and_registrations() -> &'static (Vec<JurorKey>, Vec<SignedRegistration>) {
    static BOTH: std::sync::OnceLock<(Vec<JurorKey>, Vec<SignedRegistration>)> =
        std::sync::OnceLock::new();
    BOTH.get_or_init(|| {
        let identity =
            |juror: &str| JurorIdentity::derive(&format!("tjk_{juror}"), "skk-jatim-2023", juror);
        let keys = JURORS
            .iter()
            .map(|juror| JurorKey {
                juror: juror.to_string(),
                public_key: identity(juror).public(),
            })
            .collect();
        let registrations = (0u8..4)
            .map(|device| {
                let juror = JURORS[usize::from(device)];
                identity(juror).register(Registration::new(
                    "skk-jatim-2023",
                    juror,
                    Uuid::from_u128(u128::from(device) + 1),
                    device_key(device).public(),
                    chrono::DateTime::UNIX_EPOCH,
                ))
            })
            .collect();
        (keys, registrations)
    })
}

fn registry() -> &'static Registry {
    static REGISTRY: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();
    REGISTRY.get_or_init(|| {
        let (keys, registrations) = identities_and_registrations();
        let mut registry = Registry::new("skk-jatim-2023");
        for key in keys {
            registry.trust(&key.juror, key.public_key);
        }
        for signed in registrations {
            registry
                .admit(signed)
                .expect("the fuzz registrations verify");
        }
        registry
    })
}

/// Reads an arbitrary string, bounded, without failing on short input.
trait TakeString {
    fn arbitrary_take(u: &mut Unstructured<'_>) -> Result<String>;
}

impl TakeString for String {
    fn arbitrary_take(u: &mut Unstructured<'_>) -> Result<String> {
        let len = u.int_in_range(0..=64)?;
        let bytes = u.bytes(len.min(u.len()))?;
        Ok(String::from_utf8_lossy(bytes).into_owned())
    }
}

/// The server's push planning over arbitrary changes, twice (the second time against the
/// first plan's outcome): never a panic, and a replay changes nothing.
pub fn push(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(batch) = changes(&mut u) else { return };
    static PACKAGE: std::sync::OnceLock<Package> = std::sync::OnceLock::new();
    let package =
        PACKAGE.get_or_init(|| Package::parse(DEMO.as_bytes()).expect("the demo package is valid"));
    let locked = HashSet::new();
    let empty = HashMap::new();
    let context = PushContext {
        package,
        clock_limit_millis: tinjau_core::change::clock_limit(1_700_000_000_000),
        devices: &empty,
        locked_visits: &locked,
        known: &empty_known(),
        states: &HashMap::new(),
        conflicts: &HashMap::new(),
        registry: registry(),
    };
    let plan = plan_push(&context, &batch);
    assert_eq!(plan.outcomes.len(), batch.len());
    let known = plan
        .log
        .iter()
        .map(|l| (l.entry.change_id, tinjau_core::sync::Known::Logged))
        .chain(plan.quarantine.iter().map(|(e, r)| {
            (
                e.change_id,
                tinjau_core::sync::Known::Quarantined(r.clone()),
            )
        }))
        .collect();
    let states = plan.states.clone().into_iter().collect();
    let conflicts = plan.conflicts.clone().into_iter().collect();
    let devices = plan.devices.clone().into_iter().collect();
    let again = plan_push(
        &PushContext {
            known: &known,
            states: &states,
            conflicts: &conflicts,
            devices: &devices,
            ..context
        },
        &batch,
    );
    assert!(again.log.is_empty(), "a replay is never logged twice");
}

fn empty_known() -> HashMap<Uuid, tinjau_core::sync::Known> {
    HashMap::new()
}

thread_local! {
    static LEAD: RefCell<Option<(tempfile::TempDir, Store)>> = const { RefCell::new(None) };
}

/// Runs `body` on a lead's store holding the demo package (one per thread, reused: what
/// earlier inputs left in it is more state for later ones to meet).
fn with_lead_store(body: impl FnOnce(&mut Store)) {
    LEAD.with(|cell| {
        let mut slot = cell.borrow_mut();
        let (_, store) = slot.get_or_insert_with(|| {
            let dir = tempfile::tempdir().expect("a temp dir");
            let mut store = Store::open(dir.path(), StoreOptions::default()).expect("a store");
            store
                .import_package(DEMO.as_bytes())
                .expect("the demo imports");
            store.init_juror("ketua").expect("the lead");
            (dir, store)
        });
        body(store);
        // Whatever happened, the store is still whole and every query still answers.
        store
            .integrity_check()
            .expect("the database stays consistent");
        store
            .checklist("visit-junrejo")
            .expect("the visit still opens");
        store.sync_status().expect("the status still reads");
    });
}

/// A sheet file as the lead imports it from a USB stick: raw bytes, or a sheet built from
/// arbitrary changes.
pub fn sheet_import(data: &[u8]) {
    let file = if data.first() == Some(&b'{') {
        data.to_vec()
    } else {
        let mut u = Unstructured::new(data);
        let Ok(entries) = changes(&mut u) else { return };
        let device = entries.first().map_or(Uuid::nil(), |e| e.device_id);
        let entries: Vec<_> = entries
            .into_iter()
            .filter(|e| e.device_id == device)
            .collect();
        serde_json::to_vec(&serde_json::json!({
            "format": tinjau_store::SHEET_FORMAT,
            "competition": "skk-jatim-2023",
            "revision": 1,
            "juror": entries.first().map_or("akademisi", |e| e.author.as_str()),
            "visit": "visit-junrejo",
            "device_id": device,
            "exported_at": "2023-11-28T12:00:00.000Z",
            "entries": entries,
        }))
        .expect("a sheet serialises")
    };
    with_lead_store(|store| {
        let _ = store.import_sheet(&file);
    });
}

/// A result bundle as `tinjau bundle verify` reads it: any bytes, and the same lines sealed
/// again (what someone who rewrites a bundle would hand out: the seal passes, and the lines,
/// signatures, chains and the replay are what is tried). What reads is replayed into a scratch
/// store.
pub fn bundle(data: &[u8]) {
    verify_bundle(data);
    let mut lines: Vec<Vec<u8>> = data.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
    if lines.last().is_some_and(Vec::is_empty) {
        lines.pop();
    }
    lines.pop();
    verify_bundle(&tinjau_core::bundle::seal(&lines));
}

fn verify_bundle(data: &[u8]) {
    if let Ok(bundle) = tinjau_core::bundle::read_bundle(data, u64::MAX) {
        let scratch = tempfile::tempdir().expect("a scratch folder");
        let _ = tinjau_store::replay_bundle(scratch.path(), &bundle);
    }
}

/// A pulled page as a laptop applies it: arbitrary changes, whatever a server sent.
pub fn pulled_page(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(entries) = changes(&mut u) else { return };
    let next = u.arbitrary().unwrap_or(0);
    let signed_from = u.int_in_range(0..=4).unwrap_or(0);
    let (identities, registrations) = identities_and_registrations().clone();
    let page = PullResponse {
        changes: entries
            .into_iter()
            .enumerate()
            .map(|(i, entry)| PulledChange {
                seq: i as u64 + 1,
                entry,
            })
            .collect(),
        next,
        more: false,
        conflicts: Vec::new(),
        mark: None,
        log_changed: false,
        registrations,
        identities,
        signed_from,
        // Device 4 revoked from its third change on.
        revocations: vec![tinjau_core::signing::Revocation {
            device_id: Uuid::from_u128(4),
            from_seq: 3,
        }],
    };
    with_lead_store(|store| {
        store
            .apply_pulled(&page)
            .expect("a pulled page never fails on its content");
    });
}
