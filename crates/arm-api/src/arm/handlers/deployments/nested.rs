//! Nested deployments whose template is evaluated in the parent's scope
//! (`expressionEvaluationOptions.scope: outer`, the default of hand-written nested templates).
//!
//! An inner-scope nested deployment is an ordinary deployment request, so the runner PUTs it
//! through the front door. An outer-scope one cannot be: its expressions read the parent's
//! parameters and variables, which only the parent's plan knows. The runner prepares it with
//! [`arm_templates::Template::prepare_outer`] over the parent's [`arm_templates::Plan::outer_scope`],
//! records and starts it as a real deployment of its target group (its own history entry and
//! operations, its resources through the front door), waits for it to end and reads it back like
//! any deployment, so the parent's `reference()` sees its outputs.

use arm_templates::{ResourceGroupInfo, ResourceInstance, Template};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::body::{DeploymentMode, DeploymentRequest};
use super::front_door::WriteFailure;
use super::runner::Run;
use super::{DeploymentPath, Prepared, check_served_types, start};

/// How often the parent looks whether the nested deployment ended.
const WAIT_POLL: std::time::Duration = std::time::Duration::from_millis(20);

fn refused(status: StatusCode, error: Value) -> WriteFailure {
    WriteFailure {
        status,
        error,
        operation_failed: false,
    }
}

fn invalid(message: impl Into<String>) -> WriteFailure {
    refused(
        StatusCode::BAD_REQUEST,
        json!({"code": "InvalidTemplate", "message": message.into()}),
    )
}

/// The future of [`deploy_outer`], boxed as `Send`: a nested deployment starts a run that may come
/// back here, and the compiler cannot see through that cycle of futures by itself.
pub type DeployOuter<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Value, WriteFailure>> + Send + 'a>>;

/// Deploys the outer-scope nested deployment `instance` (its evaluated `body`); answers the nested
/// deployment as GET shows it.
pub fn deploy_outer<'a>(
    run: &'a Run,
    instance: &'a ResourceInstance,
    body: &'a Value,
) -> DeployOuter<'a> {
    Box::pin(deploy_outer_now(run, instance, body))
}

async fn deploy_outer_now(
    run: &Run,
    instance: &ResourceInstance,
    body: &Value,
) -> Result<Value, WriteFailure> {
    let Some(template_value) = body.pointer("/properties/template") else {
        return Err(invalid(format!(
            "The nested deployment '{}' has no inline 'template': galleryd does not fetch 'templateLink' yet.",
            instance.name
        )));
    };
    let template = Template::from_value(template_value).map_err(|error| invalid(error.message))?;
    let parent = run.plan.context();
    let subscription_id = parent.subscription_id().unwrap_or_default().to_string();
    let group_name = instance
        .nested_deployment
        .as_ref()
        .and_then(|target| target.resource_group.clone())
        .or_else(|| parent.resource_group_name().map(str::to_string));
    let name = instance
        .resource_id
        .rsplit('/')
        .next()
        .unwrap_or(&instance.name)
        .to_string();
    let mut context = parent.clone();
    context.deployment_name = name.clone();
    context.guid_seed = uuid::Uuid::new_v4().as_u128();
    context.mode = DeploymentMode::Incremental.as_str().to_string();
    if let Some(group) = &group_name {
        let answer = run
            .front_door
            .get(
                &format!("/subscriptions/{subscription_id}/resourceGroups/{group}"),
                "2024-11-01",
            )
            .await;
        if !answer.status.is_success() {
            return Err(refused(answer.status, answer.error()));
        }
        let document = answer.json();
        context.resource_group = Some(ResourceGroupInfo {
            name: document["name"].as_str().unwrap_or(group).to_string(),
            location: document["location"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            tags: document["tags"].as_object().cloned().unwrap_or_default(),
            managed_by: None,
        });
    }
    let plan = template
        .prepare_outer(&context, &run.plan.outer_scope())
        .map_err(|error| invalid(error.message))?;
    plan.preflight().map_err(|error| invalid(error.message))?;
    check_served_types(&plan, &name)
        .map_err(|error| refused(StatusCode::BAD_REQUEST, crate::error::error_object(&error)))?;
    let path = DeploymentPath {
        subscription_id: subscription_id.clone(),
        resource_group: group_name.clone(),
        name: name.clone(),
    };
    let prepared = Prepared {
        request: DeploymentRequest {
            template,
            template_value: template_value.clone(),
            parameters: json!({}),
            mode: DeploymentMode::Incremental,
            debug_setting: None,
            on_error_deployment: None,
            tags: None,
            location: None,
        },
        deployment_id: path.id(group_name.as_deref()),
        correlation_id: super::scope::correlation_id_of(&run.document),
        plan,
    };
    start(&run.app, run.front_door.clone(), &path, prepared)
        .await
        .map_err(|error| {
            let error = error.to_service_error();
            refused(
                StatusCode::from_u16(error.status).unwrap_or(StatusCode::BAD_REQUEST),
                crate::error::error_object(&error),
            )
        })?;
    let store = run
        .app
        .store()
        .map_err(|_| invalid("The database is unavailable."))?;
    loop {
        match store.get_deployment(&path.key()).await {
            Ok(Some(row)) if !matches!(row.provisioning_state.as_str(), "Accepted" | "Running") => {
                break;
            }
            Ok(_) => tokio::time::sleep(WAIT_POLL).await,
            Err(_) => return Err(invalid("The database is unavailable.")),
        }
    }
    let answer = run
        .front_door
        .get(&instance.resource_id, &instance.api_version)
        .await;
    let deployment = answer.json();
    match deployment.pointer("/properties/provisioningState").and_then(Value::as_str) {
        Some("Succeeded") => Ok(deployment),
        _ => Err(WriteFailure {
            status: StatusCode::OK,
            error: deployment
                .pointer("/properties/error")
                .cloned()
                .unwrap_or_else(|| json!({"code": "DeploymentFailed", "message": "The nested deployment did not succeed."})),
            operation_failed: true,
        }),
    }
}
