//! The dependency graph: explicit `dependsOn` entries (a name, a full or partial id, a copy loop
//! name, a symbolic name), implicit dependencies from `reference`/`list*`/`references` calls that
//! name a template resource (by id they imply none, as in Azure), serial copy batches, and the
//! checks Azure makes before deploying: every entry resolves and there is no cycle.

use super::resources::{DEPLOYMENTS_TYPE, resource_error};
use super::world::PlanWorld;
use super::{CopyMode, Plan};
use crate::error::{Failure, TemplateError};
use crate::evaluator::{Evaluator, Phase};
use crate::expression::{self, Expression, StringKind};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// What a deployment-time call names: `reference`/`list*` a resource, `references` a loop.
#[derive(Clone)]
enum Mention {
    /// `reference`/`list*`; `lenient` when found inside an outer-scope nested template, whose
    /// names may belong to the nested template itself rather than to this one.
    Resource {
        argument: Expression,
        lenient: bool,
    },
    Loop(Expression),
}

pub(super) fn resolve(plan: &mut Plan) -> Result<(), TemplateError> {
    check_duplicates(plan)?;
    let index = lookup_index(plan);
    let mentions = collect_mentions(plan)?;
    let mut all: Vec<Vec<usize>> = Vec::with_capacity(plan.resources.len());
    {
        let world = PlanWorld { plan, state: None };
        for instance in &plan.resources {
            let definition = &plan.template.resources[instance.definition];
            let mut depends_on: Vec<usize> = Vec::new();
            for (position, entry) in instance.pending_depends_on.iter().enumerate() {
                let Some(found) = index.get(&entry.to_ascii_lowercase()) else {
                    return Err(TemplateError::validation(
                        format!("The resource '{entry}' is not defined in the template. Please see https://aka.ms/arm-template for usage details."),
                        instance.position,
                    )
                    .with_path(format!("{}.dependsOn[{position}]", instance.path)));
                };
                depends_on.extend(found.iter().copied());
            }
            let mut evaluator = Evaluator::new(&world, Phase::ResourceHeader)
                .with_copies(instance.copy_frames.clone());
            for mention in &mentions[instance.definition] {
                let (argument, is_loop, lenient) = match mention {
                    Mention::Resource { argument, lenient } => (argument, false, *lenient),
                    Mention::Loop(argument) => (argument, true, false),
                };
                let Ok(Value::String(name)) = evaluator.evaluate(argument) else {
                    continue;
                };
                if name.starts_with('/') {
                    continue;
                }
                let lower = name.to_ascii_lowercase();
                let found = if is_loop {
                    plan.loop_index.get(&lower)
                } else {
                    plan.name_index.get(&lower)
                };
                match found {
                    Some(found) => depends_on.extend(found.iter().copied()),
                    None if is_loop || lenient => {}
                    None => {
                        return Err(resource_error(
                            definition,
                            Failure::Invalid(format!(
                                "The template reference '{name}' is not valid: could not find template resource or resource copy with this name. Please see https://aka.ms/arm-template-expressions/#reference for usage details"
                            )),
                        ));
                    }
                }
            }
            all.push(depends_on);
        }
    }
    add_serial_batches(plan, &mut all);
    for (instance, mut depends_on) in plan.resources.iter_mut().zip(all) {
        depends_on.retain(|target| *target != instance.index);
        depends_on.sort_unstable();
        depends_on.dedup();
        instance.depends_on = depends_on;
    }
    check_cycles(plan)
}

