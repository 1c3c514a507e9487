//! galleryd's blob endpoint, `/gallerydblob/{region}/{contentId}`: the subset of the Azure Blob
//! service's page-blob REST API that `azure-storage-blob`, `azcopy`-style tools and plain HTTP
//! clients use to upload a VHD into a disk or snapshot and to download one, through the SAS URLs
//! `beginGetAccess` hands out.
//!
//! The URL's shape lets Azure clients parse it as they parse an emulator's (`/<account>/<container>
//! /<blob>`): the account is `gallerydblob`, the container the region, the blob the content id.
//!
//! # Authorization
//! Every request carries the SAS query of [`sas_url`]: `sv`, `sr=b`, `sp` (`r` or `rw`), `se` (the
//! expiry), `si` (the grant) and `sig`, the base64 HMAC-SHA256, under galleryd's blob signing key,
//! of `"<sp>\n<se>\n<si>\n/gallerydblob/<region>/<contentId>"`. The signature must match, the
//! expiry lie ahead and the grant be the one currently recorded on the disk or snapshot owning the
//! content (so `endGetAccess`, or a newer grant, ends a SAS at once); otherwise 403
//! `AuthenticationFailed`. GET and HEAD need `r`, PUT needs `w` (403
//! `AuthorizationPermissionMismatch`).
//!
//! The grant travels as `si`, the SAS field Azure uses for a stored access policy (and the one
//! Azure's own disk SAS URLs carry): the storage SDKs keep only the SAS fields they know when they
//! parse a SAS URL, so a field of galleryd's own naming would never reach the endpoint.
//!
//! # Operations
//! - `PUT` with `x-ms-blob-type: PageBlob` (Put Blob): accepted (201) on a content still taking its
//!   upload when `x-ms-blob-content-length` equals its logical size. It is a no-op create: the
//!   content exists already, and the writes made before are kept (the store cannot forget page
//!   writes one by one); any other length is a 400.
//! - `PUT ?comp=page` (Put Page), `x-ms-page-write: update`: the range (`x-ms-range`, or `Range`)
//!   must start and end on 512-byte boundaries, lie within the logical size (416
//!   `InvalidPageRange`) and hold at most 4 MiB (413 `RequestBodyTooLarge`); the body must be
//!   exactly that long. The page is stored as one object (never more than that one page in memory)
//!   and recorded; later writes win over earlier ones where they overlap, because write ids grow
//!   with time ([`next_write_id`]). `x-ms-page-write: clear` writes zeros over the range (at most
//!   1 GiB per request, in 4 MiB pages): cleared ranges count as written bytes.
//! - `HEAD` (Get Blob Properties): the logical size and the page-blob headers.
//! - `GET` (Get Blob), optionally ranged: streams the sealed content, holes as zeros, never holding
//!   more than one chunk. Reading an upload in progress is a 409 `UploadInProgress`: its bytes exist
//!   only as unsealed page writes until `endGetAccess` seals them.
//! - `GET ?comp=pagelist` (Get Page Ranges): the written ranges.
//!
//! Errors are the Blob service's XML bodies with `x-ms-error-code`; responses carry `x-ms-version`
//! (the request's, or [`SERVICE_VERSION`]), `x-ms-request-id`, the echoed `x-ms-client-request-id`
//! and, where they apply, `ETag` and `Last-Modified`.

mod headers;
mod reads;
mod sas;
mod storage_error;
mod writes;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use chrono::Utc;
use futures_util::StreamExt;

use crate::arm::request::Query;
use crate::{App, SharedApp};

use headers::{header_text, http_date};
use reads::{blob_properties, get_blob, page_ranges};
use sas::authorize;
use storage_error::StorageError;
use writes::{put_blob, put_page, refuse_oversized_body};

pub use sas::{Permission, sas_url};

/// The storage service version galleryd answers with when a request names none.
pub const SERVICE_VERSION: &str = "2025-01-05";
/// The path every blob URL starts with (the "account").
pub const ROOT: &str = "/gallerydblob";
/// How much of a refused request's body is read (and dropped) so the client sees the answer.
const DISCARD_AT_MOST: usize = 64 * 1024 * 1024;

