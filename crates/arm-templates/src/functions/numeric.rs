//! Numeric and logical functions (Microsoft Learn: template-functions-numeric,
//! template-functions-logical). Integers are 64-bit; overflow and division by zero are errors.

use super::{bool_at, expect_count, integer_at, string_at, wrong_type};
use crate::error::{EvalResult, invalid};
use serde_json::{Number, Value};

pub(super) fn call(name: &str, values: &[Value]) -> EvalResult<Option<Value>> {
    let count = values.len();
    let result = match name {
        "add" | "sub" | "mul" | "div" | "mod" => {
            expect_count(name, count, 2, 2)?;
            let left = integer_at(name, values, 0)?;
            let right = integer_at(name, values, 1)?;
            if matches!(name, "div" | "mod") && right == 0 {
                return invalid(format!(
                    "The template language function '{name}' failed: Attempted to divide by zero."
                ));
            }
            let result = match name {
                "add" => left.checked_add(right),
                "sub" => left.checked_sub(right),
                "mul" => left.checked_mul(right),
                "div" => left.checked_div(right),
                _ => left.checked_rem(right),
            };
            match result {
                Some(result) => Value::from(result),
                None => {
                    return invalid(format!(
                        "The template language function '{name}' failed: Arithmetic operation resulted in an overflow."
                    ));
                }
            }
        }
        "float" => {
            expect_count("float", count, 1, 1)?;
            let float = match &values[0] {
                Value::Number(number) => number.as_f64().unwrap_or_default(),
                Value::String(text) => text.trim().parse::<f64>().or_else(|_| {
                    invalid(format!("The template language function 'float' could not convert '{text}' to a number."))
                })?,
                other => return wrong_type("float", 0, "String or Integer", other),
            };
            Number::from_f64(float)
                .map(Value::Number)
                .unwrap_or(Value::Null)
        }
        "int" => {
            expect_count("int", count, 1, 1)?;
            match &values[0] {
                Value::Number(number) => match number.as_i64() {
                    Some(integer) => Value::from(integer),
                    None => Value::from(number.as_f64().unwrap_or_default().trunc() as i64),
                },
                Value::String(text) => Value::from(text.trim().parse::<i64>().or_else(|_| {
                    invalid(format!(
                        "The template language function 'int' expects its parameter to be a string that represents an integer. The provided value is '{text}'."
                    ))
                })?),
                other => return wrong_type("int", 0, "String or Integer", other),
            }
        }
        "and" | "or" => {
            expect_count(name, count, 2, usize::MAX)?;
            let flags = (0..count)
                .map(|index| bool_at(name, values, index))
                .collect::<EvalResult<Vec<bool>>>()?;
            Value::Bool(if name == "and" {
                flags.iter().all(|flag| *flag)
            } else {
                flags.iter().any(|flag| *flag)
            })
        }
        "not" => {
            expect_count("not", count, 1, 1)?;
            Value::Bool(!bool_at("not", values, 0)?)
        }
        "bool" => {
            expect_count("bool", count, 1, 1)?;
            match &values[0] {
                Value::Bool(flag) => Value::Bool(*flag),
                Value::Number(number) => Value::Bool(number.as_f64() != Some(0.0)),
                Value::String(_) => {
                    let text = string_at("bool", values, 0)?;
                    if text.eq_ignore_ascii_case("true") {
                        Value::Bool(true)
                    } else if text.eq_ignore_ascii_case("false") {
                        Value::Bool(false)
                    } else {
                        return invalid(format!(
                            "The template language function 'bool' expects its parameter to be 'true' or 'false'. The provided value is '{text}'."
                        ));
                    }
                }
                other => return wrong_type("bool", 0, "Boolean, Integer or String", other),
            }
        }
        "true" | "false" => {
            expect_count(name, count, 0, 0)?;
            Value::Bool(name == "true")
        }
        _ => return Ok(None),
    };
    Ok(Some(result))
}
