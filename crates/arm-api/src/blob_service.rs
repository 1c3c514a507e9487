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

use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use gallery_domain::models::disk::{DiskData, SECTOR_BYTES};
use gallery_store::{ContentState, StoredContent};
use ring::hmac;

use crate::error::ApiError;
use crate::request::{Query, encode_component};
use crate::response;
use crate::{App, SharedApp};

/// The storage service version galleryd answers with when a request names none.
pub const SERVICE_VERSION: &str = "2025-01-05";
/// The path every blob URL starts with (the "account").
pub const ROOT: &str = "/gallerydblob";
/// The largest page one Put Page may write.
const PAGE_MAX_BYTES: u64 = gallery_blob::PAGE_MAX_BYTES;
/// The largest range one clearing Put Page may cover.
const CLEAR_MAX_BYTES: u64 = 1024 * 1024 * 1024;
/// How much of a refused request's body is read (and dropped) so the client sees the answer.
const DISCARD_AT_MOST: usize = 64 * 1024 * 1024;

/// The zeros cleared pages are cut from.
static ZEROS: [u8; PAGE_MAX_BYTES as usize] = [0; PAGE_MAX_BYTES as usize];

/// What a SAS allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// `sp=r`: read (GET, HEAD).
    Read,
    /// `sp=rw`: read and write (an upload).
    ReadWrite,
}

impl Permission {
    fn as_str(self) -> &'static str {
        match self {
            Permission::Read => "r",
            Permission::ReadWrite => "rw",
        }
    }
}

/// What a SAS signs.
fn string_to_sign(permission: &str, expiry: &str, grant_id: &str, resource: &str) -> String {
    format!("{permission}\n{expiry}\n{grant_id}\n{resource}")
}

fn signing_key(key: &[u8]) -> hmac::Key {
    hmac::Key::new(hmac::HMAC_SHA256, key)
}

/// The SAS URL of a content: `<base_url>/gallerydblob/<region>/<contentId>?sv=…&sr=b&sp=…&se=…
/// &si=…&sig=…`, on the host the grant was asked on.
pub fn sas_url(
    key: &[u8],
    base_url: &str,
    region: &str,
    content_id: &str,
    permission: Permission,
    expiry: &str,
    grant_id: &str,
) -> String {
    let resource = format!("{ROOT}/{region}/{content_id}");
    let signed = string_to_sign(permission.as_str(), expiry, grant_id, &resource);
    let signature = base64::engine::general_purpose::STANDARD
        .encode(hmac::sign(&signing_key(key), signed.as_bytes()).as_ref());
    format!(
        "{base_url}{resource}?sv={SERVICE_VERSION}&sr=b&sp={}&se={}&si={}&sig={}",
        permission.as_str(),
        encode_component(expiry),
        encode_component(grant_id),
        encode_component(&signature)
    )
}

