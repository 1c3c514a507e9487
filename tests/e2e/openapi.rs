//! Keeps `openapi/galleryd.json` in step with galleryd.
//!
//! The documented ARM operations (method, path template, operationId) must be exactly the route
//! table's, in both directions: a route added in code without documentation fails, and so does a
//! documented route galleryd does not serve. galleryd's own `/_galleryd/*` endpoints must be
//! documented and answer on a running server, every documented ARM operation must take the required
//! `api-version` query parameter, and every documented ARM operation must actually be routed by a
//! running server, answering only documented success codes.

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

// ----- the document -----

fn document_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../openapi/galleryd.json")
}

fn load_document() -> Value {
    let path = document_path();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("{} is not valid JSON: {error}", path.display()))
}

/// Follows a local `$ref` (`#/components/...`), repeatedly; other values are returned as they are.
fn resolve<'document>(document: &'document Value, value: &'document Value) -> &'document Value {
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

/// The documented routes, ARM and admin alike.
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
    let table = arm_api::routes::table();
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
        .filter(|route| !route.path.starts_with(ADMIN_PREFIX))
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
        if operation["responses"].get("default").is_none() && !path.starts_with(ADMIN_PREFIX) {
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
        BTreeSet::from(["code", "message", "target", "details"]),
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
        "diskName" => "openapi-probe-disk",
        "snapshotName" => "openapi-probe-snapshot",
        "imageName" => "openapi-probe-managed-image",
        "location" => "westus",
        "operationId" => "00000000-0000-4000-8000-000000000000",
        "resourceProviderNamespace" => "Microsoft.Compute",
        other => panic!("no probe value for the path parameter {{{other}}}: add one"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documented_arm_operations_are_served() {
    let document = load_document();
    let app = TestApp::start(Backend::Sqlite).await;
    let mut problems = Vec::new();
    for (method, path, path_item, operation) in operations(&document) {
        if path.starts_with(ADMIN_PREFIX) {
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
