//! What every handler gets: the resolved operation, its path parameters, query, api-version, caller,
//! subscription and body, plus the base URL every absolute link is built from.

use axum::body::Bytes;
use axum::http::Method;
use gallery_domain::ErrorCode;
use gallery_domain::ServiceError;
use gallery_domain::api_version::AcceptedApiVersion;
use gallery_domain::identity::{Caller, Subscription};

use crate::arm::operation::OperationId;
use crate::arm::routes::PathParameters;
use crate::arm::shaping::Shaping;

/// The query string, decoded, with case-insensitive lookups (`$skipToken` and `$skiptoken` both
/// arrive).
#[derive(Debug, Clone, Default)]
pub struct Query(Vec<(String, String)>);

impl Query {
    /// Parses `a=b&c=d` (percent-decoding, `+` as space). Malformed escapes are kept verbatim.
    pub fn parse(raw: Option<&str>) -> Query {
        let pairs = raw
            .unwrap_or("")
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                (decode_component(name), decode_component(value))
            })
            .collect();
        Query(pairs)
    }

    /// Every decoded pair, in order.
    pub fn into_pairs(self) -> Vec<(String, String)> {
        self.0
    }

    /// The first value of `name`, ignoring ASCII case.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

fn decode_component(component: &str) -> String {
    let replaced = component.replace('+', " ");
    crate::arm::routes::percent_decode(&replaced).unwrap_or(replaced)
}

/// Encodes a query value (RFC 3986 unreserved characters stay as they are).
pub fn encode_component(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// One ARM request, resolved and checked up to the handler.
#[derive(Debug)]
pub struct ArmRequest {
    pub method: Method,
    pub operation: OperationId,
    pub parameters: PathParameters,
    pub query: Query,
    pub api_version: AcceptedApiVersion,
    pub caller: Caller,
    /// `https://127.0.0.1:8443`: the scheme and authority this request arrived on.
    pub base_url: String,
    /// The request path as sent (not decoded), for links back to the same collection.
    pub path: String,
    pub body: Bytes,
    /// The `$expand` and `$select` values asked for, as the operation accepts them.
    pub shaping: Shaping,
    /// The subscription named by the path, if the path names one (it exists: unknown ones are 404
    /// before any handler runs).
    pub subscription: Option<Subscription>,
    /// What the caller may see of a list it has partial access to (everything otherwise).
    pub visibility: crate::arm::access::Visibility,
    /// The client's `x-ms-correlation-request-id`, if it sent one.
    pub correlation_id: Option<String>,
    /// When the request reached its handler: the `startTime` of the operation it starts (work
    /// done inside the request, like reading a VM application's package, is part of it).
    pub received_at: chrono::DateTime<chrono::Utc>,
}

impl ArmRequest {
    /// The subscription of a subscription-scoped route.
    pub fn subscription(&self) -> &Subscription {
        self.subscription
            .as_ref()
            .expect("subscription-scoped route resolved without a subscription")
    }

    /// An absolute URL on the host the request came to, carrying this request's api-version and
    /// `extra` query parameters.
    pub fn url(&self, path: &str, extra: &[(&str, &str)]) -> String {
        let mut url = format!(
            "{}{path}?api-version={}",
            self.base_url,
            encode_component(&self.api_version.requested)
        );
        for (name, value) in extra {
            url.push('&');
            url.push_str(name);
            url.push('=');
            url.push_str(&encode_component(value));
        }
        url
    }

    /// The integer value of a query parameter, if given.
    pub fn query_integer(&self, name: &str) -> Result<Option<u32>, ServiceError> {
        match self.query.get(name) {
            None => Ok(None),
            Some(value) => value.parse::<u32>().map(Some).map_err(|_| {
                ServiceError::new(400, ErrorCode::InvalidQueryParameterValue, format!("The value '{value}' of the query parameter '{name}' is not a non-negative integer."))
                    .with_target(name)
            }),
        }
    }
}
