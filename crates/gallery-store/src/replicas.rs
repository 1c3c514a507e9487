//! The replicas of published versions: what the replication workers claim, copy and report on.
//!
//! One row per (version, region, replica index, part): an image version's parts are its disks
//! (`os`, `lun<n>`), other artifacts name theirs (the column is called `disk`). A worker claims a
//! row (with a lease it renews while copying), reports progress, and completes or fails it; a
//! claim whose lease expired (its worker died) can be taken again, which is how a crash loses no
//! more than the copy in flight.
//! Because a row is claimed by one worker at a time, several processes can replicate one version
//! together without copying anything twice; `copies_started` counts the copies ever started.

use std::time::Duration;

use gallery_domain::publishing::ReplicaProgress;

use crate::clock::{millis, now_millis};
use crate::{Store, StoreError};

pub use gallery_domain::publishing::ReplicaState;

/// A replica row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredReplica {
    pub version_seq: i64,
    pub region: String,
    pub replica_index: i32,
    pub disk: String,
    pub storage_account_type: String,
    #[sqlx(try_from = "String")]
    pub state: ReplicaState,
    pub bytes_total: i64,
    pub bytes_copied: i64,
    pub content_id: Option<String>,
    pub checksum: Option<String>,
    pub copies_started: i32,
    /// The worker that completed the copy.
    pub copied_by: Option<String>,
    pub lease_owner: Option<String>,
    pub lease_expires: Option<i64>,
    pub details: String,
}

/// Identifies one replica row.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReplicaKey {
    pub version_seq: i64,
    pub region: String,
    pub replica_index: i32,
    pub disk: String,
}

impl StoredReplica {
    /// How far its copy got, as the replication status view reads it.
    pub fn progress(&self) -> ReplicaProgress<'_> {
        ReplicaProgress {
            region: &self.region,
            state: self.state,
            bytes_total: self.bytes_total,
            bytes_copied: self.bytes_copied,
            details: &self.details,
        }
    }

    /// The row's key.
    pub fn key(&self) -> ReplicaKey {
        ReplicaKey {
            version_seq: self.version_seq,
            region: self.region.clone(),
            replica_index: self.replica_index,
            disk: self.disk.clone(),
        }
    }
}

/// A replica a version's publishing profile calls for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedReplica {
    pub region: String,
    pub replica_index: i32,
    pub disk: String,
    pub storage_account_type: String,
    pub bytes_total: i64,
}

/// Updates the replica `$key` while `$worker` holds its claim (it owns the lease and the row is
/// `Replicating`): `UPDATE replicas SET $assignments`, where `$1`–`$4` are the key, `$5` the worker
/// and the `$value`s follow from `$6` on. Evaluates to whether the claim still held (a row changed).
macro_rules! update_claimed_replica {
    ($store:expr, $key:expr, $worker:expr, $assignments:literal, $($value:expr),+ $(,)?) => {{
        let key: &ReplicaKey = $key;
        let updated = transaction!($store, (transaction, dialect) => {
            sqlx::query(concat!(
                "UPDATE replicas SET ",
                $assignments,
                " WHERE version_seq = $1 AND region = $2 AND replica_index = $3 AND disk = $4 \
                 AND lease_owner = $5 AND state = 'Replicating'"
            ))
            .bind(key.version_seq)
            .bind(&key.region)
            .bind(key.replica_index)
            .bind(&key.disk)
            .bind($worker)
            $(.bind($value))+
            .execute(&mut *transaction)
            .await?
            .rows_affected()
        });
        updated == 1
    }};
}

const REPLICA_COLUMNS: &str = "version_seq, region, replica_index, disk, storage_account_type, state, bytes_total, bytes_copied, \
     content_id, checksum, copies_started, copied_by, lease_owner, lease_expires, details";

impl Store {
    /// Every replica row of a version.
    pub async fn list_replicas(&self, version_seq: i64) -> Result<Vec<StoredReplica>, StoreError> {
        Ok(read!(self, pool => sqlx::query_as(&format!(
            "SELECT {REPLICA_COLUMNS} FROM replicas WHERE version_seq = $1 ORDER BY region, replica_index, disk"
        ))
        .bind(version_seq)
        .fetch_all(pool)
        .await)?)
    }

