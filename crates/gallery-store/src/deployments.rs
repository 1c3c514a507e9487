//! Template deployments: each scope's deployment history and each deployment's operations.
//!
//! A deployment row holds the document galleryd serves (without its provisioning state: the
//! `provisioning_state` column is the truth, so a cancel changes one column and the runner's later
//! progress writes cannot overwrite it), the template as submitted (for `exportTemplate`) and the id
//! of the async operation its PUT started. Writes are conditional on the state read, never
//! check-then-write: a new deployment replaces an old one of the same name only while the old one is
//! not running, progress is written only while the deployment still runs.

use crate::operations::NewOperation;
use crate::resources::{HasSeq, page};
use crate::{Page, Store, StoreError};

/// The states in which a deployment is still running, as SQL (a macro, so `concat!` can use it).
macro_rules! active_states {
    () => {
        "('Accepted', 'Running')"
    };
}

/// A deployment to record.
#[derive(Debug, Clone)]
pub struct NewDeployment {
    /// The lower-cased deployment id.
    pub deployment_key: String,
    /// The lower-cased id of its scope (resource group or subscription).
    pub scope_key: String,
    pub subscription_id: String,
    pub name: String,
    pub provisioning_state: String,
    pub operation_id: String,
    pub body: String,
    pub template: String,
}

/// A stored deployment (without its template).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredDeployment {
    pub seq: i64,
    pub name: String,
    pub provisioning_state: String,
    pub operation_id: String,
    pub body: String,
}

impl HasSeq for StoredDeployment {
    fn seq(&self) -> i64 {
        self.seq
    }
}

/// A stored deployment operation.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredDeploymentOperation {
    pub seq: i64,
    pub operation_id: String,
    pub body: String,
}

impl HasSeq for StoredDeploymentOperation {
    fn seq(&self) -> i64 {
        self.seq
    }
}

/// What deleting a deployment found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeploymentDeletion {
    Deleted,
    NotFound,
    /// It is still running: it cannot be deleted.
    Active,
}

impl Store {
    /// Records `deployment`, replacing a finished deployment of the same id (and its operations).
    /// Answers the new row's `seq`, or `None` when a deployment of that id is still running.
    pub async fn insert_deployment(
        &self,
        deployment: &NewDeployment,
    ) -> Result<Option<i64>, StoreError> {
        Ok(transaction!(self, (transaction, dialect) => {
            sqlx::query(concat!(
                "DELETE FROM deployment_operations WHERE deployment_seq IN (SELECT seq FROM deployments \
                 WHERE deployment_key = $1 AND provisioning_state NOT IN ", active_states!(), ")"
            ))
            .bind(&deployment.deployment_key)
            .execute(&mut *transaction)
            .await?;
            sqlx::query(concat!(
                "DELETE FROM deployments WHERE deployment_key = $1 AND provisioning_state NOT IN ",
                active_states!()
            ))
            .bind(&deployment.deployment_key)
            .execute(&mut *transaction)
            .await?;
            let inserted: Option<i64> = sqlx::query_scalar(
                "INSERT INTO deployments (deployment_key, scope_key, subscription_id, name, provisioning_state, \
                 operation_id, body, template) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT DO NOTHING RETURNING seq",
            )
            .bind(&deployment.deployment_key)
            .bind(&deployment.scope_key)
            .bind(&deployment.subscription_id)
            .bind(&deployment.name)
            .bind(&deployment.provisioning_state)
            .bind(&deployment.operation_id)
            .bind(&deployment.body)
            .bind(&deployment.template)
            .fetch_optional(&mut *transaction)
            .await?;
            inserted
        }))
    }

    /// The deployment with the lower-cased id `deployment_key`.
    pub async fn get_deployment(
        &self,
        deployment_key: &str,
    ) -> Result<Option<StoredDeployment>, StoreError> {
        let row: Option<StoredDeployment> = read!(self, pool => sqlx::query_as(
            "SELECT seq, name, provisioning_state, operation_id, body FROM deployments WHERE deployment_key = $1",
        )
        .bind(deployment_key)
        .fetch_optional(pool)
        .await)?;
        Ok(row)
    }

    /// The template a deployment was submitted with.
    pub async fn deployment_template(
        &self,
        deployment_key: &str,
    ) -> Result<Option<String>, StoreError> {
        let template: Option<String> = read!(self, pool => sqlx::query_scalar(
            "SELECT template FROM deployments WHERE deployment_key = $1",
        )
        .bind(deployment_key)
        .fetch_optional(pool)
        .await)?;
        Ok(template)
    }

