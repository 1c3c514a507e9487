//! Deployment-time evaluation: a resource's body just before its PUT, and the outputs after the
//! last resource. Both may read deployed state (`reference`, `list*`); when the state lacks a
//! value the evaluation stops with [`EvaluationError::Pending`] naming what to read, and the
//! runner reads it and evaluates again.

use super::resources::{DEPLOYMENTS_TYPE, reads_deployed_state};
use super::world::PlanWorld;
use super::{Condition, ExpressionScope, Plan};
use crate::context::DeployedState;
use crate::error::{Failure, RuntimeRequest, TemplateError};
use crate::evaluator::{CopyFrame, Evaluator, Phase};
use crate::template::parameters::{check_value, display_type};
use serde_json::{Map, Value};

/// Why a deployment-time evaluation did not produce a value.
#[derive(Debug, Clone, PartialEq)]
pub enum EvaluationError {
    /// Read this from the deployed world, add it to the state and evaluate again.
    Pending(RuntimeRequest),
    /// The expression is invalid (Azure's `InvalidTemplate` runtime error).
    Failed(TemplateError),
}

/// What to send for one resource instance.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceBody {
    pub resource_id: String,
    pub resource_type: String,
    pub api_version: String,
    /// False when a deferred condition turned out false: skip the resource.
    pub deploy: bool,
    /// The PUT body: `location`, `tags`, `sku`, `kind`, `identity`, `properties`, `zones`, … with
    /// every expression evaluated. For a nested deployment, `properties.template` is passed through
    /// unevaluated (the nested deployment evaluates it).
    pub body: Value,
}

/// An output's value as the deployment response shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputValue {
    /// The declared type as shown (`String`, `Int`, `Bool`, `Array`, `Object`, `SecureString`, …).
    pub type_name: &'static str,
    pub value: Value,
    /// Secure outputs are shown as `{type}` only.
    pub secure: bool,
}

/// Members of a resource declaration that describe it rather than belong in its PUT body.
const HEADER_MEMBERS: &[&str] = &[
    "type",
    "apiVersion",
    "name",
    "dependsOn",
    "copy",
    "condition",
    "comments",
    "scope",
    "existing",
    "resourceGroup",
    "subscriptionId",
    "metadata",
    "$comments",
    "resources",
    "import",
    "asserts",
];

impl Plan {
    /// Evaluates resource instance `index`'s body against what the runner has read so far.
    pub fn evaluate_resource(
        &self,
        index: usize,
        state: &dyn DeployedState,
    ) -> Result<ResourceBody, EvaluationError> {
        let instance = &self.resources[index];
        self.resource_body(index, state)
            .map_err(|failure| match failure {
                Failure::Pending(request) => EvaluationError::Pending(request),
                Failure::Invalid(detail) => EvaluationError::Failed(
                    TemplateError::runtime(&instance.resource_id, instance.position, &detail)
                        .with_path(instance.path.clone()),
                ),
            })
    }

    /// Preflight (validate, what-if): every body that can be evaluated before anything deploys,
    /// `None` for those that read deployed state. An invalid expression is a validation error
    /// (`The template resource '…' at line … is not valid: …`), as Azure reports it at validate time.
    pub fn preflight(&self) -> Result<Vec<Option<ResourceBody>>, TemplateError> {
        let mut bodies = Vec::with_capacity(self.resources.len());
        for index in 0..self.resources.len() {
            match self.resource_body(index, &crate::context::NothingDeployed) {
                Ok(body) => bodies.push(Some(body)),
                Err(Failure::Pending(_)) => bodies.push(None),
                Err(failure) => {
                    let definition = &self.template.resources[self.resources[index].definition];
                    return Err(super::resources::resource_error(definition, failure));
                }
            }
        }
        Ok(bodies)
    }

    fn resource_body(
        &self,
        index: usize,
        state: &dyn DeployedState,
    ) -> Result<ResourceBody, Failure> {
        let instance = &self.resources[index];
        let definition = &self.template.resources[instance.definition];
        let world = PlanWorld {
            plan: self,
            state: Some(state),
        };
        let mut evaluator =
            Evaluator::new(&world, Phase::ResourceBody).with_copies(instance.copy_frames.clone());
        let mut deploy = instance.condition != Condition::False;
        if instance.condition == Condition::Deferred
            && let Some(condition) = crate::value::get_property(&definition.body, "condition")
        {
            deploy = match evaluator.evaluate_value(condition)? {
                Value::Bool(flag) => flag,
                Value::String(text) => text.eq_ignore_ascii_case("true"),
                other => {
                    return Err(Failure::Invalid(format!(
                        "The template resource condition must be a Boolean; the value is of type '{}'.",
                        crate::value::type_name(&other)
                    )));
                }
            };
        }
        let is_deployment = instance
            .resource_type
            .eq_ignore_ascii_case(DEPLOYMENTS_TYPE);
        let mut body = Map::new();
        for (key, value) in &definition.body {
            if HEADER_MEMBERS
                .iter()
                .any(|member| member.eq_ignore_ascii_case(key))
            {
                continue;
            }
            let evaluated = if is_deployment && key.eq_ignore_ascii_case("properties") {
                evaluate_deployment_properties(&mut evaluator, value)?
            } else {
                evaluator.evaluate_value(value)?
            };
            body.insert(key.clone(), evaluated);
        }
        Ok(ResourceBody {
            resource_id: instance.resource_id.clone(),
            resource_type: instance.resource_type.clone(),
            api_version: instance.api_version.clone(),
            deploy,
            body: Value::Object(body),
        })
    }

