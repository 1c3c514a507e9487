//! Who is calling: the principal named by the bearer token's claims.
//!
//! This capability reads the claims of a JWT-shaped bearer token without verifying it (the token
//! service and the verifying modes come with the identity endpoints); a request without a token, or
//! with an opaque one, is made by the well-known development principal. The caller feeds
//! `systemData` and, later, authorization.

use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gallery_domain::identity::{Caller, PrincipalKind};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
struct Claims {
    tid: Option<String>,
    oid: Option<String>,
    sub: Option<String>,
    upn: Option<String>,
    unique_name: Option<String>,
    preferred_username: Option<String>,
    email: Option<String>,
    appid: Option<String>,
    azp: Option<String>,
    idtyp: Option<String>,
    xms_mirid: Option<String>,
}

/// Reads the claims of a bearer token, if it is a JWT.
fn claims(token: &str) -> Option<Claims> {
    let mut parts = token.split('.');
    let (_header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The bearer token of a request, if any.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|token| !token.is_empty())
}

/// The caller of a request.
pub fn identify(headers: &HeaderMap) -> Caller {
    let Some(claims) = bearer_token(headers).and_then(claims) else {
        return Caller::development();
    };
    let development = Caller::development();
    let application = claims.appid.clone().or(claims.azp.clone());
    let user_name = claims
        .upn
        .or(claims.unique_name)
        .or(claims.preferred_username)
        .or(claims.email);
    let kind = if claims.xms_mirid.is_some() {
        PrincipalKind::ManagedIdentity
    } else if claims
        .idtyp
        .as_deref()
        .is_some_and(|kind| kind.eq_ignore_ascii_case("app"))
        || (user_name.is_none() && application.is_some())
    {
        PrincipalKind::Application
    } else {
        PrincipalKind::User
    };
    let object_id = claims.oid.or(claims.sub).unwrap_or(development.object_id);
    let display_name = match kind {
        PrincipalKind::User => user_name.unwrap_or_else(|| object_id.clone()),
        _ => application.unwrap_or_else(|| object_id.clone()),
    };
    Caller {
        tenant_id: claims.tid.unwrap_or(development.tenant_id),
        object_id,
        display_name,
        kind,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers_with(token: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            axum::http::header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        );
        headers
    }

    fn jwt(claims: serde_json::Value) -> String {
        format!("e30.{}.sig", URL_SAFE_NO_PAD.encode(claims.to_string()))
    }

    #[test]
    fn callers_come_from_claims() {
        let user = identify(&headers_with(&jwt(
            serde_json::json!({"tid": "t", "oid": "o", "upn": "ann@contoso.com"}),
        )));
        assert_eq!(
            (
                user.display_name.as_str(),
                user.kind,
                user.tenant_id.as_str()
            ),
            ("ann@contoso.com", PrincipalKind::User, "t")
        );
        let app = identify(&headers_with(&jwt(
            serde_json::json!({"tid": "t", "oid": "o", "appid": "app-1", "idtyp": "app"}),
        )));
        assert_eq!(
            (app.display_name.as_str(), app.kind),
            ("app-1", PrincipalKind::Application)
        );
        let identity = identify(&headers_with(&jwt(
            serde_json::json!({"oid": "o", "appid": "a", "xms_mirid": "/x"}),
        )));
        assert_eq!(identity.kind, PrincipalKind::ManagedIdentity);
        assert_eq!(identify(&headers_with("opaque")), Caller::development());
        assert_eq!(identify(&HeaderMap::new()), Caller::development());
    }
}