    /// Makes a version's replica rows match `plan`: missing ones are added as `Pending`, rows the
    /// plan no longer has are marked `Removing` (their blobs must go). Idempotent.
    pub async fn sync_replicas(
        &self,
        version_seq: i64,
        plan: &[PlannedReplica],
    ) -> Result<(), StoreError> {
        let now = now_millis();
        transaction!(self, (transaction, dialect) => {
            let existing: Vec<StoredReplica> = sqlx::query_as(&format!("SELECT {REPLICA_COLUMNS} FROM replicas WHERE version_seq = $1"))
                .bind(version_seq)
                .fetch_all(&mut *transaction)
                .await?;
            for planned in plan {
                let present = existing.iter().any(|row| {
                    row.region == planned.region && row.replica_index == planned.replica_index && row.disk == planned.disk
                });
                if !present {
                    sqlx::query(
                        "INSERT INTO replicas (version_seq, region, replica_index, disk, storage_account_type, state, bytes_total, \
                         bytes_copied, updated_at) VALUES ($1, $2, $3, $4, $5, 'Pending', $6, 0, $7) ON CONFLICT DO NOTHING",
                    )
                    .bind(version_seq)
                    .bind(&planned.region)
                    .bind(planned.replica_index)
                    .bind(&planned.disk)
                    .bind(&planned.storage_account_type)
                    .bind(planned.bytes_total)
                    .bind(now)
                    .execute(&mut *transaction)
                    .await?;
                }
            }
            for row in &existing {
                let planned = plan.iter().any(|planned| {
                    row.region == planned.region && row.replica_index == planned.replica_index && row.disk == planned.disk
                });
                if !planned && row.state != ReplicaState::Removing {
                    sqlx::query(
                        "UPDATE replicas SET state = 'Removing', lease_owner = NULL, lease_expires = NULL, updated_at = $5 \
                         WHERE version_seq = $1 AND region = $2 AND replica_index = $3 AND disk = $4",
                    )
                    .bind(version_seq)
                    .bind(&row.region)
                    .bind(row.replica_index)
                    .bind(&row.disk)
                    .bind(now)
                    .execute(&mut *transaction)
                    .await?;
                }
            }
        });
        Ok(())
    }

    /// Claims a replica for copying: it must be `Pending`, or `Replicating` under an expired lease.
    /// Returns the claimed row (with `copies_started` already counting this copy).
    pub async fn claim_replica(
        &self,
        key: &ReplicaKey,
        worker: &str,
        lease: Duration,
    ) -> Result<Option<StoredReplica>, StoreError> {
        let now = now_millis();
        Ok(transaction!(self, (transaction, dialect) => {
            let claimed: Option<StoredReplica> = sqlx::query_as(&format!(
                "UPDATE replicas SET state = 'Replicating', lease_owner = $5, lease_expires = $6, copies_started = copies_started + 1, \
                 bytes_copied = 0, details = '', updated_at = $7 \
                 WHERE version_seq = $1 AND region = $2 AND replica_index = $3 AND disk = $4 \
                 AND (state = 'Pending' OR (state = 'Replicating' AND lease_expires < $7)) RETURNING {REPLICA_COLUMNS}"
            ))
            .bind(key.version_seq)
            .bind(&key.region)
            .bind(key.replica_index)
            .bind(&key.disk)
            .bind(worker)
            .bind(now.saturating_add(millis(lease)))
            .bind(now)
            .fetch_optional(&mut *transaction)
            .await?;
            claimed
        }))
    }

    /// Records copy progress and renews the claim; `false` when the worker no longer holds it.
    pub async fn report_replica_progress(
        &self,
        key: &ReplicaKey,
        worker: &str,
        bytes_copied: i64,
        lease: Duration,
    ) -> Result<bool, StoreError> {
        let now = now_millis();
        Ok(update_claimed_replica!(
            self,
            key,
            worker,
            "bytes_copied = $6, lease_expires = $7, updated_at = $8",
            bytes_copied,
            now.saturating_add(millis(lease)),
            now,
        ))
    }

