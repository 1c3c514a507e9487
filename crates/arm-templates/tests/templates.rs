//! Whole templates: parameters and their rules, variables, copy loops, conditions, child resources,
//! dependencies, deployment-time evaluation with deployed state, outputs, and the scheduler.

mod common;

use arm_templates::{
    Condition, CopyMode, DeployedResources, EvaluationError, NothingDeployed, ResourceState,
    RuntimeRequest, Schedule,
};
use common::{GROUP, SUBSCRIPTION, prepare, prepare_text, rg_template};
use serde_json::{Value, json};

fn group_id(rest: &str) -> String {
    format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}/providers/{rest}")
}

fn gallery(name: &str) -> Value {
    json!({"type": "Microsoft.Compute/galleries", "apiVersion": "2022-03-03", "name": name, "location": "[resourceGroup().location]", "properties": {}})
}

#[test]
fn parameters_types_defaults_constraints_and_secure_values() {
    let template = rg_template(json!({
        "parameters": {
            "prefix": {"type": "String", "defaultValue": "gal", "minLength": 2, "maxLength": 10},
            "name": {"type": "string", "defaultValue": "[concat(parameters('prefix'), uniqueString(resourceGroup().id))]"},
            "count": {"type": "INT", "defaultValue": 2, "minValue": 1, "maxValue": 5},
            "flag": {"type": "bool", "defaultValue": false},
            "sizes": {"type": "array", "defaultValue": ["Small"], "allowedValues": ["Small", "Large"]},
            "password": {"type": "securestring"},
            "settings": {"type": "secureObject", "defaultValue": {"a": 1}},
            "stamp": {"type": "string", "defaultValue": "[utcNow('yyyyMMdd')]"},
            "token": {"type": "string", "defaultValue": "[newGuid()]"},
        },
        "resources": [],
    }));
    let plan = prepare(template.clone(), json!({"password": {"value": "[concat('not', 'evaluated')]"}, "SIZES": {"value": ["Large", "Small"]}})).unwrap();
    let values: std::collections::HashMap<&str, (&Value, bool)> = plan
        .parameters()
        .iter()
        .map(|p| (p.name.as_str(), (&p.value, p.secure)))
        .collect();
    assert_eq!(
        values["name"].0,
        &json!(format!(
            "gal{}",
            arm_templates::hashing::unique_string(&[&format!(
                "/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}"
            )])
        ))
    );
    assert_eq!(values["sizes"].0, &json!(["Large", "Small"]));
    assert_eq!(
        values["password"],
        (&json!("[concat('not', 'evaluated')]"), true),
        "supplied values are literal"
    );
    assert!(values["settings"].1);
    assert!(!values["count"].1);
    assert_eq!(values["stamp"].0, &json!("20190305"));
    let token = values["token"].0.as_str().unwrap();
    assert_eq!(uuid::Uuid::parse_str(token).unwrap().get_version_num(), 4);
    let again = prepare(template.clone(), json!({"password": {"value": "x"}})).unwrap();
    let token_again = again
        .parameters()
        .iter()
        .find(|p| p.name == "token")
        .unwrap();
    assert_eq!(
        token_again.value,
        json!(token),
        "the same seed gives the same newGuid"
    );
    let debug = format!("{plan:?}");
    assert!(
        !debug.contains("not', 'evaluated"),
        "secure values never reach Debug output"
    );
    let shown = plan.parameters_for_response();
    assert_eq!(shown["password"], json!({"type": "SecureString"}));
    assert_eq!(shown["settings"], json!({"type": "SecureObject"}));
    assert_eq!(shown["count"], json!({"type": "Int", "value": 2}));

    let error = |parameters: Value| prepare(template.clone(), parameters).unwrap_err();
    let missing = error(json!({}));
    assert_eq!(missing.code.as_str(), "InvalidTemplate");
    assert!(missing.message.contains("The value for the template parameter 'password' at line '0' and column '0' is not provided."), "{}", missing.message);
    let not_allowed = error(json!({"password": {"value": "x"}, "sizes": {"value": ["Medium"]}}));
    assert!(
        not_allowed
            .message
            .contains("The parameter value is not part of the allowed value(s): 'Small,Large'."),
        "{}",
        not_allowed.message
    );
    assert!(
        error(json!({"password": {"value": "x"}, "count": {"value": 9}}))
            .message
            .contains("less than or equal to '5'")
    );
    assert!(
        error(json!({"password": {"value": "x"}, "prefix": {"value": "g"}}))
            .message
            .contains("Length of the value should be greater than or equal to '2'")
    );
    let wrong_type = error(json!({"password": {"value": "x"}, "count": {"value": "3"}}));
    assert!(
        wrong_type.message.contains(
            "Template parameter JToken type is not valid. Expected 'Integer'. Actual 'String'."
        ),
        "{}",
        wrong_type.message
    );
    let unknown = error(json!({"password": {"value": "x"}, "extra": {"value": 1}}));
    assert!(
        unknown
            .message
            .contains("The template parameters 'extra' in the parameters file are not valid"),
        "{}",
        unknown.message
    );
    let key_vault =
        error(json!({"password": {"reference": {"keyVault": {"id": "/x"}, "secretName": "s"}}}));
    assert_eq!(
        key_vault.code.as_str(),
        "InvalidDeploymentParameterKeyVaultReference"
    );
}

