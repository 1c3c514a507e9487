//! The service's error vocabulary.
//!
//! A [`ServiceError`] is what Azure would answer: an HTTP status, an ARM error [`ErrorCode`]
//! (stable, clients branch on it), a human `message`, an optional `target` (the property path that
//! is wrong) and optional `details`. The constructors below spell the message texts of the
//! conditions every route shares, so every route reports them the same way. The ARM front end
//! renders errors as `{"error":{...}}`; nothing here knows about HTTP beyond the status number.

mod code;

use std::fmt;

pub use code::ErrorCode;

/// An error the way ARM reports it to clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceError {
    /// HTTP status: always 4xx for anything the caller can fix.
    pub status: u16,
    /// ARM error code, e.g. `ResourceNotFound`.
    pub code: ErrorCode,
    /// Human readable explanation.
    pub message: String,
    /// The property or parameter the error is about, e.g. `galleryImage.properties.osType`.
    pub target: Option<String>,
    /// Nested errors, for requests with several problems.
    pub details: Vec<ServiceError>,
    /// ARM's `additionalInfo` entries (`{"type": "TemplateViolation", "info": {…}}`).
    pub additional_info: Vec<serde_json::Value>,
}

impl fmt::Display for ServiceError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "({}) {}", self.code, self.message)
    }
}

impl std::error::Error for ServiceError {}

impl ServiceError {
    /// An error with `status`, `code` and `message` (no target, no details).
    pub fn new(status: u16, code: ErrorCode, message: impl Into<String>) -> Self {
        ServiceError {
            status,
            code,
            message: message.into(),
            target: None,
            details: Vec::new(),
            additional_info: Vec::new(),
        }
    }

    /// Adds nested errors (`details`).
    pub fn with_details(mut self, details: Vec<ServiceError>) -> Self {
        self.details = details;
        self
    }

    /// Adds an `additionalInfo` entry.
    pub fn with_additional_info(mut self, info: serde_json::Value) -> Self {
        self.additional_info.push(info);
        self
    }

    /// Sets the `target` (the property path or parameter the error is about).
    pub fn with_target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    // ----- 400 -----

    /// 400 `InvalidParameter`: a value breaks a rule of the service.
    pub fn invalid_parameter(target: impl Into<String>, message: impl Into<String>) -> Self {
        ServiceError::new(400, ErrorCode::InvalidParameter, message).with_target(target)
    }

    /// 400 `InvalidRequestContent`: the body is not the JSON the operation expects.
    pub fn invalid_request_content(detail: impl fmt::Display) -> Self {
        ServiceError::new(
            400,
            ErrorCode::InvalidRequestContent,
            format!("The request content was invalid and could not be deserialized: '{detail}'."),
        )
    }

    /// 400 `MissingApiVersionParameter`.
    pub fn missing_api_version() -> Self {
        ServiceError::new(
            400,
            ErrorCode::MissingApiVersionParameter,
            "The api-version query parameter (?api-version=) is required for all requests.",
        )
    }

    /// 400 `InvalidApiVersionParameter`: for ARM's own types (resource groups, subscriptions).
    pub fn invalid_api_version(version: &str, supported: &[&str]) -> Self {
        ServiceError::new(
            400,
            ErrorCode::InvalidApiVersionParameter,
            format!(
                "The api-version '{version}' is invalid. The supported versions are '{}'.",
                supported.join(",")
            ),
        )
        .with_target("api-version")
    }

    /// 400 `NoRegisteredProviderFound`: for resource provider types (galleries and below).
    pub fn no_registered_provider(version: &str, resource_type: &str, supported: &[&str]) -> Self {
        ServiceError::new(
            400,
            ErrorCode::NoRegisteredProviderFound,
            format!(
                "No registered resource provider found for API version '{version}' for type \
                 '{resource_type}'. The supported api-versions are '{}'.",
                supported.join(", ")
            ),
        )
        .with_target("api-version")
    }

    /// 400 `LocationNotAvailableForResourceType`: an unknown or unusable region name.
    pub fn location_not_available(location: &str, resource_type: &str, available: &[&str]) -> Self {
        ServiceError::new(
            400,
            ErrorCode::LocationNotAvailableForResourceType,
            format!(
                "The provided location '{location}' is not available for resource type '{resource_type}'. List \
                 of available regions for the resource type is '{}'.",
                available.join(",")
            ),
        )
        .with_target("location")
    }

