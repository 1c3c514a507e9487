//! Template deployments at resource-group scope: a template creating a gallery, an image definition
//! and an image version (made from an uploaded snapshot) deploys through the front door, with its
//! long-running operation, operations, outputs and history; bad templates and unserved types are
//! refused before anything is created.

use galleryd_tests::{GALLERY_API, TestApp, TestResponse, both_stores};
use serde_json::{Value, json};

use crate::disks::{self, MIB};
use crate::gallery_image_versions::upload_snapshot;

/// The api-version `az` 2.91 sends for deployments.
pub(crate) const DEPLOYMENTS_API: &str = "2025-04-01";

pub(crate) fn deployment_path(app: &TestApp, group: &str, name: &str) -> String {
    format!(
        "{}/providers/Microsoft.Resources/deployments/{name}",
        app.group_path(group)
    )
}

fn with_api(path: &str) -> String {
    let separator = if path.contains('?') { '&' } else { '?' };
    format!("{path}{separator}api-version={DEPLOYMENTS_API}")
}

/// PUTs a deployment body and follows its `Azure-AsyncOperation` to the end; answers the PUT and
/// the final GET.
pub(crate) async fn deploy(app: &TestApp, path: &str, body: &Value) -> (TestResponse, Value) {
    let put = app
        .request(reqwest::Method::PUT, &with_api(path), Some(body))
        .await;
    if put.status >= 400 {
        return (put, Value::Null);
    }
    let status_url = put
        .header("azure-asyncoperation")
        .expect("a deployment PUT names its status URL")
        .to_string();
    for _ in 0..600 {
        let status = app.request(reqwest::Method::GET, &status_url, None).await;
        status.assert_status(200);
        if status.json()["status"] != "Running" {
            break;
        }
    }
    let fetched = app
        .request(reqwest::Method::GET, &with_api(path), None)
        .await;
    fetched.assert_status(200);
    (put, fetched.json())
}

/// A template in the shape of the public quickstarts: a gallery, an image definition and an image
/// version from a snapshot, with the dependencies spelled through `resourceId`, and outputs.
pub(crate) fn gallery_template() -> String {
    r#"{
  // az sends the file as it is: comments included
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "parameters": {
    "galleryName": {"type": "string"},
    "imageDefinitionName": {"type": "string", "defaultValue": "ubuntu"},
    "sourceSnapshotId": {"type": "string"},
    "location": {"type": "string", "defaultValue": "[resourceGroup().location]"}
  },
  "variables": {"publisher": "[concat('Contoso-', uniqueString(resourceGroup().id))]"},
  "resources": [
    {
      "type": "Microsoft.Compute/galleries",
      "apiVersion": "2022-03-03",
      "name": "[parameters('galleryName')]",
      "location": "[parameters('location')]",
      "properties": {"description": "deployed by a template"}
    },
    {
      "type": "Microsoft.Compute/galleries/images",
      "apiVersion": "2022-03-03",
      "name": "[format('{0}/{1}', parameters('galleryName'), parameters('imageDefinitionName'))]",
      "location": "[parameters('location')]",
      "dependsOn": ["[resourceId('Microsoft.Compute/galleries', parameters('galleryName'))]"],
      "properties": {
        "osType": "Linux",
        "osState": "Generalized",
        "identifier": {"publisher": "[variables('publisher')]", "offer": "Agents", "sku": "ubuntu-24.04"},
        "hyperVGeneration": "V2"
      }
    },
    {
      "type": "Microsoft.Compute/galleries/images/versions",
      "apiVersion": "2022-03-03",
      "name": "[format('{0}/{1}/1.0.0', parameters('galleryName'), parameters('imageDefinitionName'))]",
      "location": "[parameters('location')]",
      "dependsOn": ["[resourceId('Microsoft.Compute/galleries/images', parameters('galleryName'), parameters('imageDefinitionName'))]"],
      "properties": {
        "publishingProfile": {"targetRegions": [{"name": "[parameters('location')]", "regionalReplicaCount": 1}, {"name": "eastus", "regionalReplicaCount": 1}]},
        "storageProfile": {"osDiskImage": {"source": {"id": "[parameters('sourceSnapshotId')]"}}}
      }
    }
  ],
  "outputs": {
    "galleryId": {"type": "string", "value": "[resourceId('Microsoft.Compute/galleries', parameters('galleryName'))]"},
    "publisher": {"type": "string", "value": "[reference(resourceId('Microsoft.Compute/galleries/images', parameters('galleryName'), parameters('imageDefinitionName')), '2022-03-03').identifier.publisher]"},
    "replicaRegions": {"type": "int", "value": "[length(reference(resourceId('Microsoft.Compute/galleries/images/versions', parameters('galleryName'), parameters('imageDefinitionName'), '1.0.0'), '2022-03-03').publishingProfile.targetRegions)]"}
  }
}"#
    .to_string()
}

