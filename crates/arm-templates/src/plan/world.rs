//! The two worlds expressions are evaluated in: [`PrepareWorld`] while a plan is being built
//! (parameters filled in order, variables evaluated on first use with cycle detection, resources
//! not yet known) and [`PlanWorld`] once it is built (everything known, plus the deployed state).

use super::{Condition, Plan};
use crate::context::{DeployedState, DeploymentContext};
use crate::error::{EvalResult, Failure, invalid};
use crate::evaluator::{CopyFrame, Evaluator, Phase, ResourceTarget, World};
use crate::template::{Template, UserFunction};
use serde_json::Value;
use std::cell::RefCell;

/// Values a world reads parameters and variables from when they come from an enclosing
/// deployment (a nested template with `expressionEvaluationOptions.scope` `outer`). Its `Debug`
/// shows names only, since parameters may be secure.
#[derive(Clone)]
pub struct OuterScope {
    pub(crate) parameters: Vec<(String, Value)>,
    pub(crate) variables: Vec<(String, Value)>,
    pub(crate) context: DeploymentContext,
    pub(crate) deployment: Value,
}

impl std::fmt::Debug for OuterScope {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = |entries: &[(String, Value)]| {
            entries
                .iter()
                .map(|(name, _)| name.clone())
                .collect::<Vec<_>>()
        };
        formatter
            .debug_struct("OuterScope")
            .field("parameters", &names(&self.parameters))
            .field("variables", &names(&self.variables))
            .field("deployment_name", &self.context.deployment_name)
            .finish()
    }
}

pub(crate) fn lookup<'a>(entries: &'a [(String, Value)], name: &str) -> Option<&'a Value> {
    entries
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
}

pub(crate) fn user_function<'t>(template: &'t Template, name: &str) -> Option<&'t UserFunction> {
    template
        .functions
        .iter()
        .find(|function| function.full_name.eq_ignore_ascii_case(name))
}

pub(crate) fn parameter_not_found<T>(name: &str) -> EvalResult<T> {
    invalid(format!(
        "The template parameter '{name}' is not found. Please see https://aka.ms/arm-template/#parameters for usage details."
    ))
}

pub(crate) fn variable_not_found<T>(name: &str) -> EvalResult<T> {
    invalid(format!(
        "The template variable '{name}' is not found. Please see https://aka.ms/arm-template/#variables for usage details."
    ))
}

#[derive(Clone)]
pub(crate) enum VariableState {
    Pending,
    InProgress,
    Done(Value),
}

/// The world while preparing: parameters known so far, variables evaluated lazily.
pub(crate) struct PrepareWorld<'t> {
    pub template: &'t Template,
    pub context: &'t DeploymentContext,
    pub outer: Option<&'t OuterScope>,
    /// The supplied literal values (`{name: {value}}` entries already unwrapped), by declaration index.
    pub supplied: Vec<Option<Value>>,
    pub parameters: RefCell<Vec<VariableState>>,
    pub variables: RefCell<Vec<VariableState>>,
    pub guid_counter: RefCell<u64>,
    pub deployment: Value,
    /// How many parameter or variable evaluations are in progress inside each other.
    pub nesting: std::cell::Cell<usize>,
}

/// Deepest chain of parameters/variables evaluated inside each other on demand. Declarations are
/// evaluated in the order their static references imply (see [`static_order`]), so only names
/// computed at run time (`variables(concat('a', 'b'))`) can nest; the bound keeps the stack safe.
const MAX_NESTING: usize = 32;

/// The order to evaluate declarations in so that each one's literal references
/// (`function('name')`) come first; cycles are left for the evaluation to report.
pub(crate) fn static_order(
    names: &[&str],
    values: &[Option<&Value>],
    function: &str,
) -> Vec<usize> {
    let lower: Vec<String> = names.iter().map(|name| name.to_ascii_lowercase()).collect();
    let references: Vec<Vec<usize>> = values
        .iter()
        .map(|value| {
            let mut found = Vec::new();
            if let Some(value) = value {
                collect_references(value, function, &mut |name| {
                    if let Some(index) = lower.iter().position(|candidate| *candidate == name) {
                        found.push(index);
                    }
                });
            }
            found
        })
        .collect();
    let mut order = Vec::with_capacity(names.len());
    let mut visited = vec![false; names.len()];
    for start in 0..names.len() {
        let mut stack = vec![(start, 0usize)];
        while let Some((index, next)) = stack.pop() {
            if next == 0 {
                if visited[index] {
                    continue;
                }
                visited[index] = true;
            }
            if let Some(dependency) = references[index].get(next) {
                stack.push((index, next + 1));
                if !visited[*dependency] {
                    stack.push((*dependency, 0));
                }
            } else {
                order.push(index);
            }
        }
    }
    order
}

