//! Deployments beyond the plain create: mode Complete (what the template no longer declares is
//! deleted, through the front door), cancel (what was not started never starts), and parameters that
//! galleryd cannot resolve (Key Vault references).

use galleryd_tests::{TestApp, both_stores};
use serde_json::{Value, json};

use crate::deployments::{DEPLOYMENTS_API, deploy, deployment_path};
use crate::disks::{self, MIB};
use crate::gallery_image_versions::upload_snapshot;

const SCHEMA: &str =
    "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#";

fn gallery(name: &str) -> Value {
    json!({"type": "Microsoft.Compute/galleries", "apiVersion": "2022-03-03", "name": name, "location": "westus"})
}

fn template(resources: Vec<Value>) -> Value {
    json!({"$schema": SCHEMA, "contentVersion": "1.0.0.0", "resources": resources})
}

async fn operations(app: &TestApp, name: &str) -> Vec<Value> {
    let listed = app
        .request(
            reqwest::Method::GET,
            &format!(
                "{}/deployments/{name}/operations?api-version={DEPLOYMENTS_API}",
                app.group_path("rg")
            ),
            None,
        )
        .await;
    listed.assert_status(200);
    listed.json()["value"].as_array().unwrap().clone()
}

both_stores! {
    async fn complete_mode_deletes_what_the_template_no_longer_declares(backend) {
        let app = TestApp::start(backend).await;
        app.create_group("rg", "westus").await;
        app.create_gallery("rg", "keep").await;
        app.create_gallery("rg", "old").await;
        let body = json!({"properties": {"mode": "Complete", "template": template(vec![gallery("keep"), gallery("new")])}});
        let (put, deployment) = deploy(&app, &deployment_path(&app, "rg", "complete"), &body).await;
        put.assert_status(201);
        assert_eq!(deployment["properties"]["provisioningState"], "Succeeded", "{deployment}");
        assert_eq!(deployment["properties"]["mode"], "Complete");
        app.get(&app.gallery_path("rg", "keep")).await.assert_status(200);
        app.get(&app.gallery_path("rg", "new")).await.assert_status(200);
        app.get(&app.gallery_path("rg", "old")).await.assert_error(404, "ResourceNotFound");
        let deleted: Vec<Value> = operations(&app, "complete").await.into_iter()
            .filter(|operation| operation["properties"]["provisioningOperation"] == "Delete").collect();
        assert_eq!(deleted.len(), 1, "{deleted:?}");
        assert_eq!(deleted[0]["properties"]["targetResource"]["resourceName"], "old");
        assert_eq!(deleted[0]["properties"]["provisioningState"], "Succeeded");

        // A deletion the provider refuses (a gallery with an image definition) fails the deployment
        // with the provider's error; Incremental never deletes.
        app.create_gallery("rg", "parent").await;
        app.create_image("rg", "parent", "child", "Contoso", "Agents", "sku").await;
        let incremental = json!({"properties": {"mode": "Incremental", "template": template(vec![gallery("keep")])}});
        let (_, deployment) = deploy(&app, &deployment_path(&app, "rg", "incremental"), &incremental).await;
        assert_eq!(deployment["properties"]["provisioningState"], "Succeeded");
        app.get(&app.gallery_path("rg", "new")).await.assert_status(200);
        let (_, deployment) = deploy(&app, &deployment_path(&app, "rg", "complete"), &body).await;
        assert_eq!(deployment["properties"]["provisioningState"], "Failed", "{deployment}");
        let detail = &deployment["properties"]["error"]["details"][0];
        assert!(detail["target"].as_str().unwrap().ends_with("/galleries/parent"), "{detail}");
        app.get(&app.gallery_path("rg", "parent")).await.assert_status(200);
    }

    async fn a_canceled_deployment_starts_nothing_more(backend) {
        let app = TestApp::start_with(backend, |config| {
            config.replication_profile = galleryd::config::ReplicationProfile::Realistic;
            config.replication_bandwidth_mbps = 4;
        }).await;
        app.create_group("rg", "westus").await;
        let snapshot = upload_snapshot(&app, "rg", "os", &disks::pattern(3, 2 * MIB as usize)).await;
        let mut after = gallery("after");
        after["dependsOn"] = json!(["[resourceId('Microsoft.Compute/galleries/images/versions', 'slow', 'img', '1.0.0')]"]);
        let resources = vec![
            gallery("slow"),
            json!({"type": "Microsoft.Compute/galleries/images", "apiVersion": "2022-03-03", "name": "slow/img", "location": "westus", "dependsOn": ["slow"],
                   "properties": {"osType": "Linux", "osState": "Generalized", "hyperVGeneration": "V2", "identifier": {"publisher": "p", "offer": "o", "sku": "s"}}}),
            json!({"type": "Microsoft.Compute/galleries/images/versions", "apiVersion": "2022-03-03", "name": "slow/img/1.0.0", "location": "westus", "dependsOn": ["slow/img"],
                   "properties": {"storageProfile": {"osDiskImage": {"source": {"id": snapshot}}}}}),
            after,
        ];
        let path = deployment_path(&app, "rg", "slow");
        let put = app.request(reqwest::Method::PUT, &format!("{path}?api-version={DEPLOYMENTS_API}"),
            Some(&json!({"properties": {"mode": "Incremental", "template": template(resources)}}))).await;
        put.assert_status(201);
        // Wait until the version is being deployed (replicating at 4 Mbit/s), then cancel.
        let mut started = false;
        for _ in 0..200 {
            let running = operations(&app, "slow").await.iter().any(|operation|
                operation["properties"]["targetResource"]["resourceName"] == "slow/img/1.0.0"
                && operation["properties"]["provisioningState"] == "Running");
            if running { started = true; break; }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(started, "the version never started deploying: {:?}", operations(&app, "slow").await);
        let cancel = format!("{path}/cancel?api-version={DEPLOYMENTS_API}");
        app.request(reqwest::Method::POST, &cancel, None).await.assert_status(204);
        let status = app.request(reqwest::Method::GET, put.header("azure-asyncoperation").unwrap(), None).await.json();
        assert_eq!(status["status"], "Canceled");
        // The version's own deployment finishes; what depends on it never starts.
        for _ in 0..600 {
            let settled = operations(&app, "slow").await.iter().all(|operation| operation["properties"]["provisioningState"] != "Running");
            if settled { break; }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        app.get(&app.gallery_path("rg", "after")).await.assert_error(404, "ResourceNotFound");
        let deployment = app.request(reqwest::Method::GET, &format!("{path}?api-version={DEPLOYMENTS_API}"), None).await.json();
        assert_eq!(deployment["properties"]["provisioningState"], "Canceled");
        assert_eq!(operations(&app, "slow").await.len(), 3, "no operation for the resource that never started");
        app.request(reqwest::Method::POST, &cancel, None).await.assert_error(409, "Conflict");
    }

    async fn key_vault_references_are_refused_clearly(backend) {
        let app = TestApp::start(backend).await;
        app.create_group("rg", "westus").await;
        let needs = json!({"$schema": SCHEMA, "contentVersion": "1.0.0.0", "parameters": {"secret": {"type": "securestring"}}, "resources": []});
        let body = json!({"properties": {"mode": "Incremental", "template": needs, "parameters": {"secret": {"reference": {
            "keyVault": {"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v"}, "secretName": "s"}}}}});
        let refused = app.request(reqwest::Method::PUT, &format!("{}?api-version={DEPLOYMENTS_API}", deployment_path(&app, "rg", "kv")), Some(&body)).await;
        refused.assert_error(400, "InvalidDeploymentParameterKeyVaultReference");
        assert!(refused.json()["error"]["message"].as_str().unwrap().contains("'secret'"));
        // A secure parameter given as a value deploys, and is never echoed back.
        let body = json!({"properties": {"mode": "Incremental", "template": needs, "parameters": {"secret": {"value": "hunter2"}}}});
        let (_, deployment) = deploy(&app, &deployment_path(&app, "rg", "kv"), &body).await;
        assert_eq!(deployment["properties"]["parameters"]["secret"], json!({"type": "SecureString"}));
        assert!(!deployment.to_string().contains("hunter2"));
    }
}

both_stores! {
    async fn what_if_shows_creates_modifications_and_what_it_would_delete(backend) {
        let app = TestApp::start(backend).await;
        app.create_group("rg", "westus").await;
        app.create_gallery("rg", "same").await;
        app.create_gallery("rg", "changed").await;
        app.create_gallery("rg", "extra").await;
        let mut changed = gallery("changed");
        changed["properties"] = json!({"description": "new words"});
        changed["tags"] = json!({"env": "test"});
        let what_if = |mode: &str| json!({"properties": {"mode": mode, "template": template(vec![gallery("same"), changed.clone(), gallery("fresh")]),
            "whatIfSettings": {"resultFormat": "FullResourcePayloads"}}});
        let path = deployment_path(&app, "rg", "preview");
        let accepted = app.request(reqwest::Method::POST, &format!("{path}/whatIf?api-version={DEPLOYMENTS_API}"), Some(&what_if("Incremental"))).await;
        accepted.assert_status(202);
        let location = accepted.header("location").expect("a Location to poll").to_string();
        assert!(location.contains("/operationresults/"), "{location}");
        let result = app.request(reqwest::Method::GET, &location, None).await;
        result.assert_status(200);
        let result = result.json();
        assert_eq!(result["status"], "Succeeded", "{result}");
        let changes = result["properties"]["changes"].as_array().unwrap();
        let kind = |name: &str| changes.iter().find(|change| change["resourceId"].as_str().unwrap().ends_with(&format!("/galleries/{name}"))).map(|change| change["changeType"].as_str().unwrap().to_string());
        assert_eq!(kind("same").as_deref(), Some("NoChange"), "{result}");
        assert_eq!(kind("changed").as_deref(), Some("Modify"));
        assert_eq!(kind("fresh").as_deref(), Some("Create"));
        assert_eq!(kind("extra").as_deref(), Some("Ignore"));
        let modify = changes.iter().find(|change| change["changeType"] == "Modify").unwrap();
        let paths: Vec<&str> = modify["delta"].as_array().unwrap().iter().map(|delta| delta["path"].as_str().unwrap()).collect();
        assert!(paths.contains(&"properties.description") && paths.contains(&"tags"), "{modify}");
        // Nothing changed; in mode Complete the undeclared gallery would be deleted.
        app.get(&app.gallery_path("rg", "fresh")).await.assert_error(404, "ResourceNotFound");
        let accepted = app.request(reqwest::Method::POST, &format!("{path}/whatIf?api-version={DEPLOYMENTS_API}"), Some(&what_if("Complete"))).await;
        let result = app.request(reqwest::Method::GET, accepted.header("location").unwrap(), None).await.json();
        let deleted: Vec<&Value> = result["properties"]["changes"].as_array().unwrap().iter().filter(|change| change["changeType"] == "Delete").collect();
        assert_eq!(deleted.len(), 1, "{result}");
        // A template error is the result's error.
        let broken = json!({"properties": {"mode": "Incremental", "template": template(vec![json!({"type": "Microsoft.Compute/galleries", "apiVersion": "2022-03-03", "name": "[nope()]", "location": "westus"})])}});
        let accepted = app.request(reqwest::Method::POST, &format!("{path}/whatIf?api-version={DEPLOYMENTS_API}"), Some(&broken)).await;
        accepted.assert_status(202);
        let result = app.request(reqwest::Method::GET, accepted.header("location").unwrap(), None).await.json();
        assert_eq!(result["status"], "Failed");
        assert_eq!(result["error"]["code"], "InvalidTemplate");
    }
}
