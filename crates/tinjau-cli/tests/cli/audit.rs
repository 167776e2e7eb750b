//! The change log is tamper-evident: editing a row in the database file breaks `tinjau audit`.

use crate::support::{Terminal, VISIT};

#[test]
fn editing_a_change_log_row_makes_audit_fail_and_name_it() {
    let laptop = Terminal::juror("akademisi");
    laptop.ok(&["score", VISIT, "I1", "60"]);
    laptop.ok(&["score", VISIT, "I1", "65"]);
    laptop.ok(&["score", VISIT, "I2", "70"]);
    assert!(
        laptop
            .ok(&["audit"])
            .starts_with("Audit OK: 3 change-log entries")
    );

    // Someone raises the first score in the file itself.
    let change_id: String = laptop
        .database()
        .query_row("SELECT change_id FROM change_log WHERE seq = 2", [], |r| {
            r.get(0)
        })
        .unwrap();
    laptop
        .database()
        .execute("UPDATE change_log SET value = '95.0' WHERE seq = 2", [])
        .unwrap();

    let (code, message) = laptop.fails(&["audit"]);
    assert_eq!(code, "chain_broken");
    assert!(
        message.contains("seq 2") && message.contains(&change_id),
        "{message}"
    );
    assert!(message.contains("edited"), "{message}");
}

#[test]
fn deleting_a_change_log_row_makes_audit_fail_and_name_the_gap() {
    let laptop = Terminal::juror("akademisi");
    for value in ["60", "61", "62"] {
        laptop.ok(&["score", VISIT, "I1", value]);
    }
    laptop
        .database()
        .execute("DELETE FROM change_log WHERE seq = 2", [])
        .unwrap();
    let (code, message) = laptop.fails(&["audit"]);
    assert_eq!(code, "chain_broken");
    assert!(
        message.contains("seq 3") && message.contains("missing"),
        "{message}"
    );
}
