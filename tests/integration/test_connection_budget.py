"""The connection budget of a web process: a pool as large as its threads by default, reused across
requests; bounded by an explicit pool size; none left idle without a pool."""

from __future__ import annotations

import contextlib
import os
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


def _backends(application_name: str) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = %s",
            [application_name],
        )
        return {row[0] for row in cursor.fetchall()}


def _connections(application_name: str) -> int:
    return len(_backends(application_name))


class Burst:
    """40 requests from 8 clients at a gunicorn process of 4 threads: the peak number of connections,
    every backend seen, and the answers."""

    def __init__(self, web: WebProcess, application_name: str) -> None:
        self.web, self.application_name = web, application_name
        self.peak = 0
        self.seen: set[int] = set()
        self.statuses: list[int] = []

    def run(self) -> Burst:
        stop = threading.Event()

        def watch() -> None:
            try:
                while not stop.wait(0.02):
                    backends = _backends(self.application_name)
                    self.peak = max(self.peak, len(backends))
                    self.seen |= backends
            finally:
                connection.close()

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()

        def call(_: int) -> int:
            headers = {"Authorization": f"Bearer {DEV_KEY}"}
            return requests.get(f"{self.web.url}/api/v1/whoami", headers=headers, timeout=30).status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            self.statuses += pool.map(call, range(40))
        stop.set()
        watcher.join(timeout=5)
        return self


def _web(env: dict[str, str], application_name: str) -> WebProcess:
    # The production settings module (not tests.settings, which pins CONN_MAX_AGE to 0), and no
    # DATABASE_POOL_MAX_SIZE unless `env` sets one.
    environ = {key: value for key, value in os.environ.items() if key != "DATABASE_POOL_MAX_SIZE"}
    return WebProcess(
        env={**env, "DATABASE_APPLICATION_NAME": application_name, "DJANGO_SETTINGS_MODULE": "kongflow.settings"},
        base=environ,
    )


def test_by_default_a_web_process_reuses_a_pool_as_large_as_its_threads(dev_environment):
    """No setting: gunicorn.conf.py gives the process a pool of its 4 threads; two bursts of 40
    requests are served by at most 4 backends, the same ones (without a pool: one per request)."""
    name = f"kongflow-web-{uuid.uuid4().hex[:8]}"
    with _web({}, name) as web:
        first = Burst(web, name).run()
        pooled = _backends(name)
        second = Burst(web, name).run()
        assert pooled <= _backends(name)  # kept open between the bursts, and reused
    assert first.statuses == second.statuses == [200] * 40
    assert 1 <= len(pooled) <= 4
    assert len(first.seen | second.seen) <= 4


def test_a_pooled_web_process_never_holds_more_connections_than_its_pool(dev_environment):
    name = f"kongflow-web-{uuid.uuid4().hex[:8]}"
    with _web({"DATABASE_POOL_MAX_SIZE": "2"}, name) as web:
        burst = Burst(web, name).run()
    assert burst.statuses == [200] * 40  # the prometheus-wrapped backend works with psycopg's pool
    assert 1 <= burst.peak <= 2


def test_without_a_pool_no_connection_is_left_idle_after_a_burst(dev_environment):
    """DATABASE_POOL_MAX_SIZE=0 (behind PgBouncer): a connection per request, closed after it."""
    name = f"kongflow-web-{uuid.uuid4().hex[:8]}"
    with _web({"DATABASE_POOL_MAX_SIZE": "0"}, name) as web:
        burst = Burst(web, name).run()
        # A connection is closed when its request has finished, just after the answer was sent.
        with contextlib.suppress(AssertionError):
            wait_for(lambda: _connections(name) == 0, timeout=5, what="no idle connection")
        idle_after = _connections(name)
    assert burst.statuses == [200] * 40
    # At most one per thread (4) working at that moment; pg_stat_activity may still list, for an
    # instant, a backend whose connection was just closed while its thread opens the next one.
    assert burst.peak <= 6
    assert idle_after == 0
