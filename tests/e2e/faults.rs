//! `/_galleryd/faults`: rules that make ARM requests fail on purpose, as a test suite installs
//! them: an ARM error for the first N matching writes, 429 with `Retry-After`, added latency, a
//! dropped connection, seeded probabilities that repeat run after run, matching by operationId,
//! path pattern, method, subscription and principal, and the rules' own bad input.

use std::time::{Duration, Instant};

use galleryd_tests::{TestApp, TestResponse, both_stores};
use reqwest::Method;
use serde_json::{Value, json};

async fn add_rule(app: &TestApp, rule: &Value) -> TestResponse {
    app.request(Method::POST, "/_galleryd/faults", Some(rule))
        .await
}

async fn rules(app: &TestApp) -> Value {
    let response = app.request(Method::GET, "/_galleryd/faults", None).await;
    response.assert_status(200);
    response.json()
}

both_stores! {
    async fn an_error_rule_fails_the_first_matching_writes_then_lets_them_through(backend) {
        let app = TestApp::start(backend).await;
        app.create_group("rg", "westus").await;
        let created = add_rule(&app, &json!({
            "match": {"operationId": "Galleries_CreateOrUpdate", "method": "PUT"},
            "action": {"kind": "error", "status": 500, "code": "InternalServerError", "message": "try again"},
            "times": 2
        })).await;
        created.assert_status(201);
        let id = created.json()["id"].as_str().expect("rule id").to_string();

        // A GET does not match; two PUTs fail as Azure's would, the third lands.
        app.get(&app.gallery_path("rg", "flaky")).await.assert_error(404, "ResourceNotFound");
        for _ in 0..2 {
            let answer = app.put(&app.gallery_path("rg", "flaky"), &json!({"location": "westus"})).await;
            answer.assert_error(500, "InternalServerError");
            assert_eq!(answer.json()["error"]["message"], "try again");
            assert!(answer.header("x-ms-request-id").is_some(), "ARM headers on an injected error");
        }
        app.get(&app.gallery_path("rg", "flaky")).await.assert_error(404, "ResourceNotFound");
        let answer = app.put(&app.gallery_path("rg", "flaky"), &json!({"location": "westus"})).await;
        answer.assert_status(201);
        let listed = rules(&app).await;
        assert_eq!(listed["injected"], 2, "{listed}");
        assert_eq!(listed["value"][0]["id"], id.as_str());
        assert_eq!(listed["value"][0]["fired"], 2);

        app.request(Method::DELETE, &format!("/_galleryd/faults/{id}"), None).await.assert_status(204);
        app.request(Method::DELETE, &format!("/_galleryd/faults/{id}"), None).await.assert_error(404, "ResourceNotFound");
        assert_eq!(rules(&app).await["value"], json!([]));
    }
}

both_stores! {
    async fn throttling_latency_and_dropped_connections_by_path_pattern(backend) {
        let app = TestApp::start(backend).await;
        app.create_group("rg", "westus").await;
        app.create_gallery("rg", "throttled").await;
        app.create_gallery("rg", "slow").await;
        app.create_gallery("rg", "dropped").await;
        for rule in [
            json!({"match": {"path": "*/galleries/THROTTLED"}, "action": {"kind": "throttle", "retryAfterSeconds": 3}}),
            json!({"match": {"path": "*/galleries/slow", "method": "GET"}, "action": {"kind": "latency", "milliseconds": 400}}),
            json!({"match": {"path": "*/galleries/dropped"}, "action": {"kind": "dropConnection"}}),
        ] {
            add_rule(&app, &rule).await.assert_status(201);
        }
        let throttled = app.get(&app.gallery_path("rg", "throttled")).await;
        throttled.assert_error(429, "SubscriptionRequestsThrottled");
        assert_eq!(throttled.header("retry-after"), Some("3"));

        let started = Instant::now();
        let slow = app.get(&app.gallery_path("rg", "slow")).await;
        slow.assert_status(200);
        assert!(started.elapsed() >= Duration::from_millis(400), "the answer waited: {:?}", started.elapsed());

        let url = format!("{}{}?api-version=2024-03-03", app.http, app.gallery_path("rg", "dropped"));
        let dropped = reqwest::Client::new().get(&url).send().await;
        let failed = match dropped {
            Err(_) => true,
            Ok(response) => response.bytes().await.is_err(),
        };
        assert!(failed, "the connection was dropped without a complete answer");

        // Other galleries are untouched.
        app.create_gallery("rg", "plain").await;
        assert_eq!(rules(&app).await["injected"], 3);
        app.request(Method::DELETE, "/_galleryd/faults", None).await.assert_status(204);
        app.get(&app.gallery_path("rg", "throttled")).await.assert_status(200);
    }
}

