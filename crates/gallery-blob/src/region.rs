//! One blob store per region, over the configured backend, created on first use and then shared.
//!
//! galleryd keeps every region's bytes apart (a replica in `westus` and one in `eastus` are two
//! copies, as in Azure), so each region gets its own `ObjectStore`: a directory `<root>/<region>`,
//! a private in-memory store, or an Azure Blob container `<container_prefix><region>`. Stores are
//! created lazily (the catalog has dozens of regions, most never used) and cached; a failed
//! creation (Azurite not up yet) is not cached, so the next call tries again.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use object_store::ObjectStore;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use tokio::sync::OnceCell;

use crate::azure_container::{SharedKey, ensure_container};
use crate::capacity::CapacityLimitedStore;
use crate::error::BlobError;

/// Longest accepted region name (catalog short names are at most ~20 characters).
const REGION_MAX_LENGTH: usize = 50;
/// Azure's bounds on a container name.
const CONTAINER_NAME_LENGTHS: std::ops::RangeInclusive<usize> = 3..=63;

/// Where region stores keep their objects.
#[derive(Clone)]
pub enum BlobBackend {
    /// `<root>/<region>/…` on local disk (galleryd's default: `<data-dir>/regions`).
    LocalDirectory(PathBuf),
    /// Nothing on disk (`--in-memory`, tests): every region is a private in-memory store that lives
    /// as long as the [`RegionStores`].
    InMemory,
    /// Azure Blob Storage (or Azurite): one container per region, named
    /// `<container_prefix><region>`, created on first use if missing.
    AzureBlob {
        account: String,
        access_key: String,
        /// The account's blob endpoint; `None` means `https://<account>.blob.core.windows.net`.
        /// For Azurite: `http://127.0.0.1:10000/devstoreaccount1`.
        endpoint: Option<String>,
        container_prefix: String,
    },
}

impl fmt::Debug for BlobBackend {
    /// Never prints the access key.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlobBackend::LocalDirectory(root) => {
                formatter.debug_tuple("LocalDirectory").field(root).finish()
            }
            BlobBackend::InMemory => formatter.write_str("InMemory"),
            BlobBackend::AzureBlob {
                account,
                endpoint,
                container_prefix,
                ..
            } => formatter
                .debug_struct("AzureBlob")
                .field("account", account)
                .field("access_key", &"<redacted>")
                .field("endpoint", endpoint)
                .field("container_prefix", container_prefix)
                .finish(),
        }
    }
}

/// Everything the Azure backend needs once validated.
struct AzureSettings {
    endpoint: String,
    access_key: String,
    container_prefix: String,
    shared_key: SharedKey,
    http: reqwest::Client,
}

/// A region's store, filled on first successful creation.
type RegionCell = Arc<OnceCell<Arc<dyn ObjectStore>>>;

struct Inner {
    backend: BlobBackend,
    azure: Option<AzureSettings>,
    regions: Mutex<HashMap<String, RegionCell>>,
    /// Regions with a capacity in bytes (see [`crate::capacity`]); the others are unlimited.
    capacities: HashMap<String, u64>,
}

/// The stores of every region, one per region, created on first use. Cheap to clone (shared).
#[derive(Clone)]
pub struct RegionStores {
    inner: Arc<Inner>,
}

impl fmt::Debug for RegionStores {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("RegionStores")
            .field("backend", &self.inner.backend)
            .finish_non_exhaustive()
    }
}

impl RegionStores {
    /// Validates the backend's configuration; no store is created and nothing is contacted yet.
    pub fn new(backend: BlobBackend) -> Result<RegionStores, BlobError> {
        RegionStores::with_capacities(backend, HashMap::new())
    }

