"""azure-cli 2.91 against galleryd, unmodified: the README's `az` commands run as written, then
the rest of the `az sig` surface with its outputs and exit codes, and a managed identity login.

galleryd runs in strict authentication mode here, so every command proves the tokens `az` got
from galleryd's token endpoints are the ones ARM accepts.
"""

from __future__ import annotations

import http.server
import json
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from conftest import Az

REPO = Path(__file__).resolve().parents[2]
README_HTTPS_BASE = "https://127.0.0.1:8443"


def readme_blocks(section: str) -> list[str]:
    """The `sh` blocks of the README section headed `section`."""
    readme = (REPO / "README.md").read_text()
    body = readme.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", body, re.S)


def as_for_the_test_server(script: str, az: Az) -> str:
    """A README script pointed at the test's galleryd, certificate and configuration directory."""
    return (
        script.replace(README_HTTPS_BASE, az.galleryd.https)
        .replace("$PWD/.galleryd/tls/ca.pem", az.galleryd.certificate)
        .replace("$PWD/.galleryd/az", str(az.config_dir))
    )


def run_readme_script(script: str, az: Az) -> subprocess.CompletedProcess[str]:
    """Runs a README script in bash with the suite's `az` first on PATH."""
    environment = az.base_environment()
    executable_directory = Path(sys.executable).parent
    environment["PATH"] = f"{executable_directory}:{environment.get('PATH', '')}"
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", as_for_the_test_server(script, az)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def logged_in(galleryd, tmp_path_factory, timings) -> Az:
    """The README's `az` block, run as written: cloud, login, group, gallery, definition, image,
    version. Later tests continue from its state."""
    az = Az(galleryd, tmp_path_factory.mktemp("azure-config"), {}, timings)
    answer = run_readme_script(readme_blocks("Use it with az")[0], az)
    assert answer.returncode == 0, f"{answer.stdout}\n{answer.stderr}"
    assert answer.stdout.strip().splitlines()[-1] == "Completed", answer.stdout
    return az


def test_the_readme_login_names_the_development_subscription(logged_in: Az) -> None:
    account = json.loads(logged_in.run("account", "show").stdout)
    assert account["id"] == logged_in.galleryd.subscription_id
    assert account["tenantId"] == logged_in.galleryd.tenant_id
    assert account["user"] == {"name": logged_in.galleryd.client_id, "type": "servicePrincipal"}
    assert logged_in.value("cloud", "show", "--query", "endpoints.resourceManager") == f"{logged_in.galleryd.https}/"


def test_galleries_show_list_update_and_errors(logged_in: Az) -> None:
    gallery = json.loads(logged_in.run("sig", "show", "-g", "rg1", "-r", "gallery1").stdout)
    assert gallery["name"] == "gallery1"
    assert gallery["provisioningState"] == "Succeeded"
    assert gallery["identifier"]["uniqueName"].endswith("-GALLERY1")
    assert gallery["resourceGroup"] == "rg1"
    assert logged_in.value("sig", "list", "-g", "rg1", "--query", "[].name") == "gallery1"
    assert logged_in.value("sig", "list", "--query", "[].name") == "gallery1"
    assert (
        logged_in.value("sig", "update", "-g", "rg1", "-r", "gallery1", "--set", "description=images", "--query", "description")
        == "images"
    )
    missing = logged_in.run("sig", "show", "-g", "rg1", "-r", "nosuch", expect=3)
    assert "(ResourceNotFound)" in missing.stderr


def test_image_definitions_show_list_update_and_immutable_properties(logged_in: Az) -> None:
    definition = json.loads(logged_in.run("sig", "image-definition", "show", "-g", "rg1", "-r", "gallery1", "-i", "ubuntu").stdout)
    assert definition["identifier"] == {"publisher": "Contoso", "offer": "Agents", "sku": "ubuntu-24.04"}
    assert definition["hyperVGeneration"] == "V2"
    assert definition["osType"] == "Linux"
    assert logged_in.value("sig", "image-definition", "list", "-g", "rg1", "-r", "gallery1", "--query", "[].name") == "ubuntu"
    assert (
        logged_in.value(
            "sig", "image-definition", "update", "-g", "rg1", "-r", "gallery1", "-i", "ubuntu",
            "--set", "description=agents", "--query", "description",
        )
        == "agents"
    )
    refused = logged_in.run(
        "sig", "image-definition", "update", "-g", "rg1", "-r", "gallery1", "-i", "ubuntu",
        "--set", "identifier.publisher=Other", expect=1,
    )
    assert "(PropertyChangeNotAllowed)" in refused.stderr
    assert "identifier.publisher" in refused.stderr
    duplicate = logged_in.run(
        "sig", "image-definition", "create", "-g", "rg1", "-r", "gallery1", "-i", "copy", "--os-type", "Linux",
        "-p", "contoso", "-f", "agents", "-s", "UBUNTU-24.04", expect=1,
    )
    assert "(Conflict)" in duplicate.stderr


def serve_once(data: bytes) -> tuple[str, http.server.ThreadingHTTPServer]:
    """A plain HTTP server on 127.0.0.1 answering every GET with `data` (a package galleryd reads)."""

    class Package(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *arguments: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Package)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/tools.tgz", server


