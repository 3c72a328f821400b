"""The newcomer path: `scripts/run` (what `make run` runs) on its embedded defaults (PostgreSQL from a
wheel and a filesystem broker, both in var/) prints a banner whose every URL answers, the README's
operator commands then find that database with nothing exported, a bad setting is one line, and
Ctrl-C leaves no process behind.

The machine's own PostgreSQL on 127.0.0.1:5432 runs beside it: the embedded one listens only on a
unix socket in its var/ folder.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import psutil
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
        yield Run(process, var, env, (var / "run.log").read_text())
    finally:
        if process.poll() is None:
            ctrl_c(process)
        log.close()


class Run:
    def __init__(self, process: subprocess.Popen, var: Path, env: dict[str, str], output: str) -> None:
        self.process, self.var, self.env, self.output = process, var, env, output


def ctrl_c(process: subprocess.Popen) -> int:
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's process group
    try:
        return process.wait(timeout=90)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise


def session_processes(sid: int) -> list[psutil.Process]:
    """The processes still in the session scripts/run led (web, workers and their children)."""
    found = []
    for process in psutil.process_iter(["status"]):
        try:
            if os.getsid(process.pid) == sid and process.info["status"] != psutil.STATUS_ZOMBIE:
                found.append(process)
        except (ProcessLookupError, PermissionError):
            continue
    return found


def test_the_embedded_database_is_used_not_the_machines(running):
    assert "DATABASE_URL" not in running.env
    url = (running.var / "database_url").read_text().strip()
    assert url == f"postgres://postgres@/kongflow?host={running.var}/postgres"
    assert "Kongflow is running (embedded PostgreSQL in" in running.output


def test_every_url_of_the_banner_answers(running):
    output = running.output
    banner = output[output.index("Kongflow is running") :]
    key = re.search(r"API key:\s+(tr_dev_\w+)", banner).group(1)
    urls = set(re.findall(r"http://127\.0\.0\.1:\d+/[^\s)]*", banner))
    assert {u.split("/", 3)[3] for u in urls} >= {"admin/", "api/docs", "api/schema", "metrics", "healthz", "readyz"}
    for url in urls:
        response = requests.get(url, headers={"Authorization": f"Bearer {key}"}, timeout=10, allow_redirects=True)
        assert response.status_code == 200, url
    assert "/api/v1/ " not in banner  # a 404


def test_the_documented_operator_commands_work_as_written(running):
    # Another terminal: no DATABASE_URL, no secret exported; the commands find both in var/.
    env = running.env
    assert not {"DATABASE_URL", "DJANGO_SECRET_KEY"} & env.keys()
    operations = (REPO / "docs" / "operations.md").read_text()
    assert ".venv/bin/python manage.py createenvironment ORG PROJECT" in operations
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


def test_ctrl_c_stops_everything_and_leaves_no_process_behind(running):
    postmaster = psutil.Process(int((running.var / "postgres" / "postmaster.pid").read_text().split()[0]))
    assert session_processes(running.process.pid)  # web and workers, before

    assert ctrl_c(running.process) in (0, 130)

    # The script waits for its children and the database; what is left are at most zombies being reaped.
    wait_for(lambda: not session_processes(running.process.pid), timeout=10, what="no process left in the session")
    assert not postmaster.is_running()
    assert not (running.var / "database_url").exists()
    assert not (running.var / "postgres" / "postmaster.pid").exists()
    # And an operator command now says what to do, in one line.
    result = subprocess.run(
        [sys.executable, "manage.py", "reindex", "--all"],
        cwd=REPO,
        env=running.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stderr.strip().splitlines() == [
        f"Configuration error: DATABASE_URL is not set and no embedded PostgreSQL is running in {running.var} "
        "(start one with `make run` in another terminal, or set DATABASE_URL)"
    ]


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


BIN = Path(sys.executable).parent
# The same bad value, given to each of the three entry points of a deployment.
ENTRY_POINTS = {
    "manage.py": [sys.executable, "manage.py", "reindex", "--all"],
    "gunicorn": [str(BIN / "gunicorn"), "kongflow.wsgi", "--bind", "127.0.0.1:0"],
    "celery": [str(BIN / "celery"), "-A", "kongflow", "worker", "--concurrency", "1"],
}


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
def test_a_bad_setting_is_one_line_from_manage_py_gunicorn_and_celery(tmp_path, entry_point):
    env = {k: v for k, v in os.environ.items() if k not in TEST_ONLY} | {
        "KONGFLOW_VAR_DIR": str(tmp_path),
        "DJANGO_SECRET_KEY": "test",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/kongflow",
        "ENDPOINTAPI_READ_TIMEOUT": "15s",
    }
    result = subprocess.run(ENTRY_POINTS[entry_point], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "Configuration error: ENDPOINTAPI_READ_TIMEOUT must be a number (got '15s')"
    ]
