//! The juror's offline store.
//!
//! One SQLite file (`tinjau.sqlite3`, WAL, `synchronous=FULL`) plus an `evidence/` folder of
//! content-addressed files, both under one data directory. Every mutation writes its domain row
//! and its change-log entry in one transaction, so anything reported as saved survives a crash,
//! and the change log (a per-device hash chain) is both the audit trail and what sync pushes.

mod bundle;
mod changes;
pub mod crypt;
mod documents;
mod error;
mod evidence;
mod exchange;
mod lead;
mod migrations;
mod projection;
mod queries;
mod records;
mod reports;
mod signing;
mod sync;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use tinjau_core::Package;
use tinjau_core::chain::ChangeEntry;
use uuid::Uuid;

pub use bundle::{BundleReport, replay_bundle};
pub use documents::save_without_overwriting;
pub use error::StoreError;
pub use evidence::DEFAULT_EVIDENCE_LIMIT_BYTES;
pub use exchange::{
    EvidenceBlob, MAX_SHEET_FILE_BYTES, RefusedChange, SHEET_FORMAT, SheetFile, SheetImportReport,
};
pub use lead::QuarantinedChange;
pub use migrations::{MIGRATIONS, apply_migrations_up_to};
pub use records::{ImportOutcome, VerifyRequest};
pub use sync::{Destination, MissingFile, PendingUpload, SyncSettings, VisitHub};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The database's file name inside the data directory.
pub const DATABASE_FILE: &str = "tinjau.sqlite3";

/// Where "now" comes from. Passed in so tests are deterministic and clock skew is testable.
pub trait Clock: Send {
    fn now(&self) -> DateTime<Utc>;
}

/// The wall clock of this machine.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// This machine's clock moved by a fixed offset: a laptop whose clock is wrong (tests of clock
/// skew use it; so could a training session set in the past).
#[derive(Debug, Clone, Copy)]
pub struct OffsetClock(pub chrono::Duration);

impl Clock for OffsetClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.0
    }
}

/// Where the random part of new ids comes from.
pub trait RandomSource: Send {
    fn random_bytes(&mut self) -> [u8; 10];
}

/// The operating system's randomness.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn random_bytes(&mut self) -> [u8; 10] {
        let bytes = *Uuid::new_v4().as_bytes();
        let mut out = [0; 10];
        out.copy_from_slice(&bytes[..10]);
        out
    }
}

pub struct StoreOptions {
    pub clock: Box<dyn Clock>,
    pub random: Box<dyn RandomSource>,
    /// Evidence files larger than this are refused.
    pub evidence_limit_bytes: u64,
    /// Opens (or, for a plain folder, encrypts) the data folder at rest; `None` opens a plain
    /// folder only (tests and tools working on copies).
    pub unlock: Option<crypt::Unlock>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            clock: Box::new(SystemClock),
            random: Box::new(OsRandom),
            evidence_limit_bytes: DEFAULT_EVIDENCE_LIMIT_BYTES,
            unlock: None,
        }
    }
}

