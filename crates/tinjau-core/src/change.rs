//! A change is a type: which field of which record it writes, and a typed, bounded value.
//!
//! The wire and the hash chain carry a change as a [`ChangeEntry`] (the value as JSON text,
//! exactly the bytes the hash covers). Anything that arrives from elsewhere — a push on the
//! server, a pulled page or a sheet file on a laptop — is parsed once, at that boundary, into a
//! [`Change`] by [`Change::parse`]: the hash must match, the ids and the clock must be within
//! bounds, and the value must decode into its field's type *and* be written in its one canonical
//! form. Nothing downstream (authority, projection, the server's planner) ever sees a malformed
//! value, and two equal values are always the same bytes (so they never open a conflict).
//!
//! The field kinds are listed once, in [`FieldKind`]; each place that must treat a kind in its
//! own way (the writer, [`crate::authority`], the store's projection, conflict resolution)
//! matches on [`FieldValue`], so adding a kind is a compile error exactly there. See
//! `docs/changes.md`.

use chrono::NaiveDateTime;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

use crate::chain::ChangeEntry;
use crate::domain::{Entity, SheetState, Verdict};
use crate::merge::{Lock, TieBreak};

/// The largest text a person writes into one field: a note, an observation, a reason.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;
/// The largest value of any change (a lock carries a visit's sealed result).
pub const MAX_VALUE_BYTES: usize = 256 * 1024;
/// The largest evidence file name.
pub const MAX_FILE_NAME_BYTES: usize = 255;
/// The largest id a change names (author, visit, target).
pub const MAX_ID_BYTES: usize = 128;
/// The most participants one tie-break may order.
pub const MAX_TIE_BREAK_PARTICIPANTS: usize = 1000;

/// Why a value or a change is refused. Stable codes let a client act on a refusal (a copied
/// data folder is told how to recover); the message names the problem for a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum RefusalCode {
    /// Not a well-formed change: a value of the wrong type, out of bounds, or not canonical.
    Malformed,
    /// The change's content does not match its hash.
    HashMismatch,
    /// Its author may not make it (not their record, not their role, not on the jury).
    NotAllowed,
    /// Its visit was locked before it arrived.
    Locked,
    /// Another change of this device already holds its place in the device's chain: the data
    /// folder was copied to another laptop and both copies wrote.
    DeviceCopied,
    /// The device belongs to another juror, or nothing binds it to the change's author (no
    /// registration signed by the author's identity key).
    ForeignDevice,
    /// The change carries no signature of its device.
    Unsigned,
    /// Its signature (or its device's registration) does not verify.
    BadSignature,
    /// Its device was revoked (a lost or stolen laptop) before this change's place in its chain.
    RevokedDevice,
    /// An earlier change of this device never arrived.
    ChainGap,
    /// Its clock is further ahead than any laptop's clock may be.
    ClockAhead,
    /// A sheet submitted while an indicator is unscored.
    SheetIncomplete,
    #[default]
    Refused,
}

/// A refusal: a code to act on and a message to read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    pub code: RefusalCode,
    pub message: String,
}

impl Refusal {
    pub fn new(code: RefusalCode, message: impl Into<String>) -> Refusal {
        Refusal {
            code,
            message: message.into(),
        }
    }

    pub fn malformed(message: impl Into<String>) -> Refusal {
        Refusal::new(RefusalCode::Malformed, message)
    }
}

/// Text a person wrote: at most [`MAX_TEXT_BYTES`], no control characters but line breaks and
/// tabs (so nothing can drive the terminal or the layout of whoever reads it).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(transparent)]
pub struct Text(String);

