"""Fault tests: real processes on loopback, bounded in time.

Beat from a checkout without var/, PostgreSQL connections of the worker terminated mid-index,
Redis restarted (our own redis-server) during a burst of registrations, two endpoints of one
project indexed concurrently (lock order), and a worker's memory and connections over many indexes.
"""

from __future__ import annotations

import copy
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from endpoints.models import EndpointIndex, HousekeepingRun, IndexSource, IndexStatus, Job
from endpoints.services.clients import endpoint_client
from endpoints.services.indexing import endpoint_index_request, endpoint_index_run
from tests import factories
from tests.conftest import PROD_KEY
from tests.integration.conftest import FAST_RECOVERY
from tests.support.misbehaving import MisbehavingEndpoint
from tests.support.redis_server import OwnRedis
from tests.support.sdk import sdk_endpoint
from tests.support.waiting import wait_for
from tests.support.web import WebProcess, register_endpoint
from tests.support.worker import Worker, wait_for_status

# This module starts (or plays) its own workers: no shared one (see conftest).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.own_workers]




def worker_connections(application_name: str) -> list[int]:
    """Backend pids of the worker's connections to *this* test database (nobody else's)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = %s"
            " AND pid <> pg_backend_pid()",
            [application_name],
        )
        return [row[0] for row in cursor.fetchall()]


def test_beat_runs_housekeeping_from_a_checkout_without_var(tmp_path):
    """Fix 3: `celery worker -B` with no --schedule, PostgreSQL and Redis, and no var/ folder."""
    var_dir = "/proc/kongflow-no-such-dir/var"  # cannot even be created: beat falls back to the temp folder
    worker = Worker(beat="plain", env={"KONGFLOW_VAR_DIR": var_dir, "KONGFLOW_SWEEP_INTERVAL_SECONDS": "1"}).start()
    try:
        wait_for(
            lambda: HousekeepingRun.objects.filter(
                task="endpoints.sweep_endpoint_indexes", last_finished_at__isnull=False
            ).exists(),
            timeout=60,
            what="beat to run the sweeper",
        )
    finally:
        worker.stop()
    log = worker.log_path.read_text()
    assert "FileNotFoundError" not in log


def test_the_workers_database_connections_terminated_mid_index_the_run_completes_on_retry(
    prod_sdk_environment, tmp_path
):
    log = tmp_path / "requests.jsonl"
    with sdk_endpoint(
        api_key=PROD_KEY,
        endpoint_id="slow",
        scenario="slow",
        extra_args=["--index-delay-ms", "5000", "--request-log", str(log)],
    ) as slow:
        endpoint = factories.EndpointFactory(environment=prod_sdk_environment, slug="slow", url=slow.url)
        worker = Worker(concurrency=1).start()
        try:
            index = endpoint_index_request(endpoint=endpoint, source=IndexSource.INTERNAL)
            wait_for_status(index.id, IndexStatus.STARTED, timeout=30)
            # the fetch takes 5 s from here (the request log is written when it is answered)
            pids = wait_for(lambda: worker_connections(worker.application_name), timeout=4, what="its connection")
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", [pids])
            wait_for_status(index.id, IndexStatus.SUCCESS, timeout=60, what="the retried task to finish the run")
        finally:
            worker.stop()
    index.refresh_from_db()
    assert index.stats["jobs"] == 2 and index.error is None
    assert index.attempts == 1  # resumed by the task's retry: the endpoint's attempts were not spent
    assert "endpoints.index.database_error" in worker.log_path.read_text()


def test_redis_restarted_during_a_burst_of_registrations_every_run_succeeds(prod_sdk_environment):
    ids = ["burst-a", "burst-b", "burst-c"]
    with OwnRedis() as broker:
        sdks = [sdk_endpoint(api_key=PROD_KEY, endpoint_id=slug, scenario="basic") for slug in ids]
        urls = [ctx.__enter__().url for ctx in sdks]
        env = {"CELERY_BROKER_URL": broker.url}
        worker = Worker(beat=True, env={**env, **FAST_RECOVERY}).start()
        try:
            with WebProcess(env=env) as web:

                def register(n: int) -> int:
                    slug, url = ids[n % len(ids)], urls[n % len(ids)]
                    return register_endpoint(web.url, slug=slug, url=url, api_key=PROD_KEY).status_code

                statuses = [register(n) for n in range(20)]
                broker.restart()  # every queued or unacked message is gone
                statuses += [register(n) for n in range(20, 50)]
            assert statuses == [200] * 50

            def all_final() -> bool:
                runs = EndpointIndex.objects.filter(endpoint__slug__in=ids)
                return runs.count() > 0 and not runs.exclude(status__in=[IndexStatus.SUCCESS]).exists()

            wait_for(all_final, timeout=120, what="every run to end SUCCESS")
        finally:
            worker.stop()
            for ctx in sdks:
                ctx.__exit__(None, None, None)
    runs = EndpointIndex.objects.filter(endpoint__slug__in=ids)
    assert set(runs.values_list("status", flat=True)) == {IndexStatus.SUCCESS}
    assert sum(runs.values_list("requests", flat=True)) == 50  # every registration is in a run


def test_two_endpoints_of_one_project_indexed_concurrently_never_deadlock(prod_sdk_environment):
    """Fix 8: the same jobs and integrations, declared in opposite orders, written concurrently."""
    rounds = int(os.environ.get("KONGFLOW_DEADLOCK_ROUNDS", "50"))
    with sdk_endpoint(api_key=PROD_KEY, endpoint_id="many", scenario="many", extra_args=["--jobs", "60"]) as sdk:
        client = endpoint_client(url=sdk.url, api_key=PROD_KEY, environment=prod_sdk_environment)
        document = client.index_endpoint().data
    current: dict[str, dict] = {}

    def serve(name: str):
        return lambda handler: handler.json(200, current[name])

    with MisbehavingEndpoint() as server:
        a = factories.EndpointFactory(environment=prod_sdk_environment, slug="a", url=server.route("/a", serve("a")))
        b = factories.EndpointFactory(environment=prod_sdk_environment, slug="b", url=server.route("/b", serve("b")))
        for round_ in range(rounds):
            forward = copy.deepcopy(document)
            for job in forward["jobs"]:
                job["version"] = f"1.0.{round_}"
                job["name"] = f"{job['name']} r{round_}"
            backward = copy.deepcopy(forward)
            backward["jobs"].reverse()
            current.update(a=forward, b=backward)
            runs = [endpoint_index_request(endpoint=endpoint, source=IndexSource.MANUAL) for endpoint in (a, b)]
            barrier = threading.Barrier(2)

            def run(index_id: str, barrier: threading.Barrier = barrier) -> None:
                try:
                    barrier.wait(timeout=30)
                    endpoint_index_run(index_id=index_id)
                finally:
                    connection.close()

            with ThreadPoolExecutor(max_workers=2) as pool:
                for future in [pool.submit(run, index.id) for index in runs]:
                    future.result(timeout=120)  # a deadlock would raise here (OperationalError)
            statuses = {EndpointIndex.objects.get(id=index.id).status for index in runs}
            assert statuses == {IndexStatus.SUCCESS}, f"round {round_}"
    assert Job.objects.filter(project=prod_sdk_environment.project).count() == 60


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_a_worker_indexing_500_jobs_repeatedly_keeps_its_memory_and_connections(prod_sdk_environment):
    """RSS of the worker child stays flat after warm-up; its connections stay within the budget
    (concurrency x 2: the task's and its heartbeat's). KONGFLOW_RESOURCE_ITERATIONS sets the count."""
    iterations = int(os.environ.get("KONGFLOW_RESOURCE_ITERATIONS", "12"))
    warmup = max(3, iterations // 5)
    concurrency = 1
    budget = 2 * concurrency
    with sdk_endpoint(api_key=PROD_KEY, endpoint_id="many", scenario="many", extra_args=["--jobs", "500"]) as sdk:
        endpoint = factories.EndpointFactory(environment=prod_sdk_environment, slug="many", url=sdk.url)
        worker = Worker(concurrency=concurrency, env={"KONGFLOW_INDEX_HEARTBEAT_SECONDS": "0.5"}).start()
        samples: list[int] = []
        peak_connections = 0
        stop = threading.Event()

        def watch_connections() -> None:
            nonlocal peak_connections
            try:
                # Every 20 ms: the child holds a connection only while a task uses the database
                # (tens of ms of each index), none between tasks.
                while not stop.wait(0.02):
                    peak_connections = max(peak_connections, len(worker_connections(worker.application_name)))
            finally:
                connection.close()

        watcher = threading.Thread(target=watch_connections, daemon=True)
        watcher.start()
        started = time.monotonic()
        try:
            for _ in range(iterations):
                index = endpoint_index_request(endpoint=endpoint, source=IndexSource.MANUAL)
                wait_for_status(index.id, IndexStatus.SUCCESS, timeout=120)
                samples.append(sum(_rss_kb(pid) for pid in worker.child_pids()))
        finally:
            stop.set()
            watcher.join(timeout=5)
            worker.stop()
    elapsed = time.monotonic() - started
    baseline, final = samples[warmup - 1], samples[-1]
    growth = (final - baseline) / baseline
    print(
        f"\nresources: {iterations} indexes of 500 jobs in {elapsed:.0f}s; worker RSS {baseline} kB after "
        f"warm-up -> {final} kB ({growth:+.1%}); peak connections {peak_connections} (budget {budget})"
    )
    assert growth < 0.10, samples
    assert 1 <= peak_connections <= budget
    assert json.dumps(samples)  # reported above