#[test]
fn errors_point_at_the_line_and_column_of_the_text() {
    let text = "\u{feff}{\n  // a comment az keeps\n  \"$schema\": \"https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#\",\n  \"contentVersion\": \"1.0.0.0\",\n  \"parameters\": {\n    \"galleryName\": {\n      \"type\": \"string\"\n    }\n  },\n  /* block */\n  \"resources\": []\n}\n";
    let error = prepare_text(text, json!({})).unwrap_err();
    assert_eq!((error.position.line, error.position.column), (6, 20));
    assert!(
        error
            .message
            .contains("'galleryName' at line '6' and column '20' is not provided"),
        "{}",
        error.message
    );
    assert_eq!(error.path, "parameters.galleryName");

    let broken = prepare_text(
        "{\n  \"contentVersion\": \"1.0.0.0\",\n  \"resources\": [ { \"name\": } ]\n}",
        json!({}),
    )
    .unwrap_err();
    assert_eq!(broken.code.as_str(), "InvalidTemplate");
    assert_eq!(broken.position.line, 3);
    assert!(broken.message.contains("line 3"), "{}", broken.message);

    let no_version = prepare_text("{\"resources\": []}", json!({})).unwrap_err();
    assert!(
        no_version
            .message
            .contains("Required property 'contentVersion' not found")
    );
    let unknown_member = prepare_text(
        "{\"contentVersion\": \"1.0.0.0\", \"resource\": []}",
        json!({}),
    )
    .unwrap_err();
    assert!(
        unknown_member
            .message
            .contains("Could not find member 'resource' on object of type 'Template'"),
        "{}",
        unknown_member.message
    );
}

#[test]
fn variables_copy_loops_order_and_cycles() {
    let plan = prepare(
        rg_template(json!({
            "variables": {
                "first": "[concat(variables('second'), '-first')]",
                "second": "second",
                "disks": {"copy": [{"name": "dataDisks", "count": 2, "input": {"lun": "[copyIndex('dataDisks')]", "name": "[concat('disk', copyIndex('dataDisks', 1))]"}}]},
                "copy": [{"name": "names", "count": 3, "input": "[concat('item', copyIndex('names'))]"}],
            },
            "resources": [],
        })),
        json!({}),
    )
    .unwrap();
    let variables: serde_json::Map<String, Value> = plan.variables().iter().cloned().collect();
    assert_eq!(variables["first"], json!("second-first"));
    assert_eq!(
        variables["disks"],
        json!({"dataDisks": [{"lun": 0, "name": "disk1"}, {"lun": 1, "name": "disk2"}]})
    );
    assert_eq!(variables["names"], json!(["item0", "item1", "item2"]));
    let cycle = prepare(rg_template(json!({"variables": {"a": "[variables('b')]", "b": "[variables('a')]"}, "resources": []})), json!({})).unwrap_err();
    assert!(cycle.message.contains("circular"), "{}", cycle.message);
    let no_reference = prepare(
        rg_template(json!({"variables": {"a": "[reference('x').id]"}, "resources": []})),
        json!({}),
    )
    .unwrap_err();
    assert!(
        no_reference
            .message
            .contains("The template function 'reference' is not expected at this location")
    );
}

