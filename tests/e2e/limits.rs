//! Limits and uniqueness under concurrency: the store, not luck, keeps them.

use futures_util::future::join_all;
use galleryd_tests::{GALLERY_API, TestApp, both_stores};
use serde_json::json;

both_stores! {
    async fn one_of_a_hundred_racing_identical_definitions_wins(backend) {
        let app = &TestApp::start(backend).await;
        app.create_group("rg", "westus").await;
        app.create_gallery("rg", "gal").await;
        let attempts = (0..100).map(|index| {
            let path = app.image_path("rg", "gal", &format!("image{index}"));
            let body = TestApp::image_body("Contoso", "Race", "sku");
            async move { app.put(&path, &body).await }
        });
        let responses = join_all(attempts).await;
        let created = responses.iter().filter(|response| response.status == 201).count();
        let conflicts = responses.iter().filter(|response| response.status == 409 && response.error_code() == "Conflict").count();
        assert_eq!((created, conflicts), (1, 99), "statuses: {:?}", responses.iter().map(|response| response.status).collect::<Vec<_>>());
        let (images, _) = app.list_all(&format!("{}/images?api-version={GALLERY_API}", app.gallery_path("rg", "gal"))).await;
        assert_eq!(images.len(), 1);
    }

    async fn a_hundred_and_fifty_racing_galleries_stop_at_the_limit(backend) {
        let app = &TestApp::start(backend).await;
        app.create_group("rg", "westus").await;
        let attempts = (0..150).map(|index| {
            let path = app.gallery_path("rg", &format!("gallery{index}"));
            async move { app.put(&path, &json!({"location": "westus"})).await }
        });
        let responses = join_all(attempts).await;
        let created = responses.iter().filter(|response| response.status == 201).count();
        let refused = responses.iter().filter(|response| response.status == 409 && response.error_code() == "OperationNotAllowed").count();
        assert_eq!((created, refused), (100, 50));
        let (galleries, _) = app.list_all(&app.subscription_path(&format!("/providers/Microsoft.Compute/galleries?api-version={GALLERY_API}"))).await;
        assert_eq!(galleries.len(), 100);
        // The limit is per region: another region has room; deleting one makes room here.
        app.put(&app.gallery_path("rg", "elsewhere"), &json!({"location": "eastus"})).await.assert_status(201);
        let refused_name = responses.iter().position(|response| response.status == 409).unwrap();
        let created_name = responses.iter().position(|response| response.status == 201).unwrap();
        app.put(&app.gallery_path("rg", &format!("gallery{refused_name}")), &json!({"location": "westus"})).await.assert_error(409, "OperationNotAllowed");
        app.delete(&app.gallery_path("rg", &format!("gallery{created_name}"))).await.assert_status(202);
        app.put(&app.gallery_path("rg", &format!("gallery{refused_name}")), &json!({"location": "westus"})).await.assert_status(201);
    }

    async fn image_definition_limits_count_per_subscription_and_region(backend) {
        let app = TestApp::start_with(backend, |config| {
            config.max_image_definitions_per_region = 3;
            config.subscriptions = vec!["11111111-2222-3333-4444-555555555555".into()];
        })
        .await;
        app.create_group("rg", "westus").await;
        app.create_gallery("rg", "a").await;
        app.create_gallery("rg", "b").await;
        app.create_image("rg", "a", "i1", "p", "o", "1").await;
        app.create_image("rg", "a", "i2", "p", "o", "2").await;
        app.create_image("rg", "b", "i3", "p", "o", "3").await;
        let refused = app.put(&app.image_path("rg", "b", "i4"), &TestApp::image_body("p", "o", "4")).await;
        refused.assert_error(409, "OperationNotAllowed");
        assert!(refused.json()["error"]["message"].as_str().unwrap().contains("limit of 3 image definitions"));
        // Updates do not count; other regions and subscriptions have their own counters.
        app.patch(&app.image_path("rg", "a", "i1"), &json!({"properties": {"description": "x"}})).await.assert_status(200);
        let mut east = TestApp::image_body("p", "o", "4");
        east["location"] = json!("eastus");
        app.put(&app.image_path("rg", "b", "i4"), &east).await.assert_status(201);
        let other = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg";
        app.request(reqwest::Method::PUT, "/subscriptions/11111111-2222-3333-4444-555555555555/resourcegroups/rg?api-version=2024-11-01", Some(&json!({"location": "westus"}))).await.assert_status(201);
        app.put(&format!("{other}/providers/Microsoft.Compute/galleries/c"), &json!({"location": "westus"})).await.assert_status(201);
        app.put(&format!("{other}/providers/Microsoft.Compute/galleries/c/images/i5"), &TestApp::image_body("p", "o", "5")).await.assert_status(201);
    }

    async fn racing_creates_of_one_name_make_one_resource(backend) {
        let app = &TestApp::start_with(backend, |config| config.max_galleries_per_region = 1).await;
        app.create_group("rg", "westus").await;
        let path = app.gallery_path("rg", "contested");
        let attempts = (0..20).map(|index| {
            let path = path.clone();
            async move { app.put(&path, &json!({"location": "westus", "properties": {"description": format!("writer {index}")}})).await }
        });
        let responses = join_all(attempts).await;
        let statuses: Vec<u16> = responses.iter().map(|response| response.status).collect();
        assert_eq!(statuses.iter().filter(|status| **status == 201).count(), 1, "{statuses:?}");
        assert!(statuses.iter().all(|status| matches!(status, 200 | 201)), "{statuses:?}");
        let (galleries, _) = app.list_all(&format!("{}/providers/Microsoft.Compute/galleries?api-version={GALLERY_API}", app.group_path("rg"))).await;
        assert_eq!(galleries.len(), 1);
        // It counted exactly once against the limit of one: no room for another, room again after a delete.
        app.put(&app.gallery_path("rg", "another"), &json!({"location": "westus"})).await.assert_error(409, "OperationNotAllowed");
        app.delete(&path).await.assert_status(202);
        app.put(&app.gallery_path("rg", "another"), &json!({"location": "westus"})).await.assert_status(201);
    }
}

