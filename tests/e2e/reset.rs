//! `POST /_galleryd/reset`: a resource group, a subscription or everything gone in one step, with
//! their operations, usage and blobs, while other groups stay; and a reset in the middle of a copy
//! and of concurrent writes leaves no blob and no half-written state behind, after which the same
//! names can be created again and replication works as before.
//!
//! What is left on disk is read straight from the local region stores, not from galleryd's account.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use gallery_domain::authorization::roles::READER;
use galleryd_tests::{TestApp, TestResponse, both_stores};
use reqwest::Method;
use serde_json::{Value, json};

use crate::disks::{self, MIB};
use crate::gallery_image_versions::{
    contents_on_disk, gallery, replicas, succeeded, target, upload_snapshot, version_body,
    version_path,
};

/// Every file under the local region stores' contents (extents, page writes, staging files of
/// writes in flight), as paths relative to the regions directory. An empty directory holds no blob.
fn blob_files(app: &TestApp) -> Vec<String> {
    fn walk(directory: &std::path::Path, root: &std::path::Path, found: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(directory) else {
            return;
        };
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                walk(&path, root, found);
            } else {
                found.push(
                    path.strip_prefix(root)
                        .unwrap_or(&path)
                        .display()
                        .to_string(),
                );
            }
        }
    }
    let root = app.data_dir.join("regions");
    let mut found = Vec::new();
    walk(&root, &root, &mut found);
    found.sort();
    found
}

async fn reset(app: &TestApp, query: &str) -> TestResponse {
    app.request(Method::POST, &format!("/_galleryd/reset{query}"), None)
        .await
}

/// The `currentValue` of a usage kind in westus.
async fn usage(app: &TestApp, kind: &str) -> i64 {
    let response = app
        .request(
            Method::GET,
            &format!(
                "/_galleryd/usage?subscriptionId={}&location=westus",
                app.subscription
            ),
            None,
        )
        .await;
    response.assert_status(200);
    response.json()["value"]
        .as_array()
        .expect("usage values")
        .iter()
        .find(|value| value["name"] == kind)
        .map(|value| value["currentValue"].as_i64().expect("count"))
        .expect("the kind is reported")
}

both_stores! {
    async fn a_group_reset_removes_that_group_whole_and_nothing_else(backend) {
        let app = TestApp::start(backend).await;
        gallery(&app).await;
        let snapshot_id = upload_snapshot(&app, "rg", "os", &disks::pattern(3, 2 * MIB as usize)).await;
        let path = version_path(&app, "1.0.0");
        let created = app.put(&path, &version_body(&snapshot_id, &[target("westus", 1), target("eastus", 2)])).await;
        created.assert_status(201);
        succeeded(&app, &created).await;
        let version_id = app.get(&path).await.json()["id"].as_str().expect("id").to_string();
        app.create_group("keep", "westus").await;
        app.create_gallery("keep", "kept").await;
        assert!(contents_on_disk(&app).len() >= 4, "snapshot and replicas on disk: {:?}", contents_on_disk(&app));
        assert_eq!(usage(&app, "galleries").await, 2);

        // The group's name in another casing: ARM names match ignoring case.
        let answer = reset(&app, &format!("?subscriptionId={}&resourceGroup=RG", app.subscription)).await;
        answer.assert_status(200);
        let report = answer.json();
        assert_eq!(report["deleted"]["resourceGroups"], 1, "{report}");
        // gallery, image definition, version, snapshot
        assert_eq!(report["deleted"]["resources"], 4, "{report}");
        assert!(report["deleted"]["contents"].as_u64().unwrap() >= 4, "{report}");
        assert!(report["deleted"]["operations"].as_u64().unwrap() >= 5, "{report}");
        assert_eq!(report["blobsLeftForGarbageCollection"], 0, "{report}");

        assert_eq!(blob_files(&app), Vec::<String>::new(), "no blob of the group is left");
        app.get(&app.gallery_path("rg", "gallery")).await.assert_error(404, "ResourceGroupNotFound");
        let status = app.request(Method::GET, created.header("azure-asyncoperation").expect("status URL"), None).await;
        assert_eq!(status.status, 404, "the group's operations are gone: {}", status.text);
        let replicas_report = app.request(Method::GET, &format!("/_galleryd/replicas?versionId={version_id}"), None).await;
        replicas_report.assert_error(404, "ResourceNotFound");
        app.get(&app.gallery_path("keep", "kept")).await.assert_status(200);
        assert_eq!(usage(&app, "galleries").await, 1, "the group's usage is given back");
        assert_eq!(usage(&app, "imageVersions").await, 0);

        // The same names are free again, and replication works as before.
        gallery(&app).await;
        let snapshot_id = upload_snapshot(&app, "rg", "os", &disks::pattern(4, MIB as usize)).await;
        let created = app.put(&path, &version_body(&snapshot_id, &[target("westus", 1)])).await;
        created.assert_status(201);
        succeeded(&app, &created).await;
    }
}

