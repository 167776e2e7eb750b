//! Sync: the wire types, and the pure planning the server runs on every push.
//!
//! The server gathers the state a push touches (inside one transaction that holds the space's
//! lock), calls [`plan_push`], and applies the plan. Keeping the decision here makes it
//! testable without a server, and identical on the SQLite and PostgreSQL backends.
//!
//! Versions count the accepted changes of a field. A change whose `base_version` is at least
//! the field's version has seen everything the server has and fast-forwards; one based on an
//! older version is concurrent: with the same value it is simply accepted, with another value
//! it opens (or joins) a conflict that keeps every candidate. The provisional winner is the
//! candidate with the greatest (HLC, device id): clients compute the same winner locally.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::authority::{check_change, sheet_owner};
use crate::chain::{ChangeEntry, GENESIS_HASH};
use crate::change::{
    Change, ContentHash, EvidenceRecord, FieldKind, FieldValue, Refusal, RefusalCode,
};
use crate::domain::{Entity, SheetState};
use crate::hlc::Hlc;
use crate::package::{Package, Role};
use crate::signing::{JurorKey, Registry, Revocation, SignedRegistration};

/// Changes per push batch.
pub const MAX_BATCH_CHANGES: usize = 500;
/// Uncompressed bytes per push batch (the wire carries it gzip-compressed).
pub const MAX_BATCH_BYTES: usize = 256 * 1024;
/// The largest evidence chunk a client sends or asks for.
pub const CHUNK_BYTES: usize = 1024 * 1024;
/// The smallest: below this a chunk says more about the round trip than about the link.
pub const MIN_CHUNK_BYTES: usize = 64 * 1024;

/// How big the next evidence chunk is (up or down), from how fast the last ones went.
///
/// A chunk is the unit a cut link loses and a resumed transfer repeats, so on a poor link it
/// must be short in time, not in bytes: seven laptops sharing 1 Mbit/s get about 18 KB/s each,
/// and a 1 MiB chunk would take a minute — longer than the link stays up. The sizer aims at
/// [`ChunkSizer::TARGET`] of the last measured rate, between [`MIN_CHUNK_BYTES`] and
/// [`CHUNK_BYTES`]. It starts at the minimum and at most doubles per chunk (a fast link
/// reaches 1 MiB after five chunks); a chunk lost to a cut halves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkSizer {
    next: usize,
}

impl Default for ChunkSizer {
    fn default() -> Self {
        ChunkSizer {
            next: MIN_CHUNK_BYTES,
        }
    }
}

impl ChunkSizer {
    /// How long one chunk should take on the link.
    pub const TARGET: Duration = Duration::from_secs(4);
    /// Chunk sizes are whole multiples of this.
    const GRAIN: usize = 16 * 1024;

    /// The size of the next chunk.
    pub fn size(&self) -> usize {
        self.next
    }

    /// A chunk of `bytes` went through in `took`.
    pub fn measured(&mut self, bytes: u64, took: Duration) {
        let rate = bytes as f64 / took.as_secs_f64().max(1e-6);
        let aim = (rate * Self::TARGET.as_secs_f64()).min(CHUNK_BYTES as f64) as usize;
        let ceiling = (self.next * 2).min(CHUNK_BYTES);
        let size = aim.min(ceiling) / Self::GRAIN * Self::GRAIN;
        self.next = size.max(MIN_CHUNK_BYTES);
    }

    /// A chunk was lost (the link dropped while it was on the way).
    pub fn lost(&mut self) {
        self.next = (self.next / 2 / Self::GRAIN * Self::GRAIN).max(MIN_CHUNK_BYTES);
    }
}

/// What a server token allows: a juror's own work, the lead's, or the organiser's (who runs the
/// server and reads everything, but writes no field record).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum AccessRole {
    Juror,
    Lead,
    Organiser,
}

