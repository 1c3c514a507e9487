//! galleryd's own access tokens: RS256 JWTs, as Entra ID issues them, signed with a key of
//! galleryd's.
//!
//! The RSA key is generated once (off the async runtime: it takes a moment) and kept in the
//! database's shared secrets, so every galleryd process on one database, and `galleryd token`,
//! sign with the same key and accept each other's tokens. Its public half is served as a JWKS; its
//! id (`kid`, in every token's header) is how galleryd recognises a token it signed.
//!
//! Tokens carry the claims Azure's do and clients read: `aud`, `iss`, `iat`, `nbf`, `exp`, `tid`,
//! `oid`, `sub`, `appid`/`azp` (applications and managed identities), `upn` (users), `idtyp`,
//! `xms_mirid` (user-assigned managed identities), `ver`.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use gallery_domain::identity::{Principal, PrincipalKind};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The name of the signing key among the store's shared secrets.
pub const SIGNING_KEY_SECRET: &str = "token-signing-key";
/// How long an issued token lives (as Entra ID's default, in seconds).
pub const TOKEN_LIFETIME_SECONDS: i64 = 3599;
/// Bits of the RSA signing key.
const KEY_BITS: usize = 2048;

/// The claims of a galleryd token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub aud: String,
    pub iss: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub tid: String,
    pub oid: String,
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idtyp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xms_mirid: Option<String>,
    pub ver: String,
}

/// A token to issue.
#[derive(Debug, Clone)]
pub struct TokenGrant<'a> {
    pub principal: &'a Principal,
    /// The tenant the token is for (the principal's own unless another was asked for).
    pub tenant_id: &'a str,
    /// `aud`: the resource the token is for.
    pub audience: &'a str,
    /// `iss`: the authority that issued it.
    pub issuer: &'a str,
    /// Seconds since the epoch at issue.
    pub issued_at: i64,
    pub lifetime_seconds: i64,
}

/// Why a token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenProblem {
    /// Not signed by galleryd's key, tampered with, or not a JWT at all.
    Invalid,
    /// Past its `exp` (the expiry, seconds since the epoch).
    Expired { expired_at: i64 },
}

/// The signing key and what is derived from it.
pub struct TokenIssuer {
    encoding: EncodingKey,
    decoding: DecodingKey,
    key_id: String,
    /// The JWK of the public key (`n` and `e`, base64url).
    jwk: Value,
}

impl std::fmt::Debug for TokenIssuer {
    /// Never prints the key.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("TokenIssuer")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// Generates a new signing key: its PKCS#1 DER, base64 (the form it is stored in). CPU-bound for
/// a moment: call it off the async runtime.
pub fn generate_signing_key() -> Result<String, String> {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    let mut random = rsa::rand_core::OsRng;
    let key = rsa::RsaPrivateKey::new(&mut random, KEY_BITS).map_err(|error| error.to_string())?;
    let der = key.to_pkcs1_der().map_err(|error| error.to_string())?;
    Ok(STANDARD.encode(der.as_bytes()))
}

impl TokenIssuer {
    /// The issuer of a stored key (see [`generate_signing_key`]).
    pub fn from_stored_key(stored: &str) -> Result<TokenIssuer, String> {
        use rsa::pkcs1::DecodeRsaPrivateKey;
        use rsa::traits::PublicKeyParts;
        let der = STANDARD
            .decode(stored.trim())
            .map_err(|error| format!("token signing key: {error}"))?;
        let key = rsa::RsaPrivateKey::from_pkcs1_der(&der)
            .map_err(|error| format!("token signing key: {error}"))?;
        let modulus = URL_SAFE_NO_PAD.encode(key.n().to_bytes_be());
        let exponent = URL_SAFE_NO_PAD.encode(key.e().to_bytes_be());
        let digest = ring::digest::digest(&ring::digest::SHA256, modulus.as_bytes());
        let key_id = URL_SAFE_NO_PAD.encode(&digest.as_ref()[..16]);
        let decoding = DecodingKey::from_rsa_components(&modulus, &exponent)
            .map_err(|error| format!("token signing key: {error}"))?;
        Ok(TokenIssuer {
            encoding: EncodingKey::from_rsa_der(&der),
            decoding,
            jwk: json!({
                "kty": "RSA",
                "use": "sig",
                "alg": "RS256",
                "kid": key_id,
                "n": modulus,
                "e": exponent,
            }),
            key_id,
        })
    }

