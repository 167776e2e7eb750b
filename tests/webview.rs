//! The webview harness: the real `tinjau-desktop` binary in WebKitGTK, driven through
//! tauri-driver and WebKitWebDriver on a private Xvfb display (used by `tests/desktop/` and
//! `tests/benches/desktop.rs`).
#![cfg(target_os = "linux")]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

/// Why the desktop tests cannot run here, if they cannot.
pub fn unavailable() -> Option<String> {
    for tool in ["tauri-driver", "WebKitWebDriver", "Xvfb"] {
        if which(tool).is_none() {
            return Some(format!(
                "{tool} is not installed (scripts/system-deps.sh e2e installs what is needed)"
            ));
        }
    }
    None
}

/// Skips loudly without the tools, and fails instead when `TINJAU_REQUIRE_E2E=1` (as in CI).
pub fn require_or_skip() -> bool {
    skip_unless(unavailable(), "desktop")
}

/// `true` when nothing is `unavailable`; otherwise skips the `what` end-to-end test loudly, or
/// fails under `TINJAU_REQUIRE_E2E=1`, so a missing tool never passes as a green run in CI.
pub fn skip_unless(unavailable: Option<String>, what: &str) -> bool {
    match unavailable {
        None => true,
        Some(why) => {
            assert!(
                std::env::var("TINJAU_REQUIRE_E2E").as_deref() != Ok("1"),
                "TINJAU_REQUIRE_E2E=1 but {why}"
            );
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                format!("\n*** SKIPPED the {what} end-to-end test: {why} ***\n\n").as_bytes(),
            );
            false
        }
    }
}

pub(crate) fn which(tool: &str) -> Option<PathBuf> {
    let home_bin = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo/bin"));
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(home_bin)
        .map(|dir| dir.join(tool))
        .find(|path| path.exists())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn terminate(child: &mut Child) {
    // SIGTERM, never SIGKILL: tauri-driver must stop the WebKitWebDriver it started.
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// A private X display, 1366x768, like a juror's laptop.
pub struct Display {
    child: Child,
    pub name: String,
}

impl Display {
    pub fn start() -> Display {
        Display::start_sized(1366, 768)
    }

    /// A display of another size (a small government laptop is 1024x600).
    pub fn start_sized(width: u32, height: u32) -> Display {
        for number in 90..140 {
            if Path::new(&format!("/tmp/.X11-unix/X{number}")).exists()
                || Path::new(&format!("/tmp/.X{number}-lock")).exists()
            {
                continue;
            }
            let mut child = Command::new(which("Xvfb").expect("Xvfb"))
                .args([
                    &format!(":{number}"),
                    "-screen",
                    "0",
                    &format!("{width}x{height}x24"),
                    "-nolisten",
                    "tcp",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("starting Xvfb");
            let socket = format!("/tmp/.X11-unix/X{number}");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline && !Path::new(&socket).exists() {
                std::thread::sleep(Duration::from_millis(50));
            }
            if Path::new(&socket).exists() {
                return Display {
                    child,
                    name: format!(":{number}"),
                };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("no free X display number");
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        terminate(&mut self.child);
    }
}

/// tauri-driver on free ports, launching the app with this data directory.
pub struct Driver {
    child: Child,
    pub port: u16,
    pub app: PathBuf,
}

impl Driver {
    pub fn start(display: &Display, data_dir: &Path) -> Driver {
        Driver::start_with(display, data_dir, &[])
    }

    /// With more environment for the app (`TINJAU_OPENER`, say).
    pub fn start_with(display: &Display, data_dir: &Path, env: &[(&str, &Path)]) -> Driver {
        let (port, native) = (free_port(), free_port());
        let child = Command::new(which("tauri-driver").expect("tauri-driver"))
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native.to_string(),
            ])
            .env("DISPLAY", &display.name)
            .env("TINJAU_DATA_DIR", data_dir)
            .env("TINJAU_PASSPHRASE", crate::TEST_PASSPHRASE)
            .env("RUST_LOG", "warn")
            .envs(env.iter().map(|(k, v)| (*k, *v)))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting tauri-driver");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "tauri-driver did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver {
            child,
            port,
            app: crate::bin("tinjau-desktop"),
        }
    }

    /// A WebDriver session: starts the app.
    pub async fn session(&self) -> Client {
        self.session_with_args(&[]).await
    }

    /// A WebDriver session that starts the app with command-line arguments
    /// (`tinjau-desktop FILE`).
    pub async fn session_with_args(&self, args: &[&Path]) -> Client {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "tauri:options".into(),
            serde_json::json!({ "application": self.app, "args": args }),
        );
        capabilities.insert("browserName".into(), serde_json::json!("wry"));
        // tauri-driver now and then drops the connection of a new session while the previous
        // app is still going away (seen once in CI: IncompleteMessage); a second try then
        // starts the app. An app that cannot start fails every try.
        let mut last = None;
        for _ in 0..3 {
            match ClientBuilder::rustls()
                .expect("a WebDriver connector")
                .capabilities(capabilities.clone())
                .connect(&format!("http://127.0.0.1:{}", self.port))
                .await
            {
                Ok(client) => return client,
                Err(error) => {
                    last = Some(error);
                    tokio::time::sleep(Duration::from_millis(700)).await;
                }
            }
        }
        panic!("a WebDriver session with the app: {last:?}")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        terminate(&mut self.child);
    }
}

/// `[data-testid="…"]`.
pub fn id(test_id: &str) -> String {
    format!("[data-testid=\"{test_id}\"]")
}

pub async fn wait_for(client: &Client, test_id: &str) -> fantoccini::elements::Element {
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(&id(test_id)))
        .await
        .unwrap_or_else(|e| panic!("{test_id} did not appear: {e}"))
}

pub async fn click(client: &Client, test_id: &str) {
    wait_for(client, test_id)
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("clicking {test_id}: {e}"));
}

/// Waits until `check` holds (polling), or fails with `what`.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Saves a screenshot under `target/e2e-screenshots/` (after letting the page settle).
pub async fn screenshot(client: &Client, name: &str) -> PathBuf {
    tokio::time::sleep(Duration::from_millis(600)).await;
    let png = client.screenshot().await.expect("a screenshot");
    let exe = std::env::current_exe().unwrap();
    let target = exe
        .ancestors()
        .find(|p| p.ends_with("target") || p.join("CACHEDIR.TAG").exists())
        .map(Path::to_path_buf)
        .unwrap_or_else(std::env::temp_dir);
    let dir = target.join("e2e-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.png"));
    std::fs::write(&path, png).unwrap();
    path
}

