"""Generated-input stage: schemathesis (pinned, tests/fuzz/requirements.txt) generates requests for
every operation of openapi/galleryd.json and sends them to a real galleryd; every answer must be
what the document describes (status, content type, headers, body schema), none may be a 5xx, and
none may take longer than the request timeout (a hang).

Before the run, a few resources are created so that generated requests reach the service's rules
instead of stopping at "not found": a resource group `fuzz`, gallery `fuzzgallery`, image definition
`fuzzimage` with version `1.0.0` (from the sealed snapshot `fuzzsnapshot`), the disk `fuzzdisk`,
and an upload disk with a write SAS for the blob endpoint. tests/fuzz/schemathesis.toml draws path and query values from these
part of the time. Nothing filters operations out: operations added to the document later are
fuzzed too, and the stage checks that every documented operation was exercised.

Environment:
  GALLERYD_BINARY           the galleryd executable (default <repo>/target/debug/galleryd).
  GALLERYD_FUZZ_EXAMPLES    generated cases per operation in the fuzzing phase (default 10).
  GALLERYD_FUZZ_MIN_CASES   the fewest cases a run must send (default 5000).
  GALLERYD_FUZZ_SEED        the seed (default: a fixed one, so the suite's runs repeat; printed).

A longer run: `GALLERYD_FUZZ_EXAMPLES=500 scripts/fuzz` (see the README).
"""

from __future__ import annotations

import json
import os
import string
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))

from galleryd_server import REPO, Endpoints, running_galleryd  # noqa: E402

OPENAPI = REPO / "openapi" / "galleryd.json"
CONFIG = Path(__file__).resolve().parent / "schemathesis.toml"
GALLERY_API = "2026-03-03"
DISK_API = "2026-03-02"
RESOURCES_API = "2024-11-01"
MIB = 1024 * 1024
UPLOAD_BYTES = 20 * MIB + 512
# The seed of the test suite's runs, so that CI explores the same cases every time (a failure there
# is a change's doing); `scripts/fuzz` draws a new one per run to explore further.
DEFAULT_SEED = 20261207
# The whole schemathesis run may take at most this long (seconds): past it the stage fails.
RUN_LIMIT_SECONDS = 900


def _check(response: requests.Response, *statuses: int) -> requests.Response:
    assert response.status_code in statuses, f"{response.request.method} {response.url}: {response.status_code} {response.text}"
    return response


def _wait_for_operation(session: requests.Session, response: requests.Response) -> None:
    url = response.headers.get("Azure-AsyncOperation")
    if not url:
        return
    for _ in range(200):
        status = _check(session.get(url), 200).json()["status"]
        if status != "InProgress":
            assert status == "Succeeded", status
            return
        time.sleep(0.05)
    raise AssertionError(f"{url} did not finish")


def _action_result(session: requests.Session, response: requests.Response) -> requests.Response:
    """What an accepted POST action (202, as Azure answers beginGetAccess) answers at its Location."""
    _wait_for_operation(session, response)
    return _check(session.get(response.headers["Location"]), 200)


