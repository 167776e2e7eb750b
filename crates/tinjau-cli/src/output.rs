//! How results and errors are printed: plain text for people, JSON with `--json`.

use std::fmt::Write as _;

use anyhow::Result;
use serde::Serialize;
use tinjau_core::domain::OUTSIDE_VISIT_DATE_LABEL;
use tinjau_core::package::Juror;
use tinjau_core::views::{EvidenceView, ObservationView, ScoreView, VisitChecklist, VisitProgress};
use tinjau_store::{ImportOutcome, StoreError, VerifyRequest};

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
        let code = match store_error {
            Some(e) => e.code(),
            None if error
                .chain()
                .any(|cause| cause.downcast_ref::<std::io::Error>().is_some()) =>
            {
                "io"
            }
            None => "error",
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
    text
}

fn writeln_stderr(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut stderr = std::io::stderr().lock();
    writeln!(stderr, "{text}")
}