impl Text {
    pub fn new(text: impl Into<String>) -> Result<Text, Refusal> {
        let text = text.into();
        if text.len() > MAX_TEXT_BYTES {
            return Err(Refusal::malformed(format!(
                "the text is {} bytes; at most {MAX_TEXT_BYTES} bytes (64 KiB) are allowed",
                text.len()
            )));
        }
        if let Some(c) = text
            .chars()
            .find(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
        {
            return Err(Refusal::malformed(format!(
                "the text holds the control character U+{:04X}",
                c as u32
            )));
        }
        Ok(Text(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Text::new(String::deserialize(deserializer)?).map_err(D::Error::custom)
    }
}

/// A score as a juror gives it: a finite number with at most two decimals. Whether it lies on
/// the competition's scale is the package's business ([`crate::domain::check_score`]).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct ScoreValue(f64);

impl ScoreValue {
    pub fn new(value: f64) -> Result<ScoreValue, Refusal> {
        if !value.is_finite() {
            return Err(Refusal::malformed(format!(
                "a score must be a number, found {value}"
            )));
        }
        if (value * 100.0).round() / 100.0 != value {
            return Err(Refusal::malformed(format!(
                "a score has at most two decimals, found {value}"
            )));
        }
        // -0 is 0: one value, one form.
        Ok(ScoreValue(if value == 0.0 { 0.0 } else { value }))
    }

    /// A score as a person types it: digits with at most one decimal separator (a comma, as
    /// Indonesian writes it, or a point) and at most two decimals; an optional leading minus.
    /// No exponents, no hexadecimal, no thousands separators, no spaces inside.
    pub fn parse_typed(text: &str) -> Result<ScoreValue, Refusal> {
        let trimmed = text.trim();
        let not_a_score = || {
            Refusal::malformed(format!(
                "\"{}\" is not a score: write a number such as 85 or 72,5",
                text.escape_debug()
            ))
        };
        let unsigned = trimmed.strip_prefix('-').unwrap_or(trimmed);
        let (whole, decimals) = match unsigned.split_once([',', '.']) {
            Some((whole, decimals)) => (whole, Some(decimals)),
            None => (unsigned, None),
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || whole.len() > 9 || decimals.is_some_and(|d| !digits(d)) {
            return Err(not_a_score());
        }
        if decimals.is_some_and(|d| d.len() > 2) {
            return Err(Refusal::malformed(format!(
                "\"{}\" has more than two decimals",
                text.escape_debug()
            )));
        }
        let normalised = match decimals {
            Some(d) => format!("{whole}.{d}"),
            None => whole.to_string(),
        };
        let value: f64 = normalised.parse().map_err(|_| not_a_score())?;
        ScoreValue::new(if trimmed.starts_with('-') {
            -value
        } else {
            value
        })
    }

    pub fn get(self) -> f64 {
        self.0
    }
}

impl<'de> Deserialize<'de> for ScoreValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        ScoreValue::new(f64::deserialize(deserializer)?).map_err(D::Error::custom)
    }
}

/// An id a change names (an indicator, an innovation, a participant, a visit): the package's id
/// alphabet, bounded.
fn check_id(what: &str, id: &str) -> Result<(), Refusal> {
    if !crate::package::is_valid_id(id) {
        return Err(Refusal::malformed(format!(
            "{what} \"{}\" is not an id (1–{MAX_ID_BYTES} of A–Z a–z 0–9 . _ -)",
            truncated(id)
        )));
    }
    Ok(())
}

fn truncated(text: &str) -> String {
    let mut out: String = text.chars().take(40).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out.escape_debug().to_string()
}

/// The BLAKE3 hash of an evidence file: 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ContentHash(String);

impl ContentHash {
    pub fn parse(text: &str) -> Result<ContentHash, Refusal> {
        if text.len() == 64
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Ok(ContentHash(text.to_string()))
        } else {
            Err(Refusal::malformed(format!(
                "\"{}\" is not a BLAKE3 hash (64 lowercase hex digits)",
                truncated(text)
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for ContentHash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        ContentHash::parse(&String::deserialize(deserializer)?).map_err(D::Error::custom)
    }
}

/// A file name as it was on the juror's laptop: shown to people, never used as a path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct FileName(String);

impl FileName {
    pub fn parse(text: &str) -> Result<FileName, Refusal> {
        if text.is_empty() || text.len() > MAX_FILE_NAME_BYTES || text.chars().any(char::is_control)
        {
            return Err(Refusal::malformed(format!(
                "\"{}\" is not a file name (1–{MAX_FILE_NAME_BYTES} bytes, no control characters)",
                truncated(text)
            )));
        }
        Ok(FileName(text.to_string()))
    }

    /// A name from the file system, made presentable: control characters (terminal escapes)
    /// become `?`, and a long name is shortened on a character boundary.
    pub fn sanitize(text: &str) -> FileName {
        let mut clean: String = text
            .chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect();
        while clean.len() > MAX_FILE_NAME_BYTES {
            clean.pop();
        }
        if clean.is_empty() {
            clean.push_str("file");
        }
        FileName(clean)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for FileName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        FileName::parse(&String::deserialize(deserializer)?).map_err(D::Error::custom)
    }
}

/// A GPS position from a photo's EXIF.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Position {
    pub latitude: f64,
    pub longitude: f64,
}

/// A free-text observation. Fields in alphabetical order: this is the canonical JSON form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObservationRecord {
    pub innovation_id: Option<String>,
    /// RFC 3339, when it was written.
    pub observed_at: String,
    pub text: Text,
}

/// What an evidence file's record tells about the file. Alphabetical: canonical form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceFile {
    /// From EXIF: the camera's local time, `YYYY-MM-DDTHH:MM:SS`.
    pub captured_at: Option<String>,
    pub gps: Option<Position>,
    pub hash: ContentHash,
    pub mime: String,
    pub original_name: FileName,
    pub outside_visit_date: bool,
    /// A smaller copy of a photo made when it was attached (longest side at most
    /// [`PREVIEW_MAX_SIDE`] px, JPEG, no metadata), which travels before the original. The
    /// original stays the evidence: its hash is what the audit trail and the documents name.
    /// Absent from records made before previews existed, and for files that need none, so those
    /// records keep their canonical bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<PreviewFile>,
    pub size: u64,
}

/// The longest side of a photo's preview, in pixels.
pub const PREVIEW_MAX_SIDE: u32 = 1280;

/// A preview's content hash and size. Alphabetical: canonical form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviewFile {
    pub hash: ContentHash,
    pub size: u64,
}

/// The record that attaches a file to a verification or an observation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceRecord {
    pub evidence: EvidenceFile,
    pub owner_entity: EvidenceOwner,
    pub owner_id: Uuid,
}

