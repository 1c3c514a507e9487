//! The create baseline: what the database alone does per committed single-row insert, at the same
//! concurrency as the create load and on the same database galleryd used.
//!
//! Each operation is `BEGIN; INSERT INTO bench_raw_insert (row_key, body) VALUES (…); COMMIT` with a
//! unique key and a body the size of a stored image definition.
//! - Postgres: a pool of as many connections as there are workers, so every worker has its own.
//! - SQLite: galleryd's own file and settings — WAL journal, `synchronous=NORMAL`, a 10 s busy
//!   timeout, and a pool of exactly one writer connection that the workers queue for. SQLite allows
//!   one writer at a time anyway; galleryd queues its writes the same way, so this is the fastest
//!   committed-write rate galleryd could hope to approach on that file.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::closed_loop::Worker;

/// A pool on the database under test.
#[derive(Debug, Clone)]
pub enum RawDatabase {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

impl RawDatabase {
    /// A pool of `connections` on the Postgres database at `url`.
    pub async fn postgres(url: &str, connections: u32) -> Result<RawDatabase, String> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|error| format!("bad Postgres URL: {error}"))?
            .application_name("galleryd-bench");
        // No ping before each acquire (galleryd does not ping either): the baseline is the fastest
        // the database commits single-row inserts.
        let pool = PgPoolOptions::new()
            .test_before_acquire(false)
            .max_connections(connections)
            .min_connections(connections)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .map_err(|error| format!("cannot connect to Postgres: {error}"))?;
        Ok(RawDatabase::Postgres(pool))
    }

    /// One writer connection to the SQLite file, set up as galleryd sets up its own.
    pub async fn sqlite(file: &Path) -> Result<RawDatabase, String> {
        let options = SqliteConnectOptions::new()
            .filename(file)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .map_err(|error| format!("cannot open {}: {error}", file.display()))?;
        Ok(RawDatabase::Sqlite(pool))
    }

    /// Creates the scratch table (empty).
    pub async fn create_table(&self) -> Result<(), String> {
        let (drop, create) = (
            "DROP TABLE IF EXISTS bench_raw_insert",
            match self {
                RawDatabase::Postgres(_) => {
                    "CREATE TABLE bench_raw_insert (seq BIGSERIAL PRIMARY KEY, row_key TEXT NOT NULL UNIQUE, body TEXT NOT NULL)"
                }
                RawDatabase::Sqlite(_) => {
                    "CREATE TABLE bench_raw_insert (seq INTEGER PRIMARY KEY, row_key TEXT NOT NULL UNIQUE, body TEXT NOT NULL)"
                }
            },
        );
        for statement in [drop, create] {
            let result = match self {
                RawDatabase::Postgres(pool) => {
                    sqlx::query(statement).execute(pool).await.map(|_| ())
                }
                RawDatabase::Sqlite(pool) => sqlx::query(statement).execute(pool).await.map(|_| ()),
            };
            result.map_err(|error| {
                format!("cannot create the scratch table ({statement}): {error}")
            })?;
        }
        Ok(())
    }

    /// Drops the scratch table and closes the pool.
    pub async fn drop_table_and_close(self) {
        match self {
            RawDatabase::Postgres(pool) => {
                let _ = sqlx::query("DROP TABLE IF EXISTS bench_raw_insert")
                    .execute(&pool)
                    .await;
                pool.close().await;
            }
            RawDatabase::Sqlite(pool) => {
                let _ = sqlx::query("DROP TABLE IF EXISTS bench_raw_insert")
                    .execute(&pool)
                    .await;
                pool.close().await;
            }
        }
    }

    /// `BEGIN; INSERT …; COMMIT`.
    async fn insert_one(&self, row_key: &str, body: &str) -> Result<(), sqlx::Error> {
        const INSERT: &str = "INSERT INTO bench_raw_insert (row_key, body) VALUES ($1, $2)";
        match self {
            RawDatabase::Postgres(pool) => {
                let mut transaction = pool.begin().await?;
                sqlx::query(INSERT)
                    .bind(row_key)
                    .bind(body)
                    .execute(&mut *transaction)
                    .await?;
                transaction.commit().await
            }
            RawDatabase::Sqlite(pool) => {
                let mut transaction = pool.begin().await?;
                sqlx::query(INSERT)
                    .bind(row_key)
                    .bind(body)
                    .execute(&mut *transaction)
                    .await?;
                transaction.commit().await
            }
        }
    }
}

