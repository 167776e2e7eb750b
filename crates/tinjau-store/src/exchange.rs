//! Getting a juror's sheet to the lead without any network: one file on a USB stick.
//!
//! The file carries the juror's device chain (every change-log entry, hash chain included) and,
//! optionally, the evidence files. Importing applies it with the same rules as sync: idempotent
//! (a change already here is a duplicate), chain verified, authority checked per change, late
//! changes to a locked visit quarantined, never silently dropped.

use std::collections::HashSet;
use std::path::PathBuf;

use base64::Engine;
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use tinjau_core::chain::{ChangeEntry, verify_device_chain};
use tinjau_core::change::{Change, FieldValue, Refusal, RefusalCode, clock_limit};
use tinjau_core::signing::SignedRegistration;
use tinjau_core::sync::{refusal, withdrawal_refused};
use tinjau_core::{Entity, SheetState};
use uuid::Uuid;

use crate::changes::{Received, Source, stored_hlc, take_in};
use crate::evidence::stored_path;
use crate::records::unscored_in;
use crate::{Result, Store, StoreError, meta_set};

pub const SHEET_FORMAT: &str = "tinjau-sheet/1";
/// The lead's decisions for one juror, on a file (`tinjau decisions export`): the lead's
/// changes that juror may see (a reopened sheet, a lock, the team's observations), without the
/// rest of the lead's log (the lead's own scores stay blind).
pub const DECISIONS_FORMAT: &str = "tinjau-decisions/1";

/// Sheet files larger than this are refused before parsing.
pub const MAX_SHEET_FILE_BYTES: u64 = 512 * 1024 * 1024;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SheetFile {
    pub format: String,
    pub competition: String,
    pub revision: i64,
    pub juror: String,
    pub visit: String,
    pub device_id: Uuid,
    pub exported_at: String,
    pub entries: Vec<ChangeEntry>,
    #[serde(default)]
    pub evidence: Vec<EvidenceBlob>,
    /// The registration of the file's device, signed by the juror's identity key
    /// (`docs/signing.md`); none from a laptop that never had the juror's token.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub registrations: Vec<SignedRegistration>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceBlob {
    pub hash: String,
    /// The file's bytes, base64 (standard alphabet, padded).
    pub data: String,
}

pub use tinjau_core::views::{RefusedChange, SheetImportReport};

