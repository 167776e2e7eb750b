//! The test vocabulary shared by the end-to-end tests and the sync benchmark: real
//! `tinjau-server` processes on 127.0.0.1 (SQLite or PostgreSQL), juror laptops (real stores
//! with a clock that may be wrong), and a fault-injecting TCP proxy.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tinjau_core::chain::ChangeEntry;
use tinjau_store::{OffsetClock, OsRandom, Store, StoreOptions};

// The end-to-end harnesses drive X11/WebKitGTK and Debian's chromium: Linux only.
#[cfg(target_os = "linux")]
pub mod browser;
#[cfg(target_os = "linux")]
pub mod webview;

pub const DEMO: &str = include_str!("../assets/skk-jatim-2023.json");
pub const VISIT: &str = "visit-junrejo";
pub const COMPETITION: &str = "skk-jatim-2023";
pub const INDICATORS: [&str; 7] = ["I1", "I2", "I3", "I4", "I5", "I6", "I7"];

/// A workspace binary, built next to the running test. `TINJAU_TEST_SERVER_BIN` points the
/// tests at another `tinjau-server` (an older build, to show a test failing before its fix).
pub fn bin(name: &str) -> PathBuf {
    if name == "tinjau-server"
        && let Some(path) = std::env::var_os("TINJAU_TEST_SERVER_BIN")
    {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("the test knows where it runs");
    let dir = exe
        .parent()
        .and_then(|deps| {
            if deps.ends_with("deps") {
                deps.parent()
            } else {
                Some(deps)
            }
        })
        .expect("the test runs inside a target directory");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build the binaries first (cargo build --workspace --bins; scripts/test.sh does)",
        path.display()
    );
    path
}

/// Which storage a server uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    /// A database of its own on the test PostgreSQL server.
    Postgres(String),
}

/// The backends every sync test runs against. PostgreSQL comes from `TINJAU_TEST_POSTGRES_URL`;
/// without it the PostgreSQL half is skipped loudly, and fails when `TINJAU_REQUIRE_POSTGRES=1`
/// (as in CI), so a missing database can never pass as a green run there.
/// The PostgreSQL backend when `TINJAU_TEST_POSTGRES_URL` is set (a fresh database for the
/// test); otherwise says loudly that it was skipped, or fails under
/// `TINJAU_REQUIRE_POSTGRES=1`.
pub fn postgres() -> Option<Db> {
    backends()
        .into_iter()
        .find(|db| matches!(db, Db::Postgres(_)))
}

/// Runs each named test function (`fn name(db: Db)`) once per backend, as two tests —
/// `name::sqlite` and `name::postgres` — so a failure names its backend.
#[macro_export]
macro_rules! per_backend {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn sqlite() {
                    super::$name($crate::Db::Sqlite)
                }

                #[test]
                fn postgres() {
                    if let Some(db) = $crate::postgres() {
                        super::$name(db)
                    }
                }
            }
        )*
    };
}

pub fn backends() -> Vec<Db> {
    let mut all = vec![Db::Sqlite];
    match std::env::var("TINJAU_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => all.push(Db::Postgres(fresh_postgres_database(&url))),
        _ => {
            assert!(
                std::env::var("TINJAU_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "TINJAU_REQUIRE_POSTGRES=1 but TINJAU_TEST_POSTGRES_URL is not set"
            );
            let _ = writeln!(
                std::io::stderr(),
                "\n*** SKIPPED the PostgreSQL half of this test: TINJAU_TEST_POSTGRES_URL is not set \
                 (scripts/postgres.sh starts one and prints it) ***\n"
            );
        }
    }
    all
}

/// Creates an empty database for one test and returns its URL.
pub fn fresh_postgres_database(base_url: &str) -> String {
    let name = format!("tinjau_test_{}", uuid::Uuid::new_v4().simple());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(base_url, tokio_postgres::NoTls)
            .await
            .expect("connecting to the test PostgreSQL");
        tokio::spawn(connection);
        client
            .execute(&format!("CREATE DATABASE {name}"), &[])
            .await
            .expect("creating a test database");
    });
    let (prefix, _) = base_url
        .rsplit_once('/')
        .expect("a database URL ends with /NAME");
    format!("{prefix}/{name}")
}

/// A self-signed certificate for 127.0.0.1 in a folder of its own, and its pin (the SHA-256 of
/// the certificate, as laptops pin it).
pub struct SelfSigned {
    pub dir: tempfile::TempDir,
    pub cert: PathBuf,
    pub key: PathBuf,
    pub pin: String,
}

impl SelfSigned {
    pub fn new() -> SelfSigned {
        use sha2::{Digest, Sha256};
        let certified =
            rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
                .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        std::fs::write(&cert, certified.cert.pem()).unwrap();
        std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
        let pin = Sha256::digest(certified.cert.der())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        SelfSigned {
            dir,
            cert,
            key,
            pin,
        }
    }

    /// The `serve` arguments that serve HTTPS with it.
    pub fn serve_args(&self) -> Vec<String> {
        vec![
            "--tls-cert".into(),
            self.cert.display().to_string(),
            "--tls-key".into(),
            self.key.display().to_string(),
        ]
    }
}

