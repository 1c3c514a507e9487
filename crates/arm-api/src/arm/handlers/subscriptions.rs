//! ARM's own read-only surface clients touch before anything else: subscriptions, tenants,
//! locations and resource providers.

use axum::http::StatusCode;
use axum::response::Response;
use gallery_domain::ServiceError;
use gallery_domain::api_version::{ApiFamily, COMPUTE_GALLERY_VERSIONS, RESOURCE_MANAGER_VERSIONS};
use gallery_domain::identity::Subscription;
use gallery_domain::regions;
use serde_json::{Value, json};

use crate::App;
use crate::arm::request::ArmRequest;
use crate::arm::response;
use crate::error::ApiResult;
use crate::identity::authentication::AuthenticationMode;

fn subscription_body(subscription: &Subscription) -> Value {
    json!({
        "id": format!("/subscriptions/{}", subscription.subscription_id),
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": subscription.subscription_id,
        "tenantId": subscription.tenant_id,
        "displayName": subscription.display_name,
        "state": "Enabled",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
            "spendingLimit": "Off"
        }
    })
}

/// Subscriptions_List: the subscriptions the caller holds a role in (at, above or below the
/// subscription: a role on one resource group suffices); every one under `--auth none`.
pub async fn list(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    let policy = match app.settings.authentication {
        AuthenticationMode::None => None,
        _ => Some(app.access.policy(app).await?),
    };
    let value: Vec<Value> = app
        .settings
        .directory
        .subscriptions
        .iter()
        .filter(|subscription| {
            policy.as_ref().is_none_or(|policy| {
                policy.has_any_access(
                    &request.caller.object_id,
                    &format!(
                        "/subscriptions/{}",
                        subscription.subscription_id.to_ascii_lowercase()
                    ),
                )
            })
        })
        .map(subscription_body)
        .collect();
    Ok(response::json(StatusCode::OK, &json!({ "value": value })))
}

/// Subscriptions_Get.
pub async fn get(_app: &App, request: &ArmRequest) -> ApiResult<Response> {
    Ok(response::json(
        StatusCode::OK,
        &subscription_body(request.subscription()),
    ))
}

/// Tenants_List: every tenant galleryd knows (the development one, the configured ones, and those
/// configured subscriptions and principals name).
pub async fn list_tenants(app: &App, _request: &ArmRequest) -> ApiResult<Response> {
    let value: Vec<Value> = app
        .settings
        .directory
        .tenants
        .iter()
        .map(|tenant| {
            let display_name = if tenant.display_name.is_empty() {
                "galleryd"
            } else {
                tenant.display_name.as_str()
            };
            json!({
                "id": format!("/tenants/{}", tenant.tenant_id),
                "tenantId": tenant.tenant_id,
                "tenantCategory": "Home",
                "displayName": display_name,
                "defaultDomain": "galleryd.local",
                "domains": ["galleryd.local"]
            })
        })
        .collect();
    Ok(response::json(StatusCode::OK, &json!({ "value": value })))
}

/// Subscriptions_ListLocations: the built-in region catalog (restricted regions only where the
/// subscription is allow-listed).
pub async fn list_locations(_app: &App, request: &ArmRequest) -> ApiResult<Response> {
    let subscription = request.subscription();
    let value: Vec<Value> = regions::REGIONS
        .iter()
        .filter(|region| subscription.may_use_region(region))
        .map(|region| {
            let paired: Vec<Value> = region
                .paired_region
                .map(|pair| vec![json!({"name": pair, "id": format!("/subscriptions/{}/locations/{pair}", subscription.subscription_id)})])
                .unwrap_or_default();
            json!({
                "id": format!("/subscriptions/{}/locations/{}", subscription.subscription_id, region.name),
                "name": region.name,
                "type": "Region",
                "displayName": region.display_name,
                "regionalDisplayName": format!("({}) {}", region.geography_group, region.display_name),
                "metadata": {
                    "regionType": "Physical",
                    "regionCategory": if region.restricted { "Other" } else { "Recommended" },
                    "geographyGroup": region.geography_group,
                    "physicalLocation": region.physical_location,
                    "pairedRegion": paired,
                },
                "availabilityZoneMappings": if region.availability_zones {
                    json!([1, 2, 3].iter().map(|zone| json!({"logicalZone": zone.to_string(), "physicalZone": format!("{}-az{zone}", region.name)})).collect::<Vec<_>>())
                } else { json!([]) }
            })
        })
        .collect();
    Ok(response::json(StatusCode::OK, &json!({ "value": value })))
}

fn newest_first(versions: &[&'static str]) -> Vec<&'static str> {
    versions.iter().rev().copied().collect()
}

fn compute_provider(subscription_id: &str) -> Value {
    let locations = regions::display_names();
    let gallery_versions = newest_first(COMPUTE_GALLERY_VERSIONS);
    let resource_type = |name: &str| {
        json!({
            "resourceType": name,
            "locations": locations,
            "apiVersions": gallery_versions,
            "defaultApiVersion": ApiFamily::ComputeGallery.newest(),
            "capabilities": "None"
        })
    };
    json!({
        "id": format!("/subscriptions/{subscription_id}/providers/Microsoft.Compute"),
        "namespace": "Microsoft.Compute",
        "registrationState": "Registered",
        "registrationPolicy": "RegistrationRequired",
        "resourceTypes": [
            resource_type("galleries"),
            resource_type("galleries/images"),
            resource_type("galleries/images/versions"),
            resource_type("locations/capsOperations"),
        ]
    })
}

fn resources_provider(subscription_id: &str) -> Value {
    let versions = newest_first(RESOURCE_MANAGER_VERSIONS);
    let resource_type = |name: &str| json!({"resourceType": name, "locations": [], "apiVersions": versions, "capabilities": "None"});
    json!({
        "id": format!("/subscriptions/{subscription_id}/providers/Microsoft.Resources"),
        "namespace": "Microsoft.Resources",
        "registrationState": "Registered",
        "registrationPolicy": "RegistrationFree",
        "resourceTypes": [
            resource_type("resourceGroups"),
            resource_type("subscriptions"),
            resource_type("subscriptions/locations"),
            resource_type("subscriptions/providers"),
            resource_type("subscriptions/operationresults"),
            resource_type("tenants"),
        ]
    })
}

fn provider(subscription_id: &str, namespace: &str) -> Option<Value> {
    if namespace.eq_ignore_ascii_case("Microsoft.Compute") {
        Some(compute_provider(subscription_id))
    } else if namespace.eq_ignore_ascii_case("Microsoft.Resources") {
        Some(resources_provider(subscription_id))
    } else {
        None
    }
}

/// Providers_List.
pub async fn list_providers(_app: &App, request: &ArmRequest) -> ApiResult<Response> {
    let subscription_id = &request.subscription().subscription_id;
    Ok(response::json(
        StatusCode::OK,
        &json!({ "value": [compute_provider(subscription_id), resources_provider(subscription_id)] }),
    ))
}

/// Providers_Get: Microsoft.Compute and Microsoft.Resources are always registered.
pub async fn get_provider(_app: &App, request: &ArmRequest) -> ApiResult<Response> {
    let namespace = request.parameters.get("resourceProviderNamespace");
    let provider = provider(&request.subscription().subscription_id, namespace)
        .ok_or_else(|| ServiceError::invalid_resource_namespace(namespace))?;
    Ok(response::json(StatusCode::OK, &provider))
}

/// Providers_Register: already registered; answers the provider.
pub async fn register_provider(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    get_provider(app, request).await
}
