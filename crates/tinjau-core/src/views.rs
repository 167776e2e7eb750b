//! What the CLI prints and the desktop app shows: read models assembled by the store.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::discrepancy::Discrepancy;
use crate::domain::{SheetState, Verdict};

/// Where a juror's sheet stands, as the juror is told (ODK's Draft / Final / Sent): a
/// submitted sheet is `Sent` only once it reached a server or a sheet file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum SheetDelivery {
    Draft,
    /// Submitted on this laptop, not yet on a server or in a sheet file: it can be withdrawn.
    Final,
    Sent,
}

/// One line of `tinjau visits`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct VisitProgress {
    pub visit_id: String,
    pub participant_id: String,
    pub participant_name: String,
    pub region: Option<String>,
    pub date: String,
    pub innovations_listed: usize,
    pub innovations_checked: usize,
    pub indicators_total: usize,
    pub indicators_scored: usize,
    pub sheet: SheetState,
    pub delivery: SheetDelivery,
    /// This juror is on the visit's jury.
    pub on_jury: bool,
    /// This laptop's changes to the visit that no server has acknowledged yet.
    pub unsynced_changes: u64,
    /// The visit's jurors (ids), for the lead's view of whose sheet is missing.
    pub jury: Vec<String>,
    /// The visit's jurors whose sheet this laptop holds as submitted.
    pub submitted: Vec<String>,
    /// The hash of the visit's locked result, once the lead locked it.
    pub lock_hash: Option<String>,
}

