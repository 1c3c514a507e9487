//! VM application versions end to end: the package and default configuration are read from their
//! links (a plain HTTP server of the test, and galleryd's own blob endpoint), replicated into every
//! target region × replica with the checksum of their bytes, shown by `$expand=ReplicationStatus`,
//! updated under the spec's rules and deleted with everything they stored.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use galleryd_tests::{GALLERY_API, TestApp, both_stores};
use serde_json::{Value, json};

use crate::disks;
use crate::gallery_image_versions::{
    assert_replicas_hold, contents_on_disk, expected_checksum, replicas, succeeded, target,
};

/// Serves `files` (`/name` → bytes) over plain HTTP on 127.0.0.1 and answers 404 for anything
/// else; returns the base URL. The server lives as long as the test's runtime.
pub(crate) async fn serve_files(files: BTreeMap<String, Vec<u8>>) -> String {
    async fn file(
        State(files): State<Arc<BTreeMap<String, Vec<u8>>>>,
        Path(name): Path<String>,
    ) -> Result<Vec<u8>, StatusCode> {
        files.get(&name).cloned().ok_or(StatusCode::NOT_FOUND)
    }
    let router = axum::Router::new()
        .route("/{name}", axum::routing::get(file))
        .with_state(Arc::new(files));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{address}")
}

async fn ready_application(app: &TestApp) {
    app.create_group("rg", "westus").await;
    app.create_gallery("rg", "gal").await;
    let created = app
        .put(
            &application_path(app),
            &json!({"location": "westus", "properties": {"supportedOSType": "Linux"}}),
        )
        .await;
    created.assert_status(201);
}

fn application_path(app: &TestApp) -> String {
    format!("{}/applications/tools", app.gallery_path("rg", "gal"))
}

fn version_path(app: &TestApp, version: &str) -> String {
    format!("{}/versions/{version}", application_path(app))
}

fn version_body(media_link: &str, configuration_link: Option<&str>, targets: &[Value]) -> Value {
    let mut source = json!({"mediaLink": media_link});
    if let Some(link) = configuration_link {
        source["defaultConfigurationLink"] = json!(link);
    }
    json!({
        "location": "westus",
        "properties": {
            "publishingProfile": {
                "source": source,
                "manageActions": {"install": "tar -xf tools.tgz -C /opt", "remove": "rm -rf /opt/tools"},
                "settings": {"packageFileName": "tools.tgz", "configFileName": "tools.cfg", "scriptBehaviorAfterReboot": "Rerun"},
                "advancedSettings": {"timeout": "300"},
                "enableHealthCheck": true,
                "customActions": [{"name": "reset", "script": "reset.sh"}],
                "targetRegions": targets,
                "replicaCount": 1
            },
            "safetyProfile": {"allowDeletionOfReplicatedLocations": false}
        }
    })
}

/// The replicas of one part of a version.
fn of_part(all: &[Value], part: &str) -> Vec<Value> {
    all.iter()
        .filter(|replica| replica["disk"] == part)
        .cloned()
        .collect::<Vec<Value>>()
}

