//! Writing blobs: Put Blob (the no-op create of an upload) and Put Page (update or clear), each
//! page stored as its own object and recorded with a write id that grows with time.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;
use futures_util::StreamExt;
use gallery_domain::models::disk::SECTOR_BYTES;
use gallery_store::{ContentState, StoredContent};

use super::headers::{
    content_etag, etag_of, header_text, http_date, requested_range, with_headers,
};
use super::storage_error::StorageError;
use crate::App;
use crate::arm::response;

/// The largest page one Put Page may write.
pub(super) const PAGE_MAX_BYTES: u64 = gallery_blob::PAGE_MAX_BYTES;
/// The largest range one clearing Put Page may cover.
pub(super) const CLEAR_MAX_BYTES: u64 = 1024 * 1024 * 1024;

/// The zeros cleared pages are cut from.
pub(super) static ZEROS: [u8; PAGE_MAX_BYTES as usize] = [0; PAGE_MAX_BYTES as usize];

/// A fresh write id: the time in microseconds shifted left by 10 bits, plus 10 random bits, and
/// never less than one more than the previous id of this process. Sealing lets the higher id win
/// where writes overlap, so ids must grow with time (a later write wins, as on Azure); the random
/// bits keep processes sharing one database from colliding. Fits in an `i64` until the year 2255.
pub(super) fn next_write_id() -> u64 {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX >> 11))
        .unwrap_or(0);
    let mut random = [0u8; 2];
    // The system generator does not fail on supported platforms; without it the id is still unique
    // within this process.
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut random);
    let candidate =
        ((micros << 10) | (u64::from(u16::from_le_bytes(random)) & 0x3ff)) & (i64::MAX as u64);
    let previous = LAST
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| {
            Some(candidate.max(last + 1))
        })
        .unwrap_or(0);
    candidate.max(previous + 1)
}

/// The declared `Content-Length` of a request, if any.
pub(super) fn content_length(headers: &HeaderMap) -> Result<Option<u64>, StorageError> {
    match header_text(headers, "content-length") {
        None => Ok(None),
        Some(text) => text
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| StorageError::invalid_header("Content-Length", text)),
    }
}

/// 413 before any byte of the body is read when the request announces more than one page: no
/// write of the blob endpoint takes a longer body.
pub(super) fn refuse_oversized_body(headers: &HeaderMap) -> Result<(), StorageError> {
    match content_length(headers)? {
        Some(declared) if declared > PAGE_MAX_BYTES => Err(StorageError::body_too_large()),
        _ => Ok(()),
    }
}

/// Put Blob: a no-op create of the page blob an upload disk already is.
pub(super) fn put_blob(
    headers: &HeaderMap,
    content: &StoredContent,
) -> Result<Response, StorageError> {
    let blob_type = header_text(headers, "x-ms-blob-type")
        .ok_or_else(|| StorageError::missing_header("x-ms-blob-type"))?;
    if !blob_type.eq_ignore_ascii_case("PageBlob") {
        return Err(StorageError::invalid_header("x-ms-blob-type", blob_type)
            .detail("Reason", "galleryd's blob endpoint holds page blobs only."));
    }
    let length_text = header_text(headers, "x-ms-blob-content-length")
        .ok_or_else(|| StorageError::missing_header("x-ms-blob-content-length"))?;
    let length: i64 = length_text
        .trim()
        .parse()
        .map_err(|_| StorageError::invalid_header("x-ms-blob-content-length", length_text))?;
    if length != content.logical_size {
        return Err(
            StorageError::invalid_header("x-ms-blob-content-length", length_text).detail(
                "Reason",
                format!(
                    "The blob of this disk or snapshot is {} bytes long (its uploadSizeBytes); it cannot be created with another length.",
                    content.logical_size
                ),
            ),
        );
    }
    if content_length(headers)?.is_some_and(|declared| declared != 0) {
        return Err(StorageError::invalid_header(
            "Content-Length",
            header_text(headers, "content-length").unwrap_or_default(),
        )
        .detail("Reason", "Put Blob of a page blob takes no body."));
    }
    if content.state != ContentState::Writable {
        return Err(StorageError::upload_ended());
    }
    let etag = content_etag(content);
    Ok(with_headers(
        response::empty(StatusCode::CREATED),
        &[
            ("etag", etag),
            ("last-modified", http_date(Utc::now())),
            ("x-ms-request-server-encrypted", "true".to_string()),
        ],
    ))
}