/// `tinjau visit VISIT`: the juror's whole checklist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct VisitChecklist {
    pub visit_id: String,
    pub date: String,
    pub participant_id: String,
    pub participant_name: String,
    pub region: Option<String>,
    pub juror_id: String,
    pub sheet: SheetState,
    pub delivery: SheetDelivery,
    /// The reason, when this juror declared a conflict of interest for the participant.
    pub conflict_of_interest: Option<String>,
    /// The competition's score scale.
    pub scale: crate::package::Scale,
    pub groups: Vec<IndicatorGroup>,
    pub observations: Vec<ObservationView>,
    pub discrepancies: Vec<Discrepancy>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct IndicatorGroup {
    pub indicator_id: String,
    pub name: String,
    pub weight: f64,
    pub claimed: Option<u32>,
    pub listed: usize,
    pub innovations: Vec<InnovationCheck>,
    pub score: Option<ScoreView>,
    /// The indicator's rubric, to show a score's band as it is typed.
    pub rubric: Vec<crate::package::RubricBand>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct InnovationCheck {
    pub innovation_id: String,
    pub name: String,
    pub summary: String,
    pub flagship: bool,
    pub verdict: Option<Verdict>,
    pub note: String,
    pub evidence: Vec<EvidenceView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct ScoreView {
    pub value: f64,
    /// The rubric band's label, derived from the value.
    pub band: Option<String>,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct ObservationView {
    pub observation_id: Uuid,
    /// Who observed it: the visit team shares observations and their evidence.
    pub juror_id: String,
    /// RFC 3339, as recorded by the juror's device.
    pub observed_at: String,
    pub innovation_id: Option<String>,
    pub text: String,
    pub evidence: Vec<EvidenceView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct EvidenceView {
    /// The attachment's id (one file can be attached to several records).
    pub id: String,
    /// Who attached it: only they can take it off.
    pub juror_id: String,
    /// BLAKE3 of the file's content, hex.
    pub hash: String,
    pub original_name: String,
    pub size: u64,
    pub mime: String,
    /// From EXIF, when present (local time of the camera, `YYYY-MM-DDTHH:MM:SS`).
    pub captured_at: Option<String>,
    pub gps: Option<GpsPoint>,
    /// Captured more than a day from the visit date ("diambil di luar tanggal kunjungan").
    pub outside_visit_date: bool,
    /// The file is on this laptop; `false` means its upload is still pending somewhere.
    pub available: bool,
    /// A photo's preview (BLAKE3, hex), which travels before the original.
    pub preview_hash: Option<String>,
    /// The preview is on this laptop (shown while the original is not).
    pub preview_available: bool,
    /// "Asli belum terkirim": a file with a preview whose original has not travelled yet — not
    /// uploaded from the laptop that attached it, or not yet received on this one.
    pub original_pending: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct GpsPoint {
    pub latitude: f64,
    pub longitude: f64,
}

/// `tinjau audit`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct AuditReport {
    pub devices: usize,
    pub entries: u64,
}

/// `tinjau status` and the desktop app's sync panel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct SyncStatus {
    pub server: Option<String>,
    /// The visit's hub this laptop syncs with instead of the server, while it is set.
    pub hub: Option<String>,
    /// This laptop's device id: what the organiser names to revoke a lost laptop.
    pub device_id: Uuid,
    /// This device's changes the server has not acknowledged yet.
    pub pending_changes: u64,
    /// This device's changes the server refused, with reasons (kept, never dropped).
    pub quarantined: Vec<RefusedChangeView>,
    pub pending_evidence_files: u64,
    pub pending_evidence_bytes: u64,
    /// Of those, originals of photos whose preview travels first ("asli belum terkirim").
    pub pending_originals: u64,
    pub pending_original_bytes: u64,
    /// When the originals of photos are sent.
    pub originals: OriginalsPolicy,
    /// RFC 3339, when the last sync finished without error.
    pub last_sync: Option<String>,
    pub open_conflicts: usize,
    /// Server time minus this laptop's time at the last sync, in milliseconds.
    pub clock_skew_ms: Option<i64>,
    /// The server found this data folder was copied to another laptop and both copies were
    /// used: this laptop must continue as a new device (`tinjau sync --new-device`).
    pub device_copied: bool,
    /// Whether the server answered at the last try (`None`: never tried). This, not the
    /// network interface being up, is what "online" means to a juror.
    pub server_answers: Option<bool>,
}

/// When a photo's original follows its preview, up from the laptop that attached it and down
/// to the others. Changes, previews and documents always go at once; only the originals of
/// photos that have a preview wait. "Kirim asli sekarang" sends this laptop's originals
/// whatever the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum OriginalsPolicy {
    /// Right after the previews, in the same sync.
    Now,
    /// When the link is fast (the default): the last chunk this sync sent — a preview, or the
    /// original's own first chunk — went at [`OriginalsPolicy::FAST_LINK_BYTES_PER_SECOND`] or
    /// more. On a slow link an original stops at a chunk boundary and resumes from there.
    #[default]
    WhenFast,
    /// Not until the juror sends them ("kirim asli nanti").
    Later,
}

impl OriginalsPolicy {
    /// 2 Mbit/s.
    pub const FAST_LINK_BYTES_PER_SECOND: u64 = 250_000;

    pub fn as_str(self) -> &'static str {
        match self {
            OriginalsPolicy::Now => "now",
            OriginalsPolicy::WhenFast => "when_fast",
            OriginalsPolicy::Later => "later",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            OriginalsPolicy::Now,
            OriginalsPolicy::WhenFast,
            OriginalsPolicy::Later,
        ]
        .into_iter()
        .find(|policy| policy.as_str() == text)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct RefusedChangeView {
    pub change_id: Uuid,
    pub entity: String,
    pub field: String,
    pub reason: String,
}

/// A change of a sheet file that was not applied, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct RefusedChange {
    pub change_id: Uuid,
    pub reason: String,
}

/// What importing a juror's sheet file did (`tinjau sheet import`, the lead's Rekap).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct SheetImportReport {
    pub juror: String,
    pub visit: String,
    pub device_id: Uuid,
    pub applied: usize,
    pub duplicates: usize,
    pub quarantined: Vec<RefusedChange>,
    pub evidence_stored: usize,
    /// Evidence referenced by the sheet but not in the file (still "pending").
    pub evidence_missing: usize,
    /// Whether each change's signature was checked against the juror's identity key. Not when
    /// this laptop holds no identity key of the juror yet (it never synced with a server that
    /// knows them): the file's changes are then taken on the rules alone, as before signing.
    pub signatures_checked: bool,
}

/// A change received but refused, kept for the lead to see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct QuarantinedChange {
    pub change_id: String,
    pub author: String,
    pub entity: String,
    pub visit_id: Option<String>,
    pub reason: String,
    pub received_at: String,
}