/// What an evidence file is attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceOwner {
    Verification,
    Observation,
}

impl EvidenceOwner {
    pub fn entity(self) -> Entity {
        match self {
            EvidenceOwner::Verification => Entity::Verification,
            EvidenceOwner::Observation => Entity::Observation,
        }
    }
}

/// Every field a change can write. Listed once; [`FieldKind::entity`] and [`FieldKind::name`]
/// spell where each one lives on the wire and in the stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FieldKind {
    ScoreValue,
    ScoreNote,
    Verdict,
    VerificationNote,
    SheetState,
    ReopenReason,
    ConflictOfInterestReason,
    Observation,
    Evidence,
    /// An attached file taken off its record (`true`) or put back (`false`) by its juror; the
    /// file and the record stay in the store and the log for the audit trail.
    EvidenceRemoved,
    TieBreak,
    Lock,
    LeadNote,
}

impl FieldKind {
    pub const ALL: [FieldKind; 13] = [
        FieldKind::ScoreValue,
        FieldKind::ScoreNote,
        FieldKind::Verdict,
        FieldKind::VerificationNote,
        FieldKind::SheetState,
        FieldKind::ReopenReason,
        FieldKind::ConflictOfInterestReason,
        FieldKind::Observation,
        FieldKind::Evidence,
        FieldKind::EvidenceRemoved,
        FieldKind::TieBreak,
        FieldKind::Lock,
        FieldKind::LeadNote,
    ];

    pub fn entity(self) -> Entity {
        match self {
            FieldKind::ScoreValue | FieldKind::ScoreNote => Entity::Score,
            FieldKind::Verdict | FieldKind::VerificationNote => Entity::Verification,
            FieldKind::SheetState | FieldKind::ReopenReason => Entity::Sheet,
            FieldKind::ConflictOfInterestReason => Entity::ConflictOfInterest,
            FieldKind::Observation => Entity::Observation,
            FieldKind::Evidence | FieldKind::EvidenceRemoved => Entity::Evidence,
            FieldKind::TieBreak => Entity::TieBreak,
            FieldKind::Lock => Entity::Lock,
            FieldKind::LeadNote => Entity::LeadNote,
        }
    }

