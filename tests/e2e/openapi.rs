//! Keeps `openapi/galleryd.json` in step with galleryd.
//!
//! The documented ARM operations (method, path template, operationId) must be exactly the route
//! table's, in both directions: a route added in code without documentation fails, and so does a
//! documented route galleryd does not serve. galleryd's own `/_galleryd/*` endpoints must be
//! documented and answer on a running server, every documented ARM operation must take the required
//! `api-version` query parameter, and every documented ARM operation must actually be routed by a
//! running server, answering only documented success codes.
//!
//! galleryd also serves routes that are neither ARM's nor its own admin surface ([`NON_ARM_ROUTES`]):
//! Azure clients need galleryd to be their cloud, so it serves the identity endpoints they sign in
//! with (cloud metadata, OIDC discovery, Entra ID's token endpoints, the managed identity endpoints)
//! and the blob endpoint behind the SAS URLs of `beginGetAccess`, each in its own service's protocol
//! rather than ARM's. They are kept out of the ARM checks; instead the document must hold exactly
//! them, galleryd's router must register exactly them besides the admin routes, and each must answer
//! a running server's probe with a documented status, body and headers.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;

use galleryd_tests::{Backend, DEVELOPMENT_SUBSCRIPTION_ID, DEVELOPMENT_TENANT_ID, TestApp};
use serde_json::Value;

/// Paths under this prefix are galleryd's own surface, outside the ARM route table.
const ADMIN_PREFIX: &str = "/_galleryd/";

/// The admin routes and their operationIds (all `GET`).
const ADMIN_ROUTES: &[(&str, &str)] = &[
    ("/_galleryd/health", "Admin_Health"),
    ("/_galleryd/ready", "Admin_Ready"),
    ("/_galleryd/endpoints", "Admin_Endpoints"),
    ("/_galleryd/certificate", "Admin_Certificate"),
    ("/_galleryd/replicas", "Admin_Replicas"),
    ("/_galleryd/latest", "Admin_Latest"),
    ("/_galleryd/billing", "Admin_Billing"),
    ("/_galleryd/usage", "Admin_Usage"),
];

/// Admin routes a test suite drives galleryd with, served but deliberately left out of the
/// document: the generated-input stage fuzzes every documented operation, and a reset or a fault
/// rule would wipe or break the world it seeds (see docs/ARCHITECTURE.md, "galleryd in a test
/// harness"). `tests/e2e/reset.rs`, `faults.rs` and `metrics.rs` test them.
const UNDOCUMENTED_ADMIN_ROUTES: &[&str] = &[
    "/_galleryd/reset",
    "/_galleryd/faults",
    "/_galleryd/faults/{id}",
    "/_galleryd/metrics",
];

/// The routes that are neither ARM routes nor admin routes: (method, path template, operationId).
/// They speak their own services' protocols (no required api-version, no `CloudError` default).
const NON_ARM_ROUTES: &[(&str, &str, &str)] = &[
    ("GET", "/metadata/endpoints", "Cloud_Metadata"),
    (
        "GET",
        "/{tenant}/v2.0/.well-known/openid-configuration",
        "Identity_OpenIdConfiguration",
    ),
    (
        "GET",
        "/{tenant}/.well-known/openid-configuration",
        "Identity_OpenIdConfigurationV1",
    ),
    ("POST", "/{tenant}/oauth2/v2.0/token", "Identity_Token"),
    ("POST", "/{tenant}/oauth2/token", "Identity_TokenV1"),
    ("GET", "/{tenant}/discovery/v2.0/keys", "Identity_Keys"),
    ("GET", "/{tenant}/discovery/keys", "Identity_KeysV1"),
    (
        "GET",
        "/msi/token",
        "Identity_AppServiceManagedIdentityToken",
    ),
    (
        "GET",
        "/metadata/identity/oauth2/token",
        "Identity_InstanceMetadataToken",
    ),
    ("PUT", "/gallerydblob/{region}/{blob}", "Blob_Put"),
    ("GET", "/gallerydblob/{region}/{blob}", "Blob_Get"),
    (
        "HEAD",
        "/gallerydblob/{region}/{blob}",
        "Blob_GetProperties",
    ),
];

