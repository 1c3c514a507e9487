//! Managed disks and snapshots: the eight operations of each, the rules Azure enforces on them, the
//! disk states of uploads and SAS access, and copies that carry their source's bytes.
//!
//! The helpers here (paths, requests at the disk api-version, uploads through the blob endpoint) are
//! shared with `blob_service.rs`.

use galleryd_tests::{TestApp, TestResponse, both_stores};
use reqwest::Method;
use serde_json::{Value, json};

/// The disk resource provider's api-version azure-mgmt-compute 39 sends.
pub const DISK_API: &str = "2026-03-02";
/// The smallest upload Azure accepts (20 MiB plus the VHD footer).
pub const MIN_UPLOAD: u64 = 20 * 1024 * 1024 + 512;
pub const MIB: u64 = 1024 * 1024;
pub const GIB: u64 = 1024 * MIB;

/// `…/providers/Microsoft.Compute/{collection}/{name}`.
pub fn resource_path(app: &TestApp, group: &str, collection: &str, name: &str) -> String {
    format!(
        "{}/providers/Microsoft.Compute/{collection}/{name}",
        app.group_path(group)
    )
}

pub fn disk_path(app: &TestApp, group: &str, name: &str) -> String {
    resource_path(app, group, "disks", name)
}

pub fn snapshot_path(app: &TestApp, group: &str, name: &str) -> String {
    resource_path(app, group, "snapshots", name)
}

fn versioned(path: &str) -> String {
    let separator = if path.contains('?') { '&' } else { '?' };
    format!("{path}{separator}api-version={DISK_API}")
}

/// A request at the disk api-version.
pub async fn call(app: &TestApp, method: Method, path: &str, body: Option<&Value>) -> TestResponse {
    app.request(method, &versioned(path), body).await
}

pub async fn put(app: &TestApp, path: &str, body: &Value) -> TestResponse {
    call(app, Method::PUT, path, Some(body)).await
}

pub async fn get(app: &TestApp, path: &str) -> TestResponse {
    call(app, Method::GET, path, None).await
}

/// `beginGetAccess` with `access` for `seconds`.
pub async fn grant(app: &TestApp, path: &str, access: &str, seconds: i64) -> TestResponse {
    call(
        app,
        Method::POST,
        &format!("{path}/beginGetAccess"),
        Some(&json!({"access": access, "durationInSeconds": seconds})),
    )
    .await
}

/// The result of an accepted POST action, as Azure answers it: 202 with `Azure-AsyncOperation`
/// and `Location`, the operation already `Succeeded` at the first poll; returns the status body and
/// what the `Location` answers.
pub async fn action_result(app: &TestApp, response: &TestResponse) -> (Value, TestResponse) {
    response.assert_status(202);
    assert!(
        response.text.is_empty(),
        "an accepted action has no body: {}",
        response.text
    );
    let status = app.operation_status(response).await;
    assert_eq!(
        status["status"], "Succeeded",
        "instant work is done at the first poll: {status}"
    );
    let location = response
        .header("location")
        .expect("Location header")
        .to_string();
    let result = app.request(Method::GET, &location, None).await;
    assert_eq!(result.status, 200, "{}", result.text);
    (status, result)
}

/// The SAS of a `beginGetAccess` answer: in the operation's result (and its status's
/// `properties.output`), as Azure reports it.
pub async fn sas_of(app: &TestApp, response: &TestResponse) -> String {
    let (status, result) = action_result(app, response).await;
    let sas = result.json()["accessSAS"]
        .as_str()
        .expect("accessSAS")
        .to_string();
    assert_eq!(status["properties"]["output"]["accessSAS"], sas.as_str());
    sas
}

/// `beginGetAccess`, asserting a SAS came back.
pub async fn grant_sas(app: &TestApp, path: &str, access: &str) -> String {
    let response = grant(app, path, access, 3600).await;
    sas_of(app, &response).await
}

/// `endGetAccess`, asserting it was accepted and done (its result is 200 without a body).
pub async fn revoke(app: &TestApp, path: &str) {
    let response = call(app, Method::POST, &format!("{path}/endGetAccess"), None).await;
    let (_, result) = action_result(app, &response).await;
    assert!(result.text.is_empty(), "{}", result.text);
}

