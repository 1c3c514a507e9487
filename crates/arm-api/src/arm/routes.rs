//! The route table: every ARM path galleryd serves, with its method and operation.
//!
//! ARM matches every path segment case-insensitively (`resourcegroups` and `resourceGroups` both
//! arrive, from different clients), which axum's router does not, so ARM paths are matched here:
//! literal segments ignoring ASCII case, `{parameter}` segments capturing one percent-decoded
//! segment. A test keeps `openapi/galleryd.json` in step with this table.

use axum::http::Method;

use crate::ServiceError;
use crate::arm::operation::OperationId;
use gallery_domain::ErrorCode;

/// One route: a method, a path template and the operation it resolves to.
#[derive(Debug, Clone)]
pub struct Route {
    pub method: Method,
    pub template: &'static str,
    pub operation: OperationId,
    /// The template split once into segments, so matching allocates nothing.
    segments: Vec<Pattern>,
}

/// One segment of a template.
#[derive(Debug, Clone, Copy)]
enum Pattern {
    /// Must equal the request's segment, ignoring ASCII case.
    Literal(&'static str),
    /// Captures the request's segment as the named parameter.
    Parameter(&'static str),
    /// `{scope}` (first segment only): captures every leading segment the rest of the template
    /// does not take, none for the root scope `/` (Microsoft.Authorization's extension routes).
    Scope,
}

impl Route {
    fn new(method: Method, template: &'static str, operation: OperationId) -> Route {
        let segments = template
            .trim_start_matches('/')
            .split('/')
            .map(|segment| {
                match segment
                    .strip_prefix('{')
                    .and_then(|rest| rest.strip_suffix('}'))
                {
                    Some("scope") => Pattern::Scope,
                    Some(name) => Pattern::Parameter(name),
                    None => Pattern::Literal(segment),
                }
            })
            .collect();
        Route {
            method,
            template,
            operation,
            segments,
        }
    }
}

const SUBSCRIPTION: &str = "/subscriptions/{subscriptionId}";
const DEPLOYMENTS_RG: &str = "/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}/providers/Microsoft.Resources/deployments";
const DEPLOYMENTS_SUB: &str =
    "/subscriptions/{subscriptionId}/providers/Microsoft.Resources/deployments";
const AUTHORIZATION: &str = "/{scope}/providers/Microsoft.Authorization";
const GALLERY_RP: &str = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Compute";

macro_rules! routes {
    ($($method:ident $template:expr => $operation:ident),+ $(,)?) => {
        /// Every ARM route, most specific first.
        pub fn table() -> &'static [Route] {
            static TABLE: std::sync::OnceLock<Vec<Route>> = std::sync::OnceLock::new();
            TABLE.get_or_init(|| vec![$(Route::new(Method::$method, leak($template), OperationId::$operation)),+])
        }
    };
}

fn leak(template: impl Into<String>) -> &'static str {
    Box::leak(template.into().into_boxed_str())
}