/// Every key a `dependsOn` entry can use, lower case: id, `type/name`, the id's part after
/// `/providers/`, name, symbolic name and copy loop name.
fn lookup_index(plan: &Plan) -> HashMap<String, Vec<usize>> {
    let mut index: HashMap<String, Vec<usize>> = HashMap::new();
    for instance in &plan.resources {
        let id = instance.resource_id.to_ascii_lowercase();
        let mut keys = vec![
            format!("{}/{}", instance.resource_type, instance.name).to_ascii_lowercase(),
            instance.name.to_ascii_lowercase(),
        ];
        if let Some(position) = id.rfind("/providers/") {
            keys.push(id[position + "/providers/".len()..].to_string());
        }
        keys.push(id);
        if let Some(symbol) = &instance.symbolic_name {
            keys.push(symbol.to_ascii_lowercase());
        }
        if let Some(membership) = &instance.copy {
            keys.push(membership.loop_name.to_ascii_lowercase());
        }
        let mut seen = HashSet::new();
        for key in keys {
            if seen.insert(key.clone()) {
                index.entry(key).or_default().push(instance.index);
            }
        }
    }
    index
}

/// Per declaration, the first argument of every `reference`/`list*`/`references` call in it
/// (outside a nested deployment's own template), and syntax errors found on the way.
fn collect_mentions(plan: &Plan) -> Result<Vec<Vec<Mention>>, TemplateError> {
    let mut all = Vec::with_capacity(plan.template.resources.len());
    for definition in &plan.template.resources {
        let mut mentions = Vec::new();
        let is_deployment = definition
            .body
            .get("type")
            .and_then(Value::as_str)
            .is_some_and(|declared| declared.eq_ignore_ascii_case(DEPLOYMENTS_TYPE));
        for (key, value) in &definition.body {
            if key.eq_ignore_ascii_case("properties")
                && is_deployment
                && let Value::Object(properties) = value
            {
                let outer = outer_scope(properties);
                for (inner_key, inner) in properties {
                    if !inner_key.eq_ignore_ascii_case("template") {
                        scan(inner, &mut mentions, false).map_err(|detail| {
                            resource_error(definition, Failure::Invalid(detail))
                        })?;
                    } else if outer {
                        // Evaluated in this template's context, so its references to this
                        // template's resources are dependencies too; its syntax is the nested
                        // deployment's to report.
                        let _ = scan(inner, &mut mentions, true);
                    }
                }
                continue;
            }
            scan(value, &mut mentions, false)
                .map_err(|detail| resource_error(definition, Failure::Invalid(detail)))?;
        }
        all.push(mentions);
    }
    Ok(all)
}

/// Whether a nested deployment's inline template is evaluated in this template (`outer` scope,
/// the default for inline templates).
fn outer_scope(properties: &serde_json::Map<String, Value>) -> bool {
    let linked = properties
        .get("templateLink")
        .is_some_and(|link| !link.is_null());
    let inner = properties
        .get("expressionEvaluationOptions")
        .and_then(|options| options.get("scope"))
        .and_then(Value::as_str)
        .is_some_and(|scope| scope.eq_ignore_ascii_case("inner"));
    !linked && !inner
}

fn scan(value: &Value, mentions: &mut Vec<Mention>, lenient: bool) -> Result<(), String> {
    match value {
        Value::String(text) => {
            if let StringKind::Expression(source) = expression::classify(text) {
                let parsed = match expression::parse(source) {
                    Ok(parsed) => parsed,
                    Err(_) if lenient => return Ok(()),
                    Err(error) => return Err(error),
                };
                parsed.visit_calls(&mut |name, arguments| {
                    let lower = name.to_ascii_lowercase();
                    let Some(first) = arguments.first() else {
                        return;
                    };
                    if lower == "reference" || lower.starts_with("list") {
                        mentions.push(Mention::Resource {
                            argument: first.clone(),
                            lenient,
                        });
                    } else if lower == "references" {
                        mentions.push(Mention::Loop(first.clone()));
                    }
                });
            }
            Ok(())
        }
        Value::Array(items) => items
            .iter()
            .try_for_each(|item| scan(item, mentions, lenient)),
        Value::Object(map) => map
            .values()
            .try_for_each(|item| scan(item, mentions, lenient)),
        _ => Ok(()),
    }
}

