//! `cargo build --release -p tinjau-desktop && cargo bench -p tinjau-tests --bench desktop`
//! (`TINJAU_DESKTOP_APP=path` measures another build)
//!
//! The desktop app in the real webview (tauri-driver, WebKitWebDriver, Xvfb at 1366x768):
//! cold start to the first screen with data, resident memory after loading the demo visit,
//! and the time to verify 33 innovations through the UI.

#[cfg(target_os = "linux")]
use std::io::Write;
#[cfg(target_os = "linux")]
use std::time::{Duration, Instant};

#[cfg(target_os = "linux")]
use fantoccini::Locator;
#[cfg(target_os = "linux")]
use tinjau_tests::webview::{Display, Driver, click, eventually, unavailable, wait_for};

/// Proportional and anonymous memory (KiB) of a process, from smaps_rollup: RSS counts shared
/// library pages in full, PSS shares them out among the processes that map them.
#[cfg(target_os = "linux")]
fn pss_and_anonymous_kib(pid: &str) -> (u64, u64) {
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    let field = |name: &str| {
        rollup
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (field("Pss:"), field("Anonymous:"))
}

/// The app process's resident memory by what it maps (a library, the binary, the heap), the
/// largest first: what there is to cut.
#[cfg(target_os = "linux")]
fn rss_by_mapping_kib(pid: &str) -> Vec<(String, u64)> {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
    let mut by_name: std::collections::BTreeMap<String, u64> = Default::default();
    let mut current = String::new();
    for line in smaps.lines() {
        if let Some(rss) = line.strip_prefix("Rss:") {
            let kib: u64 = rss
                .trim()
                .trim_end_matches(" kB")
                .trim()
                .parse()
                .unwrap_or(0);
            *by_name.entry(current.clone()).or_default() += kib;
        } else if line
            .split_whitespace()
            .next()
            .is_some_and(|f| f.contains('-'))
        {
            let name = line.split_whitespace().nth(5).unwrap_or("[anonymous]");
            current = name.rsplit('/').next().unwrap_or(name).to_string();
        }
    }
    let mut all: Vec<(String, u64)> = by_name.into_iter().collect();
    all.sort_by_key(|(_, kib)| std::cmp::Reverse(*kib));
    all
}

/// The pid of the app process.
#[cfg(target_os = "linux")]
fn app_pid() -> Option<String> {
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let status = std::fs::read_to_string(entry.path().join("status")).ok()?;
            let name = status
                .lines()
                .find_map(|l| l.strip_prefix("Name:"))?
                .trim()
                .to_string();
            name.starts_with("tinjau-desktop")
                .then(|| entry.file_name().to_string_lossy().into_owned())
        })
}

/// Resident memory in KiB of every process whose command line mentions `needle`.
#[cfg(target_os = "linux")]
fn rss_kib(needle: &str) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let path = entry.path();
        let Ok(cmdline) = std::fs::read_to_string(path.join("cmdline")) else {
            continue;
        };
        if !cmdline.contains(needle) {
            continue;
        }
        let status = std::fs::read_to_string(path.join("status")).unwrap_or_default();
        let rss = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok());
        let name = status
            .lines()
            .find_map(|l| l.strip_prefix("Name:"))
            .unwrap_or("")
            .trim()
            .to_string();
        if let Some(rss) = rss {
            out.push((name, rss));
        }
    }
    out
}

/// The demo package with Junrejo's 33 claimed innovations all listed.
#[cfg(target_os = "linux")]
fn thirty_three() -> Vec<u8> {
    let mut package: serde_json::Value = serde_json::from_str(tinjau_tests::DEMO).unwrap();
    let claims = [
        ("I1", 2),
        ("I2", 2),
        ("I3", 5),
        ("I4", 16),
        ("I5", 4),
        ("I6", 1),
        ("I7", 3),
    ];
    let mut innovations = Vec::new();
    for (indicator, count) in claims {
        for n in 0..count {
            innovations.push(serde_json::json!({
                "id": format!("{}-{n}", indicator.to_lowercase()), "indicator": indicator,
                "name": format!("Inovasi {indicator}.{}", n + 1), "summary": "Inovasi yang dipaparkan camat"
            }));
        }
    }
    package["participants"][0]["innovations"] = innovations.into();
    package["revision"] = 2.into();
    serde_json::to_vec(&package).unwrap()
}

