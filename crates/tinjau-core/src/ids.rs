//! Record ids.
//!
//! Natural singletons (one score per juror × visit × indicator, one verification per juror ×
//! visit × innovation, one sheet per juror × visit, one conflict declaration per juror ×
//! participant) get deterministic UUIDv5 ids, so two devices creating "the same" record meet on
//! its fields instead of duplicating it. Everything else gets a UUIDv7 from a time and random
//! bytes the caller passes in.

use uuid::Uuid;

/// The namespace of every Tinjau UUIDv5 (itself a v5 of a fixed URL in the URL namespace).
pub fn namespace() -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_URL, b"https://tinjau.invalid/ids/v1")
}

fn v5(kind: &str, parts: &[&str]) -> Uuid {
    // The unit separator cannot appear in a valid id, so the key is unambiguous.
    let mut key = String::from(kind);
    for part in parts {
        key.push('\u{1f}');
        key.push_str(part);
    }
    Uuid::new_v5(&namespace(), key.as_bytes())
}

pub fn score_id(competition: &str, juror: &str, visit: &str, indicator: &str) -> Uuid {
    v5("score", &[competition, juror, visit, indicator])
}

pub fn verification_id(competition: &str, juror: &str, visit: &str, innovation: &str) -> Uuid {
    v5("verification", &[competition, juror, visit, innovation])
}

pub fn sheet_id(competition: &str, juror: &str, visit: &str) -> Uuid {
    v5("sheet", &[competition, juror, visit])
}

pub fn conflict_of_interest_id(competition: &str, juror: &str, participant: &str) -> Uuid {
    v5("coi", &[competition, juror, participant])
}

pub fn lock_id(competition: &str, visit: &str) -> Uuid {
    v5("lock", &[competition, visit])
}

pub fn lead_note_id(competition: &str, visit: &str, indicator: &str) -> Uuid {
    v5("lead-note", &[competition, visit, indicator])
}

/// One tie-break per set of tied participants, whatever order they are listed in.
pub fn tie_break_id(competition: &str, participants: &[String]) -> Uuid {
    let mut sorted: Vec<&str> = participants.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    let mut parts = vec![competition];
    parts.extend(sorted);
    v5("tie-break", &parts)
}

/// A UUIDv7 from a Unix time in milliseconds and 10 random bytes supplied by the caller.
pub fn record_id(unix_millis: u64, random: [u8; 10]) -> Uuid {
    uuid::Builder::from_unix_timestamp_millis(unix_millis, &random).into_uuid()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn singletons_are_deterministic_and_distinct() {
        let a = score_id("c", "j", "v", "I1");
        assert_eq!(a, score_id("c", "j", "v", "I1"));
        assert_ne!(a, score_id("c", "j", "v", "I2"));
        assert_ne!(a, verification_id("c", "j", "v", "I1"));
        assert_eq!(a.get_version_num(), 5);
    }

    #[test]
    fn record_ids_are_v7_and_ordered_by_time() {
        let early = record_id(1_000, [0xff; 10]);
        let late = record_id(2_000, [0; 10]);
        assert_eq!(early.get_version_num(), 7);
        assert!(early < late);
    }
}