/// The body of an Upload disk or snapshot of `bytes`.
pub fn upload_body(bytes: u64) -> Value {
    json!({"location": "westus", "properties": {"creationData": {"createOption": "Upload", "uploadSizeBytes": bytes}}})
}

/// The body of an Upload snapshot or disk of `bytes` holding a generation 2 Linux OS disk (what an
/// image definition made at a recent api-version expects of a version's source).
pub fn os_upload_body(bytes: u64) -> Value {
    json!({"location": "westus", "properties": {"creationData": {"createOption": "Upload", "uploadSizeBytes": bytes}, "osType": "Linux", "hyperVGeneration": "V2"}})
}

/// The body of an Empty disk of `size_gb`.
pub fn empty_body(size_gb: i64) -> Value {
    json!({"location": "westus", "properties": {"creationData": {"createOption": "Empty"}, "diskSizeGB": size_gb}})
}

/// Creates a resource and asserts it was accepted.
pub async fn create(app: &TestApp, path: &str, body: &Value) -> TestResponse {
    let response = put(app, path, body).await;
    assert!(
        matches!(response.status, 200 | 202),
        "create {path}: {}",
        response.text
    );
    response
}

/// A raw response of the blob endpoint, body as bytes.
pub struct BlobResponse {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl BlobResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts a Blob service error: status, `x-ms-error-code` and the XML body's code.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status, self.header("x-ms-error-code")),
            (status, Some(code)),
            "unexpected answer: {}",
            self.text()
        );
        assert!(
            self.text().contains(&format!("<Code>{code}</Code>")),
            "{}",
            self.text()
        );
    }
}

/// Sends a request to a blob URL with extra headers and an optional body.
pub async fn blob_request(
    app: &TestApp,
    method: Method,
    url: &str,
    headers: &[(&str, String)],
    body: Option<Vec<u8>>,
) -> BlobResponse {
    let mut request = app.client.request(method, url);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    if let Some(body) = body {
        request = request.body(body);
    }
    let response = request.send().await.expect("blob request sent");
    BlobResponse {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response
            .bytes()
            .await
            .map(|bytes| bytes.to_vec())
            .unwrap_or_default(),
    }
}

/// `url` with `extra` query parameters appended.
pub fn with_query(url: &str, extra: &str) -> String {
    format!("{url}&{extra}")
}

/// Put Page (`update`) of `bytes` at `offset`.
pub async fn put_page(app: &TestApp, sas: &str, offset: u64, bytes: Vec<u8>) -> BlobResponse {
    let range = format!("bytes={offset}-{}", offset + bytes.len() as u64 - 1);
    blob_request(
        app,
        Method::PUT,
        &with_query(sas, "comp=page"),
        &[
            ("x-ms-page-write", "update".to_string()),
            ("x-ms-range", range),
            ("x-ms-version", "2025-01-05".to_string()),
        ],
        Some(bytes),
    )
    .await
}

/// Get Blob of the whole content, asserting 200.
pub async fn download(app: &TestApp, sas: &str) -> Vec<u8> {
    let response = blob_request(app, Method::GET, sas, &[], None).await;
    assert_eq!(response.status, 200, "{}", response.text());
    response.body
}

