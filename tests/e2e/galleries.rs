//! Galleries: the six operations and every rule Azure enforces on them.

use galleryd_tests::{GALLERY_API, TestApp, both_stores};
use serde_json::json;

both_stores! {
    async fn create_get_update_list_delete(backend) {
        let app = TestApp::start(backend).await;
        app.create_group("rg", "eastus").await;
        let path = app.gallery_path("rg", "myGallery");
        let created = app.put(&path, &json!({"location": "East US", "tags": {"team": "images"}, "properties": {"description": "first"}})).await;
        created.assert_status(201);
        let body = created.json();
        assert_eq!(body["type"], "Microsoft.Compute/galleries");
        assert_eq!(body["location"], "eastus");
        assert_eq!(body["tags"]["team"], "images");
        assert_eq!(body["properties"]["identifier"]["uniqueName"], format!("{}-MYGALLERY", app.subscription));

        let fetched = app.get(&path).await.json();
        assert_eq!(fetched["properties"]["description"], "first");
        assert_eq!(fetched["properties"]["provisioningState"], "Succeeded");
        assert!(fetched["systemData"]["createdAt"].is_string());

        // PATCH merges properties and replaces the tags only when given.
        let patched = app.patch(&path, &json!({"properties": {"description": "second"}})).await;
        patched.assert_status(200);
        assert_eq!(patched.json()["properties"]["description"], "second");
        assert_eq!(patched.json()["tags"]["team"], "images");
        let retagged = app.patch(&path, &json!({"tags": {"owner": "me"}})).await.json();
        assert_eq!(retagged["tags"], json!({"owner": "me"}));
        assert_eq!(retagged["properties"]["description"], "second");

        // PUT replaces: the description goes away, identifier and creation data stay.
        let replaced = app.put(&path, &json!({"location": "eastus"})).await;
        replaced.assert_status(200);
        let replaced = app.get(&path).await.json();
        assert!(replaced["properties"].get("description").is_none());
        assert_eq!(replaced["properties"]["identifier"], body["properties"]["identifier"]);
        assert_eq!(replaced["systemData"]["createdAt"], body["systemData"]["createdAt"]);

        app.create_gallery("rg", "second").await;
        let (in_group, _) = app.list_all(&format!("{}/providers/Microsoft.Compute/galleries?api-version={GALLERY_API}", app.group_path("rg"))).await;
        assert_eq!(in_group.len(), 2);

        app.delete(&path).await.assert_status(202);
        app.get(&path).await.assert_error(404, "ResourceNotFound");
        let message = app.get(&path).await.json()["error"]["message"].as_str().unwrap().to_string();
        assert!(message.starts_with("The Resource 'Microsoft.Compute/galleries/myGallery' under resource group 'rg' was not found."), "{message}");
        app.patch(&path, &json!({"properties": {}})).await.assert_error(404, "ResourceNotFound");
    }

    async fn gallery_names_follow_the_rules(backend) {
        let app = TestApp::start(backend).await;
        app.create_group("rg", "westus").await;
        for good in ["g", "my_gallery.v2", "A1b2", &"a".repeat(80)] {
            app.put(&app.gallery_path("rg", good), &json!({"location": "westus"})).await.assert_status(201);
        }
        for bad in ["my-gallery", "_gallery", "gallery_", "gallery.", &"a".repeat(81)] {
            let response = app.put(&app.gallery_path("rg", bad), &json!({"location": "westus"})).await;
            response.assert_error(400, "InvalidParameter");
            assert_eq!(response.json()["error"]["target"], "galleryName", "{bad}");
        }
    }

    async fn names_are_unique_within_the_subscription(backend) {
        let app = TestApp::start(backend).await;
        app.create_group("rg1", "westus").await;
        app.create_group("rg2", "westus").await;
        app.create_gallery("rg1", "shared").await;
        let clash = app.put(&app.gallery_path("rg2", "SHARED"), &json!({"location": "westus"})).await;
        clash.assert_error(409, "Conflict");
        assert!(clash.json()["error"]["message"].as_str().unwrap().contains("is not unique within the subscription"));
        app.get(&app.gallery_path("rg2", "shared")).await.assert_error(404, "ResourceNotFound");
        // Once the first one is gone the name is free again.
        app.delete(&app.gallery_path("rg1", "shared")).await.assert_status(202);
        app.create_gallery("rg2", "shared").await.assert_status(201);
    }

    async fn location_and_creation_only_properties_cannot_change(backend) {
        let app = TestApp::start(backend).await;
        app.create_group("rg", "westus").await;
        let path = app.gallery_path("rg", "gal");
        app.create_gallery("rg", "gal").await;
        let moved = app.put(&path, &json!({"location": "eastus"})).await;
        moved.assert_error(409, "InvalidResourceLocation");
        assert!(moved.json()["error"]["message"].as_str().unwrap().contains("already exists in location 'westus'"));
        app.put(&path, &json!({"location": "West US"})).await.assert_status(200);

        // Private <-> Groups may change; becoming a community gallery may not.
        app.patch(&path, &json!({"properties": {"sharingProfile": {"permissions": "Groups"}}})).await.assert_status(200);
        let community = app.patch(&path, &json!({"properties": {"sharingProfile": {"permissions": "Community"}}})).await;
        community.assert_error(409, "PropertyChangeNotAllowed");
        assert_eq!(community.json()["error"]["target"], "gallery.properties.sharingProfile.permissions");
        app.patch(&path, &json!({"properties": {"sharingProfile": {"permissions": "Secret"}}})).await.assert_error(400, "InvalidParameter");

        // Soft delete is writable.
        let policy = app.patch(&path, &json!({"properties": {"softDeletePolicy": {"isSoftDeleteEnabled": true}}})).await;
        policy.assert_status(200);
        assert_eq!(policy.json()["properties"]["softDeletePolicy"]["isSoftDeleteEnabled"], true);
        assert_eq!(app.get(&path).await.json()["properties"]["sharingProfile"]["permissions"], "Groups");
    }

    async fn sharing_views_and_community_galleries(backend) {
        let app = TestApp::start(backend).await;
        app.create_group("rg", "westus").await;
        let path = app.gallery_path("rg", "shared");
        app.put(&path, &json!({"location": "westus", "properties": {"description": "d", "sharingProfile": {"permissions": "Groups"}}})).await.assert_status(201);

        let plain = app.get(&path).await.json();
        assert_eq!(plain["properties"]["sharingProfile"], json!({"permissions": "Groups"}));
        let expanded = app.get(&format!("{path}?$expand=SharingProfile/Groups")).await.json();
        assert_eq!(expanded["properties"]["sharingProfile"]["groups"], json!([]));
        let permissions = app.get(&format!("{path}?$select=Permissions")).await.json();
        assert_eq!(permissions["properties"], json!({"sharingProfile": {"permissions": "Groups", "groups": []}}));
        app.get(&format!("{path}?$select=Everything")).await.assert_error(400, "InvalidQueryParameterValue");
        app.get(&format!("{path}?$expand=Nothing")).await.assert_error(400, "InvalidQueryParameterValue");

        let community = app.gallery_path("rg", "community");
        let incomplete = app.put(&community, &json!({"location": "westus", "properties": {"sharingProfile": {"permissions": "Community"}}})).await;
        incomplete.assert_error(400, "InvalidParameter");
        let info = json!({"publisherUri": "https://contoso.com", "publisherContact": "images@contoso.com", "eula": "https://contoso.com/eula", "publicNamePrefix": "contoso"});
        let created = app.put(&community, &json!({"location": "westus", "properties": {"sharingProfile": {"permissions": "Community", "communityGalleryInfo": info}}})).await;
        created.assert_status(201);
        assert_eq!(created.json()["properties"]["sharingProfile"]["communityGalleryInfo"]["communityGalleryEnabled"], false);
        let back = app.patch(&community, &json!({"properties": {"sharingProfile": {"permissions": "Private"}}})).await;
        back.assert_error(409, "PropertyChangeNotAllowed");
    }

    async fn managed_identity_is_filled_in(backend) {
        let app = TestApp::start(backend).await;
        app.create_group("rg", "westus").await;
        let path = app.gallery_path("rg", "gal");
        let user_identity = format!("/subscriptions/{}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1", app.subscription);
        let created = app.put(&path, &json!({"location": "westus", "identity": {"type": "SystemAssigned, UserAssigned", "userAssignedIdentities": {user_identity.clone(): {}}}})).await;
        created.assert_status(201);
        let identity = &created.json()["identity"];
        assert_eq!(identity["type"], "SystemAssigned, UserAssigned");
        assert_eq!(identity["tenantId"], galleryd_tests::DEVELOPMENT_TENANT_ID);
        let principal = identity["principalId"].as_str().unwrap().to_string();
        assert_eq!(principal.len(), 36);
        assert!(identity["userAssignedIdentities"][&user_identity]["clientId"].is_string());
        // The principal survives an update.
        let updated = app.patch(&path, &json!({"properties": {"description": "x"}})).await.json();
        assert_eq!(updated["identity"]["principalId"], principal.as_str());
        app.put(&path, &json!({"location": "westus", "identity": {"type": "UserAssigned"}})).await.assert_error(400, "InvalidParameter");
        app.put(&path, &json!({"location": "westus", "identity": {"type": "Sometimes"}})).await.assert_error(400, "InvalidParameter");
        let none = app.put(&path, &json!({"location": "westus", "identity": {"type": "None"}})).await.json();
        assert_eq!(none["identity"], json!({"type": "None"}));
    }

    async fn galleries_with_image_definitions_cannot_be_deleted(backend) {
        let app = TestApp::start(backend).await;
        app.create_group("rg", "westus").await;
        app.create_gallery("rg", "gal").await;
        app.create_image("rg", "gal", "img", "p", "o", "s").await;
        let refused = app.delete(&app.gallery_path("rg", "gal")).await;
        refused.assert_error(409, "CannotDeleteResource");
        assert_eq!(refused.json()["error"]["message"], "Can not delete resource before nested resources are deleted.");
        app.get(&app.image_path("rg", "gal", "img")).await.assert_status(200);
        app.delete(&app.image_path("rg", "gal", "img")).await.assert_status(202);
        app.delete(&app.gallery_path("rg", "gal")).await.assert_status(202);
    }

    async fn missing_resource_group_and_tags_rules(backend) {
        let app = TestApp::start(backend).await;
        app.put(&app.gallery_path("nogroup", "gal"), &json!({"location": "westus"})).await.assert_error(404, "ResourceGroupNotFound");
        app.get(&app.gallery_path("nogroup", "gal")).await.assert_error(404, "ResourceGroupNotFound");
        app.delete(&app.gallery_path("nogroup", "gal")).await.assert_error(404, "ResourceGroupNotFound");
        app.create_group("rg", "westus").await;
        let path = app.gallery_path("rg", "gal");
        let too_many: serde_json::Map<String, serde_json::Value> = (0..51).map(|index| (format!("tag{index}"), json!("v"))).collect();
        app.put(&path, &json!({"location": "westus", "tags": too_many})).await.assert_error(400, "InvalidTagCount");
        app.put(&path, &json!({"location": "westus", "tags": {"a<b": "v"}})).await.assert_error(400, "InvalidTagNameCharacters");
        app.put(&path, &json!({"location": "westus", "tags": {"v": "x".repeat(257)}})).await.assert_error(400, "InvalidTagValueLength");
        let fifty: serde_json::Map<String, serde_json::Value> = (0..50).map(|index| (format!("tag{index}"), json!("v"))).collect();
        app.put(&path, &json!({"location": "westus", "tags": fifty})).await.assert_status(201);
        app.patch(&path, &json!({"tags": {"a?": "x"}})).await.assert_error(400, "InvalidTagNameCharacters");
        assert_eq!(app.get(&path).await.json()["tags"].as_object().unwrap().len(), 50, "a refused update changed nothing");
        let restricted = app.put(&app.gallery_path("rg", "aus"), &json!({"location": "australiacentral"})).await;
        restricted.assert_error(400, "LocationNotAvailableForResourceType");
    }
}
