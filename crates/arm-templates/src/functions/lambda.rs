//! Lambda functions (Microsoft Learn: template-functions-lambda): `filter`, `map`, `reduce`, `sort`,
//! `toObject`, `groupBy`, `mapValues`. A `lambda('x', …, body)` is only valid as a direct argument
//! of these; its variables are read with `lambdaVariables('x')`.

use super::{expect_count, wrong_type};
use crate::error::{EvalResult, invalid};
use crate::evaluator::Evaluator;
use crate::expression::Expression;
use crate::value::display;
use serde_json::{Map, Value};

struct Lambda<'e> {
    variables: Vec<String>,
    body: &'e Expression,
}

fn lambda<'e>(
    function: &str,
    expression: &'e Expression,
    minimum: usize,
    maximum: usize,
) -> EvalResult<Lambda<'e>> {
    let Expression::Call { name, arguments } = expression else {
        return invalid(format!(
            "The template language function '{function}' expects a lambda expression argument."
        ));
    };
    if !name.eq_ignore_ascii_case("lambda") || arguments.is_empty() {
        return invalid(format!(
            "The template language function '{function}' expects a lambda expression argument."
        ));
    }
    let (body, names) = arguments.split_last().unwrap_or((&arguments[0], &[]));
    let mut variables = Vec::new();
    for name in names {
        let Expression::String(name) = name else {
            return invalid(
                "The lambda function expects its variable names to be string literals.",
            );
        };
        variables.push(name.clone());
    }
    if variables.len() < minimum || variables.len() > maximum {
        return invalid(format!(
            "The lambda passed to '{function}' must declare from '{minimum}' to '{maximum}' variable(s); it declares '{}'.",
            variables.len()
        ));
    }
    Ok(Lambda { variables, body })
}

fn apply(
    evaluator: &mut Evaluator<'_>,
    lambda: &Lambda<'_>,
    values: Vec<Value>,
) -> EvalResult<Value> {
    let pushed = lambda.variables.len().min(values.len());
    for (name, value) in lambda.variables.iter().zip(values) {
        evaluator.lambdas.push((name.clone(), value));
    }
    let result = evaluator.evaluate(lambda.body);
    for _ in 0..pushed {
        evaluator.lambdas.pop();
    }
    result
}

fn array(function: &str, value: Value) -> EvalResult<Vec<Value>> {
    match value {
        Value::Array(items) => Ok(items),
        other => wrong_type(function, 0, "Array", &other),
    }
}

pub(super) fn call(
    evaluator: &mut Evaluator<'_>,
    lower: &str,
    written: &str,
    arguments: &[Expression],
) -> EvalResult<Value> {
    match lower {
        "filter" | "map" | "sort" | "groupby" | "mapvalues" => {
            expect_count(written, arguments.len(), 2, 2)?
        }
        "reduce" => expect_count(written, arguments.len(), 3, 3)?,
        _ => expect_count(written, arguments.len(), 2, 3)?,
    }
    let input = evaluator.evaluate(&arguments[0])?;
    match lower {
        "filter" => {
            let predicate = lambda(written, &arguments[1], 1, 2)?;
            let mut kept = Vec::new();
            for (index, item) in array(written, input)?.into_iter().enumerate() {
                match apply(
                    evaluator,
                    &predicate,
                    vec![item.clone(), Value::from(index as i64)],
                )? {
                    Value::Bool(true) => kept.push(item),
                    Value::Bool(false) => {}
                    other => {
                        return invalid(format!(
                            "The lambda passed to 'filter' must return a Boolean; it returned a value of type '{}'.",
                            crate::value::type_name(&other)
                        ));
                    }
                }
            }
            Ok(Value::Array(kept))
        }
        "map" => {
            let mapper = lambda(written, &arguments[1], 1, 2)?;
            let mut mapped = Vec::new();
            for (index, item) in array(written, input)?.into_iter().enumerate() {
                mapped.push(apply(
                    evaluator,
                    &mapper,
                    vec![item, Value::from(index as i64)],
                )?);
            }
            Ok(Value::Array(mapped))
        }
        "reduce" => {
            let mut accumulator = evaluator.evaluate(&arguments[1])?;
            let reducer = lambda(written, &arguments[2], 2, 3)?;
            for (index, item) in array(written, input)?.into_iter().enumerate() {
                accumulator = apply(
                    evaluator,
                    &reducer,
                    vec![accumulator, item, Value::from(index as i64)],
                )?;
            }
            Ok(accumulator)
        }
        "sort" => {
            let comparer = lambda(written, &arguments[1], 2, 2)?;
            let items = array(written, input)?;
            // Insertion into a sorted list with the lambda as "a comes before b"; stable, and a
            // failure inside the lambda stops the sort with that failure.
            let mut sorted: Vec<Value> = Vec::with_capacity(items.len());
            for item in items {
                let mut position = sorted.len();
                while position > 0 {
                    let before = apply(
                        evaluator,
                        &comparer,
                        vec![item.clone(), sorted[position - 1].clone()],
                    )?;
                    if before == Value::Bool(true) {
                        position -= 1;
                    } else {
                        break;
                    }
                }
                sorted.insert(position, item);
            }
            Ok(Value::Array(sorted))
        }
        "toobject" => {
            let key = lambda(written, &arguments[1], 1, 1)?;
            let value = match arguments.get(2) {
                Some(argument) => Some(lambda(written, argument, 1, 1)?),
                None => None,
            };
            let mut object = Map::new();
            for item in array(written, input)? {
                let name = apply(evaluator, &key, vec![item.clone()])?;
                let Value::String(name) = name else {
                    return invalid(format!(
                        "The key lambda passed to 'toObject' must return a String; it returned a value of type '{}'.",
                        crate::value::type_name(&name)
                    ));
                };
                let entry = match &value {
                    Some(value) => apply(evaluator, value, vec![item])?,
                    None => item,
                };
                object.insert(name, entry);
            }
            Ok(Value::Object(object))
        }
        "groupby" => {
            let key = lambda(written, &arguments[1], 1, 1)?;
            let mut groups = Map::new();
            for item in array(written, input)? {
                let name = display(&apply(evaluator, &key, vec![item.clone()])?);
                if let Value::Array(members) = groups
                    .entry(name)
                    .or_insert_with(|| Value::Array(Vec::new()))
                {
                    members.push(item);
                }
            }
            Ok(Value::Object(groups))
        }
        _ => {
            let mapper = lambda(written, &arguments[1], 1, 1)?;
            let Value::Object(map) = input else {
                return wrong_type(written, 0, "Object", &input);
            };
            let mut mapped = Map::new();
            for (name, item) in map {
                let value = apply(evaluator, &mapper, vec![item])?;
                mapped.insert(name, value);
            }
            Ok(Value::Object(mapped))
        }
    }
}