pub struct Store {
    conn: Connection,
    data_dir: PathBuf,
    /// The key the data folder is encrypted with, when it is.
    key: Option<crypt::StoreKey>,
    options: StoreOptions,
    device_id: Uuid,
    /// The imported package, parsed once (it is re-read after every import).
    package: Option<Package>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("data_dir", &self.data_dir)
            .field("device_id", &self.device_id)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if needed) the store in `data_dir`, upgrading its schema.
    #[tracing::instrument(skip(options), err(level = "debug"))]
    pub fn open(data_dir: &Path, mut options: StoreOptions) -> Result<Store> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::Io {
            context: format!("creating the data directory {}", data_dir.display()),
            source,
        })?;
        let database = data_dir.join(DATABASE_FILE);
        let key = match options.unlock.take() {
            Some(unlock) => {
                let key = crypt::resolve(data_dir, &unlock, options.random.as_mut())?;
                crypt::encrypt_in_place(data_dir, &database, &key, options.random.as_mut())?;
                Some(key)
            }
            None if database.exists() && !crypt::is_plain_database(&database) => {
                return Err(StoreError::Locked);
            }
            None => None,
        };
        let mut conn = open_keyed_connection(&database, key.as_ref())?;
        migrations::migrate(&mut conn)?;

        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let device_id = match meta_get(&tx, "device_id")? {
            Some(text) => Uuid::parse_str(&text)
                .map_err(|_| StoreError::Corrupt(format!("meta.device_id is \"{text}\"")))?,
            None => {
                let random = options.random.random_bytes();
                let id = tinjau_core::ids::record_id(
                    options.clock.now().timestamp_millis().max(0) as u64,
                    random,
                );
                meta_set(&tx, "device_id", &id.to_string())?;
                id
            }
        };
        // The device's signing key (docs/signing.md): made once, kept in the (encrypted)
        // database; folders from before signing get theirs at this open.
        if meta_get(&tx, DEVICE_KEY)?.is_none() {
            meta_set(&tx, DEVICE_KEY, &new_device_key(options.random.as_mut()))?;
        }
        sign_own_history(&tx, device_id)?;
        // A push interrupted by a crash left its changes in flight: send them again.
        tx.execute(
            "UPDATE change_log SET sync_state = 'pending' WHERE sync_state = 'inflight'",
            [],
        )?;
        tx.commit()?;

        let mut store = Store {
            conn,
            data_dir: data_dir.to_path_buf(),
            key,
            options,
            device_id,
            package: None,
        };
        store.package = store.load_package()?;
        Ok(store)
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The bytes of a stored evidence file, or `None` when it has not reached this laptop yet
    /// (or `hash` is not a hash at all).
    pub fn evidence_bytes(&self, hash: &str) -> Result<Option<Vec<u8>>> {
        let path = evidence::stored_path(&self.data_dir, hash);
        match crypt::EvidenceSource::open(&path, self.key.as_ref()).and_then(|mut f| f.read_all()) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StoreError::Io {
                context: format!("reading evidence file {hash}"),
                source,
            }),
        }
    }

    /// Stores bytes received from elsewhere (sync, a sheet file) after checking their hash,
    /// sealed under this store's key when it has one.
    pub(crate) fn store_received(&mut self, hash: &str, bytes: &[u8]) -> Result<Option<PathBuf>> {
        let seal = self
            .key
            .as_ref()
            .map(|key| (key, self.options.random.as_mut() as &mut dyn RandomSource));
        evidence::store_bytes(&self.data_dir, hash, bytes, seal)
    }

    /// Whether this data folder is encrypted at rest.
    pub fn encrypted(&self) -> bool {
        self.key.is_some()
    }

    /// What opens another connection to this data folder the way this one was opened.
    pub fn reopen_with(&self) -> Option<crypt::Unlock> {
        self.key.clone().map(crypt::Unlock::Opened)
    }

    pub fn device_id(&self) -> Uuid {
        self.device_id
    }

    /// This device's signing key: every change it writes is signed with it.
    pub fn device_key(&self) -> Result<tinjau_core::signing::DeviceKey> {
        device_key_of(&self.conn)
    }

    /// The imported package, or an error saying none was imported.
    pub fn package(&self) -> Result<&Package> {
        self.package.as_ref().ok_or(StoreError::NoPackage)
    }

    /// This store's juror, set by `init`.
    pub fn juror_id(&self) -> Result<String> {
        meta_get(&self.conn, "juror_id")?.ok_or(StoreError::NoJuror)
    }

    /// Changes not yet acknowledged by a server.
    pub fn unsynced_changes(&self) -> Result<u64> {
        let count: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM change_log WHERE device_id = ?1 AND sync_state <> 'acked'",
            params![self.device_id.to_string()],
            |row| row.get(0),
        )?;
        Ok(count as u64)
    }

    /// Runs SQLite's own consistency check; `Ok(())` when it answers "ok".
    pub fn integrity_check(&self) -> Result<()> {
        let answer: String = self
            .conn
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))?;
        if answer == "ok" {
            Ok(())
        } else {
            Err(StoreError::Corrupt(format!(
                "SQLite integrity check: {answer}"
            )))
        }
    }

    /// This store's clock, in Unix milliseconds (what sync reports as the client's time).
    pub fn now_millis(&self) -> i64 {
        self.now().timestamp_millis()
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.options.clock.now()
    }

    fn now_text(&self) -> String {
        self.now().to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    fn new_record_id(&mut self) -> Uuid {
        let millis = self.now().timestamp_millis().max(0) as u64;
        tinjau_core::ids::record_id(millis, self.options.random.random_bytes())
    }

    fn load_package(&self) -> Result<Option<Package>> {
        let text: Option<String> = self
            .conn
            .query_row("SELECT package FROM competition LIMIT 1", [], |row| {
                row.get(0)
            })
            .optional()?;
        text.map(|text| {
            serde_json::from_str(&text)
                .map_err(|e| StoreError::Corrupt(format!("stored package: {e}")))
        })
        .transpose()
    }
}

