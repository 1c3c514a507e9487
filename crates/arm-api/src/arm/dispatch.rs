//! The ARM request pipeline: authentication → route table → api-version → subscription → request
//! limits → authorization → body → handler.
//!
//! Every ARM path goes through [`dispatch`] (axum's fallback). It resolves the request to an
//! [`OperationId`] from the route table, applies the checks every ARM operation shares in the order
//! ARM applies them, and calls the handler named after the operation. Authorization is one function
//! in [`access::authorize`]: the single seam role-based access control plugs into.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gallery_domain::ErrorCode;
use gallery_domain::ServiceError;
use gallery_domain::api_version::{self, ApiFamily};
use gallery_domain::identity::Caller;

use crate::SharedApp;
use crate::arm::access;
use crate::arm::handlers::{
    caps_operations, deployments, disks, galleries, gallery_application_versions,
    gallery_applications, gallery_image_versions, gallery_images, gallery_script_versions,
    gallery_scripts, images, resource_groups, role_assignments, role_definitions, snapshots,
    subscriptions,
};
use crate::arm::operation::OperationId;
use crate::arm::request::{ArmRequest, Query};
use crate::arm::response;
use crate::arm::routes::{self, RouteMatch};
use crate::arm::shaping::Shaping;
use crate::arm::throttling::RequestKind;
use crate::error::{ApiError, ApiResult};
use crate::identity::authentication;

/// How the connection a request arrived on is secured; the server adds it to every request so that
/// absolute URLs handed back (async operations, `nextLink`) use the same scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// The caller of a request galleryd sends itself (a deployment creating its resources through the
/// front door): the principal that started the deployment. Only code can attach it.
#[derive(Debug, Clone)]
pub struct InProcessCaller(pub Caller);

/// The fallback handler: every ARM request.
pub async fn dispatch(State(app): State<SharedApp>, request: Request) -> Response {
    let started = std::time::Instant::now();
    let response = match handle(&app, request).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    let operation = response
        .extensions()
        .get::<OperationId>()
        .map_or("Unrouted", |operation| operation.name());
    crate::prometheus::record_request(operation, response.status().as_u16(), started.elapsed());
    response
}

/// The base URL (`scheme://authority`) a request arrived on.
pub(crate) fn base_url(request: &Request) -> String {
    let scheme = request
        .extensions()
        .get::<Scheme>()
        .copied()
        .unwrap_or(Scheme::Http);
    let authority = request
        .uri()
        .authority()
        .map(|authority| authority.as_str().to_string())
        .or_else(|| {
            request
                .headers()
                .get(header::HOST)
                .and_then(|host| host.to_str().ok())
                .map(str::to_string)
        })
        .unwrap_or_else(|| "127.0.0.1".to_string());
    format!("{}://{authority}", scheme.as_str())
}

/// The error for a path no route serves.
pub(crate) fn unknown_route(segments: &[String], api_version: &str) -> ServiceError {
    if let Some(index) = segments
        .iter()
        .position(|segment| segment.eq_ignore_ascii_case("providers"))
        && let Some(namespace) = segments.get(index + 1)
    {
        let served = ["Microsoft.Compute", "Microsoft.Resources"]
            .iter()
            .any(|served| served.eq_ignore_ascii_case(namespace));
        let types: Vec<&str> = segments[index + 2..]
            .iter()
            .step_by(2)
            .map(String::as_str)
            .collect();
        if served && !types.is_empty() {
            return ServiceError::invalid_resource_type(&types.join("/"), namespace, api_version);
        }
        return ServiceError::invalid_resource_namespace(namespace);
    }
    ServiceError::new(
        404,
        ErrorCode::InvalidResourceType,
        format!(
            "galleryd serves no resource at the path '/{}'.",
            segments.join("/")
        ),
    )
}

/// Why a request body could not be read: 408 `RequestTimeout` when the client paused longer than the
/// body read timeout (galleryd's server bounds pauses within bodies), else the body was cut off.
fn body_read_error(error: axum::Error) -> ServiceError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(current) = source {
        if current.is::<tower_http::timeout::TimeoutError>() {
            return ServiceError::new(
                408,
                ErrorCode::RequestTimeout,
                "The request body did not arrive in time: the client paused longer than galleryd waits between parts of a body.",
            );
        }
        source = current.source();
    }
    ServiceError::invalid_request_content(error)
}

