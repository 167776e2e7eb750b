//! Authority is checked on the server, per change; bad requests get a 4xx that names the
//! problem, and store nothing.

use chrono::Duration;
use tinjau_core::chain::GENESIS_HASH;
use tinjau_core::sync::{Outcome, PushRequest};
use tinjau_tests::{Db, Laptop, Server, VISIT};

use crate::server_log;

fn raw(server: &Server) -> reqwest::blocking::Client {
    let _ = server;
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::new()
}

fn error_of(response: reqwest::blocking::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().unwrap();
    (
        status,
        body["error"]["code"].as_str().unwrap().to_string(),
        body["error"]["message"].as_str().unwrap().to_string(),
    )
}

fn a_juror_cannot_write_another_jurors_sheet(db: Db) {
    let (server, tokens) = Server::start(
        db.clone(),
        &[
            ("ketua", "lead"),
            ("akademisi", "juror"),
            ("dindik", "juror"),
        ],
    );
    let mut a = Laptop::joined(&server.url, &tokens["akademisi"], Duration::zero());
    let mut b = Laptop::joined(&server.url, &tokens["dindik"], Duration::zero());
    b.store.score(VISIT, "I1", 90.0, None).unwrap();
    a.store.score(VISIT, "I1", 40.0, None).unwrap();

    // A pushes B's change (A cannot have B's device registration, which B's identity key
    // signs): whoever pushes, a change counts only when its author's device signed it.
    let b_entries = b.store.device_entries(b.store.device_id()).unwrap();
    let client = a.client(&server.url);
    let request = PushRequest {
        device_id: a.store.device_id(),
        client_time_ms: 0,
        changes: b_entries,
        registrations: a.registrations(),
    };
    let (answer, _, _) = client.push(&request).unwrap();
    assert!(
        matches!(&answer.outcomes[0].outcome, Outcome::Rejected { reason, code: tinjau_core::change::RefusalCode::ForeignDevice } if reason.contains("no registration binds")),
        "{db:?}: {answer:?}"
    );

    // A writes a change of their own authorship onto B's score row, sealed properly.
    let mut forged = a
        .store
        .device_entries(a.store.device_id())
        .unwrap()
        .remove(0);
    forged.row_id = tinjau_core::ids::score_id("skk-jatim-2023", "dindik", VISIT, "I1");
    let forged = forged
        .seal(GENESIS_HASH)
        .signed(&a.store.device_key().unwrap());
    let request = PushRequest {
        device_id: a.store.device_id(),
        client_time_ms: 0,
        changes: vec![forged],
        registrations: a.registrations(),
    };
    let (answer, _, _) = client.push(&request).unwrap();
    assert!(
        matches!(&answer.outcomes[0].outcome, Outcome::Rejected { reason, .. } if reason.contains("does not belong")),
        "{db:?}: {answer:?}"
    );

    // Nothing of it is stored; the lead sees both refusals in the quarantine.
    assert!(
        server_log(&server.url, &tokens["ketua"]).is_empty(),
        "{db:?}"
    );
    let quarantine: serde_json::Value = raw(&server)
        .get(format!("{}/v1/quarantine", server.url))
        .bearer_auth(&tokens["ketua"])
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        quarantine.as_array().unwrap().len(),
        2,
        "{db:?}: {quarantine}"
    );
    let (status, code, _) = error_of(
        raw(&server)
            .get(format!("{}/v1/quarantine", server.url))
            .bearer_auth(&tokens["akademisi"])
            .send()
            .unwrap(),
    );
    assert_eq!((status, code.as_str()), (403, "forbidden"));
}

fn bad_requests_get_a_4xx_that_names_the_problem_and_store_nothing(db: Db) {
    let (server, tokens) = Server::start(db.clone(), &[("ketua", "lead"), ("akademisi", "juror")]);
    let url = &server.url;
    let http = raw(&server);
    let push = |token: Option<&str>, body: Vec<u8>, gzip: bool| {
        let mut request = http.post(format!("{url}/v1/push")).body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if gzip {
            request = request.header("content-encoding", "gzip");
        }
        error_of(request.send().unwrap())
    };
    let (status, code, message) = push(None, b"{}".to_vec(), false);
    assert_eq!((status, code.as_str()), (401, "unauthorized"), "{message}");
    assert!(message.contains("no token"));
    let (status, _, message) = push(Some("tjk_not-a-token"), b"{}".to_vec(), false);
    assert_eq!(status, 401);
    assert!(message.contains("unknown token"));

    let revoked = server.token("akademisi", "juror");
    server.revoke(&revoked);
    let (status, _, message) = push(Some(&revoked), b"{}".to_vec(), false);
    assert_eq!(status, 401);
    assert!(message.contains("revoked"), "{message}");

    let token = tokens["akademisi"].as_str();
    let (status, code, message) = push(Some(token), b"{\"device_id\": 5}".to_vec(), false);
    assert_eq!((status, code.as_str()), (400, "malformed"));
    assert!(message.contains("device_id"), "{message}");
    let (status, code, _) = push(Some(token), b"not gzip at all".to_vec(), true);
    assert_eq!((status, code.as_str()), (400, "malformed"));

    let oversized = vec![b' '; 5 * 1024 * 1024];
    let response = http
        .post(format!("{url}/v1/push"))
        .bearer_auth(token)
        .body(oversized)
        .send()
        .unwrap();
    assert_eq!(
        response.status().as_u16(),
        413,
        "{db:?}: an oversized body is refused"
    );

    // A compression bomb: 1 GiB of zeros in a small gzip body.
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1024 * 1024];
    for _ in 0..64 {
        std::io::Write::write_all(&mut encoder, &zeros).unwrap();
    }
    let (status, code, _) = push(Some(token), encoder.finish().unwrap(), true);
    assert_eq!((status, code.as_str()), (413, "too_large"), "{db:?}");

    let (status, code, _) = error_of(
        http.head(format!("{url}/v1/blobs/NOTAHASH"))
            .bearer_auth(token)
            .send()
            .map(|r| {
                // HEAD has no body: ask with GET for the message.
                let _ = r;
                http.get(format!("{url}/v1/blobs/NOTAHASH"))
                    .bearer_auth(token)
                    .send()
                    .unwrap()
            })
            .unwrap(),
    );
    assert_eq!((status, code.as_str()), (400, "malformed"));

    assert!(
        server_log(url, &tokens["ketua"]).is_empty(),
        "{db:?}: nothing was stored"
    );
}

tinjau_tests::per_backend!(
    a_juror_cannot_write_another_jurors_sheet,
    bad_requests_get_a_4xx_that_names_the_problem_and_store_nothing,
);
