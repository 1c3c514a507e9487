//! Nested deployments (inner and outer expression scope, another resource group) and
//! languageVersion 2.0 (symbolic names, `existing`, typed parameters, user functions, `references`).

mod common;

use arm_templates::{
    DeployedResources, DeploymentContext, ExpressionScope, NothingDeployed, Template,
};
use common::{GROUP, SUBSCRIPTION, context, prepare, rg_template};
use serde_json::{Value, json};

fn nested(scope: &str) -> Value {
    rg_template(json!({
        "parameters": {"greeting": {"type": "string", "defaultValue": "hello"}},
        "variables": {"exampleVar": "from parent template"},
        "resources": [{
            "type": "Microsoft.Resources/deployments",
            "apiVersion": "2022-09-01",
            "name": "nestedTemplate1",
            "resourceGroup": "otherGroup",
            "properties": {
                "expressionEvaluationOptions": {"scope": scope},
                "mode": "Incremental",
                "parameters": {"message": {"value": "[concat(parameters('greeting'), ' from parent')]"}},
                "template": {
                    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
                    "contentVersion": "1.0.0.0",
                    "parameters": {"message": {"type": "string", "defaultValue": "unset"}},
                    "variables": {"exampleVar": "from nested template"},
                    "resources": [],
                    "outputs": {
                        "testVar": {"type": "string", "value": "[variables('exampleVar')]"},
                        "group": {"type": "string", "value": "[resourceGroup().name]"},
                    },
                },
            },
        }],
        "outputs": {"messageFromLinkedTemplate": {"type": "string", "value": "[reference('nestedTemplate1').outputs.testVar.value]"}},
    }))
}

fn child_context(parent: &DeploymentContext, group: &str, name: &str) -> DeploymentContext {
    let mut child = parent.clone();
    child.deployment_name = name.to_string();
    if let Some(resource_group) = &mut child.resource_group {
        resource_group.name = group.to_string();
    }
    child
}

#[test]
fn inner_scope_nested_deployment_is_a_deployment_of_its_own() {
    let plan = prepare(nested("inner"), json!({})).unwrap();
    let instance = &plan.resources()[0];
    assert_eq!(
        instance.resource_id,
        format!(
            "/subscriptions/{SUBSCRIPTION}/resourceGroups/otherGroup/providers/Microsoft.Resources/deployments/nestedTemplate1"
        )
    );
    let target = instance.nested_deployment.as_ref().unwrap();
    assert_eq!(
        (target.expression_scope, target.resource_group.as_deref()),
        (ExpressionScope::Inner, Some("otherGroup"))
    );
    let body = plan.evaluate_resource(0, &NothingDeployed).unwrap().body;
    assert_eq!(
        body["properties"]["parameters"],
        json!({"message": {"value": "hello from parent"}})
    );
    assert_eq!(
        body["properties"]["template"]["outputs"]["testVar"]["value"],
        json!("[variables('exampleVar')]"),
        "the nested template is passed through"
    );

    let child_template = Template::from_value(&body["properties"]["template"]).unwrap();
    let child = child_template
        .prepare(
            &child_context(plan.context(), "otherGroup", "nestedTemplate1"),
            &body["properties"]["parameters"],
        )
        .unwrap();
    assert_eq!(child.parameters()[0].value, json!("hello from parent"));
    let outputs: std::collections::HashMap<_, _> = child
        .evaluate_outputs(&NothingDeployed)
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(outputs["testVar"].value, json!("from nested template"));
    assert_eq!(outputs["group"].value, json!("otherGroup"));

    let mut state = DeployedResources::new();
    state.insert_resource(&instance.resource_id, json!({"id": instance.resource_id, "properties": {"outputs": {"testVar": {"type": "String", "value": "from nested template"}}}}));
    let parent_outputs = plan.evaluate_outputs(&state).unwrap();
    assert_eq!(parent_outputs[0].1.value, json!("from nested template"));
}