    /// The field's name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            FieldKind::ScoreValue => "value",
            FieldKind::ScoreNote | FieldKind::VerificationNote | FieldKind::LeadNote => "note",
            FieldKind::Verdict => "verdict",
            FieldKind::SheetState => "state",
            FieldKind::ReopenReason => "reopen_reason",
            FieldKind::ConflictOfInterestReason => "reason",
            FieldKind::Observation | FieldKind::Evidence => "record",
            FieldKind::EvidenceRemoved => "removed",
            FieldKind::TieBreak => "decision",
            FieldKind::Lock => "lock",
        }
    }

    /// The kind written as `field` of `entity`, if there is one.
    pub fn of(entity: Entity, field: &str) -> Option<FieldKind> {
        FieldKind::ALL
            .into_iter()
            .find(|kind| kind.entity() == entity && kind.name() == field)
    }

    /// A value of this kind as a person types it (resolving a conflict with a value of their
    /// own): a score as [`ScoreValue::parse_typed`], a verdict or sheet state by name, text as
    /// is. Records (observations, evidence, decisions, locks) are not typed by hand: pick one
    /// of the candidates instead.
    pub fn from_typed(self, text: &str) -> Result<FieldValue, Refusal> {
        let by_name =
            |what: &str| Refusal::malformed(format!("\"{}\" is not a {what}", truncated(text)));
        Ok(match self {
            FieldKind::ScoreValue => FieldValue::ScoreValue(ScoreValue::parse_typed(text)?),
            FieldKind::Verdict => FieldValue::Verdict(
                text.parse()
                    .map_err(|_| by_name("verdict (found, partial, not-found)"))?,
            ),
            FieldKind::SheetState => FieldValue::SheetState(
                text.parse()
                    .map_err(|_| by_name("sheet state (draft, submitted)"))?,
            ),
            FieldKind::ScoreNote => FieldValue::ScoreNote(Text::new(text)?),
            FieldKind::VerificationNote => FieldValue::VerificationNote(Text::new(text)?),
            FieldKind::ReopenReason => FieldValue::ReopenReason(Text::new(text)?),
            FieldKind::ConflictOfInterestReason => {
                FieldValue::ConflictOfInterestReason(Text::new(text)?)
            }
            FieldKind::LeadNote => FieldValue::LeadNote(Text::new(text)?),
            FieldKind::EvidenceRemoved => FieldValue::EvidenceRemoved(
                text.parse()
                    .map_err(|_| by_name("yes or no (true, false)"))?,
            ),
            FieldKind::Observation
            | FieldKind::Evidence
            | FieldKind::TieBreak
            | FieldKind::Lock => {
                return Err(Refusal::malformed(format!(
                    "a {} is not typed by hand: pick one of the candidates",
                    self.entity().as_str()
                )));
            }
        })
    }

    /// Decodes a value of this kind from its JSON text (any JSON form; see [`FieldValue::decode`]
    /// for the canonical check).
    fn decode_any(self, json: &str) -> Result<FieldValue, serde_json::Error> {
        Ok(match self {
            FieldKind::ScoreValue => FieldValue::ScoreValue(serde_json::from_str(json)?),
            FieldKind::ScoreNote => FieldValue::ScoreNote(serde_json::from_str(json)?),
            FieldKind::Verdict => FieldValue::Verdict(serde_json::from_str(json)?),
            FieldKind::VerificationNote => {
                FieldValue::VerificationNote(serde_json::from_str(json)?)
            }
            FieldKind::SheetState => FieldValue::SheetState(serde_json::from_str(json)?),
            FieldKind::ReopenReason => FieldValue::ReopenReason(serde_json::from_str(json)?),
            FieldKind::ConflictOfInterestReason => {
                FieldValue::ConflictOfInterestReason(serde_json::from_str(json)?)
            }
            FieldKind::Observation => FieldValue::Observation(serde_json::from_str(json)?),
            FieldKind::Evidence => FieldValue::Evidence(serde_json::from_str(json)?),
            FieldKind::EvidenceRemoved => FieldValue::EvidenceRemoved(serde_json::from_str(json)?),
            FieldKind::TieBreak => FieldValue::TieBreak(serde_json::from_str(json)?),
            FieldKind::Lock => FieldValue::Lock(Box::new(serde_json::from_str(json)?)),
            FieldKind::LeadNote => FieldValue::LeadNote(serde_json::from_str(json)?),
        })
    }
}

