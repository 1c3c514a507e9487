//! Async operations: the rows behind `Azure-AsyncOperation` (capsOperations) and `Location` URLs.
//!
//! Every PUT, DELETE and POST that ARM treats as long-running records one operation in the same
//! transaction as its effect, so a client polling the status URL can never see an operation that did
//! not happen (or miss one that did). Work that finishes inside the request is recorded already
//! terminal, which is what lets clients finish without sleeping.

use crate::{Store, StoreError};

gallery_domain::string_enum! {
    /// The `status` of an async operation.
    pub enum OperationStatus {
        InProgress = "InProgress",
        Succeeded = "Succeeded",
        Failed = "Failed",
        Canceled = "Canceled",
    }
}

/// An operation to record with a write.
#[derive(Debug, Clone)]
pub struct NewOperation {
    pub operation_id: String,
    /// The ARM action, e.g. `Microsoft.Compute/galleries/write`.
    pub action: String,
    pub status: OperationStatus,
    pub started_at: String,
    pub ended_at: Option<String>,
    /// What the operation's Location URL answers once it is done: 200 or 204.
    pub final_status: u16,
}

/// A recorded operation.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredOperation {
    pub operation_id: String,
    pub subscription_id: String,
    pub location: String,
    pub action: String,
    pub resource_id: String,
    #[sqlx(try_from = "String")]
    pub status: OperationStatus,
    pub started_at: String,
    pub ended_at: Option<String>,
    /// The `error` object of a failed operation, as JSON.
    pub error: Option<String>,
    #[sqlx(try_from = "i32")]
    pub final_status: u16,
    /// What the operation's `Location` URL answers when it is not the resource (JSON), e.g. the
    /// `{"accessSAS": …}` of a `beginGetAccess`.
    pub result: Option<String>,
}

/// The columns an operation row is inserted with, in the order [`bind_operation!`] binds them.
macro_rules! operation_columns {
    () => {
        "operation_id, subscription_id, location, action, resource_id, status, started_at, ended_at, \
         final_status"
    };
}

/// Binds an operation's values to `$query`, in the order of [`operation_columns!`]: `$operation`
/// (a [`NewOperation`]) recorded for the resource `$resource_id` of `$subscription_id` in
/// `$location`.
macro_rules! bind_operation {
    ($query:expr, $operation:expr, $subscription_id:expr, $location:expr, $resource_id:expr) => {{
        let operation: &$crate::operations::NewOperation = $operation;
        $query
            .bind(&operation.operation_id)
            .bind($subscription_id)
            .bind($location)
            .bind(&operation.action)
            .bind($resource_id)
            .bind(operation.status.as_str())
            .bind(&operation.started_at)
            .bind(&operation.ended_at)
            .bind(i32::from(operation.final_status))
    }};
}

/// Records `$operation` inside `$transaction`.
macro_rules! insert_operation {
    ($transaction:ident, $operation:expr, $subscription_id:expr, $location:expr, $resource_id:expr) => {{
        bind_operation!(
            sqlx::query(concat!(
                "INSERT INTO async_operations (",
                operation_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            )),
            $operation,
            $subscription_id,
            $location,
            $resource_id
        )
        .execute(&mut *$transaction)
        .await?;
    }};
}

/// Ends `$operation` (an [`OperationEnd`](crate::background::OperationEnd)) inside `$transaction`
/// if it is still running.
macro_rules! end_operation {
    ($transaction:ident, $operation:expr, $ended_at:expr) => {{
        let operation: &$crate::background::OperationEnd<'_> = $operation;
        sqlx::query(
            "UPDATE async_operations SET status = $2, ended_at = $3, error = $4 WHERE operation_id = $1 AND status = 'InProgress'",
        )
        .bind(operation.operation_id)
        .bind(operation.status.as_str())
        .bind($ended_at)
        .bind(&operation.error)
        .execute(&mut *$transaction)
        .await?;
    }};
}

impl Store {
    /// Finds an operation of `subscription_id` by id.
    pub async fn get_operation(
        &self,
        subscription_id: &str,
        operation_id: &str,
    ) -> Result<Option<StoredOperation>, StoreError> {
        let operation: Option<StoredOperation> = read!(self, pool => sqlx::query_as(
            "SELECT operation_id, subscription_id, location, action, resource_id, status, started_at, ended_at, error, \
             final_status, result FROM async_operations WHERE operation_id = $1 AND subscription_id = $2",
        )
        .bind(operation_id)
        .bind(subscription_id)
        .fetch_optional(pool)
        .await)?;
        Ok(operation)
    }

    /// Records what an operation's `Location` URL answers (JSON) when that is not the resource.
    pub async fn set_operation_result(
        &self,
        operation_id: &str,
        result: &str,
    ) -> Result<(), StoreError> {
        transaction!(self, (transaction, _dialect) => {
            sqlx::query("UPDATE async_operations SET result = $2 WHERE operation_id = $1")
                .bind(operation_id)
                .bind(result)
                .execute(&mut *transaction)
                .await?;
        });
        Ok(())
    }
}
