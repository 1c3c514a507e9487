//! Gallery image versions that really replicate: a snapshot uploaded through the blob endpoint is
//! published to several regions with several replicas each, every replica's bytes are checked on
//! disk against what was uploaded, regions are added and removed, and deleting the version leaves
//! no replica blob behind. Also the validation rules as the API answers them, `latest`, lists,
//! the billing and usage reports, and the per-region limit under concurrency.
//!
//! The bytes on disk are read straight from the local region stores
//! (`<data-dir>/regions/<region>/contents/<content>/extents/<offset>`), and the expected checksum is
//! computed here from the uploaded bytes, so neither check trusts galleryd's own account of itself.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use galleryd_tests::{TestApp, TestResponse, both_stores};
use reqwest::Method;
use serde_json::{Value, json};

use crate::disks::{self, MIB, MIN_UPLOAD};

/// Bytes written into test snapshots: 20 MiB (the rest of the minimum upload is the VHD footer,
/// left unwritten).
const DATA_BYTES: usize = 20 * 1024 * 1024;

pub(crate) fn version_path(app: &TestApp, version: &str) -> String {
    format!(
        "{}/versions/{version}",
        app.image_path("rg", "gallery", "ubuntu")
    )
}

/// A westus group, gallery and image definition.
pub(crate) async fn gallery(app: &TestApp) {
    app.create_group("rg", "westus").await;
    app.create_gallery("rg", "gallery").await;
    app.create_image(
        "rg",
        "gallery",
        "ubuntu",
        "Contoso",
        "Agents",
        "ubuntu-24.04",
    )
    .await;
}

/// Uploads `data` into a new westus Upload snapshot through its write SAS, seals it and returns its
/// id. The snapshot is a generation 2 Linux disk, as the image definitions of [`gallery`] (and
/// `TestApp::create_image`, which default to V2) want their sources.
pub async fn upload_snapshot(app: &TestApp, group: &str, name: &str, data: &[u8]) -> String {
    let path = disks::snapshot_path(app, group, name);
    let upload_size = (data.len() as u64 + 512).max(MIN_UPLOAD).div_ceil(512) * 512;
    disks::create(app, &path, &disks::os_upload_body(upload_size)).await;
    let sas = disks::grant_sas(app, &path, "Write").await;
    for (index, page) in data.chunks(4 * MIB as usize).enumerate() {
        let written = disks::put_page(app, &sas, index as u64 * 4 * MIB, page.to_vec()).await;
        assert_eq!(written.status, 201, "{}", written.text());
    }
    disks::revoke(app, &path).await;
    let snapshot = disks::get(app, &path).await.json();
    snapshot["id"].as_str().expect("snapshot id").to_string()
}

/// The checksum galleryd must report for `data` written contiguously from offset 0: SHA-256 over
/// each 4 MiB extent's offset and length (big-endian u64) followed by its bytes.
pub(crate) fn expected_checksum(data: &[u8]) -> String {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    for (index, extent) in data.chunks(4 * MIB as usize).enumerate() {
        context.update(&(index as u64 * 4 * MIB).to_be_bytes());
        context.update(&(extent.len() as u64).to_be_bytes());
        context.update(extent);
    }
    let digest = context.finish();
    let hex: String = digest
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("sha256:{hex}")
}

pub(crate) fn content_directory(app: &TestApp, region: &str, content_id: &str) -> PathBuf {
    app.data_dir
        .join("regions")
        .join(region)
        .join("contents")
        .join(content_id)
}

/// The bytes of a sealed content on local disk: its extents in offset order, holes as zeros.
pub(crate) fn bytes_on_disk(directory: &Path) -> Vec<u8> {
    let mut extents: Vec<(u64, PathBuf)> = std::fs::read_dir(directory.join("extents"))
        .unwrap_or_else(|error| panic!("{}: {error}", directory.display()))
        .filter_map(|entry| {
            let path = entry.expect("directory entry").path();
            if path.to_string_lossy().contains('#') {
                // A staging file of a write (cut off by a crash; garbage collection sweeps it).
                return None;
            }
            let offset = path
                .file_name()
                .and_then(|name| name.to_str())
                .and_then(|name| name.parse().ok())
                .expect("an extent named by its offset");
            Some((offset, path))
        })
        .collect();
    extents.sort();
    let mut bytes = Vec::new();
    for (offset, path) in extents {
        bytes.resize(usize::try_from(offset).expect("offset"), 0);
        bytes.extend(std::fs::read(path).expect("extent readable"));
    }
    bytes
}

