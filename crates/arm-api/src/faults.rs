//! Faults on purpose: rules a test suite installs (`/_galleryd/faults`) so that ARM requests it
//! names answer an error, wait, lose their connection or are throttled, the way Azure sometimes
//! does, to test a client's retry logic.
//!
//! A rule matches requests by method, operationId, resource type, path pattern (`*` matches any
//! characters, case ignored), subscription and principal (object id or display name); every member
//! left out matches everything. It fires always, at most `times` times, and/or with a
//! `probability` drawn from a generator seeded by `seed` (the same requests in the same order fire
//! the same way, run after run). The first rule that matches and fires decides; each firing is
//! logged and counted. The check runs in the ARM pipeline after authentication and routing (so an
//! operationId and a principal are known), before the body is read.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use gallery_domain::{ErrorCode, ServiceError};
use serde::{Deserialize, Serialize};

/// What a firing rule does to the request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase", deny_unknown_fields)]
pub enum FaultAction {
    /// Answer an ARM error of this status and code (a code galleryd's vocabulary has).
    #[serde(rename_all = "camelCase")]
    Error {
        status: u16,
        code: String,
        #[serde(default)]
        message: Option<String>,
    },
    /// Wait this long, then serve the request as usual.
    #[serde(rename_all = "camelCase")]
    Latency { milliseconds: u64 },
    /// Close the connection without a complete answer.
    DropConnection,
    /// Answer 429 with `Retry-After`.
    #[serde(rename_all = "camelCase")]
    Throttle {
        retry_after_seconds: u64,
        #[serde(default)]
        code: Option<String>,
    },
}

/// Which requests a rule applies to; absent members match everything.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultMatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    /// A pattern over the request path: `*` matches any run of characters; case is ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<String>,
    /// The caller's object id or display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
}

/// A rule as a client writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultRuleInput {
    #[serde(default, rename = "match")]
    pub matches: FaultMatch,
    pub action: FaultAction,
    /// Fire at most this many times (absent: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
    /// Fire with this probability (0 to 1; absent: always).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Seeds the generator behind `probability` (absent: 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

/// What a request offers the rules to match on.
#[derive(Debug, Clone, Copy)]
pub struct FaultRequest<'a> {
    pub method: &'a str,
    pub operation_id: &'a str,
    pub resource_type: &'a str,
    pub path: &'a str,
    pub subscription_id: Option<&'a str>,
    pub principal_object_id: &'a str,
    pub principal_name: &'a str,
}

struct Rule {
    id: String,
    input: FaultRuleInput,
    fired: u64,
    generator: fastrand::Rng,
}

/// The installed rules and how often faults fired.
#[derive(Default)]
pub struct FaultRules {
    rules: Mutex<Vec<Rule>>,
    injected: AtomicU64,
}

impl std::fmt::Debug for FaultRules {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("FaultRules").finish_non_exhaustive()
    }
}