    /// The key id every token's header names.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The JSON Web Key Set of the public key.
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.jwk.clone()] })
    }

    /// The claims a grant gives.
    pub fn claims(grant: &TokenGrant<'_>) -> Claims {
        let principal = grant.principal;
        let application = match principal.kind {
            PrincipalKind::User => None,
            _ => principal.client_id.clone(),
        };
        Claims {
            aud: grant.audience.to_string(),
            iss: grant.issuer.to_string(),
            iat: grant.issued_at,
            nbf: grant.issued_at,
            exp: grant.issued_at + grant.lifetime_seconds,
            tid: grant.tenant_id.to_string(),
            oid: principal.object_id.clone(),
            sub: principal.object_id.clone(),
            azp: application.clone(),
            appid: application,
            upn: principal.user_principal_name.clone(),
            name: (!principal.display_name.is_empty()).then(|| principal.display_name.clone()),
            idtyp: match principal.kind {
                PrincipalKind::User => Some("user".to_string()),
                _ => Some("app".to_string()),
            },
            xms_mirid: managed_identity_resource(principal),
            ver: "1.0".to_string(),
        }
    }

    /// Signs the token of a grant.
    pub fn issue(&self, grant: &TokenGrant<'_>) -> String {
        self.sign(&TokenIssuer::claims(grant))
    }

    /// Signs any claims (tests use it for expired or odd tokens).
    pub fn sign(&self, claims: &Claims) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.key_id.clone());
        // Signing with a valid RSA key and serializable claims cannot fail.
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap_or_default()
    }

    /// Whether a token's header names galleryd's key, whatever algorithm it claims: a token with
    /// `alg: none` or `HS256` naming galleryd's key must be verified (and refused), not read as a
    /// foreign token because a JWT library cannot parse its header.
    pub fn signed_by_me(&self, token: &str) -> bool {
        let Some(header) = token.split('.').next() else {
            return false;
        };
        URL_SAFE_NO_PAD
            .decode(header.trim_end_matches('='))
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
            .is_some_and(|header| header["kid"].as_str() == Some(self.key_id.as_str()))
    }

    /// Verifies a token's signature and lifetime (at `now`, seconds since the epoch) and returns its
    /// claims. The audience is the caller's to check.
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, TokenProblem> {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|_| TokenProblem::Invalid)?
            .claims;
        if claims.exp <= now {
            return Err(TokenProblem::Expired {
                expired_at: claims.exp,
            });
        }
        if claims.nbf > now + 300 {
            return Err(TokenProblem::Invalid);
        }
        Ok(claims)
    }
}

/// The audience a token request asks for: a v2 `scope` (`https://management.azure.com/.default`,
/// `https://management.core.windows.net//.default`) without its `/.default`, or a v1 `resource`
/// as it is.
pub fn audience_of(scope_or_resource: &str) -> String {
    let first = scope_or_resource
        .split_whitespace()
        .find(|scope| !matches!(*scope, "openid" | "profile" | "offline_access"))
        .unwrap_or(scope_or_resource);
    first.strip_suffix("/.default").unwrap_or(first).to_string()
}

/// Whether Azure Resource Manager accepts tokens for `audience` (its two audiences, with or without
/// the trailing slash).
pub fn is_resource_manager_audience(audience: &str) -> bool {
    matches!(
        audience.trim_end_matches('/').to_ascii_lowercase().as_str(),
        "https://management.azure.com" | "https://management.core.windows.net"
    )
}

