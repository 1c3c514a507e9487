//! The SAS of galleryd's blob URLs: how a URL is signed ([`sas_url`]) and how a request's SAS is
//! checked against the grant recorded on the disk or snapshot that owns the content.

use base64::Engine;
use chrono::{DateTime, Utc};
use gallery_domain::models::disk::DiskData;
use gallery_store::StoredContent;
use ring::hmac;

use super::headers::http_date;
use super::storage_error::StorageError;
use super::{ROOT, SERVICE_VERSION};
use crate::App;
use crate::arm::request::{Query, encode_component};

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
pub(super) fn string_to_sign(
    permission: &str,
    expiry: &str,
    grant_id: &str,
    resource: &str,
) -> String {
    format!("{permission}\n{expiry}\n{grant_id}\n{resource}")
}

pub(super) fn signing_key(key: &[u8]) -> hmac::Key {
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

/// The fields of a blob SAS, as a request carries them (not yet verified).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SasFields<'a> {
    pub(super) signature: &'a str,
    pub(super) permission: &'a str,
    pub(super) expiry: &'a str,
    pub(super) grant_id: &'a str,
}

impl<'a> SasFields<'a> {
    /// The SAS fields of a query; 403 when one is missing or the signed resource is not a blob.
    pub(super) fn parse(query: &'a Query) -> Result<SasFields<'a>, StorageError> {
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
    pub(super) fn verify(
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
pub(super) async fn authorize(
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
