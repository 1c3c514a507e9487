//! Replication on the Azure Blob backend, against a real Azurite: each region is a container of
//! the storage account, an uploaded snapshot's bytes land in its region's container, a version's
//! replicas are copied between containers, and deleting the version empties them again.
//!
//! The replicas' bytes are read back from Azurite with `object_store` (not through galleryd) and
//! compared with what was uploaded. Without node and npm the test prints a notice and passes (CI
//! sets `GALLERYD_REQUIRE_AZURITE`, which makes that a failure).

use futures_util::StreamExt;
use gallery_blob::{BlobBackend, Manifest, RegionStores};
use galleryd::config::BlobBackendKind;
use galleryd_azurite::{Azurite, DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY};
use galleryd_tests::{TestApp, both_stores};

use crate::disks::{self, MIB};
use crate::gallery_image_versions::{
    counts, expected_checksum, gallery, replicas, succeeded, target, upload_snapshot, version_body,
    version_path,
};

/// Reads a whole sealed content back from its region's container.
async fn read_back(stores: &RegionStores, region: &str, manifest: &Manifest) -> Vec<u8> {
    let store = stores.region(region).await.expect("region container");
    let mut bytes = Vec::new();
    let mut stream = std::pin::pin!(gallery_blob::read_range(
        store,
        manifest,
        0..manifest.logical_size
    ));
    while let Some(chunk) = stream.next().await {
        bytes.extend_from_slice(&chunk.expect("read from Azurite"));
    }
    bytes
}

both_stores! {
    async fn versions_replicate_between_azure_blob_containers(backend) {
        let Some(azurite) = Azurite::start() else {
            return;
        };
        let prefix = format!("e2e{}-", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let endpoint = azurite.endpoint();
        let container_prefix = prefix.clone();
        let app = TestApp::start_with(backend, move |config| {
            config.blob_backend = BlobBackendKind::Azure;
            config.azure_storage_account = Some(DEVELOPMENT_ACCOUNT.to_string());
            config.azure_storage_key = Some(DEVELOPMENT_KEY.to_string());
            config.azure_storage_endpoint = Some(endpoint);
            config.azure_container_prefix = container_prefix;
        })
        .await;
        let containers = RegionStores::new(BlobBackend::AzureBlob {
            account: DEVELOPMENT_ACCOUNT.to_string(),
            access_key: DEVELOPMENT_KEY.to_string(),
            endpoint: Some(azurite.endpoint()),
            container_prefix: prefix,
        })
        .expect("Azure settings");
        let contents = |region: &'static str| {
            let containers = &containers;
            async move {
                let store = containers.region(region).await.expect("container");
                gallery_blob::list_contents(store.as_ref()).await.expect("list")
            }
        };

        gallery(&app).await;
        let data = disks::pattern(17, 6 * MIB as usize);
        let snapshot_id = upload_snapshot(&app, "rg", "os", &data).await;
        let snapshot_contents = contents("westus").await;
        assert_eq!(snapshot_contents.len(), 1, "the snapshot's bytes are in the westus container");

        let path = version_path(&app, "1.0.0");
        let created = app
            .put(&path, &version_body(&snapshot_id, &[target("westus", 2), target("eastus", 1)]))
            .await;
        created.assert_status(201);
        succeeded(&app, &created).await;
        let version_id = app.get(&path).await.json()["id"].as_str().unwrap().to_string();
        let all = replicas(&app, &version_id).await;
        assert_eq!(counts(&all).len(), 2);
        let store = app.server().app.store().expect("store");
        let mut expected = data.clone();
        expected.resize(usize::try_from(disks::MIN_UPLOAD).unwrap(), 0);
        for replica in &all {
            assert_eq!(replica["state"], "Completed", "{replica}");
            assert_eq!(replica["checksum"], expected_checksum(&data));
            assert!(replica["blob"].as_str().unwrap().starts_with("azure-blob:"), "{replica}");
            let content = store
                .get_content(replica["contentId"].as_str().unwrap())
                .await
                .expect("content row")
                .expect("a recorded content");
            let manifest: Manifest = serde_json::from_str(&content.manifest.expect("sealed")).unwrap();
            let region = replica["region"].as_str().unwrap();
            let bytes = read_back(&containers, region, &manifest).await;
            assert!(bytes == expected, "replica {replica} does not hold the uploaded bytes");
        }
        assert_eq!(contents("westus").await.len(), 3);
        assert_eq!(contents("eastus").await.len(), 1);

        let deleted = app.delete(&path).await;
        deleted.assert_status(202);
        succeeded(&app, &deleted).await;
        assert_eq!(contents("westus").await, snapshot_contents);
        assert!(contents("eastus").await.is_empty());
    }
}
