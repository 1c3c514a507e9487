//! galleryd as its own cloud: cloud metadata, OIDC discovery, client-credential and managed
//! identity tokens, the authentication modes with ARM's 401s, ARM's request-limit headers and
//! 429s, and `galleryd token`.
//!
//! Tokens are checked independently: their signature is verified here with `jsonwebtoken` against
//! the JWKS galleryd publishes, not by asking galleryd.

use gallery_domain::identity::{
    DEVELOPMENT_MANAGED_IDENTITY_CLIENT_ID, DEVELOPMENT_SERVICE_PRINCIPAL_CLIENT_ID,
    DEVELOPMENT_SERVICE_PRINCIPAL_SECRET, Principal,
};
use galleryd::config::{AuthenticationMode, Throttling};
use galleryd_tests::{
    DEVELOPMENT_SUBSCRIPTION_ID, DEVELOPMENT_TENANT_ID, GALLERY_API, TempDirectory, TestApp,
    TestResponse, both_stores, galleryd_binary,
};
use reqwest::Method;
use serde_json::{Value, json};

/// A service principal configured by flag in these tests.
const OTHER_CLIENT_ID: &str = "aaaaaaaa-1111-4111-8111-aaaaaaaaaaaa";
const OTHER_TENANT_ID: &str = "bbbbbbbb-2222-4222-8222-bbbbbbbbbbbb";

/// Client credentials at the v2 token endpoint of `tenant`.
async fn client_credentials(
    app: &TestApp,
    tenant: &str,
    client_id: &str,
    secret: &str,
    scope: &str,
) -> TestResponse {
    let response = app
        .client
        .post(format!("{}/{tenant}/oauth2/v2.0/token", app.http))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
            ("scope", scope),
            ("client_info", "1"),
        ])
        .send()
        .await
        .expect("token request");
    TestResponse {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        text: response.text().await.unwrap_or_default(),
    }
}

