"""Kongflow at scale: pages, registration, purges and sizes over a seeded fleet, one table.

    .venv/bin/python bench/scale.py [--sizes 10000,100000] [--requests 20] [--repeat 7]

For each size: a database of its own (`kongflow_bench_scale_<checkout hash>`, recreated), migrated
and filled by `manage.py seedscale` (20 jobs and 20 runs per endpoint over 8 days, one registry
event per run), then, in this process:

- console pages and API pages (Django's test client, in-process): p50 / p95 of `--requests` GETs;
- a registration (PING of a real SDK endpoint, scenario `many`, 20 jobs) and its first index, in a
  fresh organization each time: median / p95 of `--repeat`;
- the registry-event purge and the index-run purge of what is older than the 7-day retention:
  rows/s, the longest statement (row locks are held for one statement: each batch commits), the
  table locks the purging backend held, and whether any other backend waited on a lock;
- rows and bytes per day of history, per endpoint, and the database size.

Loopback only; loops are bounded; prints figures, asserts nothing about time. `--keep` keeps the
last database (e.g. to EXPLAIN a page).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import REPO, configure, drop_database, new_environment, percentile, recreate_database, sampling

DB_NAME = configure(
    "scale",
    ENDPOINTAPI_ALLOWED_NETWORKS="127.0.0.0/8,::1/128",
    KONGFLOW_THROTTLE_REGISTER="",
    KONGFLOW_THROTTLE_INDEX="",
    KONGFLOW_THROTTLE_HOOK="",
    # Registration dispatches the first index after commit: no broker is needed, nor used.
    CELERY_BROKER_URL="memory://",
)
DAYS, RETENTION_DAYS = 8, 7
TABLE: dict[str, dict[int, str]] = {}  # measure -> size -> figure


def record(size: int, measure: str, figure: str) -> None:
    TABLE.setdefault(measure, {})[size] = figure
    print(f"  {measure}: {figure}", flush=True)


def p50_p95(seconds: list[float]) -> str:
    return f"{statistics.median(seconds) * 1000:.0f} / {percentile(seconds, 95) * 1000:.0f} ms"


# -- pages: one line each (name, path made from the fleet's context) ---------------------------------


@dataclass
class Fleet:
    """What page paths need: a busy endpoint, one of its SUCCESS and FAILURE runs, the large
    environment's API key and its last event sequence."""

    endpoint_id: str
    endpoint_slug: str
    success_run_id: str
    failure_run_id: str
    api_key: str
    last_sequence: int


CONSOLE_PAGES: list[tuple[str, Callable[[Fleet], str]]] = [
    ("console: endpoint list", lambda f: "/admin/endpoints/endpoint/"),
    ("console: endpoint list, failing", lambda f: "/admin/endpoints/endpoint/?health=FAILING"),
    ("console: endpoint list, search", lambda f: "/admin/endpoints/endpoint/?q=app-7"),
    ("console: overview", lambda f: "/admin/overview/"),
    ("console: endpoint page", lambda f: f"/admin/endpoints/endpoint/{f.endpoint_id}/change/"),
    ("console: run list", lambda f: "/admin/endpoints/endpointindex/"),
    ("console: run list, failed", lambda f: "/admin/endpoints/endpointindex/?status__exact=FAILURE"),
    (
        "console: run list, one endpoint",
        lambda f: f"/admin/endpoints/endpointindex/?endpoint__id__exact={f.endpoint_id}",
    ),
    ("console: run page (SUCCESS)", lambda f: f"/admin/endpoints/endpointindex/{f.success_run_id}/change/"),
    ("console: run page (FAILURE)", lambda f: f"/admin/endpoints/endpointindex/{f.failure_run_id}/change/"),
    ("console: jobs list", lambda f: "/admin/endpoints/jobversion/"),
    ("console: registry events", lambda f: "/admin/endpoints/registryevent/"),
]
# With the large environment's key. New list routes of the API: one line each.
API_PAGES: list[tuple[str, Callable[[Fleet], str]]] = [
    ("API: registry events, first page", lambda f: "/api/v1/registry-events?after=0&limit=100"),
    ("API: registry events, last page", lambda f: f"/api/v1/registry-events?after={f.last_sequence - 100}&limit=100"),
    ("API: event subscriptions", lambda f: "/api/v1/event-subscriptions"),
    ("API: index run status", lambda f: f"/api/v1/endpointindex/{f.success_run_id}"),
    ("API: endpoints, first page", lambda f: "/api/v1/endpoints?limit=50"),
    ("API: endpoints, failing", lambda f: "/api/v1/endpoints?health=FAILING&limit=50"),
    ("API: endpoint", lambda f: f"/api/v1/endpoints/{f.endpoint_slug}"),
    ("API: an endpoint's runs", lambda f: f"/api/v1/endpoints/{f.endpoint_slug}/indexes?limit=50"),
    ("API: an endpoint's jobs", lambda f: f"/api/v1/endpoints/{f.endpoint_slug}/jobs?limit=50"),
]