routes! {
    GET "/subscriptions" => SubscriptionsList,
    GET "/tenants" => TenantsList,
    GET SUBSCRIPTION => SubscriptionsGet,
    GET format!("{SUBSCRIPTION}/locations") => SubscriptionsListLocations,
    GET format!("{SUBSCRIPTION}/providers") => ProvidersList,
    GET format!("{SUBSCRIPTION}/providers/Microsoft.Compute/galleries") => GalleriesList,
    GET format!("{SUBSCRIPTION}/providers/Microsoft.Compute/locations/{{location}}/capsOperations/{{operationId}}") => CapsOperationsGet,
    GET format!("{SUBSCRIPTION}/providers/{{resourceProviderNamespace}}") => ProvidersGet,
    POST format!("{SUBSCRIPTION}/providers/{{resourceProviderNamespace}}/register") => ProvidersRegister,
    GET format!("{SUBSCRIPTION}/operationresults/{{operationId}}") => OperationResultsGet,
    GET format!("{SUBSCRIPTION}/resourcegroups") => ResourceGroupsList,
    PUT format!("{SUBSCRIPTION}/resourcegroups/{{resourceGroupName}}") => ResourceGroupsCreateOrUpdate,
    GET format!("{SUBSCRIPTION}/resourcegroups/{{resourceGroupName}}") => ResourceGroupsGet,
    HEAD format!("{SUBSCRIPTION}/resourcegroups/{{resourceGroupName}}") => ResourceGroupsCheckExistence,
    PATCH format!("{SUBSCRIPTION}/resourcegroups/{{resourceGroupName}}") => ResourceGroupsUpdate,
    DELETE format!("{SUBSCRIPTION}/resourcegroups/{{resourceGroupName}}") => ResourceGroupsDelete,
    GET format!("{GALLERY_RP}/galleries") => GalleriesListByResourceGroup,
    PUT format!("{GALLERY_RP}/galleries/{{galleryName}}") => GalleriesCreateOrUpdate,
    PATCH format!("{GALLERY_RP}/galleries/{{galleryName}}") => GalleriesUpdate,
    GET format!("{GALLERY_RP}/galleries/{{galleryName}}") => GalleriesGet,
    DELETE format!("{GALLERY_RP}/galleries/{{galleryName}}") => GalleriesDelete,
    GET format!("{GALLERY_RP}/galleries/{{galleryName}}/images") => GalleryImagesListByGallery,
    PUT format!("{GALLERY_RP}/galleries/{{galleryName}}/images/{{galleryImageName}}") => GalleryImagesCreateOrUpdate,
    PATCH format!("{GALLERY_RP}/galleries/{{galleryName}}/images/{{galleryImageName}}") => GalleryImagesUpdate,
    GET format!("{GALLERY_RP}/galleries/{{galleryName}}/images/{{galleryImageName}}") => GalleryImagesGet,
    DELETE format!("{GALLERY_RP}/galleries/{{galleryName}}/images/{{galleryImageName}}") => GalleryImagesDelete,
    GET format!("{GALLERY_RP}/galleries/{{galleryName}}/images/{{galleryImageName}}/versions") => GalleryImageVersionsListByGalleryImage,
    PUT format!("{GALLERY_RP}/galleries/{{galleryName}}/images/{{galleryImageName}}/versions/{{galleryImageVersionName}}") => GalleryImageVersionsCreateOrUpdate,
    PATCH format!("{GALLERY_RP}/galleries/{{galleryName}}/images/{{galleryImageName}}/versions/{{galleryImageVersionName}}") => GalleryImageVersionsUpdate,
    GET format!("{GALLERY_RP}/galleries/{{galleryName}}/images/{{galleryImageName}}/versions/{{galleryImageVersionName}}") => GalleryImageVersionsGet,
    DELETE format!("{GALLERY_RP}/galleries/{{galleryName}}/images/{{galleryImageName}}/versions/{{galleryImageVersionName}}") => GalleryImageVersionsDelete,
    GET format!("{GALLERY_RP}/galleries/{{galleryName}}/applications") => GalleryApplicationsListByGallery,
    PUT format!("{GALLERY_RP}/galleries/{{galleryName}}/applications/{{galleryApplicationName}}") => GalleryApplicationsCreateOrUpdate,
    PATCH format!("{GALLERY_RP}/galleries/{{galleryName}}/applications/{{galleryApplicationName}}") => GalleryApplicationsUpdate,
    GET format!("{GALLERY_RP}/galleries/{{galleryName}}/applications/{{galleryApplicationName}}") => GalleryApplicationsGet,
    DELETE format!("{GALLERY_RP}/galleries/{{galleryName}}/applications/{{galleryApplicationName}}") => GalleryApplicationsDelete,
    GET format!("{GALLERY_RP}/galleries/{{galleryName}}/applications/{{galleryApplicationName}}/versions") => GalleryApplicationVersionsListByGalleryApplication,
    PUT format!("{GALLERY_RP}/galleries/{{galleryName}}/applications/{{galleryApplicationName}}/versions/{{galleryApplicationVersionName}}") => GalleryApplicationVersionsCreateOrUpdate,
    PATCH format!("{GALLERY_RP}/galleries/{{galleryName}}/applications/{{galleryApplicationName}}/versions/{{galleryApplicationVersionName}}") => GalleryApplicationVersionsUpdate,
    GET format!("{GALLERY_RP}/galleries/{{galleryName}}/applications/{{galleryApplicationName}}/versions/{{galleryApplicationVersionName}}") => GalleryApplicationVersionsGet,
    DELETE format!("{GALLERY_RP}/galleries/{{galleryName}}/applications/{{galleryApplicationName}}/versions/{{galleryApplicationVersionName}}") => GalleryApplicationVersionsDelete,
    GET format!("{GALLERY_RP}/galleries/{{galleryName}}/scripts") => GalleryScriptsListByGallery,
    PUT format!("{GALLERY_RP}/galleries/{{galleryName}}/scripts/{{galleryScriptName}}") => GalleryScriptsCreateOrUpdate,
    PATCH format!("{GALLERY_RP}/galleries/{{galleryName}}/scripts/{{galleryScriptName}}") => GalleryScriptsUpdate,
    GET format!("{GALLERY_RP}/galleries/{{galleryName}}/scripts/{{galleryScriptName}}") => GalleryScriptsGet,
    DELETE format!("{GALLERY_RP}/galleries/{{galleryName}}/scripts/{{galleryScriptName}}") => GalleryScriptsDelete,
    GET format!("{GALLERY_RP}/galleries/{{galleryName}}/scripts/{{galleryScriptName}}/versions") => GalleryScriptVersionsListByGalleryScript,
    PUT format!("{GALLERY_RP}/galleries/{{galleryName}}/scripts/{{galleryScriptName}}/versions/{{galleryScriptVersionName}}") => GalleryScriptVersionsCreateOrUpdate,
    PATCH format!("{GALLERY_RP}/galleries/{{galleryName}}/scripts/{{galleryScriptName}}/versions/{{galleryScriptVersionName}}") => GalleryScriptVersionsUpdate,
    GET format!("{GALLERY_RP}/galleries/{{galleryName}}/scripts/{{galleryScriptName}}/versions/{{galleryScriptVersionName}}") => GalleryScriptVersionsGet,
    DELETE format!("{GALLERY_RP}/galleries/{{galleryName}}/scripts/{{galleryScriptName}}/versions/{{galleryScriptVersionName}}") => GalleryScriptVersionsDelete,
    GET format!("{SUBSCRIPTION}/providers/Microsoft.Compute/disks") => DisksList,
    GET format!("{GALLERY_RP}/disks") => DisksListByResourceGroup,
    PUT format!("{GALLERY_RP}/disks/{{diskName}}") => DisksCreateOrUpdate,
    PATCH format!("{GALLERY_RP}/disks/{{diskName}}") => DisksUpdate,
    GET format!("{GALLERY_RP}/disks/{{diskName}}") => DisksGet,
    DELETE format!("{GALLERY_RP}/disks/{{diskName}}") => DisksDelete,
    POST format!("{GALLERY_RP}/disks/{{diskName}}/beginGetAccess") => DisksGrantAccess,
    POST format!("{GALLERY_RP}/disks/{{diskName}}/endGetAccess") => DisksRevokeAccess,
    GET format!("{SUBSCRIPTION}/providers/Microsoft.Compute/snapshots") => SnapshotsList,
    GET format!("{GALLERY_RP}/snapshots") => SnapshotsListByResourceGroup,
    PUT format!("{GALLERY_RP}/snapshots/{{snapshotName}}") => SnapshotsCreateOrUpdate,
    PATCH format!("{GALLERY_RP}/snapshots/{{snapshotName}}") => SnapshotsUpdate,
    GET format!("{GALLERY_RP}/snapshots/{{snapshotName}}") => SnapshotsGet,
    DELETE format!("{GALLERY_RP}/snapshots/{{snapshotName}}") => SnapshotsDelete,
    POST format!("{GALLERY_RP}/snapshots/{{snapshotName}}/beginGetAccess") => SnapshotsGrantAccess,
    POST format!("{GALLERY_RP}/snapshots/{{snapshotName}}/endGetAccess") => SnapshotsRevokeAccess,
    GET format!("{SUBSCRIPTION}/providers/Microsoft.Compute/images") => ImagesList,
    GET format!("{GALLERY_RP}/images") => ImagesListByResourceGroup,
    PUT format!("{GALLERY_RP}/images/{{imageName}}") => ImagesCreateOrUpdate,
    PATCH format!("{GALLERY_RP}/images/{{imageName}}") => ImagesUpdate,
    GET format!("{GALLERY_RP}/images/{{imageName}}") => ImagesGet,
    DELETE format!("{GALLERY_RP}/images/{{imageName}}") => ImagesDelete,
    // ----- template deployments -----
    GET format!("{DEPLOYMENTS_RG}") => DeploymentsListByResourceGroup,
    PUT format!("{DEPLOYMENTS_RG}/{{deploymentName}}") => DeploymentsCreateOrUpdate,
    GET format!("{DEPLOYMENTS_RG}/{{deploymentName}}") => DeploymentsGet,
    HEAD format!("{DEPLOYMENTS_RG}/{{deploymentName}}") => DeploymentsCheckExistence,
    DELETE format!("{DEPLOYMENTS_RG}/{{deploymentName}}") => DeploymentsDelete,
    POST format!("{DEPLOYMENTS_RG}/{{deploymentName}}/validate") => DeploymentsValidate,
    POST format!("{DEPLOYMENTS_RG}/{{deploymentName}}/cancel") => DeploymentsCancel,
    POST format!("{DEPLOYMENTS_RG}/{{deploymentName}}/exportTemplate") => DeploymentsExportTemplate,
    GET format!("{DEPLOYMENTS_RG}/{{deploymentName}}/operationStatuses/{{operationId}}") => DeploymentOperationStatusesGet,
    GET format!("{SUBSCRIPTION}/resourcegroups/{{resourceGroupName}}/deployments/{{deploymentName}}/operations") => DeploymentOperationsList,
    GET format!("{SUBSCRIPTION}/resourcegroups/{{resourceGroupName}}/deployments/{{deploymentName}}/operations/{{operationId}}") => DeploymentOperationsGet,
    GET format!("{DEPLOYMENTS_SUB}") => DeploymentsListAtSubscriptionScope,
    PUT format!("{DEPLOYMENTS_SUB}/{{deploymentName}}") => DeploymentsCreateOrUpdateAtSubscriptionScope,
    GET format!("{DEPLOYMENTS_SUB}/{{deploymentName}}") => DeploymentsGetAtSubscriptionScope,
    HEAD format!("{DEPLOYMENTS_SUB}/{{deploymentName}}") => DeploymentsCheckExistenceAtSubscriptionScope,
    DELETE format!("{DEPLOYMENTS_SUB}/{{deploymentName}}") => DeploymentsDeleteAtSubscriptionScope,
    POST format!("{DEPLOYMENTS_SUB}/{{deploymentName}}/validate") => DeploymentsValidateAtSubscriptionScope,
    POST format!("{DEPLOYMENTS_SUB}/{{deploymentName}}/cancel") => DeploymentsCancelAtSubscriptionScope,
    POST format!("{DEPLOYMENTS_SUB}/{{deploymentName}}/whatIf") => DeploymentsWhatIfAtSubscriptionScope,
    POST format!("{DEPLOYMENTS_RG}/{{deploymentName}}/whatIf") => DeploymentsWhatIf,
    POST format!("{DEPLOYMENTS_SUB}/{{deploymentName}}/exportTemplate") => DeploymentsExportTemplateAtSubscriptionScope,
    GET format!("{DEPLOYMENTS_SUB}/{{deploymentName}}/operationStatuses/{{operationId}}") => DeploymentOperationStatusesGetAtSubscriptionScope,
    GET format!("{DEPLOYMENTS_SUB}/{{deploymentName}}/operations") => DeploymentOperationsListAtSubscriptionScope,
    GET format!("{DEPLOYMENTS_SUB}/{{deploymentName}}/operations/{{operationId}}") => DeploymentOperationsGetAtSubscriptionScope,
    // Microsoft.Authorization extends every scope; these come last so fixed routes win.
    GET format!("{AUTHORIZATION}/roleAssignments") => RoleAssignmentsListForScope,
    PUT format!("{AUTHORIZATION}/roleAssignments/{{roleAssignmentName}}") => RoleAssignmentsCreate,
    GET format!("{AUTHORIZATION}/roleAssignments/{{roleAssignmentName}}") => RoleAssignmentsGet,
    DELETE format!("{AUTHORIZATION}/roleAssignments/{{roleAssignmentName}}") => RoleAssignmentsDelete,
    GET format!("{AUTHORIZATION}/roleDefinitions") => RoleDefinitionsList,
    GET format!("{AUTHORIZATION}/roleDefinitions/{{roleDefinitionId}}") => RoleDefinitionsGet,
    PUT format!("{AUTHORIZATION}/roleDefinitions/{{roleDefinitionId}}") => RoleDefinitionsCreateOrUpdate,
    DELETE format!("{AUTHORIZATION}/roleDefinitions/{{roleDefinitionId}}") => RoleDefinitionsDelete,
}

