//! `cargo build --release -p tinjau-server && cargo bench -p tinjau-tests --bench console`
//! (the server runs as its own process: its release binary must be built first)
//!
//! The organiser's console against a real `tinjau-server` process (SQLite): seven jurors' whole
//! visits synced (twelve verdicts, three notes, seven scores per visit, submitted, plus
//! `TINJAU_BENCH_EDITS` score edits each), then the time `GET /console/api/progress` takes cold
//! (the mirror is built from the whole log), warm (nothing new), and after one juror pushed 100
//! more changes (the mirror catches up). Without `--bench` (as `cargo test` runs it) it is a
//! small smoke run.

use std::io::Write;
use std::time::{Duration, Instant};

use tinjau_core::Verdict;
use tinjau_store::VerifyRequest;
use tinjau_tests::{Db, INDICATORS, Laptop, Server};

const JURORS: [&str; 7] = tinjau_tests::JURY;
const VISITS: [&str; 2] = ["visit-junrejo", "visit-contoh-a"];

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let smoke = !std::env::args().any(|a| a == "--bench");
    let edits: usize = std::env::var("TINJAU_BENCH_EDITS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if smoke { 10 } else { 1_000 });
    let roles = tinjau_tests::jury_roles();
    let (server, tokens) = Server::start(Db::Sqlite, &roles);
    let package = tinjau_core::Package::parse(tinjau_tests::DEMO.as_bytes()).unwrap();
    let mut laptops = Vec::new();
    for juror in JURORS {
        let mut laptop = Laptop::joined(&server.url, &tokens[juror], chrono::Duration::zero());
        for visit in VISITS {
            let participant = &package
                .visits
                .iter()
                .find(|v| v.id == visit)
                .unwrap()
                .participant;
            let innovations = &package.participant(participant).unwrap().innovations;
            for innovation in innovations {
                laptop
                    .store
                    .verify(&VerifyRequest {
                        visit: visit.into(),
                        innovation: innovation.id.clone(),
                        verdict: Verdict::Found,
                        note: Some("Sesuai paparan".into()),
                        evidence: Vec::new(),
                    })
                    .unwrap();
            }
            for note in 0..3 {
                laptop
                    .store
                    .observe(visit, &format!("Catatan {note} dari {juror}"), None, &[])
                    .unwrap();
            }
            for i in 0..edits {
                laptop
                    .store
                    .score(visit, INDICATORS[i % 7], 60.0 + (i % 40) as f64, None)
                    .unwrap();
            }
            // Dindik's second sheet stays a draft: it is finished after the first figures.
            if !(juror == "dindik" && visit == VISITS[1]) {
                laptop.score_and_submit(visit, 70.0);
            }
        }
        laptop.sync(&server.url).unwrap();
        laptops.push(laptop);
    }
    let log: usize = laptops
        .iter()
        .map(|l| l.store.device_entries(l.store.device_id()).unwrap().len())
        .sum();

    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::blocking::Client::new();
    let organiser = server.organiser_token("Biro Pemerintahan");
    let signed = http
        .post(format!("{}/console/api/sign-in", server.url))
        .json(&serde_json::json!({ "token": organiser }))
        .send()
        .unwrap();
    let cookie = signed.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let progress = || {
        let started = Instant::now();
        let response = http
            .get(format!("{}/console/api/progress", server.url))
            .header("cookie", &cookie)
            .send()
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().unwrap();
        (started.elapsed(), body)
    };
    let (cold, body) = progress();
    let submitted = body["visits"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|v| v["jurors"].as_array().unwrap())
        .filter(|j| j["sheet"] == "submitted")
        .count();
    assert_eq!(submitted, 13, "every sheet but one shows as submitted");
    let warm = median((0..20).map(|_| progress().0).collect());
    let dindik = &mut laptops[2];
    for i in 0..100 {
        dindik
            .store
            .score(VISITS[1], INDICATORS[i % 7], 50.0 + (i % 30) as f64, None)
            .unwrap();
    }
    dindik.store.submit(VISITS[1]).unwrap();
    dindik.sync(&server.url).unwrap();
    let (catch_up, body) = progress();
    let sheet = &body["visits"][1]["jurors"][2];
    assert_eq!(sheet["juror_id"], "dindik");
    assert_eq!(
        sheet["sheet"], "submitted",
        "the new changes are in the picture"
    );

    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "console progress over {log} changes from 7 jurors × 2 visits: cold (mirror built) {:.1} ms, warm median {:.1} ms, after 100 new changes {:.1} ms",
        cold.as_secs_f64() * 1e3,
        warm.as_secs_f64() * 1e3,
        catch_up.as_secs_f64() * 1e3,
    )
    .unwrap();
}