/// Put Page: writes (or clears) one 512-aligned range of an upload.
pub(super) async fn put_page(
    app: &App,
    headers: &HeaderMap,
    body: &mut Option<Body>,
    content: &StoredContent,
) -> Result<Response, StorageError> {
    let mode_text = header_text(headers, "x-ms-page-write")
        .ok_or_else(|| StorageError::missing_header("x-ms-page-write"))?;
    let clear = if mode_text.eq_ignore_ascii_case("update") {
        false
    } else if mode_text.eq_ignore_ascii_case("clear") {
        true
    } else {
        return Err(StorageError::invalid_header("x-ms-page-write", mode_text));
    };
    let range =
        requested_range(headers)?.ok_or_else(|| StorageError::missing_header("x-ms-range"))?;
    let start = range.start;
    let last = range
        .last
        .ok_or_else(|| StorageError::invalid_header(range.header, &range.text))?;
    // No `last + 1` before `last` is known to lie within the blob: the header may name u64::MAX.
    if last < start || start % SECTOR_BYTES != 0 || last % SECTOR_BYTES != SECTOR_BYTES - 1 {
        return Err(StorageError::invalid_page_range(
            "A page range must start and end on 512-byte boundaries.",
        ));
    }
    let size = u64::try_from(content.logical_size).unwrap_or(0);
    if last >= size {
        return Err(StorageError::invalid_page_range(format!(
            "The range ends past the end of the blob ({size} bytes)."
        )));
    }
    let length = last - start + 1;
    let declared = content_length(headers)?;
    if content.state != ContentState::Writable {
        return Err(StorageError::upload_ended());
    }
    let mut last_write = 0;
    if clear {
        if declared.is_some_and(|declared| declared != 0) {
            return Err(StorageError::invalid_header(
                "Content-Length",
                header_text(headers, "content-length").unwrap_or_default(),
            )
            .detail("Reason", "A clearing Put Page takes no body."));
        }
        if length > CLEAR_MAX_BYTES {
            return Err(StorageError::invalid_page_range(format!(
                "galleryd clears at most {CLEAR_MAX_BYTES} bytes per request."
            )));
        }
        let mut offset = start;
        while offset <= last {
            let piece = PAGE_MAX_BYTES.min(last + 1 - offset);
            let zeros = Bytes::from_static(&ZEROS[..usize::try_from(piece).unwrap_or(0)]);
            last_write = write_page(app, content, offset, zeros).await?;
            offset += piece;
        }
    } else {
        if length > PAGE_MAX_BYTES {
            return Err(StorageError::body_too_large());
        }
        let declared = declared.ok_or_else(|| {
            StorageError::new(
                StatusCode::LENGTH_REQUIRED,
                "MissingContentLengthHeader",
                "Content-Length HTTP header is missing.",
            )
        })?;
        if declared != length {
            return Err(StorageError::invalid_header(
                "Content-Length",
                &declared.to_string(),
            )
            .detail(
                "Reason",
                format!("The body of a Put Page must be exactly as long as its range ({length} bytes)."),
            ));
        }
        let page = read_page(body, length).await?;
        last_write = write_page(app, content, start, page).await?;
    }
    Ok(with_headers(
        response::empty(StatusCode::CREATED),
        &[
            (
                "etag",
                etag_of(&[&content.content_id, &last_write.to_string()]),
            ),
            ("last-modified", http_date(Utc::now())),
            ("x-ms-blob-sequence-number", "0".to_string()),
            ("x-ms-request-server-encrypted", "true".to_string()),
        ],
    ))
}

/// Reads a page body of exactly `length` bytes (at most one page).
pub(super) async fn read_page(body: &mut Option<Body>, length: u64) -> Result<Bytes, StorageError> {
    let Some(body) = body.take() else {
        return Err(StorageError::internal(
            "the request body was already read",
            false,
        ));
    };
    let expected = usize::try_from(length).unwrap_or(usize::MAX);
    let mut page = Vec::with_capacity(expected);
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| {
            StorageError::new(
                StatusCode::BAD_REQUEST,
                "IncompleteBody",
                "The request body is incomplete for the specified Content-Length.",
            )
        })?;
        if page.len() + chunk.len() > expected {
            return Err(StorageError::invalid_header(
                "Content-Length",
                &length.to_string(),
            ));
        }
        page.extend_from_slice(&chunk);
    }
    if page.len() != expected {
        return Err(StorageError::new(
            StatusCode::BAD_REQUEST,
            "IncompleteBody",
            "The request body is incomplete for the specified Content-Length.",
        ));
    }
    Ok(Bytes::from(page))
}

/// Stores one page as its own object, then records it; returns its write id.
pub(super) async fn write_page(
    app: &App,
    content: &StoredContent,
    offset: u64,
    page: Bytes,
) -> Result<u64, StorageError> {
    let objects = app
        .blobs
        .region(&content.region)
        .await
        .map_err(StorageError::from_blob)?;
    let length = page.len();
    // Write ids are drawn per process; one taken by another process sharing the store is drawn
    // again (the page objects are create-only).
    let mut attempts = 0;
    let write_id = loop {
        let write_id = next_write_id();
        match gallery_blob::write_page(
            objects.as_ref(),
            &content.content_id,
            write_id,
            page.clone(),
        )
        .await
        {
            Ok(()) => break write_id,
            Err(gallery_blob::BlobError::AlreadyExists { .. }) if attempts < 3 => attempts += 1,
            Err(error) => return Err(StorageError::from_blob(error)),
        }
    };
    let recorded = app
        .store()
        .map_err(StorageError::from_api)?
        .record_page_write(
            &content.content_id,
            i64::try_from(write_id).unwrap_or(i64::MAX),
            i64::try_from(offset).unwrap_or(i64::MAX),
            i64::try_from(length).unwrap_or(i64::MAX),
        )
        .await
        .map_err(StorageError::from_store)?;
    if !recorded {
        // Sealed meanwhile: the page object is nobody's; remove it (best effort).
        let key = gallery_blob::BlobKey::PageWrite {
            content_id: content.content_id.clone(),
            write: write_id,
        };
        if let Err(error) = objects.delete(&key.path()).await {
            tracing::debug!(%error, "could not remove an unrecorded page write");
        }
        return Err(StorageError::upload_ended());
    }
    Ok(write_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_ids_grow_and_fit_in_the_store() {
        let mut previous = 0;
        for _ in 0..1000 {
            let id = next_write_id();
            assert!(id > previous);
            assert!(i64::try_from(id).is_ok());
            previous = id;
        }
    }
}
