//! The durable job queue the replication workers take work from.
//!
//! Jobs are rows. A worker claims the oldest runnable job with a lease (`FOR UPDATE SKIP LOCKED` on
//! Postgres, so concurrent claimers never take the same row; an atomic `UPDATE … RETURNING` on
//! SQLite, whose single writer makes it atomic anyway), renews the lease while working, and
//! finishes, reschedules or fails the job. A job whose lease expired — its worker died — is
//! claimable again, so work resumes after a crash. Jobs are coarse ("this version has work"); the
//! replicas table holds the fine-grained claims, so a job run twice copies nothing twice.

use std::time::Duration;

use crate::clock::{millis, now_millis};
use crate::{Store, StoreError};

gallery_domain::string_enum! {
    /// What a job does.
    pub enum JobKind {
        /// Make a published version's replicas (of every content it is made of) match its
        /// publishing profile, then finish its operation.
        ReplicateVersion = "ReplicateVersion",
        /// Remove a published version's replicas, then the version, then finish its operation.
        DeleteVersion = "DeleteVersion",
        /// Delete blobs and contents nothing references any more.
        CollectGarbage = "CollectGarbage",
        /// Copy contents within a region for a disk, snapshot or managed image, then settle it.
        CopyContent = "CopyContent",
    }
}

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    pub kind: JobKind,
    /// The resource the job is about (lower-cased id).
    pub resource_key: String,
    /// The async operation the job completes, if any.
    pub operation_id: Option<String>,
    /// Kind-specific JSON.
    pub payload: String,
}

/// Work a write hands to the workers: a job about the written resource that ends the write's
/// operation (see `Decision::jobs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedJob {
    pub kind: JobKind,
    /// Kind-specific JSON.
    pub payload: String,
}

impl PlannedJob {
    /// The job to enqueue for the write of `resource_key` recorded as `operation`.
    pub(crate) fn for_write(
        &self,
        resource_key: &str,
        operation: &crate::operations::NewOperation,
    ) -> NewJob {
        NewJob {
            kind: self.kind,
            resource_key: resource_key.to_string(),
            operation_id: Some(operation.operation_id.clone()),
            payload: self.payload.clone(),
        }
    }
}

/// A job a worker holds.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ClaimedJob {
    pub job_id: i64,
    #[sqlx(try_from = "String")]
    pub kind: JobKind,
    pub resource_key: String,
    pub operation_id: Option<String>,
    pub payload: String,
    /// How many runs of the job failed or were cut off (a crash, a lost lease), counting this one:
    /// 1 on the first run. A run that ends by rescheduling the job ([`Store::reschedule_job`]) gives
    /// its attempt back, so waiting on other work never uses attempts up.
    pub attempts: i32,
}

/// Enqueues `$job` inside `$transaction` (with the write that made the work).
macro_rules! insert_job {
    ($transaction:ident, $job:expr) => {{
        let job: &$crate::jobs::NewJob = $job;
        let now = $crate::clock::now_millis();
        sqlx::query(
            "INSERT INTO jobs (kind, resource_key, operation_id, payload, state, attempts, run_after, created_at) \
             VALUES ($1, $2, $3, $4, 'Ready', 0, $5, $5)",
        )
        .bind(job.kind.as_str())
        .bind(&job.resource_key)
        .bind(&job.operation_id)
        .bind(&job.payload)
        .bind(now)
        .execute(&mut *$transaction)
        .await?;
    }};
}

const CLAIM_POSTGRES: &str = "UPDATE jobs SET state = 'Running', lease_owner = $1, lease_expires = $2, attempts = attempts + 1 \
     WHERE job_id = (SELECT job_id FROM jobs WHERE (state = 'Ready' AND run_after <= $3) OR (state = 'Running' AND lease_expires < $3) \
     ORDER BY job_id LIMIT 1 FOR UPDATE SKIP LOCKED) \
     RETURNING job_id, kind, resource_key, operation_id, payload, attempts";

const CLAIM_SQLITE: &str = "UPDATE jobs SET state = 'Running', lease_owner = $1, lease_expires = $2, attempts = attempts + 1 \
     WHERE job_id = (SELECT job_id FROM jobs WHERE (state = 'Ready' AND run_after <= $3) OR (state = 'Running' AND lease_expires < $3) \
     ORDER BY job_id LIMIT 1) \
     RETURNING job_id, kind, resource_key, operation_id, payload, attempts";