/// A typed, bounded value of one field.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    ScoreValue(ScoreValue),
    ScoreNote(Text),
    Verdict(Verdict),
    VerificationNote(Text),
    SheetState(SheetState),
    ReopenReason(Text),
    ConflictOfInterestReason(Text),
    Observation(ObservationRecord),
    Evidence(EvidenceRecord),
    EvidenceRemoved(bool),
    TieBreak(TieBreak),
    Lock(Box<Lock>),
    LeadNote(Text),
}

impl FieldValue {
    pub fn kind(&self) -> FieldKind {
        match self {
            FieldValue::ScoreValue(_) => FieldKind::ScoreValue,
            FieldValue::ScoreNote(_) => FieldKind::ScoreNote,
            FieldValue::Verdict(_) => FieldKind::Verdict,
            FieldValue::VerificationNote(_) => FieldKind::VerificationNote,
            FieldValue::SheetState(_) => FieldKind::SheetState,
            FieldValue::ReopenReason(_) => FieldKind::ReopenReason,
            FieldValue::ConflictOfInterestReason(_) => FieldKind::ConflictOfInterestReason,
            FieldValue::Observation(_) => FieldKind::Observation,
            FieldValue::Evidence(_) => FieldKind::Evidence,
            FieldValue::EvidenceRemoved(_) => FieldKind::EvidenceRemoved,
            FieldValue::TieBreak(_) => FieldKind::TieBreak,
            FieldValue::Lock(_) => FieldKind::Lock,
            FieldValue::LeadNote(_) => FieldKind::LeadNote,
        }
    }

    pub fn entity(&self) -> Entity {
        self.kind().entity()
    }

