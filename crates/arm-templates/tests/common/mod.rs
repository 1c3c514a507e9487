//! Helpers shared by the engine's integration tests: a fixed deployment context and one-line
//! evaluation of an expression through a real template (as a variable).

#![allow(dead_code)]

use arm_templates::{DeploymentContext, Plan, Template, TemplateError};
use chrono::{TimeZone, Utc};
use serde_json::{Value, json};

pub const SUBSCRIPTION: &str = "00000000-0000-0000-0000-000000000000";
pub const GROUP: &str = "examplegroup";

pub fn context() -> DeploymentContext {
    let now = Utc.with_ymd_and_hms(2019, 3, 5, 17, 53, 18).single().expect("valid time");
    let mut context = DeploymentContext::resource_group(SUBSCRIPTION, GROUP, "westus", "exampledeployment", now);
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
    let plan = prepare(rg_template(json!({"variables": {"result": expression}})), json!({}))?;
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
