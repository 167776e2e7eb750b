//! The console's JSON endpoints as a script or an attacker meets them, on SQLite and on
//! PostgreSQL (where a session opened on one instance works on another).

use reqwest::blocking::{Client, Response};
use reqwest::header::{COOKIE, SET_COOKIE};
use tinjau_tests::{DEMO, Db, Laptop, Server, VISIT, per_backend, photo};

fn client() -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn sign_in(url: &str, token: &str) -> Response {
    client()
        .post(format!("{url}/console/api/sign-in"))
        .json(&serde_json::json!({ "token": token }))
        .send()
        .unwrap()
}

/// A signed-in session: its cookie and its CSRF secret.
struct Session {
    cookie: String,
    csrf: String,
}

fn session(url: &str, token: &str) -> Session {
    let response = sign_in(url, token);
    assert_eq!(response.status(), 200, "signing in");
    let set = response
        .headers()
        .get(SET_COOKIE)
        .expect("a session cookie")
        .to_str()
        .unwrap()
        .to_string();
    let cookie = set.split(';').next().unwrap().to_string();
    let body: serde_json::Value = response.json().unwrap();
    Session {
        cookie,
        csrf: body["csrf"].as_str().unwrap().to_string(),
    }
}

fn get(url: &str, session: &Session, path: &str) -> Response {
    client()
        .get(format!("{url}/console/api/{path}"))
        .header(COOKIE, &session.cookie)
        .send()
        .unwrap()
}

fn post(url: &str, session: &Session, path: &str, csrf: Option<&str>) -> Response {
    let mut request = client()
        .post(format!("{url}/console/api/{path}"))
        .header(COOKIE, &session.cookie)
        .json(&serde_json::json!({}));
    if let Some(csrf) = csrf {
        request = request.header("X-Tinjau-CSRF", csrf);
    }
    request.send().unwrap()
}

fn code(response: Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().unwrap_or_default();
    (
        status,
        body["error"]["code"].as_str().unwrap_or("").to_string(),
    )
}

fn sessions_are_http_only_csrf_checked_shared_by_instances_and_end_when_asked(db: Db) {
    let (server, tokens) = Server::start(db.clone(), &[("akademisi", "juror")]);
    let organiser = server.organiser_token("Biro Pemerintahan");

    let response = sign_in(&server.url, &organiser);
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_string();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(cookie.contains(flag), "{cookie} lacks {flag}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP on loopback: no Secure flag"
    );
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe"),
        "{csp}"
    );

    let me = session(&server.url, &organiser);
    assert_eq!(get(&server.url, &me, "progress").status(), 200);
    // A change without the session's CSRF secret (what a forged cross-site request carries)
    // or with a wrong one is refused, and changes nothing.
    let path = "jurors/akademisi/revoke";
    assert_eq!(
        code(post(&server.url, &me, path, None)),
        (403, "csrf".into())
    );
    assert_eq!(
        code(post(&server.url, &me, path, Some("tjk_guess"))),
        (403, "csrf".into())
    );
    let juror_token = &tokens["akademisi"];
    let whoami = |token: &str| server.whoami_status(token);
    assert_eq!(
        whoami(juror_token),
        200,
        "the refused revocation changed nothing"
    );
    assert_eq!(post(&server.url, &me, path, Some(&me.csrf)).status(), 200);
    assert_eq!(whoami(juror_token), 401, "revoked with the CSRF secret");

    // Slips for a list with a juror who does not exist: refused whole, no token issued for
    // the one who does; a juror named twice gets one token.
    let active = |juror: &str| -> u64 {
        let jurors: serde_json::Value = get(&server.url, &me, "jurors").json().unwrap();
        jurors
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["juror_id"] == juror)
            .unwrap()["active_tokens"]
            .as_u64()
            .unwrap()
    };
    let slips = |jurors: serde_json::Value| {
        client()
            .post(format!("{}/console/api/slips", server.url))
            .header(COOKIE, &me.cookie)
            .header("X-Tinjau-CSRF", &me.csrf)
            .json(&serde_json::json!({ "jurors": jurors }))
            .send()
            .unwrap()
    };
    let refused = slips(serde_json::json!(["akademisi", "tidak-ada"]));
    assert_eq!(code(refused), (404, "not_found".into()));
    assert_eq!(active("akademisi"), 0, "nothing half-issued");
    assert_eq!(slips(serde_json::json!(["dindik", "dindik"])).status(), 200);
    assert_eq!(active("dindik"), 1, "one token for a juror named twice");

    // A package larger than a sync body (5 MiB) is read and judged, not cut off.
    let mut padded: serde_json::Value = serde_json::from_str(DEMO).unwrap();
    padded["competition"]["name"] = "x".repeat(5 * 1024 * 1024).into();
    let response = client()
        .post(format!("{}/console/api/package/preview", server.url))
        .header(COOKIE, &me.cookie)
        .header("X-Tinjau-CSRF", &me.csrf)
        .body(serde_json::to_vec(&padded).unwrap())
        .send()
        .unwrap();
    assert_eq!(code(response), (422, "invalid_package".into()));

    // Several instances on PostgreSQL: a session opened on one is known to the other.
    if let Db::Postgres(_) = db {
        let other = server.another_instance();
        assert_eq!(get(&other.url, &me, "progress").status(), 200);
        assert_eq!(post(&other.url, &me, "slips", Some(&me.csrf)).status(), 200);
    }

    // Signing out ends the session everywhere; so does revoking the token behind it.
    let response = client()
        .delete(format!("{}/console/api/session", server.url))
        .header(COOKIE, &me.cookie)
        .header("X-Tinjau-CSRF", &me.csrf)
        .send()
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(
        code(get(&server.url, &me, "progress")),
        (401, "signed_out".into())
    );
    let again = session(&server.url, &organiser);
    server.revoke(&organiser);
    assert_eq!(
        code(get(&server.url, &again, "progress")),
        (401, "signed_out".into())
    );
    // A cookie that was never issued, or a huge one, is simply not signed in.
    let forged = Session {
        cookie: format!("tinjau_console=tjk_{}", "A".repeat(43)),
        csrf: String::new(),
    };
    assert_eq!(
        code(get(&server.url, &forged, "progress")),
        (401, "signed_out".into())
    );
    let huge = Session {
        cookie: format!("tinjau_console={}", "A".repeat(6000)),
        csrf: String::new(),
    };
    assert_eq!(get(&server.url, &huge, "progress").status(), 401);
}