/// The body `az deployment group create` sends: the template text verbatim inside JSON.
pub(crate) fn az_body(template: &str, parameters: &Value) -> String {
    format!(
        "{{\"properties\": {{\"template\": {template}, \"parameters\": {parameters}, \"mode\": \"Incremental\"}}}}"
    )
}

/// Sends `body` as it is (not re-serialized), as az sends template text.
pub(crate) async fn send_text(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    body: String,
) -> TestResponse {
    let response = app
        .client
        .request(method, format!("{}{}", app.http, with_api(path)))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("request sent");
    TestResponse {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        text: response.text().await.unwrap_or_default(),
    }
}

both_stores! {
    async fn a_gallery_template_deploys_through_the_front_door(backend) {
        let app = TestApp::start(backend).await;
        app.create_group("rg", "westus").await;
        let data = disks::pattern(7, 2 * MIB as usize);
        let snapshot_id = upload_snapshot(&app, "rg", "os", &data).await;
        let path = deployment_path(&app, "rg", "gallery-quickstart");
        let parameters = json!({"galleryName": {"value": "deployed"}, "sourceSnapshotId": {"value": snapshot_id}});
        let text = az_body(&gallery_template(), &parameters);

        // az validates first, with the file text as it is.
        let validated = send_text(&app, reqwest::Method::POST, &format!("{path}/validate"), text.clone()).await;
        validated.assert_status(200);
        let validated = validated.json();
        assert_eq!(validated["properties"]["validatedResources"].as_array().unwrap().len(), 3);
        assert_eq!(validated["properties"]["provisioningState"], "Succeeded");
        app.get(&app.gallery_path("rg", "deployed")).await.assert_error(404, "ResourceNotFound");

        let put = send_text(&app, reqwest::Method::PUT, &path, text).await;
        put.assert_status(201);
        assert_eq!(put.json()["properties"]["provisioningState"], "Accepted");
        assert_eq!(put.header("retry-after"), Some("1"));
        let status_url = put.header("azure-asyncoperation").expect("status URL").to_string();
        assert!(status_url.contains("/providers/Microsoft.Resources/deployments/gallery-quickstart/operationStatuses/"), "{status_url}");
        let mut status = Value::Null;
        for _ in 0..600 {
            status = app.request(reqwest::Method::GET, &status_url, None).await.json();
            if status["status"] != "Running" { break; }
        }
        assert_eq!(status, json!({"status": "Succeeded"}));

        let deployment = app.request(reqwest::Method::GET, &with_api(&path), None).await;
        deployment.assert_status(200);
        let deployment = deployment.json();
        let properties = &deployment["properties"];
        assert_eq!(properties["provisioningState"], "Succeeded");
        assert_eq!(deployment["type"], "Microsoft.Resources/deployments");
        assert_eq!(properties["mode"], "Incremental");
        assert_eq!(properties["parameters"]["imageDefinitionName"], json!({"type": "String", "value": "ubuntu"}));
        assert_eq!(properties["parameters"]["location"]["value"], "westus");
        let gallery_id = format!("/subscriptions/{}/resourceGroups/rg/providers/Microsoft.Compute/galleries/deployed", galleryd_tests::DEVELOPMENT_SUBSCRIPTION_ID);
        assert_eq!(properties["outputs"]["galleryId"], json!({"type": "String", "value": gallery_id}));
        let publisher = properties["outputs"]["publisher"]["value"].as_str().unwrap().to_string();
        assert!(publisher.starts_with("Contoso-") && publisher.len() == "Contoso-".len() + 13, "{publisher}");
        assert_eq!(properties["outputs"]["replicaRegions"]["value"], 2);
        assert_eq!(properties["outputResources"].as_array().unwrap().len(), 3);
        assert_eq!(properties["dependencies"].as_array().unwrap().len(), 2);
        assert!(properties["templateHash"].as_str().unwrap().parse::<u64>().is_ok());
        assert!(properties["duration"].as_str().unwrap().starts_with("PT"));

        // The resources exist as if created by REST calls; the version replicated to both regions.
        let gallery = app.get(&app.gallery_path("rg", "deployed")).await;
        gallery.assert_status(200);
        assert_eq!(gallery.json()["properties"]["description"], "deployed by a template");
        let image = app.get(&app.image_path("rg", "deployed", "ubuntu")).await.json();
        assert_eq!(image["properties"]["identifier"]["publisher"], publisher.as_str());
        let version = app.get(&format!("{}/versions/1.0.0?$expand=ReplicationStatus", app.image_path("rg", "deployed", "ubuntu"))).await.json();
        assert_eq!(version["properties"]["provisioningState"], "Succeeded");
        assert_eq!(version["properties"]["replicationStatus"]["aggregatedState"], "Completed", "{version}");

        // One operation per resource, each with its own status.
        let operations = app.request(reqwest::Method::GET, &with_api(&format!("{}/deployments/gallery-quickstart/operations", app.group_path("rg"))), None).await;
        operations.assert_status(200);
        let operations = operations.json()["value"].as_array().unwrap().clone();
        assert_eq!(operations.len(), 3);
        for operation in &operations {
            assert_eq!(operation["properties"]["provisioningState"], "Succeeded", "{operation}");
            assert_eq!(operation["properties"]["statusCode"], "Created", "{operation}");
            assert_eq!(operation["properties"]["provisioningOperation"], "Create");
        }
        let types: Vec<&str> = operations.iter().map(|operation| operation["properties"]["targetResource"]["resourceType"].as_str().unwrap()).collect();
        assert_eq!(types, ["Microsoft.Compute/galleries", "Microsoft.Compute/galleries/images", "Microsoft.Compute/galleries/images/versions"], "dependency order");
        let one = operations[2]["operationId"].as_str().unwrap();
        let fetched = app.request(reqwest::Method::GET, &with_api(&format!("{}/deployments/gallery-quickstart/operations/{one}", app.group_path("rg"))), None).await;
        fetched.assert_status(200);
        assert_eq!(fetched.json(), operations[2]);

        // History: listed, filtered by state, exported, deleted (the resources stay).
        let listed = app.request(reqwest::Method::GET, &with_api(&format!("{}/providers/Microsoft.Resources/deployments/", app.group_path("rg"))), None).await.json();
        assert_eq!(listed["value"].as_array().unwrap().len(), 1);
        let failed_only = app.request(reqwest::Method::GET, &format!("{}&$filter=provisioningState%20eq%20'Failed'", with_api(&format!("{}/providers/Microsoft.Resources/deployments", app.group_path("rg")))), None).await.json();
        assert_eq!(failed_only["value"], json!([]));
        let exported = app.request(reqwest::Method::POST, &with_api(&format!("{path}/exportTemplate")), Some(&json!({}))).await;
        exported.assert_status(200);
        assert_eq!(exported.json()["template"]["parameters"]["galleryName"], json!({"type": "string"}));
        let deleted = app.request(reqwest::Method::DELETE, &with_api(&path), None).await;
        deleted.assert_status(204);
        app.request(reqwest::Method::GET, &with_api(&path), None).await.assert_error(404, "DeploymentNotFound");
        app.request(reqwest::Method::DELETE, &with_api(&path), None).await.assert_status(204);
        app.get(&app.gallery_path("rg", "deployed")).await.assert_status(200);
    }

    async fn a_resource_the_provider_refuses_fails_the_deployment_and_blocks_its_dependents(backend) {
        let app = TestApp::start(backend).await;
        app.create_group("rg", "westus").await;
        let template = json!({
            "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
            "contentVersion": "1.0.0.0",
            "resources": [
                {"type": "Microsoft.Compute/galleries", "apiVersion": "2022-03-03", "name": "good", "location": "westus"},
                {"type": "Microsoft.Compute/galleries", "apiVersion": "2022-03-03", "name": "bad", "location": "westus",
                 "properties": {"sharingProfile": {"permissions": "Everyone"}}},
                {"type": "Microsoft.Compute/galleries/images", "apiVersion": "2022-03-03", "name": "bad/img", "location": "westus",
                 "dependsOn": ["bad"],
                 "properties": {"osType": "Linux", "osState": "Generalized", "identifier": {"publisher": "p", "offer": "o", "sku": "s"}}}
            ]
        });
        let (put, deployment) = deploy(&app, &deployment_path(&app, "rg", "partial"), &json!({"properties": {"mode": "Incremental", "template": template}})).await;
        put.assert_status(201);
        assert_eq!(deployment["properties"]["provisioningState"], "Failed", "{deployment}");
        let error = &deployment["properties"]["error"];
        assert_eq!(error["code"], "DeploymentFailed");
        assert_eq!(error["details"].as_array().unwrap().len(), 1, "{error}");
        assert_eq!(error["details"][0]["code"], "BadRequest");
        let inner: Value = serde_json::from_str(error["details"][0]["message"].as_str().unwrap()).unwrap();
        assert_eq!(inner["error"]["code"], "InvalidParameter", "the provider's own error: {inner}");
        // The independent gallery was created; the dependent image never started.
        app.get(&app.gallery_path("rg", "good")).await.assert_status(200);
        app.get(&app.gallery_path("rg", "bad")).await.assert_error(404, "ResourceNotFound");
        let operations = app.request(reqwest::Method::GET, &with_api(&format!("{}/deployments/partial/operations", app.group_path("rg"))), None).await.json();
        let states: Vec<(String, String)> = operations["value"].as_array().unwrap().iter().map(|operation| (
            operation["properties"]["targetResource"]["resourceName"].as_str().unwrap().to_string(),
            operation["properties"]["provisioningState"].as_str().unwrap().to_string(),
        )).collect();
        assert_eq!(states.len(), 2, "{states:?}");
        assert!(states.contains(&("good".to_string(), "Succeeded".to_string())));
        assert!(states.contains(&("bad".to_string(), "Failed".to_string())));
        let failed = operations["value"].as_array().unwrap().iter().find(|operation| operation["properties"]["provisioningState"] == "Failed").unwrap();
        assert_eq!(failed["properties"]["statusCode"], "BadRequest");
        assert_eq!(failed["properties"]["statusMessage"]["error"]["code"], "InvalidParameter");
        let failed_only = app.request(reqwest::Method::GET, &format!("{}&$filter=provisioningState eq 'Failed'", with_api(&format!("{}/providers/Microsoft.Resources/deployments", app.group_path("rg")))), None).await.json();
        assert_eq!(failed_only["value"].as_array().unwrap().len(), 1);
    }

    async fn bad_templates_and_unserved_types_are_refused_before_anything_is_created(backend) {
        let app = TestApp::start(backend).await;
        app.create_group("rg", "westus").await;
        let path = deployment_path(&app, "rg", "bad");
        // An unknown function, reported at the line of the text az sent.
        let template = "{\n  \"$schema\": \"https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#\",\n  \"contentVersion\": \"1.0.0.0\",\n  // a comment\n  \"resources\": [\n    {\"type\": \"Microsoft.Compute/galleries\", \"apiVersion\": \"2022-03-03\", \"name\": \"[bogus('x')]\", \"location\": \"westus\"}\n  ]\n}";
        let refused = send_text(&app, reqwest::Method::PUT, &path, az_body(template, &json!({}))).await;
        refused.assert_error(400, "InvalidTemplate");
        let info = &refused.json()["error"]["additionalInfo"][0];
        assert_eq!(info["type"], "TemplateViolation");
        assert_eq!(info["info"]["lineNumber"], 6, "{info}");
        assert!(refused.json()["error"]["message"].as_str().unwrap().contains("bogus"));
        // A missing parameter.
        let needs = json!({"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#", "contentVersion": "1.0.0.0",
            "parameters": {"name": {"type": "string"}}, "resources": []});
        let missing = app.request(reqwest::Method::POST, &with_api(&format!("{path}/validate")), Some(&json!({"properties": {"mode": "Incremental", "template": needs}}))).await;
        missing.assert_error(400, "InvalidTemplate");
        assert!(missing.json()["error"]["message"].as_str().unwrap().contains("'name'"));
        // A type galleryd does not serve.
        let storage = json!({"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#", "contentVersion": "1.0.0.0",
            "resources": [{"type": "Microsoft.Storage/storageAccounts", "apiVersion": "2023-01-01", "name": "store", "location": "westus", "sku": {"name": "Standard_LRS"}, "kind": "StorageV2"}]});
        let unserved = app.request(reqwest::Method::PUT, &with_api(&path), Some(&json!({"properties": {"mode": "Incremental", "template": storage}}))).await;
        unserved.assert_error(400, "InvalidTemplateDeployment");
        let detail = &unserved.json()["error"]["details"][0];
        assert_eq!(detail["code"], "PreflightValidationCheckFailed");
        assert_eq!(detail["details"][0]["code"], "InvalidResourceNamespace", "{detail}");
        // A missing group, a bad name, a body without mode.
        app.request(reqwest::Method::PUT, &with_api(&deployment_path(&app, "nowhere", "d")), Some(&json!({"properties": {"mode": "Incremental", "template": needs}}))).await
            .assert_error(404, "ResourceGroupNotFound");
        app.request(reqwest::Method::PUT, &with_api(&deployment_path(&app, "rg", "a%20b")), Some(&json!({"properties": {"mode": "Incremental", "template": needs}}))).await
            .assert_error(400, "DeploymentNameInvalidCharacters");
        app.request(reqwest::Method::PUT, &with_api(&path), Some(&json!({"properties": {"template": needs}}))).await
            .assert_error(400, "InvalidRequestContent");
        // Nothing was recorded.
        let listed = app.request(reqwest::Method::GET, &with_api(&format!("{}/providers/Microsoft.Resources/deployments", app.group_path("rg"))), None).await.json();
        assert_eq!(listed["value"], json!([]));
        let _ = GALLERY_API;
    }
}
