//! `cargo bench -p tinjau-core --bench signing`
//!
//! What signed changes cost (`docs/signing.md`): signing a change as a laptop writes it, and
//! checking one as every receiver does (`Registry::check`: the canonical bytes and an Ed25519
//! verification), over 20,000 score changes of 10 devices; plus deriving a juror's identity key
//! from a token and admitting a device registration. Reports the median of repeated runs and
//! what checking a national competition's changes would take at that rate, on one core.

use std::io::Write;
use std::time::{Duration, Instant};

use tinjau_core::chain::{ChangeEntry, GENESIS_HASH};
use tinjau_core::hlc::Hlc;
use tinjau_core::signing::{DeviceKey, JurorIdentity, Registration, Registry};
use tinjau_core::{Entity, ids};
use uuid::Uuid;

const DEVICES: u128 = 10;
const PER_DEVICE: u64 = 2_000;

fn changes() -> Vec<(DeviceKey, Vec<ChangeEntry>)> {
    (1..=DEVICES)
        .map(|device| {
            let juror = format!("juri-{device}");
            let mut prev = GENESIS_HASH.to_string();
            let entries = (1..=PER_DEVICE)
                .map(|seq| {
                    let indicator = format!("I{}", seq % 9);
                    let entry = ChangeEntry {
                        change_id: Uuid::from_u128(device << 64 | u128::from(seq)),
                        device_id: Uuid::from_u128(device),
                        seq,
                        author: juror.clone(),
                        entity: Entity::Score,
                        row_id: ids::score_id(
                            "skk-jatim-2023",
                            &juror,
                            "visit-junrejo",
                            &indicator,
                        ),
                        visit_id: Some("visit-junrejo".into()),
                        target_id: Some(indicator),
                        field: "value".into(),
                        value: format!("{}.5", 60 + seq % 40),
                        base_version: 0,
                        hlc: Hlc {
                            wall_millis: 1_700_000_000_000 + seq,
                            counter: 0,
                        },
                        resolves: None,
                        prev_hash: String::new(),
                        hash: String::new(),
                        signature: None,
                    }
                    .seal(&prev);
                    prev = entry.hash.clone();
                    entry
                })
                .collect();
            (DeviceKey::from_seed([device as u8; 32]), entries)
        })
        .collect()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let smoke = !std::env::args().any(|a| a == "--bench");
    let runs = if smoke { 1 } else { 11 };
    let devices = changes();
    let total = (DEVICES as u64 * PER_DEVICE) as f64;

    let mut registry = Registry::new("skk-jatim-2023");
    let mut identity_samples = Vec::new();
    let mut admit_samples = Vec::new();
    for (device, (key, _)) in (1..=DEVICES).zip(&devices) {
        let juror = format!("juri-{device}");
        let started = Instant::now();
        let identity = JurorIdentity::derive(&format!("tjk_{juror}"), "skk-jatim-2023", &juror);
        identity_samples.push(started.elapsed());
        registry.trust(&juror, identity.public());
        let registration = identity.register(Registration::new(
            "skk-jatim-2023",
            &juror,
            Uuid::from_u128(device),
            key.public(),
            chrono::DateTime::UNIX_EPOCH,
        ));
        let started = Instant::now();
        assert_eq!(registry.admit(&registration), Ok(true));
        admit_samples.push(started.elapsed());
    }

    let mut sign_samples = Vec::with_capacity(runs);
    let mut signed = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        signed = devices
            .iter()
            .flat_map(|(key, entries)| entries.iter().map(|e| e.clone().signed(key)))
            .collect::<Vec<_>>();
        sign_samples.push(started.elapsed());
    }
    let mut check_samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        for entry in &signed {
            registry.check(entry).expect("an honest change verifies");
        }
        check_samples.push(started.elapsed());
    }
    let (sign, check) = (median(sign_samples), median(check_samples));
    let per_check = check.as_secs_f64() / total;
    // 38 provinces × 30 kecamatan × 10 jurors, each juror's sheet about 60 changes (9 scores,
    // ~33 verdicts, observations, evidence, the submission).
    let national = 38.0 * 30.0 * 10.0 * 60.0;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "signing {total} changes: median {sign:.1?} ({:.1} µs each); checking them (Registry::check): median {check:.1?} ({:.1} µs each) over {runs} runs",
        sign.as_secs_f64() / total * 1e6,
        per_check * 1e6,
    );
    let _ = writeln!(
        out,
        "identity key from a token: median {:.1?}; admitting a registration: median {:.1?}",
        median(identity_samples),
        median(admit_samples)
    );
    let _ = writeln!(
        out,
        "at that rate, checking every change of 38 provinces × 30 × 10 jurors (~{national} changes) takes {:.1} s on one core",
        national * per_check
    );
}
