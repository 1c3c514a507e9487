//! .NET composite formatting for `format()`: `{index[,alignment][:format]}` items, `{{`/`}}` escapes,
//! standard numeric formats (`D`, `N`, `F`, `X`, `P`, `E`, `G`, `C` with an optional precision) and
//! custom numeric formats (`000`, `#,##0.00`), in the invariant/en-US conventions Azure prints
//! with. Arrays and objects print as compact JSON with `"` turned into `'`.

use crate::error::{EvalResult, invalid};
use crate::value::format_argument;
use serde_json::Value;

/// Widest alignment or precision accepted (keeps output bounded; .NET's own limits are far larger).
const MAX_WIDTH: usize = 1_000;

/// Formats `pattern` with `arguments` as .NET's `string.Format` does.
pub fn format_composite(pattern: &str, arguments: &[Value]) -> EvalResult<String> {
    let characters: Vec<char> = pattern.chars().collect();
    let mut output = String::new();
    let mut index = 0;
    let bad = || {
        invalid::<String>(
            "The template language function 'format' failed: the format string is not valid (Input string was not in a correct format.).",
        )
    };
    while index < characters.len() {
        let character = characters[index];
        if character == '{' {
            if characters.get(index + 1) == Some(&'{') {
                output.push('{');
                index += 2;
                continue;
            }
            let Some(close) = characters[index..].iter().position(|c| *c == '}') else {
                return bad();
            };
            let item: String = characters[index + 1..index + close].iter().collect();
            index += close + 1;
            let (head, format) = match item.split_once(':') {
                Some((head, format)) => (head, Some(format)),
                None => (item.as_str(), None),
            };
            let (position, alignment) = match head.split_once(',') {
                Some((position, alignment)) => (position, Some(alignment)),
                None => (head, None),
            };
            let Ok(position) = position.trim().parse::<usize>() else {
                return bad();
            };
            let Some(argument) = arguments.get(position) else {
                return invalid(
                    "The template language function 'format' failed: Index (zero based) must be greater than or equal to zero and less than the size of the argument list.",
                );
            };
            let mut text = format_value(argument, format);
            if let Some(alignment) = alignment {
                let Ok(width) = alignment.trim().parse::<i64>() else {
                    return bad();
                };
                if width.unsigned_abs() > MAX_WIDTH as u64 {
                    return bad();
                }
                let length = text.chars().count() as i64;
                let padding = " ".repeat((width.unsigned_abs() as i64 - length).max(0) as usize);
                text = if width < 0 {
                    text + &padding
                } else {
                    padding + &text
                };
            }
            output.push_str(&text);
        } else if character == '}' {
            if characters.get(index + 1) == Some(&'}') {
                output.push('}');
                index += 2;
                continue;
            }
            return bad();
        } else {
            output.push(character);
            index += 1;
        }
    }
    Ok(output)
}

fn format_value(value: &Value, format: Option<&str>) -> String {
    let Some(format) = format.filter(|format| !format.is_empty()) else {
        return format_argument(value);
    };
    match value {
        Value::Number(number) => match number.as_i64() {
            Some(integer) => format_number(integer as f64, Some(integer), format),
            None => format_number(number.as_f64().unwrap_or_default(), None, format),
        },
        other => format_argument(other),
    }
}

fn format_number(value: f64, integer: Option<i64>, format: &str) -> String {
    let mut characters = format.chars();
    let specifier = characters.next().unwrap_or('G');
    let precision_text = characters.as_str();
    let standard = specifier.is_ascii_alphabetic()
        && (precision_text.is_empty() || precision_text.chars().all(|c| c.is_ascii_digit()));
    if !standard {
        return custom_number(value, format);
    }
    let precision = precision_text
        .parse::<usize>()
        .ok()
        .map(|precision| precision.min(MAX_WIDTH));
    match specifier {
        'D' | 'd' => match integer {
            Some(integer) => {
                let digits = integer.unsigned_abs().to_string();
                let width = precision.unwrap_or(0);
                let padded = format!("{}{digits}", "0".repeat(width.saturating_sub(digits.len())));
                if integer < 0 {
                    format!("-{padded}")
                } else {
                    padded
                }
            }
            None => value.to_string(),
        },
        'N' | 'n' => group(&format!("{:.*}", precision.unwrap_or(2), value)),
        'F' | 'f' => format!("{:.*}", precision.unwrap_or(2), value),
        'C' | 'c' => {
            let text = group(&format!("{:.*}", precision.unwrap_or(2), value.abs()));
            if value < 0.0 {
                format!("(${text})")
            } else {
                format!("${text}")
            }
        }
        'P' | 'p' => format!(
            "{} %",
            group(&format!("{:.*}", precision.unwrap_or(2), value * 100.0))
        ),
        'X' | 'x' => match integer {
            Some(integer) => {
                let hex = if specifier == 'X' {
                    format!("{integer:X}")
                } else {
                    format!("{integer:x}")
                };
                format!(
                    "{}{hex}",
                    "0".repeat(precision.unwrap_or(0).saturating_sub(hex.len()))
                )
            }
            None => value.to_string(),
        },
        'E' | 'e' => {
            let text = format!("{:.*e}", precision.unwrap_or(6), value);
            let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
            let exponent: i32 = exponent.parse().unwrap_or(0);
            let sign = if exponent < 0 { '-' } else { '+' };
            let letter = if specifier == 'E' { 'E' } else { 'e' };
            format!("{mantissa}{letter}{sign}{:03}", exponent.abs())
        }
        _ => match integer {
            Some(integer) => integer.to_string(),
            None => value.to_string(),
        },
    }
}

