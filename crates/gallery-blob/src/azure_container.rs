//! Creating a region's Azure Blob container on first use: one Shared Key-signed REST call.
//!
//! `object_store` reads and writes blobs but has no API to create a container, and galleryd creates
//! one container per region lazily (a fresh Azurite, or a storage account nobody prepared). So this
//! module sends `PUT {endpoint}/{container}?restype=container` itself with reqwest, authorized with
//! the account key under Azure Storage's "SharedKey" scheme ("Authorize with Shared Key" in the
//! Azure Storage REST documentation): the signature is base64(HMAC-SHA256(key, string-to-sign))
//! where the string-to-sign is the verb, eleven standard header values (all empty here: no body, no
//! conditions), the canonicalized `x-ms-*` headers and the canonicalized resource
//! (`/<account><url path>` then `\nrestype:container`). 201 (created) and 409 with
//! `ContainerAlreadyExists` both mean the container is there. With an Azurite endpoint
//! (`http://host:port/<account>`) the URL path already holds the account, giving the documented
//! emulator form `/<account>/<account>/<container>`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use reqwest::StatusCode;
use ring::hmac;

use crate::error::BlobError;

/// The storage service version galleryd speaks (the one `object_store` 0.12 uses).
const STORAGE_VERSION: &str = "2023-11-03";

/// What a Shared Key request needs to be signed.
pub(crate) struct SharedKey {
    pub account: String,
    /// The decoded account key.
    pub key: Vec<u8>,
}

impl SharedKey {
    /// The signing identity for `account`, with its base64 access key.
    pub(crate) fn new(account: &str, access_key: &str) -> Result<SharedKey, BlobError> {
        let key = BASE64.decode(access_key.trim()).map_err(|_| {
            BlobError::InvalidConfiguration(format!(
                "the access key of storage account {account} is not base64"
            ))
        })?;
        Ok(SharedKey {
            account: account.to_owned(),
            key,
        })
    }

    /// The `Authorization` header value for a request whose string-to-sign is given.
    fn authorization(&self, string_to_sign: &str) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.key);
        let signature = hmac::sign(&key, string_to_sign.as_bytes());
        format!(
            "SharedKey {}:{}",
            self.account,
            BASE64.encode(signature.as_ref())
        )
    }
}

/// The string-to-sign of `PUT <url>?restype=container` with an empty body.
fn create_container_string_to_sign(account: &str, url_path: &str, date: &str) -> String {
    // Content-Encoding, Content-Language, Content-Length (empty when 0), Content-MD5, Content-Type,
    // Date, If-Modified-Since, If-Match, If-None-Match, If-Unmodified-Since, Range: all empty.
    let empty_standard_headers = "\n".repeat(11);
    format!(
        "PUT\n{empty_standard_headers}\
         x-ms-date:{date}\nx-ms-version:{STORAGE_VERSION}\n\
         /{account}{url_path}\nrestype:container"
    )
}

/// Creates `container` under the account's blob `endpoint` unless it exists already.
pub(crate) async fn ensure_container(
    http: &reqwest::Client,
    endpoint: &str,
    shared_key: &SharedKey,
    container: &str,
) -> Result<(), BlobError> {
    let failure = |detail: String, retryable: bool| BlobError::ContainerCreation {
        container: container.to_owned(),
        detail,
        retryable,
    };
    let url = reqwest::Url::parse(&format!(
        "{}/{container}?restype=container",
        endpoint.trim_end_matches('/')
    ))
    .map_err(|error| failure(format!("bad endpoint {endpoint}: {error}"), false))?;
    let date = chrono::Utc::now()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let string_to_sign = create_container_string_to_sign(&shared_key.account, url.path(), &date);
    let response = http
        .put(url)
        .header("x-ms-date", &date)
        .header("x-ms-version", STORAGE_VERSION)
        .header("authorization", shared_key.authorization(&string_to_sign))
        .header("content-length", "0")
        .body(Vec::new())
        .send()
        .await
        .map_err(|error| failure(format!("request failed: {error}"), true))?;
    let status = response.status();
    let error_code = response
        .headers()
        .get("x-ms-error-code")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if status == StatusCode::CREATED {
        tracing::info!(container, "created blob container");
        return Ok(());
    }
    if status == StatusCode::CONFLICT && error_code == "ContainerAlreadyExists" {
        return Ok(());
    }
    let body = response.text().await.unwrap_or_default();
    let retryable = status.is_server_error()
        || status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        // ContainerBeingDeleted: the name frees up once the deletion finishes.
        || status == StatusCode::CONFLICT;
    Err(failure(
        format!("{status} {error_code}: {}", body.trim()),
        retryable,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_to_sign_follows_the_shared_key_layout() {
        let string_to_sign = create_container_string_to_sign(
            "devstoreaccount1",
            "/devstoreaccount1/galleryd-westus",
            "Sun, 11 Oct 2009 21:49:13 GMT",
        );
        assert_eq!(
            string_to_sign,
            "PUT\n\n\n\n\n\n\n\n\n\n\n\n\
             x-ms-date:Sun, 11 Oct 2009 21:49:13 GMT\nx-ms-version:2023-11-03\n\
             /devstoreaccount1/devstoreaccount1/galleryd-westus\nrestype:container"
        );
        assert_eq!(string_to_sign.lines().count(), 16);
    }

    #[test]
    fn signature_is_hmac_sha256_of_the_string_in_base64() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let shared_key = SharedKey::new("account", &BASE64.encode(b"Jefe")).expect("valid key");
        assert_eq!(
            shared_key.authorization("what do ya want for nothing?"),
            format!(
                "SharedKey account:{}",
                BASE64.encode([
                    0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24, 0x26, 0x08,
                    0x95, 0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27, 0x39, 0x83, 0x9d, 0xec,
                    0x58, 0xb9, 0x64, 0xec, 0x38, 0x43,
                ])
            )
        );
        assert!(matches!(
            SharedKey::new("account", "not base64!"),
            Err(BlobError::InvalidConfiguration(_))
        ));
    }
}
