//! Several stateless server instances over one PostgreSQL database.

use chrono::Duration;
use tinjau_tests::{Laptop, Server, VISIT};

use crate::server_log;

#[test]
fn two_instances_on_one_postgres_database_converge() {
    let Some(db) = tinjau_tests::postgres() else {
        return; // postgres() has already said loudly that PostgreSQL was skipped.
    };
    let jury = [
        ("ketua", "lead"),
        ("akademisi", "juror"),
        ("dindik", "juror"),
        ("biro-hukum", "juror"),
    ];
    let (one, tokens) = Server::start(db, &jury);
    let two = one.another_instance();
    let urls = [one.url.clone(), two.url.clone()];

    // Three jurors push at the same time, through both instances.
    let handles: Vec<_> = ["akademisi", "dindik", "biro-hukum"]
        .into_iter()
        .enumerate()
        .map(|(i, juror)| {
            let token = tokens[juror].clone();
            let urls = urls.clone();
            std::thread::spawn(move || {
                let mut laptop = Laptop::joined(&urls[i % 2], &token, Duration::zero());
                for round in 0..20 {
                    laptop
                        .store
                        .score(VISIT, "I1", 50.0 + f64::from(round), None)
                        .unwrap();
                    laptop.sync(&urls[(i + round as usize) % 2]).unwrap();
                }
                laptop.score_and_submit(VISIT, 60.0 + 10.0 * i as f64);
                laptop.sync(&urls[(i + 1) % 2]).unwrap();
                laptop
            })
        })
        .collect();
    let jurors: Vec<Laptop> = handles.into_iter().map(|h| h.join().unwrap()).collect();

    let mut lead = Laptop::joined(&urls[0], &tokens["ketua"], Duration::zero());
    lead.score_and_submit(VISIT, 70.0);
    lead.score_and_submit("visit-contoh-a", 70.0);
    lead.sync(&urls[1]).unwrap();
    lead.sync(&urls[0]).unwrap();
    let result = lead.store.merge(None).unwrap();
    assert_eq!(
        result.participant("junrejo").unwrap().cells[0].n,
        4,
        "the lead converged on every sheet"
    );

    // Both instances serve the same gapless log.
    let log_one = server_log(&urls[0], &tokens["ketua"]);
    let log_two = server_log(&urls[1], &tokens["ketua"]);
    assert_eq!(log_one, log_two);
    let seqs: Vec<u64> = log_one.iter().map(|c| c.seq).collect();
    assert_eq!(seqs, (1..=log_one.len() as u64).collect::<Vec<_>>());
    let from_jurors: usize = jurors
        .iter()
        .map(|j| j.store.device_entries(j.store.device_id()).unwrap().len())
        .sum();
    assert_eq!(
        log_one.len(),
        from_jurors
            + lead
                .store
                .device_entries(lead.store.device_id())
                .unwrap()
                .len()
    );
}
