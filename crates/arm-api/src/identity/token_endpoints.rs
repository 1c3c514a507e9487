//! galleryd as its own cloud: the metadata and token endpoints `az`, MSAL and azure-identity need
//! to sign in offline.
//!
//! - `GET /metadata/endpoints`: the cloud's endpoints (an object; a list for `2019-05-01`), all
//!   pointing at galleryd, so `az cloud register --endpoint-resource-manager <galleryd>/` works.
//! - `GET /{tenant}/v2.0/.well-known/openid-configuration` (and v1's without `v2.0`): OIDC
//!   discovery, as MSAL reads it; `GET /{tenant}/discovery/v2.0/keys`: the JWKS.
//! - `POST /{tenant}/oauth2/v2.0/token` (and v1's `/oauth2/token`): client credentials for a
//!   configured service principal; a wrong secret, unknown client or unknown tenant gets Entra ID's
//!   error body (`error`, `error_description` with its AADSTS code, `error_codes`, ...).
//! - `GET /msi/token` (App Service: `IDENTITY_ENDPOINT`, `X-IDENTITY-HEADER`) and
//!   `GET /metadata/identity/oauth2/token` (IMDS: `Metadata: true`): managed identity tokens, for
//!   the development managed identity or the one `client_id`/`object_id`/`mi_res_id` names.
//!
//! Every URL a document names is built from the URL the request arrived on.

use std::collections::HashMap;

use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use gallery_domain::identity::{Principal, PrincipalKind};
use serde_json::json;

use crate::arm::dispatch::base_url;
use crate::identity::tokens::{TOKEN_LIFETIME_SECONDS, TokenGrant, audience_of};
use crate::{ApiError, SharedApp};

/// The audiences the cloud metadata names (the CLI asks for tokens for the first).
const AUDIENCES: [&str; 2] = [
    "https://management.core.windows.net/",
    "https://management.azure.com/",
];

/// `GET /metadata/endpoints?api-version=…`.
pub async fn cloud_metadata(
    Query(query): Query<HashMap<String, String>>,
    request: Request,
) -> Response {
    let base = base_url(&request);
    let cloud = json!({
        "name": "galleryd",
        "portal": base,
        "resourceManager": format!("{base}/"),
        "gallery": format!("{base}/"),
        "authentication": {
            "loginEndpoint": format!("{base}/"),
            "audiences": AUDIENCES,
            "tenant": "common",
            "identityProvider": "AAD",
        },
        "graph": "https://graph.windows.net/",
        "microsoftGraphResourceId": "https://graph.microsoft.com/",
        "suffixes": {
            "storage": "core.windows.net",
            "keyVaultDns": "vault.azure.net",
            "acrLoginServer": "azurecr.io",
            "sqlServerHostname": "database.windows.net",
        },
    });
    let body = match query.get("api-version").map(String::as_str) {
        Some("2019-05-01") => json!([cloud]),
        _ => cloud,
    };
    (StatusCode::OK, axum::Json(body)).into_response()
}

/// Entra ID's error answer.
fn directory_error(status: StatusCode, error: &str, code: u32, description: &str) -> Response {
    let now = chrono::Utc::now();
    let trace_id = uuid::Uuid::new_v4();
    let correlation_id = uuid::Uuid::new_v4();
    let timestamp = now.format("%Y-%m-%d %H:%M:%SZ").to_string();
    let body = json!({
        "error": error,
        "error_description": format!(
            "AADSTS{code}: {description} Trace ID: {trace_id} Correlation ID: {correlation_id} Timestamp: {timestamp}"
        ),
        "error_codes": [code],
        "timestamp": timestamp,
        "trace_id": trace_id.to_string(),
        "correlation_id": correlation_id.to_string(),
        "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
    });
    (status, axum::Json(body)).into_response()
}

/// Whether a path's tenant stands for the principal's own (`common`, `organizations`, none).
fn names_home_tenant(tenant: &str) -> bool {
    matches!(
        tenant.to_ascii_lowercase().as_str(),
        "common" | "organizations" | ""
    )
}

/// Whether galleryd knows the tenant a path names.
fn known_tenant(app: &SharedApp, tenant: &str) -> bool {
    names_home_tenant(tenant) || app.settings.directory.tenant(tenant).is_some()
}