    /// Like [`RegionStores::new`], with a capacity in bytes for some regions: their stores refuse
    /// writes past it as a full disk would.
    pub fn with_capacities(
        backend: BlobBackend,
        capacities: HashMap<String, u64>,
    ) -> Result<RegionStores, BlobError> {
        let azure = match &backend {
            BlobBackend::AzureBlob {
                account,
                access_key,
                endpoint,
                container_prefix,
            } => Some(azure_settings(
                account,
                access_key,
                endpoint.as_deref(),
                container_prefix,
            )?),
            BlobBackend::LocalDirectory(_) | BlobBackend::InMemory => None,
        };
        Ok(RegionStores {
            inner: Arc::new(Inner {
                backend,
                azure,
                regions: Mutex::new(HashMap::new()),
                capacities,
            }),
        })
    }

    /// The store of one region (created lazily, cached). Region names are catalog short names
    /// (`westus`): lowercase ASCII letters and digits.
    pub async fn region(&self, region: &str) -> Result<Arc<dyn ObjectStore>, BlobError> {
        validate_region(region)?;
        let cell = {
            let mut regions = self
                .inner
                .regions
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            Arc::clone(regions.entry(region.to_owned()).or_default())
        };
        let store = cell
            .get_or_try_init(|| async {
                let store = self.create(region).await?;
                match self.inner.capacities.get(region) {
                    Some(capacity) => {
                        let limited = CapacityLimitedStore::new(store, *capacity).await?;
                        Ok::<Arc<dyn ObjectStore>, BlobError>(Arc::new(limited))
                    }
                    None => Ok(store),
                }
            })
            .await?;
        Ok(Arc::clone(store))
    }

    /// Regions that may hold objects: every region opened by this process, plus, on local disk,
    /// every region directory present (written by an earlier run or another process). Garbage
    /// collection scans these.
    pub async fn regions_in_use(&self) -> Result<Vec<String>, BlobError> {
        let mut regions: Vec<String> = self
            .inner
            .regions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .keys()
            .cloned()
            .collect();
        if let BlobBackend::LocalDirectory(root) = &self.inner.backend {
            match tokio::fs::read_dir(root).await {
                Ok(mut entries) => {
                    while let Some(entry) = entries.next_entry().await? {
                        if let Some(name) = entry.file_name().to_str()
                            && validate_region(name).is_ok()
                            && entry.file_type().await?.is_dir()
                        {
                            regions.push(name.to_owned());
                        }
                    }
                }
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => return Err(error.into()),
            }
        }
        regions.sort();
        regions.dedup();
        Ok(regions)
    }

    /// Deletes what uploads cut off by a crash left behind and no listing shows: on local disk, the
    /// staging files (`<object>#<n>`) a write goes through before it is renamed into place, once
    /// untouched for `older_than` (a live write touches its staging file as it goes). Returns how
    /// many were deleted. Azure Blob discards uncommitted blocks by itself; memory keeps nothing.
    pub async fn sweep_abandoned_uploads(&self, older_than: Duration) -> Result<usize, BlobError> {
        let BlobBackend::LocalDirectory(root) = &self.inner.backend else {
            return Ok(0);
        };
        let root = root.clone();
        let swept = tokio::task::spawn_blocking(move || sweep_staging_files(&root, older_than))
            .await
            .map_err(|error| BlobError::Io(std::io::Error::other(error)))??;
        Ok(swept)
    }

