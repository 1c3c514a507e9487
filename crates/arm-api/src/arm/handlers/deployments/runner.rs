//! The deployment runner: deploys a prepared plan's resources through the front door, in
//! dependency order, independent ones concurrently, recording one deployment operation per
//! resource, then evaluates the outputs and settles the deployment.
//!
//! It runs as a task of the process that accepted the PUT. Each resource's body is evaluated just
//! before its PUT (the engine's pending protocol: a `reference()` or `list*()` it needs is read
//! through the front door first); a failure blocks only the resources that depend on it, and
//! independent branches finish, as in Azure. Between resources the runner re-reads the
//! deployment's state: a cancel stops everything not started yet.

use std::sync::{Arc, Mutex};

use arm_templates::{
    DeployedResources, EvaluationError, ExpressionScope, Plan, ResourceInstance, ResourceState,
    RuntimeRequest, Schedule,
};
use axum::http::{Method, StatusCode};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use gallery_store::Store;
use serde_json::{Value, json};

use super::complete_mode;
use super::document::{self, OperationRecord};
use super::front_door::{FrontDoor, WriteFailure, Written};
use super::{linked, nested};
use crate::SharedApp;

/// Everything one run needs; shared by the tasks of its resources.
pub struct Run {
    pub app: SharedApp,
    pub front_door: FrontDoor,
    pub plan: Arc<Plan>,
    /// The deployment's row.
    pub seq: i64,
    pub deployment_id: String,
    /// The document as recorded at the start (no provisioning state).
    pub document: Value,
    pub started: DateTime<Utc>,
    /// Set for mode `Complete`: the group whose undeclared resources are deleted at the end.
    pub complete_in_group: Option<String>,
}

/// How one resource ended.
struct Outcome {
    index: usize,
    state: ResourceState,
    /// The failure (for `DeploymentFailed.details`).
    failure: Option<WriteFailure>,
}

impl Run {
    fn store(&self) -> Option<&Store> {
        self.app.store().ok()
    }

    /// Runs the deployment to its end. Never panics the process: every failure settles it.
    pub async fn execute(self: Arc<Self>) {
        let document = self.document.to_string();
        if let Some(store) = self.store() {
            let _ = store
                .update_running_deployment(self.seq, "Running", &document)
                .await;
        }
        let state = Arc::new(Mutex::new(DeployedResources::new()));
        let mut schedule = Schedule::new(&self.plan);
        let mut running = FuturesUnordered::new();
        let mut failures: Vec<(String, WriteFailure)> = Vec::new();
        let mut canceled = false;
        loop {
            if !canceled {
                for index in schedule.ready() {
                    schedule.start(index);
                    let run = self.clone();
                    let state = state.clone();
                    running.push(async move { run.deploy(index, &state).await });
                }
            }
            let Some(outcome) = running.next().await else {
                break;
            };
            let Outcome {
                index,
                state: ended,
                failure,
            } = outcome;
            schedule.finish(index, ended);
            if let Some(failure) = failure {
                failures.push((self.plan.resources()[index].resource_id.clone(), failure));
            }
            if !canceled && self.is_canceled().await {
                canceled = true;
                schedule.cancel_waiting();
            }
        }
        if canceled {
            self.settle("Canceled", None, None).await;
            return;
        }
        if failures.is_empty()
            && schedule.succeeded()
            && let Some(group_id) = &self.complete_in_group
        {
            failures.extend(self.delete_undeclared(group_id).await);
        }
        if !failures.is_empty() || !schedule.succeeded() {
            let error = deployment_failed(&self.deployment_id, &failures);
            self.settle("Failed", None, Some(error)).await;
            return;
        }
        let outputs = self.outputs(&state).await;
        match outputs {
            Ok(outputs) => self.settle("Succeeded", Some(outputs), None).await,
            Err(error) => self.settle("Failed", None, Some(error)).await,
        }
    }

