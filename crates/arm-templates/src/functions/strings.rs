//! String functions (Microsoft Learn: template-functions-string). `indexOf`, `lastIndexOf`,
//! `startsWith` and `endsWith` ignore case; `contains` and `replace` do not; `split` keeps empty
//! parts; `string` prints booleans as `True`/`False` and objects/arrays as compact JSON.

use super::{array_at, expect_count, integer_at, string_at, wrong_type};
use crate::error::{EvalResult, invalid};
use crate::hashing;
use crate::value::display;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

pub(super) fn call(name: &str, values: &[Value]) -> EvalResult<Option<Value>> {
    let count = values.len();
    let text = |index: usize| string_at(name, values, index);
    let result = match name {
        "base64" => {
            expect_count("base64", count, 1, 1)?;
            Value::String(STANDARD.encode(text(0)?))
        }
        "base64tostring" | "base64tojson" => {
            expect_count(name, count, 1, 1)?;
            let bytes = STANDARD.decode(text(0)?.trim()).or_else(|_| {
                invalid(format!(
                    "The template language function '{name}' expects its parameter to be a valid base64 string."
                ))
            })?;
            let decoded = String::from_utf8_lossy(&bytes).into_owned();
            if name == "base64tostring" {
                Value::String(decoded)
            } else {
                crate::jsonc::parse_value(&decoded).or_else(|error| {
                    invalid(format!("The template language function 'base64ToJson' could not parse JSON: {error}"))
                })?
            }
        }
        "datauri" => {
            expect_count("dataUri", count, 1, 1)?;
            Value::String(format!(
                "data:text/plain;charset=utf8;base64,{}",
                STANDARD.encode(display(&values[0]))
            ))
        }
        "datauritostring" => {
            expect_count("dataUriToString", count, 1, 1)?;
            Value::String(data_uri_to_string(text(0)?)?)
        }
        "endswith" | "startswith" => {
            expect_count(name, count, 2, 2)?;
            let haystack = text(0)?.to_lowercase();
            let needle = text(1)?.to_lowercase();
            Value::Bool(if name == "endswith" {
                haystack.ends_with(&needle)
            } else {
                haystack.starts_with(&needle)
            })
        }
        "indexof" | "lastindexof" => {
            expect_count(name, count, 2, 2)?;
            let haystack: Vec<char> = text(0)?.to_lowercase().chars().collect();
            let needle: Vec<char> = text(1)?.to_lowercase().chars().collect();
            Value::from(find(&haystack, &needle, name == "lastindexof"))
        }
        "guid" | "uniquestring" => {
            expect_count(name, count, 1, usize::MAX)?;
            let parts = (0..count).map(text).collect::<EvalResult<Vec<&str>>>()?;
            Value::String(if name == "guid" {
                hashing::guid(&parts)
            } else {
                hashing::unique_string(&parts)
            })
        }
        "join" => {
            expect_count("join", count, 2, 2)?;
            let items = array_at("join", values, 0)?;
            let delimiter = text(1)?;
            let mut parts = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::Array(_) | Value::Object(_) => {
                        return wrong_type("join", 0, "Array of strings", item);
                    }
                    other => parts.push(display(other)),
                }
            }
            Value::String(parts.join(delimiter))
        }
        "padleft" => {
            expect_count("padLeft", count, 2, 3)?;
            let original = match &values[0] {
                Value::String(text) => text.clone(),
                Value::Number(number) => number.to_string(),
                other => return wrong_type("padLeft", 0, "String or Integer", other),
            };
            let width = integer_at("padLeft", values, 1)?;
            if !(0..=16_384).contains(&width) {
                return invalid(
                    "The template language function 'padLeft' expects its second parameter to be between '0' and '16384'.",
                );
            }
            let padding = if count == 3 { text(2)? } else { " " };
            let mut characters = padding.chars();
            let (Some(pad), None) = (characters.next(), characters.next()) else {
                return invalid(
                    "The template language function 'padLeft' expects its third parameter to be a single character.",
                );
            };
            let length = original.chars().count();
            let mut padded: String =
                std::iter::repeat_n(pad, (width as usize).saturating_sub(length)).collect();
            padded.push_str(&original);
            Value::String(padded)
        }
        "replace" => {
            expect_count("replace", count, 3, 3)?;
            let old = text(1)?;
            if old.is_empty() {
                return invalid(
                    "The template language function 'replace' expects its second parameter to be a non-empty string.",
                );
            }
            Value::String(text(0)?.replace(old, text(2)?))
        }
        "split" => {
            expect_count("split", count, 2, 2)?;
            let source = text(0)?;
            let delimiters: Vec<String> = match &values[1] {
                Value::String(delimiter) => vec![delimiter.clone()],
                Value::Array(items) => items
                    .iter()
                    .map(|item| match item {
                        Value::String(delimiter) => Ok(delimiter.clone()),
                        other => wrong_type("split", 1, "String", other),
                    })
                    .collect::<EvalResult<_>>()?,
                other => return wrong_type("split", 1, "String or Array", other),
            };
            Value::Array(
                split(source, &delimiters)
                    .into_iter()
                    .map(Value::String)
                    .collect(),
            )
        }
        "string" => {
            expect_count("string", count, 1, 1)?;
            Value::String(display(&values[0]))
        }
        "substring" => {
            expect_count("substring", count, 2, 3)?;
            let source: Vec<u16> = text(0)?.encode_utf16().collect();
            let start = integer_at("substring", values, 1)?;
            let length = if count == 3 {
                integer_at("substring", values, 2)?
            } else {
                source.len() as i64 - start
            };
            if start < 0 || length < 0 || start.saturating_add(length) > source.len() as i64 {
                return invalid(format!(
                    "The index and length parameters must refer to a location within the string. The index parameter: '{start}', the length parameter: '{length}', the length of the string parameter: '{}'. Please see https://aka.ms/arm-template-expressions for usage details.",
                    source.len()
                ));
            }
            Value::String(String::from_utf16_lossy(
                &source[start as usize..(start + length) as usize],
            ))
        }
        "tolower" => {
            expect_count("toLower", count, 1, 1)?;
            Value::String(text(0)?.to_lowercase())
        }
        "toupper" => {
            expect_count("toUpper", count, 1, 1)?;
            Value::String(text(0)?.to_uppercase())
        }
        "trim" => {
            expect_count("trim", count, 1, 1)?;
            Value::String(text(0)?.trim().to_string())
        }
        "uri" => {
            expect_count("uri", count, 2, 2)?;
            Value::String(resolve_uri(text(0)?, text(1)?)?)
        }
        "uricomponent" => {
            expect_count("uriComponent", count, 1, 1)?;
            Value::String(escape_data_string(text(0)?))
        }
        "uricomponenttostring" => {
            expect_count("uriComponentToString", count, 1, 1)?;
            Value::String(unescape(text(0)?))
        }
        "format" => {
            expect_count("format", count, 1, usize::MAX)?;
            Value::String(super::format::format_composite(text(0)?, &values[1..])?)
        }
        _ => return Ok(None),
    };
    Ok(Some(result))
}