impl AccessRole {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessRole::Juror => "juror",
            AccessRole::Lead => "lead",
            AccessRole::Organiser => "organiser",
        }
    }

    pub fn parse(text: &str) -> Option<AccessRole> {
        match text {
            "juror" => Some(AccessRole::Juror),
            "lead" => Some(AccessRole::Lead),
            "organiser" => Some(AccessRole::Organiser),
            _ => None,
        }
    }

    /// The lead and the organiser see every juror's work.
    pub fn sees_everything(self) -> bool {
        matches!(self, AccessRole::Lead | AccessRole::Organiser)
    }
}

/// Whether a token role fits the package's role of that juror.
pub fn role_allowed(package: &Package, juror: &str, role: AccessRole) -> Result<(), String> {
    match (role, package.juror(juror).map(|j| j.role)) {
        (AccessRole::Organiser, _) => Ok(()),
        (AccessRole::Lead, Some(Role::Lead)) | (AccessRole::Juror, Some(_)) => Ok(()),
        (AccessRole::Lead, Some(Role::Juror)) => {
            Err(format!("\"{juror}\" is not a team lead in the package"))
        }
        (_, None) => Err(format!("\"{juror}\" is not a juror of the competition")),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct Whoami {
    pub juror: String,
    pub role: AccessRole,
    pub competition: String,
    pub server_time_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    pub device_id: Uuid,
    /// The client's wall clock, to measure and show its skew (never to reject anything).
    pub client_time_ms: i64,
    pub changes: Vec<ChangeEntry>,
    /// The registrations of the devices whose changes the push carries (`docs/signing.md`);
    /// at most [`MAX_PUSH_REGISTRATIONS`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub registrations: Vec<SignedRegistration>,
}

/// Registrations per push: a laptop sends its own; a hub relaying a visit, one per juror's
/// device.
pub const MAX_PUSH_REGISTRATIONS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Applied,
    Duplicate,
    Conflict {
        conflict_id: Uuid,
    },
    Rejected {
        reason: String,
        /// What kind of refusal, for a client to act on (a copied data folder is told how to
        /// recover). Older servers sent none.
        #[serde(default)]
        code: RefusalCode,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeOutcome {
    pub change_id: Uuid,
    #[serde(flatten)]
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushResponse {
    pub outcomes: Vec<ChangeOutcome>,
    pub server_time_ms: i64,
    /// Server time minus client time, as observed now.
    pub skew_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PulledChange {
    /// The change's position in the space's log: gapless, in commit order.
    pub seq: u64,
    pub entry: ChangeEntry,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullResponse {
    pub changes: Vec<PulledChange>,
    /// The cursor to ask from next (the last position examined, visible or not).
    pub next: u64,
    pub more: bool,
    /// Every open conflict the requester may see.
    pub conflicts: Vec<ConflictView>,
    /// The mark of position `next` ([`position_mark`]): sent back with the next pull, it lets
    /// the server tell whether its log still holds what the client has seen there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mark: Option<String>,
    /// The server's log no longer holds what the client saw at its cursor (it was restored
    /// from a backup): the client pulls from the start and sends its own changes again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub log_changed: bool,
    /// The registrations of the devices whose changes the page carries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub registrations: Vec<SignedRegistration>,
    /// The identity keys of the competition's jurors the server knows (what the registrations
    /// are checked against).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identities: Vec<JurorKey>,
    /// The first log position the server accepted only signed: changes before it were taken
    /// before the server checked signatures, and may be unsigned. A laptop keeps the lowest it
    /// was ever told, so a server cannot later widen it. 0 from a server from before signing.
    #[serde(default)]
    pub signed_from: u64,
    /// Every device of the competition the organiser revoked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revocations: Vec<Revocation>,
}

/// What stands at a position of a space's log, without saying what it is: BLAKE3 over the
/// space, the position and the change there (a juror may not see that change), 32 hex digits.
pub fn position_mark(space: &str, seq: u64, change_id: &str) -> String {
    let text = format!("{space}\n{seq}\n{change_id}");
    blake3::hash(text.as_bytes()).to_hex()[..32].to_string()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct Candidate {
    pub change_id: Uuid,
    pub author: String,
    pub device_id: Uuid,
    #[ts(type = "string")]
    pub hlc: Hlc,
    /// JSON text.
    pub value: String,
}

impl Candidate {
    fn of(entry: &ChangeEntry) -> Candidate {
        Candidate {
            change_id: entry.change_id,
            author: entry.author.clone(),
            device_id: entry.device_id,
            hlc: entry.hlc,
            value: entry.value.clone(),
        }
    }

    fn writer(&self) -> (Hlc, Uuid) {
        (self.hlc, self.device_id)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct ConflictView {
    pub conflict_id: Uuid,
    pub entity: Entity,
    pub row_id: Uuid,
    pub field: String,
    pub visit_id: Option<String>,
    pub target_id: Option<String>,
    /// The juror whose record it is.
    pub owner: String,
    pub candidates: Vec<Candidate>,
    /// The candidate shown meanwhile: greatest (HLC, device id).
    pub provisional: Uuid,
    pub resolved_by: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FieldKey {
    pub entity: Entity,
    pub row_id: Uuid,
    pub field: String,
}

impl FieldKey {
    pub fn of(entry: &ChangeEntry) -> FieldKey {
        FieldKey {
            entity: entry.entity,
            row_id: entry.row_id,
            field: entry.field.clone(),
        }
    }
}

/// The server's state of one field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldState {
    pub version: u64,
    pub value: String,
    pub change_id: Uuid,
    pub hlc: Hlc,
    pub device_id: Uuid,
    pub open_conflict: Option<Uuid>,
}

/// What the server already knows of a change in the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Known {
    Logged,
    Quarantined(Refusal),
}

/// One accepted place in a device's hash chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub hash: String,
    pub prev_hash: String,
}

/// What the server holds of one device's hash chain: who the device belongs to (the author of
/// its first accepted change, whom its registration names) and the links around the positions a push names. Changes may arrive
/// in any order, but each position holds one change, and neighbours must link: a second change
/// at a taken position, or one that does not link to its neighbour, comes from a copy of the
/// data folder.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DeviceChain {
    pub juror: String,
    pub links: BTreeMap<u64, Link>,
}

/// The chain positions whose links a push must gather: each change's own and its neighbours'.
pub fn positions_to_gather(batch: &[ChangeEntry]) -> BTreeMap<Uuid, (u64, u64)> {
    let mut ranges: BTreeMap<Uuid, (u64, u64)> = BTreeMap::new();
    for entry in batch {
        let (low, high) = (entry.seq.saturating_sub(1), entry.seq.saturating_add(1));
        ranges
            .entry(entry.device_id)
            .and_modify(|(l, h)| {
                *l = (*l).min(low);
                *h = (*h).max(high);
            })
            .or_insert((low, high));
    }
    ranges
}

pub struct PushContext<'a> {
    pub package: &'a Package,
    /// The latest HLC accepted ([`crate::change::clock_limit`] of the server's clock).
    pub clock_limit_millis: u64,
    /// The chains of the devices the batch names, around the positions it names.
    pub devices: &'a HashMap<Uuid, DeviceChain>,
    pub locked_visits: &'a HashSet<String>,
    pub known: &'a HashMap<Uuid, Known>,
    /// Current states of the fields the batch touches.
    pub states: &'a HashMap<FieldKey, FieldState>,
    /// Open conflicts of those fields, by id.
    pub conflicts: &'a HashMap<Uuid, ConflictView>,
    /// The identity keys and device registrations the batch's signatures are checked against.
    pub registry: &'a Registry,
}

/// A change to append to the space's log.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedChange {
    pub entry: ChangeEntry,
    /// The juror whose record it is (a sheet reopened by the lead is still the juror's).
    pub owner: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct PushPlan {
    pub outcomes: Vec<ChangeOutcome>,
    pub log: Vec<LoggedChange>,
    pub states: BTreeMap<FieldKey, FieldState>,
    pub conflicts: BTreeMap<Uuid, ConflictView>,
    pub quarantine: Vec<(ChangeEntry, Refusal)>,
    pub new_locks: Vec<String>,
    /// Links this push adds to device chains (with the device's juror, for a new device).
    pub devices: BTreeMap<Uuid, DeviceChain>,
    /// Evidence files announced by applied records: who may upload and see them.
    pub evidence: Vec<EvidenceRef>,
}

/// An evidence file referenced by an applied record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceRef {
    pub hash: String,
    pub size: u64,
    /// The juror who attached it (the only one who may upload it).
    pub owner: String,
    pub visit_id: String,
}

/// The files an applied evidence record announces: its preview (when it has one) and its
/// original, each uploaded by the record's author alone at the size the record names.
pub fn evidence_refs(record: &EvidenceRecord, entry: &ChangeEntry) -> Vec<EvidenceRef> {
    let file = &record.evidence;
    let reference = |hash: &ContentHash, size: u64| EvidenceRef {
        hash: hash.as_str().to_string(),
        size,
        owner: entry.author.clone(),
        visit_id: entry.visit_id.clone().unwrap_or_default(),
    };
    file.preview
        .iter()
        .map(|preview| reference(&preview.hash, preview.size))
        .chain(std::iter::once(reference(&file.hash, file.size)))
        .collect()
}

/// The owner of the record a change writes.
pub fn owner_of(package: &Package, entry: &ChangeEntry) -> String {
    if entry.entity == Entity::Sheet
        && let Some(visit) = entry.visit_id.as_deref().and_then(|v| package.visit(v))
        && let Some(owner) = sheet_owner(package, visit, entry.row_id)
    {
        return owner;
    }
    entry.author.clone()
}

/// Why a change received from elsewhere (a push, a sheet file) must not be applied, if it must
/// not: its author may not make it, or its visit was locked before it arrived. Sync and sheet
/// files apply this same rule to a parsed [`Change`]; each checks first that the change's
/// author is who sent it.
pub fn refusal(
    package: &Package,
    is_locked: impl Fn(&str) -> bool,
    change: &Change,
) -> Option<Refusal> {
    if let Err(refusal) = check_change(package, change) {
        return Some(refusal);
    }
    match change.entry().visit_id.as_deref() {
        Some(visit) if is_locked(visit) => Some(Refusal::new(
            RefusalCode::Locked,
            format!(
                "visit \"{visit}\" is locked: the change arrived after the lead sealed its result"
            ),
        )),
        _ => None,
    }
}

/// A juror takes their own submission back (their sheet set to draft) only while it has not
/// left their laptop. Where the receiver already held the sheet as submitted before this push
/// or file, the submission had reached it, and only the lead can reopen the sheet now.
pub fn withdrawal_refused(
    package: &Package,
    change: &Change,
    held_before: Option<SheetState>,
) -> Option<Refusal> {
    let entry = change.entry();
    let own_draft = change.value() == &FieldValue::SheetState(SheetState::Draft)
        && entry
            .visit_id
            .as_deref()
            .and_then(|v| package.visit(v))
            .and_then(|visit| sheet_owner(package, visit, entry.row_id))
            .is_some_and(|owner| owner == entry.author);
    (own_draft && held_before == Some(SheetState::Submitted)).then(|| {
        Refusal::new(
            RefusalCode::NotAllowed,
            "the submission had already been sent: only the team lead can reopen the sheet now",
        )
    })
}

/// The field keys whose state a push must gather: those its changes write, and for each sheet
/// it submits, the scores that sheet must hold.
pub fn keys_to_gather(package: &Package, batch: &[ChangeEntry]) -> Vec<FieldKey> {
    let mut keys: Vec<FieldKey> = batch.iter().map(FieldKey::of).collect();
    for entry in batch {
        if entry.entity == Entity::Sheet
            && entry.field == FieldKind::SheetState.name()
            && let Some(visit) = entry.visit_id.as_deref().and_then(|v| package.visit(v))
            && let Some(owner) = sheet_owner(package, visit, entry.row_id)
        {
            keys.extend(sheet_score_keys(package, &owner, &visit.id).map(|(_, key)| key));
        }
    }
    keys.sort();
    keys.dedup();
    keys
}

/// The score keys of a juror's sheet for a visit, by indicator id.
fn sheet_score_keys<'p>(
    package: &'p Package,
    juror: &'p str,
    visit: &'p str,
) -> impl Iterator<Item = (&'p str, FieldKey)> + 'p {
    package.indicators.iter().map(move |indicator| {
        (
            indicator.id.as_str(),
            FieldKey {
                entity: Entity::Score,
                row_id: crate::ids::score_id(&package.competition.id, juror, visit, &indicator.id),
                field: FieldKind::ScoreValue.name().to_string(),
            },
        )
    })
}

/// The indicators of `juror`'s sheet for `visit` that hold no score, given which score rows
/// exist: a sheet is submitted only when this is empty. The laptop, the server and the lead's
/// sheet import all ask this one rule.
pub fn unscored_indicators(
    package: &Package,
    juror: &str,
    visit: &str,
    mut has_score: impl FnMut(&FieldKey) -> bool,
) -> Vec<String> {
    sheet_score_keys(package, juror, visit)
        .filter(|(_, key)| !has_score(key))
        .map(|(indicator, _)| indicator.to_string())
        .collect()
}

/// Where an entry stands against what is known of its device's chain: it may take its place,
/// or why not.
fn check_chain(
    known: Option<&DeviceChain>,
    added: Option<&DeviceChain>,
    entry: &ChangeEntry,
) -> Result<(), Refusal> {
    let link = |seq: u64| {
        added
            .and_then(|c| c.links.get(&seq))
            .or_else(|| known.and_then(|c| c.links.get(&seq)))
    };
    let copied = || {
        Refusal::new(
            RefusalCode::DeviceCopied,
            format!(
                "device {} already sent a different change number {}: this data folder was copied \
                 from another laptop and both copies were used. Continue on this laptop as a new \
                 device (`tinjau sync --new-device`, or Sinkronisasi → Jadikan perangkat baru): \
                 its unsent changes are written again under the new device, nothing is lost",
                entry.device_id, entry.seq
            ),
        )
    };
    if entry.seq == 1 && entry.prev_hash != GENESIS_HASH {
        return Err(Refusal::malformed(
            "a device's first change must start its chain",
        ));
    }
    if let Some(taken) = link(entry.seq) {
        // The same change again (its place was kept though its content was refused) is no
        // copy; another change at the same place is.
        return if taken.hash == entry.hash {
            Ok(())
        } else {
            Err(copied())
        };
    }
    if let Some(previous) = link(entry.seq - 1)
        && previous.hash != entry.prev_hash
    {
        return Err(copied());
    }
    if let Some(next) = link(entry.seq + 1)
        && next.prev_hash != entry.hash
    {
        return Err(copied());
    }
    Ok(())
}

/// Decides the fate of every change of a push.
pub fn plan_push(ctx: &PushContext<'_>, batch: &[ChangeEntry]) -> PushPlan {
    let mut plan = PushPlan::default();
    let mut states: HashMap<FieldKey, FieldState> = HashMap::new();
    let mut locked: HashSet<&str> = ctx.locked_visits.iter().map(String::as_str).collect();
    let mut seen: HashSet<Uuid> = HashSet::new();
    for entry in batch {
        let outcome = |outcome| ChangeOutcome {
            change_id: entry.change_id,
            outcome,
        };
        let rejected = |refusal: &Refusal| Outcome::Rejected {
            reason: refusal.message.clone(),
            code: refusal.code,
        };
        if let Some(known) = ctx.known.get(&entry.change_id) {
            plan.outcomes.push(outcome(match known {
                Known::Logged => Outcome::Duplicate,
                Known::Quarantined(refusal) => rejected(refusal),
            }));
            continue;
        }
        if !seen.insert(entry.change_id) {
            plan.outcomes.push(outcome(Outcome::Duplicate));
            continue;
        }
        // Who may push this entry at all, and where it stands in its device's chain. A refusal
        // here leaves the chain as it was.
        let known = ctx.devices.get(&entry.device_id);
        // Parsed once (the hash is the costly part): its verdict on the hash decides the
        // standing, the rest of it the content.
        let parsed = Change::parse(entry.clone(), ctx.clock_limit_millis);
        let owner = plan
            .devices
            .get(&entry.device_id)
            .map(|c| c.juror.as_str())
            .or_else(|| known.map(|c| c.juror.as_str()));
        // Who pushes does not matter: the author's signature, by a device registered to them,
        // proves who wrote it, so a change may be relayed by anyone who holds it (the lead
        // bringing sheets from USB sticks, later a visit's hub).
        let standing = if let Some(owner) = owner.filter(|o| *o != entry.author) {
            Err(Refusal::new(
                RefusalCode::ForeignDevice,
                format!(
                    "device {} belongs to \"{owner}\", not to \"{}\"",
                    entry.device_id, entry.author
                ),
            ))
        } else if matches!(&parsed, Err(r) if r.code == RefusalCode::HashMismatch) {
            Err(Refusal::new(
                RefusalCode::HashMismatch,
                "the change's content does not match its hash",
            ))
        } else if let Err(refusal) = ctx.registry.check(entry) {
            Err(refusal)
        } else if entry.seq == 0 || entry.seq > i64::MAX as u64 {
            Err(Refusal::malformed(format!(
                "sequence number {} is out of range",
                entry.seq
            )))
        } else {
            check_chain(known, plan.devices.get(&entry.device_id), entry)
        };
        if let Err(refusal) = standing {
            plan.outcomes.push(outcome(rejected(&refusal)));
            plan.quarantine.push((entry.clone(), refusal));
            continue;
        }
        // The entry takes its place in the device's chain whatever becomes of its content.
        plan.devices
            .entry(entry.device_id)
            .or_insert_with(|| DeviceChain {
                juror: entry.author.clone(),
                links: BTreeMap::new(),
            })
            .links
            .insert(
                entry.seq,
                Link {
                    hash: entry.hash.clone(),
                    prev_hash: entry.prev_hash.clone(),
                },
            );
        let parsed = parsed.and_then(|change| {
            match refusal(ctx.package, |visit| locked.contains(visit), &change) {
                Some(refusal) => Err(refusal),
                None => Ok(change),
            }
        });
        let parsed = parsed.and_then(|change| {
            let held_before = ctx
                .states
                .get(&FieldKey::of(entry))
                .and_then(|state| serde_json::from_str::<SheetState>(&state.value).ok());
            if let Some(refusal) = withdrawal_refused(ctx.package, &change, held_before) {
                return Err(refusal);
            }
            if let FieldValue::SheetState(SheetState::Submitted) = change.value() {
                let visit = entry.visit_id.as_deref().unwrap_or_default();
                let missing = unscored_indicators(ctx.package, &entry.author, visit, |key| {
                    states.contains_key(key) || ctx.states.contains_key(key)
                });
                if !missing.is_empty() {
                    return Err(Refusal::new(
                        RefusalCode::SheetIncomplete,
                        format!(
                            "the sheet cannot be submitted while indicators {} are unscored",
                            missing.join(", ")
                        ),
                    ));
                }
            }
            Ok(change)
        });
        let change = match parsed {
            Ok(change) => change,
            Err(refusal) => {
                plan.outcomes.push(outcome(rejected(&refusal)));
                plan.quarantine.push((entry.clone(), refusal));
                continue;
            }
        };
        let key = FieldKey::of(entry);
        let current = states.get(&key).or_else(|| ctx.states.get(&key)).cloned();
        let fresh = |version: u64, open_conflict: Option<Uuid>| FieldState {
            version,
            value: entry.value.clone(),
            change_id: entry.change_id,
            hlc: entry.hlc,
            device_id: entry.device_id,
            open_conflict,
        };
        let (state, result) = match current {
            None => (fresh(1, None), Outcome::Applied),
            Some(state) if entry.resolves.is_some() && entry.resolves == state.open_conflict => {
                let id = state.open_conflict.expect("checked");
                let mut conflict = plan
                    .conflicts
                    .get(&id)
                    .or_else(|| ctx.conflicts.get(&id))
                    .cloned()
                    .expect("an open conflict is gathered with its field");
                conflict.resolved_by = Some(entry.change_id);
                plan.conflicts.insert(id, conflict);
                (fresh(state.version + 1, None), Outcome::Applied)
            }
            Some(state) if entry.base_version >= state.version => (
                fresh(state.version + 1, state.open_conflict),
                Outcome::Applied,
            ),
            Some(state) if state.value == entry.value && state.open_conflict.is_none() => {
                // Concurrent, but saying the same thing: nothing to choose between. (While a
                // conflict is open, it joins the conflict as a candidate instead.) The field
                // is represented by the later writer, so a later conflict compares against it
                // whatever order these arrived in.
                let mut same = state.clone();
                same.version += 1;
                if (entry.hlc, entry.device_id, entry.change_id)
                    > (state.hlc, state.device_id, state.change_id)
                {
                    same.change_id = entry.change_id;
                    same.hlc = entry.hlc;
                    same.device_id = entry.device_id;
                }
                (same, Outcome::Applied)
            }
            Some(state) => {
                let (id, mut conflict) = match state.open_conflict {
                    Some(id) => (
                        id,
                        plan.conflicts
                            .get(&id)
                            .or_else(|| ctx.conflicts.get(&id))
                            .cloned()
                            .expect("an open conflict is gathered with its field"),
                    ),
                    None => {
                        let id = Uuid::new_v5(&state.change_id, entry.change_id.as_bytes());
                        let current = Candidate {
                            change_id: state.change_id,
                            author: String::new(),
                            device_id: state.device_id,
                            hlc: state.hlc,
                            value: state.value.clone(),
                        };
                        (
                            id,
                            ConflictView {
                                conflict_id: id,
                                entity: entry.entity,
                                row_id: entry.row_id,
                                field: entry.field.clone(),
                                visit_id: entry.visit_id.clone(),
                                target_id: entry.target_id.clone(),
                                owner: owner_of(ctx.package, entry),
                                candidates: vec![current],
                                provisional: state.change_id,
                                resolved_by: None,
                            },
                        )
                    }
                };
                conflict.candidates.push(Candidate::of(entry));
                let winner = conflict
                    .candidates
                    .iter()
                    .max_by_key(|c| (c.writer(), c.change_id))
                    .cloned()
                    .expect("at least two candidates");
                conflict.provisional = winner.change_id;
                plan.conflicts.insert(id, conflict);
                let state = FieldState {
                    version: state.version + 1,
                    value: winner.value,
                    change_id: winner.change_id,
                    hlc: winner.hlc,
                    device_id: winner.device_id,
                    open_conflict: Some(id),
                };
                (state, Outcome::Conflict { conflict_id: id })
            }
        };
        match change.value() {
            FieldValue::Lock(_) => {
                if let Some(visit) = entry.visit_id.as_deref() {
                    locked.insert(visit);
                    plan.new_locks.push(visit.to_string());
                }
            }
            FieldValue::Evidence(record) => plan.evidence.extend(evidence_refs(record, entry)),
            _ => {}
        }
        states.insert(key.clone(), state.clone());
        plan.states.insert(key, state);
        plan.log.push(LoggedChange {
            entry: entry.clone(),
            owner: owner_of(ctx.package, entry),
        });
        plan.outcomes.push(outcome(result));
    }
    // A conflict candidate standing for the state before the push has no author yet: fill it
    // from the conflict's owner, who wrote it (conflicts are on one owner's record).
    for conflict in plan.conflicts.values_mut() {
        for candidate in &mut conflict.candidates {
            if candidate.author.is_empty() {
                candidate.author = conflict.owner.clone();
            }
        }
    }
    plan
}

/// Whether `juror` (with `role`) may receive a change of `owner`'s record. Before a visit's
/// result is locked (released), a juror never receives another juror's scores or verdicts.
pub fn visible_to(
    package: &Package,
    juror: &str,
    role: AccessRole,
    entity: Entity,
    owner: &str,
    visit_id: Option<&str>,
) -> bool {
    if role.sees_everything() || owner == juror {
        return true;
    }
    let on_jury = visit_id
        .and_then(|v| package.visit(v))
        .is_some_and(|v| v.jurors.iter().any(|j| j == juror));
    on_jury
        && matches!(
            entity,
            Entity::Observation | Entity::Evidence | Entity::Lock
        )
}

/// How long to wait before retry number `attempt` (0-based): exponential from one second,
/// capped at five minutes, with full jitter from `random_unit` in [0, 1).
pub fn retry_delay(attempt: u32, random_unit: f64) -> Duration {
    let ceiling = (1u64 << attempt.min(16)).min(300) as f64;
    Duration::from_secs_f64(ceiling * random_unit.clamp(0.0, 1.0)).max(Duration::from_millis(100))
}

#[cfg(test)]
mod chunk_tests {
    use super::*;

    #[test]
    fn a_slow_shared_link_gets_short_chunks() {
        // Seven laptops on 1 Mbit/s: about 18 KB/s each.
        let mut sizer = ChunkSizer::default();
        assert_eq!(sizer.size(), MIN_CHUNK_BYTES);
        sizer.measured(65_536, Duration::from_secs_f64(65_536.0 / 18_000.0));
        assert_eq!(sizer.size(), MIN_CHUNK_BYTES);
    }

    #[test]
    fn a_fast_link_grows_to_the_largest_chunk_doubling_at_most() {
        let mut sizer = ChunkSizer::default();
        let mut sizes = Vec::new();
        for _ in 0..6 {
            let bytes = sizer.size() as u64;
            // 10 MB/s.
            sizer.measured(bytes, Duration::from_secs_f64(bytes as f64 / 10e6));
            sizes.push(sizer.size() / 1024);
        }
        assert_eq!(sizes, [128, 256, 512, 1024, 1024, 1024]);
    }

    #[test]
    fn a_middling_link_aims_at_four_seconds_on_a_grain() {
        let mut sizer = ChunkSizer { next: CHUNK_BYTES };
        // 100 KB/s: 400 KB in four seconds, rounded down to 16 KiB.
        sizer.measured(100_000, Duration::from_secs(1));
        assert_eq!(sizer.size(), 400_000 / 16_384 * 16_384);
    }

    #[test]
    fn a_lost_chunk_halves_the_next_but_never_below_the_minimum() {
        let mut sizer = ChunkSizer { next: CHUNK_BYTES };
        sizer.lost();
        assert_eq!(sizer.size(), CHUNK_BYTES / 2);
        for _ in 0..10 {
            sizer.lost();
        }
        assert_eq!(sizer.size(), MIN_CHUNK_BYTES);
        sizer.measured(0, Duration::ZERO);
        assert_eq!(sizer.size(), MIN_CHUNK_BYTES);
    }
}