    /// 400 `LocationRequired`.
    pub fn location_required() -> Self {
        ServiceError::new(
            400,
            ErrorCode::LocationRequired,
            "The location property is required for this definition.",
        )
        .with_target("location")
    }

    /// 400 `InvalidResourceName` for a name that breaks the naming rules of its type.
    pub fn invalid_resource_name(name: &str, resource_type: &str, rule: &str) -> Self {
        ServiceError::new(
            400,
            ErrorCode::InvalidResourceName,
            format!("The resource name '{name}' is invalid for type '{resource_type}'. {rule}"),
        )
        .with_target("name")
    }

    /// 400 `InvalidResourceGroupName`: ARM's own code for bad resource group names.
    pub fn invalid_resource_group_name(name: &str) -> Self {
        ServiceError::new(
            400,
            ErrorCode::InvalidResourceGroupName,
            format!(
                "Resource group name '{name}' is invalid. It can include alphanumeric, underscore, \
                 parentheses, hyphen, period (except at end), and Unicode characters that match the \
                 allowed characters, and be 1 to 90 characters long."
            ),
        )
        .with_target("resourceGroupName")
    }

    /// 400 `InvalidSkipToken`: a `$skiptoken` that galleryd did not hand out.
    pub fn invalid_skip_token(token: &str) -> Self {
        ServiceError::new(
            400,
            ErrorCode::InvalidSkipToken,
            format!("The value '{token}' of the $skiptoken query parameter is invalid."),
        )
        .with_target("$skiptoken")
    }

    /// 400 `InvalidQueryParameterValue`: a query parameter with a value outside its enum.
    pub fn invalid_query_parameter(parameter: &str, value: &str, allowed: &[&str]) -> Self {
        ServiceError::new(
            400,
            ErrorCode::InvalidQueryParameterValue,
            format!(
                "The value '{value}' of the query parameter '{parameter}' is invalid. Allowed \
                 values: '{}'.",
                allowed.join("', '")
            ),
        )
        .with_target(parameter)
    }

    // ----- 404 -----

    /// 404 `SubscriptionNotFound`.
    pub fn subscription_not_found(subscription_id: &str) -> Self {
        ServiceError::new(
            404,
            ErrorCode::SubscriptionNotFound,
            format!("The subscription '{subscription_id}' could not be found."),
        )
    }

    /// 404 `ResourceGroupNotFound`.
    pub fn resource_group_not_found(resource_group: &str) -> Self {
        ServiceError::new(
            404,
            ErrorCode::ResourceGroupNotFound,
            format!("Resource group '{resource_group}' could not be found."),
        )
    }

    /// 404 `ResourceNotFound`. `type_and_names` is e.g. `Microsoft.Compute/galleries/g1/images/i1`.
    pub fn resource_not_found(type_and_names: &str, resource_group: &str) -> Self {
        ServiceError::new(
            404,
            ErrorCode::ResourceNotFound,
            format!(
                "The Resource '{type_and_names}' under resource group '{resource_group}' was not \
                 found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
            ),
        )
    }

    /// 404 `ParentResourceNotFound`.
    pub fn parent_resource_not_found(parent_name: &str) -> Self {
        ServiceError::new(
            404,
            ErrorCode::ParentResourceNotFound,
            format!(
                "Can not perform requested operation on nested resource. Parent resource \
                 '{parent_name}' not found."
            ),
        )
    }

    /// 404 `InvalidResourceType`: the path names a type galleryd does not serve.
    pub fn invalid_resource_type(resource_type: &str, namespace: &str, version: &str) -> Self {
        ServiceError::new(
            404,
            ErrorCode::InvalidResourceType,
            format!(
                "The resource type '{resource_type}' could not be found in the namespace \
                 '{namespace}' for api version '{version}'."
            ),
        )
    }

    /// 404 `InvalidResourceNamespace`: a provider namespace galleryd does not serve.
    pub fn invalid_resource_namespace(namespace: &str) -> Self {
        ServiceError::new(
            404,
            ErrorCode::InvalidResourceNamespace,
            format!("The resource namespace '{namespace}' is invalid."),
        )
    }