fn collect_references(value: &Value, function: &str, found: &mut dyn FnMut(String)) {
    match value {
        Value::String(text) => {
            if let crate::expression::StringKind::Expression(source) =
                crate::expression::classify(text)
                && let Ok(parsed) = crate::expression::parse(source)
            {
                parsed.visit_calls(&mut |name, arguments| {
                    if name.eq_ignore_ascii_case(function)
                        && let [crate::expression::Expression::String(target)] = arguments
                    {
                        found(target.to_ascii_lowercase());
                    }
                });
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|item| collect_references(item, function, found)),
        Value::Object(map) => map
            .values()
            .for_each(|item| collect_references(item, function, found)),
        _ => {}
    }
}

impl PrepareWorld<'_> {
    /// A parameter's value: the supplied literal, else its default (an expression over other
    /// parameters, evaluated in the parameter-default phase), else null when nullable.
    fn resolve_parameter(&self, index: usize) -> EvalResult<Value> {
        let definition = &self.template.parameters[index];
        if let Some(value) = &self.supplied[index] {
            return Ok(value.clone());
        }
        if let Some(default) = &definition.default {
            return Evaluator::new(self, Phase::ParameterDefault).evaluate_value(default);
        }
        if definition.declaration.get("nullable") == Some(&Value::Bool(true)) {
            return Ok(Value::Null);
        }
        invalid(format!(
            "The value for the template parameter '{}' at line '{}' and column '{}' is not provided. Please see https://aka.ms/resource-manager-parameter-files for usage details.",
            definition.name, definition.position.line, definition.position.column
        ))
    }

    fn evaluate_variable(&self, index: usize) -> EvalResult<Value> {
        let definition = &self.template.variables[index];
        let mut evaluator = Evaluator::new(self, Phase::Variables);
        match &definition.copy {
            None => evaluator.evaluate_value(&definition.value),
            Some(spec) => {
                let count = evaluator.copy_count(spec.get("count"), &definition.name)?;
                let input = spec.get("input").cloned().unwrap_or(Value::Null);
                let mut items = Vec::with_capacity(count as usize);
                for position in 0..count {
                    evaluator.copies = vec![CopyFrame {
                        name: definition.name.to_ascii_lowercase(),
                        index: position,
                    }];
                    items.push(evaluator.evaluate_value(&input)?);
                }
                Ok(Value::Array(items))
            }
        }
    }
}

impl World for PrepareWorld<'_> {
    fn context(&self) -> &DeploymentContext {
        self.outer.map_or(self.context, |outer| &outer.context)
    }

    fn parameter(&self, name: &str) -> EvalResult<Value> {
        if let Some(outer) = self.outer {
            return lookup(&outer.parameters, name)
                .cloned()
                .map_or_else(|| parameter_not_found(name), Ok);
        }
        let Some(index) = self
            .template
            .parameters
            .iter()
            .position(|parameter| parameter.name.eq_ignore_ascii_case(name))
        else {
            return parameter_not_found(name);
        };
        let state = self.parameters.borrow()[index].clone();
        match state {
            VariableState::Done(value) => Ok(value),
            VariableState::InProgress => invalid(format!(
                "The template parameter '{name}' is not valid: its default value references itself through a circular chain of parameters."
            )),
            VariableState::Pending => {
                if self.nesting.get() >= MAX_NESTING {
                    return invalid(format!(
                        "The template parameter '{name}' is nested more than '{MAX_NESTING}' levels deep in other parameters."
                    ));
                }
                self.parameters.borrow_mut()[index] = VariableState::InProgress;
                self.nesting.set(self.nesting.get() + 1);
                let result = self.resolve_parameter(index);
                self.nesting.set(self.nesting.get() - 1);
                self.parameters.borrow_mut()[index] = match &result {
                    Ok(value) => VariableState::Done(value.clone()),
                    Err(_) => VariableState::Pending,
                };
                result
            }
        }
    }

    fn variable(&self, name: &str) -> EvalResult<Value> {
        if let Some(outer) = self.outer {
            return lookup(&outer.variables, name)
                .cloned()
                .map_or_else(|| variable_not_found(name), Ok);
        }
        let Some(index) = self
            .template
            .variables
            .iter()
            .position(|variable| variable.name.eq_ignore_ascii_case(name))
        else {
            return variable_not_found(name);
        };
        let state = self.variables.borrow()[index].clone();
        match state {
            VariableState::Done(value) => Ok(value),
            VariableState::InProgress => invalid(format!(
                "The template variable '{name}' is not valid: the variable references itself through a circular chain of variables."
            )),
            VariableState::Pending => {
                if self.nesting.get() >= MAX_NESTING {
                    return invalid(format!(
                        "The template variable '{name}' is nested more than '{MAX_NESTING}' levels deep in other variables."
                    ));
                }
                self.variables.borrow_mut()[index] = VariableState::InProgress;
                self.nesting.set(self.nesting.get() + 1);
                let result = self.evaluate_variable(index);
                self.nesting.set(self.nesting.get() - 1);
                self.variables.borrow_mut()[index] = match &result {
                    Ok(value) => VariableState::Done(value.clone()),
                    Err(_) => VariableState::Pending,
                };
                result
            }
        }
    }

    fn user_function(&self, name: &str) -> Option<&UserFunction> {
        user_function(self.template, name)
    }

    fn deployment(&self) -> Value {
        self.outer
            .map_or_else(|| self.deployment.clone(), |outer| outer.deployment.clone())
    }

    fn template_resource(&self, _name: &str) -> Option<ResourceTarget> {
        None
    }

    fn copy_instances(&self, _name: &str) -> Option<Vec<ResourceTarget>> {
        None
    }

    fn state(&self) -> Option<&dyn DeployedState> {
        None
    }

    fn new_guid(&self) -> String {
        let mut counter = self.guid_counter.borrow_mut();
        *counter += 1;
        seeded_guid(self.context.guid_seed, *counter)
    }
}

