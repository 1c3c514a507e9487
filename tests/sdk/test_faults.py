"""Faults injected through /_galleryd/faults reach azure-mgmt-compute the way Azure's do: its retry
policy retries an injected 500 and a dropped connection, waits the Retry-After of an injected 429,
and gives up with the injected ARM error once its retries are spent."""

from __future__ import annotations

import time
from typing import Iterator

import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute.models import Gallery

from conftest import LOCATION, Endpoints, Lro, unique_name

FAST_RETRIES = {"retry_backoff_factor": 0.01, "retry_backoff_max": 0.05}


@pytest.fixture
def faults(galleryd: Endpoints) -> Iterator[str]:
    """The fault rules endpoint; every rule is removed after the test."""
    url = f"{galleryd.http}/_galleryd/faults"
    yield url
    requests.delete(url, timeout=10).raise_for_status()


def add_rule(faults: str, rule: dict) -> dict:
    response = requests.post(faults, json=rule, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


def fired(faults: str, rule_id: str) -> int:
    rules = requests.get(faults, timeout=10).json()["value"]
    return next(rule["fired"] for rule in rules if rule["id"] == rule_id)


@pytest.fixture
def gallery(compute: ComputeManagementClient, lro: Lro, resource_group: str) -> str:
    name = unique_name("faulty")
    lro.run(compute.galleries.begin_create_or_update, resource_group, name, Gallery(location=LOCATION))
    return name


def test_the_sdk_retries_injected_server_errors(
    compute: ComputeManagementClient, resource_group: str, gallery: str, faults: str
) -> None:
    rule = add_rule(faults, {
        "match": {"operationId": "Galleries_Get", "path": f"*/galleries/{gallery}"},
        "action": {"kind": "error", "status": 500, "code": "InternalServerError"},
        "times": 2,
    })
    fetched = compute.galleries.get(resource_group, gallery, **FAST_RETRIES)
    assert fetched.name == gallery
    assert fired(faults, rule["id"]) == 2


def test_the_sdk_waits_the_retry_after_of_an_injected_429(
    compute: ComputeManagementClient, resource_group: str, gallery: str, faults: str
) -> None:
    rule = add_rule(faults, {
        "match": {"path": f"*/galleries/{gallery}", "method": "GET"},
        "action": {"kind": "throttle", "retryAfterSeconds": 1},
        "times": 1,
    })
    started = time.monotonic()
    fetched = compute.galleries.get(resource_group, gallery)
    assert fetched.name == gallery
    assert time.monotonic() - started >= 1.0, "the client waited the Retry-After"
    assert fired(faults, rule["id"]) == 1


def test_the_sdk_retries_a_dropped_connection(
    compute: ComputeManagementClient, resource_group: str, gallery: str, faults: str
) -> None:
    rule = add_rule(faults, {
        "match": {"operationId": "Galleries_Get", "path": f"*/galleries/{gallery}"},
        "action": {"kind": "dropConnection"},
        "times": 1,
    })
    fetched = compute.galleries.get(resource_group, gallery, **FAST_RETRIES)
    assert fetched.name == gallery
    assert fired(faults, rule["id"]) == 1


def test_the_sdk_gives_up_with_the_injected_error_after_its_retries(
    compute: ComputeManagementClient, resource_group: str, gallery: str, faults: str
) -> None:
    rule = add_rule(faults, {
        "match": {"operationId": "Galleries_Get", "path": f"*/galleries/{gallery}"},
        "action": {"kind": "error", "status": 503, "code": "ServiceUnavailable", "message": "down for a test"},
    })
    with pytest.raises(HttpResponseError) as raised:
        compute.galleries.get(resource_group, gallery, retry_total=2, **FAST_RETRIES)
    assert raised.value.status_code == 503
    assert raised.value.error.code == "ServiceUnavailable"
    assert raised.value.error.message == "down for a test"
    assert fired(faults, rule["id"]) == 3, "one request and two retries"
