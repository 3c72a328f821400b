"""The official Trigger.dev v2 CLI (@trigger.dev/cli 2.3.19, installed by `make cli`) against
Kongflow, as a new user runs it: `whoami`, then `dev` registers the app's endpoint, polls its
index and registers again when a file changes."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

from endpoints.models import Endpoint, EndpointIndex, IndexStatus
from tests.conftest import DEV_KEY
from tests.support.sdk import start_endpoint
from tests.support.waiting import wait_for

CLI = Path(__file__).resolve().parents[1] / "cli" / "node_modules" / "@trigger.dev" / "cli" / "dist" / "index.js"

pytestmark = pytest.mark.skipif(
    not CLI.exists() and not os.environ.get("CI"), reason="the v2 CLI is not installed: run `make cli`"
)


@pytest.fixture
def app(tmp_path, live_server):
    """A project as `init` leaves it, talking to Kongflow on `localhost` (so the CLI needs no tunnel),
    and its Trigger.dev handler: the real SDK fixture, listening on localhost too."""
    endpoint = start_endpoint(api_key=DEV_KEY, endpoint_id="my-endpoint", extra_args=["--host", "localhost"])
    port = live_server.url.rsplit(":", 1)[1]
    (tmp_path / "package.json").write_text(json.dumps({"name": "my-app", "trigger.dev": {"endpointId": "my-endpoint"}}))
    (tmp_path / ".env").write_text(f"TRIGGER_API_KEY={DEV_KEY}\nTRIGGER_API_URL=http://localhost:{port}\n")
    (tmp_path / "jobs.js").write_text("// jobs\n")
    yield tmp_path, endpoint
    endpoint.stop()


def _cli(*args: str, cwd: Path, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "TRIGGER_TELEMETRY_DISABLED": "1", "NO_COLOR": "1", "FORCE_COLOR": "0"}
    return subprocess.Popen(
        ["node", str(CLI), *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        **kwargs,
    )


def test_whoami_prints_the_environment_and_project(celery_worker, dev_environment, app):
    project_dir, _ = app
    process = _cli("whoami", "--env-file", ".env", cwd=project_dir)
    out, _ = process.communicate(timeout=60)
    assert "environment: DEVELOPMENT" in out, out
    assert f"slug: {dev_environment.project.slug}" in out
    assert f"title: {dev_environment.organization.title}" in out


def test_dev_registers_polls_and_refreshes_on_file_changes(celery_worker, dev_environment, app, tmp_path):
    project_dir, sdk = app
    log = (tmp_path / "dev.log").open("w+")
    process = subprocess.Popen(
        ["node", str(CLI), "dev", "-p", str(sdk.port), "--env-file", ".env"],
        cwd=project_dir,
        env={**os.environ, "TRIGGER_TELEMETRY_DISABLED": "1", "NO_COLOR": "1"},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:

        def output() -> str:
            return (tmp_path / "dev.log").read_text()

        def refreshed() -> int:
            return len(re.findall(r"Refreshed \d", output()))

        _wait(lambda: refreshed() >= 1, output, "the first refresh")
        endpoint = Endpoint.objects.get(environment=dev_environment, slug="my-endpoint")
        assert endpoint.url == f"http://localhost:{sdk.port}/api/trigger"
        assert "Found your trigger endpoint" in output()
        assert EndpointIndex.objects.filter(endpoint=endpoint, status=IndexStatus.SUCCESS).count() == 1

        (project_dir / "jobs.js").write_text("// jobs, changed\n")
        _wait(lambda: refreshed() >= 2, output, "a refresh after the file change")
        assert EndpointIndex.objects.filter(endpoint=endpoint, status=IndexStatus.SUCCESS).count() == 2
        assert "tunnel" not in output().lower()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
        log.close()


def _wait(predicate, output, what: str) -> None:
    try:
        wait_for(predicate, timeout=90, interval=0.2, what=what)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the CLI printed:\n{output()}") from None