    /// A short name of the backend, for logs and `/_galleryd` endpoints.
    pub fn backend_name(&self) -> &'static str {
        match self.inner.backend {
            BlobBackend::LocalDirectory(_) => "local-directory",
            BlobBackend::InMemory => "in-memory",
            BlobBackend::AzureBlob { .. } => "azure-blob",
        }
    }

    async fn create(&self, region: &str) -> Result<Arc<dyn ObjectStore>, BlobError> {
        match (&self.inner.backend, &self.inner.azure) {
            (BlobBackend::LocalDirectory(root), _) => {
                let directory = root.join(region);
                tokio::fs::create_dir_all(&directory).await?;
                // Automatic cleanup removes directories left empty by deletes, so a deleted content
                // no longer shows up in `list_contents`.
                let store =
                    LocalFileSystem::new_with_prefix(&directory)?.with_automatic_cleanup(true);
                Ok(Arc::new(store))
            }
            (BlobBackend::InMemory, _) => Ok(Arc::new(InMemory::new())),
            (BlobBackend::AzureBlob { account, .. }, Some(settings)) => {
                let container = format!("{}{region}", settings.container_prefix);
                validate_container_name(&container)?;
                ensure_container(
                    &settings.http,
                    &settings.endpoint,
                    &settings.shared_key,
                    &container,
                )
                .await?;
                let store = MicrosoftAzureBuilder::new()
                    .with_account(account)
                    .with_access_key(&settings.access_key)
                    .with_container_name(&container)
                    .with_endpoint(settings.endpoint.clone())
                    .with_allow_http(settings.endpoint.starts_with("http://"))
                    .build()?;
                Ok(Arc::new(store))
            }
            (BlobBackend::AzureBlob { .. }, None) => Err(BlobError::InvalidConfiguration(
                "Azure settings missing".to_owned(),
            )),
        }
    }
}

/// Whether a file name is a staging file of `object_store`'s local backend: `<name>#<digits>`.
fn is_staging_file(name: &str) -> bool {
    name.rsplit_once('#').is_some_and(|(_, suffix)| {
        !suffix.is_empty() && suffix.bytes().all(|byte| byte.is_ascii_digit())
    })
}

/// Walks `root` (blocking; run it off the async runtime) and deletes staging files not modified for
/// `older_than`.
fn sweep_staging_files(root: &std::path::Path, older_than: Duration) -> std::io::Result<usize> {
    let mut swept = 0;
    let mut directories = vec![root.to_path_buf()];
    while let Some(directory) = directories.pop() {
        let entries = match std::fs::read_dir(&directory) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            Err(error) => return Err(error),
        };
        for entry in entries {
            let entry = entry?;
            let file_type = entry.file_type()?;
            if file_type.is_dir() {
                directories.push(entry.path());
                continue;
            }
            let stale = entry
                .metadata()?
                .modified()?
                .elapsed()
                .is_ok_and(|age| age >= older_than);
            if file_type.is_file()
                && stale
                && entry.file_name().to_str().is_some_and(is_staging_file)
            {
                match std::fs::remove_file(entry.path()) {
                    Ok(()) => swept += 1,
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                    Err(error) => return Err(error),
                }
            }
        }
    }
    Ok(swept)
}

fn azure_settings(
    account: &str,
    access_key: &str,
    endpoint: Option<&str>,
    container_prefix: &str,
) -> Result<AzureSettings, BlobError> {
    if account.is_empty()
        || !account
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit())
    {
        return Err(BlobError::InvalidConfiguration(format!(
            "storage account name {account:?} must be lowercase letters and digits"
        )));
    }
    let endpoint = match endpoint {
        Some(endpoint) => endpoint.trim_end_matches('/').to_owned(),
        None => format!("https://{account}.blob.core.windows.net"),
    };
    if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
        return Err(BlobError::InvalidConfiguration(format!(
            "blob endpoint {endpoint:?} must be an http:// or https:// URL"
        )));
    }
    let prefix_is_valid = container_prefix
        .bytes()
        .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
        && !container_prefix.starts_with('-')
        && !container_prefix.contains("--");
    if !prefix_is_valid {
        return Err(BlobError::InvalidConfiguration(format!(
            "container prefix {container_prefix:?} must be lowercase letters, digits and single \
             hyphens, not starting with a hyphen"
        )));
    }
    let shared_key = SharedKey::new(account, access_key)?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|error| {
            BlobError::InvalidConfiguration(format!("cannot build an HTTP client: {error}"))
        })?;
    Ok(AzureSettings {
        endpoint,
        access_key: access_key.to_owned(),
        container_prefix: container_prefix.to_owned(),
        shared_key,
        http,
    })
}

fn validate_region(region: &str) -> Result<(), BlobError> {
    let valid = !region.is_empty()
        && region.len() <= REGION_MAX_LENGTH
        && region
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit());
    if valid {
        Ok(())
    } else {
        Err(BlobError::InvalidRegion(region.to_owned()))
    }
}

