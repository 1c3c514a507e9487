//! The Azure Blob backend against a real Azurite (the Azure Storage emulator, started by the
//! `galleryd-azurite` test-support crate): container creation with Shared Key, then the same
//! content scenarios as the local backends.

mod common;

use std::time::Instant;

use gallery_blob::{BlobBackend, BlobError, RegionStores};
use galleryd_azurite::{Azurite, DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY};

/// The region stores of `azurite`'s development account, containers named `<prefix><region>`.
fn stores(azurite: &Azurite, container_prefix: &str) -> RegionStores {
    RegionStores::new(BlobBackend::AzureBlob {
        account: DEVELOPMENT_ACCOUNT.to_owned(),
        access_key: DEVELOPMENT_KEY.to_owned(),
        endpoint: Some(azurite.endpoint()),
        container_prefix: container_prefix.to_owned(),
    })
    .expect("Azure backend settings")
}

#[tokio::test]
async fn azure_blob_backend_against_azurite() {
    let Some(azurite) = Azurite::start() else {
        return;
    };
    let started = Instant::now();

    // Containers are created on first use; a second RegionStores finds them already there (409).
    let galleryd_stores = stores(&azurite, "galleryd-");
    assert_eq!(galleryd_stores.backend_name(), "azure-blob");
    galleryd_stores
        .region("westus")
        .await
        .expect("create the westus container");
    stores(&azurite, "galleryd-")
        .region("westus")
        .await
        .expect("an existing container is fine");

    // Each scenario gets its own containers, so listings see only its contents.
    common::scattered_writes_match_the_model(stores(&azurite, "scattered-")).await;
    common::sixty_four_mebibytes_in_sixteen_pages(stores(&azurite, "large-")).await;
    common::tampering_is_detected(stores(&azurite, "tamper-")).await;
    common::sealing_again_gives_the_same_manifest(stores(&azurite, "reseal-")).await;
    common::empty_contents_are_zeros(stores(&azurite, "empty-")).await;
    common::delete_and_list_contents(stores(&azurite, "delete-")).await;
    common::page_writes_never_overwrite(stores(&azurite, "create-only-")).await;

    // A wrong key is refused by the service when the container is created, and not retried.
    let wrong_key = RegionStores::new(BlobBackend::AzureBlob {
        account: DEVELOPMENT_ACCOUNT.to_owned(),
        access_key: "d3Jvbmcga2V5".to_owned(),
        endpoint: Some(azurite.endpoint()),
        container_prefix: "refused-".to_owned(),
    })
    .expect("settings are well-formed");
    match wrong_key.region("westus").await {
        Err(error @ BlobError::ContainerCreation { .. }) => {
            assert!(!error.is_retryable(), "{error}");
        }
        other => panic!("a wrong key should be refused: {:?}", other.map(|_| ())),
    }
    eprintln!("Azurite scenarios took {:?}", started.elapsed());
}