    /// Mode `Complete`: deletes what the group holds and the template does not declare, recording
    /// each deletion as an operation; answers the deletions that failed.
    async fn delete_undeclared(&self, group_id: &str) -> Vec<(String, WriteFailure)> {
        let mut failures = Vec::new();
        for deletion in complete_mode::delete_undeclared(self, group_id).await {
            let started = Utc::now();
            let operation_id = document::new_operation_id();
            let (state, status, error) = match &deletion.outcome {
                Ok(()) => ("Succeeded", StatusCode::OK, None),
                Err(failure) => ("Failed", failure.status, Some(&failure.error)),
            };
            let record = OperationRecord {
                deployment_id: &self.deployment_id,
                operation_id: &operation_id,
                provisioning_operation: "Delete",
                state,
                started,
                now: Utc::now(),
                status_code: Some(reason(status)),
                error,
                service_request_id: None,
                resource_id: &deletion.resource_id,
                resource_type: &deletion.resource_type,
                resource_name: &deletion.name,
                api_version: &deletion.api_version,
            };
            self.write_operation(&operation_id, &record).await;
            if let Err(failure) = deletion.outcome {
                failures.push((deletion.resource_id, failure));
            }
        }
        failures
    }

    async fn is_canceled(&self) -> bool {
        let Some(store) = self.store() else {
            return false;
        };
        match store
            .get_deployment(&self.deployment_id.to_lowercase())
            .await
        {
            Ok(Some(row)) => row.provisioning_state == "Canceled",
            _ => false,
        }
    }

    /// Writes the deployment's end.
    async fn settle(&self, state: &str, outputs: Option<Value>, error: Option<Value>) {
        let now = Utc::now();
        let mut document = self.document.clone();
        let properties = &mut document["properties"];
        properties["timestamp"] = Value::String(document::timestamp(now));
        properties["duration"] = Value::String(document::duration(now - self.started));
        if let Some(outputs) = outputs {
            properties["outputs"] = outputs;
        }
        if state == "Succeeded" {
            let resources: Vec<Value> = self
                .plan
                .resources()
                .iter()
                .filter(|instance| !instance.existing)
                .map(|instance| json!({"id": instance.resource_id}))
                .collect();
            properties["outputResources"] = Value::Array(resources);
        }
        if let Some(error) = error {
            properties["error"] = error;
        }
        if let Some(store) = self.store() {
            let written = store
                .update_running_deployment(self.seq, state, &document.to_string())
                .await;
            if let Err(error) = written {
                tracing::warn!(deployment = %self.deployment_id, %error, "could not record the end of a deployment");
            }
        }
    }

    /// Evaluates the outputs, reading what they need.
    async fn outputs(&self, state: &Mutex<DeployedResources>) -> Result<Value, Value> {
        loop {
            let evaluated = {
                let guard = state.lock().unwrap_or_else(|poison| poison.into_inner());
                self.plan.evaluate_outputs(&*guard)
            };
            match evaluated {
                Ok(outputs) => {
                    let mut map = serde_json::Map::new();
                    for (name, output) in outputs {
                        let mut entry = json!({"type": output.type_name});
                        if !output.secure {
                            entry["value"] = output.value;
                        }
                        map.insert(name, entry);
                    }
                    return Ok(Value::Object(map));
                }
                Err(EvaluationError::Pending(request)) => {
                    self.read_runtime_value(&request, state).await?;
                }
                Err(EvaluationError::Failed(error)) => {
                    return Err(json!({"code": error.code.as_str(), "message": error.message}));
                }
            }
        }
    }