/// `*` matches any run of characters; everything else itself, ignoring ASCII case.
fn pattern_matches(pattern: &str, text: &str) -> bool {
    let pattern = pattern.to_ascii_lowercase();
    let text = text.to_ascii_lowercase();
    let mut pieces = pattern.split('*');
    let first = pieces.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let pieces: Vec<&str> = pieces.collect();
    let Some((last, middle)) = pieces.split_last() else {
        return rest.is_empty();
    };
    for piece in middle {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

fn same(expected: Option<&String>, actual: &str) -> bool {
    expected.is_none_or(|expected| expected.eq_ignore_ascii_case(actual))
}

impl FaultMatch {
    fn matches(&self, request: &FaultRequest<'_>) -> bool {
        same(self.method.as_ref(), request.method)
            && same(self.operation_id.as_ref(), request.operation_id)
            && same(self.resource_type.as_ref(), request.resource_type)
            && self
                .path
                .as_ref()
                .is_none_or(|pattern| pattern_matches(pattern, request.path))
            && self.subscription_id.as_ref().is_none_or(|expected| {
                request
                    .subscription_id
                    .is_some_and(|actual| expected.eq_ignore_ascii_case(actual))
            })
            && self.principal.as_ref().is_none_or(|expected| {
                expected.eq_ignore_ascii_case(request.principal_object_id)
                    || expected.eq_ignore_ascii_case(request.principal_name)
            })
    }
}

impl FaultRuleInput {
    /// Refuses rules that could never act as asked.
    pub fn validate(&self) -> Result<(), ServiceError> {
        if let Some(probability) = self.probability
            && !(0.0..=1.0).contains(&probability)
        {
            return Err(ServiceError::invalid_parameter(
                "probability",
                "The probability must lie between 0 and 1.",
            ));
        }
        match &self.action {
            FaultAction::Error { status, code, .. } => {
                if !(400..=599).contains(status) {
                    return Err(ServiceError::invalid_parameter(
                        "action.status",
                        "An injected error needs a status from 400 to 599.",
                    ));
                }
                known_code(code, "action.code")?;
            }
            FaultAction::Throttle {
                code: Some(code), ..
            } => {
                known_code(code, "action.code")?;
            }
            FaultAction::Latency { milliseconds } if *milliseconds > 600_000 => {
                return Err(ServiceError::invalid_parameter(
                    "action.milliseconds",
                    "An injected latency is at most 600000 milliseconds.",
                ));
            }
            _ => {}
        }
        Ok(())
    }
}

fn known_code(code: &str, target: &str) -> Result<ErrorCode, ServiceError> {
    ErrorCode::from_wire(code).ok_or_else(|| {
        ServiceError::invalid_parameter(
            target,
            format!("'{code}' is not an error code galleryd knows."),
        )
    })
}

/// What the pipeline does for a request a rule fired on.
#[derive(Debug, Clone, PartialEq)]
pub enum Injected {
    Error(ServiceError),
    Latency(Duration),
    DropConnection,
    Throttle {
        error: ServiceError,
        retry_after_seconds: u64,
    },
}

impl FaultRules {
    /// Installs a rule; answers its view (with its new id).
    pub fn add(&self, input: FaultRuleInput) -> Result<serde_json::Value, ServiceError> {
        input.validate()?;
        let rule = Rule {
            id: uuid::Uuid::new_v4().simple().to_string(),
            generator: fastrand::Rng::with_seed(input.seed.unwrap_or(0)),
            input,
            fired: 0,
        };
        let view = view(&rule);
        self.lock().push(rule);
        Ok(view)
    }

    /// Every rule, in the order they are tried, with how often each fired.
    pub fn list(&self) -> serde_json::Value {
        let rules = self.lock();
        serde_json::json!({
            "value": rules.iter().map(view).collect::<Vec<_>>(),
            "injected": self.injected.load(Ordering::Relaxed),
        })
    }

    /// Removes one rule; `false` when there is none with that id.
    pub fn remove(&self, id: &str) -> bool {
        let mut rules = self.lock();
        let before = rules.len();
        rules.retain(|rule| rule.id != id);
        rules.len() != before
    }

    /// Removes every rule.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// The fault the first matching rule that fires injects into `request`, if any.
    pub fn check(&self, request: &FaultRequest<'_>) -> Option<Injected> {
        let mut rules = self.lock();
        if rules.is_empty() {
            return None;
        }
        let rule = rules.iter_mut().find_map(|rule| {
            if !rule.input.matches.matches(request) {
                return None;
            }
            if rule.input.times.is_some_and(|times| rule.fired >= times) {
                return None;
            }
            if let Some(probability) = rule.input.probability
                && rule.generator.f64() >= probability
            {
                return None;
            }
            rule.fired += 1;
            Some(rule)
        })?;
        self.injected.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("galleryd_faults_injected_total").increment(1);
        tracing::info!(rule = %rule.id, method = request.method, path = request.path, operation = request.operation_id, action = ?rule.input.action, "fault injected");
        Some(match &rule.input.action {
            FaultAction::Error {
                status,
                code,
                message,
            } => Injected::Error(ServiceError::new(
                *status,
                ErrorCode::from_wire(code).unwrap_or(ErrorCode::InternalServerError),
                message.clone().unwrap_or_else(|| {
                    format!("galleryd injected this error (fault rule {}).", rule.id)
                }),
            )),
            FaultAction::Latency { milliseconds } => {
                Injected::Latency(Duration::from_millis(*milliseconds))
            }
            FaultAction::DropConnection => Injected::DropConnection,
            FaultAction::Throttle {
                retry_after_seconds,
                code,
            } => Injected::Throttle {
                error: ServiceError::new(
                    429,
                    code.as_deref()
                        .and_then(ErrorCode::from_wire)
                        .unwrap_or(ErrorCode::SubscriptionRequestsThrottled),
                    format!(
                        "Number of requests exceeded (galleryd fault rule {}). Please try again after '{retry_after_seconds}' seconds.",
                        rule.id
                    ),
                ),
                retry_after_seconds: (*retry_after_seconds).max(1),
            },
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Rule>> {
        self.rules
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn view(rule: &Rule) -> serde_json::Value {
    let mut value = serde_json::to_value(&rule.input).unwrap_or_default();
    value["id"] = rule.id.clone().into();
    value["fired"] = rule.fired.into();
    value
}

/// The resource type an RBAC action is about: `Microsoft.Compute/galleries/images/write` →
/// `Microsoft.Compute/galleries/images`; `…/share/action` drops the action's name too.
pub fn resource_type_of_action(action: &str) -> &str {
    let without_verb = action.rsplit_once('/').map_or(action, |(head, _)| head);
    if action.ends_with("/action") {
        return without_verb
            .rsplit_once('/')
            .map_or(without_verb, |(head, _)| head);
    }
    without_verb
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request<'a>(method: &'a str, path: &'a str) -> FaultRequest<'a> {
        FaultRequest {
            method,
            operation_id: "Galleries_CreateOrUpdate",
            resource_type: "Microsoft.Compute/galleries",
            path,
            subscription_id: Some("SUB"),
            principal_object_id: "object",
            principal_name: "someone@example.com",
        }
    }

    #[test]
    fn patterns_match_stars_and_ignore_case() {
        assert!(pattern_matches(
            "*/galleries/flaky*",
            "/subscriptions/s/x/Galleries/FLAKY1"
        ));
        assert!(pattern_matches("/a/*/c", "/a/b/c"));
        assert!(pattern_matches("*", ""));
        assert!(!pattern_matches("/a/*/c", "/a/b/d"));
        assert!(!pattern_matches("/a", "/a/b"));
        assert!(pattern_matches("/a*b*b", "/abb"));
        assert!(!pattern_matches("/a*bb*bb", "/abbb"));
    }

    #[test]
    fn rules_fire_as_often_as_asked_and_reproducibly() {
        let rules = FaultRules::default();
        rules
            .add(FaultRuleInput {
                matches: FaultMatch {
                    method: Some("put".into()),
                    principal: Some("SOMEONE@example.com".into()),
                    ..FaultMatch::default()
                },
                action: FaultAction::Latency { milliseconds: 5 },
                times: Some(2),
                probability: None,
                seed: None,
            })
            .unwrap();
        assert!(rules.check(&request("GET", "/x")).is_none());
        assert!(rules.check(&request("PUT", "/x")).is_some());
        assert!(rules.check(&request("PUT", "/x")).is_some());
        assert!(rules.check(&request("PUT", "/x")).is_none());

        let draws = |seed| {
            let rules = FaultRules::default();
            rules
                .add(FaultRuleInput {
                    matches: FaultMatch::default(),
                    action: FaultAction::DropConnection,
                    times: None,
                    probability: Some(0.5),
                    seed: Some(seed),
                })
                .unwrap();
            (0..64)
                .map(|_| rules.check(&request("GET", "/x")).is_some())
                .collect::<Vec<_>>()
        };
        assert_eq!(draws(7), draws(7));
        let fired = draws(7).iter().filter(|fired| **fired).count();
        assert!((16..=48).contains(&fired), "{fired} of 64");
    }

    #[test]
    fn bad_rules_are_refused() {
        let error = |action| FaultRuleInput {
            matches: FaultMatch::default(),
            action,
            times: None,
            probability: None,
            seed: None,
        };
        assert!(
            error(FaultAction::Error {
                status: 200,
                code: "InternalServerError".into(),
                message: None
            })
            .validate()
            .is_err()
        );
        assert!(
            error(FaultAction::Error {
                status: 500,
                code: "NoSuchCode".into(),
                message: None
            })
            .validate()
            .is_err()
        );
        assert_eq!(
            resource_type_of_action("Microsoft.Compute/galleries/images/write"),
            "Microsoft.Compute/galleries/images"
        );
        assert_eq!(
            resource_type_of_action("Microsoft.Compute/galleries/share/action"),
            "Microsoft.Compute/galleries"
        );
    }
}
