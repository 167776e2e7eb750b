//! Who may write what: checked per change wherever changes arrive from another device (a sheet
//! file on a USB stick today, sync tomorrow). A change that fails is quarantined with the reason.
//!
//! Ownership follows from the deterministic ids: a score's row id is the UUIDv5 of its juror ×
//! visit × indicator, so a change whose row id is not the id of *its author's* score is someone
//! else's record.

use crate::change::{Change, FieldValue, Refusal, RefusalCode};
use crate::domain::{SheetState, check_score};
use crate::ids;
use crate::package::{Package, Role, Visit};

/// The juror whose sheet `row_id` is, among the visit's jurors.
pub fn sheet_owner(package: &Package, visit: &Visit, row_id: uuid::Uuid) -> Option<String> {
    visit
        .jurors
        .iter()
        .find(|juror| ids::sheet_id(&package.competition.id, juror, &visit.id) == row_id)
        .cloned()
}

/// Whether the author is the lead of this visit.
pub fn is_visit_lead(package: &Package, visit: &Visit, juror: &str) -> bool {
    visit.jurors.iter().any(|j| j == juror)
        && package.juror(juror).is_some_and(|j| j.role == Role::Lead)
}

/// Checks one change against the package's rules of authority. The value is already typed and
/// bounded ([`Change::parse`]); what is left is who may write it and whether it fits the
/// package (a score on the scale, an innovation listed for the visit).
pub fn check_change(package: &Package, change: &Change) -> Result<(), Refusal> {
    let entry = change.entry();
    let not_allowed = |message: String| Refusal::new(RefusalCode::NotAllowed, message);
    let competition = &package.competition.id;
    let author = entry.author.as_str();
    let juror = package.juror(author).ok_or_else(|| {
        not_allowed(format!(
            "author \"{author}\" is not a juror of this competition"
        ))
    })?;
    let visit = match &entry.visit_id {
        Some(id) => Some(
            package
                .visit(id)
                .ok_or_else(|| not_allowed(format!("visit \"{id}\" does not exist")))?,
        ),
        None => None,
    };
    let need_visit = || visit.ok_or_else(|| not_allowed("the change names no visit".to_string()));
    let on_jury = |visit: &Visit| {
        if visit.jurors.iter().any(|j| j == author) {
            Ok(())
        } else {
            Err(not_allowed(format!(
                "\"{author}\" is not on the jury of visit \"{}\"",
                visit.id
            )))
        }
    };
    let target = entry.target_id.as_deref().unwrap_or_default();
    let owned = |expected: uuid::Uuid| {
        if entry.row_id == expected {
            Ok(())
        } else {
            Err(not_allowed(format!(
                "{} {} does not belong to \"{author}\"",
                entry.entity.as_str(),
                entry.row_id
            )))
        }
    };
    let score = |visit: &Visit| {
        on_jury(visit)?;
        let indicator = package
            .indicator(target)
            .ok_or_else(|| not_allowed(format!("indicator \"{target}\" does not exist")))?;
        owned(ids::score_id(competition, author, &visit.id, &indicator.id))
    };
    let verification = |visit: &Visit| {
        on_jury(visit)?;
        let participant = package
            .participant(&visit.participant)
            .ok_or_else(|| not_allowed("the visit's participant does not exist".into()))?;
        participant.innovation(target).ok_or_else(|| {
            not_allowed(format!(
                "innovation \"{target}\" is not listed for this visit"
            ))
        })?;
        owned(ids::verification_id(competition, author, &visit.id, target))
    };
    let sheet = |visit: &Visit, state: Option<SheetState>| {
        let owner = sheet_owner(package, visit, entry.row_id)
            .ok_or_else(|| not_allowed("the sheet belongs to no juror of this visit".into()))?;
        if owner == author {
            // A juror submits their sheet, or takes a submission back while it has not left
            // their laptop (`sync::withdrawal_refused` judges that where it arrives); reopening
            // a sheet that reached the lead is the lead's.
            if state.is_none() {
                return Err(not_allowed(
                    "a juror can only submit their own sheet, or withdraw a submission that was not sent; reopening is the lead's".into(),
                ));
            }
        } else if !is_visit_lead(package, visit, author) {
            return Err(not_allowed(format!(
                "\"{author}\" may not change \"{owner}\"'s sheet"
            )));
        } else if state.is_some_and(|s| s != SheetState::Draft) {
            return Err(not_allowed(
                "the lead can reopen a sheet, not submit it".into(),
            ));
        }
        Ok(())
    };
    let visit_lead = |visit: &Visit| {
        if is_visit_lead(package, visit, author) {
            Ok(())
        } else {
            Err(not_allowed(format!(
                "only the visit's lead may do this, not \"{author}\""
            )))
        }
    };
    match change.value() {
        FieldValue::ScoreValue(value) => {
            score(need_visit()?)?;
            check_score(&package.competition.scale, value.get())
                .map_err(|e| Refusal::malformed(e.to_string()))?;
        }
        FieldValue::ScoreNote(_) => score(need_visit()?)?,
        FieldValue::Verdict(_) | FieldValue::VerificationNote(_) => verification(need_visit()?)?,
        FieldValue::SheetState(state) => sheet(need_visit()?, Some(*state))?,
        FieldValue::ReopenReason(_) => sheet(need_visit()?, None)?,
        FieldValue::ConflictOfInterestReason(_) => {
            package
                .participant(target)
                .ok_or_else(|| not_allowed(format!("participant \"{target}\" does not exist")))?;
            owned(ids::conflict_of_interest_id(competition, author, target))?;
        }
        FieldValue::Observation(record) => {
            let visit = need_visit()?;
            on_jury(visit)?;
            if let Some(innovation) = &record.innovation_id {
                let listed = package
                    .participant(&visit.participant)
                    .is_some_and(|p| p.innovation(innovation).is_some());
                if !listed {
                    return Err(not_allowed(format!(
                        "innovation \"{innovation}\" is not listed for this visit"
                    )));
                }
            }
        }
        FieldValue::Evidence(record) => {
            on_jury(need_visit()?)?;
            if target != record.owner_id.to_string() {
                return Err(Refusal::malformed(
                    "an evidence record's target must be the record it is attached to",
                ));
            }
        }
        // Only the juror who attached a file takes it off (or puts it back): the evidence id
        // is random, so the stores apply a removal only to their author's own attachment.
        FieldValue::EvidenceRemoved(_) => on_jury(need_visit()?)?,
        FieldValue::TieBreak(decision) => {
            if juror.role != Role::Lead {
                return Err(not_allowed(format!(
                    "only the team lead may break a tie, not \"{author}\""
                )));
            }
            owned(ids::tie_break_id(competition, &decision.order))?;
        }
        FieldValue::Lock(lock) => {
            let visit = need_visit()?;
            visit_lead(visit)?;
            owned(ids::lock_id(competition, &visit.id))?;
            if lock.locked.visit_id != visit.id {
                return Err(Refusal::malformed("the lock seals another visit's result"));
            }
        }
        FieldValue::LeadNote(_) => {
            let visit = need_visit()?;
            visit_lead(visit)?;
            owned(ids::lead_note_id(competition, &visit.id, target))?;
        }
    }
    Ok(())
}
