//! Deployments_WhatIf: what a deployment would change, without changing anything.
//!
//! The template is prepared and pre-evaluated as for validate; each resource it declares is read
//! through the front door and compared with the body the deployment would send: absent is
//! `Create`, equal is `NoChange`, different is `Modify` with property-level `delta`s. Only the
//! members the template sets are compared (read-only and provider-computed members such as
//! `provisioningState`, `replicationStatus` or generated identifiers never show as changes: the
//! noise users complain about in Azure's what-if); strings compare ignoring case, as the providers
//! canonicalise enum casing. A body that reads deployed state (`reference()`) cannot be known
//! before the deployment and is `Deploy`. Resources of the group the template does not declare
//! are `Ignore` in mode Incremental and `Delete` in mode Complete (for the types Complete deletes).
//!
//! The POST answers 202 with a `Location` (`/subscriptions/{s}/operationresults/{id}`) whose first
//! poll answers the result, `{status, properties: {changes}}`; a template error is the result's
//! `error` (a 200, as Azure answers it), not an HTTP error.

use arm_templates::ResourceInstance;
use axum::http::StatusCode;
use axum::response::Response;
use gallery_store::{NewOperation, OperationStatus};
use serde_json::{Map, Value, json};

use super::body::DeploymentMode;
use super::complete_mode;
use super::front_door::FrontDoor;
use super::{DeploymentPath, prepare};
use crate::SharedApp;
use crate::arm::request::ArmRequest;
use crate::arm::response::{self, RETRY_AFTER_SECONDS};
use crate::error::{ApiError, ApiResult, error_object};

/// Members of a resource compared by what-if besides `properties`.
const COMPARED_MEMBERS: &[&str] = &["location", "tags", "sku", "kind", "identity", "properties"];

/// Deployments_WhatIf and Deployments_WhatIfAtSubscriptionScope.
pub async fn what_if(app: &SharedApp, request: &ArmRequest) -> ApiResult<Response> {
    let path = DeploymentPath::of(request);
    let result = match prepare(app, request, &path).await {
        Ok(prepared) => {
            let front_door = FrontDoor::new(
                app,
                &request.base_url,
                request.caller.clone(),
                prepared.correlation_id.clone(),
            );
            let mut changes = Vec::new();
            let bodies = prepared.plan.preflight().unwrap_or_default();
            for (instance, body) in prepared.plan.resources().iter().zip(bodies) {
                if instance.existing {
                    continue;
                }
                changes.push(change(&front_door, instance, body.map(|body| body.body)).await);
            }
            if let Some(group) = &path.resource_group {
                let group_id = format!(
                    "/subscriptions/{}/resourceGroups/{group}",
                    path.subscription_id
                );
                let complete = prepared.request.mode == DeploymentMode::Complete;
                for found in complete_mode::undeclared(&front_door, &prepared.plan, &group_id).await
                {
                    let before = found.resource;
                    changes.push(if complete {
                        json!({"resourceId": before["id"], "changeType": "Delete", "before": before})
                    } else {
                        json!({"resourceId": before["id"], "changeType": "Ignore", "before": before})
                    });
                }
            }
            json!({"status": "Succeeded", "properties": {"changes": changes}})
        }
        Err(ApiError::Service(error)) => {
            json!({"status": "Failed", "error": error_object(&error)})
        }
        Err(other) => return Err(other),
    };
    let now = gallery_domain::time::format(chrono::Utc::now());
    let operation = NewOperation {
        operation_id: uuid::Uuid::new_v4().to_string(),
        action: request.operation.action().to_string(),
        status: OperationStatus::Succeeded,
        started_at: now.clone(),
        ended_at: Some(now),
        final_status: 200,
    };
    let deployment_id = path.id(path.resource_group.as_deref());
    app.store()?
        .record_operation_with_result(
            &path.subscription_id,
            "global",
            &deployment_id,
            &operation,
            &result.to_string(),
        )
        .await?;
    let location = request.url(
        &format!(
            "/subscriptions/{}/operationresults/{}",
            path.subscription_id, operation.operation_id
        ),
        &[],
    );
    let answer =
        response::with_header(response::empty(StatusCode::ACCEPTED), "Location", &location);
    Ok(response::with_header(
        answer,
        "Retry-After",
        RETRY_AFTER_SECONDS,
    ))
}

