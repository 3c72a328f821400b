"""The recurring index: due endpoints spread over the interval, at most a batch a tick, fewer when
the index queue is deep; two ticks at once never take the same endpoint."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from endpoints.models import Endpoint, EndpointIndex, EnvironmentType, IndexSource, IndexStatus
from endpoints.services.indexing import endpoints_recurring_index, index_backlog, recurring_slot
from endpoints.services.indexing.recurring import RECURRING_REASON
from tests import factories

INTERVAL = timedelta(minutes=10)


def ago(**kwargs):
    return timezone.now() - timedelta(**kwargs)


def due_endpoints(environment, count, *, since=None):
    """`count` endpoints, due for a while, the first one the longest."""
    endpoints = [factories.EndpointFactory(environment=environment) for _ in range(count)]
    for k, endpoint in enumerate(endpoints):
        Endpoint.objects.filter(id=endpoint.id).update(
            recurring_index_at=(since or ago(hours=1)) + timedelta(seconds=k)
        )
    return [e.id for e in endpoints]


def offset(when, interval=INTERVAL):
    """Where in its interval (counted from the Unix epoch) a time falls."""
    ms = int(when.timestamp() * 1000)
    return ms % int(interval.total_seconds() * 1000)


@pytest.fixture
def recurring(settings):
    settings.KONGFLOW_RECURRING_INDEX_MINUTES = 10
    settings.KONGFLOW_RECURRING_INDEX_BATCH = 500
    settings.KONGFLOW_RECURRING_INDEX_MAX_BACKLOG = 1000
    return settings


@pytest.mark.parametrize(
    ("env_type", "recurring_env"),
    [
        (EnvironmentType.PRODUCTION, True),
        (EnvironmentType.STAGING, True),
        (EnvironmentType.DEVELOPMENT, False),
        (EnvironmentType.PREVIEW, False),
    ],
)
def test_a_new_endpoint_is_due_at_once_and_only_production_and_staging_stay_scheduled(
    db, recurring, env_type, recurring_env
):
    endpoint = factories.EndpointFactory(environment=factories.RuntimeEnvironmentFactory(env_type=env_type))
    tick = endpoints_recurring_index()
    endpoint.refresh_from_db()
    if recurring_env:
        assert tick.requested == [endpoint.id]
        assert endpoint.indexings.get().reason == RECURRING_REASON
        assert timezone.now() < endpoint.recurring_index_at <= timezone.now() + INTERVAL
    else:
        assert tick.unscheduled == [endpoint.id] and not endpoint.indexings.exists()
        assert endpoint.recurring_index_at is None
    assert endpoints_recurring_index().requested == []  # the next tick: nothing is due


def test_recently_indexed_endpoints_wait_for_their_next_slot_and_deleted_ones_leave(prod_environment, recurring):
    recent, deleted, stale, recurred = (factories.EndpointFactory(environment=prod_environment) for _ in range(4))
    factories.EndpointIndexFactory(endpoint=recent, status=IndexStatus.SUCCESS, source=IndexSource.HOOK)
    old = factories.EndpointIndexFactory(endpoint=stale, status=IndexStatus.SUCCESS)
    EndpointIndex.objects.filter(id=old.id).update(created_at=ago(minutes=11))
    # The recurring index's own run a minute ago does not count as a recent index.
    factories.EndpointIndexFactory(
        endpoint=recurred, status=IndexStatus.SUCCESS, source=IndexSource.INTERNAL, reason=RECURRING_REASON
    )
    Endpoint.objects.filter(id=deleted.id).update(url=None)

    tick = endpoints_recurring_index()
    assert sorted(tick.requested) == sorted([stale.id, recurred.id])
    assert tick.recent == [recent.id] and tick.unscheduled == [deleted.id]
    assert recent.indexings.count() == 1 and not deleted.indexings.exists()
    recent.refresh_from_db()
    assert recent.recurring_index_at > timezone.now()
    assert Endpoint.objects.get(id=deleted.id).recurring_index_at is None


def test_registering_a_deleted_endpoint_again_puts_it_back_on_the_schedule(prod_environment, recurring):
    from endpoints.services.registration import _endpoint_upsert

    endpoint = factories.EndpointFactory(environment=prod_environment)

    def register(url: str) -> None:
        _endpoint_upsert(
            environment=prod_environment, slug=endpoint.slug, url=url, version=None, sdk_version=None, key_hash="k"
        )

    Endpoint.objects.filter(id=endpoint.id).update(url=None, recurring_index_at=None)
    register("http://127.0.0.1:9/x")
    back = Endpoint.objects.get(id=endpoint.id).recurring_index_at
    assert back is not None and back <= timezone.now()
    # a live endpoint registering again keeps its slot
    Endpoint.objects.filter(id=endpoint.id).update(recurring_index_at=timezone.now() + INTERVAL)
    register("http://127.0.0.1:9/y")
    assert Endpoint.objects.get(id=endpoint.id).recurring_index_at > timezone.now()


def test_a_slot_is_a_stable_per_endpoint_offset_into_each_interval():
    now = timezone.now()
    ids = [f"endpoint-{k}" for k in range(400)]
    slots = {i: recurring_slot(endpoint_id=i, after=now, interval=INTERVAL) for i in ids}
    for endpoint_id, slot in slots.items():
        assert now < slot <= now + INTERVAL
        later = recurring_slot(endpoint_id=endpoint_id, after=slot, interval=INTERVAL)
        assert later - slot == INTERVAL  # the same offset, one interval on
        assert (
            recurring_slot(endpoint_id=endpoint_id, after=now + 3 * INTERVAL, interval=INTERVAL) == slot + 3 * INTERVAL
        )
    # spread over the interval: every tenth of it holds some of the 400 endpoints' slots
    tenths = {offset(slot) * 10 // int(INTERVAL.total_seconds() * 1000) for slot in slots.values()}
    assert tenths == set(range(10))


def test_a_tick_takes_at_most_a_batch_the_longest_due_first_and_the_next_tick_goes_on(prod_environment, recurring):
    due = due_endpoints(prod_environment, 25)
    recurring.KONGFLOW_RECURRING_INDEX_BATCH = 10
    taken = []
    for expected in (due[:10], due[10:20], due[20:]):
        tick = endpoints_recurring_index()
        assert tick.requested == expected  # in due order, never more than the batch
        taken += tick.requested
    assert endpoints_recurring_index().requested == []
    assert len(set(taken)) == 25
    assert EndpointIndex.objects.filter(status=IndexStatus.PENDING).count() == 25
    # each taken endpoint now waits for its own slot, spread over the next interval
    now = timezone.now()
    for endpoint in Endpoint.objects.filter(id__in=due):
        assert now < endpoint.recurring_index_at <= now + INTERVAL
        slot = endpoint.recurring_index_at  # its own offset into the interval
        assert recurring_slot(endpoint_id=endpoint.id, after=slot - INTERVAL, interval=INTERVAL) == slot
    assert len({e.recurring_index_at for e in Endpoint.objects.filter(id__in=due)}) == 25


def test_spread_endpoints_come_due_a_few_at_a_time(prod_environment, recurring):
    """Placed at their slots, 200 endpoints come due over the interval, not at one tick."""
    ids = due_endpoints(prod_environment, 200)
    assert len(endpoints_recurring_index().requested) == 200  # all overdue: one batch (500)
    EndpointIndex.objects.update(status=IndexStatus.SUCCESS, created_at=ago(minutes=11))
    slots = sorted(Endpoint.objects.filter(id__in=ids).values_list("recurring_index_at", flat=True))
    # ticks every 10 s over the next interval (from a little before now: the slots were placed
    # after the tick's own now, a moment ago): no tick finds more than a few of them due
    start = timezone.now()
    per_tick = [
        sum(1 for s in slots if start + timedelta(seconds=t - 10) < s <= start + timedelta(seconds=t))
        for t in range(0, 610, 10)
    ]
    assert sum(per_tick) == 200 and max(per_tick) <= 15


def test_a_deep_index_queue_makes_a_tick_take_fewer_and_a_full_one_none(prod_environment, recurring):
    recurring.KONGFLOW_RECURRING_INDEX_BATCH = 10
    recurring.KONGFLOW_RECURRING_INDEX_MAX_BACKLOG = 15
    due = due_endpoints(prod_environment, 30)

    def backlog(count):
        """`count` runs of other endpoints sent to the queue and not started."""
        EndpointIndex.objects.filter(endpoint__slug__startswith="queued-").delete()
        for k in range(count):
            other = factories.EndpointFactory(slug=f"queued-{k}", recurring_index_at=None)
            run = factories.EndpointIndexFactory(endpoint=other, run_at=ago(seconds=5))
            EndpointIndex.objects.filter(id=run.id).update(dispatched_at=ago(seconds=5))

    backlog(8)
    assert index_backlog(limit=100) == 8
    tick = endpoints_recurring_index()
    assert tick.backlog == 8 and tick.requested == due[:7]  # 15 - 8
    backlog(15)
    tick = endpoints_recurring_index()
    assert tick.requested == [] and tick.backlog == 15
    assert Endpoint.objects.filter(id__in=due[7:], recurring_index_at__lte=timezone.now()).count() == 23  # still due
    backlog(0)
    assert endpoints_recurring_index().requested == due[7:17]


def test_the_backlog_counts_sent_due_pending_runs_only(prod_environment):
    def run(**fields):
        index = factories.EndpointIndexFactory(endpoint=factories.EndpointFactory(environment=prod_environment))
        EndpointIndex.objects.filter(id=index.id).update(**fields)

    run(dispatched_at=ago(seconds=1), run_at=ago(seconds=1))  # waiting in the queue
    run(dispatched_at=ago(seconds=1), run_at=None)  # waiting in the queue
    run(dispatched_at=None, run_at=ago(seconds=1))  # not sent
    run(dispatched_at=ago(seconds=1), run_at=timezone.now() + timedelta(minutes=2))  # a retry's backoff
    run(dispatched_at=ago(seconds=1), status=IndexStatus.STARTED)  # a worker has it
    assert index_backlog(limit=100) == 2
    assert index_backlog(limit=1) == 1


@pytest.mark.django_db(transaction=True)
def test_two_ticks_at_once_take_different_endpoints(recurring):
    environment = factories.RuntimeEnvironmentFactory(env_type=EnvironmentType.PRODUCTION)
    due = due_endpoints(environment, 60)
    recurring.KONGFLOW_RECURRING_INDEX_BATCH = 40
    barrier = threading.Barrier(2)
    ticks = []

    def tick():
        try:
            barrier.wait()
            ticks.append(endpoints_recurring_index())
        finally:
            connection.close()

    threads = [threading.Thread(target=tick) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    first, second = (set(t.requested) for t in ticks)
    assert not first & second
    assert first | second == set(due)  # 40 + 20: one locked a batch, the other took the rest
    assert EndpointIndex.objects.filter(endpoint_id__in=due).count() == 60


@pytest.mark.django_db(transaction=True)
def test_a_tick_reads_a_batch_through_the_partial_index_on_a_large_table():
    """On 50,000 endpoints, most not due and a few thousand off the schedule, a tick's query is an
    index scan of the partial index that stops after the batch: no scan of the table."""
    environment = factories.RuntimeEnvironmentFactory(env_type=EnvironmentType.PRODUCTION)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO endpoints_endpoint (id, slug, url, environment_id, organization_id, project_id,
                version, sdk_version, run_chunk_execution_limit, start_task_threshold,
                before_execute_task_threshold, before_complete_task_threshold, after_complete_task_threshold,
                health, consecutive_failures, created_at, updated_at, recurring_index_at)
            SELECT 'bulk' || n, 'bulk-' || n, 'http://127.0.0.1:9/' || n, %s, %s, %s, 'unknown', 'unknown',
                60000, 750, 1500, 750, 750, 'NEVER_INDEXED', 0, now(), now(),
                CASE WHEN n %% 10 = 0 THEN NULL
                     ELSE now() + (n %% 600) * interval '1 second' - interval '30 seconds' END
            FROM generate_series(1, 50000) AS n
            """,
            [environment.id, environment.organization_id, environment.project_id],
        )
        cursor.execute("ANALYZE endpoints_endpoint")
    query = (
        Endpoint.objects.filter(recurring_index_at__lte=timezone.now())
        .order_by("recurring_index_at")
        .select_related("environment")[:500]
    )
    plan = query.explain()
    assert "endpoint_recurring_due" in plan, plan
    assert "Seq Scan on endpoints_endpoint" not in plan, plan