fn validate_container_name(container: &str) -> Result<(), BlobError> {
    if CONTAINER_NAME_LENGTHS.contains(&container.len()) {
        Ok(())
    } else {
        Err(BlobError::InvalidConfiguration(format!(
            "container name {container:?} must be 3 to 63 characters"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn in_memory_regions_are_cached_and_separate() {
        let stores = RegionStores::new(BlobBackend::InMemory).expect("in-memory backend");
        assert_eq!(stores.backend_name(), "in-memory");
        let westus = stores.region("westus").await.expect("westus store");
        let westus_again = stores.clone().region("westus").await.expect("westus store");
        let eastus = stores.region("eastus").await.expect("eastus store");
        assert!(Arc::ptr_eq(&westus, &westus_again));
        assert!(!Arc::ptr_eq(&westus, &eastus));
    }

    #[tokio::test]
    async fn region_names_are_catalog_short_names() {
        let stores = RegionStores::new(BlobBackend::InMemory).expect("in-memory backend");
        for refused in ["", "West US", "westus/..", "../etc", "WestUS"] {
            assert!(
                matches!(
                    stores.region(refused).await,
                    Err(BlobError::InvalidRegion(_))
                ),
                "{refused:?} should be refused"
            );
        }
    }

    #[tokio::test]
    async fn abandoned_staging_files_are_swept_and_objects_kept() {
        let root = std::env::temp_dir().join(format!("gallery-blob-sweep-{}", std::process::id()));
        let stores = RegionStores::new(BlobBackend::LocalDirectory(root.clone())).expect("local");
        let westus = stores.region("westus").await.expect("westus store");
        let object = object_store::path::Path::from("contents/c1/extents/00000000000000000000");
        westus
            .put(&object, vec![7u8; 16].into())
            .await
            .expect("put");
        let extents = root.join("westus/contents/c1/extents");
        let staging = extents.join("00000000000000000000#3");
        std::fs::write(&staging, b"cut off").expect("staging file");
        let not_staging = extents.join("notes#draft");
        std::fs::write(&not_staging, b"kept").expect("other file");

        // A fresh staging file may belong to a write in progress: kept.
        assert_eq!(
            stores
                .sweep_abandoned_uploads(Duration::from_secs(60))
                .await
                .unwrap(),
            0
        );
        assert!(staging.exists());
        assert_eq!(
            stores
                .sweep_abandoned_uploads(Duration::ZERO)
                .await
                .unwrap(),
            1
        );
        assert!(!staging.exists());
        assert!(not_staging.exists());
        assert_eq!(
            westus
                .get(&object)
                .await
                .expect("kept")
                .bytes()
                .await
                .unwrap()
                .len(),
            16
        );
        let memory = RegionStores::new(BlobBackend::InMemory).expect("memory");
        assert_eq!(
            memory
                .sweep_abandoned_uploads(Duration::ZERO)
                .await
                .unwrap(),
            0
        );
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn azure_configuration_is_checked_and_the_key_never_printed() {
        let backend = |prefix: &str, key: &str| BlobBackend::AzureBlob {
            account: "devstoreaccount1".to_owned(),
            access_key: key.to_owned(),
            endpoint: Some("http://127.0.0.1:10000/devstoreaccount1/".to_owned()),
            container_prefix: prefix.to_owned(),
        };
        let stores = RegionStores::new(backend("galleryd-", "c2VjcmV0")).expect("valid settings");
        assert_eq!(stores.backend_name(), "azure-blob");
        let printed = format!("{stores:?}");
        assert!(!printed.contains("c2VjcmV0"), "{printed}");
        assert!(matches!(
            RegionStores::new(backend("Galleryd-", "c2VjcmV0")),
            Err(BlobError::InvalidConfiguration(_))
        ));
        assert!(matches!(
            RegionStores::new(backend("galleryd-", "???")),
            Err(BlobError::InvalidConfiguration(_))
        ));
    }
}
