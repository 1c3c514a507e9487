"""Fixtures of the SDK test suite: a real galleryd over HTTPS driven by azure-mgmt-compute.

One galleryd process serves the whole session (page size 2, so every list of three or more
items is paged; started by tests/python/galleryd_server.py, shared with the az CLI suite).
Clients trust its generated CA and authenticate with a static token (test_credentials.py signs
in with azure-identity instead). Every
long-running operation goes through `Lro.run`, which times it: galleryd finishes instant work
before the first status poll, so no `begin_*().result()` may ever wait for a poll interval.
The exception is work galleryd's background workers do after answering (copying an image
version's replicas between regions, removing them): such operations go through
`Lro.run_background`, which lets the client sleep only while galleryd reports the work running.

Environment:
  GALLERYD_BINARY  the galleryd executable (default <repo>/target/debug/galleryd; build it with
                   `cargo build -p galleryd`).
"""

from __future__ import annotations

import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from azure.core.credentials import AccessToken, AccessTokenInfo
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute.models import CreationData, GrantAccessData, Snapshot
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.resource.resources.models import ResourceGroup
from azure.storage.blob import BlobClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))

from galleryd_server import REPO, Endpoints, running_galleryd  # noqa: E402

__all__ = ["REPO", "Endpoints"]
# Upper bound of the client's wait after background work ended (with Retry-After, see run_background).
LRO_BUDGET_SECONDS = 0.8
# Operation statuses after which a poller stops polling.
TERMINAL_STATUSES = ("Succeeded", "Failed", "Canceled", "Cancelled")
# What galleryd answers in Retry-After while an operation runs: the SDK pollers sleep that long.
RETRY_AFTER_SECONDS = 1.0
LOCATION = "westus"
MIB = 1024 * 1024
# What image pipelines write per Put Page: the largest page range one request may carry.
PAGE_BYTES = 4 * MIB
# The VHD footer: an upload is 512 bytes longer than the data written into it.
VHD_FOOTER_BYTES = 512


# --------------------------------------------------------------------------------------------
# The server


@pytest.fixture(scope="session")
def galleryd() -> Iterator[Endpoints]:
    """A galleryd on ephemeral ports with its own data directory, for the whole session."""
    with running_galleryd(["--page-size", "2"]) as endpoints:
        # The SDK clients get connection_verify=<ca> (sent per request, which requests honours),
        # but REQUESTS_CA_BUNDLE is set machine-wide to the system bundle and wins over a
        # Session.verify path, so anything else speaking requests must see galleryd's CA too.
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("REQUESTS_CA_BUNDLE", endpoints.certificate)
            yield endpoints


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


@dataclass(frozen=True)
class BackgroundTiming:
    """How one operation of `Lro.run_background` went."""

    label: str
    # From the initial request to the result, as the client saw it.
    seconds: float
    # From the operation's startTime to its endTime, as galleryd reported them.
    work_seconds: float
    # Status (Azure-AsyncOperation) polls the SDK made.
    status_polls: int

    @property
    def waited_after_work_seconds(self) -> float:
        """How long the client took to see the result once the work was done."""
        return self.seconds - self.work_seconds


