"""The connection budget of a web process: bounded by its pool, none left idle without one."""

from __future__ import annotations

import contextlib
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db import connection

from tests.conftest import DEV_KEY
from tests.support.waiting import wait_for
from tests.support.web import WebProcess

pytestmark = pytest.mark.django_db(transaction=True)


def _connections(application_name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = %s",
            [application_name],
        )
        return cursor.fetchone()[0]


def _burst(env: dict[str, str], application_name: str, *, settle: bool = False) -> tuple[int, int, list[int]]:
    """40 requests from 8 clients at one gunicorn process of 4 threads: (peak, idle after, statuses)."""
    peak = 0
    stop = threading.Event()

    def watch() -> None:
        nonlocal peak
        try:
            while not stop.wait(0.05):
                peak = max(peak, _connections(application_name))
        finally:
            connection.close()

    # The production settings module (not tests.settings, which pins CONN_MAX_AGE to 0).
    env = {**env, "DATABASE_APPLICATION_NAME": application_name, "DJANGO_SETTINGS_MODULE": "kongflow.settings"}
    with WebProcess(env=env) as web:
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()

        def call(_: int) -> int:
            headers = {"Authorization": f"Bearer {DEV_KEY}"}
            return requests.get(f"{web.url}/api/v1/whoami", headers=headers, timeout=30).status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(call, range(40)))
        stop.set()
        watcher.join(timeout=5)
        if settle:  # a connection is closed when its request has finished, just after the answer was sent
            with contextlib.suppress(AssertionError):
                wait_for(lambda: _connections(application_name) == 0, timeout=5, what="no idle connection")
        idle_after = _connections(application_name)
    return peak, idle_after, statuses


def test_a_pooled_web_process_never_holds_more_connections_than_its_pool(dev_environment):
    name = f"kongflow-web-{uuid.uuid4().hex[:8]}"
    peak, _, statuses = _burst({"DATABASE_POOL_MAX_SIZE": "2"}, name)
    assert statuses == [200] * 40  # the prometheus-wrapped backend works with psycopg's pool
    assert 1 <= peak <= 2


def test_without_a_pool_no_connection_is_left_idle_after_a_burst(dev_environment):
    """Issue 9: CONN_MAX_AGE defaulted to 60 s, leaving one idle connection per thread ever used."""
    name = f"kongflow-web-{uuid.uuid4().hex[:8]}"
    peak, idle_after, statuses = _burst({}, name, settle=True)
    assert statuses == [200] * 40
    # At most one per thread (4) working at that moment; pg_stat_activity may still list, for an
    # instant, a backend whose connection was just closed while its thread opens the next one.
    assert peak <= 6
    assert idle_after == 0
