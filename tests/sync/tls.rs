//! HTTPS with a self-signed certificate, trusted by its pinned fingerprint; plain HTTP only on
//! loopback unless asked for.

use chrono::Duration;
use sha2::{Digest, Sha256};
use tinjau_tests::{Db, Laptop, Server, VISIT, bin};

#[test]
fn a_pinned_self_signed_certificate_is_trusted_and_another_is_not() {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let pin: String = Sha256::digest(certified.cert.der())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();

    let extra = vec![
        "--tls-cert".into(),
        cert.display().to_string(),
        "--tls-key".into(),
        key.display().to_string(),
    ];
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
