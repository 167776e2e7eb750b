//! Photos on a poor link: a photo's preview is made when it is attached and travels before the
//! original, which follows now, when the link is fast, or when the juror chooses. The original
//! stays the evidence.

use chrono::Duration;
use image::GenericImageView;
use tinjau_core::views::{EvidenceView, OriginalsPolicy};
use tinjau_tests::{
    Db, Fault, HostileLaptop, Laptop, Link, Proxy, Server, VISIT, noise, phone_photo, refusal_code,
};

/// The order files are uploaded in.
#[derive(Default)]
struct UploadOrder(Vec<String>);

impl tinjau_sync::Progress for UploadOrder {
    fn update(&mut self, _: tinjau_sync::Phase, _: u64, _: u64) {}

    fn file(&mut self, hash: &str, _: u64, _: u64) {
        if self.0.last().map(String::as_str) != Some(hash) {
            self.0.push(hash.to_string());
        }
    }
}

fn view<'a>(views: &'a [EvidenceView], hash: &str) -> &'a EvidenceView {
    views
        .iter()
        .find(|v| v.hash == hash)
        .unwrap_or_else(|| panic!("no evidence {hash} in {views:#?}"))
}

/// Is this pixel the photo's red corner?
fn red(pixel: image::Rgba<u8>) -> bool {
    pixel[0] > 150 && pixel[1] < 100 && pixel[2] < 100
}

fn a_phone_photo_travels_as_its_preview_first_and_its_original_when_sent(db: Db) {
    let (server, tokens) = Server::start(db.clone(), &[("ketua", "lead"), ("akademisi", "juror")]);
    let mut juror = Laptop::joined(&server.url, &tokens["akademisi"], Duration::zero());
    // Held upright (EXIF orientation 6): stored 2000×1500, seen 1500×2000.
    let photo = phone_photo(2000, 1500, 6, 1);
    let document = b"%PDF-1.4\n% laporan kegiatan posyandu lansia\n".repeat(20_000);
    let hashes = juror.attach(&[("IMG_0001.jpg", &photo), ("laporan.pdf", &document)]);

    let views = juror.store.visit_evidence(VISIT).unwrap();
    let (photo_view, document_view) = (view(&views, &hashes[0]), view(&views, &hashes[1]));
    assert_eq!(
        photo_view.hash,
        blake3::hash(&photo).to_hex().to_string(),
        "the original is the evidence"
    );
    assert_eq!(photo_view.size, photo.len() as u64);
    let preview_hash = photo_view
        .preview_hash
        .clone()
        .expect("a photo has a preview");
    assert!(photo_view.preview_available && photo_view.original_pending);
    assert!(photo_view.gps.is_some(), "the position stays in the record");
    assert_eq!(
        (&document_view.preview_hash, document_view.original_pending),
        (&None, false),
        "a document is sent as it is"
    );

    let preview = juror.store.evidence_bytes(&preview_hash).unwrap().unwrap();
    assert!(
        (20_000..400_000).contains(&preview.len()),
        "preview of {} bytes for a {}-byte photo",
        preview.len(),
        photo.len()
    );
    let picture = image::load_from_memory(&preview).unwrap();
    assert_eq!(
        picture.dimensions(),
        (960, 1280),
        "scaled to 1280 px and turned upright"
    );
    // Turned 90° clockwise: the stored top-left (red) corner is now top-right.
    assert!(red(picture.get_pixel(720, 320)), "turned the right way");
    assert!(!red(picture.get_pixel(240, 320)), "turned the right way");
    assert!(
        exif::Reader::new()
            .read_from_container(&mut std::io::Cursor::new(&preview))
            .is_err(),
        "the preview carries no metadata (no GPS position)"
    );

    // Originals later ("kirim asli nanti"): the previews and the document go, the original waits.
    juror
        .store
        .set_originals_policy(OriginalsPolicy::Later)
        .unwrap();
    let mut order = UploadOrder::default();
    let client = juror.client(&server.url);
    let report = tinjau_sync::sync_once(&mut juror.store, &client, &mut order).unwrap();
    assert_eq!(
        (report.previews_uploaded, report.originals_held),
        (1, 1),
        "{db:?}: {report:?}"
    );
    assert_eq!(
        order.0,
        vec![preview_hash.clone(), hashes[1].clone()],
        "{db:?}"
    );
    let status = juror.store.sync_status().unwrap();
    assert_eq!(
        (status.pending_originals, status.pending_original_bytes),
        (1, photo.len() as u64)
    );

    // The lead sees the preview at once, and that the original has not come yet.
    let mut lead = Laptop::joined(&server.url, &tokens["ketua"], Duration::zero());
    lead.sync(&server.url).unwrap();
    let seen = lead.store.visit_evidence(VISIT).unwrap();
    let seen = view(&seen, &hashes[0]);
    assert!(
        seen.preview_available && !seen.available && seen.original_pending,
        "{db:?}: {seen:?}"
    );
    assert_eq!(
        lead.store.evidence_bytes(&preview_hash).unwrap().unwrap(),
        preview
    );

    // "Kirim asli sekarang": the original follows; the lead has it, verified.
    let mut order = UploadOrder::default();
    let report =
        tinjau_sync::sync_sending_originals(&mut juror.store, &client, &mut order).unwrap();
    assert_eq!(order.0, vec![hashes[0].clone()], "{db:?}: {report:?}");
    let status = juror.store.sync_status().unwrap();
    assert_eq!(
        (status.pending_evidence_files, status.pending_originals),
        (0, 0)
    );
    let mine = juror.store.visit_evidence(VISIT).unwrap();
    assert!(!view(&mine, &hashes[0]).original_pending);
    lead.sync(&server.url).unwrap();
    let seen = lead.store.visit_evidence(VISIT).unwrap();
    assert!(!view(&seen, &hashes[0]).original_pending, "{db:?}");
    assert_eq!(
        lead.store.evidence_bytes(&hashes[0]).unwrap().unwrap(),
        photo
    );
}

