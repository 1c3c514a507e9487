//! Expanding resource declarations into instances: copy loops (with batch sizes), conditions,
//! child resources (short type and name joined to the parent's), extension `scope`, nested
//! deployment targets, the segment rules for names and types, ids, and the 800-resource limit.

use super::world::PlanWorld;
use super::{
    Condition, CopyMembership, CopyMode, ExpressionScope, NestedDeploymentTarget, Plan,
    ResourceInstance,
};
use crate::error::{Failure, TemplateError};
use crate::evaluator::{CopyFrame, Evaluator, Phase};
use crate::expression::{self, StringKind};
use crate::ids::{build_id, split_type};
use crate::limits::MAX_RESOURCES;
use crate::template::ResourceDefinition;
use serde_json::{Map, Value};

pub(super) const DEPLOYMENTS_TYPE: &str = "Microsoft.Resources/deployments";

pub(super) fn expand(plan: &mut Plan) -> Result<(), TemplateError> {
    let template = plan.template.clone();
    let mut instances = Vec::new();
    {
        let world = PlanWorld { plan, state: None };
        for (index, definition) in template.resources.iter().enumerate() {
            if definition.parent.is_none() {
                expand_definition(plan, &world, index, None, Vec::new(), &mut instances)?;
            }
        }
    }
    for instance in &instances {
        let mut keys = vec![instance.name.to_ascii_lowercase()];
        if let Some(symbol) = &instance.symbolic_name {
            keys.push(symbol.to_ascii_lowercase());
        }
        for key in keys {
            plan.name_index.entry(key).or_default().push(instance.index);
        }
        if let Some(membership) = &instance.copy {
            plan.loop_index
                .entry(membership.loop_name.to_ascii_lowercase())
                .or_default()
                .push(instance.index);
            if let Some(symbol) = &instance.symbolic_name
                && !symbol.eq_ignore_ascii_case(&membership.loop_name)
            {
                plan.loop_index
                    .entry(symbol.to_ascii_lowercase())
                    .or_default()
                    .push(instance.index);
            }
        }
    }
    plan.resources = instances;
    Ok(())
}

/// The detail of a resource-level failure, framed with the resource's name and position.
pub(super) fn resource_error(definition: &ResourceDefinition, failure: Failure) -> TemplateError {
    let detail = match failure {
        Failure::Invalid(detail) => detail,
        Failure::Pending(_) => {
            "The template function 'reference' is not expected at this location.".to_string()
        }
    };
    let name = definition
        .body
        .get("name")
        .map(crate::value::display)
        .unwrap_or_default();
    TemplateError::validation(
        format!(
            "The template resource '{name}' at line '{}' and column '{}' is not valid: {detail}. Please see https://aka.ms/arm-template-expressions for usage details.",
            definition.position.line, definition.position.column
        ),
        definition.position,
    )
    .with_path(definition.path.clone())
}

/// Whether a template value calls a deployment-time function (`reference`, `list*`, `references`).
pub(super) fn reads_deployed_state(value: &Value) -> bool {
    match value {
        Value::String(text) => match expression::classify(text) {
            StringKind::Expression(source) => {
                let Ok(parsed) = expression::parse(source) else {
                    return false;
                };
                let mut found = false;
                parsed.visit_calls(&mut |name, _| {
                    let lower = name.to_ascii_lowercase();
                    if lower == "reference" || lower == "references" || lower.starts_with("list") {
                        found = true;
                    }
                });
                found
            }
            StringKind::Literal(_) => false,
        },
        Value::Array(items) => items.iter().any(reads_deployed_state),
        Value::Object(map) => map.values().any(reads_deployed_state),
        _ => false,
    }
}

fn member<'a>(body: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    crate::value::get_property(body, name)
}