/// Reads a request body of at most `limit` bytes; a larger one is 413. The rest of a too-large body
/// is read and discarded (up to a bound) so the client can finish sending and read the 413, instead
/// of seeing its connection reset mid-upload.
async fn read_body(body: Body, headers: &HeaderMap, limit: usize) -> Result<Bytes, ServiceError> {
    use futures_util::StreamExt;
    const DISCARD_AT_MOST: usize = 64 * 1024 * 1024;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if declared.is_some_and(|length| length > DISCARD_AT_MOST) {
        return Err(ServiceError::request_too_large(limit));
    }
    let mut stream = body.into_data_stream();
    let mut collected = Vec::with_capacity(declared.unwrap_or(0).min(limit));
    let mut received = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(body_read_error)?;
        received += chunk.len();
        if received > DISCARD_AT_MOST {
            break;
        }
        if received <= limit {
            collected.extend_from_slice(&chunk);
        }
    }
    if received > limit {
        return Err(ServiceError::request_too_large(limit));
    }
    Ok(Bytes::from(collected))
}

/// Serves one ARM request; its response carries the `OperationId` it was routed to (for the
/// request metrics).
async fn handle(app: &SharedApp, request: Request) -> ApiResult<Response> {
    let mut operation = None;
    let answer = handle_routed(app, request, &mut operation).await;
    let mut response = match answer {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    if let Some(operation) = operation {
        response.extensions_mut().insert(operation);
    }
    Ok(response)
}

async fn handle_routed(
    app: &SharedApp,
    request: Request,
    routed: &mut Option<OperationId>,
) -> ApiResult<Response> {
    let base_url = base_url(&request);
    // A deployment's own requests carry the deploying caller (extensions never come off the wire).
    let caller = match request.extensions().get::<InProcessCaller>() {
        Some(in_process) => in_process.0.clone(),
        None => authentication::authenticate(app, request.headers(), &base_url).await?,
    };
    let (parts, body) = request.into_parts();
    let query = Query::parse(parts.uri.query());
    let segments = routes::segments(parts.uri.path())?;
    let (route, parameters) = match routes::find(&parts.method, &segments) {
        RouteMatch::Found(route, parameters) => (route, parameters),
        RouteMatch::MethodNotAllowed => {
            return Err(ServiceError::method_not_allowed(parts.method.as_str()).into());
        }
        RouteMatch::NotFound => {
            let version = query
                .get("api-version")
                .ok_or_else(ServiceError::missing_api_version)?;
            return Err(unknown_route(&segments, version).into());
        }
    };
    let operation = route.operation;
    *routed = Some(operation);
    let api_version = api_version::check(
        operation.family(),
        query.get("api-version"),
        app.settings.strict_api_versions,
        operation.type_name(),
    )?;
    let subscription = match parameters.find("subscriptionId") {
        Some(subscription_id) => Some(
            app.subscription(subscription_id)
                .cloned()
                .ok_or_else(|| ServiceError::subscription_not_found(subscription_id))?,
        ),
        None => None,
    };
    if let Some(subscription) = &subscription {
        authentication::check_tenant(app, &caller, subscription, &base_url)?;
    }
    let request_kind = RequestKind::of(&parts.method);
    let remaining = match &subscription {
        Some(subscription) => Some(app.throttle.admit(
            &subscription.subscription_id,
            request_kind,
            std::time::Instant::now(),
            &app.settings.throttling,
        )?),
        None => None,
    };
    let with_remaining = |response: Response| match remaining {
        Some(remaining) => {
            response::with_header(response, request_kind.header(), &remaining.to_string())
        }
        None => response,
    };
    let decoded_path = format!("/{}", segments.join("/"));
    let visibility =
        match access::authorize(app, &caller, operation, &parts.method, &decoded_path).await {
            Ok(visibility) => visibility,
            Err(error) => return Ok(with_remaining(error.into_response())),
        };
    if let Some(answer) = inject_fault(app, &parts, operation, &subscription, &caller).await {
        return Ok(with_remaining(answer));
    }
    let body = if matches!(parts.method, Method::PUT | Method::PATCH | Method::POST) {
        match read_body(body, &parts.headers, app.settings.max_request_body_bytes).await {
            Ok(body) => body,
            Err(error) => return Ok(with_remaining(ApiError::from(error).into_response())),
        }
    } else {
        Bytes::new()
    };
    let correlation_id = parts
        .headers
        .get("x-ms-correlation-request-id")
        .and_then(|value| value.to_str().ok())
        .filter(|value| !value.is_empty())
        .map(str::to_string);
    let is_head_of_get = parts.method == Method::HEAD && route.method == Method::GET;
    let warning = api_version.warning.clone();
    let answer = match Shaping::parse(operation, &query) {
        Ok(shaping) => {
            let request = ArmRequest {
                method: parts.method,
                operation,
                parameters,
                query,
                api_version,
                caller,
                base_url,
                path: parts.uri.path().to_string(),
                body,
                shaping,
                subscription,
                visibility,
                correlation_id,
                received_at: chrono::Utc::now(),
            };
            run(app, &request).await
        }
        Err(error) => Err(error.into()),
    };
    let mut response = match answer {
        Ok(response) => response,
        Err(error) if is_head_of_get => {
            return Ok(with_remaining(response::empty(
                StatusCode::from_u16(error.to_service_error().status)
                    .unwrap_or(StatusCode::NOT_FOUND),
            )));
        }
        Err(error) => return Ok(with_remaining(error.into_response())),
    };
    if is_head_of_get {
        let status = if response.status() == StatusCode::OK {
            StatusCode::NO_CONTENT
        } else {
            response.status()
        };
        response = response::empty(status);
    }
    if let Some(warning) = warning {
        response = response::with_header(
            response,
            "Warning",
            &format!("299 galleryd \"{}\"", warning.replace('"', "'")),
        );
    }
    Ok(with_remaining(response))
}

/// The fault a test suite's rules inject into this request (see [`crate::faults`]): an answer in
/// place of the handler's, or `None` to serve it (after an injected latency, if any).
async fn inject_fault(
    app: &crate::App,
    parts: &axum::http::request::Parts,
    operation: OperationId,
    subscription: &Option<gallery_domain::identity::Subscription>,
    caller: &Caller,
) -> Option<Response> {
    let request = crate::faults::FaultRequest {
        method: parts.method.as_str(),
        operation_id: operation.name(),
        resource_type: crate::faults::resource_type_of_action(operation.action()),
        path: parts.uri.path(),
        subscription_id: subscription
            .as_ref()
            .map(|subscription| subscription.subscription_id.as_str()),
        principal_object_id: &caller.object_id,
        principal_name: &caller.display_name,
    };
    match app.faults.check(&request)? {
        crate::faults::Injected::Error(error) => Some(ApiError::from(error).into_response()),
        crate::faults::Injected::Throttle {
            error,
            retry_after_seconds,
        } => Some(
            ApiError::Throttled {
                error,
                retry_after_seconds,
            }
            .into_response(),
        ),
        crate::faults::Injected::Latency(delay) => {
            tokio::time::sleep(delay).await;
            None
        }
        crate::faults::Injected::DropConnection => Some(dropped_connection()),
    }
}

/// A response whose body fails before its first byte: the server closes the connection without
/// a complete answer, as a connection dropped mid-request looks to the client.
fn dropped_connection() -> Response {
    let failing = futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("fault injected: connection dropped"))
    });
    let mut response = Body::from_stream(failing).into_response();
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
}