fn with_the_default_policy_previews_go_before_every_original(db: Db) {
    let (server, tokens) = Server::start(db.clone(), &[("akademisi", "juror")]);
    let mut juror = Laptop::joined(&server.url, &tokens["akademisi"], Duration::zero());
    let photos: Vec<Vec<u8>> = (0..3).map(|i| phone_photo(1600, 1200, 1, i)).collect();
    let named: Vec<(String, &[u8])> = photos
        .iter()
        .enumerate()
        .map(|(i, p)| (format!("IMG_{i}.jpg"), p.as_slice()))
        .collect();
    let files: Vec<(&str, &[u8])> = named.iter().map(|(n, p)| (n.as_str(), *p)).collect();
    let originals = juror.attach(&files);
    let views = juror.store.visit_evidence(VISIT).unwrap();
    let previews: Vec<String> = originals
        .iter()
        .map(|h| view(&views, h).preview_hash.clone().unwrap())
        .collect();
    let mut order = UploadOrder::default();
    let client = juror.client(&server.url);
    let report = tinjau_sync::sync_once(&mut juror.store, &client, &mut order).unwrap();
    assert_eq!((report.evidence_uploaded, report.originals_held), (6, 0));
    let (first, then) = order.0.split_at(3);
    let mut first = first.to_vec();
    first.sort();
    let mut expected = previews.clone();
    expected.sort();
    assert_eq!(first, expected, "{db:?}: previews first: {:?}", order.0);
    let mut then = then.to_vec();
    then.sort();
    let mut originals = originals;
    originals.sort();
    assert_eq!(then, originals, "{db:?}");
}

/// The default policy: on a slow link (1 Mbit/s here) the preview goes and the original
/// waits; on a fast one it follows.
fn originals_wait_for_a_fast_link_by_default(db: Db) {
    let (server, tokens) = Server::start(db.clone(), &[("ketua", "lead"), ("akademisi", "juror")]);
    let proxy = Proxy::start(&server.url);
    let mut juror = Laptop::joined(&server.url, &tokens["akademisi"], Duration::zero());
    assert_eq!(
        juror.store.originals_policy().unwrap(),
        OriginalsPolicy::WhenFast
    );
    let photo = phone_photo(2000, 1500, 1, 9);
    let hash = juror.attach(&[("IMG_0009.jpg", &photo)]).remove(0);
    proxy.set(Fault::Link(Link {
        bytes_per_second: 125_000,
        one_way: std::time::Duration::ZERO,
        cut_every: None,
        cuts_count_down: false,
    }));
    let report = juror.sync(&proxy.url).unwrap();
    assert_eq!(
        (report.previews_uploaded, report.originals_held),
        (1, 1),
        "{db:?}: {report:?}"
    );
    assert!(
        proxy.bytes_up() < photo.len() as u64 / 2,
        "{db:?}: the original did not go over the slow link ({} bytes up)",
        proxy.bytes_up()
    );
    let mut lead = Laptop::joined(&server.url, &tokens["ketua"], Duration::zero());
    lead.sync(&server.url).unwrap();
    assert!(view(&lead.store.visit_evidence(VISIT).unwrap(), &hash).original_pending);

    proxy.set(Fault::Pass);
    let report = juror.sync(&proxy.url).unwrap();
    assert_eq!(
        (report.evidence_uploaded, report.originals_held),
        (1, 0),
        "{db:?}: {report:?}"
    );
    lead.sync(&server.url).unwrap();
    assert_eq!(lead.store.evidence_bytes(&hash).unwrap().unwrap(), photo);
}