/// A baseline worker: inserts rows with keys unique to it and the phase.
pub struct InsertWorker {
    database: RawDatabase,
    body: Arc<str>,
    key_prefix: String,
}

impl InsertWorker {
    /// `count` workers sharing `database`'s pool.
    pub fn many(
        database: &RawDatabase,
        body: &str,
        phase_tag: &str,
        count: usize,
    ) -> Vec<InsertWorker> {
        let body: Arc<str> = Arc::from(body);
        (0..count)
            .map(|index| InsertWorker {
                database: database.clone(),
                body: body.clone(),
                key_prefix: format!("{phase_tag}-w{index}-n"),
            })
            .collect()
    }
}

impl Worker for InsertWorker {
    async fn perform(&mut self, sequence: u64) -> Result<(), String> {
        let row_key = format!("{}{sequence}", self.key_prefix);
        self.database
            .insert_one(&row_key, &self.body)
            .await
            .map_err(|error| format!("insert failed: {error}"))
    }
}

/// A Postgres database that exists for one benchmark run: `CREATE DATABASE` on the admin
/// connection, `DROP DATABASE … WITH (FORCE)` at the end.
pub struct ScratchPostgresDatabase {
    admin_url: String,
    pub name: String,
    pub url: String,
}

impl ScratchPostgresDatabase {
    /// Creates `galleryd_bench_<uuid>` on the server of `admin_url`.
    pub async fn create(admin_url: &str) -> Result<ScratchPostgresDatabase, String> {
        use sqlx::Connection;
        let name = format!("galleryd_bench_{}", uuid::Uuid::new_v4().simple());
        let mut connection = sqlx::PgConnection::connect(admin_url)
            .await
            .map_err(|error| format!("cannot reach Postgres at {admin_url}: {error}"))?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut connection)
            .await
            .map_err(|error| format!("cannot create database {name}: {error}"))?;
        let _ = connection.close().await;
        Ok(ScratchPostgresDatabase {
            admin_url: admin_url.to_string(),
            url: database_url(admin_url, &name),
            name,
        })
    }

    /// Drops the database (forcing out connections left behind).
    pub async fn drop_database(self) -> Result<(), String> {
        use sqlx::Connection;
        let mut connection = sqlx::PgConnection::connect(&self.admin_url)
            .await
            .map_err(|error| format!("cannot reach Postgres to drop {}: {error}", self.name))?;
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&mut connection)
        .await
        .map_err(|error| format!("cannot drop database {}: {error}", self.name))?;
        let _ = connection.close().await;
        Ok(())
    }
}

/// `admin_url` with its database name replaced by `name` (query parameters kept).
fn database_url(admin_url: &str, name: &str) -> String {
    let (without_query, query) = match admin_url.find('?') {
        Some(index) => (&admin_url[..index], &admin_url[index..]),
        None => (admin_url, ""),
    };
    let authority_start = without_query.find("://").map_or(0, |index| index + 3);
    let base = match without_query[authority_start..].find('/') {
        Some(index) => &without_query[..authority_start + index],
        None => without_query,
    };
    format!("{base}/{name}{query}")
}

#[cfg(test)]
mod tests {
    use super::database_url;

    #[test]
    fn replaces_the_database_name() {
        assert_eq!(
            database_url("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            database_url("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(database_url("postgres://h", "x"), "postgres://h/x");
    }
}