/// Every content directory under every region of the local blob stores, as `region/content`.
pub(crate) fn contents_on_disk(app: &TestApp) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(regions) = std::fs::read_dir(app.data_dir.join("regions")) else {
        return found;
    };
    for region in regions {
        let region = region.expect("region entry");
        let Ok(contents) = std::fs::read_dir(region.path().join("contents")) else {
            continue;
        };
        for content in contents {
            found.push(format!(
                "{}/{}",
                region.file_name().to_string_lossy(),
                content
                    .expect("content entry")
                    .file_name()
                    .to_string_lossy()
            ));
        }
    }
    found.sort();
    found
}

/// `GET /_galleryd/replicas?versionId=…`.
pub(crate) async fn replicas(app: &TestApp, version_id: &str) -> Vec<Value> {
    let response = app
        .request(
            Method::GET,
            &format!("/_galleryd/replicas?versionId={version_id}"),
            None,
        )
        .await;
    response.assert_status(200);
    response.json()["value"].as_array().expect("value").clone()
}

/// Replica counts per region.
pub(crate) fn counts(replicas: &[Value]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for replica in replicas {
        *counts
            .entry(replica["region"].as_str().expect("region").to_string())
            .or_default() += 1;
    }
    counts
}

pub(crate) fn target(name: &str, replicas: u32) -> Value {
    json!({"name": name, "regionalReplicaCount": replicas})
}

/// The storage profile of a version made from `source_id`: snapshots and disks are disk sources
/// (`osDiskImage.source`), managed images and versions whole-image sources (`source`), as Azure
/// requires.
pub(crate) fn storage_profile(source_id: &str) -> Value {
    if source_id.contains("/snapshots/") || source_id.contains("/disks/") {
        json!({"osDiskImage": {"source": {"id": source_id}}})
    } else {
        json!({"source": {"id": source_id}})
    }
}

pub(crate) fn version_body(source_id: &str, targets: &[Value]) -> Value {
    json!({
        "location": "westus",
        "tags": {"build": "1"},
        "properties": {
            "publishingProfile": {"targetRegions": targets, "replicaCount": 1},
            "storageProfile": storage_profile(source_id)
        }
    })
}

/// Waits until the write's operation is terminal and asserts it succeeded.
pub(crate) async fn succeeded(app: &TestApp, response: &TestResponse) {
    let status = app.wait_for_operation(response).await;
    assert_eq!(status["status"], "Succeeded", "{status}");
}

/// The version with `$expand=ReplicationStatus`.
async fn with_status(app: &TestApp, path: &str) -> Value {
    let response = app.get(&format!("{path}?$expand=ReplicationStatus")).await;
    response.assert_status(200);
    response.json()
}

/// Asserts every replica is complete, carries `checksum`, and holds `data` on disk.
pub(crate) fn assert_replicas_hold(app: &TestApp, replicas: &[Value], data: &[u8], checksum: &str) {
    for replica in replicas {
        assert_eq!(replica["state"], "Completed", "{replica}");
        assert_eq!(replica["checksum"], checksum, "{replica}");
        assert_eq!(replica["bytesCopied"], replica["bytesTotal"], "{replica}");
        let region = replica["region"].as_str().expect("region");
        let directory = content_directory(app, region, replica["contentId"].as_str().unwrap());
        assert!(
            bytes_on_disk(&directory) == data,
            "replica {replica} does not hold the uploaded bytes"
        );
    }
}

