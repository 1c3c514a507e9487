"""Template deployments through azure-mgmt-resource-deployments (api-version 2026-06-01),
unmodified: create (a long-running operation that finishes at the client's first poll), get,
check existence, list with a state filter, operations, validate, export, a refused template and a
deployment that fails with the provider's error, and delete.
"""

from __future__ import annotations

import json
from typing import Any, Iterator

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.resource.deployments import DeploymentsMgmtClient
from azure.mgmt.resource.deployments.models import Deployment, DeploymentProperties

from conftest import Endpoints, Lro, StaticTokenCredential, unique_name

SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"

# A gallery and a copy loop of image definitions whose identifiers come from the loop index.
TEMPLATE: dict[str, Any] = {
    "$schema": SCHEMA,
    "contentVersion": "1.0.0.0",
    "parameters": {
        "galleryName": {"type": "string"},
        "count": {"type": "int", "defaultValue": 3, "minValue": 1, "maxValue": 10},
    },
    "resources": [
        {
            "type": "Microsoft.Compute/galleries",
            "apiVersion": "2022-03-03",
            "name": "[parameters('galleryName')]",
            "location": "[resourceGroup().location]",
        },
        {
            "type": "Microsoft.Compute/galleries/images",
            "apiVersion": "2022-03-03",
            "name": "[format('{0}/image{1}', parameters('galleryName'), copyIndex(1))]",
            "location": "[resourceGroup().location]",
            "copy": {"name": "images", "count": "[parameters('count')]"},
            "dependsOn": ["[parameters('galleryName')]"],
            "properties": {
                "osType": "Linux",
                "osState": "Generalized",
                "identifier": {"publisher": "Contoso", "offer": "Loop", "sku": "[format('sku-{0:00}', copyIndex())]"},
            },
        },
    ],
    "outputs": {
        "skus": {
            "type": "array",
            "copy": {"count": "[parameters('count')]", "input": "[format('sku-{0:00}', copyIndex())]"},
        },
        "galleryName": {"type": "string", "value": "[parameters('galleryName')]"},
    },
}


@pytest.fixture(scope="module")
def deployments(galleryd: Endpoints) -> Iterator[DeploymentsMgmtClient]:
    client = DeploymentsMgmtClient(
        StaticTokenCredential(),
        galleryd.subscription_id,
        base_url=galleryd.https,
        connection_verify=galleryd.certificate,
    )
    with client:
        yield client


def body(template: dict[str, Any], parameters: dict[str, Any], mode: str = "Incremental") -> Deployment:
    return Deployment(
        properties=DeploymentProperties(
            mode=mode,
            template=template,
            parameters={name: {"value": value} for name, value in parameters.items()},
        )
    )


def test_a_copy_loop_template_deploys_and_its_history_is_served(
    deployments: DeploymentsMgmtClient, compute: ComputeManagementClient, lro: Lro, resource_group: str
) -> None:
    gallery = unique_name("gal")
    name = unique_name("deploy")
    validated = lro.run(deployments.deployments.begin_validate, resource_group, name, body(TEMPLATE, {"galleryName": gallery}))
    assert validated.properties.provisioning_state == "Succeeded"
    assert len(validated.properties.validated_resources) == 4

    deployed = lro.run(deployments.deployments.begin_create_or_update, resource_group, name, body(TEMPLATE, {"galleryName": gallery}))
    assert deployed.properties.provisioning_state == "Succeeded"
    assert deployed.properties.outputs["skus"]["value"] == ["sku-00", "sku-01", "sku-02"]
    assert deployed.properties.outputs["galleryName"] == {"type": "String", "value": gallery}
    assert deployed.properties.parameters["count"] == {"type": "Int", "value": 3}
    assert len(deployed.properties.output_resources) == 4
    images = sorted(image.name for image in compute.gallery_images.list_by_gallery(resource_group, gallery))
    assert images == ["image1", "image2", "image3"]
    assert compute.gallery_images.get(resource_group, gallery, "image3").identifier.sku == "sku-02"

    assert deployments.deployments.check_existence(resource_group, name) is True
    assert deployments.deployments.check_existence(resource_group, "nosuch") is False
    fetched = deployments.deployments.get(resource_group, name)
    assert fetched.properties.correlation_id
    assert int(fetched.properties.template_hash) > 0
    listed = [deployment.name for deployment in deployments.deployments.list_by_resource_group(resource_group, filter="provisioningState eq 'Succeeded'")]
    assert listed == [name]
    assert list(deployments.deployments.list_by_resource_group(resource_group, filter="provisioningState eq 'Failed'")) == []
    operations = list(deployments.deployment_operations.list(resource_group, name))
    assert len(operations) == 4
    assert {operation.properties.provisioning_state for operation in operations} == {"Succeeded"}
    one = deployments.deployment_operations.get(resource_group, name, operations[0].operation_id)
    assert one.properties.target_resource.id == operations[0].properties.target_resource.id
    exported = deployments.deployments.export_template(resource_group, name)
    assert exported.template == TEMPLATE

    lro.run(deployments.deployments.begin_delete, resource_group, name)
    assert deployments.deployments.check_existence(resource_group, name) is False
    assert compute.galleries.get(resource_group, gallery).name == gallery


def test_refusals_and_failures_carry_azure_codes(deployments: DeploymentsMgmtClient, lro: Lro, resource_group: str) -> None:
    too_many = body(TEMPLATE, {"galleryName": unique_name("gal"), "count": 11})
    with pytest.raises(HttpResponseError) as refused:
        deployments.deployments.begin_create_or_update(resource_group, unique_name("deploy"), too_many)
    assert refused.value.status_code == 400
    assert refused.value.error.code == "InvalidTemplate"
    assert "count" in refused.value.error.message

    # A gallery the provider refuses: the deployment fails with DeploymentFailed and the
    # provider's own error, as the SDK's poller reports it.
    name = unique_name("deploy")
    broken = dict(TEMPLATE, resources=[dict(TEMPLATE["resources"][0], properties={"sharingProfile": {"permissions": "Everyone"}})])
    poller = deployments.deployments.begin_create_or_update(resource_group, name, body(broken, {"galleryName": unique_name("gal"), "count": 1}))
    with pytest.raises(HttpResponseError) as failed:
        poller.result()
    assert "DeploymentFailed" in str(failed.value)
    deployment = deployments.deployments.get(resource_group, name)
    assert deployment.properties.provisioning_state == "Failed"
    detail = deployment.properties.error.details[0]
    assert json.loads(detail.message)["error"]["code"] == "InvalidParameter"
