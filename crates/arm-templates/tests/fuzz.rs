//! Fuzzing: no input makes the engine panic, overflow its stack or hang — the expression parser on
//! arbitrary text, the evaluator on generated expressions over every function, the template
//! reader on mutated template text, and plan preparation plus evaluation on generated templates.
//!
//! `cargo test` runs a bounded number of cases (a few seconds). For a longer run:
//! `ARM_TEMPLATES_FUZZ_CASES=200000 cargo test --release -p arm-templates --test fuzz`.

mod common;

use arm_templates::{NothingDeployed, Template, expression};
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Value, json};

fn config() -> Config {
    let cases = std::env::var("ARM_TEMPLATES_FUZZ_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(256);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

const FUNCTIONS: &[&str] = &[
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
    "coalesce",
    "equals",
    "greater",
    "less",
    "base64",
    "base64ToString",
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
    "if",
    "sys.parseCidr",
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
    "resourceGroup",
    "subscription",
    "tenant",
    "managementGroup",
    "resourceId",
    "subscriptionResourceId",
    "tenantResourceId",
    "extensionResourceId",
    "reference",
    "references",
    "listKeys",
    "pickZones",
    "filter",
    "map",
    "reduce",
    "sort",
    "toObject",
    "groupBy",
    "mapValues",
    "lambda",
    "lambdaVariables",
    "nope",
    "ns.udf",
];

const STRINGS: &[&str] = &[
    "",
    "a",
    "A,b;c",
    "10.0.0.0/8",
    "fdad::/48",
    "2020-04-07 14:53:14Z",
    "P1Y2M",
    "-PT9H",
    "{0:N2} {1,-5}",
    "{\"a\":[1,{}]}",
    "null",
    "http://contoso.com/a/",
    "x",
    "Microsoft.Compute/galleries",
    "Microsoft.Compute/galleries/images/",
    "Full",
    "data:;base64,SGk=",
    "%41%zz",
    "0",
    "-5",
    "yyyy-MM-dd'T'HH:mm:ss.fffK",
    "p",
    "v",
    "it''s",
];

fn expression_strategy() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        (-3i64..12).prop_map(|number| number.to_string()),
        prop::sample::select(STRINGS).prop_map(|text| format!("'{text}'")),
        Just("9223372036854775807".to_string()),
        Just("true()".to_string()),
        Just("lambdaVariables('x')".to_string()),
    ];
    leaf.prop_recursive(6, 64, 4, |inner| {
        prop_oneof![
            (
                prop::sample::select(FUNCTIONS),
                prop::collection::vec(inner.clone(), 0..4)
            )
                .prop_map(|(name, arguments)| format!("{name}({})", arguments.join(", "))),
            (
                inner.clone(),
                prop::sample::select(&["a", "name", "id", "value", "outputs"][..])
            )
                .prop_map(|(target, property)| format!("{target}.{property}")),
            (inner.clone(), inner.clone()).prop_map(|(target, index)| format!("{target}[{index}]")),
            inner.prop_map(|body| format!("lambda('x', {body})")),
        ]
    })
}

fn template_with(expression: &str) -> Value {
    common::rg_template(json!({
        "parameters": {"p": {"type": "string", "defaultValue": format!("[{expression}]")}},
        "variables": {"v": format!("[{expression}]"), "copy": [{"name": "list", "count": 2, "input": format!("[{expression}]")}]},
        "resources": [{
            "type": "Microsoft.Compute/galleries", "apiVersion": "2022-03-03",
            "name": "[concat('g', copyIndex())]",
            "copy": {"name": "loop", "count": 2},
            "properties": {"description": format!("[{expression}]")},
        }],
        "outputs": {"o": {"type": "object", "value": format!("[{expression}]")}},
    }))
}

/// Prepares and evaluates everything; only panics would fail the test.
fn exercise(template: &Value) {
    let Ok(template) = Template::from_value(template) else {
        return;
    };
    let Ok(plan) = template.prepare(&common::context(), &json!({})) else {
        return;
    };
    for index in 0..plan.resources().len() {
        let _ = plan.evaluate_resource(index, &NothingDeployed);
    }
    let _ = plan.evaluate_outputs(&NothingDeployed);
}

