//! The flows every tracked Compute resource shares: read with ARM's three kinds of 404
//! ([`read`]), create-or-replace, update and delete as long-running operations ([`write`], with
//! what a write does after losing a race in [`races`]), and
//! keyset-paginated lists in a resource group, a subscription or below a parent ([`list`]).
//! Resource modules (`galleries`, `gallery_images`, `gallery_image_versions`, `images`, `disks`)
//! bring the rules; these modules bring the ARM contract, so every resource follows it the same
//! way.

mod list;
mod races;
mod read;
mod resource_path;
mod write;

use gallery_domain::ErrorCode;
use gallery_domain::ServiceError;
use gallery_domain::models::common::{PatchRequest, parse_body};
use gallery_store::{Ancestry, NewOperation, OperationStatus, StoredResource};

use crate::arm::request::ArmRequest;

pub use list::{list_below, list_in_resource_group, list_in_subscription};
pub use races::{RaceRetries, WriteQueues};
pub use read::{get, get_for_delete, not_found};
pub use resource_path::{ResourcePath, TargetNames};
pub use write::{DecideWrite, WriteAttempt, WritePlan, delete, put, write};

/// A finished operation, recorded with the write it describes (the work is done within the request,
/// so the first poll already reads a terminal status).
pub fn finished_operation(request: &ArmRequest, final_status: u16) -> NewOperation {
    let now = gallery_domain::time::format(chrono::Utc::now());
    NewOperation {
        operation_id: uuid::Uuid::new_v4().to_string(),
        action: request.operation.action().to_string(),
        status: OperationStatus::Succeeded,
        started_at: now.clone(),
        ended_at: Some(now),
        final_status,
    }
}

/// An operation a background job finishes (replication, deletion of replicas, a content copy).
/// It started when the request arrived: what the request did before handing over (reading a
/// package, resolving sources) is part of its work.
pub fn running_operation(request: &ArmRequest, final_status: u16) -> NewOperation {
    NewOperation {
        operation_id: uuid::Uuid::new_v4().to_string(),
        action: request.operation.action().to_string(),
        status: OperationStatus::InProgress,
        started_at: gallery_domain::time::format(request.received_at),
        ended_at: None,
        final_status,
    }
}

/// Parses a stored document.
pub fn parse_stored<T: serde::de::DeserializeOwned>(body: &str) -> Result<T, ServiceError> {
    serde_json::from_str(body).map_err(|error| {
        tracing::error!(%error, "a stored document does not parse");
        ServiceError::new(
            500,
            ErrorCode::InternalServerError,
            "A stored document could not be read.",
        )
    })
}

/// Parses a stored resource's internal data (galleryd's own, never served); a resource without any
/// has the default.
pub fn parse_internal<T: serde::de::DeserializeOwned + Default>(
    resource: &StoredResource,
) -> Result<T, ServiceError> {
    match &resource.internal {
        Some(text) => parse_stored(text),
        None => Ok(T::default()),
    }
}

/// Serializes galleryd's own data or a decided document; a failure here is a bug, reported as a
/// 500 without details.
pub fn to_json(value: &impl serde::Serialize) -> Result<String, ServiceError> {
    serde_json::to_string(value).map_err(|error| {
        tracing::error!(%error, "a document does not serialize");
        ServiceError::new(
            500,
            ErrorCode::InternalServerError,
            "galleryd failed to record the resource.",
        )
    })
}

/// What a write request says: a PUT's body (create or replace) or a PATCH's (update).
pub enum WriteBody<Put, Patch = PatchRequest> {
    Put(Put),
    Patch(Patch),
}

impl<Put: serde::de::DeserializeOwned, Patch: serde::de::DeserializeOwned> WriteBody<Put, Patch> {
    /// Parses the request's body: a PATCH's when the resource must exist already, else a PUT's.
    pub fn parse(request: &ArmRequest, must_exist: bool) -> Result<Self, ServiceError> {
        Ok(if must_exist {
            WriteBody::Patch(parse_body(&request.body)?)
        } else {
            WriteBody::Put(parse_body(&request.body)?)
        })
    }
}

/// A fresh GUID (principal ids of managed identities and alike).
pub fn new_guid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The context a resource's rules decide a write in: who asks, when, where, under which id.
pub fn write_context<'a>(
    request: &'a ArmRequest,
    id: &'a str,
    ancestry: &'a Ancestry,
    name: &'a str,
    now: chrono::DateTime<chrono::Utc>,
    new_guid: &'a mut dyn FnMut() -> String,
) -> gallery_domain::models::WriteContext<'a> {
    gallery_domain::models::WriteContext {
        subscription: request.subscription(),
        resource_group: &ancestry.resource_group_name,
        id,
        name,
        caller: &request.caller,
        now,
        api_version: &request.api_version,
        new_guid,
    }
}