#[test]
fn copy_loops_conditions_children_and_dependencies() {
    let template = rg_template(json!({
        "parameters": {"count": {"type": "int", "defaultValue": 4}},
        "resources": [
            gallery("gallery"),
            {
                "type": "Microsoft.Compute/galleries/images", "apiVersion": "2022-03-03",
                "name": "[concat('gallery/image', copyIndex(1))]",
                "location": "westus",
                "copy": {"name": "images", "count": "[parameters('count')]", "mode": "serial", "batchSize": 2},
                "dependsOn": ["gallery"],
                "properties": {"osType": "Linux"},
            },
            {
                "type": "Microsoft.Compute/galleries", "apiVersion": "2022-03-03", "name": "skipped", "location": "westus",
                "condition": "[equals(parameters('count'), 0)]",
            },
            {
                "type": "Microsoft.Compute/galleries", "apiVersion": "2022-03-03", "name": "parent", "location": "westus",
                "dependsOn": ["images"],
                "resources": [{
                    "type": "images", "apiVersion": "2022-03-03", "name": "child", "location": "westus",
                    "dependsOn": ["[resourceId('Microsoft.Compute/galleries', 'parent')]"],
                    "properties": {"description": "[reference('gallery').description]", "other": "[reference(resourceId('Microsoft.Compute/galleries', 'skipped'), '2022-03-03').x]"},
                }],
            },
        ],
    }));
    let plan = prepare(template, json!({})).unwrap();
    let resources = plan.resources();
    assert_eq!(resources.len(), 8);
    let names: Vec<&str> = resources
        .iter()
        .map(|instance| instance.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "gallery",
            "gallery/image1",
            "gallery/image2",
            "gallery/image3",
            "gallery/image4",
            "skipped",
            "parent",
            "parent/child"
        ]
    );
    assert_eq!(
        resources[1].resource_id,
        group_id("Microsoft.Compute/galleries/gallery/images/image1")
    );
    assert_eq!(
        resources[7].resource_type,
        "Microsoft.Compute/galleries/images"
    );
    assert_eq!(
        resources[7].resource_id,
        group_id("Microsoft.Compute/galleries/parent/images/child")
    );
    let copy = resources[3].copy.as_ref().unwrap();
    assert_eq!(
        (
            copy.loop_name.as_str(),
            copy.index,
            copy.mode,
            copy.batch_size,
            copy.batch
        ),
        ("images", 2, CopyMode::Serial, 2, 1)
    );
    assert_eq!(resources[1].depends_on, [0]);
    assert_eq!(
        resources[3].depends_on,
        [0, 1, 2],
        "batch 1 waits for batch 0"
    );
    assert_eq!(resources[5].condition, Condition::False);
    assert_eq!(
        resources[6].depends_on,
        [1, 2, 3, 4],
        "a copy loop name means all its instances"
    );
    assert_eq!(
        resources[7].depends_on,
        [0, 6],
        "explicit by id, implicit by reference('gallery'), none by id"
    );
    assert_eq!(plan.declared_resource_ids().len(), 7);

    let mut schedule = Schedule::new(&plan);
    assert_eq!(schedule.state(5), ResourceState::Skipped);
    assert_eq!(schedule.ready(), [0]);
    schedule.start(0);
    schedule.finish(0, ResourceState::Succeeded);
    assert_eq!(schedule.ready(), [1, 2]);
    for index in [1, 2] {
        schedule.start(index);
        schedule.finish(index, ResourceState::Succeeded);
    }
    assert_eq!(schedule.ready(), [3, 4]);
    schedule.finish(3, ResourceState::Failed);
    schedule.finish(4, ResourceState::Succeeded);
    assert_eq!(schedule.state(6), ResourceState::Blocked);
    assert_eq!(schedule.state(7), ResourceState::Blocked);
    assert!(schedule.is_finished());
    assert!(!schedule.succeeded());
    assert_eq!(Schedule::waves(&plan).len(), 5);
}

#[test]
fn dependency_errors_are_validation_errors() {
    let dangling = prepare(rg_template(json!({"resources": [{"type": "Microsoft.Compute/galleries", "apiVersion": "2022-03-03", "name": "g", "dependsOn": ["Microsoft.Compute/galleries/missing"]}]})), json!({})).unwrap_err();
    assert!(
        dangling.message.contains(
            "The resource 'Microsoft.Compute/galleries/missing' is not defined in the template."
        ),
        "{}",
        dangling.message
    );
    assert_eq!(dangling.path, "resources[0].dependsOn[0]");
    let mut first = gallery("a");
    first["dependsOn"] = json!(["b"]);
    let mut second = gallery("b");
    second["dependsOn"] = json!(["[resourceId('Microsoft.Compute/galleries', 'a')]"]);
    let cycle = prepare(
        rg_template(json!({"resources": [first, second]})),
        json!({}),
    )
    .unwrap_err();
    assert!(
        cycle.message.contains(&format!(
            "Circular dependency detected on resource: '{}'.",
            group_id("Microsoft.Compute/galleries/a")
        )),
        "{}",
        cycle.message
    );
    let mut referencing = gallery("c");
    referencing["properties"] = json!({"description": "[reference('nowhere').x]"});
    let unknown = prepare(rg_template(json!({"resources": [referencing]})), json!({})).unwrap_err();
    assert!(unknown.message.contains("The template reference 'nowhere' is not valid: could not find template resource or resource copy with this name."), "{}", unknown.message);
    let segments = prepare(rg_template(json!({"resources": [{"type": "Microsoft.Compute/galleries/images", "apiVersion": "2022-03-03", "name": "only-one"}]})), json!({})).unwrap_err();
    assert!(
        segments.message.contains("has incorrect segment lengths"),
        "{}",
        segments.message
    );
    let twice = prepare(
        rg_template(json!({"resources": [gallery("same"), gallery("same")]})),
        json!({}),
    )
    .unwrap_err();
    assert!(
        twice
            .message
            .contains("is defined multiple times in a template"),
        "{}",
        twice.message
    );
    let bad_syntax = prepare(rg_template(json!({"resources": [{"type": "Microsoft.Compute/galleries", "apiVersion": "2022-03-03", "name": "g", "properties": {"a": "[concat('x']"}}]})), json!({})).unwrap_err();
    assert!(
        bad_syntax
            .message
            .contains("expected token 'RightParenthesis' and actual 'EndOfData'"),
        "{}",
        bad_syntax.message
    );
}

