//! Managed images (`Microsoft.Compute/images`): creation from snapshots and managed disks (their
//! contents are copied by the workers), the validation rules, tags-only updates, lists and deletes,
//! and a gallery image version made from a managed image.
//!
//! Source snapshots and disks are seeded straight into the store (a resource row with its internal
//! data and a sealed, empty content), so these tests do not depend on the disk and snapshot APIs.

use gallery_domain::internal::{ContentReference, DiskInternal, ImageInternal};
use galleryd_tests::{TestApp, TestResponse, both_stores};
use reqwest::Method;
use serde_json::{Value, json};

/// A Microsoft.Compute api-version the `az` CLI sends for images.
const COMPUTE_API: &str = "2024-11-01";
const GIBIBYTE: i64 = 1024 * 1024 * 1024;
/// The checksum of a content with nothing written (SHA-256 of the empty sequence).
const EMPTY_CHECKSUM: &str =
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn image_path(app: &TestApp, group: &str, image: &str) -> String {
    crate::disks::resource_path(app, group, "images", image)
}

/// The id of a source snapshot or disk (or of anything else in `collection`).
fn source_id(app: &TestApp, group: &str, collection: &str, name: &str) -> String {
    crate::disks::resource_path(app, group, collection, name)
}

fn compute(path: &str) -> String {
    let separator = if path.contains('?') { '&' } else { '?' };
    format!("{path}{separator}api-version={COMPUTE_API}")
}

async fn put_image(app: &TestApp, path: &str, body: &Value) -> TestResponse {
    app.request(Method::PUT, &compute(path), Some(body)).await
}

async fn patch_image(app: &TestApp, path: &str, body: &Value) -> TestResponse {
    app.request(Method::PATCH, &compute(path), Some(body)).await
}

async fn get_image(app: &TestApp, path: &str) -> TestResponse {
    app.request(Method::GET, &compute(path), None).await
}

async fn delete_image(app: &TestApp, path: &str) -> TestResponse {
    app.request(Method::DELETE, &compute(path), None).await
}

/// How a seeded source looks.
struct Source<'a> {
    collection: &'a str,
    name: &'a str,
    region: &'a str,
    state: &'a str,
    /// The size of its content, or `None` for a source without content yet.
    size: Option<i64>,
    /// Whether its content is sealed (`false`: an upload to it has not ended).
    sealed: bool,
}

impl<'a> Source<'a> {
    fn snapshot(name: &'a str, size: i64) -> Self {
        Source {
            collection: "snapshots",
            name,
            region: "westus",
            state: "Succeeded",
            size: Some(size),
            sealed: true,
        }
    }

    fn disk(name: &'a str, size: i64) -> Self {
        Source {
            collection: "disks",
            ..Source::snapshot(name, size)
        }
    }
}

/// Puts a snapshot or disk row straight into the store, with its internal data and (when it has a
/// size) an empty content, sealed or still writable, as the disk and snapshot handlers record them.
/// Returns its id.
async fn seed_source(app: &TestApp, group: &str, source: Source<'_>) -> String {
    use gallery_store::{
        Applied, Decision, NewOperation, OperationStatus, ResourceTarget, WriteScope,
    };
    let id = source_id(app, group, source.collection, source.name);
    let key = id.to_lowercase();
    let resource_type = format!("Microsoft.Compute/{}", source.collection);
    let store = app.server().app.store().expect("store open");
    let content = match source.size {
        Some(size) => {
            let content_id = uuid::Uuid::new_v4().to_string();
            let manifest = json!({
                "content_id": content_id,
                "logical_size": size,
                "extents": [],
                "occupied_bytes": 0,
                "checksum": EMPTY_CHECKSUM,
            })
            .to_string();
            store
                .create_content(
                    &content_id,
                    source.region,
                    size,
                    &key,
                    source
                        .sealed
                        .then_some((manifest.as_str(), 0, EMPTY_CHECKSUM)),
                )
                .await
                .expect("seed a content");
            Some(ContentReference {
                disk: "os".to_string(),
                content_id,
                region: source.region.to_string(),
                occupied_bytes: 0,
                logical_size: u64::try_from(size).expect("a size"),
            })
        }
        None => None,
    };
    let internal = serde_json::to_string(&DiskInternal { content }).expect("internal data");
    let target = ResourceTarget {
        resource_id: &id,
        resource_key: &key,
        subscription_id: &app.subscription,
        resource_group_key: &group.to_lowercase(),
        resource_type: &resource_type,
        parent_key: None,
        quota: None,
    };
    let operation = NewOperation {
        operation_id: uuid::Uuid::new_v4().to_string(),
        action: format!("{resource_type}/write"),
        status: OperationStatus::Succeeded,
        started_at: "2026-01-01T00:00:00Z".to_string(),
        ended_at: None,
        final_status: 200,
    };
    let document = json!({
        "id": id,
        "name": source.name,
        "type": resource_type,
        "location": source.region,
        "properties": {"provisioningState": source.state},
    })
    .to_string();
    let decision = Decision {
        internal: Some(internal),
        ..Decision::new(
            source.name.to_string(),
            source.region.to_string(),
            source.state.to_string(),
            document,
        )
    };
    let WriteScope::Found(scope) = store
        .read_write_scope(&target)
        .await
        .expect("read the scope")
    else {
        panic!("the resource group of a seeded source exists");
    };
    let applied = store
        .apply_write(&target, &scope, &decision, &operation)
        .await
        .expect("seed a source");
    assert!(matches!(applied, Applied::Done(_)), "{applied:?}");
    id
}

