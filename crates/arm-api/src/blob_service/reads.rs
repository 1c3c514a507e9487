//! Reading blobs: Get Blob (streamed, optionally ranged), Get Blob Properties and Get Page Ranges
//! of a sealed content.

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use futures_util::StreamExt;
use gallery_store::{ContentState, StoredContent};

use super::headers::{
    RangeRequest, blob_headers, check_conditions, content_etag, last_modified, requested_range,
    with_headers,
};
use super::storage_error::StorageError;
use crate::App;
use crate::arm::response;

/// The manifest of a sealed content; an upload in progress has none yet.
pub(super) fn sealed_manifest(
    content: &StoredContent,
) -> Result<gallery_blob::Manifest, StorageError> {
    if content.state != ContentState::Sealed {
        return Err(StorageError::upload_in_progress());
    }
    let text = content
        .manifest
        .as_deref()
        .ok_or_else(|| StorageError::internal("a sealed content has no manifest", false))?;
    serde_json::from_str(text).map_err(|error| StorageError::internal(error, false))
}

/// Get Blob: the content (or the range asked for), streamed.
pub(super) async fn get_blob(
    app: &App,
    headers: &HeaderMap,
    content: &StoredContent,
) -> Result<Response, StorageError> {
    let manifest = sealed_manifest(content)?;
    let etag = content_etag(content);
    if let Some(not_modified) = check_conditions(headers, &etag)? {
        return Ok(not_modified);
    }
    let size = manifest.logical_size;
    let (status, start, end) = match requested_range(headers)? {
        None => (StatusCode::OK, 0, size),
        Some(RangeRequest { start, last, .. }) => {
            if start >= size {
                return Err(StorageError::invalid_range(size));
            }
            let last = last.map_or(size - 1, |last| last.min(size - 1));
            if last < start {
                return Err(StorageError::invalid_range(size));
            }
            (StatusCode::PARTIAL_CONTENT, start, last + 1)
        }
    };
    let objects = app
        .blobs
        .region(&content.region)
        .await
        .map_err(StorageError::from_blob)?;
    let content_id = content.content_id.clone();
    let stream = gallery_blob::read_range(objects, &manifest, start..end).map(move |chunk| {
        chunk.map_err(|error| {
            tracing::error!(%error, content_id = %content_id, "reading a blob failed mid-stream");
            std::io::Error::other(error)
        })
    });
    let mut response = Response::new(Body::from_stream(stream));
    *response.status_mut() = status;
    let mut pairs = blob_headers(content, &etag);
    pairs.push(("content-length", (end - start).to_string()));
    if status == StatusCode::PARTIAL_CONTENT {
        pairs.push(("content-range", format!("bytes {start}-{}/{size}", end - 1)));
    }
    Ok(with_headers(response, &pairs))
}

/// Get Blob Properties.
pub(super) fn blob_properties(
    headers: &HeaderMap,
    content: &StoredContent,
) -> Result<Response, StorageError> {
    let etag = content_etag(content);
    if let Some(not_modified) = check_conditions(headers, &etag)? {
        return Ok(not_modified);
    }
    let mut pairs = blob_headers(content, &etag);
    pairs.push(("content-length", content.logical_size.to_string()));
    Ok(with_headers(response::empty(StatusCode::OK), &pairs))
}

/// Get Page Ranges: the written ranges (of the sealed extents, or of the page writes so far),
/// within the requested range if one is given.
pub(super) async fn page_ranges(
    app: &App,
    headers: &HeaderMap,
    content: &StoredContent,
) -> Result<Response, StorageError> {
    let size = u64::try_from(content.logical_size).unwrap_or(0);
    let mut ranges: Vec<(u64, u64)> = match content.state {
        ContentState::Sealed => sealed_manifest(content)?
            .extents
            .iter()
            .map(|extent| (extent.offset, extent.end()))
            .collect(),
        ContentState::Writable => app
            .store()
            .map_err(StorageError::from_api)?
            .list_page_writes(&content.content_id)
            .await
            .map_err(StorageError::from_store)?
            .iter()
            .map(|write| {
                let offset = u64::try_from(write.offset_bytes).unwrap_or(0);
                (
                    offset,
                    offset + u64::try_from(write.length_bytes).unwrap_or(0),
                )
            })
            .collect(),
    };
    ranges.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::new();
    for (start, end) in ranges {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    let (from, to) = match requested_range(headers)? {
        Some(RangeRequest { start, last, .. }) => {
            (start, last.map_or(size, |last| last.saturating_add(1)))
        }
        None => (0, size),
    };
    let mut body = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?><PageList>");
    for (start, end) in merged {
        let (start, end) = (start.max(from), end.min(to));
        if start < end {
            body.push_str(&format!(
                "<PageRange><Start>{start}</Start><End>{}</End></PageRange>",
                end - 1
            ));
        }
    }
    body.push_str("</PageList>");
    let etag = content_etag(content);
    Ok(with_headers(
        Response::new(Body::from(body)),
        &[
            ("content-type", "application/xml".to_string()),
            ("etag", etag),
            ("last-modified", last_modified(content)),
            ("x-ms-blob-content-length", size.to_string()),
        ],
    ))
}
