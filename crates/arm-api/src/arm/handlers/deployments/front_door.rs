//! The front door a deployment creates its resources through: the same router, middleware and
//! handlers as a client's request, called in process (a tower service call), as the principal that
//! started the deployment (DESIGN "one front door").
//!
//! A resource write follows its long-running operation the way a client does: `Azure-AsyncOperation`
//! until the status is terminal, or `Location` until it stops answering 202, then a GET of the
//! resource. Validation, limits, uniqueness, errors and LROs are therefore the direct REST calls'
//! own; nothing here knows a resource type.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, Method, StatusCode, header};
use gallery_domain::identity::Caller;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::SharedApp;
use crate::arm::dispatch::{InProcessCaller, Scheme};

/// How long a write may take before the deployment gives up on it (image versions replicate).
const WRITE_DEADLINE: std::time::Duration = std::time::Duration::from_secs(3600);
/// The pause between polls of an operation that is still running. Status polls themselves wait a
/// moment for the operation to end, so this only spaces out long waits.
const POLL_PAUSE: std::time::Duration = std::time::Duration::from_millis(50);

/// One answer of the router.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// The ARM `error` object of a failed answer.
    pub fn error(&self) -> Value {
        match self.json().get("error") {
            Some(error) => error.clone(),
            None => {
                json!({"code": self.status.canonical_reason().unwrap_or("Error").replace(' ', ""), "message": String::from_utf8_lossy(&self.body)})
            }
        }
    }
}

/// Why a resource write did not succeed.
#[derive(Debug, Clone)]
pub struct WriteFailure {
    /// The HTTP status the resource provider answered (or 200 when its LRO failed).
    pub status: StatusCode,
    /// The ARM `error` object.
    pub error: Value,
    /// Whether the provider accepted the request and its long-running operation failed.
    pub operation_failed: bool,
}

/// What a successful write answered.
#[derive(Debug, Clone)]
pub struct Written {
    /// The status of the write's first answer (201 created, 200 updated).
    pub status: StatusCode,
    /// The resource as a GET shows it after the write.
    pub resource: Value,
    /// `x-ms-request-id` of the write.
    pub request_id: Option<String>,
}

/// Sends requests through galleryd's own router as one caller.
#[derive(Clone)]
pub struct FrontDoor {
    router: Router,
    authority: String,
    scheme: Scheme,
    caller: Caller,
    correlation_id: String,
}

impl FrontDoor {
    /// A front door for `caller`, addressing galleryd as `base_url` (`https://127.0.0.1:8443`).
    pub fn new(app: &SharedApp, base_url: &str, caller: Caller, correlation_id: String) -> Self {
        let (scheme, authority) = match base_url.split_once("://") {
            Some(("https", authority)) => (Scheme::Https, authority),
            Some((_, authority)) => (Scheme::Http, authority),
            None => (Scheme::Http, base_url),
        };
        FrontDoor {
            router: crate::router(app.clone()),
            authority: authority.to_string(),
            scheme,
            caller,
            correlation_id,
        }
    }

