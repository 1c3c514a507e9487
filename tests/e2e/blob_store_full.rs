//! A region's blob store fills up in the middle of a copy (`--region-capacity-mib`): the replica
//! fails with a clear detail after its retries, the version is `Failed` and never shows a replica
//! `Completed` that is not whole, the space the failed copy took is given back, and once there is
//! room again the version is replicated by writing it again.

use galleryd_tests::{TestApp, both_stores};
use serde_json::{Value, json};

use crate::disks::{self, MIB};
use crate::gallery_image_versions::{
    assert_replicas_hold, contents_on_disk, expected_checksum, gallery, replicas, succeeded,
    target, upload_snapshot, version_body, version_path,
};

/// The contents on disk in `region`.
fn contents_in(app: &TestApp, region: &str) -> Vec<String> {
    contents_on_disk(app)
        .into_iter()
        .filter(|content| content.starts_with(&format!("{region}/")))
        .collect()
}

/// `region/contentId` of a version's replicas in `region`.
async fn replica_contents(app: &TestApp, version_id: &str, region: &str) -> Vec<String> {
    replicas(app, version_id)
        .await
        .iter()
        .filter(|replica| replica["region"] == region)
        .map(|replica| format!("{region}/{}", replica["contentId"].as_str().unwrap()))
        .collect()
}

both_stores! {
    async fn a_store_that_fills_up_mid_copy_fails_the_replica_cleanly_and_the_version_can_be_retried(backend) {
        // eastus holds 10 MiB: one 6 MiB replica fits, a second fails after its first 4 MiB extent.
        let app = TestApp::start_with(backend, |config| {
            config.region_capacities = vec![("eastus".to_string(), 10 * MIB)];
        })
        .await;
        gallery(&app).await;
        let data = disks::pattern(21, 6 * MIB as usize);
        let checksum = expected_checksum(&data);
        let snapshot = upload_snapshot(&app, "rg", "os", &data).await;
        let body = version_body(&snapshot, &[target("westus", 1), target("eastus", 1)]);

        let first = app.put(&version_path(&app, "1.0.0"), &body).await;
        first.assert_status(201);
        succeeded(&app, &first).await;
        let first_id = first.json()["id"].as_str().unwrap().to_string();
        assert_replicas_hold(&app, &replicas(&app, &first_id).await, &data, &checksum);

        // The second does not fit: its eastus replica fails, with the reason.
        let second = app.put(&version_path(&app, "1.0.1"), &body).await;
        second.assert_status(201);
        let second_id = second.json()["id"].as_str().unwrap().to_string();
        let status = app.wait_for_operation(&second).await;
        assert_eq!(status["status"], "Failed", "{status}");
        let message = status["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("eastus") && message.contains("full"), "{status}");
        let version = app.get(&format!("{}?$expand=ReplicationStatus", version_path(&app, "1.0.1"))).await;
        assert_eq!(version.json()["properties"]["provisioningState"], "Failed", "{}", version.text);
        let summary = &version.json()["properties"]["replicationStatus"]["summary"];
        let eastus: Vec<&Value> = summary.as_array().unwrap().iter().filter(|region| region["region"].as_str().is_some_and(|name| name.eq_ignore_ascii_case("eastus") || name.eq_ignore_ascii_case("East US"))).collect();
        assert_eq!(eastus.len(), 1, "{summary}");
        assert_eq!(eastus[0]["state"], "Failed", "{summary}");
        assert!(eastus[0]["details"].as_str().unwrap_or_default().contains("full"), "{summary}");
        for replica in replicas(&app, &second_id).await {
            if replica["region"] == "eastus" {
                assert_eq!(replica["state"], "Failed", "{replica}");
            } else {
                assert_eq!(replica["state"], "Completed", "{replica}");
                assert_eq!(replica["checksum"], checksum, "{replica}");
            }
        }
        // What the failed copy wrote is gone: eastus holds the first version's replica only.
        assert_eq!(contents_in(&app, "eastus"), replica_contents(&app, &first_id, "eastus").await);

        // Room again: the first version goes, and writing the second again replicates it.
        let deleted = app.delete(&version_path(&app, "1.0.0")).await;
        deleted.assert_status(202);
        succeeded(&app, &deleted).await;
        assert!(contents_in(&app, "eastus").is_empty(), "{:?}", contents_in(&app, "eastus"));
        let retried = app
            .patch(&version_path(&app, "1.0.1"), &json!({"tags": {"retry": "1"}}))
            .await;
        retried.assert_status(200);
        let status = app.wait_for_operation(&retried).await;
        assert_eq!(status["status"], "Succeeded", "{status}");
        let version = app.get(&version_path(&app, "1.0.1")).await;
        assert_eq!(version.json()["properties"]["provisioningState"], "Succeeded", "{}", version.text);
        assert_replicas_hold(&app, &replicas(&app, &second_id).await, &data, &checksum);
        assert_eq!(contents_in(&app, "eastus"), replica_contents(&app, &second_id, "eastus").await);
    }
}
