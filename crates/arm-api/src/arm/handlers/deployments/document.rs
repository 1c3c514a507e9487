//! The documents deployments are served as: `DeploymentExtended` and `DeploymentOperation`.
//!
//! A deployment's stored document leaves out `provisioningState` (the store's column is the truth);
//! [`served`] puts it in. Times are ARM's: RFC 3339 with seven fractional digits, durations as
//! ISO 8601 (`PT1.2345678S`).

use arm_templates::Plan;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::body::DeploymentRequest;

pub const DEPLOYMENT_TYPE: &str = "Microsoft.Resources/deployments";

/// ARM's timestamp format.
pub fn timestamp(time: DateTime<Utc>) -> String {
    use chrono::Timelike;
    format!(
        "{}.{:07}Z",
        time.format("%Y-%m-%dT%H:%M:%S"),
        time.nanosecond() % 1_000_000_000 / 100
    )
}

/// An ISO 8601 duration (`PT3.1234567S`).
pub fn duration(elapsed: chrono::Duration) -> String {
    let micros = elapsed.num_microseconds().unwrap_or(0).max(0);
    format!("PT{}.{:06}0S", micros / 1_000_000, micros % 1_000_000)
}

/// A resource type the plan deploys, with the locations it deploys it to.
type TypeLocations = (String, Vec<String>);

