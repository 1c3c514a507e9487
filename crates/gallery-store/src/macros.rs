//! Macros that let one piece of query code run on Postgres and on SQLite.
//!
//! sqlx's connection types differ per database, and generic functions over `sqlx::Database` need a
//! wall of higher-ranked bounds at every helper. Instead, the query code is written once inside these
//! macros and compiled once per backend; the SQL text is shared, and [`with_lock!`] spells the one
//! dialect difference galleryd needs (row locks).

/// Runs `$body` with `$pool` bound to a pool suitable for reads.
macro_rules! read {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.backend {
            $crate::backend::Backend::Postgres(postgres_pool) => {
                let $pool = postgres_pool;
                $body
            }
            $crate::backend::Backend::Sqlite { reader, .. } => {
                let $pool = reader;
                $body
            }
        }
    };
}

/// Runs `$body` inside one write transaction, with `$transaction` the transaction and `$dialect` the
/// backend's [`Dialect`](crate::backend::Dialect). The transaction commits when `$body` evaluates to
/// a value; leaving `$body` early (`?`, `return`, `continue`) drops it, which rolls it back.
macro_rules! transaction {
    ($store:expr, ($transaction:ident, $dialect:ident) => $body:block) => {
        match &$store.backend {
            $crate::backend::Backend::Postgres(postgres_pool) => {
                #[allow(unused_mut)]
                let mut $transaction = postgres_pool.begin().await?;
                #[allow(unused_variables)]
                let $dialect = $crate::backend::Dialect::Postgres;
                let committed_value = $body;
                $transaction.commit().await?;
                committed_value
            }
            $crate::backend::Backend::Sqlite { writer, .. } => {
                #[allow(unused_mut)]
                let mut $transaction = writer.begin().await?;
                #[allow(unused_variables)]
                let $dialect = $crate::backend::Dialect::Sqlite;
                let committed_value = $body;
                $transaction.commit().await?;
                committed_value
            }
        }
    };
}

/// A statement with a row-lock clause on Postgres, and without it on SQLite (which has a single
/// writer and no row locks).
macro_rules! with_lock {
    ($dialect:expr, $sql:literal, $lock:literal) => {
        match $dialect {
            $crate::backend::Dialect::Postgres => concat!($sql, " ", $lock),
            $crate::backend::Dialect::Sqlite => $sql,
        }
    };
}
