//! Resource groups and ARM's subscription-level surface (subscriptions, tenants, locations,
//! providers).

use galleryd_tests::{DEVELOPMENT_TENANT_ID, GALLERY_API, RESOURCES_API, TestApp, both_stores};
use reqwest::Method;
use serde_json::json;

fn group(app: &TestApp, name: &str) -> String {
    format!(
        "{}?api-version={RESOURCES_API}",
        app.subscription_path(&format!("/resourcegroups/{name}"))
    )
}

both_stores! {
    async fn resource_group_lifecycle(backend) {
        let app = TestApp::start(backend).await;
        let created = app.request(Method::PUT, &group(&app, "Build-RG"), Some(&json!({"location": "eastus2", "tags": {"env": "ci"}}))).await;
        created.assert_status(201);
        assert_eq!(created.json()["properties"]["provisioningState"], "Succeeded");
        app.request(Method::PUT, &group(&app, "build-rg"), Some(&json!({"location": "East US 2", "tags": {"env": "ci"}}))).await.assert_status(200);
        app.request(Method::PUT, &group(&app, "build-rg"), Some(&json!({"location": "westus"}))).await.assert_error(409, "InvalidResourceGroupLocation");
        let fetched = app.request(Method::GET, &group(&app, "BUILD-RG"), None).await;
        fetched.assert_status(200);
        assert_eq!(fetched.json()["name"], "Build-RG");
        assert_eq!(app.request(Method::HEAD, &group(&app, "build-rg"), None).await.status, 204);
        assert_eq!(app.request(Method::HEAD, &group(&app, "nope"), None).await.status, 404);
        let patched = app.request(Method::PATCH, &group(&app, "build-rg"), Some(&json!({"tags": {"env": "prod"}}))).await;
        patched.assert_status(200);
        assert_eq!(patched.json()["tags"], json!({"env": "prod"}));
        assert_eq!(patched.json()["location"], "eastus2");
        app.request(Method::PATCH, &group(&app, "nope"), Some(&json!({"tags": {}}))).await.assert_error(404, "ResourceGroupNotFound");

        app.request(Method::PUT, &group(&app, "other"), Some(&json!({"location": "westus", "tags": {"env": "dev"}}))).await.assert_status(201);
        let list_path = format!("{}?api-version={RESOURCES_API}", app.subscription_path("/resourcegroups"));
        let (groups, _) = app.list_all(&list_path).await;
        assert_eq!(groups.len(), 2);
        let (filtered, _) = app.list_all(&format!("{list_path}&$filter=tagName%20eq%20'env'%20and%20tagValue%20eq%20'prod'")).await;
        assert_eq!(filtered.iter().map(|group| group["name"].as_str().unwrap()).collect::<Vec<_>>(), ["Build-RG"]);
        app.request(Method::GET, &format!("{list_path}&$filter=name%20eq%20'x'"), None).await.assert_error(400, "InvalidFilterInQueryString");
    }

    async fn resource_group_rules(backend) {
        let app = TestApp::start(backend).await;
        for bad in ["ends.", "has space", &"r".repeat(91), "a%2Fb"] {
            app.request(Method::PUT, &group(&app, bad), Some(&json!({"location": "westus"}))).await.assert_error(400, "InvalidResourceGroupName");
        }
        app.request(Method::PUT, &group(&app, "(ok)_-.x"), Some(&json!({"location": "westus"}))).await.assert_status(201);
        app.request(Method::PUT, &group(&app, "rg"), Some(&json!({}))).await.assert_error(400, "LocationRequired");
        app.request(Method::PUT, &group(&app, "rg"), Some(&json!({"location": "moon"}))).await.assert_error(400, "LocationNotAvailableForResourceGroup");
        app.request(Method::GET, &group(&app, "rg"), None).await.assert_error(404, "ResourceGroupNotFound");
        app.request(Method::DELETE, &group(&app, "rg"), None).await.assert_error(404, "ResourceGroupNotFound");
    }

    async fn deleting_a_group_deletes_everything_in_it(backend) {
        let app = TestApp::start_with(backend, |config| {
            config.max_galleries_per_region = 2;
            config.max_image_definitions_per_region = 2;
        })
        .await;
        app.create_group("doomed", "westus").await;
        app.create_group("kept", "westus").await;
        app.create_gallery("doomed", "g1").await;
        app.create_gallery("doomed", "g2").await;
        app.create_image("doomed", "g1", "i1", "p", "o", "1").await;
        app.create_image("doomed", "g1", "i2", "p", "o", "2").await;
        // The limits are reached...
        app.put(&app.gallery_path("kept", "g3"), &json!({"location": "westus"})).await.assert_error(409, "OperationNotAllowed");

        let deleted = app.request(Method::DELETE, &group(&app, "doomed"), None).await;
        deleted.assert_status(202);
        assert_eq!(deleted.header("retry-after"), Some("1"));
        let location = deleted.header("location").unwrap().to_string();
        assert!(location.starts_with(&format!("{}/subscriptions/{}/operationresults/", app.http, app.subscription)), "{location}");
        app.request(Method::GET, &location, None).await.assert_status(200);

        app.request(Method::GET, &group(&app, "doomed"), None).await.assert_error(404, "ResourceGroupNotFound");
        let (galleries, _) = app.list_all(&app.subscription_path(&format!("/providers/Microsoft.Compute/galleries?api-version={GALLERY_API}"))).await;
        assert!(galleries.is_empty());
        // ...and freed again by the cascade; names are free too.
        app.create_gallery("kept", "g1").await;
        app.create_gallery("kept", "g2").await;
        app.create_image("kept", "g1", "i1", "p", "o", "1").await;
        app.create_image("kept", "g2", "i2", "p", "o", "2").await;
        app.request(Method::PUT, &group(&app, "doomed"), Some(&json!({"location": "westus"}))).await.assert_status(201);
        app.get(&app.gallery_path("doomed", "g1")).await.assert_error(404, "ResourceNotFound");
    }

    async fn subscriptions_tenants_locations_and_providers(backend) {
        let app = TestApp::start_with(backend, |config| config.subscriptions = vec!["11111111-2222-3333-4444-555555555555:99999999-8888-7777-6666-555555555555".into(), "22222222-3333-4444-5555-666666666666".into()]).await;
        let subscriptions = app.request(Method::GET, "/subscriptions?api-version=2022-12-01", None).await;
        subscriptions.assert_status(200);
        let value = subscriptions.json()["value"].as_array().unwrap().clone();
        assert_eq!(value.len(), 3);
        assert_eq!(value[0]["subscriptionId"], app.subscription.as_str());
        assert_eq!(value[0]["tenantId"], DEVELOPMENT_TENANT_ID);
        assert_eq!(value[0]["state"], "Enabled");
        let foreign = value.iter().find(|subscription| subscription["subscriptionId"] == "11111111-2222-3333-4444-555555555555").expect("the configured subscription of another tenant");
        assert_eq!(foreign["tenantId"], "99999999-8888-7777-6666-555555555555");

        let one = app.request(Method::GET, &format!("{}?api-version=2022-12-01", app.subscription_path("")), None).await;
        assert_eq!(one.json()["id"], format!("/subscriptions/{}", app.subscription));
        app.request(Method::GET, "/subscriptions/12345678-1234-1234-1234-123456789012?api-version=2022-12-01", None).await.assert_error(404, "SubscriptionNotFound");
        let tenants = app.request(Method::GET, "/tenants?api-version=2022-12-01", None).await.json();
        assert_eq!(tenants["value"].as_array().unwrap().len(), 2);

        let locations = app.request(Method::GET, &format!("{}?api-version=2022-12-01", app.subscription_path("/locations")), None).await.json();
        let westus = locations["value"].as_array().unwrap().iter().find(|location| location["name"] == "westus").unwrap().clone();
        assert_eq!(westus["displayName"], "West US");
        assert!(!locations["value"].as_array().unwrap().iter().any(|location| location["name"] == "australiacentral"), "restricted regions are hidden");

        let compute = app.request(Method::GET, &format!("{}?api-version=2021-04-01", app.subscription_path("/providers/Microsoft.Compute")), None).await;
        compute.assert_status(200);
        let compute = compute.json();
        assert_eq!(compute["registrationState"], "Registered");
        let galleries = compute["resourceTypes"].as_array().unwrap().iter().find(|kind| kind["resourceType"] == "galleries").unwrap().clone();
        assert_eq!(galleries["apiVersions"][0], "2026-03-03");
        let registered = app.request(Method::POST, &format!("{}?api-version=2021-04-01", app.subscription_path("/providers/microsoft.compute/register")), None).await;
        registered.assert_status(200);
        assert_eq!(registered.json()["namespace"], "Microsoft.Compute");
        app.request(Method::GET, &format!("{}?api-version=2021-04-01", app.subscription_path("/providers/Microsoft.Nope")), None).await.assert_error(404, "InvalidResourceNamespace");
        let providers = app.request(Method::GET, &format!("{}?api-version=2021-04-01", app.subscription_path("/providers")), None).await.json();
        assert_eq!(providers["value"].as_array().unwrap().len(), 2);

        // A subscription of another tenant refuses the development tenant's token, as ARM does.
        app.request(Method::GET, &format!("/subscriptions/11111111-2222-3333-4444-555555555555/resourcegroups/rg?api-version={RESOURCES_API}"), None).await.assert_error(401, "InvalidAuthenticationTokenTenant");

        // Subscriptions are separate worlds.
        let other = "22222222-3333-4444-5555-666666666666";
        app.create_group("rg", "westus").await;
        app.create_gallery("rg", "gal").await;
        let other_group = format!("/subscriptions/{other}/resourcegroups/rg?api-version={RESOURCES_API}");
        app.request(Method::GET, &other_group, None).await.assert_error(404, "ResourceGroupNotFound");
        app.request(Method::PUT, &other_group, Some(&json!({"location": "westus"}))).await.assert_status(201);
        let other_gallery = format!("/subscriptions/{other}/resourceGroups/rg/providers/Microsoft.Compute/galleries/gal");
        let created = app.put(&other_gallery, &json!({"location": "westus"})).await;
        created.assert_status(201);
        assert_eq!(created.json()["properties"]["identifier"]["uniqueName"], format!("{other}-GAL"), "gallery names are unique per subscription only");
    }
}