fn unknown_tenant(tenant: &str) -> Response {
    directory_error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        90002,
        &format!(
            "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
        ),
    )
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration` (and `/{tenant}/.well-known/…`).
pub async fn openid_configuration(
    State(app): State<SharedApp>,
    Path(tenant): Path<String>,
    request: Request,
) -> Response {
    if !known_tenant(&app, &tenant) {
        return unknown_tenant(&tenant);
    }
    let base = base_url(&request);
    let authority = format!("{base}/{tenant}");
    let body = json!({
        "issuer": format!("{authority}/v2.0"),
        "authorization_endpoint": format!("{authority}/oauth2/v2.0/authorize"),
        "token_endpoint": format!("{authority}/oauth2/v2.0/token"),
        "device_authorization_endpoint": format!("{authority}/oauth2/v2.0/devicecode"),
        "jwks_uri": format!("{authority}/discovery/v2.0/keys"),
        "response_types_supported": ["code", "id_token", "code id_token", "token id_token", "token"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "grant_types_supported": ["client_credentials"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "tenant_region_scope": "NA",
        "cloud_instance_name": "galleryd",
    });
    (StatusCode::OK, axum::Json(body)).into_response()
}

/// `GET /{tenant}/discovery/v2.0/keys` (and `/discovery/keys`).
pub async fn keys(State(app): State<SharedApp>, Path(tenant): Path<String>) -> Response {
    if !known_tenant(&app, &tenant) {
        return unknown_tenant(&tenant);
    }
    match app.token_issuer().await {
        Ok(issuer) => (StatusCode::OK, axum::Json(issuer.jwks())).into_response(),
        Err(error) => error.into_response(),
    }
}

/// The tenant a token is for: the one the request names, or the principal's own.
fn token_tenant(principal: &Principal, tenant: &str) -> String {
    if names_home_tenant(tenant) {
        principal.tenant_id.clone()
    } else {
        tenant.to_string()
    }
}

/// Signs a token for `principal` in `tenant_id` with the given audience; returns it with its
/// expiry (seconds since the epoch).
async fn signed_token(
    app: &SharedApp,
    principal: &Principal,
    tenant_id: &str,
    audience: &str,
    issuer_url: &str,
) -> Result<(String, i64), ApiError> {
    let issuer = app.token_issuer().await?;
    Ok(token_for(
        issuer, principal, tenant_id, audience, issuer_url,
    ))
}

/// The client id and secret of a token request: form fields, or HTTP Basic authentication.
fn client_credentials(
    form: &HashMap<String, String>,
    headers: &HeaderMap,
) -> (Option<String>, Option<String>) {
    use base64::Engine;
    let basic = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))
        .and_then(|encoded| {
            base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()
        })
        .and_then(|decoded| String::from_utf8(decoded).ok())
        .and_then(|pair| {
            pair.split_once(':')
                .map(|(id, secret)| (id.to_string(), secret.to_string()))
        });
    match basic {
        Some((id, secret)) => (Some(id), Some(secret)),
        None => (
            form.get("client_id").cloned(),
            form.get("client_secret").cloned(),
        ),
    }
}

/// `POST /{tenant}/oauth2/v2.0/token` and `POST /{tenant}/oauth2/token`: client credentials.
pub async fn token(
    State(app): State<SharedApp>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let base = base_url(&request);
    let version_two = request.uri().path().contains("/v2.0/");
    let body = match axum::body::to_bytes(request.into_body(), 64 * 1024).await {
        Ok(body) => body,
        Err(_) => {
            return directory_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                900144,
                "The request body could not be read.",
            );
        }
    };
    let form: HashMap<String, String> = form_urlencoded_pairs(&body);
    if !known_tenant(&app, &tenant) {
        return unknown_tenant(&tenant);
    }
    let Some(grant_type) = form.get("grant_type").map(String::as_str) else {
        return directory_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'grant_type'.",
        );
    };
    if grant_type != "client_credentials" {
        return directory_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            &format!(
                "The app requested an unsupported grant type '{grant_type}'. galleryd issues tokens for client credentials."
            ),
        );
    }
    let (client_id, secret) = client_credentials(&form, &headers);
    let Some(client_id) = client_id else {
        return directory_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        );
    };
    let Some(principal) = app
        .settings
        .directory
        .principal(&client_id)
        .filter(|principal| principal.kind == PrincipalKind::Application)
    else {
        return directory_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant."
            ),
        );
    };
    if secret.as_deref() != principal.client_secret.as_deref() {
        return directory_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            &format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
            ),
        );
    }
    let requested = if version_two {
        form.get("scope").cloned().unwrap_or_default()
    } else {
        form.get("resource").cloned().unwrap_or_default()
    };
    if requested.is_empty() {
        let parameter = if version_two { "scope" } else { "resource" };
        return directory_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            &format!("The request body must contain the following parameter: '{parameter}'."),
        );
    }
    let audience = audience_of(&requested);
    let tenant_id = token_tenant(principal, &tenant);
    let issuer_url = format!("{base}/{tenant_id}/v2.0");
    match signed_token(&app, principal, &tenant_id, &audience, &issuer_url).await {
        Ok((access_token, expires_on)) => {
            let mut body = json!({
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME_SECONDS,
                "ext_expires_in": TOKEN_LIFETIME_SECONDS,
                "access_token": access_token,
            });
            if !version_two {
                body["expires_on"] = json!(expires_on.to_string());
                body["resource"] = json!(requested);
            }
            (StatusCode::OK, axum::Json(body)).into_response()
        }
        Err(error) => error.into_response(),
    }
}

/// `application/x-www-form-urlencoded` pairs (the last of a repeated name wins).
fn form_urlencoded_pairs(body: &[u8]) -> HashMap<String, String> {
    let text = String::from_utf8_lossy(body);
    crate::arm::request::Query::parse(Some(&text))
        .into_pairs()
        .into_iter()
        .collect()
}

/// An error of the managed identity endpoints (`{"error", "error_description"}`).
fn identity_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// The managed identity a request names (`client_id`, `object_id`/`principal_id`, `mi_res_id`),
/// or the first configured one.
fn managed_identity<'a>(
    app: &'a SharedApp,
    query: &HashMap<String, String>,
) -> Option<&'a Principal> {
    let directory = &app.settings.directory;
    let named = ["client_id", "object_id", "principal_id"]
        .iter()
        .find_map(|name| query.get(*name));
    if let Some(name) = named {
        return directory
            .principal(name)
            .filter(|principal| principal.kind == PrincipalKind::ManagedIdentity);
    }
    if let Some(resource_id) = query.get("mi_res_id").or(query.get("msi_res_id")) {
        return directory.principals.iter().find(|principal| {
            principal.kind == PrincipalKind::ManagedIdentity
                && principal
                    .resource_id
                    .as_deref()
                    .is_some_and(|id| id.eq_ignore_ascii_case(resource_id))
        });
    }
    directory.first_of_kind(PrincipalKind::ManagedIdentity)
}

/// Both managed identity styles: checks the resource and identity, then answers the token.
async fn managed_identity_token(
    app: &SharedApp,
    query: &HashMap<String, String>,
    base: &str,
    app_service: bool,
) -> Response {
    let Some(resource) = query
        .get("resource")
        .filter(|resource| !resource.is_empty())
    else {
        return identity_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Required query variable 'resource' is missing",
        );
    };
    let Some(identity) = managed_identity(app, query) else {
        return identity_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Identity not found: no managed identity of galleryd matches the request.",
        );
    };
    let audience = audience_of(resource);
    let issuer_url = format!("{base}/{}/v2.0", identity.tenant_id);
    match signed_token(app, identity, &identity.tenant_id, &audience, &issuer_url).await {
        Ok((access_token, expires_on)) => {
            let now = chrono::Utc::now().timestamp();
            let mut body = json!({
                "access_token": access_token,
                "expires_on": expires_on.to_string(),
                "resource": resource,
                "token_type": "Bearer",
                "client_id": identity.client_id,
            });
            if !app_service {
                body["expires_in"] = json!(TOKEN_LIFETIME_SECONDS.to_string());
                body["ext_expires_in"] = json!(TOKEN_LIFETIME_SECONDS.to_string());
                body["not_before"] = json!(now.to_string());
            }
            (StatusCode::OK, axum::Json(body)).into_response()
        }
        Err(error) => error.into_response(),
    }
}

/// `GET /msi/token`: App Service's managed identity protocol (`IDENTITY_ENDPOINT`,
/// `IDENTITY_HEADER`): the `X-IDENTITY-HEADER` must be present.
pub async fn app_service_token(
    State(app): State<SharedApp>,
    Query(query): Query<HashMap<String, String>>,
    request: Request,
) -> Response {
    let present = request
        .headers()
        .get("x-identity-header")
        .is_some_and(|value| !value.is_empty());
    if !present {
        return identity_error(
            StatusCode::UNAUTHORIZED,
            "invalid_request",
            "The X-IDENTITY-HEADER header is missing: send the value of IDENTITY_HEADER.",
        );
    }
    let base = base_url(&request);
    managed_identity_token(&app, &query, &base, true).await
}

/// `GET /metadata/identity/oauth2/token`: the instance metadata service's protocol
/// (`Metadata: true` required).
pub async fn instance_metadata_token(
    State(app): State<SharedApp>,
    Query(query): Query<HashMap<String, String>>,
    request: Request,
) -> Response {
    let metadata = request
        .headers()
        .get("metadata")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.eq_ignore_ascii_case("true"));
    if !metadata {
        return identity_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Required metadata header not specified",
        );
    }
    let base = base_url(&request);
    managed_identity_token(&app, &query, &base, false).await
}

/// The token of a principal as the token endpoints sign it (also for `galleryd token` and tests),
/// issued now, with its expiry (seconds since the epoch).
pub fn token_for(
    issuer: &crate::identity::tokens::TokenIssuer,
    principal: &Principal,
    tenant_id: &str,
    audience: &str,
    issuer_url: &str,
) -> (String, i64) {
    let issued_at = chrono::Utc::now().timestamp();
    let token = issuer.issue(&TokenGrant {
        principal,
        tenant_id,
        audience,
        issuer: issuer_url,
        issued_at,
        lifetime_seconds: TOKEN_LIFETIME_SECONDS,
    });
    (token, issued_at + TOKEN_LIFETIME_SECONDS)
}
