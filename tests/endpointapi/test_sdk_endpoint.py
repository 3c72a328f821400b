"""Every action against a REAL `@trigger.dev/sdk` 2.3.19 endpoint (the shared fixture, scenarios
`basic` and `full`), plus the exact request headers it received (`--request-log`)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from endpointapi import (
    ActionNotSupported,
    ClientConfig,
    EndpointApiClient,
    EndpointHTTPError,
    EndpointUnauthorized,
    IndexResult,
    IndexUnchanged,
    Pong,
    ValidateResult,
)
from tests.endpointapi.conftest import API_KEY, ENDPOINT_ID, OTHER_ID, WRONG_KEY
from tests.support.outbound import LOOPBACK_POLICY

pytestmark = pytest.mark.integration

API_VERSION = "2023-09-29"
SDK_VERSION = "2.3.19"
KEY_MISMATCH = "Forbidden: client apiKey mismatch: Make sure you are using the correct API Key for your environment"
SOURCE_KEY = "acme.repo-http-acme.widgets-acme-prod"
WEBHOOK_KEY = "acme.deploy-9470f39"
# Headers the HTTP stack adds by itself; everything else must be exactly what §1.1/§1.5 list.
TRANSPORT_HEADERS = {"host", "accept-encoding", "connection", "content-length"}
COMMON = {
    "x-trigger-api-key": API_KEY,
    "x-trigger-version": API_VERSION,
    "user-agent": "triggerdotdev-server/2.0.0",
    "accept": "application/json",
}
TS = "2024-01-01T00:00:00.000Z"


def client(endpoint: Any, api_key: str = API_KEY) -> EndpointApiClient:
    return EndpointApiClient(url=endpoint.url, api_key=api_key, config=ClientConfig(address_policy=LOOPBACK_POLICY))


def run_body(job_id: str, version: str = "1.0.0") -> dict[str, Any]:
    """A RunJobBody the SDK's `RunJobBodySchema` accepts."""
    return {
        "event": {"id": "evt_1", "name": "order.refunded", "payload": {"orderId": "o_1"}, "timestamp": TS},
        "job": {"id": job_id, "version": version},
        "run": {"id": "run_1", "isTest": True, "startedAt": TS},
        "environment": {"id": "env_1", "slug": "dev", "type": "DEVELOPMENT"},
        "organization": {"id": "org_1", "title": "Acme", "slug": "acme"},
        "project": {"id": "proj_1", "name": "Shop", "slug": "shop"},
        "runChunkExecutionLimit": 60_000,
    }


# -- PING / VALIDATE -------------------------------------------------------------------------------


def test_ping_ok(sdk_basic):
    assert client(sdk_basic).ping(ENDPOINT_ID) == Pong(
        ok=True, error=None, trigger_version=API_VERSION, trigger_sdk_version=SDK_VERSION
    )


def test_ping_wrong_key_is_401_with_the_sdk_message(sdk_basic):
    with pytest.raises(EndpointUnauthorized) as excinfo:
        client(sdk_basic, api_key=WRONG_KEY).ping(ENDPOINT_ID)
    error = excinfo.value
    assert error.message == KEY_MISMATCH
    assert (error.code, error.status_code, error.retryable, error.action) == ("UNAUTHORIZED", 401, False, "PING")


def test_ping_wrong_endpoint_id_is_not_ok(sdk_basic):
    pong = client(sdk_basic).ping(OTHER_ID)
    assert pong == Pong(
        ok=False,
        error=f"Endpoint ID mismatch error. Expected {ENDPOINT_ID}, got {OTHER_ID}",
        trigger_version=API_VERSION,
        trigger_sdk_version=SDK_VERSION,
    )


def test_validate(sdk_basic):
    assert client(sdk_basic).validate() == ValidateResult(
        ok=True, endpoint_id=ENDPOINT_ID, error=None, trigger_version=API_VERSION, trigger_sdk_version=SDK_VERSION
    )