#[test]
fn outer_scope_nested_deployment_sees_the_parent() {
    let plan = prepare(nested("outer"), json!({})).unwrap();
    assert_eq!(
        plan.nested_expression_scope(0),
        Some(ExpressionScope::Outer)
    );
    let body = plan.evaluate_resource(0, &NothingDeployed).unwrap().body;
    let child_template = Template::from_value(&body["properties"]["template"]).unwrap();
    let child = child_template
        .prepare_outer(
            &child_context(plan.context(), "otherGroup", "nestedTemplate1"),
            &plan.outer_scope(),
        )
        .unwrap();
    let outputs: std::collections::HashMap<_, _> = child
        .evaluate_outputs(&NothingDeployed)
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(outputs["testVar"].value, json!("from parent template"));
    assert_eq!(
        outputs["group"].value,
        json!(GROUP),
        "outer scope evaluates resourceGroup() in the parent"
    );
    let mut reads_parent = nested("outer");
    reads_parent["resources"].as_array_mut().unwrap().insert(0, json!({"type": "Microsoft.Compute/galleries", "apiVersion": "2022-03-03", "name": "parentGallery", "location": "westus"}));
    reads_parent["resources"][1]["properties"]["template"]["outputs"]["fromParent"] =
        json!({"type": "string", "value": "[reference('parentGallery').description]"});
    reads_parent["resources"][1]["properties"]["template"]["outputs"]["ownName"] =
        json!({"type": "string", "value": "[reference('onlyInNested').x]"});
    let plan = prepare(reads_parent, json!({})).unwrap();
    assert_eq!(
        plan.resources()[1].depends_on,
        [0],
        "an outer template's reference to a parent resource is a dependency"
    );
    let default_scope = prepare(rg_template(json!({"resources": [{"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "n", "properties": {"mode": "Incremental", "template": {"contentVersion": "1.0.0.0"}}}]})), json!({})).unwrap();
    assert_eq!(
        default_scope.nested_expression_scope(0),
        Some(ExpressionScope::Outer)
    );
}

#[test]
fn outer_scope_nested_resources_read_the_parents_parameters_and_variables() {
    let parent = rg_template(json!({
        "parameters": {"galleryName": {"type": "string"}},
        "variables": {"description": "[concat('for ', parameters('galleryName'))]"},
        "resources": [{"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "nested", "resourceGroup": "otherGroup",
            "properties": {"mode": "Incremental", "template": {"contentVersion": "1.0.0.0", "resources": [
                {"type": "Microsoft.Compute/galleries", "apiVersion": "2022-03-03", "name": "[parameters('galleryName')]",
                 "location": "westus", "properties": {"description": "[variables('description')]"}}]}}}]
    }));
    let plan = prepare(parent, json!({"galleryName": {"value": "shared"}})).unwrap();
    let body = plan.evaluate_resource(0, &NothingDeployed).unwrap().body;
    let child = Template::from_value(&body["properties"]["template"])
        .unwrap()
        .prepare_outer(
            &child_context(plan.context(), "otherGroup", "nested"),
            &plan.outer_scope(),
        )
        .expect("names evaluate with the parent's parameters");
    assert_eq!(child.resources()[0].name, "shared");
    assert!(
        child.resources()[0]
            .resource_id
            .contains("/resourceGroups/otherGroup/")
    );
    let bodies = child.preflight().unwrap();
    assert_eq!(
        bodies[0].as_ref().unwrap().body["properties"]["description"],
        json!("for shared")
    );
}

fn symbolic() -> Value {
    rg_template(json!({
        "languageVersion": "2.0",
        "definitions": {
            "imageSpec": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "osType": {"type": "string", "allowedValues": ["Linux", "Windows"]}, "tag": {"type": "string", "nullable": true}},
                "additionalProperties": false,
            },
        },
        "parameters": {"images": {"type": "array", "items": {"$ref": "#/definitions/imageSpec"}}},
        "functions": [{"namespace": "gd", "members": {"imageName": {
            "parameters": [{"name": "gallery", "type": "string"}, {"name": "image", "type": "string"}],
            "output": {"type": "string", "value": "[format('{0}/{1}', parameters('gallery'), parameters('image'))]"},
        }}}],
        "resources": {
            "shared": {"existing": true, "type": "Microsoft.Compute/galleries", "apiVersion": "2022-03-03", "name": "shared"},
            "gallery": {"type": "Microsoft.Compute/galleries", "apiVersion": "2022-03-03", "name": "g1", "location": "westus", "properties": {}},
            "images": {
                "copy": {"name": "images", "count": "[length(parameters('images'))]"},
                "type": "Microsoft.Compute/galleries/images", "apiVersion": "2022-03-03",
                "name": "[gd.imageName('g1', parameters('images')[copyIndex()].name)]",
                "location": "westus",
                "dependsOn": ["gallery"],
                "properties": {"osType": "[parameters('images')[copyIndex()].osType]", "description": "[reference('shared').description]"},
            },
        },
        "outputs": {"ids": {"type": "array", "value": "[map(references('images', 'Full'), lambda('i', lambdaVariables('i').resourceId))]"}},
    }))
}

#[test]
fn language_version_2_symbolic_names_existing_types_and_functions() {
    let images = json!({"images": {"value": [{"name": "ubuntu", "osType": "Linux"}, {"name": "win", "osType": "Windows", "tag": "x"}]}});
    let plan = prepare(symbolic(), images).unwrap();
    assert!(plan.template().uses_symbolic_names());
    let resources = plan.resources();
    let names: Vec<&str> = resources
        .iter()
        .map(|instance| instance.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["g1", "g1/ubuntu", "g1/win", "shared"],
        "declarations in key order (json! sorts keys), copies expanded in place"
    );
    let shared = resources
        .iter()
        .find(|instance| instance.name == "shared")
        .unwrap();
    assert!(shared.existing);
    let gallery = resources
        .iter()
        .find(|instance| instance.name == "g1")
        .unwrap();
    assert_eq!(
        resources[1].depends_on,
        [gallery.index, shared.index],
        "dependsOn by symbolic name, implicit by reference to a symbolic name"
    );
    assert_eq!(
        plan.declared_resource_ids().len(),
        3,
        "existing resources are not declared for Complete mode"
    );

    let mut state = DeployedResources::new();
    state.insert_resource(
        &shared.resource_id,
        json!({"properties": {"description": "shared gallery"}}),
    );
    for instance in &resources[1..3] {
        state.insert_resource(
            &instance.resource_id,
            json!({"id": instance.resource_id, "properties": {}}),
        );
    }
    let body = plan.evaluate_resource(2, &state).unwrap().body;
    assert_eq!(
        body["properties"],
        json!({"osType": "Windows", "description": "shared gallery"})
    );
    let outputs = plan.evaluate_outputs(&state).unwrap();
    assert_eq!(
        outputs[0].1.value,
        json!([resources[1].resource_id, resources[2].resource_id])
    );

    let wrong = prepare(
        symbolic(),
        json!({"images": {"value": [{"name": "x", "osType": "Mac"}]}}),
    )
    .unwrap_err();
    assert!(
        wrong
            .message
            .contains("not part of the allowed value(s): 'Linux,Windows'"),
        "{}",
        wrong.message
    );
    let extra = prepare(
        symbolic(),
        json!({"images": {"value": [{"name": "x", "osType": "Linux", "colour": "red"}]}}),
    )
    .unwrap_err();
    assert!(
        extra
            .message
            .contains("The property 'colour' is not allowed."),
        "{}",
        extra.message
    );
    let missing = prepare(
        symbolic(),
        json!({"images": {"value": [{"osType": "Linux"}]}}),
    )
    .unwrap_err();
    assert!(
        missing
            .message
            .contains("missing the required property 'name'"),
        "{}",
        missing.message
    );
}

#[test]
fn subscription_scope_templates() {
    let mut subscription_context = context();
    subscription_context.resource_group = None;
    subscription_context.location = Some("westus".into());
    let template = json!({
        "$schema": "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "resources": [
            {"type": "Microsoft.Resources/resourceGroups", "apiVersion": "2022-09-01", "name": "newGroup", "location": "westus"},
            {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "intoGroup", "resourceGroup": "newGroup",
             "dependsOn": ["[resourceId('Microsoft.Resources/resourceGroups', 'newGroup')]"],
             "properties": {"mode": "Incremental", "expressionEvaluationOptions": {"scope": "inner"}, "template": {"contentVersion": "1.0.0.0", "resources": []}}},
        ],
        "outputs": {"id": {"type": "string", "value": "[subscriptionResourceId('Microsoft.Resources/resourceGroups', 'newGroup')]"}, "where": {"type": "string", "value": "[deployment().location]"}},
    });
    let template = Template::from_value(&template).unwrap();
    assert_eq!(
        template.scope(),
        Some(arm_templates::DeploymentScope::Subscription)
    );
    let plan = template.prepare(&subscription_context, &json!({})).unwrap();
    assert_eq!(
        plan.resources()[0].resource_id,
        format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/newGroup")
    );
    assert_eq!(
        plan.resources()[1].resource_id,
        format!(
            "/subscriptions/{SUBSCRIPTION}/resourceGroups/newGroup/providers/Microsoft.Resources/deployments/intoGroup"
        )
    );
    assert_eq!(plan.resources()[1].depends_on, [0]);
    let outputs: std::collections::HashMap<_, _> = plan
        .evaluate_outputs(&NothingDeployed)
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(
        outputs["id"].value,
        json!(format!(
            "/subscriptions/{SUBSCRIPTION}/resourceGroups/newGroup"
        ))
    );
    assert_eq!(outputs["where"].value, json!("westus"));
    let group_only = Template::from_value(&rg_template(
        json!({"outputs": {"g": {"type": "string", "value": "[resourceGroup().name]"}}}),
    ))
    .unwrap();
    let error = group_only
        .prepare(&subscription_context, &json!({}))
        .unwrap()
        .evaluate_outputs(&NothingDeployed)
        .unwrap_err();
    assert!(
        format!("{error:?}")
            .contains("The template function 'resourceGroup' is not expected at this location")
    );
}