fn expand_definition(
    plan: &Plan,
    world: &PlanWorld<'_>,
    index: usize,
    parent: Option<&ResourceInstance>,
    frames: Vec<CopyFrame>,
    instances: &mut Vec<ResourceInstance>,
) -> Result<(), TemplateError> {
    let definition = &plan.template.resources[index];
    let fail = |failure: Failure| resource_error(definition, failure);
    let Some(copy) = member(&definition.body, "copy") else {
        let instance = make_instance(plan, world, index, parent, frames, None, instances)?;
        return push_with_children(plan, world, index, instance, instances);
    };
    let Some(loop_name) = copy.get("name").and_then(Value::as_str) else {
        return Err(fail(Failure::Invalid(
            "The copy property 'name' is required".into(),
        )));
    };
    let mut evaluator = Evaluator::new(world, Phase::ResourceHeader).with_copies(frames.clone());
    let count = evaluator
        .copy_count(copy.get("count"), loop_name)
        .map_err(fail)?;
    let mode = match copy
        .get("mode")
        .map(|mode| evaluator.evaluate_value(mode))
        .transpose()
        .map_err(fail)?
    {
        Some(Value::String(mode)) if mode.eq_ignore_ascii_case("serial") => CopyMode::Serial,
        Some(Value::String(mode)) if mode.eq_ignore_ascii_case("parallel") => CopyMode::Parallel,
        None => CopyMode::Parallel,
        Some(other) => {
            return Err(fail(Failure::Invalid(format!(
                "The copy mode '{}' is not valid; it must be 'Parallel' or 'Serial'",
                crate::value::display(&other)
            ))));
        }
    };
    let batch_size = match copy.get("batchSize") {
        None => {
            if mode == CopyMode::Serial {
                1
            } else {
                count.max(1)
            }
        }
        Some(size) => {
            let size = evaluator.evaluate_value(size).map_err(fail)?;
            match crate::value::as_integer(&size) {
                Some(size) if size >= 1 && (size <= count || count == 0) => size,
                _ => {
                    return Err(fail(Failure::Invalid(format!(
                        "The copy batch size '{}' must be an integer between 1 and the copy count '{count}'",
                        crate::value::display(&size)
                    ))));
                }
            }
        }
    };
    for position in 0..count {
        let mut instance_frames = frames.clone();
        instance_frames.push(CopyFrame {
            name: loop_name.to_ascii_lowercase(),
            index: position,
        });
        let membership = CopyMembership {
            loop_name: loop_name.to_string(),
            index: position,
            count,
            mode,
            batch_size,
            batch: if mode == CopyMode::Serial {
                position / batch_size
            } else {
                0
            },
        };
        let instance = make_instance(
            plan,
            world,
            index,
            parent,
            instance_frames,
            Some(membership),
            instances,
        )?;
        push_with_children(plan, world, index, instance, instances)?;
    }
    Ok(())
}

fn push_with_children(
    plan: &Plan,
    world: &PlanWorld<'_>,
    index: usize,
    instance: ResourceInstance,
    instances: &mut Vec<ResourceInstance>,
) -> Result<(), TemplateError> {
    if instances.len() >= MAX_RESOURCES {
        return Err(TemplateError::validation(
            format!(
                "The number of template resources limit exceeded. Limit: '{MAX_RESOURCES}' and actual: '{}'. Please see https://aka.ms/arm-template/#resources for usage details.",
                instances.len() + 1
            ),
            plan.template.position,
        ));
    }
    let frames = instance.copy_frames.clone();
    instances.push(instance);
    let parent = instances.last().cloned();
    for (child, definition) in plan.template.resources.iter().enumerate() {
        if definition.parent == Some(index) {
            expand_definition(
                plan,
                world,
                child,
                parent.as_ref(),
                frames.clone(),
                instances,
            )?;
        }
    }
    Ok(())
}

fn evaluate_string(
    evaluator: &mut Evaluator<'_>,
    body: &Map<String, Value>,
    name: &str,
) -> Result<Option<String>, Failure> {
    match member(body, name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => match evaluator.evaluate_value(value)? {
            Value::String(text) => Ok(Some(text)),
            Value::Null => Ok(None),
            other => Err(Failure::Invalid(format!(
                "The resource property '{name}' must be a string; the value is of type '{}'",
                crate::value::type_name(&other)
            ))),
        },
    }
}