    /// Reads what an evaluation is waiting for and records it in `state`; the error is the ARM error
    /// of the read.
    async fn read_runtime_value(
        &self,
        request: &RuntimeRequest,
        state: &Mutex<DeployedResources>,
    ) -> Result<(), Value> {
        match request {
            RuntimeRequest::Reference {
                resource_id,
                api_version,
                ..
            } => {
                let answer = self.front_door.get(resource_id, api_version).await;
                if !answer.status.is_success() {
                    return Err(answer.error());
                }
                state
                    .lock()
                    .unwrap_or_else(|poison| poison.into_inner())
                    .insert_resource(resource_id, answer.json());
            }
            RuntimeRequest::List {
                resource_id,
                action,
                api_version,
                body,
            } => {
                let body: Option<Value> = body
                    .as_deref()
                    .and_then(|text| serde_json::from_str(text).ok());
                let answer = self
                    .front_door
                    .send(
                        Method::POST,
                        &format!("{resource_id}/{action}?api-version={api_version}"),
                        body.as_ref(),
                    )
                    .await;
                if !answer.status.is_success() {
                    return Err(answer.error());
                }
                state
                    .lock()
                    .unwrap_or_else(|poison| poison.into_inner())
                    .insert_list_result(resource_id, action, answer.json());
            }
        }
        Ok(())
    }

    /// Deploys one resource instance and records its operation.
    async fn deploy(&self, index: usize, state: &Mutex<DeployedResources>) -> Outcome {
        let instance = &self.plan.resources()[index];
        let started = Utc::now();
        let operation_id = document::new_operation_id();
        let body = loop {
            let evaluated = {
                let guard = state.lock().unwrap_or_else(|poison| poison.into_inner());
                self.plan.evaluate_resource(index, &*guard)
            };
            match evaluated {
                Ok(body) => break body,
                Err(EvaluationError::Pending(request)) => {
                    if let Err(error) = self.read_runtime_value(&request, state).await {
                        let failure = WriteFailure {
                            status: StatusCode::BAD_REQUEST,
                            error,
                            operation_failed: false,
                        };
                        return self
                            .failed(index, &operation_id, started, failure, None)
                            .await;
                    }
                }
                Err(EvaluationError::Failed(error)) => {
                    let failure = WriteFailure {
                        status: StatusCode::BAD_REQUEST,
                        error: json!({"code": error.code.as_str(), "message": error.message}),
                        operation_failed: false,
                    };
                    return self
                        .failed(index, &operation_id, started, failure, None)
                        .await;
                }
            }
        };
        if !body.deploy {
            return Outcome {
                index,
                state: ResourceState::Skipped,
                failure: None,
            };
        }
        self.record(
            instance,
            &operation_id,
            started,
            "Running",
            None,
            None,
            None,
        )
        .await;
        if instance.existing {
            let answer = self
                .front_door
                .get(&instance.resource_id, &instance.api_version)
                .await;
            if !answer.status.is_success() {
                let failure = WriteFailure {
                    status: answer.status,
                    error: answer.error(),
                    operation_failed: false,
                };
                return self
                    .failed(index, &operation_id, started, failure, None)
                    .await;
            }
            state
                .lock()
                .unwrap_or_else(|poison| poison.into_inner())
                .insert_resource(&instance.resource_id, answer.json());
            let code = reason(answer.status);
            self.record(
                instance,
                &operation_id,
                started,
                "Succeeded",
                Some(code),
                None,
                None,
            )
            .await;
            return Outcome {
                index,
                state: ResourceState::Succeeded,
                failure: None,
            };
        }
        let mut request_body = body.body;
        drop_nulls(&mut request_body);
        linked::resolve_relative(
            &mut request_body,
            self.plan.context().template_link.as_ref(),
        );
        let outer_scope = instance
            .nested_deployment
            .as_ref()
            .is_some_and(|target| target.expression_scope == ExpressionScope::Outer);
        let written = if outer_scope {
            nested::deploy_outer(self, instance, &request_body)
                .await
                .map(|resource| Written {
                    status: StatusCode::CREATED,
                    resource,
                    request_id: None,
                })
        } else {
            self.front_door
                .put(&instance.resource_id, &instance.api_version, &request_body)
                .await
        };
        match written {
            Ok(written) => {
                state
                    .lock()
                    .unwrap_or_else(|poison| poison.into_inner())
                    .insert_resource(&instance.resource_id, written.resource);
                self.record(
                    instance,
                    &operation_id,
                    started,
                    "Succeeded",
                    Some(reason(written.status)),
                    None,
                    written.request_id.as_deref(),
                )
                .await;
                Outcome {
                    index,
                    state: ResourceState::Succeeded,
                    failure: None,
                }
            }
            Err(failure) => {
                self.failed(index, &operation_id, started, failure, None)
                    .await
            }
        }
    }

