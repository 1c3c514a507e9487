//! `Microsoft.Resources/deployments`: ARM template deployments at resource-group and subscription
//! scope ([`scope`]), named after the spec's operationIds (`Deployments_CreateOrUpdate` and
//! `Deployments_CreateOrUpdateAtSubscriptionScope` are [`create_or_update`]).
//!
//! A request reads one way: the handler parses the body ([`body`]), the template engine
//! (`arm-templates`) prepares the plan (parameters, variables, every resource's id and
//! dependencies; a bad template is a 400 here, at the line and position of the received text), the
//! store records the deployment, and the [`runner`] deploys the plan's resources through the
//! [`front_door`] — the same router as a client's requests — in the background. The PUT answers
//! at once with `Azure-AsyncOperation` (`…/deployments/{name}/operationStatuses/{id}`), which
//! answers `Running` until the deployment ends; the status poll waits a moment for it to end, so a
//! quick deployment is finished at the client's first poll.

pub(crate) mod body;
pub(crate) mod complete_mode;
pub(crate) mod document;
pub(crate) mod front_door;
pub(crate) mod linked;
pub(crate) mod nested;
pub(crate) mod operations;
pub(crate) mod runner;
pub(crate) mod scope;
pub(crate) mod what_if;

use std::sync::Arc;

use arm_templates::Plan;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use gallery_domain::{ErrorCode, ServiceError};
use gallery_store::{DeploymentDeletion, NewDeployment};
use serde_json::{Value, json};

use crate::arm::dispatch::unknown_route;
use crate::arm::request::ArmRequest;
use crate::arm::response::{self, RETRY_AFTER_SECONDS};
use crate::arm::routes::{self, RouteMatch};
use crate::error::ApiResult;
use crate::{App, SharedApp};
use body::DeploymentRequest;
pub(crate) use scope::DeploymentPath;

/// The longest a status poll waits for a running deployment to end before answering `Running`.
const SETTLE_WAIT: std::time::Duration = std::time::Duration::from_millis(500);
const SETTLE_POLL: std::time::Duration = std::time::Duration::from_millis(20);

/// Everything a deployment request prepares before anything is recorded.
pub(crate) struct Prepared {
    pub request: DeploymentRequest,
    pub plan: Plan,
    pub deployment_id: String,
    pub correlation_id: String,
}

/// Parses the body and prepares the plan, as validate and create both do; then checks that
/// galleryd serves every resource type the plan deploys.
async fn prepare(app: &App, request: &ArmRequest, path: &DeploymentPath) -> ApiResult<Prepared> {
    body::check_deployment_name(&path.name)?;
    let link = body::template_link(&request.body);
    let linked = match &link {
        Some(uri) => Some(linked::read(app, uri).await?),
        None => None,
    };
    let deployment_request = body::parse(&request.body, linked.as_deref())?;
    let (mut context, deployment_id) =
        scope::context(app, request, path, &deployment_request).await?;
    context.template_link = link.map(|uri| serde_json::json!({"uri": uri}));
    let plan = deployment_request
        .template
        .prepare(&context, &deployment_request.parameters)
        .map_err(|error| body::template_error(&error))?;
    plan.preflight()
        .map_err(|error| body::template_error(&error))?;
    check_served_types(&plan, &path.name)?;
    Ok(Prepared {
        deployment_id,
        correlation_id: scope::correlation_id(request),
        request: deployment_request,
        plan,
    })
}

