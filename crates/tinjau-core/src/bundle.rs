//! A result bundle (`docs/bundle.md`, issue #12): one file with everything a public
//! verification of locked results needs — the package, the jurors' identity keys, the device
//! registrations and revocations, and every signed change, in the order they were made — and
//! nothing a verification does not need (no evidence files, no notes or observations: those
//! changes are **withheld**, kept only as their place in their device's chain).
//!
//! The file is JSON Lines: one entry per line, the last line the **seal** (a hash of every
//! other line, and a digest of those hashes). Reading checks, in order: the seal, then each line
//! (so a byte flipped anywhere names its line and, when it still reads, its entry), then every
//! change's hash and signature, then each device's chain (a change dropped leaves a gap that is
//! named). Recomputing the merge and the locks from the changes is the store's part
//! (`tinjau bundle verify`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::chain::{ChangeEntry, GENESIS_HASH};
use crate::domain::Entity;
use crate::signing::{JurorKey, PublicKey, Registry, Revocation, SignedRegistration};

/// The header's `format`.
pub const BUNDLE_FORMAT: &str = "tinjau-bundle/1";
/// The largest bundle read (38 provinces × 30 × 10 jurors is about 150 MB).
pub const MAX_BUNDLE_BYTES: u64 = 1024 * 1024 * 1024;

/// One line of a bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum BundleEntry {
    Header {
        format: String,
        competition: String,
    },
    /// The package as published (its exact text).
    Package {
        text: String,
    },
    Identity {
        juror: String,
        public_key: PublicKey,
    },
    Registration {
        registration: SignedRegistration,
    },
    Revocation {
        device_id: Uuid,
        from_seq: u64,
    },
    /// A change, whole and signed.
    Change {
        entry: ChangeEntry,
    },
    /// A change not needed to verify results (a verdict, an observation, a file), kept as its
    /// place in its device's chain: the signed change after it commits to its hash.
    Withheld {
        device_id: Uuid,
        seq: u64,
        author: String,
        entity: Entity,
        hash: String,
        prev_hash: String,
    },
    /// The last line: the SHA-256 (first 16 bytes, hex) of every other line, and the SHA-256
    /// of those hashes together.
    Seal {
        lines: Vec<String>,
        digest: String,
    },
}

/// Whether a change of `entity` goes whole into a bundle: what the merge, the locks and the
/// ranking are made from. Verdicts, observations and files are withheld: they may name people,
/// and no result depends on them.
pub fn carried_whole(entity: Entity) -> bool {
    !matches!(
        entity,
        Entity::Verification | Entity::Observation | Entity::Evidence
    )
}

/// What a bundle holds, before it is written.
#[derive(Debug, Clone, Default)]
pub struct BundleParts {
    pub competition: String,
    pub package_text: String,
    pub identities: Vec<JurorKey>,
    pub registrations: Vec<SignedRegistration>,
    pub revocations: Vec<Revocation>,
    /// Every change, in the order they were made (their clocks).
    pub changes: Vec<ChangeEntry>,
    /// Changes refused where the bundle was made: withheld whatever they are.
    pub withheld: std::collections::HashSet<Uuid>,
}

fn line_hash(line: &[u8]) -> String {
    crate::hex::encode(&Sha256::digest(line)[..16])
}

fn seal_digest(lines: &[String]) -> String {
    let mut hasher = Sha256::new();
    for line in lines {
        hasher.update(line.as_bytes());
    }
    crate::hex::encode(&hasher.finalize())
}

/// Writes a bundle: the same parts give the same bytes.
pub fn write_bundle(parts: &BundleParts) -> Vec<u8> {
    let mut entries = vec![
        BundleEntry::Header {
            format: BUNDLE_FORMAT.into(),
            competition: parts.competition.clone(),
        },
        BundleEntry::Package {
            text: parts.package_text.clone(),
        },
    ];
    entries.extend(parts.identities.iter().map(|k| BundleEntry::Identity {
        juror: k.juror.clone(),
        public_key: k.public_key,
    }));
    entries.extend(
        parts
            .registrations
            .iter()
            .map(|r| BundleEntry::Registration {
                registration: r.clone(),
            }),
    );
    entries.extend(parts.revocations.iter().map(|r| BundleEntry::Revocation {
        device_id: r.device_id,
        from_seq: r.from_seq,
    }));
    entries.extend(parts.changes.iter().map(|entry| {
        if carried_whole(entry.entity) && !parts.withheld.contains(&entry.change_id) {
            BundleEntry::Change {
                entry: entry.clone(),
            }
        } else {
            BundleEntry::Withheld {
                device_id: entry.device_id,
                seq: entry.seq,
                author: entry.author.clone(),
                entity: entry.entity,
                hash: entry.hash.clone(),
                prev_hash: entry.prev_hash.clone(),
            }
        }
    }));
    let lines: Vec<Vec<u8>> = entries
        .iter()
        .map(|entry| serde_json::to_vec(entry).expect("a bundle entry serialises"))
        .collect();
    seal(&lines)
}

