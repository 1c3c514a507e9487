//! Preparing a deployment: a [`Template`] plus a [`DeploymentContext`] and the supplied parameters
//! become a [`Plan`], in Azure's order — parameters (defaults, then constraints) → variables →
//! every resource's name, type, apiVersion, location, condition, copy and dependsOn (before
//! anything deploys) → the dependency graph, checked for unresolved entries and cycles.
//! Resource bodies and outputs are evaluated later, one at a time, by the runner
//! ([`Plan::evaluate_resource`], [`Plan::evaluate_outputs`]).

mod dependencies;
mod evaluation;
mod resources;
mod schedule;
mod world;

pub use evaluation::{EvaluationError, OutputValue, ResourceBody};
pub use schedule::{ResourceState, Schedule};
pub use world::OuterScope;

use crate::context::DeploymentContext;
use crate::error::{ErrorCode, Failure, TemplateError};
use crate::jsonc::Position;
use crate::template::Template;
use crate::template::parameters::{check_value, display_type};
use serde_json::{Map, Value, json};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use world::{PrepareWorld, VariableState};

/// A prepared deployment: evaluated parameters and variables, and every resource instance with
/// its id and dependencies. Cheap to share (`Send + Sync`); evaluation never mutates it.
#[derive(Debug, Clone)]
pub struct Plan {
    pub(crate) template: Arc<Template>,
    pub(crate) context: DeploymentContext,
    pub(crate) outer: Option<OuterScope>,
    pub(crate) parameters: Vec<EvaluatedParameter>,
    pub(crate) variables: Vec<(String, Value)>,
    pub(crate) resources: Vec<ResourceInstance>,
    /// Lower-case name, full name and symbolic name → instances.
    pub(crate) name_index: HashMap<String, Vec<usize>>,
    /// Lower-case copy loop name or looped symbolic name → instances in copyIndex order.
    pub(crate) loop_index: HashMap<String, Vec<usize>>,
    pub(crate) deployment: Value,
}

/// A parameter's final value, and whether it is secure (never echo a secure value; `Debug`
/// prints `<secure>` in its place so logs cannot leak it either).
#[derive(Clone, PartialEq)]
pub struct EvaluatedParameter {
    /// The name as declared in the template.
    pub name: String,
    /// The type as the deployment response shows it (`String`, `SecureString`, `Int`, …).
    pub type_name: &'static str,
    pub value: Value,
    pub secure: bool,
}

impl std::fmt::Debug for EvaluatedParameter {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value: &dyn std::fmt::Debug = if self.secure {
            &"<secure>"
        } else {
            &self.value
        };
        formatter
            .debug_struct("EvaluatedParameter")
            .field("name", &self.name)
            .field("type_name", &self.type_name)
            .field("value", value)
            .field("secure", &self.secure)
            .finish()
    }
}

/// Whether a resource is deployed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    True,
    False,
    /// The condition reads deployed state (`reference`); [`Plan::evaluate_resource`] decides.
    Deferred,
}

/// How a copy loop runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyMode {
    Parallel,
    Serial,
}

/// A resource instance's place in its copy loop.
#[derive(Debug, Clone, PartialEq)]
pub struct CopyMembership {
    pub loop_name: String,
    pub index: i64,
    pub count: i64,
    pub mode: CopyMode,
    pub batch_size: i64,
    /// `index / batch_size` for serial loops; 0 for parallel ones.
    pub batch: i64,
}

/// How a nested deployment's template sees expressions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpressionScope {
    /// The nested template's expressions use the parent's parameters, variables and context.
    Outer,
    /// The nested template is a deployment of its own, fed by the passed `parameters`.
    Inner,
}

/// Where a nested deployment (`Microsoft.Resources/deployments` resource) runs.
#[derive(Debug, Clone, PartialEq)]
pub struct NestedDeploymentTarget {
    pub subscription_id: Option<String>,
    pub resource_group: Option<String>,
    pub location: Option<String>,
    pub expression_scope: ExpressionScope,
}

