//! VM application definitions: the five operations and the rules Azure enforces on them.

use galleryd_tests::{GALLERY_API, TestApp, both_stores};
use serde_json::{Value, json};

async fn ready_gallery(backend: galleryd_tests::Backend) -> TestApp {
    let app = TestApp::start(backend).await;
    app.create_group("rg", "westus").await;
    app.create_gallery("rg", "gal").await;
    app
}

fn application_path(app: &TestApp, name: &str) -> String {
    format!("{}/applications/{name}", app.gallery_path("rg", "gal"))
}

fn full_body() -> Value {
    json!({
        "location": "West US",
        "tags": {"team": "tools"},
        "properties": {
            "description": "Build tools",
            "eula": "Use at will.",
            "privacyStatementUri": "https://contoso.com/privacy",
            "releaseNoteUri": "https://contoso.com/notes",
            "endOfLifeDate": "2099-12-31",
            "supportedOSType": "linux",
            "customActions": [{
                "name": "reset",
                "script": "reset.sh",
                "description": "Resets the tool cache",
                "parameters": [{"name": "level", "required": false, "type": "string", "defaultValue": "1"}]
            }]
        }
    })
}

both_stores! {
    async fn create_get_update_list_delete(backend) {
        let app = ready_gallery(backend).await;
        let path = application_path(&app, "tools");
        let created = app.put(&path, &full_body()).await;
        created.assert_status(201);
        let body = created.json();
        assert_eq!(body["type"], "Microsoft.Compute/galleries/applications");
        assert_eq!(body["location"], "westus");
        assert_eq!(body["properties"]["supportedOSType"], "Linux", "enums answer in the spec's casing");
        assert_eq!(body["properties"]["endOfLifeDate"], "2099-12-31T00:00:00+00:00");
        assert_eq!(body["properties"]["customActions"][0]["parameters"][0]["type"], "String");
        assert!(body["properties"].get("provisioningState").is_none(), "the spec serves no provisioning state: {body}");
        assert_eq!(app.operation_status(&created).await["status"], "Succeeded");

        let fetched = app.get(&path).await;
        fetched.assert_status(200);
        assert_eq!(fetched.json(), body);
        // Any casing of the path finds it; the id keeps the created casing.
        let shouted = app.get(&path.replace("/applications/tools", "/APPLICATIONS/TOOLS")).await;
        assert_eq!(shouted.json()["id"], body["id"]);

        // What may change, changes; a merge-patch keeps what it does not mention.
        let patched = app.patch(&path, &json!({"tags": {"team": "platform"}, "properties": {
            "description": "Platform tools", "releaseNoteUri": "https://contoso.com/notes2",
            "customActions": [{"name": "clean", "script": "clean.sh"}]
        }})).await;
        patched.assert_status(200);
        let patched = app.get(&path).await.json();
        assert_eq!(patched["properties"]["description"], "Platform tools");
        assert_eq!(patched["properties"]["eula"], "Use at will.");
        assert_eq!(patched["properties"]["customActions"], json!([{"name": "clean", "script": "clean.sh"}]));
        assert_eq!(patched["tags"], json!({"team": "platform"}));

        // A PUT replaces: members it leaves out are gone.
        let replaced = app.put(&path, &json!({"location": "westus", "properties": {"supportedOSType": "Linux"}})).await;
        replaced.assert_status(200);
        assert!(app.get(&path).await.json()["properties"].get("description").is_none());

        app.put(&application_path(&app, "agent"), &json!({"location": "westus", "properties": {"supportedOSType": "Windows"}}))
            .await
            .assert_status(201);
        let (applications, _) = app
            .list_all(&format!("{}/applications?api-version={GALLERY_API}", app.gallery_path("rg", "gal")))
            .await;
        let mut names: Vec<&str> = applications.iter().map(|item| item["name"].as_str().unwrap()).collect();
        names.sort_unstable();
        assert_eq!(names, ["agent", "tools"]);

        app.delete(&path).await.assert_status(202);
        app.get(&path).await.assert_error(404, "ResourceNotFound");
        app.delete(&path).await.assert_status(204);
    }

    async fn rules_and_errors(backend) {
        let app = ready_gallery(backend).await;
        let path = application_path(&app, "tools");
        let cases: Vec<(Value, &str)> = vec![
            (json!({"description": "no os"}), "galleryApplication.properties.supportedOSType"),
            (json!({"supportedOSType": "Solaris"}), "galleryApplication.properties.supportedOSType"),
            (json!({"supportedOSType": "Linux", "endOfLifeDate": "2001-01-01"}), "galleryApplication.properties.endOfLifeDate"),
            (json!({"supportedOSType": "Linux", "endOfLifeDate": "someday"}), "galleryApplication.properties.endOfLifeDate"),
            (json!({"supportedOSType": "Linux", "customActions": [{"name": "a"}]}), "galleryApplication.properties.customActions[0].script"),
            (json!({"supportedOSType": "Linux", "customActions": [{"name": "a", "script": "s"}, {"name": "A", "script": "s"}]}), "galleryApplication.properties.customActions"),
            (json!({"supportedOSType": "Linux", "customActions": [{"name": "a", "script": "s", "parameters": [{"name": "p", "type": "Number"}]}]}), "galleryApplication.properties.customActions[0].parameters[0].type"),
        ];
        for (properties, target) in cases {
            let response = app.put(&path, &json!({"location": "westus", "properties": properties})).await;
            response.assert_error(400, "InvalidParameter");
            assert_eq!(response.json()["error"]["target"], target, "{}", response.text);
        }
        app.put(&path, &json!({"location": "westus"})).await.assert_error(400, "InvalidParameter");
        app.put(&path, &json!({"properties": {"supportedOSType": "Linux"}})).await.assert_error(400, "LocationRequired");
        for bad_name in ["-app", "app.", "app-", "_app"] {
            let response = app.put(&application_path(&app, bad_name), &full_body()).await;
            response.assert_error(400, "InvalidParameter");
            assert_eq!(response.json()["error"]["target"], "galleryApplicationName");
        }
        app.get(&path).await.assert_error(404, "ResourceNotFound");
        app.patch(&path, &json!({"properties": {"description": "x"}})).await.assert_error(404, "ResourceNotFound");
        let orphan = format!("{}/applications/tools", app.gallery_path("rg", "nogallery"));
        app.put(&orphan, &full_body()).await.assert_error(404, "ParentResourceNotFound");

        app.put(&path, &full_body()).await.assert_status(201);
        let changed = app.patch(&path, &json!({"properties": {"supportedOSType": "Windows"}})).await;
        changed.assert_error(409, "PropertyChangeNotAllowed");
        assert_eq!(changed.json()["error"]["target"], "galleryApplication.properties.supportedOSType");
        let moved = app.put(&path, &json!({"location": "eastus", "properties": {"supportedOSType": "Linux"}})).await;
        moved.assert_error(409, "InvalidResourceLocation");
        // Nothing of the refused writes was stored.
        assert_eq!(app.get(&path).await.json()["properties"]["supportedOSType"], "Linux");
        // The gallery keeps its applications: it cannot go first.
        app.delete(&app.gallery_path("rg", "gal")).await.assert_error(409, "CannotDeleteResource");
    }
}