impl Default for SelfSigned {
    fn default() -> Self {
        SelfSigned::new()
    }
}

/// The pages of a PDF as text (`pdftotext -layout`), blank pages left out.
pub fn pdf_pages(path: &Path) -> Vec<String> {
    let output = Command::new("pdftotext")
        .arg("-layout")
        .arg(path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is needed: scripts/system-deps.sh test installs it");
    assert!(output.status.success(), "pdftotext {}", path.display());
    String::from_utf8(output.stdout)
        .unwrap()
        .split('\u{c}')
        .filter(|p| !p.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// A real `tinjau-server` process.
pub struct Server {
    child: Option<Child>,
    pub url: String,
    pub db: Db,
    pub data_dir: PathBuf,
    _dir: Option<tempfile::TempDir>,
    extra: Vec<String>,
}

impl Server {
    /// The `tinjau-server` command on this server's storage, for what an organiser runs.
    pub fn admin_command(&self) -> Command {
        Self::admin(&self.db, &self.data_dir)
    }

    fn admin(db: &Db, data_dir: &Path) -> Command {
        let mut command = Command::new(bin("tinjau-server"));
        command
            .arg("--data-dir")
            .arg(data_dir)
            .env_remove("TINJAU_DATABASE_URL");
        if let Db::Postgres(url) = db {
            command.arg("--database").arg(url);
        }
        command.env("RUST_LOG", "warn");
        command
    }

    /// Runs one `tinjau-server` admin command on this storage; fails the test if it fails.
    fn admin_ok(db: &Db, data_dir: &Path, args: &[&std::ffi::OsStr]) -> String {
        let output = Self::admin(db, data_dir).args(args).output().unwrap();
        assert!(
            output.status.success(),
            "tinjau-server {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap().trim().to_string()
    }

    /// Publishes the demo package and issues a token for each (juror, role).
    pub fn prepare(
        db: &Db,
        jurors: &[(&str, &str)],
    ) -> (tempfile::TempDir, HashMap<String, String>) {
        let dir = tempfile::tempdir().expect("a temp dir");
        let package = dir.path().join("package.json");
        std::fs::write(&package, DEMO).unwrap();
        Self::admin_ok(db, dir.path(), &["publish".as_ref(), package.as_os_str()]);
        let mut tokens = HashMap::new();
        for (juror, role) in jurors {
            let args = ["token", "--juror", juror, "--role", role];
            let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
            tokens.insert(juror.to_string(), Self::admin_ok(db, dir.path(), &args));
        }
        (dir, tokens)
    }

    /// Starts a server with the demo published and tokens issued.
    pub fn start(db: Db, jurors: &[(&str, &str)]) -> (Server, HashMap<String, String>) {
        let (dir, tokens) = Self::prepare(&db, jurors);
        let data_dir = dir.path().to_path_buf();
        let server = Server::spawn(db, data_dir, Some(dir), Vec::new());
        (server, tokens)
    }

    /// Another instance on the same storage (for PostgreSQL: several stateless instances).
    pub fn another_instance(&self) -> Server {
        Server::spawn(
            self.db.clone(),
            self.data_dir.clone(),
            None,
            self.extra.clone(),
        )
    }

    /// Starts a server with extra `serve` arguments (e.g. TLS).
    pub fn start_with(
        db: Db,
        jurors: &[(&str, &str)],
        extra: Vec<String>,
    ) -> (Server, HashMap<String, String>) {
        let (dir, tokens) = Self::prepare(&db, jurors);
        let data_dir = dir.path().to_path_buf();
        (Server::spawn(db, data_dir, Some(dir), extra), tokens)
    }

    pub fn spawn(
        db: Db,
        data_dir: PathBuf,
        dir: Option<tempfile::TempDir>,
        extra: Vec<String>,
    ) -> Server {
        let mut child = Self::admin(&db, &data_dir)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(&extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting tinjau-server");
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .expect("reading the server's first line");
        let url = first
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {first:?}"))
            .to_string();
        Server {
            child: Some(child),
            url,
            db,
            data_dir,
            _dir: dir,
            extra,
        }
    }

    /// SIGKILL, as a power cut would.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same storage (a new port).
    pub fn restart(&mut self) {
        self.kill9();
        let mut fresh = Server::spawn(
            self.db.clone(),
            self.data_dir.clone(),
            None,
            self.extra.clone(),
        );
        self.url = fresh.url.clone();
        self.child = fresh.child.take();
    }

    /// A token issued now (e.g. to revoke it later).
    pub fn token(&self, juror: &str, role: &str) -> String {
        let args = ["token", "--juror", juror, "--role", role];
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
        Self::admin_ok(&self.db, &self.data_dir, &args)
    }

    /// Issues a token for `juror` with its join file written at `path`, as the organiser does;
    /// returns the token.
    pub fn join_file(&self, juror: &str, path: &Path) -> String {
        let output = self
            .admin_command()
            .args([
                "token",
                "--juror",
                juror,
                "--server-url",
                &self.url,
                "--join-file",
            ])
            .arg(path)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "token --join-file: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    /// Publishes another package on this server's storage.
    pub fn publish(&self, package: &Path) {
        let output = Self::admin(&self.db, &self.data_dir)
            .arg("publish")
            .arg(package)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "publish: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// A token for a juror of one of several published competitions.
    pub fn token_for(&self, competition: &str, juror: &str, role: &str) -> String {
        let output = Self::admin(&self.db, &self.data_dir)
            .args([
                "token",
                "--competition",
                competition,
                "--juror",
                juror,
                "--role",
                role,
            ])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "token: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap().trim().to_string()
    }

    /// The HTTP status `GET /v1/whoami` answers `token` (200: it works; 401: unknown or
    /// revoked).
    pub fn whoami_status(&self, token: &str) -> u16 {
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::blocking::Client::new()
            .get(format!("{}/v1/whoami", self.url))
            .bearer_auth(token)
            .send()
            .unwrap()
            .status()
            .as_u16()
    }

    /// A token for the organiser's console, issued as the organiser does.
    pub fn organiser_token(&self, name: &str) -> String {
        let args = ["token", "--organiser", name];
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
        Self::admin_ok(&self.db, &self.data_dir, &args)
    }

    /// The server process's id (to read its memory).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the server runs").id()
    }

    /// Revokes a device (from `from_seq`, or after what the server holds); what the server says.
    pub fn revoke_device(&self, device: uuid::Uuid, from_seq: Option<u64>) -> String {
        let device = device.to_string();
        let from = from_seq.map(|seq| seq.to_string());
        let mut args = vec!["revoke-device", "--device", device.as_str()];
        if let Some(from) = &from {
            args.extend(["--from-seq", from.as_str()]);
        }
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
        Self::admin_ok(&self.db, &self.data_dir, &args)
    }

    pub fn revoke(&self, token: &str) {
        let output = Self::admin(&self.db, &self.data_dir)
            .args(["token", "--revoke", token])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGTERM first: the server finishes what is in flight.
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            for _ in 0..50 {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A juror's laptop: a real store, a clock that may be off by `skew`.
pub struct Laptop {
    pub dir: tempfile::TempDir,
    pub store: Store,
    pub skew: chrono::Duration,
}

impl Laptop {
    pub fn new(skew: chrono::Duration) -> Laptop {
        let dir = tempfile::tempdir().unwrap();
        let store = Self::open(dir.path(), skew);
        Laptop { dir, store, skew }
    }

    fn open(path: &Path, skew: chrono::Duration) -> Store {
        Store::open(
            path,
            StoreOptions {
                clock: Box::new(OffsetClock(skew)),
                random: Box::new(OsRandom),
                evidence_limit_bytes: tinjau_store::DEFAULT_EVIDENCE_LIMIT_BYTES,
                unlock: None,
            },
        )
        .unwrap()
    }

    /// A laptop that joined the server with `token`.
    pub fn joined(server_url: &str, token: &str, skew: chrono::Duration) -> Laptop {
        let mut laptop = Laptop::new(skew);
        tinjau_sync::join(&mut laptop.store, server_url, token, None).expect("joining the server");
        laptop
    }

    /// Closes and reopens the store (as after a crash and restart).
    pub fn reopen(self) -> Laptop {
        let Laptop { dir, store, skew } = self;
        drop(store);
        let store = Self::open(dir.path(), skew);
        Laptop { dir, store, skew }
    }

    /// This laptop's device registration (made when it joined), as a push carries it.
    pub fn registrations(&self) -> Vec<tinjau_core::signing::SignedRegistration> {
        self.store
            .own_registration()
            .expect("the store answers")
            .into_iter()
            .collect()
    }

    pub fn client(&self, url: &str) -> tinjau_sync::Client {
        let settings = self.store.sync_settings().unwrap().expect("joined");
        tinjau_sync::Client::new(url, &settings.token, None).unwrap()
    }

    pub fn sync(&mut self, url: &str) -> tinjau_sync::SyncResult<tinjau_sync::SyncReport> {
        let client = self.client(url);
        tinjau_sync::sync_once(&mut self.store, &client, &mut tinjau_sync::NoProgress)
    }

    /// Syncs once with a visit's hub, as this laptop's juror (the token it joined with).
    pub fn sync_hub(&mut self, hub: &Hub) -> tinjau_sync::SyncResult<tinjau_sync::SyncReport> {
        let token = self.store.sync_settings().unwrap().expect("joined").token;
        let client = tinjau_sync::Client::join_hub(&self.store, &hub.url, &token, &hub.words)?;
        tinjau_sync::sync_once(&mut self.store, &client, &mut tinjau_sync::NoProgress)
    }

    /// Attaches files (name, bytes) as evidence of one innovation of the demo visit, found as
    /// presented; returns their hashes in order.
    pub fn attach(&mut self, files: &[(&str, &[u8])]) -> Vec<String> {
        let paths: Vec<PathBuf> = files
            .iter()
            .map(|(name, bytes)| {
                let path = self.dir.path().join(name);
                std::fs::write(&path, bytes).unwrap();
                path
            })
            .collect();
        self.store
            .verify(&tinjau_store::VerifyRequest {
                visit: VISIT.into(),
                innovation: "lansia-smart".into(),
                verdict: tinjau_core::Verdict::Found,
                note: None,
                evidence: paths,
            })
            .unwrap()
            .into_iter()
            .map(|view| view.hash)
            .collect()
    }

    /// Scores every indicator of the visit (`base` + index) and submits.
    pub fn score_and_submit(&mut self, visit: &str, base: f64) {
        for (i, indicator) in INDICATORS.iter().enumerate() {
            self.store
                .score(visit, indicator, base + i as f64, None)
                .unwrap();
        }
        self.store.submit(visit).unwrap();
    }
}

/// A visit's hub on a lead's laptop (`docs/hub.md`), on 127.0.0.1, seeded from the lead's
/// store as `tinjau host` seeds it.
pub struct Hub {
    pub url: String,
    /// The pin as the lead reads it out.
    pub words: String,
    /// The full fingerprint.
    pub pin: String,
    running: Option<tinjau_server::hub::RunningHub>,
}

impl Hub {
    pub fn start(lead: &Laptop) -> Hub {
        let seed = lead
            .store
            .hub_seed()
            .expect("the lead's laptop seeds a hub");
        let running = tinjau_server::hub::start(
            tinjau_server::hub::HubConfig {
                dir: lead.dir.path().join("hub"),
                listen: "127.0.0.1:0".parse().unwrap(),
                clock: Arc::new(chrono::Utc::now),
                random: tinjau_server::console::os_random(),
                max_blob_bytes: tinjau_server::DEFAULT_MAX_BLOB_BYTES,
            },
            &seed,
        )
        .expect("the hub starts");
        Hub {
            url: format!("https://{}", running.addr),
            words: tinjau_core::hub::fingerprint_words(&running.sha256),
            pin: running.pin(),
            running: Some(running),
        }
    }

    /// A hub someone else runs (the desktop app), reached at `url` with the lead's `words`.
    pub fn reached(url: &str, words: &str) -> Hub {
        Hub {
            url: url.to_string(),
            words: words.to_string(),
            pin: String::new(),
            running: None,
        }
    }

    /// The same hub reached at another address (through a proxy); dropping it stops nothing.
    pub fn via(&self, url: &str) -> Hub {
        Hub {
            url: url.to_string(),
            words: self.words.clone(),
            pin: self.pin.clone(),
            running: None,
        }
    }

    /// The hub's own database (`tinjau-server.sqlite3` in the lead's `hub` folder).
    pub fn database(lead: &Laptop) -> PathBuf {
        lead.dir.path().join("hub").join("tinjau-server.sqlite3")
    }

    pub fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.stop();
        }
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            running.stop();
        }
    }
}

/// A hostile laptop: it seals changes exactly as the real client does (same hash, same wire
/// shape, its own device chain) but lets the test set every field, then pushes them over real
/// HTTP with a real token. What other laptops can still do afterwards is the test.
pub struct HostileLaptop {
    pub juror: String,
    pub device_id: uuid::Uuid,
    /// Its device key: it signs every change it seals, as a real laptop does.
    pub device_key: tinjau_core::signing::DeviceKey,
    /// Its device's registration, signed with the identity key its token derives; sent with
    /// every push.
    pub registration: tinjau_core::signing::SignedRegistration,
    /// Where it pushes (a central server, or a hub session).
    pub client: tinjau_sync::Client,
    seq: u64,
    prev_hash: String,
    clock: u64,
}

impl HostileLaptop {
    pub fn new(server_url: &str, token: &str, juror: &str) -> HostileLaptop {
        let device_id = uuid::Uuid::new_v4();
        let mut seed = [0u8; 32];
        seed[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        seed[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        let device_key = tinjau_core::signing::DeviceKey::from_seed(seed);
        let registration = tinjau_core::signing::JurorIdentity::derive(token, COMPETITION, juror)
            .register(tinjau_core::signing::Registration::new(
                COMPETITION,
                juror,
                device_id,
                device_key.public(),
                chrono::Utc::now(),
            ));
        HostileLaptop {
            juror: juror.to_string(),
            device_id,
            device_key,
            registration,
            client: tinjau_sync::Client::new(server_url, token, None).expect("a client"),
            seq: 0,
            prev_hash: tinjau_core::chain::GENESIS_HASH.to_string(),
            clock: chrono::Utc::now().timestamp_millis() as u64,
        }
    }

    /// The next change of this laptop's chain, well formed: a score of the visit's indicator
    /// by this juror. `edit` may then change any field before it is sealed.
    pub fn change(&mut self, edit: impl FnOnce(&mut ChangeEntry)) -> ChangeEntry {
        self.seq += 1;
        self.clock += 1;
        let mut entry = ChangeEntry {
            change_id: uuid::Uuid::new_v4(),
            device_id: self.device_id,
            seq: self.seq,
            author: self.juror.clone(),
            entity: tinjau_core::Entity::Score,
            row_id: tinjau_core::ids::score_id(COMPETITION, &self.juror, VISIT, "I1"),
            visit_id: Some(VISIT.to_string()),
            target_id: Some("I1".to_string()),
            field: "value".to_string(),
            value: "75.0".to_string(),
            base_version: 0,
            hlc: tinjau_core::hlc::Hlc {
                wall_millis: self.clock,
                counter: 0,
            },
            resolves: None,
            prev_hash: String::new(),
            hash: String::new(),
            signature: None,
        };
        edit(&mut entry);
        let sealed = entry.seal(&self.prev_hash.clone());
        self.prev_hash = sealed.hash.clone();
        sealed.signed(&self.device_key)
    }

    /// A change of `entity`.`field` with the raw JSON `value` (any bytes at all), on a record
    /// this juror owns.
    pub fn value(&mut self, entity: tinjau_core::Entity, field: &str, value: &str) -> ChangeEntry {
        let juror = self.juror.clone();
        self.change(|entry| {
            entry.entity = entity;
            entry.field = field.to_string();
            entry.value = value.to_string();
            match entity {
                tinjau_core::Entity::Sheet => {
                    entry.row_id = tinjau_core::ids::sheet_id("skk-jatim-2023", &juror, VISIT);
                    entry.target_id = None;
                }
                tinjau_core::Entity::Observation => {
                    entry.row_id = uuid::Uuid::new_v4();
                    entry.target_id = None;
                }
                tinjau_core::Entity::Evidence => {
                    let owner = uuid::Uuid::new_v4();
                    entry.row_id = uuid::Uuid::new_v4();
                    entry.target_id = Some(owner.to_string());
                }
                _ => {}
            }
        })
    }

    /// Pushes changes as they are, in one request.
    pub fn push(
        &self,
        changes: Vec<ChangeEntry>,
    ) -> tinjau_sync::SyncResult<tinjau_core::sync::PushResponse> {
        self.push_as(self.device_id, changes)
    }

    /// Pushes changes naming `device_id` as the pushing device.
    pub fn push_as(
        &self,
        device_id: uuid::Uuid,
        changes: Vec<ChangeEntry>,
    ) -> tinjau_sync::SyncResult<tinjau_core::sync::PushResponse> {
        let request = tinjau_core::sync::PushRequest {
            device_id,
            client_time_ms: chrono::Utc::now().timestamp_millis(),
            changes,
            registrations: vec![self.registration.clone()],
        };
        self.client.push(&request).map(|(answer, _, _)| answer)
    }

    /// Pushes one change and returns the server's outcome for it.
    pub fn push_one(&self, change: ChangeEntry) -> tinjau_core::sync::Outcome {
        let mut answer = self.push(vec![change]).expect("the server answers a push");
        answer.outcomes.remove(0).outcome
    }
}

/// The score of `juror` on `indicator` of the demo visit that a laptop holds.
pub fn score_on(laptop: &Laptop, juror: &str, indicator: &str) -> Option<f64> {
    use rusqlite::OptionalExtension;
    rusqlite::Connection::open(laptop.dir.path().join(tinjau_store::DATABASE_FILE))
        .unwrap()
        .query_row(
            "SELECT value FROM score WHERE juror_id = ?1 AND visit_id = ?2 AND indicator_id = ?3",
            [juror, VISIT, indicator],
            |r| r.get(0),
        )
        .optional()
        .unwrap()
}

/// The refusal code of an outcome, when it is a refusal.
pub fn refusal_code(
    outcome: &tinjau_core::sync::Outcome,
) -> Option<tinjau_core::change::RefusalCode> {
    match outcome {
        tinjau_core::sync::Outcome::Rejected { code, .. } => Some(*code),
        _ => None,
    }
}

/// A copy of a laptop's whole data folder (`cp -a`), opened as another laptop.
pub fn copy_laptop(laptop: &Laptop) -> Laptop {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", laptop.dir.path().display()))
        .arg(dir.path())
        .status()
        .expect("cp");
    assert!(status.success());
    let store = Laptop::open(dir.path(), laptop.skew);
    Laptop {
        dir,
        store,
        skew: laptop.skew,
    }
}

/// What the fault proxy does to the next connection(s).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    Pass,
    /// Wait this long before forwarding each piece, both ways.
    Delay(Duration),
    /// Close the connection after this many more bytes from client to server (once).
    CutAfter(u64),
    /// Let the request through, then close instead of forwarding the server's answer (once).
    DropResponse,
    /// Flip one byte, this many bytes into the client-to-server stream (once).
    FlipByteAt(u64),
    /// Forward at most this many bytes per second, both ways.
    Throttle(u64),
    /// A poor link for the connections opened while it is set (see [`Link`]).
    Link(Link),
}

/// A field link: every connection through the proxy shares it, as a jury shares one phone's
/// hotspot. Each direction carries `bytes_per_second` (a piece waits for the link to be free,
/// then takes its size ÷ bandwidth on it), every piece arrives `one_way` after it left, and the
/// link drops every connection crossing it each time another `cut_every` bytes have gone up
/// it (or, with `cuts_count_down`, have crossed it either way: a download is cut too). Bytes
/// the proxy holds when the link drops are lost, as on a real link.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Link {
    pub bytes_per_second: u64,
    pub one_way: Duration,
    pub cut_every: Option<u64>,
    pub cuts_count_down: bool,
}

/// The link's shared clock: when each direction is next free, bytes since the last cut.
#[derive(Default)]
struct LinkClock {
    up_free: Option<Instant>,
    down_free: Option<Instant>,
    since_cut: u64,
    /// Bytes that went onto the link upwards, delivered or lost in a cut.
    carried_up: u64,
    cuts: u64,
    generation: u64,
}

struct ProxyState {
    link: Mutex<LinkClock>,
    fault: Mutex<Fault>,
    upstream: Mutex<SocketAddr>,
    bytes_up: AtomicU64,
    bytes_down: AtomicU64,
    stop: AtomicBool,
}

/// A TCP proxy in front of a server that injects faults.
pub struct Proxy {
    pub url: String,
    state: Arc<ProxyState>,
}

fn address_of(url: &str) -> SocketAddr {
    url.trim_start_matches("http://")
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .parse()
        .expect("host:port")
}

impl Proxy {
    pub fn start(server_url: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(ProxyState {
            link: Mutex::new(LinkClock::default()),
            fault: Mutex::new(Fault::Pass),
            upstream: Mutex::new(address_of(server_url)),
            bytes_up: AtomicU64::new(0),
            bytes_down: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        });
        let shared = state.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if shared.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let shared = shared.clone();
                std::thread::spawn(move || connection(shared, client));
            }
        });
        Proxy { url, state }
    }

    pub fn set(&self, fault: Fault) {
        *self.state.fault.lock().unwrap() = fault;
    }

    pub fn fault(&self) -> Fault {
        *self.state.fault.lock().unwrap()
    }

    /// Points the proxy at another server address (after a restart).
    pub fn retarget(&self, server_url: &str) {
        *self.state.upstream.lock().unwrap() = address_of(server_url);
    }

    /// Bytes forwarded from clients to the server so far.
    pub fn bytes_up(&self) -> u64 {
        self.state.bytes_up.load(Ordering::SeqCst)
    }

    pub fn bytes_down(&self) -> u64 {
        self.state.bytes_down.load(Ordering::SeqCst)
    }

    /// How many times a [`Link`] dropped its connections.
    pub fn cuts(&self) -> u64 {
        self.state.link.lock().unwrap().cuts
    }

    /// Bytes a [`Link`] carried upwards: those delivered and those a cut lost on the way.
    pub fn link_bytes_up(&self) -> u64 {
        self.state.link.lock().unwrap().carried_up
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(address_of(&self.url));
    }
}

fn connection(state: Arc<ProxyState>, client: TcpStream) {
    let upstream = *state.upstream.lock().unwrap();
    let Ok(server) = TcpStream::connect(upstream) else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    let fault = *state.fault.lock().unwrap();
    if let Fault::Link(link) = fault {
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        let up = (client.try_clone().unwrap(), server.try_clone().unwrap());
        let down = (server.try_clone().unwrap(), client.try_clone().unwrap());
        let up_state = state.clone();
        std::thread::spawn(move || link_pump(up_state, link, true, up.0, up.1));
        link_pump(state, link, false, down.0, down.1);
        return;
    }
    let (client_read, server_write) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    let up_state = state.clone();
    let (client_close, server_close) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    std::thread::spawn(move || {
        pump_up(
            up_state,
            client_read,
            server_write,
            client_close,
            server_close,
        )
    });
    pump_down(state, server, client);
}

/// One direction of a [`Link`]: pieces are read as they come, given their time on the shared
/// link, and written by a second thread when they arrive; a cut closes both sockets.
fn link_pump(state: Arc<ProxyState>, link: Link, up: bool, mut from: TcpStream, to: TcpStream) {
    let (sender, receiver) = std::sync::mpsc::sync_channel::<(Instant, Vec<u8>)>(64);
    let mut writer = to.try_clone().unwrap();
    let writer_state = state.clone();
    let delivery = std::thread::spawn(move || {
        for (at, piece) in receiver {
            let now = Instant::now();
            if at > now {
                std::thread::sleep(at - now);
            }
            if writer.write_all(&piece).is_err() {
                break;
            }
            let counter = if up {
                &writer_state.bytes_up
            } else {
                &writer_state.bytes_down
            };
            counter.fetch_add(piece.len() as u64, Ordering::SeqCst);
        }
        let _ = writer.shutdown(Shutdown::Write);
    });
    let generation = state.link.lock().unwrap().generation;
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let read = match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        let (arrives, cut) = {
            let mut clock = state.link.lock().unwrap();
            if clock.generation != generation {
                (Instant::now(), true)
            } else {
                let now = Instant::now();
                let free = if up {
                    &mut clock.up_free
                } else {
                    &mut clock.down_free
                };
                let start = free.map_or(now, |f| f.max(now));
                let done =
                    start + Duration::from_secs_f64(read as f64 / link.bytes_per_second as f64);
                *free = Some(done);
                if up {
                    clock.carried_up += read as u64;
                }
                if up || link.cuts_count_down {
                    clock.since_cut += read as u64;
                }
                let cut = link.cut_every.is_some_and(|every| clock.since_cut >= every);
                if cut {
                    clock.since_cut = 0;
                    clock.cuts += 1;
                    clock.generation += 1;
                }
                (done + link.one_way, cut)
            }
        };
        if cut {
            break;
        }
        if sender.send((arrives, buffer[..read].to_vec())).is_err() {
            break;
        }
    }
    drop(sender);
    // A cut (or the end of this direction) closes the connection once what is in flight is
    // delivered; a cut loses what the link still held.
    if state.link.lock().unwrap().generation != generation {
        close(&from, &to);
    }
    let _ = delivery.join();
}

fn close(a: &TcpStream, b: &TcpStream) {
    let _ = a.shutdown(Shutdown::Both);
    let _ = b.shutdown(Shutdown::Both);
}

fn pump_up(
    state: Arc<ProxyState>,
    mut from: TcpStream,
    mut to: TcpStream,
    client: TcpStream,
    server: TcpStream,
) {
    let mut buffer = vec![0u8; 64 * 1024];
    while let Ok(read) = from.read(&mut buffer) {
        if read == 0 {
            let _ = to.shutdown(Shutdown::Write);
            break;
        }
        let mut chunk = &mut buffer[..read];
        let fault = *state.fault.lock().unwrap();
        match fault {
            Fault::Delay(delay) => std::thread::sleep(delay),
            Fault::Throttle(rate) => {
                std::thread::sleep(Duration::from_secs_f64(read as f64 / rate as f64))
            }
            Fault::CutAfter(remaining) => {
                if (read as u64) >= remaining {
                    chunk = &mut chunk[..remaining as usize];
                    let _ = to.write_all(chunk);
                    state
                        .bytes_up
                        .fetch_add(chunk.len() as u64, Ordering::SeqCst);
                    *state.fault.lock().unwrap() = Fault::Pass;
                    close(&client, &server);
                    return;
                }
                *state.fault.lock().unwrap() = Fault::CutAfter(remaining - read as u64);
            }
            Fault::FlipByteAt(position) => {
                if (read as u64) > position {
                    chunk[position as usize] ^= 0xff;
                    *state.fault.lock().unwrap() = Fault::Pass;
                } else {
                    *state.fault.lock().unwrap() = Fault::FlipByteAt(position - read as u64);
                }
            }
            Fault::Pass | Fault::DropResponse | Fault::Link(_) => {}
        }
        if to.write_all(chunk).is_err() {
            break;
        }
        state
            .bytes_up
            .fetch_add(chunk.len() as u64, Ordering::SeqCst);
    }
}

fn pump_down(state: Arc<ProxyState>, mut from: TcpStream, mut to: TcpStream) {
    let mut buffer = vec![0u8; 64 * 1024];
    while let Ok(read) = from.read(&mut buffer) {
        if read == 0 {
            let _ = to.shutdown(Shutdown::Write);
            break;
        }
        let fault = *state.fault.lock().unwrap();
        match fault {
            Fault::DropResponse => {
                // The server answered, so it committed; the client never hears it.
                *state.fault.lock().unwrap() = Fault::Pass;
                close(&from, &to);
                return;
            }
            Fault::Delay(delay) => std::thread::sleep(delay),
            Fault::Throttle(rate) => {
                std::thread::sleep(Duration::from_secs_f64(read as f64 / rate as f64))
            }
            _ => {}
        }
        if to.write_all(&buffer[..read]).is_err() {
            break;
        }
        state.bytes_down.fetch_add(read as u64, Ordering::SeqCst);
    }
}

/// The demo jury, the lead first.
pub const JURY: [&str; 7] = [
    "ketua",
    "akademisi",
    "dindik",
    "biro-hukum",
    "peneliti",
    "dinkes",
    "dinkop",
];

/// The demo jury with their roles, as [`Server::start`] takes them.
pub fn jury_roles() -> Vec<(&'static str, &'static str)> {
    JURY.iter()
        .map(|j| (*j, if *j == "ketua" { "lead" } else { "juror" }))
        .collect()
}

/// `len` bytes that do not compress (so the wire carries the whole file), distinct per `seed`.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// The passphrase the tests' CLI and desktop app encrypt their data folders with
/// (`TINJAU_PASSPHRASE`; there is no system keyring under test).
pub const TEST_PASSPHRASE: &str = "kata sandi uji tinjau";

/// How the tests open a data folder the CLI or the desktop app wrote.
pub fn test_unlock() -> tinjau_store::crypt::Unlock {
    tinjau_store::crypt::Unlock::Passphrase(zeroize::Zeroizing::new(TEST_PASSPHRASE.into()))
}

/// A store over a data folder the CLI or the desktop app wrote (encrypted with
/// [`TEST_PASSPHRASE`]).
pub fn open_app_store(data_dir: &Path) -> Store {
    Store::open(
        data_dir,
        StoreOptions {
            unlock: Some(test_unlock()),
            ..StoreOptions::default()
        },
    )
    .expect("opening the app's data folder")
}

/// The `tinjau` CLI, with the passphrase the tests' data folders are encrypted with.
pub fn tinjau_cli() -> Command {
    let mut command = Command::new(bin("tinjau"));
    command.env("TINJAU_PASSPHRASE", TEST_PASSPHRASE);
    command
}

/// The database of a data folder the CLI or the desktop app wrote.
pub fn app_database(data_dir: &Path) -> rusqlite::Connection {
    tinjau_store::crypt::open_database(data_dir, &test_unlock()).expect("opening the database")
}

/// A phone-like JPEG photo, `width`×`height` as the sensor stored it, whose EXIF carries a
/// capture time, Junrejo's position and `orientation` (6: the phone was held upright, so the
/// picture must be turned 90° clockwise to be seen right). The scene is a smooth gradient with
/// fine grain (`seed` varies it), so it compresses like a photo: at 4000×3000 and quality 92
/// it is about 4 MB. The top-left quarter is red, the rest green-blue: a test can tell which
/// way a preview was turned.
pub fn phone_photo(width: u16, height: u16, orientation: u16, seed: u64) -> Vec<u8> {
    use exif::{Field, In, Tag, Value};
    let mut writer = exif::experimental::Writer::new();
    let fields = [
        Field {
            tag: Tag::Orientation,
            ifd_num: In::PRIMARY,
            value: Value::Short(vec![orientation]),
        },
        Field {
            tag: Tag::DateTimeOriginal,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"2023:11:28 10:15:00".to_vec()]),
        },
        Field {
            tag: Tag::GPSLatitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(vec![(7, 1).into(), (54, 1).into(), (0, 1).into()]),
        },
        Field {
            tag: Tag::GPSLatitudeRef,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"S".to_vec()]),
        },
        Field {
            tag: Tag::GPSLongitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(vec![(112, 1).into(), (33, 1).into(), (0, 1).into()]),
        },
        Field {
            tag: Tag::GPSLongitudeRef,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"E".to_vec()]),
        },
    ];
    for field in &fields {
        writer.push_field(field);
    }
    let mut tiff = std::io::Cursor::new(Vec::new());
    writer.write(&mut tiff, false).unwrap();
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(tiff.get_ref());
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut grain = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 26) as i32 - 13
    };
    let (w, h) = (u32::from(width), u32::from(height));
    let mut pixels = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            let base: [i32; 3] = if x < w / 2 && y < h / 2 {
                [200, 40, 40]
            } else {
                [
                    40 + (x * 120 / w) as i32,
                    90 + (y * 100 / h) as i32,
                    150 + ((x + y) * 60 / (w + h)) as i32,
                ]
            };
            let g = grain();
            pixels.extend(base.map(|c| (c + g).clamp(0, 255) as u8));
        }
    }
    let mut jpeg = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut jpeg, 92);
    encoder.add_app_segment(1, app1).unwrap();
    encoder
        .encode(&pixels, width, height, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    jpeg
}