/// Inserts `,` every three digits in the integer part of a plain decimal number.
fn group(text: &str) -> String {
    let (sign, rest) = text
        .strip_prefix('-')
        .map_or(("", text), |rest| ("-", rest));
    let (whole, fraction) = rest
        .split_once('.')
        .map_or((rest, None), |(w, f)| (w, Some(f)));
    let mut grouped = String::new();
    for (index, digit) in whole.chars().enumerate() {
        if index > 0 && (whole.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    match fraction {
        Some(fraction) => format!("{sign}{grouped}.{fraction}"),
        None => format!("{sign}{grouped}"),
    }
}

/// Custom numeric formats: `0` (digit or zero), `#` (digit if any), `.`, `,` (grouping), literals.
fn custom_number(value: f64, format: &str) -> String {
    let placeholder = |c: char| c == '0' || c == '#';
    let first = format.find(placeholder);
    let last = format.rfind(placeholder);
    let (Some(first), Some(last)) = (first, last) else {
        return format.to_string();
    };
    let prefix = &format[..first];
    let body = &format[first..=last];
    let suffix = &format[last + 1..];
    let (whole_pattern, fraction_pattern) =
        body.split_once('.').map_or((body, ""), |(w, f)| (w, f));
    let grouping = whole_pattern.contains(',');
    let minimum_whole = whole_pattern.chars().filter(|c| *c == '0').count();
    let fraction_zeros = fraction_pattern.chars().filter(|c| *c == '0').count();
    let fraction_digits = fraction_pattern.chars().filter(|c| placeholder(*c)).count();
    let rounded = format!("{:.*}", fraction_digits, value.abs());
    let (whole, fraction) = rounded
        .split_once('.')
        .map_or((rounded.as_str(), ""), |(w, f)| (w, f));
    let mut whole = whole.trim_start_matches('0').to_string();
    if whole.len() < minimum_whole {
        whole = format!("{}{whole}", "0".repeat(minimum_whole - whole.len()));
    }
    if grouping {
        whole = group(&whole);
    }
    let mut fraction = fraction.to_string();
    while fraction.len() > fraction_zeros && fraction.ends_with('0') {
        fraction.pop();
    }
    let sign = if value < 0.0
        && (whole.chars().any(|c| c != '0' && c != ',') || fraction.chars().any(|c| c != '0'))
    {
        "-"
    } else {
        ""
    };
    let number = if fraction.is_empty() {
        whole
    } else {
        format!("{whole}.{fraction}")
    };
    format!("{sign}{prefix}{number}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn matches_learn_examples() {
        assert_eq!(
            format_composite(
                "{0}, {1}. Formatted number: {2:N0}",
                &[json!("Hello"), json!("User"), json!(8175133)]
            )
            .unwrap(),
            "Hello, User. Formatted number: 8,175,133"
        );
        assert_eq!(format_composite("{0:000}", &[json!(7)]).unwrap(), "007");
        assert_eq!(format_composite("{0:D5}", &[json!(42)]).unwrap(), "00042");
        assert_eq!(format_composite("{0:X}", &[json!(255)]).unwrap(), "FF");
        assert_eq!(
            format_composite("{0:#,##0.00}", &[json!(1234.5)]).unwrap(),
            "1,234.50"
        );
        assert_eq!(
            format_composite("{{literal}} {0,5}|{0,-5}|", &[json!(1)]).unwrap(),
            "{literal}     1|1    |"
        );
        assert_eq!(
            format_composite("{0} {1}", &[json!(true), json!({"a": "b"})]).unwrap(),
            "True {'a':'b'}"
        );
        assert!(format_composite("{1}", &[json!(1)]).is_err());
        assert!(format_composite("{0", &[json!(1)]).is_err());
    }
}
