//! HTTPS with a self-signed certificate, trusted by its pinned fingerprint; plain HTTP only on
//! loopback unless asked for.

use chrono::Duration;
use tinjau_tests::{Db, Laptop, SelfSigned, Server, VISIT, bin};

#[test]
fn a_pinned_self_signed_certificate_is_trusted_and_another_is_not() {
    let tls = SelfSigned::new();
    let (pin, extra) = (tls.pin.clone(), tls.serve_args());
    let (server, tokens) = Server::start_with(Db::Sqlite, &[("akademisi", "juror")], extra);
    assert!(server.url.starts_with("https://"), "{}", server.url);

    let mut laptop = Laptop::new(Duration::zero());
    tinjau_sync::join(
        &mut laptop.store,
        &server.url,
        &tokens["akademisi"],
        Some(&pin),
    )
    .unwrap();
    laptop.score_and_submit(VISIT, 77.0);
    let client = tinjau_sync::client_for(&laptop.store).unwrap();
    let report =
        tinjau_sync::sync_once(&mut laptop.store, &client, &mut tinjau_sync::NoProgress).unwrap();
    assert_eq!(report.pushed, 8);

    let wrong = "00".repeat(32);
    let client = tinjau_sync::Client::new(&server.url, &tokens["akademisi"], Some(&wrong)).unwrap();
    let error = client.whoami().unwrap_err();
    assert_eq!(error.code(), "offline", "{error}");
    // Without a pin, an unknown certificate is not trusted either.
    let client = tinjau_sync::Client::new(&server.url, &tokens["akademisi"], None).unwrap();
    assert!(client.whoami().is_err());
}

#[test]
fn plain_http_off_loopback_needs_insecure() {
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(bin("tinjau-server"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["serve", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("refusing plain HTTP") && stderr.contains("--insecure"),
        "{stderr}"
    );
}