/// Opens a connection with the pragmas every Tinjau database uses.
pub fn open_connection(path: &Path) -> Result<Connection> {
    open_keyed_connection(path, None)
}

/// A connection to an encrypted (`key`) or plain database, set up as the store uses it. A
/// wrong key shows at the first read (SQLCipher reads the file as "not a database").
pub fn open_keyed_connection(path: &Path, key: Option<&crypt::StoreKey>) -> Result<Connection> {
    let conn = Connection::open(path)?;
    if let Some(key) = key {
        crypt::key_connection(&conn, key)?;
        if let Err(error) = conn.query_row("SELECT COUNT(*) FROM sqlite_master", [], |_| Ok(())) {
            return Err(match error {
                rusqlite::Error::SqliteFailure(e, _)
                    if e.code == rusqlite::ErrorCode::NotADatabase =>
                {
                    StoreError::WrongKey
                }
                other => other.into(),
            });
        }
    }
    conn.busy_timeout(Duration::from_secs(5))?;
    // WAL lets a reader (the desktop app's views) run beside a writer; FULL makes each commit
    // durable on its own, which is the promise behind "Tersimpan".
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

pub(crate) fn meta_get(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |row| {
            row.get(0)
        })
        .optional()?)
}

pub(crate) fn meta_set(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

/// Where a data folder keeps its device's signing key (the seed, hex).
const DEVICE_KEY: &str = "device_key";

/// Signs this device's entries written before signing (once, at the first open after the
/// upgrade; later opens find none): its own history is its own to sign, so what it has not yet
/// sent goes out signed, and what it sent before is covered as well (`docs/signing.md`).
fn sign_own_history(conn: &Connection, device_id: Uuid) -> Result<()> {
    let unsigned: Vec<ChangeEntry> = conn
        .prepare(&format!(
            "SELECT {} FROM change_log WHERE device_id = ?1 AND signature IS NULL ORDER BY seq",
            changes::ENTRY_COLUMNS
        ))?
        .query_map([device_id.to_string()], changes::entry_from_row)?
        .collect::<rusqlite::Result<_>>()?;
    if unsigned.is_empty() {
        return Ok(());
    }
    let key = device_key_of(conn)?;
    for entry in &unsigned {
        conn.execute(
            "UPDATE change_log SET signature = ?1 WHERE change_id = ?2",
            params![
                key.sign_change(entry).to_string(),
                entry.change_id.to_string()
            ],
        )?;
    }
    tracing::info!(
        signed = unsigned.len(),
        "signed this device's history from before signing"
    );
    Ok(())
}

/// The device signing key a data folder keeps.
pub(crate) fn device_key_of(conn: &Connection) -> Result<tinjau_core::signing::DeviceKey> {
    let text = meta_get(conn, DEVICE_KEY)?
        .ok_or_else(|| StoreError::Corrupt("meta.device_key is missing".into()))?;
    let seed = zeroize::Zeroizing::new(
        tinjau_core::hex::decode_array::<32>(&text)
            .ok_or_else(|| StoreError::Corrupt("meta.device_key is not 32 bytes of hex".into()))?,
    );
    Ok(tinjau_core::signing::DeviceKey::from_seed(*seed))
}

/// A new device signing key's seed (32 random bytes), as the data folder keeps it.
fn new_device_key(random: &mut dyn RandomSource) -> zeroize::Zeroizing<String> {
    let mut seed = zeroize::Zeroizing::new([0u8; 32]);
    crypt::fill(random, seed.as_mut());
    zeroize::Zeroizing::new(tinjau_core::hex::encode(seed.as_ref()))
}