/// `xms_mirid` of a managed identity's token, as Entra ID sets it for every managed identity: a
/// user-assigned identity's own resource id, or for a system-assigned one the resource it is
/// assigned to (galleryd's development host, a virtual machine in the development subscription).
/// It is what tells a managed identity's token from a service principal's (ARM's `systemData`
/// says `ManagedIdentity` for the first, `Application` for the second).
fn managed_identity_resource(principal: &Principal) -> Option<String> {
    match (&principal.resource_id, principal.kind) {
        (Some(resource_id), _) => Some(resource_id.clone()),
        (None, PrincipalKind::ManagedIdentity) => Some(format!(
            "/subscriptions/{}/resourcegroups/galleryd/providers/Microsoft.Compute/virtualMachines/galleryd-host",
            gallery_domain::identity::DEVELOPMENT_SUBSCRIPTION_ID
        )),
        (None, _) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer() -> &'static TokenIssuer {
        static ISSUER: std::sync::OnceLock<TokenIssuer> = std::sync::OnceLock::new();
        ISSUER
            .get_or_init(|| TokenIssuer::from_stored_key(&generate_signing_key().unwrap()).unwrap())
    }

    fn grant(principal: &Principal, issued_at: i64) -> TokenGrant<'_> {
        TokenGrant {
            principal,
            tenant_id: &principal.tenant_id,
            audience: "https://management.azure.com",
            issuer: "https://127.0.0.1:8443/t/v2.0",
            issued_at,
            lifetime_seconds: TOKEN_LIFETIME_SECONDS,
        }
    }

    #[test]
    fn issued_tokens_verify_and_carry_the_principal() {
        let principal = Principal::development_service_principal();
        let token = issuer().issue(&grant(&principal, 1_000));
        assert!(issuer().signed_by_me(&token));
        let claims = issuer().verify(&token, 2_000).unwrap();
        assert_eq!(claims.oid, principal.object_id);
        assert_eq!(claims.appid, principal.client_id);
        assert_eq!(claims.idtyp.as_deref(), Some("app"));
        assert_eq!(claims.exp, 1_000 + TOKEN_LIFETIME_SECONDS);
        // The JWKS names the key the header names.
        assert_eq!(issuer().jwks()["keys"][0]["kid"], issuer().key_id());
    }

    #[test]
    fn tampered_forged_and_expired_tokens_are_refused() {
        let user = Principal::development_user();
        let token = issuer().issue(&grant(&user, 1_000));
        assert_eq!(
            issuer().verify(&token, 1_000 + TOKEN_LIFETIME_SECONDS + 1),
            Err(TokenProblem::Expired {
                expired_at: 1_000 + TOKEN_LIFETIME_SECONDS
            })
        );
        let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
        let mut claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
        claims["oid"] = json!("someone-else");
        parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
        assert_eq!(
            issuer().verify(&parts.join("."), 2_000),
            Err(TokenProblem::Invalid)
        );
        let other = TokenIssuer::from_stored_key(&generate_signing_key().unwrap()).unwrap();
        let forged = other.issue(&grant(&user, 1_000));
        assert!(!issuer().signed_by_me(&forged));
        assert_eq!(issuer().verify(&forged, 2_000), Err(TokenProblem::Invalid));
        assert_eq!(issuer().verify("opaque", 2_000), Err(TokenProblem::Invalid));
    }

    #[test]
    fn audiences_from_scopes_and_resources() {
        assert_eq!(
            audience_of("https://management.core.windows.net//.default"),
            "https://management.core.windows.net/"
        );
        assert_eq!(
            audience_of("https://management.azure.com/.default offline_access"),
            "https://management.azure.com"
        );
        assert_eq!(
            audience_of("https://management.azure.com/"),
            "https://management.azure.com/"
        );
        assert!(is_resource_manager_audience(
            "https://management.core.windows.net/"
        ));
        assert!(is_resource_manager_audience("https://MANAGEMENT.azure.com"));
        assert!(!is_resource_manager_audience("https://storage.azure.com"));
    }
}
