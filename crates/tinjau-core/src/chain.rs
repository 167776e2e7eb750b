//! The change log's tamper-evident hash chain.
//!
//! Every device's entries form a chain: each entry's hash covers its content and the hash of the
//! device's previous entry. Editing, deleting or reordering any entry breaks the chain at that
//! point, and [`verify_device_chain`] names the first entry where it breaks.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::Entity;
use crate::hlc::Hlc;
use crate::signing::{DeviceKey, Signature};

/// Appends `bytes` after their length (8 bytes, little-endian): canonical bytes made of such
/// fields never read two ways.
pub(crate) fn length_prefixed(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// The `prev_hash` of a device's first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One change, as written to the log and (later) pushed by sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeEntry {
    pub change_id: Uuid,
    pub device_id: Uuid,
    /// Gapless per device, starting at 1.
    pub seq: u64,
    /// The juror who made the change.
    pub author: String,
    pub entity: Entity,
    pub row_id: Uuid,
    /// The visit the record belongs to (none for a conflict-of-interest declaration).
    pub visit_id: Option<String>,
    /// What the record is about: an indicator, innovation or participant id.
    pub target_id: Option<String>,
    pub field: String,
    /// The new value, as JSON text exactly as stored (the hash covers these bytes).
    pub value: String,
    /// The version of this field the writer had seen (0: none).
    pub base_version: u64,
    pub hlc: Hlc,
    /// The conflict this change resolves, when it is a resolution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolves: Option<Uuid>,
    pub prev_hash: String,
    pub hash: String,
    /// Its device's signature over its canonical bytes (`docs/signing.md`). Not part of the
    /// hashed bytes; entries written before signing have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<Signature>,
}

impl ChangeEntry {
    /// The hash this entry must carry, given its content and `prev_hash`: BLAKE3 of its
    /// [canonical bytes](ChangeEntry::canonical_bytes).
    pub fn compute_hash(&self) -> String {
        blake3::hash(&self.canonical_bytes()).to_hex().to_string()
    }

    /// The bytes the chain hashes and a device signs: the entry's content and `prev_hash`,
    /// every field length-prefixed, so no two different entries give the same bytes.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.value.len());
        let mut field = |bytes: &[u8]| length_prefixed(&mut out, bytes);
        field(b"tinjau-change/1");
        field(self.prev_hash.as_bytes());
        field(self.change_id.as_bytes());
        field(self.device_id.as_bytes());
        field(&self.seq.to_le_bytes());
        field(self.author.as_bytes());
        field(self.entity.as_str().as_bytes());
        field(self.row_id.as_bytes());
        field(self.visit_id.as_deref().unwrap_or("\u{0}").as_bytes());
        field(self.target_id.as_deref().unwrap_or("\u{0}").as_bytes());
        field(self.field.as_bytes());
        field(self.value.as_bytes());
        field(&self.base_version.to_le_bytes());
        field(self.hlc.to_string().as_bytes());
        // Only resolutions carry this, so every other entry hashes as it always did.
        if let Some(conflict) = self.resolves {
            field(b"resolves");
            field(conflict.as_bytes());
        }
        out
    }

    /// Fills in `prev_hash` and `hash` to append this entry after `prev_hash` (an earlier
    /// signature no longer covers it and is dropped).
    pub fn seal(mut self, prev_hash: &str) -> ChangeEntry {
        self.prev_hash = prev_hash.to_string();
        self.hash = self.compute_hash();
        self.signature = None;
        self
    }

    /// Signs the sealed entry with its device's key.
    pub fn signed(mut self, device: &DeviceKey) -> ChangeEntry {
        self.signature = Some(device.sign_change(&self));
        self
    }
}

/// Where and why a device's chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("change log broken at device {device_id} seq {seq} (change {change_id}): {problem}")]
pub struct ChainBreak {
    pub device_id: Uuid,
    pub seq: u64,
    pub change_id: Uuid,
    pub problem: String,
}