def seed(endpoints: Endpoints) -> dict[str, str]:
    """Creates the resources the dictionaries name; returns the values the config reads."""
    base = endpoints.http
    subscription = endpoints.subscription_id
    group = f"/subscriptions/{subscription}/resourceGroups/fuzz"
    compute = f"{group}/providers/Microsoft.Compute"
    session = requests.Session()

    def url(path: str, api: str) -> str:
        return f"{base}{path}?api-version={api}"

    _check(session.put(url(group, RESOURCES_API), json={"location": "westus"}), 200, 201)
    _wait_for_operation(session, _check(session.put(url(f"{compute}/galleries/fuzzgallery", GALLERY_API), json={"location": "westus"}), 200, 201))
    image = f"{compute}/galleries/fuzzgallery/images/fuzzimage"
    image_body = {
        "location": "westus",
        "properties": {"osType": "Linux", "osState": "Generalized", "hyperVGeneration": "V2", "identifier": {"publisher": "fuzz", "offer": "fuzz", "sku": "fuzz"}},
    }
    _wait_for_operation(session, _check(session.put(url(image, GALLERY_API), json=image_body), 200, 201))

    # A VM application definition (its versions' package links are generated, so they mostly fail to read).
    application = f"{compute}/galleries/fuzzgallery/applications/fuzzapplication"
    application_body = {"location": "westus", "properties": {"supportedOSType": "Linux"}}
    _wait_for_operation(session, _check(session.put(url(application, GALLERY_API), json=application_body), 200, 201))

    script = f"{compute}/galleries/fuzzgallery/scripts/fuzzscript"
    _wait_for_operation(session, _check(session.put(url(script, GALLERY_API), json={"location": "westus", "properties": {"supportedOSType": "Windows"}}), 200, 201))

    # A snapshot with bytes, sealed: the source of a version.
    snapshot = f"{compute}/snapshots/fuzzsnapshot"
    upload = {"location": "westus", "properties": {"osType": "Linux", "hyperVGeneration": "V2", "creationData": {"createOption": "Upload", "uploadSizeBytes": UPLOAD_BYTES}}}
    _wait_for_operation(session, _check(session.put(url(snapshot, DISK_API), json=upload), 200, 202))
    grant = _check(session.post(url(f"{snapshot}/beginGetAccess", DISK_API), json={"access": "Write", "durationInSeconds": 3600}), 202)
    sas = _action_result(session, grant).json()["accessSAS"]
    page = bytes(range(256)) * 2048
    _check(
        session.put(f"{sas}&comp=page", data=page, headers={"x-ms-page-write": "update", "x-ms-range": f"bytes=0-{len(page) - 1}"}),
        201,
    )
    _action_result(session, _check(session.post(url(f"{snapshot}/endGetAccess", DISK_API)), 202))
    version = f"{image}/versions/1.0.0"
    version_body = {
        "location": "westus",
        "properties": {
            "publishingProfile": {"targetRegions": [{"name": "westus"}]},
            "storageProfile": {"osDiskImage": {"source": {"id": snapshot}}},
        },
    }
    created = _check(session.put(url(version, GALLERY_API), json=version_body), 200, 201)
    operation = created.headers["Azure-AsyncOperation"].split("/capsOperations/")[1].split("?")[0]
    _wait_for_operation(session, created)

    # An application version whose package is the snapshot's bytes, read through a read SAS.
    read_grant = _check(session.post(url(f"{snapshot}/beginGetAccess", DISK_API), json={"access": "Read", "durationInSeconds": 3600}), 202)
    application_version_body = {
        "location": "westus",
        "properties": {"publishingProfile": {
            "source": {"mediaLink": _action_result(session, read_grant).json()["accessSAS"]},
            "manageActions": {"install": "install.sh", "remove": "remove.sh"},
            "targetRegions": [{"name": "westus"}],
        }},
    }
    _wait_for_operation(session, _check(session.put(url(f"{application}/versions/1.0.0", GALLERY_API), json=application_version_body), 200, 201))
    _action_result(session, _check(session.post(url(f"{snapshot}/endGetAccess", DISK_API)), 202))

    # The disk `fuzzdisk`, which generated requests name; and an upload disk whose write SAS the
    # blob endpoint's requests carry, named by no dictionary so that no generated request deletes
    # it or ends its access.
    _wait_for_operation(session, _check(session.put(url(f"{compute}/disks/fuzzdisk", DISK_API), json=upload), 200, 202))
    disk = f"{compute}/disks/uploadtarget"
    _wait_for_operation(session, _check(session.put(url(disk, DISK_API), json=upload), 200, 202))
    grant = _check(session.post(url(f"{disk}/beginGetAccess", DISK_API), json={"access": "Write", "durationInSeconds": 3 * 3600}), 202)
    sas = _action_result(session, grant).json()["accessSAS"]
    blob = sas.split("?")[0].rsplit("/", 1)[1]
    fields = dict(pair.split("=", 1) for pair in sas.split("?", 1)[1].split("&"))
    unquote = requests.utils.unquote
    return {
        "FUZZ_SUBSCRIPTION": subscription,
        "FUZZ_TENANT": endpoints.tenant_id,
        "FUZZ_OPERATION": operation,
        "FUZZ_BLOB": blob,
        "FUZZ_SAS_SIG": unquote(fields["sig"]),
        "FUZZ_SAS_SE": unquote(fields["se"]),
        "FUZZ_SAS_SI": unquote(fields["si"]),
        "FUZZ_IMAGE_ID": image,
        "FUZZ_VERSION_ID": version,
    }