/// A fresh write id: the time in microseconds shifted left by 10 bits, plus 10 random bits, and
/// never less than one more than the previous id of this process. Sealing lets the higher id win
/// where writes overlap, so ids must grow with time (a later write wins, as on Azure); the random
/// bits keep processes sharing one database from colliding. Fits in an `i64` until the year 2255.
fn next_write_id() -> u64 {
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

// ----- errors -----

/// An error of the Blob service: status, code, message and extra detail elements.
#[derive(Debug)]
struct StorageError {
    status: StatusCode,
    code: &'static str,
    message: String,
    details: Vec<(&'static str, String)>,
    /// Extra headers (`Content-Range` of a 416).
    headers: Vec<(HeaderName, String)>,
}

impl StorageError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> StorageError {
        StorageError {
            status,
            code,
            message: message.into(),
            details: Vec::new(),
            headers: Vec::new(),
        }
    }

    fn detail(mut self, name: &'static str, value: impl Into<String>) -> StorageError {
        self.details.push((name, value.into()));
        self
    }

    fn authentication(detail: impl Into<String>) -> StorageError {
        StorageError::new(
            StatusCode::FORBIDDEN,
            "AuthenticationFailed",
            "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.",
        )
        .detail("AuthenticationErrorDetail", detail)
    }

    fn permission_mismatch() -> StorageError {
        StorageError::new(
            StatusCode::FORBIDDEN,
            "AuthorizationPermissionMismatch",
            "This request is not authorized to perform this operation using this permission.",
        )
    }

    fn body_too_large() -> StorageError {
        StorageError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestBodyTooLarge",
            "The request body is too large and exceeds the maximum permissible limit.",
        )
        .detail("MaxLimit", PAGE_MAX_BYTES.to_string())
    }

    fn blob_not_found() -> StorageError {
        StorageError::new(
            StatusCode::NOT_FOUND,
            "BlobNotFound",
            "The specified blob does not exist.",
        )
    }

    fn missing_header(name: &str) -> StorageError {
        StorageError::new(
            StatusCode::BAD_REQUEST,
            "MissingRequiredHeader",
            "An HTTP header that's mandatory for this request is not specified.",
        )
        .detail("HeaderName", name)
    }

    fn invalid_header(name: &str, value: &str) -> StorageError {
        StorageError::new(
            StatusCode::BAD_REQUEST,
            "InvalidHeaderValue",
            "The value for one of the HTTP headers is not in the correct format.",
        )
        .detail("HeaderName", name)
        .detail("HeaderValue", value)
    }

    fn invalid_page_range(reason: impl Into<String>) -> StorageError {
        StorageError::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "InvalidPageRange",
            "The page range specified is invalid.",
        )
        .detail("Reason", reason)
    }

    fn invalid_range(size: u64) -> StorageError {
        let mut error = StorageError::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "InvalidRange",
            "The range specified is invalid for the current size of the resource.",
        );
        error
            .headers
            .push((header::CONTENT_RANGE, format!("bytes */{size}")));
        error
    }

    fn upload_in_progress() -> StorageError {
        StorageError::new(
            StatusCode::CONFLICT,
            "UploadInProgress",
            "The blob is still being uploaded: its bytes can be read once the upload ends with endGetAccess.",
        )
    }

    fn upload_ended() -> StorageError {
        StorageError::authentication(
            "The upload of this blob has ended (endGetAccess): it takes no more writes.",
        )
    }

    fn condition_not_met() -> StorageError {
        StorageError::new(
            StatusCode::PRECONDITION_FAILED,
            "ConditionNotMet",
            "The condition specified using HTTP conditional header(s) is not met.",
        )
    }

    fn unsupported_query(name: &str, value: &str) -> StorageError {
        StorageError::new(
            StatusCode::BAD_REQUEST,
            "InvalidQueryParameterValue",
            "Value for one of the query parameters specified in the request URI is invalid.",
        )
        .detail("QueryParameterName", name)
        .detail("QueryParameterValue", value)
        .detail(
            "Reason",
            "galleryd's blob endpoint serves Put Blob, Put Page, Get Blob, Get Blob Properties and Get Page Ranges of page blobs.",
        )
    }

    /// A failure on galleryd's side: logged, answered 500 (or 503 when retrying may help).
    fn internal(error: impl std::fmt::Display, retryable: bool) -> StorageError {
        tracing::error!(%error, "blob endpoint failure");
        if retryable {
            StorageError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServerBusy",
                "The server is currently unable to receive requests. Please retry your request.",
            )
        } else {
            StorageError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "The server encountered an internal error. Please retry the request.",
            )
        }
    }

    fn from_api(error: ApiError) -> StorageError {
        let retryable = match &error {
            ApiError::NotReady | ApiError::DatabaseUnavailable => true,
            ApiError::Store(store) => store.is_unavailable(),
            ApiError::Service(service) => service.status == 503,
            ApiError::Unauthenticated { .. } | ApiError::Throttled { .. } => false,
        };
        StorageError::internal(error, retryable)
    }

    fn from_store(error: gallery_store::StoreError) -> StorageError {
        StorageError::from_api(error.into())
    }

    fn from_blob(error: gallery_blob::BlobError) -> StorageError {
        let retryable = error.is_retryable();
        StorageError::internal(error, retryable)
    }

    /// The XML answer (no body for HEAD), with `x-ms-error-code`.
    fn into_response(self, request_id: &str, head: bool) -> Response {
        let now = Utc::now();
        let time = format!(
            "{}.{:07}Z",
            now.format("%Y-%m-%dT%H:%M:%S"),
            now.timestamp_subsec_nanos() / 100
        );
        let mut body = format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{}</Code><Message>{}\nRequestId:{request_id}\nTime:{time}</Message>",
            self.code,
            xml_escape(&self.message)
        );
        for (name, value) in &self.details {
            body.push_str(&format!("<{name}>{}</{name}>", xml_escape(value)));
        }
        body.push_str("</Error>");
        let mut response = if head {
            Response::new(Body::empty())
        } else {
            Response::new(Body::from(body))
        };
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/xml"),
        );
        headers.insert("x-ms-error-code", HeaderValue::from_static(self.code));
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
        response
    }
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

