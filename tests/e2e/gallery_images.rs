//! Image definitions: the five operations and the rules Azure enforces on them.

use galleryd_tests::{GALLERY_API, TestApp, both_stores};
use reqwest::Method;
use serde_json::{Value, json};

async fn ready_gallery(backend: galleryd_tests::Backend) -> TestApp {
    let app = TestApp::start(backend).await;
    app.create_group("rg", "westus").await;
    app.create_gallery("rg", "gal").await;
    app
}

fn full_body() -> Value {
    json!({
        "location": "westus",
        "tags": {"os": "linux"},
        "properties": {
            "description": "Ubuntu build agents",
            "eula": "https://contoso.com/eula",
            "privacyStatementUri": "https://contoso.com/privacy",
            "releaseNoteUri": "https://contoso.com/notes",
            "osType": "linux",
            "osState": "generalized",
            "hyperVGeneration": "V2",
            "architecture": "x64",
            "endOfLifeDate": "2099-12-31",
            "identifier": {"publisher": "Contoso", "offer": "Agents", "sku": "ubuntu-24.04"},
            "recommended": {"vCPUs": {"min": 2, "max": 16}, "memory": {"min": 4, "max": 64}},
            "disallowed": {"diskTypes": ["standard_lrs"]},
            "purchasePlan": {"name": "plan", "publisher": "contoso", "product": "agents"},
            "features": [{"name": "IsAcceleratedNetworkSupported", "value": "True"}, {"name": "SecurityType", "value": "TrustedLaunch"}]
        }
    })
}