def documented_operations() -> set[str]:
    """`METHOD /path` of every operation in the OpenAPI document."""
    document = json.loads(OPENAPI.read_text())
    methods = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
    return {f"{method.upper()} {path}" for path, item in document["paths"].items() for method in item if method in methods}


def read_report(path: Path) -> tuple[Counter, list[str]]:
    """Cases sent per operation, and the failures, from schemathesis's NDJSON event stream."""
    cases: Counter = Counter()
    failures: list[str] = []
    for line in path.read_text().splitlines():
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if finished:
            label = finished.get("label") or finished.get("recorder", {}).get("label")
            recorder = finished.get("recorder", {})
            count = len(recorder.get("cases", {})) or len(recorder.get("interactions", {}))
            if label:
                cases[label] += count
            for check_list in recorder.get("checks", {}).values():
                for check in check_list:
                    if check.get("status") == "FAILURE":
                        failures.append(f"{label}: {check.get('name')}: {check.get('failure_info') or check}")
        errored = event.get("NonFatalError") or event.get("FatalError")
        if errored:
            failures.append(f"error: {json.dumps(errored)[:2000]}")
    return cases, failures


def test_generated_requests_get_documented_answers(tmp_path: Path) -> None:
    examples = int(os.environ.get("GALLERYD_FUZZ_EXAMPLES", "10"))
    minimum = int(os.environ.get("GALLERYD_FUZZ_MIN_CASES", "5000"))
    seed_value = int(os.environ.get("GALLERYD_FUZZ_SEED") or DEFAULT_SEED)
    print(f"fuzz: seed {seed_value} (GALLERYD_FUZZ_SEED={seed_value} replays it), {examples} examples per operation")
    with running_galleryd() as endpoints:
        values = seed(endpoints)
        config = tmp_path / "schemathesis.toml"
        config.write_text(string.Template(CONFIG.read_text()).substitute(values))
        report = tmp_path / "events.ndjson"
        command = [
            str(Path(sys.executable).parent / "schemathesis"),
            "--config-file", str(config),
            "run", str(OPENAPI),
            "--url", endpoints.http,
            "--max-examples", str(examples),
            "--seed", str(seed_value),
            "--report", "ndjson",
            "--report-ndjson-path", str(report),
        ]
        started = time.monotonic()
        result = subprocess.run(
            command,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=RUN_LIMIT_SECONDS,
        )
        took = time.monotonic() - started
        output = result.stdout[-20000:] + result.stderr[-5000:]
        assert report.exists(), f"schemathesis wrote no report (exit {result.returncode})\n{output}"
        cases, failures = read_report(report)
        total = sum(cases.values())
        print(f"fuzz: {total} cases over {len(cases)} operations in {took:.0f} s, {len(failures)} failures")
        assert result.returncode == 0 and not failures, "\n".join(failures[:50]) + "\n" + output
        assert total >= minimum, f"only {total} cases ran (want {minimum}); raise GALLERYD_FUZZ_EXAMPLES\n{output}"
        missing = documented_operations() - set(cases)
        assert not missing, f"operations never exercised: {sorted(missing)}\n{output}"
