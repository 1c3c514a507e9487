//! What Azure refuses about an image version's source, as galleryd answers it: the source's Hyper-V
//! generation, OS type, OS state, boot security (Trusted launch) and architecture must fit the
//! image definition (409 `Conflict` with Azure's messages), for snapshots, disks, managed images
//! and other versions; a VHD blob carries nothing to check; data disks are not checked.

use galleryd_tests::{TestApp, both_stores};
use reqwest::Method;
use serde_json::{Value, json};

use crate::disks;
use crate::gallery_image_versions::{gallery, storage_profile, succeeded};

const COMPUTE_API: &str = "2024-11-01";

/// A sealed 1 GiB `Empty` snapshot (or disk, by `collection`) with `properties` merged in; its id.
async fn source(app: &TestApp, collection: &str, name: &str, properties: Value) -> String {
    let path = disks::resource_path(app, "rg", collection, name);
    let mut body = json!({"location": "westus", "properties": {"creationData": {"createOption": "Empty"}, "diskSizeGB": 1}});
    for (key, value) in properties.as_object().expect("properties") {
        body["properties"][key] = value.clone();
    }
    disks::create(app, &path, &body).await;
    path
}

/// A managed image of the snapshot `snapshot_id`; its id.
async fn managed_image(
    app: &TestApp,
    name: &str,
    snapshot_id: &str,
    os_state: &str,
    generation: Option<&str>,
) -> String {
    let path = disks::resource_path(app, "rg", "images", name);
    let mut body = json!({"location": "westus", "properties": {"storageProfile": {"osDisk": {"osType": "Linux", "osState": os_state, "snapshot": {"id": snapshot_id}}}}});
    if let Some(generation) = generation {
        body["properties"]["hyperVGeneration"] = json!(generation);
    }
    let created = app
        .request(
            Method::PUT,
            &format!("{path}?api-version={COMPUTE_API}"),
            Some(&body),
        )
        .await;
    assert!(matches!(created.status, 200 | 201), "{}", created.text);
    app.wait_for_operation(&created).await;
    path
}

fn version_path(app: &TestApp, image: &str, version: &str) -> String {
    format!(
        "{}/versions/{version}",
        app.image_path("rg", "gallery", image)
    )
}

fn body(storage: Value) -> Value {
    json!({"location": "westus", "properties": {"storageProfile": storage}})
}

