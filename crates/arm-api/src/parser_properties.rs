//! Property tests of the front end's parsers of user text: request paths (percent-decoding,
//! segments, the route table), query strings, `$filter`, `$skiptoken` and `$top`, bearer tokens
//! (galleryd's RS256 JWTs and the unverified claims of foreign ones). For any input they answer
//! (never panic) with a value or a 4xx; what they accept round-trips. The blob endpoint's parsers
//! (ranges, SAS) are in `blob_service/properties.rs`.
//!
//! Cases: proptest's default (256) per property; `PROPTEST_CASES=100000 cargo test -p arm-api
//! properties` runs more.

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gallery_domain::api_version::AcceptedApiVersion;
use gallery_domain::identity::{Caller, Principal};
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::arm::handlers::resource_groups;
use crate::arm::operation::OperationId;
use crate::arm::request::{ArmRequest, Query, encode_component};
use crate::arm::response;
use crate::arm::routes::{self, RouteMatch};
use crate::arm::shaping::Shaping;
use crate::identity::caller;
use crate::identity::tokens::{TokenGrant, TokenIssuer, TokenProblem, generate_signing_key};

fn issuer() -> &'static TokenIssuer {
    static ISSUER: std::sync::OnceLock<TokenIssuer> = std::sync::OnceLock::new();
    ISSUER.get_or_init(|| {
        TokenIssuer::from_stored_key(&generate_signing_key().expect("key")).expect("issuer")
    })
}

/// A list request carrying `query`, as the dispatcher builds it.
fn list_request(query: &str) -> ArmRequest {
    ArmRequest {
        method: Method::GET,
        operation: OperationId::GalleriesList,
        parameters: routes::PathParameters::default(),
        query: Query::parse(Some(query)),
        api_version: AcceptedApiVersion {
            requested: "2026-03-03".to_string(),
            warning: None,
        },
        caller: Caller::development(),
        base_url: "http://127.0.0.1:1".to_string(),
        path: "/subscriptions/s/providers/Microsoft.Compute/galleries".to_string(),
        body: Bytes::new(),
        subscription: None,
        shaping: Shaping::default(),
        visibility: crate::arm::access::Visibility::default(),
        correlation_id: None,
        received_at: chrono::Utc::now(),
    }
}

/// A value for one path parameter: any text without `/`, often an ARM-looking name.
fn segment_value() -> impl Strategy<Value = String> {
    prop_oneof!["[a-zA-Z0-9_.()-]{1,20}", "[^/]{1,20}", "\\PC{1,12}"]
}

fn bearer(token: &str) -> Option<HeaderMap> {
    let mut headers = HeaderMap::new();
    headers.insert(
        axum::http::header::AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {token}")).ok()?,
    );
    Some(headers)
}