    /// Evaluates the outputs (conditions, copies, declared types) against the deployed state.
    pub fn evaluate_outputs(
        &self,
        state: &dyn DeployedState,
    ) -> Result<Vec<(String, OutputValue)>, EvaluationError> {
        let world = PlanWorld {
            plan: self,
            state: Some(state),
        };
        let mut outputs = Vec::new();
        for output in &self.template.outputs {
            let fail = |failure: Failure| match failure {
                Failure::Pending(request) => EvaluationError::Pending(request),
                Failure::Invalid(detail) => EvaluationError::Failed(
                    TemplateError::expression(
                        format!(
                            "The template output '{}' is not valid: {detail}",
                            output.name
                        ),
                        output.position,
                    )
                    .with_path(format!("outputs.{}", output.name)),
                ),
            };
            let mut evaluator = Evaluator::new(&world, Phase::Outputs);
            if let Some(condition) = crate::value::get_property(&output.body, "condition")
                && evaluator.evaluate_value(condition).map_err(fail)? == Value::Bool(false)
            {
                continue;
            }
            let value = match crate::value::get_property(&output.body, "copy") {
                Some(copy) => {
                    let count = evaluator
                        .copy_count(copy.get("count"), &output.name)
                        .map_err(fail)?;
                    let input = copy.get("input").cloned().unwrap_or(Value::Null);
                    let mut items = Vec::with_capacity(count as usize);
                    for position in 0..count {
                        evaluator.copies = vec![CopyFrame {
                            name: String::new(),
                            index: position,
                        }];
                        items.push(evaluator.evaluate_value(&input).map_err(fail)?);
                    }
                    Value::Array(items)
                }
                None => evaluator
                    .evaluate_value(
                        crate::value::get_property(&output.body, "value").unwrap_or(&Value::Null),
                    )
                    .map_err(fail)?,
            };
            let subject = format!("the template output '{}'", output.name);
            check_value(
                &value,
                &output.body,
                &self.template.definitions,
                &subject,
                0,
            )
            .map_err(|detail| {
                fail(Failure::Invalid(detail.replace(
                    "Template parameter JToken",
                    "Template output JToken",
                )))
            })?;
            let declared = crate::template::parameters::ParameterDefinition {
                name: output.name.clone(),
                position: output.position,
                declaration: output.body.clone(),
                default: None,
            };
            let lower = declared.type_lower(&self.template.definitions);
            outputs.push((
                output.name.clone(),
                OutputValue {
                    type_name: display_type(&lower),
                    value,
                    secure: declared.is_secure(&self.template.definitions),
                },
            ));
        }
        Ok(outputs)
    }

    /// Whether any output reads deployed state (the runner then reads before evaluating outputs).
    pub fn outputs_read_deployed_state(&self) -> bool {
        self.template
            .outputs
            .iter()
            .any(|output| reads_deployed_state(&Value::Object(output.body.clone())))
    }

    /// The expression scope of a nested deployment instance, if `index` is one.
    pub fn nested_expression_scope(&self, index: usize) -> Option<ExpressionScope> {
        self.resources[index]
            .nested_deployment
            .as_ref()
            .map(|target| target.expression_scope)
    }
}

/// A nested deployment's `properties`: everything evaluated except `template`, which belongs to the
/// nested deployment.
fn evaluate_deployment_properties(
    evaluator: &mut Evaluator<'_>,
    value: &Value,
) -> Result<Value, Failure> {
    let Value::Object(properties) = value else {
        return evaluator.evaluate_value(value);
    };
    let mut evaluated = Map::new();
    for (key, item) in properties {
        let result = if key.eq_ignore_ascii_case("template") {
            item.clone()
        } else {
            evaluator.evaluate_value(item)?
        };
        evaluated.insert(key.clone(), result);
    }
    Ok(Value::Object(evaluated))
}