// ----- the handler -----

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
    let region = crate::routes::percent_decode(region).map_err(|_| invalid())?;
    let blob = crate::routes::percent_decode(blob).map_err(|_| invalid())?;
    if region.is_empty() || blob.is_empty() {
        return Err(invalid());
    }
    Ok((region, blob))
}

/// The fields of a blob SAS, as a request carries them (not yet verified).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SasFields<'a> {
    signature: &'a str,
    permission: &'a str,
    expiry: &'a str,
    grant_id: &'a str,
}

impl<'a> SasFields<'a> {
    /// The SAS fields of a query; 403 when one is missing or the signed resource is not a blob.
    fn parse(query: &'a Query) -> Result<SasFields<'a>, StorageError> {
        let signature = query.get("sig").filter(|value| !value.is_empty()).ok_or_else(|| {
            StorageError::authentication(
                "The request carries no SAS signature (sig): galleryd's blob endpoint accepts the SAS URLs that beginGetAccess hands out.",
            )
        })?;
        let field = |name: &'static str| {
            query
                .get(name)
                .filter(|value| !value.is_empty())
                .ok_or_else(|| {
                    StorageError::authentication(format!("The SAS token has no '{name}' field."))
                })
        };
        let (permission, expiry, grant_id) = (field("sp")?, field("se")?, field("si")?);
        if query.get("sr").is_some_and(|resource| resource != "b") {
            return Err(StorageError::authentication(
                "The signed resource (sr) of a blob SAS must be 'b'.",
            ));
        }
        Ok(SasFields {
            signature,
            permission,
            expiry,
            grant_id,
        })
    }

    /// Checks the signature (under `key`, over these fields and the blob's path), the expiry (at
    /// `now`) and that the permission covers `needed` (`r` or `w`).
    fn verify(
        &self,
        key: &[u8],
        region: &str,
        blob: &str,
        needed: char,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let resource = format!("{ROOT}/{region}/{blob}");
        let signed = string_to_sign(self.permission, self.expiry, self.grant_id, &resource);
        let mismatch = || {
            StorageError::authentication(format!(
                "Signature did not match. String to sign used was {signed}"
            ))
        };
        let signature = base64::engine::general_purpose::STANDARD
            .decode(self.signature.as_bytes())
            .map_err(|_| mismatch())?;
        hmac::verify(&signing_key(key), signed.as_bytes(), &signature).map_err(|_| mismatch())?;
        let expires = DateTime::parse_from_rfc3339(self.expiry)
            .map_err(|_| {
                StorageError::authentication(format!(
                    "The signed expiry time (se) '{}' is not a valid date-time.",
                    self.expiry
                ))
            })?
            .with_timezone(&Utc);
        if now >= expires {
            return Err(StorageError::authentication(format!(
                "Signed expiry time [{}] must be after signed start time [{}]",
                http_date(expires),
                http_date(now)
            )));
        }
        if !self.permission.contains(needed) {
            return Err(StorageError::permission_mismatch());
        }
        Ok(())
    }
}

/// Checks the SAS of a request for `needed` (`r` or `w`) and returns the content it opens.
async fn authorize(
    app: &App,
    query: &Query,
    region: &str,
    blob: &str,
    needed: char,
) -> Result<StoredContent, StorageError> {
    let fields = SasFields::parse(query)?;
    let key = app
        .blob_signing_key()
        .await
        .map_err(StorageError::from_api)?;
    fields.verify(key, region, blob, needed, Utc::now())?;
    let grant_id = fields.grant_id;
    let store = app.store().map_err(StorageError::from_api)?;
    let content = store
        .get_content(blob)
        .await
        .map_err(StorageError::from_store)?
        .filter(|content| content.region.eq_ignore_ascii_case(region))
        .ok_or_else(StorageError::blob_not_found)?;
    let owner = store
        .get_resource(&content.owner_key)
        .await
        .map_err(StorageError::from_store)?
        .ok_or_else(|| {
            StorageError::authentication(
                "The disk or snapshot this SAS was granted for no longer exists.",
            )
        })?;
    let data: DiskData = owner
        .internal
        .as_deref()
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_default();
    let current = data
        .access_grant
        .is_some_and(|grant| grant.grant_id == grant_id)
        && data
            .content
            .is_some_and(|reference| reference.content_id == content.content_id);
    if !current {
        return Err(StorageError::authentication(
            "The access this SAS was granted under has ended: it was revoked (endGetAccess) or replaced by a newer grant.",
        ));
    }
    Ok(content)
}

