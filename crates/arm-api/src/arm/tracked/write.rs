//! The write flow every ARM resource shares, in one place: the handler parses, the store reads
//! what the write depends on, the resource's rules decide (once), the store applies the decision.
//!
//! ```text
//! handler ─► write(plan, decider)
//!              loop: store.read_write_scope ─► 404s (group, parent, PATCH of nothing)
//!                    decider.decide(scope)  ─► gallery-domain decides: a Decision
//!                    store.apply_write      ─► Done | ClaimTaken (409) | LostRace: see `races`
//! ```
//!
//! A resource module implements [`DecideWrite`] (its rules, given the facts the store read) and
//! calls [`put`] (PUT and PATCH of a tracked resource, answered as ARM's long-running PUT) or
//! [`write`] (any other write over a resource, answered by the caller). Nothing below calls back up:
//! the store reads and applies, this flow decides when to try again. A decision with jobs leaves
//! its operation running until the workers end it; without, the operation is recorded finished.
//! [`delete`] is the same loop for deletions, with the rule that a parent with children stays.

use std::future::Future;

use axum::http::StatusCode;
use axum::response::Response;
use gallery_domain::limits::QuotaKind;
use gallery_domain::models::ProvisioningState;
use gallery_domain::models::common::{check_no_nested_resources, set_provisioning_state};
use gallery_domain::{ErrorCode, ServiceError};
use gallery_store::{
    Ancestry, Applied, Decision, ResourceScope, ResourceTarget, StoredResource, WriteScope,
};
use serde_json::Value;

use crate::App;
use crate::arm::request::ArmRequest;
use crate::arm::response;
use crate::arm::tracked::{
    RaceRetries, ResourcePath, TargetNames, finished_operation, not_found, parse_stored,
    running_operation,
};
use crate::error::ApiResult;

/// How a resource decides a write, given what the store read. Each resource module implements it
/// once; [`write`] calls [`DecideWrite::decide`] once per attempt (again only after a lost race, on
/// the facts read again).
pub trait DecideWrite: Send {
    /// What to store. `attempt` carries the facts the store read (the resource as it is, the
    /// stored names around it) and the id the resource has or gets. May look things up (a source
    /// to copy from, …) before deciding with `gallery-domain`.
    fn decide(
        &mut self,
        attempt: &WriteAttempt<'_>,
    ) -> impl Future<Output = ApiResult<Decision>> + Send;

    /// The error when another resource (`holder`) holds the uniqueness claim the decision made.
    fn claim_taken(&self, holder: &str) -> ServiceError {
        ServiceError::new(
            409,
            ErrorCode::Conflict,
            format!("The resource conflicts with the existing resource '{holder}'."),
        )
    }
}

/// One attempt at a write, as its decision sees it.
pub struct WriteAttempt<'a> {
    /// The facts the store read.
    pub scope: &'a ResourceScope,
    /// The canonical id: as the request names an existing resource, or, for a new one, with the
    /// stored casing of its resource group and parent.
    pub id: &'a str,
}

impl WriteAttempt<'_> {
    /// The resource as it is now, if it exists.
    pub fn existing(&self) -> Option<&StoredResource> {
        self.scope.existing.as_ref()
    }

    /// The stored names around the resource.
    pub fn ancestry(&self) -> &Ancestry {
        &self.scope.ancestry
    }

    /// The resource's stored document, parsed, if it exists.
    pub fn existing_document<T: serde::de::DeserializeOwned>(
        &self,
    ) -> Result<Option<T>, ServiceError> {
        self.existing()
            .map(|resource| parse_stored(&resource.body))
            .transpose()
    }
}

/// What a write is about.
pub struct WritePlan<'a> {
    pub path: &'a ResourcePath,
    /// The limit a new resource counts against.
    pub quota: Option<QuotaKind>,
    /// Whether the resource must exist already (PATCH, actions): otherwise 404 `ResourceNotFound`.
    pub must_exist: bool,
    /// What the operation's Location answers once done: 200 (with the resource) or 204.
    pub final_status: u16,
}

/// A committed write.
pub struct Written {
    /// Whether the resource did not exist before.
    pub created: bool,
    pub resource: StoredResource,
    pub operation_id: String,
    /// Whether workers have work to do before the operation ends.
    pub running: bool,
}

/// The facts a write of `path` depends on, or the 404 of a missing resource group or parent.
async fn read_scope(
    app: &App,
    path: &ResourcePath,
    names: &TargetNames,
) -> ApiResult<ResourceScope> {
    match app
        .store()?
        .read_write_scope(&names.target(path, None))
        .await?
    {
        WriteScope::Found(scope) => Ok(*scope),
        WriteScope::NoResourceGroup => {
            Err(ServiceError::resource_group_not_found(&path.resource_group).into())
        }
        WriteScope::NoParent => {
            let parent = path.parent().map(|parent| parent.display_name());
            Err(ServiceError::parent_resource_not_found(&parent.unwrap_or_default()).into())
        }
    }
}

