"""The README's examples run as written against galleryd, and do what they say: the Python SDK
example, and publishing an image version with curl and with the Python SDK."""

import contextlib
import io
import json
import re
import subprocess
from pathlib import Path

import pytest
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.resource.resources.models import ResourceGroup

from conftest import LOCATION, REPO, Endpoints


README_HTTP_BASE = "http://127.0.0.1:8080"


def readme_blocks(section: str, language: str) -> list[str]:
    """Every `language` code block of the README section headed `section`."""
    readme = (REPO / "README.md").read_text()
    assert f"## {section}\n" in readme, f"README.md has no section '{section}'"
    body = readme.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{language}\n(.*?)```", body, re.S)


def readme_block(section: str, language: str) -> str:
    """The first `language` code block of the README section headed `section`."""
    blocks = readme_blocks(section, language)
    assert blocks, f"README.md has no {language} block under '{section}'"
    return blocks[0]


def readme_python_example() -> str:
    return readme_block("Use it with the Python SDK", "python")


def run_readme_python(
    galleryd: Endpoints,
    resources: ResourceManagementClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *blocks: str,
) -> str:
    """Runs README Python blocks in one namespace, as a reader runs them after `cargo run`: from a
    directory whose .galleryd is the test server's data directory, with the examples' resource group
    rg1 created. Returns what they printed."""
    data_dir = Path(galleryd.certificate).parent.parent
    (tmp_path / ".galleryd").symlink_to(data_dir)
    monkeypatch.chdir(tmp_path)
    resources.resource_groups.create_or_update("rg1", ResourceGroup(location=LOCATION))
    namespace: dict = {}
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        for block in blocks:
            exec(compile(block, "README.md", "exec"), namespace)
    return output.getvalue()


def test_readme_python_example(
    galleryd: Endpoints,
    compute: ComputeManagementClient,
    resources: ResourceManagementClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    printed = run_readme_python(galleryd, resources, tmp_path, monkeypatch, readme_python_example())

    assert printed.strip() == f"{galleryd.subscription_id}-GALLERY1"
    gallery = compute.galleries.get("rg1", "gallery1")
    assert gallery.description == "images"


def test_readme_publishes_a_version_with_curl(galleryd: Endpoints, tmp_path: Path) -> None:
    """The curl lines of 'Use it with curl' then of 'Publish an image version', in bash, against the
    test server's plain-http port instead of 8080."""
    script = readme_block("Use it with curl", "sh") + readme_block("Publish an image version", "sh")
    script = script.replace(README_HTTP_BASE, galleryd.http)
    answer = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert answer.returncode == 0, answer.stderr
    assert '"aggregatedState":"Completed"' in answer.stdout, answer.stdout
    # curl prints the bodies back to back; the replicas report comes last.
    replicas = json.loads(answer.stdout[answer.stdout.rindex('{"value"') :])
    assert sorted((replica["region"], replica["state"]) for replica in replicas["value"]) == [
        ("eastus", "Completed"),
        ("westus", "Completed"),
        ("westus", "Completed"),
    ]


def test_readme_publishes_a_version_with_python(
    galleryd: Endpoints,
    resources: ResourceManagementClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The Python example, then the publishing example, in one namespace as a reader runs them."""
    printed = run_readme_python(
        galleryd,
        resources,
        tmp_path,
        monkeypatch,
        readme_python_example(),
        readme_block("Publish an image version", "python"),
    )
    assert printed.strip().splitlines()[-1] == "{'West US': 100, 'East US': 100}"


def test_readme_creates_resource_groups_with_python(
    galleryd: Endpoints,
    resources: ResourceManagementClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The resource-group block after the Python example runs as written with the pinned
    azure-mgmt-resource; the async block compiles (running it needs aiohttp, which the suite does not
    install) and passes the certificate to both the credential and the client."""
    blocks = readme_blocks("Use it with the Python SDK", "python")
    group_block = next(block for block in blocks if "resource_groups.create_or_update" in block)
    run_readme_python(
        galleryd,
        resources,
        tmp_path,
        monkeypatch,
        readme_python_example(),
        group_block.replace('"rg1"', '"rgreadme"'),
    )
    assert resources.resource_groups.get("rgreadme").location == LOCATION
    async_block = next(block for block in blocks if "azure.mgmt.compute.aio" in block)
    compile(async_block, "README.md", "exec")
    assert async_block.count('connection_verify=endpoints["certificate"]') == 2
