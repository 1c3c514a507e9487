//! How template values behave: their type names, text forms, equality and property lookup.
//!
//! Values are `serde_json::Value`, as the runner sends and receives them. Azure's rules that differ
//! from plain JSON live here once: type names in messages (`String`, `Integer`, `Boolean`, …),
//! booleans printed as `True`/`False`, objects and arrays printed as compact JSON, property names
//! matched exactly first and then ignoring case, numbers equal across integer and float.

use crate::error::{EvalResult, invalid};
use serde_json::{Map, Value};

/// The name Azure uses for a value's type in messages.
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "Null",
        Value::Bool(_) => "Boolean",
        Value::Number(number) if number.is_i64() || number.is_u64() => "Integer",
        Value::Number(_) => "Float",
        Value::String(_) => "String",
        Value::Array(_) => "Array",
        Value::Object(_) => "Object",
    }
}

/// The text a value becomes in `concat`, `format` and `string`.
pub fn display(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Bool(true) => "True".to_string(),
        Value::Bool(false) => "False".to_string(),
        Value::Number(number) => number.to_string(),
        Value::String(text) => text.clone(),
        Value::Array(_) | Value::Object(_) => value.to_string(),
    }
}

/// Azure's deep equality: strings ordinal, numbers by value, objects by key and value.
pub fn deep_equal(left: &Value, right: &Value) -> bool {
    match (left, right) {
        (Value::Number(a), Value::Number(b)) => match (a.as_i64(), b.as_i64()) {
            (Some(a), Some(b)) => a == b,
            _ => a.as_f64() == b.as_f64(),
        },
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| deep_equal(x, y))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(key, x)| b.get(key).is_some_and(|y| deep_equal(x, y)))
        }
        _ => left == right,
    }
}

/// A property of an object: exact case first, then ignoring case.
pub fn get_property<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    map.get(name).or_else(|| {
        map.iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    })
}

/// The key of an object that matches `name`, exact case first, then ignoring case.
pub fn find_key(map: &Map<String, Value>, name: &str) -> Option<String> {
    if map.contains_key(name) {
        return Some(name.to_string());
    }
    map.keys()
        .find(|key| key.eq_ignore_ascii_case(name))
        .cloned()
}

/// `value.name` as the expression language resolves it.
pub fn access_property(value: &Value, name: &str) -> EvalResult<Value> {
    match value {
        Value::Object(map) => match get_property(map, name) {
            Some(found) => Ok(found.clone()),
            None => {
                let available: Vec<&str> = map.keys().map(String::as_str).collect();
                invalid(format!(
                    "The language expression property '{name}' doesn't exist, available properties are '{}'.",
                    available.join(", ")
                ))
            }
        },
        _ => invalid(format!(
            "The language expression property '{name}' can't be evaluated, the property '{name}' is not an object property of a value of type '{}'.",
            type_name(value)
        )),
    }
}

/// `value[index]` as the expression language resolves it.
pub fn access_index(value: &Value, index: &Value) -> EvalResult<Value> {
    match (value, index) {
        (Value::Array(items), Value::Number(number)) => {
            let Some(position) = number.as_i64() else {
                return invalid(format!(
                    "The language expression property array index '{number}' is not valid."
                ));
            };
            if position < 0 || position as u64 >= items.len() as u64 {
                return invalid(format!(
                    "The language expression property array index '{position}' is out of bounds."
                ));
            }
            Ok(items[position as usize].clone())
        }
        (Value::Object(_), Value::String(name)) => access_property(value, name),
        (Value::Array(_), other) | (Value::Object(_), other) => invalid(format!(
            "The language expression property '{}' can't be evaluated, the index of type '{}' is not valid for a value of type '{}'.",
            display(other),
            type_name(other),
            type_name(value)
        )),
        (_, other) => invalid(format!(
            "The language expression property '{}' can't be evaluated.",
            display(other)
        )),
    }
}

/// An integer value, or `None` for anything else (floats with no fraction count as integers).
pub fn as_integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number.as_i64().or_else(|| {
            number
                .as_f64()
                .filter(|float| float.fract() == 0.0 && float.abs() < 9.2e18)
                .map(|float| float as i64)
        }),
        _ => None,
    }
}

/// Compact JSON with `"` replaced by `'`, as `format` prints arrays and objects.
pub fn format_argument(value: &Value) -> String {
    match value {
        Value::Array(_) | Value::Object(_) => value.to_string().replace('"', "'"),
        other => display(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lookups_and_text_forms() {
        let object = json!({"Name": "a", "name": "b", "Other": 1});
        assert_eq!(access_property(&object, "name").unwrap(), json!("b"));
        assert_eq!(access_property(&object, "other").unwrap(), json!(1));
        assert!(access_property(&object, "missing").is_err());
        assert_eq!(display(&json!(true)), "True");
        assert_eq!(display(&json!({"a": [1]})), "{\"a\":[1]}");
        assert!(deep_equal(&json!(1), &json!(1.0)));
        assert!(!deep_equal(&json!("a"), &json!("A")));
        assert!(access_index(&json!([1, 2]), &json!(2)).is_err());
        assert_eq!(access_index(&json!([1, 2]), &json!(1)).unwrap(), json!(2));
    }
}