/// A bundle of these entry lines, sealed. (The seal is not a signature: whoever rewrites a
/// bundle can seal it again, and the signatures, chains and locks are what they cannot redo.)
pub fn seal(lines: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut hashes = Vec::with_capacity(lines.len());
    for line in lines {
        hashes.push(line_hash(line));
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    let seal = BundleEntry::Seal {
        digest: seal_digest(&hashes),
        lines: hashes,
    };
    out.extend(serde_json::to_vec(&seal).expect("a seal serialises"));
    out.push(b'\n');
    out
}

/// The first thing in a bundle that does not verify: its line (1-based) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {what}")]
pub struct BundleFailure {
    pub line: usize,
    pub what: String,
}

fn fail<T>(line: usize, what: impl Into<String>) -> Result<T, BundleFailure> {
    Err(BundleFailure {
        line,
        what: what.into(),
    })
}

/// A bundle whose seal, lines, signatures and chains verify: what the store replays to
/// recompute the merge and the locks.
#[derive(Debug, Clone)]
pub struct VerifiedBundle {
    pub competition: String,
    pub package_text: String,
    pub identities: Vec<JurorKey>,
    pub registrations: Vec<SignedRegistration>,
    pub revocations: Vec<Revocation>,
    /// The whole changes with their line numbers, in the bundle's order.
    pub changes: Vec<(usize, ChangeEntry)>,
    pub withheld: usize,
    pub devices: usize,
}

/// A change named the way a person can find it.
pub fn describe(entry: &ChangeEntry) -> String {
    format!(
        "change {} by \"{}\" ({}.{}, device {} #{})",
        entry.change_id,
        entry.author,
        entry.entity.as_str(),
        entry.field,
        entry.device_id,
        entry.seq
    )
}

fn describe_line(line: &[u8]) -> String {
    match serde_json::from_slice::<BundleEntry>(line) {
        Ok(BundleEntry::Change { entry }) => describe(&entry),
        Ok(BundleEntry::Withheld { device_id, seq, .. }) => {
            format!("the withheld change of device {device_id} #{seq}")
        }
        Ok(BundleEntry::Identity { juror, .. }) => format!("the identity key of \"{juror}\""),
        Ok(BundleEntry::Registration { registration }) => format!(
            "the registration of device {}",
            registration.registration.device_id
        ),
        Ok(BundleEntry::Revocation { device_id, .. }) => {
            format!("the revocation of device {device_id}")
        }
        Ok(BundleEntry::Package { .. }) => "the package".into(),
        Ok(BundleEntry::Header { .. }) => "the header".into(),
        Ok(BundleEntry::Seal { .. }) => "a seal".into(),
        Err(_) => "an entry that no longer reads".into(),
    }
}

/// Reads and checks a bundle (everything but the recomputation of the results).
/// `clock_limit_millis`: changes stamped later than this are refused (as on a push).
pub fn read_bundle(bytes: &[u8], clock_limit_millis: u64) -> Result<VerifiedBundle, BundleFailure> {
    let mut lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    let Some((seal_line, body)) = lines.split_last() else {
        return fail(1, "the file is empty: not a bundle");
    };
    let seal_number = lines.len();
    let (hashes, digest) = match serde_json::from_slice::<BundleEntry>(seal_line) {
        Ok(BundleEntry::Seal { lines, digest }) => (lines, digest),
        _ => {
            return fail(
                seal_number,
                "the seal (the last line) is damaged or missing",
            );
        }
    };
    if seal_digest(&hashes) != digest {
        return fail(
            seal_number,
            "the seal is damaged: its digest does not match its hashes",
        );
    }
    if hashes.len() != body.len() {
        return fail(
            seal_number,
            format!(
                "the seal lists {} lines, the bundle has {}: lines were added or removed",
                hashes.len(),
                body.len()
            ),
        );
    }
    for (index, (line, sealed)) in body.iter().zip(&hashes).enumerate() {
        if line_hash(line) != *sealed {
            return fail(
                index + 1,
                format!(
                    "{} was altered after the bundle was sealed",
                    describe_line(line)
                ),
            );
        }
    }

    // Each line, as an entry.
    let mut entries = Vec::with_capacity(body.len());
    for (index, line) in body.iter().enumerate() {
        match serde_json::from_slice::<BundleEntry>(line) {
            Ok(entry) => entries.push((index + 1, entry)),
            Err(e) => return fail(index + 1, format!("not a bundle entry: {e}")),
        }
    }
    let competition = match entries.first() {
        Some((
            _,
            BundleEntry::Header {
                format,
                competition,
            },
        )) if format == BUNDLE_FORMAT => competition.clone(),
        Some((_, BundleEntry::Header { format, .. })) => {
            return fail(
                1,
                format!("the format is \"{format}\", not {BUNDLE_FORMAT}"),
            );
        }
        _ => return fail(1, "the first line must be the header"),
    };
    let mut bundle = VerifiedBundle {
        competition: competition.clone(),
        package_text: String::new(),
        identities: Vec::new(),
        registrations: Vec::new(),
        revocations: Vec::new(),
        changes: Vec::new(),
        withheld: 0,
        devices: 0,
    };
    let mut registry = Registry::new(&competition);
    // Every chain position, whole or withheld: (hash, prev_hash, line).
    let mut chains: BTreeMap<Uuid, BTreeMap<u64, (String, String, usize)>> = BTreeMap::new();
    let mut place = |device: Uuid, seq: u64, hash: &str, prev: &str, line: usize| {
        let chain = chains.entry(device).or_default();
        if chain
            .insert(seq, (hash.to_string(), prev.to_string(), line))
            .is_some()
        {
            return fail(line, format!("device {device} has two changes at #{seq}"));
        }
        Ok(())
    };
    for (line, entry) in entries.into_iter().skip(1) {
        match entry {
            BundleEntry::Header { .. } => return fail(line, "a second header"),
            BundleEntry::Seal { .. } => return fail(line, "a seal before the end"),
            BundleEntry::Package { text } => {
                if !bundle.package_text.is_empty() {
                    return fail(line, "a second package");
                }
                bundle.package_text = text;
            }
            BundleEntry::Identity { juror, public_key } => {
                registry.trust(&juror, public_key);
                bundle.identities.push(JurorKey { juror, public_key });
            }
            BundleEntry::Registration { registration } => match registry.admit(&registration) {
                Ok(_) => bundle.registrations.push(registration),
                Err(refusal) => {
                    return fail(
                        line,
                        format!(
                            "the registration of device {} does not verify: {}",
                            registration.registration.device_id, refusal.message
                        ),
                    );
                }
            },
            BundleEntry::Revocation {
                device_id,
                from_seq,
            } => {
                let revocation = Revocation {
                    device_id,
                    from_seq,
                };
                registry.revoke(&revocation);
                bundle.revocations.push(revocation);
            }
            BundleEntry::Change { entry } => {
                if let Err(refusal) =
                    crate::change::Change::parse(entry.clone(), clock_limit_millis)
                    && refusal.code == crate::change::RefusalCode::HashMismatch
                {
                    return fail(
                        line,
                        format!("{}: its content does not match its hash", describe(&entry)),
                    );
                }
                if let Err(refusal) = registry.check(&entry) {
                    return fail(
                        line,
                        format!(
                            "{}: {} ({})",
                            describe(&entry),
                            refusal.message,
                            serde_json::to_value(refusal.code)
                                .ok()
                                .and_then(|v| v.as_str().map(str::to_string))
                                .unwrap_or_default()
                        ),
                    );
                }
                place(
                    entry.device_id,
                    entry.seq,
                    &entry.hash,
                    &entry.prev_hash,
                    line,
                )?;
                bundle.changes.push((line, entry));
            }
            BundleEntry::Withheld {
                device_id,
                seq,
                hash,
                prev_hash,
                ..
            } => {
                place(device_id, seq, &hash, &prev_hash, line)?;
                bundle.withheld += 1;
            }
        }
    }
    if bundle.package_text.is_empty() {
        return fail(2, "the package is missing");
    }
    // Every device's chain whole from its first change: a change dropped leaves a gap.
    for (device, chain) in &chains {
        let mut expected_prev = GENESIS_HASH.to_string();
        for (position, (seq, (hash, prev, line))) in chain.iter().enumerate() {
            let expected_seq = position as u64 + 1;
            if *seq != expected_seq {
                return fail(
                    *line,
                    format!(
                        "device {device}'s change #{expected_seq} is missing (the next present is #{seq}): \
                         a change was dropped from the bundle"
                    ),
                );
            }
            if *prev != expected_prev {
                return fail(
                    *line,
                    format!(
                        "device {device}'s change #{seq} does not follow #{}: the chain is broken",
                        seq - 1
                    ),
                );
            }
            expected_prev = hash.clone();
        }
    }
    bundle.devices = chains.len();
    Ok(bundle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn withheld_entities_are_those_no_result_depends_on() {
        assert!(carried_whole(Entity::Score));
        assert!(carried_whole(Entity::Lock));
        assert!(carried_whole(Entity::Sheet));
        assert!(carried_whole(Entity::ConflictOfInterest));
        assert!(!carried_whole(Entity::Observation));
        assert!(!carried_whole(Entity::Evidence));
        assert!(!carried_whole(Entity::Verification));
    }

    #[test]
    fn an_empty_or_unsealed_file_is_named() {
        assert_eq!(read_bundle(b"", u64::MAX).unwrap_err().line, 1);
        let err = read_bundle(b"{\"kind\":\"header\"}\n", u64::MAX).unwrap_err();
        assert!(err.what.contains("seal"), "{err}");
    }
}
