"""Fixtures of the SDK test suite: a real galleryd over HTTPS driven by azure-mgmt-compute.

One galleryd process serves the whole session (page size 2, so every list of three or more
items is paged). Clients trust its generated CA and authenticate with a static token. Every
long-running operation goes through `Lro.run`, which times it: galleryd finishes instant work
before the first status poll, so no `begin_*().result()` may ever wait for a poll interval.

Environment:
  GALLERYD_BINARY  the galleryd executable (default <repo>/target/debug/galleryd; build it with
                   `cargo build -p galleryd`).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from azure.core.credentials import AccessToken, AccessTokenInfo
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.resource.resources.models import ResourceGroup

REPO = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_SECONDS = 10.0
# Upper bound of one begin_*().result(): far below the 1 s Retry-After of an in-progress poll.
LRO_BUDGET_SECONDS = 0.8
LOCATION = "westus"


# --------------------------------------------------------------------------------------------
# The server


@dataclass(frozen=True)
class Endpoints:
    """What galleryd wrote to <data-dir>/endpoints.json."""

    https: str
    http: str
    certificate: str
    tenant_id: str
    subscription_id: str


def _server_output(data_dir: Path) -> str:
    """The server's stderr and stdout so far, for failure messages."""
    parts = []
    for name in ("stderr", "stdout"):
        text = (data_dir / f"galleryd.{name}").read_text(errors="replace").strip()
        if text:
            parts.append(f"--- galleryd {name} ---\n{text}")
    return "\n".join(parts) or "(galleryd printed nothing)"


def _wait_until_ready(process: subprocess.Popen, data_dir: Path) -> Endpoints:
    """Waits for endpoints.json and a 200 from /_galleryd/ready; fails loudly otherwise."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    endpoints_file = data_dir / "endpoints.json"
    last_problem = "endpoints.json not written"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"galleryd exited with status {process.returncode} during startup\n"
                + _server_output(data_dir),
                pytrace=False,
            )
        if not endpoints_file.exists():
            time.sleep(0.05)
            continue
        try:
            document = json.loads(endpoints_file.read_text())
            endpoints = Endpoints(
                https=document["https"],
                http=document["http"],
                certificate=document["certificate"],
                tenant_id=document["tenantId"],
                subscription_id=document["subscriptionId"],
            )
            with urllib.request.urlopen(f"{endpoints.http}/_galleryd/ready", timeout=2) as answer:
                if answer.status == 200:
                    return endpoints
                last_problem = f"/_galleryd/ready answered {answer.status}"
        except (OSError, ValueError, KeyError) as error:  # half written, or not listening yet
            last_problem = repr(error)
        time.sleep(0.05)
    pytest.fail(
        f"galleryd was not ready within {STARTUP_TIMEOUT_SECONDS} s ({last_problem})\n"
        + _server_output(data_dir),
        pytrace=False,
    )


@pytest.fixture(scope="session")
def galleryd() -> Iterator[Endpoints]:
    """A galleryd on ephemeral ports with its own data directory, for the whole session."""
    binary = Path(os.environ.get("GALLERYD_BINARY", REPO / "target" / "debug" / "galleryd"))
    if not binary.is_file():
        pytest.fail(
            f"galleryd binary {binary} not found: run `cargo build -p galleryd` or set GALLERYD_BINARY",
            pytrace=False,
        )
    with tempfile.TemporaryDirectory(prefix="galleryd-sdk-") as directory:
        data_dir = Path(directory)
        command = [
            str(binary), "serve",
            "--data-dir", str(data_dir),
            "--https-port", "0",
            "--http-port", "0",
            "--page-size", "2",
            "--log-level", "warn",
        ]
        # Output goes to files, never pipes: a chatty server must not block on a full pipe.
        with open(data_dir / "galleryd.stdout", "wb") as stdout, open(
            data_dir / "galleryd.stderr", "wb"
        ) as stderr:
            process = subprocess.Popen(command, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL)
        try:
            endpoints = _wait_until_ready(process, data_dir)
            # The SDK clients get connection_verify=<ca> (sent per request, which requests honours),
            # but REQUESTS_CA_BUNDLE is set machine-wide to the system bundle and wins over a
            # Session.verify path, so anything else speaking requests must see galleryd's CA too.
            with pytest.MonkeyPatch.context() as patch:
                patch.setenv("REQUESTS_CA_BUNDLE", endpoints.certificate)
                yield endpoints
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# --------------------------------------------------------------------------------------------
# Clients


class StaticTokenCredential:
    """A credential that hands out a fixed bearer token (galleryd does not check it yet)."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("x", int(time.time()) + 3600)

    # azure-core >= 1.31 prefers this protocol when a credential offers it.
    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        return AccessTokenInfo("x", int(time.time()) + 3600)

    def close(self) -> None:
        pass

    def __enter__(self) -> "StaticTokenCredential":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        pass


@pytest.fixture(scope="session")
def subscription(galleryd: Endpoints) -> str:
    return galleryd.subscription_id


@pytest.fixture(scope="session")
def compute(galleryd: Endpoints) -> Iterator[ComputeManagementClient]:
    client = ComputeManagementClient(
        StaticTokenCredential(),
        galleryd.subscription_id,
        base_url=galleryd.https,
        connection_verify=galleryd.certificate,
    )
    with client:
        yield client


@pytest.fixture(scope="session")
def resources(galleryd: Endpoints) -> Iterator[ResourceManagementClient]:
    client = ResourceManagementClient(
        StaticTokenCredential(),
        galleryd.subscription_id,
        base_url=galleryd.https,
        connection_verify=galleryd.certificate,
    )
    with client:
        yield client


def unique_name(prefix: str) -> str:
    """A name no other test uses (letters and digits only, valid for every resource type)."""
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@pytest.fixture
def resource_group(resources: ResourceManagementClient) -> str:
    """A fresh resource group in westus, created through azure-mgmt-resource."""
    name = unique_name("rg")
    group = resources.resource_groups.create_or_update(name, ResourceGroup(location=LOCATION))
    assert (group.name, group.location) == (name, LOCATION)
    return name


# --------------------------------------------------------------------------------------------
# Long-running operations


@dataclass
class Lro:
    """Runs `begin_*` calls to completion and records how long each one took."""

    timings: list[tuple[str, float]] = field(default_factory=list)

    def run(self, begin: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """`begin(*args, **kwargs).result()`, timed from the initial request to the result."""
        label = f"{getattr(begin, '__qualname__', begin)}{tuple(str(a) for a in args[:3])}"
        start = time.perf_counter()
        result = begin(*args, **kwargs).result()
        elapsed = time.perf_counter() - start
        self.timings.append((label, elapsed))
        assert elapsed < LRO_BUDGET_SECONDS, (
            f"{label} took {elapsed:.3f} s (>= {LRO_BUDGET_SECONDS} s): the client slept between polls"
        )
        return result

    def slowest(self) -> tuple[str, float] | None:
        return max(self.timings, key=lambda timing: timing[1], default=None)


_LRO = Lro()


@pytest.fixture(scope="session")
def lro() -> Lro:
    return _LRO


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Runs test_lro_speed.py last, so that it sees the timings of every other test."""
    items.sort(key=lambda item: item.path.name == "test_lro_speed.py")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    slowest = _LRO.slowest()
    if slowest is not None:
        terminalreporter.write_line(
            f"galleryd LROs: {len(_LRO.timings)} begin_*().result() calls, "
            f"max {slowest[1]:.3f} s ({slowest[0]}), budget {LRO_BUDGET_SECONDS} s"
        )