/// One resource to deploy (a copy loop gives one instance per index).
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceInstance {
    /// The instance's position in [`Plan::resources`]; dependencies refer to it.
    pub index: usize,
    pub resource_id: String,
    /// Full type (`Microsoft.Compute/galleries/images`).
    pub resource_type: String,
    /// Full name (`gallery/image`).
    pub name: String,
    pub api_version: String,
    /// The location if it could be evaluated before deployment.
    pub location: Option<String>,
    pub symbolic_name: Option<String>,
    pub condition: Condition,
    /// A languageVersion 2.0 `existing` resource: read, never written.
    pub existing: bool,
    /// Instances this one waits for (explicit `dependsOn`, implicit `reference`/`list*`, serial batches).
    pub depends_on: Vec<usize>,
    pub copy: Option<CopyMembership>,
    pub nested_deployment: Option<NestedDeploymentTarget>,
    /// Where the resource is declared in the template text.
    pub position: Position,
    /// The JSON path of the declaration (`resources[2]`).
    pub path: String,
    pub(crate) definition: usize,
    pub(crate) copy_frames: Vec<crate::evaluator::CopyFrame>,
    pub(crate) pending_depends_on: Vec<String>,
}

impl Template {
    /// Prepares a deployment. `supplied` is the request's `parameters` object
    /// (`{"name": {"value": …}}`); supplied values are literal (never evaluated).
    pub fn prepare(
        &self,
        context: &DeploymentContext,
        supplied: &Value,
    ) -> Result<Plan, TemplateError> {
        self.prepare_with(context, supplied, None)
    }

    /// Prepares a nested template whose expressions are evaluated in an outer scope
    /// (`expressionEvaluationOptions.scope` `outer`): its own parameters and variables are ignored.
    pub fn prepare_outer(
        &self,
        context: &DeploymentContext,
        outer: &OuterScope,
    ) -> Result<Plan, TemplateError> {
        self.prepare_with(context, &Value::Object(Map::new()), Some(outer))
    }

    fn prepare_with(
        &self,
        context: &DeploymentContext,
        supplied: &Value,
        outer: Option<&OuterScope>,
    ) -> Result<Plan, TemplateError> {
        let deployment = deployment_value(self, context, supplied);
        let supplied = match outer {
            Some(_) => vec![None; self.parameters.len()],
            None => self.supplied_values(supplied)?,
        };
        let world = PrepareWorld {
            template: self,
            context,
            outer,
            supplied,
            parameters: RefCell::new(vec![VariableState::Pending; self.parameters.len()]),
            variables: RefCell::new(vec![VariableState::Pending; self.variables.len()]),
            guid_counter: RefCell::new(0),
            deployment: deployment.clone(),
            nesting: std::cell::Cell::new(0),
        };
        if outer.is_none() {
            let names: Vec<&str> = self
                .parameters
                .iter()
                .map(|parameter| parameter.name.as_str())
                .collect();
            let defaults: Vec<Option<&Value>> = self
                .parameters
                .iter()
                .map(|parameter| parameter.default.as_ref())
                .collect();
            for index in world::static_order(&names, &defaults, "parameters") {
                let _ = crate::evaluator::World::parameter(&world, names[index]);
            }
            let names: Vec<&str> = self
                .variables
                .iter()
                .map(|variable| variable.name.as_str())
                .collect();
            let values: Vec<Option<&Value>> = self
                .variables
                .iter()
                .map(|variable| Some(variable.copy.as_ref().unwrap_or(&variable.value)))
                .collect();
            for index in world::static_order(&names, &values, "variables") {
                let _ = crate::evaluator::World::variable(&world, names[index]);
            }
        }
        let parameters = match outer {
            Some(_) => Vec::new(),
            None => self.evaluate_parameters(&world)?,
        };
        let variables = match outer {
            Some(outer) => outer.variables.clone(),
            None => {
                let mut variables = Vec::with_capacity(self.variables.len());
                for definition in &self.variables {
                    let value = crate::evaluator::World::variable(&world, &definition.name)
                        .map_err(|failure| {
                            expression_error(
                                failure,
                                definition.position,
                                &format!("variables.{}", definition.name),
                            )
                        })?;
                    variables.push((definition.name.clone(), value));
                }
                variables
            }
        };
        let mut plan = Plan {
            template: Arc::new(self.clone()),
            context: context.clone(),
            outer: outer.cloned(),
            parameters,
            variables,
            resources: Vec::new(),
            name_index: HashMap::new(),
            loop_index: HashMap::new(),
            deployment,
        };
        resources::expand(&mut plan)?;
        dependencies::resolve(&mut plan)?;
        Ok(plan)
    }