impl Store {
    /// Enqueues a job on its own (work not tied to a resource write, like garbage collection).
    pub async fn enqueue_job(&self, job: &NewJob) -> Result<(), StoreError> {
        transaction!(self, (transaction, dialect) => {
            insert_job!(transaction, job);
        });
        Ok(())
    }

    /// Whether a job of `kind` for `resource_key` is waiting or running.
    pub async fn job_pending(&self, kind: JobKind, resource_key: &str) -> Result<bool, StoreError> {
        let found: Option<i64> = read!(self, pool => sqlx::query_scalar(
            "SELECT job_id FROM jobs WHERE kind = $1 AND resource_key = $2 AND state IN ('Ready', 'Running') LIMIT 1",
        )
        .bind(kind.as_str())
        .bind(resource_key)
        .fetch_optional(pool)
        .await)?;
        Ok(found.is_some())
    }

    /// Claims the oldest runnable job for `worker`, holding it for `lease`.
    pub async fn claim_job(
        &self,
        worker: &str,
        lease: Duration,
    ) -> Result<Option<ClaimedJob>, StoreError> {
        let now = now_millis();
        Ok(transaction!(self, (transaction, dialect) => {
            let sql = match dialect {
                crate::backend::Dialect::Postgres => CLAIM_POSTGRES,
                crate::backend::Dialect::Sqlite => CLAIM_SQLITE,
            };
            let claimed: Option<ClaimedJob> = sqlx::query_as(sql)
                .bind(worker)
                .bind(now.saturating_add(millis(lease)))
                .bind(now)
                .fetch_optional(&mut *transaction)
                .await?;
            claimed
        }))
    }

    /// Extends `worker`'s lease on a job; `false` when the worker lost it (it expired and another
    /// worker claimed the job: stop working on it).
    pub async fn renew_job_lease(
        &self,
        job_id: i64,
        worker: &str,
        lease: Duration,
    ) -> Result<bool, StoreError> {
        let renewed = transaction!(self, (transaction, dialect) => {
            sqlx::query("UPDATE jobs SET lease_expires = $3 WHERE job_id = $1 AND lease_owner = $2 AND state = 'Running'")
                .bind(job_id)
                .bind(worker)
                .bind(now_millis().saturating_add(millis(lease)))
                .execute(&mut *transaction)
                .await?
                .rows_affected()
        });
        Ok(renewed == 1)
    }

    /// Marks a job done.
    pub async fn finish_job(&self, job_id: i64, worker: &str) -> Result<bool, StoreError> {
        self.settle_job(job_id, worker, "Done", None, None, 0).await
    }

    /// Puts a job back in the queue to run again after `delay` after a failed run (the run counts
    /// as one of the job's attempts).
    pub async fn retry_job(
        &self,
        job_id: i64,
        worker: &str,
        delay: Duration,
        error: &str,
    ) -> Result<bool, StoreError> {
        let run_after = now_millis().saturating_add(millis(delay));
        self.settle_job(job_id, worker, "Ready", Some(run_after), Some(error), 0)
            .await
    }

    /// Puts a job back in the queue to run again after `delay` because its work is not done yet
    /// (it waits for work elsewhere): the run gives its attempt back.
    pub async fn reschedule_job(
        &self,
        job_id: i64,
        worker: &str,
        delay: Duration,
    ) -> Result<bool, StoreError> {
        let run_after = now_millis().saturating_add(millis(delay));
        self.settle_job(job_id, worker, "Ready", Some(run_after), None, 1)
            .await
    }

    /// Gives up on a job: it is never claimed again.
    pub async fn fail_job(
        &self,
        job_id: i64,
        worker: &str,
        error: &str,
    ) -> Result<bool, StoreError> {
        self.settle_job(job_id, worker, "Failed", None, Some(error), 0)
            .await
    }

    /// Deletes jobs that finished (`Done`, or `Failed` when given up on) and were enqueued more than
    /// `age` ago: the queue keeps recent history for debugging without growing forever. Returns how
    /// many were deleted.
    pub async fn prune_finished_jobs(&self, age: Duration) -> Result<u64, StoreError> {
        let cutoff = now_millis().saturating_sub(millis(age));
        let deleted = transaction!(self, (transaction, dialect) => {
            sqlx::query("DELETE FROM jobs WHERE state IN ('Done', 'Failed') AND created_at < $1")
                .bind(cutoff)
                .execute(&mut *transaction)
                .await?
                .rows_affected()
        });
        Ok(deleted)
    }

