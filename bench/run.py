"""Benchmarks: register latency, register -> SUCCESS time, and one index of N jobs (time, queries).

Runs against real processes on loopback: PostgreSQL (database `kongflow_bench`, recreated), Redis,
a gunicorn web process, a Celery worker and real SDK endpoints from the shared fixture. Prints
figures; asserts nothing about time.

    .venv/bin/python bench/run.py [--registrations 50] [--jobs 500]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DB_NAME = "kongflow_bench"
os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "kongflow.settings",
        "DJANGO_SECRET_KEY": "bench",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB_NAME}",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/13",
        "CELERY_TASK_DEFAULT_QUEUE": f"kongflow-bench-{os.getpid()}",
        "LOG_LEVEL": "WARNING",
        # The SDK endpoints of the PRODUCTION environment listen on loopback.
        "ENDPOINTAPI_ALLOWED_NETWORKS": "127.0.0.0/8,::1/128",
        # Measure the service, not its abuse limits (empty = off).
        "KONGFLOW_THROTTLE_REGISTER": "",
        "KONGFLOW_THROTTLE_INDEX": "",
        "KONGFLOW_THROTTLE_HOOK": "",
    }
)
KEY = "tr_dev_kongflowBench0001"


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def recreate_database() -> None:
    import psycopg

    with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=REPO, check=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--registrations", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=10)
    args = parser.parse_args()

    recreate_database()
    import django

    django.setup()
    import requests
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from endpoints.models import EndpointIndex, IndexSource
    from endpoints.services.environments import environment_get_or_create
    from endpoints.services.indexing import endpoint_index_request, endpoint_index_run
    from tests.support.sdk import sdk_endpoint
    from tests.support.web import free_port

    environment_get_or_create(organization="Bench", project="Bench", env_type="DEVELOPMENT", api_key=KEY)
    port = free_port()
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "kongflow.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--worker-class",
            "gthread",
            "--workers",
            "2",
            "--threads",
            "4",
        ],
        cwd=REPO,
        stderr=subprocess.DEVNULL,
    )
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "kongflow",
            "worker",
            "--concurrency",
            "2",
            "--loglevel",
            "WARNING",
            "--queues",
            os.environ["CELERY_TASK_DEFAULT_QUEUE"],
        ],
        cwd=REPO,
        stderr=subprocess.DEVNULL,
    )
    api = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {KEY}"}
    try:
        for _ in range(100):
            try:
                requests.get(f"{api}/healthz", timeout=2)
                break
            except requests.RequestException:
                time.sleep(0.1)
        with sdk_endpoint(api_key=KEY, endpoint_id="bench", scenario="basic") as sdk:
            session = requests.Session()
            latencies, to_success = [], []
            for _ in range(args.registrations):
                started = time.perf_counter()
                response = session.post(
                    f"{api}/api/v1/endpoints", json={"id": "bench", "url": sdk.url}, headers=headers, timeout=30
                )
                latencies.append(time.perf_counter() - started)
                response.raise_for_status()
                index_id = response.json()["endpointIndex"]["id"]
                while True:
                    status = session.get(f"{api}/api/v1/endpointindex/{index_id}", headers=headers, timeout=30).json()[
                        "status"
                    ]
                    if status in ("SUCCESS", "FAILURE"):
                        break
                    time.sleep(0.01)
                to_success.append(time.perf_counter() - started)
                assert status == "SUCCESS", status
        print(
            f"register latency over {args.registrations} sequential registrations (ms): "
            f"p50 {percentile(latencies, 50) * 1000:.1f}  p95 {percentile(latencies, 95) * 1000:.1f}  "
            f"max {max(latencies) * 1000:.1f}"
        )
        print(
            f"register -> SUCCESS (ms, worker on Redis, poll every 10 ms): "
            f"p50 {percentile(to_success, 50) * 1000:.1f}  p95 {percentile(to_success, 95) * 1000:.1f}  "
            f"mean {statistics.mean(to_success) * 1000:.1f}"
        )

        # Concurrent registrations of one endpoint: each pings it; repeats join the pending run.
        from concurrent.futures import ThreadPoolExecutor

        with sdk_endpoint(api_key=KEY, endpoint_id="bench", scenario="basic") as sdk:

            def register_one(_: int) -> float:
                started = time.perf_counter()
                response = requests.post(
                    f"{api}/api/v1/endpoints", json={"id": "bench", "url": sdk.url}, headers=headers, timeout=60
                )
                response.raise_for_status()
                return time.perf_counter() - started

            total = args.registrations * 4
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
                concurrent = list(pool.map(register_one, range(total)))
            wall = time.perf_counter() - started
        print(
            f"register with {args.concurrency} concurrent clients, {total} requests: {total / wall:.0f} req/s, "
            f"p50 {percentile(concurrent, 50) * 1000:.1f} ms, p95 {percentile(concurrent, 95) * 1000:.1f} ms"
        )

        prod, _ = environment_get_or_create(
            organization="Bench", project="Bench", env_type="PRODUCTION", api_key="tr_prod_kongflowBench0001"
        )
        from endpoints.models import Endpoint

        for label, jobs in (("small", 10), ("large", args.jobs)):
            with sdk_endpoint(
                api_key=prod.api_key, endpoint_id=f"many-{jobs}", scenario="many", extra_args=["--jobs", str(jobs)]
            ) as sdk:
                endpoint = Endpoint.objects.create(
                    environment=prod,
                    organization_id=prod.organization_id,
                    project_id=prod.project_id,
                    slug=f"many-{jobs}",
                    url=sdk.url,
                )
                for run in ("first", "repeat"):
                    index = endpoint_index_request(endpoint=endpoint, source=IndexSource.MANUAL)
                    with CaptureQueriesContext(connection) as queries:
                        started = time.perf_counter()
                        endpoint_index_run(index_id=index.id)
                        elapsed = time.perf_counter() - started
                    index = EndpointIndex.objects.get(id=index.id)
                    print(
                        f"index {jobs:>4} jobs ({label}, {run}): {elapsed * 1000:.0f} ms, "
                        f"{len(queries.captured_queries)} SQL queries, status {index.status}, "
                        f"stats.jobs {index.stats and index.stats['jobs']}"
                    )
    finally:
        web.terminate()
        worker.terminate()
        web.wait()
        worker.wait()


if __name__ == "__main__":
    main()