both_stores! {
    async fn a_package_is_read_replicated_updated_and_deleted(backend) {
        let app = TestApp::start(backend).await;
        ready_application(&app).await;
        // Larger than one 4 MiB page, so the read is cut into pages and sealed into two extents.
        let package = disks::pattern(11, 5 * 1024 * 1024 + 123);
        let configuration = b"threads=4\n".to_vec();
        let server = serve_files(BTreeMap::from([
            ("tools.tgz".to_string(), package.clone()),
            ("tools.cfg".to_string(), configuration.clone()),
        ]))
        .await;
        let before = contents_on_disk(&app);

        let path = version_path(&app, "1.0.0");
        let body = version_body(
            &format!("{server}/tools.tgz?sv=2024&sig=secret"),
            Some(&format!("{server}/tools.cfg")),
            &[target("West US", 2), target("eastus", 1)],
        );
        let created = app.put(&path, &body).await;
        created.assert_status(201);
        let answer = created.json();
        assert_eq!(answer["type"], "Microsoft.Compute/galleries/applications/versions");
        assert_eq!(answer["properties"]["provisioningState"], "Creating");
        let profile = &answer["properties"]["publishingProfile"];
        assert_eq!(profile["source"]["mediaLink"], body["properties"]["publishingProfile"]["source"]["mediaLink"]);
        assert_eq!(profile["manageActions"]["remove"], "rm -rf /opt/tools");
        assert_eq!(profile["settings"]["scriptBehaviorAfterReboot"], "Rerun");
        assert_eq!(profile["enableHealthCheck"], true);
        assert_eq!(profile["advancedSettings"], json!({"timeout": "300"}));
        assert_eq!(profile["targetRegions"][0]["storageAccountType"], "Standard_LRS");
        assert!(profile["publishedDate"].is_string());
        succeeded(&app, &created).await;

        let fetched = app.get(&path).await;
        fetched.assert_status(200);
        assert_eq!(fetched.json()["properties"]["provisioningState"], "Succeeded");
        let with_status = app.get(&format!("{path}?$expand=ReplicationStatus")).await.json();
        let status = &with_status["properties"]["replicationStatus"];
        assert_eq!(status["aggregatedState"], "Completed", "{status}");
        let regions: Vec<&str> = status["summary"].as_array().unwrap().iter().map(|region| region["region"].as_str().unwrap()).collect();
        assert_eq!(regions, ["West US", "East US"]);
        assert!(app.get(&path).await.json()["properties"].get("replicationStatus").is_none());

        // Every region × replica holds each part, checksummed.
        let version_id = answer["id"].as_str().unwrap().to_string();
        let all = replicas(&app, &version_id).await;
        assert_eq!(all.len(), 6, "{all:?}");
        let packages = of_part(&all, "package");
        assert_eq!(packages.len(), 3);
        assert_replicas_hold(&app, &packages, &package, &expected_checksum(&package));
        let configurations = of_part(&all, "configuration");
        assert_eq!(configurations.len(), 3);
        assert_replicas_hold(&app, &configurations, &configuration, &expected_checksum(&configuration));

        // What may change, changes: another region, exclude from latest, end of life.
        let patched = app.patch(&path, &json!({"properties": {"publishingProfile": {
            "targetRegions": [target("West US", 2), target("eastus", 1), target("westeurope", 1)],
            "excludeFromLatest": true,
            "endOfLifeDate": "2099-01-01T00:00:00Z"
        }}})).await;
        patched.assert_status(200);
        assert_eq!(patched.json()["properties"]["provisioningState"], "Updating");
        succeeded(&app, &patched).await;
        let all = replicas(&app, &version_id).await;
        assert_eq!(all.len(), 8, "{all:?}");
        assert_replicas_hold(&app, &of_part(&all, "package"), &package, &expected_checksum(&package));
        let updated = app.get(&path).await.json();
        assert_eq!(updated["properties"]["publishingProfile"]["excludeFromLatest"], true);
        assert_eq!(updated["properties"]["publishingProfile"]["manageActions"]["install"], "tar -xf tools.tgz -C /opt");

        // The package never changes; regions go only with the safety setting.
        let relinked = app.patch(&path, &json!({"properties": {"publishingProfile": {"source": {"mediaLink": format!("{server}/tools.cfg")}}}})).await;
        relinked.assert_error(409, "PropertyChangeNotAllowed");
        assert_eq!(relinked.json()["error"]["target"], "galleryApplicationVersion.properties.publishingProfile.source");
        let fewer = app.patch(&path, &json!({"properties": {"publishingProfile": {"targetRegions": [target("West US", 2)]}}})).await;
        fewer.assert_error(409, "OperationNotAllowed");

        // A second version, listed beside the first.
        let second = app.put(&version_path(&app, "1.1.0"), &version_body(&format!("{server}/tools.cfg"), None, &[target("westus", 1)])).await;
        second.assert_status(201);
        succeeded(&app, &second).await;
        let (versions, _) = app.list_all(&format!("{}/versions?api-version={GALLERY_API}", application_path(&app))).await;
        let names: Vec<&str> = versions.iter().map(|version| version["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["1.0.0", "1.1.0"]);

        // The application keeps its versions; deleting the versions removes every byte they stored.
        app.delete(&application_path(&app)).await.assert_error(409, "CannotDeleteResource");
        for version in ["1.0.0", "1.1.0"] {
            let deleted = app.delete(&version_path(&app, version)).await;
            deleted.assert_status(202);
            succeeded(&app, &deleted).await;
            app.get(&version_path(&app, version)).await.assert_error(404, "ResourceNotFound");
        }
        assert_eq!(contents_on_disk(&app), before, "the packages and their replicas are gone");
        app.delete(&application_path(&app)).await.assert_status(202);
    }

    async fn links_that_cannot_be_read_are_refused(backend) {
        let app = TestApp::start(backend).await;
        ready_application(&app).await;
        let server = serve_files(BTreeMap::from([("tools.tgz".to_string(), b"#!/bin/sh\n".to_vec())])).await;
        let path = version_path(&app, "1.0.0");
        let media_target = "galleryApplicationVersion.properties.publishingProfile.source.mediaLink";
        let configuration_target = "galleryApplicationVersion.properties.publishingProfile.source.defaultConfigurationLink";
        let cases = [
            (format!("{server}/missing.tgz"), None, media_target),
            ("http://127.0.0.1:1/tools.tgz".to_string(), None, media_target),
            (format!("{server}/tools.tgz"), Some(format!("{server}/missing.cfg")), configuration_target),
            ("tools.tgz".to_string(), None, media_target),
        ];
        for (media_link, configuration_link, expected) in cases {
            let refused = app.put(&path, &version_body(&media_link, configuration_link.as_deref(), &[target("westus", 1)])).await;
            refused.assert_error(400, "InvalidParameter");
            assert_eq!(refused.json()["error"]["target"], expected, "{}", refused.text);
            assert!(!refused.text.contains("sig="), "{}", refused.text);
        }
        let mut no_actions = version_body(&format!("{server}/tools.tgz"), None, &[target("westus", 1)]);
        no_actions["properties"]["publishingProfile"].as_object_mut().unwrap().remove("manageActions");
        let refused = app.put(&path, &no_actions).await;
        refused.assert_error(400, "InvalidParameter");
        assert_eq!(refused.json()["error"]["target"], "galleryApplicationVersion.properties.publishingProfile.manageActions");
        app.put(&version_path(&app, "1.0"), &version_body(&format!("{server}/tools.tgz"), None, &[target("westus", 1)]))
            .await
            .assert_error(400, "InvalidParameter");
        // Nothing was stored, not even bytes.
        app.get(&path).await.assert_error(404, "ResourceNotFound");
        assert!(contents_on_disk(&app).is_empty(), "{:?}", contents_on_disk(&app));
        let orphan = format!("{}/applications/none/versions/1.0.0", app.gallery_path("rg", "gal"));
        app.put(&orphan, &version_body(&format!("{server}/tools.tgz"), None, &[target("westus", 1)]))
            .await
            .assert_error(404, "ParentResourceNotFound");
    }

    async fn a_package_on_galleryds_blob_endpoint(backend) {
        let app = TestApp::start(backend).await;
        ready_application(&app).await;
        let data = disks::pattern(3, 4096);
        let snapshot = disks::snapshot_path(&app, "rg", "package");
        disks::create(&app, &snapshot, &disks::upload_body(disks::MIN_UPLOAD)).await;
        let write = disks::grant_sas(&app, &snapshot, "Write").await;
        assert_eq!(disks::put_page(&app, &write, 0, data.clone()).await.status, 201);
        disks::revoke(&app, &snapshot).await;
        let read = disks::grant_sas(&app, &snapshot, "Read").await;

        let path = version_path(&app, "2.0.0");
        let created = app.put(&path, &version_body(&read, None, &[target("westus", 1), target("eastus2", 1)])).await;
        created.assert_status(201);
        succeeded(&app, &created).await;
        // The blob is its whole logical size: the written bytes, then zeros.
        let mut expected = data;
        expected.resize(usize::try_from(disks::MIN_UPLOAD).unwrap(), 0);
        let version_id = created.json()["id"].as_str().unwrap().to_string();
        let all = replicas(&app, &version_id).await;
        assert_eq!(all.len(), 2);
        assert_replicas_hold(&app, &all, &expected, &expected_checksum(&expected));
    }
}