/// The change of one declared resource.
async fn change(front_door: &FrontDoor, instance: &ResourceInstance, body: Option<Value>) -> Value {
    let resource_id = instance.resource_id.as_str();
    let api_version = instance.api_version.as_str();
    let Some(body) = body else {
        return json!({"resourceId": resource_id, "changeType": "Deploy"});
    };
    let mut after = compared(&body);
    after.insert("id".into(), Value::String(resource_id.into()));
    after.insert("apiVersion".into(), Value::String(api_version.into()));
    after.insert("type".into(), Value::String(instance.resource_type.clone()));
    after.insert("name".into(), Value::String(instance.name.clone()));
    let current = front_door.get(resource_id, api_version).await;
    if current.status == StatusCode::NOT_FOUND {
        return json!({"resourceId": resource_id, "changeType": "Create", "after": after});
    }
    let current = current.json();
    let mut before = compared(&current);
    before.insert("id".into(), current["id"].clone());
    before.insert("apiVersion".into(), Value::String(api_version.into()));
    let mut delta = Vec::new();
    for member in COMPARED_MEMBERS {
        if let Some(wanted) = body.get(*member) {
            diff(
                member,
                current.get(*member).unwrap_or(&Value::Null),
                wanted,
                &mut delta,
            );
        }
    }
    if delta.is_empty() {
        json!({"resourceId": resource_id, "changeType": "NoChange", "before": before, "after": after})
    } else {
        json!({"resourceId": resource_id, "changeType": "Modify", "before": before, "after": after, "delta": delta})
    }
}

/// The members of a resource what-if shows.
fn compared(resource: &Value) -> Map<String, Value> {
    let mut shown = Map::new();
    for member in ["type", "name"].iter().chain(COMPARED_MEMBERS) {
        if let Some(value) = resource.get(*member) {
            shown.insert((*member).to_string(), value.clone());
        }
    }
    shown
}

/// The property changes from `before` to `after`, for the members `after` sets.
fn diff(path: &str, before: &Value, after: &Value, delta: &mut Vec<Value>) {
    match (before, after) {
        (Value::Object(current), Value::Object(wanted)) => {
            for (key, value) in wanted {
                let child = format!("{path}.{key}");
                match current.get(key) {
                    Some(existing) => diff(&child, existing, value, delta),
                    None if value.is_null() => {}
                    None => delta.push(json!({"path": child, "propertyChangeType": "Create", "after": value})),
                }
            }
        }
        (Value::String(current), Value::String(wanted)) if current.eq_ignore_ascii_case(wanted) => {}
        (Value::Array(current), Value::Array(wanted))
            if current.len() == wanted.len()
                && current.iter().zip(wanted).all(|(a, b)| {
                    let mut nested = Vec::new();
                    diff("", a, b, &mut nested);
                    nested.is_empty()
                }) => {}
        (Value::Null, wanted) => delta.push(json!({"path": path, "propertyChangeType": "Create", "after": wanted})),
        (current, wanted) if current == wanted => {}
        (current, wanted @ Value::Array(_)) => delta.push(
            json!({"path": path, "propertyChangeType": "Array", "before": current, "after": wanted}),
        ),
        (current, wanted) => delta.push(
            json!({"path": path, "propertyChangeType": "Modify", "before": current, "after": wanted}),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::diff;
    use serde_json::json;

    #[test]
    fn only_members_the_template_sets_are_compared() {
        let current = json!({"description": "old", "osType": "Linux", "provisioningState": "Succeeded", "identifier": {"publisher": "p"}});
        let wanted = json!({"description": "new", "osType": "linux", "identifier": {"publisher": "p"}, "eula": "e"});
        let mut delta = Vec::new();
        diff("properties", &current, &wanted, &mut delta);
        assert_eq!(
            delta,
            vec![
                json!({"path": "properties.description", "propertyChangeType": "Modify", "before": "old", "after": "new"}),
                json!({"path": "properties.eula", "propertyChangeType": "Create", "after": "e"}),
            ]
        );
        let mut none = Vec::new();
        diff("tags", &json!({"a": "1"}), &json!({"a": "1"}), &mut none);
        assert!(none.is_empty());
    }
}