/// `count` bytes of a recognizable pattern seeded by `seed`.
pub fn pattern(seed: u8, count: usize) -> Vec<u8> {
    (0..count)
        .map(|index| (index as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

both_stores! {
    async fn empty_disks_are_created_read_listed_updated_and_deleted(backend) {
        let app = TestApp::start(backend).await;
        app.create_group("rg", "westus").await;
        let path = disk_path(&app, "rg", "data1");
        let created = put(&app, &path, &json!({"location": "West US", "tags": {"team": "images"}, "properties": {"creationData": {"createOption": "empty"}, "diskSizeGB": 4, "osType": "linux"}})).await;
        // The disk provider answers 200 (or 202 while work runs), never 201.
        created.assert_status(200);
        let body = created.json();
        assert_eq!(body["type"], "Microsoft.Compute/disks");
        assert_eq!(body["name"], "data1");
        assert_eq!(body["location"], "westus");
        assert_eq!(body["id"], format!("{}/providers/Microsoft.Compute/disks/data1", app.group_path("rg")));
        assert_eq!(body["properties"]["provisioningState"], "Creating");
        assert_eq!(body["properties"]["creationData"], json!({"createOption": "Empty"}));
        assert_eq!(app.wait_for_operation(&created).await["status"], "Succeeded");
        let operation_url = created.header("azure-asyncoperation").unwrap();
        assert!(operation_url.contains("api-version=2026-03-03"), "{operation_url}");

        let fetched = get(&app, &path).await;
        fetched.assert_status(200);
        let fetched = fetched.json();
        assert_eq!(fetched["sku"], json!({"name": "Standard_LRS", "tier": "Standard"}));
        assert_eq!(fetched["tags"], json!({"team": "images"}));
        let properties = &fetched["properties"];
        assert_eq!(properties["provisioningState"], "Succeeded");
        assert_eq!(properties["diskState"], "Unattached");
        assert_eq!(properties["diskSizeGB"], 4);
        assert_eq!(properties["diskSizeBytes"], 4 * GIB);
        assert_eq!(properties["osType"], "Linux");
        assert!(properties.get("hyperVGeneration").is_none());
        assert!(properties.get("incremental").is_none(), "disks have no incremental flag");
        assert_eq!(properties["uniqueId"].as_str().unwrap().len(), 36);
        assert!(properties["timeCreated"].as_str().unwrap().ends_with('Z'));

        // An Empty disk reads as zeros through a read SAS.
        let sas = grant_sas(&app, &path, "Read").await;
        assert!(sas.starts_with(&format!("{}/gallerydblob/westus/", app.http)), "{sas}");
        assert!(sas.contains("sp=r&"), "{sas}");
        assert_eq!(get(&app, &path).await.json()["properties"]["diskState"], "ActiveSAS");
        let head = blob_request(&app, Method::HEAD, &sas, &[], None).await;
        assert_eq!(head.status, 200);
        assert_eq!(head.header("content-length"), Some((4 * GIB).to_string().as_str()));
        let tail = blob_request(&app, Method::GET, &sas, &[("x-ms-range", format!("bytes={}-{}", 4 * GIB - 1024, 4 * GIB - 1))], None).await;
        assert_eq!(tail.status, 206);
        assert_eq!(tail.body, vec![0u8; 1024]);
        revoke(&app, &path).await;
        assert_eq!(get(&app, &path).await.json()["properties"]["diskState"], "Unattached");

        // Lists, in the group and in the subscription.
        create(&app, &disk_path(&app, "rg", "data2"), &empty_body(1)).await;
        create(&app, &snapshot_path(&app, "rg", "snap1"), &empty_body(1)).await;
        let (in_group, _) = app.list_all(&versioned(&format!("{}/providers/Microsoft.Compute/disks", app.group_path("rg")))).await;
        let names: Vec<&str> = in_group.iter().map(|disk| disk["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["data1", "data2"]);
        let (everywhere, _) = app.list_all(&versioned(&app.subscription_path("/providers/Microsoft.Compute/disks"))).await;
        assert_eq!(everywhere.len(), 2);
        let (snapshots, _) = app.list_all(&versioned(&app.subscription_path("/providers/Microsoft.Compute/snapshots"))).await;
        assert_eq!(snapshots.len(), 1);
        assert_eq!(snapshots[0]["properties"]["incremental"], false);
        call(&app, Method::GET, &format!("{}/providers/Microsoft.Compute/disks", app.group_path("nope")), None).await.assert_error(404, "ResourceGroupNotFound");

        // PATCH: tags replace, the size grows, the SKU and osType change.
        let patched = call(&app, Method::PATCH, &path, Some(&json!({"tags": {"owner": "me"}, "sku": {"name": "Premium_LRS"}, "properties": {"diskSizeGB": 8, "osType": "Windows"}}))).await;
        patched.assert_status(200);
        assert_eq!(patched.json()["properties"]["provisioningState"], "Updating");
        let patched = get(&app, &path).await.json();
        assert_eq!(patched["tags"], json!({"owner": "me"}));
        assert_eq!(patched["sku"], json!({"name": "Premium_LRS", "tier": "Premium"}));
        assert_eq!(patched["properties"]["diskSizeGB"], 8);
        assert_eq!(patched["properties"]["diskSizeBytes"], 8 * GIB);
        assert_eq!(patched["properties"]["osType"], "Windows");
        assert_eq!(patched["properties"]["uniqueId"], properties["uniqueId"]);
        // The content grew with it.
        let sas = grant_sas(&app, &path, "Read").await;
        let head = blob_request(&app, Method::HEAD, &sas, &[], None).await;
        assert_eq!(head.header("content-length"), Some((8 * GIB).to_string().as_str()));
        revoke(&app, &path).await;

        // PUT with the same size is fine; a smaller one is refused.
        put(&app, &path, &empty_body(8)).await.assert_status(200);
        let smaller = put(&app, &path, &empty_body(2)).await;
        smaller.assert_error(400, "InvalidParameter");
        assert_eq!(smaller.json()["error"]["target"], "disk.properties.diskSizeGB");
        assert!(smaller.json()["error"]["message"].as_str().unwrap().contains("reduction"), "{}", smaller.text);

        let deleted = call(&app, Method::DELETE, &path, None).await;
        deleted.assert_status(202);
        assert!(deleted.header("location").unwrap().contains("monitor=true"));
        let result = app.request(Method::GET, deleted.header("location").unwrap(), None).await;
        result.assert_status(204);
        get(&app, &path).await.assert_error(404, "ResourceNotFound");
        let message = get(&app, &path).await.json()["error"]["message"].as_str().unwrap().to_string();
        assert!(message.starts_with("The Resource 'Microsoft.Compute/disks/data1' under resource group 'rg' was not found."), "{message}");
        call(&app, Method::DELETE, &path, None).await.assert_status(204);
        call(&app, Method::PATCH, &path, Some(&json!({"tags": {}}))).await.assert_error(404, "ResourceNotFound");
        call(&app, Method::POST, &format!("{path}/beginGetAccess"), Some(&json!({"access": "Read", "durationInSeconds": 60}))).await.assert_error(404, "ResourceNotFound");
    }

    async fn every_creation_rule_is_enforced(backend) {
        let app = TestApp::start(backend).await;
        app.create_group("rg", "westus").await;
        app.create_group("east", "eastus").await;
        let upload_in_progress = disk_path(&app, "rg", "uploading");
        create(&app, &upload_in_progress, &upload_body(MIN_UPLOAD)).await;
        let elsewhere = disk_path(&app, "east", "far");
        create(&app, &elsewhere, &json!({"location": "eastus", "properties": {"creationData": {"createOption": "Empty"}, "diskSizeGB": 1}})).await;
        let missing_source = disk_path(&app, "rg", "ghost");
        let gallery_id = app.gallery_path("rg", "gallery");
        let copy = |source: &str| json!({"location": "westus", "properties": {"creationData": {"createOption": "Copy", "sourceResourceId": source}}});
        let target = "disk.properties";
        let cases: Vec<(Value, u16, &str, String)> = vec![
            (json!({"location": "westus"}), 400, "InvalidParameter", format!("{target}.creationData")),
            (json!({"location": "westus", "properties": {"diskSizeGB": 1}}), 400, "InvalidParameter", format!("{target}.creationData")),
            (json!({"location": "westus", "properties": {"creationData": {}, "diskSizeGB": 1}}), 400, "InvalidParameter", format!("{target}.creationData.createOption")),
            (json!({"location": "westus", "properties": {"creationData": {"createOption": "Teleport"}}}), 400, "InvalidParameter", format!("{target}.creationData.createOption")),
            (json!({"location": "westus", "properties": {"creationData": {"createOption": "Import"}}}), 400, "InvalidParameter", format!("{target}.creationData.createOption")),
            (json!({"location": "westus", "properties": {"creationData": {"createOption": "FromImage"}}}), 400, "InvalidParameter", format!("{target}.creationData.createOption")),
            (json!({"location": "westus", "properties": {"creationData": {"createOption": "Empty"}}}), 400, "InvalidParameter", format!("{target}.diskSizeGB")),
            (empty_body(0), 400, "InvalidParameter", format!("{target}.diskSizeGB")),
            (empty_body(32_768), 400, "InvalidParameter", format!("{target}.diskSizeGB")),
            (json!({"location": "westus", "properties": {"creationData": {"createOption": "Upload"}}}), 400, "InvalidParameter", format!("{target}.creationData.uploadSizeBytes")),
            (upload_body(MIN_UPLOAD - 512), 400, "InvalidParameter", format!("{target}.creationData.uploadSizeBytes")),
            (upload_body(MIN_UPLOAD + 1), 400, "InvalidParameter", format!("{target}.creationData.uploadSizeBytes")),
            (upload_body(32_767 * GIB + 1024), 400, "InvalidParameter", format!("{target}.creationData.uploadSizeBytes")),
            (json!({"location": "westus", "properties": {"creationData": {"createOption": "Upload", "uploadSizeBytes": -512}}}), 400, "InvalidParameter", format!("{target}.creationData.uploadSizeBytes")),
            (json!({"location": "westus", "sku": {"name": "Standard_ZRS"}, "properties": {"creationData": {"createOption": "Empty"}, "diskSizeGB": 1}}), 400, "InvalidParameter", "disk.sku.name".to_string()),
            (json!({"location": "westus", "properties": {"creationData": {"createOption": "Empty"}, "diskSizeGB": 1, "osType": "Solaris"}}), 400, "InvalidParameter", format!("{target}.osType")),
            (json!({"location": "westus", "properties": {"creationData": {"createOption": "Empty"}, "diskSizeGB": 1, "hyperVGeneration": "V3"}}), 400, "InvalidParameter", format!("{target}.hyperVGeneration")),
            (json!({"location": "westus", "properties": {"creationData": {"createOption": "Copy"}}}), 400, "InvalidParameter", format!("{target}.creationData.sourceResourceId")),
            (copy("disk1"), 400, "LinkedInvalidPropertyId", "properties.creationData.sourceResourceId".to_string()),
            (copy(&gallery_id), 400, "InvalidParameter", format!("{target}.creationData.sourceResourceId")),
            (copy(&missing_source), 404, "ResourceNotFound", format!("{target}.creationData.sourceResourceId")),
            (copy(&elsewhere), 400, "InvalidParameter", format!("{target}.creationData.sourceResourceId")),
            (copy(&upload_in_progress), 409, "OperationNotAllowed", format!("{target}.creationData.sourceResourceId")),
            (json!({"location": "westus", "properties": {"creationData": {"createOption": "Empty"}, "diskSizeGB": "big"}}), 400, "InvalidRequestContent", "properties.diskSizeGB".to_string()),
            (json!({"properties": {"creationData": {"createOption": "Empty"}, "diskSizeGB": 1}}), 400, "LocationRequired", "location".to_string()),
            (json!({"location": "atlantis", "properties": {"creationData": {"createOption": "Empty"}, "diskSizeGB": 1}}), 400, "LocationNotAvailableForResourceType", "location".to_string()),
        ];
        let path = disk_path(&app, "rg", "d1");
        for (body, status, code, expected_target) in cases {
            let response = put(&app, &path, &body).await;
            response.assert_error(status, code);
            assert_eq!(response.json()["error"]["target"], expected_target.as_str(), "{body}: {}", response.text);
        }
        let unsupported = put(&app, &path, &json!({"location": "westus", "properties": {"creationData": {"createOption": "Import"}}})).await;
        assert!(unsupported.json()["error"]["message"].as_str().unwrap().contains("'Import' is not supported by galleryd"), "{}", unsupported.text);
        let missing = put(&app, &path, &copy(&missing_source)).await;
        assert!(missing.json()["error"]["message"].as_str().unwrap().contains("Microsoft.Compute/disks/ghost"), "{}", missing.text);
        get(&app, &path).await.assert_error(404, "ResourceNotFound");

        // Snapshots take their own SKUs.
        let snapshot = snapshot_path(&app, "rg", "s1");
        let refused = put(&app, &snapshot, &json!({"location": "westus", "sku": {"name": "Premium_ZRS"}, "properties": {"creationData": {"createOption": "Empty"}, "diskSizeGB": 1}})).await;
        refused.assert_error(400, "InvalidParameter");
        assert_eq!(refused.json()["error"]["target"], "snapshot.sku.name");
        let zrs = create(&app, &snapshot, &json!({"location": "westus", "sku": {"name": "standard_zrs"}, "properties": {"creationData": {"createOption": "Upload", "uploadSizeBytes": MIN_UPLOAD}}})).await;
        assert_eq!(zrs.json()["sku"], json!({"name": "Standard_ZRS", "tier": "Standard"}));
        assert_eq!(zrs.json()["properties"]["diskSizeGB"], 1);
        assert_eq!(zrs.json()["properties"]["diskSizeBytes"], MIN_UPLOAD);
        assert_eq!(zrs.json()["properties"]["diskState"], "ReadyToUpload");

        // Names, and the resource group.
        for bad in ["-disk", "disk.", "disk-", "di sk", &"d".repeat(81)] {
            let response = put(&app, &disk_path(&app, "rg", bad), &empty_body(1)).await;
            response.assert_error(400, "InvalidResourceName");
        }
        for good in ["d", "_disk-1.v2", &"d".repeat(80)] {
            put(&app, &disk_path(&app, "rg", good), &empty_body(1)).await.assert_status(200);
        }
        put(&app, &disk_path(&app, "nope", "d1"), &empty_body(1)).await.assert_error(404, "ResourceGroupNotFound");
        // The disk api-versions apply, not the gallery ones.
        app.request(Method::GET, &format!("{path}?api-version=2022-03-03"), None).await.assert_error(400, "NoRegisteredProviderFound");
    }

    async fn immutable_properties_stay_and_mutable_ones_change(backend) {
        let app = TestApp::start(backend).await;
        app.create_group("rg", "westus").await;
        let path = disk_path(&app, "rg", "d1");
        create(&app, &path, &json!({"location": "westus", "properties": {"creationData": {"createOption": "Empty"}, "diskSizeGB": 2, "hyperVGeneration": "V2", "osType": "Linux"}})).await;
        let changes: Vec<(Value, &str)> = vec![
            (json!({"creationData": {"createOption": "Upload"}}), "disk.properties.creationData.createOption"),
            (json!({"creationData": {"createOption": "Empty", "uploadSizeBytes": MIN_UPLOAD}}), "disk.properties.creationData.uploadSizeBytes"),
            (json!({"creationData": {"createOption": "Empty", "sourceResourceId": disk_path(&app, "rg", "other")}}), "disk.properties.creationData.sourceResourceId"),
            (json!({"hyperVGeneration": "V1"}), "disk.properties.hyperVGeneration"),
        ];
        for (properties, target) in changes {
            let response = put(&app, &path, &json!({"location": "westus", "properties": properties})).await;
            response.assert_error(409, "PropertyChangeNotAllowed");
            assert_eq!(response.json()["error"]["target"], target, "{}", response.text);
            let response = call(&app, Method::PATCH, &path, Some(&json!({"properties": properties}))).await;
            response.assert_error(409, "PropertyChangeNotAllowed");
        }
        put(&app, &path, &json!({"location": "eastus", "properties": {"creationData": {"createOption": "Empty"}}})).await.assert_error(409, "InvalidResourceLocation");
        // What may change does; what a PUT leaves out stays.
        let replaced = put(&app, &path, &json!({"location": "westus", "sku": {"name": "StandardSSD_LRS"}, "properties": {"creationData": {"createOption": "Empty"}, "osType": "Windows"}})).await;
        replaced.assert_status(200);
        let replaced = get(&app, &path).await.json();
        assert_eq!(replaced["sku"]["tier"], "StandardSSD");
        assert_eq!(replaced["properties"]["osType"], "Windows");
        assert_eq!(replaced["properties"]["hyperVGeneration"], "V2");
        assert_eq!(replaced["properties"]["diskSizeGB"], 2);
        // Out-of-range sizes are refused on updates too.
        let response = call(&app, Method::PATCH, &path, Some(&json!({"properties": {"diskSizeGB": 40_000}}))).await;
        response.assert_error(400, "InvalidParameter");

        let snapshot = snapshot_path(&app, "rg", "s1");
        create(&app, &snapshot, &json!({"location": "westus", "properties": {"creationData": {"createOption": "Empty"}, "diskSizeGB": 1, "incremental": true}})).await;
        let response = call(&app, Method::PATCH, &snapshot, Some(&json!({"properties": {"incremental": false}}))).await;
        response.assert_error(409, "PropertyChangeNotAllowed");
        assert_eq!(response.json()["error"]["target"], "snapshot.properties.incremental");
        assert_eq!(get(&app, &snapshot).await.json()["properties"]["incremental"], true);
    }

    async fn uploads_move_through_their_disk_states(backend) {
        let app = TestApp::start(backend).await;
        app.create_group("rg", "westus").await;
        let path = disk_path(&app, "rg", "upload");
        let created = create(&app, &path, &upload_body(MIN_UPLOAD)).await;
        assert_eq!(created.json()["properties"]["diskState"], "ReadyToUpload");
        assert_eq!(created.json()["properties"]["creationData"]["uploadSizeBytes"], MIN_UPLOAD);

        // The grant body is checked.
        for (body, target) in [
            (json!({"durationInSeconds": 60}), "grantAccessData.access"),
            (json!({"access": "Read"}), "grantAccessData.durationInSeconds"),
            (json!({"access": "Sometimes", "durationInSeconds": 60}), "grantAccessData.access"),
            (json!({"access": "None", "durationInSeconds": 60}), "grantAccessData.access"),
            (json!({"access": "Read", "durationInSeconds": 0}), "grantAccessData.durationInSeconds"),
        ] {
            let response = call(&app, Method::POST, &format!("{path}/beginGetAccess"), Some(&body)).await;
            response.assert_error(400, "InvalidParameter");
            assert_eq!(response.json()["error"]["target"], target);
        }
        call(&app, Method::POST, &format!("{path}/beginGetAccess"), None).await.assert_error(400, "InvalidRequestContent");

        // No reading before the upload ended; a revocation before any grant changes nothing.
        grant(&app, &path, "Read", 60).await.assert_error(409, "OperationNotAllowed");
        revoke(&app, &path).await;
        assert_eq!(get(&app, &path).await.json()["properties"]["diskState"], "ReadyToUpload");

        let first = grant_sas(&app, &path, "Write").await;
        assert!(first.contains("sp=rw&"), "{first}");
        assert_eq!(get(&app, &path).await.json()["properties"]["diskState"], "ActiveUpload");
        assert_eq!(put_page(&app, &first, 0, pattern(1, 4096)).await.status, 201);
        // A new grant replaces the old one.
        let second = grant_sas(&app, &path, "Write").await;
        assert_ne!(first, second);
        put_page(&app, &first, 4096, pattern(2, 512)).await.assert_error(403, "AuthenticationFailed");
        let written = put_page(&app, &second, 4096, pattern(3, 512)).await;
        assert_eq!(written.status, 201, "{}", written.text());

        // While uploading: no resize, no delete, no read.
        let resize = call(&app, Method::PATCH, &path, Some(&json!({"properties": {"diskSizeGB": 2}}))).await;
        resize.assert_error(409, "OperationNotAllowed");
        call(&app, Method::DELETE, &path, None).await.assert_error(409, "OperationNotAllowed");
        grant(&app, &path, "Read", 60).await.assert_error(409, "OperationNotAllowed");

        revoke(&app, &path).await;
        let sealed = get(&app, &path).await.json();
        assert_eq!(sealed["properties"]["diskState"], "Unattached");
        put_page(&app, &second, 0, pattern(4, 512)).await.assert_error(403, "AuthenticationFailed");
        // The upload is over for good.
        grant(&app, &path, "Write", 60).await.assert_error(409, "OperationNotAllowed");

        let read = grant_sas(&app, &path, "Read").await;
        assert_eq!(get(&app, &path).await.json()["properties"]["diskState"], "ActiveSAS");
        let bytes = download(&app, &read).await;
        assert_eq!(bytes.len() as u64, MIN_UPLOAD);
        assert_eq!(&bytes[..4096], &pattern(1, 4096)[..]);
        assert_eq!(&bytes[4096..4608], &pattern(3, 512)[..]);
        assert!(bytes[4608..].iter().all(|byte| *byte == 0));
        call(&app, Method::DELETE, &path, None).await.assert_error(409, "OperationNotAllowed");
        revoke(&app, &path).await;
        assert_eq!(get(&app, &path).await.json()["properties"]["diskState"], "Unattached");
        blob_request(&app, Method::GET, &read, &[], None).await.assert_error(403, "AuthenticationFailed");

        // A grown upload keeps its bytes and reads zeros past them.
        call(&app, Method::PATCH, &path, Some(&json!({"properties": {"diskSizeGB": 2}}))).await.assert_status(200);
        let grown = get(&app, &path).await.json();
        assert_eq!(grown["properties"]["diskSizeBytes"], 2 * GIB);
        assert_eq!(grown["properties"]["creationData"]["uploadSizeBytes"], MIN_UPLOAD);
        let read = grant_sas(&app, &path, "Read").await;
        let head = blob_request(&app, Method::HEAD, &read, &[], None).await;
        assert_eq!(head.header("content-length"), Some((2 * GIB).to_string().as_str()));
        let start = blob_request(&app, Method::GET, &read, &[("x-ms-range", "bytes=0-4095".to_string())], None).await;
        assert_eq!(start.body, pattern(1, 4096));
        revoke(&app, &path).await;
        call(&app, Method::DELETE, &path, None).await.assert_status(202);
    }

    async fn copies_carry_their_source_bytes(backend) {
        let app = TestApp::start(backend).await;
        app.create_group("rg", "westus").await;
        let source = disk_path(&app, "rg", "source");
        create(&app, &source, &json!({"location": "westus", "properties": {"creationData": {"createOption": "Upload", "uploadSizeBytes": MIN_UPLOAD}, "osType": "Linux", "hyperVGeneration": "V2"}})).await;
        let sas = grant_sas(&app, &source, "Write").await;
        // Pages in any order, overlapping: the later write wins where they overlap.
        let mut expected = vec![0u8; MIN_UPLOAD as usize];
        for (offset, bytes) in [
            (8 * MIB, pattern(7, 4 * MIB as usize)),
            (0, pattern(1, MIB as usize)),
            (MIB / 2, pattern(2, 1024)),
            (MIN_UPLOAD - 1024, pattern(9, 1024)),
        ] {
            let written = put_page(&app, &sas, offset, bytes.clone()).await;
            assert_eq!(written.status, 201, "{}", written.text());
            expected[offset as usize..offset as usize + bytes.len()].copy_from_slice(&bytes);
        }
        revoke(&app, &source).await;
        let source_document = get(&app, &source).await.json();

        let copy = disk_path(&app, "rg", "copy");
        let created = put(&app, &copy, &json!({"location": "westus", "properties": {"creationData": {"createOption": "Copy", "sourceResourceId": source_document["id"]}}})).await;
        created.assert_status(202);
        assert_eq!(created.json()["properties"]["provisioningState"], "Creating");
        let status = app.wait_for_operation(&created).await;
        assert_eq!(status["status"], "Succeeded", "{status}");
        let copied = get(&app, &copy).await.json();
        assert_eq!(copied["properties"]["provisioningState"], "Succeeded");
        assert_eq!(copied["properties"]["diskState"], "Unattached");
        assert_eq!(copied["properties"]["creationData"]["createOption"], "Copy");
        assert_eq!(copied["properties"]["creationData"]["sourceResourceId"], source_document["id"]);
        assert_eq!(copied["properties"]["creationData"]["sourceUniqueId"], source_document["properties"]["uniqueId"]);
        assert_eq!(copied["properties"]["osType"], "Linux");
        assert_eq!(copied["properties"]["hyperVGeneration"], "V2");
        assert_eq!(copied["properties"]["diskSizeBytes"], MIN_UPLOAD);

        // A snapshot of the copy, made the same way.
        let snapshot = snapshot_path(&app, "rg", "snap");
        let created = put(&app, &snapshot, &json!({"location": "westus", "properties": {"creationData": {"createOption": "Copy", "sourceResourceId": copied["id"]}, "incremental": true}})).await;
        created.assert_status(202);
        assert_eq!(app.wait_for_operation(&created).await["status"], "Succeeded");
        assert_eq!(get(&app, &snapshot).await.json()["properties"]["incremental"], true);

        for path in [&source, &copy, &snapshot] {
            let read = grant_sas(&app, path, "Read").await;
            let bytes = download(&app, &read).await;
            assert_eq!(bytes.len(), expected.len(), "{path}");
            assert!(bytes == expected, "the bytes of {path} differ from what was uploaded");
            revoke(&app, path).await;
        }

        // Deleting the source leaves the copies whole.
        call(&app, Method::DELETE, &source, None).await.assert_status(202);
        let read = grant_sas(&app, &copy, "Read").await;
        assert!(download(&app, &read).await == expected);
        // A copy cannot change its size on the way.
        let bigger = put(&app, &disk_path(&app, "rg", "bigger"), &json!({"location": "westus", "properties": {"creationData": {"createOption": "Copy", "sourceResourceId": snapshot}, "diskSizeGB": 5}})).await;
        bigger.assert_error(400, "InvalidParameter");
        assert_eq!(bigger.json()["error"]["target"], "disk.properties.diskSizeGB");
    }
}