/// In a serial loop, every instance of batch `b` waits for every instance of batch `b - 1`.
fn add_serial_batches(plan: &Plan, all: &mut [Vec<usize>]) {
    let mut loops: HashMap<(usize, String, Vec<i64>), Vec<usize>> = HashMap::new();
    for instance in &plan.resources {
        if let Some(membership) = &instance.copy
            && membership.mode == CopyMode::Serial
        {
            let outer: Vec<i64> = instance
                .copy_frames
                .iter()
                .take(instance.copy_frames.len().saturating_sub(1))
                .map(|frame| frame.index)
                .collect();
            loops
                .entry((
                    instance.definition,
                    membership.loop_name.to_ascii_lowercase(),
                    outer,
                ))
                .or_default()
                .push(instance.index);
        }
    }
    for members in loops.values() {
        for current in members {
            let batch = plan.resources[*current]
                .copy
                .as_ref()
                .map_or(0, |membership| membership.batch);
            if batch == 0 {
                continue;
            }
            for previous in members {
                if plan.resources[*previous]
                    .copy
                    .as_ref()
                    .is_some_and(|membership| membership.batch == batch - 1)
                {
                    all[*current].push(*previous);
                }
            }
        }
    }
}

/// Kahn's algorithm; the first instance (in template order) left over sits on a cycle.
fn check_cycles(plan: &Plan) -> Result<(), TemplateError> {
    let count = plan.resources.len();
    let mut waiting: Vec<usize> = plan
        .resources
        .iter()
        .map(|instance| instance.depends_on.len())
        .collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); count];
    for instance in &plan.resources {
        for target in &instance.depends_on {
            dependents[*target].push(instance.index);
        }
    }
    let mut ready: Vec<usize> = (0..count).filter(|index| waiting[*index] == 0).collect();
    let mut done = 0;
    while let Some(index) = ready.pop() {
        done += 1;
        for dependent in &dependents[index] {
            waiting[*dependent] -= 1;
            if waiting[*dependent] == 0 {
                ready.push(*dependent);
            }
        }
    }
    if done == count {
        return Ok(());
    }
    let Some(stuck) = (0..count)
        .find(|index| waiting[*index] > 0 && on_cycle(plan, *index))
        .or_else(|| (0..count).find(|index| waiting[*index] > 0))
    else {
        return Ok(());
    };
    let instance = &plan.resources[stuck];
    Err(TemplateError::validation(
        format!("Circular dependency detected on resource: '{}'. Please see https://aka.ms/arm-syntax-resources for usage details.", instance.resource_id),
        instance.position,
    )
    .with_path(instance.path.clone()))
}

/// Whether `start` can reach itself through dependencies.
fn on_cycle(plan: &Plan, start: usize) -> bool {
    let mut stack: Vec<usize> = plan.resources[start].depends_on.clone();
    let mut seen = vec![false; plan.resources.len()];
    while let Some(index) = stack.pop() {
        if index == start {
            return true;
        }
        if !std::mem::replace(&mut seen[index], true) {
            stack.extend(plan.resources[index].depends_on.iter().copied());
        }
    }
    false
}

/// Two deployed instances with one id: `The resource '…' at line … is defined multiple times in a template.`
fn check_duplicates(plan: &Plan) -> Result<(), TemplateError> {
    let mut seen: HashSet<String> = HashSet::new();
    for instance in plan
        .resources
        .iter()
        .filter(|instance| instance.condition != super::Condition::False)
    {
        if !seen.insert(instance.resource_id.to_ascii_lowercase()) {
            return Err(TemplateError::validation(
                format!(
                    "The resource '{}/{}' at line '{}' and column '{}' is defined multiple times in a template. Please see https://aka.ms/arm-template/#resources for usage details.",
                    instance.resource_type, instance.name, instance.position.line, instance.position.column
                ),
                instance.position,
            )
            .with_path(instance.path.clone()));
        }
    }
    Ok(())
}
