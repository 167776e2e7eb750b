//! The scale-out backend's glue: PostgreSQL through a connection pool. Instances keep nothing
//! in memory that another needs; pushes to one competition are serialised by locking its row
//! (`SELECT … FOR UPDATE`), so log positions are assigned in commit order with no gaps. What is
//! stored is written once, in `store.rs`; here a transaction runs a statement, its arguments
//! converted to the types PostgreSQL declared for them.

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;
use tokio_postgres::types::{ToSql, Type};

use crate::store::{BackendError, BackendResult, Cell, Dialect, Param, Row, Tx};

pub struct PostgresBackend {
    pool: Pool,
}

fn pool_error(error: impl std::fmt::Display) -> BackendError {
    BackendError::Pool(error.to_string())
}

/// A transaction on a pooled connection.
pub(crate) struct PgTx<'c>(pub(crate) deadpool_postgres::Transaction<'c>);

/// An argument as the type PostgreSQL declared for its placeholder.
fn argument(param: &Param, declared: &Type) -> BackendResult<Box<dyn ToSql + Sync + Send>> {
    let mismatch = || {
        BackendError::Invalid(format!(
            "a {param:?} cannot be passed as PostgreSQL {declared}"
        ))
    };
    Ok(match (param, declared) {
        (Param::Int(v), &Type::INT8) => Box::new(*v),
        (Param::Int(v), &Type::INT4) => Box::new(i32::try_from(*v).map_err(|_| mismatch())?),
        (Param::Int(v), &Type::INT2) => Box::new(i16::try_from(*v).map_err(|_| mismatch())?),
        (Param::Int(v), &Type::BOOL) => Box::new(*v != 0),
        (Param::Text(t), _) if is_text(declared) => Box::new(t.clone()),
        (Param::OptText(t), _) if is_text(declared) => Box::new(t.clone()),
        (Param::Bytes(b), &Type::BYTEA) => Box::new(b.clone()),
        _ => return Err(mismatch()),
    })
}

fn is_text(declared: &Type) -> bool {
    matches!(
        *declared,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME
    )
}

fn cell(row: &tokio_postgres::Row, index: usize) -> BackendResult<Cell> {
    let declared = row.columns()[index].type_();
    let cell = match *declared {
        Type::INT8 => row.try_get::<_, Option<i64>>(index)?.map(Cell::Int),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(index)?
            .map(|v| Cell::Int(v.into())),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(index)?
            .map(|v| Cell::Int(v.into())),
        Type::BOOL => row
            .try_get::<_, Option<bool>>(index)?
            .map(|v| Cell::Int(v.into())),
        Type::BYTEA => row.try_get::<_, Option<Vec<u8>>>(index)?.map(Cell::Bytes),
        ref other if is_text(other) => row.try_get::<_, Option<String>>(index)?.map(Cell::Text),
        ref other => {
            return Err(BackendError::Corrupt(format!(
                "column {index} has the unexpected type {other}"
            )));
        }
    };
    Ok(cell.unwrap_or(Cell::Null))
}

impl PgTx<'_> {
    async fn prepared(
        &mut self,
        sql: &str,
        params: &[Param],
    ) -> BackendResult<(tokio_postgres::Statement, Vec<Box<dyn ToSql + Sync + Send>>)> {
        let statement = self.0.prepare_cached(sql).await?;
        let arguments = params
            .iter()
            .zip(statement.params())
            .map(|(param, declared)| argument(param, declared))
            .collect::<BackendResult<Vec<_>>>()?;
        Ok((statement, arguments))
    }
}

fn refs(arguments: &[Box<dyn ToSql + Sync + Send>]) -> Vec<&(dyn ToSql + Sync)> {
    arguments
        .iter()
        .map(|a| a.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

impl Tx for PgTx<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    async fn query(&mut self, sql: &str, params: &[Param]) -> BackendResult<Vec<Row>> {
        let (statement, arguments) = self.prepared(sql, params).await?;
        self.0
            .query(&statement, &refs(&arguments))
            .await?
            .iter()
            .map(|row| {
                (0..row.len())
                    .map(|i| cell(row, i))
                    .collect::<BackendResult<_>>()
                    .map(Row)
            })
            .collect()
    }

    async fn execute(&mut self, sql: &str, params: &[Param]) -> BackendResult<u64> {
        let (statement, arguments) = self.prepared(sql, params).await?;
        Ok(self.0.execute(&statement, &refs(&arguments)).await?)
    }

    async fn batch(&mut self, sql: &str) -> BackendResult<()> {
        // One schema for both backends: PostgreSQL calls SQLite's BLOB type BYTEA.
        Ok(self
            .0
            .batch_execute(&sql.replace(" BLOB ", " BYTEA "))
            .await?)
    }

    async fn schema_version(&mut self) -> BackendResult<i64> {
        // Two instances starting together must not both create the schema.
        self.0
            .execute("SELECT pg_advisory_xact_lock(7413021)", &[])
            .await?;
        self.0
            .batch_execute("CREATE TABLE IF NOT EXISTS tinjau_schema (version BIGINT NOT NULL)")
            .await?;
        Ok(self
            .0
            .query_opt("SELECT version FROM tinjau_schema", &[])
            .await?
            .map_or(0, |row| row.get(0)))
    }

    async fn set_schema_version(&mut self, version: i64) -> BackendResult<()> {
        self.0.execute("DELETE FROM tinjau_schema", &[]).await?;
        self.0
            .execute(
                "INSERT INTO tinjau_schema (version) VALUES ($1)",
                &[&version],
            )
            .await?;
        Ok(())
    }
}

/// What a transaction is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// A consistent snapshot, read only (a pull page).
    Read,
    Write,
}

impl PostgresBackend {
    pub async fn connect(url: &str) -> BackendResult<Self> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| BackendError::Invalid(format!("the database URL is not valid: {e}")))?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(16)
            .build()
            .map_err(pool_error)?;
        let backend = PostgresBackend { pool };
        {
            let mut client = backend.client().await?;
            let mut tx = PgTx(client.transaction().await?);
            crate::store::migrate(&mut tx).await?;
            tx.0.commit().await?;
        }
        Ok(backend)
    }

    pub(crate) async fn client(&self) -> BackendResult<deadpool_postgres::Object> {
        self.pool.get().await.map_err(pool_error)
    }

    /// Starts a transaction on `client`.
    pub(crate) async fn begin(
        client: &mut deadpool_postgres::Object,
        access: Access,
    ) -> BackendResult<PgTx<'_>> {
        let tx = match access {
            Access::Write => client.transaction().await?,
            Access::Read => {
                client
                    .build_transaction()
                    .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                    .read_only(true)
                    .start()
                    .await?
            }
        };
        Ok(PgTx(tx))
    }
}