    /// Sends one request: `target` is a path with query, or an absolute URL galleryd handed out.
    pub async fn send(&self, method: Method, target: &str, body: Option<&Value>) -> Answer {
        let path_and_query = match target.split_once("://") {
            Some((_, rest)) => rest.find('/').map_or("/", |index| &rest[index..]),
            None => target,
        };
        let bytes = body.map(|body| body.to_string()).unwrap_or_default();
        let mut request = axum::http::Request::new(Body::from(bytes));
        *request.method_mut() = method;
        match path_and_query.parse() {
            Ok(uri) => *request.uri_mut() = uri,
            Err(_) => {
                return Answer {
                    status: StatusCode::BAD_REQUEST,
                    headers: Default::default(),
                    body: Bytes::from(
                        json!({"error": {"code": "InvalidRequestUri", "message": format!("The request URI '{path_and_query}' is not valid.")}}).to_string(),
                    ),
                };
            }
        }
        let headers = request.headers_mut();
        if let Ok(host) = HeaderValue::from_str(&self.authority) {
            headers.insert(header::HOST, host);
        }
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Ok(correlation) = HeaderValue::from_str(&self.correlation_id) {
            headers.insert("x-ms-correlation-request-id", correlation);
        }
        request.extensions_mut().insert(self.scheme);
        request
            .extensions_mut()
            .insert(InProcessCaller(self.caller.clone()));
        let response = match self.router.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let (parts, body) = response.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX)
            .await
            .unwrap_or_default();
        Answer {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    /// GET `resource_id` at `api_version`.
    pub async fn get(&self, resource_id: &str, api_version: &str) -> Answer {
        self.send(
            Method::GET,
            &format!("{resource_id}?api-version={api_version}"),
            None,
        )
        .await
    }

    /// PUT `body` to `resource_id` at `api_version` and follow the write to its end, as a client
    /// does; answers the resource as GET shows it afterwards.
    pub async fn put(
        &self,
        resource_id: &str,
        api_version: &str,
        body: &Value,
    ) -> Result<Written, WriteFailure> {
        let target = format!("{resource_id}?api-version={api_version}");
        let answer = self.send(Method::PUT, &target, Some(body)).await;
        if !answer.status.is_success() {
            return Err(WriteFailure {
                status: answer.status,
                error: answer.error(),
                operation_failed: false,
            });
        }
        let request_id = answer.header("x-ms-request-id").map(str::to_string);
        self.follow(&answer).await?;
        let fetched = self.get(resource_id, api_version).await;
        if !fetched.status.is_success() {
            return Err(WriteFailure {
                status: fetched.status,
                error: fetched.error(),
                operation_failed: false,
            });
        }
        let resource = fetched.json();
        let state = resource
            .pointer("/properties/provisioningState")
            .and_then(Value::as_str)
            .unwrap_or("Succeeded");
        if state.eq_ignore_ascii_case("Failed") {
            return Err(operation_failure(json!({
                "code": "ResourceDeploymentFailure",
                "message": "The resource write operation failed to complete successfully, because it reached terminal provisioning state 'Failed'.",
            })));
        }
        Ok(Written {
            status: answer.status,
            resource,
            request_id,
        })
    }

    /// DELETE `resource_id` at `api_version` and follow the deletion to its end.
    pub async fn delete(&self, resource_id: &str, api_version: &str) -> Result<(), WriteFailure> {
        let target = format!("{resource_id}?api-version={api_version}");
        let answer = self.send(Method::DELETE, &target, None).await;
        if !answer.status.is_success() {
            return Err(WriteFailure {
                status: answer.status,
                error: answer.error(),
                operation_failed: false,
            });
        }
        self.follow(&answer).await
    }

    /// Every item of a list, following `nextLink`; `None` when a page could not be read.
    pub async fn list_all(&self, path_and_query: &str) -> Option<Vec<Value>> {
        let mut items = Vec::new();
        let mut next = Some(path_and_query.to_string());
        while let Some(target) = next.take() {
            let answer = self.send(Method::GET, &target, None).await;
            if !answer.status.is_success() {
                return None;
            }
            let page = answer.json();
            items.extend(page["value"].as_array().cloned().unwrap_or_default());
            next = page["nextLink"].as_str().map(str::to_string);
        }
        Some(items)
    }

    /// Follows the long-running operation a write answered with, if any.
    async fn follow(&self, answer: &Answer) -> Result<(), WriteFailure> {
        let deadline = tokio::time::Instant::now() + WRITE_DEADLINE;
        if let Some(status_url) = answer.header("azure-asyncoperation") {
            loop {
                let status = self.send(Method::GET, status_url, None).await;
                let body = status.json();
                match body.get("status").and_then(Value::as_str) {
                    Some(state) if state.eq_ignore_ascii_case("Succeeded") => return Ok(()),
                    Some(state)
                        if state.eq_ignore_ascii_case("Failed")
                            || state.eq_ignore_ascii_case("Canceled") =>
                    {
                        let error = body.get("error").cloned().unwrap_or_else(|| {
                            json!({"code": "ResourceDeploymentFailure", "message": format!("The resource operation completed with terminal provisioning state '{state}'.")})
                        });
                        return Err(operation_failure(error));
                    }
                    _ if !status.status.is_success() => {
                        return Err(WriteFailure {
                            status: status.status,
                            error: status.error(),
                            operation_failed: true,
                        });
                    }
                    _ => {}
                }
                if tokio::time::Instant::now() > deadline {
                    return Err(operation_failure(
                        json!({"code": "ResourceDeploymentFailure", "message": "The resource operation did not finish in time."}),
                    ));
                }
                tokio::time::sleep(POLL_PAUSE).await;
            }
        }
        if answer.status == StatusCode::ACCEPTED
            && let Some(location) = answer.header("location")
        {
            loop {
                let result = self.send(Method::GET, location, None).await;
                if result.status != StatusCode::ACCEPTED {
                    if result.status.is_success() {
                        return Ok(());
                    }
                    return Err(operation_failure(result.error()));
                }
                if tokio::time::Instant::now() > deadline {
                    return Err(operation_failure(
                        json!({"code": "ResourceDeploymentFailure", "message": "The resource operation did not finish in time."}),
                    ));
                }
                tokio::time::sleep(POLL_PAUSE).await;
            }
        }
        Ok(())
    }
}

fn operation_failure(error: Value) -> WriteFailure {
    WriteFailure {
        status: StatusCode::OK,
        error,
        operation_failed: true,
    }
}