both_stores! {
    async fn a_subscription_reset_and_a_full_reset_leave_an_empty_world(backend) {
        let app = TestApp::start(backend).await;
        for group in ["one", "two"] {
            app.create_group(group, "westus").await;
            app.create_gallery(group, &format!("gallery_{group}")).await;
        }
        let template = json!({"properties": {"mode": "Incremental", "template": {
            "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
            "contentVersion": "1.0.0.0",
            "resources": []
        }}});
        let deployment = crate::deployments::deployment_path(&app, "one", "empty");
        let (put, _) = crate::deployments::deploy(&app, &deployment, &template).await;
        assert!(matches!(put.status, 200 | 201), "{}", put.text);
        let answer = reset(&app, &format!("?subscriptionId={}", app.subscription.to_uppercase())).await;
        answer.assert_status(200);
        let report = answer.json();
        assert_eq!(report["scope"]["subscriptionId"], app.subscription, "{report}");
        assert_eq!(report["deleted"]["resourceGroups"], 2, "{report}");
        assert_eq!(report["deleted"]["resources"], 2, "{report}");
        assert_eq!(report["deleted"]["deployments"], 1, "{report}");
        let (groups, _) = app.list_all(&format!("{}?api-version=2021-04-01", app.subscription_path("/resourcegroups"))).await;
        assert!(groups.is_empty(), "{groups:?}");
        assert_eq!(usage(&app, "galleries").await, 0);

        app.create_group("three", "westus").await;
        app.create_gallery("three", "gallery_three").await;
        let answer = reset(&app, "").await;
        answer.assert_status(200);
        assert_eq!(answer.json()["scope"], "everything");
        assert_eq!(answer.json()["deleted"]["resources"], 1);
        let (galleries, _) = app.list_all(&format!("{}?api-version=2024-03-03", app.subscription_path("/providers/Microsoft.Compute/galleries"))).await;
        assert!(galleries.is_empty(), "{galleries:?}");
        // Again: nothing left to delete, still 200.
        let answer = reset(&app, "").await;
        answer.assert_status(200);
        assert_eq!(answer.json()["deleted"]["resources"], 0);
    }
}

both_stores! {
    async fn a_reset_names_what_it_cannot_do(backend) {
        let app = TestApp::start(backend).await;
        reset(&app, "?resourceGroup=rg").await.assert_error(400, "InvalidParameter");
        reset(&app, "?subscriptionId=00000000-0000-0000-0000-00000000dead").await.assert_error(404, "SubscriptionNotFound");
    }
}