#[cfg(target_os = "linux")]
#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let smoke = !std::env::args().any(|a| a == "--bench");
    let mut out = std::io::stdout().lock();
    if let Some(why) = unavailable() {
        let _ = writeln!(out, "SKIPPED: {why}");
        return;
    }
    let data = tempfile::tempdir().unwrap();
    {
        let mut store =
            tinjau_store::Store::open(data.path(), tinjau_store::StoreOptions::default()).unwrap();
        store.import_package(&thirty_three()).unwrap();
        store.init_juror("akademisi").unwrap();
    }
    let display = Display::start();
    let driver = Driver::start(&display, data.path());
    let runs = if smoke { 1 } else { 5 };
    let mut starts = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        let client = driver.session().await;
        wait_for(&client, "open-visit-junrejo").await;
        starts.push(started.elapsed());
        client.close().await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    starts.sort();
    let _ = writeln!(
        out,
        "cold start to the visits screen with data (WebDriver session included): median {:.0?}, worst {:.0?} over {runs} runs (target < 1 s)",
        starts[starts.len() / 2],
        starts[starts.len() - 1]
    );

    let client = driver.session().await;
    click(&client, "open-visit-junrejo").await;
    wait_for(&client, "verdict-i1-0-found").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let app = rss_kib("tinjau-desktop");
    let webkit: u64 = rss_kib("WebKit")
        .iter()
        .filter(|(n, _)| n.starts_with("WebKit"))
        .map(|(_, k)| k)
        .sum();
    let app_kib: u64 = app
        .iter()
        .filter(|(n, _)| n.starts_with("tinjau-desktop"))
        .map(|(_, k)| k)
        .sum();
    let (pss, anonymous) = app_pid()
        .map(|pid| pss_and_anonymous_kib(&pid))
        .unwrap_or((0, 0));
    let largest: Vec<String> = app_pid()
        .map(|pid| rss_by_mapping_kib(&pid))
        .unwrap_or_default()
        .into_iter()
        .take(8)
        .map(|(name, kib)| format!("{name} {:.1} MB", kib as f64 / 1024.0))
        .collect();
    let _ = writeln!(
        out,
        "memory with the demo visit open: app process RSS {} MB (target < 150 MB), of which PSS {} MB and anonymous {} MB; WebKit web and network processes RSS {} MB",
        app_kib / 1024,
        pss / 1024,
        anonymous / 1024,
        webkit / 1024
    );
    let _ = writeln!(out, "the app process's largest: {}", largest.join(", "));

    // As a juror works: click "found", see it marked, go on to the next.
    let mut ids = Vec::new();
    for button in client
        .find_all(Locator::Css("button.verdict.found"))
        .await
        .unwrap()
    {
        ids.push(
            button
                .attr("data-testid")
                .await
                .unwrap()
                .unwrap_or_default(),
        );
    }
    let count = ids.len();
    let started = Instant::now();
    for test_id in &ids {
        click(&client, test_id).await;
        eventually("the innovation is marked found", || async {
            match client
                .find(Locator::Css(&format!("[data-testid=\"{test_id}\"]")))
                .await
            {
                Ok(button) => {
                    button.attr("aria-pressed").await.ok().flatten().as_deref() == Some("true")
                }
                Err(_) => false,
            }
        })
        .await;
    }
    let elapsed = started.elapsed();
    let _ = writeln!(
        out,
        "verify {count} innovations through the UI (a click each, saved and shown): {elapsed:.2?} ({:.0} ms per innovation)",
        elapsed.as_secs_f64() * 1000.0 / count as f64
    );
    client.close().await.unwrap();
}

/// The desktop app is measured in WebKitGTK under Xvfb: on Linux only.
#[cfg(not(target_os = "linux"))]
fn main() {
    use std::io::Write;
    let _ = writeln!(
        std::io::stdout(),
        "the desktop benchmark runs on Linux only"
    );
}