/// Every resource type the plan deploys must be one galleryd serves (a PUT route exists for its
/// id); otherwise the deployment is not valid, with the error the front door would answer.
fn check_served_types(plan: &Plan, deployment_name: &str) -> Result<(), ServiceError> {
    let mut problems = Vec::new();
    for instance in plan.resources() {
        let Ok(segments) = routes::segments(&instance.resource_id) else {
            continue;
        };
        if !matches!(routes::find(&Method::PUT, &segments), RouteMatch::Found(..)) {
            problems.push(unknown_route(&segments, &instance.api_version));
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(ServiceError::new(
        400,
        ErrorCode::InvalidTemplateDeployment,
        format!(
            "The template deployment '{deployment_name}' is not valid according to the validation procedure. The tracking id is '{}'. See inner errors for details.",
            uuid::Uuid::new_v4()
        ),
    )
    .with_details(vec![
        ServiceError::new(
            400,
            ErrorCode::PreflightValidationCheckFailed,
            "Preflight validation failed. Please refer to the details for the specific errors.",
        )
        .with_details(problems),
    ]))
}

/// A deployment recorded and started.
pub(crate) struct Started {
    pub operation_id: String,
    pub initial: Value,
    pub existed: bool,
}

/// Records a prepared deployment (`Accepted`) and starts its run, whose resources go through
/// `front_door`; 409 `DeploymentActive` while one of that name runs. Client PUTs and the runner's
/// outer-scope nested deployments both start here.
pub(crate) async fn start(
    app: &SharedApp,
    front_door: front_door::FrontDoor,
    path: &DeploymentPath,
    prepared: Prepared,
) -> ApiResult<Started> {
    let store = app.store()?;
    let existed = store.get_deployment(&path.key()).await?.is_some();
    let started = chrono::Utc::now();
    let initial = document::initial(
        &prepared.deployment_id,
        &path.name,
        &prepared.request,
        &prepared.plan,
        &prepared.correlation_id,
        started,
    );
    let operation_id = uuid::Uuid::new_v4().to_string();
    let new = NewDeployment {
        deployment_key: path.key(),
        scope_key: path.scope_key(),
        subscription_id: path.subscription_id.clone(),
        name: path.name.clone(),
        provisioning_state: "Accepted".to_string(),
        operation_id: operation_id.clone(),
        body: initial.to_string(),
        template: prepared.request.template_value.to_string(),
    };
    let Some(seq) = store.insert_deployment(&new).await? else {
        return Err(ServiceError::new(
            409,
            ErrorCode::DeploymentActive,
            format!(
                "Unable to edit or replace deployment '{}': previous deployment from '{}' is still active. Please see https://aka.ms/arm-deploy for usage details.",
                path.name,
                started.format("%-m/%-d/%Y %-I:%M:%S %p")
            ),
        )
        .into());
    };
    let run = Arc::new(runner::Run {
        app: app.clone(),
        front_door,
        plan: Arc::new(prepared.plan),
        seq,
        deployment_id: prepared.deployment_id.clone(),
        document: initial.clone(),
        started,
        complete_in_group: path
            .resource_group
            .as_ref()
            .filter(|_| prepared.request.mode == body::DeploymentMode::Complete)
            .map(|group| {
                format!(
                    "/subscriptions/{}/resourceGroups/{group}",
                    path.subscription_id
                )
            }),
    });
    tokio::spawn(run.execute());
    Ok(Started {
        operation_id,
        initial,
        existed,
    })
}

/// Deployments_CreateOrUpdate: validates, records the deployment (`Accepted`) and starts its run.
/// 201 for a new name, 200 when it replaces a finished deployment; 409 `DeploymentActive` while
/// one of that name runs.
pub async fn create_or_update(app: &SharedApp, request: &ArmRequest) -> ApiResult<Response> {
    let path = DeploymentPath::of(request);
    let prepared = prepare(app, request, &path).await?;
    let front_door = front_door::FrontDoor::new(
        app,
        &request.base_url,
        request.caller.clone(),
        prepared.correlation_id.clone(),
    );
    let Started {
        operation_id,
        initial,
        existed,
        ..
    } = start(app, front_door, &path, prepared).await?;
    let status = if existed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let served = document::served(&initial.to_string(), "Accepted");
    let status_url = request.url(
        &format!("{}/operationStatuses/{operation_id}", path.url_path()),
        &[],
    );
    let response = response::with_header(
        response::json(status, &served),
        "Azure-AsyncOperation",
        &status_url,
    );
    Ok(response::with_header(
        response,
        "Retry-After",
        RETRY_AFTER_SECONDS,
    ))
}

/// Deployments_CheckExistence: 204 when it exists, else 404 (no body either way).
pub async fn check_existence(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    let path = DeploymentPath::of(request);
    let exists = app.store()?.get_deployment(&path.key()).await?.is_some();
    Ok(response::empty(if exists {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }))
}

/// Deployments_Get.
pub async fn get(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    let path = DeploymentPath::of(request);
    let row = app
        .store()?
        .get_deployment(&path.key())
        .await?
        .ok_or_else(|| path.not_found())?;
    Ok(response::json(
        StatusCode::OK,
        &document::served(&row.body, &row.provisioning_state),
    ))
}

/// The status URL of a deployment's PUT: `{status: Running|Succeeded|Failed|Canceled, error?}`.
pub async fn operation_status(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    let path = DeploymentPath::of(request);
    let operation_id = request.parameters.get("operationId");
    let store = app.store()?;
    let deadline = tokio::time::Instant::now() + SETTLE_WAIT;
    loop {
        let row = store
            .get_deployment(&path.key())
            .await?
            .filter(|row| row.operation_id.eq_ignore_ascii_case(operation_id))
            .ok_or_else(|| ServiceError::operation_not_found(operation_id))?;
        let running = matches!(row.provisioning_state.as_str(), "Accepted" | "Running");
        if !running || tokio::time::Instant::now() >= deadline {
            let status = if running {
                "Running"
            } else {
                row.provisioning_state.as_str()
            };
            let mut body = json!({"status": status});
            if status == "Failed" {
                let document = document::served(&row.body, status);
                if let Some(error) = document.pointer("/properties/error") {
                    body["error"] = error.clone();
                }
            }
            return Ok(response::json(StatusCode::OK, &body));
        }
        tokio::time::sleep(SETTLE_POLL).await;
    }
}

/// Deployments_Delete: removes a finished deployment from the history (never its resources).
/// 204 (also when absent), 409 `DeploymentActive` while it runs.
pub async fn delete(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    let path = DeploymentPath::of(request);
    match app.store()?.delete_deployment(&path.key()).await? {
        DeploymentDeletion::NotFound | DeploymentDeletion::Deleted => {
            Ok(response::empty(StatusCode::NO_CONTENT))
        }
        DeploymentDeletion::Active => Err(ServiceError::new(
            409,
            ErrorCode::DeploymentActive,
            format!(
                "The deployment '{}' cannot be deleted while it is running. Cancel it first.",
                path.name
            ),
        )
        .into()),
    }
}

/// Deployments_ListByResourceGroup and Deployments_ListAtSubscriptionScope, with
/// `$filter=provisioningState eq '…'`.
pub async fn list(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    let subscription_id = &request.subscription().subscription_id;
    let store = app.store()?;
    let group = request.parameters.find("resourceGroupName");
    if let Some(group) = group {
        store
            .get_resource_group(subscription_id, &group.to_lowercase())
            .await?
            .ok_or_else(|| ServiceError::resource_group_not_found(group))?;
    }
    let state = match request.query.get("$filter") {
        None => None,
        Some(filter) => Some(parse_state_filter(filter)?),
    };
    let scope_key = match group {
        Some(group) => format!("/subscriptions/{subscription_id}/resourcegroups/{group}"),
        None => format!("/subscriptions/{subscription_id}"),
    }
    .to_lowercase();
    let limit = response::page_size(request, app.settings.page_size)?;
    let after = response::skip_token(request)?;
    let page = store
        .list_deployments(&scope_key, state.as_deref(), after, limit)
        .await?;
    let items = page
        .items
        .iter()
        .map(|row| document::served(&row.body, &row.provisioning_state).to_string());
    Ok(response::list_page(request, items, page.next_cursor))
}

/// `provisioningState eq 'Succeeded'` → the state in ARM's casing.
fn parse_state_filter(filter: &str) -> Result<String, ServiceError> {
    const STATES: &[&str] = &[
        "NotSpecified",
        "Accepted",
        "Running",
        "Ready",
        "Creating",
        "Created",
        "Deleting",
        "Deleted",
        "Canceled",
        "Failed",
        "Succeeded",
        "Updating",
    ];
    let invalid = || {
        ServiceError::new(
            400,
            ErrorCode::InvalidFilterInQueryString,
            format!("The filter '{filter}' is not valid. The supported filter is \"provisioningState eq '{{state}}'\"."),
        )
        .with_target("$filter")
    };
    let mut words = filter.trim().splitn(3, ' ');
    let (Some(field), Some(operator), Some(value)) = (words.next(), words.next(), words.next())
    else {
        return Err(invalid());
    };
    if !field.eq_ignore_ascii_case("provisioningState") || !operator.eq_ignore_ascii_case("eq") {
        return Err(invalid());
    }
    let value = value
        .trim()
        .strip_prefix('\'')
        .and_then(|rest| rest.strip_suffix('\''))
        .ok_or_else(invalid)?;
    STATES
        .iter()
        .find(|state| state.eq_ignore_ascii_case(value))
        .map(|state| state.to_string())
        .ok_or_else(invalid)
}

/// Deployments_Validate: 200 with the deployment as it would start and its `validatedResources`,
/// or 400 with the error the PUT would answer.
pub async fn validate(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    let path = DeploymentPath::of(request);
    let prepared = prepare(app, request, &path).await?;
    let initial = document::initial(
        &prepared.deployment_id,
        &path.name,
        &prepared.request,
        &prepared.plan,
        &prepared.correlation_id,
        chrono::Utc::now(),
    );
    Ok(response::json(
        StatusCode::OK,
        &document::validated(initial, &prepared.plan),
    ))
}

/// Deployments_Cancel: 204 when the deployment was running (it is now `Canceled`; what was not
/// started yet never starts), 409 when it already ended.
pub async fn cancel(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    let path = DeploymentPath::of(request);
    let store = app.store()?;
    if store.cancel_deployment(&path.key()).await? {
        return Ok(response::empty(StatusCode::NO_CONTENT));
    }
    let row = store
        .get_deployment(&path.key())
        .await?
        .ok_or_else(|| path.not_found())?;
    Err(ServiceError::new(
        409,
        ErrorCode::Conflict,
        format!(
            "The deployment '{}' cannot be canceled: its provisioning state is '{}'. Only a deployment in state 'Accepted' or 'Running' can be canceled.",
            path.name, row.provisioning_state
        ),
    )
    .into())
}

/// Deployments_ExportTemplate: `{"template": …}` as submitted.
pub async fn export_template(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    let path = DeploymentPath::of(request);
    let template = app
        .store()?
        .deployment_template(&path.key())
        .await?
        .ok_or_else(|| path.not_found())?;
    let template: Value = serde_json::from_str(&template).unwrap_or(Value::Null);
    Ok(response::json(
        StatusCode::OK,
        &json!({"template": template}),
    ))
}

#[cfg(test)]
mod tests {
    use super::parse_state_filter;

    #[test]
    fn state_filters() {
        assert_eq!(
            parse_state_filter("provisioningState eq 'succeeded'").unwrap(),
            "Succeeded"
        );
        assert!(parse_state_filter("provisioningState eq 'Bogus'").is_err());
        assert!(parse_state_filter("name eq 'x'").is_err());
        assert!(parse_state_filter("provisioningState eq Succeeded").is_err());
    }
}
