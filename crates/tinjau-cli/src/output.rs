//! How results and errors are printed: plain text for people, JSON with `--json`.

use std::fmt::Write as _;

use anyhow::Result;
use serde::Serialize;
use tinjau_core::domain::OUTSIDE_VISIT_DATE_LABEL;
use tinjau_core::merge::{MergeResult, Sensitivity};
use tinjau_core::package::Juror;
use tinjau_core::views::{EvidenceView, ObservationView, ScoreView, VisitChecklist, VisitProgress};
use tinjau_report::method_label;
use tinjau_store::{
    ImportOutcome, QuarantinedChange, SheetImportReport, StoreError, VerifyRequest,
};

use crate::write_stdout;

pub struct Output {
    json: bool,
}

impl Output {
    pub fn new(json: bool) -> Self {
        Output { json }
    }

    /// One result: `value` as JSON, or `text` for people.
    pub fn line(&self, value: &impl Serialize, text: &str) -> Result<()> {
        if self.json {
            write_stdout(&format!("{}\n", serde_json::to_string(value)?))
        } else {
            write_stdout(&format!("{text}\n"))
        }
    }

    pub fn error(&self, error: &anyhow::Error) {
        let store_error = error
            .chain()
            .find_map(|cause| cause.downcast_ref::<StoreError>());
        let sync_error = error
            .chain()
            .find_map(|cause| cause.downcast_ref::<tinjau_sync::SyncError>());
        let is =
            |check: &dyn Fn(&(dyn std::error::Error + 'static)) -> bool| error.chain().any(check);
        let code: &str = if let Some(e) = sync_error {
            e.code()
        } else if let Some(e) = store_error {
            e.code()
        } else if let Some(e) = error
            .chain()
            .find_map(|cause| cause.downcast_ref::<tinjau_app::ErrorPayload>())
        {
            &e.code
        } else if is(&|c| c.downcast_ref::<tinjau_report::ReportError>().is_some()) {
            "report_failed"
        } else if is(&|c| c.downcast_ref::<std::io::Error>().is_some()) {
            "io"
        } else {
            "error"
        };
        let message = format!("{error:#}");
        let text = if self.json {
            let mut body = serde_json::json!({ "code": code, "message": message });
            match store_error {
                Some(StoreError::InvalidPackage(problems)) => {
                    body["problems"] = serde_json::json!(problems.0);
                }
                Some(StoreError::SheetIncomplete { missing, .. }) => {
                    body["missing"] = serde_json::json!(missing);
                }
                _ => {}
            }
            serde_json::json!({ "error": body }).to_string()
        } else {
            format!("error: {message}")
        };
        // If stderr itself is gone there is nobody left to tell; the exit code still says it.
        let _ = writeln_stderr(&text);
    }

    pub fn import(&self, outcome: &ImportOutcome) -> Result<()> {
        let text = match outcome {
            ImportOutcome::Imported {
                competition,
                revision,
            } => format!("Imported {competition} (revision {revision})"),
            ImportOutcome::Updated {
                competition,
                from,
                to,
            } => format!(
                "Updated {competition} from revision {from} to {to}; your field work is kept"
            ),
            ImportOutcome::Unchanged {
                competition,
                revision,
            } => format!("{competition} revision {revision} is already imported; nothing changed"),
        };
        self.line(outcome, &text)
    }

    pub fn juror(&self, juror: &Juror) -> Result<()> {
        self.line(
            juror,
            &format!(
                "This store now belongs to {} ({}, {})",
                juror.id, juror.name, juror.institution
            ),
        )
    }

    pub fn visits(&self, visits: &[VisitProgress]) -> Result<()> {
        let mut text = String::new();
        for visit in visits {
            let region = visit
                .region
                .as_deref()
                .map(|r| format!(", {r}"))
                .unwrap_or_default();
            let jury = if visit.on_jury {
                ""
            } else {
                " (not on this jury)"
            };
            let _ = writeln!(
                text,
                "{}  {}  {}{}  innovations {}/{}  indicators {}/{}  sheet {}{}",
                visit.visit_id,
                visit.date,
                visit.participant_name,
                region,
                visit.innovations_checked,
                visit.innovations_listed,
                visit.indicators_scored,
                visit.indicators_total,
                visit.sheet.as_str(),
                jury
            );
        }
        if visits.is_empty() {
            text.push_str("No visits in this competition package.\n");
        }
        self.block(visits, text)
    }

    pub fn checklist(&self, list: &VisitChecklist) -> Result<()> {
        let mut text = String::new();
        let region = list
            .region
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        let _ = writeln!(
            text,
            "{}{} — visit {} on {} — juror {} — sheet {}",
            list.participant_name,
            region,
            list.visit_id,
            list.date,
            list.juror_id,
            list.sheet.as_str()
        );
        if let Some(reason) = &list.conflict_of_interest {
            let _ = writeln!(text, "Conflict of interest declared: {reason}");
        }
        for group in &list.groups {
            let claimed = group
                .claimed
                .map(|c| format!("claimed {c}, "))
                .unwrap_or_default();
            let score = match &group.score {
                Some(score) => format_score(score),
                None => "not scored".into(),
            };
            let _ = writeln!(
                text,
                "\n{} {} (weight {}) — {}listed {} — score: {}",
                group.indicator_id, group.name, group.weight, claimed, group.listed, score
            );
            for innovation in &group.innovations {
                let verdict = innovation.verdict.map_or("unchecked", |v| v.as_str());
                let flagship = if innovation.flagship {
                    " [unggulan]"
                } else {
                    ""
                };
                let _ = writeln!(
                    text,
                    "  [{verdict:^10}] {} — {}{}",
                    innovation.innovation_id, innovation.name, flagship
                );
                if !innovation.note.is_empty() {
                    let _ = writeln!(text, "               note: {}", innovation.note);
                }
                for evidence in &innovation.evidence {
                    let _ = writeln!(
                        text,
                        "               evidence: {}",
                        format_evidence(evidence)
                    );
                }
            }
        }
        let _ = writeln!(text, "\nObservations ({}):", list.observations.len());
        for observation in &list.observations {
            let about = observation
                .innovation_id
                .as_deref()
                .map(|i| format!(" [{i}]"))
                .unwrap_or_default();
            let _ = writeln!(
                text,
                "  {}{} {}",
                observation.observed_at, about, observation.text
            );
            for evidence in &observation.evidence {
                let _ = writeln!(text, "      evidence: {}", format_evidence(evidence));
            }
        }
        let _ = writeln!(text, "\nDiscrepancies ({}):", list.discrepancies.len());
        for discrepancy in &list.discrepancies {
            let _ = writeln!(text, "  ! {discrepancy}");
        }
        self.block(list, text)
    }

    pub fn verified(&self, request: &VerifyRequest, attached: &[EvidenceView]) -> Result<()> {
        let mut text = format!(
            "Saved: {} {} = {}",
            request.visit, request.innovation, request.verdict
        );
        for evidence in attached {
            let _ = write!(text, "\n  evidence: {}", format_evidence(evidence));
        }
        self.line(
            &serde_json::json!({
                "visit": request.visit,
                "innovation": request.innovation,
                "verdict": request.verdict,
                "evidence": attached,
            }),
            &text,
        )
    }

    pub fn observed(&self, observation: &ObservationView) -> Result<()> {
        let mut text = format!("Saved: observation {}", observation.observation_id);
        for evidence in &observation.evidence {
            let _ = write!(text, "\n  evidence: {}", format_evidence(evidence));
        }
        self.line(observation, &text)
    }

    pub fn scored(&self, visit: &str, indicator: &str, score: &ScoreView) -> Result<()> {
        self.line(
            &serde_json::json!({"visit": visit, "indicator": indicator, "score": score}),
            &format!("Saved: {visit} {indicator} = {}", format_score(score)),
        )
    }

    pub fn sheet_imported(&self, report: &SheetImportReport) -> Result<()> {
        let mut text = format!(
            "Imported {}'s sheet for {}: {} change(s) applied, {} already here",
            report.juror, report.visit, report.applied, report.duplicates
        );
        if report.evidence_stored > 0 || report.evidence_missing > 0 {
            let _ = write!(
                text,
                "; evidence: {} file(s) stored, {} still missing",
                report.evidence_stored, report.evidence_missing
            );
        }
        if !report.signatures_checked {
            let _ = write!(
                text,
                "\n  signatures not checked: this laptop holds no identity key of {} yet \
                 (sync once with the server to get the jury's keys)",
                report.juror
            );
        }
        for refused in &report.quarantined {
            let _ = write!(
                text,
                "\n  quarantined {}: {}",
                refused.change_id, refused.reason
            );
        }
        self.line(report, &text)
    }

    pub fn merged(&self, result: &MergeResult, only: Option<&str>) -> Result<()> {
        let mut text = format!(
            "Method: {} — scale {}–{}, disagreement above {} points\n",
            method_label(result.method),
            result.scale.min,
            result.scale.max,
            result.disagreement_threshold
        );
        for participant in result
            .participants
            .iter()
            .filter(|p| only.is_none_or(|id| id == p.participant_id))
        {
            // A tie the lead has broken shows the decided order; an open one shares its rank.
            let open_tie = participant.tied && participant.tie_break_reason.is_none();
            let rank = match (participant.rank, open_tie) {
                (Some(rank), true) => format!("{rank}= "),
                (Some(rank), false) => format!("{rank}. "),
                (None, _) => "–  ".into(),
            };
            let total = participant.total.map_or_else(
                || format!("incomplete (missing {})", participant.missing.join(", ")),
                |t| format!("{t:.2}"),
            );
            let _ = writeln!(text, "\n{rank}{} — total {total}", participant.name);
            if let Some(reason) = &participant.tie_break_reason {
                let _ = writeln!(text, "   tie broken by the lead: {reason}");
            }
            if !participant.excluded_jurors.is_empty() {
                let _ = writeln!(
                    text,
                    "   excluded for conflict of interest: {}",
                    participant.excluded_jurors.join(", ")
                );
            }
            for cell in &participant.cells {
                let aggregate = cell.aggregate.map_or("—".into(), |a| format!("{a:.2}"));
                let range = cell
                    .min
                    .zip(cell.max)
                    .map_or(String::new(), |(lo, hi)| format!("  range {lo}–{hi}"));
                let flag = if cell.disputed { "  DISPUTED" } else { "" };
                let _ = writeln!(
                    text,
                    "   {:<4} n={}  {aggregate:>6}{range}{flag}",
                    cell.indicator_id, cell.n
                );
            }
        }
        let alphas: Vec<String> = result
            .indicators
            .iter()
            .map(|i| {
                format!(
                    "{} {}",
                    i.indicator_id,
                    i.alpha.map_or("—".into(), |a| format!("{a:.2}"))
                )
            })
            .collect();
        let _ = writeln!(
            text,
            "\nAgreement (Krippendorff's alpha, interval): {}",
            alphas.join(", ")
        );
        self.block(result, text)
    }

    pub fn ranking(&self, results: &[MergeResult], table: &Sensitivity) -> Result<()> {
        let mut text = format!("{:<32}", "Participant");
        for result in results {
            let _ = write!(text, "{:>16}", result.method.as_str());
        }
        text.push('\n');
        for row in &table.rows {
            let _ = write!(text, "{:<32}", row.name);
            for m in &row.by_method {
                let cell = match (m.rank, m.total) {
                    (Some(rank), Some(total)) => format!("{rank} ({total:.2})"),
                    _ => "—".into(),
                };
                let _ = write!(text, "{cell:>16}");
            }
            text.push('\n');
        }
        let _ = writeln!(
            text,
            "\nWinner changes between methods: {}; top three change: {}",
            if table.winner_changes { "YES" } else { "no" },
            if table.top_three_change {
                "YES"
            } else if table.top_three_order_changes {
                "same three, order differs"
            } else {
                "no"
            }
        );
        self.block(
            &serde_json::json!({"results": results, "sensitivity": table}),
            text,
        )
    }

    pub fn quarantine(&self, changes: &[QuarantinedChange]) -> Result<()> {
        let mut text = format!("{} quarantined change(s)\n", changes.len());
        for change in changes {
            let _ = writeln!(
                text,
                "  {} {} by {} ({}): {}",
                change.received_at,
                change.entity,
                change.author,
                change.visit_id.as_deref().unwrap_or("-"),
                change.reason
            );
        }
        self.block(changes, text)
    }

    pub fn synced(&self, report: &tinjau_sync::SyncReport) -> Result<()> {
        let text = format!(
            "Synced: sent {} change(s) ({} already there, {} in conflict, {} refused), relayed {} \
             from sheet files, received {}; evidence {} up ({} previews), {} down; {} bytes sent, \
             {} received{}",
            report.pushed,
            report.duplicates,
            report.conflicts,
            report.quarantined,
            report.relayed,
            report.pulled,
            report.evidence_uploaded,
            report.previews_uploaded,
            report.evidence_downloaded,
            report.bytes_sent,
            report.bytes_received,
            if report.originals_held > 0 {
                format!(
                    "; {} photo original(s) kept for later (send with --send-originals)",
                    report.originals_held
                )
            } else {
                String::new()
            }
        );
        self.line(report, &text)
    }

    pub fn status(&self, status: &tinjau_core::views::SyncStatus) -> Result<()> {
        let mut text = String::new();
        let _ = writeln!(
            text,
            "Server: {}",
            status
                .server
                .as_deref()
                .unwrap_or("(not set: run tinjau sync --server URL --token TOKEN)")
        );
        let _ = writeln!(text, "This laptop's device: {}", status.device_id);
        let _ = writeln!(text, "Pending changes: {}", status.pending_changes);
        let _ = writeln!(
            text,
            "Pending evidence: {} file(s), {} bytes",
            status.pending_evidence_files, status.pending_evidence_bytes
        );
        if status.pending_originals > 0 {
            let _ = writeln!(
                text,
                "  of which photo originals (asli belum terkirim): {} file(s), {} bytes",
                status.pending_originals, status.pending_original_bytes
            );
        }
        let _ = writeln!(
            text,
            "Photo originals are sent: {}",
            match status.originals {
                tinjau_core::views::OriginalsPolicy::Now => "right after their previews",
                tinjau_core::views::OriginalsPolicy::WhenFast => "when the link is fast",
                tinjau_core::views::OriginalsPolicy::Later =>
                    "later (tinjau sync --send-originals)",
            }
        );
        let _ = writeln!(
            text,
            "Last successful sync: {}",
            status.last_sync.as_deref().unwrap_or("never")
        );
        let _ = writeln!(text, "Open conflicts: {}", status.open_conflicts);
        if let Some(skew) = status.clock_skew_ms {
            let _ = writeln!(
                text,
                "Clock skew seen by the server: {:+.1} s (server minus this laptop)",
                skew as f64 / 1000.0
            );
        }
        for refused in &status.quarantined {
            let _ = writeln!(
                text,
                "Refused by the server: {} {}.{}: {}",
                refused.change_id, refused.entity, refused.field, refused.reason
            );
        }
        self.block(status, text)
    }

    pub fn conflicts(&self, conflicts: &[tinjau_core::sync::ConflictView]) -> Result<()> {
        let mut text = format!("{} open conflict(s)\n", conflicts.len());
        for conflict in conflicts {
            let _ = writeln!(
                text,
                "\n{} — {} {} of {} ({}{})",
                conflict.conflict_id,
                conflict.entity.as_str(),
                conflict.field,
                conflict.owner,
                conflict.visit_id.as_deref().unwrap_or("-"),
                conflict
                    .target_id
                    .as_deref()
                    .map(|t| format!(", {t}"))
                    .unwrap_or_default()
            );
            for candidate in &conflict.candidates {
                let shown = if candidate.change_id == conflict.provisional {
                    "  (shown meanwhile)"
                } else {
                    ""
                };
                let _ = writeln!(
                    text,
                    "  candidate {}: {} — device {}, {}{shown}",
                    candidate.change_id, candidate.value, candidate.device_id, candidate.hlc
                );
            }
        }
        self.block(conflicts, text)
    }

    fn block<T: Serialize + ?Sized>(&self, value: &T, text: String) -> Result<()> {
        if self.json {
            write_stdout(&format!("{}\n", serde_json::to_string(value)?))
        } else {
            write_stdout(&text)
        }
    }
}

fn format_score(score: &ScoreView) -> String {
    let band = score
        .band
        .as_deref()
        .map(|b| format!(" ({b})"))
        .unwrap_or_default();
    let note = if score.note.is_empty() {
        String::new()
    } else {
        format!(" — {}", score.note)
    };
    format!("{}{band}{note}", score.value)
}

fn format_evidence(evidence: &EvidenceView) -> String {
    let mut text = format!(
        "{} ({}, {} bytes, {})",
        evidence.original_name,
        evidence.mime,
        evidence.size,
        &evidence.hash[..12]
    );
    if let Some(at) = &evidence.captured_at {
        let _ = write!(text, " taken {at}");
    }
    if let Some(gps) = evidence.gps {
        let _ = write!(text, " at {:.5},{:.5}", gps.latitude, gps.longitude);
    }
    if evidence.outside_visit_date {
        let _ = write!(text, " — {OUTSIDE_VISIT_DATE_LABEL}");
    }
    if evidence.original_pending {
        text.push_str(" — asli belum terkirim (original not sent yet; its preview is)");
    } else if !evidence.available {
        text.push_str(" — pending upload (not on this laptop yet)");
    }
    text
}

fn writeln_stderr(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut stderr = std::io::stderr().lock();
    writeln!(stderr, "{}", crate::printable(text))
}