def test_validate_wrong_key(sdk_basic):
    with pytest.raises(EndpointUnauthorized) as excinfo:
        client(sdk_basic, api_key=WRONG_KEY).validate()
    assert excinfo.value.message == KEY_MISMATCH


# -- INDEX_ENDPOINT ---------------------------------------------------------------------------------


def test_index_basic(sdk_basic, zod):
    result = client(sdk_basic).index_endpoint()
    assert (result.trigger_version, result.trigger_sdk_version) == (API_VERSION, SDK_VERSION)
    assert result.duration > 0
    jobs = {job.id: job for job in result.document.jobs}
    assert {job_id: (job.trigger.type, job.enabled) for job_id, job in jobs.items()} == {
        "send-welcome-email": ("static", True),
        "daily-report": ("scheduled", True),
        "disabled-cleanup": ("static", False),
    }
    assert result.data["jobs"][1]["trigger"]["schedule"] == {"type": "cron", "options": {"cron": "0 9 * * *"}}
    for key in ("sources", "webhooks", "dynamicTriggers", "dynamicSchedules", "httpEndpoints"):
        assert result.data[key] == []
    [expected] = zod([("IndexEndpointResponseSchema", _raw_index(sdk_basic))])
    assert result.data == expected["data"]


def test_index_full(sdk_full, zod):
    result = client(sdk_full).index_endpoint()
    document, data = result.document, result.data
    assert (result.trigger_version, result.trigger_sdk_version) == (API_VERSION, SDK_VERSION)
    counts = {key: len(value) for key, value in data.items()}
    assert counts == {
        "jobs": 16,
        "sources": 1,
        "webhooks": 1,
        "dynamicTriggers": 1,
        "dynamicSchedules": 1,
        "httpEndpoints": 2,
    }
    assert sorted(job.id for job in document.jobs if job.internal) == [
        SOURCE_KEY,
        "register-dynamic-trigger-acme-repo-push",
        f"webhook.register.{WEBHOOK_KEY}",
    ]
    assert Counter(job.trigger.type for job in document.jobs) == {
        "static": 11,
        "scheduled": 2,
        "dynamic": 2,
        "invoke": 1,
    }
    jobs = {job["id"]: job for job in data["jobs"]}
    assert jobs["order-refunded"]["concurrencyLimit"] == 5
    assert jobs["notify-slack"]["concurrencyLimit"] == {"id": "alerts", "limit": 2}
    assert jobs["hourly-sync"]["trigger"]["schedule"]["options"] == {"seconds": 3600}
    assert jobs["legacy-import"]["enabled"] is False
    assert data["sources"][0]["key"] == SOURCE_KEY and data["sources"][0]["version"] == "2"
    assert data["webhooks"][0]["key"] == WEBHOOK_KEY
    assert data["dynamicTriggers"][0]["id"] == "acme-repo-push"
    assert data["dynamicSchedules"][0] == {"id": "per-user-digest", "jobs": [{"id": "user-digest", "version": "1.0.0"}]}
    assert sorted(endpoint["id"] for endpoint in data["httpEndpoints"]) == [WEBHOOK_KEY, "inbound-http"]
    [expected] = zod([("IndexEndpointResponseSchema", _raw_index(sdk_full))])
    assert data == expected["data"]


def test_index_unless_the_same_bytes(sdk_basic):
    """The SDK answers byte-identical documents: compared by hash, not decoded a second time."""
    import hashlib

    import requests

    first = client(sdk_basic).index_endpoint()
    raw = requests.post(
        sdk_basic.url, headers={"x-trigger-api-key": API_KEY, "x-trigger-action": "INDEX_ENDPOINT"}, timeout=10
    ).content
    assert first.body_hash == hashlib.sha256(raw).hexdigest() and first.body == raw

    same = client(sdk_basic).index_endpoint_unless(first.body_hash)
    assert isinstance(same, IndexUnchanged) and same.body_hash == first.body_hash
    assert (same.trigger_version, same.trigger_sdk_version) == (API_VERSION, SDK_VERSION)
    other = client(sdk_basic).index_endpoint_unless("0" * 64)
    assert isinstance(other, IndexResult) and other.data == first.data


