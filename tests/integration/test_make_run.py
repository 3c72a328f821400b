"""The newcomer path: `scripts/run` (what `make run` runs) on its embedded defaults prints a banner
whose every URL answers, and the README's operator commands then work as written."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.support.waiting import wait_for
from tests.support.web import free_port

REPO = Path(__file__).resolve().parents[2]
# What the test session set for itself (PostgreSQL, Redis, its secret): a newcomer has none of it.
TEST_ONLY = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "KONGFLOW_QUEUE_PREFIX",
    "DJANGO_SECRET_KEY",
    "DJANGO_SETTINGS_MODULE",
)


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    var = tmp_path_factory.mktemp("var")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in TEST_ONLY} | {
        "KONGFLOW_VAR_DIR": str(var),
        "KONGFLOW_PORT": str(port),
    }
    log = (var / "run.log").open("w+")
    process = subprocess.Popen(
        [str(REPO / "scripts" / "run")], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        wait_for(lambda: "Kongflow is running" in (var / "run.log").read_text(), timeout=120, what="the banner")
        wait_for(lambda: "Commands:" in (var / "run.log").read_text(), timeout=10, what="the end of the banner")
        yield env, (var / "run.log").read_text()
    finally:
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's process group
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
        finally:
            log.close()


def test_every_url_of_the_banner_answers(running):
    _, output = running
    banner = output[output.index("Kongflow is running") :]
    key = re.search(r"API key:\s+(tr_dev_\w+)", banner).group(1)
    urls = set(re.findall(r"http://127\.0\.0\.1:\d+/[^\s)]*", banner))
    assert {u.split("/", 3)[3] for u in urls} >= {"admin/", "api/docs", "api/schema", "metrics", "healthz", "readyz"}
    for url in urls:
        response = requests.get(url, headers={"Authorization": f"Bearer {key}"}, timeout=10, allow_redirects=True)
        assert response.status_code == 200, url
    assert "/api/v1/ " not in banner  # a 404


def test_the_readme_operator_commands_work_as_written(running):
    env, _ = running
    readme = (REPO / "README.md").read_text()
    assert ".venv/bin/python manage.py createenvironment ORG PROJECT" in readme
    created = subprocess.run(
        [".venv/bin/python", "manage.py", "createenvironment", "Acme", "Acme App", "--type", "PRODUCTION"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    assert '"type": "PRODUCTION"' in created.stdout
    reindex = subprocess.run(
        [".venv/bin/python", "manage.py", "reindex", "--all", "--dry-run"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert reindex.stderr.strip() == "CommandError: No live endpoint matches."


def test_a_missing_setting_is_one_line_not_a_traceback(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in TEST_ONLY} | {"KONGFLOW_VAR_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "manage.py", "reindex", "--all"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "Configuration error: DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off "
        f"(set it, or run `make run` once to generate {tmp_path}/secret_key)"
    ]