/// The statuses of 40 GETs under a rule firing with probability 0.5 from `seed`.
async fn draws(app: &TestApp, seed: u64) -> Vec<u16> {
    app.request(Method::DELETE, "/_galleryd/faults", None)
        .await
        .assert_status(204);
    add_rule(
        app,
        &json!({
            "match": {"operationId": "Galleries_Get"},
            "action": {"kind": "error", "status": 503, "code": "ServiceUnavailable"},
            "probability": 0.5,
            "seed": seed
        }),
    )
    .await
    .assert_status(201);
    let mut statuses = Vec::new();
    for _ in 0..40 {
        statuses.push(app.get(&app.gallery_path("rg", "gallery")).await.status);
    }
    statuses
}

both_stores! {
    async fn seeded_probabilities_repeat_and_rules_match_who_asks(backend) {
        let app = TestApp::start(backend).await;
        app.create_group("rg", "westus").await;
        app.create_gallery("rg", "gallery").await;
        let first = draws(&app, 42).await;
        assert_eq!(first, draws(&app, 42).await, "the same seed fires the same way");
        let failed = first.iter().filter(|status| **status == 503).count();
        assert!((5..=35).contains(&failed), "about half fired: {first:?}");
        assert!(first.iter().all(|status| matches!(status, 200 | 503)));
        assert_ne!(first, draws(&app, 43).await, "another seed, another sequence");

        app.request(Method::DELETE, "/_galleryd/faults", None).await.assert_status(204);
        add_rule(&app, &json!({"match": {"principal": "someone-else"}, "action": {"kind": "error", "status": 500, "code": "InternalServerError"}})).await.assert_status(201);
        add_rule(&app, &json!({"match": {"subscriptionId": "00000000-0000-0000-0000-000000000000"}, "action": {"kind": "error", "status": 500, "code": "InternalServerError"}})).await.assert_status(201);
        app.get(&app.gallery_path("rg", "gallery")).await.assert_status(200);
        add_rule(&app, &json!({"match": {"subscriptionId": app.subscription.to_uppercase(), "resourceType": "Microsoft.Compute/galleries"}, "action": {"kind": "error", "status": 409, "code": "Conflict"}})).await.assert_status(201);
        app.get(&app.gallery_path("rg", "gallery")).await.assert_error(409, "Conflict");
    }
}

both_stores! {
    async fn bad_rules_are_refused_with_arm_errors(backend) {
        let app = TestApp::start(backend).await;
        add_rule(&app, &json!({"action": {"kind": "error", "status": 500, "code": "NoSuchCode"}})).await.assert_error(400, "InvalidParameter");
        add_rule(&app, &json!({"action": {"kind": "error", "status": 200, "code": "Conflict"}})).await.assert_error(400, "InvalidParameter");
        add_rule(&app, &json!({"action": {"kind": "latency", "milliseconds": 1}, "probability": 2})).await.assert_error(400, "InvalidParameter");
        add_rule(&app, &json!({"action": {"kind": "explode"}})).await.assert_error(400, "InvalidRequestContent");
        add_rule(&app, &json!({"match": {"colour": "red"}, "action": {"kind": "dropConnection"}})).await.assert_error(400, "InvalidRequestContent");
        assert_eq!(rules(&app).await["value"], json!([]));
    }
}

#[tokio::test]
async fn rules_from_a_file_are_installed_at_start_and_a_bad_file_stops_the_start() {
    let directory = galleryd_tests::TempDirectory::new();
    let file = directory.0.join("faults.json");
    std::fs::write(
        &file,
        json!([{"match": {"operationId": "ResourceGroups_CreateOrUpdate"}, "action": {"kind": "error", "status": 503, "code": "ServiceUnavailable"}, "times": 1}]).to_string(),
    )
    .expect("rules written");
    let rules_file = file.clone();
    let app = TestApp::start_with(galleryd_tests::Backend::Sqlite, move |config| {
        config.faults = Some(rules_file);
    })
    .await;
    let path = format!("{}?api-version=2024-11-01", app.group_path("rg"));
    let first = app
        .request(Method::PUT, &path, Some(&json!({"location": "westus"})))
        .await;
    first.assert_error(503, "ServiceUnavailable");
    app.create_group("rg", "westus").await;
    assert_eq!(rules(&app).await["injected"], 1);

    std::fs::write(
        &file,
        r#"[{"action": {"kind": "error", "status": 500, "code": "NoSuchCode"}}]"#,
    )
    .expect("rules written");
    let mut config = TestApp::config(&directory.0.join("data"), None);
    config.faults = Some(file);
    let refused = galleryd::server::Server::start(&config).await;
    let error = refused
        .err()
        .expect("a bad rules file stops the start")
        .to_string();
    assert!(
        error.contains("--faults") && error.contains("NoSuchCode"),
        "{error}"
    );
}
