//! Array and object functions (Microsoft Learn: template-functions-array, template-functions-object),
//! plus the shared ones that also take strings (`contains`, `empty`, `first`, `length`, …).

use super::{array_at, expect_count, integer_at, object_at, string_at, wrong_type};
use crate::error::{EvalResult, invalid};
use crate::value::{deep_equal, display, find_key, type_name};
use serde_json::{Map, Value};

pub(super) fn call(name: &str, values: &[Value]) -> EvalResult<Option<Value>> {
    let count = values.len();
    let result = match name {
        "array" => {
            expect_count("array", count, 1, 1)?;
            match &values[0] {
                Value::Array(_) => values[0].clone(),
                other => Value::Array(vec![other.clone()]),
            }
        }
        "concat" => concat(values)?,
        "contains" => {
            expect_count("contains", count, 2, 2)?;
            Value::Bool(contains(&values[0], &values[1])?)
        }
        "createarray" => Value::Array(values.to_vec()),
        "createobject" => create_object(values)?,
        "empty" => {
            expect_count("empty", count, 1, 1)?;
            Value::Bool(match &values[0] {
                Value::Null => true,
                Value::String(text) => text.is_empty(),
                Value::Array(items) => items.is_empty(),
                Value::Object(map) => map.is_empty(),
                other => return wrong_type("empty", 0, "Array, Object or String", other),
            })
        }
        "first" | "last" => {
            expect_count(name, count, 1, 1)?;
            let first = name == "first";
            match &values[0] {
                Value::Array(items) => {
                    let item = if first { items.first() } else { items.last() };
                    item.cloned().unwrap_or(Value::Null)
                }
                Value::String(text) => {
                    let character = if first {
                        text.chars().next()
                    } else {
                        text.chars().last()
                    };
                    Value::String(character.map(String::from).unwrap_or_default())
                }
                Value::Null => Value::Null,
                other => return wrong_type(name, 0, "Array or String", other),
            }
        }
        "indexof" | "lastindexof" => {
            expect_count(name, count, 2, 2)?;
            let last = name == "lastindexof";
            match &values[0] {
                Value::Array(items) => {
                    let mut positions = items
                        .iter()
                        .enumerate()
                        .filter(|(_, item)| deep_equal(item, &values[1]))
                        .map(|(index, _)| index as i64);
                    let found = if last {
                        positions.next_back()
                    } else {
                        positions.next()
                    };
                    Value::from(found.unwrap_or(-1))
                }
                Value::String(_) => return Ok(None),
                other => return wrong_type(name, 0, "Array or String", other),
            }
        }
        "intersection" => intersection(values)?,
        "union" => union(values)?,
        "length" => {
            expect_count("length", count, 1, 1)?;
            Value::from(match &values[0] {
                Value::Null => 0,
                Value::String(text) => text.encode_utf16().count() as i64,
                Value::Array(items) => items.len() as i64,
                Value::Object(map) => map.len() as i64,
                other => {
                    return invalid(format!(
                        "The template language function 'length' expects its parameter to be an array, an object, or a string. The provided value is of type '{}'.",
                        type_name(other)
                    ));
                }
            })
        }
        "max" | "min" => extreme(name, values)?,
        "range" => {
            expect_count("range", count, 2, 2)?;
            let start = integer_at("range", values, 0)?;
            let length = integer_at("range", values, 1)?;
            if !(0..=10_000).contains(&length) {
                return invalid(
                    "The template language function 'range' expects its second parameter to be a non-negative integer no greater than '10000'.",
                );
            }
            if start
                .checked_add(length)
                .is_none_or(|end| end > i64::from(i32::MAX) + 1)
            {
                return invalid(
                    "The template language function 'range' expects the sum of its parameters to be no greater than '2147483647'.",
                );
            }
            Value::Array((start..start + length).map(Value::from).collect())
        }
        "skip" | "take" => {
            expect_count(name, count, 2, 2)?;
            let amount = integer_at(name, values, 1)?.max(0) as usize;
            let skip = name == "skip";
            match &values[0] {
                Value::Array(items) => {
                    let split = amount.min(items.len());
                    Value::Array(if skip {
                        items[split..].to_vec()
                    } else {
                        items[..split].to_vec()
                    })
                }
                Value::String(text) => Value::String(if skip {
                    text.chars().skip(amount).collect()
                } else {
                    text.chars().take(amount).collect()
                }),
                other => return wrong_type(name, 0, "Array or String", other),
            }
        }
        "flatten" => {
            expect_count("flatten", count, 1, 1)?;
            let mut result = Vec::new();
            for item in array_at("flatten", values, 0)? {
                match item {
                    Value::Array(inner) => result.extend(inner.iter().cloned()),
                    other => return wrong_type("flatten", 0, "Array of arrays", other),
                }
            }
            Value::Array(result)
        }
        "items" => {
            expect_count("items", count, 1, 1)?;
            let map = object_at("items", values, 0)?;
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by_key(|key| key.to_ascii_lowercase());
            Value::Array(
                keys.into_iter()
                    .map(|key| serde_json::json!({"key": key, "value": map[key]}))
                    .collect(),
            )
        }
        "objectkeys" => {
            expect_count("objectKeys", count, 1, 1)?;
            let map = object_at("objectKeys", values, 0)?;
            Value::Array(map.keys().map(|key| Value::String(key.clone())).collect())
        }
        "json" => {
            expect_count("json", count, 1, 1)?;
            let text = string_at("json", values, 0)?;
            crate::jsonc::parse_value(text).or_else(|error| {
                invalid(format!(
                    "The template language function 'json' expects a valid JSON string; parsing failed: {error}"
                ))
            })?
        }
        "null" => {
            expect_count("null", count, 0, 0)?;
            Value::Null
        }
        "shallowmerge" => {
            expect_count("shallowMerge", count, 1, 1)?;
            let mut merged = Map::new();
            for item in array_at("shallowMerge", values, 0)? {
                match item {
                    Value::Object(map) => merged.extend(map.clone()),
                    other => return wrong_type("shallowMerge", 0, "Array of objects", other),
                }
            }
            Value::Object(merged)
        }
        "tryget" => {
            expect_count("tryGet", count, 2, usize::MAX)?;
            let mut current = values[0].clone();
            for key in &values[1..] {
                current = match (&current, key) {
                    (Value::Object(map), Value::String(name)) => {
                        crate::value::get_property(map, name)
                            .cloned()
                            .unwrap_or(Value::Null)
                    }
                    (Value::Array(items), Value::Number(_)) => crate::value::as_integer(key)
                        .filter(|index| *index >= 0)
                        .and_then(|index| items.get(index as usize).cloned())
                        .unwrap_or(Value::Null),
                    _ => Value::Null,
                };
            }
            current
        }
        "indexfromend" | "tryindexfromend" => {
            expect_count(name, count, 2, 2)?;
            let items = array_at(name, values, 0)?;
            let position = integer_at(name, values, 1)?;
            if position >= 1 && position as u64 <= items.len() as u64 {
                items[items.len() - position as usize].clone()
            } else if name == "tryindexfromend" {
                Value::Null
            } else {
                return invalid(format!(
                    "The language expression property array index '{position}' is out of bounds."
                ));
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(result))
}

fn concat(values: &[Value]) -> EvalResult<Value> {
    expect_count("concat", values.len(), 1, usize::MAX)?;
    if values
        .iter()
        .all(|value| value.is_array() || value.is_null())
        && values.iter().any(Value::is_array)
    {
        let mut items = Vec::new();
        for value in values {
            if let Value::Array(inner) = value {
                items.extend(inner.iter().cloned());
            }
        }
        return Ok(Value::Array(items));
    }
    let mut text = String::new();
    for (index, value) in values.iter().enumerate() {
        match value {
            Value::Array(_) | Value::Object(_) => {
                return wrong_type("concat", index, "String, Integer or Boolean", value);
            }
            other => text.push_str(&display(other)),
        }
    }
    Ok(Value::String(text))
}

pub(super) fn contains(container: &Value, item: &Value) -> EvalResult<bool> {
    Ok(match container {
        Value::String(text) => text.contains(display(item).as_str()),
        Value::Object(map) => match item {
            Value::String(key) => find_key(map, key).is_some(),
            other => map.contains_key(&display(other)),
        },
        Value::Array(items) => items.iter().any(|candidate| deep_equal(candidate, item)),
        Value::Null => false,
        other => return wrong_type("contains", 0, "Array, Object or String", other),
    })
}

fn create_object(values: &[Value]) -> EvalResult<Value> {
    if !values.len().is_multiple_of(2) {
        return invalid(
            "The template language function 'createObject' must have an even number of parameters.",
        );
    }
    let mut map = Map::new();
    for (index, pair) in values.chunks(2).enumerate() {
        let Value::String(key) = &pair[0] else {
            return wrong_type("createObject", index * 2, "String", &pair[0]);
        };
        map.insert(key.clone(), pair[1].clone());
    }
    Ok(Value::Object(map))
}

fn intersection(values: &[Value]) -> EvalResult<Value> {
    expect_count("intersection", values.len(), 2, usize::MAX)?;
    match &values[0] {
        Value::Array(first) => {
            let mut result: Vec<Value> = Vec::new();
            for (index, other) in values.iter().enumerate().skip(1) {
                if !other.is_array() {
                    return wrong_type("intersection", index, "Array", other);
                }
            }
            for item in first {
                let everywhere = values[1..].iter().all(|other| {
                    other.as_array().is_some_and(|items| {
                        items.iter().any(|candidate| deep_equal(candidate, item))
                    })
                });
                if everywhere && !result.iter().any(|kept| deep_equal(kept, item)) {
                    result.push(item.clone());
                }
            }
            Ok(Value::Array(result))
        }
        Value::Object(first) => {
            let mut result = Map::new();
            for (index, other) in values.iter().enumerate().skip(1) {
                if !other.is_object() {
                    return wrong_type("intersection", index, "Object", other);
                }
            }
            for (key, item) in first {
                let everywhere = values[1..].iter().all(|other| {
                    other
                        .as_object()
                        .and_then(|map| map.get(key))
                        .is_some_and(|candidate| deep_equal(candidate, item))
                });
                if everywhere {
                    result.insert(key.clone(), item.clone());
                }
            }
            Ok(Value::Object(result))
        }
        other => wrong_type("intersection", 0, "Array or Object", other),
    }
}

fn union(values: &[Value]) -> EvalResult<Value> {
    expect_count("union", values.len(), 1, usize::MAX)?;
    match &values[0] {
        Value::Array(_) => {
            let mut result: Vec<Value> = Vec::new();
            for (index, value) in values.iter().enumerate() {
                let Value::Array(items) = value else {
                    return wrong_type("union", index, "Array", value);
                };
                for item in items {
                    if !result.iter().any(|kept| deep_equal(kept, item)) {
                        result.push(item.clone());
                    }
                }
            }
            Ok(Value::Array(result))
        }
        Value::Object(_) => {
            let mut result = Map::new();
            for (index, value) in values.iter().enumerate() {
                let Value::Object(map) = value else {
                    return wrong_type("union", index, "Object", value);
                };
                merge_objects(&mut result, map);
            }
            Ok(Value::Object(result))
        }
        other => wrong_type("union", 0, "Array or Object", other),
    }
}

/// Later keys win; nested objects merge recursively; anything else (arrays included) is replaced.
fn merge_objects(target: &mut Map<String, Value>, source: &Map<String, Value>) {
    for (key, value) in source {
        match (target.get_mut(key), value) {
            (Some(Value::Object(existing)), Value::Object(incoming)) => {
                merge_objects(existing, incoming)
            }
            _ => {
                target.insert(key.clone(), value.clone());
            }
        }
    }
}

fn extreme(name: &str, values: &[Value]) -> EvalResult<Value> {
    expect_count(name, values.len(), 1, usize::MAX)?;
    let items: &[Value] = match &values[0] {
        Value::Array(items) if values.len() == 1 => items,
        _ => values,
    };
    if items.is_empty() {
        return invalid(format!(
            "The template language function '{name}' expects at least one value."
        ));
    }
    let mut best: Option<i64> = None;
    for item in items {
        let Some(number) = crate::value::as_integer(item) else {
            return wrong_type(name, 0, "Integer", item);
        };
        best = Some(match best {
            None => number,
            Some(current) if name == "max" => current.max(number),
            Some(current) => current.min(number),
        });
    }
    Ok(Value::from(best.unwrap_or_default()))
}