    /// Marks a claimed replica `Completed` with its content; `false` when the claim was lost.
    pub async fn complete_replica(
        &self,
        key: &ReplicaKey,
        worker: &str,
        content_id: &str,
        checksum: &str,
    ) -> Result<bool, StoreError> {
        Ok(update_claimed_replica!(
            self,
            key,
            worker,
            "state = 'Completed', bytes_copied = bytes_total, content_id = $6, checksum = $7, \
             copied_by = lease_owner, lease_owner = NULL, lease_expires = NULL, updated_at = $8",
            content_id,
            checksum,
            now_millis(),
        ))
    }

    /// Marks a claimed replica `Failed` with details; `false` when the claim was lost.
    pub async fn fail_replica(
        &self,
        key: &ReplicaKey,
        worker: &str,
        details: &str,
    ) -> Result<bool, StoreError> {
        Ok(update_claimed_replica!(
            self,
            key,
            worker,
            "state = 'Failed', details = $6, lease_owner = NULL, lease_expires = NULL, updated_at = $7",
            details,
            now_millis(),
        ))
    }

    /// Puts a failed or abandoned replica back to `Pending` (a retry).
    pub async fn reset_replica(&self, key: &ReplicaKey) -> Result<(), StoreError> {
        let now = now_millis();
        transaction!(self, (transaction, dialect) => {
            sqlx::query(
                "UPDATE replicas SET state = 'Pending', bytes_copied = 0, lease_owner = NULL, lease_expires = NULL, updated_at = $5 \
                 WHERE version_seq = $1 AND region = $2 AND replica_index = $3 AND disk = $4 AND state IN ('Failed', 'Replicating')",
            )
            .bind(key.version_seq)
            .bind(&key.region)
            .bind(key.replica_index)
            .bind(&key.disk)
            .bind(now)
            .execute(&mut *transaction)
            .await?;
        });
        Ok(())
    }

    /// Gives every replica of a version that failed before `failed_before` (milliseconds since the
    /// epoch) a fresh start: `Pending`, no copies counted. A write of the version made after its
    /// replicas failed is how a user retries them. Returns how many were restarted.
    pub async fn restart_replicas_failed_before(
        &self,
        version_seq: i64,
        failed_before: i64,
    ) -> Result<u64, StoreError> {
        let now = now_millis();
        let restarted = transaction!(self, (transaction, dialect) => {
            sqlx::query(
                "UPDATE replicas SET state = 'Pending', bytes_copied = 0, copies_started = 0, details = '', \
                 lease_owner = NULL, lease_expires = NULL, updated_at = $3 \
                 WHERE version_seq = $1 AND state = 'Failed' AND updated_at < $2",
            )
            .bind(version_seq)
            .bind(failed_before)
            .bind(now)
            .execute(&mut *transaction)
            .await?
            .rows_affected()
        });
        Ok(restarted)
    }

    /// When the operation `operation_id` began (as recorded, RFC 3339), if it exists.
    pub async fn operation_started_at(
        &self,
        operation_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let started: Option<String> = read!(self, pool => sqlx::query_scalar(
            "SELECT started_at FROM async_operations WHERE operation_id = $1",
        )
        .bind(operation_id)
        .fetch_optional(pool)
        .await)?;
        Ok(started)
    }

    /// Deletes a replica row (its blobs are already gone).
    pub async fn delete_replica(&self, key: &ReplicaKey) -> Result<(), StoreError> {
        transaction!(self, (transaction, dialect) => {
            sqlx::query("DELETE FROM replicas WHERE version_seq = $1 AND region = $2 AND replica_index = $3 AND disk = $4")
                .bind(key.version_seq)
                .bind(&key.region)
                .bind(key.replica_index)
                .bind(&key.disk)
                .execute(&mut *transaction)
                .await?;
        });
        Ok(())
    }
}
