//! The test vocabulary: a juror's laptop with a controllable clock and a database dump.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, TimeZone, Utc};
use tinjau_store::{Clock, RandomSource, Store, StoreOptions};

pub const DEMO: &str = include_str!("../../../../assets/skk-jatim-2023.json");
pub const VISIT: &str = "visit-junrejo";

/// A clock the test moves by hand; it ticks one second per reading so records are ordered.
#[derive(Clone)]
pub struct TestClock(Arc<Mutex<DateTime<Utc>>>);

impl TestClock {
    pub fn at(time: DateTime<Utc>) -> Self {
        TestClock(Arc::new(Mutex::new(time)))
    }

    pub fn set(&self, time: DateTime<Utc>) {
        *self.0.lock().unwrap() = time;
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        let mut now = self.0.lock().unwrap();
        let reading = *now;
        *now += Duration::seconds(1);
        reading
    }
}

/// Predictable "random" bytes; each laptop of a test gets its own stream (and so its own
/// device id), as real laptops would.
pub struct CountingRandom(u64);

static LAPTOPS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl CountingRandom {
    pub fn new() -> Self {
        CountingRandom(LAPTOPS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) << 32)
    }
}

impl RandomSource for CountingRandom {
    fn random_bytes(&mut self) -> [u8; 10] {
        self.0 += 1;
        let mut bytes = [0; 10];
        bytes[2..].copy_from_slice(&self.0.to_be_bytes());
        bytes
    }
}

/// One juror's store as a test holds it: a data directory, its clock, the store in it.
pub struct TestStore {
    pub dir: tempfile::TempDir,
    pub clock: TestClock,
    pub store: Store,
}

pub fn visit_day() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2023, 11, 28, 2, 0, 0).unwrap()
}

pub fn options(clock: &TestClock, limit: u64) -> StoreOptions {
    StoreOptions {
        clock: Box::new(clock.clone()),
        random: Box::new(CountingRandom::new()),
        evidence_limit_bytes: limit,
        unlock: None,
    }
}

impl TestStore {
    /// An empty store.
    pub fn empty() -> TestStore {
        TestStore::with_limit(tinjau_store::DEFAULT_EVIDENCE_LIMIT_BYTES)
    }

    pub fn with_limit(limit: u64) -> TestStore {
        let dir = tempfile::tempdir().unwrap();
        let clock = TestClock::at(visit_day());
        let store = Store::open(dir.path(), options(&clock, limit)).unwrap();
        TestStore { dir, clock, store }
    }

    /// A store with the demo package imported and `juror` chosen.
    pub fn juror(juror: &str) -> TestStore {
        let mut laptop = TestStore::empty();
        laptop.store.import_package(DEMO.as_bytes()).unwrap();
        laptop.store.init_juror(juror).unwrap();
        laptop
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Every row of every table, plus the evidence files: equal dumps mean nothing was written.
    pub fn dump(&self) -> String {
        dump(self.path())
    }

    pub fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

pub fn dump(dir: &Path) -> String {
    let conn = rusqlite::Connection::open(dir.join(tinjau_store::DATABASE_FILE)).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = String::new();
    for table in tables {
        out.push_str(&format!("== {table}\n"));
        let width = conn
            .prepare(&format!("SELECT * FROM {table}"))
            .unwrap()
            .column_count();
        let order = if width > 1 { "1, 2" } else { "1" };
        let mut statement = conn
            .prepare(&format!("SELECT * FROM {table} ORDER BY {order}"))
            .unwrap();
        let columns = statement.column_count();
        let mut rows = statement.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            let values: Vec<String> = (0..columns)
                .map(|i| format!("{:?}", row.get_ref(i).unwrap()))
                .collect();
            out.push_str(&values.join(" | "));
            out.push('\n');
        }
    }
    let evidence = dir.join("evidence");
    if evidence.exists() {
        let mut files: Vec<String> = walk(&evidence);
        files.sort();
        out.push_str(&format!("== files\n{}\n", files.join("\n")));
    }
    out
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path.display().to_string());
        }
    }
    out
}

/// The demo package as a JSON value, to mutate.
pub fn demo_value() -> serde_json::Value {
    serde_json::from_str(DEMO).unwrap()
}