/// What gets a preview, by rule; nothing is ever dropped.
fn small_pictures_documents_and_undecodable_photos_travel_as_they_are(db: Db) {
    let (server, tokens) = Server::start(db.clone(), &[("akademisi", "juror")]);
    let mut juror = Laptop::joined(&server.url, &tokens["akademisi"], Duration::zero());
    let small = tinjau_tests::photo("2023:11:28 09:00:00");
    let mut broken = vec![0xFF, 0xD8, 0xFF, 0xE0];
    broken.extend(std::iter::repeat_n(0x5A, 600_000));
    let hashes = juror.attach(&[("kecil.jpg", &small), ("rusak.jpg", &broken)]);
    let views = juror.store.visit_evidence(VISIT).unwrap();
    for hash in &hashes {
        let v = view(&views, hash);
        assert_eq!(
            (&v.preview_hash, v.available, v.original_pending),
            (&None, true, false),
            "{v:?}"
        );
    }
    assert_eq!(view(&views, &hashes[1]).mime, "image/jpeg");
    let report = juror.sync(&server.url).unwrap();
    assert_eq!(
        (report.evidence_uploaded, report.previews_uploaded),
        (2, 0),
        "{db:?}"
    );
}

/// A record whose "preview" is not smaller than its original (or is the original) is refused
/// at the server's boundary, with its reason.
fn a_preview_that_is_not_smaller_than_its_original_is_refused(db: Db) {
    let (server, tokens) = Server::start(db.clone(), &[("akademisi", "juror")]);
    let original = blake3::hash(b"original").to_hex().to_string();
    let other = blake3::hash(b"other").to_hex().to_string();
    for (preview, size) in [(&original, 10), (&other, 1000), (&other, 5000)] {
        // A new device each time: a refused change leaves no link for the next to follow.
        let mut hostile = HostileLaptop::new(&server.url, &tokens["akademisi"], "akademisi");
        let record = serde_json::json!({
            "evidence": {
                "captured_at": null, "gps": null, "hash": original, "mime": "image/jpeg",
                "original_name": "foto.jpg", "outside_visit_date": false,
                "preview": { "hash": preview, "size": size }, "size": 1000
            },
            "owner_entity": "observation",
            "owner_id": uuid::Uuid::new_v4(),
        });
        let change = hostile.value(tinjau_core::Entity::Evidence, "record", &record.to_string());
        let outcome = hostile.push_one(change);
        assert_eq!(
            refusal_code(&outcome),
            Some(tinjau_core::change::RefusalCode::Malformed),
            "{db:?}: {outcome:?}"
        );
    }
}