def _label(begin: Callable[..., Any], args: tuple[Any, ...]) -> str:
    return f"{getattr(begin, '__qualname__', begin)}{tuple(str(a) for a in args[:3])}"


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class Lro:
    """Runs `begin_*` calls to completion and records how long each one took."""

    timings: list[tuple[str, float]] = field(default_factory=list)
    background_timings: list[BackgroundTiming] = field(default_factory=list)
    # (operation, poll) pairs where a poll of instant work said it still ran (the client slept).
    slept: list[tuple[str, str]] = field(default_factory=list)

    def run(self, begin: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """`begin(*args, **kwargs).result()` for instant work: the client must never sleep between polls.

        An SDK poller sleeps (Retry-After: 1 s) only after a poll that says the work still runs: a 202
        from a Location poll, or a status body whose `status` is not terminal. galleryd finishes
        instant work before the client's first (immediate) poll, so no such answer may come. This is
        checked on the answers themselves rather than on the wall clock, which a loaded machine
        stretches; the time is recorded for the suite's summary.
        """
        assert "raw_response_hook" not in kwargs, "run installs its own raw_response_hook"
        label = _label(begin, args)
        still_running: list[str] = []

        def record_poll(pipeline_response: Any) -> None:
            answer = pipeline_response.http_response
            if answer.request.method != "GET":
                return
            if answer.status_code == 202:
                still_running.append(f"{answer.request.url} answered 202")
                return
            try:
                body = answer.json()
            except ValueError:
                return
            status = body.get("status") if isinstance(body, dict) else None
            if isinstance(status, str) and status not in TERMINAL_STATUSES:
                still_running.append(f"{answer.request.url} answered status {status}")

        start = time.perf_counter()
        result = begin(*args, raw_response_hook=record_poll, **kwargs).result()
        elapsed = time.perf_counter() - start
        self.timings.append((label, elapsed))
        self.slept.extend((label, poll) for poll in still_running)
        assert not still_running, f"{label}: the client slept between polls: {still_running}"
        return result

    def run_background(self, begin: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """`begin(*args, **kwargs).result()` for an operation galleryd's workers finish after it answered.

        Copying replicas takes as long as the bytes take, so the SDK's first (immediate) status poll
        reads InProgress and the poller sleeps Retry-After between polls: the instant budget of `run`
        cannot hold. What must still hold is that the client sleeps only while the work runs: the
        result arrives within one poll interval (plus the instant budget) of the operation's endTime.
        The timing is recorded apart from `timings`, with the work's duration and the number of polls.
        """
        assert "raw_response_hook" not in kwargs, "run_background installs its own raw_response_hook"
        label = _label(begin, args)
        statuses: list[dict[str, Any]] = []

        def record_status(pipeline_response: Any) -> None:
            answer = pipeline_response.http_response
            if "/capsOperations/" in answer.request.url and "monitor=true" not in answer.request.url:
                statuses.append(answer.json())

        start = time.perf_counter()
        result = begin(*args, raw_response_hook=record_status, **kwargs).result()
        elapsed = time.perf_counter() - start
        assert statuses, f"{label}: the SDK finished without polling the operation's status"
        final = statuses[-1]
        assert final["status"] == "Succeeded" and "endTime" in final, f"{label}: final status {final}"
        work = (_parse_time(final["endTime"]) - _parse_time(final["startTime"])).total_seconds()
        timing = BackgroundTiming(label, elapsed, work, len(statuses))
        self.background_timings.append(timing)
        bound = RETRY_AFTER_SECONDS + LRO_BUDGET_SECONDS
        assert timing.waited_after_work_seconds < bound, (
            f"{label} took {elapsed:.3f} s for {work:.3f} s of work ({len(statuses)} status polls): "
            f"the client waited {timing.waited_after_work_seconds:.3f} s (>= {bound} s) after the work ended"
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
            f"max {slowest[1]:.3f} s ({slowest[0]}), {len(_LRO.slept)} slept between polls"
        )
    for timing in _LRO.background_timings:
        terminalreporter.write_line(
            f"galleryd background LRO: {timing.seconds:.3f} s for {timing.work_seconds:.3f} s of work, "
            f"{timing.status_polls} status polls ({timing.label})"
        )


# --------------------------------------------------------------------------------------------
# Bytes of disks and snapshots, through azure-storage-blob


def blob_client(sas: str, galleryd: Endpoints) -> BlobClient:
    """An azure-storage-blob client of a SAS URL on galleryd's blob endpoint."""
    return BlobClient.from_blob_url(sas, connection_verify=galleryd.certificate)


def create_upload_snapshot(
    compute: ComputeManagementClient, lro: Lro, resource_group: str, upload_bytes: int
) -> Snapshot:
    """A new Upload snapshot of `upload_bytes` (the data and the VHD footer), ready for a write grant."""
    return lro.run(
        compute.snapshots.begin_create_or_update,
        resource_group,
        unique_name("snap"),
        Snapshot(
            location=LOCATION,
            os_type="Linux",
            hyper_v_generation="V2",
            creation_data=CreationData(create_option="Upload", upload_size_bytes=upload_bytes),
        ),
    )


def grant_access(compute_operations: Any, lro: Lro, resource_group: str, name: str, access: str) -> str:
    """beginGetAccess (`compute.disks` or `compute.snapshots`) through the SDK. galleryd answers 202 as Azure
    does; the operation is already done at the first poll, and the SAS is its result (at `Location`)."""
    access_uri = lro.run(
        compute_operations.begin_grant_access,
        resource_group,
        name,
        GrantAccessData(access=access, duration_in_seconds=3600),
    )
    return access_uri.access_sas


def revoke_access(compute_operations: Any, lro: Lro, resource_group: str, name: str) -> None:
    """endGetAccess through the SDK: 202, done at the first poll once an upload's pages are sealed."""
    lro.run(compute_operations.begin_revoke_access, resource_group, name)


def write_pages(writer: BlobClient, data: bytes) -> None:
    """Writes `data` from offset 0 as consecutive Put Page requests of PAGE_BYTES (the last may be shorter)."""
    for offset in range(0, len(data), PAGE_BYTES):
        page = data[offset : offset + PAGE_BYTES]
        answer = writer.upload_page(page, offset=offset, length=len(page))
        assert answer["etag"], f"Put Page at {offset} answered no ETag"