    /// The supplied literal values by declaration index; unknown names and Key Vault references fail.
    fn supplied_values(&self, supplied: &Value) -> Result<Vec<Option<Value>>, TemplateError> {
        let supplied = match supplied {
            Value::Object(map) => map.clone(),
            Value::Null => Map::new(),
            _ => {
                return Err(TemplateError::validation(
                    "The deployment parameters must be a JSON object.",
                    Position::default(),
                ));
            }
        };
        let unknown: Vec<&str> = supplied
            .keys()
            .filter(|key| {
                !self
                    .parameters
                    .iter()
                    .any(|parameter| parameter.name.eq_ignore_ascii_case(key))
            })
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            let supported: Vec<&str> = self
                .parameters
                .iter()
                .map(|parameter| parameter.name.as_str())
                .collect();
            return Err(TemplateError::validation(
                format!(
                    "The template parameters '{}' in the parameters file are not valid; they are not present in the original template and can therefore not be provided at deployment time. The only supported parameters for this template are '{}'. Please see https://aka.ms/arm-pass-parameter-values for usage details.",
                    unknown.join(", "),
                    supported.join(", ")
                ),
                Position::default(),
            ));
        }
        let mut values = Vec::with_capacity(self.parameters.len());
        for definition in &self.parameters {
            let provided = supplied
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(&definition.name))
                .map(|(_, entry)| entry);
            if let Some(entry) = provided
                && entry.get("value").is_none()
                && entry.get("reference").is_some()
            {
                return Err(TemplateError::new(
                    ErrorCode::InvalidDeploymentParameterKeyVaultReference,
                    format!("The parameter '{}' is a Key Vault reference. galleryd does not emulate Key Vault: pass the value itself.", definition.name),
                )
                .at(definition.position)
                .with_path(format!("parameters.{}", definition.name)));
            }
            values.push(
                provided
                    .and_then(|entry| entry.get("value"))
                    .filter(|value| !value.is_null())
                    .cloned(),
            );
        }
        Ok(values)
    }

    fn evaluate_parameters(
        &self,
        world: &PrepareWorld<'_>,
    ) -> Result<Vec<EvaluatedParameter>, TemplateError> {
        let mut evaluated = Vec::with_capacity(self.parameters.len());
        for (index, definition) in self.parameters.iter().enumerate() {
            let path = format!("parameters.{}", definition.name);
            let missing = world.supplied[index].is_none()
                && definition.default.is_none()
                && definition.declaration.get("nullable") != Some(&Value::Bool(true));
            let value = match crate::evaluator::World::parameter(world, &definition.name) {
                Ok(value) => value,
                Err(Failure::Invalid(detail)) if missing => {
                    return Err(
                        TemplateError::validation(detail, definition.position).with_path(path)
                    );
                }
                Err(failure) => return Err(expression_error(failure, definition.position, &path)),
            };
            let subject = format!(
                "the template parameter '{}' at line '{}' and column '{}'",
                definition.name, definition.position.line, definition.position.column
            );
            check_value(
                &value,
                &definition.declaration,
                &self.definitions,
                &subject,
                0,
            )
            .map_err(|detail| {
                TemplateError::validation(detail, definition.position).with_path(path.clone())
            })?;
            let declared = definition.type_lower(&self.definitions);
            evaluated.push(EvaluatedParameter {
                name: definition.name.clone(),
                type_name: display_type(&declared),
                value,
                secure: definition.is_secure(&self.definitions),
            });
        }
        Ok(evaluated)
    }
}

