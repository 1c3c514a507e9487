//! How long template preparation takes for the largest template Azure accepts: one gallery and
//! 799 image definitions from a copy loop (800 resources), with expressions in every name and
//! body, explicit and implicit dependencies. Prints the median and worst of several runs for
//! parsing + preparing (what validate and the start of a deployment cost) and for evaluating all
//! 800 bodies against a deployed state. Run: `cargo bench -p arm-templates` (release build).

use arm_templates::{DeployedResources, DeploymentContext, Template};
use std::time::{Duration, Instant};

const RUNS: usize = 15;

fn template_text() -> String {
    r#"{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  // Compute Gallery with 799 image definitions.
  "parameters": {
    "galleryName": {"type": "string", "defaultValue": "[concat('gallery', uniqueString(resourceGroup().id))]"},
    "count": {"type": "int", "defaultValue": 799, "minValue": 1, "maxValue": 799},
    "location": {"type": "string", "defaultValue": "[resourceGroup().location]"}
  },
  "variables": {
    "publisher": "[toUpper(substring(parameters('galleryName'), 0, 5))]",
    "osTypes": ["Linux", "Windows"]
  },
  "resources": [
    {
      "type": "Microsoft.Compute/galleries",
      "apiVersion": "2022-03-03",
      "name": "[parameters('galleryName')]",
      "location": "[parameters('location')]",
      "properties": {"description": "[format('Gallery {0} in {1}', parameters('galleryName'), parameters('location'))]"}
    },
    {
      "type": "Microsoft.Compute/galleries/images",
      "apiVersion": "2022-03-03",
      "name": "[format('{0}/image{1:000}', parameters('galleryName'), copyIndex(1))]",
      "location": "[parameters('location')]",
      "copy": {"name": "images", "count": "[parameters('count')]"},
      "dependsOn": ["[resourceId('Microsoft.Compute/galleries', parameters('galleryName'))]"],
      "properties": {
        "description": "[concat(reference(parameters('galleryName')).description, ' / ', string(copyIndex()))]",
        "osType": "[variables('osTypes')[mod(copyIndex(), 2)]]",
        "osState": "Generalized",
        "identifier": {
          "publisher": "[variables('publisher')]",
          "offer": "[concat('offer', copyIndex())]",
          "sku": "[guid(resourceGroup().id, string(copyIndex()))]"
        },
        "recommended": {"vCPUs": {"min": 1, "max": "[add(copyIndex(), 2)]"}}
      }
    }
  ],
  "outputs": {"galleryId": {"type": "string", "value": "[resourceId('Microsoft.Compute/galleries', parameters('galleryName'))]"}}
}"#
    .to_string()
}

fn summary(label: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let median = samples[samples.len() / 2];
    let worst = samples[samples.len() - 1];
    println!(
        "{label}: median {:.2} ms, worst {:.2} ms over {} runs",
        median.as_secs_f64() * 1e3,
        worst.as_secs_f64() * 1e3,
        samples.len()
    );
}

fn main() {
    let text = template_text();
    let context = DeploymentContext::resource_group(
        "00000000-0000-0000-0000-000000000000",
        "bench",
        "westus",
        "bench",
        chrono::Utc::now(),
    );
    let parameters = serde_json::json!({});
    let mut prepare_samples = Vec::with_capacity(RUNS);
    let mut plan = None;
    for _ in 0..RUNS {
        let started = Instant::now();
        let template = Template::parse(&text).expect("template parses");
        let prepared = template
            .prepare(&context, &parameters)
            .expect("template prepares");
        prepare_samples.push(started.elapsed());
        plan = Some(prepared);
    }
    let plan = plan.expect("at least one run");
    assert_eq!(plan.resources().len(), 800);
    summary("parse + prepare, 800 resources", prepare_samples);

    let mut state = DeployedResources::new();
    let gallery = &plan.resources()[0];
    state.insert_resource(
        &gallery.resource_id,
        serde_json::json!({"properties": {"description": "bench gallery"}}),
    );
    let mut evaluate_samples = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        for index in 0..plan.resources().len() {
            plan.evaluate_resource(index, &state)
                .expect("body evaluates");
        }
        evaluate_samples.push(started.elapsed());
    }
    summary("evaluate all 800 bodies", evaluate_samples);
}
