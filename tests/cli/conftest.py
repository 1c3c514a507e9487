"""Fixtures of the az CLI suite: a real galleryd (strict authentication: only tokens it issued are
accepted) and a runner for azure-cli 2.91 from its own pinned venv (`scripts/python-env cli`).

Every `az` call runs with its own `AZURE_CONFIG_DIR` (never the user's), `REQUESTS_CA_BUNDLE` at
galleryd's certificate (the machine sets it to the system bundle, which would win otherwise) and
telemetry off, and is timed: no command may sleep on polling, so each must finish within a few
seconds.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))

from galleryd_server import Endpoints, running_galleryd  # noqa: E402

# What one az command may take: start-up (about a second) plus requests, never a 30 s poll.
COMMAND_BUDGET_SECONDS = 8.0


@dataclass
class Az:
    """Runs `az` against galleryd with one configuration directory."""

    galleryd: Endpoints
    config_dir: Path
    environment: dict[str, str] = field(default_factory=dict)
    timings: list[tuple[str, float]] = field(default_factory=list)

    def base_environment(self) -> dict[str, str]:
        environment = dict(os.environ)
        environment.update(
            AZURE_CONFIG_DIR=str(self.config_dir),
            REQUESTS_CA_BUNDLE=self.galleryd.certificate,
            AZURE_CORE_COLLECT_TELEMETRY="false",
            AZURE_CORE_SURVEY_MESSAGE="false",
            AZURE_CORE_NO_COLOR="true",
            AZURE_CORE_ONLY_SHOW_ERRORS="true",
        )
        environment.update(self.environment)
        return environment

    def run(self, *arguments: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
        """`az <arguments>`; asserts its exit code and that it stayed within the budget."""
        executable = Path(sys.executable).parent / "az"
        started = time.perf_counter()
        answer = subprocess.run(
            [str(executable), *arguments],
            env=self.base_environment(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        elapsed = time.perf_counter() - started
        label = "az " + " ".join(arguments)
        self.timings.append((label, elapsed))
        assert answer.returncode == expect, (
            f"{label}: exit {answer.returncode}, expected {expect}\n{answer.stdout}\n{answer.stderr}"
        )
        assert elapsed < COMMAND_BUDGET_SECONDS, f"{label} took {elapsed:.1f} s: it slept on polling"
        return answer

    def value(self, *arguments: str) -> str:
        """The tsv output of a command that succeeds."""
        return self.run(*arguments, "--output", "tsv").stdout.strip()


@pytest.fixture(scope="session")
def galleryd() -> Iterator[Endpoints]:
    with running_galleryd(["--auth", "strict"]) as endpoints:
        yield endpoints


# Every command's duration, for the summary line.
_TIMINGS: list[tuple[str, float]] = []


@pytest.fixture(scope="session")
def timings() -> list[tuple[str, float]]:
    return _TIMINGS


@pytest.fixture
def new_az(galleryd: Endpoints, tmp_path_factory: pytest.TempPathFactory, timings: list[tuple[str, float]]):
    """A factory of `Az` runners, each with a fresh configuration directory."""

    def make(**environment: str) -> Az:
        return Az(galleryd, tmp_path_factory.mktemp("azure-config"), dict(environment), timings)

    return make


def pytest_terminal_summary(terminalreporter) -> None:
    if _TIMINGS:
        label, slowest = max(_TIMINGS, key=lambda timing: timing[1])
        terminalreporter.write_line(
            f"az: {len(_TIMINGS)} commands, slowest {slowest:.2f} s ({label}), budget {COMMAND_BUDGET_SECONDS} s"
        )
