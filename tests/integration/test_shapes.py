"""The shapes users deploy (docs/operations.md): the core flows through PgBouncer in transaction
mode, on RabbitMQ, and on several hosts (two web processes, two workers, nothing shared but
PostgreSQL, the broker and the cache)."""

import re
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import requests
from django.conf import settings

from endpoints.models import EndpointIndex, IndexStatus
from tests.conftest import DEV_KEY, PROD_KEY
from tests.integration.test_events_flow import FAST_WEBHOOKS
from tests.support.receiver import Receiver
from tests.support.sdk import sdk_endpoint
from tests.support.shapes import Api, PgBouncer, core_flows, rabbitmq_queues, rabbitmq_vhost
from tests.support.waiting import wait_for
from tests.support.web import WebProcess, free_port
from tests.support.worker import Worker, assert_no_consumer, purge_queue

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.own_workers]

# Short hook delay and fast housekeeping, so that each shape's flows take seconds.
SHAPE_ENV = {**FAST_WEBHOOKS, "KONGFLOW_HOOK_DELAY_SECONDS": "0.2"}
PGBOUNCER_ENV = {"DATABASE_POOL_MAX_SIZE": "0", "DATABASE_DISABLE_SERVER_SIDE_CURSORS": "on"}


@pytest.fixture
def sdk_many():
    with sdk_endpoint(api_key=PROD_KEY, endpoint_id="many", scenario="many", extra_args=["--jobs", "500"]) as sdk:
        yield sdk


@pytest.fixture
def queues():
    assert_no_consumer()
    purge_queue()
    yield
    purge_queue()


def run_core_flows(web_a, web_b, sdk_basic, sdk_many):
    started = time.perf_counter()
    with Receiver() as receiver:
        core_flows(
            writer=Api(web_a.url, DEV_KEY),
            reader=Api(web_b.url, DEV_KEY),
            many_writer=Api(web_b.url, PROD_KEY),
            many_reader=Api(web_a.url, PROD_KEY),
            basic_url=sdk_basic.url,
            many_url=sdk_many.url,
            receiver=receiver,
        )
    return time.perf_counter() - started


def test_core_flows_pass_through_pgbouncer_in_transaction_mode(
    queues, dev_environment, prod_sdk_environment, sdk_basic, sdk_many
):
    with PgBouncer(pool_size=3) as bouncer:
        env = {**SHAPE_ENV, **PGBOUNCER_ENV, "DATABASE_URL": bouncer.database_url}
        worker = Worker(beat=True, env=env, concurrency=3).start()
        try:
            with WebProcess(env=env) as web:
                elapsed = run_core_flows(web, web, sdk_basic, sdk_many)
        finally:
            worker.stop()
        database = bouncer.database_url.rsplit("/", 1)[1]
        stats = next(row for row in bouncer.show("STATS") if row["database"] == database)
        servers = [row for row in bouncer.show("SERVERS") if row["database"] == database]
    # Everything went through PgBouncer, over at most 3 server connections for 4 gunicorn threads,
    # 3 prefork children (each with a heartbeat thread) and beat.
    assert int(stats["total_xact_count"]) > 100, stats
    assert len(servers) <= 3, servers
    print(
        f"\npgbouncer: core flows in {elapsed:.1f}s, {stats['total_xact_count']} transactions, {len(servers)} servers"
    )


def test_core_flows_pass_on_rabbitmq(dev_environment, prod_sdk_environment, sdk_basic, sdk_many):
    with rabbitmq_vhost() as broker_url:
        env = {**SHAPE_ENV, "CELERY_BROKER_URL": broker_url}
        worker = Worker(beat=True, env=env).start()
        try:
            with WebProcess(env=env) as web:
                ready = requests.get(f"{web.url}/readyz", timeout=10).json()
                assert ready["checks"] == {"database": True, "broker": True}
                elapsed = run_core_flows(web, web, sdk_basic, sdk_many)
        finally:
            worker.stop()
        runs = list(EndpointIndex.objects.exclude(dispatch_epoch=None).values_list("dispatch_epoch", flat=True))
        queues = rabbitmq_queues(broker_url)
    # Every run was sent in an epoch whose marker queue is on the broker (docs: RabbitMQ).
    prefix = settings.KONGFLOW_QUEUE_PREFIX
    assert runs and all(f"{prefix}.epoch.{epoch}" in queues for epoch in runs), (runs, queues)
    assert {f"{prefix}.index", f"{prefix}.webhooks"} <= queues
    print(f"\nrabbitmq: core flows in {elapsed:.1f}s")