fn sign_ins_are_refused_in_words_and_limited_per_address(db: Db) {
    let (server, tokens) = Server::start(db, &[("akademisi", "juror"), ("ketua", "lead")]);
    let organiser = server.organiser_token("Biro Pemerintahan");
    assert_eq!(
        code(sign_in(&server.url, &tokens["akademisi"])),
        (403, "juror_token".into()),
        "jurors use the app, not the console"
    );
    let lead = tokens["ketua"].clone();
    server.revoke(&lead);
    assert_eq!(code(sign_in(&server.url, &lead)), (401, "revoked".into()));
    let response = client()
        .post(format!("{}/console/api/sign-in", server.url))
        .body("token=x")
        .send()
        .unwrap();
    assert_eq!(code(response), (400, "malformed".into()));
    // Ten failures from one address within ten minutes (the revoked one above counts): then
    // even the right token waits.
    for attempt in 0..9 {
        let (status, error) = code(sign_in(&server.url, &format!("tjk_guess{attempt}")));
        assert_eq!(
            (status, error.as_str()),
            (401, "unknown_token"),
            "attempt {attempt}"
        );
    }
    let limited = sign_in(&server.url, &organiser);
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["retry-after"], "600");
    assert_eq!(code(limited), (429, "rate_limited".into()));
}

/// The demo with a second lead who leads the second visit instead of `ketua`.
fn two_leads() -> String {
    let mut package: serde_json::Value = serde_json::from_str(DEMO).unwrap();
    package["competition"]["id"] = "skk-dua-ketua".into();
    let mut second = package["jurors"][0].clone();
    second["id"] = "ketua-2".into();
    second["name"] = "Ketua Tim Juri II".into();
    package["jurors"].as_array_mut().unwrap().push(second);
    let visit = &mut package["visits"][1];
    let jurors = visit["jurors"].as_array_mut().unwrap();
    jurors.retain(|j| j != "ketua");
    jurors.push("ketua-2".into());
    serde_json::to_string(&package).unwrap()
}

