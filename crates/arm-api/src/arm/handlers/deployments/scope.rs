//! Where a deployment belongs: a resource group or a subscription. The path a request names
//! gives the deployment's id, its store key and its history (scope key); the scope gives the
//! template engine its context (`resourceGroup()`, `subscription()`, `deployment().location`).

use arm_templates::{DeploymentContext, DeploymentScope};
use gallery_domain::{ErrorCode, ServiceError};
use serde_json::Value;

use super::body::{DeploymentMode, DeploymentRequest};
use crate::App;
use crate::arm::request::{ArmRequest, encode_component};
use crate::error::ApiResult;

/// The deployment a request names.
pub(crate) struct DeploymentPath {
    pub subscription_id: String,
    /// `None` for a subscription-scope deployment.
    pub resource_group: Option<String>,
    pub name: String,
}

impl DeploymentPath {
    pub fn of(request: &ArmRequest) -> Self {
        DeploymentPath {
            subscription_id: request.subscription().subscription_id.clone(),
            resource_group: request
                .parameters
                .find("resourceGroupName")
                .map(str::to_string),
            name: request.parameters.get("deploymentName").to_string(),
        }
    }

    /// The lower-cased id of the scope (whose history the deployment is part of).
    pub fn scope_key(&self) -> String {
        match &self.resource_group {
            Some(group) => format!(
                "/subscriptions/{}/resourcegroups/{group}",
                self.subscription_id
            ),
            None => format!("/subscriptions/{}", self.subscription_id),
        }
        .to_lowercase()
    }

    /// The deployment id, with the group's stored casing when there is a group.
    pub fn id(&self, group_name: Option<&str>) -> String {
        match group_name {
            Some(group) => format!(
                "/subscriptions/{}/resourceGroups/{group}/providers/Microsoft.Resources/deployments/{}",
                self.subscription_id, self.name
            ),
            None => format!(
                "/subscriptions/{}/providers/Microsoft.Resources/deployments/{}",
                self.subscription_id, self.name
            ),
        }
    }

    /// The path of the deployment in URLs galleryd hands out (segments encoded).
    pub fn url_path(&self) -> String {
        let scope = match &self.resource_group {
            Some(group) => format!(
                "/subscriptions/{}/resourcegroups/{}",
                self.subscription_id,
                encode_component(group)
            ),
            None => format!("/subscriptions/{}", self.subscription_id),
        };
        format!(
            "{scope}/providers/Microsoft.Resources/deployments/{}",
            encode_component(&self.name)
        )
    }

    pub fn key(&self) -> String {
        format!(
            "{}/providers/microsoft.resources/deployments/{}",
            self.scope_key(),
            self.name.to_lowercase()
        )
    }

    pub fn not_found(&self) -> ServiceError {
        ServiceError::new(
            404,
            ErrorCode::DeploymentNotFound,
            format!("Deployment '{}' could not be found.", self.name),
        )
    }
}

/// The correlation id of a request (the client's, or a new one).
pub fn correlation_id(request: &ArmRequest) -> String {
    request
        .correlation_id
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// The correlation id a deployment document carries (nested deployments share their parent's).
pub fn correlation_id_of(document: &Value) -> String {
    document
        .pointer("/properties/correlationId")
        .and_then(Value::as_str)
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_string)
}

/// The engine's context for a deployment at `path`, and the deployment's id. A resource group
/// must exist (404 `ResourceGroupNotFound`); a subscription deployment needs a `location` and only
/// runs in mode Incremental; the template's `$schema` must be for the endpoint's scope.
pub async fn context(
    app: &App,
    request: &ArmRequest,
    path: &DeploymentPath,
    deployment: &DeploymentRequest,
) -> ApiResult<(DeploymentContext, String)> {
    let subscription = request.subscription();
    let now = chrono::Utc::now();
    let (mut context, deployment_id) = match &path.resource_group {
        Some(group_name) => {
            let group = app
                .store()?
                .get_resource_group(&path.subscription_id, &group_name.to_lowercase())
                .await?
                .ok_or_else(|| ServiceError::resource_group_not_found(group_name))?;
            let document: Value = serde_json::from_str(&group.body).unwrap_or(Value::Null);
            let mut context = DeploymentContext::resource_group(
                &subscription.subscription_id,
                &group.name,
                &group.location,
                &path.name,
                now,
            );
            if let (Some(info), Some(tags)) = (
                context.resource_group.as_mut(),
                document.get("tags").and_then(Value::as_object),
            ) {
                info.tags = tags.clone();
            }
            (context, path.id(Some(&group.name)))
        }
        None => {
            let Some(location) = &deployment.location else {
                return Err(ServiceError::new(
                    400,
                    ErrorCode::LocationRequired,
                    "The location property is required for this definition.",
                )
                .with_target("location")
                .into());
            };
            if deployment.mode == DeploymentMode::Complete {
                return Err(ServiceError::new(
                    400,
                    ErrorCode::InvalidTemplateDeployment,
                    "The deployment mode 'Complete' is not supported for a subscription-scope deployment: use 'Incremental'.",
                )
                .with_target("properties.mode")
                .into());
            }
            let mut context = DeploymentContext::resource_group(
                &subscription.subscription_id,
                "-",
                location,
                &path.name,
                now,
            );
            context.resource_group = None;
            context.location = Some(location.clone());
            (context, path.id(None))
        }
    };
    let expected = if path.resource_group.is_some() {
        DeploymentScope::ResourceGroup
    } else {
        DeploymentScope::Subscription
    };
    if let Some(scope) = deployment.template.scope()
        && scope != expected
    {
        return Err(ServiceError::new(
            400,
            ErrorCode::InvalidTemplate,
            format!(
                "The template schema '{}' is for a {} deployment; this is a {} deployment. Please see https://aka.ms/arm-template for usage details.",
                deployment.template.schema().unwrap_or_default(),
                scope.as_str(),
                expected.as_str()
            ),
        )
        .into());
    }
    context.tenant_id = subscription.tenant_id.clone();
    if let Some(info) = context.subscription.as_mut() {
        info.display_name = subscription.display_name.clone();
        info.tenant_id = subscription.tenant_id.clone();
    }
    context.mode = deployment.mode.as_str().to_string();
    context.guid_seed = uuid::Uuid::new_v4().as_u128();
    Ok((context, deployment_id))
}