#[test]
fn limits() {
    let copy = |count: i64| {
        rg_template(
            json!({"resources": [{"type": "Microsoft.Compute/galleries", "apiVersion": "2022-03-03", "name": "[concat('g', copyIndex())]", "copy": {"name": "loop", "count": count}}]}),
        )
    };
    assert_eq!(
        prepare(copy(800), json!({})).unwrap().resources().len(),
        800
    );
    assert!(
        prepare(copy(801), json!({}))
            .unwrap_err()
            .message
            .contains("cannot exceed '800'")
    );
    let mut two_loops = copy(800);
    two_loops["resources"]
        .as_array_mut()
        .unwrap()
        .push(gallery("one-more"));
    assert!(prepare(two_loops, json!({})).unwrap_err().message.contains(
        "The number of template resources limit exceeded. Limit: '800' and actual: '801'."
    ));
    let parameters: serde_json::Map<String, Value> = (0..257)
        .map(|index| {
            (
                format!("p{index}"),
                json!({"type": "int", "defaultValue": 1}),
            )
        })
        .collect();
    assert!(
        prepare(rg_template(json!({"parameters": parameters})), json!({}))
            .unwrap_err()
            .message
            .contains("exceeds the limit of '256'")
    );
    let outputs: serde_json::Map<String, Value> = (0..65)
        .map(|index| (format!("o{index}"), json!({"type": "int", "value": 1})))
        .collect();
    assert!(
        prepare(rg_template(json!({"outputs": outputs})), json!({}))
            .unwrap_err()
            .message
            .contains("exceeds the limit of '64'")
    );
    let long = format!("[concat('{}')]", "x".repeat(24_600));
    assert!(
        prepare(rg_template(json!({"variables": {"v": long}})), json!({}))
            .unwrap_err()
            .message
            .contains("24576")
    );
    assert!(
        arm_templates::Template::parse(&" ".repeat(4 * 1024 * 1024 + 1))
            .unwrap_err()
            .message
            .contains("exceeds the limit")
    );
}

