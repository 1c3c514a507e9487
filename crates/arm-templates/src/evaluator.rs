//! Evaluates expressions and template values against a [`World`].
//!
//! The evaluator knows the syntax tree and the rules of *where* things may be used (the [`Phase`]:
//! `reference()` only in resource bodies and outputs, `utcNow()` only in parameter defaults, …),
//! the copy-loop frames (`copyIndex`), lambda variables and user-function arguments. What names
//! mean (parameters, variables, template resources, deployed state) is asked of the [`World`]:
//! the preparation of a plan and the plan itself are the two worlds.

use crate::context::{DeployedState, DeploymentContext};
use crate::error::{EvalResult, Failure, invalid};
use crate::expression::{self, Expression, StringKind};
use crate::functions;
use crate::template::UserFunction;
use crate::value;
use serde_json::{Map, Value};

/// Where an expression stands, which decides the functions it may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// A parameter's `defaultValue` (the only place for `utcNow` and `newGuid`).
    ParameterDefault,
    /// A variable's value (no `reference`/`list*`).
    Variables,
    /// A resource's name, type, apiVersion, location, condition, copy count, dependsOn.
    ResourceHeader,
    /// A resource's body, evaluated just before its PUT.
    ResourceBody,
    /// An output's value and condition.
    Outputs,
    /// The body of a user-defined function.
    UserFunction,
}

/// What the evaluator resolves a template resource name to (`reference`, `references`, `resourceInfo`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ResourceTarget {
    pub resource_id: String,
    pub api_version: String,
    pub resource_type: String,
    pub name: String,
    pub condition: Option<bool>,
    pub existing: bool,
}

/// The names an expression can see.
pub(crate) trait World {
    fn context(&self) -> &DeploymentContext;
    fn parameter(&self, name: &str) -> EvalResult<Value>;
    fn variable(&self, name: &str) -> EvalResult<Value>;
    fn user_function(&self, name: &str) -> Option<&UserFunction>;
    /// `deployment()`.
    fn deployment(&self) -> Value;
    /// A template resource by name, full name or symbolic name; `None` if the template has none.
    fn template_resource(&self, name: &str) -> Option<ResourceTarget>;
    /// The instances of a resource copy loop (or symbolic name of a looped resource), in order.
    fn copy_instances(&self, name: &str) -> Option<Vec<ResourceTarget>>;
    /// The deployed world, when evaluating at deployment time.
    fn state(&self) -> Option<&dyn DeployedState>;
    /// The next `newGuid()` value.
    fn new_guid(&self) -> String;
}

/// One copy-loop frame: the loop's name (lower case; empty for a resource or output loop) and index.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CopyFrame {
    pub name: String,
    pub index: i64,
}

pub(crate) struct Evaluator<'w> {
    pub world: &'w dyn World,
    pub phase: Phase,
    pub copies: Vec<CopyFrame>,
    pub lambdas: Vec<(String, Value)>,
    /// Inside a user function: its arguments, which `parameters()` reads.
    pub function_arguments: Option<Vec<(String, Value)>>,
    pub depth: usize,
}

const MAX_CALL_DEPTH: usize = 64;

impl<'w> Evaluator<'w> {
    pub fn new(world: &'w dyn World, phase: Phase) -> Self {
        Evaluator {
            world,
            phase,
            copies: Vec::new(),
            lambdas: Vec::new(),
            function_arguments: None,
            depth: 0,
        }
    }

    pub fn with_copies(mut self, copies: Vec<CopyFrame>) -> Self {
        self.copies = copies;
        self
    }

    /// Evaluates a template string: an expression, or a literal (with `[[` unescaped).
    pub fn evaluate_string(&mut self, text: &str) -> EvalResult<Value> {
        match expression::classify(text) {
            StringKind::Literal(literal) => Ok(Value::String(literal.into_owned())),
            StringKind::Expression(source) => {
                let parsed = expression::parse_for_evaluation(source)?;
                self.evaluate(&parsed)
            }
        }
    }

    /// Evaluates a template value: strings as above, arrays and objects element by element, with
    /// property copy loops (`"copy": [{name, count, input}]`) expanded.
    pub fn evaluate_value(&mut self, value: &Value) -> EvalResult<Value> {
        match value {
            Value::String(text) => self.evaluate_string(text),
            Value::Array(items) => items
                .iter()
                .map(|item| self.evaluate_value(item))
                .collect::<EvalResult<Vec<_>>>()
                .map(Value::Array),
            Value::Object(map) => {
                let mut result = Map::new();
                for (key, item) in map {
                    if key.eq_ignore_ascii_case("copy") && is_property_copy(item) {
                        self.expand_property_copies(item, &mut result)?;
                        continue;
                    }
                    let evaluated = self.evaluate_value(item)?;
                    result.insert(key.clone(), evaluated);
                }
                Ok(Value::Object(result))
            }
            other => Ok(other.clone()),
        }
    }

