//! Crash safety: `tinjau score` killed with SIGKILL at random moments. Every score whose success
//! line was printed must be in the database afterwards, and the database must be intact.

use std::io::Read;
use std::process::Stdio;
use std::time::Duration;

use crate::support::{Terminal, VISIT};

/// A small deterministic generator, so a failure can be replayed.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % bound
    }
}

#[test]
fn every_acknowledged_score_survives_sigkill() {
    let laptop = Terminal::juror("akademisi");
    let indicators = ["I1", "I2", "I3", "I4", "I5", "I6", "I7"];
    let mut random = Lcg(0x5eed);
    let mut acknowledged: Vec<(String, f64)> = Vec::new();
    let mut killed_before_ack = 0;
    // Kill moments are spread over the whole life of one uninterrupted run (start-up, open,
    // transaction, fsync, print), whatever this machine's speed.
    let started = std::time::Instant::now();
    laptop.ok(&["score", VISIT, "I1", "0.5"]);
    let lifetime_micros = (started.elapsed().as_micros() as u64).max(1_000) * 6 / 5;

    for attempt in 0..80u32 {
        let indicator = indicators[attempt as usize % indicators.len()];
        let value = f64::from(attempt) + 0.25;
        let mut child = laptop
            .command(&["score", VISIT, indicator, &value.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(random.below(lifetime_micros)));
        let _ = child.kill(); // SIGKILL on Unix; harmless if it already exited.
        let _ = child.wait();
        let mut stdout = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut stdout)
            .unwrap();
        if stdout.starts_with("Saved:") {
            acknowledged.push((indicator.to_string(), value));
        } else {
            killed_before_ack += 1;
        }
    }
    assert!(!acknowledged.is_empty(), "no score was ever acknowledged");
    assert!(
        killed_before_ack > 0,
        "no process was killed before acknowledging"
    );

    let db = laptop.database();
    let integrity: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let mut logged = db
        .prepare(
            "SELECT target_id, value FROM change_log WHERE entity = 'score' AND field = 'value'",
        )
        .unwrap();
    let logged: Vec<(String, f64)> = logged
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .unwrap()
        .map(|r| {
            let (indicator, value) = r.unwrap();
            (indicator, value.parse().unwrap())
        })
        .collect();
    for (indicator, value) in &acknowledged {
        assert!(
            logged.contains(&(indicator.clone(), *value)),
            "acknowledged score {indicator} = {value} is missing from the change log"
        );
    }
    // Each indicator holds its last acknowledged value or a later attempt's (which may have
    // committed without getting to print).
    for indicator in indicators {
        let Some(last_ack) = acknowledged.iter().rev().find(|(i, _)| i == indicator) else {
            continue;
        };
        let stored: f64 = db
            .query_row(
                "SELECT value FROM score WHERE visit_id = ?1 AND indicator_id = ?2",
                [VISIT, indicator],
                |r| r.get(0),
            )
            .unwrap();
        assert!(
            stored >= last_ack.1,
            "{indicator}: stored {stored}, acknowledged {}",
            last_ack.1
        );
    }
    laptop.ok(&["audit"]);
}
