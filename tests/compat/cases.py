"""The SDK lines of the compatibility matrix, and how to start one (tests/compat/server.mjs)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.sdk import RunningEndpoint, start_endpoint

COMPAT = Path(__file__).resolve().parent
SERVER = COMPAT / "server.mjs"
NODE_MODULES = COMPAT / "node_modules"

API_KEY = "tr_dev_compat123"
WRONG_KEY = "tr_dev_wrong456"
ENDPOINT_ID = "compat-endpoint"
OTHER_ID = "other-endpoint"

API_VERSION = "2023-09-29"  # API_VERSIONS.LAZY_LOADED_CACHED_TASKS, the only value any 2.x SDK advertises
KEY_MISMATCH = "Forbidden: client apiKey mismatch: Make sure you are using the correct API Key for your environment"
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


def require_install() -> None:
    if shutil.which("node") is None:
        pytest.fail("node is not installed")
    if not all((NODE_MODULES / f"trigger-sdk-{line}").is_dir() for line in ("2.0", "2.1", "2.2", "2.3")):
        pytest.fail("compat SDKs are not installed: run `make compat`")


def running(case: Case, scenario: str) -> Iterator[RunningEndpoint]:
    require_install()
    endpoint = start_endpoint(
        api_key=API_KEY, endpoint_id=ENDPOINT_ID, scenario=scenario, script=SERVER, extra_args=case.args
    )
    try:
        yield endpoint
    finally:
        endpoint.stop()