/// Every request to `/gallerydblob/{region}/{blob}` (any method).
pub async fn handle(State(app): State<SharedApp>, request: Request) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let (parts, body) = request.into_parts();
    let mut body = Some(body);
    let mut response = match serve(&app, &parts, &mut body).await {
        Ok(response) => response,
        Err(error) => {
            if let Some(body) = body.take()
                && worth_draining(&parts.headers)
            {
                drain(body).await;
            }
            error.into_response(&request_id, parts.method == Method::HEAD)
        }
    };
    let version = parts
        .headers
        .get("x-ms-version")
        .cloned()
        .unwrap_or(HeaderValue::from_static(SERVICE_VERSION));
    let headers = response.headers_mut();
    headers.insert("x-ms-version", version);
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert("x-ms-request-id", value);
    }
    if let Some(client_request_id) = parts.headers.get("x-ms-client-request-id") {
        headers.insert("x-ms-client-request-id", client_request_id.clone());
    }
    if let Ok(value) = HeaderValue::from_str(&http_date(Utc::now())) {
        headers.insert(header::DATE, value);
    }
    response
}

/// Whether a refused request's body is worth reading before answering: not when it announces more
/// than [`DISCARD_AT_MOST`] (a client announcing 449 GB must get its 403 or 413 at once, not after
/// galleryd waited for bytes it will drop), and not when the client waits for `100 Continue` before
/// sending it (reading would invite the body). Without draining, the connection closes after the
/// answer.
fn worth_draining(headers: &HeaderMap) -> bool {
    let expects_continue = header_text(headers, "expect")
        .is_some_and(|expect| expect.eq_ignore_ascii_case("100-continue"));
    let too_long = header_text(headers, "content-length")
        .and_then(|text| text.trim().parse::<u64>().ok())
        .is_some_and(|length| length > DISCARD_AT_MOST as u64);
    !expects_continue && !too_long
}

/// Reads and drops what is left of a refused request's body (up to a bound), so that a client still
/// sending it reads the answer instead of a reset connection.
async fn drain(body: Body) {
    let mut stream = body.into_data_stream();
    let mut received = 0usize;
    while let Some(Ok(chunk)) = stream.next().await {
        received += chunk.len();
        if received > DISCARD_AT_MOST {
            break;
        }
    }
}

async fn serve(
    app: &App,
    parts: &Parts,
    body: &mut Option<Body>,
) -> Result<Response, StorageError> {
    let (region, blob) = blob_path(parts.uri.path())?;
    let query = Query::parse(parts.uri.query());
    let comp = query.get("comp").map(str::to_ascii_lowercase);
    let needed = match parts.method {
        Method::GET | Method::HEAD => 'r',
        Method::PUT => 'w',
        _ => {
            return Err(StorageError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "UnsupportedHttpVerb",
                "The resource doesn't support specified Http Verb.",
            ));
        }
    };
    let content = authorize(app, &query, &region, &blob, needed).await?;
    let headers = &parts.headers;
    if parts.method == Method::PUT {
        refuse_oversized_body(headers)?;
    }
    match (&parts.method, comp.as_deref()) {
        (&Method::GET, None) => get_blob(app, headers, &content).await,
        (&Method::HEAD, None) => blob_properties(headers, &content),
        (&Method::GET, Some("pagelist")) => page_ranges(app, headers, &content).await,
        (&Method::PUT, Some("page")) => put_page(app, headers, body, &content).await,
        (&Method::PUT, None) => put_blob(headers, &content),
        (_, comp) => Err(StorageError::unsupported_query(
            "comp",
            comp.unwrap_or_default(),
        )),
    }
}

/// The region and content id of a blob path.
fn blob_path(path: &str) -> Result<(String, String), StorageError> {
    let invalid = || {
        StorageError::new(
            StatusCode::BAD_REQUEST,
            "InvalidUri",
            "The requested URI does not represent any resource on the server.",
        )
    };
    let rest = path
        .strip_prefix(ROOT)
        .and_then(|rest| rest.strip_prefix('/'))
        .ok_or_else(invalid)?;
    let mut segments = rest.split('/');
    let (Some(region), Some(blob), None) = (segments.next(), segments.next(), segments.next())
    else {
        return Err(invalid());
    };
    let region = crate::arm::routes::percent_decode(region).map_err(|_| invalid())?;
    let blob = crate::arm::routes::percent_decode(blob).map_err(|_| invalid())?;
    if region.is_empty() || blob.is_empty() {
        return Err(invalid());
    }
    Ok((region, blob))
}

#[cfg(test)]
mod properties;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse() {
        assert_eq!(
            blob_path("/gallerydblob/westus/abc").ok(),
            Some(("westus".to_string(), "abc".to_string()))
        );
        assert!(blob_path("/gallerydblob/westus").is_err());
        assert!(blob_path("/gallerydblob/westus/a/b").is_err());
    }
}
