"""Database settings read from the environment (kongflow/settings.py), in a process of their own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _options(**env: str) -> dict[str, object]:
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps(settings.DATABASES['default']['OPTIONS'], default=str))"
    )
    environ = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kongflow.settings",
        "DJANGO_SECRET_KEY": "test",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/test",
        **env,
    }
    command = [sys.executable, "-c", code]
    out = subprocess.run(command, cwd=REPO, env=environ, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_statements_are_prepared_by_default():
    assert "prepare_threshold" not in _options()


def test_behind_pgbouncer_nothing_is_prepared():
    """A prepared statement lives on one server connection; PgBouncer hands transactions to others."""
    assert _options(DATABASE_DISABLE_SERVER_SIDE_CURSORS="on")["prepare_threshold"] is None


def _settings(code: str, **env: str) -> dict[str, object]:
    """Runs `code` (which prints one JSON line) after django.setup() in a process of its own."""
    environ = {key: value for key, value in os.environ.items() if key != "DATABASE_POOL_MAX_SIZE"}
    environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "kongflow.settings",
            "DJANGO_SECRET_KEY": "test",
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/test",
            **env,
        }
    )
    command = [sys.executable, "-c", f"import json, django; django.setup(); {code}"]
    out = subprocess.run(command, cwd=REPO, env=environ, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


DATABASE = "from django.conf import settings; db = settings.DATABASES['default']; "


def test_by_default_each_process_keeps_a_small_pool():
    db = _settings(DATABASE + "print(json.dumps({'pool': db['OPTIONS'].get('pool'), 'age': db['CONN_MAX_AGE']}))")
    assert db["pool"] == {"min_size": 0, "max_size": 4, "timeout": 10.0, "max_idle": 300.0}
    assert db["age"] == 0  # the pool keeps the connections, Django hands them back after each use


def test_the_pool_size_is_the_settings_and_zero_turns_it_off():
    code = DATABASE + "print(json.dumps({'pool': db['OPTIONS'].get('pool'), 'age': db['CONN_MAX_AGE']}))"
    assert _settings(code, DATABASE_POOL_MAX_SIZE="8")["pool"]["max_size"] == 8  # type: ignore[index]
    off = _settings(code, DATABASE_POOL_MAX_SIZE="0", DATABASE_CONN_MAX_AGE="30")
    assert off == {"pool": None, "age": 30}


def test_a_database_other_than_postgresql_is_refused_with_a_clear_error():
    environ = {**os.environ, "DJANGO_SETTINGS_MODULE": "kongflow.settings", "DJANGO_SECRET_KEY": "test"}
    environ["DATABASE_URL"] = "sqlite:///kongflow.sqlite3"
    command = [sys.executable, "-c", "import django; django.setup()"]
    out = subprocess.run(command, cwd=REPO, env=environ, capture_output=True, text=True)
    assert out.returncode != 0
    assert "DATABASE_URL must be a PostgreSQL URL" in out.stderr


WORKER_INIT = (
    "from types import SimpleNamespace; from kongflow.celery import _size_the_database_pool; "
    "_size_the_database_pool(sender=SimpleNamespace(pool_cls={pool!r}, concurrency=4)); " + DATABASE
    + "print(json.dumps(db['OPTIONS'].get('pool', {{}}).get('max_size')))"
)


def test_a_celery_worker_sizes_its_pool_from_the_tasks_it_runs_at_once():
    """A task and its run's heartbeat thread: 2 per prefork child, 2 per thread of a threads pool;
    an explicit DATABASE_POOL_MAX_SIZE wins."""
    assert _settings(WORKER_INIT.format(pool="prefork")) == 2
    assert _settings(WORKER_INIT.format(pool="threads")) == 8
    assert _settings(WORKER_INIT.format(pool="prefork"), DATABASE_POOL_MAX_SIZE="3") == 3


FORK = """
import os, threading
from django.db import connection
from kongflow.celery import _forget_the_parents_connections

def pid():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]

def idle():  # a second connection, left idle in the pool
    global idle_pid
    idle_pid = pid()
    connection.close()

held = pid()
thread = threading.Thread(target=idle)
thread.start(); thread.join()
child = os.fork()
if child == 0:
    _forget_the_parents_connections()
    connection.close(); connection.close_pool()  # what Celery's Django fixup does next
    os._exit(0 if pid() not in (held, idle_pid) else 1)
_, status = os.waitpid(child, 0)
reused = []
thread = threading.Thread(target=lambda: (reused.append(pid()), connection.close()))
thread.start(); thread.join()
print(json.dumps({"child": os.waitstatus_to_exitcode(status), "held": pid() == held, "idle": reused == [idle_pid]}))
"""


def test_a_forked_worker_child_leaves_the_parents_pooled_connections_alone():
    """The child neither uses nor closes what it inherited (closing would end the parent's sessions)."""
    database = "postgres://postgres@127.0.0.1:5432/postgres"  # only asked for its backends' pids
    assert _settings(FORK, DATABASE_URL=database) == {"child": 0, "held": True, "idle": True}


GUNICORN = """
import json, runpy
from types import SimpleNamespace
from gunicorn.config import Config
conf = runpy.run_path("gunicorn.conf.py")
cfg = Config()
for name in ("worker_class", "workers", "threads"):
    cfg.set(name, conf[name])
conf["post_fork"](SimpleNamespace(cfg=cfg), None)  # in the worker, before the app loads
import django; django.setup()
from django.conf import settings
pool = settings.DATABASES["default"]["OPTIONS"]["pool"]
print(json.dumps([cfg.worker_class_str, cfg.workers, cfg.threads, pool["max_size"]]))
"""


def test_gunicorn_conf_sizes_each_processs_pool_from_its_threads():
    environ = {key: value for key, value in os.environ.items() if key != "DATABASE_POOL_MAX_SIZE"}
    environ.update(
        DJANGO_SETTINGS_MODULE="kongflow.settings",
        DJANGO_SECRET_KEY="test",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/test",
        WEB_CONCURRENCY="3",
        WEB_THREADS="6",
    )
    command = [sys.executable, "-c", GUNICORN]
    out = subprocess.run(command, cwd=REPO, env=environ, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == ["gthread", 3, 6, 6]


@pytest.mark.django_db(transaction=True)
def test_a_pooled_connection_the_server_dropped_is_replaced_not_handed_out():
    import psycopg
    from django.db import connection

    assert "pool" in connection.settings_dict["OPTIONS"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (dropped,) = cursor.fetchone()
    connection.close()  # back to the pool
    params = connection.get_connection_params()
    with psycopg.connect(**{k: v for k, v in params.items() if k != "cursor_factory"}, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [dropped])
    with connection.cursor() as cursor:  # no OperationalError: the pool checked it first
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    assert pid != dropped
