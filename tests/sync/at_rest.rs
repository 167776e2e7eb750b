//! A lost laptop: the juror's data folder is encrypted at rest (SQLCipher for the database,
//! XChaCha20-Poly1305 per evidence file), and an older plain folder is encrypted in place by
//! the real `tinjau` binary, surviving a kill -9 at any moment.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tinjau_store::{Store, StoreOptions, VerifyRequest};
use tinjau_tests::{DEMO, Laptop, VISIT, noise, open_app_store, phone_photo, tinjau_cli};

/// Every file under `dir`, with its bytes.
fn every_file(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else {
                out.push((path.clone(), std::fs::read(&path).unwrap()));
            }
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Where in the data folder `needle` can be read in the clear.
fn found_in(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    every_file(dir)
        .into_iter()
        .filter(|(_, bytes)| contains(bytes, needle))
        .map(|(path, _)| path)
        .collect()
}

/// A juror's day in a store: a unique note, a score, a photo (with its preview).
fn fill(store: &mut Store, note: &str, photo: &Path) {
    store.import_package(DEMO.as_bytes()).unwrap();
    store.init_juror("akademisi").unwrap();
    store.observe(VISIT, note, None, &[]).unwrap();
    store
        .verify(&VerifyRequest {
            visit: VISIT.into(),
            innovation: "lansia-smart".into(),
            verdict: tinjau_core::Verdict::Found,
            note: Some(note.to_string()),
            evidence: vec![photo.to_path_buf()],
        })
        .unwrap();
    store.score(VISIT, "I1", 81.25, Some(note)).unwrap();
}

#[test]
fn nothing_a_juror_wrote_or_photographed_can_be_read_from_the_raw_files() {
    let photos = tempfile::tempdir().unwrap();
    let photo_path = photos.path().join("IMG_2041.jpg");
    let photo = phone_photo(1600, 1200, 1, 77);
    std::fs::write(&photo_path, &photo).unwrap();
    let note = format!("warga-rt07-{} mengeluh soal antrean", uuid::Uuid::new_v4());
    // 64 bytes from the middle of the photo's compressed data.
    let photo_bytes = &photo[photo.len() / 2..photo.len() / 2 + 64];

    // The control: in a plain folder both are there to find, so the search can find them.
    let plain = tempfile::tempdir().unwrap();
    {
        let mut store = Store::open(plain.path(), StoreOptions::default()).unwrap();
        fill(&mut store, &note, &photo_path);
    }
    assert!(!found_in(plain.path(), note.as_bytes()).is_empty());
    assert!(!found_in(plain.path(), photo_bytes).is_empty());

    // Encrypted: neither is anywhere in the folder — database, its WAL, evidence, key file.
    let encrypted = tempfile::tempdir().unwrap();
    let neither_found = || {
        assert_eq!(
            found_in(encrypted.path(), note.as_bytes()),
            Vec::<PathBuf>::new()
        );
        assert_eq!(
            found_in(encrypted.path(), photo_bytes),
            Vec::<PathBuf>::new()
        );
    };
    let hash = {
        let mut store = open_app_store(encrypted.path());
        assert!(store.encrypted());
        fill(&mut store, &note, &photo_path);
        let views = store.visit_evidence(VISIT).unwrap();
        // Read while the WAL still holds the latest pages.
        neither_found();
        views[0].hash.clone()
    };
    neither_found();
    assert!(
        found_in(encrypted.path(), b"SQLite format 3").is_empty(),
        "the database is not plain SQLite"
    );

    // With the passphrase, everything reads back exactly.
    let store = open_app_store(encrypted.path());
    assert_eq!(store.evidence_bytes(&hash).unwrap().unwrap(), photo);
    let checklist = store.checklist(VISIT).unwrap();
    assert_eq!(checklist.observations[0].text, note);
    drop(store);
    // Without it, or with another, nothing opens — and nothing is changed.
    let before = every_file(encrypted.path());
    assert!(matches!(
        Store::open(encrypted.path(), StoreOptions::default()),
        Err(tinjau_store::StoreError::Locked)
    ));
    let output = tinjau_cli()
        .arg("--data-dir")
        .arg(encrypted.path())
        .arg("status")
        .env("TINJAU_PASSPHRASE", "bukan kata sandinya")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("passphrase"),
        "{stderr}"
    );
    assert_eq!(every_file(encrypted.path()), before);
}

#[test]
fn a_plain_folder_is_encrypted_in_place_and_survives_kill_9_at_any_moment() {
    // Today's plain store, as an earlier Tinjau left it: notes, scores, 40 files.
    let mut laptop = Laptop::new(chrono::Duration::zero());
    laptop.store.import_package(DEMO.as_bytes()).unwrap();
    laptop.store.init_juror("akademisi").unwrap();
    let files: Vec<Vec<u8>> = (0..40)
        .map(|i| noise(300_000 + i * 1000, i as u64))
        .collect();
    let named: Vec<(String, &[u8])> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (format!("dokumen-{i}.bin"), f.as_slice()))
        .collect();
    let list: Vec<(&str, &[u8])> = named.iter().map(|(n, f)| (n.as_str(), *f)).collect();
    let hashes = laptop.attach(&list);
    let notes: Vec<String> = (0..30)
        .map(|i| format!("catatan lapangan ke-{i}"))
        .collect();
    for note in &notes {
        laptop.store.observe(VISIT, note, None, &[]).unwrap();
    }
    let Laptop { dir, store, .. } = laptop;
    drop(store);

    // The real binary opens it with a passphrase and is killed at several moments.
    for after in [5u64, 20, 40, 80, 120, 200, 350] {
        let mut child = tinjau_cli()
            .arg("--data-dir")
            .arg(dir.path())
            .arg("status")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(after));
        let _ = child.kill();
        let _ = child.wait();
    }
    let output = tinjau_cli()
        .arg("--data-dir")
        .arg(dir.path())
        .arg("status")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // Nothing lost, nothing plain, nothing half-written left behind.
    let store = open_app_store(dir.path());
    assert!(store.encrypted());
    for (hash, bytes) in hashes.iter().zip(&files) {
        assert_eq!(&store.evidence_bytes(hash).unwrap().unwrap(), bytes);
    }
    let mut texts: Vec<String> = store
        .checklist(VISIT)
        .unwrap()
        .observations
        .into_iter()
        .map(|o| o.text)
        .collect();
    texts.sort();
    let mut expected = notes.clone();
    expected.sort();
    assert_eq!(texts, expected);
    for (path, bytes) in every_file(dir.path()) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            !name.starts_with('.') && !name.ends_with(".encrypting"),
            "left behind: {}",
            path.display()
        );
        if path
            .parent()
            .unwrap()
            .parent()
            .unwrap()
            .ends_with("evidence")
        {
            assert_eq!(&bytes[..4], b"TJE1", "{} is sealed", path.display());
        }
    }
    assert!(found_in(dir.path(), b"catatan lapangan ke-").is_empty());
}
