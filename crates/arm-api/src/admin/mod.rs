//! `/_galleryd/*`: galleryd's own endpoints, outside ARM paths and free of ARM conventions (no
//! api-version): liveness, readiness, where to find the endpoints and the certificate, and views into
//! replication (replicas, "latest", billing estimate, usage against limits); and what test suites
//! drive: [`reset`], [`faults`].

pub mod faults;
pub mod reset;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use std::collections::HashMap;

use axum::extract::Query;
use gallery_domain::ErrorCode;
use gallery_domain::ServiceError;
use gallery_domain::ids;
use gallery_domain::limits::QuotaKind;
use gallery_domain::publishing::{
    ArtifactKind, PublishedContents, PublishedVersion, latest, replica_content_id, replication_plan,
};
use gallery_domain::regions;
use gallery_store::ListScope;
use serde_json::Value;

use crate::{ApiError, SharedApp};

/// `GET /_galleryd/health`: 200 whenever the process serves requests.
pub async fn health() -> Response {
    (StatusCode::OK, axum::Json(json!({"status": "ok"}))).into_response()
}

/// `GET /_galleryd/ready`: 200 once migrations are done and the database answers, 503 before and
/// while the database is unreachable: at once when an outage is known, else after a ping bounded
/// by the outage probe's timeout (a failed ping reports the outage).
pub async fn ready(State(app): State<SharedApp>) -> Response {
    let unavailable = || {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "database unavailable"})),
        )
            .into_response()
    };
    let Some(store) = app.opened_store() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "starting"})),
        )
            .into_response();
    };
    if app.database_outage.is_down() {
        return unavailable();
    }
    match tokio::time::timeout(crate::database_outage::PROBE_TIMEOUT, store.ping()).await {
        Ok(Ok(())) => (
            StatusCode::OK,
            axum::Json(json!({"status": "ready", "database": store.backend_name()})),
        )
            .into_response(),
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness check failed");
            app.database_outage.report(store);
            unavailable()
        }
        Err(_) => {
            tracing::warn!("readiness check failed: the database did not answer in time");
            app.database_outage.report(store);
            unavailable()
        }
    }
}

/// `GET /_galleryd/endpoints`: what `endpoints.json` holds (base URLs, certificate, development ids).
pub async fn endpoints(State(app): State<SharedApp>) -> Response {
    match app.endpoints.get() {
        Some(endpoints) => (StatusCode::OK, axum::Json(endpoints.clone())).into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "starting"})),
        )
            .into_response(),
    }
}

/// `GET /_galleryd/certificate`: the PEM certificate the HTTPS listener presents (handy with
/// `--in-memory`, where no file is written).
pub async fn certificate(State(app): State<SharedApp>) -> Response {
    match app.certificate_pem.get() {
        Some(pem) => (
            [(header::CONTENT_TYPE, "application/x-pem-file")],
            pem.clone(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// What a `/_galleryd` report answers: 200 with its JSON, or the error in ARM's shape.
pub(crate) type Report = Result<axum::Json<Value>, ApiError>;

/// A query parameter, ignoring the case of its name (empty counts as absent).
pub(crate) fn optional_parameter<'a>(
    query: &'a HashMap<String, String>,
    name: &str,
) -> Option<&'a str> {
    query
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
        .filter(|value| !value.is_empty())
}

/// The resource `id` names, if it is of `resource_type`; otherwise 404 naming it as `what`.
async fn resource_of_type(
    store: &gallery_store::Store,
    id: &str,
    resource_type: &str,
    what: &str,
) -> Result<gallery_store::StoredResource, ApiError> {
    store
        .get_resource(&ids::resource_key(id))
        .await?
        .filter(|resource| resource.resource_type.eq_ignore_ascii_case(resource_type))
        .ok_or_else(|| {
            ServiceError::new(
                404,
                ErrorCode::ResourceNotFound,
                format!("The {what} '{id}' was not found."),
            )
            .into()
        })
}

fn parameter<'a>(query: &'a HashMap<String, String>, name: &str) -> Result<&'a str, ApiError> {
    optional_parameter(query, name).ok_or_else(|| {
        ServiceError::invalid_parameter(name, format!("The query parameter '{name}' is required."))
            .into()
    })
}

/// `GET /_galleryd/replicas?versionId=<version id>`: every replica of a published version (an
/// image or application version), where its bytes are and how far its copy got.
pub async fn replicas(
    State(app): State<SharedApp>,
    Query(query): Query<HashMap<String, String>>,
) -> Report {
    let version_id = parameter(&query, "versionId")?;
    let store = app.store()?;
    let kind = ArtifactKind::of_resource_id(version_id).unwrap_or(&ArtifactKind::IMAGE_VERSION);
    let version = resource_of_type(store, version_id, kind.resource_type, kind.noun).await?;
    let replicas = store.list_replicas(version.seq).await?;
    let value: Vec<Value> = replicas
            .iter()
            .map(|replica| {
                let content_id = replica_content_id(replica.version_seq, &replica.region, replica.replica_index, &replica.disk);
                json!({
                    "region": replica.region,
                    "replicaIndex": replica.replica_index,
                    "disk": replica.disk,
                    "storageAccountType": replica.storage_account_type,
                    "state": replica.state.as_str(),
                    "bytesTotal": replica.bytes_total,
                    "bytesCopied": replica.bytes_copied,
                    "checksum": replica.checksum,
                    "copiesStarted": replica.copies_started,
                    "copiedBy": replica.copied_by,
                    "details": replica.details,
                    "contentId": content_id,
                    "blob": format!("{}:{}/contents/{content_id}/", app.blobs.backend_name(), replica.region),
                })
            })
            .collect();
    Ok(axum::Json(json!({ "value": value })))
}

