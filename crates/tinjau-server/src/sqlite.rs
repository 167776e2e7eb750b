//! The embedded backend's glue: one SQLite file, one connection, writes serialised by SQLite
//! itself (`BEGIN IMMEDIATE`), blocking calls moved off the async runtime. What is stored is
//! written once, in `store.rs`; here a transaction runs a statement.

use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, TransactionBehavior};

use crate::store::{BackendError, BackendResult, Cell, Dialect, Param, Row, Tx};

pub struct SqliteBackend {
    conn: Arc<Mutex<Connection>>,
}

/// A transaction on the connection.
pub(crate) struct SqliteTx<'c>(rusqlite::Transaction<'c>);

fn value(param: &Param) -> Value {
    match param {
        Param::Int(v) => Value::Integer(*v),
        Param::Text(t) => Value::Text(t.clone()),
        Param::OptText(Some(t)) => Value::Text(t.clone()),
        Param::OptText(None) => Value::Null,
        Param::Bytes(b) => Value::Blob(b.clone()),
    }
}

impl Tx for SqliteTx<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    async fn query(&mut self, sql: &str, params: &[Param]) -> BackendResult<Vec<Row>> {
        let mut statement = self.0.prepare_cached(sql)?;
        let columns = statement.column_count();
        let values: Vec<Value> = params.iter().map(value).collect();
        let rows = statement
            .query_map(rusqlite::params_from_iter(values.iter()), |row| {
                (0..columns)
                    .map(|i| {
                        Ok(match row.get_ref(i)? {
                            ValueRef::Null => Cell::Null,
                            ValueRef::Integer(v) => Cell::Int(v),
                            ValueRef::Real(v) => Cell::Int(v as i64),
                            ValueRef::Text(t) => {
                                Cell::Text(String::from_utf8_lossy(t).into_owned())
                            }
                            ValueRef::Blob(b) => Cell::Bytes(b.to_vec()),
                        })
                    })
                    .collect::<rusqlite::Result<Vec<_>>>()
                    .map(Row)
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    async fn execute(&mut self, sql: &str, params: &[Param]) -> BackendResult<u64> {
        let values: Vec<Value> = params.iter().map(value).collect();
        let changed = self
            .0
            .prepare_cached(sql)?
            .execute(rusqlite::params_from_iter(values.iter()))?;
        Ok(changed as u64)
    }

    async fn batch(&mut self, sql: &str) -> BackendResult<()> {
        Ok(self.0.execute_batch(sql)?)
    }

    async fn schema_version(&mut self) -> BackendResult<i64> {
        Ok(self.0.query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    async fn set_schema_version(&mut self, version: i64) -> BackendResult<()> {
        Ok(self.0.pragma_update(None, "user_version", version)?)
    }
}

/// Runs a future that never waits — SQLite's calls complete at once — to its end, here on the
/// blocking thread.
fn at_once<F: Future>(future: F) -> BackendResult<F::Output> {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => Ok(output),
        Poll::Pending => Err(BackendError::Task(
            "a SQLite call waited, which it never does".into(),
        )),
    }
}

impl SqliteBackend {
    pub fn open(data_dir: &std::path::Path) -> BackendResult<Self> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            BackendError::Invalid(format!("cannot create {}: {e}", data_dir.display()))
        })?;
        let mut conn = Connection::open(data_dir.join("tinjau-server.sqlite3"))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        {
            let mut tx = SqliteTx(conn.transaction_with_behavior(TransactionBehavior::Immediate)?);
            at_once(crate::store::migrate(&mut tx))??;
            tx.0.commit()?;
        }
        Ok(SqliteBackend {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `work` in one transaction (`write`: taken at once, so writers queue) on the blocking
    /// thread pool, and commits when it succeeds. `work` drives a `store` function with
    /// [`SqliteBackend::finish`].
    pub(crate) async fn transact<T: Send + 'static>(
        &self,
        write: bool,
        work: impl FnOnce(&mut SqliteTx<'_>) -> BackendResult<T> + Send + 'static,
    ) -> BackendResult<T> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let behavior = if write {
                TransactionBehavior::Immediate
            } else {
                TransactionBehavior::Deferred
            };
            let mut tx = SqliteTx(conn.transaction_with_behavior(behavior)?);
            let output = work(&mut tx)?;
            tx.0.commit()?;
            Ok(output)
        })
        .await
        .map_err(|e| BackendError::Task(e.to_string()))?
    }

    /// Copies the database to `out` with SQLite's online backup API, in one step: a consistent
    /// snapshot while the server keeps serving (WAL: writers are not blocked). Written to a
    /// temporary file, checked, then renamed: `out` is whole or absent. Returns its size.
    pub(crate) async fn backup(&self, out: &std::path::Path) -> BackendResult<u64> {
        let conn = self.conn.clone();
        let out = out.to_path_buf();
        tokio::task::spawn_blocking(move || {
            let name = out.file_name().ok_or_else(|| {
                BackendError::Invalid(format!("{} is not a file name", out.display()))
            })?;
            let partial = out.with_file_name(format!(".{}.partial", name.to_string_lossy()));
            let _ = std::fs::remove_file(&partial);
            {
                let conn = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                let mut copy = Connection::open(&partial)?;
                let backup = rusqlite::backup::Backup::new(&conn, &mut copy)?;
                // Every page in one step (-1): the copy is one snapshot even while another
                // process writes; a busy or locked source is tried again.
                let mut tries = 0;
                loop {
                    match backup.step(-1)? {
                        rusqlite::backup::StepResult::Done => break,
                        rusqlite::backup::StepResult::More => {}
                        _ if tries < 100 => {
                            tries += 1;
                            std::thread::sleep(std::time::Duration::from_millis(100));
                        }
                        _ => {
                            return Err(BackendError::Task(
                                "the database stayed busy for 10 seconds: try again".into(),
                            ));
                        }
                    }
                }
            }
            let copy = Connection::open(&partial)?;
            let verdict: String = copy.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
            copy.pragma_update(None, "journal_mode", "DELETE")?;
            drop(copy);
            if verdict != "ok" {
                let _ = std::fs::remove_file(&partial);
                return Err(BackendError::Corrupt(format!(
                    "the backup failed its check: {verdict}"
                )));
            }
            std::fs::File::open(&partial)
                .and_then(|f| f.sync_all())
                .and_then(|()| std::fs::rename(&partial, &out))
                .map_err(|e| BackendError::Invalid(format!("writing {}: {e}", out.display())))?;
            Ok(std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0))
        })
        .await
        .map_err(|e| BackendError::Task(e.to_string()))?
    }

    /// Drives one `store` function to its end inside [`SqliteBackend::transact`].
    pub(crate) fn finish<T>(future: impl Future<Output = BackendResult<T>>) -> BackendResult<T> {
        at_once(future)?
    }
}