    /// Ends `worker`'s run of a job in `state`, handing back `refunded_attempts` (0 or 1).
    async fn settle_job(
        &self,
        job_id: i64,
        worker: &str,
        state: &str,
        run_after: Option<i64>,
        error: Option<&str>,
        refunded_attempts: i32,
    ) -> Result<bool, StoreError> {
        let settled = transaction!(self, (transaction, dialect) => {
            sqlx::query(
                "UPDATE jobs SET state = $3, run_after = COALESCE($4, run_after), last_error = COALESCE($5, last_error), \
                 attempts = attempts - $6, lease_owner = NULL, lease_expires = NULL \
                 WHERE job_id = $1 AND lease_owner = $2 AND state = 'Running'",
            )
            .bind(job_id)
            .bind(worker)
            .bind(state)
            .bind(run_after)
            .bind(error)
            .bind(refunded_attempts)
            .execute(&mut *transaction)
            .await?
            .rows_affected()
        });
        Ok(settled == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{StoreLocation, StoreOptions};

    #[tokio::test]
    async fn finished_jobs_are_pruned_and_others_kept() {
        let store = Store::open(&StoreLocation::SqliteMemory, &StoreOptions::default())
            .await
            .expect("in-memory store");
        for key in ["done", "waiting"] {
            store
                .enqueue_job(&NewJob {
                    kind: JobKind::CollectGarbage,
                    resource_key: key.to_string(),
                    operation_id: None,
                    payload: "{}".to_string(),
                })
                .await
                .unwrap();
        }
        let claimed = store
            .claim_job("worker", Duration::from_secs(30))
            .await
            .unwrap()
            .expect("a job");
        assert_eq!(claimed.resource_key, "done");
        assert!(store.finish_job(claimed.job_id, "worker").await.unwrap());
        // Too recent to prune.
        assert_eq!(
            store
                .prune_finished_jobs(Duration::from_secs(3600))
                .await
                .unwrap(),
            0
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(store.prune_finished_jobs(Duration::ZERO).await.unwrap(), 1);
        assert!(
            !store
                .job_pending(JobKind::CollectGarbage, "done")
                .await
                .unwrap()
        );
        assert!(
            store
                .job_pending(JobKind::CollectGarbage, "waiting")
                .await
                .unwrap()
        );
    }

    /// Waiting runs give their attempt back; failed runs keep it; a job given up on is never
    /// claimed again (and is pruned like a finished one).
    #[tokio::test]
    async fn only_failed_runs_use_attempts_and_failed_jobs_stay_failed() {
        let store = Store::open(&StoreLocation::SqliteMemory, &StoreOptions::default())
            .await
            .expect("in-memory store");
        store
            .enqueue_job(&NewJob {
                kind: JobKind::ReplicateVersion,
                resource_key: "version".to_string(),
                operation_id: None,
                payload: "{}".to_string(),
            })
            .await
            .unwrap();
        let lease = Duration::from_secs(30);
        for _ in 0..3 {
            let claimed = store
                .claim_job("worker", lease)
                .await
                .unwrap()
                .expect("a job");
            assert_eq!(claimed.attempts, 1, "waiting runs use no attempts");
            assert!(
                store
                    .reschedule_job(claimed.job_id, "worker", Duration::ZERO)
                    .await
                    .unwrap()
            );
        }
        for attempt in 1..=2 {
            let claimed = store
                .claim_job("worker", lease)
                .await
                .unwrap()
                .expect("a job");
            assert_eq!(claimed.attempts, attempt);
            assert!(
                store
                    .retry_job(claimed.job_id, "worker", Duration::ZERO, "broken")
                    .await
                    .unwrap()
            );
        }
        let claimed = store
            .claim_job("worker", lease)
            .await
            .unwrap()
            .expect("a job");
        assert_eq!(claimed.attempts, 3);
        assert!(
            store
                .fail_job(claimed.job_id, "worker", "still broken")
                .await
                .unwrap()
        );
        assert!(store.claim_job("worker", lease).await.unwrap().is_none());
        assert!(
            !store
                .job_pending(JobKind::ReplicateVersion, "version")
                .await
                .unwrap()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(store.prune_finished_jobs(Duration::ZERO).await.unwrap(), 1);
    }
}