/// A westus group with an OS snapshot (30 GiB) and two data sources: a snapshot (10 GiB and a
/// byte) and a managed disk (512 bytes). Returns their ids.
async fn seeded(app: &TestApp) -> (String, String, String) {
    app.create_group("rg", "westus").await;
    let os = seed_source(app, "rg", Source::snapshot("os", 30 * GIBIBYTE)).await;
    let data = seed_source(app, "rg", Source::snapshot("data", 10 * GIBIBYTE + 1)).await;
    let disk = seed_source(app, "rg", Source::disk("small", 512)).await;
    (os, data, disk)
}

fn three_disk_body(os: &str, data: &str, disk: &str) -> Value {
    json!({
        "location": "West US",
        "tags": {"team": "images"},
        "properties": {
            "storageProfile": {
                "osDisk": {"osType": "linux", "osState": "generalized", "snapshot": {"id": os}},
                "dataDisks": [
                    {"lun": 0, "snapshot": {"id": data}, "diskSizeGB": 64, "caching": "readonly"},
                    {"lun": 3, "managedDisk": {"id": disk}, "storageAccountType": "premium_lrs"}
                ]
            },
            "hyperVGeneration": "V2"
        }
    })
}

/// Creates the three-disk image `name` and waits until it has succeeded.
async fn create_image(app: &TestApp, name: &str) -> (String, Value) {
    let (os, data, disk) = (
        source_id(app, "rg", "snapshots", "os"),
        source_id(app, "rg", "snapshots", "data"),
        source_id(app, "rg", "disks", "small"),
    );
    let path = image_path(app, "rg", name);
    let body = three_disk_body(&os, &data, &disk);
    let created = put_image(app, &path, &body).await;
    created.assert_status(201);
    assert_eq!(
        app.wait_for_operation(&created).await["status"],
        "Succeeded"
    );
    (path, body)
}

