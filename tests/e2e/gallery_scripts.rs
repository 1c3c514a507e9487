//! Gallery script definitions (api-version 2025-03-03): the five operations and their rules.

use galleryd_tests::{GALLERY_API, TestApp, both_stores};
use serde_json::{Value, json};

fn script_path(app: &TestApp, name: &str) -> String {
    format!("{}/scripts/{name}", app.gallery_path("rg", "gal"))
}

fn body() -> Value {
    json!({
        "location": "West US",
        "tags": {"team": "ops"},
        "properties": {
            "description": "This is the gallery script description.",
            "eula": "This is the gallery script EULA.",
            "privacyStatementUri": "https://contoso.com/privacy",
            "releaseNoteUri": "https://contoso.com/notes",
            "supportedOSType": "windows",
            "endOfLifeDate": "2099-01-01"
        }
    })
}

both_stores! {
    async fn script_definitions_follow_the_rules(backend) {
        let app = TestApp::start(backend).await;
        app.create_group("rg", "westus").await;
        app.create_gallery("rg", "gal").await;
        let path = script_path(&app, "cleanup");
        let created = app.put(&path, &body()).await;
        created.assert_status(201);
        let answer = created.json();
        assert_eq!(answer["type"], "Microsoft.Compute/galleries/scripts");
        assert_eq!(answer["properties"]["provisioningState"], "Creating");
        assert_eq!(answer["properties"]["supportedOSType"], "Windows");
        assert_eq!(answer["properties"]["endOfLifeDate"], "2099-01-01T00:00:00+00:00");
        assert_eq!(app.operation_status(&created).await["status"], "Succeeded");
        let fetched = app.get(&path).await.json();
        assert_eq!(fetched["properties"]["provisioningState"], "Succeeded");

        let patched = app.patch(&path, &json!({"properties": {"description": "Cleans up"}})).await;
        patched.assert_status(200);
        assert_eq!(patched.json()["properties"]["provisioningState"], "Updating");
        let fetched = app.get(&path).await.json();
        assert_eq!(fetched["properties"]["description"], "Cleans up");
        assert_eq!(fetched["properties"]["eula"], "This is the gallery script EULA.");

        let changed = app.patch(&path, &json!({"properties": {"supportedOSType": "Linux"}})).await;
        changed.assert_error(409, "PropertyChangeNotAllowed");
        assert_eq!(changed.json()["error"]["target"], "galleryScript.properties.supportedOSType");
        for (properties, target) in [
            (json!({"description": "no os"}), "galleryScript.properties.supportedOSType"),
            (json!({"supportedOSType": "Plan9"}), "galleryScript.properties.supportedOSType"),
            (json!({"supportedOSType": "Linux", "endOfLifeDate": "2001-01-01"}), "galleryScript.properties.endOfLifeDate"),
        ] {
            let refused = app.put(&script_path(&app, "other"), &json!({"location": "westus", "properties": properties})).await;
            refused.assert_error(400, "InvalidParameter");
            assert_eq!(refused.json()["error"]["target"], target, "{}", refused.text);
        }
        let bad_name = app.put(&script_path(&app, "-bad"), &body()).await;
        bad_name.assert_error(400, "InvalidParameter");
        assert_eq!(bad_name.json()["error"]["target"], "galleryScriptName");
        app.get(&script_path(&app, "other")).await.assert_error(404, "ResourceNotFound");

        let (scripts, _) = app
            .list_all(&format!("{}/scripts?api-version={GALLERY_API}", app.gallery_path("rg", "gal")))
            .await;
        assert_eq!(scripts.len(), 1);
        assert_eq!(scripts[0]["name"], "cleanup");
        app.delete(&app.gallery_path("rg", "gal")).await.assert_error(409, "CannotDeleteResource");
        app.delete(&path).await.assert_status(202);
        app.get(&path).await.assert_error(404, "ResourceNotFound");
        app.delete(&path).await.assert_status(204);
    }
}
