//! The public Compute Gallery quickstart templates (Azure/azure-quickstart-templates) parse,
//! prepare and run unmodified. Their text is not committed: set `GALLERYD_QUICKSTART_TEMPLATES`
//! to a checkout of that repository; without it the test prints a notice and checks nothing.

mod common;

use common::{GROUP, SUBSCRIPTION, prepare_text, simulate};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

const RAW_PREFIX: &str =
    "https://raw.githubusercontent.com/Azure/azure-quickstart-templates/master/";

fn checkout() -> Option<PathBuf> {
    let root = PathBuf::from(std::env::var_os("GALLERYD_QUICKSTART_TEMPLATES")?);
    root.join("quickstarts/microsoft.compute/sig-create/azuredeploy.json")
        .exists()
        .then_some(root)
}

fn read(root: &Path, path: &str) -> String {
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|error| panic!("{path}: {error}"))
}

fn group_id(rest: &str) -> String {
    format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}/providers/{rest}")
}

fn outputs(simulated: &common::Simulated) -> serde_json::Map<String, Value> {
    simulated.outputs.iter().cloned().collect()
}

#[test]
fn gallery_quickstarts_deploy_unmodified() {
    let Some(root) = checkout() else {
        eprintln!(
            "skipping: set GALLERYD_QUICKSTART_TEMPLATES to a checkout of Azure/azure-quickstart-templates"
        );
        return;
    };
    let load = |uri: &str| {
        read(
            &root,
            uri.strip_prefix(RAW_PREFIX)
                .unwrap_or_else(|| panic!("unexpected link {uri}")),
        )
    };

    let plan = prepare_text(
        &read(
            &root,
            "quickstarts/microsoft.compute/sig-create/azuredeploy.json",
        ),
        json!({"galleryName": {"value": "myGallery"}}),
    )
    .unwrap();
    let run = simulate(&plan, &load);
    assert_eq!(
        run.bodies,
        [(
            group_id("Microsoft.Compute/galleries/myGallery"),
            json!({"location": "westus", "properties": {"description": "My Private Gallery"}})
        )]
    );

    let plan = prepare_text(&read(&root, "quickstarts/microsoft.compute/sig-image-definition-create/prereqs/prereq.azuredeploy.json"), json!({})).unwrap();
    let run = simulate(&plan, &load);
    let gallery = arm_templates::hashing::unique_string(&[&format!(
        "/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}"
    )]);
    assert_eq!(outputs(&run)["galleryName"], json!(gallery));
    assert!(
        run.bodies
            .iter()
            .any(|(id, _)| *id == group_id(&format!("Microsoft.Compute/galleries/{gallery}")))
    );

    let plan = prepare_text(
        &read(&root, "quickstarts/microsoft.compute/sig-image-definition-create/azuredeploy.json"),
        json!({"galleryName": {"value": gallery}, "galleryImageDefinitionName": {"value": "myImage"}}),
    )
    .unwrap();
    let run = simulate(&plan, &load);
    assert_eq!(
        run.bodies[0].0,
        group_id(&format!(
            "Microsoft.Compute/galleries/{gallery}/images/myImage"
        ))
    );
    assert_eq!(
        run.bodies[0].1["properties"]["identifier"],
        json!({"publisher": "myPublisher", "offer": "myOffer", "sku": "mySku"})
    );

    let plan = prepare_text(
        &read(&root, "quickstarts/microsoft.compute/sig-image-version-create/prereqs/prereq.azuredeploy.json"),
        json!({"galleryName": {"value": "g"}, "galleryImageDefinitionName": {"value": "i"}}),
    )
    .unwrap();
    let names: Vec<&str> = plan
        .resources()
        .iter()
        .map(|instance| instance.name.as_str())
        .collect();
    assert_eq!(names[..2], ["g", "g/i"]);
    assert_eq!(
        plan.resources()[1].depends_on,
        [0],
        "the child waits for its gallery by id, not implicitly"
    );
    assert_eq!(
        plan.resources()[3].depends_on,
        [2],
        "the image waits for its disk"
    );
    let run = simulate(&plan, &load);
    let image_id = outputs(&run)["managedImageID"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        image_id,
        group_id(&format!("Microsoft.Compute/images/managedimage{gallery}"))
    );

    let plan = prepare_text(
        &read(
            &root,
            "quickstarts/microsoft.compute/sig-image-version-create/azuredeploy.json",
        ),
        json!({
            "existingManagedImageID": {"value": image_id},
            "existingGalleryName": {"value": "g"},
            "existingGalleryImageDefinitionName": {"value": "i"},
            "galleryImageVersionName": {"value": "1.0.0"},
        }),
    )
    .unwrap();
    let run = simulate(&plan, &load);
    assert_eq!(
        run.bodies[0].0,
        group_id("Microsoft.Compute/galleries/g/images/i/versions/1.0.0")
    );
    assert_eq!(
        run.bodies[0].1["properties"]["publishingProfile"]["targetRegions"],
        json!([{"name": "westus"}])
    );
    assert_eq!(
        outputs(&run)["existingGalleryImageDefinitionName"],
        json!("i")
    );

    let plan = prepare_text(
        &read(
            &root,
            "quickstarts/microsoft.compute/vm-from-sig/azuredeploy.json",
        ),
        json!({
            "adminUsername": {"value": "azureuser"},
            "adminPassword": {"value": "P@ssw0rd-not-echoed"},
            "dnsLabelPrefix": {"value": "mydns"},
            "galleryName": {"value": "g"},
            "galleryImageDefinitionName": {"value": "i"},
            "galleryImageVersionName": {"value": "1.0.0"},
        }),
    )
    .unwrap();
    assert_eq!(
        plan.parameters_for_response()["adminPassword"],
        json!({"type": "SecureString"})
    );
    let depends: Vec<Vec<usize>> = plan
        .resources()
        .iter()
        .map(|instance| instance.depends_on.clone())
        .collect();
    assert_eq!(
        depends,
        [vec![], vec![], vec![1], vec![0, 2], vec![3]],
        "ip, nsg, vnet→nsg, nic→ip+vnet, vm→nic"
    );
    let vm = plan
        .evaluate_resource(4, &arm_templates::NothingDeployed)
        .unwrap();
    assert_eq!(
        vm.body["properties"]["storageProfile"]["imageReference"]["id"],
        json!(group_id(
            "Microsoft.Compute/galleries/g/images/i/versions/1.0.0"
        ))
    );
    let pending = plan
        .evaluate_outputs(&arm_templates::NothingDeployed)
        .unwrap_err();
    let ip = group_id(&format!(
        "Microsoft.Network/publicIPAddresses/{gallery}myPublicIP"
    ));
    assert_eq!(
        pending,
        arm_templates::EvaluationError::Pending(arm_templates::RuntimeRequest::Reference {
            resource_id: ip,
            api_version: "2020-07-01".into(),
            full: false
        })
    );
}