def fleet_context() -> Fleet:
    from django.db.models import Count

    from endpoints.models import Endpoint, EndpointIndex, EventSequence, IndexStatus, RuntimeEnvironment

    environment = (
        RuntimeEnvironment.objects.filter(organization__slug="seedscale-0").first()
        or RuntimeEnvironment.objects.annotate(n=Count("endpoints")).order_by("-n").first()
    )
    assert environment is not None
    failed = EndpointIndex.objects.filter(endpoint__environment=environment, status=IndexStatus.FAILURE)
    run = failed.only("endpoint_id", "id").first() or EndpointIndex.objects.only("endpoint_id", "id").first()
    assert run is not None
    success = EndpointIndex.objects.filter(endpoint_id=run.endpoint_id, status=IndexStatus.SUCCESS).first()
    sequence = EventSequence.objects.filter(environment=environment).values_list("last_sequence", flat=True).first()
    return Fleet(
        endpoint_id=run.endpoint_id,
        endpoint_slug=Endpoint.objects.filter(id=run.endpoint_id).values_list("slug", flat=True).get(),
        success_run_id=success.id if success else run.id,
        failure_run_id=run.id,
        api_key=environment.api_key,
        last_sequence=max(sequence or 0, 100),
    )


def bench_pages(size: int, requests: int, label: str = "", *, first_view: bool = True) -> None:
    from django.contrib.auth import get_user_model
    from django.test import Client

    fleet = fleet_context()
    user = get_user_model().objects.filter(username="bench").first() or get_user_model().objects.create_superuser(
        "bench", "bench@example.com", "bench"
    )
    console = Client(SERVER_NAME="localhost")
    console.force_login(user)
    api = Client(SERVER_NAME="localhost", HTTP_AUTHORIZATION=f"Bearer {fleet.api_key}")
    if first_view:
        from endpoints.models import RunHour

        RunHour.objects.all().delete()
        started = time.perf_counter()
        assert console.get("/admin/overview/").status_code == 200
        elapsed = time.perf_counter() - started
        record(size, f"console: overview, first view (no hour kept yet){label}", f"{elapsed * 1000:.0f} ms")
    for client, pages in ((console, CONSOLE_PAGES), (api, API_PAGES)):
        for name, path_of in pages:
            path = path_of(fleet)
            timings = []
            for _ in range(requests):
                started = time.perf_counter()
                response = client.get(path)
                timings.append(time.perf_counter() - started)
                assert response.status_code == 200, (path, response.status_code, response.content[:300])
            record(size, f"{name}{label} p50 / p95", p50_p95(timings))


# -- registration and first index -----------------------------------------------------------------


def bench_registration(size: int, repeat: int, jobs: int) -> None:
    from django.db import connection

    from endpoints.services.indexing import endpoint_index_run
    from endpoints.services.registration import endpoint_register
    from tests.support.sdk import sdk_endpoint

    env = new_environment()
    registrations, indexes, statements, in_sql = [], [], [], []
    with sdk_endpoint(
        api_key=env.api_key, endpoint_id="scale", scenario="many", extra_args=["--jobs", str(jobs)]
    ) as sdk:
        for rep in range(repeat + 1):  # the first is a warm-up
            if rep:
                # The SDK answers only its own key: hand it to a fresh environment (a first index).
                api_key = env.api_key
                env.api_key = f"{api_key}x{rep}"
                env.save(update_fields=["api_key"])
                env = new_environment(api_key)
            started = time.perf_counter()
            registration = endpoint_register(environment=env, slug="scale", url=sdk.url)
            registered = time.perf_counter() - started
            sent, timed = timed_statements()
            with connection.execute_wrapper(timed):
                started = time.perf_counter()
                endpoint_index_run(index_id=registration.index.id)
                indexed = time.perf_counter() - started
            registration.index.refresh_from_db(fields=["status"])
            assert registration.index.status == "SUCCESS", registration.index.status
            if rep:
                registrations.append(registered)
                indexes.append(indexed)
                statements.append(len(sent))
                in_sql.append(sum(seconds for _, seconds in sent))
    record(size, "registration (PING + upsert) p50 / p95", p50_p95(registrations))
    record(size, f"first index, {jobs} jobs p50 / p95", p50_p95(indexes) + f", {max(statements)} statements")
    record(size, f"first index, {jobs} jobs: of which in SQL p50 / p95", p50_p95(in_sql))