def _raw_index(endpoint: Any) -> Any:
    import requests

    response = requests.post(
        endpoint.url, headers={"x-trigger-api-key": API_KEY, "x-trigger-action": "INDEX_ENDPOINT"}, timeout=10
    )
    return response.json()


# -- the other actions --------------------------------------------------------------------------------


def test_execute_job_unknown_job_is_a_typed_404(sdk_full):
    with pytest.raises(EndpointHTTPError) as excinfo:
        client(sdk_full).execute_job(run_body("no-such-job"))
    error = excinfo.value
    assert error.message == f"Could not connect to endpoint {sdk_full.url}. Status code: 404"
    assert (error.status_code, error.body_message, error.retryable) == (404, "Job not found", False)


def test_execute_job_invalid_body_is_a_typed_400(sdk_full):
    with pytest.raises(EndpointHTTPError) as excinfo:
        client(sdk_full).execute_job({"job": {"id": "order-refunded"}})
    assert (excinfo.value.status_code, excinfo.value.body_message) == (400, "Invalid execution")


def test_execute_job_runs_a_real_job(sdk_full):
    result = client(sdk_full).execute_job(run_body("order-refunded"))
    assert result.status == "SUCCESS"
    assert result.body == {"status": "SUCCESS"}
    assert result.run_metadata == {}  # header present, no subscriptions
    assert (result.trigger_version, result.trigger_sdk_version) == (API_VERSION, SDK_VERSION)


def test_preprocess_run(sdk_full):
    body = {key: value for key, value in run_body("order-refunded").items() if key != "project"}
    result = client(sdk_full).preprocess_run(body)
    assert (result.abort, result.properties) == (False, [])
    assert result.trigger_sdk_version == SDK_VERSION


def test_initialize_trigger(sdk_full):
    result = client(sdk_full).initialize_trigger(id="acme-repo-push", params={"owner": "acme", "repo": "widgets"})
    assert result.rule == {
        "event": "push",
        "source": "acme.example",
        "payload": {"repository": {"full_name": ["acme/widgets"]}},
    }
    assert result.source["key"] == SOURCE_KEY
    assert result.source["version"] == "2"
    assert result.source["options"] == {"event": ["push"]}
    assert result.source["params"] == {"owner": "acme", "repo": "widgets"}
    assert result.source["integration"]["authSource"] == "LOCAL"
    assert result.account_id is None


def test_initialize_unknown_trigger(sdk_full):
    with pytest.raises(EndpointHTTPError) as excinfo:
        client(sdk_full).initialize_trigger(id="nope", params={})
    assert (excinfo.value.status_code, excinfo.value.body_message) == (404, "Dynamic trigger not found")


def test_deliver_http_source_request(sdk_full):
    result = client(sdk_full).deliver_http_source_request(
        key=SOURCE_KEY,
        secret="whsec_1",
        params={"owner": "acme", "repo": "widgets"},
        data={},
        url="https://kongflow.example/api/v1/sources/http/src_1",
        method="POST",
        headers={"content-type": "application/json", "x-acme-event": "push"},
        body=b'{"ref":"refs/heads/main"}',
    )
    assert result.events == []
    assert (result.response.status, result.response.body) == (200, {"ok": True})
    assert result.trigger_version == API_VERSION


def test_deliver_http_endpoint_request_for_response(sdk_full):
    result = client(sdk_full).deliver_http_endpoint_request_for_response(
        key="inbound-http",
        url="https://kongflow.example/api/v1/http-endpoints/inbound-http",
        method="POST",
        headers={"content-type": "application/json"},
        body=b'{"hello":"world"}',
    )
    assert (result.status, result.body, result.headers) == (200, {"ok": True}, None)
    assert result.trigger_sdk_version == SDK_VERSION