fn find(haystack: &[char], needle: &[char], last: bool) -> i64 {
    if needle.is_empty() {
        return if last { haystack.len() as i64 - 1 } else { 0 }.max(0);
    }
    if needle.len() > haystack.len() {
        return -1;
    }
    let mut positions = (0..=haystack.len() - needle.len())
        .filter(|start| haystack[*start..*start + needle.len()] == *needle);
    let found = if last {
        positions.next_back()
    } else {
        positions.next()
    };
    found.map_or(-1, |position| position as i64)
}

fn split(source: &str, delimiters: &[String]) -> Vec<String> {
    let delimiters: Vec<&String> = delimiters
        .iter()
        .filter(|delimiter| !delimiter.is_empty())
        .collect();
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut rest = source;
    'outer: while !rest.is_empty() {
        for delimiter in &delimiters {
            if let Some(after) = rest.strip_prefix(delimiter.as_str()) {
                parts.push(std::mem::take(&mut current));
                rest = after;
                continue 'outer;
            }
        }
        let mut characters = rest.chars();
        if let Some(character) = characters.next() {
            current.push(character);
        }
        rest = characters.as_str();
    }
    parts.push(current);
    parts
}

/// .NET `Uri.EscapeDataString`: everything but RFC 3986 unreserved characters is percent-encoded.
pub(crate) fn escape_data_string(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            escaped.push(byte as char);
        } else {
            escaped.push_str(&format!("%{byte:02X}"));
        }
    }
    escaped
}

fn unescape(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%'
            && let Some(byte) = text
                .get(index + 1..index + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            decoded.push(byte);
            index += 3;
            continue;
        }
        decoded.push(bytes[index]);
        index += 1;
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

fn data_uri_to_string(uri: &str) -> EvalResult<String> {
    let Some(rest) = uri.strip_prefix("data:") else {
        return invalid(
            "The template language function 'dataUriToString' expects its parameter to be a valid data URI.",
        );
    };
    let Some((metadata, data)) = rest.split_once(',') else {
        return invalid(
            "The template language function 'dataUriToString' expects its parameter to be a valid data URI.",
        );
    };
    if metadata.to_ascii_lowercase().ends_with(";base64") {
        let bytes = STANDARD.decode(data).or_else(|_| {
            invalid("The template language function 'dataUriToString' expects its parameter to be a valid data URI.")
        })?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    } else {
        Ok(unescape(data))
    }
}

/// `uri(base, relative)`: RFC 3986 reference resolution, as .NET's `new Uri(baseUri, relative)`.
fn resolve_uri(base: &str, relative: &str) -> EvalResult<String> {
    let base = url::Url::parse(base).or_else(|_| {
        invalid(format!(
            "The template language function 'uri' expects its first parameter to be an absolute URI. The provided value is '{base}'."
        ))
    })?;
    let joined = base.join(relative).or_else(|_| {
        invalid(format!(
            "The template language function 'uri' could not combine '{base}' with '{relative}'."
        ))
    })?;
    Ok(joined.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_keeps_empty_parts() {
        assert_eq!(split("a,,b", &[",".into()]), vec!["a", "", "b"]);
        assert_eq!(
            split("one;two,three", &[";".into(), ",".into()]),
            vec!["one", "two", "three"]
        );
        assert_eq!(split("", &[",".into()]), vec![""]);
    }

    #[test]
    fn escapes_like_dotnet() {
        assert_eq!(
            escape_data_string("http://contoso.com/resources/nested/azuredeploy.json"),
            "http%3A%2F%2Fcontoso.com%2Fresources%2Fnested%2Fazuredeploy.json"
        );
        assert_eq!(unescape("http%3A%2F%2Fcontoso.com"), "http://contoso.com");
        assert_eq!(
            resolve_uri("http://contoso.com/resources/", "nested/azuredeploy.json").unwrap(),
            "http://contoso.com/resources/nested/azuredeploy.json"
        );
    }
}