both_stores! {
    async fn an_image_copies_the_contents_of_its_sources(backend) {
        let app = TestApp::start(backend).await;
        let (os, data, disk) = seeded(&app).await;
        let path = image_path(&app, "rg", "golden");
        let created = put_image(&app, &path, &three_disk_body(&os, &data, &disk)).await;
        created.assert_status(201);
        let body = created.json();
        assert_eq!(body["type"], "Microsoft.Compute/images");
        assert_eq!(body["name"], "golden");
        assert_eq!(body["location"], "westus");
        assert_eq!(body["properties"]["provisioningState"], "Creating");
        assert!(created.header("retry-after").is_some());
        let operation = app.wait_for_operation(&created).await;
        assert_eq!(operation["status"], "Succeeded", "{operation}");

        let fetched = get_image(&app, &path).await;
        fetched.assert_status(200);
        let image = fetched.json();
        assert_eq!(image["id"], format!("/subscriptions/{}/resourceGroups/rg/providers/Microsoft.Compute/images/golden", app.subscription));
        assert_eq!(image["tags"], json!({"team": "images"}));
        let properties = &image["properties"];
        assert_eq!(properties["provisioningState"], "Succeeded");
        assert_eq!(properties["hyperVGeneration"], "V2");
        let os_disk = &properties["storageProfile"]["osDisk"];
        assert_eq!(os_disk["osType"], "Linux");
        assert_eq!(os_disk["osState"], "Generalized");
        assert_eq!(os_disk["snapshot"]["id"], os);
        assert_eq!(os_disk["diskSizeGB"], 30, "the source's size");
        assert_eq!(os_disk["caching"], "ReadWrite");
        assert_eq!(os_disk["storageAccountType"], "Standard_LRS");
        let data_disks = &properties["storageProfile"]["dataDisks"];
        assert_eq!(data_disks[0]["lun"], 0);
        assert_eq!(data_disks[0]["diskSizeGB"], 64, "requested, above the source's 11 GB");
        assert_eq!(data_disks[0]["caching"], "ReadOnly");
        assert_eq!(data_disks[1]["lun"], 3);
        assert_eq!(data_disks[1]["managedDisk"]["id"], disk);
        assert_eq!(data_disks[1]["diskSizeGB"], 1, "512 bytes round up to 1 GB");
        assert_eq!(data_disks[1]["caching"], "None");
        assert_eq!(data_disks[1]["storageAccountType"], "Premium_LRS");
        assert_eq!(properties["storageProfile"]["zoneResilient"], false);

        // The image owns copies of the three contents, in its region.
        let store = app.server().app.store().expect("store open");
        let key = image["id"].as_str().unwrap().to_lowercase();
        let resource = store.get_resource(&key).await.unwrap().expect("the image row");
        let internal: ImageInternal = serde_json::from_str(resource.internal.as_deref().expect("internal data")).unwrap();
        let disks: Vec<(&str, u64)> = internal.disks.iter().map(|disk| (disk.disk.as_str(), disk.logical_size)).collect();
        assert_eq!(disks, [("os", 30 << 30), ("lun0", (10 << 30) + 1), ("lun3", 512)]);
        let contents = store.contents_of(&key).await.unwrap();
        assert_eq!(contents.len(), 3);
        for reference in &internal.disks {
            let content = contents.iter().find(|content| content.content_id == reference.content_id).expect("a copied content");
            assert_eq!(content.region, "westus");
            assert_eq!(content.logical_size, i64::try_from(reference.logical_size).unwrap());
            assert_eq!(content.checksum.as_deref(), Some(EMPTY_CHECKSUM));
            assert!(content.manifest.is_some(), "sealed");
        }
        // Sources keep their own contents.
        assert_eq!(store.contents_of(&os.to_lowercase()).await.unwrap().len(), 1);

        // The monitor URL of the creation answers the image.
        let monitor = format!("{}&monitor=true", created.header("azure-asyncoperation").unwrap());
        let result = app.request(Method::GET, &monitor, None).await;
        result.assert_status(200);
        assert_eq!(result.json()["properties"]["provisioningState"], "Succeeded");
    }

    async fn a_gallery_image_version_can_be_made_from_a_managed_image(backend) {
        let app = TestApp::start(backend).await;
        seeded(&app).await;
        let (path, _) = create_image(&app, "golden").await;
        let image_id = get_image(&app, &path).await.json()["id"].as_str().unwrap().to_string();
        app.create_gallery("rg", "gal").await;
        app.create_image("rg", "gal", "def", "Contoso", "Golden", "linux").await;
        let version_path = format!("{}/versions/1.0.0", app.image_path("rg", "gal", "def"));
        let version = app.put(&version_path, &json!({
            "location": "westus",
            "properties": {"storageProfile": {"source": {"id": image_id}}}
        })).await;
        version.assert_status(201);
        assert_eq!(app.wait_for_operation(&version).await["status"], "Succeeded", "{}", version.text);
        let fetched = app.get(&version_path).await.json();
        let storage = &fetched["properties"]["storageProfile"];
        assert_eq!(storage["osDiskImage"]["sizeInGB"], 30, "{fetched}");
        assert_eq!(storage["osDiskImage"]["hostCaching"], "ReadWrite");
        let luns: Vec<i64> = storage["dataDiskImages"].as_array().unwrap().iter().map(|disk| disk["lun"].as_i64().unwrap()).collect();
        assert_eq!(luns, [0, 3]);
    }

    async fn creation_rules(backend) {
        let app = TestApp::start(backend).await;
        let (os, data, disk) = seeded(&app).await;
        let elsewhere = seed_source(&app, "rg", Source { region: "eastus", ..Source::snapshot("elsewhere", GIBIBYTE) }).await;
        let creating = seed_source(&app, "rg", Source { state: "Creating", ..Source::snapshot("creating", GIBIBYTE) }).await;
        let empty = seed_source(&app, "rg", Source { size: None, ..Source::snapshot("empty", GIBIBYTE) }).await;
        // Succeeded, but its upload has not ended: its content still takes page writes.
        let uploading = seed_source(&app, "rg", Source { sealed: false, ..Source::disk("uploading", GIBIBYTE) }).await;
        let missing = source_id(&app, "rg", "snapshots", "missing");
        let os_disk = |extra: Value| {
            let mut disk = json!({"osType": "Linux", "osState": "Generalized", "snapshot": {"id": os}});
            for (key, value) in extra.as_object().unwrap() {
                disk[key] = value.clone();
            }
            json!({"storageProfile": {"osDisk": disk}})
        };
        let with_data = |disks: Value| {
            let mut properties = os_disk(json!({}));
            properties["storageProfile"]["dataDisks"] = disks;
            properties
        };
        let cases: Vec<(Value, u16, &str, &str)> = vec![
            (json!({}), 400, "InvalidParameter", "image.properties.storageProfile"),
            (json!({"sourceVirtualMachine": {"id": source_id(&app, "rg", "virtualMachines", "vm")}}), 400, "InvalidParameter", "image.properties.sourceVirtualMachine.id"),
            (json!({"storageProfile": {"dataDisks": []}}), 400, "InvalidParameter", "image.properties.storageProfile.osDisk"),
            (os_disk(json!({"osType": null})), 400, "InvalidParameter", "image.properties.storageProfile.osDisk.osType"),
            (os_disk(json!({"osType": "Solaris"})), 400, "InvalidParameter", "image.properties.storageProfile.osDisk.osType"),
            (os_disk(json!({"osState": null})), 400, "InvalidParameter", "image.properties.storageProfile.osDisk.osState"),
            (os_disk(json!({"osState": "Frozen"})), 400, "InvalidParameter", "image.properties.storageProfile.osDisk.osState"),
            (os_disk(json!({"snapshot": null})), 400, "InvalidParameter", "image.properties.storageProfile.osDisk"),
            (os_disk(json!({"managedDisk": {"id": disk}})), 400, "InvalidParameter", "image.properties.storageProfile.osDisk"),
            (os_disk(json!({"snapshot": null, "blobUri": "https://account.blob.core.windows.net/vhds/os.vhd"})), 400, "InvalidParameter", "image.properties.storageProfile.osDisk.blobUri"),
            (os_disk(json!({"snapshot": {"id": "os"}})), 400, "LinkedInvalidPropertyId", "properties.storageProfile.osDisk.snapshot.id"),
            (os_disk(json!({"snapshot": {"id": disk}})), 400, "InvalidParameter", "image.properties.storageProfile.osDisk.snapshot.id"),
            (os_disk(json!({"snapshot": null, "managedDisk": {"id": data}})), 400, "InvalidParameter", "image.properties.storageProfile.osDisk.managedDisk.id"),
            (os_disk(json!({"caching": "Sometimes"})), 400, "InvalidParameter", "image.properties.storageProfile.osDisk.caching"),
            (os_disk(json!({"storageAccountType": "Floppy"})), 400, "InvalidParameter", "image.properties.storageProfile.osDisk.storageAccountType"),
            (os_disk(json!({"diskSizeGB": 40000})), 400, "InvalidParameter", "image.properties.storageProfile.osDisk.diskSizeGB"),
            (os_disk(json!({"diskSizeGB": 29})), 400, "InvalidParameter", "image.properties.storageProfile.osDisk.diskSizeGB"),
            (os_disk(json!({"diskSizeGB": "big"})), 400, "InvalidRequestContent", "properties.storageProfile.osDisk.diskSizeGB"),
            (with_data(json!([{"snapshot": {"id": data}}])), 400, "InvalidParameter", "image.properties.storageProfile.dataDisks[0].lun"),
            (with_data(json!([{"lun": 64, "snapshot": {"id": data}}])), 400, "InvalidParameter", "image.properties.storageProfile.dataDisks[0].lun"),
            (with_data(json!([{"lun": 1, "snapshot": {"id": data}}, {"lun": 1, "managedDisk": {"id": disk}}])), 400, "InvalidParameter", "image.properties.storageProfile.dataDisks"),
            (with_data(json!([{"lun": 1}])), 400, "InvalidParameter", "image.properties.storageProfile.dataDisks[0]"),
            (os_disk(json!({"snapshot": {"id": missing}})), 404, "ResourceNotFound", "image.properties.storageProfile.osDisk.snapshot.id"),
            (with_data(json!([{"lun": 1, "managedDisk": {"id": source_id(&app, "rg", "disks", "gone")}}])), 404, "ResourceNotFound", "image.properties.storageProfile.dataDisks[0].managedDisk.id"),
            (os_disk(json!({"snapshot": {"id": elsewhere}})), 400, "InvalidParameter", "image.properties.storageProfile.osDisk.snapshot.id"),
            (os_disk(json!({"snapshot": {"id": creating}})), 409, "Conflict", "image.properties.storageProfile.osDisk.snapshot.id"),
            (with_data(json!([{"lun": 2, "snapshot": {"id": empty}}])), 409, "Conflict", "image.properties.storageProfile.dataDisks[0].snapshot.id"),
            (os_disk(json!({"snapshot": null, "managedDisk": {"id": uploading}})), 409, "Conflict", "image.properties.storageProfile.osDisk.managedDisk.id"),
            (with_data(json!([{"lun": 4, "managedDisk": {"id": uploading}}])), 409, "Conflict", "image.properties.storageProfile.dataDisks[0].managedDisk.id"),
        ];
        let path = image_path(&app, "rg", "img");
        for (properties, status, code, target) in cases {
            let response = put_image(&app, &path, &json!({"location": "westus", "properties": properties})).await;
            response.assert_error(status, code);
            assert_eq!(response.json()["error"]["target"], target, "{properties}: {}", response.text);
        }
        let not_found = put_image(&app, &path, &json!({"location": "westus", "properties": os_disk(json!({"snapshot": {"id": missing}}))})).await;
        let message = not_found.json()["error"]["message"].as_str().unwrap_or_default().to_string();
        assert!(message.contains("'Microsoft.Compute/snapshots/missing' under resource group 'rg' was not found"), "{message}");
        let wrong_region = put_image(&app, &path, &json!({"location": "westus", "properties": os_disk(json!({"snapshot": {"id": elsewhere}}))})).await;
        let message = wrong_region.json()["error"]["message"].as_str().unwrap_or_default().to_string();
        assert!(message.contains("'eastus'") && message.contains("'westus'"), "{message}");
        let incomplete = put_image(&app, &path, &json!({"location": "westus", "properties": os_disk(json!({"snapshot": null, "managedDisk": {"id": uploading}}))})).await;
        let message = incomplete.json()["error"]["message"].as_str().unwrap_or_default().to_string();
        assert!(message.contains("endGetAccess"), "{message}");
        // The location is checked before the sources.
        put_image(&app, &path, &json!({"properties": os_disk(json!({}))})).await.assert_error(400, "LocationRequired");
        put_image(&app, &path, &json!({"location": "atlantis", "properties": os_disk(json!({}))})).await.assert_error(400, "LocationNotAvailableForResourceType");
        // Names, groups and api-versions.
        for bad_name in ["-img", "img.", "img-", "i m g"] {
            put_image(&app, &image_path(&app, "rg", bad_name), &json!({"location": "westus", "properties": os_disk(json!({}))})).await.assert_error(400, "InvalidResourceName");
        }
        put_image(&app, &image_path(&app, "nogroup", "img"), &json!({"location": "westus", "properties": os_disk(json!({}))})).await.assert_error(404, "ResourceGroupNotFound");
        // A Compute Gallery api-version that Microsoft.Compute/images does not have.
        app.put(&path, &json!({"location": "westus", "properties": os_disk(json!({}))})).await.assert_error(400, "NoRegisteredProviderFound");
        put_image(&app, &path, &json!("not an object")).await.assert_error(400, "InvalidRequestContent");
        // Nothing was created by any of them.
        get_image(&app, &path).await.assert_error(404, "ResourceNotFound");
        get_image(&app, &image_path(&app, "nogroup", "img")).await.assert_error(404, "ResourceGroupNotFound");
        let (all, _) = app.list_all(&compute(&app.subscription_path("/providers/Microsoft.Compute/images"))).await;
        assert!(all.is_empty());
    }

    async fn only_tags_change(backend) {
        let app = TestApp::start(backend).await;
        seeded(&app).await;
        let (path, body) = create_image(&app, "golden").await;

        let patched = patch_image(&app, &path, &json!({"tags": {"team": "platform", "tier": "gold"}})).await;
        patched.assert_status(200);
        assert_eq!(app.wait_for_operation(&patched).await["status"], "Succeeded");
        let image = get_image(&app, &path).await.json();
        assert_eq!(image["tags"], json!({"team": "platform", "tier": "gold"}));
        assert_eq!(image["properties"]["provisioningState"], "Succeeded");
        assert_eq!(image["properties"]["storageProfile"]["osDisk"]["diskSizeGB"], 30);

        let changes: Vec<(Value, &str)> = vec![
            (json!({"hyperVGeneration": "V1"}), "image.properties.hyperVGeneration"),
            (json!({"storageProfile": {"osDisk": {"osState": "Specialized"}}}), "image.properties.storageProfile.osDisk.osState"),
            (json!({"storageProfile": {"osDisk": {"snapshot": {"id": source_id(&app, "rg", "snapshots", "data")}}}}), "image.properties.storageProfile.osDisk.snapshot.id"),
            (json!({"storageProfile": {"osDisk": {"diskSizeGB": 128}}}), "image.properties.storageProfile.osDisk.diskSizeGB"),
            (json!({"storageProfile": {"osDisk": {"caching": "None"}}}), "image.properties.storageProfile.osDisk.caching"),
            (json!({"storageProfile": {"zoneResilient": true}}), "image.properties.storageProfile.zoneResilient"),
            (json!({"storageProfile": {"dataDisks": [{"lun": 0}]}}), "image.properties.storageProfile.dataDisks"),
        ];
        for (properties, target) in changes {
            let response = patch_image(&app, &path, &json!({"properties": properties})).await;
            response.assert_error(409, "PropertyChangeNotAllowed");
            assert_eq!(response.json()["error"]["target"], target, "{}", response.text);
        }
        // The same PUT again (in any casing) changes nothing but the tags; a changed one is refused.
        let mut same = body.clone();
        same["properties"]["storageProfile"]["osDisk"]["osType"] = json!("LINUX");
        same["tags"] = json!({"team": "images"});
        let replaced = put_image(&app, &path, &same).await;
        replaced.assert_status(200);
        assert_eq!(replaced.json()["properties"]["provisioningState"], "Updating");
        assert_eq!(get_image(&app, &path).await.json()["tags"], json!({"team": "images"}));
        let mut changed = body.clone();
        changed["properties"]["storageProfile"]["dataDisks"][1]["storageAccountType"] = json!("Standard_LRS");
        let refused = put_image(&app, &path, &changed).await;
        refused.assert_error(409, "PropertyChangeNotAllowed");
        assert_eq!(refused.json()["error"]["target"], "image.properties.storageProfile.dataDisks[1].storageAccountType");
        let mut moved = body.clone();
        moved["location"] = json!("eastus");
        put_image(&app, &path, &moved).await.assert_error(409, "InvalidResourceLocation");
        patch_image(&app, &image_path(&app, "rg", "nothing"), &json!({"tags": {}})).await.assert_error(404, "ResourceNotFound");
        assert_eq!(get_image(&app, &path).await.json()["properties"]["provisioningState"], "Succeeded");
    }

    async fn an_image_being_created_cannot_change(backend) {
        // No workers: the copy never runs, the image stays Creating.
        let app = TestApp::start_with(backend, |config| config.workers = 0).await;
        seeded(&app).await;
        let path = image_path(&app, "rg", "pending");
        let os = source_id(&app, "rg", "snapshots", "os");
        let body = json!({"location": "westus", "properties": {"storageProfile": {"osDisk": {"osType": "Windows", "osState": "Specialized", "managedDisk": null, "snapshot": {"id": os}}}}});
        let created = put_image(&app, &path, &body).await;
        created.assert_status(201);
        let status = app.operation_status(&created).await;
        assert_eq!(status["status"], "InProgress");
        assert_eq!(get_image(&app, &path).await.json()["properties"]["provisioningState"], "Creating");
        patch_image(&app, &path, &json!({"tags": {"a": "b"}})).await.assert_error(409, "OperationNotAllowed");
        put_image(&app, &path, &body).await.assert_error(409, "OperationNotAllowed");
        // It can still be deleted.
        delete_image(&app, &path).await.assert_status(202);
        get_image(&app, &path).await.assert_error(404, "ResourceNotFound");
    }

    async fn lists_and_deletes(backend) {
        let app = TestApp::start(backend).await;
        seeded(&app).await;
        let (first, _) = create_image(&app, "first").await;
        let (second, _) = create_image(&app, "second").await;
        app.create_group("other", "westus").await;
        seed_source(&app, "other", Source::disk("os", GIBIBYTE)).await;
        let third = image_path(&app, "other", "third");
        let created = put_image(&app, &third, &json!({"location": "westus", "properties": {"storageProfile": {"osDisk": {
            "osType": "Linux", "osState": "Generalized", "managedDisk": {"id": source_id(&app, "other", "disks", "os")}
        }}}})).await;
        created.assert_status(201);
        assert_eq!(app.wait_for_operation(&created).await["status"], "Succeeded");

        let names = |items: Vec<Value>| -> Vec<String> { items.iter().map(|item| item["name"].as_str().unwrap_or_default().to_string()).collect() };
        let (in_group, _) = app.list_all(&compute(&format!("{}/providers/Microsoft.Compute/images", app.group_path("rg")))).await;
        assert_eq!(names(in_group), ["first", "second"]);
        let (paged, pages) = app.list_all(&format!("{}&$top=1", compute(&format!("{}/providers/Microsoft.Compute/images", app.group_path("rg"))))).await;
        assert_eq!((paged.len(), pages), (2, 2), "one per page");
        let (everywhere, _) = app.list_all(&compute(&app.subscription_path("/providers/Microsoft.Compute/images"))).await;
        assert_eq!(names(everywhere), ["first", "second", "third"]);
        assert_eq!(
            app.request(Method::GET, &compute(&format!("{}/providers/Microsoft.Compute/images", app.group_path("nogroup"))), None).await.error_code(),
            "ResourceGroupNotFound"
        );

        let deleted = delete_image(&app, &first).await;
        deleted.assert_status(202);
        let location = deleted.header("location").expect("Location header").to_string();
        app.request(Method::GET, &location, None).await.assert_status(204);
        assert_eq!(app.wait_for_operation(&deleted).await["status"], "Succeeded");
        get_image(&app, &first).await.assert_error(404, "ResourceNotFound");
        delete_image(&app, &first).await.assert_status(204);
        delete_image(&app, &image_path(&app, "nogroup", "first")).await.assert_error(404, "ResourceGroupNotFound");
        get_image(&app, &second).await.assert_status(200);
        let (left, _) = app.list_all(&compute(&app.subscription_path("/providers/Microsoft.Compute/images"))).await;
        assert_eq!(names(left), ["second", "third"]);
        // The deleted image's contents are garbage now (nothing owns them).
        let store = app.server().app.store().expect("store open");
        let orphans = store.orphaned_contents(100).await.unwrap();
        assert_eq!(orphans.len(), 3, "the three copies of the deleted image");
        // A name is free again once deleted.
        let (again, _) = create_image(&app, "first").await;
        get_image(&app, &again).await.assert_status(200);
    }
}
