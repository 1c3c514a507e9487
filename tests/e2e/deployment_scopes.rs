//! Deployments at subscription scope: a template that creates a resource group and deploys a
//! nested (inner-scope) template into it, as Bicep modules compile; each nested deployment is a
//! real deployment of its group, created through the front door like any resource.

use galleryd_tests::{DEVELOPMENT_SUBSCRIPTION_ID, TestApp, both_stores};
use serde_json::json;

use crate::deployments::{DEPLOYMENTS_API, deploy};

fn subscription_deployment(app: &TestApp, name: &str) -> String {
    app.subscription_path(&format!(
        "/providers/Microsoft.Resources/deployments/{name}"
    ))
}

both_stores! {
    async fn a_subscription_template_creates_a_group_and_deploys_into_it(backend) {
        let app = TestApp::start(backend).await;
        let inner = json!({
            "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
            "contentVersion": "1.0.0.0",
            "parameters": {"galleryName": {"type": "string"}},
            "resources": [{"type": "Microsoft.Compute/galleries", "apiVersion": "2022-03-03", "name": "[parameters('galleryName')]", "location": "[resourceGroup().location]"}],
            "outputs": {"galleryId": {"type": "string", "value": "[resourceId('Microsoft.Compute/galleries', parameters('galleryName'))]"}}
        });
        let template = json!({
            "$schema": "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#",
            "contentVersion": "1.0.0.0",
            "parameters": {"groupName": {"type": "string", "defaultValue": "images"}},
            "resources": [
                {"type": "Microsoft.Resources/resourceGroups", "apiVersion": "2022-09-01", "name": "[parameters('groupName')]", "location": "[deployment().location]", "tags": {"made-by": "template"}},
                {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "gallery", "resourceGroup": "[parameters('groupName')]",
                 "dependsOn": ["[subscriptionResourceId('Microsoft.Resources/resourceGroups', parameters('groupName'))]"],
                 "properties": {"mode": "Incremental", "expressionEvaluationOptions": {"scope": "inner"}, "template": inner,
                                "parameters": {"galleryName": {"value": "[concat('gallery', uniqueString(subscription().subscriptionId))]"}}}}
            ],
            "outputs": {
                "galleryId": {"type": "string", "value": "[reference(resourceId(parameters('groupName'), 'Microsoft.Resources/deployments', 'gallery'), '2022-09-01').outputs.galleryId.value]"}
            }
        });
        let path = subscription_deployment(&app, "platform");
        // A subscription deployment needs a location.
        app.request(reqwest::Method::PUT, &format!("{path}?api-version={DEPLOYMENTS_API}"),
            Some(&json!({"properties": {"mode": "Incremental", "template": template}}))).await
            .assert_error(400, "LocationRequired");
        let (put, deployment) = deploy(&app, &path, &json!({"location": "westus", "properties": {"mode": "Incremental", "template": template}})).await;
        put.assert_status(201);
        assert_eq!(deployment["properties"]["provisioningState"], "Succeeded", "{deployment}");
        assert_eq!(deployment["id"], format!("/subscriptions/{DEVELOPMENT_SUBSCRIPTION_ID}/providers/Microsoft.Resources/deployments/platform"));
        assert_eq!(deployment["location"], "westus");
        let gallery_id = deployment["properties"]["outputs"]["galleryId"]["value"].as_str().unwrap().to_string();
        assert!(gallery_id.starts_with(&format!("/subscriptions/{DEVELOPMENT_SUBSCRIPTION_ID}/resourceGroups/images/providers/Microsoft.Compute/galleries/gallery")), "{gallery_id}");

        // The group and the gallery exist; the nested deployment is in the group's history.
        let group = app.request(reqwest::Method::GET, &format!("{}?api-version=2024-11-01", app.group_path("images")), None).await;
        group.assert_status(200);
        assert_eq!(group.json()["tags"]["made-by"], "template");
        app.request(reqwest::Method::GET, &format!("{gallery_id}?api-version=2026-03-03"), None).await.assert_status(200);
        let nested = app.request(reqwest::Method::GET, &format!("{}/providers/Microsoft.Resources/deployments/gallery?api-version={DEPLOYMENTS_API}", app.group_path("images")), None).await;
        nested.assert_status(200);
        assert_eq!(nested.json()["properties"]["provisioningState"], "Succeeded");
        // The subscription's history and operations.
        let listed = app.request(reqwest::Method::GET, &format!("{}?api-version={DEPLOYMENTS_API}", app.subscription_path("/providers/Microsoft.Resources/deployments")), None).await.json();
        let names: Vec<&str> = listed["value"].as_array().unwrap().iter().map(|item| item["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["platform"]);
        let operations = app.request(reqwest::Method::GET, &format!("{path}/operations?api-version={DEPLOYMENTS_API}"), None).await.json();
        let types: Vec<&str> = operations["value"].as_array().unwrap().iter().map(|item| item["properties"]["targetResource"]["resourceType"].as_str().unwrap()).collect();
        assert_eq!(types, ["Microsoft.Resources/resourceGroups", "Microsoft.Resources/deployments"]);
        // A resource-group template is refused at subscription scope.
        let group_template = json!({"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#", "contentVersion": "1.0.0.0", "resources": []});
        app.request(reqwest::Method::PUT, &format!("{}?api-version={DEPLOYMENTS_API}", subscription_deployment(&app, "wrong")),
            Some(&json!({"location": "westus", "properties": {"mode": "Incremental", "template": group_template}}))).await
            .assert_error(400, "InvalidTemplate");
    }
}

both_stores! {
    async fn an_outer_scope_nested_template_sees_the_parents_parameters(backend) {
        let app = TestApp::start(backend).await;
        app.create_group("rg", "westus").await;
        app.create_group("other", "eastus").await;
        let template = json!({
            "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
            "contentVersion": "1.0.0.0",
            "parameters": {"galleryName": {"type": "string"}},
            "variables": {"description": "[concat('made for ', parameters('galleryName'))]"},
            "resources": [
                {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "nested", "resourceGroup": "other",
                 "properties": {"mode": "Incremental", "template": {
                     "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
                     "contentVersion": "1.0.0.0",
                     "resources": [{"type": "Microsoft.Compute/galleries", "apiVersion": "2022-03-03", "name": "[parameters('galleryName')]",
                                    "location": "[resourceGroup().location]", "properties": {"description": "[variables('description')]"}}]
                 }}}
            ]
        });
        let path = format!("{}/providers/Microsoft.Resources/deployments/outer", app.group_path("rg"));
        let (put, deployment) = deploy(&app, &path,
            &json!({"properties": {"mode": "Incremental", "template": template, "parameters": {"galleryName": {"value": "shared"}}}})).await;
        put.assert_status(201);
        assert_eq!(deployment["properties"]["provisioningState"], "Succeeded", "{deployment}");
        let gallery = app.get(&app.gallery_path("other", "shared")).await;
        gallery.assert_status(200);
        assert_eq!(gallery.json()["properties"]["description"], "made for shared");
        // In the outer scope resourceGroup() is the parent's group, as in Azure.
        assert_eq!(gallery.json()["location"], "westus");
        let nested = app.request(reqwest::Method::GET, &format!("{}/providers/Microsoft.Resources/deployments/nested?api-version={DEPLOYMENTS_API}", app.group_path("other")), None).await;
        nested.assert_status(200);
        assert_eq!(nested.json()["properties"]["provisioningState"], "Succeeded");
    }
}

const LINK_PREFIX: &str = "https://raw.githubusercontent.com/contoso/templates/main/";

both_stores! {
    async fn linked_templates_are_read_from_the_mapped_directory(backend) {
        let directory = galleryd_tests::TempDirectory::new();
        std::fs::create_dir_all(directory.0.join("gallery/nested")).unwrap();
        std::fs::write(directory.0.join("gallery/main.json"), r#"{
  // the parent, linked: its nested deployment is linked relative to it
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "parameters": {"galleryName": {"type": "string"}},
  "resources": [
    {"type": "Microsoft.Compute/galleries", "apiVersion": "2022-03-03", "name": "[parameters('galleryName')]", "location": "westus"},
    {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "image", "dependsOn": ["[parameters('galleryName')]"],
     "properties": {"mode": "Incremental", "templateLink": {"relativePath": "nested/image.json"},
                    "parameters": {"galleryName": {"value": "[parameters('galleryName')]"}}}}
  ],
  "outputs": {"link": {"type": "string", "value": "[deployment().properties.templateLink.uri]"}}
}"#).unwrap();
        std::fs::write(directory.0.join("gallery/nested/image.json"), r#"{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "parameters": {"galleryName": {"type": "string"}},
  "resources": [{"type": "Microsoft.Compute/galleries/images", "apiVersion": "2022-03-03", "name": "[concat(parameters('galleryName'), '/linked')]",
                 "location": "westus", "properties": {"osType": "Linux", "osState": "Generalized", "identifier": {"publisher": "p", "offer": "o", "sku": "linked"}}}]
}"#).unwrap();
        let mapping = format!("{LINK_PREFIX}={}", directory.0.display());
        let app = TestApp::start_with(backend, |config| config.template_links = vec![mapping]).await;
        app.create_group("rg", "westus").await;
        let path = format!("{}/providers/Microsoft.Resources/deployments/linked", app.group_path("rg"));
        let link = format!("{LINK_PREFIX}gallery/main.json");
        let (put, deployment) = deploy(&app, &path, &json!({"properties": {"mode": "Incremental",
            "templateLink": {"uri": link}, "parameters": {"galleryName": {"value": "fromlink"}}}})).await;
        put.assert_status(201);
        assert_eq!(deployment["properties"]["provisioningState"], "Succeeded", "{deployment}");
        assert_eq!(deployment["properties"]["outputs"]["link"]["value"], link.as_str());
        assert_eq!(deployment["properties"]["templateLink"]["uri"], link.as_str());
        app.get(&app.image_path("rg", "fromlink", "linked")).await.assert_status(200);

        // A URI no mapping covers, and a path that leaves the directory, are refused clearly.
        for uri in ["https://example.com/elsewhere.json".to_string(), format!("{LINK_PREFIX}../secret.json")] {
            let refused = app.request(reqwest::Method::PUT, &format!("{path}?api-version={DEPLOYMENTS_API}"),
                Some(&json!({"properties": {"mode": "Incremental", "templateLink": {"uri": uri}}}))).await;
            refused.assert_error(400, "InvalidTemplateDeployment");
            assert!(refused.json()["error"]["message"].as_str().unwrap().contains("--template-link"));
        }
    }
}
