//! The envelope every published artifact version's PUT and PATCH shares (VM application versions,
//! gallery script versions): the version's name, tags and location are decided here, once, and the
//! kind's own rules decide the properties.
//!
//! # Rules
//! - A new version's name is a version number (`VersionName`).
//! - A PUT's tags are validated and its location resolved (never changing after creation).
//! - A PATCH replaces the tags when given and merges its properties (RFC 7396) over the stored
//!   ones; `provisioningState` and `replicationStatus` are read-only.

use serde::Serialize;
use serde_json::Value;

use crate::ServiceError;
use crate::models::common::{
    PatchRequest, TrackedResource, WriteContext, location_for_put, patched_properties,
    tags_for_patch, validate_tags,
};
use crate::tags::Tags;
use crate::version_name::VersionName;

/// The members of a PUT body the envelope decides.
pub(crate) struct PutEnvelope<'a> {
    pub location: Option<&'a str>,
    pub tags: Option<Tags>,
    pub properties: Option<Value>,
}

/// Decides a version PUT's envelope, then its properties with `decide(location, tags, properties)`.
pub(crate) fn put<P, R>(
    existing: Option<&TrackedResource<P>>,
    request: PutEnvelope<'_>,
    resource_type: &str,
    context: &WriteContext<'_>,
    decide: impl FnOnce(String, Option<Tags>, Value) -> Result<R, ServiceError>,
) -> Result<R, ServiceError> {
    if existing.is_none() {
        VersionName::parse(context.name)?;
    }
    let tags = validate_tags(request.tags)?;
    let location = location_for_put(existing, request.location, resource_type, context)?;
    decide(location, tags, request.properties.unwrap_or(Value::Null))
}

/// Decides a version PATCH's envelope, then its merged properties with
/// `decide(location, tags, properties)`.
pub(crate) fn patch<P: Serialize, R>(
    existing: &TrackedResource<P>,
    request: PatchRequest,
    decide: impl FnOnce(String, Option<Tags>, Value) -> Result<R, ServiceError>,
) -> Result<R, ServiceError> {
    let tags = tags_for_patch(existing, request.tags)?;
    let properties = patched_properties(
        &existing.properties,
        &["provisioningState", "replicationStatus"],
        request.properties.as_ref(),
    );
    decide(existing.location.clone(), tags, properties)
}