    fn expand_property_copies(
        &mut self,
        loops: &Value,
        result: &mut Map<String, Value>,
    ) -> EvalResult<()> {
        let Value::Array(loops) = loops else {
            return Ok(());
        };
        for spec in loops {
            let name = spec
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| Failure::Invalid("The copy property 'name' is required.".into()))?
                .to_string();
            let count = self.copy_count(spec.get("count"), &name)?;
            let input = spec.get("input").cloned().unwrap_or(Value::Null);
            let mut items = Vec::with_capacity(count as usize);
            for index in 0..count {
                self.copies.push(CopyFrame {
                    name: name.to_ascii_lowercase(),
                    index,
                });
                let item = self.evaluate_value(&input);
                self.copies.pop();
                items.push(item?);
            }
            result.insert(name, Value::Array(items));
        }
        Ok(())
    }

    /// Evaluates a `copy.count` (an integer 0–800, literal or expression).
    pub fn copy_count(&mut self, count: Option<&Value>, loop_name: &str) -> EvalResult<i64> {
        let evaluated = match count {
            None => {
                return invalid(format!(
                    "The copy '{loop_name}' must have a 'count' property."
                ));
            }
            Some(count) => self.evaluate_value(count)?,
        };
        let Some(count) = value::as_integer(&evaluated) else {
            return invalid(format!(
                "The copy count of '{loop_name}' must be an integer; the value is of type '{}'.",
                value::type_name(&evaluated)
            ));
        };
        if !(0..=crate::limits::MAX_COPY_COUNT).contains(&count) {
            return invalid(format!(
                "The copy count must be a non-negative integer value and cannot exceed '{}'. Please see https://aka.ms/arm-copy for usage details.",
                crate::limits::MAX_COPY_COUNT
            ));
        }
        Ok(count)
    }

    /// Evaluates a parsed expression.
    pub fn evaluate(&mut self, expression: &Expression) -> EvalResult<Value> {
        match expression {
            Expression::String(text) => Ok(Value::String(text.clone())),
            Expression::Integer(number) => Ok(Value::from(*number)),
            Expression::Property { target, name } => {
                let target = self.evaluate(target)?;
                value::access_property(&target, name)
            }
            Expression::Index { target, index } => {
                let target = self.evaluate(target)?;
                let index = self.evaluate(index)?;
                value::access_index(&target, &index)
            }
            Expression::Call { name, arguments } => {
                self.depth += 1;
                if self.depth > MAX_CALL_DEPTH {
                    self.depth -= 1;
                    return invalid("The template language expression is nested too deeply.");
                }
                let result = functions::call(self, name, arguments);
                self.depth -= 1;
                result
            }
        }
    }

    /// Evaluates every argument.
    pub fn evaluate_arguments(&mut self, arguments: &[Expression]) -> EvalResult<Vec<Value>> {
        arguments
            .iter()
            .map(|argument| self.evaluate(argument))
            .collect()
    }

    /// Fails unless the current phase allows a deployment-time function (`reference`, `list*`).
    pub fn require_runtime_phase(&self, function: &str) -> EvalResult<()> {
        match self.phase {
            Phase::ResourceBody | Phase::Outputs => Ok(()),
            _ => not_expected(function),
        }
    }

    /// Calls a user-defined function.
    pub fn call_user_function(&mut self, name: &str, arguments: Vec<Value>) -> EvalResult<Value> {
        let Some(function) = self.world.user_function(name) else {
            return invalid(format!("The template function '{name}' is not valid."));
        };
        if function.parameters.len() != arguments.len() {
            return invalid(format!(
                "The template user function '{name}' expects '{}' parameter(s); it was invoked with '{}'.",
                function.parameters.len(),
                arguments.len()
            ));
        }
        for ((parameter, declared_type), argument) in function.parameters.iter().zip(&arguments) {
            if !crate::template::parameters::value_has_type(argument, declared_type) {
                return invalid(format!(
                    "The template user function '{name}' parameter '{parameter}' expects a value of type '{declared_type}'; the provided value is of type '{}'.",
                    value::type_name(argument)
                ));
            }
        }
        let mut inner = Evaluator::new(self.world, Phase::UserFunction);
        inner.depth = self.depth;
        inner.function_arguments = Some(
            function
                .parameters
                .iter()
                .map(|(parameter, _)| parameter.clone())
                .zip(arguments)
                .collect(),
        );
        let output = function.output.clone();
        inner.evaluate_value(&output)
    }
}

/// `The template function 'x' is not expected at this location.`
pub(crate) fn not_expected<T>(function: &str) -> EvalResult<T> {
    invalid(format!(
        "The template function '{function}' is not expected at this location. Please see https://aka.ms/arm-template-expressions for usage details."
    ))
}

/// Whether an object property named `copy` is a property loop (an array of `{name, count, input}`).
pub(crate) fn is_property_copy(value: &Value) -> bool {
    match value {
        Value::Array(items) => {
            !items.is_empty()
                && items.iter().all(|item| {
                    item.get("name").is_some_and(Value::is_string)
                        && item.get("count").is_some()
                        && item.get("input").is_some()
                })
        }
        _ => false,
    }
}