/// A version-4-shaped GUID derived from the context's seed and a counter (pure, repeatable).
pub(crate) fn seeded_guid(seed: u128, counter: u64) -> String {
    let mut bytes = [0u8; 24];
    bytes[..16].copy_from_slice(&seed.to_le_bytes());
    bytes[16..].copy_from_slice(&counter.to_le_bytes());
    let hashed = uuid::Uuid::new_v5(&crate::hashing::GUID_NAMESPACE, &bytes);
    uuid::Builder::from_random_bytes(*hashed.as_bytes())
        .into_uuid()
        .to_string()
}

/// The world once a plan is built: every template resource known, plus the deployed state.
pub(crate) struct PlanWorld<'p> {
    pub plan: &'p Plan,
    pub state: Option<&'p dyn DeployedState>,
}

impl Plan {
    pub(crate) fn target(&self, index: usize) -> ResourceTarget {
        let instance = &self.resources[index];
        ResourceTarget {
            resource_id: instance.resource_id.clone(),
            api_version: instance.api_version.clone(),
            resource_type: instance.resource_type.clone(),
            name: instance.name.clone(),
            condition: match instance.condition {
                Condition::True => Some(true),
                Condition::False => Some(false),
                Condition::Deferred => None,
            },
            existing: instance.existing,
        }
    }

    /// Instances a name, full name, symbolic name or id refers to.
    pub(crate) fn instances_named(&self, name: &str) -> Vec<usize> {
        if name.starts_with('/') {
            return self
                .resources
                .iter()
                .filter(|instance| instance.resource_id.eq_ignore_ascii_case(name))
                .map(|instance| instance.index)
                .collect();
        }
        self.name_index
            .get(&name.to_ascii_lowercase())
            .cloned()
            .unwrap_or_default()
    }
}

impl World for PlanWorld<'_> {
    fn context(&self) -> &DeploymentContext {
        self.plan
            .outer
            .as_ref()
            .map_or(&self.plan.context, |outer| &outer.context)
    }

    fn parameter(&self, name: &str) -> EvalResult<Value> {
        // An outer-scope nested template reads the parent's parameters, not its own.
        if let Some(outer) = &self.plan.outer {
            return lookup(&outer.parameters, name)
                .cloned()
                .map_or_else(|| parameter_not_found(name), Ok);
        }
        match self
            .plan
            .parameters
            .iter()
            .find(|parameter| parameter.name.eq_ignore_ascii_case(name))
        {
            Some(parameter) => Ok(parameter.value.clone()),
            None => parameter_not_found(name),
        }
    }

    fn variable(&self, name: &str) -> EvalResult<Value> {
        if let Some(outer) = &self.plan.outer {
            return lookup(&outer.variables, name)
                .cloned()
                .map_or_else(|| variable_not_found(name), Ok);
        }
        lookup(&self.plan.variables, name)
            .cloned()
            .map_or_else(|| variable_not_found(name), Ok)
    }

    fn user_function(&self, name: &str) -> Option<&UserFunction> {
        user_function(&self.plan.template, name)
    }

    fn deployment(&self) -> Value {
        self.plan.deployment.clone()
    }

    fn template_resource(&self, name: &str) -> Option<ResourceTarget> {
        self.plan
            .instances_named(name)
            .first()
            .map(|index| self.plan.target(*index))
    }

    fn copy_instances(&self, name: &str) -> Option<Vec<ResourceTarget>> {
        let indices = self.plan.loop_index.get(&name.to_ascii_lowercase())?;
        Some(
            indices
                .iter()
                .map(|index| self.plan.target(*index))
                .collect(),
        )
    }

    fn state(&self) -> Option<&dyn DeployedState> {
        self.state
    }

    fn new_guid(&self) -> String {
        seeded_guid(self.plan.context.guid_seed, u64::MAX)
    }
}

impl From<Failure> for String {
    fn from(failure: Failure) -> String {
        match failure {
            Failure::Invalid(message) => message,
            Failure::Pending(request) => format!("{request:?}"),
        }
    }
}
