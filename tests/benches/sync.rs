//! `cargo bench -p tinjau-tests --bench sync`
//!
//! Sync over real HTTP on loopback to an in-process server (SQLite backend):
//! push throughput and bytes on the wire per change for 10,000 changes, pull of 10,000
//! changes, and evidence upload throughput on loopback and through a proxy throttled to
//! 2 MB/s. `TINJAU_BENCH_CHANGES` changes the number of changes.

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use tinjau_core::sync::{MAX_BATCH_BYTES, MAX_BATCH_CHANGES, PushRequest};
use tinjau_server::{AppState, Backend};
use tinjau_tests::{DEMO, Fault, Laptop, Proxy, VISIT};

fn serve(data_dir: &std::path::Path) -> (String, String, String) {
    let backend = Backend::sqlite(data_dir).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (juror, lead) = ("tjk_bench_juror".to_string(), "tjk_bench_lead".to_string());
    runtime.block_on(async {
        backend
            .publish(
                &tinjau_core::Package::parse(DEMO.as_bytes()).unwrap(),
                chrono::Utc::now(),
            )
            .await
            .unwrap();
        let now = chrono::Utc::now();
        backend
            .issue_token(
                None,
                "akademisi",
                tinjau_core::sync::AccessRole::Juror,
                &juror,
                now,
            )
            .await
            .unwrap();
        backend
            .issue_token(
                None,
                "ketua",
                tinjau_core::sync::AccessRole::Lead,
                &lead,
                now,
            )
            .await
            .unwrap();
    });
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = tinjau_server::router(AppState {
        backend: Arc::new(backend),
        clock: Arc::new(chrono::Utc::now),
        max_blob_bytes: 1 << 30,
        console: tinjau_server::console::Console::new(
            Default::default(),
            tinjau_server::console::os_random(),
        ),
    });
    std::thread::spawn(move || {
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    (url, juror, lead)
}

fn main() {
    let smoke = !std::env::args().any(|a| a == "--bench");
    let changes: usize = std::env::var("TINJAU_BENCH_CHANGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if smoke { 200 } else { 10_000 });
    let server_dir = tempfile::tempdir().unwrap();
    let (url, juror_token, lead_token) = serve(server_dir.path());
    let mut out = std::io::stdout().lock();

    let mut juror = Laptop::joined(&url, &juror_token, chrono::Duration::zero());
    for i in 0..changes {
        juror
            .store
            .score(
                VISIT,
                tinjau_tests::INDICATORS[i % 7],
                (i % 100) as f64 + 0.25,
                None,
            )
            .unwrap();
    }
    let client = juror.client(&url);
    let (mut sent, mut pushed) = (0u64, 0usize);
    let started = Instant::now();
    loop {
        let batch = juror
            .store
            .outbox_batch(MAX_BATCH_CHANGES, MAX_BATCH_BYTES)
            .unwrap();
        if batch.is_empty() {
            break;
        }
        pushed += batch.len();
        let request = PushRequest {
            device_id: juror.store.device_id(),
            client_time_ms: juror.store.now_millis(),
            changes: batch,
            registrations: juror.registrations(),
        };
        let (answer, bytes, _) = client.push(&request).unwrap();
        juror.store.record_push_outcomes(&answer.outcomes).unwrap();
        sent += bytes;
    }
    let elapsed = started.elapsed();
    let _ = writeln!(
        out,
        "push: {pushed} changes in {elapsed:.2?} = {:.0} changes/s into SQLite (target >= 5000); {:.0} bytes/change on the wire, gzip batches of {MAX_BATCH_CHANGES} (target <= 200)",
        pushed as f64 / elapsed.as_secs_f64(),
        sent as f64 / pushed as f64
    );

    let mut lead = Laptop::joined(&url, &lead_token, chrono::Duration::zero());
    let client = lead.client(&url);
    let started = Instant::now();
    let (mut cursor, mut pulled, mut received) = (0, 0, 0);
    loop {
        let (page, bytes) = client.pull(cursor, 1000).unwrap();
        pulled += lead.store.apply_pulled(&page).unwrap();
        received += bytes;
        cursor = page.next;
        if !page.more {
            break;
        }
    }
    let elapsed = started.elapsed();
    let _ = writeln!(
        out,
        "pull: {pulled} changes in {elapsed:.2?} = {:.0} changes/s applied to the lead's store ({:.0} bytes/change on the wire, gzip pages of 1000)",
        pulled as f64 / elapsed.as_secs_f64(),
        received as f64 / pulled.max(1) as f64
    );

    let size = if smoke { 2 << 20 } else { 32 << 20 };
    for (label, throttle) in [
        ("loopback", None),
        ("through a proxy throttled to 2 MB/s", Some(2_000_000u64)),
    ] {
        let proxy = Proxy::start(&url);
        let target = match throttle {
            Some(rate) => {
                proxy.set(Fault::Throttle(rate));
                proxy.url.clone()
            }
            None => url.clone(),
        };
        let bytes: Vec<u8> = (0..size).map(|i| (i * 7919 % 251) as u8).collect();
        let size = if throttle.is_some() {
            size.min(if smoke { 1 << 20 } else { 8 << 20 })
        } else {
            size
        };
        let path = juror
            .dir
            .path()
            .join(format!("video-{}.bin", throttle.unwrap_or(0)));
        std::fs::write(&path, &bytes[..size]).unwrap();
        let hash = blake3::hash(&bytes[..size]).to_hex().to_string();
        // The server takes a file only from the juror whose pushed record attached it.
        juror
            .store
            .observe(VISIT, "Rekaman kegiatan", None, std::slice::from_ref(&path))
            .unwrap();
        let batch = juror.store.outbox_batch(500, 1 << 20).unwrap();
        let (answer, _, _) = juror
            .client(&url)
            .push(&PushRequest {
                device_id: juror.store.device_id(),
                client_time_ms: juror.store.now_millis(),
                changes: batch,
                registrations: juror.registrations(),
            })
            .unwrap();
        juror.store.record_push_outcomes(&answer.outcomes).unwrap();
        let upload = tinjau_store::PendingUpload {
            hash,
            size: size as u64,
            path,
            preview: false,
            follows_preview: false,
            key: None,
        };
        let client = juror.client(&target);
        let started = Instant::now();
        tinjau_sync::upload_file(&client, &upload, &mut |_| {}).unwrap();
        let elapsed = started.elapsed();
        let _ = writeln!(
            out,
            "evidence {label}: {} MiB in {elapsed:.2?} = {:.1} MB/s",
            size >> 20,
            size as f64 / elapsed.as_secs_f64() / 1e6
        );
    }
}
