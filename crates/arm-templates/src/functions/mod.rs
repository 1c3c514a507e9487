//! The built-in function library and the one place calls are dispatched.
//!
//! Function names ignore case. A few functions are special forms that see their arguments
//! unevaluated (`if` evaluates only the branch taken; the lambda functions bind variables); the
//! rest evaluate their arguments first and are plain functions of values plus the evaluator's
//! context. Each family lives in its own module, named as Microsoft Learn groups them.

mod collections;
mod comparison;
mod dates;
mod deployment;
mod format;
mod lambda;
mod network;
mod numeric;
mod resources;
mod strings;

use crate::error::{EvalResult, Failure, invalid};
use crate::evaluator::Evaluator;
use crate::expression::Expression;
use crate::value::type_name;
use serde_json::{Map, Value};

/// Calls `name` with unevaluated `arguments`.
pub(crate) fn call(
    evaluator: &mut Evaluator<'_>,
    name: &str,
    arguments: &[Expression],
) -> EvalResult<Value> {
    let lower = name.to_ascii_lowercase();
    match lower.as_str() {
        "if" => return logical_if(evaluator, arguments),
        "filter" | "map" | "reduce" | "sort" | "toobject" | "groupby" | "mapvalues" => {
            return lambda::call(evaluator, &lower, name, arguments);
        }
        "lambda" => {
            return invalid(
                "The template function 'lambda' is not expected at this location: a lambda must be a direct argument of a lambda function (filter, map, reduce, sort, toObject, groupBy, mapValues).",
            );
        }
        _ => {}
    }
    let values = evaluator.evaluate_arguments(arguments)?;
    if lower.contains('.') && !lower.starts_with("sys.") {
        return evaluator.call_user_function(name, values);
    }
    let lower = lower.strip_prefix("sys.").unwrap_or(&lower);
    builtin(evaluator, lower, name, &values).map_err(|failure| match failure {
        Failure::Invalid(message) => {
            let canonical = canonical_name(lower);
            Failure::Invalid(message.replace(
                &format!("function '{lower}'"),
                &format!("function '{canonical}'"),
            ))
        }
        pending => pending,
    })
}

/// Every built-in function's name as Microsoft Learn spells it (messages use it).
const CANONICAL_NAMES: &[&str] = &[
    "array",
    "concat",
    "contains",
    "createArray",
    "createObject",
    "empty",
    "first",
    "last",
    "indexOf",
    "lastIndexOf",
    "intersection",
    "union",
    "length",
    "max",
    "min",
    "range",
    "skip",
    "take",
    "flatten",
    "items",
    "objectKeys",
    "json",
    "null",
    "shallowMerge",
    "tryGet",
    "indexFromEnd",
    "tryIndexFromEnd",
    "coalesce",
    "equals",
    "greater",
    "greaterOrEquals",
    "less",
    "lessOrEquals",
    "base64",
    "base64ToString",
    "base64ToJson",
    "dataUri",
    "dataUriToString",
    "endsWith",
    "startsWith",
    "guid",
    "uniqueString",
    "join",
    "padLeft",
    "replace",
    "split",
    "string",
    "substring",
    "toLower",
    "toUpper",
    "trim",
    "uri",
    "uriComponent",
    "uriComponentToString",
    "format",
    "add",
    "sub",
    "mul",
    "div",
    "mod",
    "float",
    "int",
    "and",
    "or",
    "not",
    "bool",
    "true",
    "false",
    "parseCidr",
    "cidrSubnet",
    "cidrHost",
    "utcNow",
    "newGuid",
    "dateTimeAdd",
    "dateTimeFromEpoch",
    "dateTimeToEpoch",
    "deployment",
    "environment",
    "parameters",
    "variables",
    "copyIndex",
    "lambdaVariables",
    "resourceGroup",
    "subscription",
    "tenant",
    "managementGroup",
    "resourceId",
    "subscriptionResourceId",
    "tenantResourceId",
    "managementGroupResourceId",
    "extensionResourceId",
    "reference",
    "references",
    "resourceInfo",
    "pickZones",
    "providers",
];

fn canonical_name(lower: &str) -> &str {
    CANONICAL_NAMES
        .iter()
        .find(|name| name.eq_ignore_ascii_case(lower))
        .copied()
        .unwrap_or(lower)
}