# -- purges and their lock footprint ---------------------------------------------------------------


@contextmanager
def lock_sampler() -> Iterator[dict[str, Any]]:
    """Samples pg_locks every 20 ms from a connection of its own: the table locks this process's
    backend holds, and how many other backends wait on a lock."""
    from django.db import connection

    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    seen: dict[str, Any] = {"locks": set(), "waiting": 0, "samples": 0}

    def sample(conn: Any) -> None:
        rows = conn.execute(
            "SELECT l.pid, c.relname, l.mode, l.granted FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE l.locktype = 'relation' AND c.relkind = 'r' AND c.relname LIKE 'endpoints_%%'"
        ).fetchall()
        for lock_pid, relname, mode, granted in rows:
            if lock_pid == pid:
                seen["locks"].add((relname, mode))
            elif not granted:
                seen["waiting"] += 1
        seen["samples"] += 1

    with sampling(sample):
        yield seen


def timed_statements() -> tuple[list[tuple[str, float]], Callable[..., Any]]:
    timings: list[tuple[str, float]] = []

    def wrapper(execute: Callable[..., Any], sql: str, *args: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, *args)
        finally:
            timings.append((sql.lstrip().split(None, 1)[0].upper(), time.perf_counter() - started))

    return timings, wrapper


def bench_purge(size: int, name: str, purge: Callable[[], int]) -> None:
    from django.db import connection

    timings, wrapper = timed_statements()
    with lock_sampler() as seen, connection.execute_wrapper(wrapper):
        started = time.perf_counter()
        deleted = purge()
        elapsed = time.perf_counter() - started
    deletes = [t for verb, t in timings if verb == "DELETE"] or [0.0]
    selects = [t for verb, t in timings if verb == "SELECT"] or [0.0]
    locks = ", ".join(sorted(f"{relname.removeprefix('endpoints_')} {mode}" for relname, mode in seen["locks"]))
    record(size, f"{name} purge", f"{deleted} rows in {elapsed:.1f} s, {deleted / max(elapsed, 1e-9):.0f} rows/s")
    record(
        size,
        f"{name} purge: longest DELETE / SELECT",
        f"{max(deletes) * 1000:.0f} / {max(selects) * 1000:.0f} ms ({len(deletes)} DELETEs)",
    )
    record(size, f"{name} purge: table locks held", f"{locks or 'none seen'}; lock waits of others: {seen['waiting']}")


# -- sizes -----------------------------------------------------------------------------------------

REGISTRY_TABLES = (
    "endpoint",
    "job",
    "jobversion",
    "jobalias",
    "jobintegration",
    "eventexample",
    "eventdispatcher",
    "integration",
    "runtimeenvironment",
    "organization",
    "project",
)
HISTORY_TABLES = ("endpointindex", "registryevent", "webhookdelivery", "webhookattempt")


def bench_sizes(size: int) -> None:
    from django.db import connection

    def total(tables: tuple[str, ...]) -> tuple[int, int]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c WHERE c.relname = ANY(%s)",
                [[f"endpoints_{t}" for t in tables]],
            )
            nbytes = int(cursor.fetchone()[0])
            rows = 0
            for table in tables:
                cursor.execute(f"SELECT count(*) FROM endpoints_{table}")  # noqa: S608 - fixed names
                rows += int(cursor.fetchone()[0])
        return nbytes, rows

    registry, registry_rows = total(REGISTRY_TABLES)
    record(size, "registry: bytes / rows per endpoint", f"{registry / size / 1024:.1f} KB / {registry_rows / size:.0f}")
    for table in HISTORY_TABLES:
        nbytes, rows = total((table,))
        record(
            size,
            f"{table}: rows / MB per day",
            f"{rows / DAYS:.0f} / {nbytes / DAYS / 2**20:.1f} MB ({nbytes / max(rows, 1):.0f} B/row)",
        )
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        database = int(cursor.fetchone()[0])
    record(size, "database size", f"{database / 2**30:.2f} GB ({database / size / 1024:.0f} KB per endpoint)")


# -- driver ----------------------------------------------------------------------------------------