/// The path parameters a route captured, in template order.
#[derive(Debug, Clone, Default)]
pub struct PathParameters(Vec<(&'static str, String)>);

impl PathParameters {
    /// The value of `{name}`; panics only if the route table and a handler disagree (a bug).
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(parameter, _)| *parameter == name)
            .map(|(_, value)| value.as_str())
            .unwrap_or_else(|| panic!("route has no parameter {{{name}}}"))
    }

    /// The value of `{name}`, if the route has it.
    pub fn find(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(parameter, _)| *parameter == name)
            .map(|(_, value)| value.as_str())
    }
}

/// What matching a request path found.
pub enum RouteMatch {
    /// A route with this method and path.
    Found(&'static Route, PathParameters),
    /// The path exists, but not for this method.
    MethodNotAllowed,
    /// No route has this path.
    NotFound,
}

/// Splits a raw request path into percent-decoded segments (an empty trailing segment is dropped).
pub fn segments(path: &str) -> Result<Vec<String>, ServiceError> {
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
    if trimmed.is_empty() {
        return Ok(Vec::new());
    }
    trimmed.split('/').map(percent_decode).collect()
}

/// Decodes `%XX` escapes of one path segment.
pub fn percent_decode(segment: &str) -> Result<String, ServiceError> {
    let bytes = segment.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = segment
                .get(index + 1..index + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok());
            match hex {
                Some(byte) => {
                    decoded.push(byte);
                    index += 3;
                    continue;
                }
                None => {
                    return Err(ServiceError::new(
                        400,
                        ErrorCode::InvalidRequestUri,
                        format!(
                            "The request path segment '{segment}' is not valid percent-encoding."
                        ),
                    ));
                }
            }
        }
        decoded.push(bytes[index]);
        index += 1;
    }
    String::from_utf8(decoded).map_err(|_| {
        ServiceError::new(
            400,
            ErrorCode::InvalidRequestUri,
            format!("The request path segment '{segment}' is not valid UTF-8."),
        )
    })
}

