"""The registry API's list pages over a large environment (in-process, through Django's test client).

    .venv/bin/python bench/api.py [--endpoints 10000] [--repeat 30]

Builds a fresh PostgreSQL database of its own: one environment with --endpoints endpoints (health
mixed, 1 % soft-deleted, three runs each, one endpoint with 2,000 runs), the real SDK fixture's
`full` document applied to 200 of them (jobs, a source, a dynamic trigger and schedule each) and
four copies of it (64 jobs) to one, plus another organization with 1,000 endpoints. Then requests
each page --repeat times and prints p50/p95 in ms and the SQL queries of one request. Measured
in-process (Django's test client: URL routing, authentication, serializers, JSON; no HTTP server),
so the figures are what the web process spends, without gunicorn's and the network's share.
Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import REPO, configure, drop_database, recreate_database

DB_NAME = configure("api")
API_KEY = "tr_prod_apiBench00000001"
FULL_DOCUMENT = REPO / "tests" / "registry" / "data" / "full.json"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoints", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help=f"keep the database ({DB_NAME}) for EXPLAIN")
    args = parser.parse_args()
    recreate_database()
    try:
        measure(args)
    finally:
        if not args.keep:
            drop_database()


def document_for(prefix: str, copies: int = 1) -> dict[str, Any]:
    """The `full` document with its job, source and dynamic trigger ids prefixed (jobs are per
    project: each endpoint declares its own); without webhooks and HTTP endpoints (per project)."""
    base = json.loads(FULL_DOCUMENT.read_text())
    ids = {job["id"] for job in base["jobs"]} | {s["key"] for s in base["sources"]}
    ids |= {t["id"] for t in base["dynamicTriggers"] + base["dynamicSchedules"]}
    merged: dict[str, Any] = {"jobs": [], "sources": [], "dynamicTriggers": [], "dynamicSchedules": []}
    for copy in range(copies):
        text = FULL_DOCUMENT.read_text()
        for name in sorted(ids, key=len, reverse=True):
            text = text.replace(f'"{name}"', f'"{prefix}{copy}-{name}"')
        document = json.loads(text)
        for collection in merged:
            merged[collection] += document[collection]
    return merged


def fill(args: argparse.Namespace) -> tuple[Any, Any]:
    from django.db import connection
    from django.utils import timezone

    from endpoints.models import Endpoint, EndpointHealth, EndpointIndex, IndexStatus
    from endpoints.services.environments import environment_get_or_create
    from endpoints.services.registry import registry_apply, registry_plan

    rng = random.Random(1)
    environment, _ = environment_get_or_create(
        organization="Bench", project="Bench", env_type="PRODUCTION", api_key=API_KEY
    )
    other, _ = environment_get_or_create(
        organization="Other", project="Other", env_type="PRODUCTION", api_key="tr_prod_apiBenchOther001"
    )
    now = timezone.now()
    healths = [EndpointHealth.HEALTHY] * 8 + [EndpointHealth.DEGRADED, EndpointHealth.FAILING]

    def endpoints_of(env: Any, count: int) -> list[Any]:
        rows = []
        for i in range(count):
            deleted = rng.random() < 0.01
            rows.append(
                Endpoint(
                    slug=f"app-{i:05}",
                    url=None if deleted else f"http://127.0.0.1:9/app-{i}/api/trigger",
                    deleted_at=now if deleted else None,
                    environment=env,
                    organization_id=env.organization_id,
                    project_id=env.project_id,
                    indexing_hook_identifier=f"h{i:09}",
                    health=rng.choice(healths),
                    health_since=now - timedelta(hours=rng.uniform(0, 48)),
                    last_index_status=IndexStatus.SUCCESS,
                    last_index_at=now,
                    version="2023-11-01",
                    sdk_version="2.3.19",
                )
            )
        return Endpoint.objects.bulk_create(rows, batch_size=2000)

    started = time.perf_counter()
    endpoints = endpoints_of(environment, args.endpoints)
    endpoints_of(other, 1000)
    runs: list[EndpointIndex] = []
    diff = {"jobs": {"added": ["a"], "removed": [], "changed": {"b": ["version"]}}}
    for n, endpoint in enumerate(endpoints):
        for k in range(2000 if n == 42 else 3):
            failed = rng.random() < 0.15
            finished = now - timedelta(minutes=10 * k + rng.uniform(0, 9))  # created_at: now (auto_now_add)
            runs.append(
                EndpointIndex(
                    endpoint=endpoint,
                    source="HOOK",
                    status=IndexStatus.FAILURE if failed else IndexStatus.SUCCESS,
                    error={"code": "TIMEOUT", "message": "timed out", "hint": "…"} if failed else None,
                    stats=None if failed else {"jobs": 5, "sources": 1, "dynamicTriggers": 1},
                    diff=None if failed else diff,
                    finished_at=finished,
                )
            )
        if len(runs) >= 5000:
            EndpointIndex.objects.bulk_create(runs)
            runs = []
    EndpointIndex.objects.bulk_create(runs)
    filled = time.perf_counter() - started
    started = time.perf_counter()
    live = [e for e in endpoints if e.url]
    for n, endpoint in enumerate(live[:200]):
        endpoint.environment = environment
        copies = 4 if n == 0 else 1
        registry_apply(endpoint=endpoint, plan=registry_plan(endpoint=endpoint, data=document_for(f"e{n}-", copies)))
    applied = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"filled {args.endpoints} + 1000 endpoints and {EndpointIndex.objects.count()} runs in {filled:.1f} s; "
        f"applied the full document to 200 endpoints in {applied:.1f} s"
    )
    return endpoints[42], live[0]


def measure(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    heavy, with_registry = fill(args)
    client = Client(SERVER_NAME="localhost", HTTP_AUTHORIZATION=f"Bearer {API_KEY}")

    def get(path: str) -> dict[str, Any]:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code, response.content[:300])
        body: dict[str, Any] = response.json()
        return body

    # A cursor in the middle of the list: 100 pages in.
    url = "/api/v1/endpoints"
    for _ in range(100):
        url = get(url)["next"] or url  # a small fleet: its last page
    deep_endpoints = url
    url = f"/api/v1/endpoints/{heavy.slug}/indexes"
    for _ in range(20):
        url = get(url)["next"]
    deep_runs = url
    pages = [
        ("endpoints, first page", "/api/v1/endpoints"),
        ("endpoints, page 101", deep_endpoints),
        ("endpoints?health=FAILING", "/api/v1/endpoints?health=FAILING"),
        ("endpoints?health=DELETED", "/api/v1/endpoints?health=DELETED"),
        ("endpoints/<slug>", f"/api/v1/endpoints/{with_registry.slug}"),
        ("…/indexes (2,000 runs), first page", f"/api/v1/endpoints/{heavy.slug}/indexes"),
        ("…/indexes, page 21", deep_runs),
        ("…/indexes?status=FAILURE", f"/api/v1/endpoints/{heavy.slug}/indexes?status=FAILURE"),
        ("…/jobs (64 jobs), page of 50", f"/api/v1/endpoints/{with_registry.slug}/jobs"),
        ("…/sources", f"/api/v1/endpoints/{with_registry.slug}/sources"),
        ("…/triggers", f"/api/v1/endpoints/{with_registry.slug}/triggers"),
        ("…/schedules", f"/api/v1/endpoints/{with_registry.slug}/schedules"),
    ]
    print(f"in-process (Django test client), {args.repeat} requests per page after one warm-up")
    print(f"{'page':38} {'rows':>5} {'p50 ms':>8} {'p95 ms':>8} {'SQL ms':>8} {'queries':>8}")
    for name, path in pages:
        body = get(path)
        rows = len(body["results"]) if "results" in body else 1
        timings, sql, queries = [], [], 0
        for _ in range(args.repeat):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                get(path)
                timings.append((time.perf_counter() - started) * 1000)
            queries = len(captured)
            sql.append(sum(float(query["time"]) for query in captured.captured_queries) * 1000)
        p50, p95 = statistics.median(timings), statistics.quantiles(timings, n=20)[-1]
        print(f"{name:38} {rows:5d} {p50:8.1f} {p95:8.1f} {statistics.median(sql):8.1f} {queries:8d}")


if __name__ == "__main__":
    main()
