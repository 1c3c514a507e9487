//! ARM's per-subscription request limits: the `x-ms-ratelimit-remaining-subscription-*` headers,
//! and, when switched on, 429s past them.
//!
//! ARM documents hourly limits per subscription: 12,000 reads, 1,200 writes and 15,000 deletes.
//! Each request counts against its kind (GET/HEAD read, PUT/PATCH/POST write, DELETE delete) over a
//! sliding hour, and the response says how many remain, as ARM's does. By default nothing is
//! refused (tests and CI must not flake on a busy hour); with `--throttling on` a request past the
//! limit is a 429 `SubscriptionRequestsThrottled` whose `Retry-After` says when the oldest counted
//! request leaves the window. Counts are per process and start over at restart.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::Method;
use gallery_domain::ErrorCode;
use gallery_domain::ServiceError;

use crate::error::ApiError;

/// The window ARM's limits apply to.
const WINDOW: Duration = Duration::from_secs(3600);

/// Limits and whether they are enforced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottlingSettings {
    /// Refuse requests past the limits (429) instead of only counting them.
    pub enforce: bool,
    pub reads_per_hour: u32,
    pub writes_per_hour: u32,
    pub deletes_per_hour: u32,
}

impl Default for ThrottlingSettings {
    fn default() -> Self {
        ThrottlingSettings {
            enforce: false,
            reads_per_hour: 12_000,
            writes_per_hour: 1_200,
            deletes_per_hour: 15_000,
        }
    }
}

/// What a request counts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestKind {
    Read,
    Write,
    Delete,
}

impl RequestKind {
    pub fn of(method: &Method) -> RequestKind {
        match *method {
            Method::GET | Method::HEAD | Method::OPTIONS => RequestKind::Read,
            Method::DELETE => RequestKind::Delete,
            _ => RequestKind::Write,
        }
    }

    /// The response header that reports what remains.
    pub fn header(self) -> &'static str {
        match self {
            RequestKind::Read => "x-ms-ratelimit-remaining-subscription-reads",
            RequestKind::Write => "x-ms-ratelimit-remaining-subscription-writes",
            RequestKind::Delete => "x-ms-ratelimit-remaining-subscription-deletes",
        }
    }

    fn name(self) -> &'static str {
        match self {
            RequestKind::Read => "read",
            RequestKind::Write => "write",
            RequestKind::Delete => "delete",
        }
    }

    fn limit(self, settings: &ThrottlingSettings) -> u32 {
        match self {
            RequestKind::Read => settings.reads_per_hour,
            RequestKind::Write => settings.writes_per_hour,
            RequestKind::Delete => settings.deletes_per_hour,
        }
    }
}

/// The sliding windows of every subscription and kind.
#[derive(Debug, Default)]
pub struct Throttle {
    windows: Mutex<HashMap<(String, RequestKind), VecDeque<Instant>>>,
}

impl Throttle {
    /// Forgets the counted requests of one subscription, or of all (`None`): a reset starts the
    /// windows afresh.
    pub fn forget(&self, subscription_id: Option<&str>) {
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match subscription_id {
            None => windows.clear(),
            Some(subscription_id) => {
                let subscription_id = subscription_id.to_ascii_lowercase();
                windows.retain(|(counted, _), _| *counted != subscription_id);
            }
        }
    }

    /// Counts a request of `kind` for `subscription_id` at `now` and returns how many more the
    /// window allows; with enforcement on, a request past the limit is refused (and not counted).
    pub fn admit(
        &self,
        subscription_id: &str,
        kind: RequestKind,
        now: Instant,
        settings: &ThrottlingSettings,
    ) -> Result<u32, ApiError> {
        let limit = kind.limit(settings);
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let window = windows
            .entry((subscription_id.to_ascii_lowercase(), kind))
            .or_default();
        while window
            .front()
            .is_some_and(|&counted| now.saturating_duration_since(counted) >= WINDOW)
        {
            window.pop_front();
        }
        let used = u32::try_from(window.len()).unwrap_or(u32::MAX);
        if used >= limit && settings.enforce {
            let retry_after = window
                .front()
                .map(|&oldest| (oldest + WINDOW).saturating_duration_since(now))
                .unwrap_or(WINDOW)
                .as_secs()
                .max(1);
            return Err(ApiError::Throttled {
                error: ServiceError::new(
                    429,
                    ErrorCode::SubscriptionRequestsThrottled,
                    format!(
                        "Number of '{}' requests for subscription '{subscription_id}' exceeded. Please try again after '{retry_after}' seconds after additional tokens are available. Refer to https://aka.ms/arm-throttling for additional information.",
                        kind.name()
                    ),
                ),
                retry_after_seconds: retry_after,
            });
        }
        window.push_back(now);
        // Without enforcement the count may pass the limit; keep the window bounded.
        while window.len() > limit as usize + 1 {
            window.pop_front();
        }
        Ok(limit.saturating_sub(used + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(enforce: bool) -> ThrottlingSettings {
        ThrottlingSettings {
            enforce,
            writes_per_hour: 3,
            ..ThrottlingSettings::default()
        }
    }

    #[test]
    fn remaining_counts_down_per_subscription_and_kind_then_recovers() {
        let throttle = Throttle::default();
        let start = Instant::now();
        let enforced = settings(true);
        let remaining: Vec<u32> = (0..3)
            .map(|_| {
                throttle
                    .admit("s1", RequestKind::Write, start, &enforced)
                    .unwrap()
            })
            .collect();
        assert_eq!(remaining, [2, 1, 0]);
        assert_eq!(
            throttle
                .admit("s2", RequestKind::Write, start, &enforced)
                .unwrap(),
            2
        );
        assert_eq!(
            throttle
                .admit("s1", RequestKind::Read, start, &enforced)
                .unwrap(),
            11_999
        );
        match throttle.admit(
            "S1",
            RequestKind::Write,
            start + Duration::from_secs(600),
            &enforced,
        ) {
            Err(ApiError::Throttled {
                error,
                retry_after_seconds,
            }) => {
                assert_eq!(
                    (error.status, error.code.as_str()),
                    (429, "SubscriptionRequestsThrottled")
                );
                assert_eq!(retry_after_seconds, 3000);
            }
            other => panic!("expected a 429, got {other:?}"),
        }
        // An hour after the first requests they leave the window.
        assert_eq!(
            throttle
                .admit("s1", RequestKind::Write, start + WINDOW, &enforced)
                .unwrap(),
            2
        );
    }

    #[test]
    fn without_enforcement_nothing_is_refused() {
        let throttle = Throttle::default();
        let now = Instant::now();
        for _ in 0..10 {
            assert!(
                throttle
                    .admit("s", RequestKind::Write, now, &settings(false))
                    .is_ok()
            );
        }
        assert_eq!(
            throttle
                .admit("s", RequestKind::Write, now, &settings(false))
                .unwrap(),
            0
        );
    }
}