fn template_matches(route: &Route, segments: &[String]) -> Option<PathParameters> {
    let Some((Pattern::Scope, tail)) = route.segments.split_first() else {
        return patterns_match(&route.segments, segments).map(PathParameters);
    };
    let scope_length = segments.len().checked_sub(tail.len())?;
    let (scope, rest) = segments.split_at(scope_length);
    let mut parameters = vec![("scope", scope.join("/"))];
    parameters.extend(patterns_match(tail, rest)?);
    if scope.len() >= 2 && scope[0].eq_ignore_ascii_case("subscriptions") {
        parameters.push(("subscriptionId", scope[1].clone()));
    }
    Some(PathParameters(parameters))
}

/// Matches fixed-length `patterns` against `segments`, answering the captured parameters.
fn patterns_match(
    patterns: &[Pattern],
    segments: &[String],
) -> Option<Vec<(&'static str, String)>> {
    if patterns.len() != segments.len() {
        return None;
    }
    let matches = patterns
        .iter()
        .zip(segments)
        .all(|(pattern, segment)| match pattern {
            Pattern::Literal(literal) => literal.eq_ignore_ascii_case(segment),
            Pattern::Parameter(_) => !segment.is_empty(),
            Pattern::Scope => false,
        });
    if !matches {
        return None;
    }
    Some(
        patterns
            .iter()
            .zip(segments)
            .filter_map(|(pattern, segment)| match pattern {
                Pattern::Parameter(name) => Some((*name, segment.clone())),
                Pattern::Literal(_) | Pattern::Scope => None,
            })
            .collect(),
    )
}