impl Store {
    /// The file a juror hands the lead: this device's whole change log for the competition, and
    /// the visit's evidence files when `with_evidence`. The sheet must be submitted.
    pub fn export_sheet(&self, visit: &str, with_evidence: bool) -> Result<Vec<u8>> {
        let package = self.package()?;
        let juror = self.juror_id()?;
        let visit = self.find_visit(visit)?.id.clone();
        if self.sheet_state(&juror, &visit)? != SheetState::Submitted {
            return Err(StoreError::SheetNotSubmitted { juror, visit });
        }
        let entries = self.device_entries(self.device_id)?;
        let mut evidence = Vec::new();
        if with_evidence {
            let mut seen = HashSet::new();
            let mut statement = self.conn.prepare(
                "SELECT e.hash FROM evidence e WHERE e.juror_id = ?1 AND e.visit_id = ?2
                 UNION
                 SELECT f.preview_hash FROM evidence e JOIN evidence_file f ON f.hash = e.hash
                 WHERE e.juror_id = ?1 AND e.visit_id = ?2 AND f.preview_hash IS NOT NULL
                 ORDER BY 1",
            )?;
            let hashes: Vec<String> = statement
                .query_map(params![juror, visit], |row| row.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for hash in hashes {
                let path = stored_path(&self.data_dir, &hash);
                if seen.insert(hash.clone()) && path.exists() {
                    let bytes = self.evidence_bytes(&hash)?.ok_or_else(|| StoreError::Io {
                        context: format!("reading evidence {}", path.display()),
                        source: std::io::ErrorKind::NotFound.into(),
                    })?;
                    evidence.push(EvidenceBlob {
                        hash,
                        data: base64::engine::general_purpose::STANDARD.encode(bytes),
                    });
                }
            }
        }
        let file = SheetFile {
            format: SHEET_FORMAT.into(),
            competition: package.competition.id.clone(),
            revision: package.revision,
            juror,
            visit,
            device_id: self.device_id,
            exported_at: self.now_text(),
            entries,
            evidence,
            registrations: self.own_registration()?.into_iter().collect(),
        };
        Ok(serde_json::to_vec_pretty(&file).expect("a sheet file always serialises"))
    }

    /// The lead's decisions a juror may see, on a file for `juror` (a USB stick back from the
    /// lead: a sheet reopened for correction, a lock). Only the changes the pull rule
    /// (`sync::visible_to`) shows that juror; signed, with the lead's registration.
    pub fn export_decisions(&self, juror: &str) -> Result<Vec<u8>> {
        let package = self.package()?;
        let lead = self.juror_id()?;
        if package.juror(&lead).map(|j| j.role) != Some(tinjau_core::package::Role::Lead) {
            return Err(StoreError::NotLead { juror: lead });
        }
        if package.juror(juror).is_none() {
            return Err(StoreError::UnknownJuror {
                juror: juror.to_string(),
                known: package
                    .jurors
                    .iter()
                    .map(|j| j.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        let entries: Vec<ChangeEntry> = self
            .device_entries(self.device_id)?
            .into_iter()
            .filter(|entry| {
                tinjau_core::sync::visible_to(
                    package,
                    juror,
                    tinjau_core::sync::AccessRole::Juror,
                    entry.entity,
                    &tinjau_core::sync::owner_of(package, entry),
                    entry.visit_id.as_deref(),
                )
            })
            .collect();
        let file = SheetFile {
            format: DECISIONS_FORMAT.into(),
            competition: package.competition.id.clone(),
            revision: package.revision,
            juror: lead,
            visit: String::new(),
            device_id: self.device_id,
            exported_at: self.now_text(),
            entries,
            evidence: Vec::new(),
            registrations: self.own_registration()?.into_iter().collect(),
        };
        Ok(serde_json::to_vec_pretty(&file).expect("a decisions file always serialises"))
    }

    /// Applies a sheet file received from a juror. All or nothing: a broken chain or a file for
    /// another competition changes nothing; refused changes are quarantined, not dropped.
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub fn import_sheet(&mut self, bytes: &[u8]) -> Result<SheetImportReport> {
        if bytes.len() as u64 > MAX_SHEET_FILE_BYTES {
            return Err(StoreError::SheetFile(format!(
                "the file is {} bytes; the limit is {MAX_SHEET_FILE_BYTES} bytes",
                bytes.len()
            )));
        }
        let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
        let file: SheetFile = serde_path_to_error::deserialize(deserializer)
            .map_err(|e| StoreError::SheetFile(format!("{}: {}", e.path(), e.inner())))?;
        let decisions = file.format == DECISIONS_FORMAT;
        if file.format != SHEET_FORMAT && !decisions {
            return Err(StoreError::SheetFile(format!(
                "format must be \"{SHEET_FORMAT}\" or \"{DECISIONS_FORMAT}\", found \"{}\"",
                file.format
            )));
        }
        let package = self.package()?.clone();
        if file.competition != package.competition.id {
            return Err(StoreError::OtherCompetition {
                have: package.competition.id.clone(),
                got: file.competition,
            });
        }
        if let Some(entry) = file.entries.iter().find(|e| e.device_id != file.device_id) {
            return Err(StoreError::SheetFile(format!(
                "change {} comes from device {}, not the file's device {}",
                entry.change_id, entry.device_id, file.device_id
            )));
        }
        if decisions {
            // A part of the lead's chain: in order, each at most once; its places are checked
            // against what this laptop holds, and every change against the lead's signature.
            if file
                .entries
                .windows(2)
                .any(|pair| pair[0].seq >= pair[1].seq)
            {
                return Err(StoreError::SheetFile(
                    "the decisions are not in their chain's order".into(),
                ));
            }
            if file.registrations.is_empty() {
                return Err(StoreError::SheetFile(
                    "the decisions file carries no registration of the lead's laptop: it cannot be checked".into(),
                ));
            }
        } else {
            verify_device_chain(&file.entries)?;
        }

        let decoded: Vec<(String, Vec<u8>)> = file
            .evidence
            .iter()
            .map(|blob| {
                base64::engine::general_purpose::STANDARD
                    .decode(&blob.data)
                    .map(|bytes| (blob.hash.clone(), bytes))
                    .map_err(|e| StoreError::SheetFile(format!("evidence {}: {e}", blob.hash)))
            })
            .collect::<Result<_>>()?;
        let mut new_files: Vec<PathBuf> = Vec::new();
        let result = self.apply_sheet(&file, &package, &decoded, &mut new_files);
        if result.is_err() {
            for path in new_files {
                let _ = std::fs::remove_file(path);
            }
        }
        result
    }

    fn apply_sheet(
        &mut self,
        file: &SheetFile,
        package: &tinjau_core::Package,
        evidence: &[(String, Vec<u8>)],
        new_files: &mut Vec<PathBuf>,
    ) -> Result<SheetImportReport> {
        let mut evidence_stored = 0;
        for (hash, bytes) in evidence {
            if let Some(path) = self.store_received(hash, bytes)? {
                new_files.push(path);
            }
            evidence_stored += 1;
        }
        let now = self.options.clock.now();
        let now_text = self.now_text();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut hlc = stored_hlc(&tx)?;
        let mut locked: HashSet<String> = tx
            .prepare("SELECT visit_id FROM visit_lock")?
            .query_map([], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        // What this store held of each sheet before the file: a submission it already had was
        // sent, and can no longer be withdrawn by its juror.
        let held_before: std::collections::HashMap<(String, String), SheetState> = tx
            .prepare("SELECT juror_id, visit_id, state FROM sheet")?
            .query_map([], |row| {
                Ok(((row.get(0)?, row.get(1)?), row.get::<_, String>(2)?))
            })?
            .filter_map(|row| {
                row.map(|(key, state)| state.parse().ok().map(|state| (key, state)))
                    .transpose()
            })
            .collect::<rusqlite::Result<_>>()?;
        if file.registrations.len() > tinjau_core::sync::MAX_PUSH_REGISTRATIONS {
            return Err(StoreError::SheetFile(format!(
                "the file carries {} device registrations; a sheet has its device's",
                file.registrations.len()
            )));
        }
        let registry = crate::signing::registry_for(
            &tx,
            &package.competition.id,
            &[],
            &file.registrations,
            &[],
            crate::signing::IdentityTrust::Keep,
        )?;
        // A juror whose identity key this laptop holds must have signed every change. A sheet
        // with no registration at all comes from a laptop that never had its juror's token
        // (set up from a package file): it is taken on the rules alone, as before signing, and
        // says so; it is not relayed.
        let signatures_checked = registry.knows(&file.juror) && !file.registrations.is_empty();
        // The lead's decisions change what a juror may do: never on the rules alone.
        if file.format == DECISIONS_FORMAT && !signatures_checked {
            return Err(StoreError::SheetFile(format!(
                "this laptop holds no identity key of \"{}\" to check the decisions with: sync once \
                 with the server or the visit's hub first",
                file.juror
            )));
        }
        let source = if signatures_checked {
            Source::Hand
        } else {
            Source::HandUnchecked
        };
        let mut report = SheetImportReport {
            juror: file.juror.clone(),
            visit: file.visit.clone(),
            device_id: file.device_id,
            applied: 0,
            duplicates: 0,
            quarantined: Vec::new(),
            evidence_stored,
            evidence_missing: 0,
            signatures_checked,
        };
        for entry in &file.entries {
            let stored: Option<(String, String)> = tx
                .query_row(
                    "SELECT change_id, hash FROM change_log WHERE device_id = ?1 AND seq = ?2",
                    params![entry.device_id.to_string(), entry.seq as i64],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()?;
            if let Some((change_id, hash)) = stored {
                if change_id != entry.change_id.to_string() || hash != entry.hash {
                    return Err(StoreError::SheetFile(format!(
                        "device {} has a different change at seq {} than the one already received; \
                         the file does not continue the history this store holds",
                        entry.device_id, entry.seq
                    )));
                }
                report.duplicates += 1;
                continue;
            }
            let now_millis = now.timestamp_millis().max(0) as u64;
            let limit = clock_limit(now_millis);
            if entry.hlc.wall_millis <= limit {
                hlc = hlc.observe(entry.hlc, now_millis);
            }
            let received = take_in(&tx, package, entry, source, limit, &now_text, |change| {
                let refusal = if change.entry().author != file.juror {
                    Some(Refusal::new(
                        RefusalCode::NotAllowed,
                        format!(
                            "written by \"{}\", not by the sheet's juror \"{}\"",
                            change.entry().author,
                            file.juror
                        ),
                    ))
                } else if let Some(refusal) = signatures_checked
                    .then(|| registry.check(change.entry()).err())
                    .flatten()
                {
                    Some(refusal)
                } else if let Some(refusal) =
                    refusal(package, |visit| locked.contains(visit), change)
                {
                    Some(refusal)
                } else if let Some(refusal) = withdrawal_refused(
                    package,
                    change,
                    held_before
                        .get(&(
                            change.entry().author.clone(),
                            change.entry().visit_id.clone().unwrap_or_default(),
                        ))
                        .copied(),
                ) {
                    Some(refusal)
                } else {
                    incomplete_submission(&tx, package, change)?
                };
                Ok(refusal)
            })?;
            match received {
                Received::Applied => {
                    if entry.entity == Entity::Lock
                        && let Some(visit) = &entry.visit_id
                    {
                        locked.insert(visit.clone());
                    }
                    report.applied += 1;
                }
                Received::Duplicate => report.duplicates += 1,
                Received::Quarantined(reason) | Received::SetAside(reason) => {
                    report.quarantined.push(RefusedChange {
                        change_id: entry.change_id,
                        reason,
                    });
                }
            }
        }
        meta_set(&tx, "hlc", &hlc.to_string())?;
        tx.commit()?;
        // Count what is still missing on disk, after the commit made the records visible.
        report.evidence_missing = self.missing_evidence_files(&file.juror)?;
        Ok(report)
    }

    /// Evidence a juror attached whose file this store does not have (yet).
    fn missing_evidence_files(&self, juror: &str) -> Result<usize> {
        let hashes: Vec<String> = self
            .conn
            .prepare("SELECT DISTINCT hash FROM evidence WHERE juror_id = ?1")?
            .query_map([juror], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(hashes
            .iter()
            .filter(|h| !stored_path(&self.data_dir, h).exists())
            .count())
    }
}

/// A sheet submitted while some indicator holds no score is refused: the one rule of the core,
/// asked of this store's scores (those received earlier in the same file included).
fn incomplete_submission(
    tx: &rusqlite::Transaction<'_>,
    package: &tinjau_core::Package,
    change: &Change,
) -> Result<Option<Refusal>> {
    if change.value() != &FieldValue::SheetState(SheetState::Submitted) {
        return Ok(None);
    }
    let entry = change.entry();
    let visit = entry.visit_id.as_deref().unwrap_or_default();
    let missing = unscored_in(tx, package, &entry.author, visit)?;
    Ok((!missing.is_empty()).then(|| {
        Refusal::new(
            RefusalCode::SheetIncomplete,
            format!(
                "the sheet cannot be submitted while indicators {} are unscored",
                missing.join(", ")
            ),
        )
    }))
}
