//! Field records and the rules a juror's work obeys.

use std::fmt;
use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::package::{Indicator, Scale};

/// What a juror found of one claimed innovation. "Not checked yet" is the absence of a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Found as presented.
    Found,
    /// Partly as presented.
    Partial,
    /// Not found.
    NotFound,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Found => "found",
            Verdict::Partial => "partial",
            Verdict::NotFound => "not_found",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Verdict {
    type Err = RuleError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "found" => Ok(Verdict::Found),
            "partial" => Ok(Verdict::Partial),
            "not_found" | "not-found" => Ok(Verdict::NotFound),
            other => Err(RuleError::UnknownVerdict(other.to_string())),
        }
    }
}

/// A juror's sheet for one visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum SheetState {
    #[default]
    Draft,
    Submitted,
}

impl SheetState {
    pub fn as_str(self) -> &'static str {
        match self {
            SheetState::Draft => "draft",
            SheetState::Submitted => "submitted",
        }
    }
}

impl FromStr for SheetState {
    type Err = RuleError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "draft" => Ok(SheetState::Draft),
            "submitted" => Ok(SheetState::Submitted),
            other => Err(RuleError::UnknownSheetState(other.to_string())),
        }
    }
}

/// The kinds of record the change log speaks about.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ts_rs::TS,
)]
#[serde(rename_all = "snake_case")]
pub enum Entity {
    Score,
    Verification,
    Sheet,
    ConflictOfInterest,
    Observation,
    Evidence,
    /// The lead's ordering of tied participants, with a reason.
    TieBreak,
    /// The lead's lock of a visit's result, with its content hash.
    Lock,
    /// The lead's note on an indicator of a visit (shown beside disputed indicators).
    LeadNote,
}

impl Entity {
    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Score => "score",
            Entity::Verification => "verification",
            Entity::Sheet => "sheet",
            Entity::ConflictOfInterest => "conflict_of_interest",
            Entity::Observation => "observation",
            Entity::Evidence => "evidence",
            Entity::TieBreak => "tie_break",
            Entity::Lock => "lock",
            Entity::LeadNote => "lead_note",
        }
    }
}

impl FromStr for Entity {
    type Err = RuleError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(match text {
            "score" => Entity::Score,
            "verification" => Entity::Verification,
            "sheet" => Entity::Sheet,
            "conflict_of_interest" => Entity::ConflictOfInterest,
            "observation" => Entity::Observation,
            "evidence" => Entity::Evidence,
            "tie_break" => Entity::TieBreak,
            "lock" => Entity::Lock,
            "lead_note" => Entity::LeadNote,
            other => return Err(RuleError::UnknownEntity(other.to_string())),
        })
    }
}

/// A rule of the juror's work was broken. Each variant carries what a message needs to name it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RuleError {
    #[error("score {value} is outside the competition's scale {min}–{max}")]
    ScoreOutOfScale { value: f64, min: f64, max: f64 },
    #[error("score must be a number, found {0}")]
    ScoreNotANumber(String),
    #[error("unknown verdict \"{0}\": use found, partial or not-found")]
    UnknownVerdict(String),
    #[error("unknown sheet state \"{0}\"")]
    UnknownSheetState(String),
    #[error("unknown record kind \"{0}\"")]
    UnknownEntity(String),
}

/// Checks a score against the competition's scale; decimals are allowed.
pub fn check_score(scale: &Scale, value: f64) -> Result<(), RuleError> {
    if !value.is_finite() {
        return Err(RuleError::ScoreNotANumber(value.to_string()));
    }
    if !scale.contains(value) {
        return Err(RuleError::ScoreOutOfScale {
            value,
            min: scale.min,
            max: scale.max,
        });
    }
    Ok(())
}

/// The rubric label of a score on an indicator, if the indicator has a rubric.
pub fn rubric_label(indicator: &Indicator, value: f64) -> Option<String> {
    indicator.band_for(value).map(|band| band.label.clone())
}

/// How far from the visit date a photo may have been taken before it is flagged.
pub const CAPTURE_TOLERANCE_DAYS: i64 = 1;

/// A photo whose capture date is not within ±1 day of the visit date is flagged
/// ("diambil di luar tanggal kunjungan"), never refused. Without a capture time, no flag.
pub fn captured_outside_visit(captured_at: Option<NaiveDateTime>, visit_date: NaiveDate) -> bool {
    match captured_at {
        Some(at) => (at.date() - visit_date).num_days().abs() > CAPTURE_TOLERANCE_DAYS,
        None => false,
    }
}

/// The Indonesian label shown beside a flagged photo.
pub const OUTSIDE_VISIT_DATE_LABEL: &str = "diambil di luar tanggal kunjungan";

/// The jury's verdict on one innovation: the most common among the jurors who checked it. A tie
/// goes to the less favourable verdict, since a claim counts only when it was shown.
pub fn consolidated_verdict(verdicts: &[Verdict]) -> Option<Verdict> {
    let count = |v: Verdict| verdicts.iter().filter(|&&x| x == v).count();
    // `max_by_key` returns the last of equal maxima: list the least favourable last.
    [Verdict::Found, Verdict::Partial, Verdict::NotFound]
        .into_iter()
        .filter(|&v| count(v) > 0)
        .max_by_key(|&v| count(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_jury_verdict_is_the_majority_and_ties_go_against_the_claim() {
        use Verdict::*;
        assert_eq!(consolidated_verdict(&[]), None);
        assert_eq!(consolidated_verdict(&[Found, Found, Partial]), Some(Found));
        assert_eq!(consolidated_verdict(&[Found, Partial]), Some(Partial));
        assert_eq!(
            consolidated_verdict(&[Found, NotFound, Partial]),
            Some(NotFound)
        );
        assert_eq!(consolidated_verdict(&[NotFound, Found, Found]), Some(Found));
    }
}
