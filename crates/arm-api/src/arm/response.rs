//! Building ARM responses: JSON bodies, list pages with absolute `nextLink`s, and the headers of
//! long-running operations.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::Value;

use crate::arm::request::ArmRequest;

/// `Retry-After` for operations still running. Never 0: clients read 0 as "no value" and sleep 30 s.
pub const RETRY_AFTER_SECONDS: &str = "1";

/// A JSON response from already serialized text (stored documents are served as stored).
pub fn json_text(status: StatusCode, body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

/// A JSON response from a value.
pub fn json(status: StatusCode, body: &Value) -> Response {
    json_text(status, body.to_string())
}

/// A response without a body.
pub fn empty(status: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}

/// Adds a header whose value galleryd built (URLs, numbers): always valid header text.
pub fn with_header(mut response: Response, name: &'static str, value: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
    response
}

/// The page cursor a request asks for (`$skiptoken`), if any.
pub fn skip_token(request: &ArmRequest) -> Result<Option<i64>, gallery_domain::ServiceError> {
    match request.query.get("$skiptoken") {
        None => Ok(None),
        Some(token) => token
            .parse::<i64>()
            .ok()
            .filter(|cursor| *cursor >= 0)
            .map(Some)
            .ok_or_else(|| gallery_domain::ServiceError::invalid_skip_token(token)),
    }
}

/// Items per page: the configured page size, lowered by `$top` when given.
pub fn page_size(
    request: &ArmRequest,
    configured: u32,
) -> Result<u32, gallery_domain::ServiceError> {
    Ok(match request.query_integer("$top")? {
        Some(top) if top > 0 => top.min(configured),
        _ => configured,
    })
}

/// A list page: `{"value":[…],"nextLink":…}`, with items that are serialized JSON documents. The
/// `nextLink` is absolute, on the request's own host, and carries the api-version, the query
/// parameters that shape the list, and `$skiptoken`.
pub fn list_page(
    request: &ArmRequest,
    items: impl IntoIterator<Item = String>,
    next_cursor: Option<i64>,
) -> Response {
    let mut body = String::from("{\"value\":[");
    let visible = items.into_iter().filter(|item| match &request.visibility {
        crate::arm::access::Visibility::Everything => true,
        visibility => serde_json::from_str::<Value>(item)
            .ok()
            .and_then(|document| document["id"].as_str().map(|id| visibility.shows(id)))
            .unwrap_or(false),
    });
    for (index, item) in visible.enumerate() {
        if index > 0 {
            body.push(',');
        }
        body.push_str(&item);
    }
    body.push(']');
    if let Some(cursor) = next_cursor {
        let cursor = cursor.to_string();
        let mut extra: Vec<(&str, &str)> = Vec::new();
        for name in ["$filter", "$top", "$expand", "$select"] {
            if let Some(value) = request.query.get(name) {
                extra.push((name, value));
            }
        }
        extra.push(("$skiptoken", &cursor));
        let link = request.url(&request.path, &extra);
        body.push_str(",\"nextLink\":");
        body.push_str(&Value::String(link).to_string());
    }
    body.push('}');
    json_text(StatusCode::OK, body)
}

/// The api-version of an operation's status URLs: the request's when the `capsOperations` route
/// (a Compute Gallery operation) accepts it, else the newest Compute Gallery version, since disk,
/// snapshot and managed image requests carry other providers' versions.
fn operation_api_version(request: &ArmRequest) -> String {
    use gallery_domain::api_version::{self, ApiFamily};
    let requested = &request.api_version.requested;
    let accepted = api_version::check(
        ApiFamily::ComputeGallery,
        Some(requested),
        false,
        "locations/capsOperations",
    )
    .is_ok();
    if accepted {
        requested.clone()
    } else {
        ApiFamily::ComputeGallery.newest().to_string()
    }
}

/// The capsOperations status URL of an operation, on the host the request came to.
pub fn operation_status_url(
    request: &ArmRequest,
    location: &str,
    operation_id: &str,
    monitor: bool,
) -> String {
    let mut url = format!(
        "{}/subscriptions/{}/providers/Microsoft.Compute/locations/{location}/capsOperations/{operation_id}?api-version={}",
        request.base_url,
        request.subscription().subscription_id,
        crate::arm::request::encode_component(&operation_api_version(request))
    );
    if monitor {
        url.push_str("&monitor=true");
    }
    url
}

/// A PUT's answer: 201 (created) or 200 with the resource, `Azure-AsyncOperation` and
/// `Retry-After`, and deliberately no `Location` (the `az` CLI would take its body as the result).
pub fn accepted_put(
    request: &ArmRequest,
    created: bool,
    body: String,
    location: &str,
    operation_id: &str,
) -> Response {
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let response = json_text(status, body);
    let response = with_header(
        response,
        "Azure-AsyncOperation",
        &operation_status_url(request, location, operation_id, false),
    );
    with_header(response, "Retry-After", RETRY_AFTER_SECONDS)
}

/// A POST action's answer (`beginGetAccess`, `endGetAccess`): 202 with `Azure-AsyncOperation`
/// and `Location`, like a DELETE's; the `Location` answers the operation's result.
pub fn accepted_action(request: &ArmRequest, location: &str, operation_id: &str) -> Response {
    accepted_delete(request, location, operation_id)
}

/// A DELETE's answer when the resource existed: 202 with `Azure-AsyncOperation` and `Location`.
pub fn accepted_delete(request: &ArmRequest, location: &str, operation_id: &str) -> Response {
    let response = empty(StatusCode::ACCEPTED);
    let response = with_header(
        response,
        "Azure-AsyncOperation",
        &operation_status_url(request, location, operation_id, false),
    );
    let response = with_header(
        response,
        "Location",
        &operation_status_url(request, location, operation_id, true),
    );
    with_header(response, "Retry-After", RETRY_AFTER_SECONDS)
}
