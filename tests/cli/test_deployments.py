"""`az deployment group …` (azure-cli 2.91, unmodified) against galleryd: the README's "Deploy a
template" block as written, then validate, show, list (with a state filter), operations, export,
a template error at its line, and delete.

az validates first (POST …/validate with the file text as it is, comments included), then PUTs and
polls the deployment's `Azure-AsyncOperation`, then GETs it; every command must finish within the
suite's budget, so none of them slept on a poll.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import Az
from test_az import as_for_the_test_server, readme_blocks

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "docs" / "templates" / "gallery-image-version.json"


@pytest.fixture(scope="module")
def deployer(galleryd, tmp_path_factory, timings) -> Az:
    """An `az` logged in as the README says, that ran the README's "Deploy a template" block."""
    az = Az(galleryd, tmp_path_factory.mktemp("azure-config"), {}, timings)
    az.run("cloud", "register", "--name", "galleryd", "--endpoint-resource-manager", f"{galleryd.https}/")
    az.run("cloud", "set", "--name", "galleryd")
    az.run("config", "set", "core.instance_discovery=false", "--only-show-errors")
    az.run(
        "login", "--service-principal", "--tenant", galleryd.tenant_id,
        "--username", galleryd.client_id, "--password", galleryd.client_secret,
    )
    environment = az.base_environment()
    environment["PATH"] = f"{Path(sys.executable).parent}:{environment.get('PATH', '')}"
    answer = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", as_for_the_test_server(readme_blocks("Deploy a template")[0], az)],
        env=environment,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert answer.returncode == 0, f"{answer.stdout}\n{answer.stderr}"
    assert answer.stdout.strip().splitlines()[-1] == "2", answer.stdout
    return az


def test_the_readme_deployment_created_the_gallery_resources(deployer: Az) -> None:
    version = ["-g", "rg2", "-r", "templated", "-i", "ubuntu", "-e", "1.0.0"]
    assert deployer.value("sig", "image-version", "show", *version, "--expand", "ReplicationStatus",
                          "--query", "replicationStatus.aggregatedState") == "Completed"
    publisher = deployer.value("sig", "image-definition", "show", "-g", "rg2", "-r", "templated", "-i", "ubuntu",
                               "--query", "identifier.publisher")
    deployment = json.loads(deployer.run("deployment", "group", "show", "-g", "rg2", "-n", "gallery").stdout)
    properties = deployment["properties"]
    assert properties["provisioningState"] == "Succeeded"
    assert properties["outputs"]["publisher"]["value"] == publisher
    assert properties["outputs"]["imageVersionId"]["value"].endswith("/galleries/templated/images/ubuntu/versions/1.0.0")
    assert properties["parameters"]["location"]["value"] == "westus"
    assert len(properties["outputResources"]) == 3