    pub fn field(&self) -> &'static str {
        self.kind().name()
    }

    /// The canonical JSON text of this value: what the change log stores, the hash covers and
    /// the wire carries.
    pub fn encode(&self) -> String {
        let json = match self {
            FieldValue::ScoreValue(v) => serde_json::to_string(v),
            FieldValue::ScoreNote(t)
            | FieldValue::VerificationNote(t)
            | FieldValue::ReopenReason(t)
            | FieldValue::ConflictOfInterestReason(t)
            | FieldValue::LeadNote(t) => serde_json::to_string(t),
            FieldValue::Verdict(v) => serde_json::to_string(v),
            FieldValue::SheetState(s) => serde_json::to_string(s),
            FieldValue::Observation(r) => serde_json::to_string(r),
            FieldValue::Evidence(r) => serde_json::to_string(r),
            FieldValue::EvidenceRemoved(b) => serde_json::to_string(b),
            FieldValue::TieBreak(t) => serde_json::to_string(t),
            FieldValue::Lock(l) => serde_json::to_string(l),
        };
        json.expect("typed values always serialise")
    }

    /// Decodes the value of `field` of `entity`: it must be that field's type, within bounds,
    /// and written in its canonical form (`"80 "`, `"8e1"`, `"-0"` are refused: a score of 80
    /// is always `80.0`).
    pub fn decode(entity: Entity, field: &str, json: &str) -> Result<FieldValue, Refusal> {
        let kind = FieldKind::of(entity, field).ok_or_else(|| {
            Refusal::malformed(format!(
                "{} has no field \"{}\"",
                entity.as_str(),
                truncated(field)
            ))
        })?;
        if json.len() > MAX_VALUE_BYTES {
            return Err(Refusal::malformed(format!(
                "the value of {}.{field} is {} bytes; at most {MAX_VALUE_BYTES} bytes are allowed",
                entity.as_str(),
                json.len()
            )));
        }
        let value = kind.decode_any(json).map_err(|e| {
            Refusal::malformed(format!(
                "the value of {}.{field} is not valid: {e}",
                entity.as_str()
            ))
        })?;
        value.check_bounds()?;
        if value.encode() != json {
            return Err(Refusal::malformed(format!(
                "the value of {}.{field} is not written in its canonical form ({} instead of {})",
                entity.as_str(),
                truncated(json),
                truncated(&value.encode())
            )));
        }
        Ok(value)
    }

    /// Bounds the types alone do not carry.
    fn check_bounds(&self) -> Result<(), Refusal> {
        match self {
            FieldValue::Observation(record) => {
                if let Some(innovation) = &record.innovation_id {
                    check_id("innovation", innovation)?;
                }
                check_timestamp(&record.observed_at)
            }
            FieldValue::Evidence(record) => {
                let file = &record.evidence;
                if file.mime.is_empty()
                    || file.mime.len() > 127
                    || !file.mime.bytes().all(|b| b.is_ascii_graphic())
                {
                    return Err(Refusal::malformed(format!(
                        "\"{}\" is not a media type",
                        truncated(&file.mime)
                    )));
                }
                if let Some(at) = &file.captured_at
                    && NaiveDateTime::parse_from_str(at, "%Y-%m-%dT%H:%M:%S").is_err()
                {
                    return Err(Refusal::malformed(format!(
                        "capture time \"{}\" is not YYYY-MM-DDTHH:MM:SS",
                        truncated(at)
                    )));
                }
                if let Some(gps) = file.gps
                    && !(gps.latitude.abs() <= 90.0 && gps.longitude.abs() <= 180.0)
                {
                    return Err(Refusal::malformed("the GPS position is not on Earth"));
                }
                if let Some(preview) = &file.preview
                    && (preview.hash == file.hash || preview.size >= file.size)
                {
                    return Err(Refusal::malformed(
                        "a preview is a smaller file than its original",
                    ));
                }
                Ok(())
            }
            FieldValue::TieBreak(decision) => {
                if decision.order.len() < 2 || decision.order.len() > MAX_TIE_BREAK_PARTICIPANTS {
                    return Err(Refusal::malformed(
                        "a tie-break orders between two and 1000 participants",
                    ));
                }
                for id in &decision.order {
                    check_id("participant", id)?;
                }
                Text::new(decision.reason.clone()).map(drop)
            }
            FieldValue::Lock(lock) => {
                if lock.locked.content_hash() != lock.hash {
                    return Err(Refusal::malformed(
                        "the lock's hash does not match the result it seals",
                    ));
                }
                Ok(())
            }
            FieldValue::ScoreValue(_)
            | FieldValue::ScoreNote(_)
            | FieldValue::Verdict(_)
            | FieldValue::VerificationNote(_)
            | FieldValue::SheetState(_)
            | FieldValue::ReopenReason(_)
            | FieldValue::ConflictOfInterestReason(_)
            | FieldValue::EvidenceRemoved(_)
            | FieldValue::LeadNote(_) => Ok(()),
        }
    }
}

fn check_timestamp(text: &str) -> Result<(), Refusal> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(drop)
        .map_err(|_| Refusal::malformed(format!("\"{}\" is not an RFC 3339 time", truncated(text))))
}

/// A change received from elsewhere, parsed: its entry (exactly as hashed) and its typed value.
/// The only way to make one is [`Change::parse`] (or [`Change::local`] for this device's own
/// writes), so holding a `Change` means holding a well-formed one.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    entry: ChangeEntry,
    value: FieldValue,
}

/// How far ahead of the receiver's clock a change's clock may be. An HLC is legitimately ahead
/// of its writer's own wall clock by as much as any clock that writer has observed (a laptop
/// that synced with one ten years ahead carries that clock on), so the bound is the receiver's:
/// no laptop's clock is this wrong (ten years ahead still syncs), and it keeps every clock far
/// from overflowing.
pub const MAX_CLOCK_AHEAD_MILLIS: u64 = 50 * 366 * 24 * 3600 * 1000;

