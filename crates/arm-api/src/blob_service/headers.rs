//! The Blob service's headers: dates, ETags, the page-blob headers of a content, conditional
//! requests and ranges.

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use gallery_store::StoredContent;

use super::storage_error::StorageError;
use crate::arm::response;

/// `Tue, 05 Nov 2024 10:00:00 GMT`.
pub(super) fn http_date(instant: DateTime<Utc>) -> String {
    instant.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

pub(super) fn last_modified(content: &StoredContent) -> String {
    http_date(DateTime::from_timestamp_millis(content.created_at).unwrap_or_default())
}

/// An Azure-style ETag (`"0x8D…"`) derived from `parts`.
pub(super) fn etag_of(parts: &[&str]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, parts.join("\u{1f}").as_bytes());
    let hex: String = digest.as_ref()[..7]
        .iter()
        .map(|byte| format!("{byte:02X}"))
        .collect();
    format!("\"0x8D{hex}\"")
}

/// The ETag of a content: changes when its bytes or size change.
pub(super) fn content_etag(content: &StoredContent) -> String {
    etag_of(&[
        &content.content_id,
        content.state.as_str(),
        &content.logical_size.to_string(),
        content.checksum.as_deref().unwrap_or_default(),
    ])
}

pub(super) fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

pub(super) fn with_headers(response: Response, pairs: &[(&'static str, String)]) -> Response {
    pairs.iter().fold(response, |response, (name, value)| {
        response::with_header(response, name, value)
    })
}

/// The headers describing a page blob (Get Blob and Get Blob Properties).
pub(super) fn blob_headers(content: &StoredContent, etag: &str) -> Vec<(&'static str, String)> {
    vec![
        ("content-type", "application/octet-stream".to_string()),
        ("etag", etag.to_string()),
        ("last-modified", last_modified(content)),
        ("x-ms-creation-time", last_modified(content)),
        ("accept-ranges", "bytes".to_string()),
        ("x-ms-blob-type", "PageBlob".to_string()),
        ("x-ms-blob-sequence-number", "0".to_string()),
        ("x-ms-server-encrypted", "true".to_string()),
        ("x-ms-lease-status", "unlocked".to_string()),
        ("x-ms-lease-state", "available".to_string()),
    ]
}

/// `If-Match` / `If-None-Match` against the content's ETag: `Some(304)` when the client's copy is
/// current, a 412 when `If-Match` names another version.
pub(super) fn check_conditions(
    headers: &HeaderMap,
    etag: &str,
) -> Result<Option<Response>, StorageError> {
    let matches = |list: &str| {
        list.split(',')
            .map(str::trim)
            .any(|candidate| candidate == "*" || candidate == etag)
    };
    if let Some(wanted) = header_text(headers, "if-match")
        && !matches(wanted)
    {
        return Err(StorageError::condition_not_met());
    }
    if let Some(unwanted) = header_text(headers, "if-none-match")
        && matches(unwanted)
    {
        return Ok(Some(with_headers(
            response::empty(StatusCode::NOT_MODIFIED),
            &[("etag", etag.to_string())],
        )));
    }
    Ok(None)
}

/// A byte range a request names.
pub(super) struct RangeRequest {
    /// Which header named it (`x-ms-range` wins over `Range`).
    pub(super) header: &'static str,
    /// The header's text.
    pub(super) text: String,
    /// The first byte.
    pub(super) start: u64,
    /// The last byte (inclusive), if given.
    pub(super) last: Option<u64>,
}

/// The range a request names, if any.
pub(super) fn requested_range(headers: &HeaderMap) -> Result<Option<RangeRequest>, StorageError> {
    let (name, raw) = match (headers.get("x-ms-range"), headers.get("range")) {
        (Some(value), _) => ("x-ms-range", value),
        (None, Some(value)) => ("Range", value),
        (None, None) => return Ok(None),
    };
    // A range that is not ASCII text is refused, not mistaken for no range at all (which would
    // serve the whole blob).
    let value = raw.to_str().map_err(|_| {
        StorageError::invalid_header(name, &String::from_utf8_lossy(raw.as_bytes()))
    })?;
    let invalid = || StorageError::invalid_header(name, value);
    let spec = value.trim().strip_prefix("bytes=").ok_or_else(invalid)?;
    let (start, end) = spec.split_once('-').ok_or_else(invalid)?;
    let start: u64 = start.trim().parse().map_err(|_| invalid())?;
    let end = match end.trim() {
        "" => None,
        text => Some(text.parse::<u64>().map_err(|_| invalid())?),
    };
    Ok(Some(RangeRequest {
        header: name,
        text: value.to_string(),
        start,
        last: end,
    }))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn ranges_parse() {
        let mut headers = HeaderMap::new();
        headers.insert("range", HeaderValue::from_static("bytes=0-511"));
        assert_eq!(
            requested_range(&headers)
                .ok()
                .flatten()
                .map(|range| (range.start, range.last)),
            Some((0, Some(511)))
        );
        headers.insert("x-ms-range", HeaderValue::from_static("bytes=512-"));
        assert_eq!(
            requested_range(&headers)
                .ok()
                .flatten()
                .map(|range| (range.start, range.last)),
            Some((512, None))
        );
        headers.insert("x-ms-range", HeaderValue::from_static("pages=1"));
        assert!(requested_range(&headers).is_err());
    }
}