def test_validate_list_operations_export_and_delete(deployer: Az) -> None:
    snapshot = deployer.value("snapshot", "show", "-g", "rg2", "-n", "os-snapshot", "--query", "id")
    parameters = ["--parameters", "galleryName=second", f"sourceSnapshotId={snapshot}"]
    validated = json.loads(deployer.run("deployment", "group", "validate", "-g", "rg2", "-f", str(TEMPLATE), *parameters).stdout)
    assert validated["properties"]["provisioningState"] == "Succeeded"
    assert len(validated["properties"]["validatedResources"]) == 3
    deployer.run("sig", "show", "-g", "rg2", "-r", "second", expect=3)
    # Within the command budget: az validates, PUTs, polls and GETs without sleeping on a poll.
    assert deployer.value(
        "deployment", "group", "create", "-g", "rg2", "-n", "second", "-f", str(TEMPLATE), *parameters,
        "--query", "properties.provisioningState",
    ) == "Succeeded"
    assert deployer.value("sig", "show", "-g", "rg2", "-r", "second", "--query", "name") == "second"
    # what-if: POST, poll the Location, print the changes.
    preview = json.loads(deployer.run(
        "deployment", "group", "what-if", "-g", "rg2", "-n", "second", "-f", str(TEMPLATE), *parameters, "--no-pretty-print",
    ).stdout)
    changes = {change["resourceId"].split("/providers/")[-1]: change["changeType"] for change in preview["changes"]}
    assert changes["Microsoft.Compute/galleries/second"] == "NoChange", changes
    assert changes["Microsoft.Compute/galleries/templated"] == "Ignore", changes

    assert deployer.value("deployment", "group", "list", "-g", "rg2", "--query", "[].name").splitlines() == ["gallery", "second"]
    assert deployer.value("deployment", "group", "list", "-g", "rg2", "--filter", "provisioningState eq 'Failed'",
                          "--query", "length(@)") == "0"
    operations = json.loads(deployer.run("deployment", "operation", "group", "list", "-g", "rg2", "-n", "gallery").stdout)
    assert sorted(operation["properties"]["targetResource"]["resourceType"] for operation in operations) == [
        "Microsoft.Compute/galleries",
        "Microsoft.Compute/galleries/images",
        "Microsoft.Compute/galleries/images/versions",
    ]
    assert {operation["properties"]["provisioningState"] for operation in operations} == {"Succeeded"}
    exported = json.loads(deployer.run("deployment", "group", "export", "-g", "rg2", "-n", "gallery").stdout)
    assert exported["parameters"]["sourceSnapshotId"]["type"] == "string"

    deployer.run("deployment", "group", "delete", "-g", "rg2", "-n", "gallery")
    deployer.run("deployment", "group", "show", "-g", "rg2", "-n", "gallery", expect=3)
    assert deployer.value("sig", "show", "-g", "rg2", "-r", "templated", "--query", "name") == "templated"


def test_a_template_error_names_its_line(deployer: Az, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text(
        "{\n"
        '  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",\n'
        '  "contentVersion": "1.0.0.0",\n'
        "  // the next resource calls a function that does not exist\n"
        '  "resources": [\n'
        '    {"type": "Microsoft.Compute/galleries", "apiVersion": "2022-03-03", "name": "[nosuch()]", "location": "westus"}\n'
        "  ]\n"
        "}\n"
    )
    before = deployer.value("deployment", "group", "list", "-g", "rg2", "--query", "length(@)")
    refused = deployer.run("deployment", "group", "create", "-g", "rg2", "-f", str(broken), expect=1)
    assert "InvalidTemplate" in refused.stderr, refused.stderr
    assert "nosuch" in refused.stderr
    assert deployer.value("deployment", "group", "list", "-g", "rg2", "--query", "length(@)") == before


def test_deployment_sub_create_makes_a_group_and_deploys_into_it(deployer: Az, tmp_path: Path) -> None:
    template = {
        "$schema": "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {"groupName": {"type": "string"}},
        "resources": [
            {"type": "Microsoft.Resources/resourceGroups", "apiVersion": "2022-09-01",
             "name": "[parameters('groupName')]", "location": "[deployment().location]"},
            {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "gallery",
             "resourceGroup": "[parameters('groupName')]",
             "dependsOn": ["[subscriptionResourceId('Microsoft.Resources/resourceGroups', parameters('groupName'))]"],
             "properties": {
                 "mode": "Incremental",
                 "expressionEvaluationOptions": {"scope": "inner"},
                 "template": {
                     "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
                     "contentVersion": "1.0.0.0",
                     "resources": [{"type": "Microsoft.Compute/galleries", "apiVersion": "2022-03-03",
                                    "name": "platform", "location": "[resourceGroup().location]"}],
                 },
             }},
        ],
    }
    path = tmp_path / "platform.json"
    path.write_text(json.dumps(template, indent=2))
    state = deployer.value(
        "deployment", "sub", "create", "-l", "westus", "-n", "platform", "-f", str(path),
        "--parameters", "groupName=platform-rg", "--query", "properties.provisioningState",
    )
    assert state == "Succeeded"
    assert deployer.value("sig", "show", "-g", "platform-rg", "-r", "platform", "--query", "name") == "platform"
    assert deployer.value("deployment", "sub", "list", "--query", "[].name") == "platform"
    assert deployer.value("deployment", "group", "show", "-g", "platform-rg", "-n", "gallery",
                          "--query", "properties.provisioningState") == "Succeeded"