/// A file is fetched in parts (HTTP ranges) across the chunks it was uploaded in; a range that
/// is not one range of bytes, or starts past the end, is refused with its reason.
fn a_file_is_fetched_in_any_range_across_its_chunks(db: Db) {
    let (server, tokens) = Server::start(db.clone(), &[("ketua", "lead"), ("akademisi", "juror")]);
    let mut juror = Laptop::joined(&server.url, &tokens["akademisi"], Duration::zero());
    // Uploaded in growing chunks: 64, 128, 256 KiB and the rest.
    let document = noise(600_000, 31);
    let hash = juror.attach(&[("laporan.pdf", &document)]).remove(0);
    juror.sync(&server.url).unwrap();
    let lead = Laptop::joined(&server.url, &tokens["ketua"], Duration::zero()).client(&server.url);
    let size = document.len() as u64;
    for (offset, len) in [
        (0, 1),
        (0, 65_536),
        (65_000, 1_000),
        (65_536, 131_072),
        (100_000, 300_000),
        (599_999, 10),
        (500_000, 1 << 30),
    ] {
        let part = lead.blob_get_part(&hash, offset, len).unwrap().unwrap();
        let end = (offset + len).min(size) as usize;
        assert_eq!(
            (part.offset, part.size, part.bytes.len()),
            (offset, size, end - offset as usize),
            "{db:?}: {offset}+{len}"
        );
        assert!(
            part.bytes == document[offset as usize..end],
            "{db:?}: {offset}+{len}"
        );
    }
    let mut sizer = tinjau_core::sync::ChunkSizer::default();
    let fetched = tinjau_sync::download_file(&lead, &hash, size, &mut sizer, &mut |_, _| {});
    assert!(fetched.unwrap().unwrap() == document, "{db:?}");
    // A size other than the record's is not believed.
    let wrong = tinjau_sync::download_file(&lead, &hash, size + 1, &mut sizer, &mut |_, _| {});
    assert!(
        matches!(wrong, Err(tinjau_sync::SyncError::Protocol(_))),
        "{db:?}: {wrong:?}"
    );

    let http = reqwest::blocking::Client::new();
    let url = format!("{}/v1/blobs/{hash}", server.url);
    for range in [
        "bytes=600000-",
        "bytes=5-2",
        "bytes=abc-",
        "items=0-1",
        "bytes=0-1,4-5",
    ] {
        let response = http
            .get(&url)
            .bearer_auth(&tokens["ketua"])
            .header("range", range)
            .send()
            .unwrap();
        assert_eq!(response.status(), 416, "{db:?}: {range}");
        let body: serde_json::Value = response.json().unwrap();
        assert_eq!(
            body["error"]["code"], "bad_range",
            "{db:?}: {range}: {body}"
        );
    }
}

/// A link that drops more often than a 1 MiB chunk takes to cross it: chunks and parts sized
/// to the measured rate still carry a file up and down; a lost one is sent again from where
/// the server's copy ends.
#[test]
fn a_file_crosses_a_link_that_drops_more_often_than_a_big_chunk_takes() {
    let (server, tokens) = Server::start(Db::Sqlite, &[("ketua", "lead"), ("akademisi", "juror")]);
    let proxy = Proxy::start(&server.url);
    let mut juror = Laptop::joined(&server.url, &tokens["akademisi"], Duration::zero());
    let mut lead = Laptop::joined(&server.url, &tokens["ketua"], Duration::zero());
    // 1.2 MB that does not compress; 100 KB/s; a cut every 900 KB either way (9 s), so a
    // 1 MiB chunk (10.5 s) would never get through.
    let document = noise(1_200_000, 32);
    let hash = juror.attach(&[("laporan.pdf", &document)]).remove(0);
    proxy.set(Fault::Link(Link {
        bytes_per_second: 100_000,
        one_way: std::time::Duration::from_millis(50),
        cut_every: Some(900_000),
        cuts_count_down: true,
    }));
    let until_done = |laptop: &mut Laptop| {
        for _ in 0..6 {
            if laptop.sync(&proxy.url).is_ok() {
                return;
            }
        }
        panic!("six syncs in a row were cut short");
    };
    until_done(&mut juror);
    let observer = lead.client(&server.url);
    assert!(
        observer
            .blob_status(&hash)
            .unwrap()
            .is_some_and(|s| s.complete),
        "the upload finished"
    );
    until_done(&mut lead);
    assert!(
        lead.store.evidence_bytes(&hash).unwrap().unwrap() == document,
        "the lead has the file, whole"
    );
    assert!(
        proxy.cuts() >= 2,
        "the link dropped ({} cuts)",
        proxy.cuts()
    );
}

tinjau_tests::per_backend!(
    a_file_is_fetched_in_any_range_across_its_chunks,
    a_phone_photo_travels_as_its_preview_first_and_its_original_when_sent,
    with_the_default_policy_previews_go_before_every_original,
    originals_wait_for_a_fast_link_by_default,
    small_pictures_documents_and_undecodable_photos_travel_as_they_are,
    a_preview_that_is_not_smaller_than_its_original_is_refused,
);
