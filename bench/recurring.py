"""The recurring index at scale: re-indexing N unchanged endpoints with 1, 2 and 4 worker processes.

    .venv/bin/python bench/recurring.py [--endpoints 10000] [--jobs 3] [--processes 1,2,4] [--reuse]

Real parts on loopback: PostgreSQL (a database of its own, `kongflow_bench_recurring_<checkout hash>`,
recreated), Redis (broker database 13, queues of its own), Celery workers, and a document server
(bench/docserver.py) answering each endpoint with its own document, taken once from the real SDK
fixture. The endpoints (one PRODUCTION environment) are seeded in bulk, then indexed once and once
more (the registry settles: after that every index is of an unchanged document). Each measured
pass makes every endpoint due and plays beat: a tick (`endpoints_recurring_index`) every second,
with the batch and backlog below, until every endpoint has been re-indexed. Figures per pass: idx/s
(runs / time from the first tick to the last finish), queue wait (claimed - sent) p50 and p95, and
the median tick. Prints figures; asserts only that every run succeeded.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import run as base  # configures run's environment, which we adjust below
from bench.common import configure, live_environment, new_environment, percentile, recreate_database

TICK_SECONDS = 1.0
configure(
    "recurring",
    **live_environment("recurring"),
    KONGFLOW_RECURRING_INDEX_BATCH="500",
    KONGFLOW_RECURRING_INDEX_MAX_BACKLOG="200",
    # A year: an endpoint's next slot (anywhere in the interval) almost never comes up during a
    # pass; one that does is indexed again, and the pass still counts each endpoint once.
    KONGFLOW_RECURRING_INDEX_MINUTES=str(365 * 24 * 60),
)


def seed(env: Any, server: Any, template: dict[str, Any], count: int, *, reuse: bool) -> None:
    """`count` endpoints (e0, e1, …) and their documents; with `reuse`, the documents only."""
    from django.db.models import Value
    from django.db.models.functions import Concat

    from bench.docserver import renamed
    from endpoints.models import Endpoint

    endpoints = []
    for k in range(count):
        name = f"e{k}"
        server.documents[name] = renamed(template, name, "1.0.0")
        if reuse:
            continue
        endpoints.append(
            Endpoint(
                environment=env,
                organization_id=env.organization_id,
                project_id=env.project_id,
                slug=name,
                url=f"{server.url}/{name}",
            )
        )
    Endpoint.objects.bulk_create(endpoints, batch_size=1000)
    if reuse:  # the document server listens on a new port
        Endpoint.objects.update(url=Concat(Value(f"{server.url}/"), "slug"))


def reindex_all(count: int, processes: int) -> dict[str, Any]:
    """Every endpoint due now; ticks every second until each has a finished run of this pass."""
    from django.db.models import F
    from django.utils import timezone

    from endpoints.models import Endpoint, EndpointIndex, IndexStatus, Organization
    from endpoints.services.indexing import endpoints_recurring_index

    Endpoint.objects.update(recurring_index_at=timezone.now() - timedelta(hours=1))
    generation = Organization.objects.values_list("registry_generation", flat=True)
    generation_before = sorted(generation)
    ticks: list[float] = []
    with base.worker(processes):
        time.sleep(3)  # the worker connects (its first task would otherwise wait for it)
        started = timezone.now()
        runs = EndpointIndex.objects.filter(created_at__gte=started)
        while True:
            began = time.perf_counter()
            endpoints_recurring_index()
            ticks.append(time.perf_counter() - began)
            done = runs.filter(status__in=base.FINAL).values("endpoint_id").distinct().count()
            if done >= count and not runs.exclude(status__in=base.FINAL).exists():
                break
            time.sleep(max(0.0, TICK_SECONDS - (time.perf_counter() - began)))
    failed = runs.exclude(status=IndexStatus.SUCCESS).count()
    assert failed == 0, f"{failed} runs did not succeed"
    assert runs.values("endpoint_id").distinct().count() == count
    last = runs.order_by("-finished_at").values_list("finished_at", flat=True).first()
    assert last is not None
    elapsed = (last - started).total_seconds()
    waits = [
        w.total_seconds()
        for w in runs.annotate(wait=F("started_at") - F("dispatched_at")).values_list("wait", flat=True)
        if w is not None
    ]
    return {
        "processes": processes,
        "runs": runs.count(),  # a few more than the endpoints when a slot came up during the pass
        "seconds": elapsed,
        "rate": count / elapsed,
        "wait_p50": statistics.median(waits) if waits else float("nan"),
        "wait_p95": percentile(waits, 95) if waits else float("nan"),
        "tick_median": statistics.median(ticks),
        "registry_unchanged": sorted(generation) == generation_before,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoints", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=3)
    parser.add_argument("--processes", default="1,2,4")
    parser.add_argument("--project", type=int, default=100_000, help="endpoints of the projected cycle")
    parser.add_argument("--reuse", action="store_true", help="keep the seeded database of an earlier run")
    args = parser.parse_args()

    if not args.reuse:
        recreate_database()
    import django

    django.setup()
    from django.conf import settings

    from bench.docserver import DocumentServer

    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start (shared machine)")
    template = base.template_document(args.jobs)
    env = new_environment()
    with DocumentServer() as server:
        began = time.perf_counter()
        seed(env, server, template, args.endpoints, reuse=args.reuse)
        print(f"seeded {args.endpoints} endpoints in {time.perf_counter() - began:.1f} s", flush=True)
        passes = ["first re-index (the registry settles)"] if args.reuse else ["first index", "first re-index"]
        for what in passes:
            result = reindex_all(args.endpoints, 4)
            print(f"{what}, 4 processes: {result['rate']:.1f} idx/s", flush=True)
        results = []
        for processes in (int(p) for p in args.processes.split(",")):
            result = reindex_all(args.endpoints, processes)
            results.append(result)
            print(
                f"{processes} process(es): {result['rate']:.1f} idx/s, queue wait p50 {result['wait_p50']:.2f} s "
                f"p95 {result['wait_p95']:.2f} s, tick {result['tick_median'] * 1000:.0f} ms, "
                f"registry unchanged: {result['registry_unchanged']}",
                flush=True,
            )
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    print()
    print(
        f"re-indexing {args.endpoints:,} unchanged endpoints x {args.jobs} jobs; ticks every {TICK_SECONDS:g} s, "
        f"batch {settings.KONGFLOW_RECURRING_INDEX_BATCH}, max backlog {settings.KONGFLOW_RECURRING_INDEX_MAX_BACKLOG}"
    )
    print()
    print(f"| worker processes | idx/s | queue wait p50 | queue wait p95 | median tick | cycle of {args.project:,} |")
    print("|---|---|---|---|---|---|")
    for r in results:
        cycle = args.project / r["rate"]
        print(
            f"| {r['processes']} | {r['rate']:.1f} | {r['wait_p50']:.2f} s | {r['wait_p95']:.2f} s "
            f"| {r['tick_median'] * 1000:.0f} ms | {cycle / 60:.0f} min |"
        )


if __name__ == "__main__":
    main()
