"""Compatibility matrix: our wire client against one REAL SDK endpoint per 2.x line.

Each case starts `tests/compat/server.mjs` once per module (a real `TriggerClient` of that
line, see tests/compat/README.md) and talks to it with `endpointapi`. No database.

Cases: the four lines with their default adapter (official @trigger.dev/express where a
release of that line exists), plus SDK 2.1 behind plain node:http glue, because the official
express 2.1.3 adapter drops every response header the SDK sets.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import requests

from endpointapi import (
    ActionNotSupported,
    ClientConfig,
    EndpointApiClient,
    EndpointApiError,
    EndpointUnauthorized,
)
from tests.compat.cases import (
    API_KEY,
    BASIC_JOBS,
    COMMON_SOURCES_JOBS,
    COMPAT,
    ENDPOINT_ID,
    ID_MISMATCH,
    KEY_MISMATCH,
    LATE_SOURCES_JOBS,
    NODE_MODULES,
    OTHER_ID,
    SOURCE_KEY,
    WRONG_KEY,
    Case,
    require_install,
)
from tests.support.outbound import LOOPBACK_POLICY
from tests.support.sdk import RunningEndpoint

pytestmark = pytest.mark.integration


def _client(endpoint: RunningEndpoint, api_key: str = API_KEY) -> EndpointApiClient:
    return EndpointApiClient(url=endpoint.url, api_key=api_key, config=ClientConfig(address_policy=LOOPBACK_POLICY))


def _raw(endpoint: RunningEndpoint, action: str, **headers: str) -> requests.Response:
    """The same request the webapp sends, without our client (to tell SDK facts from client bugs)."""
    all_headers = {"x-trigger-api-key": API_KEY, "x-trigger-action": action, "accept": "application/json"}
    all_headers.update({k.replace("_", "-"): v for k, v in headers.items()})
    return requests.post(endpoint.url, headers=all_headers, timeout=10)


def _server_schema_parse(body: dict) -> dict:
    """What the Trigger.dev server's zod IndexEndpointResponseSchema (core 2.3.19) makes of `body`."""
    completed = subprocess.run(
        ["node", str(COMPAT / "index_schema.mjs")],
        input=json.dumps(body),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    result = json.loads(completed.stdout)
    assert result["success"], result.get("error")
    return result["data"]


def _package_version(package_json: Path) -> str:
    return json.loads(package_json.read_text())["version"]


# --- the installed matrix ---------------------------------------------------------------


def test_installed_sdk_and_core_versions(case: Case):
    require_install()
    sdk_dir = NODE_MODULES / f"trigger-sdk-{case.line}"
    assert _package_version(sdk_dir / "package.json") == case.sdk
    core_json = sdk_dir / "node_modules" / "@trigger.dev" / "core" / "package.json"
    if not core_json.exists():  # hoisted when it is the same version as the top-level one
        core_json = NODE_MODULES / "@trigger.dev" / "core" / "package.json"
    assert _package_version(core_json) == case.core


# --- the raw wire (no endpointapi): what the SDK line really sends ------------------------


def test_raw_ping_and_version_headers(case: Case, basic: RunningEndpoint):
    response = _raw(basic, "PING", x_trigger_endpoint_id=ENDPOINT_ID)
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    assert response.headers.get("trigger-version") == case.trigger_version
    assert response.headers.get("trigger-sdk-version") == case.sdk_version
    assert ("x-trigger-request-timing" in response.headers) == (case.sdk_version is not None)


def test_raw_wrong_key_is_401_before_anything_else(basic: RunningEndpoint):
    response = _raw(basic, "NO_SUCH_ACTION", x_trigger_api_key=WRONG_KEY)
    assert response.status_code == 401
    assert response.json() == {"message": KEY_MISMATCH}


def test_raw_unknown_action_is_405(basic: RunningEndpoint):
    response = _raw(basic, "FROBNICATE")
    assert response.status_code == 405
    assert response.json() == {"message": "Method not allowed"}


# --- PING -------------------------------------------------------------------------------


def test_ping_ok(case: Case, basic: RunningEndpoint):
    pong = _client(basic).ping(ENDPOINT_ID)
    assert pong.ok is True
    assert pong.error is None
    assert pong.trigger_version == case.trigger_version
    assert pong.trigger_sdk_version == case.sdk_version


def test_ping_wrong_key_raises_with_sdk_message(basic: RunningEndpoint):
    with pytest.raises(EndpointUnauthorized) as excinfo:
        _client(basic, api_key=WRONG_KEY).ping(ENDPOINT_ID)
    assert excinfo.value.message == KEY_MISMATCH
    assert isinstance(excinfo.value, EndpointApiError)


def test_ping_wrong_slug_is_not_ok(case: Case, basic: RunningEndpoint):
    pong = _client(basic).ping(OTHER_ID)
    assert pong.ok is False
    assert pong.error == ID_MISMATCH


# --- VALIDATE ---------------------------------------------------------------------------


def test_validate(case: Case, basic: RunningEndpoint):
    client = _client(basic)
    if not case.validate:
        with pytest.raises(ActionNotSupported):
            client.validate()
        return
    result = client.validate()
    assert result.ok is True
    assert result.endpoint_id == ENDPOINT_ID
    assert result.error is None
    assert result.trigger_version == case.trigger_version
    assert result.trigger_sdk_version == case.sdk_version


def test_validate_wrong_key_raises_with_sdk_message(basic: RunningEndpoint):
    with pytest.raises(EndpointUnauthorized) as excinfo:
        _client(basic, api_key=WRONG_KEY).validate()
    assert excinfo.value.message == KEY_MISMATCH


def test_probe_execution_timeout_or_action_not_supported(case: Case, basic: RunningEndpoint):
    """The one action the endpoints service sends that old lines lack: a real 405 -> ActionNotSupported."""
    client = _client(basic)
    if not case.probe:
        with pytest.raises(ActionNotSupported) as excinfo:
            client.probe_execution_timeout(timeout_ms=1)
        assert excinfo.value.status_code == 405
        return
    result = client.probe_execution_timeout(timeout_ms=1)
    assert result.ok is True
    assert result.status_code == 200
    assert result.platform_timeout is False
    assert result.trigger_version == case.trigger_version
    assert result.trigger_sdk_version == case.sdk_version


# --- INDEX_ENDPOINT ---------------------------------------------------------------------


def test_index_basic(case: Case, basic: RunningEndpoint):
    result = _client(basic).index_endpoint()
    data = result.data
    assert result.trigger_version == case.trigger_version
    assert result.trigger_sdk_version == case.sdk_version
    assert result.duration >= 0

    jobs = {job["id"]: job for job in data["jobs"]}
    assert {job_id: (job["trigger"]["type"], job["enabled"]) for job_id, job in jobs.items()} == BASIC_JOBS
    assert jobs["daily-report"]["trigger"]["schedule"] == {"type": "cron", "options": {"cron": "0 9 * * *"}}
    assert jobs["send-welcome-email"]["trigger"]["rule"]["payload"] == {"plan": ["pro", "team"]}
    assert not any(job.get("internal") for job in jobs.values())
    for key in ("sources", "dynamicTriggers", "dynamicSchedules", "webhooks", "httpEndpoints"):
        assert data[key] == []  # webhooks/httpEndpoints: filled in even where the SDK omits them


def test_index_wire_keys(case: Case, basic: RunningEndpoint):
    """2.0/2.1 omit `webhooks` and `httpEndpoints` entirely; the client must cope (both optional)."""
    body = _raw(basic, "INDEX_ENDPOINT").json()
    expected = ["jobs", "sources", "dynamicTriggers", "dynamicSchedules"]
    if case.new_top_level_keys:
        expected = ["jobs", "sources", "webhooks", "dynamicTriggers", "dynamicSchedules", "httpEndpoints"]
    assert list(body) == expected


def test_index_sources_counts(case: Case, sources: RunningEndpoint):
    result = _client(sources).index_endpoint()
    data = result.data
    expected_jobs = dict(COMMON_SOURCES_JOBS)
    if case.late_features:
        expected_jobs.update(LATE_SOURCES_JOBS)
    assert {job["id"]: job["trigger"]["type"] for job in data["jobs"]} == expected_jobs
    internal = {job["id"] for job in data["jobs"] if job.get("internal")}
    expected_internal = {SOURCE_KEY, "register-dynamic-trigger-acme-repo-push"}
    if case.late_features:
        expected_internal.add("webhook.register.acme.deploy-9470f39")
    assert internal == expected_internal
    assert len(data["sources"]) == 1
    assert len(data["dynamicTriggers"]) == 1
    assert len(data["dynamicSchedules"]) == 1
    assert len(data["webhooks"]) == (1 if case.late_features else 0)
    assert len(data["httpEndpoints"]) == (2 if case.late_features else 0)


def test_index_source_shape(case: Case, sources: RunningEndpoint):
    """v1 source (2.0.x: no `version`, `events`) vs v2 (`version:"2"`, `options.event`)."""
    raw_source = _raw(sources, "INDEX_ENDPOINT").json()["sources"][0]
    source = _client(sources).index_endpoint().data["sources"][0]

    assert source["version"] == case.source_version
    assert source["key"] == SOURCE_KEY
    assert source["channel"] == "HTTP"
    assert source["params"] == {"owner": "acme", "repo": "widgets"}
    assert source["registerSourceJob"] == {"id": SOURCE_KEY, "version": "0.1.0"}
    assert source["integration"]["authSource"] == "LOCAL"
    if case.source_version == "1":
        assert "version" not in raw_source  # the client filled it in
        assert source["events"] == ["push"]
        assert "options" not in source
    else:
        assert raw_source["version"] == "2"
        assert source["options"] == {"event": ["push"]}
        assert "events" not in source


def test_index_dynamic_trigger_and_schedule(sources: RunningEndpoint):
    data = _client(sources).index_endpoint().data
    assert data["dynamicTriggers"] == [
        {
            "id": "acme-repo-push",
            "jobs": [{"id": "repo-push-dynamic", "version": "1.0.0"}],
            "registerSourceJob": {"id": "register-dynamic-trigger-acme-repo-push", "version": "0.1.0"},
        }
    ]
    assert data["dynamicSchedules"] == [{"id": "per-user-digest", "jobs": [{"id": "user-digest", "version": "1.0.0"}]}]


def test_index_integrations_and_late_features(case: Case, sources: RunningEndpoint):
    jobs = {job["id"]: job for job in _client(sources).index_endpoint().data["jobs"]}
    assert jobs["hourly-sync"]["integrations"]["github"]["authSource"] == "HOSTED"
    assert jobs["user-digest"]["integrations"]["resend"]["authSource"] == "LOCAL"
    assert jobs["charge-customer"]["integrations"]["stripe"] == {
        "id": "stripe",
        "metadata": {"id": "stripe", "name": "Stripe"},
        "authSource": "RESOLVER" if case.resolver else "LOCAL",
    }
    assert jobs["hourly-sync"]["trigger"]["schedule"] == {"type": "interval", "options": {"seconds": 3600}}
    if case.late_features:
        assert jobs["hourly-sync"]["concurrencyLimit"] == 3
        assert jobs["manual-backfill"]["trigger"] == {"type": "invoke"}
    else:
        assert jobs["hourly-sync"].get("concurrencyLimit") is None


@pytest.mark.parametrize("scenario", ["basic", "sources"])
def test_index_data_equals_server_schema_output(case: Case, scenario: str, request):
    """`IndexResult.data` == zod `IndexEndpointResponseSchema.parse(body)` for every line's real body."""
    endpoint = request.getfixturevalue(scenario)
    expected = _server_schema_parse(_raw(endpoint, "INDEX_ENDPOINT").json())
    # Deliberate difference: zod leaves the optional `webhooks`/`httpEndpoints` out when an old SDK
    # (2.0/2.1) omits them; `IndexResult.data` always carries both lists (our stored index shape).
    expected.setdefault("webhooks", [])
    expected.setdefault("httpEndpoints", [])
    assert _client(endpoint).index_endpoint().data == expected
