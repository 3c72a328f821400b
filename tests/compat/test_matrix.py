"""Compatibility matrix: our wire client against one REAL SDK endpoint per 2.x line.

Each case starts `tests/compat/server.mjs` once per module (a real `TriggerClient` of that
line, see tests/compat/README.md) and talks to it with `endpointapi`. No database.

Cases: the four lines with their default adapter (official @trigger.dev/express where a
release of that line exists), plus SDK 2.1 behind plain node:http glue, because the official
express 2.1.3 adapter drops every response header the SDK sets.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from endpointapi import (
    ActionNotSupported,
    EndpointApiClient,
    EndpointApiError,
    EndpointUnauthorized,
)
from tests.support.sdk import RunningEndpoint, start_endpoint

COMPAT = Path(__file__).resolve().parent
SERVER = COMPAT / "server.mjs"
NODE_MODULES = COMPAT / "node_modules"

API_KEY = "tr_dev_compat123"
WRONG_KEY = "tr_dev_wrong456"
ENDPOINT_ID = "compat-endpoint"
OTHER_ID = "other-endpoint"

pytestmark = pytest.mark.integration

API_VERSION = "2023-09-29"  # API_VERSIONS.LAZY_LOADED_CACHED_TASKS, the only value any 2.x SDK advertises
KEY_MISMATCH = (
    "Forbidden: client apiKey mismatch: Make sure you are using the correct API Key for your environment"
)
ID_MISMATCH = f"Endpoint ID mismatch error. Expected {ENDPOINT_ID}, got {OTHER_ID}"

BASIC_JOBS = {
    # id: (trigger type, enabled)
    "send-welcome-email": ("static", True),
    "daily-report": ("scheduled", True),
    "disabled-cleanup": ("static", False),
}
SOURCE_KEY = "acme.repo-http-acme.widgets-acme-prod"
COMMON_SOURCES_JOBS = {
    "repo-push-static": "static",
    SOURCE_KEY: "static",  # internal register-source job
    "register-dynamic-trigger-acme-repo-push": "static",  # internal
    "repo-push-dynamic": "dynamic",
    "user-digest": "dynamic",
    "hourly-sync": "scheduled",
    "charge-customer": "static",
}
LATE_SOURCES_JOBS = {  # SDK >= 2.2.8 (invoke/http endpoint from 2.2.5, webhooks from 2.2.8)
    "manual-backfill": "invoke",
    "inbound-http": "static",
    "deploy-webhook": "static",
    "webhook.register.acme.deploy-9470f39": "static",  # internal
}


@dataclass(frozen=True)
class Case:
    line: str
    sdk: str  # exact @trigger.dev/sdk version pinned in package.json
    core: str  # the @trigger.dev/core that SDK resolves (npm override)
    adapter: str | None  # None = server.mjs default for the line
    trigger_version: str | None  # Trigger-Version seen on the wire
    sdk_version: str | None  # Trigger-SDK-Version seen on the wire
    validate: bool = True  # VALIDATE exists from 2.0.4; every 2.x release on the registry has it
    probe: bool = True  # PROBE_EXECUTION_TIMEOUT exists from 2.2.1 (older lines answer 405)
    source_version: str = "2"  # sources[] shape: "1" (2.0.x, no version key on the wire) or "2"
    resolver: bool = True  # defineAuthResolver -> authSource "RESOLVER" (>= 2.1.4)
    late_features: bool = True  # invoke / httpEndpoints / webhooks / concurrencyLimit (>= 2.2.9)
    new_top_level_keys: bool = True  # "webhooks" and "httpEndpoints" keys in INDEX (>= 2.2.5)

    @property
    def args(self) -> list[str]:
        args = ["--sdk", self.line]
        if self.adapter:
            args += ["--adapter", self.adapter]
        return args


CASES = {
    "2.0": Case(
        line="2.0",
        sdk="2.0.14",
        core="2.0.14",
        adapter=None,
        trigger_version=None,
        sdk_version=None,
        source_version="1",
        resolver=False,
        late_features=False,
        new_top_level_keys=False,
        probe=False,
    ),
    # official @trigger.dev/express 2.1.3: writes only status + JSON body, so the SDK's
    # Trigger-Version header never reaches the wire
    "2.1": Case(
        line="2.1",
        sdk="2.1.9",
        core="2.1.9",
        adapter=None,
        trigger_version=None,
        sdk_version=None,
        late_features=False,
        new_top_level_keys=False,
        probe=False,
    ),
    "2.1-node-http": Case(
        line="2.1",
        sdk="2.1.9",
        core="2.1.9",
        adapter="node-http",
        trigger_version=API_VERSION,
        sdk_version=None,
        late_features=False,
        new_top_level_keys=False,
        probe=False,
    ),
    "2.2": Case(
        line="2.2",
        sdk="2.2.11",
        core="2.2.11",
        adapter=None,
        trigger_version=API_VERSION,
        sdk_version="2.2.11",
    ),
    "2.3": Case(
        line="2.3",
        sdk="2.3.19",
        core="2.3.19",
        adapter=None,
        trigger_version=API_VERSION,
        sdk_version="2.3.19",
    ),
}


def _require_install() -> None:
    if shutil.which("node") is None:
        pytest.fail("node is not installed")
    if not all((NODE_MODULES / f"trigger-sdk-{line}").is_dir() for line in ("2.0", "2.1", "2.2", "2.3")):
        pytest.fail("compat SDKs are not installed: run `make compat`")


def _running(case: Case, scenario: str) -> Iterator[RunningEndpoint]:
    _require_install()
    endpoint = start_endpoint(
        api_key=API_KEY, endpoint_id=ENDPOINT_ID, scenario=scenario, script=SERVER, extra_args=case.args
    )
    try:
        yield endpoint
    finally:
        endpoint.stop()


@pytest.fixture(scope="module", params=list(CASES), ids=list(CASES))
def case(request) -> Case:
    return CASES[request.param]


@pytest.fixture(scope="module")
def basic(case: Case) -> Iterator[RunningEndpoint]:
    yield from _running(case, "basic")


@pytest.fixture(scope="module")
def sources(case: Case) -> Iterator[RunningEndpoint]:
    yield from _running(case, "sources")


def _client(endpoint: RunningEndpoint, api_key: str = API_KEY) -> EndpointApiClient:
    return EndpointApiClient(url=endpoint.url, api_key=api_key)


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
    _require_install()
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
    assert data["dynamicSchedules"] == [
        {"id": "per-user-digest", "jobs": [{"id": "user-digest", "version": "1.0.0"}]}
    ]


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