/// axe-core, from the E2E package's own `node_modules` (scripts/test.sh installs it).
fn axe_source() -> String {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("desktop/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{} is missing ({e}): run `npm ci` in tests/desktop (scripts/test.sh does)",
            path.display()
        )
    })
}

/// Runs axe-core (WCAG 2.0–2.2 A and AA rules) on the screen as the user meets it and fails on
/// any critical or serious violation, naming each with the elements it found. `context` narrows
/// the scan (a dialog is scanned as the user meets it, not with the page behind it twice).
pub async fn assert_accessible(client: &Client, screen: &str, context: Option<&str>) {
    tokio::time::sleep(Duration::from_millis(300)).await;
    let loaded = client
        .execute("return typeof window.axe !== 'undefined'", vec![])
        .await
        .expect("asking for axe");
    if loaded != serde_json::Value::Bool(true) {
        client
            .execute(&axe_source(), vec![])
            .await
            .expect("injecting axe-core");
    }
    let script = r#"
        const [context, done] = arguments;
        axe.run(context ? document.querySelector(context) : document, {
            runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] },
            resultTypes: ['violations', 'passes'],
        }).then((result) => done({
            rules: result.passes.length + result.violations.length,
            violations: result.violations
                .filter((v) => v.impact === 'critical' || v.impact === 'serious')
                .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.length}: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')})`),
        })).catch((e) => done({ rules: 0, violations: [`axe failed: ${e}`] }));
    "#;
    let answer = client
        .execute_async(script, vec![serde_json::json!(context)])
        .await
        .expect("running axe-core");
    // A scan that checked nothing must never pass as a clean one.
    let rules = answer["rules"].as_u64().unwrap_or(0);
    assert!(
        rules >= 5,
        "{screen}: axe-core checked only {rules} rules: {answer}"
    );
    let violations: Vec<String> =
        serde_json::from_value(answer["violations"].clone()).expect("axe's violations");
    assert!(
        violations.is_empty(),
        "{screen}: {} critical/serious accessibility violations:\n{}",
        violations.len(),
        violations.join("\n")
    );
}