/// The members of an OpenAPI path item that are operations.
const OPERATION_METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Error codes galleryd answers when no route serves a method and path.
const UNROUTED_ERROR_CODES: &[&str] = &[
    "MethodNotAllowed",
    "InvalidResourceType",
    "InvalidResourceNamespace",
];

/// One route: what the route table holds, and what the document describes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Route {
    method: String,
    path: String,
    operation_id: String,
}

impl fmt::Display for Route {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{} {} ({})",
            self.method, self.path, self.operation_id
        )
    }
}

/// Whether `path` is one of the [`NON_ARM_ROUTES`]' paths.
fn is_non_arm_path(path: &str) -> bool {
    NON_ARM_ROUTES
        .iter()
        .any(|(_, non_arm_path, _)| *non_arm_path == path)
}

/// Whether `path` is an ARM route's: neither an admin route's nor a non-ARM route's.
fn is_arm_path(path: &str) -> bool {
    !path.starts_with(ADMIN_PREFIX) && !is_non_arm_path(path)
}

fn non_arm_routes() -> BTreeSet<Route> {
    NON_ARM_ROUTES
        .iter()
        .map(|(method, path, operation_id)| Route {
            method: method.to_string(),
            path: path.to_string(),
            operation_id: operation_id.to_string(),
        })
        .collect()
}

// ----- the document -----

fn document_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../openapi/galleryd.json")
}

pub(crate) fn load_document() -> Value {
    let path = document_path();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("{} is not valid JSON: {error}", path.display()))
}

/// Follows a local `$ref` (`#/components/...`), repeatedly; other values are returned as they are.
pub(crate) fn resolve<'document>(
    document: &'document Value,
    value: &'document Value,
) -> &'document Value {
    let mut current = value;
    for _ in 0..16 {
        let Some(reference) = current.get("$ref").and_then(Value::as_str) else {
            return current;
        };
        let pointer = reference
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("only local references are used, found '{reference}'"));
        current = document
            .pointer(pointer)
            .unwrap_or_else(|| panic!("the reference '{reference}' resolves to nothing"));
    }
    panic!("reference cycle at {value}");
}

/// Every operation of the document: (method in upper case, path, path item, operation).
fn operations(document: &Value) -> Vec<(String, &str, &Value, &Value)> {
    let paths = document["paths"]
        .as_object()
        .expect("the document has a `paths` object");
    let mut found = Vec::new();
    for (path, path_item) in paths {
        for method in OPERATION_METHODS {
            if let Some(operation) = path_item.get(*method) {
                found.push((method.to_uppercase(), path.as_str(), path_item, operation));
            }
        }
    }
    found
}

fn operation_id(operation: &Value) -> String {
    operation["operationId"]
        .as_str()
        .unwrap_or_else(|| panic!("an operation has no operationId: {operation}"))
        .to_string()
}

/// The documented routes, ARM, admin and non-ARM alike.
fn documented_routes(document: &Value) -> Vec<Route> {
    operations(document)
        .into_iter()
        .map(|(method, path, _, operation)| Route {
            method,
            path: path.to_string(),
            operation_id: operation_id(operation),
        })
        .collect()
}

/// The parameters of an operation, its path item's first, with references resolved.
fn parameters<'document>(
    document: &'document Value,
    path_item: &'document Value,
    operation: &'document Value,
) -> Vec<&'document Value> {
    [path_item.get("parameters"), operation.get("parameters")]
        .into_iter()
        .flatten()
        .filter_map(Value::as_array)
        .flatten()
        .map(|parameter| resolve(document, parameter))
        .collect()
}