both_stores! {
    async fn racing_updates_of_one_resource_all_apply(backend) {
        let app = &TestApp::start(backend).await;
        app.create_group("rg", "westus").await;
        app.create_gallery("rg", "gal").await;
        let path = app.gallery_path("rg", "gal");
        // Writers of one resource lose races to each other and decide again: every one applies.
        let attempts = (0..100).map(|index| {
            let path = path.clone();
            async move { app.patch(&path, &json!({"properties": {"description": format!("writer {index}")}})).await }
        });
        let responses = join_all(attempts).await;
        let statuses: Vec<u16> = responses.iter().map(|response| response.status).collect();
        assert!(statuses.iter().all(|status| *status == 200), "{statuses:?}");
        let gallery = app.get(&path).await.json();
        let description = gallery["properties"]["description"].as_str().expect("a description").to_string();
        assert!(description.starts_with("writer "), "{description}");
        // Every update recorded its operation, settled.
        for response in &responses {
            assert_eq!(app.operation_status(response).await["status"], "Succeeded");
        }
    }

    async fn refused_creates_leave_no_trace_in_the_limits(backend) {
        let app = &TestApp::start_with(backend, |config| config.max_image_definitions_per_region = 3).await;
        app.create_group("rg", "westus").await;
        app.create_gallery("rg", "gal").await;
        // 40 racing creates of one publisher/offer/SKU: one wins, 39 are refused...
        let attempts = (0..40).map(|index| {
            let path = app.image_path("rg", "gal", &format!("image{index}"));
            async move { app.put(&path, &TestApp::image_body("Contoso", "Race", "sku")).await }
        });
        let responses = join_all(attempts).await;
        assert_eq!(responses.iter().filter(|response| response.status == 201).count(), 1);
        // ...and none of the refused ones holds room under the limit of 3: two more fit, a third does not.
        app.create_image("rg", "gal", "second", "Contoso", "Race", "two").await;
        app.create_image("rg", "gal", "third", "Contoso", "Race", "three").await;
        app.put(&app.image_path("rg", "gal", "fourth"), &TestApp::image_body("Contoso", "Race", "four")).await.assert_error(409, "OperationNotAllowed");
    }
}