/// `GET /_galleryd/latest?imageId=<image definition id>[&region=<region>]`: the version "latest"
/// resolves to (until virtual machines exist to consume it).
pub async fn latest(
    State(app): State<SharedApp>,
    Query(query): Query<HashMap<String, String>>,
) -> Report {
    let image_id = parameter(&query, "imageId")?;
    let region = match optional_parameter(&query, "region") {
        Some(value) => Some(
            regions::find(value)
                .ok_or_else(|| {
                    ServiceError::invalid_parameter(
                        "region",
                        format!("'{value}' is not a known region."),
                    )
                })?
                .name,
        ),
        None => None,
    };
    let store = app.store()?;
    let image =
        resource_of_type(store, image_id, ids::GALLERY_IMAGE_TYPE, "image definition").await?;
    let mut candidates = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list_resources(
                ListScope::UnderParent {
                    parent_seq: image.seq,
                    resource_type: ids::GALLERY_IMAGE_VERSION_TYPE,
                },
                after,
                500,
            )
            .await?;
        for resource in &page.items {
            let version: PublishedVersion = crate::arm::tracked::parse_stored(&resource.body)?;
            if let Some(candidate) = latest::candidate(
                &version.name,
                &version.properties.publishing_profile,
                version.properties.provisioning_state,
            ) {
                candidates.push((candidate, version.id.clone()));
            }
        }
        match page.next_cursor {
            Some(cursor) => after = Some(cursor),
            None => break,
        }
    }
    let ids_by_name: HashMap<String, String> = candidates
        .iter()
        .map(|(candidate, id)| (candidate.name.clone(), id.clone()))
        .collect();
    let chosen = latest::resolve(
        candidates.into_iter().map(|(candidate, _)| candidate),
        region,
    )
    .ok_or_else(|| latest::no_latest_version(image_id))?;
    Ok(axum::Json(
        json!({ "name": chosen.name, "id": ids_by_name.get(&chosen.name), "region": region }),
    ))
}

/// `GET /_galleryd/billing?subscriptionId=<id>`: what the subscription's image versions would cost
/// in Azure's terms: snapshot storage of every replica (occupied size × replicas × regions) and the
/// egress of one copy to every region besides the version's own.
pub async fn billing(
    State(app): State<SharedApp>,
    Query(query): Query<HashMap<String, String>>,
) -> Report {
    let subscription_id = parameter(&query, "subscriptionId")?;
    let subscription = app
        .subscription(subscription_id)
        .ok_or_else(|| ServiceError::subscription_not_found(subscription_id))?;
    let store = app.store()?;
    let mut versions = Vec::new();
    let (mut total_storage, mut total_egress) = (0u64, 0u64);
    for resource in store
        .all_of_type(
            &subscription.subscription_id,
            ids::GALLERY_IMAGE_VERSION_TYPE,
        )
        .await?
    {
        let version: PublishedVersion = crate::arm::tracked::parse_stored(&resource.body)?;
        let contents: PublishedContents = crate::arm::tracked::parse_internal(&resource)?;
        let occupied: u64 = contents
            .sources
            .iter()
            .map(|source| source.occupied_bytes)
            .sum();
        let plan = replication_plan(&version.properties.publishing_profile);
        let replicas = plan.len() as u64;
        let mut regions: Vec<&str> = plan.iter().map(|replica| replica.region.as_str()).collect();
        regions.sort_unstable();
        regions.dedup();
        let other_regions = regions
            .iter()
            .filter(|region| **region != version.location)
            .count() as u64;
        let storage = occupied.saturating_mul(replicas);
        let egress = occupied.saturating_mul(other_regions);
        total_storage = total_storage.saturating_add(storage);
        total_egress = total_egress.saturating_add(egress);
        versions.push(json!({
            "id": version.id,
            "occupiedBytes": occupied,
            "regions": regions.len(),
            "replicas": replicas,
            "snapshotStorageBytes": storage,
            "egressBytes": egress,
        }));
    }
    Ok(axum::Json(json!({
        "subscriptionId": subscription.subscription_id,
        "versions": versions,
        "totalSnapshotStorageBytes": total_storage,
        "totalEgressBytes": total_egress,
    })))
}

/// `GET /_galleryd/usage?subscriptionId=<id>&location=<region>`: galleries, image definitions and
/// image versions against their per-region limits.
pub async fn usage(
    State(app): State<SharedApp>,
    Query(query): Query<HashMap<String, String>>,
) -> Report {
    let subscription_id = parameter(&query, "subscriptionId")?;
    let location = parameter(&query, "location")?;
    let subscription = app
        .subscription(subscription_id)
        .ok_or_else(|| ServiceError::subscription_not_found(subscription_id))?;
    let region = regions::find(location).ok_or_else(|| {
        ServiceError::invalid_parameter("location", format!("'{location}' is not a known region."))
    })?;
    let used = app
        .store()?
        .usage(&subscription.subscription_id, region.name)
        .await?;
    let value: Vec<Value> = [QuotaKind::Galleries, QuotaKind::ImageDefinitions, QuotaKind::ImageVersions]
            .into_iter()
            .map(|kind| {
                let current = used.iter().find(|(name, _)| name == kind.as_str()).map_or(0, |(_, count)| *count);
                json!({ "name": kind.as_str(), "currentValue": current, "limit": app.settings.limits.for_kind(kind), "unit": "Count" })
            })
            .collect();
    Ok(axum::Json(
        json!({ "subscriptionId": subscription.subscription_id, "location": region.name, "value": value }),
    ))
}
