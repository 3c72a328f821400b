"""Benchmarks of registry events: outbox cost inside a transaction, sequence allocation under
concurrency, webhook delivery throughput to a loopback receiver, and pull API pages.

In-process against a fresh PostgreSQL database of its own (named after this checkout); prints
figures and asserts nothing about time.

    .venv/bin/python bench/events.py [--events 500]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import configure, ms, recreate_database

configure("events", CELERY_BROKER_URL="memory://")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=500)
    args = parser.parse_args()
    recreate_database(migrate=False)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, connections, transaction
    from django.test.utils import CaptureQueriesContext

    call_command("migrate", verbosity=0)
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["*"]
    from endpoints.models import WebhookSubscription
    from endpoints.services.events import NewEvent, events_record, subscription_create, subscription_drain
    from tests import factories
    from tests.support.receiver import Receiver

    def record(environment: Any, n: int) -> None:
        with transaction.atomic():
            events_record(environment=environment, events=[NewEvent("job.added", {"i": i}) for i in range(n)])

    # 1. outbox cost per transaction, by subscriptions that want the event
    print("outbox: one transaction recording 1 / 100 events")
    for subscriptions in (0, 1, 5):
        environment = factories.RuntimeEnvironmentFactory.create()
        for _ in range(subscriptions):
            subscription_create(environment=environment, url="http://127.0.0.1:9/", events=["*"])
        record(environment, 1)  # warm up
        for n in (1, 100):
            durations = []
            for _ in range(20):
                started = time.perf_counter()
                with CaptureQueriesContext(connection) as queries:
                    record(environment, n)
                durations.append(time.perf_counter() - started)
            print(
                f"  {subscriptions} subscription(s), {n:>3} event(s): p50 {ms(statistics.median(durations))}, "
                f"{len(queries)} SQL queries"
            )

    # 2. sequence allocation: 4 threads, one environment (serialised by the counter lock) vs four
    def hammer(environments: list[Any], per_thread: int) -> float:
        def work(environment: Any) -> None:
            for _ in range(per_thread):
                record(environment, 1)
            connections.close_all()

        threads = [threading.Thread(target=work, args=(env,)) for env in environments]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return len(environments) * per_thread / (time.perf_counter() - started)

    shared = factories.RuntimeEnvironmentFactory.create()
    separate = [factories.RuntimeEnvironmentFactory.create() for _ in range(4)]
    print("sequence allocation, 4 threads x 200 transactions of 1 event")
    print(f"  same environment:   {hammer([shared] * 4, 200):.0f} tx/s")
    print(f"  four environments:  {hammer(separate, 200):.0f} tx/s")

    # 3. delivery throughput to a loopback receiver (in-process drain, one subscription)
    settings.KONGFLOW_WEBHOOK_DRAIN_BUDGET_SECONDS = 600
    with Receiver() as receiver:
        environment = factories.RuntimeEnvironmentFactory.create()
        subscription = subscription_create(environment=environment, url=receiver.url, events=["*"])
        record(environment, args.events)
        started = time.perf_counter()
        result = subscription_drain(subscription_id=subscription.id)
        elapsed = time.perf_counter() - started
        assert result.delivered == args.events == len(receiver.events())
        attempts = list(
            WebhookSubscription.objects.get(id=subscription.id).deliveries.values_list(
                "attempt_rows__duration_ms", flat=True
            )
        )
    print(
        f"delivery: {args.events} events, one subscription, in order: {args.events / elapsed:.0f} deliveries/s, "
        f"attempt p50 {statistics.median(attempts)} ms, p95 {sorted(attempts)[int(len(attempts) * 0.95)]} ms"
    )

    # 4. the pull API
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Bearer {environment.api_key}")
    durations, after, pages = [], 0, 0
    while True:
        started = time.perf_counter()
        body = client.get(f"/api/v1/registry-events?after={after}&limit=100").json()
        durations.append(time.perf_counter() - started)
        after, pages = body["next"], pages + 1
        if not body["hasMore"]:
            break
    print(f"pull API: {pages} pages of 100 events, p50 {ms(statistics.median(durations))} per page")


if __name__ == "__main__":
    main()
