//! Timestamps the way ARM writes them, and parsing of the dates clients send.
//!
//! The domain never reads the clock: callers pass "now" in. Timestamps are RFC 3339 in UTC with
//! microseconds (`2026-11-26T15:01:53.123456Z`), which every Azure SDK parses.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

use crate::ServiceError;

/// Formats an instant as ARM does in `systemData` and operation status bodies.
pub fn format(instant: DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Parses a date-time property (`endOfLifeDate` and alike). Accepts RFC 3339 and plain dates
/// (`2030-12-31`, read as midnight UTC). `target` names the property in the error.
pub fn parse_date_time(value: &str, target: &str) -> Result<DateTime<Utc>, ServiceError> {
    if let Ok(instant) = DateTime::parse_from_rfc3339(value) {
        return Ok(instant.with_timezone(&Utc));
    }
    if let Ok(date) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        return Ok(date
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc());
    }
    if let Ok(naive) = chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f") {
        return Ok(naive.and_utc());
    }
    Err(ServiceError::invalid_parameter(
        target,
        format!(
            "The value '{value}' of parameter '{target}' is not a valid date-time (use ISO 8601, e.g. 2030-12-31T00:00:00Z)."
        ),
    ))
}

/// The canonical form a date-time property is stored and served in.
pub fn format_date_time(instant: DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_in_the_forms_clients_send() {
        let expected = "2030-12-31T00:00:00+00:00";
        for input in [
            "2030-12-31",
            "2030-12-31T00:00:00Z",
            "2030-12-31T00:00:00+00:00",
            "2030-12-31T00:00:00",
            "2030-12-31T01:00:00+01:00",
        ] {
            assert_eq!(
                format_date_time(parse_date_time(input, "x").unwrap()),
                expected,
                "{input}"
            );
        }
        assert_eq!(
            parse_date_time("soon", "endOfLifeDate")
                .unwrap_err()
                .target
                .as_deref(),
            Some("endOfLifeDate")
        );
    }
}