#[test]
fn bodies_read_deployed_state_when_they_run() {
    let template = rg_template(json!({
        "resources": [
            gallery("source"),
            {
                "type": "Microsoft.Compute/galleries/images", "apiVersion": "2022-03-03", "name": "source/image",
                "location": "[reference('source', '2022-03-03', 'Full').location]",
                "dependsOn": ["source"],
                "tags": {"key": "[listKeys(resourceId('Microsoft.Storage/storageAccounts', 'sa'), '2023-01-01').keys[0].value]"},
                "properties": {
                    "description": "[reference('source').description]",
                    "copy": [{"name": "features", "count": 2, "input": {"name": "[concat('f', copyIndex('features'))]"}}],
                },
            },
            {"type": "Microsoft.Compute/galleries", "apiVersion": "2022-03-03", "name": "late", "location": "westus", "condition": "[equals(reference('source').description, 'yes')]"},
        ],
        "outputs": {
            "description": {"type": "string", "value": "[reference('source').description]"},
            "names": {"type": "array", "copy": {"count": 2, "input": "[concat('n', copyIndex())]"}},
            "hidden": {"type": "securestring", "value": "secret"},
            "skipped": {"type": "string", "condition": false, "value": "x"},
        },
    }));
    let plan = prepare(template, json!({})).unwrap();
    assert_eq!(
        plan.resources()[1].location,
        None,
        "a location that reads state waits for deployment"
    );
    assert_eq!(plan.resources()[2].condition, Condition::Deferred);
    assert_eq!(plan.resources()[2].depends_on, [0]);
    let source_id = group_id("Microsoft.Compute/galleries/source");
    let first = plan.evaluate_resource(1, &NothingDeployed).unwrap_err();
    assert_eq!(
        first,
        EvaluationError::Pending(RuntimeRequest::Reference {
            resource_id: source_id.clone(),
            api_version: "2022-03-03".into(),
            full: true
        })
    );
    let mut state = DeployedResources::new();
    state.insert_resource(&source_id, json!({"id": source_id, "name": "source", "location": "eastus", "properties": {"description": "yes"}}));
    let account = format!(
        "/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}/providers/Microsoft.Storage/storageAccounts/sa"
    );
    let second = plan.evaluate_resource(1, &state).unwrap_err();
    assert!(
        matches!(second, EvaluationError::Pending(RuntimeRequest::List { ref resource_id, ref action, .. }) if *resource_id == account && action == "listKeys"),
        "{second:?}"
    );
    state.insert_list_result(&account, "listKeys", json!({"keys": [{"value": "k1"}]}));
    let body = plan.evaluate_resource(1, &state).unwrap();
    assert_eq!(
        body.body,
        json!({
            "location": "eastus",
            "tags": {"key": "k1"},
            "properties": {"description": "yes", "features": [{"name": "f0"}, {"name": "f1"}]},
        })
    );
    assert!(body.deploy);
    assert!(plan.evaluate_resource(2, &state).unwrap().deploy);
    let outputs = plan.evaluate_outputs(&state).unwrap();
    let outputs: std::collections::HashMap<String, arm_templates::OutputValue> =
        outputs.into_iter().collect();
    assert_eq!(outputs.len(), 3, "a false condition drops the output");
    assert_eq!(outputs["description"].value, json!("yes"));
    assert_eq!(outputs["names"].value, json!(["n0", "n1"]));
    assert!(outputs["hidden"].secure);
    assert_eq!(outputs["hidden"].type_name, "SecureString");

    let bad = prepare(rg_template(json!({"resources": [{"type": "Microsoft.Compute/galleries", "apiVersion": "2022-03-03", "name": "g", "properties": {"a": "[createArray(1)[3]]"}}]})), json!({})).unwrap();
    let EvaluationError::Failed(error) = bad.evaluate_resource(0, &NothingDeployed).unwrap_err()
    else {
        panic!("expected a failure")
    };
    assert!(error.message.starts_with(&format!("Unable to process template language expressions for resource '{}' at line '0' and column '0'. 'The language expression property array index '3' is out of bounds.", group_id("Microsoft.Compute/galleries/g"))), "{}", error.message);
    let wrong_output = prepare(
        rg_template(json!({"outputs": {"o": {"type": "string", "value": 5}}})),
        json!({}),
    )
    .unwrap();
    let EvaluationError::Failed(error) =
        wrong_output.evaluate_outputs(&NothingDeployed).unwrap_err()
    else {
        panic!("expected a failure")
    };
    assert!(
        error.message.contains(
            "Template output JToken type is not valid. Expected 'String, Uri'. Actual 'Integer'."
        ),
        "{}",
        error.message
    );
}

#[test]
fn preflight_evaluates_what_it_can_and_reports_invalid_bodies_as_validation_errors() {
    let mut reading = gallery("reads");
    reading["properties"] = json!({"description": "[reference('plain').description]"});
    let mut plain = gallery("plain");
    plain["properties"] = json!({"description": "[toUpper('x')]"});
    let plan = prepare(
        rg_template(json!({"resources": [plain, reading]})),
        json!({}),
    )
    .unwrap();
    let bodies = plan.preflight().unwrap();
    assert_eq!(
        bodies[0].as_ref().unwrap().body["properties"],
        json!({"description": "X"})
    );
    assert!(
        bodies[1].is_none(),
        "a body that reads deployed state waits for deployment"
    );
    let mut broken = gallery("broken");
    broken["properties"] = json!({"description": "[substring('abc', 5)]"});
    let error = prepare(rg_template(json!({"resources": [broken]})), json!({}))
        .unwrap()
        .preflight()
        .unwrap_err();
    assert!(error.message.starts_with("Deployment template validation failed: 'The template resource 'broken' at line '0' and column '0' is not valid: The index and length parameters"), "{}", error.message);
}

#[test]
fn plans_can_be_shared_across_tasks() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<arm_templates::Plan>();
    shareable::<arm_templates::Template>();
    shareable::<arm_templates::TemplateError>();
    shareable::<arm_templates::Schedule>();
}
