//! Sync end to end: real `tinjau-server` processes on 127.0.0.1 (SQLite and PostgreSQL), real
//! clients (the sync library over real stores, and the `tinjau` binary where a process must be
//! killed), and a fault-injecting proxy. Each test is one guarantee of `docs/sync.md`.

mod at_rest;
mod auth;
mod bundle;
pub(crate) mod cli;
mod clocks;
mod evidence;
mod faults;
mod hostile;
mod hub;
mod organiser;
mod previews;
mod scale;
mod scenario;
mod signing;
mod tls;
mod upgrade;

use rusqlite::Connection;
use tinjau_store::Store;

/// Rows of `table` in a laptop's database written by someone other than `juror`.
pub fn foreign_rows(laptop: &tinjau_tests::Laptop, table: &str, juror: &str) -> i64 {
    Connection::open(laptop.dir.path().join(tinjau_store::DATABASE_FILE))
        .unwrap()
        .query_row(
            &format!("SELECT COUNT(*) FROM {table} WHERE juror_id <> ?1"),
            [juror],
            |r| r.get(0),
        )
        .unwrap()
}

/// Every change id in a store's change log.
pub fn change_ids(store: &Store, dir: &std::path::Path) -> Vec<String> {
    let _ = store;
    Connection::open(dir.join(tinjau_store::DATABASE_FILE))
        .unwrap()
        .prepare("SELECT change_id FROM change_log ORDER BY change_id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Pulls the whole visible log with a token, checking its positions have no gaps.
pub fn server_log(url: &str, token: &str) -> Vec<tinjau_core::sync::PulledChange> {
    let client = tinjau_sync::Client::new(url, token, None).unwrap();
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let (page, _) = client.pull(after, 1000).unwrap();
        all.extend(page.changes);
        after = page.next;
        if !page.more {
            break;
        }
    }
    all
}

/// The values of `juror`'s score on `indicator` in a laptop's change log, in log order.
pub fn logged_values(laptop: &tinjau_tests::Laptop, juror: &str, indicator: &str) -> Vec<String> {
    let row = tinjau_core::ids::score_id("skk-jatim-2023", juror, tinjau_tests::VISIT, indicator);
    Connection::open(laptop.dir.path().join(tinjau_store::DATABASE_FILE))
        .unwrap()
        .prepare("SELECT value FROM change_log WHERE entity = 'score' AND field = 'value' AND row_id = ?1")
        .unwrap()
        .query_map([row.to_string()], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}
