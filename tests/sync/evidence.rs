//! Evidence uploads resume from the server's offset and are verified by hash.

use chrono::Duration;
use tinjau_core::sync::CHUNK_BYTES;
use tinjau_tests::{Db, Fault, Laptop, Proxy, Server, VISIT, noise};

fn attach(laptop: &mut Laptop, name: &str, bytes: &[u8]) -> String {
    laptop.attach(&[(name, bytes)]).remove(0)
}

fn an_upload_cut_again_and_again_resumes_and_resends_at_most_one_chunk_per_cut(db: Db) {
    let (server, tokens) = Server::start(db.clone(), &[("ketua", "lead"), ("akademisi", "juror")]);
    let proxy = Proxy::start(&server.url);
    let mut juror = Laptop::joined(&server.url, &tokens["akademisi"], Duration::zero());
    let size = 5 * CHUNK_BYTES + 12_345;
    let photo = noise(size, 42);
    let hash = attach(&mut juror, "video-lansia.bin", &photo);

    // The link drops every 1.3 MB up (four times over this file). A lost chunk is sent again
    // from the server's offset within the sync; a sync that gives up is resumed by the next.
    proxy.set(Fault::Link(tinjau_tests::Link {
        bytes_per_second: 200_000_000,
        one_way: std::time::Duration::ZERO,
        cut_every: Some(1_300_000),
        cuts_count_down: false,
    }));
    for attempt in 0.. {
        let result = juror.sync(&proxy.url);
        // Metadata never waits behind the file: the verdict went through before any cut.
        assert_eq!(
            juror.store.sync_status().unwrap().pending_changes,
            0,
            "{db:?}"
        );
        if result.is_ok() {
            break;
        }
        assert!(attempt < 5, "{db:?}: six syncs in a row were cut short");
    }
    proxy.set(Fault::Pass);
    let cuts = proxy.cuts();
    assert!(
        cuts >= 2,
        "{db:?}: the proxy should have cut the upload ({cuts} cuts)"
    );
    // Every byte that went onto the link, delivered or lost in a cut: the whole file once, plus
    // at most one chunk per cut, plus HTTP headers and the changes.
    let sent = proxy.link_bytes_up();
    let bound = size as u64 + cuts * CHUNK_BYTES as u64 + 64 * 1024;
    assert!(
        sent <= bound,
        "{db:?}: sent {sent} bytes for a {size}-byte file (bound {bound})"
    );
    assert_eq!(juror.store.sync_status().unwrap().pending_evidence_files, 0);

    let mut lead = Laptop::joined(&server.url, &tokens["ketua"], Duration::zero());
    lead.score_and_submit(VISIT, 70.0);
    lead.score_and_submit("visit-contoh-a", 70.0);
    lead.sync(&server.url).unwrap();
    let stored = lead
        .dir
        .path()
        .join("evidence")
        .join(&hash[..2])
        .join(&hash);
    assert_eq!(
        std::fs::read(stored).unwrap(),
        photo,
        "{db:?}: the lead has the file, verified"
    );
}

fn a_corrupted_chunk_is_refused_and_sent_again(db: Db) {
    let (server, tokens) = Server::start(db.clone(), &[("akademisi", "juror")]);
    let proxy = Proxy::start(&server.url);
    let mut juror = Laptop::joined(&server.url, &tokens["akademisi"], Duration::zero());
    let photo = noise(2 * CHUNK_BYTES + 99, 7);
    let hash = attach(&mut juror, "foto.bin", &photo);
    // Flip one byte in the middle of the second chunk on its way.
    proxy.set(Fault::FlipByteAt((CHUNK_BYTES + CHUNK_BYTES / 2) as u64));
    juror.sync(&proxy.url).unwrap();
    assert_eq!(proxy.fault(), Fault::Pass, "the fault was injected");
    let client = juror.client(&server.url);
    assert_eq!(client.blob_get(&hash).unwrap().unwrap(), photo, "{db:?}");

    // A chunk whose checksum does not match is answered 422 and stores nothing. (The
    // server takes a file only from the juror whose pushed record attached it.)
    let other = noise(1000, 9);
    let other_hash = attach(&mut juror, "lain.bin", &other);
    push_records_only(&mut juror, &server.url);
    let first_half = client
        .blob_patch(&other_hash, 1000, 0, &other[..500])
        .unwrap();
    assert_eq!((first_half.received, first_half.complete), (500, false));
    let _ = rustls::crypto::ring::default_provider().install_default();
    let raw = reqwest::blocking::Client::new()
        .patch(format!("{}/v1/blobs/{other_hash}", server.url))
        .bearer_auth(&tokens["akademisi"])
        .header("upload-offset", 500)
        .header("upload-length", 1000)
        .header(
            "chunk-checksum",
            blake3::hash(b"something else").to_hex().as_str(),
        )
        .body(other[500..].to_vec())
        .send()
        .unwrap();
    assert_eq!(raw.status().as_u16(), 422);
    assert!(raw.text().unwrap().contains("checksum"));
    let status = client.blob_status(&other_hash).unwrap().unwrap();
    assert_eq!((status.received, status.complete), (500, false), "{db:?}");
}

/// Pushes a laptop's pending records, without uploading any file.
fn push_records_only(laptop: &mut Laptop, url: &str) {
    let batch = laptop.store.outbox_batch(500, 1 << 20).unwrap();
    let (answer, _, _) = laptop
        .client(url)
        .push(&tinjau_core::sync::PushRequest {
            device_id: laptop.store.device_id(),
            client_time_ms: chrono::Utc::now().timestamp_millis(),
            changes: batch,
            registrations: laptop.registrations(),
        })
        .unwrap();
    laptop.store.record_push_outcomes(&answer.outcomes).unwrap();
}

tinjau_tests::per_backend!(
    an_upload_cut_again_and_again_resumes_and_resends_at_most_one_chunk_per_cut,
    a_corrupted_chunk_is_refused_and_sent_again,
);
