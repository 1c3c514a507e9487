"""The README's Python SDK example runs as written against galleryd, and does what it says."""

import contextlib
import io
import re
from pathlib import Path

import pytest
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.resource.resources.models import ResourceGroup

from conftest import LOCATION, REPO, Endpoints


def readme_python_example() -> str:
    readme = (REPO / "README.md").read_text()
    match = re.search(r"## Use it with the Python SDK.*?```python\n(.*?)```", readme, re.S)
    assert match, "README.md has no Python example under 'Use it with the Python SDK'"
    return match.group(1)


def test_readme_python_example(
    galleryd: Endpoints,
    compute: ComputeManagementClient,
    resources: ResourceManagementClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The example reads .galleryd/endpoints.json from where it runs, as after `cargo run`.
    data_dir = Path(galleryd.certificate).parent.parent
    (tmp_path / ".galleryd").symlink_to(data_dir)
    monkeypatch.chdir(tmp_path)
    resources.resource_groups.create_or_update("rg1", ResourceGroup(location=LOCATION))

    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(readme_python_example(), "README.md", "exec"), {})

    assert output.getvalue().strip() == f"{galleryd.subscription_id}-GALLERY1"
    gallery = compute.galleries.get("rg1", "gallery1")
    assert gallery.description == "images"