    /// 404 `OperationNotFound`: an async operation id that does not exist.
    pub fn operation_not_found(operation_id: &str) -> Self {
        ServiceError::new(
            404,
            ErrorCode::OperationNotFound,
            format!("The operation '{operation_id}' could not be found."),
        )
    }

    // ----- 405, 409, 413 -----

    /// 405 `MethodNotAllowed`.
    pub fn method_not_allowed(method: &str) -> Self {
        ServiceError::new(
            405,
            ErrorCode::MethodNotAllowed,
            format!("The requested resource does not support http method '{method}'."),
        )
    }

    /// 409 `PropertyChangeNotAllowed`, with the property path as `target`.
    pub fn property_change_not_allowed(target: impl Into<String>) -> Self {
        let target = target.into();
        ServiceError::new(
            409,
            ErrorCode::PropertyChangeNotAllowed,
            format!("Changing property '{target}' is not allowed."),
        )
        .with_target(target)
    }

    /// 409 `CannotDeleteResource`: the resource still has nested resources.
    pub fn cannot_delete_with_children() -> Self {
        ServiceError::new(
            409,
            ErrorCode::CannotDeleteResource,
            "Can not delete resource before nested resources are deleted.",
        )
    }

    /// 409 `InvalidResourceLocation`: a PUT names another region than the resource lives in.
    pub fn invalid_resource_location(
        name: &str,
        existing_location: &str,
        resource_group: &str,
        requested_location: &str,
    ) -> Self {
        ServiceError::new(
            409,
            ErrorCode::InvalidResourceLocation,
            format!(
                "The resource '{name}' already exists in location '{existing_location}' in resource \
                 group '{resource_group}'. A resource with the same name cannot be created in \
                 location '{requested_location}'. Please select a new resource name."
            ),
        )
        .with_target("location")
    }

    /// 409 `ResourceGroupBeingDeleted`.
    pub fn resource_group_being_deleted(resource_group: &str) -> Self {
        ServiceError::new(
            409,
            ErrorCode::ResourceGroupBeingDeleted,
            format!(
                "The resource group '{resource_group}' is in deprovisioning state and cannot \
                 perform this operation."
            ),
        )
    }

    /// 409 `OperationNotAllowed`: a per-subscription, per-region limit would be exceeded.
    pub fn limit_exceeded(what: &str, limit: u32, subscription_id: &str, location: &str) -> Self {
        ServiceError::new(
            409,
            ErrorCode::OperationNotAllowed,
            format!(
                "Operation could not be completed as it results in exceeding the limit of {limit} \
                 {what} per subscription per region (subscription '{subscription_id}', region \
                 '{location}'). Delete unused resources or raise the limit in galleryd's \
                 configuration."
            ),
        )
    }

    /// 413 `RequestEntityTooLarge`.
    pub fn request_too_large(limit_bytes: usize) -> Self {
        ServiceError::new(
            413,
            ErrorCode::RequestEntityTooLarge,
            format!(
                "The request content size exceeds the maximum allowed size of {} MB.",
                limit_bytes / (1024 * 1024)
            ),
        )
    }

    /// Appends a sentence to the message (keeping code and target).
    pub fn with_detail_message(mut self, sentence: &str) -> Self {
        self.message = format!("{} {sentence}", self.message);
        self
    }

    /// Is this a client error (4xx)?
    pub fn is_client_error(&self) -> bool {
        (400..500).contains(&self.status)
    }
}

impl ServiceError {
    /// 400 `LinkedInvalidPropertyId`: a property that must hold a resource id holds something else.
    /// `path` is the property's path in the request body (`properties.storageProfile.source.id`); it
    /// is also the `target`.
    pub fn linked_invalid_property_id(id: &str, path: &str) -> Self {
        ServiceError::new(
            400,
            ErrorCode::LinkedInvalidPropertyId,
            format!(
                "Property id '{id}' at path '{path}' is invalid. Expect fully qualified resource Id \
                 that start with '/subscriptions/{{subscriptionId}}' or \
                 '/providers/{{resourceProviderNamespace}}/'."
            ),
        )
        .with_target(path)
    }
}