proptest! {
    #[test]
    fn encoded_segments_decode_back(text in "\\PC{0,40}") {
        prop_assert_eq!(routes::percent_decode(&encode_component(&text)).unwrap(), text);
    }

    #[test]
    fn any_path_splits_or_is_refused(path in prop_oneof!["\\PC{0,80}", "(/[a-zA-Z%0-9.]{0,8}){0,12}/?", "(/%[0-9a-fA-FgG]{0,2}){0,6}"]) {
        match routes::segments(&path) {
            Ok(segments) => {
                for method in [Method::GET, Method::PUT, Method::PATCH, Method::DELETE, Method::POST, Method::HEAD] {
                    let _ = routes::find(&method, &segments);
                }
            }
            Err(error) => prop_assert_eq!(error.status, 400),
        }
    }

    #[test]
    fn every_route_finds_its_operation_whatever_the_names(route_index in any::<prop::sample::Index>(), values in prop::collection::vec(segment_value(), 12), upper in any::<bool>()) {
        let table = routes::table();
        let route = &table[route_index.index(table.len())];
        let mut next = values.iter();
        let path: String = route
            .template
            .split('/')
            .filter(|segment| !segment.is_empty())
            .map(|segment| {
                if segment.starts_with('{') {
                    format!("/{}", encode_component(next.next().unwrap()))
                } else if upper {
                    format!("/{}", segment.to_uppercase())
                } else {
                    format!("/{segment}")
                }
            })
            .collect();
        let segments = routes::segments(&path).unwrap();
        match routes::find(&route.method, &segments) {
            RouteMatch::Found(found, _) => {
                // Another route of the same method may match too when a name equals a literal of
                // it (a group named `providers`); the one found must then match the path as well.
                prop_assert_eq!(&found.method, &route.method);
                prop_assert_eq!(found.template.split('/').filter(|segment| !segment.is_empty()).count(), segments.len());
            }
            RouteMatch::MethodNotAllowed => prop_assert!(false, "{} {path}: method not allowed", route.method),
            RouteMatch::NotFound => prop_assert!(false, "{} {path}: not found", route.method),
        }
    }

    #[test]
    fn query_strings_decode_what_was_encoded(pairs in prop::collection::vec(("[a-zA-Z$][a-zA-Z0-9$-]{0,10}", "\\PC{0,20}"), 1..6)) {
        let raw: Vec<String> = pairs.iter().map(|(name, value)| format!("{}={}", encode_component(name), encode_component(value))).collect();
        let query = Query::parse(Some(&raw.join("&")));
        for (name, _) in &pairs {
            let first = pairs.iter().find(|(other, _)| other.eq_ignore_ascii_case(name)).unwrap();
            prop_assert_eq!(query.get(name), Some(first.1.as_str()));
        }
    }

    #[test]
    fn any_query_string_parses(raw in "\\PC{0,80}") {
        let _ = Query::parse(Some(&raw)).into_pairs();
    }

    #[test]
    fn tag_filters_parse_back(name in "[^']{0,20}", value in prop::option::of("[^']{0,20}")) {
        prop_assume!(!name.to_ascii_lowercase().contains(" and "));
        let filter = match &value {
            Some(value) => format!("tagName eq '{name}' and tagValue eq '{value}'"),
            None => format!("tagName eq '{name}'"),
        };
        prop_assert_eq!(resource_groups::parse_tag_filter(&filter).unwrap(), (name, value));
    }

    #[test]
    fn any_filter_is_parsed_or_refused(filter in prop_oneof!["\\PC{0,60}", "tag(Name|name|Value) eq '\\PC{0,10}'( and tagValue eq '\\PC{0,10}')?"]) {
        if let Err(error) = resource_groups::parse_tag_filter(&filter) {
            prop_assert_eq!((error.status, error.code.as_str()), (400, "InvalidFilterInQueryString"));
        }
    }

    #[test]
    fn skip_tokens_and_tops_are_numbers_or_refused(token in prop_oneof!["\\PC{0,24}", "-?[0-9]{1,22}"], top in prop_oneof!["\\PC{0,12}", "-?[0-9]{1,12}"]) {
        let request = list_request(&format!("$skiptoken={}&$top={}", encode_component(&token), encode_component(&top)));
        match response::skip_token(&request) {
            Ok(Some(cursor)) => {
                prop_assert!(cursor >= 0);
                prop_assert_eq!(cursor.to_string().parse::<i64>().unwrap(), token.parse::<i64>().unwrap());
            }
            Ok(None) => prop_assert!(false, "a given $skiptoken read as absent"),
            Err(error) => prop_assert_eq!((error.status, error.code.as_str()), (400, "InvalidSkipToken")),
        }
        match response::page_size(&request, 100) {
            Ok(size) => prop_assert!((1..=100).contains(&size)),
            Err(error) => prop_assert_eq!(error.status, 400),
        }
    }

    #[test]
    fn issued_tokens_verify_and_tampered_ones_do_not(audience in "https://[a-z.]{1,20}/?", lifetime in 1i64..100_000, flipped in any::<prop::sample::Index>(), part in 0..3usize) {
        let principal = Principal::development_service_principal();
        let now = 1_700_000_000;
        let grant = TokenGrant {
            principal: &principal,
            tenant_id: &principal.tenant_id,
            audience: &audience,
            issuer: "https://127.0.0.1:8443/t/v2.0",
            issued_at: now,
            lifetime_seconds: lifetime,
        };
        let token = issuer().issue(&grant);
        prop_assert!(issuer().signed_by_me(&token));
        let claims = issuer().verify(&token, now).unwrap();
        prop_assert_eq!(&claims.aud, &audience);
        prop_assert_eq!(issuer().verify(&token, now + lifetime), Err(TokenProblem::Expired { expired_at: now + lifetime }));

        let mut parts: Vec<Vec<u8>> = token.split('.').map(|part| part.as_bytes().to_vec()).collect();
        let bytes = &mut parts[part];
        let index = flipped.index(bytes.len());
        bytes[index] = if bytes[index] == b'A' { b'B' } else { b'A' };
        let tampered = parts.iter().map(|part| String::from_utf8_lossy(part).into_owned()).collect::<Vec<_>>().join(".");
        prop_assert!(issuer().verify(&tampered, now).is_err(), "a tampered token verified");
    }

    #[test]
    fn any_bearer_text_is_refused_or_read_without_panicking(
        token in prop_oneof![
            "\\PC{0,60}",
            ("[A-Za-z0-9_-]{0,40}", "[A-Za-z0-9_-]{0,60}", "[A-Za-z0-9_-]{0,40}").prop_map(|(a, b, c)| format!("{a}.{b}.{c}")),
        ],
        claims in prop::collection::btree_map("(tid|oid|sub|upn|appid|azp|idtyp|xms_mirid|kid|alg|[a-z]{1,5})", prop_oneof![Just(Value::Null), any::<i64>().prop_map(Value::from), "\\PC{0,20}".prop_map(Value::from), Just(json!({"x": [1]}))], 0..6),
        alg in prop_oneof![Just("none".to_string()), Just("HS256".to_string()), Just("RS256".to_string()), "\\PC{0,6}"],
    ) {
        let claims: serde_json::Map<String, Value> = claims.into_iter().collect();
        let kid = issuer().key_id().to_string();
        let forged = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(json!({"alg": alg, "kid": kid}).to_string()),
            URL_SAFE_NO_PAD.encode(Value::Object(claims).to_string())
        );
        for candidate in [token.as_str(), forged.as_str()] {
            prop_assert!(issuer().verify(candidate, 1_700_000_000).is_err());
            let _ = issuer().signed_by_me(candidate);
            if let Some(headers) = bearer(candidate) {
                let _ = caller::identify(&headers);
                let _ = caller::bearer_token(&headers);
            }
        }
    }
}
