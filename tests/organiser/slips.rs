//! Join slips from the command line and from a server running HTTPS with a self-signed
//! certificate: a slip per juror without a token, the certificate's fingerprint printed, a
//! lost slip revoked and re-issued alone; the console's cookie marked Secure under TLS.

use tinjau_tests::{Db, SelfSigned, Server, pdf_pages as pdf_text};

#[test]
fn slips_for_every_juror_without_a_token_under_tls_and_a_lost_one_reissued() {
    let tls = SelfSigned::new();
    let dir = tempfile::tempdir().unwrap();
    let (cert, pin, extra) = (tls.cert.clone(), tls.pin.clone(), tls.serve_args());
    let (server, tokens) = Server::start_with(Db::Sqlite, &[("akademisi", "juror")], extra);

    let slips = dir.path().join("slip.pdf");
    let issue = |out: &std::path::Path| {
        server
            .admin_command()
            .args(["token", "--all", "--slips"])
            .arg(out)
            .args(["--server-url", &server.url, "--tls-cert"])
            .arg(&cert)
            .output()
            .unwrap()
    };
    let output = issue(&slips);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let issued = String::from_utf8(output.stdout).unwrap();
    let jurors: Vec<&str> = issued
        .lines()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(
        jurors.len(),
        6,
        "every juror but the one holding a token: {issued}"
    );
    assert!(!jurors.contains(&"akademisi"));
    let pages = pdf_text(&slips);
    assert_eq!(pages.len(), 6, "one page per slip");
    assert!(
        pages
            .iter()
            .all(|p| p.contains(&pin) && p.contains(&server.url)),
        "the certificate's fingerprint and the address are on every slip"
    );

    // Nothing left to issue: said, and no file written.
    let none = dir.path().join("none.pdf");
    let output = issue(&none);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("already holds a token"));
    assert!(!none.exists());

    // A lost slip: revoke its token, and the next run issues that one alone.
    let dindik = issued
        .lines()
        .find_map(|l| l.strip_prefix("dindik\t"))
        .unwrap()
        .to_string();
    server.revoke(&dindik);
    let again = dir.path().join("again.pdf");
    let output = issue(&again);
    assert!(output.status.success());
    let reissued = String::from_utf8(output.stdout).unwrap();
    assert_eq!(reissued.lines().count(), 1);
    assert!(reissued.starts_with("dindik\t") && !reissued.contains(&dindik));
    assert_eq!(pdf_text(&again).len(), 1);

    // The console under TLS: its cookie is Secure; the slips it prints carry the fingerprint.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::blocking::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let organiser = server.organiser_token("Biro Pemerintahan");
    let response = http
        .post(format!("{}/console/api/sign-in", server.url))
        .json(&serde_json::json!({ "token": organiser }))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.contains("; Secure"), "{cookie}");
    let csrf = response.json::<serde_json::Value>().unwrap()["csrf"]
        .as_str()
        .unwrap()
        .to_string();
    let slip = http
        .post(format!("{}/console/api/slips", server.url))
        .header("cookie", cookie.split(';').next().unwrap())
        .header("x-tinjau-csrf", csrf)
        .json(&serde_json::json!({ "jurors": ["akademisi"] }))
        .send()
        .unwrap();
    assert_eq!(slip.status(), 200);
    let path = dir.path().join("console.pdf");
    std::fs::write(&path, slip.bytes().unwrap()).unwrap();
    let page = pdf_text(&path).join("\n");
    assert!(
        page.contains(&pin),
        "the console's slip names the certificate"
    );
    assert!(
        page.contains("Anggota Tim Juri (Akademisi)"),
        "an extra slip for a juror who still holds a token"
    );
    drop(tokens);
}