both_stores! {
    async fn create_get_update_list_delete(backend) {
        let app = ready_gallery(backend).await;
        let path = app.image_path("rg", "gal", "agents");
        let created = app.put(&path, &full_body()).await;
        created.assert_status(201);
        let body = created.json();
        assert_eq!(body["type"], "Microsoft.Compute/galleries/images");
        assert_eq!(body["properties"]["provisioningState"], "Creating");
        assert_eq!(body["properties"]["osType"], "Linux", "enums answer in the spec's casing");
        assert_eq!(body["properties"]["osState"], "Generalized");
        assert_eq!(body["properties"]["endOfLifeDate"], "2099-12-31T00:00:00+00:00");
        assert_eq!(body["properties"]["disallowed"]["diskTypes"], json!(["Standard_LRS"]));
        assert_eq!(body["properties"]["recommended"]["vCPUs"], json!({"min": 2, "max": 16}));
        assert_eq!(app.operation_status(&created).await["status"], "Succeeded");

        let fetched = app.get(&path).await;
        fetched.assert_status(200);
        assert_eq!(fetched.json()["properties"]["provisioningState"], "Succeeded");
        assert_eq!(fetched.json()["properties"]["features"].as_array().unwrap().len(), 2);

        // Everything that may change, changes.
        let patched = app.patch(&path, &json!({"tags": {"os": "ubuntu"}, "properties": {
            "description": "new", "eula": "e2", "privacyStatementUri": "https://p2", "releaseNoteUri": "https://r2",
            "endOfLifeDate": "2098-01-01T00:00:00Z", "recommended": {"vCPUs": {"min": 4, "max": 8}}
        }})).await;
        patched.assert_status(200);
        let patched = app.get(&path).await.json();
        assert_eq!(patched["properties"]["description"], "new");
        assert_eq!(patched["properties"]["endOfLifeDate"], "2098-01-01T00:00:00+00:00");
        // Merge-patch: the memory range not mentioned is kept.
        assert_eq!(patched["properties"]["recommended"], json!({"vCPUs": {"min": 4, "max": 8}, "memory": {"min": 4, "max": 64}}));
        assert_eq!(patched["tags"], json!({"os": "ubuntu"}));
        assert_eq!(patched["properties"]["identifier"]["sku"], "ubuntu-24.04");

        app.create_image("rg", "gal", "second", "Contoso", "Agents", "windows").await;
        let (images, _) = app.list_all(&format!("{}/images?api-version={GALLERY_API}", app.gallery_path("rg", "gal"))).await;
        let names: Vec<&str> = images.iter().map(|image| image["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["agents", "second"]);

        app.delete(&path).await.assert_status(202);
        app.get(&path).await.assert_error(404, "ResourceNotFound");
        app.delete(&path).await.assert_status(204);
    }

    async fn required_properties_and_valid_values(backend) {
        let app = ready_gallery(backend).await;
        let path = app.image_path("rg", "gal", "img");
        let cases: Vec<(Value, &str)> = vec![
            (json!({"osState": "Generalized", "identifier": {"publisher": "p", "offer": "o", "sku": "s"}}), "galleryImage.properties.osType"),
            (json!({"osType": "Linux", "identifier": {"publisher": "p", "offer": "o", "sku": "s"}}), "galleryImage.properties.osState"),
            (json!({"osType": "Linux", "osState": "Generalized"}), "galleryImage.properties.identifier"),
            (json!({"osType": "Linux", "osState": "Generalized", "identifier": {"publisher": "p", "offer": "o"}}), "galleryImage.properties.identifier.sku"),
            (json!({"osType": "Solaris", "osState": "Generalized", "identifier": {"publisher": "p", "offer": "o", "sku": "s"}}), "galleryImage.properties.osType"),
            (json!({"osType": "Linux", "osState": "Frozen", "identifier": {"publisher": "p", "offer": "o", "sku": "s"}}), "galleryImage.properties.osState"),
            (json!({"osType": "Linux", "osState": "Generalized", "hyperVGeneration": "V3", "identifier": {"publisher": "p", "offer": "o", "sku": "s"}}), "galleryImage.properties.hyperVGeneration"),
            (json!({"osType": "Linux", "osState": "Generalized", "architecture": "mips", "identifier": {"publisher": "p", "offer": "o", "sku": "s"}}), "galleryImage.properties.architecture"),
            (json!({"osType": "Linux", "osState": "Generalized", "identifier": {"publisher": "x".repeat(129), "offer": "o", "sku": "s"}}), "galleryImage.properties.identifier.publisher"),
            (json!({"osType": "Linux", "osState": "Generalized", "identifier": {"publisher": "p", "offer": "o".repeat(65), "sku": "s"}}), "galleryImage.properties.identifier.offer"),
            (json!({"osType": "Linux", "osState": "Generalized", "identifier": {"publisher": "p", "offer": "o", "sku": "s".repeat(65)}}), "galleryImage.properties.identifier.sku"),
            (json!({"osType": "Linux", "osState": "Generalized", "identifier": {"publisher": "p.", "offer": "o", "sku": "s"}}), "galleryImage.properties.identifier.publisher"),
            (json!({"osType": "Linux", "osState": "Generalized", "identifier": {"publisher": "p q", "offer": "o", "sku": "s"}}), "galleryImage.properties.identifier.publisher"),
            (json!({"osType": "Linux", "osState": "Generalized", "identifier": {"publisher": "p", "offer": "o", "sku": "s"}, "recommended": {"vCPUs": {"min": 8, "max": 2}}}), "galleryImage.properties.recommended.vCPUs"),
            (json!({"osType": "Linux", "osState": "Generalized", "identifier": {"publisher": "p", "offer": "o", "sku": "s"}, "recommended": {"memory": {"min": -1}}}), "galleryImage.properties.recommended.memory.min"),
            (json!({"osType": "Linux", "osState": "Generalized", "identifier": {"publisher": "p", "offer": "o", "sku": "s"}, "endOfLifeDate": "2001-01-01"}), "galleryImage.properties.endOfLifeDate"),
            (json!({"osType": "Linux", "osState": "Generalized", "identifier": {"publisher": "p", "offer": "o", "sku": "s"}, "endOfLifeDate": "someday"}), "galleryImage.properties.endOfLifeDate"),
            (json!({"osType": "Linux", "osState": "Generalized", "identifier": {"publisher": "p", "offer": "o", "sku": "s"}, "disallowed": {"diskTypes": ["Floppy"]}}), "galleryImage.properties.disallowed.diskTypes"),
            (json!({"osType": "Linux", "osState": "Generalized", "identifier": {"publisher": "p", "offer": "o", "sku": "s"}, "hyperVGeneration": "V1", "architecture": "Arm64"}), "galleryImage.properties.architecture"),
            (json!({"osType": "Linux", "osState": "Generalized", "identifier": {"publisher": "p", "offer": "o", "sku": "s"}, "hyperVGeneration": "V1", "features": [{"name": "SecurityType", "value": "TrustedLaunch"}]}), "galleryImage.properties.features"),
            (json!({"osType": "Linux", "osState": "Generalized", "identifier": {"publisher": "p", "offer": "o", "sku": "s"}, "features": [{"name": "SecurityType", "value": "Bulletproof"}]}), "galleryImage.properties.features[0].value"),
        ];
        for (properties, target) in cases {
            let response = app.put(&path, &json!({"location": "westus", "properties": properties})).await;
            response.assert_error(400, "InvalidParameter");
            assert_eq!(response.json()["error"]["target"], target, "{}", response.text);
        }
        app.put(&path, &json!({"location": "westus"})).await.assert_error(400, "InvalidParameter");
        for bad_name in ["-img", "img.", "img-", "_img", "i m g"] {
            let response = app.put(&app.image_path("rg", "gal", bad_name), &TestApp::image_body("p", "o", "s")).await;
            response.assert_error(400, "InvalidParameter");
            assert_eq!(response.json()["error"]["target"], "galleryImageName");
        }
        app.get(&path).await.assert_error(404, "ResourceNotFound");
    }

    async fn publisher_offer_sku_are_unique_within_a_gallery(backend) {
        let app = ready_gallery(backend).await;
        app.create_gallery("rg", "other").await;
        app.create_image("rg", "gal", "first", "Contoso", "Agents", "Linux").await;
        let clash = app.put(&app.image_path("rg", "gal", "second"), &TestApp::image_body("contoso", "AGENTS", "linux")).await;
        clash.assert_error(409, "Conflict");
        let message = clash.json()["error"]["message"].as_str().unwrap().to_string();
        assert!(message.starts_with("Gallery image: first identified by (publisher:contoso, offer:AGENTS, sku:linux) already exists."), "{message}");
        app.get(&app.image_path("rg", "gal", "second")).await.assert_error(404, "ResourceNotFound");
        // Another gallery may reuse it, and one or two of the three may be shared.
        app.create_image("rg", "other", "first", "Contoso", "Agents", "Linux").await;
        app.create_image("rg", "gal", "third", "Contoso", "Agents", "Windows").await;
        // Replacing the holder itself is fine; freeing the triple frees it for others.
        app.put(&app.image_path("rg", "gal", "first"), &TestApp::image_body("Contoso", "Agents", "Linux")).await.assert_status(200);
        app.delete(&app.image_path("rg", "gal", "first")).await.assert_status(202);
        app.create_image("rg", "gal", "second", "contoso", "agents", "linux").await.assert_status(201);
    }

    async fn only_updatable_properties_may_change(backend) {
        let app = ready_gallery(backend).await;
        let path = app.image_path("rg", "gal", "img");
        app.put(&path, &full_body()).await.assert_status(201);
        let changes: Vec<(Value, &str)> = vec![
            (json!({"osType": "Windows"}), "galleryImage.properties.osType"),
            (json!({"osState": "Specialized"}), "galleryImage.properties.osState"),
            (json!({"hyperVGeneration": "V1"}), "galleryImage.properties.hyperVGeneration"),
            (json!({"architecture": "Arm64"}), "galleryImage.properties.architecture"),
            (json!({"identifier": {"publisher": "Fabrikam"}}), "galleryImage.properties.identifier.publisher"),
            (json!({"identifier": {"offer": "Other"}}), "galleryImage.properties.identifier.offer"),
            (json!({"identifier": {"sku": "other"}}), "galleryImage.properties.identifier.sku"),
            (json!({"purchasePlan": {"name": "other"}}), "galleryImage.properties.purchasePlan"),
            (json!({"disallowed": {"diskTypes": ["Premium_LRS"]}}), "galleryImage.properties.disallowed"),
            (json!({"features": [{"name": "SecurityType", "value": "TrustedLaunchSupported"}]}), "galleryImage.properties.features"),
        ];
        for (properties, target) in changes {
            let response = app.patch(&path, &json!({"properties": properties})).await;
            response.assert_error(409, "PropertyChangeNotAllowed");
            assert_eq!(response.json()["error"]["target"], target);
            let message = response.json()["error"]["message"].as_str().unwrap_or_default().to_string();
            assert!(message.starts_with(&format!("Changing property '{target}' is not allowed.")), "{message}");
        }
        // The same change through a PUT is refused too.
        let mut body = full_body();
        body["properties"]["osState"] = json!("Specialized");
        app.put(&path, &body).await.assert_error(409, "PropertyChangeNotAllowed");
        // Sending the same values (in any casing) is not a change.
        let mut same = full_body();
        same["properties"]["identifier"]["publisher"] = json!("CONTOSO");
        same["properties"]["osType"] = json!("LINUX");
        app.put(&path, &same).await.assert_status(200);
        assert_eq!(app.get(&path).await.json()["properties"]["identifier"]["publisher"], "Contoso");
        // Features change with allowUpdateImage.
        let features = json!([{"name": "SecurityType", "value": "TrustedLaunchSupported"}]);
        let allowed = app.patch(&path, &json!({"properties": {"allowUpdateImage": true, "features": features}})).await;
        allowed.assert_status(200);
        assert_eq!(app.get(&path).await.json()["properties"]["features"], features);
        assert!(app.get(&path).await.json()["properties"].get("allowUpdateImage").is_none(), "an instruction, not stored");
        // An end-of-life date already in the past can be kept but not newly set.
        app.patch(&path, &json!({"properties": {"endOfLifeDate": "2000-01-01"}})).await.assert_error(400, "InvalidParameter");
    }

    async fn defaults_depend_on_the_api_version(backend) {
        let app = ready_gallery(backend).await;
        let new_path = app.image_path("rg", "gal", "new");
        let new = app.request(Method::PUT, &format!("{new_path}?api-version=2025-03-03"), Some(&TestApp::image_body("p", "o", "new"))).await;
        new.assert_status(201);
        assert_eq!(new.json()["properties"]["hyperVGeneration"], "V2");
        assert_eq!(new.json()["properties"]["architecture"], "x64");
        assert_eq!(new.json()["properties"]["features"], json!([{"name": "SecurityType", "value": "TrustedLaunchSupported"}]));
        let old_path = app.image_path("rg", "gal", "old");
        let old = app.request(Method::PUT, &format!("{old_path}?api-version=2021-10-01"), Some(&TestApp::image_body("p", "o", "old"))).await;
        old.assert_status(201);
        assert_eq!(old.json()["properties"]["hyperVGeneration"], "V1");
        assert!(old.json()["properties"].get("features").is_none());
        let mut standard = TestApp::image_body("p", "o", "standard");
        standard["properties"]["features"] = json!([{"name": "SecurityType", "value": "Standard"}]);
        let explicit = app.put(&app.image_path("rg", "gal", "standard"), &standard).await.json();
        assert_eq!(explicit["properties"]["features"], json!([{"name": "SecurityType", "value": "Standard"}]));
    }

    async fn parents_must_exist(backend) {
        let app = ready_gallery(backend).await;
        let orphan = app.put(&app.image_path("rg", "nogallery", "img"), &TestApp::image_body("p", "o", "s")).await;
        orphan.assert_error(404, "ParentResourceNotFound");
        assert!(orphan.json()["error"]["message"].as_str().unwrap().contains("Parent resource 'nogallery' not found."));
        app.get(&app.image_path("rg", "nogallery", "img")).await.assert_error(404, "ParentResourceNotFound");
        app.get(&format!("{}/images", app.gallery_path("rg", "nogallery"))).await.assert_error(404, "ParentResourceNotFound");
        app.get(&app.image_path("nogroup", "gal", "img")).await.assert_error(404, "ResourceGroupNotFound");
        app.put(&app.image_path("nogroup", "gal", "img"), &TestApp::image_body("p", "o", "s")).await.assert_error(404, "ResourceGroupNotFound");
        app.patch(&app.image_path("rg", "gal", "img"), &json!({"properties": {"description": "x"}})).await.assert_error(404, "ResourceNotFound");
        // An image definition may live in another region than its gallery.
        let mut elsewhere = TestApp::image_body("p", "o", "s");
        elsewhere["location"] = json!("northeurope");
        assert_eq!(app.put(&app.image_path("rg", "gal", "eu"), &elsewhere).await.json()["location"], "northeurope");
        let moved = app.put(&app.image_path("rg", "gal", "eu"), &TestApp::image_body("p", "o", "s")).await;
        moved.assert_error(409, "InvalidResourceLocation");
    }
}

/// Puts an image version row straight into the store (the versions API arrives with replication),
/// so the delete rules for definitions with versions can be exercised end to end.
async fn seed_version(app: &TestApp, group: &str, gallery: &str, image: &str, version: &str) {
    use gallery_store::{
        Applied, Decision, NewOperation, OperationStatus, ResourceTarget, WriteScope,
    };
    let image_id = format!(
        "/subscriptions/{}/resourceGroups/{group}/providers/Microsoft.Compute/galleries/{gallery}/images/{image}",
        app.subscription
    );
    let version_id = format!("{image_id}/versions/{version}");
    let image_key = image_id.to_lowercase();
    let version_key = version_id.to_lowercase();
    let target = ResourceTarget {
        resource_id: &version_id,
        resource_key: &version_key,
        subscription_id: &app.subscription,
        resource_group_key: &group.to_lowercase(),
        resource_type: gallery_domain::ids::GALLERY_IMAGE_VERSION_TYPE,
        parent_key: Some(&image_key),
        quota: None,
    };
    let operation = NewOperation {
        operation_id: uuid::Uuid::new_v4().to_string(),
        action: "Microsoft.Compute/galleries/images/versions/write".to_string(),
        status: OperationStatus::Succeeded,
        started_at: "2026-01-01T00:00:00Z".to_string(),
        ended_at: None,
        final_status: 200,
    };
    let store = app.server().app.store().expect("store open");
    let decision = Decision::new(
        version.to_string(),
        "westus".to_string(),
        "Succeeded".to_string(),
        json!({"id": version_id, "name": version}).to_string(),
    );
    let WriteScope::Found(scope) = store
        .read_write_scope(&target)
        .await
        .expect("read the scope")
    else {
        panic!("the image definition of a seeded version exists");
    };
    let applied = store
        .apply_write(&target, &scope, &decision, &operation)
        .await
        .expect("seed a version");
    assert!(matches!(applied, Applied::Done(_)), "{applied:?}");
}

both_stores! {
    async fn definitions_with_versions_cannot_be_deleted(backend) {
        let app = ready_gallery(backend).await;
        app.create_image("rg", "gal", "img", "p", "o", "s").await;
        seed_version(&app, "rg", "gal", "img", "1.0.0").await;
        let refused = app.delete(&app.image_path("rg", "gal", "img")).await;
        refused.assert_error(409, "CannotDeleteResource");
        app.get(&app.image_path("rg", "gal", "img")).await.assert_status(200);
        app.delete(&app.gallery_path("rg", "gal")).await.assert_error(409, "CannotDeleteResource");
        // Deleting the resource group removes the whole tree, versions first.
        let deleted = app.request(Method::DELETE, &format!("{}?api-version=2024-11-01", app.subscription_path("/resourcegroups/rg")), None).await;
        deleted.assert_status(202);
        app.create_group("rg", "westus").await;
        app.get(&app.gallery_path("rg", "gal")).await.assert_error(404, "ResourceNotFound");
    }
}
