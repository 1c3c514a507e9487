//! Gallery script versions end to end: the script is read from `source.scriptLink` (a plain HTTP
//! server of the test), replicated into every target region × replica with its checksum, updated
//! under the rules and deleted with everything it stored.

use std::collections::BTreeMap;

use galleryd_tests::{GALLERY_API, TestApp, both_stores};
use serde_json::json;

use crate::gallery_application_versions::serve_files;
use crate::gallery_image_versions::{
    assert_replicas_hold, contents_on_disk, expected_checksum, replicas, succeeded, target,
};

both_stores! {
    async fn a_script_is_read_replicated_updated_and_deleted(backend) {
        let app = TestApp::start(backend).await;
        app.create_group("rg", "westus").await;
        app.create_gallery("rg", "gal").await;
        let script_path = format!("{}/scripts/cleanup", app.gallery_path("rg", "gal"));
        app.put(&script_path, &json!({"location": "westus", "properties": {"supportedOSType": "Windows"}}))
            .await
            .assert_status(201);
        let script = b"param([int]$count = 3)\nWrite-Output $count\n".to_vec();
        let server = serve_files(BTreeMap::from([("cleanup.ps1".to_string(), script.clone())])).await;
        let before = contents_on_disk(&app);

        let path = format!("{script_path}/versions/1.0.0");
        let body = json!({"location": "West US", "properties": {
            "publishingProfile": {
                "source": {"scriptLink": format!("{server}/cleanup.ps1"), "parameters": [
                    {"name": "count", "required": true, "type": "Int", "defaultValue": "3", "minValue": "1", "maxValue": "5"},
                    {"name": "kind", "type": "Enum", "enumValues": ["Fruit", "Nuts"]}
                ]},
                "targetRegions": [target("West US", 2), target("eastus", 1)]
            },
            "safetyProfile": {"allowDeletionOfReplicatedLocations": false}
        }});
        let created = app.put(&path, &body).await;
        created.assert_status(201);
        let answer = created.json();
        assert_eq!(answer["type"], "Microsoft.Compute/galleries/scripts/versions");
        assert_eq!(answer["properties"]["provisioningState"], "Creating");
        assert_eq!(answer["properties"]["publishingProfile"]["source"]["parameters"][1]["enumValues"], json!(["Fruit", "Nuts"]));
        succeeded(&app, &created).await;
        let with_status = app.get(&format!("{path}?$expand=ReplicationStatus")).await.json();
        assert_eq!(with_status["properties"]["replicationStatus"]["aggregatedState"], "Completed");
        let version_id = answer["id"].as_str().unwrap().to_string();
        let all = replicas(&app, &version_id).await;
        assert_eq!(all.len(), 3, "{all:?}");
        assert!(all.iter().all(|replica| replica["disk"] == "script"));
        assert_replicas_hold(&app, &all, &script, &expected_checksum(&script));

        let relinked = app.patch(&path, &json!({"properties": {"publishingProfile": {"source": {"scriptLink": format!("{server}/other.ps1")}}}})).await;
        relinked.assert_error(409, "PropertyChangeNotAllowed");
        let patched = app.patch(&path, &json!({"properties": {"publishingProfile": {"excludeFromLatest": true}}})).await;
        patched.assert_status(200);
        succeeded(&app, &patched).await;
        assert_eq!(app.get(&path).await.json()["properties"]["publishingProfile"]["excludeFromLatest"], true);

        let refused = app.put(&format!("{script_path}/versions/2.0.0"), &json!({"location": "westus", "properties": {
            "publishingProfile": {"source": {"scriptLink": format!("{server}/missing.ps1")}}
        }})).await;
        refused.assert_error(400, "InvalidParameter");
        assert_eq!(refused.json()["error"]["target"], "galleryScriptVersion.properties.publishingProfile.source.scriptLink");

        let (versions, _) = app.list_all(&format!("{script_path}/versions?api-version={GALLERY_API}")).await;
        assert_eq!(versions.len(), 1);
        app.delete(&script_path).await.assert_error(409, "CannotDeleteResource");
        let deleted = app.delete(&path).await;
        deleted.assert_status(202);
        succeeded(&app, &deleted).await;
        app.get(&path).await.assert_error(404, "ResourceNotFound");
        assert_eq!(contents_on_disk(&app), before, "the script and its replicas are gone");
        app.delete(&script_path).await.assert_status(202);
    }
}