/// The development service principal's token for Resource Manager.
async fn development_token(app: &TestApp, scope: &str) -> String {
    let answer = client_credentials(
        app,
        DEVELOPMENT_TENANT_ID,
        DEVELOPMENT_SERVICE_PRINCIPAL_CLIENT_ID,
        DEVELOPMENT_SERVICE_PRINCIPAL_SECRET,
        scope,
    )
    .await;
    answer.assert_status(200);
    answer.json()["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

/// A request with a bearer token.
async fn with_token(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> TestResponse {
    // A path with its own api-version keeps it; the others get the gallery one.
    let url = if path.contains("api-version=") {
        format!("{}{path}", app.http)
    } else {
        format!("{}{path}?api-version={GALLERY_API}", app.http)
    };
    let mut request = app.client.request(method, url).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.expect("request");
    TestResponse {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        text: response.text().await.unwrap_or_default(),
    }
}

/// The claims of a token, verified against the JWKS galleryd serves.
async fn verified_claims(app: &TestApp, token: &str) -> Value {
    let keys = app
        .request(
            Method::GET,
            &format!("/{DEVELOPMENT_TENANT_ID}/discovery/v2.0/keys"),
            None,
        )
        .await;
    keys.assert_status(200);
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_str(&keys.text).expect("a JWKS");
    let header = jsonwebtoken::decode_header(token).expect("a JWT header");
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    let key = set
        .find(header.kid.as_deref().expect("kid"))
        .expect("the token's key is in the JWKS");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.validate_aud = false;
    jsonwebtoken::decode::<Value>(
        token,
        &jsonwebtoken::DecodingKey::from_jwk(key).expect("an RSA key"),
        &validation,
    )
    .expect("the signature verifies")
    .claims
}

/// A JWT nobody signed (claims mode takes its claims at their word).
fn unsigned_jwt(claims: Value) -> String {
    use base64::Engine;
    let encode =
        |value: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string());
    format!(
        "{}.{}.c2lnbmF0dXJl",
        encode(&json!({"typ": "JWT", "alg": "RS256"})),
        encode(&claims)
    )
}

fn assert_unauthenticated(response: &TestResponse, code: &str) {
    response.assert_error(401, code);
    let challenge = response.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.starts_with("Bearer authorization_uri="),
        "{challenge}"
    );
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
}

both_stores! {
    async fn cloud_metadata_and_discovery_point_at_galleryd(backend) {
        let app = TestApp::start(backend).await;
        let metadata = app.request(Method::GET, "/metadata/endpoints?api-version=2022-09-01", None).await;
        metadata.assert_status(200);
        let cloud = metadata.json();
        assert_eq!(cloud["resourceManager"], format!("{}/", app.http));
        assert_eq!(cloud["authentication"]["loginEndpoint"], format!("{}/", app.http));
        assert_eq!(cloud["authentication"]["audiences"][0], "https://management.core.windows.net/");
        assert!(cloud["suffixes"].is_object());
        let listed = app.request(Method::GET, "/metadata/endpoints?api-version=2019-05-01", None).await.json();
        assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
        assert_eq!(listed[0]["resourceManager"], cloud["resourceManager"]);

        let discovery = app.request(Method::GET, &format!("/{DEVELOPMENT_TENANT_ID}/v2.0/.well-known/openid-configuration"), None).await;
        discovery.assert_status(200);
        let discovery = discovery.json();
        assert_eq!(discovery["token_endpoint"], format!("{}/{DEVELOPMENT_TENANT_ID}/oauth2/v2.0/token", app.http));
        assert_eq!(discovery["jwks_uri"], format!("{}/{DEVELOPMENT_TENANT_ID}/discovery/v2.0/keys", app.http));
        let unknown = app.request(Method::GET, "/cccccccc-3333-4333-8333-cccccccccccc/v2.0/.well-known/openid-configuration", None).await;
        assert_eq!(unknown.status, 400);
        assert_eq!(unknown.json()["error_codes"][0], 90002);
    }

    async fn client_credentials_issue_verifiable_tokens_and_refuse_wrong_secrets(backend) {
        let app = TestApp::start_with(backend, |config| {
            config.service_principals = vec![format!("{OTHER_CLIENT_ID}:other-secret:{OTHER_TENANT_ID}")];
        })
        .await;
        // The CLI's audience (note the double slash) and the SDK's.
        for (scope, audience) in [
            ("https://management.core.windows.net//.default", "https://management.core.windows.net/"),
            ("https://management.azure.com/.default", "https://management.azure.com"),
        ] {
            let answer = client_credentials(&app, DEVELOPMENT_TENANT_ID, DEVELOPMENT_SERVICE_PRINCIPAL_CLIENT_ID, DEVELOPMENT_SERVICE_PRINCIPAL_SECRET, scope).await;
            answer.assert_status(200);
            let body = answer.json();
            assert_eq!(body["token_type"], "Bearer");
            assert_eq!(body["expires_in"], 3599);
            let claims = verified_claims(&app, body["access_token"].as_str().unwrap()).await;
            assert_eq!(claims["aud"], audience);
            assert_eq!(claims["tid"], DEVELOPMENT_TENANT_ID);
            assert_eq!(claims["appid"], DEVELOPMENT_SERVICE_PRINCIPAL_CLIENT_ID);
            assert_eq!(claims["azp"], DEVELOPMENT_SERVICE_PRINCIPAL_CLIENT_ID);
            assert_eq!(claims["idtyp"], "app");
            assert!(claims["oid"].is_string() && claims["sub"].is_string() && claims["iss"].is_string());
            let now = chrono::Utc::now().timestamp();
            assert!(claims["iat"].as_i64().unwrap() <= now && claims["nbf"].as_i64().unwrap() <= now);
            assert!(claims["exp"].as_i64().unwrap() > now + 3000);
        }
        // A configured service principal of another tenant.
        let answer = client_credentials(&app, OTHER_TENANT_ID, OTHER_CLIENT_ID, "other-secret", "https://management.azure.com/.default").await;
        answer.assert_status(200);
        let claims = verified_claims(&app, answer.json()["access_token"].as_str().unwrap()).await;
        assert_eq!(claims["tid"], OTHER_TENANT_ID);

        let wrong = client_credentials(&app, DEVELOPMENT_TENANT_ID, DEVELOPMENT_SERVICE_PRINCIPAL_CLIENT_ID, "wrong", "https://management.azure.com/.default").await;
        assert_eq!(wrong.status, 401);
        let body = wrong.json();
        assert_eq!(body["error"], "invalid_client");
        assert_eq!(body["error_codes"], json!([7000215]));
        assert!(body["error_description"].as_str().unwrap().starts_with("AADSTS7000215: Invalid client secret provided."), "{body}");
        let unknown = client_credentials(&app, DEVELOPMENT_TENANT_ID, "dddddddd-4444-4444-8444-dddddddddddd", "x", "https://management.azure.com/.default").await;
        assert_eq!((unknown.status, unknown.json()["error"].as_str()), (400, Some("unauthorized_client")));
        let bad_grant = app
            .client
            .post(format!("{}/{DEVELOPMENT_TENANT_ID}/oauth2/v2.0/token", app.http))
            .form(&[("grant_type", "password"), ("client_id", DEVELOPMENT_SERVICE_PRINCIPAL_CLIENT_ID)])
            .send()
            .await
            .unwrap();
        assert_eq!(bad_grant.status(), 400);
        assert_eq!(bad_grant.json::<Value>().await.unwrap()["error"], "unsupported_grant_type");
        let no_grant = app
            .client
            .post(format!("{}/{DEVELOPMENT_TENANT_ID}/oauth2/v2.0/token", app.http))
            .form(&[("client_id", DEVELOPMENT_SERVICE_PRINCIPAL_CLIENT_ID)])
            .send()
            .await
            .unwrap();
        assert_eq!(no_grant.status(), 400);
        let body: Value = no_grant.json().await.unwrap();
        assert_eq!((body["error"].as_str(), body["error_codes"][0].as_i64()), (Some("invalid_request"), Some(900144)));
    }

    async fn managed_identity_tokens_in_both_styles(backend) {
        let app = TestApp::start(backend).await;
        let app_service = |header: Option<&str>| {
            let mut request = app
                .client
                .get(format!("{}/msi/token?api-version=2019-08-01&resource=https%3A%2F%2Fmanagement.azure.com", app.http));
            if let Some(header) = header {
                request = request.header("X-IDENTITY-HEADER", header);
            }
            request.send()
        };
        let missing = app_service(None).await.unwrap();
        assert_eq!(missing.status(), 401);
        let answer: Value = app_service(Some("anything")).await.unwrap().json().await.unwrap();
        assert_eq!(answer["token_type"], "Bearer");
        assert_eq!(answer["resource"], "https://management.azure.com");
        assert!(answer["expires_on"].as_str().unwrap().parse::<i64>().is_ok(), "{answer}");
        let token = answer["access_token"].as_str().unwrap().to_string();
        let claims = verified_claims(&app, &token).await;
        assert_eq!(claims["appid"], DEVELOPMENT_MANAGED_IDENTITY_CLIENT_ID);
        assert_eq!(claims["tid"], DEVELOPMENT_TENANT_ID);
        assert!(claims["xms_mirid"].as_str().is_some_and(|id| id.starts_with("/subscriptions/")), "{claims}");
        // What a managed identity creates says so in systemData, as ARM does.
        app.create_group("rg", "westus").await;
        let created = with_token(&app, Method::PUT, &app.gallery_path("rg", "bymi"), &token, Some(&json!({"location": "westus"}))).await;
        created.assert_status(201);
        assert_eq!(created.json()["systemData"]["createdByType"], "ManagedIdentity");
        assert_eq!(created.json()["systemData"]["lastModifiedByType"], "ManagedIdentity");

        let imds = |metadata: bool| {
            let mut request = app
                .client
                .get(format!("{}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.core.windows.net%2F", app.http));
            if metadata {
                request = request.header("Metadata", "true");
            }
            request.send()
        };
        assert_eq!(imds(false).await.unwrap().status(), 400);
        let answer: Value = imds(true).await.unwrap().json().await.unwrap();
        assert_eq!(answer["expires_in"], "3599");
        let claims = verified_claims(&app, answer["access_token"].as_str().unwrap()).await;
        assert_eq!(claims["aud"], "https://management.core.windows.net/");
        // An identity that does not exist.
        let unknown = app
            .client
            .get(format!("{}/metadata/identity/oauth2/token?resource=https://management.azure.com&client_id=eeeeeeee-5555-4555-8555-eeeeeeeeeeee", app.http))
            .header("Metadata", "true")
            .send()
            .await
            .unwrap();
        assert_eq!(unknown.status(), 400);
    }

    async fn strict_mode_accepts_only_its_own_unexpired_tokens_for_resource_manager(backend) {
        let app = TestApp::start_with(backend, |config| config.authentication = AuthenticationMode::Strict).await;
        let path = app.subscription_path("/resourcegroups/rg1");
        // No token, a malformed header, an opaque token.
        let anonymous = app.request(Method::GET, &format!("{path}?api-version=2024-11-01"), None).await;
        assert_unauthenticated(&anonymous, "AuthenticationFailed");
        assert!(anonymous.json()["error"]["message"].as_str().unwrap().contains("'Authorization' header is missing"));
        let basic = app.client.get(format!("{}{path}?api-version=2024-11-01", app.http)).header("Authorization", "Basic abc").send().await.unwrap();
        assert_eq!(basic.status(), 401);
        assert_unauthenticated(&with_token(&app, Method::GET, &path, "opaque", None).await, "InvalidAuthenticationToken");

        // Forged: a well-formed token signed with another key.
        let other = arm_api::identity::tokens::TokenIssuer::from_stored_key(&arm_api::identity::tokens::generate_signing_key().unwrap()).unwrap();
        let principal = Principal::development_service_principal();
        let (forged, _) = arm_api::identity::token_endpoints::token_for(&other, &principal, DEVELOPMENT_TENANT_ID, "https://management.azure.com", "https://elsewhere/");
        assert_unauthenticated(&with_token(&app, Method::GET, &path, &forged, None).await, "InvalidAuthenticationToken");
        // Tampered: galleryd's token with its claims changed.
        let genuine = development_token(&app, "https://management.azure.com/.default").await;
        let mut parts: Vec<&str> = genuine.split('.').collect();
        let tampered_claims = unsigned_jwt(json!({"tid": DEVELOPMENT_TENANT_ID, "oid": "someone", "aud": "https://management.azure.com"}));
        let tampered_payload = tampered_claims.split('.').nth(1).unwrap().to_string();
        parts[1] = &tampered_payload;
        assert_unauthenticated(&with_token(&app, Method::GET, &path, &parts.join("."), None).await, "InvalidAuthenticationToken");
        // Expired: signed by galleryd, an hour ago.
        let issuer = app.server().app.token_issuer().await.expect("issuer");
        let claims = arm_api::identity::tokens::TokenIssuer::claims(&arm_api::identity::tokens::TokenGrant {
            principal: &principal,
            tenant_id: DEVELOPMENT_TENANT_ID,
            audience: "https://management.azure.com",
            issuer: "https://galleryd",
            issued_at: chrono::Utc::now().timestamp() - 7200,
            lifetime_seconds: 3599,
        });
        let expired = issuer.sign(&claims);
        let answer = with_token(&app, Method::GET, &path, &expired, None).await;
        assert_unauthenticated(&answer, "ExpiredAuthenticationToken");
        assert!(answer.json()["error"]["message"].as_str().unwrap().contains("is earlier than current UTC time"));
        // Wrong audience: a genuine token for storage.
        let storage = development_token(&app, "https://storage.azure.com/.default").await;
        let answer = with_token(&app, Method::GET, &path, &storage, None).await;
        assert_unauthenticated(&answer, "InvalidAuthenticationTokenAudience");
        assert!(answer.text.contains("https://storage.azure.com"), "{}", answer.text);

        // Genuine tokens pass, for both audiences, and name their principal in systemData.
        let created = with_token(&app, Method::PUT, &format!("{path}?api-version=2024-11-01"), &genuine, Some(&json!({"location": "westus"}))).await;
        assert!(matches!(created.status, 200 | 201), "{}", created.text);
        let cli_token = development_token(&app, "https://management.core.windows.net//.default").await;
        let gallery = with_token(&app, Method::PUT, &app.gallery_path("rg1", "gallery1"), &cli_token, Some(&json!({"location": "westus"}))).await;
        gallery.assert_status(201);
        assert_eq!(gallery.json()["systemData"]["createdBy"], DEVELOPMENT_SERVICE_PRINCIPAL_CLIENT_ID);
        assert_eq!(gallery.json()["systemData"]["createdByType"], "Application");
        // The token endpoints themselves need no token.
        app.request(Method::GET, "/metadata/endpoints?api-version=2022-09-01", None).await.assert_status(200);
    }

    async fn claims_mode_attributes_writes_to_the_token_and_none_mode_ignores_it(backend) {
        let app = TestApp::start(backend).await;
        app.create_group("rg", "westus").await;
        let user = unsigned_jwt(json!({"tid": DEVELOPMENT_TENANT_ID, "oid": "11111111-9999-4999-8999-111111111111", "upn": "ann@contoso.com"}));
        // Without a role, Ann may not write; the development user makes her Contributor.
        let refused = with_token(&app, Method::PUT, &app.gallery_path("rg", "anns"), &user, Some(&json!({"location": "westus"}))).await;
        assert_eq!(refused.status, 403, "{}", refused.text);
        app.assign_role(&app.group_path("rg"), "11111111-9999-4999-8999-111111111111", "User", gallery_domain::authorization::roles::CONTRIBUTOR).await;
        let created = with_token(&app, Method::PUT, &app.gallery_path("rg", "anns"), &user, Some(&json!({"location": "westus"}))).await;
        created.assert_status(201);
        assert_eq!(created.json()["systemData"]["createdBy"], "ann@contoso.com");
        assert_eq!(created.json()["systemData"]["createdByType"], "User");
        // A token galleryd signed must verify even here.
        let genuine = development_token(&app, "https://management.azure.com/.default").await;
        let broken = format!("{}x", &genuine[..genuine.len() - 1]);
        let refused = with_token(&app, Method::GET, &app.gallery_path("rg", "anns"), &broken, None).await;
        assert_unauthenticated(&refused, "InvalidAuthenticationToken");
        // No token: the development principal.
        let anonymous = app.put(&app.gallery_path("rg", "mine"), &json!({"location": "westus"})).await;
        assert_eq!(anonymous.json()["systemData"]["createdBy"], "developer@galleryd.local");

        let open = TestApp::start_with(backend, |config| config.authentication = AuthenticationMode::None).await;
        open.create_group("rg", "westus").await;
        let ignored = with_token(&open, Method::PUT, &open.gallery_path("rg", "g"), &user, Some(&json!({"location": "westus"}))).await;
        ignored.assert_status(201);
        assert_eq!(ignored.json()["systemData"]["createdBy"], "developer@galleryd.local");
    }

    async fn request_limits_count_down_and_refuse_when_switched_on(backend) {
        let app = TestApp::start(backend).await;
        let group = format!("{}?api-version=2024-11-01", app.subscription_path("/resourcegroups/rg"));
        let remaining = |response: &TestResponse, kind: &str| {
            response
                .header(&format!("x-ms-ratelimit-remaining-subscription-{kind}"))
                .and_then(|value| value.parse::<u32>().ok())
                .unwrap_or_else(|| panic!("no {kind} header: {:?}", response.headers))
        };
        let first = app.request(Method::GET, &group, None).await;
        first.assert_status(404);
        let second = app.request(Method::GET, &group, None).await;
        assert_eq!(remaining(&second, "reads"), remaining(&first, "reads") - 1);
        assert!(remaining(&first, "reads") < 12_000);
        let written = app.request(Method::PUT, &group, Some(&json!({"location": "westus"}))).await;
        assert_eq!(remaining(&written, "writes"), 1_199);
        assert!(written.header("x-ms-ratelimit-remaining-subscription-reads").is_none());
        let deleted = app.request(Method::DELETE, &group, None).await;
        assert_eq!(remaining(&deleted, "deletes"), 14_999);

        let limited = TestApp::start_with(backend, |config| {
            config.throttling = Throttling::On;
            config.throttling_writes_per_hour = 2;
        })
        .await;
        for _ in 0..2 {
            limited.create_group("rg", "westus").await;
        }
        let refused = limited.request(Method::PUT, &group, Some(&json!({"location": "westus"}))).await;
        refused.assert_error(429, "SubscriptionRequestsThrottled");
        let retry_after: u64 = refused.header("retry-after").unwrap().parse().unwrap();
        assert!((3_500..=3_600).contains(&retry_after), "{retry_after}");
        // Reads have their own limit.
        limited.request(Method::GET, &group, None).await.assert_status(200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn galleryd_token_prints_a_token_the_server_accepts() {
    let directory = TempDirectory::new();
    let data_dir = directory.0.join("data");
    let output = std::process::Command::new(galleryd_binary())
        .args(["token", "--data-dir"])
        .arg(&data_dir)
        .args(["--principal", DEVELOPMENT_SERVICE_PRINCIPAL_CLIENT_ID])
        .output()
        .expect("galleryd token runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = String::from_utf8(output.stdout).unwrap().trim().to_string();
    assert_eq!(token.split('.').count(), 3, "{token}");
    let unknown = std::process::Command::new(galleryd_binary())
        .args(["token", "--data-dir"])
        .arg(&data_dir)
        .args(["--principal", "nobody@nowhere"])
        .output()
        .unwrap();
    assert!(!unknown.status.success());

    // A server on the same data directory (and so the same key) accepts it in strict mode.
    let mut config = TestApp::config(&data_dir, None);
    config.authentication = AuthenticationMode::Strict;
    let server = galleryd::Server::start(&config)
        .await
        .expect("galleryd starts");
    let client = reqwest::Client::new();
    let answer = client
        .get(format!(
            "http://{}/subscriptions/{DEVELOPMENT_SUBSCRIPTION_ID}?api-version=2022-12-01",
            server.http_address
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    server.shutdown().await;
}