def test_several_hosts_share_only_the_database_broker_and_cache(
    queues, dev_environment, prod_sdk_environment, sdk_basic, sdk_many
):
    """Web A and web B, worker A (with beat) and worker B: each with a `var/` of its own and its own
    metrics. Registered through A, read through B; the hook throttle counts across both webs."""
    var = {name: Path(tempfile.mkdtemp(prefix=f"kongflow-{name}-var-")) for name in ("web-a", "web-b", "wk-a", "wk-b")}
    shared = {
        **SHAPE_ENV,
        "CACHE_URL": "redis://127.0.0.1:6379/13",
        "KONGFLOW_CACHE_KEY_PREFIX": f"kongflow-test-{uuid.uuid4().hex[:8]}",
        "KONGFLOW_THROTTLE_HOOK": "4/min",
    }
    ports = {name: free_port() for name in ("wk-a", "wk-b")}
    workers = [
        Worker(
            beat=name == "wk-a",
            env={
                **shared,
                "KONGFLOW_VAR_DIR": str(var[name]),
                "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(prefix=f"kongflow-{name}-metrics-"),
                "KONGFLOW_WORKER_METRICS_PORT": str(ports[name]),
                "KONGFLOW_WORKER_METRICS_ADDR": "127.0.0.1",
            },
        ).start()
        for name in ("wk-a", "wk-b")
    ]
    try:
        with (
            WebProcess(env={**shared, "KONGFLOW_VAR_DIR": str(var["web-a"])}) as web_a,
            WebProcess(env={**shared, "KONGFLOW_VAR_DIR": str(var["web-b"])}) as web_b,
        ):
            elapsed = run_core_flows(web_a, web_b, sdk_basic, sdk_many)
            # The flows used one hook call (web B); three more alternate between the webs, the
            # fifth is refused: the count is in the shared cache, not in either process.
            endpoint = EndpointIndex.objects.filter(source="HOOK").select_related("endpoint").first().endpoint
            path = f"/api/v1/endpoints/{endpoint.environment_id}/many/index/{endpoint.indexing_hook_identifier}"
            answers = [
                requests.post(f"{web.url}{path}", timeout=30).status_code for web in (web_a, web_b, web_a, web_b)
            ]
            assert answers == [200, 200, 200, 429], answers
            throttled = requests.post(f"{web_a.url}{path}", timeout=30)
            assert throttled.status_code == 429 and "error" in throttled.json()
            wait_for(
                lambda: (
                    not EndpointIndex.objects.filter(status__in=[IndexStatus.PENDING, IndexStatus.STARTED]).exists()
                ),
                timeout=30,
                what="every run to finish",
            )
            scraped = [requests.get(f"http://127.0.0.1:{ports[name]}/metrics", timeout=5).text for name in ports]
            children = {pid for worker in workers for pid in worker.child_pids()}
    finally:
        for worker in workers:
            worker.stop()
    finished = EndpointIndex.objects.filter(status__in=[IndexStatus.SUCCESS, IndexStatus.FAILURE])
    ran_in = {int(run.worker.rsplit(":", 1)[1]) for run in finished}
    assert ran_in <= children, (ran_in, children)
    # Metrics are per process: the workers' index counts add up to the runs.
    counted = [
        sum(float(v) for v in re.findall(r"^kongflow_endpoint_indexes_total\{.*\} (\S+)$", body, re.M))
        for body in scraped
    ]
    assert sum(counted) == finished.count(), (counted, finished.count())
    # Nothing local: the webs wrote nothing to their var/, the workers at most beat's schedule.
    assert not any(var["web-a"].iterdir()) and not any(var["web-b"].iterdir())
    assert not any(var["wk-b"].iterdir())
    assert {p.name for p in var["wk-a"].iterdir()} <= {"celerybeat-schedule"}
    print(f"\nseveral hosts: core flows in {elapsed:.1f}s; runs per worker {counted}")
