//! Comparison functions (Microsoft Learn: template-functions-comparison): `coalesce`, `equals`,
//! `greater`, `greaterOrEquals`, `less`, `lessOrEquals`. Strings compare ordinally, numbers by value.

use super::{expect_count, wrong_type};
use crate::error::EvalResult;
use crate::value::deep_equal;
use serde_json::Value;
use std::cmp::Ordering;

pub(super) fn call(name: &str, values: &[Value]) -> EvalResult<Option<Value>> {
    let result = match name {
        "coalesce" => {
            expect_count("coalesce", values.len(), 1, usize::MAX)?;
            values
                .iter()
                .find(|value| !value.is_null())
                .cloned()
                .unwrap_or(Value::Null)
        }
        "equals" => {
            expect_count("equals", values.len(), 2, 2)?;
            Value::Bool(deep_equal(&values[0], &values[1]))
        }
        "greater" | "greaterorequals" | "less" | "lessorequals" => {
            expect_count(name, values.len(), 2, 2)?;
            let ordering = compare(name, &values[0], &values[1])?;
            Value::Bool(match name {
                "greater" => ordering == Ordering::Greater,
                "greaterorequals" => ordering != Ordering::Less,
                "less" => ordering == Ordering::Less,
                _ => ordering != Ordering::Greater,
            })
        }
        _ => return Ok(None),
    };
    Ok(Some(result))
}

fn compare(name: &str, left: &Value, right: &Value) -> EvalResult<Ordering> {
    match (left, right) {
        (Value::String(a), Value::String(b)) => Ok(a.cmp(b)),
        (Value::Number(a), Value::Number(b)) => Ok(match (a.as_i64(), b.as_i64()) {
            (Some(a), Some(b)) => a.cmp(&b),
            _ => a
                .as_f64()
                .partial_cmp(&b.as_f64())
                .unwrap_or(Ordering::Equal),
        }),
        (Value::String(_) | Value::Number(_), other) => {
            wrong_type(name, 1, crate::value::type_name(left), other)
        }
        (other, _) => wrong_type(name, 0, "Integer or String", other),
    }
}