fn make_instance(
    plan: &Plan,
    world: &PlanWorld<'_>,
    index: usize,
    parent: Option<&ResourceInstance>,
    frames: Vec<CopyFrame>,
    copy: Option<CopyMembership>,
    instances: &[ResourceInstance],
) -> Result<ResourceInstance, TemplateError> {
    let definition = &plan.template.resources[index];
    let body = &definition.body;
    let fail = |failure: Failure| resource_error(definition, failure);
    let mut evaluator = Evaluator::new(world, Phase::ResourceHeader).with_copies(frames.clone());
    let declared_type = evaluate_string(&mut evaluator, body, "type")
        .map_err(fail)?
        .unwrap_or_default();
    let declared_name = evaluate_string(&mut evaluator, body, "name")
        .map_err(fail)?
        .unwrap_or_default();
    let api_version = evaluate_string(&mut evaluator, body, "apiVersion")
        .map_err(fail)?
        .unwrap_or_default();
    if declared_name.is_empty() {
        return Err(fail(Failure::Invalid(
            "The name property cannot be null or empty".into(),
        )));
    }
    let (resource_type, name) = match parent {
        Some(parent) if !declared_type.contains('/') => (
            format!("{}/{declared_type}", parent.resource_type),
            format!("{}/{declared_name}", parent.name),
        ),
        Some(parent) if !declared_name.contains('/') => (
            declared_type.trim_matches('/').to_string(),
            format!("{}/{declared_name}", parent.name),
        ),
        _ => (
            declared_type.trim_matches('/').to_string(),
            declared_name.trim_matches('/').to_string(),
        ),
    };
    let (namespace, types) = split_type(&resource_type);
    let names: Vec<String> = name.split('/').map(str::to_string).collect();
    if namespace.is_empty() || types.len() != names.len() {
        let detail = format!(
            "The template resource '{name}' for type '{resource_type}' at line '{}' and column '{}' has incorrect segment lengths. A nested resource type must have identical number of segments as its resource name. A root resource type must have segment length one greater than its resource name. Please see https://aka.ms/arm-template/#resources for usage details.",
            definition.position.line, definition.position.column
        );
        return Err(TemplateError::validation(detail, definition.position)
            .with_path(definition.path.clone()));
    }
    let condition = match member(body, "condition") {
        None => Condition::True,
        Some(condition) if reads_deployed_state(condition) => Condition::Deferred,
        Some(condition) => match evaluator.evaluate_value(condition).map_err(fail)? {
            Value::Bool(true) => Condition::True,
            Value::Bool(false) => Condition::False,
            Value::String(text) if text.eq_ignore_ascii_case("true") => Condition::True,
            Value::String(text) if text.eq_ignore_ascii_case("false") => Condition::False,
            other => {
                return Err(fail(Failure::Invalid(format!(
                    "The template resource condition must be a Boolean; the value is of type '{}'",
                    crate::value::type_name(&other)
                ))));
            }
        },
    };
    let location = match member(body, "location") {
        Some(location) if !reads_deployed_state(location) => {
            evaluate_string(&mut evaluator, body, "location").map_err(fail)?
        }
        _ => None,
    };
    let existing = match member(body, "existing") {
        Some(value) => evaluator.evaluate_value(value).map_err(fail)? == Value::Bool(true),
        None => false,
    };
    let context = &plan.context;
    let typed = (resource_type.clone(), names);
    let mut nested_deployment = None;
    let resource_id = if let Some(scope) = member(body, "scope") {
        let scope = match evaluator.evaluate_value(scope).map_err(fail)? {
            Value::String(scope) => scope,
            other => {
                return Err(fail(Failure::Invalid(format!(
                    "The resource 'scope' must be a string; the value is of type '{}'",
                    crate::value::type_name(&other)
                ))));
            }
        };
        let base = if scope.starts_with('/') {
            scope.trim_end_matches('/').to_string()
        } else if let Some(target) = instances.iter().find(|instance| {
            instance
                .symbolic_name
                .as_deref()
                .is_some_and(|symbol| symbol.eq_ignore_ascii_case(&scope))
        }) {
            target.resource_id.clone()
        } else {
            format!(
                "{}/providers/{}",
                context.scope_id(),
                scope.trim_matches('/')
            )
        };
        build_id(&base, &typed)
    } else if resource_type.eq_ignore_ascii_case(DEPLOYMENTS_TYPE) {
        let subscription = evaluate_string(&mut evaluator, body, "subscriptionId").map_err(fail)?;
        let group = evaluate_string(&mut evaluator, body, "resourceGroup").map_err(fail)?;
        let scope_option = match body
            .get("properties")
            .and_then(|properties| properties.get("expressionEvaluationOptions"))
            .and_then(|options| options.get("scope"))
        {
            Some(scope) => evaluator.evaluate_value(scope).map_err(fail)?,
            None => Value::Null,
        };
        // A linked template (`templateLink`) never sees the parent's names: it is always inner.
        let linked = body
            .get("properties")
            .and_then(|properties| properties.get("templateLink"))
            .is_some_and(|link| !link.is_null());
        let expression_scope = match scope_option.as_str() {
            _ if linked => ExpressionScope::Inner,
            Some(scope) if scope.eq_ignore_ascii_case("inner") => ExpressionScope::Inner,
            _ => ExpressionScope::Outer,
        };
        let target_subscription = subscription
            .clone()
            .or_else(|| context.subscription_id().map(str::to_string));
        let target_group = group.clone().or_else(|| {
            if subscription.is_none() {
                context.resource_group_name().map(str::to_string)
            } else {
                None
            }
        });
        let scope = match (&target_subscription, &target_group) {
            (Some(subscription), Some(group)) => {
                format!("/subscriptions/{subscription}/resourceGroups/{group}")
            }
            (Some(subscription), None) => format!("/subscriptions/{subscription}"),
            _ => context.scope_id(),
        };
        nested_deployment = Some(NestedDeploymentTarget {
            subscription_id: target_subscription,
            resource_group: target_group,
            location: location.clone(),
            expression_scope,
        });
        build_id(&scope, &typed)
    } else {
        build_id(&context.scope_id(), &typed)
    };
    let mut pending_depends_on = Vec::new();
    if let Some(depends_on) = member(body, "dependsOn") {
        match evaluator.evaluate_value(depends_on).map_err(fail)? {
            Value::Array(entries) => {
                for entry in entries {
                    match entry {
                        Value::String(text) if !text.is_empty() => pending_depends_on.push(text),
                        Value::Array(inner) => pending_depends_on.extend(
                            inner
                                .into_iter()
                                .filter_map(|item| item.as_str().map(str::to_string)),
                        ),
                        Value::Null => {}
                        Value::String(_) => {}
                        other => {
                            return Err(fail(Failure::Invalid(format!(
                                "The dependsOn entry must be a string; the value is of type '{}'",
                                crate::value::type_name(&other)
                            ))));
                        }
                    }
                }
            }
            Value::String(text) => pending_depends_on.push(text),
            other => {
                return Err(fail(Failure::Invalid(format!(
                    "The 'dependsOn' property must be an array; the value is of type '{}'",
                    crate::value::type_name(&other)
                ))));
            }
        }
    }
    Ok(ResourceInstance {
        index: instances.len(),
        resource_id,
        resource_type,
        name,
        api_version,
        location,
        symbolic_name: definition.symbolic_name.clone(),
        condition,
        existing,
        depends_on: Vec::new(),
        copy,
        nested_deployment,
        position: definition.position,
        path: definition.path.clone(),
        definition: index,
        copy_frames: frames,
        pending_depends_on,
    })
}
