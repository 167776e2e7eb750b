//! The desktop app end to end, in the real webview (WebKitGTK via tauri-driver and
//! WebKitWebDriver, on a private Xvfb display). Screenshots of the main screens are saved under
//! `target/e2e-screenshots/`.
#![cfg(target_os = "linux")]

use std::io::Write;
use std::time::Duration;

use fantoccini::{Client, Locator};
use tinjau_tests::webview::{
    Display, Driver, assert_accessible, click, eventually, id, require_or_skip, screenshot,
    wait_for,
};
use tinjau_tests::{Db, Server, photo};

/// One app at a time: WebKit is heavy on two cores.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const SCORES: [(&str, &str); 7] = [
    ("I1", "85"),
    ("I2", "72,5"),
    ("I3", "64"),
    ("I4", "90"),
    ("I5", "78"),
    ("I6", "58"),
    ("I7", "81"),
];

async fn pressed(client: &Client, test_id: &str) -> bool {
    match client.find(Locator::Css(&id(test_id))).await {
        Ok(element) => element.attr("aria-pressed").await.ok().flatten().as_deref() == Some("true"),
        Err(_) => false,
    }
}

async fn text_of(client: &Client, test_id: &str) -> String {
    wait_for(client, test_id)
        .await
        .text()
        .await
        .unwrap_or_default()
}