    async fn failed(
        &self,
        index: usize,
        operation_id: &str,
        started: DateTime<Utc>,
        failure: WriteFailure,
        request_id: Option<&str>,
    ) -> Outcome {
        let instance = &self.plan.resources()[index];
        self.record(
            instance,
            operation_id,
            started,
            "Failed",
            Some(reason(failure.status)),
            Some(&failure.error),
            request_id,
        )
        .await;
        Outcome {
            index,
            state: ResourceState::Failed,
            failure: Some(failure),
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn record(
        &self,
        instance: &ResourceInstance,
        operation_id: &str,
        started: DateTime<Utc>,
        state: &str,
        status_code: Option<&str>,
        error: Option<&Value>,
        request_id: Option<&str>,
    ) {
        let record = OperationRecord {
            deployment_id: &self.deployment_id,
            operation_id,
            provisioning_operation: if instance.existing { "Read" } else { "Create" },
            state,
            started,
            now: Utc::now(),
            status_code,
            error,
            service_request_id: request_id,
            resource_id: &instance.resource_id,
            resource_type: &instance.resource_type,
            resource_name: &instance.name,
            api_version: &instance.api_version,
        };
        self.write_operation(operation_id, &record).await;
    }

    async fn write_operation(&self, operation_id: &str, record: &OperationRecord<'_>) {
        if let Some(store) = self.store() {
            let written = store
                .put_deployment_operation(self.seq, operation_id, &record.document().to_string())
                .await;
            if let Err(error) = written {
                tracing::warn!(deployment = %self.deployment_id, %error, "could not record a deployment operation");
            }
        }
    }
}

/// The HTTP reason phrase ARM shows as a deployment operation's `statusCode` (`OK`, `Created`,
/// `BadRequest`, `Conflict`, …).
fn reason(status: StatusCode) -> &'static str {
    match status.as_u16() {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "NoContent",
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        409 => "Conflict",
        412 => "PreconditionFailed",
        413 => "RequestEntityTooLarge",
        429 => "TooManyRequests",
        500 => "InternalServerError",
        503 => "ServiceUnavailable",
        _ => "Error",
    }
}

/// Azure treats a property set to `null` as absent: drop such members before the PUT.
fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, member| !member.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

/// The deployment's `DeploymentFailed` error: one detail per failed resource, in ARM's shape (the
/// provider's reason phrase as code, its error JSON as the message; for a long-running operation
/// that failed, the operation's error itself).
fn deployment_failed(deployment_id: &str, failures: &[(String, WriteFailure)]) -> Value {
    let details: Vec<Value> = failures
        .iter()
        .map(|(target, failure)| {
            if failure.operation_failed {
                let mut error = failure.error.clone();
                if error.get("target").is_none() {
                    error["target"] = Value::String(target.clone());
                }
                error
            } else {
                let text = serde_json::to_string_pretty(&json!({"error": failure.error}))
                    .unwrap_or_default()
                    .replace('\n', "\r\n");
                json!({"code": reason(failure.status), "target": target, "message": text})
            }
        })
        .collect();
    json!({
        "code": "DeploymentFailed",
        "target": deployment_id,
        "message": "At least one resource deployment operation failed. Please list deployment operations for details. Please see https://aka.ms/arm-deployment-operations for usage details.",
        "details": details,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nulls_are_dropped_at_every_depth() {
        let mut body = json!({"location": "westus", "tags": null, "properties": {"a": null, "b": [{"c": null, "d": 1}]}});
        drop_nulls(&mut body);
        assert_eq!(
            body,
            json!({"location": "westus", "properties": {"b": [{"d": 1}]}})
        );
    }
}