/// Calls the handler of `request.operation`.
async fn run(app: &SharedApp, request: &ArmRequest) -> ApiResult<Response> {
    use OperationId::*;
    match request.operation {
        SubscriptionsList => subscriptions::list(app, request).await,
        SubscriptionsGet => subscriptions::get(app, request).await,
        SubscriptionsListLocations => subscriptions::list_locations(app, request).await,
        TenantsList => subscriptions::list_tenants(app, request).await,
        ProvidersList => subscriptions::list_providers(app, request).await,
        ProvidersGet => subscriptions::get_provider(app, request).await,
        ProvidersRegister => subscriptions::register_provider(app, request).await,
        ResourceGroupsList => resource_groups::list(app, request).await,
        ResourceGroupsCreateOrUpdate => resource_groups::create_or_update(app, request).await,
        ResourceGroupsGet => resource_groups::get(app, request).await,
        ResourceGroupsCheckExistence => resource_groups::check_existence(app, request).await,
        ResourceGroupsUpdate => resource_groups::update(app, request).await,
        ResourceGroupsDelete => resource_groups::delete(app, request).await,
        OperationResultsGet => resource_groups::operation_result(app, request).await,
        GalleriesList => galleries::list(app, request).await,
        GalleriesListByResourceGroup => galleries::list_by_resource_group(app, request).await,
        GalleriesCreateOrUpdate => galleries::create_or_update(app, request).await,
        GalleriesUpdate => galleries::update(app, request).await,
        GalleriesGet => galleries::get(app, request).await,
        GalleriesDelete => galleries::delete(app, request).await,
        GalleryImagesListByGallery => gallery_images::list_by_gallery(app, request).await,
        GalleryImagesCreateOrUpdate => gallery_images::create_or_update(app, request).await,
        GalleryImagesUpdate => gallery_images::update(app, request).await,
        GalleryImagesGet => gallery_images::get(app, request).await,
        GalleryImagesDelete => gallery_images::delete(app, request).await,
        GalleryImageVersionsListByGalleryImage => {
            gallery_image_versions::list_by_gallery_image(app, request).await
        }
        GalleryImageVersionsCreateOrUpdate => {
            gallery_image_versions::create_or_update(app, request).await
        }
        GalleryImageVersionsUpdate => gallery_image_versions::update(app, request).await,
        GalleryImageVersionsGet => gallery_image_versions::get(app, request).await,
        GalleryImageVersionsDelete => gallery_image_versions::delete(app, request).await,
        GalleryApplicationsListByGallery => {
            gallery_applications::list_by_gallery(app, request).await
        }
        GalleryApplicationsCreateOrUpdate => {
            gallery_applications::create_or_update(app, request).await
        }
        GalleryApplicationsUpdate => gallery_applications::update(app, request).await,
        GalleryApplicationsGet => gallery_applications::get(app, request).await,
        GalleryApplicationsDelete => gallery_applications::delete(app, request).await,
        GalleryApplicationVersionsListByGalleryApplication => {
            gallery_application_versions::list_by_gallery_application(app, request).await
        }
        GalleryApplicationVersionsCreateOrUpdate => {
            gallery_application_versions::create_or_update(app, request).await
        }
        GalleryApplicationVersionsUpdate => {
            gallery_application_versions::update(app, request).await
        }
        GalleryApplicationVersionsGet => gallery_application_versions::get(app, request).await,
        GalleryApplicationVersionsDelete => {
            gallery_application_versions::delete(app, request).await
        }
        GalleryScriptsListByGallery => gallery_scripts::list_by_gallery(app, request).await,
        GalleryScriptsCreateOrUpdate => gallery_scripts::create_or_update(app, request).await,
        GalleryScriptsUpdate => gallery_scripts::update(app, request).await,
        GalleryScriptsGet => gallery_scripts::get(app, request).await,
        GalleryScriptsDelete => gallery_scripts::delete(app, request).await,
        GalleryScriptVersionsListByGalleryScript => {
            gallery_script_versions::list_by_gallery_script(app, request).await
        }
        GalleryScriptVersionsCreateOrUpdate => {
            gallery_script_versions::create_or_update(app, request).await
        }
        GalleryScriptVersionsUpdate => gallery_script_versions::update(app, request).await,
        GalleryScriptVersionsGet => gallery_script_versions::get(app, request).await,
        GalleryScriptVersionsDelete => gallery_script_versions::delete(app, request).await,
        CapsOperationsGet => caps_operations::get(app, request).await,
        DisksList => disks::list(app, request).await,
        DisksListByResourceGroup => disks::list_by_resource_group(app, request).await,
        DisksCreateOrUpdate => disks::create_or_update(app, request).await,
        DisksUpdate => disks::update(app, request).await,
        DisksGet => disks::get(app, request).await,
        DisksDelete => disks::delete(app, request).await,
        DisksGrantAccess => disks::grant_access(app, request).await,
        DisksRevokeAccess => disks::revoke_access(app, request).await,
        SnapshotsList => snapshots::list(app, request).await,
        SnapshotsListByResourceGroup => snapshots::list_by_resource_group(app, request).await,
        SnapshotsCreateOrUpdate => snapshots::create_or_update(app, request).await,
        SnapshotsUpdate => snapshots::update(app, request).await,
        SnapshotsGet => snapshots::get(app, request).await,
        SnapshotsDelete => snapshots::delete(app, request).await,
        SnapshotsGrantAccess => snapshots::grant_access(app, request).await,
        SnapshotsRevokeAccess => snapshots::revoke_access(app, request).await,
        ImagesList => images::list(app, request).await,
        ImagesListByResourceGroup => images::list_by_resource_group(app, request).await,
        ImagesCreateOrUpdate => images::create_or_update(app, request).await,
        ImagesUpdate => images::update(app, request).await,
        ImagesGet => images::get(app, request).await,
        ImagesDelete => images::delete(app, request).await,
        RoleAssignmentsListForScope => role_assignments::list_for_scope(app, request).await,
        RoleAssignmentsCreate => role_assignments::create(app, request).await,
        RoleAssignmentsGet => role_assignments::get(app, request).await,
        RoleAssignmentsDelete => role_assignments::delete(app, request).await,
        RoleDefinitionsList => role_definitions::list(app, request).await,
        RoleDefinitionsGet => role_definitions::get(app, request).await,
        RoleDefinitionsCreateOrUpdate => role_definitions::create_or_update(app, request).await,
        RoleDefinitionsDelete => role_definitions::delete(app, request).await,
        DeploymentsCreateOrUpdate | DeploymentsCreateOrUpdateAtSubscriptionScope => {
            deployments::create_or_update(app, request).await
        }
        DeploymentsGet | DeploymentsGetAtSubscriptionScope => deployments::get(app, request).await,
        DeploymentsCheckExistence | DeploymentsCheckExistenceAtSubscriptionScope => {
            deployments::check_existence(app, request).await
        }
        DeploymentsDelete | DeploymentsDeleteAtSubscriptionScope => {
            deployments::delete(app, request).await
        }
        DeploymentsListByResourceGroup | DeploymentsListAtSubscriptionScope => {
            deployments::list(app, request).await
        }
        DeploymentsValidate | DeploymentsValidateAtSubscriptionScope => {
            deployments::validate(app, request).await
        }
        DeploymentsWhatIf | DeploymentsWhatIfAtSubscriptionScope => {
            deployments::what_if::what_if(app, request).await
        }
        DeploymentsCancel | DeploymentsCancelAtSubscriptionScope => {
            deployments::cancel(app, request).await
        }
        DeploymentsExportTemplate | DeploymentsExportTemplateAtSubscriptionScope => {
            deployments::export_template(app, request).await
        }
        DeploymentOperationStatusesGet | DeploymentOperationStatusesGetAtSubscriptionScope => {
            deployments::operation_status(app, request).await
        }
        DeploymentOperationsList | DeploymentOperationsListAtSubscriptionScope => {
            deployments::operations::list(app, request).await
        }
        DeploymentOperationsGet | DeploymentOperationsGetAtSubscriptionScope => {
            deployments::operations::get(app, request).await
        }
    }
}

/// Which family an operation's api-version belongs to (re-exported for the OpenAPI test).
pub fn family_of(operation: OperationId) -> ApiFamily {
    operation.family()
}

impl From<ApiError> for Response {
    fn from(error: ApiError) -> Self {
        error.into_response()
    }
}