fn builtin(
    evaluator: &mut Evaluator<'_>,
    lower: &str,
    name: &str,
    values: &[Value],
) -> EvalResult<Value> {
    if let Some(result) = collections::call(lower, values)? {
        return Ok(result);
    }
    if let Some(result) = comparison::call(lower, values)? {
        return Ok(result);
    }
    if let Some(result) = strings::call(lower, values)? {
        return Ok(result);
    }
    if let Some(result) = numeric::call(lower, values)? {
        return Ok(result);
    }
    if let Some(result) = network::call(lower, values)? {
        return Ok(result);
    }
    if let Some(result) = dates::call(evaluator, lower, values)? {
        return Ok(result);
    }
    if let Some(result) = deployment::call(evaluator, lower, values)? {
        return Ok(result);
    }
    if let Some(result) = resources::call(evaluator, lower, name, values)? {
        return Ok(result);
    }
    invalid(format!(
        "The template function '{name}' is not valid. Please see https://aka.ms/arm-template-expressions for usage details."
    ))
}

fn logical_if(evaluator: &mut Evaluator<'_>, arguments: &[Expression]) -> EvalResult<Value> {
    expect_count("if", arguments.len(), 3, 3)?;
    let condition = evaluator.evaluate(&arguments[0])?;
    let Value::Bool(condition) = condition else {
        return wrong_type("if", 0, "Boolean", &condition);
    };
    evaluator.evaluate(&arguments[if condition { 1 } else { 2 }])
}

const ORDINALS: [&str; 6] = ["first", "second", "third", "fourth", "fifth", "sixth"];

/// Fails unless `count` is within `minimum..=maximum`.
pub(crate) fn expect_count(
    name: &str,
    count: usize,
    minimum: usize,
    maximum: usize,
) -> EvalResult<()> {
    if count >= minimum && count <= maximum {
        return Ok(());
    }
    let expectation = if minimum == maximum {
        format!("'{minimum}'")
    } else if maximum == usize::MAX {
        format!("at least '{minimum}'")
    } else {
        format!("from '{minimum}' to '{maximum}'")
    };
    invalid(format!(
        "The template language function '{name}' must have {expectation} parameter(s). The function was invoked with '{count}' parameter(s). Please see https://aka.ms/arm-template-expressions for usage details."
    ))
}

/// `The template language function 'f' expects its first parameter to be of type 'String'. …`
pub(crate) fn wrong_type<T>(
    name: &str,
    index: usize,
    expected: &str,
    actual: &Value,
) -> EvalResult<T> {
    let ordinal = ORDINALS.get(index).copied().unwrap_or("last");
    invalid(format!(
        "The template language function '{name}' expects its {ordinal} parameter to be of type '{expected}'. The provided value is of type '{}'. Please see https://aka.ms/arm-template-expressions for usage details.",
        type_name(actual)
    ))
}

pub(crate) fn string_at<'v>(name: &str, values: &'v [Value], index: usize) -> EvalResult<&'v str> {
    match &values[index] {
        Value::String(text) => Ok(text),
        other => wrong_type(name, index, "String", other),
    }
}

pub(crate) fn integer_at(name: &str, values: &[Value], index: usize) -> EvalResult<i64> {
    crate::value::as_integer(&values[index])
        .map_or_else(|| wrong_type(name, index, "Integer", &values[index]), Ok)
}

pub(crate) fn bool_at(name: &str, values: &[Value], index: usize) -> EvalResult<bool> {
    match &values[index] {
        Value::Bool(flag) => Ok(*flag),
        other => wrong_type(name, index, "Boolean", other),
    }
}

pub(crate) fn array_at<'v>(
    name: &str,
    values: &'v [Value],
    index: usize,
) -> EvalResult<&'v Vec<Value>> {
    match &values[index] {
        Value::Array(items) => Ok(items),
        other => wrong_type(name, index, "Array", other),
    }
}

pub(crate) fn object_at<'v>(
    name: &str,
    values: &'v [Value],
    index: usize,
) -> EvalResult<&'v Map<String, Value>> {
    match &values[index] {
        Value::Object(map) => Ok(map),
        other => wrong_type(name, index, "Object", other),
    }
}
