//! The ARM conventions every operation follows: api-version handling, case-insensitive paths with
//! canonical ids, response headers, error bodies, async operations, pagination and HTTPS.

use gallery_domain::api_version::COMPUTE_GALLERY_VERSIONS;
use galleryd_tests::{GALLERY_API, RESOURCES_API, TestApp, both_stores};
use reqwest::Method;
use serde_json::json;

both_stores! {
    async fn api_version_is_required_and_checked_per_family(backend) {
        let app = TestApp::start(backend).await;
        app.create_group("rg", "westus").await;
        app.create_gallery("rg", "gal").await;
        let gallery = app.gallery_path("rg", "gal");

        let missing = app.request(Method::GET, &gallery, None).await;
        missing.assert_error(400, "MissingApiVersionParameter");
        assert_eq!(missing.json()["error"]["message"], "The api-version query parameter (?api-version=) is required for all requests.");
        app.request(Method::GET, &app.group_path("rg"), None).await.assert_error(400, "MissingApiVersionParameter");

        for version in COMPUTE_GALLERY_VERSIONS {
            let response = app.request(Method::GET, &format!("{gallery}?api-version={version}"), None).await;
            response.assert_status(200);
            assert!(response.header("warning").is_none(), "{version} is known");
        }

        let unknown = app.request(Method::GET, &format!("{gallery}?api-version=2022-08-01"), None).await;
        unknown.assert_error(400, "NoRegisteredProviderFound");
        assert!(unknown.json()["error"]["message"].as_str().unwrap().contains("2026-03-03"), "lists the supported versions");
        app.request(Method::GET, &format!("{gallery}?api-version=banana"), None).await.assert_error(400, "NoRegisteredProviderFound");
        app.request(Method::GET, &format!("{}?api-version=2013-01-01", app.group_path("rg")), None).await.assert_error(400, "InvalidApiVersionParameter");

        let newer = app.request(Method::GET, &format!("{gallery}?api-version=2027-09-01"), None).await;
        newer.assert_status(200);
        assert!(newer.header("warning").unwrap().contains("2027-09-01"), "newer versions are served with a warning");
    }

    async fn strict_mode_refuses_newer_api_versions(backend) {
        let app = TestApp::start_with(backend, |config| config.strict_api_versions = true).await;
        app.create_group("rg", "westus").await;
        let response = app.request(Method::GET, &format!("{}?api-version=2027-09-01", app.gallery_path("rg", "gal")), None).await;
        response.assert_error(400, "NoRegisteredProviderFound");
        let message = response.json()["error"]["message"].as_str().unwrap().to_string();
        assert!(message.contains("2026-03-03") && message.contains("2018-06-01"), "{message}");
        let group = app.request(Method::GET, &format!("{}?api-version=2030-01-01", app.group_path("rg")), None).await;
        group.assert_error(400, "InvalidApiVersionParameter");
    }

    async fn paths_match_case_insensitively_and_ids_are_canonical(backend) {
        let app = TestApp::start(backend).await;
        let group = app.request(Method::PUT, &format!("/SUBSCRIPTIONS/{}/ResourceGroups/My-Group?api-version={RESOURCES_API}", app.subscription), Some(&json!({"location": "West US"}))).await;
        group.assert_status(201);
        assert_eq!(group.json()["id"], format!("/subscriptions/{}/resourceGroups/My-Group", app.subscription));
        assert_eq!(group.json()["location"], "westus");

        let created = app.put(&format!("/subscriptions/{}/resourcegroups/my-group/providers/microsoft.compute/GALLERIES/MyGallery", app.subscription), &json!({"location": "westus"})).await;
        created.assert_status(201);
        // The id uses canonical segments, the group's stored casing and the gallery's own casing.
        let expected_id = format!("/subscriptions/{}/resourceGroups/My-Group/providers/Microsoft.Compute/galleries/MyGallery", app.subscription);
        assert_eq!(created.json()["id"], expected_id);

        let fetched = app.get(&format!("/subscriptions/{}/RESOURCEGROUPS/MY-GROUP/providers/Microsoft.Compute/galleries/mygallery", app.subscription)).await;
        fetched.assert_status(200);
        assert_eq!((fetched.json()["id"].as_str(), fetched.json()["name"].as_str()), (Some(expected_id.as_str()), Some("MyGallery")));

        // Updating through another casing keeps the created casing.
        let updated = app.put(&app.gallery_path("my-group", "MYGALLERY"), &json!({"location": "westus", "properties": {"description": "x"}})).await;
        updated.assert_status(200);
        assert_eq!(updated.json()["name"], "MyGallery");
        let image = app.put(&format!("{}/images/Img", app.gallery_path("MY-GROUP", "mygallery")), &TestApp::image_body("p", "o", "s")).await;
        image.assert_status(201);
        assert_eq!(image.json()["id"], format!("{expected_id}/images/Img"));
    }

    async fn every_response_carries_the_arm_headers(backend) {
        let app = TestApp::start(backend).await;
        let first = app.request(Method::GET, "/subscriptions?api-version=2022-12-01", None).await;
        let second = app.request(Method::GET, "/subscriptions?api-version=2022-12-01", None).await;
        for response in [&first, &second] {
            response.assert_status(200);
            assert!(response.header("date").is_some());
            assert_eq!(response.header("x-ms-request-id"), response.header("x-ms-correlation-request-id"));
            assert!(response.header("x-ms-client-request-id").is_none());
        }
        assert_ne!(first.header("x-ms-request-id"), second.header("x-ms-request-id"), "request ids are unique");

        let response = app
            .client
            .get(format!("{}/subscriptions/nope?api-version=2022-12-01", app.http))
            .header("x-ms-correlation-request-id", "corr-1")
            .header("x-ms-client-request-id", "client-1")
            .header("x-ms-return-client-request-id", "true")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "errors carry the headers too");
        assert_eq!(response.headers()["x-ms-correlation-request-id"], "corr-1");
        assert_eq!(response.headers()["x-ms-client-request-id"], "client-1");
        assert!(response.headers().contains_key("x-ms-request-id"));
        assert_eq!(response.headers()["content-type"], "application/json");
    }

    async fn bad_input_gets_arm_errors(backend) {
        let app = TestApp::start(backend).await;
        app.create_group("rg", "westus").await;
        let gallery = app.gallery_path("rg", "gal");
        let url = format!("{}{gallery}?api-version={GALLERY_API}", app.http);
        let send = |body: &'static str| app.client.put(&url).header("content-type", "application/json").body(body).send();

        let malformed = send("{\"location\": ").await.unwrap();
        assert_eq!(malformed.status(), 400);
        assert_eq!(malformed.json::<serde_json::Value>().await.unwrap()["error"]["code"], "InvalidRequestContent");
        let empty = send("").await.unwrap();
        assert_eq!(empty.status(), 400);
        let wrong_type = send("{\"location\": \"westus\", \"properties\": {\"description\": 5}}").await.unwrap();
        assert_eq!(wrong_type.status(), 400);
        let body: serde_json::Value = wrong_type.json().await.unwrap();
        assert_eq!((body["error"]["code"].as_str(), body["error"]["target"].as_str()), (Some("InvalidRequestContent"), Some("properties.description")));
        let not_an_object = send("[1, 2]").await.unwrap();
        assert_eq!(not_an_object.status(), 400);

        app.put(&gallery, &json!({"properties": {}})).await.assert_error(400, "LocationRequired");
        app.put(&gallery, &json!({"location": "atlantis"})).await.assert_error(400, "LocationNotAvailableForResourceType");

        let huge = "x".repeat(4 * 1024 * 1024 + 1);
        let too_large = app.client.put(&url).header("content-type", "application/json").body(format!("{{\"location\":\"{huge}\"}}")).send().await.unwrap();
        assert_eq!(too_large.status(), 413);
        assert_eq!(too_large.json::<serde_json::Value>().await.unwrap()["error"]["code"], "RequestEntityTooLarge");

        app.request(Method::POST, &format!("{gallery}?api-version={GALLERY_API}"), Some(&json!({}))).await.assert_error(405, "MethodNotAllowed");
        app.get(&format!("{}/providers/Microsoft.Compute/virtualMachines/vm1", app.group_path("rg"))).await.assert_error(404, "InvalidResourceType");
        app.get(&format!("{}/providers/Microsoft.Nothing/things/x", app.group_path("rg"))).await.assert_error(404, "InvalidResourceNamespace");
        app.get("/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg/providers/Microsoft.Compute/galleries/g")
            .await
            .assert_error(404, "SubscriptionNotFound");
        app.get(&format!("{}/nothing/here", app.group_path("rg"))).await.assert_error(404, "InvalidResourceType");

        // None of this left anything behind.
        app.get(&gallery).await.assert_error(404, "ResourceNotFound");
    }

    async fn writes_are_long_running_operations_finished_before_the_first_poll(backend) {
        let app = TestApp::start(backend).await;
        app.create_group("rg", "westus").await;
        let created = app.create_gallery("rg", "gal").await;
        created.assert_status(201);
        assert_eq!(created.json()["properties"]["provisioningState"], "Creating");
        assert_eq!(created.header("retry-after"), Some("1"));
        assert!(created.header("location").is_none(), "no Location on PUT");
        let status_url = created.header("azure-asyncoperation").unwrap().to_string();
        assert!(status_url.starts_with(&format!("{}/subscriptions/{}/providers/Microsoft.Compute/locations/westus/capsOperations/", app.http, app.subscription)), "{status_url}");
        assert!(status_url.ends_with(&format!("?api-version={GALLERY_API}")));
        let status = app.operation_status(&created).await;
        assert_eq!(status["status"], "Succeeded");
        assert!(status["startTime"].is_string() && status["endTime"].is_string());
        assert_eq!(status["name"].as_str(), status_url.split('/').next_back().unwrap().split('?').next());

        let updated = app.put(&app.gallery_path("rg", "gal"), &json!({"location": "westus", "properties": {"description": "d"}})).await;
        updated.assert_status(200);
        assert_eq!(updated.json()["properties"]["provisioningState"], "Updating");
        assert_eq!(app.operation_status(&updated).await["status"], "Succeeded");

        let deleted = app.delete(&app.gallery_path("rg", "gal")).await;
        deleted.assert_status(202);
        assert_eq!(deleted.header("retry-after"), Some("1"));
        assert_eq!(app.operation_status(&deleted).await["status"], "Succeeded");
        let location = deleted.header("location").unwrap().to_string();
        assert!(location.contains("monitor=true"));
        app.request(Method::GET, &location, None).await.assert_status(204);
        app.delete(&app.gallery_path("rg", "gal")).await.assert_status(204);

        let unknown = app.get(&app.subscription_path("/providers/Microsoft.Compute/locations/westus/capsOperations/no-such-operation")).await;
        unknown.assert_error(404, "OperationNotFound");
    }

    async fn lists_are_paginated_with_absolute_next_links(backend) {
        let app = TestApp::start_with(backend, |config| config.page_size = 2).await;
        app.create_group("rg", "westus").await;
        for index in 0..5 {
            app.create_gallery("rg", &format!("gal{index}")).await;
        }
        let first = app.get(&format!("{}/providers/Microsoft.Compute/galleries", app.group_path("rg"))).await;
        first.assert_status(200);
        let body = first.json();
        assert_eq!(body["value"].as_array().unwrap().len(), 2);
        let next = body["nextLink"].as_str().unwrap();
        assert!(next.starts_with(&format!("{}/subscriptions/", app.http)), "absolute on the request's host: {next}");
        assert!(next.contains(&format!("api-version={GALLERY_API}")) && next.contains("$skiptoken="), "{next}");

        let (galleries, pages) = app.list_all(&format!("{}/providers/Microsoft.Compute/galleries?api-version={GALLERY_API}", app.group_path("rg"))).await;
        assert_eq!(pages, 3);
        let mut names: Vec<&str> = galleries.iter().map(|gallery| gallery["name"].as_str().unwrap()).collect();
        names.sort_unstable();
        assert_eq!(names, ["gal0", "gal1", "gal2", "gal3", "gal4"]);

        let (top_one, pages) = app.list_all(&format!("{}/providers/Microsoft.Compute/galleries?api-version={GALLERY_API}&$top=1", app.group_path("rg"))).await;
        assert_eq!((top_one.len(), pages), (5, 5), "$top lowers the page size and is kept in nextLink");

        let (subscription_wide, _) = app.list_all(&app.subscription_path(&format!("/providers/Microsoft.Compute/galleries?api-version={GALLERY_API}"))).await;
        assert_eq!(subscription_wide.len(), 5);

        app.get(&format!("{}/providers/Microsoft.Compute/galleries?$skiptoken=garbage", app.group_path("rg"))).await.assert_error(400, "InvalidSkipToken");
        let empty = app.get(&format!("{}/providers/Microsoft.Compute/galleries", app.group_path("rg2"))).await;
        empty.assert_error(404, "ResourceGroupNotFound");
    }

    async fn https_works_and_links_stay_on_https(backend) {
        let app = TestApp::start(backend).await;
        let certificate = std::fs::read(app.data_dir.join("tls/ca.pem")).expect("generated CA certificate");
        let client = reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(&certificate).unwrap())
            .build()
            .unwrap();
        let group = client.put(format!("{}{}?api-version={RESOURCES_API}", app.https, app.group_path("rg"))).json(&json!({"location": "westus"})).send().await.unwrap();
        assert_eq!(group.status(), 201);
        let created = client.put(format!("{}{}?api-version={GALLERY_API}", app.https, app.gallery_path("rg", "gal"))).json(&json!({"location": "westus"})).send().await.unwrap();
        assert_eq!(created.status(), 201);
        let status_url = created.headers()["azure-asyncoperation"].to_str().unwrap().to_string();
        assert!(status_url.starts_with(&app.https), "{status_url}");
        let status: serde_json::Value = client.get(&status_url).send().await.unwrap().json().await.unwrap();
        assert_eq!(status["status"], "Succeeded");
    }

    async fn system_data_names_the_caller(backend) {
        use base64::Engine;
        let app = TestApp::start(backend).await;
        app.create_group("rg", "westus").await;
        let created = app.create_gallery("rg", "gal").await;
        assert_eq!(created.json()["systemData"]["createdBy"], "developer@galleryd.local");
        assert_eq!(created.json()["systemData"]["createdByType"], "User");

        // Another principal of the development tenant, given Contributor on the gallery.
        let application = "0a0a0a0a-2222-4333-8444-555555555555";
        app.assign_role(&app.gallery_path("rg", "gal"), application, "ServicePrincipal", gallery_domain::authorization::roles::CONTRIBUTOR).await;
        let claims = json!({"tid": galleryd_tests::DEVELOPMENT_TENANT_ID, "oid": application, "appid": "11111111-2222-3333-4444-555555555555", "idtyp": "app"});
        let token = format!("eyJhbGciOiJub25lIn0.{}.", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string()));
        let updated = app
            .client
            .patch(format!("{}{}?api-version={GALLERY_API}", app.http, app.gallery_path("rg", "gal")))
            .bearer_auth(token)
            .json(&json!({"properties": {"description": "by an app"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(updated.status(), 200);
        let body: serde_json::Value = updated.json().await.unwrap();
        assert_eq!(body["systemData"]["createdBy"], "developer@galleryd.local");
        assert_eq!(body["systemData"]["lastModifiedBy"], "11111111-2222-3333-4444-555555555555");
        assert_eq!(body["systemData"]["lastModifiedByType"], "Application");
    }

    async fn head_answers_existence_without_a_body(backend) {
        let app = TestApp::start(backend).await;
        app.create_group("rg", "westus").await;
        app.create_gallery("rg", "gal").await;
        let exists = app.request(Method::HEAD, &format!("{}?api-version={GALLERY_API}", app.gallery_path("rg", "gal")), None).await;
        assert_eq!((exists.status, exists.text.as_str()), (204, ""));
        let missing = app.request(Method::HEAD, &format!("{}?api-version={GALLERY_API}", app.gallery_path("rg", "nope")), None).await;
        assert_eq!((missing.status, missing.text.as_str()), (404, ""));
    }
}
