//! What background work needs beyond reads: settling a resource and its operation together once the
//! work behind them is done, and removing a resource whose deletion finished.

use crate::operations::OperationStatus;
use crate::{Store, StoreError};

/// How an operation ended, for [`Store::settle_resource`], [`Store::end_operation`] and
/// [`Store::remove_resource`].
#[derive(Debug, Clone)]
pub struct OperationEnd<'a> {
    pub operation_id: &'a str,
    pub status: OperationStatus,
    /// The `error` object (JSON) of a failed operation.
    pub error: Option<String>,
}

/// What removing a resource needs to know of it: its row and the limit it holds.
#[derive(sqlx::FromRow)]
struct RemovedRow {
    seq: i64,
    subscription_id: String,
    location: String,
    quota_kind: Option<String>,
    quota_shard: Option<i32>,
}

impl Store {
    /// Replaces a resource's document and provisioning state, provided it is still at `revision`
    /// (a newer write has its own work to finish), and ends `operation` in the same transaction.
    /// Returns `false` (changing nothing) when the resource changed or is gone.
    pub async fn settle_resource(
        &self,
        resource_key: &str,
        revision: i64,
        provisioning_state: &str,
        body: &str,
        operation: Option<&OperationEnd<'_>>,
    ) -> Result<bool, StoreError> {
        let now = gallery_domain::time::format(chrono::Utc::now());
        let settled = transaction!(self, (transaction, dialect) => {
            let updated = sqlx::query(
                "UPDATE resources SET provisioning_state = $3, body = $4, revision = revision + 1 WHERE resource_key = $1 AND revision = $2",
            )
            .bind(resource_key)
            .bind(revision)
            .bind(provisioning_state)
            .bind(body)
            .execute(&mut *transaction)
            .await?
            .rows_affected();
            if updated == 0 {
                return Ok(false);
            }
            if let Some(operation) = operation {
                end_operation!(transaction, operation, &now);
            }
            true
        });
        self.forget(resource_key);
        Ok(settled)
    }

    /// Ends an operation on its own (its resource is gone, or was settled by a newer write).
    pub async fn end_operation(&self, operation: &OperationEnd<'_>) -> Result<(), StoreError> {
        let now = gallery_domain::time::format(chrono::Utc::now());
        transaction!(self, (transaction, dialect) => {
            end_operation!(transaction, operation, &now);
        });
        Ok(())
    }

    /// Deletes a resource whose background deletion finished with the rows of its contents (whose
    /// blobs are already gone) and replicas, releases its limit and ends `operation`, in one
    /// transaction. Returns `false` when it was already gone. Only resources without children are
    /// deleted in the background (versions); the parent foreign key refuses anything else.
    pub async fn remove_resource(
        &self,
        resource_key: &str,
        operation: Option<&OperationEnd<'_>>,
    ) -> Result<bool, StoreError> {
        let now = gallery_domain::time::format(chrono::Utc::now());
        let removed = transaction!(self, (transaction, dialect) => {
            let row: Option<RemovedRow> = sqlx::query_as(
                "SELECT seq, subscription_id, location, quota_kind, quota_shard FROM resources WHERE resource_key = $1",
            )
            .bind(resource_key)
            .fetch_optional(&mut *transaction)
            .await?;
            let removed = match row {
                None => false,
                Some(RemovedRow { seq, subscription_id, location, quota_kind, quota_shard }) => {
                    sqlx::query("DELETE FROM contents WHERE owner_key = $1").bind(resource_key).execute(&mut *transaction).await?;
                    // Its replica rows go with it (ON DELETE CASCADE).
                    sqlx::query("DELETE FROM resources WHERE seq = $1").bind(seq).execute(&mut *transaction).await?;
                    if let (Some(kind), Some(shard)) = (&quota_kind, quota_shard) {
                        release_quota!(transaction, &subscription_id, &location, kind, shard, 1);
                    }
                    true
                }
            };
            if let Some(operation) = operation {
                end_operation!(transaction, operation, &now);
            }
            removed
        });
        self.forget(resource_key);
        Ok(removed)
    }
}
