"""Starting the real galleryd binary for the Python suites (tests/sdk, tests/cli).

`running_galleryd(extra_arguments)` starts `galleryd serve` on ephemeral ports with a fresh data
directory, waits for `endpoints.json` and `/_galleryd/ready`, yields the `Endpoints` it wrote, and
stops the process with SIGTERM afterwards. Output goes to files in the data directory (never
pipes: a chatty server must not block on a full pipe) and is shown when startup fails.

Environment:
  GALLERYD_BINARY  the galleryd executable (default <repo>/target/debug/galleryd; build it with
                   `cargo build -p galleryd`).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import pytest

REPO = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Endpoints:
    """What galleryd wrote to <data-dir>/endpoints.json."""

    https: str
    http: str
    certificate: str
    tenant_id: str
    subscription_id: str
    client_id: str
    client_secret: str
    identity_endpoint: str
    identity_header: str
    data_dir: Path


def server_output(data_dir: Path) -> str:
    """The server's stderr and stdout so far, for failure messages."""
    parts = []
    for name in ("stderr", "stdout"):
        path = data_dir / f"galleryd.{name}"
        text = path.read_text(errors="replace").strip() if path.exists() else ""
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
                f"galleryd exited with status {process.returncode} during startup\n" + server_output(data_dir),
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
                client_id=document["clientId"],
                client_secret=document["clientSecret"],
                identity_endpoint=document["identityEndpoint"],
                identity_header=document["identityHeader"],
                data_dir=data_dir,
            )
            with urllib.request.urlopen(f"{endpoints.http}/_galleryd/ready", timeout=2) as answer:
                if answer.status == 200:
                    return endpoints
                last_problem = f"/_galleryd/ready answered {answer.status}"
        except (OSError, ValueError, KeyError) as error:  # half written, or not listening yet
            last_problem = repr(error)
        time.sleep(0.05)
    pytest.fail(
        f"galleryd was not ready within {STARTUP_TIMEOUT_SECONDS} s ({last_problem})\n" + server_output(data_dir),
        pytrace=False,
    )


@contextlib.contextmanager
def running_galleryd(extra_arguments: Sequence[str] = ()) -> Iterator[Endpoints]:
    """A galleryd on ephemeral ports with its own data directory, while the block runs."""
    binary = Path(os.environ.get("GALLERYD_BINARY", REPO / "target" / "debug" / "galleryd"))
    if not binary.is_file():
        pytest.fail(
            f"galleryd binary {binary} not found: run `cargo build -p galleryd` or set GALLERYD_BINARY",
            pytrace=False,
        )
    with tempfile.TemporaryDirectory(prefix="galleryd-python-") as directory:
        data_dir = Path(directory)
        command = [
            str(binary), "serve",
            "--data-dir", str(data_dir),
            "--https-port", "0",
            "--http-port", "0",
            "--log-level", "warn",
            *extra_arguments,
        ]
        with open(data_dir / "galleryd.stdout", "wb") as stdout, open(data_dir / "galleryd.stderr", "wb") as stderr:
            process = subprocess.Popen(command, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL)
        try:
            yield _wait_until_ready(process, data_dir)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