/// Writes one resource: reads the scope, lets `decider` decide, applies the decision; reads and
/// decides again after a lost race. The operation is recorded with the write: finished, or running
/// when the decision hands the workers jobs (they are woken).
pub async fn write(
    app: &App,
    request: &ArmRequest,
    plan: &WritePlan<'_>,
    decider: &mut impl DecideWrite,
) -> ApiResult<Written> {
    let store = app.store()?;
    let path = plan.path;
    let names = TargetNames::of(path);
    let quota = plan
        .quota
        .map(|kind| (kind, app.settings.limits.for_kind(kind)));
    let target = names.target(path, quota);
    let mut retries = RaceRetries::for_resource(&app.write_queues, target.resource_key);
    loop {
        let scope = read_scope(app, path, &names).await?;
        if plan.must_exist && scope.existing.is_none() {
            return Err(path.resource_not_found().into());
        }
        let id = match &scope.existing {
            Some(_) => path.id(),
            None => path.id_with_ancestry(&scope.ancestry),
        };
        let decision = decider
            .decide(&WriteAttempt {
                scope: &scope,
                id: &id,
            })
            .await?;
        let running = !decision.jobs.is_empty();
        let operation = if running {
            running_operation(request, plan.final_status)
        } else {
            finished_operation(request, plan.final_status)
        };
        match store
            .apply_write(&target, &scope, &decision, &operation)
            .await?
        {
            Applied::Done(outcome) => {
                if running {
                    app.wake_workers();
                }
                return Ok(Written {
                    created: outcome.created,
                    resource: outcome.resource,
                    operation_id: operation.operation_id,
                    running,
                });
            }
            Applied::ClaimTaken { holder } => return Err(decider.claim_taken(&holder).into()),
            Applied::LostRace => retries.lost_race().await?,
        }
    }
}

/// Creates, replaces or updates a tracked resource as ARM's long-running PUT: 201 (created) or
/// 200 with the document in state `Creating`/`Updating`, shaped by `view`, and the operation's
/// `Azure-AsyncOperation`.
pub async fn put(
    app: &App,
    request: &ArmRequest,
    plan: &WritePlan<'_>,
    decider: &mut impl DecideWrite,
    view: impl Fn(Value) -> Value,
) -> ApiResult<Response> {
    let written = write(app, request, plan, decider).await?;
    let mut document: Value = parse_stored(&written.resource.body)?;
    let state = if written.created {
        ProvisioningState::Creating
    } else {
        ProvisioningState::Updating
    };
    set_provisioning_state(&mut document, state);
    Ok(response::accepted_put(
        request,
        written.created,
        view(document).to_string(),
        &written.resource.location,
        &written.operation_id,
    ))
}

/// Deletes a resource: 202 with the operation's URLs when it existed, 204 when it did not (404
/// when its resource group is missing). A resource with nested resources stays (409);
/// `allowed` adds the resource's own rules about the resource as it is.
pub async fn delete(
    app: &App,
    request: &ArmRequest,
    path: &ResourcePath,
    allowed: impl Fn(&StoredResource) -> Result<(), ServiceError>,
) -> ApiResult<Response> {
    let store = app.store()?;
    let names = TargetNames::of(path);
    // A missing resource is 204 whether or not its parent exists (only its group must): the
    // scope is read without the parent.
    let target = ResourceTarget {
        parent_key: None,
        ..names.target(path, None)
    };
    let mut retries = RaceRetries::for_resource(&app.write_queues, target.resource_key);
    loop {
        let scope = match store.read_write_scope(&target).await? {
            WriteScope::Found(scope) => scope,
            WriteScope::NoResourceGroup | WriteScope::NoParent => {
                return Err(not_found(app, path).await);
            }
        };
        let Some(resource) = &scope.existing else {
            return Ok(response::empty(StatusCode::NO_CONTENT));
        };
        allowed(resource)?;
        check_no_nested_resources(scope.has_children)?;
        let operation = finished_operation(request, 204);
        match store.apply_delete(&target, &scope, &operation).await? {
            Applied::Done(deleted) => {
                return Ok(response::accepted_delete(
                    request,
                    &deleted.location,
                    &operation.operation_id,
                ));
            }
            Applied::LostRace | Applied::ClaimTaken { .. } => retries.lost_race().await?,
        }
    }
}