def test_vm_applications_create_show_list_update_and_delete(logged_in: Az) -> None:
    """`az sig gallery-application` and `… version`, next to the README's image definition."""
    application = ["-g", "rg1", "-r", "gallery1", "--application-name", "tools"]
    created = json.loads(logged_in.run("sig", "gallery-application", "create", *application, "--os-type", "Linux", "--location", "westus").stdout)
    assert created.get("supportedOSType", created.get("supportedOsType")) == "Linux", created
    assert logged_in.value("sig", "gallery-application", "list", "-g", "rg1", "-r", "gallery1", "--query", "[].name") == "tools"
    assert logged_in.value("sig", "gallery-application", "update", *application, "--description", "build tools", "--query", "description") == "build tools"

    link, server = serve_once(b"#!/bin/sh\necho tools\n")
    try:
        version = [*application, "--version-name", "1.0.0"]
        logged_in.run(
            "sig", "gallery-application", "version", "create", *version, "--location", "westus",
            "--package-file-link", link, "--install-command", "sh tools.tgz", "--remove-command", "true",
        )
        shown = json.loads(logged_in.run("sig", "gallery-application", "version", "show", *version, "--expand", "ReplicationStatus").stdout)
        assert shown["provisioningState"] == "Succeeded", shown
        assert shown["publishingProfile"]["source"]["mediaLink"] == link
        assert shown["replicationStatus"]["aggregatedState"] == "Completed", shown
        assert logged_in.value("sig", "gallery-application", "version", "list", *application, "--query", "[].name") == "1.0.0"
        regions = logged_in.value(
            "sig", "gallery-application", "version", "update", *version, "--package-file-link", link,
            "--target-regions", "[{name:westus},{name:eastus,regionalReplicaCount:2}]",
            "--query", "publishingProfile.targetRegions[].name",
        )
        assert regions.splitlines() == ["West US", "East US"]
    finally:
        server.shutdown()
    # The application keeps its versions.
    refused = logged_in.run("sig", "gallery-application", "delete", *application, "--yes", expect=1)
    assert "(CannotDeleteResource)" in refused.stderr
    logged_in.run("sig", "gallery-application", "version", "delete", *version, "--yes")
    logged_in.run("sig", "gallery-application", "version", "show", *version, expect=3)
    logged_in.run("sig", "gallery-application", "delete", *application, "--yes")
    logged_in.run("sig", "gallery-application", "show", *application, expect=3)


def test_image_versions_show_list_update_and_delete(logged_in: Az) -> None:
    version = ["-g", "rg1", "-r", "gallery1", "-i", "ubuntu", "-e", "1.0.0"]
    status = json.loads(
        logged_in.run("sig", "image-version", "show", *version, "--expand", "ReplicationStatus", "--query", "replicationStatus").stdout
    )
    assert status["aggregatedState"] == "Completed"
    assert sorted((region["region"], region["state"], region["progress"]) for region in status["summary"]) == [
        ("East US", "Completed", 100),
        ("West US", "Completed", 100),
    ]
    source = logged_in.value("sig", "image-version", "show", *version, "--query", "storageProfile.source.id")
    assert source.endswith("/resourceGroups/rg1/providers/Microsoft.Compute/images/golden")
    assert logged_in.value("sig", "image-version", "list", "-g", "rg1", "-r", "gallery1", "-i", "ubuntu", "--query", "[].name") == "1.0.0"

    # Adding a target region replicates there.
    regions = logged_in.value(
        "sig", "image-version", "update", *version, "--target-regions", "westus", "eastus", "northeurope=2",
        "--query", "publishingProfile.targetRegions[].name",
    )
    assert regions.splitlines() == ["West US", "East US", "North Europe"]
    summary = json.loads(
        logged_in.run("sig", "image-version", "show", *version, "--expand", "ReplicationStatus", "--query", "replicationStatus.summary").stdout
    )
    assert {region["region"]: region["state"] for region in summary}["North Europe"] == "Completed"
    # A version that does not exist is exit code 3.
    logged_in.run("sig", "image-version", "show", "-g", "rg1", "-r", "gallery1", "-i", "ubuntu", "-e", "9.9.9", expect=3)

    logged_in.run("sig", "image-version", "delete", *version)
    logged_in.run("sig", "image-version", "show", *version, expect=3)
    logged_in.run("sig", "image-definition", "delete", "-g", "rg1", "-r", "gallery1", "-i", "ubuntu")
    logged_in.run("sig", "delete", "-g", "rg1", "-r", "gallery1")
    assert logged_in.value("sig", "list", "-g", "rg1", "--query", "length(@)") == "0"


def test_managed_identity_login(new_az) -> None:
    """The README's managed identity lines: `az login --identity`, App Service style."""
    az = new_az()
    register = readme_blocks("Use it with az")[0].splitlines()[:3]
    identity = readme_blocks("Use it with az")[1]
    answer = run_readme_script("\n".join(register) + "\n" + identity, az)
    assert answer.returncode == 0, f"{answer.stdout}\n{answer.stderr}"
    logins = json.loads(answer.stdout[answer.stdout.index("[") :])
    assert logins[0]["id"] == az.galleryd.subscription_id
    assert logins[0]["user"]["assignedIdentityInfo"] == "MSI"
    az.environment.update(
        IDENTITY_ENDPOINT=f"{az.galleryd.https}/msi/token", IDENTITY_HEADER=az.galleryd.identity_header
    )
    assert az.value("group", "create", "-n", "rg-identity", "-l", "westus", "--query", "properties.provisioningState") == "Succeeded"
    assert az.value("sig", "create", "-g", "rg-identity", "-r", "identity_gallery", "--query", "provisioningState") == "Succeeded"
