//! A real browser for what the server serves to one: Debian's `chromium`, headless, driven by
//! its `chromedriver` over WebDriver (the same fantoccini client as the webview harness, whose
//! helpers — axe-core, screenshots, waiting — work on it unchanged).
#![cfg(target_os = "linux")]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};

const CHROMIUM: &str = "/usr/bin/chromium";

/// Why the browser tests cannot run here, if they cannot.
pub fn unavailable() -> Option<String> {
    if !Path::new(CHROMIUM).exists() {
        return Some("chromium is not installed (scripts/system-deps.sh test installs it)".into());
    }
    if crate::webview::which("chromedriver").is_none() {
        return Some(
            "chromedriver is not installed (scripts/system-deps.sh test installs chromium-driver)"
                .into(),
        );
    }
    None
}

/// Skips loudly without a browser, and fails instead when `TINJAU_REQUIRE_E2E=1` (as in CI).
pub fn require_or_skip() -> bool {
    crate::webview::skip_unless(unavailable(), "browser")
}

/// A chromedriver process and the folder its browser downloads into.
pub struct Browser {
    child: Child,
    port: u16,
    pub downloads: tempfile::TempDir,
}

impl Browser {
    pub fn start() -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting chromedriver");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Browser {
            child,
            port,
            downloads: tempfile::tempdir().unwrap(),
        }
    }

    /// A headless chromium window of `width`×`height`.
    pub async fn session(&self, width: u32, height: u32) -> Client {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), serde_json::json!("chrome"));
        capabilities.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    format!("--window-size={width},{height}"), "--lang=id-ID",
                ],
                "prefs": {
                    "download.default_directory": self.downloads.path().to_string_lossy(),
                    "download.prompt_for_download": false,
                },
            }),
        );
        ClientBuilder::rustls()
            .expect("a WebDriver connector")
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a chromium session")
    }

    /// Waits for a download whose name ends with `suffix` (and is complete); returns its path.
    pub async fn downloaded(&self, suffix: &str, not_before: std::time::SystemTime) -> PathBuf {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let found = std::fs::read_dir(self.downloads.path())
                .unwrap()
                .flatten()
                .filter(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    name.ends_with(suffix)
                        && e.metadata()
                            .and_then(|m| m.modified())
                            .is_ok_and(|t| t >= not_before)
                })
                .map(|e| e.path())
                .next();
            if let Some(path) = found {
                return path;
            }
            assert!(
                Instant::now() < deadline,
                "no download ending in {suffix} arrived in {}",
                self.downloads.path().display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