def test_deliver_webhook_request(sdk_full):
    result = client(sdk_full).deliver_webhook_request(
        key=WEBHOOK_KEY,
        secret="whsec_2",
        params={"project": "rocket"},
        url="https://kongflow.example/api/v1/webhooks/deploy",
        method="POST",
        headers={"content-type": "application/json"},
        body=b'{"status":"done"}',
    )
    assert (result.verified, result.error) == (True, None)
    assert (result.response.status, result.response.body) == (200, {"ok": True})


def test_probe_execution_timeout(sdk_full):
    result = client(sdk_full).probe_execution_timeout(timeout_ms=50)
    assert (result.status_code, result.ok, result.platform_timeout) == (200, True, False)
    assert result.duration_ms >= 50
    assert result.trigger_version == API_VERSION


def test_run_notification(sdk_full):
    notification = {
        "ok": True,
        "status": "SUCCESS",
        "id": "run_1",
        "output": {"done": True},
        "job": {"id": "order-refunded", "version": "1.0.0"},
    }
    assert client(sdk_full).run_notification(notification) is None
    assert (
        client(sdk_full).run_notification({**notification, "ok": False, "status": "FAILURE", "error": {"message": "x"}})
        is None
    )


def test_deliver_event_is_not_supported_by_any_2x_sdk(sdk_full):
    with pytest.raises(ActionNotSupported) as excinfo:
        client(sdk_full).deliver_event({"id": "evt_1", "name": "user.created", "payload": {}})
    assert (excinfo.value.status_code, excinfo.value.action) == (405, "DELIVER_EVENT")


# -- what the endpoint received -----------------------------------------------------------------------


def test_request_headers_as_received(sdk_logged):
    c = client(sdk_logged)
    c.ping(ENDPOINT_ID)
    c.validate()
    c.index_endpoint()
    c.probe_execution_timeout(1)
    c.execute_job(run_body("order-refunded"))
    c.deliver_http_source_request(
        key=SOURCE_KEY,
        secret="whsec_1",
        params={"owner": "acme"},
        data=None,
        url="https://k.example/s",
        method="POST",
        headers={"x-a": "1"},
        body=b"raw",
        dynamic_id=None,
    )
    entries = sdk_logged.wait_for_entries(6)
    received = {
        entry["action"]: {k: v for k, v in entry["headers"].items() if k not in TRANSPORT_HEADERS} for entry in entries
    }
    assert received == {
        "PING": {**COMMON, "x-trigger-action": "PING", "x-trigger-endpoint-id": ENDPOINT_ID},
        "VALIDATE": {**COMMON, "x-trigger-action": "VALIDATE"},
        "INDEX_ENDPOINT": {**COMMON, "x-trigger-action": "INDEX_ENDPOINT"},
        "PROBE_EXECUTION_TIMEOUT": {
            **COMMON,
            "x-trigger-action": "PROBE_EXECUTION_TIMEOUT",
            "content-type": "application/json",
        },
        "EXECUTE_JOB": {**COMMON, "x-trigger-action": "EXECUTE_JOB", "content-type": "application/json"},
        "DELIVER_HTTP_SOURCE_REQUEST": {
            **COMMON,
            "x-trigger-action": "DELIVER_HTTP_SOURCE_REQUEST",
            "content-type": "application/octet-stream",
            "x-ts-key": SOURCE_KEY,
            "x-ts-secret": "whsec_1",
            "x-ts-params": '{"owner":"acme"}',
            "x-ts-data": "{}",
            "x-ts-http-url": "https://k.example/s",
            "x-ts-http-method": "POST",
            "x-ts-http-headers": '{"x-a":"1"}',
        },
    }
    assert {entry["status"] for entry in entries} == {200}