    /// One page of a scope's deployments, oldest first, optionally only those in `state`
    /// (compared ignoring case).
    pub async fn list_deployments(
        &self,
        scope_key: &str,
        state: Option<&str>,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Page<StoredDeployment>, StoreError> {
        let rows: Vec<StoredDeployment> = match state {
            None => read!(self, pool => sqlx::query_as(
                "SELECT seq, name, provisioning_state, operation_id, body FROM deployments \
                 WHERE scope_key = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            )
            .bind(scope_key)
            .bind(after.unwrap_or(0))
            .bind(i64::from(limit) + 1)
            .fetch_all(pool)
            .await)?,
            Some(state) => read!(self, pool => sqlx::query_as(
                "SELECT seq, name, provisioning_state, operation_id, body FROM deployments \
                 WHERE scope_key = $1 AND provisioning_state = $2 AND seq > $3 ORDER BY seq LIMIT $4",
            )
            .bind(scope_key)
            .bind(state)
            .bind(after.unwrap_or(0))
            .bind(i64::from(limit) + 1)
            .fetch_all(pool)
            .await)?,
        };
        Ok(page(rows, limit))
    }

    /// Writes a running deployment's progress (`state` and document); does nothing once it ended
    /// (canceled meanwhile). Answers whether it was written.
    pub async fn update_running_deployment(
        &self,
        seq: i64,
        state: &str,
        body: &str,
    ) -> Result<bool, StoreError> {
        let updated = transaction!(self, (transaction, dialect) => {
            sqlx::query(concat!(
                "UPDATE deployments SET provisioning_state = $2, body = $3 WHERE seq = $1 AND provisioning_state IN ",
                active_states!()
            ))
            .bind(seq)
            .bind(state)
            .bind(body)
            .execute(&mut *transaction)
            .await?
            .rows_affected()
        });
        Ok(updated > 0)
    }

    /// Cancels a running deployment. Answers whether it was running (and is now `Canceled`).
    pub async fn cancel_deployment(&self, deployment_key: &str) -> Result<bool, StoreError> {
        let updated = transaction!(self, (transaction, dialect) => {
            sqlx::query(concat!(
                "UPDATE deployments SET provisioning_state = 'Canceled' WHERE deployment_key = $1 AND provisioning_state IN ",
                active_states!()
            ))
            .bind(deployment_key)
            .execute(&mut *transaction)
            .await?
            .rows_affected()
        });
        Ok(updated > 0)
    }

    /// Deletes a finished deployment and its operations.
    pub async fn delete_deployment(
        &self,
        deployment_key: &str,
    ) -> Result<DeploymentDeletion, StoreError> {
        Ok(transaction!(self, (transaction, dialect) => {
            let state: Option<String> = sqlx::query_scalar(with_lock!(
                dialect,
                "SELECT provisioning_state FROM deployments WHERE deployment_key = $1",
                "FOR UPDATE"
            ))
            .bind(deployment_key)
            .fetch_optional(&mut *transaction)
            .await?;
            match state.as_deref() {
                None => DeploymentDeletion::NotFound,
                Some("Accepted" | "Running") => DeploymentDeletion::Active,
                Some(_) => {
                    sqlx::query(
                        "DELETE FROM deployment_operations WHERE deployment_seq IN (SELECT seq FROM deployments WHERE deployment_key = $1)",
                    )
                    .bind(deployment_key)
                    .execute(&mut *transaction)
                    .await?;
                    sqlx::query("DELETE FROM deployments WHERE deployment_key = $1")
                        .bind(deployment_key)
                        .execute(&mut *transaction)
                        .await?;
                    DeploymentDeletion::Deleted
                }
            }
        }))
    }

    /// Records (or replaces) the operation `operation_id` of deployment `deployment_seq`.
    pub async fn put_deployment_operation(
        &self,
        deployment_seq: i64,
        operation_id: &str,
        body: &str,
    ) -> Result<(), StoreError> {
        transaction!(self, (transaction, dialect) => {
            sqlx::query(
                "INSERT INTO deployment_operations (deployment_seq, operation_id, body) VALUES ($1, $2, $3) \
                 ON CONFLICT (deployment_seq, operation_id) DO UPDATE SET body = excluded.body",
            )
            .bind(deployment_seq)
            .bind(operation_id)
            .bind(body)
            .execute(&mut *transaction)
            .await?;
        });
        Ok(())
    }

    /// One page of a deployment's operations, in the order they were recorded.
    pub async fn list_deployment_operations(
        &self,
        deployment_seq: i64,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Page<StoredDeploymentOperation>, StoreError> {
        let rows: Vec<StoredDeploymentOperation> = read!(self, pool => sqlx::query_as(
            "SELECT seq, operation_id, body FROM deployment_operations WHERE deployment_seq = $1 AND seq > $2 \
             ORDER BY seq LIMIT $3",
        )
        .bind(deployment_seq)
        .bind(after.unwrap_or(0))
        .bind(i64::from(limit) + 1)
        .fetch_all(pool)
        .await)?;
        Ok(page(rows, limit))
    }

    /// The operation `operation_id` of deployment `deployment_seq`.
    pub async fn get_deployment_operation(
        &self,
        deployment_seq: i64,
        operation_id: &str,
    ) -> Result<Option<StoredDeploymentOperation>, StoreError> {
        let row: Option<StoredDeploymentOperation> = read!(self, pool => sqlx::query_as(
            "SELECT seq, operation_id, body FROM deployment_operations WHERE deployment_seq = $1 AND operation_id = $2",
        )
        .bind(deployment_seq)
        .bind(operation_id)
        .fetch_optional(pool)
        .await)?;
        Ok(row)
    }

    /// Records a finished operation whose `Location` answers `result` (a what-if's changes).
    pub async fn record_operation_with_result(
        &self,
        subscription_id: &str,
        location: &str,
        resource_id: &str,
        operation: &NewOperation,
        result: &str,
    ) -> Result<(), StoreError> {
        transaction!(self, (transaction, dialect) => {
            insert_operation!(transaction, operation, subscription_id, location, resource_id);
            sqlx::query("UPDATE async_operations SET result = $2 WHERE operation_id = $1")
                .bind(&operation.operation_id)
                .bind(result)
                .execute(&mut *transaction)
                .await?;
        });
        Ok(())
    }
}
