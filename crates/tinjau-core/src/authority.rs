//! Who may write what: checked per change wherever changes arrive from another device (a sheet
//! file on a USB stick today, sync tomorrow). A change that fails is quarantined with the reason.
//!
//! Ownership follows from the deterministic ids: a score's row id is the UUIDv5 of its juror ×
//! visit × indicator, so a change whose row id is not the id of *its author's* score is someone
//! else's record.

use crate::chain::ChangeEntry;
use crate::domain::{Entity, SheetState, Verdict, check_score};
use crate::ids;
use crate::package::{Package, Role, Visit};

/// Why a change is refused.
pub type Refusal = String;

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

fn parse<T: serde::de::DeserializeOwned>(entry: &ChangeEntry) -> Result<T, Refusal> {
    serde_json::from_str(&entry.value).map_err(|e| {
        format!(
            "value of {}.{} is not valid: {e}",
            entry.entity.as_str(),
            entry.field
        )
    })
}

/// Checks one change against the package's rules of authority.
pub fn check_change(package: &Package, entry: &ChangeEntry) -> Result<(), Refusal> {
    let competition = &package.competition.id;
    let author = entry.author.as_str();
    let juror = package
        .juror(author)
        .ok_or_else(|| format!("author \"{author}\" is not a juror of this competition"))?;
    let visit = match &entry.visit_id {
        Some(id) => Some(
            package
                .visit(id)
                .ok_or_else(|| format!("visit \"{id}\" does not exist"))?,
        ),
        None => None,
    };
    let need_visit = || visit.ok_or_else(|| "the change names no visit".to_string());
    let on_jury = |visit: &Visit| {
        if visit.jurors.iter().any(|j| j == author) {
            Ok(())
        } else {
            Err(format!(
                "\"{author}\" is not on the jury of visit \"{}\"",
                visit.id
            ))
        }
    };
    let target = entry.target_id.as_deref().unwrap_or_default();
    let fields = |allowed: &[&str]| {
        if allowed.contains(&entry.field.as_str()) {
            Ok(())
        } else {
            Err(format!(
                "{} has no field \"{}\"",
                entry.entity.as_str(),
                entry.field
            ))
        }
    };
    let owned = |expected: uuid::Uuid| {
        if entry.row_id == expected {
            Ok(())
        } else {
            Err(format!(
                "{} {} does not belong to \"{author}\"",
                entry.entity.as_str(),
                entry.row_id
            ))
        }
    };
    match entry.entity {
        Entity::Score => {
            let visit = need_visit()?;
            on_jury(visit)?;
            let indicator = package
                .indicator(target)
                .ok_or_else(|| format!("indicator \"{target}\" does not exist"))?;
            owned(ids::score_id(competition, author, &visit.id, &indicator.id))?;
            fields(&["value", "note"])?;
            if entry.field == "value" {
                let value: f64 = parse(entry)?;
                check_score(&package.competition.scale, value).map_err(|e| e.to_string())?;
            } else {
                parse::<String>(entry)?;
            }
        }
        Entity::Verification => {
            let visit = need_visit()?;
            on_jury(visit)?;
            let participant = package
                .participant(&visit.participant)
                .ok_or("the visit's participant does not exist")?;
            participant
                .innovation(target)
                .ok_or_else(|| format!("innovation \"{target}\" is not listed for this visit"))?;
            owned(ids::verification_id(competition, author, &visit.id, target))?;
            fields(&["verdict", "note"])?;
            if entry.field == "verdict" {
                parse::<Verdict>(entry)?;
            } else {
                parse::<String>(entry)?;
            }
        }
        Entity::Sheet => {
            let visit = need_visit()?;
            let owner = sheet_owner(package, visit, entry.row_id)
                .ok_or("the sheet belongs to no juror of this visit")?;
            fields(&["state", "reopen_reason"])?;
            if owner == author {
                if entry.field != "state" || parse::<SheetState>(entry)? != SheetState::Submitted {
                    return Err(
                        "a juror can only submit their own sheet; reopening is the lead's".into(),
                    );
                }
            } else if !is_visit_lead(package, visit, author) {
                return Err(format!("\"{author}\" may not change \"{owner}\"'s sheet"));
            } else if entry.field == "state" && parse::<SheetState>(entry)? != SheetState::Draft {
                return Err("the lead can reopen a sheet, not submit it".into());
            }
        }
        Entity::ConflictOfInterest => {
            package
                .participant(target)
                .ok_or_else(|| format!("participant \"{target}\" does not exist"))?;
            owned(ids::conflict_of_interest_id(competition, author, target))?;
            fields(&["reason"])?;
            parse::<String>(entry)?;
        }
        Entity::Observation | Entity::Evidence => {
            on_jury(need_visit()?)?;
            fields(&["record"])?;
            parse::<serde_json::Value>(entry)?;
        }
        Entity::TieBreak => {
            if juror.role != Role::Lead {
                return Err(format!(
                    "only the team lead may break a tie, not \"{author}\""
                ));
            }
            fields(&["decision"])?;
            parse::<crate::merge::TieBreak>(entry)?;
        }
        Entity::Lock | Entity::LeadNote => {
            let visit = need_visit()?;
            if !is_visit_lead(package, visit, author) {
                return Err(format!(
                    "only the visit's lead may do this, not \"{author}\""
                ));
            }
            match entry.entity {
                Entity::Lock => owned(ids::lock_id(competition, &visit.id))?,
                _ => owned(ids::lead_note_id(competition, &visit.id, target))?,
            }
            fields(&["lock", "note"])?;
            parse::<serde_json::Value>(entry)?;
        }
    }
    Ok(())
}
