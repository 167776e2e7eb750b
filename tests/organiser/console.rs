//! The console in a real browser, as the organiser uses it during a visit week: sign in, upload
//! a new revision's workbook, see what it changes, publish; print the jurors' slips, revoke and
//! re-issue one; watch a juror's sync move the progress without reloading; download the berita
//! acara once the lead has locked. Every screen is checked with axe-core at 1024×600.

use std::path::Path;
use std::time::{Duration, SystemTime};

use fantoccini::{Client, Locator};
use tinjau_tests::browser::{Browser, require_or_skip};
use tinjau_tests::webview::{assert_accessible, click, eventually, id, screenshot, wait_for};
use tinjau_tests::{DEMO, Db, Laptop, Server, VISIT, pdf_pages};

use crate::workbook::{TEN_MISTAKES, spoiled};

/// One browser at a time: chromium is heavy on two cores.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The token printed on the slip page that names `name`.
fn token_on_slip(pages: &[String], name: &str) -> String {
    let page = pages
        .iter()
        .find(|p| p.contains(name))
        .unwrap_or_else(|| panic!("no slip for {name}"));
    let at = page.find("tjk_").expect("a token on the slip");
    page[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
        .collect()
}

async fn text(client: &Client, css: &str) -> String {
    match client.find(Locator::Css(css)).await {
        Ok(element) => element.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// The page fits the window's width (nothing needs scrolling sideways at 1024 px).
async fn fits_width(client: &Client, screen: &str) {
    let overflow = client
        .execute(
            "return document.documentElement.scrollWidth - window.innerWidth",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        overflow.as_i64().unwrap_or(1) <= 0,
        "{screen}: the page is {overflow} px wider than the window"
    );
}

async fn sign_in(client: &Client) {
    client
        .find(Locator::Css("form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Scrolls the element with `test_id` into view (for a screenshot of it).
async fn show(client: &Client, test_id: &str) {
    let script = format!("document.querySelector('[data-testid={test_id}]').scrollIntoView()");
    client.execute(&script, vec![]).await.unwrap();
}

async fn upload(client: &Client, path: &Path) {
    let input = client
        .find(Locator::Css("#package-file"))
        .await
        .expect("the file input");
    input
        .send_keys(&path.to_string_lossy())
        .await
        .expect("choosing the file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_organiser_runs_a_visit_week_from_the_console() {
    if !require_or_skip() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let (server, _) = Server::start(Db::Sqlite, &[]);
    let organiser = server.organiser_token("Biro Pemerintahan");
    let files = tempfile::tempdir().unwrap();
    // Revision 2 adds an innovation to Junrejo; the organiser edits the workbook, not JSON.
    let mut package: serde_json::Value = serde_json::from_str(DEMO).unwrap();
    package["revision"] = 2.into();
    let participant = package["participants"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|p| p["id"] == "junrejo")
        .expect("Junrejo in the demo");
    let mut added = participant["innovations"][0].clone();
    added["id"] = "pojok-baca".into();
    added["name"] = "Pojok Baca Desa".into();
    participant["innovations"]
        .as_array_mut()
        .unwrap()
        .push(added);
    let json = files.path().join("revisi-2.json");
    std::fs::write(&json, serde_json::to_vec(&package).unwrap()).unwrap();
    let workbook = files.path().join("kompetisi revisi 2.xlsx");
    let status = server
        .admin_command()
        .args(["package", "to-xlsx"])
        .arg(&json)
        .arg("--out")
        .arg(&workbook)
        .status()
        .unwrap();
    assert!(status.success());
    let ten_mistakes = files.path().join("kompetisi salah.xlsx");
    std::fs::write(&ten_mistakes, spoiled(&TEN_MISTAKES)).unwrap();

    let browser = Browser::start();
    let client = browser.session(1024, 600).await;
    client
        .goto(&format!("{}/console/", server.url))
        .await
        .unwrap();

    // A wrong token is refused in words, and nothing opens.
    let token_input = client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("#console-token"))
        .await
        .expect("the sign-in form");
    assert_accessible(&client, "console sign-in", None).await;
    token_input.send_keys("tjk_not-a-real-token").await.unwrap();
    sign_in(&client).await;
    eventually("the refusal is shown", || async {
        text(&client, "#signin-problem")
            .await
            .contains("Token tidak dikenal")
    })
    .await;

    // The organiser's token opens the console on the live progress.
    token_input.clear().await.unwrap();
    token_input.send_keys(&organiser).await.unwrap();
    sign_in(&client).await;
    wait_for(&client, "nav-progress").await;
    eventually("the visits are listed", || async {
        text(&client, "article[data-visit=visit-junrejo] h3")
            .await
            .contains("Kecamatan Junrejo")
    })
    .await;
    assert_accessible(&client, "console progress", None).await;
    fits_width(&client, "console progress").await;

    // A workbook with ten mistakes: all ten are named, nothing is published.
    click(&client, "nav-competition").await;
    wait_for(&client, "revision-1").await;
    upload(&client, &ten_mistakes).await;
    let problems = wait_for(&client, "problems").await;
    let items = problems.find_all(Locator::Css("li")).await.unwrap();
    assert_eq!(items.len(), 10, "all ten mistakes are named");
    let listed = problems.text().await.unwrap();
    assert!(
        listed.contains(
            "Sheet Inovasi, baris 14, kolom C: indikator I9 tidak ada di sheet Indikator"
        ),
        "{listed}"
    );
    assert_accessible(&client, "console competition, ten mistakes", None).await;
    show(&client, "problems").await;
    screenshot(&client, "console-mistakes").await;

    // The real revision: its change is shown before anything is published.
    upload(&client, &workbook).await;
    let preview = wait_for(&client, "preview").await;
    let shown = preview.text().await.unwrap();
    assert!(shown.contains("revisi 1 ke revisi 2"), "{shown}");
    assert!(
        shown.contains("Inovasi ditambahkan") && shown.contains("junrejo/pojok-baca"),
        "{shown}"
    );
    assert_accessible(&client, "console competition, preview", None).await;
    fits_width(&client, "console competition").await;
    show(&client, "preview").await;
    screenshot(&client, "console-preview").await;
    click(&client, "publish").await;
    wait_for(&client, "revision-2").await;
    eventually("publishing is confirmed", || async {
        text(&client, &id("competition-status"))
            .await
            .contains("Revisi 2 telah diterbitkan")
    })
    .await;

    // Slips for every juror without a token: one PDF, one page each.
    click(&client, "nav-jurors").await;
    let before = SystemTime::now();
    click(&client, "slips-missing").await;
    let slips = browser.downloaded(".pdf", before).await;
    let pages = pdf_pages(&slips);
    assert_eq!(pages.len(), 7, "one slip per juror");
    let lead_token = token_on_slip(&pages, "Ketua Tim Juri");
    let old_token = token_on_slip(&pages, "Anggota Tim Juri (Dinas Pendidikan)");
    assert!(
        pages.iter().all(|p| p.contains(&server.url)),
        "the server address is on every slip"
    );
    eventually("every juror holds a token", || async {
        text(&client, "tr[data-juror=dindik] [data-field=token]")
            .await
            .contains("Aktif")
    })
    .await;
    assert_accessible(&client, "console jurors", None).await;
    fits_width(&client, "console jurors").await;
    screenshot(&client, "console-jurors").await;

    // One juror's slip is lost: revoke (confirmed) and re-issue.
    click(&client, "revoke-dindik").await;
    click(&client, "revoke-yes-dindik").await;
    eventually("the token shows as revoked", || async {
        text(&client, "tr[data-juror=dindik] [data-field=token]")
            .await
            .contains("Dicabut")
    })
    .await;
    let before = SystemTime::now();
    click(&client, "issue-dindik").await;
    let reissued = browser.downloaded(".pdf", before).await;
    let new_pages = pdf_pages(&reissued);
    assert_eq!(new_pages.len(), 1, "one slip for the one juror");
    let new_token = token_on_slip(&new_pages, "Anggota Tim Juri (Dinas Pendidikan)");
    assert_ne!(new_token, old_token);
    let (old_status, new_status) = tokio::task::block_in_place(|| {
        (
            server.whoami_status(&old_token),
            server.whoami_status(&new_token),
        )
    });
    assert_eq!(old_status, 401, "the lost slip's token no longer works");
    assert_eq!(new_status, 200, "the new slip's token works");

    // A juror syncs with the new slip: the progress moves without a reload.
    click(&client, "nav-progress").await;
    let row = "article[data-visit=visit-junrejo] tr[data-juror=dindik]";
    eventually("the juror's row starts empty", || async {
        text(&client, &format!("{row} [data-field=indicators]")).await == "0 / 7"
    })
    .await;
    let url = server.url.clone();
    let juror = tokio::task::spawn_blocking(move || {
        let mut laptop = Laptop::joined(&url, &new_token, chrono::Duration::zero());
        let photo = laptop.dir.path().join("posyandu lansia.jpg");
        std::fs::write(&photo, tinjau_tests::photo("2023:11:28 10:15:00")).unwrap();
        laptop
            .store
            .observe(
                VISIT,
                "Posyandu lansia berjalan tiap Kamis; kader menunjukkan buku catatan.",
                None,
                &[photo],
            )
            .unwrap();
        laptop.score_and_submit(VISIT, 70.0);
        laptop.sync(&url).expect("the juror syncs");
        laptop
    })
    .await
    .unwrap();
    eventually("the console shows the juror's submitted sheet", || async {
        text(&client, &format!("{row} [data-field=indicators]")).await == "7 / 7"
            && text(&client, &format!("{row} [data-field=sheet]"))
                .await
                .contains("Terkirim")
            && !text(&client, &format!("{row} [data-field=last-sync]"))
                .await
                .contains("Belum")
    })
    .await;
    screenshot(&client, "console-progress").await;

    // The visit's shared notes and photos: the thumbnail is the photo, served by the console.
    click(&client, &format!("gallery-{VISIT}")).await;
    eventually("the juror's note is in the gallery", || async {
        text(&client, &format!("article[data-visit={VISIT}]"))
            .await
            .contains("Posyandu lansia berjalan tiap Kamis")
    })
    .await;
    eventually("the photo's thumbnail has loaded", || async {
        let loaded = client
            .execute(
                "const img = document.querySelector('.gallery img');
                 return !!img && img.complete && img.naturalWidth > 0;",
                vec![],
            )
            .await
            .unwrap();
        loaded == serde_json::Value::Bool(true)
    })
    .await;
    assert_accessible(&client, "console gallery", None).await;
    show(&client, "gallery").await;
    screenshot(&client, "console-gallery").await;

    // The lead merges and locks on their laptop; the console offers the berita acara.
    let url = server.url.clone();
    let lock_hash = tokio::task::spawn_blocking(move || {
        let mut lead = Laptop::joined(&url, &lead_token, chrono::Duration::zero());
        lead.score_and_submit(VISIT, 80.0);
        lead.score_and_submit("visit-contoh-a", 75.0);
        lead.sync(&url).expect("the lead syncs");
        let lock = lead.store.lock(VISIT).expect("the lead locks Junrejo");
        lead.sync(&url).expect("the lead syncs the lock");
        lock.hash
    })
    .await
    .unwrap();
    drop(juror);
    click(&client, "nav-results").await;
    let link = wait_for(&client, &format!("berita-acara-{VISIT}")).await;
    assert_accessible(&client, "console results", None).await;
    fits_width(&client, "console results").await;
    screenshot(&client, "console-results").await;
    let before = SystemTime::now();
    link.click().await.unwrap();
    let berita_acara = browser.downloaded(".pdf", before).await;
    let document = pdf_pages(&berita_acara).join("\n");
    assert!(document.contains("Kecamatan Junrejo"), "{document}");
    assert!(
        document.contains(&lock_hash),
        "the downloaded berita acara carries the lock's hash {lock_hash}"
    );
    client.close().await.unwrap();
}
