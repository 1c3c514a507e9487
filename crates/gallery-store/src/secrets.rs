//! Secrets every galleryd process on one database must share, created once by whichever process
//! needs them first (for instance the key that signs blob SAS URLs: a URL handed out by one
//! process must be accepted by another).

use crate::{Store, StoreError};

impl Store {
    /// The secret `name`, if some process created it already.
    pub async fn existing_secret(&self, name: &str) -> Result<Option<String>, StoreError> {
        let value: Option<String> = read!(self, pool => sqlx::query_scalar("SELECT value FROM secrets WHERE name = $1")
            .bind(name)
            .fetch_optional(pool)
            .await)?;
        Ok(value)
    }

    /// The secret `name`, created with `generate` when it does not exist yet (atomically: racing
    /// processes end up with the same value).
    pub async fn secret(
        &self,
        name: &str,
        generate: impl FnOnce() -> String,
    ) -> Result<String, StoreError> {
        let candidate = generate();
        transaction!(self, (transaction, dialect) => {
            sqlx::query("INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
                .bind(name)
                .bind(&candidate)
                .execute(&mut *transaction)
                .await?;
        });
        let value: String = read!(self, pool => sqlx::query_scalar("SELECT value FROM secrets WHERE name = $1")
            .bind(name)
            .fetch_one(pool)
            .await)?;
        Ok(value)
    }
}