/// Finds the route for `method` and the decoded path `segments`. HEAD falls back to the GET route.
pub fn find(method: &Method, segments: &[String]) -> RouteMatch {
    let mut path_exists = false;
    let mut get_fallback = None;
    for route in table() {
        if let Some(parameters) = template_matches(route, segments) {
            if route.method == *method {
                return RouteMatch::Found(route, parameters);
            }
            if *method == Method::HEAD && route.method == Method::GET && get_fallback.is_none() {
                get_fallback = Some((route, parameters));
            }
            path_exists = true;
        }
    }
    match get_fallback {
        Some((route, parameters)) => RouteMatch::Found(route, parameters),
        None if path_exists => RouteMatch::MethodNotAllowed,
        None => RouteMatch::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(method: Method, path: &str) -> Option<(OperationId, PathParameters)> {
        match find(&method, &segments(path).unwrap()) {
            RouteMatch::Found(route, parameters) => Some((route.operation, parameters)),
            _ => None,
        }
    }

    #[test]
    fn paths_match_ignoring_case_and_keep_parameter_casing() {
        let (operation, parameters) =
            resolve(Method::GET, "/SUBSCRIPTIONS/s1/resourcegroups/My%20Rg/providers/microsoft.compute/GALLERIES/Gal1/images/Img").unwrap();
        assert_eq!(operation, OperationId::GalleryImagesGet);
        assert_eq!(parameters.get("resourceGroupName"), "My Rg");
        assert_eq!(parameters.get("galleryName"), "Gal1");
    }

    #[test]
    fn specific_routes_win_over_parameters() {
        assert_eq!(
            resolve(
                Method::GET,
                "/subscriptions/s/providers/Microsoft.Compute/galleries"
            )
            .unwrap()
            .0,
            OperationId::GalleriesList
        );
        assert_eq!(
            resolve(Method::GET, "/subscriptions/s/providers/Microsoft.Compute")
                .unwrap()
                .0,
            OperationId::ProvidersGet
        );
        assert_eq!(
            resolve(Method::HEAD, "/subscriptions/s/resourceGroups/rg")
                .unwrap()
                .0,
            OperationId::ResourceGroupsCheckExistence
        );
        assert_eq!(
            resolve(Method::HEAD, "/subscriptions/s").unwrap().0,
            OperationId::SubscriptionsGet
        );
        assert_eq!(
            resolve(Method::GET, "/subscriptions/s/resourcegroups/")
                .unwrap()
                .0,
            OperationId::ResourceGroupsList
        );
    }

    #[test]
    fn authorization_routes_extend_every_scope() {
        let (operation, parameters) = resolve(
            Method::PUT,
            "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/providers/Microsoft.Authorization/roleAssignments/a",
        )
        .unwrap();
        assert_eq!(operation, OperationId::RoleAssignmentsCreate);
        assert_eq!(
            parameters.get("scope"),
            "subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/galleries/g"
        );
        assert_eq!(parameters.get("subscriptionId"), "s1");
        let (operation, parameters) = resolve(
            Method::GET,
            "/providers/Microsoft.Authorization/roleDefinitions",
        )
        .unwrap();
        assert_eq!(operation, OperationId::RoleDefinitionsList);
        assert_eq!(parameters.get("scope"), "");
        assert!(parameters.find("subscriptionId").is_none());
        assert_eq!(
            resolve(Method::GET, "/subscriptions/s/providers/Microsoft.Compute")
                .unwrap()
                .0,
            OperationId::ProvidersGet
        );
    }

    #[test]
    fn wrong_methods_and_unknown_paths_are_told_apart() {
        assert!(matches!(
            find(
                &Method::POST,
                &segments("/subscriptions/s/resourcegroups/rg").unwrap()
            ),
            RouteMatch::MethodNotAllowed
        ));
        assert!(matches!(
            find(&Method::GET, &segments("/subscriptions/s/nothing").unwrap()),
            RouteMatch::NotFound
        ));
        assert!(segments("/a/%zz").is_err());
    }
}
