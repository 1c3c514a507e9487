//! Helpers shared by the engine's integration tests: a fixed deployment context and one-line
//! evaluation of an expression through a real template (as a variable).

#![allow(dead_code)]

use arm_templates::{DeploymentContext, Plan, Template, TemplateError};
use chrono::{TimeZone, Utc};
use serde_json::{Value, json};

pub const SUBSCRIPTION: &str = "00000000-0000-0000-0000-000000000000";
pub const GROUP: &str = "examplegroup";

pub fn context() -> DeploymentContext {
    let now = Utc
        .with_ymd_and_hms(2019, 3, 5, 17, 53, 18)
        .single()
        .expect("valid time");
    let mut context =
        DeploymentContext::resource_group(SUBSCRIPTION, GROUP, "westus", "exampledeployment", now);
    context.guid_seed = 42;
    context
}

pub fn rg_template(body: Value) -> Value {
    let mut template = json!({
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
    });
    for (key, value) in body.as_object().expect("object").clone() {
        template[key] = value;
    }
    template
}

pub fn prepare(template: Value, parameters: Value) -> Result<Plan, TemplateError> {
    Template::from_value(&template)?.prepare(&context(), &parameters)
}

pub fn prepare_text(text: &str, parameters: Value) -> Result<Plan, TemplateError> {
    Template::parse(text)?.prepare(&context(), &parameters)
}

/// Evaluates one expression (a template string such as `"[add(1, 2)]"`) as a variable.
pub fn try_evaluate(expression: &str) -> Result<Value, TemplateError> {
    let plan = prepare(
        rg_template(json!({"variables": {"result": expression}})),
        json!({}),
    )?;
    Ok(plan.variables()[0].1.clone())
}

pub fn evaluate(expression: &str) -> Value {
    try_evaluate(expression).unwrap_or_else(|error| panic!("{expression}: {error}"))
}

pub fn evaluation_error(expression: &str) -> String {
    match try_evaluate(expression) {
        Ok(value) => panic!("{expression} evaluated to {value}"),
        Err(error) => error.message,
    }
}

/// What a simulated deployment produced: every resource body sent, and the outputs.
pub struct Simulated {
    pub bodies: Vec<(String, Value)>,
    pub outputs: Vec<(String, Value)>,
}

/// Runs a plan the way the runner does, against an in-memory world where every PUT succeeds and
/// a GET returns the body that was sent: schedule → evaluate (reading pending references) →
/// "deploy" → outputs. Nested deployments are prepared and run recursively; `load_link` answers
/// `templateLink.uri`.
pub fn simulate(plan: &Plan, load_link: &dyn Fn(&str) -> String) -> Simulated {
    use arm_templates::{
        DeployedResources, EvaluationError, ExpressionScope, ResourceState, RuntimeRequest,
        Schedule,
    };
    let mut state = DeployedResources::new();
    let mut schedule = Schedule::new(plan);
    let mut bodies = Vec::new();
    loop {
        let ready = schedule.ready();
        if ready.is_empty() {
            break;
        }
        for index in ready {
            schedule.start(index);
            let body = loop {
                match plan.evaluate_resource(index, &state) {
                    Ok(body) => break body,
                    Err(EvaluationError::Pending(RuntimeRequest::Reference {
                        resource_id,
                        ..
                    })) => {
                        panic!("reference to {resource_id} that is not deployed")
                    }
                    Err(EvaluationError::Pending(RuntimeRequest::List {
                        resource_id,
                        action,
                        ..
                    })) => {
                        state.insert_list_result(
                            &resource_id,
                            &action,
                            json!({"keys": [{"value": "key"}]}),
                        );
                    }
                    Err(EvaluationError::Failed(error)) => panic!("{error}"),
                }
            };
            if !body.deploy {
                schedule.finish(index, ResourceState::Skipped);
                continue;
            }
            let instance = &plan.resources()[index];
            let mut stored = body.body.clone();
            stored["id"] = json!(body.resource_id);
            stored["name"] = json!(instance.name);
            stored["type"] = json!(body.resource_type);
            if let Some(target) = &instance.nested_deployment {
                let properties = &body.body["properties"];
                let template = match properties
                    .get("templateLink")
                    .and_then(|link| link.get("uri"))
                    .and_then(Value::as_str)
                {
                    Some(uri) => Template::parse(&load_link(uri)).expect("linked template parses"),
                    None => Template::from_value(&properties["template"])
                        .expect("nested template parses"),
                };
                let mut child_context = plan.context().clone();
                child_context.deployment_name = instance.name.clone();
                if let (Some(group), Some(info)) =
                    (&target.resource_group, &mut child_context.resource_group)
                {
                    info.name = group.clone();
                }
                let child = match target.expression_scope {
                    ExpressionScope::Outer if properties.get("templateLink").is_none() => {
                        template.prepare_outer(&child_context, &plan.outer_scope())
                    }
                    _ => template.prepare(
                        &child_context,
                        properties.get("parameters").unwrap_or(&Value::Null),
                    ),
                }
                .expect("nested deployment prepares");
                let result = simulate(&child, load_link);
                let outputs: serde_json::Map<String, Value> = result
                    .outputs
                    .into_iter()
                    .map(|(name, value)| (name, json!({"value": value})))
                    .collect();
                stored["properties"] =
                    json!({"provisioningState": "Succeeded", "outputs": outputs});
                bodies.extend(result.bodies);
            }
            state.insert_resource(&body.resource_id, stored);
            bodies.push((body.resource_id, body.body));
            schedule.finish(index, ResourceState::Succeeded);
        }
    }
    assert!(
        schedule.succeeded(),
        "every resource deployed: {:?}",
        schedule.states()
    );
    let outputs = plan
        .evaluate_outputs(&state)
        .expect("outputs evaluate")
        .into_iter()
        .map(|(name, output)| (name, output.value))
        .collect();
    Simulated { bodies, outputs }
}