/// The latest HLC a receiver accepts now (the server in a push, a laptop in a pull or a file).
pub fn clock_limit(receiver_now_millis: u64) -> u64 {
    receiver_now_millis.saturating_add(MAX_CLOCK_AHEAD_MILLIS)
}

impl Change {
    /// Parses an entry received from elsewhere. An HLC later than `clock_limit_millis` (see
    /// [`clock_limit`]) is refused.
    pub fn parse(entry: ChangeEntry, clock_limit_millis: u64) -> Result<Change, Refusal> {
        if entry.compute_hash() != entry.hash {
            return Err(Refusal::new(
                RefusalCode::HashMismatch,
                "the change's content does not match its hash",
            ));
        }
        check_id("author", &entry.author)?;
        if let Some(visit) = &entry.visit_id {
            check_id("visit", visit)?;
        }
        if let Some(target) = &entry.target_id {
            // Evidence names its owner record (a UUID) as its target; ids otherwise.
            check_id("target", target)?;
        }
        if entry.seq == 0 || entry.seq > i64::MAX as u64 {
            return Err(Refusal::malformed(format!(
                "sequence number {} is out of range",
                entry.seq
            )));
        }
        if entry.base_version > i64::MAX as u64 {
            return Err(Refusal::malformed("the base version is out of range"));
        }
        if entry.hlc.wall_millis > clock_limit_millis {
            return Err(Refusal::new(
                RefusalCode::ClockAhead,
                format!(
                    "its clock ({}) is further ahead than any laptop's clock may be",
                    entry.hlc
                ),
            ));
        }
        let value = FieldValue::decode(entry.entity, &entry.field, &entry.value)?;
        Ok(Change { entry, value })
    }

    /// This device's own change, made from a typed value (the writer seals it).
    pub fn local(entry: ChangeEntry, value: FieldValue) -> Change {
        debug_assert_eq!(entry.value, value.encode());
        Change { entry, value }
    }

    pub fn entry(&self) -> &ChangeEntry {
        &self.entry
    }

    pub fn value(&self) -> &FieldValue {
        &self.value
    }

    pub fn into_entry(self) -> ChangeEntry {
        self.entry
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_found_by_its_entity_and_name() {
        for kind in FieldKind::ALL {
            assert_eq!(FieldKind::of(kind.entity(), kind.name()), Some(kind));
        }
    }

    #[test]
    fn a_score_has_one_canonical_form() {
        let decode = |json: &str| FieldValue::decode(Entity::Score, "value", json);
        assert_eq!(
            decode("80.0").unwrap(),
            FieldValue::ScoreValue(ScoreValue::new(80.0).unwrap())
        );
        for bent in [
            "80", "80 ", " 80.0", "8e1", "-0", "-0.0", "1e-400", "80.00", "\"80\"",
        ] {
            assert!(decode(bent).is_err(), "{bent} must be refused");
        }
        assert!(decode("80.123").is_err(), "three decimals");
        assert!(decode("NaN").is_err());
    }

    #[test]
    fn typed_scores_take_a_decimal_comma_and_nothing_exotic() {
        let typed = |t: &str| ScoreValue::parse_typed(t).map(ScoreValue::get);
        assert_eq!(typed("72,5"), Ok(72.5));
        assert_eq!(typed("72.25"), Ok(72.25));
        assert_eq!(typed(" 85 "), Ok(85.0));
        assert_eq!(typed("-0"), Ok(0.0));
        for bad in [
            "0x10", "1e2", "", ",5", "5,", "1.2.3", "7 2", "+5", "72,555", "∞",
        ] {
            assert!(typed(bad).is_err(), "{bad} must be refused");
        }
    }

    #[test]
    fn text_is_bounded_and_has_no_terminal_escapes() {
        assert!(Text::new("Baris satu\nbaris dua\tdengan tab").is_ok());
        assert!(Text::new("\u{1b}[2J").is_err());
        assert!(Text::new("x".repeat(MAX_TEXT_BYTES + 1)).is_err());
        assert_eq!(
            FileName::sanitize("a\u{1b}[31mb.jpg").as_str(),
            "a?[31mb.jpg"
        );
    }
}