/// A real 32×24 JPEG photo whose EXIF says it was taken at `datetime` ("YYYY:MM:DD HH:MM:SS"),
/// at Junrejo's approximate position.
pub fn photo(datetime: &str) -> Vec<u8> {
    use exif::{Field, In, Rational, Tag, Value};
    let ascii = |text: &str| Value::Ascii(vec![text.as_bytes().to_vec()]);
    let dms = |degrees: u32, minutes: u32| {
        Value::Rational(vec![
            Rational::from((degrees, 1)),
            Rational::from((minutes, 1)),
            Rational::from((0, 1)),
        ])
    };
    let fields = [
        Field {
            tag: Tag::DateTimeOriginal,
            ifd_num: In::PRIMARY,
            value: ascii(datetime),
        },
        Field {
            tag: Tag::GPSLatitude,
            ifd_num: In::PRIMARY,
            value: dms(7, 54),
        },
        Field {
            tag: Tag::GPSLatitudeRef,
            ifd_num: In::PRIMARY,
            value: ascii("S"),
        },
        Field {
            tag: Tag::GPSLongitude,
            ifd_num: In::PRIMARY,
            value: dms(112, 33),
        },
        Field {
            tag: Tag::GPSLongitudeRef,
            ifd_num: In::PRIMARY,
            value: ascii("E"),
        },
    ];
    let mut writer = exif::experimental::Writer::new();
    for field in &fields {
        writer.push_field(field);
    }
    let mut tiff = std::io::Cursor::new(Vec::new());
    writer.write(&mut tiff, false).unwrap();
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(tiff.get_ref());
    let (width, height) = (32u16, 24u16);
    let pixels: Vec<u8> = (0..u32::from(width) * u32::from(height))
        .flat_map(|i| [(i % 256) as u8, 120, (255 - i % 256) as u8])
        .collect();
    let mut jpeg = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut jpeg, 85);
    encoder.add_app_segment(1, app1).unwrap();
    encoder
        .encode(&pixels, width, height, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    jpeg
}