fn a_lead_follows_only_the_visits_they_lead_and_evidence_never_runs(db: Db) {
    let (server, _) = Server::start(db, &[]);
    let files = tempfile::tempdir().unwrap();
    let package = files.path().join("dua-ketua.json");
    std::fs::write(&package, two_leads()).unwrap();
    server.publish(&package);
    let lead = server.token_for("skk-dua-ketua", "ketua", "lead");
    let juror = server.token_for("skk-dua-ketua", "akademisi", "juror");

    // A juror attaches a photo and a hostile HTML file on Junrejo, and syncs.
    let mut laptop = Laptop::joined(&server.url, &juror, chrono::Duration::zero());
    let picture = photo("2023:11:28 10:15:00");
    let hashes = laptop.attach(&[
        ("balai desa.jpg", &picture),
        (
            "<img src=x onerror=alert(1)>.html",
            b"<script>alert(document.cookie)</script>",
        ),
    ]);
    laptop.sync(&server.url).unwrap();

    let me = session(&server.url, &lead);
    let progress: serde_json::Value = get(&server.url, &me, "progress").json().unwrap();
    let visits: Vec<&str> = progress["visits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["visit_id"].as_str().unwrap())
        .collect();
    assert_eq!(visits, [VISIT], "a lead follows the visits they lead");
    assert_eq!(
        code(get(&server.url, &me, "visits/visit-contoh-a/gallery")),
        (404, "not_found".into())
    );
    assert_eq!(
        code(get(&server.url, &me, "jurors")),
        (403, "organiser_only".into())
    );
    assert_eq!(
        code(post(&server.url, &me, "slips", Some(&me.csrf))),
        (403, "organiser_only".into())
    );

    let gallery: serde_json::Value = get(&server.url, &me, &format!("visits/{VISIT}/gallery"))
        .json()
        .unwrap();
    assert_eq!(
        gallery["evidence"].as_array().unwrap().len(),
        2,
        "{gallery}"
    );
    let photo_file = get(
        &server.url,
        &me,
        &format!("visits/{VISIT}/evidence/{}", hashes[0]),
    );
    assert_eq!(photo_file.status(), 200);
    assert_eq!(photo_file.headers()["content-type"], "image/jpeg");
    assert!(
        photo_file.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("sandbox")
    );
    let html = get(
        &server.url,
        &me,
        &format!("visits/{VISIT}/evidence/{}", hashes[1]),
    );
    assert_eq!(html.status(), 200);
    assert_eq!(
        html.headers()["content-type"],
        "application/octet-stream",
        "a hostile file is a download, never a page"
    );
    assert!(
        html.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    // A file that exists but is not on a visit the lead follows is not served.
    assert_eq!(
        get(
            &server.url,
            &me,
            &format!("visits/visit-contoh-a/evidence/{}", hashes[0]),
        )
        .status(),
        404
    );
    assert_eq!(
        code(get(
            &server.url,
            &me,
            &format!("visits/{VISIT}/berita-acara.pdf")
        )),
        (409, "not_locked".into())
    );
}

/// The console offers the result bundle once every visit is locked; what it serves verifies.
fn the_console_publishes_the_result_bundle_once_every_visit_is_locked(db: Db) {
    let (server, tokens) = Server::start(db.clone(), &[("ketua", "lead"), ("akademisi", "juror")]);
    let organiser = session(&server.url, &server.organiser_token("Biro Pemerintahan"));
    let mut lead = Laptop::joined(&server.url, &tokens["ketua"], chrono::Duration::zero());
    let mut juror = Laptop::joined(&server.url, &tokens["akademisi"], chrono::Duration::zero());
    for laptop in [&mut lead, &mut juror] {
        laptop.score_and_submit(VISIT, 70.0);
        laptop.score_and_submit("visit-contoh-a", 65.0);
        laptop.sync(&server.url).unwrap();
    }
    lead.sync(&server.url).unwrap();
    lead.store.lock(VISIT).unwrap();
    lead.sync(&server.url).unwrap();
    // One visit of two locked: not yet (the other's scores are not for the public).
    assert_eq!(
        get(&server.url, &organiser, "bundle.tinjau").status(),
        409,
        "{db:?}"
    );
    lead.store.lock("visit-contoh-a").unwrap();
    lead.sync(&server.url).unwrap();
    let response = get(&server.url, &organiser, "bundle.tinjau");
    assert_eq!(response.status(), 200, "{db:?}");
    let bytes = response.bytes().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hasil.tinjau");
    std::fs::write(&file, &bytes).unwrap();
    let output = tinjau_tests::tinjau_cli()
        .args(["--json", "bundle", "verify"])
        .arg(&file)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
    assert!(
        output.status.success(),
        "{db:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(report["locks"].as_array().map(Vec::len), Some(2), "{db:?}");
    // A lead's console session is not the organiser's: publishing is the organiser's.
    let lead_session = session(&server.url, &tokens["ketua"]);
    assert_eq!(
        get(&server.url, &lead_session, "bundle.tinjau").status(),
        403
    );
}

per_backend!(
    the_console_publishes_the_result_bundle_once_every_visit_is_locked,
    sessions_are_http_only_csrf_checked_shared_by_instances_and_end_when_asked,
    sign_ins_are_refused_in_words_and_limited_per_address,
    a_lead_follows_only_the_visits_they_lead_and_evidence_never_runs,
);