/// Verifies one device's entries, which must be given in `seq` order.
pub fn verify_device_chain(entries: &[ChangeEntry]) -> Result<(), ChainBreak> {
    let mut prev_hash = GENESIS_HASH.to_string();
    for (index, entry) in entries.iter().enumerate() {
        let expected_seq = index as u64 + 1;
        let broken = |problem: String| ChainBreak {
            device_id: entry.device_id,
            seq: entry.seq,
            change_id: entry.change_id,
            problem,
        };
        if entry.seq != expected_seq {
            return Err(broken(format!(
                "expected sequence number {expected_seq}: an entry is missing or out of place"
            )));
        }
        if entry.prev_hash != prev_hash {
            return Err(broken(
                "its link to the previous entry does not match: an earlier entry was changed or removed"
                    .into(),
            ));
        }
        if entry.compute_hash() != entry.hash {
            return Err(broken(
                "its content does not match its hash: the entry was edited".into(),
            ));
        }
        prev_hash = entry.hash.clone();
    }
    Ok(())
}

/// Verifies what this store holds of another device's chain, which may have gaps (a juror
/// receives only the changes they may see): every entry's content must match its hash, and
/// where two consecutive entries are both present, they must link.
pub fn verify_partial_chain(entries: &[ChangeEntry]) -> Result<(), ChainBreak> {
    let mut previous: Option<&ChangeEntry> = None;
    for entry in entries {
        let broken = |problem: &str| ChainBreak {
            device_id: entry.device_id,
            seq: entry.seq,
            change_id: entry.change_id,
            problem: problem.into(),
        };
        if entry.compute_hash() != entry.hash {
            return Err(broken(
                "its content does not match its hash: the entry was edited",
            ));
        }
        if let Some(previous) = previous
            && previous.seq + 1 == entry.seq
            && previous.hash != entry.prev_hash
        {
            return Err(broken(
                "its link to the previous entry does not match: an earlier entry was changed",
            ));
        }
        previous = Some(entry);
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A score change of the demo juror's device, `seq` in its chain (also the signing tests').
    pub(crate) fn entry(seq: u64, value: &str) -> ChangeEntry {
        ChangeEntry {
            change_id: Uuid::from_u128(seq as u128),
            device_id: Uuid::from_u128(7),
            seq,
            author: "akademisi".into(),
            entity: Entity::Score,
            row_id: Uuid::from_u128(99),
            visit_id: Some("visit-junrejo".into()),
            target_id: Some("I1".into()),
            field: "value".into(),
            value: value.into(),
            base_version: seq - 1,
            hlc: Hlc {
                wall_millis: seq,
                counter: 0,
            },
            resolves: None,
            prev_hash: String::new(),
            hash: String::new(),
            signature: None,
        }
    }

    fn chain(values: &[&str]) -> Vec<ChangeEntry> {
        let mut prev = GENESIS_HASH.to_string();
        values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let sealed = entry(i as u64 + 1, v).seal(&prev);
                prev = sealed.hash.clone();
                sealed
            })
            .collect()
    }

    #[test]
    fn an_intact_chain_verifies() {
        assert_eq!(verify_device_chain(&chain(&["80", "85", "90"])), Ok(()));
    }

    #[test]
    fn an_edited_value_is_named() {
        let mut entries = chain(&["80", "85", "90"]);
        entries[1].value = "100".into();
        let error = verify_device_chain(&entries).unwrap_err();
        assert_eq!(error.seq, 2);
        assert!(error.problem.contains("edited"), "{error}");
    }

    #[test]
    fn a_removed_entry_is_named() {
        let mut entries = chain(&["80", "85", "90"]);
        entries.remove(1);
        let error = verify_device_chain(&entries).unwrap_err();
        assert_eq!(error.seq, 3);
        assert!(error.problem.contains("missing"), "{error}");
    }

    #[test]
    fn a_rehashed_edit_still_breaks_the_next_link() {
        let mut entries = chain(&["80", "85", "90"]);
        entries[1].value = "100".into();
        entries[1].hash = entries[1].compute_hash();
        let error = verify_device_chain(&entries).unwrap_err();
        assert_eq!(error.seq, 3);
        assert!(error.problem.contains("link"), "{error}");
    }
}