async fn count(client: &Client, test_id: &str) -> usize {
    client
        .find_all(Locator::Css(&id(test_id)))
        .await
        .map(|all| all.len())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_juror_does_a_whole_visit_in_the_app_and_finds_it_after_a_restart() {
    if !require_or_skip() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let data = tempfile::tempdir().unwrap();
    let display = Display::start();
    let driver = Driver::start(&display, data.path());
    let client = driver.session().await;

    // An empty data folder: the first run offers the demo in one click.
    wait_for(&client, "load-demo").await;
    screenshot(&client, "first-run").await;
    assert_accessible(&client, "first run", None).await;
    click(&client, "load-demo").await;
    wait_for(&client, "juror-akademisi").await;
    assert_accessible(&client, "choose juror", None).await;
    // The token from the slip registers this laptop as the juror's, offline.
    wait_for(&client, "juror-token")
        .await
        .send_keys(" tjk_dari-slip-akademisi ")
        .await
        .unwrap();
    click(&client, "juror-akademisi").await;
    wait_for(&client, "open-visit-junrejo").await;
    assert_accessible(&client, "visits", None).await;
    click(&client, "open-visit-junrejo").await;
    click(&client, "discrepancies-toggle").await;
    let banner = text_of(&client, "discrepancies").await;
    assert!(
        banner.contains("33") && banner.contains("34"),
        "the Junrejo discrepancy is shown: {banner}"
    );

    // Three innovations: found with a real photo and a note, partly, not found.
    click(&client, "verdict-sicandapol-found").await;
    eventually("sicandapol marked found", || {
        pressed(&client, "verdict-sicandapol-found")
    })
    .await;
    let jpeg = data.path().join("rapat-forkopimcam.jpg");
    std::fs::write(&jpeg, photo("2023:11:28 09:30:00")).unwrap();
    wait_for(&client, "evidence-sicandapol")
        .await
        .send_keys(jpeg.to_str().unwrap())
        .await
        .unwrap();
    eventually("the photo is attached", || async {
        count(&client, "evidence-item").await == 1
    })
    .await;
    // A wrong photo attached by mistake is removed (and the removal undone, and done again).
    let wrong = data.path().join("foto-salah.jpg");
    std::fs::write(&wrong, photo("2023:11:28 10:00:00")).unwrap();
    wait_for(&client, "evidence-sicandapol")
        .await
        .send_keys(wrong.to_str().unwrap())
        .await
        .unwrap();
    eventually("the second photo is attached", || async {
        count(&client, "evidence-item").await == 2
    })
    .await;
    // The first is enlarged by keyboard: Enter opens it, keys stay in the viewer, Esc closes.
    let enlarge = client
        .find_all(Locator::Css(&id("evidence-enlarge")))
        .await
        .unwrap();
    enlarge[0].send_keys("\u{E007}").await.unwrap();
    wait_for(&client, "evidence-large").await;
    screenshot(&client, "evidence-viewer").await;
    assert_accessible(
        &client,
        "enlarged photo",
        Some("[data-testid=evidence-viewer]"),
    )
    .await;
    let inside = client.active_element().await.unwrap();
    inside.send_keys("3").await.unwrap();
    inside.send_keys("\u{E00C}").await.unwrap();
    eventually("Esc closes the viewer", || async {
        count(&client, "evidence-viewer").await == 0
    })
    .await;
    assert!(
        pressed(&client, "verdict-sicandapol-found").await,
        "a digit pressed in the viewer set no verdict behind it"
    );
    for (remove, expected) in [(true, 1), (false, 2), (true, 1)] {
        if remove {
            let buttons = client
                .find_all(Locator::Css(&id("evidence-remove")))
                .await
                .unwrap();
            buttons.last().unwrap().click().await.unwrap();
        } else {
            click(&client, "evidence-undo").await;
        }
        eventually("the removal (or its undo) shows", || async {
            count(&client, "evidence-item").await == expected
        })
        .await;
    }
    assert!(
        text_of(&client, "evidence-removed")
            .await
            .contains("foto-salah.jpg dihapus")
    );
    wait_for(&client, "note-sicandapol")
        .await
        .send_keys("Rapat koordinasi Forkopimcam rutin tiap bulan")
        .await
        .unwrap();
    click(&client, "verdict-paten-partial").await;
    eventually("paten marked partly", || {
        pressed(&client, "verdict-paten-partial")
    })
    .await;
    click(&client, "verdict-wa-bang-not_found").await;
    eventually("wa-bang marked not found", || {
        pressed(&client, "verdict-wa-bang-not_found")
    })
    .await;
    screenshot(&client, "visit-workspace").await;
    assert_accessible(&client, "visit: innovations", None).await;

    // An observation.
    click(&client, "tab-observe").await;
    wait_for(&client, "observation-text")
        .await
        .send_keys("Camat dan Danramil hadir; notulen rapat diperlihatkan")
        .await
        .unwrap();
    click(&client, "observation-save").await;
    eventually("the observation is listed", || async {
        count(&client, "observation").await == 1
    })
    .await;
    assert_accessible(&client, "visit: observations", None).await;

    // All seven indicators, then submit.
    click(&client, "tab-score").await;
    for (indicator, value) in SCORES {
        let input = wait_for(&client, &format!("score-{indicator}")).await;
        input.send_keys(value).await.unwrap();
    }
    eventually("every indicator is scored", || async {
        text_of(&client, "score-completeness")
            .await
            .starts_with("7 dari 7")
    })
    .await;
    assert_eq!(text_of(&client, "band-I2").await, "Baik");
    screenshot(&client, "scoring").await;
    assert_accessible(&client, "visit: scoring", None).await;
    click(&client, "submit-sheet").await;
    wait_for(&client, "submit-dialog").await;
    assert_accessible(
        &client,
        "submit dialog",
        Some("[data-testid=submit-dialog]"),
    )
    .await;
    click(&client, "submit-confirm").await;
    // No server, no sheet file: final on this laptop, honestly not "sent".
    eventually("the sheet is final", || async {
        text_of(&client, "sheet-state").await == "Final — belum terkirim"
    })
    .await;
    // It can be withdrawn while it has not left, and submitted again.
    click(&client, "withdraw").await;
    eventually("the sheet is a draft again", || async {
        text_of(&client, "sheet-state").await == "Draf"
    })
    .await;
    click(&client, "tab-score").await;
    click(&client, "submit-sheet").await;
    wait_for(&client, "submit-dialog").await;
    click(&client, "submit-confirm").await;
    eventually("the sheet is final again", || async {
        text_of(&client, "sheet-state").await == "Final — belum terkirim"
    })
    .await;

    // Quit, start again: everything is as left.
    client.close().await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let client = driver.session().await;
    click(&client, "open-visit-junrejo").await;
    assert_eq!(
        text_of(&client, "sheet-state").await,
        "Final — belum terkirim"
    );
    eventually("verdicts survive a restart", || async {
        pressed(&client, "verdict-sicandapol-found").await
            && pressed(&client, "verdict-paten-partial").await
            && pressed(&client, "verdict-wa-bang-not_found").await
    })
    .await;
    let note = wait_for(&client, "note-sicandapol")
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert_eq!(note, "Rapat koordinasi Forkopimcam rutin tiap bulan");
    assert_eq!(
        count(&client, "evidence-item").await,
        1,
        "the photo is still there"
    );
    click(&client, "tab-observe").await;
    assert_eq!(count(&client, "observation").await, 1);
    click(&client, "tab-score").await;
    let i2 = wait_for(&client, "score-I2")
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert_eq!(i2, "72,5", "a decimal comma");
    assert!(
        client
            .find(Locator::Css(&id("submit-sheet")))
            .await
            .is_err(),
        "a submitted sheet is read-only"
    );
    client.close().await.unwrap();
    drop(driver);
    drop(display);
    let store = tinjau_tests::open_app_store(data.path());
    let registration = store
        .own_registration()
        .unwrap()
        .expect("the slip's token registered this laptop");
    let identity = tinjau_core::signing::JurorIdentity::derive(
        "tjk_dari-slip-akademisi",
        "skk-jatim-2023",
        "akademisi",
    );
    assert_eq!(
        registration.verify(&identity.public(), "skk-jatim-2023", "akademisi"),
        Ok(&store.device_key().unwrap().public()),
        "signed by the identity key the token derives (the token trimmed)"
    );
}

/// The first run with the demo package, as `juror`, in Junrejo's visit.
async fn demo_visit_as(client: &Client, juror: &str) {
    click(client, "load-demo").await;
    click(client, &format!("juror-{juror}")).await;
    click(client, "open-visit-junrejo").await;
}

/// Whether an element is disabled.
async fn disabled(client: &Client, test_id: &str) -> bool {
    wait_for(client, test_id)
        .await
        .prop("disabled")
        .await
        .ok()
        .flatten()
        .as_deref()
        == Some("true")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_typo_is_never_saved_or_submitted_as_another_score() {
    if !require_or_skip() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let data = tempfile::tempdir().unwrap();
    let display = Display::start();
    let driver = Driver::start(&display, data.path());
    let client = driver.session().await;
    demo_visit_as(&client, "akademisi").await;
    click(&client, "tab-score").await;

    // "150" typed at a juror's pace: "15" stands for a moment (less than the autosave's
    // 400 ms), and must never be saved once the "0" makes the entry invalid.
    let input = wait_for(&client, "score-I1").await;
    input.send_keys("15").await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    input.send_keys("0").await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        text_of(&client, "score-completeness")
            .await
            .starts_with("0 dari 7"),
        "nothing was saved"
    );
    let error = text_of(&client, "indicator-I1").await;
    assert!(error.contains("Nilai harus antara 0 dan 100"), "{error}");
    assert!(
        disabled(&client, "submit-sheet").await,
        "no submit while a field shows an error"
    );

    // Numbers no juror types are refused too, with words that say what to type.
    for typed in ["0x10", "1e2"] {
        input.clear().await.unwrap();
        input.send_keys(typed).await.unwrap();
        tokio::time::sleep(Duration::from_millis(800)).await;
        let error = text_of(&client, "indicator-I1").await;
        assert!(error.contains("Tulis angka"), "{typed}: {error}");
        assert!(
            text_of(&client, "score-completeness")
                .await
                .starts_with("0 dari 7")
        );
    }

    // A whole, valid entry (decimal comma) is saved, shown with a comma after a restart.
    input.clear().await.unwrap();
    input.send_keys("15,5").await.unwrap();
    eventually("15,5 is saved", || async {
        text_of(&client, "score-completeness")
            .await
            .starts_with("1 dari 7")
    })
    .await;
    assert!(!disabled(&client, "submit-sheet").await);
    client.close().await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let client = driver.session().await;
    click(&client, "open-visit-junrejo").await;
    click(&client, "tab-score").await;
    let shown = wait_for(&client, "score-I1")
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert_eq!(shown, "15,5");

    // The confirmation lists every value being submitted.
    for (indicator, value) in SCORES.iter().skip(1) {
        wait_for(&client, &format!("score-{indicator}"))
            .await
            .send_keys(value)
            .await
            .unwrap();
    }
    eventually("every indicator is scored", || async {
        text_of(&client, "score-completeness")
            .await
            .starts_with("7 dari 7")
    })
    .await;
    click(&client, "submit-sheet").await;
    let values = text_of(&client, "submit-values").await;
    assert!(
        values.contains("15,5") && values.contains("72,5"),
        "{values}"
    );
    client.close().await.unwrap();
    drop(driver);
    drop(display);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyboard_verdicts_land_on_the_card_that_holds_focus() {
    if !require_or_skip() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let data = tempfile::tempdir().unwrap();
    let display = Display::start();
    let driver = Driver::start(&display, data.path());
    let client = driver.session().await;
    demo_visit_as(&client, "akademisi").await;
    // SICANDAPOL is highlighted first (a click on it)...
    click(&client, "verdict-sicandapol-found").await;
    eventually("sicandapol marked found", || {
        pressed(&client, "verdict-sicandapol-found")
    })
    .await;
    // ...then the keyboard moves into Lansia Smart's buttons, as Tab would, and 3 is pressed.
    client
        .execute(
            "document.querySelector('[data-testid=\"verdict-lansia-smart-found\"]').focus()",
            vec![],
        )
        .await
        .unwrap();
    client
        .active_element()
        .await
        .unwrap()
        .send_keys("3")
        .await
        .unwrap();
    eventually("Lansia Smart is not found", || {
        pressed(&client, "verdict-lansia-smart-not_found")
    })
    .await;
    assert!(
        pressed(&client, "verdict-sicandapol-found").await,
        "SICANDAPOL keeps its verdict"
    );
    let highlighted = wait_for(&client, "innovation-lansia-smart")
        .await
        .attr("class")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(
        highlighted.contains("focused"),
        "the highlight follows focus: {highlighted}"
    );
    // N opens its note, Esc leaves it, and 2 then acts on the same card again.
    client
        .active_element()
        .await
        .unwrap()
        .send_keys("n")
        .await
        .unwrap();
    let note = client.active_element().await.unwrap();
    assert_eq!(
        note.attr("data-testid").await.unwrap().as_deref(),
        Some("note-lansia-smart")
    );
    note.send_keys("Batik dijual di toko").await.unwrap();
    note.send_keys("\u{e00c}").await.unwrap(); // Escape
    client
        .active_element()
        .await
        .unwrap()
        .send_keys("2")
        .await
        .unwrap();
    eventually("Lansia Smart is partly found", || {
        pressed(&client, "verdict-lansia-smart-partial")
    })
    .await;
    client.close().await.unwrap();
    drop(driver);
    drop(display);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_package_shows_a_readable_error_and_changes_nothing() {
    if !require_or_skip() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let data = tempfile::tempdir().unwrap();
    let mut package: serde_json::Value = serde_json::from_str(tinjau_tests::DEMO).unwrap();
    package["indicators"][2]["weight"] = serde_json::json!(0);
    let broken = data.path().join("paket-rusak.json");
    std::fs::write(&broken, package.to_string()).unwrap();

    let display = Display::start();
    let driver = Driver::start(&display, &data.path().join("store"));
    let client = driver.session().await;
    wait_for(&client, "package-file")
        .await
        .send_keys(broken.to_str().unwrap())
        .await
        .unwrap();
    let message = text_of(&client, "first-run-error").await;
    // In the user's language, where the problem is in words, never a JSON path.
    assert_eq!(
        message,
        "Berkas paket kompetisi tidak sah (1 masalah; yang pertama pada indikator ke-3). \
         Minta berkas paket yang benar dari panitia."
    );
    // Still the first run: nothing was imported.
    wait_for(&client, "load-demo").await;
    client.close().await.unwrap();
    let store = tinjau_tests::open_app_store(&data.path().join("store"));
    assert!(
        store.package().is_err(),
        "a refused package leaves nothing behind"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_syncs_to_a_real_server_until_nothing_is_pending() {
    if !require_or_skip() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let (server, tokens) = tokio::task::spawn_blocking(|| {
        Server::start(Db::Sqlite, &[("ketua", "lead"), ("akademisi", "juror")])
    })
    .await
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let display = Display::start();
    let driver = Driver::start(&display, data.path());
    let client = driver.session().await;

    // Work starts offline on the demo; the server is joined later, from the Sync page.
    demo_visit_as(&client, "akademisi").await;
    assert_eq!(text_of(&client, "online").await, "Tanpa server");
    click(&client, "verdict-lansia-smart-found").await;
    eventually("lansia-smart marked found", || {
        pressed(&client, "verdict-lansia-smart-found")
    })
    .await;
    click(&client, "nav-sync").await;
    wait_for(&client, "sync-join-server")
        .await
        .send_keys(&server.url)
        .await
        .unwrap();
    wait_for(&client, "sync-join-token")
        .await
        .send_keys(&tokens["akademisi"])
        .await
        .unwrap();
    click(&client, "sync-join-submit").await;
    eventually("the server is joined", || async {
        client
            .find(Locator::Css(&id("sync-join-form")))
            .await
            .is_err()
    })
    .await;
    eventually("one change waits to be sent", || async {
        text_of(&client, "sync-pending").await == "1"
    })
    .await;
    click(&client, "sync-now").await;
    eventually("the pending count reaches zero", || async {
        text_of(&client, "sync-pending").await == "0"
    })
    .await;
    eventually("online means the server answered", || async {
        text_of(&client, "online").await == "Daring"
    })
    .await;
    screenshot(&client, "sync").await;
    assert_accessible(&client, "sync", None).await;
    let url = server.url.clone();
    let log = tokio::task::spawn_blocking(move || {
        let client = tinjau_sync::Client::new(&url, &tokens["ketua"], None).unwrap();
        client.pull(0, 100).unwrap().0.changes
    })
    .await
    .unwrap();
    // The server stops answering: the laptop says so, whatever its network interface says.
    drop(server);
    click(&client, "sync-now").await;
    eventually("offline once the server does not answer", || async {
        text_of(&client, "online").await == "Luring"
    })
    .await;
    client.close().await.unwrap();
    assert_eq!(log.len(), 1, "the server has the verdict");
}

/// Joins the server from the Sync page and syncs until nothing is pending.
async fn join_and_sync(client: &Client, server: &str, token: &str) {
    click(client, "nav-sync").await;
    wait_for(client, "sync-join-server")
        .await
        .send_keys(server)
        .await
        .unwrap();
    wait_for(client, "sync-join-token")
        .await
        .send_keys(token)
        .await
        .unwrap();
    click(client, "sync-join-submit").await;
    eventually("the server is joined", || async {
        client
            .find(Locator::Css(&id("sync-join-form")))
            .await
            .is_err()
    })
    .await;
    click(client, "sync-now").await;
    eventually("everything is sent", || async {
        text_of(client, "sync-pending").await == "0" && !disabled(client, "sync-now").await
    })
    .await;
}

/// Rows of `table` in the app's database written by `juror`.
fn rows_by(data_dir: &std::path::Path, table: &str, juror: &str) -> i64 {
    tinjau_tests::app_database(data_dir)
        .query_row(
            &format!("SELECT COUNT(*) FROM {table} WHERE juror_id = ?1"),
            [juror],
            |r| r.get(0),
        )
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lead_makes_the_laptop_the_visits_hub_and_a_juror_syncs_with_it() {
    if !require_or_skip() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let (server, tokens) = tokio::task::spawn_blocking(|| {
        Server::start(Db::Sqlite, &[("ketua", "lead"), ("akademisi", "juror")])
    })
    .await
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let display = Display::start();
    let driver = Driver::start_with(
        &display,
        data.path(),
        &[("TINJAU_HUB_LISTEN", std::path::Path::new("127.0.0.1:0"))],
    );
    let client = driver.session().await;
    // Before leaving: the lead's app joins the server and syncs (the jury's keys come along).
    demo_visit_as(&client, "ketua").await;
    join_and_sync(&client, &server.url, &tokens["ketua"]).await;

    // At the kecamatan: "Jadikan laptop ini hub kunjungan".
    click(&client, "hub-host").await;
    let words = text_of(&client, "hub-words").await;
    let address = text_of(&client, "hub-address").await;
    assert_eq!(words.split(' ').count(), 8, "eight words: {words}");
    assert!(address.starts_with("https://127.0.0.1:"), "{address}");
    assert_eq!(text_of(&client, "hub-fingerprint").await.len(), 64);
    wait_for(&client, "hub-qr").await;
    assert_eq!(text_of(&client, "online").await, "Sinkron ke hub kunjungan");
    screenshot(&client, "hub-host").await;
    assert_accessible(&client, "hub-host", None).await;

    // A juror's laptop joins with the words read out, and sends a whole sheet.
    let (url, juror_token) = (server.url.clone(), tokens["akademisi"].clone());
    let (hub_address, hub_words) = (address.clone(), words.clone());
    let report = tokio::task::spawn_blocking(move || {
        let mut juror = tinjau_tests::Laptop::joined(&url, &juror_token, chrono::Duration::zero());
        juror.score_and_submit(tinjau_tests::VISIT, 70.0);
        juror.sync_hub(&tinjau_tests::Hub::reached(&hub_address, &hub_words))
    })
    .await
    .unwrap()
    .expect("a juror syncs with the app's hub");
    assert_eq!(report.pushed, 8, "{report:?}");
    // The lead's app syncs with its own hub and has the juror's sheet.
    click(&client, "sync-now").await;
    eventually("the juror's scores reached the lead's app", || async {
        rows_by(data.path(), "score", "akademisi") == 7
    })
    .await;
    click(&client, "hub-stop").await;
    wait_for(&client, "hub-host").await;
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_juror_joins_the_visits_hub_in_the_app() {
    if !require_or_skip() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let (server, tokens) = tokio::task::spawn_blocking(|| {
        Server::start(Db::Sqlite, &[("ketua", "lead"), ("akademisi", "juror")])
    })
    .await
    .unwrap();
    // The lead's laptop (the test's) synced before the visit and hosts the hub.
    let (url, lead_token) = (server.url.clone(), tokens["ketua"].clone());
    let (lead, hub) = tokio::task::spawn_blocking(move || {
        let mut lead = tinjau_tests::Laptop::joined(&url, &lead_token, chrono::Duration::zero());
        lead.sync(&url).unwrap();
        let hub = tinjau_tests::Hub::start(&lead);
        (lead, hub)
    })
    .await
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let display = Display::start();
    let driver = Driver::start(&display, data.path());
    let client = driver.session().await;
    demo_visit_as(&client, "akademisi").await;
    join_and_sync(&client, &server.url, &tokens["akademisi"]).await;
    click(&client, "nav-visits").await;
    click(&client, "open-visit-junrejo").await;
    click(&client, "verdict-lansia-smart-found").await;
    eventually("lansia-smart marked found", || {
        pressed(&client, "verdict-lansia-smart-found")
    })
    .await;
    click(&client, "nav-sync").await;
    // A wrong word: the hub's certificate is not the one pinned; nothing is set.
    wait_for(&client, "hub-join-address")
        .await
        .send_keys(&hub.url)
        .await
        .unwrap();
    let wrong = "abu abu abu abu abu abu abu abu";
    wait_for(&client, "hub-join-words")
        .await
        .send_keys(wrong)
        .await
        .unwrap();
    click(&client, "hub-join").await;
    wait_for(&client, "hub-error").await;
    assert_accessible(&client, "hub-join-error", None).await;
    let words = wait_for(&client, "hub-join-words").await;
    words.clear().await.unwrap();
    words.send_keys(&hub.words).await.unwrap();
    click(&client, "hub-join").await;
    wait_for(&client, "hub-joined").await;
    click(&client, "sync-now").await;
    eventually("the sync with the hub is done", || async {
        !disabled(&client, "sync-now").await
    })
    .await;
    screenshot(&client, "hub-joined").await;
    assert_accessible(&client, "hub-joined", None).await;
    // The lead's laptop, syncing with its hub only, has the verdict.
    let hub_url = hub.url.clone();
    let words = hub.words.clone();
    let verdicts = tokio::task::spawn_blocking(move || {
        let mut lead = lead;
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            lead.sync_hub(&tinjau_tests::Hub::reached(&hub_url, &words))
                .unwrap();
            let verdicts =
                rusqlite::Connection::open(lead.dir.path().join(tinjau_store::DATABASE_FILE))
                    .unwrap()
                    .query_row(
                        "SELECT COUNT(*) FROM verification WHERE juror_id = 'akademisi'",
                        [],
                        |r| r.get::<_, i64>(0),
                    )
                    .unwrap();
            if verdicts > 0 || std::time::Instant::now() > deadline {
                return verdicts;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    })
    .await
    .unwrap();
    assert_eq!(verdicts, 1, "the lead has the juror's verdict from the hub");
    click(&client, "hub-leave").await;
    wait_for(&client, "hub-join-form").await;
    client.close().await.unwrap();
    drop(hub);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lead_sees_the_recap_locks_a_visit_and_exports_the_minutes() {
    if !require_or_skip() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let data = tempfile::tempdir().unwrap();
    // The lead's store already holds two jurors' submitted sheets (as after a sync).
    {
        let mut lead = tinjau_tests::open_app_store(data.path());
        lead.import_package(tinjau_tests::DEMO.as_bytes()).unwrap();
        let mut juror = tinjau_tests::Laptop::new(chrono::Duration::zero());
        juror
            .store
            .import_package(tinjau_tests::DEMO.as_bytes())
            .unwrap();
        juror.store.init_juror("akademisi").unwrap();
        juror.score_and_submit("visit-junrejo", 90.0);
        lead.import_sheet(&juror.store.export_sheet("visit-junrejo", false).unwrap())
            .unwrap();
        // Another juror's sheet waits on a USB stick, for the lead to import in the app.
        let mut other = tinjau_tests::Laptop::new(chrono::Duration::zero());
        other
            .store
            .import_package(tinjau_tests::DEMO.as_bytes())
            .unwrap();
        other.store.init_juror("dindik").unwrap();
        other.score_and_submit("visit-junrejo", 70.0);
        std::fs::write(
            data.path().join("lembar-dindik.json"),
            other.store.export_sheet("visit-junrejo", false).unwrap(),
        )
        .unwrap();
        lead.init_juror("ketua").unwrap();
        for visit in ["visit-junrejo", "visit-contoh-a"] {
            for (i, indicator) in tinjau_tests::INDICATORS.iter().enumerate() {
                lead.score(visit, indicator, 60.0 + i as f64, None).unwrap();
            }
            lead.submit(visit).unwrap();
        }
    }
    // What "open the folder" opens is written down by a stand-in for the file manager.
    let opened = data.path().join("opened.txt");
    let opener = data.path().join("opener.sh");
    std::fs::write(
        &opener,
        format!("#!/bin/sh\nprintf '%s' \"$1\" > '{}'\n", opened.display()),
    )
    .unwrap();
    std::fs::set_permissions(&opener, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let display = Display::start();
    let driver = Driver::start_with(&display, data.path(), &[("TINJAU_OPENER", &opener)]);
    let client = driver.session().await;
    click(&client, "nav-rekap").await;
    eventually("the recap shows both jurors' scores", || async {
        client
            .find_all(Locator::Css("td.disputed"))
            .await
            .map(|cells| !cells.is_empty())
            .unwrap_or(false)
    })
    .await;
    screenshot(&client, "rekap").await;
    assert_accessible(&client, "rekap", None).await;
    let html = client.source().await.unwrap();
    assert!(
        html.contains("Anggota Tim Juri (Akademisi) (Akademisi)"),
        "jurors are named, not shown by id"
    );
    assert!(!html.contains("<td>akademisi</td>"));
    click(&client, "nav-settings").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_accessible(&client, "settings", None).await;
    click(&client, "nav-rekap").await;
    // A sheet from a USB stick, imported in the app.
    wait_for(&client, "import-sheet")
        .await
        .send_keys(data.path().join("lembar-dindik.json").to_str().unwrap())
        .await
        .unwrap();
    let imported = text_of(&client, "rekap-message").await;
    assert!(
        imported.contains("Anggota Tim Juri (Dinas Pendidikan)") && imported.contains("diimpor"),
        "{imported}"
    );
    // The rule behind the red cells, with the package's threshold.
    let legend = text_of(&client, "rekap-legend").await;
    assert!(legend.contains("20 poin"), "{legend}");
    // The lead writes a note on a disputed indicator (I1: 60, 70 and 90).
    wait_for(&client, "lead-note-visit-junrejo-I1")
        .await
        .send_keys("Perbedaan karena kunjungan lapangan berbeda jam")
        .await
        .unwrap();
    click(&client, "lead-note-save-visit-junrejo-I1").await;
    eventually("the note is saved", || async {
        text_of(&client, "rekap-message").await.contains("disimpan")
    })
    .await;
    // The lead reopens a sheet, with a reason.
    wait_for(&client, "reopen-juror-visit-junrejo")
        .await
        .select_by_value("akademisi")
        .await
        .unwrap();
    wait_for(&client, "reopen-reason-visit-junrejo")
        .await
        .send_keys("Nilai I3 salah ketik")
        .await
        .unwrap();
    click(&client, "reopen-visit-junrejo").await;
    eventually("the sheet is reopened", || async {
        text_of(&client, "rekap-message")
            .await
            .contains("dibuka kembali")
    })
    .await;
    let missing = text_of(&client, "missing-visit-junrejo").await;
    assert!(
        missing.contains("Anggota Tim Juri (Biro Hukum)")
            && missing.contains("Anggota Tim Juri (Akademisi)")
            && !missing.contains("Dinas Pendidikan"),
        "the sheets not in yet are named (the reopened one too, not the imported one): {missing}"
    );
    // Locking asks first, naming what is missing; then a badge with the hash, and no second lock.
    click(&client, "lock-visit-junrejo").await;
    let dialog = text_of(&client, "lock-dialog").await;
    assert!(dialog.contains("Lembar belum masuk"), "{dialog}");
    assert_accessible(&client, "lock dialog", Some("[data-testid=lock-dialog]")).await;
    click(&client, "lock-confirm").await;
    let badge = text_of(&client, "locked-visit-junrejo").await;
    assert!(badge.starts_with("Dikunci"), "{badge}");
    assert!(
        client
            .find(Locator::Css(&id("lock-visit-junrejo")))
            .await
            .is_err(),
        "a locked visit offers no second lock"
    );
    // The minutes are exported, named where they were saved, and their folder can be opened;
    // exporting again never overwrites the first file.
    let mut saved = Vec::new();
    for _ in 0..2 {
        click(&client, "export-ba-visit-junrejo").await;
        eventually("the minutes are saved", || async {
            text_of(&client, "rekap-message").await.contains(".pdf")
        })
        .await;
        let message = text_of(&client, "rekap-message").await;
        let path = message[message.find('/').expect("a path in the message")..].trim();
        let path = std::path::PathBuf::from(path.trim_end_matches('.'));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{message}: {e}"));
        assert!(bytes.starts_with(b"%PDF"), "{}", path.display());
        saved.push(path);
        // Between the two clicks the message must change, so wait for it to go.
        click(&client, "nav-settings").await;
        click(&client, "nav-rekap").await;
    }
    assert_ne!(saved[0], saved[1], "the second export is a new file");
    // The result bundle, saved and checked by the real binary, as anyone would check it. Here
    // the jurors' laptops were set up without tokens, so their sheets were taken on the rules
    // alone: nothing proves who wrote them, and the bundle says so, naming the first.
    click(&client, "export-bundle").await;
    eventually("the bundle is saved", || async {
        text_of(&client, "rekap-message").await.contains(".tinjau")
    })
    .await;
    let message = text_of(&client, "rekap-message").await;
    let bundle = std::path::PathBuf::from(
        message[message.find('/').expect("a path in the message")..]
            .trim()
            .trim_end_matches('.'),
    );
    let verified = tinjau_tests::tinjau_cli()
        .args(["--json", "bundle", "verify"])
        .arg(&bundle)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&verified.stderr);
    assert!(
        !verified.status.success() && said.contains("no registration binds device"),
        "unsigned sheets do not verify: {said}"
    );
    // The reopened sheet goes back to its juror on a file.
    click(&client, "nav-settings").await;
    click(&client, "nav-rekap").await;
    wait_for(&client, "decisions-juror")
        .await
        .select_by_value("akademisi")
        .await
        .unwrap();
    click(&client, "export-decisions").await;
    eventually("the decisions are saved", || async {
        text_of(&client, "rekap-message").await.contains(".json")
    })
    .await;
    let message = text_of(&client, "rekap-message").await;
    let decisions: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            message[message.find('/').expect("a path in the message")..]
                .trim()
                .trim_end_matches('.'),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(decisions["format"], "tinjau-decisions/1");
    assert!(
        decisions["entries"]
            .as_array()
            .is_some_and(|e| e.iter().any(|e| e["entity"] == "sheet")),
        "the reopening is in it: {decisions}"
    );
    assert_accessible(&client, "rekap exports", None).await;
    click(&client, "export-ranking").await;
    click(&client, "open-folder").await;
    eventually("the documents folder is opened", || async {
        std::fs::read_to_string(&opened)
            .is_ok_and(|f| Some(std::path::Path::new(&f)) == saved[0].parent())
    })
    .await;
    for path in &saved {
        let _ = std::fs::remove_file(path);
    }
    client.close().await.unwrap();
    let store = tinjau_tests::open_app_store(data.path());
    assert!(
        store.visit_lock("visit-junrejo").unwrap().is_some()
            || store.visit_lock("visit-contoh-a").unwrap().is_some()
    );
    assert_eq!(
        store.sheet_state("akademisi", "visit-junrejo").unwrap(),
        tinjau_core::SheetState::Draft,
        "the reopened sheet is a draft again"
    );
    assert_eq!(
        store.sheet_state("dindik", "visit-junrejo").unwrap(),
        tinjau_core::SheetState::Submitted,
        "the imported sheet counts"
    );
    assert_eq!(
        store.lead_notes("visit-junrejo").unwrap(),
        [(
            "I1".to_string(),
            "Perbedaan karena kunjungan lapangan berbeda jam".to_string()
        )]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_juror_takes_the_leads_decisions_from_a_usb_stick_in_the_app() {
    if !require_or_skip() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let (server, tokens) = tokio::task::spawn_blocking(|| {
        Server::start(Db::Sqlite, &[("ketua", "lead"), ("akademisi", "juror")])
    })
    .await
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let display = Display::start();
    let driver = Driver::start(&display, data.path());
    let client = driver.session().await;
    // The juror's app synced once at the briefing (the lead's identity key came with it).
    demo_visit_as(&client, "akademisi").await;
    join_and_sync(&client, &server.url, &tokens["akademisi"]).await;
    // At the kecamatan, offline: the lead locks Junrejo and hands the decisions over on a stick.
    let (url, lead_token) = (server.url.clone(), tokens["ketua"].clone());
    let file = data.path().join("keputusan.json");
    let path = file.clone();
    let lock = tokio::task::spawn_blocking(move || {
        let mut lead = tinjau_tests::Laptop::joined(&url, &lead_token, chrono::Duration::zero());
        lead.sync(&url).unwrap();
        lead.score_and_submit(tinjau_tests::VISIT, 80.0);
        lead.score_and_submit("visit-contoh-a", 80.0);
        let lock = lead.store.lock(tinjau_tests::VISIT).unwrap();
        std::fs::write(&path, lead.store.export_decisions("akademisi").unwrap()).unwrap();
        lock
    })
    .await
    .unwrap();
    click(&client, "nav-sync").await;
    wait_for(&client, "import-decisions")
        .await
        .send_keys(file.to_str().unwrap())
        .await
        .unwrap();
    let imported = text_of(&client, "decisions-imported").await;
    assert!(imported.contains("Keputusan ketua diterima"), "{imported}");
    screenshot(&client, "decisions-imported").await;
    assert_accessible(&client, "sync decisions", None).await;
    client.close().await.unwrap();
    let store = tinjau_tests::open_app_store(data.path());
    assert_eq!(
        store
            .visit_lock(tinjau_tests::VISIT)
            .unwrap()
            .map(|l| l.hash),
        Some(lock.hash),
        "the juror's laptop knows Junrejo is locked"
    );
    drop(store);
    assert_eq!(
        rows_by(data.path(), "score", "ketua"),
        0,
        "the lead's own scores stayed blind"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copied_data_folder_is_told_and_continues_as_a_new_device_in_the_app() {
    if !require_or_skip() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let (server, tokens) = tokio::task::spawn_blocking(|| {
        Server::start(Db::Sqlite, &[("ketua", "lead"), ("akademisi", "juror")])
    })
    .await
    .unwrap();
    let url = server.url.clone();
    let token = tokens["akademisi"].clone();
    // A juror's laptop syncs once; its data folder is copied, and the original goes on.
    let (original, copy) = tokio::task::spawn_blocking(move || {
        let mut original = tinjau_tests::Laptop::joined(&url, &token, chrono::Duration::zero());
        original
            .store
            .score("visit-junrejo", "I1", 80.0, None)
            .unwrap();
        original.sync(&url).unwrap();
        let copy = tinjau_tests::copy_laptop(&original);
        original
            .store
            .score("visit-junrejo", "I2", 81.0, None)
            .unwrap();
        original.sync(&url).unwrap();
        (original, copy)
    })
    .await
    .unwrap();
    let tinjau_tests::Laptop { dir, store, .. } = copy;
    drop(store);
    let display = Display::start();
    let driver = Driver::start(&display, dir.path());
    let client = driver.session().await;
    // The copy is used too: a verdict, then sync.
    click(&client, "open-visit-junrejo").await;
    click(&client, "verdict-lansia-smart-found").await;
    eventually("lansia-smart marked found", || {
        pressed(&client, "verdict-lansia-smart-found")
    })
    .await;
    click(&client, "nav-sync").await;
    click(&client, "sync-now").await;
    let notice = text_of(&client, "device-copied").await;
    assert!(notice.contains("disalin dari laptop lain"), "{notice}");
    assert_eq!(
        text_of(&client, "sync-pending").await,
        "1",
        "the copy's change still waits to be sent: it is not lost, nor shown as sent"
    );
    screenshot(&client, "device-copied").await;
    assert_accessible(&client, "sync: a copied data folder", None).await;
    click(&client, "new-device").await;
    eventually(
        "the copy's work reaches the server as a new device",
        || async {
            client
                .find(Locator::Css(&id("device-copied")))
                .await
                .is_err()
                && text_of(&client, "sync-pending").await == "0"
        },
    )
    .await;
    client.close().await.unwrap();
    drop(driver);
    drop(display);
    drop(original);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_fits_and_works_on_a_1024x600_screen() {
    if !require_or_skip() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let data = tempfile::tempdir().unwrap();
    let display = Display::start_sized(1024, 600);
    let driver = Driver::start(&display, data.path());
    let client = driver.session().await;
    // With no window manager, "maximised" has no effect: size the window to the screen, as a
    // maximised window is. Its minimum size must allow it.
    client.set_window_rect(0, 0, 1024, 600).await.unwrap();
    let (_, _, width, height) = client.get_window_rect().await.unwrap();
    assert!(
        width <= 1024 && height <= 600,
        "the window fits: {width}x{height}"
    );
    demo_visit_as(&client, "akademisi").await;
    // The first innovation is in the top half of the screen, not pushed down by the header
    // and the discrepancy banner (measured once it is there: the visit loads after the click).
    wait_for(&client, "innovation-sicandapol").await;
    let top = client
        .execute(
            "return document.querySelector('[data-innovation]').getBoundingClientRect().top",
            vec![],
        )
        .await
        .unwrap()
        .as_f64()
        .unwrap();
    assert!(
        top < 300.0,
        "the first innovation starts at {top} px of 600"
    );
    screenshot(&client, "visit-1024x600").await;
    assert_accessible(&client, "visit at 1024x600", None).await;
    // Work goes on: a verdict, and the scoring tab.
    click(&client, "verdict-sicandapol-found").await;
    eventually("sicandapol marked found", || {
        pressed(&client, "verdict-sicandapol-found")
    })
    .await;
    click(&client, "tab-score").await;
    wait_for(&client, "score-I1")
        .await
        .send_keys("80")
        .await
        .unwrap();
    eventually("a score is saved", || async {
        text_of(&client, "score-completeness")
            .await
            .starts_with("1 dari 7")
    })
    .await;
    screenshot(&client, "scoring-1024x600").await;
    client.close().await.unwrap();
    drop(driver);
    drop(display);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lead_breaks_a_tie_and_sees_the_quarantined_changes_in_the_app() {
    if !require_or_skip() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let data = tempfile::tempdir().unwrap();
    {
        // The lead alone scores both kecamatan the same (a tie), locks Junrejo, then a juror's
        // sheet for Junrejo arrives too late: it is quarantined.
        let mut lead = tinjau_tests::open_app_store(data.path());
        lead.import_package(tinjau_tests::DEMO.as_bytes()).unwrap();
        lead.init_juror("ketua").unwrap();
        for visit in ["visit-junrejo", "visit-contoh-a"] {
            for indicator in tinjau_tests::INDICATORS {
                lead.score(visit, indicator, 80.0, None).unwrap();
            }
            lead.submit(visit).unwrap();
        }
        lead.lock("visit-junrejo").unwrap();
        let mut juror = tinjau_tests::Laptop::new(chrono::Duration::zero());
        juror
            .store
            .import_package(tinjau_tests::DEMO.as_bytes())
            .unwrap();
        juror.store.init_juror("akademisi").unwrap();
        juror.score_and_submit("visit-junrejo", 90.0);
        let report = lead
            .import_sheet(&juror.store.export_sheet("visit-junrejo", false).unwrap())
            .unwrap();
        assert!(!report.quarantined.is_empty());
    }
    let display = Display::start();
    let driver = Driver::start(&display, data.path());
    let client = driver.session().await;
    click(&client, "nav-rekap").await;
    let quarantine = text_of(&client, "quarantine").await;
    assert!(
        quarantine.contains("Anggota Tim Juri (Akademisi)") && quarantine.contains("locked"),
        "{quarantine}"
    );
    let tie = "tie-junrejo+contoh-a";
    wait_for(&client, tie).await;
    assert_accessible(&client, "rekap with a tie and a quarantine", None).await;
    click(&client, "tie-up-contoh-a").await;
    wait_for(&client, "tie-reason-junrejo+contoh-a")
        .await
        .send_keys("Dampak inovasi lebih luas")
        .await
        .unwrap();
    click(&client, "tie-decide-junrejo+contoh-a").await;
    eventually("the tie is decided", || async {
        client.find(Locator::Css(&id(tie))).await.is_err()
    })
    .await;
    client.close().await.unwrap();
    let store = tinjau_tests::open_app_store(data.path());
    let result = store.merge(None).unwrap();
    let first = result
        .participants
        .iter()
        .find(|p| p.rank == Some(1))
        .unwrap();
    assert_eq!(first.participant_id, "contoh-a", "the lead's order counts");
    drop(driver);
    drop(display);
}

/// A keyboard, as a juror uses it: keys go to whatever holds the focus (WebDriver actions,
/// never a click or a script), and every key pressed is counted.
struct Keyboard<'a> {
    client: &'a Client,
    /// Tab, Enter, arrows, digits, Esc: moving and acting.
    moves: usize,
    /// Characters of text typed (scores, a note).
    typed: usize,
}

impl<'a> Keyboard<'a> {
    fn new(client: &'a Client) -> Self {
        Keyboard {
            client,
            moves: 0,
            typed: 0,
        }
    }

    async fn keys(&mut self, keys: &str) {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        let mut actions = KeyActions::new("keyboard".into());
        for key in keys.chars() {
            actions = actions
                .then(KeyAction::Down { value: key })
                .then(KeyAction::Up { value: key });
        }
        self.client
            .perform_actions(actions)
            .await
            .unwrap_or_else(|e| panic!("pressing {keys:?}: {e}"));
        tokio::time::sleep(Duration::from_millis(60)).await;
    }

    /// Keys that move or act (each counts once).
    async fn press(&mut self, keys: &str) {
        self.moves += keys.chars().count();
        self.keys(keys).await;
    }

    /// Text typed into the focused field.
    async fn type_text(&mut self, text: &str) {
        self.typed += text.chars().count();
        self.keys(text).await;
    }

    async fn focused(&self) -> Option<String> {
        let element = self.client.active_element().await.ok()?;
        element.attr("data-testid").await.ok().flatten()
    }

    /// Presses Tab until `test_id` holds the focus, as a juror would, watching the focus ring.
    async fn tab_to(&mut self, test_id: &str) {
        wait_for(self.client, test_id).await;
        for _ in 0..200 {
            if self.focused().await.as_deref() == Some(test_id) {
                return;
            }
            self.press(TAB).await;
        }
        panic!("{test_id} cannot be reached with Tab");
    }
}

const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";
const DOWN: &str = "\u{E015}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_visit_is_done_with_the_keyboard_alone() {
    if !require_or_skip() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let data = tempfile::tempdir().unwrap();
    let display = Display::start();
    let driver = Driver::start(&display, data.path());
    let client = driver.session().await;
    let mut keyboard = Keyboard::new(&client);

    keyboard.tab_to("load-demo").await;
    keyboard.press(ENTER).await;
    keyboard.tab_to("juror-akademisi").await;
    keyboard.press(ENTER).await;
    keyboard.tab_to("open-visit-junrejo").await;
    keyboard.press(ENTER).await;
    wait_for(&client, "innovation-sicandapol").await;

    // Every listed innovation gets a verdict: a digit, then ↓ to the next card.
    let cards = client
        .find_all(Locator::Css("[data-testid^=\"innovation-\"]"))
        .await
        .unwrap();
    let mut ids = Vec::new();
    for card in &cards {
        let test_id = card.attr("data-testid").await.unwrap().unwrap();
        ids.push(test_id["innovation-".len()..].to_string());
    }
    assert!(ids.len() >= 10, "the Junrejo list: {ids:?}");
    let verdicts = ["1", "2", "3"];
    for (i, innovation) in ids.iter().enumerate() {
        let key = verdicts[i % 3];
        keyboard.press(key).await;
        let verdict = ["found", "partial", "not_found"][i % 3];
        let button = format!("verdict-{innovation}-{verdict}");
        eventually(&format!("{innovation} gets its verdict"), || {
            pressed(&client, &button)
        })
        .await;
        if i + 1 < ids.len() {
            keyboard.press(DOWN).await;
        }
    }

    // An observation.
    keyboard.tab_to("tab-observe").await;
    keyboard.press(ENTER).await;
    keyboard.tab_to("observation-text").await;
    keyboard
        .type_text("Camat dan Danramil hadir; notulen rapat diperlihatkan")
        .await;
    keyboard.tab_to("observation-save").await;
    keyboard.press(ENTER).await;
    eventually("the observation is listed", || async {
        count(&client, "observation").await == 1
    })
    .await;

    // Seven scores, then submit and confirm.
    keyboard.tab_to("tab-score").await;
    keyboard.press(ENTER).await;
    for (indicator, value) in SCORES {
        keyboard.tab_to(&format!("score-{indicator}")).await;
        keyboard.type_text(value).await;
    }
    eventually("every indicator is scored", || async {
        text_of(&client, "score-completeness")
            .await
            .starts_with("7 dari 7")
    })
    .await;
    keyboard.tab_to("submit-sheet").await;
    keyboard.press(ENTER).await;
    wait_for(&client, "submit-dialog").await;
    keyboard.tab_to("submit-confirm").await;
    keyboard.press(ENTER).await;
    eventually("the sheet is submitted", || async {
        text_of(&client, "sheet-state").await != "Draf"
    })
    .await;
    let (moves, typed) = (keyboard.moves, keyboard.typed);
    client.close().await.unwrap();

    let store = tinjau_tests::open_app_store(data.path());
    let list = store.checklist("visit-junrejo").unwrap();
    let checked = list
        .groups
        .iter()
        .flat_map(|g| &g.innovations)
        .filter(|i| i.verdict.is_some())
        .count();
    assert_eq!(checked, ids.len(), "every innovation has its verdict");
    assert_eq!(list.observations.len(), 1);
    let _ = writeln!(
        std::io::stderr(),
        "a whole visit by keyboard: {} keys to move and act + {} characters typed \
         ({} innovations, 1 observation, 7 scores)",
        moves,
        typed,
        ids.len()
    );
    // A regression that makes the keyboard path longer shows here.
    assert!(
        moves <= 120,
        "{moves} keys to move and act through one visit"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_juror_joins_from_the_first_screen_with_the_organisers_file() {
    if !require_or_skip() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let data = tempfile::tempdir().unwrap();
    let slip = data.path().join("akademisi.tinjau");
    let fake = data.path().join("palsu.tinjau");
    std::fs::write(&fake, b"{\"format\":\"tinjau-join/1\"}").unwrap();
    let (server, slip) = tokio::task::spawn_blocking(move || {
        let (server, _) = Server::start(Db::Sqlite, &[("ketua", "lead")]);
        server.join_file("akademisi", &slip);
        (server, slip)
    })
    .await
    .unwrap();
    let display = Display::start();
    let driver = Driver::start(&display, &data.path().join("store"));
    let client = driver.session().await;
    // A file that is not a join file: said in Indonesian, and still the first screen.
    wait_for(&client, "join-file")
        .await
        .send_keys(fake.to_str().unwrap())
        .await
        .unwrap();
    let error = text_of(&client, "first-run-error").await;
    assert!(
        error.starts_with("Berkas ini bukan berkas gabung Tinjau yang sah"),
        "{error}"
    );
    assert_accessible(&client, "first run: a refused join file", None).await;
    // The organiser's file dropped on the join form: joined, the juror chosen by the token, the
    // visits shown. (WebDriver cannot drag from the file manager; the page receives the same
    // drop event with the file's bytes.)
    let text = std::fs::read_to_string(&slip).unwrap();
    client
        .execute(
            "const [text, selector] = arguments;
             const transfer = new DataTransfer();
             transfer.items.add(new File([text], 'akademisi.tinjau', { type: 'application/json' }));
             document.querySelector(selector)
               .dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));",
            vec![serde_json::json!(text), serde_json::json!(id("join-form"))],
        )
        .await
        .unwrap();
    wait_for(&client, "open-visit-junrejo").await;
    client.close().await.unwrap();
    drop(driver);
    drop(display);
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_opened_with_a_join_file_joins_with_it() {
    if !require_or_skip() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let data = tempfile::tempdir().unwrap();
    let slip = data.path().join("dindik.tinjau");
    let (server, slip) = tokio::task::spawn_blocking(move || {
        let (server, _) = Server::start(Db::Sqlite, &[]);
        server.join_file("dindik", &slip);
        (server, slip)
    })
    .await
    .unwrap();
    let display = Display::start();
    // `tinjau-desktop dindik.tinjau`, as a file manager's "Open with" runs it.
    let driver = Driver::start(&display, &data.path().join("store"));
    let client = driver.session_with_args(&[slip.as_path()]).await;
    wait_for(&client, "open-visit-junrejo").await;
    let who = client.source().await.unwrap();
    assert!(
        who.contains("Dinas Pendidikan"),
        "the juror is the one the file names"
    );
    client.close().await.unwrap();
    // A second start with the same file does not join again: the app opens as it was.
    let client = driver.session_with_args(&[slip.as_path()]).await;
    wait_for(&client, "open-visit-junrejo").await;
    client.close().await.unwrap();
    drop(driver);
    drop(display);
    drop(server);
}

/// A laptop without a keyring: the first start asks for a passphrase twice, the next for it
/// once; a wrong one is told in words and opens nothing. Both screens are axe-clean.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_keyring_the_data_folder_opens_with_a_passphrase() {
    if !require_or_skip() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let data = tempfile::tempdir().unwrap();
    let store = data.path().join("store");
    let no_passphrase = std::path::Path::new("");
    let keyring_off = std::path::Path::new("off");
    let env = [
        ("TINJAU_PASSPHRASE", no_passphrase),
        ("TINJAU_KEYRING", keyring_off),
    ];

    let display = Display::start();
    let driver = Driver::start_with(&display, &store, &env);
    let client = driver.session().await;
    wait_for(&client, "unlock-again").await;
    screenshot(&client, "unlock-new").await;
    assert_accessible(&client, "unlock (new passphrase)", None).await;
    wait_for(&client, "unlock-passphrase")
        .await
        .send_keys("kata sandi juri")
        .await
        .unwrap();
    wait_for(&client, "unlock-again")
        .await
        .send_keys("kata sandi jury")
        .await
        .unwrap();
    click(&client, "unlock-open").await;
    assert_eq!(
        text_of(&client, "unlock-error").await,
        "Kedua kata sandi berbeda."
    );
    let again = wait_for(&client, "unlock-again").await;
    again.clear().await.unwrap();
    again.send_keys("kata sandi juri").await.unwrap();
    click(&client, "unlock-open").await;
    wait_for(&client, "load-demo").await;
    click(&client, "load-demo").await;
    wait_for(&client, "juror-akademisi").await;
    client.close().await.unwrap();
    drop(driver);

    // The next start asks once; a wrong passphrase opens nothing.
    let driver = Driver::start_with(&display, &store, &env);
    let client = driver.session().await;
    wait_for(&client, "unlock-passphrase")
        .await
        .send_keys("salah sekali")
        .await
        .unwrap();
    assert_eq!(count(&client, "unlock-again").await, 0);
    assert_accessible(&client, "unlock", None).await;
    click(&client, "unlock-open").await;
    assert_eq!(
        text_of(&client, "unlock-error").await,
        "Kata sandi itu tidak membuka data di laptop ini. Periksa lalu coba lagi."
    );
    let field = wait_for(&client, "unlock-passphrase").await;
    field.clear().await.unwrap();
    field.send_keys("kata sandi juri").await.unwrap();
    click(&client, "unlock-open").await;
    wait_for(&client, "juror-akademisi").await;
    client.close().await.unwrap();
    drop(driver);
    drop(display);

    // On disk it is encrypted with that passphrase.
    let opened = tinjau_store::Store::open(
        &store,
        tinjau_store::StoreOptions {
            unlock: Some(tinjau_store::crypt::Unlock::Passphrase(
                zeroize::Zeroizing::new("kata sandi juri".into()),
            )),
            ..tinjau_store::StoreOptions::default()
        },
    )
    .unwrap();
    assert!(opened.encrypted() && opened.package().is_ok());
}

/// The folder's key was kept in the system keyring, which does not give it now: the app says
/// so on screen, in Indonesian, with the folder and a way to try again — not a window that
/// never opens and a line in a log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_folder_whose_keyring_key_is_missing_says_so_on_screen() {
    if !require_or_skip() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let data = tempfile::tempdir().unwrap();
    let store = data.path().join("store");
    let key = tinjau_store::crypt::StoreKey::from_bytes([7u8; 32]);
    {
        let mut opened = tinjau_store::Store::open(
            &store,
            tinjau_store::StoreOptions {
                unlock: Some(tinjau_store::crypt::Unlock::Keyring(key.clone())),
                ..tinjau_store::StoreOptions::default()
            },
        )
        .unwrap();
        opened
            .import_package(tinjau_tests::DEMO.as_bytes())
            .unwrap();
    }
    let key_file = std::fs::read(store.join(tinjau_store::crypt::KEY_FILE)).unwrap();
    let env = [
        ("TINJAU_PASSPHRASE", std::path::Path::new("")),
        ("TINJAU_KEYRING", std::path::Path::new("off")),
    ];
    let display = Display::start();
    let driver = Driver::start_with(&display, &store, &env);
    let client = driver.session().await;
    assert_eq!(
        text_of(&client, "open-error").await,
        "Kunci yang mengenkripsi data ini disimpan di keyring sistem, tetapi keyring tidak \
         memberikannya sekarang (the keyring is turned off (TINJAU_KEYRING=off)). Buka kunci \
         keyring (masuk ke desktop Anda), lalu coba lagi; atau pulihkan folder data dari cadangan."
    );
    assert_eq!(
        text_of(&client, "open-error-folder").await,
        store.display().to_string()
    );
    assert_eq!(count(&client, "unlock-passphrase").await, 0);
    screenshot(&client, "open-failed").await;
    assert_accessible(&client, "open failed", None).await;
    // Trying again with the keyring still shut says it again; the app stays up.
    click(&client, "open-retry").await;
    wait_for(&client, "open-retry").await;
    assert_eq!(count(&client, "open-error").await, 1);
    client.close().await.unwrap();
    drop(driver);
    drop(display);

    // Nothing was touched: the key opens the folder as before.
    assert_eq!(
        std::fs::read(store.join(tinjau_store::crypt::KEY_FILE)).unwrap(),
        key_file
    );
    let opened = tinjau_store::Store::open(
        &store,
        tinjau_store::StoreOptions {
            unlock: Some(tinjau_store::crypt::Unlock::Keyring(key)),
            ..tinjau_store::StoreOptions::default()
        },
    )
    .unwrap();
    assert!(opened.encrypted() && opened.package().is_ok());
}
