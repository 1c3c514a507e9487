//! Reading what a new application version is made of: its package (`source.mediaLink`) and default
//! configuration (`source.defaultConfigurationLink`), fetched over HTTP(S) as Azure fetches them
//! (galleryd's own blob endpoint, Azurite, any reachable server), into sealed contents in the
//! version's region. The workers then replicate those contents like an image version's disks.
//!
//! A body is streamed into the region's blob store in pages of at most 4 MiB (never more than one
//! page in memory), then sealed into canonical extents with their checksum. A link that cannot be
//! read (unreachable, refused, not 2xx) or that holds more than the rules allow is the domain's
//! 400 on that link's property; a failing blob store is a 5xx.
//!
//! Contents are recorded owned by the application (the version does not exist yet, and contents
//! whose owner is gone are garbage); once the version is recorded they are handed to it
//! ([`adopt`]), so its deletion removes them.

use std::time::Duration;

use gallery_blob::PageWrite;
use gallery_domain::internal::ContentReference;
use gallery_domain::models::gallery_application_version::{
    PackageLink, package_too_large, package_unreadable,
};
use gallery_domain::publishing::PublishedContents;

use crate::App;
use crate::arm::handlers::disks::blob_failure;
use crate::error::ApiResult;

/// How long connecting to a link's server may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a link's server may keep galleryd waiting for the next part of the body.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The client links are read with: the system's trusted roots plus galleryd's own certificate
/// (so its own HTTPS blob endpoint can be a link), built on first use.
fn client(app: &App) -> ApiResult<&reqwest::Client> {
    if let Some(client) = app.package_client.get() {
        return Ok(client);
    }
    let mut builder = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(READ_TIMEOUT);
    if let Some(pem) = app.certificate_pem.get()
        && let Ok(certificate) = reqwest::Certificate::from_pem(pem.as_bytes())
    {
        builder = builder.add_root_certificate(certificate);
    }
    let built = builder.build().map_err(|error| {
        tracing::error!(%error, "cannot build the HTTP client that reads packages");
        gallery_domain::ServiceError::new(
            500,
            gallery_domain::ErrorCode::InternalServerError,
            "galleryd could not read the package; its log has the details.",
        )
    })?;
    Ok(app.package_client.get_or_init(|| built))
}

/// The reason a request failed, as a sentence part (the URL left out: it may carry a SAS).
fn failure_reason(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "the server did not answer in time".to_string()
    } else if error.is_connect() {
        "the server could not be reached".to_string()
    } else if error.is_builder() {
        "the link is not a valid URL".to_string()
    } else {
        "the transfer failed".to_string()
    }
}

/// Reads every link into a sealed content of `region` owned by `owner_key`.
pub(crate) async fn read_links(
    app: &App,
    links: &[PackageLink],
    region: &str,
    owner_key: &str,
    max_bytes: u64,
) -> ApiResult<PublishedContents> {
    let mut contents = PublishedContents {
        sources: Vec::with_capacity(links.len()),
    };
    for link in links {
        match read_link(app, link, region, owner_key, max_bytes).await {
            Ok(source) => contents.sources.push(source),
            Err(error) => {
                // The parts read before are of no use without this one.
                discard(app, &contents).await?;
                return Err(error);
            }
        }
    }
    Ok(contents)
}

async fn read_link(
    app: &App,
    link: &PackageLink,
    region: &str,
    owner_key: &str,
    max_bytes: u64,
) -> ApiResult<ContentReference> {
    let mut response = client(app)?
        .get(&link.url)
        .send()
        .await
        .map_err(|error| package_unreadable(link, &failure_reason(&error)))?;
    let status = response.status();
    if !status.is_success() {
        return Err(package_unreadable(link, &format!("the server answered {status}")).into());
    }
    if response
        .content_length()
        .is_some_and(|length| length > max_bytes)
    {
        return Err(package_too_large(link, max_bytes).into());
    }
    let content_id = format!("{}-{}", link.part, uuid::Uuid::new_v4().simple());
    let store = app.blobs.region(region).await.map_err(blob_failure)?;
    let mut writes: Vec<PageWrite> = Vec::new();
    let mut page: Vec<u8> = Vec::new();
    let mut total: u64 = 0;
    let page_bytes = usize::try_from(gallery_blob::PAGE_MAX_BYTES).unwrap_or(4 << 20);
    let outcome: ApiResult<()> = async {
        loop {
            let chunk = response
                .chunk()
                .await
                .map_err(|error| package_unreadable(link, &failure_reason(&error)))?;
            let finished = chunk.is_none();
            if let Some(chunk) = &chunk {
                total += chunk.len() as u64;
                if total > max_bytes {
                    return Err(package_too_large(link, max_bytes).into());
                }
                page.extend_from_slice(chunk);
            }
            while page.len() >= page_bytes || (finished && !page.is_empty()) {
                let rest = page.split_off(page.len().min(page_bytes));
                let bytes = bytes::Bytes::from(std::mem::replace(&mut page, rest));
                let write = PageWrite {
                    write: writes.len() as u64,
                    offset: writes.iter().map(|write| write.length).sum(),
                    length: bytes.len() as u64,
                };
                gallery_blob::write_page(store.as_ref(), &content_id, write.write, bytes)
                    .await
                    .map_err(blob_failure)?;
                writes.push(write);
            }
            if finished {
                return Ok(());
            }
        }
    }
    .await;
    if let Err(error) = outcome {
        // Nothing names these objects yet: delete them now rather than leave them to the sweep.
        let _ = gallery_blob::delete(store.as_ref(), &content_id).await;
        return Err(error);
    }
    if total == 0 {
        return Err(package_unreadable(link, "the blob is empty").into());
    }
    let manifest = gallery_blob::seal(store.as_ref(), &content_id, total, &writes)
        .await
        .map_err(blob_failure)?;
    let manifest_text = serde_json::to_string(&manifest).unwrap_or_default();
    let size = i64::try_from(total).unwrap_or(i64::MAX);
    app.store()?
        .create_content(
            &content_id,
            region,
            size,
            owner_key,
            Some((&manifest_text, size, &manifest.checksum)),
        )
        .await?;
    Ok(ContentReference {
        disk: link.part.to_string(),
        content_id,
        region: region.to_string(),
        occupied_bytes: manifest.occupied_bytes,
        logical_size: total,
    })
}

/// Hands the contents read for a version (owned by its application while it did not exist) to
/// the version, so that deleting the version deletes them.
pub(crate) async fn adopt(
    app: &App,
    contents: &PublishedContents,
    version_key: &str,
) -> ApiResult<()> {
    for source in &contents.sources {
        app.store()?
            .set_content_owner(&source.content_id, version_key)
            .await?;
    }
    Ok(())
}

/// Deletes contents read for a create that did not happen (blobs, then rows).
pub(crate) async fn discard(app: &App, contents: &PublishedContents) -> ApiResult<()> {
    for source in &contents.sources {
        let store = app
            .blobs
            .region(&source.region)
            .await
            .map_err(blob_failure)?;
        gallery_blob::delete(store.as_ref(), &source.content_id)
            .await
            .map_err(blob_failure)?;
        app.store()?.delete_content(&source.content_id).await?;
    }
    Ok(())
}