const VALID_TEMPLATE: &str = r#"{
  // comment
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "parameters": {"name": {"type": "string", "defaultValue": "[concat('g', uniqueString(resourceGroup().id))]", "maxLength": 40}},
  "variables": {"count": 3},
  "resources": [
    {"type": "Microsoft.Compute/galleries", "apiVersion": "2022-03-03", "name": "[parameters('name')]", "location": "[resourceGroup().location]"},
    {"type": "Microsoft.Compute/galleries/images", "apiVersion": "2022-03-03", "name": "[format('{0}/i{1}', parameters('name'), copyIndex())]",
     "copy": {"name": "images", "count": "[variables('count')]", "mode": "serial", "batchSize": 1},
     "dependsOn": ["[parameters('name')]"], "properties": {"osType": "Linux", "description": "[reference(parameters('name')).description]"}}
  ],
  "outputs": {"id": {"type": "string", "value": "[resourceId('Microsoft.Compute/galleries', parameters('name'))]"}}
}"#;

proptest! {
    #![proptest_config(config())]

    #[test]
    fn expression_parser_never_panics(text in "\\PC{0,64}") {
        let _ = expression::parse(&text);
    }

    #[test]
    fn expression_parser_never_panics_on_expression_like_text(text in "[a-zA-Z(),.'\\[\\] 0-9-]{0,80}") {
        let _ = expression::parse(&text);
    }

    #[test]
    fn evaluator_never_panics(expression in expression_strategy()) {
        exercise(&template_with(&expression));
    }

    #[test]
    fn template_reader_never_panics_on_mutated_text(position in 0usize..2000, length in 0usize..8, replacement in "\\PC{0,4}") {
        let mut text: Vec<char> = VALID_TEMPLATE.chars().collect();
        let start = position.min(text.len());
        let end = (start + length).min(text.len());
        text.splice(start..end, replacement.chars());
        let text: String = text.into_iter().collect();
        if let Ok(template) = Template::parse(&text)
            && let Ok(plan) = template.prepare(&common::context(), &json!({}))
        {
            for index in 0..plan.resources().len() {
                let _ = plan.evaluate_resource(index, &NothingDeployed);
            }
            let _ = plan.evaluate_outputs(&NothingDeployed);
        }
    }

    #[test]
    fn json_reader_never_panics(text in "[\\[\\]{}\",:a-z0-9/*\\\\ \n'.-]{0,120}") {
        let _ = arm_templates::jsonc::parse(&text);
    }
}

#[test]
fn the_valid_fuzz_seed_prepares() {
    let plan = common::prepare_text(VALID_TEMPLATE, json!({})).unwrap();
    assert_eq!(plan.resources().len(), 4);
    assert_eq!(plan.resources()[2].depends_on, [0, 1]);
}

#[test]
fn deep_nesting_and_long_chains_are_errors_or_values_not_crashes() {
    let nested = format!("[{}1{}]", "add(1, ".repeat(200), ")".repeat(200));
    assert!(common::try_evaluate(&nested).is_err());
    let nested = format!("[{}1{}]", "add(1, ".repeat(40), ")".repeat(40));
    assert_eq!(common::evaluate(&nested), json!(41));
    let mut variables = serde_json::Map::new();
    for index in 0..500 {
        variables.insert(
            format!("v{index}"),
            json!(format!("[add(variables('v{}'), 1)]", index + 1)),
        );
    }
    variables.insert("v500".into(), json!(0));
    let plan = common::prepare(
        common::rg_template(json!({"variables": variables})),
        json!({}),
    )
    .unwrap();
    let v0 = plan
        .variables()
        .iter()
        .find(|(name, _)| name == "v0")
        .unwrap();
    assert_eq!(v0.1, json!(500));
    let deep_json = format!("{}{}", "[".repeat(300), "]".repeat(300));
    assert!(Template::parse(&deep_json).is_err());
}
