"""Benchmarks, one command, one table: indexing against its floor, hooks against `/healthz`, worker
throughput, and the recurring re-index of unchanged against changed documents.

    .venv/bin/python bench/run.py [--sizes 10,100,500,2000] [--repeat 3] [--only indexing,anchor,hooks,workers]

Everything runs on loopback against real processes: PostgreSQL (a database of its own,
`kongflow_bench_run_<checkout hash>`, recreated), Redis (broker database 13, a queue of its own), a
gunicorn web process, Celery workers and real SDK endpoints from the shared fixture. Figures are
medians of `--repeat` runs; every ratio compares figures taken in the same run. Loops are bounded.
Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import (
    REPO,
    configure,
    live_environment,
    ms,
    new_environment,
    percentile,
    recreate_database,
    sampling,
)

configure(
    "run",
    **live_environment("run"),
    # Measure the service, not its abuse limits (empty = off).
    KONGFLOW_THROTTLE_REGISTER="",
    KONGFLOW_THROTTLE_INDEX="",
    KONGFLOW_THROTTLE_HOOK="",
)
FINAL = ("SUCCESS", "FAILURE")
ROWS: list[tuple[str, str, str]] = []  # (section, measure, figure)


def row(section: str, measure: str, figure: str) -> None:
    ROWS.append((section, measure, figure))
    print(f"  {measure}: {figure}", flush=True)


def median(values: list[float]) -> float:
    return statistics.median(values)


@contextmanager
def process(args: list[str], **kwargs: Any) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def worker(concurrency: int) -> Any:
    return process(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "kongflow",
            "worker",
            "--concurrency",
            str(concurrency),
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--queues",
            ",".join(f"{os.environ['KONGFLOW_QUEUE_PREFIX']}.{kind}" for kind in ("index", "webhooks", "housekeeping")),
        ]
    )


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.05)


def new_endpoint(env: Any, slug: str, url: str, hook: str | None = None) -> Any:
    from endpoints.models import Endpoint

    return Endpoint.objects.create(
        environment=env,
        organization_id=env.organization_id,
        project_id=env.project_id,
        slug=slug,
        url=url,
        indexing_hook_identifier=hook,
    )


def register_endpoint(env: Any, slug: str, url: str) -> tuple[Any, str]:
    """An endpoint as users make one: registered (PING with the environment's key, upsert, which
    records the accepted key and the SDK's versions). Returns it and its registration's run, the
    endpoint's first index (INTERNAL); its message waits in the bench's queue, a no-op for a worker
    once this process has run it."""
    from endpoints.services.registration import endpoint_register

    registration = endpoint_register(environment=env, slug=slug, url=url)
    return registration.endpoint, registration.index.id


def index_once(endpoint: Any, index_id: str | None = None) -> tuple[float, int]:
    """One index in this process: (seconds, SQL statements). Runs `index_id` (a registration's
    PENDING run), else requests a MANUAL index first (not timed).

    Statements are counted by an execute wrapper, not Django's query log: the log formats every
    statement with its parameters (a 300 KB document quoted again in Python), which production
    never pays and which would be timed with the index."""
    from django.db import connection

    from endpoints.models import EndpointIndex, IndexSource, IndexStatus
    from endpoints.services.indexing import endpoint_index_request, endpoint_index_run

    if index_id is None:
        index_id = endpoint_index_request(endpoint=endpoint, source=IndexSource.MANUAL).id
    sent: list[str] = []

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        sent.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        started = time.perf_counter()
        endpoint_index_run(index_id=index_id)
        elapsed = time.perf_counter() - started
    status = EndpointIndex.objects.values_list("status", flat=True).get(id=index_id)
    assert status == IndexStatus.SUCCESS, status
    return elapsed, statements(sent)


def statements(sent: list[str]) -> int:
    """SQL statements sent, without transaction control (BEGIN/COMMIT are not sent through a cursor)."""
    control = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
    return sum(1 for sql in sent if not sql.lstrip().upper().startswith(control))


def fetch_and_parse(url: str, api_key: str) -> float:
    """The floor's first half: the INDEX_ENDPOINT round trip and `json.loads` of the answer."""
    import requests

    started = time.perf_counter()
    response = requests.post(
        url, headers={"x-trigger-api-key": api_key, "x-trigger-action": "INDEX_ENDPOINT"}, timeout=60
    )
    json.loads(response.content)
    return time.perf_counter() - started


# The rows one index of the `many` scenario writes, by table, in one organization.
COPY_SOURCES = {
    "endpoints_job": "project_id = %(project)s",
    "endpoints_jobversion": "environment_id = %(env)s",
    "endpoints_jobalias": "environment_id = %(env)s",
    "endpoints_jobintegration": "job_id IN (SELECT id FROM endpoints_job WHERE project_id = %(project)s)",
    "endpoints_eventexample": "job_version_id IN (SELECT id FROM endpoints_jobversion WHERE environment_id = %(env)s)",
    "endpoints_eventdispatcher": "environment_id = %(env)s",
    "endpoints_schedulesource": "environment_id = %(env)s",
    "endpoints_integration": "organization_id = %(org)s",
}


def copy_floor(env: Any) -> tuple[float, int]:
    """The floor's second half: COPY of the same rows into empty tables of the same shape, committed."""
    import psycopg

    params = {"env": env.id, "project": env.project_id, "org": env.organization_id}
    dumps: dict[str, bytes] = {}
    rows = 0
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        for table, where in COPY_SOURCES.items():
            query = psycopg.ClientCursor(conn).mogrify(f"SELECT * FROM {table} WHERE {where}", params)  # noqa: S608
            buffer = bytearray()
            with conn.cursor().copy(f"COPY ({query}) TO STDOUT") as copy:
                for chunk in copy:
                    buffer += chunk
            dumps[table] = bytes(buffer)
            rows += buffer.count(b"\n")
        for table in COPY_SOURCES:
            conn.execute(f"DROP TABLE IF EXISTS bench_copy_{table}")
            conn.execute(f"CREATE UNLOGGED TABLE bench_copy_{table} (LIKE {table} INCLUDING ALL)")
            conn.execute(f"ALTER TABLE bench_copy_{table} SET LOGGED")
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cursor:
            for table, data in dumps.items():
                with cursor.copy(f"COPY bench_copy_{table} FROM STDIN") as copy:
                    copy.write(data)
        conn.commit()
        elapsed = time.perf_counter() - started
        for table in COPY_SOURCES:
            conn.execute(f"DROP TABLE bench_copy_{table}")
        conn.commit()
    return elapsed, rows


def small_transaction() -> float:
    """One small transaction: BEGIN, an UPDATE of one row, COMMIT."""
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_small (id int PRIMARY KEY, n int)")
        cursor.execute("INSERT INTO bench_small VALUES (1, 0) ON CONFLICT DO NOTHING")
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE bench_small SET n = n + 1 WHERE id = 1")
    return time.perf_counter() - started


def bench_indexing(sizes: list[int], repeat: int) -> None:
    from tests.support.sdk import sdk_endpoint

    print("indexing (in-process, real SDK endpoint, scenario `many`)", flush=True)
    firsts: dict[int, float] = {}
    for jobs in sizes:
        env = new_environment()
        with sdk_endpoint(
            api_key=env.api_key, endpoint_id=f"many-{jobs}", scenario="many", extra_args=["--jobs", str(jobs)]
        ) as sdk:
            fetch_and_parse(sdk.url, env.api_key)  # warm-up
            first_t, repeat_t, first_q, repeat_q, floor_fp, floor_copy, floor_tx = [], [], [], [], [], [], []
            copied = 0
            for rep in range(repeat):
                run_env = env if rep == 0 else new_environment()
                if rep:
                    # The SDK only answers its own key: re-key the fresh environment to it.
                    api_key = env.api_key
                    env.api_key = f"{env.api_key}x{rep}"
                    env.save(update_fields=["api_key"])
                    run_env.api_key = api_key
                    run_env.save(update_fields=["api_key"])
                    env = run_env
                endpoint, registered = register_endpoint(run_env, f"many-{jobs}", sdk.url)
                seconds, queries = index_once(endpoint, registered)
                first_t.append(seconds)
                first_q.append(queries)
                seconds, queries = index_once(endpoint)
                repeat_t.append(seconds)
                repeat_q.append(queries)
                floor_fp.append(fetch_and_parse(sdk.url, run_env.api_key))
                seconds, copied = copy_floor(run_env)
                floor_copy.append(seconds)
                floor_tx.append(small_transaction())
        fp, cp, tx = median(floor_fp), median(floor_copy), median(floor_tx)
        first, again = median(first_t), median(repeat_t)
        firsts[jobs] = first
        section = f"index {jobs} jobs"
        print(section, flush=True)
        row(section, "floor: fetch + json.loads", ms(fp))
        row(section, f"floor: COPY of the same {copied} rows", ms(cp))
        row(section, "floor: one small transaction", ms(tx))
        row(
            section,
            "first index",
            f"{ms(first)}, {max(first_q)} queries, {first / (fp + cp):.2f}x (fetch + parse + COPY)",
        )
        row(
            section,
            "unchanged re-index",
            f"{ms(again)}, {max(repeat_q)} queries, {again / (fp + tx):.2f}x (fetch + parse + small tx)",
        )
    ordered = sorted(firsts)
    if len(ordered) >= 2:
        lo, hi = ordered[-2], ordered[-1]
        row(
            "growth",
            f"marginal cost per job ({lo} -> {hi} jobs, first index)",
            f"{(firsts[hi] - firsts[lo]) / (hi - lo) * 1000:.2f} ms",  # the goal is 0.3: two decimals
        )


def bench_emulation(jobs: int) -> None:
    from django.db import connection

    from bench.emulation import register_sequentially
    from endpoints.services.indexing.fetch import fetch_index
    from tests.support.sdk import sdk_endpoint

    print("anchor", flush=True)
    env = new_environment()
    with sdk_endpoint(
        api_key=env.api_key, endpoint_id="anchor", scenario="many", extra_args=["--jobs", str(jobs)]
    ) as sdk:
        endpoint = new_endpoint(env, "anchor", sdk.url)
        data = fetch_index(endpoint, record_key=False).data
        kongflow_env = new_environment()
        env.api_key, kongflow_env.api_key = f"{env.api_key}y", env.api_key
        env.save(update_fields=["api_key"])
        kongflow_env.save(update_fields=["api_key"])
        kongflow, _ = index_once(new_endpoint(kongflow_env, "anchor", sdk.url))
    statements = 0

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        started = time.perf_counter()
        register_sequentially(endpoint, data)
        elapsed = time.perf_counter() - started
    row(
        "anchor",
        f"EMULATION of per-job sequential upserts, {jobs} jobs (registry only, once)",
        f"{ms(elapsed)}, {statements} queries; Kongflow's whole first index: {ms(kongflow)} "
        f"({elapsed / kongflow:.1f}x faster)",
    )


def storm(url: str, total: int, concurrency: int, method: str = "GET") -> tuple[float, list[float], int]:
    """`total` requests from `concurrency` threads (keep-alive sessions): (req/s, latencies, errors)."""
    import requests

    local = threading.local()
    errors = 0
    lock = threading.Lock()

    def one(_: int) -> float:
        nonlocal errors
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        started = time.perf_counter()
        try:
            response = session.request(method, url, timeout=60, data=b"{}" if method == "POST" else None)
            ok = response.status_code < 400
        except requests.RequestException:
            ok = False
        if not ok:
            with lock:
                errors += 1
        return time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        latencies = list(pool.map(one, range(total)))
    return total / (time.perf_counter() - started), latencies, errors


def bench_hooks(api: str, total: int, concurrency: int) -> None:
    """Storms of `total` hooks for one endpoint against storms of /healthz: medians of three each
    (the run a storm made is finished before the next storm)."""
    from endpoints.models import EndpointIndex
    from tests.support.sdk import start_endpoint

    print("hooks", flush=True)
    env = new_environment()
    log = Path(tempfile.gettempdir()) / f"kongflow-bench-{os.getpid()}-requests.log"
    sdk = start_endpoint(
        api_key=env.api_key, endpoint_id="hooked", scenario="basic", extra_args=["--request-log", str(log)]
    )
    storms: list[tuple[float, list[float], int, int, int]] = []  # rate, latencies, errors, runs, fetches
    try:
        endpoint = new_endpoint(env, "hooked", sdk.url, hook="benchhook1")
        hook_url = f"{api}/api/v1/endpoints/{env.id}/hooked/index/benchhook1"
        runs = EndpointIndex.objects.filter(endpoint=endpoint)
        with worker(2):
            index_all([new_endpoint(env, "warm-up", sdk.url)])  # the worker is up before anything is timed
            storm(f"{api}/healthz", 100, concurrency)  # warm-up
            health_rate, health_lat, health_errors = median_storm(lambda: storm(f"{api}/healthz", total, concurrency))
            for _ in range(3):
                before, runs_before = len(log.read_text().splitlines()), runs.count()
                rate, latencies, errors = storm(hook_url, total, concurrency, method="POST")
                wait_until(lambda: not runs.exclude(status__in=FINAL).exists(), 120, "hook runs to finish")
                fetches = sum(1 for line in log.read_text().splitlines()[before:] if "INDEX_ENDPOINT" in line)
                storms.append((rate, latencies, errors, runs.count() - runs_before, fetches))
    finally:
        sdk.stop()
    hook_rate, hook_lat, _, hook_runs, hook_fetches = sorted(storms, key=lambda result: result[0])[1]
    section = f"{total} deploy hooks, {concurrency} concurrent clients, one endpoint"
    row(
        section,
        "/healthz (same concurrency)",
        f"{health_rate:.0f} req/s, p50 {ms(percentile(health_lat, 50))}, p99 {ms(percentile(health_lat, 99))}, "
        f"{health_errors} errors",
    )
    row(
        section,
        "hooks",
        f"{hook_rate:.0f} req/s ({hook_rate / health_rate:.0%} of /healthz), p50 {ms(percentile(hook_lat, 50))}, "
        f"p99 {ms(percentile(hook_lat, 99))}, {hook_runs} runs, {hook_fetches} fetches; all 3 storms: "
        f"{', '.join(f'{result[0] / health_rate:.0%}' for result in storms)} of /healthz, "
        f"{sum(result[2] for result in storms)} errors, at most {max(result[4] for result in storms)} fetches",
    )


def median_storm(run: Callable[[], tuple[float, list[float], int]]) -> tuple[float, list[float], int]:
    results = [run() for _ in range(3)]
    return sorted(results, key=lambda result: result[0])[1]


@contextmanager
def lock_wait_sampler() -> Iterator[list[list[str]]]:
    """Samples, every 20 ms, the statements of the bench database's backends waiting on a lock."""
    samples: list[list[str]] = []

    def sample(conn: Any) -> None:
        rows = conn.execute(
            "SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 60) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchall()
        samples.append([row[0] for row in rows])

    with sampling(sample):
        yield samples


def waits(samples: list[list[str]]) -> str:
    """How many samples saw a backend waiting on a lock, and on which statements."""
    waiting = [sample for sample in samples if sample]
    if not waiting:
        return f"samples with a backend waiting on a lock: 0/{len(samples)}"
    statements = sorted({statement for sample in waiting for statement in sample})
    return f"samples with a backend waiting on a lock: {len(waiting)}/{len(samples)} (on: {'; '.join(statements)})"


def index_all(endpoints: list[Any], timeout: float = 600) -> float:
    """Request an index of every endpoint at once; seconds until all are final (all must succeed)."""
    from endpoints.models import EndpointIndex, IndexSource, IndexStatus
    from endpoints.services.indexing import endpoint_index_request

    started = time.perf_counter()
    ids = [endpoint_index_request(endpoint=endpoint, source=IndexSource.MANUAL).id for endpoint in endpoints]
    runs = EndpointIndex.objects.filter(id__in=ids)
    wait_until(lambda: not runs.exclude(status__in=FINAL).exists(), timeout, "indexes to finish")
    elapsed = time.perf_counter() - started
    failed = runs.exclude(status=IndexStatus.SUCCESS).count()
    assert failed == 0, f"{failed} runs did not succeed"
    return elapsed


def bench_workers(template: dict[str, Any], endpoints: int, reindexed: int) -> None:
    from bench.docserver import DocumentServer, renamed

    print("workers", flush=True)
    with DocumentServer() as server:
        # One organization for all endpoints (they share its registry generation row and their
        # environment's event sequence row), then one organization per endpoint.
        for processes, shared in ((1, True), (2, True), (2, False)):
            env = new_environment()
            targets = []
            for k in range(endpoints):
                name = f"w{processes}{'s' if shared else 'o'}-{k}"
                server.documents[name] = renamed(template, name, "1.0.0")
                targets.append(new_endpoint(env if shared else new_environment(), name, f"{server.url}/{name}"))
            with worker(processes):
                index_all(targets[:1])  # the worker is up
                with lock_wait_sampler() as samples:
                    elapsed = index_all(targets[1:])
            jobs = len(template["jobs"])
            row(
                f"worker throughput, {endpoints - 1} endpoints x {jobs} jobs (first indexes)",
                f"{processes} process{'es' if processes > 1 else ''}, "
                + ("one organization" if shared else "one organization per endpoint"),
                f"{(endpoints - 1) / elapsed:.1f} idx/s; {waits(samples)}",
            )

        env = new_environment()
        targets = []
        for k in range(reindexed):
            name = f"r-{k}"
            server.documents[name] = renamed(template, name, "1.0.0")
            targets.append(new_endpoint(env, name, f"{server.url}/{name}"))
        with worker(2):
            index_all(targets)
            unchanged = [index_all(targets) for _ in range(2)]
            changed = []
            for version in ("1.1.0", "1.0.0"):
                for k in range(reindexed):
                    server.documents[f"r-{k}"] = renamed(template, f"r-{k}", version)
                changed.append(index_all(targets))
        section = f"recurring re-index of {reindexed} endpoints x {len(template['jobs'])} jobs, 2 worker processes"
        row(section, "documents unchanged", f"{median(unchanged):.2f} s ({reindexed / median(unchanged):.1f} idx/s)")
        row(
            section,
            "documents changed (every job's version)",
            f"{median(changed):.2f} s ({reindexed / median(changed):.1f} idx/s); "
            f"unchanged is {median(changed) / median(unchanged):.1f}x cheaper",
        )


def template_document(jobs: int) -> dict[str, Any]:
    from tests.support.sdk import sdk_endpoint

    env = new_environment()
    with sdk_endpoint(
        api_key=env.api_key, endpoint_id="template", scenario="many", extra_args=["--jobs", str(jobs)]
    ) as sdk:
        import requests

        response = requests.post(
            sdk.url, headers={"x-trigger-api-key": env.api_key, "x-trigger-action": "INDEX_ENDPOINT"}, timeout=60
        )
        return dict(response.json())


def print_table() -> None:
    print()
    print("| section | measure | figure |")
    print("|---|---|---|")
    for section, measure, figure in ROWS:
        print(f"| {section} | {measure} | {figure} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10,100,500,2000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--hooks", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--endpoints", type=int, default=100)
    parser.add_argument("--reindexed", type=int, default=200)
    parser.add_argument("--only", default="indexing,anchor,hooks,workers")
    args = parser.parse_args()
    parts = set(args.only.split(","))

    recreate_database()
    import django

    django.setup()
    import requests

    from tests.support.web import free_port

    port = free_port()
    api = f"http://127.0.0.1:{port}"
    # The default shape: the repo's gunicorn.conf.py (processes, threads, a pool per process).
    gunicorn = [sys.executable, "-m", "gunicorn", "kongflow.wsgi", "--bind", f"127.0.0.1:{port}"]
    with process(gunicorn):
        for _ in range(200):
            try:
                requests.get(f"{api}/healthz", timeout=2)
                break
            except requests.RequestException:
                time.sleep(0.1)
        print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start (shared machine)")
        if "indexing" in parts:
            bench_indexing([int(size) for size in args.sizes.split(",")], args.repeat)
        if "anchor" in parts:
            bench_emulation(500)
        if "hooks" in parts:
            bench_hooks(api, args.hooks, args.concurrency)
        if "workers" in parts:
            bench_workers(template_document(20), args.endpoints + 1, args.reindexed)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    print_table()


if __name__ == "__main__":
    main()