both_stores! {
    async fn a_source_must_fit_its_image_definition(backend) {
        let app = TestApp::start(backend).await;
        // `ubuntu`: V2, Linux, Generalized, TrustedLaunchSupported, x64 (the 2026-03-03 defaults).
        gallery(&app).await;
        let definition = |properties: Value| {
            let mut body = TestApp::image_body("Contoso", "Agents", "other");
            for (key, value) in properties.as_object().unwrap() {
                body["properties"][key] = value.clone();
            }
            body
        };
        for (name, sku, properties) in [
            ("legacy", "legacy", json!({"hyperVGeneration": "V1", "osState": "Specialized"})),
            ("standard", "standard", json!({"hyperVGeneration": "V2", "features": [{"name": "SecurityType", "value": "Standard"}]})),
            ("arm", "arm", json!({"hyperVGeneration": "V2", "architecture": "Arm64"})),
        ] {
            let mut body = definition(properties);
            body["properties"]["identifier"]["sku"] = json!(sku);
            let created = app.put(&app.image_path("rg", "gallery", name), &body).await;
            assert!(matches!(created.status, 200 | 201), "{}", created.text);
        }

        let gen1 = source(&app, "snapshots", "gen1", json!({"osType": "Linux"})).await;
        let gen2 = source(&app, "snapshots", "gen2", json!({"osType": "Linux", "hyperVGeneration": "V2"})).await;
        let windows = source(&app, "snapshots", "windows", json!({"osType": "Windows", "hyperVGeneration": "V2"})).await;
        let trusted = source(&app, "snapshots", "trusted", json!({"osType": "Linux", "hyperVGeneration": "V2", "securityProfile": {"securityType": "TrustedLaunch"}})).await;
        let arm = source(&app, "snapshots", "arm", json!({"osType": "Linux", "hyperVGeneration": "V2", "supportedCapabilities": {"architecture": "Arm64"}})).await;
        let windows_gen1 = source(&app, "snapshots", "windata", json!({"osType": "Windows"})).await;
        let gen1_disk = source(&app, "disks", "gen1disk", json!({})).await;
        let gen2_disk = source(&app, "disks", "gen2disk", json!({"hyperVGeneration": "V2"})).await;
        let image_v1 = managed_image(&app, "imagev1", &gen1, "Generalized", None).await;
        let image_v2 = managed_image(&app, "imagev2", &gen2, "Generalized", Some("V2")).await;

        // Refused, each with Azure's message, naming the source and its property path.
        let os_target = "galleryImageVersion.properties.storageProfile.osDiskImage.source.id";
        let artifact_target = "galleryImageVersion.properties.storageProfile.source.id";
        let refusals: Vec<(&str, String, &str, String)> = vec![
            ("ubuntu", gen1.clone(), os_target, format!("The resource with id '{gen1}' has a different Hypervisor generation ['V1'] than the parent gallery image Hypervisor generation ['V2'].")),
            ("legacy", gen2.clone(), os_target, format!("The resource with id '{gen2}' has a different Hypervisor generation ['V2'] than the parent gallery image Hypervisor generation ['V1'].")),
            ("ubuntu", gen1_disk.clone(), os_target, format!("The resource with id '{gen1_disk}' has a different Hypervisor generation ['V1'] than the parent gallery image Hypervisor generation ['V2'].")),
            ("ubuntu", image_v1.clone(), artifact_target, format!("The resource with id '{image_v1}' has a different Hypervisor generation ['V1'] than the parent gallery image Hypervisor generation ['V2'].")),
            ("ubuntu", windows.clone(), os_target, format!("The resource with id '{windows}' has a different OS type ['Windows'] than the parent gallery image OS type generation ['Linux'].")),
            ("legacy", image_v1.clone(), artifact_target, format!("Cannot create Gallery Image Version from: {image_v1} since the OS State in the parent gallery image (Specialized) is not Generalized.")),
            ("standard", trusted.clone(), os_target, format!("The resource with id '{trusted}' has a different security type ['TrustedLaunch'] than the parent gallery image security type ['Standard']")),
            ("ubuntu", arm.clone(), os_target, format!("The resource with id '{arm}' has a different architecture ['Arm64'] than the parent gallery image architecture ['x64'].")),
        ];
        for (image, source_id, target, message) in &refusals {
            let refused = app.put(&version_path(&app, image, "9.9.9"), &body(storage_profile(source_id))).await;
            refused.assert_error(409, "Conflict");
            let error = &refused.json()["error"];
            assert!(error["message"].as_str().unwrap().starts_with(message.as_str()), "{image} {source_id}: {}", refused.text);
            assert_eq!(error["target"], *target);
        }
        for image in ["ubuntu", "legacy", "standard", "arm"] {
            let (versions, _) = app.list_all(&format!("{}/versions?api-version=2026-03-03", app.image_path("rg", "gallery", image))).await;
            assert!(versions.is_empty(), "a refused create leaves nothing in {image}");
        }

        // Accepted: matching sources of every kind.
        let accepted: Vec<(&str, &str, Value)> = vec![
            ("ubuntu", "1.0.0", storage_profile(&gen2)),
            ("ubuntu", "1.0.1", storage_profile(&gen2_disk)),
            ("ubuntu", "1.0.2", storage_profile(&image_v2)),
            ("ubuntu", "1.0.3", storage_profile(&trusted)),
            ("legacy", "1.0.0", storage_profile(&gen1)),
            ("standard", "1.0.0", storage_profile(&gen2)),
            ("arm", "1.0.0", storage_profile(&arm)),
            // Data disks boot nothing: a Windows generation 1 data disk is fine.
            ("ubuntu", "1.0.4", json!({"osDiskImage": {"source": {"id": gen2}}, "dataDiskImages": [{"lun": 0, "source": {"id": windows_gen1}}]})),
        ];
        for (image, version, storage) in &accepted {
            let created = app.put(&version_path(&app, image, version), &body(storage.clone())).await;
            assert_eq!(created.status, 201, "{image} {version}: {}", created.text);
            succeeded(&app, &created).await;
        }

        // Another version brings its definition's traits: a version of `legacy` (V1, Specialized)
        // does not fit `ubuntu`, but fits `legacy`.
        let legacy_version = app.get(&version_path(&app, "legacy", "1.0.0")).await.json()["id"].as_str().unwrap().to_string();
        let refused = app.put(&version_path(&app, "ubuntu", "2.0.0"), &body(storage_profile(&legacy_version))).await;
        refused.assert_error(409, "Conflict");
        assert!(refused.text.contains("different Hypervisor generation ['V1']"), "{}", refused.text);
        let trusted_version = app.get(&version_path(&app, "ubuntu", "1.0.3")).await.json()["id"].as_str().unwrap().to_string();
        let copied = app.put(&version_path(&app, "standard", "2.0.0"), &body(storage_profile(&trusted_version))).await;
        assert_eq!(copied.status, 201, "a version of a TrustedLaunchSupported definition is Standard-compatible: {}", copied.text);
        succeeded(&app, &copied).await;
        let again = app.put(&version_path(&app, "legacy", "2.0.0"), &body(storage_profile(&legacy_version))).await;
        assert_eq!(again.status, 201, "{}", again.text);
        succeeded(&app, &again).await;

        // A VHD blob carries no generation or OS type: nothing to check, as on Azure.
        let uri = disks::grant_sas(&app, &gen1, "Read").await;
        let from_blob = app.put(&version_path(&app, "ubuntu", "3.0.0"), &body(json!({"osDiskImage": {"source": {"uri": uri}}}))).await;
        assert_eq!(from_blob.status, 201, "{}", from_blob.text);
        succeeded(&app, &from_blob).await;

        // Disks and snapshots serve the security profile and capabilities they were given, and a
        // copy inherits them.
        let trusted_copy = disks::snapshot_path(&app, "rg", "trustedcopy");
        disks::create(&app, &trusted_copy, &json!({"location": "westus", "properties": {"creationData": {"createOption": "Copy", "sourceResourceId": trusted}}})).await;
        let copy = disks::get(&app, &trusted_copy).await.json();
        assert_eq!(copy["properties"]["securityProfile"], json!({"securityType": "TrustedLaunch"}));
        assert_eq!(copy["properties"]["hyperVGeneration"], "V2");
        assert_eq!(disks::get(&app, &arm).await.json()["properties"]["supportedCapabilities"], json!({"architecture": "Arm64"}));
        // Older SDK samples name a copy's source in `sourceUri`; Azure accepts it, and so does galleryd.
        let by_uri = disks::snapshot_path(&app, "rg", "byuri");
        disks::create(&app, &by_uri, &json!({"location": "westus", "properties": {"creationData": {"createOption": "Copy", "sourceUri": gen2}}})).await;
        let copy = disks::get(&app, &by_uri).await.json();
        assert!(copy["properties"]["creationData"]["sourceResourceId"].as_str().unwrap().eq_ignore_ascii_case(&gen2), "{copy}");
        assert_eq!(copy["properties"]["hyperVGeneration"], "V2");

        // An OS disk and a data disk naming one source: Azure's message.
        let same = app.put(&version_path(&app, "ubuntu", "4.0.0"), &body(json!({"osDiskImage": {"source": {"id": gen2}}, "dataDiskImages": [{"lun": 0, "source": {"id": gen2}}]}))).await;
        same.assert_error(400, "InvalidParameter");
        assert_eq!(same.json()["error"]["message"], format!("OSDiskImage and DataDiskImage cannot point to same blob {gen2}"));
    }
}
