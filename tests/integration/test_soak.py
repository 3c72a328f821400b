"""Time-travel soak: days of recurring indexes, sweeps and purges, in seconds.

No clock is faked: time "advances" by moving every timestamp of the index runs, each endpoint's
recurring slot (and the eta of every message held) back by one step. The broker is the real Redis
queue of this session; this test plays the worker's part: it takes every message off the queue,
holds it until its eta, then runs the real task with the message's own kwargs. Endpoints are real
HTTP servers on loopback: healthy, flapping (down every other 12 hours), always failing, and one
that went down after its first day (PRODUCTION: 7 attempts a run).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from django.conf import settings as django_settings
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from endpoints import tasks
from endpoints.models import Endpoint, EndpointIndex, IndexStatus
from kongflow.celery import app
from tests import factories
from tests.support.misbehaving import VALID_DOCUMENT, MisbehavingEndpoint
from tests.support.worker import assert_no_consumer, purge_queue

# This module starts (or plays) its own workers: no shared one (see conftest).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.own_workers]

# Two hours per step: longer than any retry backoff (5 min at most), so each attempt of a failing
# run takes one step; the recurring index, the sweeper and the purge run every step. The recurring
# interval is one step: an endpoint's slot is an offset into intervals of the real clock, which
# the steps move by whole intervals only when the two are equal.
STEP = timedelta(hours=2)
TIMESTAMPS = ("created_at", "updated_at", "run_at", "dispatched_at", "started_at", "finished_at", "heartbeat_at")


@dataclass
class Held:
    index_id: str
    attempt: int | None
    task_id: str
    eta: datetime | None


class TimeTravelBroker:
    def __init__(self) -> None:
        self.held: list[Held] = []
        self.sent: Counter[tuple[str, int | None]] = Counter()
        self.connection = app.connection_for_read()
        self.queue = self.connection.SimpleQueue(django_settings.KONGFLOW_INDEX_QUEUE, no_ack=True)

    def close(self) -> None:
        self.queue.close()
        self.connection.close()

    def drain(self) -> None:
        while True:
            try:
                message = self.queue.get_nowait()
            except self.queue.Empty:
                return
            kwargs = message.payload[1]
            eta = message.headers.get("eta")
            held = Held(kwargs["index_id"], kwargs.get("attempt"), message.headers["id"], None)
            held.eta = parse_datetime(eta) if eta else None
            self.held.append(held)
            self.sent[(held.index_id, held.attempt)] += 1

    def travel(self, delta: timedelta) -> None:
        EndpointIndex.objects.update(**{name: F(name) - delta for name in TIMESTAMPS})
        Endpoint.objects.update(recurring_index_at=F("recurring_index_at") - delta)
        for held in self.held:
            if held.eta is not None:
                held.eta -= delta

    def deliver_due(self) -> int:
        delivered = 0
        while True:
            self.drain()
            now = timezone.now()
            due = [held for held in self.held if held.eta is None or held.eta <= now]
            if not due:
                return delivered
            self.held = [held for held in self.held if held not in due]
            for held in due:
                tasks.perform_endpoint_index.apply(
                    kwargs={"index_id": held.index_id, "attempt": held.attempt}, task_id=held.task_id
                )
                delivered += 1


def test_a_week_of_recurring_indexes_stays_bounded_and_dispatches_once_per_attempt(settings):
    days = float(os.environ.get("KONGFLOW_SOAK_DAYS", "7"))
    settings.KONGFLOW_RECURRING_INDEX_MINUTES = 120
    settings.KONGFLOW_INDEX_RETENTION_DAYS = 2
    settings.ENDPOINTAPI_RETRIES = 0
    assert_no_consumer()
    purge_queue()
    step = 0

    def flapping(handler) -> None:
        if (step * STEP // timedelta(hours=12)) % 2:
            handler.json(503, {"message": "deploying"})
        else:
            handler.json(200, VALID_DOCUMENT)

    def went_down(handler) -> None:  # healthy on the first day only
        if step * STEP < timedelta(days=1):
            handler.json(200, VALID_DOCUMENT)
        else:
            handler.json(500, {"message": "gone"})

    broker = TimeTravelBroker()
    failing_runs: set[str] = set()
    started = time.monotonic()
    with MisbehavingEndpoint() as server:
        environment = factories.RuntimeEnvironmentFactory(env_type="PRODUCTION")
        endpoints = {
            name: factories.EndpointFactory(environment=environment, slug=name, url=server.route(f"/{name}", responder))
            for name, responder in {
                "healthy": lambda h: h.json(200, VALID_DOCUMENT),
                "flapping": flapping,
                "failing": lambda h: h.json(500, {"message": "always broken"}),
                "went-down": went_down,
            }.items()
        }
        for step in range(int(days * timedelta(days=1) / STEP)):  # noqa: B007 (read by the responders)
            broker.travel(STEP)
            broker.deliver_due()
            tasks.sweep_endpoint_indexes.apply()
            tasks.recurring_endpoint_indexing.apply()
            tasks.purge_old_endpoint_indexes.apply()
            broker.deliver_due()
            failing_runs.update(EndpointIndex.objects.filter(endpoint__slug="failing").values_list("id", flat=True))
    broker.close()
    elapsed = time.monotonic() - started

    rows = {name: EndpointIndex.objects.filter(endpoint=endpoint).count() for name, endpoint in endpoints.items()}
    runs = len({index_id for index_id, _ in broker.sent})
    messages = sum(broker.sent.values())
    print(
        f"\nsoak: {days:g} simulated days in {elapsed:.0f}s; rows per endpoint {rows} "
        f"(the failing one had {len(failing_runs)} runs in all); "
        f"{messages} messages for {runs} runs ({messages / runs:.2f} per run; "
        f"{broker.sent.most_common(1)[0][1]} at most per run and attempt)"
    )
    # bounded by retention: 2 days of runs every 2 hours, + the latest SUCCESS, + the run in progress, + purge lag
    bound = 2 * 12 + 3
    assert all(count <= bound for count in rows.values()), rows
    # the always-failing endpoint was indexed all along, and its old failures were purged (fix 1)
    assert len(failing_runs) > rows["failing"] > 0
    # no run is dispatched twice for one attempt
    assert broker.sent.most_common(1)[0][1] == 1
    # every endpoint's latest SUCCESS survives (the failing one never had one)
    for name in ("healthy", "flapping", "went-down"):
        assert EndpointIndex.objects.filter(endpoint=endpoints[name], status=IndexStatus.SUCCESS).exists(), name
    # ... including one far older than the retention, of the endpoint that went down on day 1
    kept = EndpointIndex.objects.get(endpoint=endpoints["went-down"], status=IndexStatus.SUCCESS)
    assert kept.created_at < timezone.now() - timedelta(days=days - 1.5)
    assert not EndpointIndex.objects.filter(status=IndexStatus.STARTED).exists()
