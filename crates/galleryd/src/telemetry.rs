//! Logging: `tracing` with a text or JSON formatter and a per-target level filter.

use std::str::FromStr;

use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LogFormat;

/// Installs the global subscriber. `filter` is `info` or `info,galleryd::request=warn,…`; an
/// unparsable filter falls back to `info` with a warning.
pub fn init(format: LogFormat, filter: &str) {
    let (targets, bad_filter) = match Targets::from_str(filter) {
        Ok(targets) => (targets, false),
        Err(_) => (Targets::from_str("info").expect("a valid filter"), true),
    };
    let registry = tracing_subscriber::registry().with(targets);
    let result = match format {
        LogFormat::Text => registry
            .with(tracing_subscriber::fmt::layer().with_target(true))
            .try_init(),
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(false),
            )
            .try_init(),
    };
    if result.is_ok() && bad_filter {
        tracing::warn!(filter, "unparsable log filter; logging at info");
    }
}