/// `properties.providers`: the namespaces and types the plan deploys, with their locations.
fn providers(plan: &Plan) -> Value {
    let mut namespaces: Vec<(String, Vec<TypeLocations>)> = Vec::new();
    for instance in plan.resources() {
        let (namespace, resource_type) = instance
            .resource_type
            .split_once('/')
            .unwrap_or((instance.resource_type.as_str(), ""));
        let position = match namespaces
            .iter()
            .position(|(known, _)| known.eq_ignore_ascii_case(namespace))
        {
            Some(position) => position,
            None => {
                namespaces.push((namespace.to_string(), Vec::new()));
                namespaces.len() - 1
            }
        };
        let types = &mut namespaces[position].1;
        let type_position = match types
            .iter()
            .position(|(known, _)| known.eq_ignore_ascii_case(resource_type))
        {
            Some(position) => position,
            None => {
                types.push((resource_type.to_string(), Vec::new()));
                types.len() - 1
            }
        };
        if let Some(location) = &instance.location
            && !types[type_position].1.contains(location)
        {
            types[type_position].1.push(location.clone());
        }
    }
    Value::Array(
        namespaces
            .into_iter()
            .map(|(namespace, types)| {
                json!({
                    "namespace": namespace,
                    "resourceTypes": types.into_iter().map(|(resource_type, locations)| json!({"resourceType": resource_type, "locations": locations})).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

/// A deployment's document at its start (without `provisioningState`).
pub fn initial(
    deployment_id: &str,
    name: &str,
    request: &DeploymentRequest,
    plan: &Plan,
    correlation_id: &str,
    started: DateTime<Utc>,
) -> Value {
    let mut properties = Map::new();
    properties.insert(
        "templateHash".into(),
        Value::String(request.template.template_hash()),
    );
    properties.insert("parameters".into(), plan.parameters_for_response());
    properties.insert("mode".into(), Value::String(request.mode.as_str().into()));
    if let Some(link) = &plan.context().template_link {
        properties.insert("templateLink".into(), link.clone());
    }
    if let Some(debug) = &request.debug_setting {
        properties.insert("debugSetting".into(), debug.clone());
    }
    if let Some(on_error) = &request.on_error_deployment {
        properties.insert("onErrorDeployment".into(), on_error.clone());
    }
    properties.insert("timestamp".into(), Value::String(timestamp(started)));
    properties.insert("duration".into(), Value::String("PT0S".into()));
    properties.insert("correlationId".into(), Value::String(correlation_id.into()));
    properties.insert("providers".into(), providers(plan));
    properties.insert("dependencies".into(), plan.dependencies_for_response());
    let mut document = json!({
        "id": deployment_id,
        "name": name,
        "type": DEPLOYMENT_TYPE,
        "properties": Value::Object(properties),
    });
    if let Some(tags) = &request.tags {
        document["tags"] = tags.clone();
    }
    if let Some(location) = &request.location {
        document["location"] = Value::String(location.clone());
    }
    document
}

/// The document as served: the stored one with `properties.provisioningState` set to `state`.
pub fn served(stored: &str, state: &str) -> Value {
    let mut document: Value = serde_json::from_str(stored).unwrap_or_else(|_| json!({}));
    if let Some(properties) = document
        .get_mut("properties")
        .and_then(Value::as_object_mut)
    {
        properties.insert("provisioningState".into(), Value::String(state.into()));
    }
    document
}

/// The validate answer: the deployment as it would start, with `validatedResources`.
pub fn validated(mut document: Value, plan: &Plan) -> Value {
    let validated: Vec<Value> = plan
        .resources()
        .iter()
        .map(|instance| json!({"id": instance.resource_id}))
        .collect();
    if let Some(properties) = document
        .get_mut("properties")
        .and_then(Value::as_object_mut)
    {
        properties.insert(
            "provisioningState".into(),
            Value::String("Succeeded".into()),
        );
        properties.insert(
            "timestamp".into(),
            Value::String("0001-01-01T00:00:00Z".into()),
        );
        properties.insert("duration".into(), Value::String("PT0S".into()));
        properties.insert("validatedResources".into(), Value::Array(validated));
    }
    document
}

/// One deployment operation's `properties`.
pub struct OperationRecord<'a> {
    pub deployment_id: &'a str,
    pub operation_id: &'a str,
    pub provisioning_operation: &'a str,
    pub state: &'a str,
    pub started: DateTime<Utc>,
    pub now: DateTime<Utc>,
    pub status_code: Option<&'a str>,
    pub error: Option<&'a Value>,
    pub service_request_id: Option<&'a str>,
    pub resource_id: &'a str,
    pub resource_type: &'a str,
    pub resource_name: &'a str,
    pub api_version: &'a str,
}

impl OperationRecord<'_> {
    /// The `DeploymentOperation` document.
    pub fn document(&self) -> Value {
        let mut properties = json!({
            "provisioningOperation": self.provisioning_operation,
            "provisioningState": self.state,
            "timestamp": timestamp(self.now),
            "duration": duration(self.now - self.started),
            "trackingId": uuid::Uuid::new_v4().to_string(),
            "targetResource": {
                "id": self.resource_id,
                "resourceType": self.resource_type,
                "resourceName": self.resource_name,
                "apiVersion": self.api_version,
            },
        });
        if let Some(code) = self.status_code {
            properties["statusCode"] = Value::String(code.into());
        }
        if let Some(request_id) = self.service_request_id {
            properties["serviceRequestId"] = Value::String(request_id.into());
        }
        if let Some(error) = self.error {
            properties["statusMessage"] = json!({"status": "Failed", "error": error});
        }
        json!({
            "id": format!("{}/operations/{}", self.deployment_id, self.operation_id),
            "operationId": self.operation_id,
            "properties": properties,
        })
    }
}

/// A new deployment operation id: 16 upper-case hexadecimal digits, as Azure's.
pub fn new_operation_id() -> String {
    let value = uuid::Uuid::new_v4().as_u128() as u64;
    format!("{value:016X}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_timestamps_have_arm_precision() {
        assert_eq!(
            duration(chrono::Duration::milliseconds(1234)),
            "PT1.2340000S"
        );
        let time = DateTime::parse_from_rfc3339("2026-01-02T03:04:05.5Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(timestamp(time), "2026-01-02T03:04:05.5000000Z");
        assert_eq!(new_operation_id().len(), 16);
    }
}