/// An expression failure at validation time, framed as Azure frames it.
pub(crate) fn expression_error(failure: Failure, position: Position, path: &str) -> TemplateError {
    let detail = match failure {
        Failure::Invalid(detail) => detail,
        Failure::Pending(_) => "The template function 'reference' is not expected at this location. Please see https://aka.ms/arm-template-expressions for usage details.".to_string(),
    };
    TemplateError::expression(detail, position).with_path(path)
}

fn deployment_value(template: &Template, context: &DeploymentContext, supplied: &Value) -> Value {
    // Secure parameters never appear in what `deployment()` shows.
    let mut shown = Map::new();
    if let Value::Object(entries) = supplied {
        for (name, entry) in entries {
            let secure = template.parameters.iter().any(|parameter| {
                parameter.name.eq_ignore_ascii_case(name)
                    && parameter.is_secure(&template.definitions)
            });
            if !secure {
                shown.insert(name.clone(), entry.clone());
            }
        }
    }
    let supplied = Value::Object(shown);
    let mut properties = json!({
        "template": template.value,
        "templateHash": template.template_hash(),
        "parameters": supplied,
        "mode": context.mode,
        "provisioningState": "Accepted",
    });
    if let Some(link) = &context.template_link {
        properties["templateLink"] = link.clone();
    }
    let mut value = json!({"name": context.deployment_name, "properties": properties});
    if context.resource_group.is_none()
        && let Some(location) = &context.location
    {
        value["location"] = json!(location);
    }
    value
}

impl Plan {
    /// The deployment context the plan was prepared for.
    pub fn context(&self) -> &DeploymentContext {
        &self.context
    }

    /// The template the plan was prepared from.
    pub fn template(&self) -> &Template {
        &self.template
    }

    /// Every parameter with its final value and secure flag, in declaration order.
    pub fn parameters(&self) -> &[EvaluatedParameter] {
        &self.parameters
    }

    /// The parameters as the deployment response shows them: `{name: {type, value}}`, with no
    /// `value` for secure parameters.
    pub fn parameters_for_response(&self) -> Value {
        let mut map = Map::new();
        for parameter in &self.parameters {
            let mut entry = json!({"type": parameter.type_name});
            if !parameter.secure {
                entry["value"] = parameter.value.clone();
            }
            map.insert(parameter.name.clone(), entry);
        }
        Value::Object(map)
    }

    /// The evaluated variables, in declaration order.
    pub fn variables(&self) -> &[(String, Value)] {
        &self.variables
    }

    /// Every resource instance, copies expanded, in template order.
    pub fn resources(&self) -> &[ResourceInstance] {
        &self.resources
    }

    /// The ids a Complete-mode deployment keeps: every instance that is not `existing` and whose
    /// condition is not false (deferred conditions count as declared).
    pub fn declared_resource_ids(&self) -> Vec<String> {
        self.resources
            .iter()
            .filter(|instance| !instance.existing && instance.condition != Condition::False)
            .map(|instance| instance.resource_id.clone())
            .collect()
    }

    /// The scope an `outer` nested deployment inside this plan evaluates in.
    pub fn outer_scope(&self) -> OuterScope {
        OuterScope {
            parameters: self
                .parameters
                .iter()
                .map(|parameter| (parameter.name.clone(), parameter.value.clone()))
                .collect(),
            variables: self.variables.clone(),
            context: self
                .outer
                .as_ref()
                .map_or_else(|| self.context.clone(), |outer| outer.context.clone()),
            deployment: self.deployment.clone(),
        }
    }

    /// The `dependencies` array of the deployment response.
    pub fn dependencies_for_response(&self) -> Value {
        let mut entries = Vec::new();
        for instance in self
            .resources
            .iter()
            .filter(|instance| !instance.depends_on.is_empty())
        {
            let depends_on: Vec<Value> = instance
                .depends_on
                .iter()
                .map(|index| {
                    let target = &self.resources[*index];
                    json!({"id": target.resource_id, "resourceType": target.resource_type, "resourceName": target.name})
                })
                .collect();
            entries.push(json!({
                "id": instance.resource_id,
                "resourceType": instance.resource_type,
                "resourceName": instance.name,
                "dependsOn": depends_on,
            }));
        }
        Value::Array(entries)
    }
}
