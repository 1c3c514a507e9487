//! `POST /_galleryd/reset`: a test suite starts clean without restarting galleryd.
//!
//! Everything, one subscription (`?subscriptionId=`) or one resource group (`?subscriptionId=&
//! resourceGroup=`): resource groups, resources, their replicas, usage, async operations and jobs go
//! in one transaction (`Store::reset`, which first stops this process's background runs in the
//! scope and holds new ones back), then the blobs of the deleted contents, before the answer. What a
//! reset does not reach: copies run by other processes sharing the database (their blobs, which no
//! row names any more, are collected by garbage collection after its grace period); the signing
//! keys stay, so tokens handed out before remain valid. The role assignments and custom roles of the
//! scope go too (the rule is `gallery_store::reset`'s); this process drops its cached access policy,
//! others see the bumped access revision; assignments from the identities file stay.

use std::collections::HashMap;
use std::time::Instant;

use axum::extract::{Query, State};
use futures_util::stream::{self, StreamExt};
use gallery_domain::ServiceError;
use gallery_store::{RemovedContent, ResetScope};
use serde_json::{Value, json};

use super::{Report, optional_parameter};
use crate::{App, SharedApp};

/// How many contents' blobs are deleted at once.
const CONCURRENT_BLOB_DELETIONS: usize = 16;

/// `POST /_galleryd/reset[?subscriptionId=<id>[&resourceGroup=<name>]]`: 200 with what was deleted.
pub async fn reset(
    State(app): State<SharedApp>,
    Query(query): Query<HashMap<String, String>>,
) -> Report {
    let started = Instant::now();
    let scope = scope(&app, &query)?;
    let store = app.store()?;
    let reset = store.reset(&scope).await?;
    app.access.invalidate();
    let blobs_left = delete_blobs(&app, &reset.report.contents).await;
    // Background runs in the scope may go on once the blobs are gone: they find nothing to do.
    let report = reset.report.clone();
    drop(reset);
    match &scope {
        ResetScope::Everything => app.throttle.forget(None),
        ResetScope::Subscription { subscription_id } => app.throttle.forget(Some(subscription_id)),
        ResetScope::ResourceGroup { .. } => {}
    }
    let elapsed = started.elapsed();
    metrics::counter!("galleryd_resets_total").increment(1);
    tracing::info!(
        ?scope,
        resources = report.resources,
        ?elapsed,
        "state reset"
    );
    Ok(axum::Json(json!({
        "scope": scope_view(&scope),
        "deleted": {
            "resourceGroups": report.resource_groups,
            "resources": report.resources,
            "operations": report.operations,
            "jobs": report.jobs,
            "deployments": report.deployments,
            "roleAssignments": report.role_assignments,
            "roleDefinitions": report.role_definitions,
            "contents": report.contents.len(),
        },
        "blobsLeftForGarbageCollection": blobs_left,
        "elapsedMilliseconds": elapsed.as_secs_f64() * 1000.0,
    })))
}

/// The scope the query names: a resource group needs its subscription; a subscription must be one
/// galleryd serves (named with its stored casing).
fn scope(app: &App, query: &HashMap<String, String>) -> Result<ResetScope, ServiceError> {
    let subscription = optional_parameter(query, "subscriptionId");
    let group = optional_parameter(query, "resourceGroup");
    let Some(subscription_id) = subscription else {
        if group.is_some() {
            return Err(ServiceError::invalid_parameter(
                "subscriptionId",
                "The query parameter 'subscriptionId' is required with 'resourceGroup'.",
            ));
        }
        return Ok(ResetScope::Everything);
    };
    let subscription_id = app
        .subscription(subscription_id)
        .ok_or_else(|| ServiceError::subscription_not_found(subscription_id))?
        .subscription_id
        .clone();
    Ok(match group {
        None => ResetScope::Subscription { subscription_id },
        Some(resource_group) => ResetScope::ResourceGroup {
            subscription_id,
            resource_group: resource_group.to_string(),
        },
    })
}

fn scope_view(scope: &ResetScope) -> Value {
    match scope {
        ResetScope::Everything => json!("everything"),
        ResetScope::Subscription { subscription_id } => {
            json!({ "subscriptionId": subscription_id })
        }
        ResetScope::ResourceGroup {
            subscription_id,
            resource_group,
        } => json!({ "subscriptionId": subscription_id, "resourceGroup": resource_group }),
    }
}

/// Deletes the blobs of the deleted contents, several at once; returns how many contents' blobs
/// could not be deleted (no row names them any more, so garbage collection takes them later).
async fn delete_blobs(app: &App, contents: &[RemovedContent]) -> usize {
    let blobs = app.blobs.clone();
    stream::iter(contents.to_vec())
        .map(move |content| delete_content_blobs(blobs.clone(), content))
        .buffer_unordered(CONCURRENT_BLOB_DELETIONS)
        .filter(|failed| std::future::ready(*failed))
        .count()
        .await
}

/// Deletes one content's blobs; `true` when it could not.
async fn delete_content_blobs(blobs: gallery_blob::RegionStores, content: RemovedContent) -> bool {
    let deleted = match blobs.region(&content.region).await {
        Ok(objects) => gallery_blob::delete(objects.as_ref(), &content.content_id)
            .await
            .map(|_| ()),
        Err(error) => Err(error),
    };
    if let Err(error) = &deleted {
        tracing::warn!(%error, content = %content.content_id, region = %content.region, "a reset could not delete a content's blobs; garbage collection will");
    }
    deleted.is_err()
}