/// Creates galleries in group `rg` one after another until `stop`, returning every status seen.
async fn write_galleries(
    http: String,
    subscription: String,
    stop: Arc<AtomicBool>,
) -> Vec<(u16, String)> {
    let client = reqwest::Client::new();
    let mut answers = Vec::new();
    let mut index = 0;
    while !stop.load(Ordering::Relaxed) {
        let url = format!(
            "{http}/subscriptions/{subscription}/resourceGroups/rg/providers/Microsoft.Compute/galleries/busy{index}?api-version=2024-03-03"
        );
        let response = client
            .put(url)
            .json(&json!({"location": "westus"}))
            .send()
            .await
            .expect("sent");
        let status = response.status().as_u16();
        answers.push((status, response.text().await.unwrap_or_default()));
        index += 1;
    }
    answers
}

both_stores! {
    async fn a_reset_during_a_copy_and_writes_leaves_no_blob_and_no_half_state(backend) {
        let app = TestApp::start_with(backend, |config| {
            config.replication_profile = galleryd::config::ReplicationProfile::Realistic;
            // 16 Mbit/s: 2 MiB a second, so the 8 MiB copy to eastus takes about 4 s.
            config.replication_bandwidth_mbps = 16;
        })
        .await;
        gallery(&app).await;
        let snapshot_id = upload_snapshot(&app, "rg", "os", &disks::pattern(5, 8 * MIB as usize)).await;
        let path = version_path(&app, "1.0.0");
        let created = app.put(&path, &version_body(&snapshot_id, &[target("westus", 1), target("eastus", 1)])).await;
        created.assert_status(201);
        let version_id = created.json()["id"].as_str().expect("id").to_string();
        let mut copying = false;
        for _ in 0..200 {
            let seen = replicas(&app, &version_id).await;
            if seen.iter().any(|replica: &Value| replica["state"] == "Replicating" && replica["bytesCopied"].as_i64().unwrap_or(0) > 0) {
                copying = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert!(copying, "a copy was seen in flight");

        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..4)
            .map(|_| tokio::spawn(write_galleries(app.http.clone(), app.subscription.clone(), stop.clone())))
            .collect();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let answer = reset(&app, "").await;
        answer.assert_status(200);
        assert_eq!(answer.json()["blobsLeftForGarbageCollection"], 0);
        tokio::time::sleep(Duration::from_millis(200)).await;
        stop.store(true, Ordering::Relaxed);
        let mut created_before = 0;
        for writer in writers {
            for (status, text) in writer.await.expect("writer") {
                match status {
                    200 | 201 => created_before += 1,
                    404 => assert!(text.contains("ResourceGroupNotFound"), "{text}"),
                    // The writers may reach the galleries-per-region limit before the reset.
                    409 => assert!(text.contains("OperationNotAllowed"), "{text}"),
                    other => panic!("a write during the reset answered {other}: {text}"),
                }
            }
        }
        assert!(created_before > 0, "writes landed before the reset");

        // Whatever the copy had written is gone and stays gone: the copy was stopped first.
        assert_eq!(blob_files(&app), Vec::<String>::new());
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(blob_files(&app), Vec::<String>::new(), "nothing wrote after the reset");
        let (galleries, _) = app.list_all(&format!("{}?api-version=2024-03-03", app.subscription_path("/providers/Microsoft.Compute/galleries"))).await;
        assert!(galleries.is_empty(), "no write landed half after the reset: {galleries:?}");
        assert_eq!(usage(&app, "galleries").await, 0);
        if let Some(database) = &app.database {
            crate::consistency::assert_resources_whole(&database.url).await;
        }

        // The workers go on: a new version replicates.
        gallery(&app).await;
        let snapshot_id = upload_snapshot(&app, "rg", "os", &disks::pattern(6, MIB as usize)).await;
        let created = app.put(&path, &version_body(&snapshot_id, &[target("westus", 1), target("eastus", 1)])).await;
        created.assert_status(201);
        let mut status = Value::Null;
        for _ in 0..3 {
            status = app.wait_for_operation(&created).await;
            if status["status"] != "InProgress" {
                break;
            }
        }
        assert_eq!(status["status"], "Succeeded", "{status}");
    }
}

const ANN: &str = "a0a0a0a0-0000-4000-8000-00000000000a";

/// Ann (no configured role) reading the gallery `gallery` of the group `rg`.
async fn ann_reads_the_gallery(app: &TestApp) -> TestResponse {
    let ann = galleryd_tests::user_token(ANN, "ann@contoso.com");
    let gallery = app.gallery_path("rg", "gallery");
    app.request_as(
        &ann,
        Method::GET,
        &format!("{gallery}?api-version={}", galleryd_tests::GALLERY_API),
        None,
    )
    .await
}

/// The principals of every role assignment in the subscription, sorted.
async fn assigned_principals(app: &TestApp) -> Vec<String> {
    let listed = app
        .request(
            Method::GET,
            &format!(
                "{}/providers/Microsoft.Authorization/roleAssignments?api-version={}",
                app.subscription_path(""),
                galleryd_tests::AUTHORIZATION_API
            ),
            None,
        )
        .await;
    listed.assert_status(200);
    let mut principals: Vec<String> = listed.json()["value"]
        .as_array()
        .expect("assignments")
        .iter()
        .map(|item| {
            item["properties"]["principalId"]
                .as_str()
                .expect("principal")
                .to_string()
        })
        .collect();
    principals.sort();
    principals
}

both_stores! {
    async fn a_reset_removes_the_role_assignments_and_custom_roles_of_its_scope(backend) {
        let app = TestApp::start(backend).await;
        let subscription = app.subscription_path("");
        app.create_group("rg", "westus").await;
        app.create_gallery("rg", "gallery").await;
        app.create_group("other", "westus").await;
        ann_reads_the_gallery(&app).await.assert_error(403, "AuthorizationFailed");
        app.assign_role(&app.group_path("rg"), ANN, "User", READER).await;
        app.assign_role(&app.group_path("other"), ANN, "User", READER).await;
        ann_reads_the_gallery(&app).await.assert_status(200);
        assert_eq!(assigned_principals(&app).await, [ANN, ANN]);

        // The group's reset takes its assignment (not the other group's); re-created, it is closed again.
        let answer = reset(&app, &format!("?subscriptionId={}&resourceGroup=RG", app.subscription)).await;
        answer.assert_status(200);
        assert_eq!(answer.json()["deleted"]["roleAssignments"], 1, "{}", answer.text);
        assert_eq!(assigned_principals(&app).await, [ANN]);
        app.create_group("rg", "westus").await;
        app.create_gallery("rg", "gallery").await;
        ann_reads_the_gallery(&app).await.assert_error(403, "AuthorizationFailed");

        // Everything: every assignment and custom role go; the development user still owns the subscription.
        let role = "5e5e5e5e-0000-4000-8000-00000000005e";
        let role_path = format!("{subscription}/providers/Microsoft.Authorization/roleDefinitions/{role}?api-version={}", galleryd_tests::AUTHORIZATION_API);
        app.request(Method::PUT, &role_path, Some(&json!({"properties": {
            "roleName": "Gallery reader", "type": "CustomRole",
            "permissions": [{"actions": ["Microsoft.Compute/galleries/read"]}],
            "assignableScopes": [subscription],
        }}))).await.assert_status(201);
        app.assign_role(&app.gallery_path("rg", "gallery"), ANN, "User", role).await;
        ann_reads_the_gallery(&app).await.assert_status(200);
        let answer = reset(&app, "").await;
        answer.assert_status(200);
        let deleted = &answer.json()["deleted"];
        assert_eq!((deleted["roleAssignments"].as_u64(), deleted["roleDefinitions"].as_u64()), (Some(2), Some(1)), "{}", answer.text);
        app.request(Method::GET, &role_path, None).await.assert_error(404, "RoleDefinitionDoesNotExist");
        assert!(assigned_principals(&app).await.is_empty());
        app.create_group("rg", "westus").await;
        app.create_gallery("rg", "gallery").await;
        ann_reads_the_gallery(&app).await.assert_error(403, "AuthorizationFailed");
    }
}
