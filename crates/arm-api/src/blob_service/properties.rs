//! Property tests of the blob endpoint's parsers of user text: `x-ms-range`/`Range` headers and SAS
//! tokens. For any input they answer (never panic); what a SAS signs verifies, and changing any
//! signed part, the key, the expiry or the permission makes it fail.
//!
//! Cases: proptest's default (256) per property; `PROPTEST_CASES=100000 cargo test -p arm-api
//! properties` runs more.

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use chrono::{Duration, TimeZone, Utc};
use proptest::prelude::*;

use super::headers::requested_range;
use super::sas::SasFields;
use super::{Permission, sas_url};
use crate::arm::request::{Query, encode_component};

fn headers(name: &'static str, value: &str) -> Option<HeaderMap> {
    let mut headers = HeaderMap::new();
    headers.insert(name, HeaderValue::from_str(value).ok()?);
    Some(headers)
}

/// A SAS URL's query, parsed as a request's would be.
fn query_of(url: &str) -> Query {
    Query::parse(url.split_once('?').map(|(_, query)| query))
}

fn expiry_text(seconds: i64) -> String {
    Utc.timestamp_opt(seconds, 0)
        .single()
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

proptest! {
    #[test]
    fn ranges_parse_back(start in any::<u64>(), length in prop::option::of(any::<u64>()), standard in any::<bool>()) {
        let last = length.map(|length| start.saturating_add(length));
        let text = format!("bytes={start}-{}", last.map(|last| last.to_string()).unwrap_or_default());
        let name = if standard { "range" } else { "x-ms-range" };
        let range = requested_range(&headers(name, &text).unwrap()).unwrap().unwrap();
        prop_assert_eq!(range.start, start);
        prop_assert_eq!(range.last, last);
        prop_assert_eq!(range.text, text);
    }

    #[test]
    fn any_range_header_is_parsed_or_refused(text in prop_oneof!["\\PC{0,40}", "bytes=[0-9 -]{0,30}", "bytes=-?[0-9]{0,25}-[0-9]{0,25}"]) {
        let Some(headers) = headers("x-ms-range", &text) else { return Ok(()) };
        match requested_range(&headers) {
            Ok(Some(range)) => {
                prop_assert!(text.trim().starts_with("bytes="));
                if let Some(last) = range.last {
                    prop_assert!(text.contains(&last.to_string()));
                }
            }
            Ok(None) => prop_assert!(false, "a present header read as absent"),
            Err(error) => prop_assert_eq!(error.status, StatusCode::BAD_REQUEST),
        }
    }

    #[test]
    fn signed_sas_tokens_verify_and_any_change_breaks_them(
        key in prop::collection::vec(any::<u8>(), 32),
        other_key in prop::collection::vec(any::<u8>(), 32),
        region in "[a-z0-9]{1,12}",
        blob in "[a-z0-9-]{1,40}",
        write in any::<bool>(),
        lifetime in 1i64..100_000,
        grant_id in "[a-zA-Z0-9-]{1,36}",
        flipped in any::<prop::sample::Index>(),
    ) {
        let now = Utc::now();
        let expiry = expiry_text(now.timestamp() + lifetime + 1);
        let permission = if write { Permission::ReadWrite } else { Permission::Read };
        let url = sas_url(&key, "http://127.0.0.1:1", &region, &blob, permission, &expiry, &grant_id);
        let query = query_of(&url);
        let fields = SasFields::parse(&query).unwrap();
        prop_assert_eq!(fields.grant_id, grant_id.as_str());
        prop_assert!(fields.verify(&key, &region, &blob, 'r', now).is_ok());
        prop_assert_eq!(fields.verify(&key, &region, &blob, 'w', now).is_ok(), write);

        // Another blob, region or key; past the expiry.
        let other_blob = format!("{blob}x");
        let other_region = format!("{region}x");
        prop_assert!(fields.verify(&key, &region, &other_blob, 'r', now).is_err());
        prop_assert!(fields.verify(&key, &other_region, &blob, 'r', now).is_err());
        if other_key != key {
            prop_assert!(fields.verify(&other_key, &region, &blob, 'r', now).is_err());
        }
        prop_assert!(fields.verify(&key, &region, &blob, 'r', now + Duration::seconds(lifetime + 2)).is_err());
        // A changed signature, permission, expiry or grant.
        let mut signature: Vec<u8> = fields.signature.bytes().collect();
        let index = flipped.index(signature.len());
        signature[index] = if signature[index] == b'A' { b'B' } else { b'A' };
        let signature = String::from_utf8(signature).unwrap();
        let changed = [
            SasFields { signature: &signature, ..fields },
            SasFields { permission: if write { "r" } else { "rw" }, ..fields },
            SasFields { expiry: &expiry_text(now.timestamp() + lifetime + 2), ..fields },
            SasFields { grant_id: &format!("{grant_id}0"), ..fields },
        ];
        for tampered in changed {
            let refused = tampered.verify(&key, &region, &blob, 'r', now).unwrap_err();
            prop_assert_eq!(refused.status, StatusCode::FORBIDDEN);
        }
    }

    #[test]
    fn any_sas_query_is_refused_cleanly(query in prop::collection::vec(("(sig|sp|se|si|sr|sv|[a-z]{1,3})", "\\PC{0,30}"), 0..8), key in prop::collection::vec(any::<u8>(), 0..40)) {
        let raw: Vec<String> = query.iter().map(|(name, value)| format!("{name}={}", encode_component(value))).collect();
        let query = Query::parse(Some(&raw.join("&")));
        if let Ok(fields) = SasFields::parse(&query) {
            // Without the key's signature nothing verifies (a random signature matching is 2^-256).
            let refused = fields.verify(&key, "westus", "blob", 'r', Utc::now()).unwrap_err();
            prop_assert_eq!(refused.status, StatusCode::FORBIDDEN);
        }
    }
}
