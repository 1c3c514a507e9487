//! Date functions (Microsoft Learn: template-functions-date): `utcNow` (parameter defaults only,
//! the time comes from the deployment context), `dateTimeAdd` (ISO 8601 durations),
//! `dateTimeFromEpoch`, `dateTimeToEpoch`, and .NET date format strings in en-US conventions.

use super::{expect_count, integer_at, string_at};
use crate::error::{EvalResult, invalid};
use crate::evaluator::{Evaluator, Phase, not_expected};
use chrono::{
    DateTime, Datelike, Duration, FixedOffset, Months, NaiveDate, NaiveDateTime, TimeZone,
    Timelike, Utc,
};
use serde_json::Value;

pub(super) fn call(
    evaluator: &mut Evaluator<'_>,
    name: &str,
    values: &[Value],
) -> EvalResult<Option<Value>> {
    let count = values.len();
    let result = match name {
        "utcnow" => {
            if evaluator.phase != Phase::ParameterDefault {
                return invalid(
                    "The template function 'utcNow' is not expected at this location. The function can only be used with parameter default values. Please see https://aka.ms/arm-template-expressions for usage details.",
                );
            }
            expect_count("utcNow", count, 0, 1)?;
            let format = if count == 1 {
                string_at("utcNow", values, 0)?
            } else {
                "yyyyMMddTHHmmssZ"
            };
            Value::String(format_date(
                &evaluator.world.context().now.fixed_offset(),
                format,
            ))
        }
        "newguid" => {
            if evaluator.phase != Phase::ParameterDefault {
                return invalid(
                    "The template function 'newGuid' is not expected at this location. The function can only be used with parameter default values. Please see https://aka.ms/arm-template-expressions for usage details.",
                );
            }
            expect_count("newGuid", count, 0, 0)?;
            Value::String(evaluator.world.new_guid())
        }
        "datetimeadd" => {
            expect_count("dateTimeAdd", count, 2, 3)?;
            let base = parse_date("dateTimeAdd", string_at("dateTimeAdd", values, 0)?)?;
            let duration = string_at("dateTimeAdd", values, 1)?;
            let result = add_duration(base, duration)?;
            Value::String(match count {
                3 => format_date(&result, string_at("dateTimeAdd", values, 2)?),
                _ => format_date(&result, "G"),
            })
        }
        "datetimefromepoch" => {
            expect_count("dateTimeFromEpoch", count, 1, 1)?;
            let seconds = integer_at("dateTimeFromEpoch", values, 0)?;
            let Some(time) = Utc.timestamp_opt(seconds, 0).single() else {
                return invalid(format!(
                    "The template language function 'dateTimeFromEpoch' value '{seconds}' is out of range."
                ));
            };
            Value::String(time.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        }
        "datetimetoepoch" => {
            expect_count("dateTimeToEpoch", count, 1, 1)?;
            Value::from(
                parse_date("dateTimeToEpoch", string_at("dateTimeToEpoch", values, 0)?)?
                    .timestamp(),
            )
        }
        "utcnowtime" => return not_expected("utcNowTime"),
        _ => return Ok(None),
    };
    Ok(Some(result))
}

/// Parses the date forms templates use (ISO 8601 with `T` or a space, with `Z`, an offset or none).
pub(crate) fn parse_date(function: &str, text: &str) -> EvalResult<DateTime<FixedOffset>> {
    let trimmed = text.trim();
    if let Ok(parsed) = DateTime::parse_from_rfc3339(trimmed) {
        return Ok(parsed);
    }
    let normalized = trimmed.replacen(' ', "T", 1);
    if let Ok(parsed) = DateTime::parse_from_rfc3339(&normalized) {
        return Ok(parsed);
    }
    let without_zone = normalized.trim_end_matches('Z');
    for pattern in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(parsed) = NaiveDateTime::parse_from_str(without_zone, pattern) {
            return Ok(parsed.and_utc().fixed_offset());
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(without_zone, "%Y-%m-%d") {
        return Ok(date
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default()
            .and_utc()
            .fixed_offset());
    }
    for pattern in ["%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y"] {
        if let Ok(parsed) = NaiveDateTime::parse_from_str(trimmed, pattern) {
            return Ok(parsed.and_utc().fixed_offset());
        }
        if let Ok(date) = NaiveDate::parse_from_str(trimmed, pattern) {
            return Ok(date
                .and_hms_opt(0, 0, 0)
                .unwrap_or_default()
                .and_utc()
                .fixed_offset());
        }
    }
    invalid(format!(
        "The template language function '{function}' expects its parameter to be a valid date time string. The provided value is '{text}'."
    ))
}

/// Adds an ISO 8601 duration (`P1Y2M3DT4H5M6S`, `-P1D`, `PT1H`, `P2W`).
pub(crate) fn add_duration(
    base: DateTime<FixedOffset>,
    text: &str,
) -> EvalResult<DateTime<FixedOffset>> {
    let bad = || {
        invalid::<DateTime<FixedOffset>>(format!(
            "The template language function 'dateTimeAdd' expects its second parameter to be a valid ISO 8601 duration. The provided value is '{text}'."
        ))
    };
    let (negative, rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let Some(rest) = rest.strip_prefix('P').or_else(|| rest.strip_prefix('p')) else {
        return bad();
    };
    let (mut months, mut seconds, mut in_time, mut number, mut any) =
        (0i64, 0f64, false, String::new(), false);
    for character in rest.chars() {
        match character.to_ascii_uppercase() {
            'T' => in_time = true,
            digit if digit.is_ascii_digit() || digit == '.' || digit == ',' => {
                number.push(if digit == ',' { '.' } else { digit })
            }
            unit => {
                let Ok(amount) = number.parse::<f64>() else {
                    return bad();
                };
                number.clear();
                any = true;
                match (unit, in_time) {
                    ('Y', false) => months += (amount * 12.0) as i64,
                    ('M', false) => months += amount as i64,
                    ('W', false) => seconds += amount * 604_800.0,
                    ('D', false) => seconds += amount * 86_400.0,
                    ('H', true) => seconds += amount * 3_600.0,
                    ('M', true) => seconds += amount * 60.0,
                    ('S', true) => seconds += amount,
                    _ => return bad(),
                }
            }
        }
    }
    if !number.is_empty() || !any {
        return bad();
    }
    let sign = if negative { -1 } else { 1 };
    let shifted = if months == 0 {
        Some(base)
    } else if sign * months > 0 {
        base.checked_add_months(Months::new((months).unsigned_abs() as u32))
    } else {
        base.checked_sub_months(Months::new((months).unsigned_abs() as u32))
    };
    let milliseconds = ((seconds * 1000.0).round() as i64).saturating_mul(sign);
    match shifted
        .and_then(|time| time.checked_add_signed(Duration::try_milliseconds(milliseconds)?))
    {
        Some(time) => Ok(time),
        None => bad(),
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// Formats a time with a .NET standard (`u`, `o`, `s`, `d`, `D`, `t`, `T`, `g`, `G`, `r`, `f`, `F`,
/// `M`, `Y`) or custom (`yyyy-MM-dd HH:mm:ss`, …) date format string, en-US conventions.
pub(crate) fn format_date(time: &DateTime<FixedOffset>, format: &str) -> String {
    let expanded = match format {
        "d" => "M/d/yyyy",
        "D" => "dddd, MMMM d, yyyy",
        "t" => "h:mm tt",
        "T" => "h:mm:ss tt",
        "f" => "dddd, MMMM d, yyyy h:mm tt",
        "F" => "dddd, MMMM d, yyyy h:mm:ss tt",
        "g" => "M/d/yyyy h:mm tt",
        "G" => "M/d/yyyy h:mm:ss tt",
        "M" | "m" => "MMMM d",
        "Y" | "y" => "MMMM yyyy",
        "s" => "yyyy'-'MM'-'dd'T'HH':'mm':'ss",
        "u" => "yyyy'-'MM'-'dd HH':'mm':'ss'Z'",
        "o" | "O" => "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
        "r" | "R" => "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
        other => other,
    };
    let characters: Vec<char> = expanded.chars().collect();
    let mut output = String::new();
    let mut index = 0;
    while index < characters.len() {
        let character = characters[index];
        let mut run = 1;
        while index + run < characters.len() && characters[index + run] == character {
            run += 1;
        }
        match character {
            '\'' | '"' => {
                let close = characters[index + 1..].iter().position(|c| *c == character);
                let end = close.map_or(characters.len(), |close| index + 1 + close);
                output.extend(&characters[index + 1..end]);
                index = end + 1;
                continue;
            }
            '\\' => {
                if let Some(next) = characters.get(index + 1) {
                    output.push(*next);
                }
                index += 2;
                continue;
            }
            'y' => {
                let year = time.year();
                output.push_str(&match run {
                    1 => (year % 100).to_string(),
                    2 => format!("{:02}", year % 100),
                    _ => format!("{year:0run$}"),
                });
            }
            'M' => output.push_str(&match run {
                1 => time.month().to_string(),
                2 => format!("{:02}", time.month()),
                3 => MONTHS[time.month0() as usize][..3].to_string(),
                _ => MONTHS[time.month0() as usize].to_string(),
            }),
            'd' => output.push_str(&match run {
                1 => time.day().to_string(),
                2 => format!("{:02}", time.day()),
                3 => DAYS[time.weekday().num_days_from_monday() as usize][..3].to_string(),
                _ => DAYS[time.weekday().num_days_from_monday() as usize].to_string(),
            }),
            'H' => output.push_str(&if run == 1 {
                time.hour().to_string()
            } else {
                format!("{:02}", time.hour())
            }),
            'h' => {
                let hour = match time.hour() % 12 {
                    0 => 12,
                    hour => hour,
                };
                output.push_str(&if run == 1 {
                    hour.to_string()
                } else {
                    format!("{hour:02}")
                });
            }
            'm' => output.push_str(&if run == 1 {
                time.minute().to_string()
            } else {
                format!("{:02}", time.minute())
            }),
            's' => output.push_str(&if run == 1 {
                time.second().to_string()
            } else {
                format!("{:02}", time.second())
            }),
            'f' | 'F' => {
                let digits = format!("{:09}", time.nanosecond() % 1_000_000_000);
                let mut fraction = digits[..run.min(7).min(9)].to_string();
                if character == 'F' {
                    fraction = fraction.trim_end_matches('0').to_string();
                }
                output.push_str(&fraction);
            }
            't' => {
                let marker = if time.hour() < 12 { "AM" } else { "PM" };
                output.push_str(if run == 1 { &marker[..1] } else { marker });
            }
            'K' => {
                if time.offset().local_minus_utc() == 0 {
                    output.push('Z');
                } else {
                    output.push_str(&time.format("%:z").to_string());
                }
            }
            'z' => {
                let offset = time.offset().local_minus_utc();
                let hours = offset / 3600;
                output.push_str(&match run {
                    1 => format!("{hours:+}"),
                    2 => format!("{}{:02}", if offset < 0 { '-' } else { '+' }, hours.abs()),
                    _ => time.format("%:z").to_string(),
                });
            }
            other => {
                for _ in 0..run {
                    output.push(other);
                }
            }
        }
        index += run;
    }
    output
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learn_examples() {
        let base = parse_date("dateTimeAdd", "2020-04-07 14:53:14Z").unwrap();
        assert_eq!(
            format_date(&add_duration(base, "P3Y").unwrap(), "G"),
            "4/7/2023 2:53:14 PM"
        );
        assert_eq!(
            format_date(&add_duration(base, "-PT9H").unwrap(), "G"),
            "4/7/2020 5:53:14 AM"
        );
        assert_eq!(
            format_date(&add_duration(base, "PT1H").unwrap(), "yyyy-MM-ddTHH:mm:ssZ"),
            "2020-04-07T15:53:14Z"
        );
        let now = parse_date("utcNow", "2019-03-05T17:53:18.5417297Z").unwrap();
        assert_eq!(format_date(&now, "yyyyMMddTHHmmssZ"), "20190305T175318Z");
        assert_eq!(format_date(&now, "u"), "2019-03-05 17:53:18Z");
        assert_eq!(format_date(&now, "d"), "3/5/2019");
        assert!(add_duration(base, "P").is_err());
        assert!(add_duration(base, "3Y").is_err());
        assert_eq!(
            parse_date("x", "2023-05-02T15:16:13Z").unwrap().timestamp(),
            1683040573
        );
    }
}