/// The status codes an operation documents (without `default`).
fn documented_statuses(operation: &Value) -> BTreeSet<u16> {
    operation["responses"]
        .as_object()
        .map(|responses| {
            responses
                .keys()
                .filter_map(|status| status.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// `{name}` segments of a path template, in order.
fn template_parameters(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .collect()
}

// ----- the route table, read from its source -----

/// The route table, as the dispatcher uses it.
fn route_table() -> BTreeSet<Route> {
    let table = arm_api::arm::routes::table();
    let routes: BTreeSet<Route> = table
        .iter()
        .map(|route| Route {
            method: route.method.as_str().to_string(),
            path: route.template.to_string(),
            operation_id: route.operation.name().to_string(),
        })
        .collect();
    assert_eq!(
        routes.len(),
        table.len(),
        "the route table has duplicate entries"
    );
    routes
}

/// The paths `fn routes` in `crates/arm-api/src/lib.rs` registers on the axum router (everything
/// else falls back to the ARM dispatcher and its route table).
fn router_paths() -> BTreeSet<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../crates/arm-api/src/lib.rs");
    let source = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    let (_, body) = source
        .split_once("fn routes(")
        .unwrap_or_else(|| panic!("{} has no `fn routes`", path.display()));
    let body = body.split("\n}").next().unwrap_or(body);
    body.match_indices(".route(")
        .map(|(index, call)| {
            let argument = body[index + call.len()..].trim_start();
            argument
                .strip_prefix('"')
                .and_then(|rest| rest.split_once('"'))
                .map(|(route, _)| route.to_string())
                .unwrap_or_else(|| panic!("a `.route(` without a literal path: {argument:.60}"))
        })
        .collect()
}

// ----- tests -----

#[test]
fn documented_arm_operations_are_exactly_the_route_table() {
    let document = load_document();
    assert_eq!(document["openapi"], "3.0.3");
    let documented = documented_routes(&document);
    let mut seen_operation_ids = BTreeMap::new();
    for route in &documented {
        if let Some(previous) = seen_operation_ids.insert(route.operation_id.clone(), route) {
            panic!("operationId used twice: {previous} and {route}");
        }
    }
    let documented: BTreeSet<Route> = documented
        .into_iter()
        .filter(|route| is_arm_path(&route.path))
        .collect();
    let table = route_table();
    let undocumented: Vec<String> = table
        .difference(&documented)
        .map(Route::to_string)
        .collect();
    let unserved: Vec<String> = documented
        .difference(&table)
        .map(Route::to_string)
        .collect();
    assert!(
        undocumented.is_empty() && unserved.is_empty(),
        "openapi/galleryd.json and the route table disagree.\n\
         In the route table but not documented:\n  {}\n\
         Documented but not in the route table:\n  {}",
        undocumented.join("\n  "),
        unserved.join("\n  ")
    );
}

#[test]
fn every_documented_arm_operation_requires_api_version() {
    let document = load_document();
    let mut problems = Vec::new();
    for (method, path, path_item, operation) in operations(&document) {
        let route = format!("{method} {path} ({})", operation_id(operation));
        let parameters = parameters(&document, path_item, operation);
        let has_success = documented_statuses(operation)
            .iter()
            .any(|status| (200..300).contains(status));
        let api_version = parameters
            .iter()
            .find(|parameter| parameter["name"] == "api-version" && parameter["in"] == "query");
        if path.starts_with(ADMIN_PREFIX) {
            if api_version.is_some() {
                problems.push(format!("{route}: admin routes take no api-version"));
            }
        } else if !has_success {
            problems.push(format!("{route}: no success response documented"));
        } else if is_non_arm_path(path) {
            // Their protocols may name an api-version, but galleryd requires none of them.
            if let Some(parameter) = api_version
                && parameter["required"] == true
            {
                problems.push(format!(
                    "{route}: documented as requiring api-version, which galleryd requires on no non-ARM route"
                ));
            }
        } else {
            match api_version {
                None => problems.push(format!("{route}: no api-version query parameter")),
                Some(parameter) if parameter["required"] != true => {
                    problems.push(format!("{route}: api-version is not required"))
                }
                Some(parameter) if parameter["example"].as_str().is_none() => {
                    problems.push(format!("{route}: api-version has no example version"))
                }
                Some(_) => {}
            }
        }
        // Path parameters: exactly those of the template, each required.
        let declared: BTreeSet<&str> = parameters
            .iter()
            .filter(|parameter| parameter["in"] == "path")
            .filter_map(|parameter| parameter["name"].as_str())
            .collect();
        let in_template: BTreeSet<&str> = template_parameters(path).into_iter().collect();
        if declared != in_template {
            problems.push(format!(
                "{route}: path parameters {declared:?} differ from the template's {in_template:?}"
            ));
        }
        for parameter in &parameters {
            if parameter["in"] == "path" && parameter["required"] != true {
                problems.push(format!(
                    "{route}: path parameter {parameter} is not required"
                ));
            }
        }
        if operation["responses"].get("default").is_none() && is_arm_path(path) {
            problems.push(format!("{route}: no default (CloudError) response"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_reference_in_the_document_resolves() {
    fn walk(document: &Value, value: &Value) {
        match value {
            Value::Object(members) => {
                if members.contains_key("$ref") {
                    resolve(document, value);
                }
                members.values().for_each(|member| walk(document, member));
            }
            Value::Array(items) => items.iter().for_each(|item| walk(document, item)),
            _ => {}
        }
    }
    let document = load_document();
    walk(&document, &document);
    let cloud_error = &document["components"]["schemas"]["CloudError"];
    let detail = resolve(&document, &cloud_error["properties"]["error"]);
    let members: BTreeSet<&str> = detail["properties"]
        .as_object()
        .map(|properties| properties.keys().map(String::as_str).collect())
        .unwrap_or_default();
    assert_eq!(
        members,
        BTreeSet::from(["code", "message", "target", "details", "additionalInfo"]),
        "CloudError.error members"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_routes_are_documented_and_answer() {
    let document = load_document();
    let documented = documented_routes(&document);
    for (path, operation_id) in ADMIN_ROUTES {
        let expected = Route {
            method: "GET".to_string(),
            path: path.to_string(),
            operation_id: operation_id.to_string(),
        };
        assert!(
            documented.contains(&expected),
            "{expected} is not documented"
        );
        assert!(
            documented_statuses(&document["paths"][*path]["get"]).contains(&200),
            "{expected} documents no 200"
        );
    }
    let admin_documented: Vec<&Route> = documented
        .iter()
        .filter(|route| route.path.starts_with(ADMIN_PREFIX))
        .collect();
    assert_eq!(
        admin_documented.len(),
        ADMIN_ROUTES.len(),
        "unexpected admin routes documented: {admin_documented:?}"
    );

    let app = TestApp::start(Backend::Sqlite).await;
    let health = app
        .request(reqwest::Method::GET, "/_galleryd/health", None)
        .await;
    health.assert_status(200);
    assert_eq!(health.json()["status"], "ok", "{}", health.text);

    let ready = app
        .request(reqwest::Method::GET, "/_galleryd/ready", None)
        .await;
    ready.assert_status(200);
    assert_eq!(ready.json()["status"], "ready", "{}", ready.text);

    let endpoints = app
        .request(reqwest::Method::GET, "/_galleryd/endpoints", None)
        .await;
    endpoints.assert_status(200);
    let body = endpoints.json();
    for key in ["https", "http", "certificate", "tenantId", "subscriptionId"] {
        assert!(
            body.get(key).is_some(),
            "/_galleryd/endpoints lacks `{key}`: {}",
            endpoints.text
        );
    }
    assert_eq!(body["http"], app.http.as_str());
    assert_eq!(body["https"], app.https.as_str());
    assert_eq!(body["tenantId"], DEVELOPMENT_TENANT_ID);
    assert_eq!(body["subscriptionId"], DEVELOPMENT_SUBSCRIPTION_ID);
    let schema = &document["components"]["schemas"]["Endpoints"]["required"];
    assert_eq!(
        schema,
        &serde_json::json!(["https", "http", "certificate", "tenantId", "subscriptionId"]),
        "the Endpoints schema's required members"
    );

    let certificate = app
        .request(reqwest::Method::GET, "/_galleryd/certificate", None)
        .await;
    certificate.assert_status(200);
    assert!(
        certificate
            .text
            .trim_start()
            .starts_with("-----BEGIN CERTIFICATE-----"),
        "not a PEM certificate: {}",
        certificate.text
    );
    assert_eq!(
        certificate.header("content-type"),
        Some("application/x-pem-file")
    );
}

/// A value for a path parameter when probing a route.
fn probe_value(name: &str) -> &'static str {
    match name {
        "subscriptionId" => DEVELOPMENT_SUBSCRIPTION_ID,
        "resourceGroupName" => "openapi-probe",
        "galleryName" => "openapiProbe",
        "galleryImageName" => "openapi-probe-image",
        "galleryImageVersionName" => "1.0.0",
        "galleryApplicationName" => "openapi-probe-application",
        "galleryApplicationVersionName" => "1.0.0",
        "galleryScriptName" => "openapi-probe-script",
        "galleryScriptVersionName" => "1.0.0",
        "diskName" => "openapi-probe-disk",
        "snapshotName" => "openapi-probe-snapshot",
        "imageName" => "openapi-probe-managed-image",
        "location" => "westus",
        "operationId" => "00000000-0000-4000-8000-000000000000",
        "resourceProviderNamespace" => "Microsoft.Compute",
        "scope" => "subscriptions/6a11e2d0-0000-4000-8000-000000000002",
        "roleAssignmentName" => "00000000-0000-4000-8000-0000000000aa",
        "roleDefinitionId" => "acdd72a7-3385-48ef-bd42-f606fba81ae7",
        "deploymentName" => "openapi-probe-deployment",
        other => panic!("no probe value for the path parameter {{{other}}}: add one"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documented_arm_operations_are_served() {
    let document = load_document();
    let app = TestApp::start(Backend::Sqlite).await;
    let mut problems = Vec::new();
    for (method, path, path_item, operation) in operations(&document) {
        if !is_arm_path(path) {
            continue;
        }
        let route = format!("{method} {path} ({})", operation_id(operation));
        let api_version = parameters(&document, path_item, operation)
            .into_iter()
            .find(|parameter| parameter["name"] == "api-version")
            .and_then(|parameter| parameter["example"].as_str())
            .unwrap_or_else(|| panic!("{route}: no api-version example"));
        let mut url = path.to_string();
        for name in template_parameters(path) {
            url = url.replace(&format!("{{{name}}}"), probe_value(name));
        }
        url.push_str(&format!("?api-version={api_version}"));
        let http_method = reqwest::Method::from_bytes(method.as_bytes())
            .unwrap_or_else(|error| panic!("{route}: {error}"));
        let body =
            matches!(method.as_str(), "PUT" | "PATCH" | "POST").then(|| serde_json::json!({}));
        let response = app.request(http_method, &url, body.as_ref()).await;
        let code = response.error_code();
        if response.status == 405 || UNROUTED_ERROR_CODES.contains(&code.as_str()) {
            problems.push(format!(
                "{route}: not routed ({} {})",
                response.status, response.text
            ));
        } else if code.starts_with("InvalidApiVersion") || code == "NoRegisteredProviderFound" {
            problems.push(format!(
                "{route}: the documented api-version {api_version} is refused: {}",
                response.text
            ));
        } else if response.status < 400 {
            if !documented_statuses(operation).contains(&response.status) {
                problems.push(format!(
                    "{route}: answered {}, which is not documented",
                    response.status
                ));
            }
        } else if method != "HEAD" && code.is_empty() {
            problems.push(format!(
                "{route}: answered {} without a CloudError body: {}",
                response.status, response.text
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Why `body` does not have what `schema` requires: the `required` members of objects, through
/// `oneOf`/`anyOf`, arrays and the properties present (empty when it does).
fn missing_required(document: &Value, schema: &Value, body: &Value, at: &str) -> Vec<String> {
    let schema = resolve(document, schema);
    if let Some(choices) = schema["oneOf"].as_array().or(schema["anyOf"].as_array()) {
        let failures: Vec<Vec<String>> = choices
            .iter()
            .map(|choice| missing_required(document, choice, body, at))
            .collect();
        if failures.iter().any(Vec::is_empty) {
            return Vec::new();
        }
        return vec![format!("{at}: matches none of oneOf: {failures:?}")];
    }
    match (schema["type"].as_str(), body) {
        (Some("array"), Value::Array(items)) => items
            .iter()
            .enumerate()
            .flat_map(|(index, item)| {
                missing_required(document, &schema["items"], item, &format!("{at}[{index}]"))
            })
            .collect(),
        (Some("array"), _) => vec![format!("{at}: not an array")],
        (Some("object"), Value::Object(members)) => {
            let mut problems: Vec<String> = schema["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .filter(|name| !members.contains_key(*name))
                .map(|name| format!("{at}: no `{name}`"))
                .collect();
            if let Some(properties) = schema["properties"].as_object() {
                for (name, property) in properties {
                    if let Some(member) = members.get(name) {
                        problems.extend(missing_required(
                            document,
                            property,
                            member,
                            &format!("{at}.{name}"),
                        ));
                    }
                }
            }
            problems
        }
        (Some("object"), _) => vec![format!("{at}: not an object")],
        _ => Vec::new(),
    }
}

/// What is wrong with `response` as an answer of `operation` (empty when nothing): its status must
/// be documented, its media type and body must be the documented ones (JSON with the schema's
/// required members, XML with the schema's root element and required elements, no body where none
/// is documented), and every documented required header must be there.
fn undocumented_answer(
    document: &Value,
    operation: &Value,
    response: &galleryd_tests::TestResponse,
) -> Vec<String> {
    let status = response.status.to_string();
    let Some(documented) = operation["responses"].get(&status) else {
        return vec![format!("answered {status}, which is not documented")];
    };
    let documented = resolve(document, documented);
    let mut problems = Vec::new();
    for (name, header) in documented["headers"].as_object().into_iter().flatten() {
        if resolve(document, header)["required"] == true && response.header(name).is_none() {
            problems.push(format!("no `{name}` header"));
        }
    }
    let Some(content) = documented["content"].as_object() else {
        if !response.text.is_empty() {
            problems.push(format!(
                "a body where none is documented: {}",
                response.text
            ));
        }
        return problems;
    };
    let media_type = response
        .header("content-type")
        .and_then(|value| value.split(';').next())
        .unwrap_or_default()
        .trim();
    let Some(media) = content.get(media_type) else {
        problems.push(format!(
            "content type `{media_type}` is not documented ({:?})",
            content.keys().collect::<Vec<_>>()
        ));
        return problems;
    };
    let schema = resolve(document, &media["schema"]);
    match media_type {
        "application/json" => match serde_json::from_str::<Value>(&response.text) {
            Ok(body) => problems.extend(missing_required(document, schema, &body, "body")),
            Err(error) => problems.push(format!("not JSON ({error}): {}", response.text)),
        },
        "application/xml" => {
            let root = schema["xml"]["name"].as_str().unwrap_or("?");
            let elements = schema["required"].as_array().into_iter().flatten();
            for element in std::iter::once(root).chain(elements.filter_map(Value::as_str)) {
                if !response.text.contains(&format!("<{element}>")) {
                    problems.push(format!("no <{element}> element: {}", response.text));
                }
            }
        }
        _ => {}
    }
    problems
}

/// Sends a probe, read whole.
async fn send(request: reqwest::RequestBuilder) -> galleryd_tests::TestResponse {
    let response = request.send().await.expect("request sent");
    galleryd_tests::TestResponse {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        text: response.text().await.unwrap_or_default(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_arm_routes_are_documented_and_answer() {
    let document = load_document();
    let expected = non_arm_routes();
    assert_eq!(
        expected.len(),
        NON_ARM_ROUTES.len(),
        "NON_ARM_ROUTES has duplicates"
    );

    // The document: exactly these routes besides the route table's and the admin routes.
    let table = route_table();
    let documented: BTreeSet<Route> = documented_routes(&document)
        .into_iter()
        .filter(|route| !route.path.starts_with(ADMIN_PREFIX) && !table.contains(route))
        .collect();
    let undocumented: Vec<String> = expected
        .difference(&documented)
        .map(Route::to_string)
        .collect();
    let unknown: Vec<String> = documented
        .difference(&expected)
        .map(Route::to_string)
        .collect();
    assert!(
        undocumented.is_empty() && unknown.is_empty(),
        "openapi/galleryd.json and NON_ARM_ROUTES disagree.\n\
         In NON_ARM_ROUTES but not documented (or in the ARM route table):\n  {}\n\
         Documented, but neither an ARM, an admin nor a non-ARM route:\n  {}",
        undocumented.join("\n  "),
        unknown.join("\n  ")
    );

    // galleryd's router: exactly the admin and non-ARM paths besides the dispatcher's fallback.
    let registered = router_paths();
    let known: BTreeSet<String> = ADMIN_ROUTES
        .iter()
        .map(|(path, _)| path.to_string())
        .chain(NON_ARM_ROUTES.iter().map(|(_, path, _)| path.to_string()))
        .chain(
            UNDOCUMENTED_ADMIN_ROUTES
                .iter()
                .map(|path| path.to_string()),
        )
        .collect();
    assert_eq!(
        registered, known,
        "the paths `fn routes` in crates/arm-api/src/lib.rs registers differ from ADMIN_ROUTES and \
         NON_ARM_ROUTES"
    );

    // A running server: every route answers a probe that needs no setup as documented.
    let app = TestApp::start(Backend::Sqlite).await;
    let client = &app.client;
    let base = app.http.as_str();
    let tenant = DEVELOPMENT_TENANT_ID;
    let unknown_tenant = "0e5e9a1c-7c3e-4b8e-9d2a-000000000bad";
    let blob = format!("{base}/gallerydblob/westus/openapi-probe");
    let empty_form = |url: String| {
        client
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("")
    };
    let metadata_url = format!("{base}/metadata/endpoints");
    let token_query = "api-version=2019-08-01&resource=https://management.azure.com/";
    let json = |pointer, value| Expect::Json(pointer, value);
    let probes = vec![
        Probe::new("Cloud_Metadata", client.get(&metadata_url), 200)
            .expect(json("/resourceManager", format!("{base}/").into())),
        Probe::new(
            "Cloud_Metadata",
            client.get(format!("{metadata_url}?api-version=2019-05-01")),
            200,
        )
        .expect(json("/0/name", "galleryd".into())),
        Probe::new(
            "Identity_OpenIdConfiguration",
            client.get(format!(
                "{base}/{tenant}/v2.0/.well-known/openid-configuration"
            )),
            200,
        )
        .expect(json("/issuer", format!("{base}/{tenant}/v2.0").into())),
        Probe::new(
            "Identity_OpenIdConfiguration",
            client.get(format!(
                "{base}/{unknown_tenant}/v2.0/.well-known/openid-configuration"
            )),
            400,
        )
        .expect(json("/error_codes/0", 90002.into())),
        Probe::new(
            "Identity_OpenIdConfigurationV1",
            client.get(format!("{base}/{tenant}/.well-known/openid-configuration")),
            200,
        ),
        Probe::new(
            "Identity_OpenIdConfigurationV1",
            client.get(format!(
                "{base}/{unknown_tenant}/.well-known/openid-configuration"
            )),
            400,
        )
        .expect(json("/error_codes/0", 90002.into())),
        Probe::new(
            "Identity_Token",
            empty_form(format!("{base}/{tenant}/oauth2/v2.0/token")),
            400,
        )
        .expect(json("/error_codes/0", 900144.into())),
        Probe::new(
            "Identity_TokenV1",
            empty_form(format!("{base}/{tenant}/oauth2/token")),
            400,
        )
        .expect(json("/error_codes/0", 900144.into())),
        Probe::new(
            "Identity_Keys",
            client.get(format!("{base}/{tenant}/discovery/v2.0/keys")),
            200,
        )
        .expect(json("/keys/0/alg", "RS256".into())),
        Probe::new(
            "Identity_KeysV1",
            client.get(format!("{base}/{tenant}/discovery/keys")),
            200,
        )
        .expect(json("/keys/0/alg", "RS256".into())),
        Probe::new(
            "Identity_AppServiceManagedIdentityToken",
            client.get(format!("{base}/msi/token?{token_query}")),
            401,
        )
        .expect(json("/error", "invalid_request".into())),
        Probe::new(
            "Identity_InstanceMetadataToken",
            client.get(format!(
                "{base}/metadata/identity/oauth2/token?{token_query}"
            )),
            400,
        )
        .expect(json("/error", "invalid_request".into())),
        Probe::new("Blob_Get", client.get(&blob), 403)
            .expect(Expect::Header("x-ms-error-code", "AuthenticationFailed")),
        Probe::new("Blob_GetProperties", client.head(&blob), 403)
            .expect(Expect::Header("x-ms-error-code", "AuthenticationFailed")),
        Probe::new(
            "Blob_Put",
            client
                .put(&blob)
                .header("x-ms-blob-type", "PageBlob")
                .header("x-ms-blob-content-length", "512")
                .header("content-length", "0"),
            403,
        )
        .expect(Expect::Header("x-ms-error-code", "AuthenticationFailed")),
    ];
    let probed: BTreeSet<&str> = probes.iter().map(|probe| probe.operation_id).collect();
    let unprobed: Vec<&str> = NON_ARM_ROUTES
        .iter()
        .map(|(_, _, operation_id)| *operation_id)
        .filter(|operation_id| !probed.contains(operation_id))
        .collect();
    assert!(unprobed.is_empty(), "no probe for {unprobed:?}");

    let by_operation_id: BTreeMap<String, (String, &str, &Value)> = operations(&document)
        .into_iter()
        .map(|(method, path, _, operation)| (operation_id(operation), (method, path, operation)))
        .collect();
    let mut problems = Vec::new();
    for probe in probes {
        let Some((method, path, operation)) = by_operation_id.get(probe.operation_id) else {
            problems.push(format!("{} is not documented", probe.operation_id));
            continue;
        };
        let route = format!("{method} {path} ({})", probe.operation_id);
        let response = send(probe.request).await;
        if response.status != probe.status {
            problems.push(format!(
                "{route}: answered {} instead of {}: {}",
                response.status, probe.status, response.text
            ));
        }
        let mut found = undocumented_answer(&document, operation, &response);
        match &probe.expect {
            Expect::Shape => {}
            Expect::Json(pointer, value) => {
                let actual = response.json().pointer(pointer).cloned();
                if actual.as_ref() != Some(value) {
                    found.push(format!(
                        "{pointer} is {actual:?}, not {value}: {}",
                        response.text
                    ));
                }
            }
            Expect::Header(name, value) => {
                if response.header(name) != Some(*value) {
                    found.push(format!(
                        "{name} is {:?}, not {value}",
                        response.header(name)
                    ));
                }
            }
        }
        problems.extend(
            found
                .into_iter()
                .map(|problem| format!("{route}: {problem}")),
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A request to a non-ARM route that needs no setup, and the answer it must get.
struct Probe {
    operation_id: &'static str,
    request: reqwest::RequestBuilder,
    status: u16,
    expect: Expect,
}

/// What a probe's answer must say beyond its documented shape.
enum Expect {
    /// Nothing more.
    Shape,
    /// The member at a JSON pointer of the body.
    Json(&'static str, Value),
    /// A header.
    Header(&'static str, &'static str),
}

impl Probe {
    fn new(operation_id: &'static str, request: reqwest::RequestBuilder, status: u16) -> Probe {
        Probe {
            operation_id,
            request,
            status,
            expect: Expect::Shape,
        }
    }

    fn expect(self, expect: Expect) -> Probe {
        Probe { expect, ..self }
    }
}