def add_hourly_day() -> None:
    """What re-indexing every live endpoint hourly adds to the history: a run an hour each over the
    last 24 hours (FAILURE for the failing endpoints, SUCCESS for the others; no document: the pages
    never read it), ids following time as the service's do. COPY, then what autovacuum would do."""
    import psycopg
    from django.db import connections

    from endpoints.ids import time_prefix
    from endpoints.models import Endpoint, EndpointHealth

    connections.close_all()
    endpoints = list(Endpoint.objects.filter(url__isnull=False).values_list("id", "health"))
    now = time.time()
    hour = now - now % 3600
    columns = (
        "id, created_at, updated_at, source, status, force, attempts, max_attempts, started_at, finished_at, "
        "requests, coalesced, endpoint_id, dispatches, warnings"
    )
    started = time.perf_counter()
    with (
        psycopg.connect(os.environ["DATABASE_URL"]) as conn,
        conn.cursor() as cursor,
        cursor.copy(f"COPY endpoints_endpointindex ({columns}) FROM STDIN") as copy,
    ):
        for back in range(24):
            span = min(3600.0, now - hour) if back == 0 else 3600.0
            for endpoint_id, health in endpoints:
                at = hour - back * 3600 + random.random() * span
                created = datetime.fromtimestamp(at, UTC)
                status = "FAILURE" if health == EndpointHealth.FAILING else "SUCCESS"
                finished = created + timedelta(seconds=0.2 + random.random() / 2)
                row_id = time_prefix(at) + f"{random.getrandbits(64):016x}"
                run = (created, created, "INTERNAL", status, False, 1, 3, created, finished)
                copy.write_row((row_id, *run, 1, "[]", endpoint_id, 1, "[]"))
    print(f"  added {24 * len(endpoints)} hourly runs in {time.perf_counter() - started:.0f} s", flush=True)
    vacuum()


def vacuum() -> None:
    """What autovacuum does to tables that receive inserts: statistics and the visibility map
    (index-only scans read it)."""
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")


def migrate(target: str | None) -> None:
    from django.db import connections

    connections.close_all()
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0", "endpoints", *([target] if target else [])],
        cwd=REPO,
        check=True,
    )
    vacuum()


def seed(size: int, jobs: int, runs: int) -> None:
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "seedscale",
            "--endpoints",
            str(size),
            "--jobs-per-endpoint",
            str(jobs),
            "--runs-per-endpoint",
            str(runs),
            "--days",
            str(DAYS),
        ],
        cwd=REPO,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    record(size, "seeding (seedscale, wall)", f"{time.perf_counter() - started:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help=f"Keep the last size's database ({DB_NAME}).")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="Only time the pages and a registration, on the database a previous --keep left (one size).",
    )
    parser.add_argument(
        "--hourly",
        action="store_true",
        help="With --reuse: then add a day of re-indexing every live endpoint hourly, and time the pages again.",
    )
    parser.add_argument(
        "--compare-before",
        metavar="MIGRATION",
        help="Also time the pages with the endpoints schema migrated back to this migration (e.g. 0016_webhook_slots).",
    )
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]

    import django

    django.setup()
    from django.db import connections

    from endpoints.services.events import registry_events_purge
    from endpoints.services.indexing import endpoint_indexes_purge

    if args.reuse:
        bench_pages(sizes[0], args.requests)
        bench_registration(sizes[0], args.repeat, args.jobs)
        sizes = sizes[:1]
        if args.hourly:
            add_hourly_day()
            bench_pages(sizes[0], args.requests, label=" (hourly)")
    for number, size in enumerate([] if args.reuse else sizes, 1):
        print(f"{size} endpoints", flush=True)
        connections.close_all()
        recreate_database()
        seed(size, args.jobs, args.runs)
        vacuum()
        started = time.perf_counter()
        if args.compare_before:
            migrate(args.compare_before)
            bench_pages(size, args.requests, label=f" (schema at {args.compare_before[:4]})", first_view=False)
            migrate(None)
        bench_pages(size, args.requests)
        bench_registration(size, args.repeat, args.jobs)
        bench_sizes(size)
        bench_purge(size, "registry event", lambda: registry_events_purge(days=RETENTION_DAYS))
        bench_purge(size, "index run", lambda: endpoint_indexes_purge(days=RETENTION_DAYS))
        record(size, "bench (wall, after seeding)", f"{time.perf_counter() - started:.0f} s")
        if number < len(sizes) or not args.keep:
            drop_database()

    width = max(len(measure) for measure in TABLE)
    print()
    print(f"{'measure':{width}}  " + "  ".join(f"{size:>32,}" for size in sizes))
    for measure, figures in TABLE.items():
        print(f"{measure:{width}}  " + "  ".join(f"{figures.get(size, '-'):>32}" for size in sizes))


if __name__ == "__main__":
    main()