both_stores! {
    async fn a_version_replicates_to_every_region_and_leaves_nothing_behind(backend) {
        let app = TestApp::start(backend).await;
        gallery(&app).await;
        let data = disks::pattern(7, DATA_BYTES);
        let snapshot_id = upload_snapshot(&app, "rg", "os", &data).await;
        let snapshot_contents = contents_on_disk(&app);
        assert_eq!(snapshot_contents.len(), 1, "{snapshot_contents:?}");

        let path = version_path(&app, "1.0.0");
        let created = app
            .put(&path, &version_body(&snapshot_id, &[target("westus", 2), target("East US", 2), target("westeurope", 2)]))
            .await;
        created.assert_status(201);
        let body = created.json();
        assert_eq!(body["properties"]["provisioningState"], "Creating");
        assert_eq!(created.header("retry-after"), Some("1"));
        succeeded(&app, &created).await;

        let version = with_status(&app, &path).await;
        let properties = &version["properties"];
        assert_eq!(properties["provisioningState"], "Succeeded");
        assert_eq!(properties["storageProfile"]["osDiskImage"]["sizeInGB"], 1);
        assert_eq!(properties["storageProfile"]["osDiskImage"]["source"]["id"], snapshot_id);
        assert!(properties["publishingProfile"]["publishedDate"].is_string(), "{version}");
        let status = &properties["replicationStatus"];
        assert_eq!(status["aggregatedState"], "Completed", "{status}");
        let summary = status["summary"].as_array().expect("summary");
        assert_eq!(summary.len(), 3);
        for region in summary {
            assert_eq!((region["state"].as_str(), region["progress"].as_i64()), (Some("Completed"), Some(100)), "{region}");
        }
        // Without the expansion there is no replication status.
        assert!(app.get(&path).await.json()["properties"].get("replicationStatus").is_none());

        let version_id = version["id"].as_str().unwrap().to_string();
        let all = replicas(&app, &version_id).await;
        assert_eq!(counts(&all), BTreeMap::from([("eastus".into(), 2), ("westeurope".into(), 2), ("westus".into(), 2)]));
        let checksum = expected_checksum(&data);
        assert_replicas_hold(&app, &all, &data, &checksum);
        assert_eq!(contents_on_disk(&app).len(), 1 + 6);

        // Adding a region replicates there (and only there).
        let mut targets = vec![target("westus", 2), target("eastus", 2), target("westeurope", 2), target("northeurope", 1)];
        let added = app
            .patch(&path, &json!({"properties": {"publishingProfile": {"targetRegions": targets}}}))
            .await;
        added.assert_status(200);
        assert_eq!(added.json()["properties"]["provisioningState"], "Updating");
        succeeded(&app, &added).await;
        let all = replicas(&app, &version_id).await;
        assert_eq!(counts(&all).get("northeurope"), Some(&1));
        assert_eq!(all.len(), 7);
        assert_replicas_hold(&app, &all, &data, &checksum);
        let copies: i64 = all.iter().map(|replica| replica["copiesStarted"].as_i64().unwrap()).sum();
        assert_eq!(copies, 7, "every replica was copied exactly once: {all:?}");

        // Removing a region needs the safety flag.
        targets.remove(1);
        let refused = app
            .patch(&path, &json!({"properties": {"publishingProfile": {"targetRegions": targets}}}))
            .await;
        refused.assert_error(409, "OperationNotAllowed");
        assert!(refused.text.contains("eastus") || refused.text.contains("East US"), "{}", refused.text);
        assert_eq!(replicas(&app, &version_id).await.len(), 7, "a refused update changes nothing");

        let removed = app
            .patch(&path, &json!({"properties": {
                "publishingProfile": {"targetRegions": targets},
                "safetyProfile": {"allowDeletionOfReplicatedLocations": true}
            }}))
            .await;
        removed.assert_status(200);
        succeeded(&app, &removed).await;
        let all = replicas(&app, &version_id).await;
        assert_eq!(counts(&all).get("eastus"), None, "{all:?}");
        assert_eq!(all.len(), 5);
        assert!(!contents_on_disk(&app).iter().any(|content| content.starts_with("eastus/")), "{:?}", contents_on_disk(&app));
        let version = with_status(&app, &path).await;
        let regions: Vec<&str> = version["properties"]["replicationStatus"]["summary"].as_array().unwrap().iter().map(|region| region["region"].as_str().unwrap()).collect();
        assert_eq!(regions.len(), 3, "{regions:?}");

        // Deleting removes every replica's blobs, then the version; the snapshot keeps its bytes.
        let deleted = app.delete(&path).await;
        deleted.assert_status(202);
        assert!(deleted.header("location").is_some());
        succeeded(&app, &deleted).await;
        app.get(&path).await.assert_error(404, "ResourceNotFound");
        assert_eq!(contents_on_disk(&app), snapshot_contents);
        let store = app.server().app.store().expect("store");
        assert_eq!(store.orphaned_contents(10).await.expect("orphans").len(), 0);
        // Deleting again finds nothing.
        app.delete(&path).await.assert_status(204);
    }

    async fn versions_made_from_versions_and_images_carry_the_same_bytes(backend) {
        let app = TestApp::start(backend).await;
        gallery(&app).await;
        let data = disks::pattern(3, 6 * MIB as usize);
        let snapshot_id = upload_snapshot(&app, "rg", "os", &data).await;
        let first = version_path(&app, "1.0.0");
        let created = app.put(&first, &version_body(&snapshot_id, &[target("westus", 1), target("eastus", 1)])).await;
        created.assert_status(201);
        succeeded(&app, &created).await;
        let first_id = app.get(&first).await.json()["id"].as_str().unwrap().to_string();

        let second = version_path(&app, "1.0.1");
        let copied = app.put(&second, &version_body(&first_id, &[target("westus", 2)])).await;
        copied.assert_status(201);
        succeeded(&app, &copied).await;
        let version = app.get(&second).await.json();
        assert_eq!(version["properties"]["storageProfile"]["source"]["id"], first_id);
        let all = replicas(&app, version["id"].as_str().unwrap()).await;
        assert_eq!(all.len(), 2);
        assert_replicas_hold(&app, &all, &data, &expected_checksum(&data));
    }

    async fn versions_made_from_blob_uris_and_their_refusals(backend) {
        let app = TestApp::start(backend).await;
        gallery(&app).await;
        let data = disks::pattern(23, 2 * MIB as usize);
        upload_snapshot(&app, "rg", "os", &data).await;
        let snapshot = disks::snapshot_path(&app, "rg", "os");
        let uri = disks::grant_sas(&app, &snapshot, "Read").await;
        let from_uri = |uri: &str| json!({
            "location": "westus",
            "properties": {"storageProfile": {"osDiskImage": {"source": {"uri": uri}}}}
        });
        let created = app.put(&version_path(&app, "1.0.0"), &from_uri(&uri)).await;
        created.assert_status(201);
        succeeded(&app, &created).await;
        let all = replicas(&app, created.json()["id"].as_str().unwrap()).await;
        assert_replicas_hold(&app, &all, &data, &expected_checksum(&data));

        // The same blob named in another region, a URL elsewhere, a blob still being uploaded.
        let elsewhere = uri.replace("/gallerydblob/westus/", "/gallerydblob/eastus/");
        let answer = app.put(&version_path(&app, "1.0.1"), &from_uri(&elsewhere)).await;
        answer.assert_error(400, "InvalidParameter");
        assert!(answer.text.contains("is not found"), "{}", answer.text);
        app.put(&version_path(&app, "1.0.2"), &from_uri("https://contoso.blob.core.windows.net/vhds/os.vhd"))
            .await
            .assert_error(400, "InvalidParameter");
        let uploading = disks::snapshot_path(&app, "rg", "uploading");
        disks::create(&app, &uploading, &disks::upload_body(MIN_UPLOAD)).await;
        let write = disks::grant_sas(&app, &uploading, "Write").await;
        app.put(&version_path(&app, "1.0.3"), &from_uri(&write)).await.assert_error(409, "Conflict");
        // The same upload named by id: its bytes are not final before endGetAccess.
        let by_id = disks::get(&app, &uploading).await.json()["id"].as_str().unwrap().to_string();
        app.put(&version_path(&app, "1.0.4"), &json!({"location": "westus", "properties": {"storageProfile": storage_profile(&by_id)}}))
            .await
            .assert_error(409, "Conflict");
        let (versions, _) = app.list_all(&format!("{}/versions?api-version=2026-03-03", app.image_path("rg", "gallery", "ubuntu"))).await;
        assert_eq!(versions.len(), 1, "refused creates leave nothing");
    }

    async fn the_api_answers_every_rule_with_its_error(backend) {
        let app = TestApp::start_with(backend, |config| {
            config.max_replicas_per_region = 3;
            config.max_image_size_gb = 1;
        })
        .await;
        gallery(&app).await;
        let data = disks::pattern(1, MIB as usize);
        let snapshot_id = upload_snapshot(&app, "rg", "os", &data).await;
        app.create_group("far", "eastus").await;
        let far_snapshot = upload_snapshot_in(&app, "far", "eastus", "elsewhere", &data).await;
        let missing = disks::snapshot_path(&app, "rg", "missing");
        let vm = format!("{}/providers/Microsoft.Compute/virtualMachines/vm1", app.group_path("rg"));
        let path = version_path(&app, "1.0.0");
        let body = |targets: Value| json!({
            "location": "westus",
            "properties": {"publishingProfile": {"targetRegions": targets}, "storageProfile": storage_profile(&snapshot_id)}
        });

        let cases: Vec<(&str, Value, u16, &str)> = vec![
            ("1.0", body(json!([target("westus", 1)])), 400, "InvalidParameter"),
            ("1.0.x", body(json!([target("westus", 1)])), 400, "InvalidParameter"),
            ("1.0.4294967296", body(json!([target("westus", 1)])), 400, "InvalidParameter"),
            ("1.0.0", body(json!([target("eastus", 1)])), 400, "InvalidParameter"),
            ("1.0.0", body(json!([target("westus", 1), target("West US", 1)])), 400, "InvalidParameter"),
            ("1.0.0", body(json!([target("westus", 1), target("atlantis", 1)])), 400, "InvalidParameter"),
            ("1.0.0", body(json!([target("westus", 1), target("australiacentral", 1)])), 400, "InvalidParameter"),
            ("1.0.0", body(json!([target("westus", 4)])), 400, "InvalidParameter"),
            ("1.0.0", body(json!([target("westus", 0)])), 400, "InvalidParameter"),
            ("1.0.0", body(json!([{"name": "westus", "storageAccountType": "Standard_ZRS"}, {"name": "northcentralus", "storageAccountType": "Standard_ZRS"}])), 400, "InvalidParameter"),
            ("1.0.0", json!({"location": "westus", "properties": {"publishingProfile": {"replicationMode": "Shallow", "targetRegions": [target("westus", 1), target("eastus", 1)]}, "storageProfile": storage_profile(&snapshot_id)}}), 400, "InvalidParameter"),
            ("1.0.0", json!({"location": "westus", "properties": {"storageProfile": {"source": {"id": vm}}}}), 400, "InvalidParameter"),
            ("1.0.0", json!({"location": "westus", "properties": {"storageProfile": storage_profile(&missing)}}), 400, "InvalidParameter"),
            ("1.0.0", json!({"location": "westus", "properties": {"storageProfile": storage_profile(&far_snapshot)}}), 400, "InvalidParameter"),
            ("1.0.0", json!({"location": "westus", "properties": {}}), 400, "InvalidParameter"),
            ("1.0.0", json!({"location": "westus", "properties": {"publishingProfile": {"targetRegions": "westus"}}}), 400, "InvalidRequestContent"),
        ];
        for (name, body, status, code) in cases {
            let response = app.put(&version_path(&app, name), &body).await;
            assert_eq!((response.status, response.error_code()), (status, code.to_string()), "{name} {body}: {}", response.text);
            assert!(response.json()["error"]["message"].as_str().is_some_and(|message| !message.is_empty()));
        }
        // The ZRS refusal names the index and the region.
        let zrs = app.put(&path, &body(json!([target("westus", 1), {"name": "northcentralus", "storageAccountType": "Standard_ZRS"}]))).await;
        zrs.assert_error(400, "InvalidParameter");
        assert_eq!(zrs.json()["error"]["target"], "galleryImageVersion.properties.publishingProfile.targetRegions[1].storageAccountType");
        assert!(zrs.text.contains("not supported in this region: 'northcentralus' (North Central US)"), "{}", zrs.text);
        // The missing source is named in the error.
        let response = app.put(&path, &json!({"location": "westus", "properties": {"storageProfile": storage_profile(&missing)}})).await;
        assert!(response.text.contains("missing"), "{}", response.text);
        // The size limit (1 GiB here) counts every disk of the version.
        let big = disks::snapshot_path(&app, "rg", "big");
        disks::create(&app, &big, &json!({"location": "westus", "properties": {"creationData": {"createOption": "Empty"}, "diskSizeGB": 2, "hyperVGeneration": "V2"}})).await;
        let big_id = disks::get(&app, &big).await.json()["id"].as_str().unwrap().to_string();
        let too_big = app.put(&path, &json!({"location": "westus", "properties": {"storageProfile": storage_profile(&big_id)}})).await;
        too_big.assert_error(400, "InvalidParameter");
        assert!(too_big.text.contains("exceeds the max size"), "{}", too_big.text);
        // ZRS works where the region has availability zones.
        let zrs = app.put(&path, &body(json!([{"name": "westus", "storageAccountType": "Standard_LRS"}, {"name": "eastus", "storageAccountType": "Standard_ZRS"}]))).await;
        zrs.assert_status(201);
        succeeded(&app, &zrs).await;
        // Nothing was left by the refused creates.
        let (versions, _) = app.list_all(&format!("{}/versions?api-version=2026-03-03", app.image_path("rg", "gallery", "ubuntu"))).await;
        assert_eq!(versions.len(), 1);

        // What may not change after creation.
        let immutable: Vec<(Value, &str)> = vec![
            (json!({"properties": {"storageProfile": storage_profile(&far_snapshot)}}), "storageProfile"),
            (json!({"properties": {"publishingProfile": {"replicationMode": "Shallow"}}}), "replicationMode"),
            (json!({"properties": {"publishingProfile": {"storageAccountType": "Premium_LRS"}}}), "storageAccountType"),
        ];
        for (patch, member) in immutable {
            let response = app.patch(&path, &patch).await;
            response.assert_error(409, "PropertyChangeNotAllowed");
            let target = response.json()["error"]["target"].as_str().unwrap_or_default().to_string();
            assert!(target.contains(member), "{patch}: {}", response.text);
        }
        // Location cannot change.
        app.put(&path, &json!({"location": "eastus", "properties": {"publishingProfile": {"targetRegions": [target("eastus", 1)]}, "storageProfile": storage_profile(&snapshot_id)}}))
            .await
            .assert_error(409, "InvalidResourceLocation");
        // What may: end of life, exclusions, replica counts, tags.
        let changed = app.patch(&path, &json!({"tags": {"stage": "prod"}, "properties": {"publishingProfile": {
            "excludeFromLatest": true, "endOfLifeDate": "2099-01-01T00:00:00Z", "replicaCount": 2,
            "targetRegions": [{"name": "westus", "regionalReplicaCount": 2}, {"name": "eastus", "storageAccountType": "Standard_ZRS", "excludeFromLatest": true}]
        }}})).await;
        changed.assert_status(200);
        succeeded(&app, &changed).await;
        let version = app.get(&path).await.json();
        assert_eq!(version["tags"], json!({"stage": "prod"}));
        let profile = &version["properties"]["publishingProfile"];
        assert_eq!(profile["excludeFromLatest"], true);
        assert_eq!(profile["replicaCount"], 2);
        assert_eq!(profile["targetRegions"][0]["regionalReplicaCount"], 2);
        let all = replicas(&app, version["id"].as_str().unwrap()).await;
        assert_eq!(counts(&all), BTreeMap::from([("eastus".into(), 2), ("westus".into(), 2)]), "the default replica count applies to regions without their own");

        // The image definition cannot be deleted while it has versions.
        app.delete(&app.image_path("rg", "gallery", "ubuntu")).await.assert_error(409, "CannotDeleteResource");
    }

    async fn delete_is_blocked_before_end_of_life_when_asked(backend) {
        let app = TestApp::start(backend).await;
        gallery(&app).await;
        let snapshot_id = upload_snapshot(&app, "rg", "os", &disks::pattern(2, MIB as usize)).await;
        let path = version_path(&app, "2.0.0");
        let created = app.put(&path, &json!({
            "location": "westus",
            "properties": {
                "publishingProfile": {"endOfLifeDate": "2099-12-31T00:00:00Z"},
                "safetyProfile": {"blockDeletionBeforeEndOfLife": true},
                "storageProfile": storage_profile(&snapshot_id)
            }
        })).await;
        created.assert_status(201);
        succeeded(&app, &created).await;
        let version = app.get(&path).await.json();
        assert_eq!(version["properties"]["publishingProfile"]["targetRegions"][0]["name"], "West US", "the source region is the default target: {version}");
        app.delete(&path).await.assert_error(409, "DeleteGalleryImageVersionBlockedBeforeEndOfLife");
        app.get(&path).await.assert_status(200);
        // The end of life cannot move into the past; turning the flag off allows the deletion.
        app.patch(&path, &json!({"properties": {"publishingProfile": {"endOfLifeDate": "2020-01-01T00:00:00Z"}}}))
            .await
            .assert_error(400, "InvalidParameter");
        let unblocked = app.patch(&path, &json!({"properties": {"safetyProfile": {"blockDeletionBeforeEndOfLife": false}}})).await;
        unblocked.assert_status(200);
        succeeded(&app, &unblocked).await;
        let deleted = app.delete(&path).await;
        deleted.assert_status(202);
        succeeded(&app, &deleted).await;
    }

    async fn latest_lists_and_reports(backend) {
        let app = TestApp::start_with(backend, |config| config.page_size = 2).await;
        gallery(&app).await;
        let snapshot_id = upload_snapshot(&app, "rg", "os", &disks::pattern(4, MIB as usize)).await;
        let image_id = app.get(&app.image_path("rg", "gallery", "ubuntu")).await.json()["id"].as_str().unwrap().to_string();
        let latest = |region: Option<&str>| {
            let query = match region {
                Some(region) => format!("/_galleryd/latest?imageId={image_id}&region={region}"),
                None => format!("/_galleryd/latest?imageId={image_id}"),
            };
            let app = &app;
            async move { app.request(Method::GET, &query, None).await }
        };
        latest(None).await.assert_status(404);
        // Numeric ordering: 1.10.0 is newer than 1.9.0; 2.0.0 is excluded globally, 1.10.0 in eastus.
        for (name, exclude, eastus_exclude) in [("1.9.0", false, false), ("1.10.0", false, true), ("2.0.0", true, false)] {
            let created = app.put(&version_path(&app, name), &json!({
                "location": "westus",
                "properties": {
                    "publishingProfile": {"excludeFromLatest": exclude, "targetRegions": [{"name": "westus"}, {"name": "eastus", "excludeFromLatest": eastus_exclude}]},
                    "storageProfile": storage_profile(&snapshot_id)
                }
            })).await;
            created.assert_status(201);
            succeeded(&app, &created).await;
        }
        let answer = latest(None).await;
        answer.assert_status(200);
        assert_eq!(answer.json()["name"], "1.10.0");
        assert_eq!(latest(Some("eastus")).await.json()["name"], "1.9.0");
        assert_eq!(latest(Some("West US")).await.json()["name"], "1.10.0");

        // Lists are paginated and keep creation order.
        let (items, pages) = app.list_all(&format!("{}/versions?api-version=2026-03-03", app.image_path("rg", "gallery", "ubuntu"))).await;
        let names: Vec<&str> = items.iter().map(|item| item["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["1.9.0", "1.10.0", "2.0.0"]);
        assert_eq!(pages, 2);

        // Usage counts against the limits; billing multiplies occupied bytes by replicas.
        let usage = app.request(Method::GET, &format!("/_galleryd/usage?subscriptionId={}&location=westus", app.subscription), None).await;
        usage.assert_status(200);
        let usage = usage.json();
        let used = |kind: &str| {
            let entry = usage["value"].as_array().unwrap().iter().find(|entry| entry["name"] == kind).unwrap_or_else(|| panic!("{kind} in {usage}"));
            (entry["currentValue"].as_i64().unwrap(), entry["limit"].as_i64().unwrap())
        };
        assert_eq!((used("galleries"), used("imageDefinitions"), used("imageVersions")), ((1, 100), (1, 1000), (3, 10_000)), "{usage}");
        let billing = app.request(Method::GET, &format!("/_galleryd/billing?subscriptionId={}", app.subscription), None).await;
        billing.assert_status(200);
        let billing = billing.json();
        let versions = billing["versions"].as_array().expect("versions");
        assert_eq!(versions.len(), 3, "{billing}");
        for version in versions {
            // 1 MiB occupied, one replica in each of two regions; one copy leaves westus.
            assert_eq!(version["snapshotStorageBytes"], 2 * MIB, "{version}");
            assert_eq!((version["replicas"].as_i64(), version["regions"].as_i64()), (Some(2), Some(2)), "{version}");
            assert_eq!(version["egressBytes"], MIB, "{version}");
        }
        app.request(Method::GET, "/_galleryd/billing", None).await.assert_error(400, "InvalidParameter");
    }

    async fn concurrent_creates_never_pass_the_version_limit(backend) {
        let app = TestApp::start_with(backend, |config| config.max_image_versions_per_region = 5).await;
        gallery(&app).await;
        let snapshot_id = upload_snapshot(&app, "rg", "os", &disks::pattern(5, MIB as usize)).await;
        let body = json!({"location": "westus", "properties": {"storageProfile": storage_profile(&snapshot_id)}});
        let attempts = (0..12).map(|index| {
            let path = version_path(&app, &format!("1.0.{index}"));
            let body = body.clone();
            let app = &app;
            async move { app.put(&path, &body).await }
        });
        let answers = futures_util::future::join_all(attempts).await;
        let created = answers.iter().filter(|answer| answer.status == 201).count();
        let refused: Vec<&TestResponse> = answers.iter().filter(|answer| answer.status != 201).collect();
        assert_eq!(created, 5, "{:?}", answers.iter().map(|answer| &answer.text).collect::<Vec<_>>());
        for answer in refused {
            answer.assert_error(409, "OperationNotAllowed");
        }
        let (versions, _) = app.list_all(&format!("{}/versions?api-version=2026-03-03", app.image_path("rg", "gallery", "ubuntu"))).await;
        assert_eq!(versions.len(), 5);
        for answer in answers.iter().filter(|answer| answer.status == 201) {
            succeeded(&app, answer).await;
        }
    }
}

both_stores! {
    async fn realistic_replication_reports_progress_as_it_climbs(backend) {
        let app = TestApp::start_with(backend, |config| {
            config.replication_profile = galleryd::config::ReplicationProfile::Realistic;
            // 16 Mbit/s: 2 MiB a second, so 8 MiB to one other region takes about 4 s.
            config.replication_bandwidth_mbps = 16;
        })
        .await;
        gallery(&app).await;
        let data = disks::pattern(9, 8 * MIB as usize);
        let snapshot_id = upload_snapshot(&app, "rg", "os", &data).await;
        let path = version_path(&app, "1.0.0");
        let created = app.put(&path, &version_body(&snapshot_id, &[target("westus", 1), target("eastus", 1)])).await;
        created.assert_status(201);
        let mut seen = Vec::new();
        let mut summaries = Vec::new();
        loop {
            let version = with_status(&app, &path).await;
            let state = version["properties"]["provisioningState"].as_str().unwrap().to_string();
            let eastus = version["properties"]["replicationStatus"]["summary"].as_array().unwrap().iter().find(|region| region["region"] == "East US").cloned().expect("East US in the summary");
            seen.push(eastus["progress"].as_i64().unwrap());
            summaries.push(version["properties"]["replicationStatus"].clone());
            if state == "Succeeded" {
                break;
            }
            assert_eq!(state, "Creating");
            // A status poll waits a moment for the operation, which may end meanwhile.
            let operation = app.operation_status(&created).await;
            assert!(matches!(operation["status"].as_str(), Some("InProgress" | "Succeeded")), "{operation}");
            assert!(seen.len() < 400, "replication did not finish: {seen:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(seen.windows(2).all(|pair| pair[0] <= pair[1]), "progress never goes back: {seen:?}");
        assert!(seen.iter().any(|progress| *progress > 0 && *progress < 100), "progress was seen between 0 and 100: {seen:?}");
        assert!(summaries.iter().any(|status| status["aggregatedState"] == "InProgress"), "{summaries:?}");
        assert_eq!(seen.last(), Some(&100));
        assert_eq!(summaries.last().unwrap()["aggregatedState"], "Completed");
    }
}

/// Like [`upload_snapshot`], in another region.
async fn upload_snapshot_in(
    app: &TestApp,
    group: &str,
    region: &str,
    name: &str,
    data: &[u8],
) -> String {
    let path = disks::snapshot_path(app, group, name);
    let mut body = disks::os_upload_body(MIN_UPLOAD);
    body["location"] = json!(region);
    disks::create(app, &path, &body).await;
    let sas = disks::grant_sas(app, &path, "Write").await;
    let written = disks::put_page(app, &sas, 0, data.to_vec()).await;
    assert_eq!(written.status, 201, "{}", written.text());
    disks::revoke(app, &path).await;
    disks::get(app, &path).await.json()["id"]
        .as_str()
        .expect("snapshot id")
        .to_string()
}
