"""Operators' console: time and SQL queries of the admin pages over a large fleet (in-process client).

    .venv/bin/python bench/console.py [--endpoints 1000] [--runs 5000] [--document-kb 100]

Builds a fresh PostgreSQL database of its own: endpoints with a health state, runs over the last
24 h (one SUCCESS in five carrying a document of --document-kb, so lists would feel it), then
requests each page five times.
Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import configure, drop_database, recreate_database

configure("console")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5000)
    parser.add_argument("--document-kb", type=int, default=100)
    args = parser.parse_args()
    recreate_database()
    try:
        measure(args)
    finally:
        drop_database()


def measure(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from endpoints.models import Endpoint, EndpointHealth, EndpointIndex, IndexStatus
    from endpoints.services.environments import environment_get_or_create

    rng = random.Random(1)
    environment, _ = environment_get_or_create(
        organization="Bench", project="Bench", env_type="PRODUCTION", api_key="tr_prod_consoleBench0001"
    )
    now = timezone.now()
    healths = [EndpointHealth.HEALTHY] * 8 + [EndpointHealth.DEGRADED, EndpointHealth.FAILING]
    endpoints = Endpoint.objects.bulk_create(
        Endpoint(
            slug=f"app-{i}",
            url=f"http://127.0.0.1:9/app-{i}/api/trigger",
            environment=environment,
            organization_id=environment.organization_id,
            project_id=environment.project_id,
            health=rng.choice(healths),
            last_index_status=IndexStatus.SUCCESS,
            last_index_at=now,
        )
        for i in range(args.endpoints)
    )
    document = {"jobs": [{"id": f"job-{j}", "padding": "x" * 1000} for j in range(args.document_kb)]}
    batch = []
    for i in range(args.runs):
        created = now - timedelta(seconds=rng.uniform(0, 86_000))
        failed = rng.random() < 0.1
        batch.append(
            EndpointIndex(
                endpoint=endpoints[i % len(endpoints)],
                status=IndexStatus.FAILURE if failed else IndexStatus.SUCCESS,
                error={"code": "TIMEOUT", "message": "timed out", "hint": ""} if failed else None,
                data=document if not failed and i % 5 == 0 else None,
                diff={"jobs": {"added": [], "removed": [], "changed": {}}},
                started_at=created,
                finished_at=created + timedelta(milliseconds=rng.lognormvariate(4.5, 0.6)),
            )
        )
        if len(batch) == 500:
            EndpointIndex.objects.bulk_create(batch)
            batch = []
    EndpointIndex.objects.bulk_create(batch)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    get_user_model().objects.create_superuser("bench", "bench@example.com", "bench")
    client = Client(SERVER_NAME="localhost")
    client.force_login(get_user_model().objects.get(username="bench"))
    some = endpoints[0].id
    run_id = EndpointIndex.objects.filter(data__isnull=False).values_list("id", flat=True).first()
    pages = [
        ("endpoint list (50 rows)", "/admin/endpoints/endpoint/"),
        ("endpoint list, failing", "/admin/endpoints/endpoint/?health=FAILING"),
        ("endpoint page", f"/admin/endpoints/endpoint/{some}/change/"),
        ("run list (100 rows)", "/admin/endpoints/endpointindex/"),
        ("run page (SUCCESS, document)", f"/admin/endpoints/endpointindex/{run_id}/change/"),
        ("jobs list", "/admin/endpoints/jobversion/"),
        ("overview", "/admin/overview/"),
    ]
    print(f"{args.endpoints} endpoints, {args.runs} runs in 24 h, documents of {args.document_kb} KB")
    print(f"{'page':34} {'p50 ms':>8} {'max ms':>8} {'queries':>8}")
    for name, path in pages:
        timings, queries = [], 0
        for _ in range(5):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = client.get(path)
                timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (path, response.status_code)
            queries = len(captured)
        print(f"{name:34} {statistics.median(timings):8.0f} {max(timings):8.0f} {queries:8d}")


if __name__ == "__main__":
    main()