// ----- headers -----

/// `Tue, 05 Nov 2024 10:00:00 GMT`.
fn http_date(instant: DateTime<Utc>) -> String {
    instant.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

fn last_modified(content: &StoredContent) -> String {
    http_date(DateTime::from_timestamp_millis(content.created_at).unwrap_or_default())
}

/// An Azure-style ETag (`"0x8D…"`) derived from `parts`.
fn etag_of(parts: &[&str]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, parts.join("\u{1f}").as_bytes());
    let hex: String = digest.as_ref()[..7]
        .iter()
        .map(|byte| format!("{byte:02X}"))
        .collect();
    format!("\"0x8D{hex}\"")
}

/// The ETag of a content: changes when its bytes or size change.
fn content_etag(content: &StoredContent) -> String {
    etag_of(&[
        &content.content_id,
        content.state.as_str(),
        &content.logical_size.to_string(),
        content.checksum.as_deref().unwrap_or_default(),
    ])
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

fn with_headers(response: Response, pairs: &[(&'static str, String)]) -> Response {
    pairs.iter().fold(response, |response, (name, value)| {
        response::with_header(response, name, value)
    })
}

/// The headers describing a page blob (Get Blob and Get Blob Properties).
fn blob_headers(content: &StoredContent, etag: &str) -> Vec<(&'static str, String)> {
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
fn check_conditions(headers: &HeaderMap, etag: &str) -> Result<Option<Response>, StorageError> {
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
struct RangeRequest {
    /// Which header named it (`x-ms-range` wins over `Range`).
    header: &'static str,
    /// The header's text.
    text: String,
    /// The first byte.
    start: u64,
    /// The last byte (inclusive), if given.
    last: Option<u64>,
}

/// The range a request names, if any.
fn requested_range(headers: &HeaderMap) -> Result<Option<RangeRequest>, StorageError> {
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

// ----- reads -----

/// The manifest of a sealed content; an upload in progress has none yet.
fn sealed_manifest(content: &StoredContent) -> Result<gallery_blob::Manifest, StorageError> {
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
async fn get_blob(
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
fn blob_properties(headers: &HeaderMap, content: &StoredContent) -> Result<Response, StorageError> {
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
async fn page_ranges(
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

// ----- writes -----

/// The declared `Content-Length` of a request, if any.
fn content_length(headers: &HeaderMap) -> Result<Option<u64>, StorageError> {
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
fn refuse_oversized_body(headers: &HeaderMap) -> Result<(), StorageError> {
    match content_length(headers)? {
        Some(declared) if declared > PAGE_MAX_BYTES => Err(StorageError::body_too_large()),
        _ => Ok(()),
    }
}

/// Put Blob: a no-op create of the page blob an upload disk already is.
fn put_blob(headers: &HeaderMap, content: &StoredContent) -> Result<Response, StorageError> {
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
async fn put_page(
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
async fn read_page(body: &mut Option<Body>, length: u64) -> Result<Bytes, StorageError> {
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
async fn write_page(
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

    #[test]
    fn sas_urls_are_signed_over_their_fields() {
        let url = sas_url(
            b"key",
            "https://127.0.0.1:8443",
            "westus",
            "c1",
            Permission::ReadWrite,
            "2030-01-01T00:00:00Z",
            "g1",
        );
        assert!(url.starts_with("https://127.0.0.1:8443/gallerydblob/westus/c1?sv=2025-01-05&sr=b&sp=rw&se=2030-01-01T00%3A00%3A00Z&si=g1&sig="));
        let query = Query::parse(url.split_once('?').map(|(_, query)| query));
        let signature = base64::engine::general_purpose::STANDARD
            .decode(query.get("sig").unwrap_or_default())
            .expect("base64");
        let signed = string_to_sign(
            "rw",
            "2030-01-01T00:00:00Z",
            "g1",
            "/gallerydblob/westus/c1",
        );
        assert!(hmac::verify(&signing_key(b"key"), signed.as_bytes(), &signature).is_ok());
        assert!(hmac::verify(&signing_key(b"other"), signed.as_bytes(), &signature).is_err());
    }

    #[test]
    fn paths_and_ranges_parse() {
        assert_eq!(
            blob_path("/gallerydblob/westus/abc").ok(),
            Some(("westus".to_string(), "abc".to_string()))
        );
        assert!(blob_path("/gallerydblob/westus").is_err());
        assert!(blob_path("/gallerydblob/westus/a/b").is_err());
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

#[cfg(test)]
#[path = "blob_service_properties.rs"]
mod properties;
