//! Authentication of ARM requests: who the bearer token says the caller is, and whether that is
//! believed, by the configured mode.
//!
//! - `claims` (the default): a JWT-shaped token is taken at its word (`tid`, `oid`, names), except
//!   that a token galleryd signed must verify and be unexpired; an opaque token, or none, is the
//!   development principal. Real tokens from anywhere, hand-made JWTs and `curl` without a header
//!   all work.
//! - `strict`: only tokens galleryd signed, unexpired, for Resource Manager's audience.
//! - `none`: the header is ignored; every request is the development principal's.
//!
//! Failures are ARM's 401s: `AuthenticationFailed` (no or malformed header),
//! `InvalidAuthenticationToken` (not galleryd's signature), `ExpiredAuthenticationToken`,
//! `InvalidAuthenticationTokenAudience`, each with ARM's `WWW-Authenticate` challenge naming
//! galleryd as the authority.

use axum::http::HeaderMap;
use gallery_domain::identity::Caller;
use gallery_domain::{ErrorCode, ServiceError};

use crate::error::ApiError;
use crate::identity::caller;
use crate::identity::tokens::{TokenProblem, is_resource_manager_audience};
use crate::{ApiResult, App};

/// How ARM requests are authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthenticationMode {
    #[default]
    Claims,
    Strict,
    None,
}

/// A 401 with ARM's challenge: `authorization_uri` is galleryd's login endpoint (`base_url`).
fn unauthenticated(
    base_url: &str,
    code: ErrorCode,
    message: String,
    description: &str,
) -> ApiError {
    ApiError::Unauthenticated {
        error: ServiceError::new(401, code, message),
        challenge: format!(
            "Bearer authorization_uri=\"{base_url}/\", error=\"invalid_token\", error_description=\"{description}\""
        )
        .into_boxed_str(),
    }
}

fn format_time(seconds: i64) -> String {
    chrono::DateTime::from_timestamp(seconds, 0)
        .map(|time| time.format("%m/%d/%Y %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// The caller of an ARM request under the configured mode, or the 401 to answer.
pub async fn authenticate(app: &App, headers: &HeaderMap, base_url: &str) -> ApiResult<Caller> {
    let mode = app.settings.authentication;
    if mode == AuthenticationMode::None {
        return Ok(Caller::development());
    }
    let header = headers.get(axum::http::header::AUTHORIZATION);
    let token = caller::bearer_token(headers);
    if mode == AuthenticationMode::Claims {
        let Some(token) = token else {
            return Ok(Caller::development());
        };
        let issuer = app.token_issuer().await?;
        if issuer.signed_by_me(token) {
            verify(app, token, base_url, false).await?;
        }
        return Ok(caller::identify(headers));
    }
    let Some(token) = token else {
        let (message, description) = if header.is_some() {
            (
                "Authentication failed. The 'Authorization' header is provided in an invalid format.",
                "The authentication failed because of an invalid 'Authorization' header.",
            )
        } else {
            (
                "Authentication failed. The 'Authorization' header is missing.",
                "The authentication failed because of missing 'Authorization' header.",
            )
        };
        return Err(unauthenticated(
            base_url,
            ErrorCode::AuthenticationFailed,
            message.to_string(),
            description,
        ));
    };
    verify(app, token, base_url, true).await?;
    Ok(caller::identify(headers))
}

/// The 401 for a token of another tenant than the subscription's: Azure Resource Manager accepts a
/// token only from the tenant the subscription belongs to (a principal of another tenant signs in to
/// that tenant, as a guest or through its own service principal there).
pub fn check_tenant(
    app: &App,
    caller: &Caller,
    subscription: &gallery_domain::identity::Subscription,
    base_url: &str,
) -> ApiResult<()> {
    if app.settings.authentication == AuthenticationMode::None
        || caller
            .tenant_id
            .eq_ignore_ascii_case(&subscription.tenant_id)
    {
        return Ok(());
    }
    Err(unauthenticated(
        base_url,
        ErrorCode::InvalidAuthenticationTokenTenant,
        format!(
            "The access token is from the wrong issuer 'https://sts.windows.net/{}/'. It must match the tenant 'https://sts.windows.net/{}/' associated with this subscription. Please use the authority (URL) '{base_url}/{}' to get the token. Note, if the subscription is transferred to another tenant there is no impact to the services, but information about new tenant could take time to propagate (up to an hour). If you just transferred your subscription and see this error message, please try back later.",
            caller.tenant_id, subscription.tenant_id, subscription.tenant_id
        ),
        "The access token is from the wrong issuer.",
    ))
}

/// Verifies a galleryd token: signature, lifetime and, when `check_audience`, Resource Manager's
/// audience.
async fn verify(app: &App, token: &str, base_url: &str, check_audience: bool) -> ApiResult<()> {
    let issuer = app.token_issuer().await?;
    let now = chrono::Utc::now().timestamp();
    match issuer.verify(token, now) {
        Ok(claims) => {
            if check_audience && !is_resource_manager_audience(&claims.aud) {
                return Err(unauthenticated(
                    base_url,
                    ErrorCode::InvalidAuthenticationTokenAudience,
                    format!(
                        "The access token has been obtained for wrong audience or resource '{}'. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'.",
                        claims.aud
                    ),
                    "The access token has been obtained from wrong audience or resource.",
                ));
            }
            Ok(())
        }
        Err(TokenProblem::Expired { expired_at }) => Err(unauthenticated(
            base_url,
            ErrorCode::ExpiredAuthenticationToken,
            format!(
                "The access token expiry UTC time '{}' is earlier than current UTC time '{}'.",
                format_time(expired_at),
                format_time(now)
            ),
            "The access token has expired.",
        )),
        Err(TokenProblem::Invalid) => Err(unauthenticated(
            base_url,
            ErrorCode::InvalidAuthenticationToken,
            "The access token is invalid: it is not signed by galleryd's token service."
                .to_string(),
            "The access token is invalid.",
        )),
    }
}
