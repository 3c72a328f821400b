"""Sweeper (lost dispatches, dead workers) and retention (the recurring index: test_recurring_index)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from endpoints.models import EndpointIndex, IndexStatus
from endpoints.services.indexing import (
    broker_epoch,
    endpoint_indexes_purge,
    endpoint_indexes_sweep,
)
from tests import factories


def ago(**kwargs):
    return timezone.now() - timedelta(**kwargs)


def test_sweeper_sends_pending_runs_whose_message_was_never_sent(endpoint, settings):
    settings.KONGFLOW_SWEEP_PENDING_AFTER_SECONDS = 10
    unsent = factories.EndpointIndexFactory(endpoint=endpoint, run_at=ago(minutes=5), dispatched_at=None)
    fresh = factories.EndpointIndexFactory(endpoint=factories.EndpointFactory(), run_at=timezone.now())
    result = endpoint_indexes_sweep()
    assert result.redispatched == [unsent.id]
    unsent.refresh_from_db()
    assert unsent.dispatched_at is not None and unsent.dispatches == 1 and unsent.dispatch_epoch
    # in flight now: not again on the next sweep
    assert endpoint_indexes_sweep().redispatched == []
    assert fresh.id not in result.redispatched


def test_sweeper_leaves_a_run_waiting_out_its_backoff_alone(prod_environment, settings):
    """Fix 2: a retry whose message waits for its `run_at` gets no new message at every sweep."""
    settings.KONGFLOW_SWEEP_PENDING_AFTER_SECONDS = 10
    endpoint = factories.EndpointFactory(environment=prod_environment)
    backoff = factories.EndpointIndexFactory(
        endpoint=endpoint, attempts=3, run_at=timezone.now() + timedelta(minutes=4), dispatched_at=None
    )
    EndpointIndex.objects.filter(id=backoff.id).update(dispatched_at=ago(minutes=5), dispatch_epoch=broker_epoch())
    for _ in range(3):
        assert endpoint_indexes_sweep().redispatched == []
    assert EndpointIndex.objects.get(id=backoff.id).dispatches == 0


def test_sweeper_does_not_feed_a_backlog(endpoint, settings):
    """Fix 2: a message that sits in a queue backlog for longer than any cutoff is not sent again."""
    settings.KONGFLOW_SWEEP_PENDING_AFTER_SECONDS = 10
    queued = factories.EndpointIndexFactory(endpoint=endpoint, run_at=ago(minutes=30))
    EndpointIndex.objects.filter(id=queued.id).update(
        dispatched_at=ago(minutes=30), dispatches=1, dispatch_epoch=broker_epoch(cached=False)
    )
    assert endpoint_indexes_sweep().redispatched == []
    assert EndpointIndex.objects.get(id=queued.id).dispatches == 1


def test_sweeper_resends_messages_lost_with_the_broker(endpoint, settings):
    """A message sent on a broker epoch that is gone (Redis restarted empty) is sent again, once."""
    settings.KONGFLOW_SWEEP_PENDING_AFTER_SECONDS = 10
    lost = factories.EndpointIndexFactory(endpoint=endpoint, run_at=ago(minutes=1))
    EndpointIndex.objects.filter(id=lost.id).update(
        dispatched_at=ago(minutes=1), dispatches=1, dispatch_epoch="an-epoch-before-the-restart"
    )
    assert endpoint_indexes_sweep().redispatched == [lost.id]
    assert endpoint_indexes_sweep().redispatched == []
    assert EndpointIndex.objects.get(id=lost.id).dispatches == 2


def test_sweeper_recovers_a_started_run_whose_lease_expired(prod_environment, settings):
    settings.KONGFLOW_INDEX_LEASE_SECONDS = 40
    endpoint = factories.EndpointFactory(environment=prod_environment)
    orphan = factories.EndpointIndexFactory(
        endpoint=endpoint, status=IndexStatus.STARTED, attempts=1, started_at=ago(minutes=10)
    )
    EndpointIndex.objects.filter(id=orphan.id).update(heartbeat_at=ago(seconds=41), worker="gone:1")
    result = endpoint_indexes_sweep()
    assert result.recovered == [orphan.id]
    orphan.refresh_from_db()
    assert orphan.status == IndexStatus.PENDING
    assert orphan.error["code"] == "WORKER_LOST"
    assert orphan.worker is None and orphan.heartbeat_at is None


def test_sweeper_never_takes_over_a_long_run_whose_heartbeat_is_fresh(prod_environment, settings):
    """Fix 4: age does not matter, the heartbeat does (a slow but alive fetch keeps its run)."""
    settings.KONGFLOW_INDEX_LEASE_SECONDS = 40
    endpoint = factories.EndpointFactory(environment=prod_environment)
    slow = factories.EndpointIndexFactory(
        endpoint=endpoint, status=IndexStatus.STARTED, attempts=1, started_at=ago(minutes=4)
    )
    EndpointIndex.objects.filter(id=slow.id).update(heartbeat_at=ago(seconds=20))
    assert not endpoint_indexes_sweep().recovered
    assert EndpointIndex.objects.get(id=slow.id).status == IndexStatus.STARTED


def test_a_dead_workers_run_is_recovered_within_a_minute_by_default(prod_environment):
    """Fix 4: with default settings a run whose worker died 60 s ago (last beat then) is recovered,
    where the old rule waited for the task time limit + 60 s (6 minutes)."""
    endpoint = factories.EndpointFactory(environment=prod_environment)
    orphan = factories.EndpointIndexFactory(
        endpoint=endpoint, status=IndexStatus.STARTED, attempts=1, started_at=ago(seconds=60)
    )
    EndpointIndex.objects.filter(id=orphan.id).update(heartbeat_at=ago(seconds=60))
    assert endpoint_indexes_sweep().recovered == [orphan.id]


def test_sweeper_gives_up_after_the_attempts_run_out(endpoint, settings):
    orphan = factories.EndpointIndexFactory(
        endpoint=endpoint, status=IndexStatus.STARTED, attempts=3, max_attempts=1, started_at=ago(hours=1)
    )
    assert endpoint_indexes_sweep().failed == [orphan.id]
    orphan.refresh_from_db()
    assert orphan.status == IndexStatus.FAILURE and orphan.error["code"] == "WORKER_LOST"


def test_a_recovered_orphan_gives_way_to_a_newer_pending_run(endpoint):
    orphan = factories.EndpointIndexFactory(
        endpoint=endpoint, status=IndexStatus.STARTED, attempts=1, started_at=ago(hours=1)
    )
    waiting = factories.EndpointIndexFactory(endpoint=endpoint, status=IndexStatus.PENDING, run_at=timezone.now())
    result = endpoint_indexes_sweep()
    assert result.failed == [orphan.id]
    waiting.refresh_from_db()
    assert waiting.status == IndexStatus.PENDING


def test_the_sweeper_leaves_a_running_index_alone(endpoint):
    running = factories.EndpointIndexFactory(
        endpoint=endpoint, status=IndexStatus.STARTED, attempts=1, started_at=timezone.now()
    )
    EndpointIndex.objects.filter(id=running.id).update(heartbeat_at=timezone.now())
    result = endpoint_indexes_sweep()
    assert not result.recovered and not result.failed
    running.refresh_from_db()
    assert running.status == IndexStatus.STARTED


def test_retention_deletes_old_runs_but_never_the_latest_success(endpoint):
    old = ago(days=8)
    latest_success = factories.EndpointIndexFactory(endpoint=endpoint, status=IndexStatus.SUCCESS)
    older_success = factories.EndpointIndexFactory(endpoint=endpoint, status=IndexStatus.SUCCESS)
    old_failure = factories.EndpointIndexFactory(endpoint=endpoint, status=IndexStatus.FAILURE)
    EndpointIndex.objects.filter(id=older_success.id).update(created_at=ago(days=9))
    EndpointIndex.objects.filter(id__in=[latest_success.id, old_failure.id]).update(created_at=old)
    recent = factories.EndpointIndexFactory(endpoint=endpoint, status=IndexStatus.FAILURE)
    assert endpoint_indexes_purge() == 2
    assert set(EndpointIndex.objects.values_list("id", flat=True)) == {latest_success.id, recent.id}


def test_retention_deletes_old_failures_of_an_endpoint_that_never_succeeded(prod_environment):
    """Fix 1: with no SUCCESS, `id <> latest_success_id` is NULL and used to keep every failure."""
    endpoint = factories.EndpointFactory(environment=prod_environment)
    old_failures = [factories.EndpointIndexFactory(endpoint=endpoint, status=IndexStatus.FAILURE) for _ in range(3)]
    EndpointIndex.objects.filter(id__in=[f.id for f in old_failures]).update(created_at=ago(days=8))
    recent = factories.EndpointIndexFactory(endpoint=endpoint, status=IndexStatus.FAILURE)
    assert endpoint_indexes_purge() == 3
    assert list(EndpointIndex.objects.values_list("id", flat=True)) == [recent.id]


def test_housekeeping_tasks_record_their_runs(prod_environment):
    from endpoints import tasks
    from endpoints.models import HousekeepingRun
    from endpoints.selectors import housekeeping_status

    tasks.sweep_endpoint_indexes.apply()
    tasks.purge_old_endpoint_indexes.apply()
    tasks.recurring_endpoint_indexing.apply()
    tasks.sweep_webhook_deliveries.apply()
    tasks.purge_old_registry_events.apply()
    runs = {run.task: run for run in HousekeepingRun.objects.all()}
    assert set(runs) == {
        tasks.SWEEP_TASK,
        tasks.PURGE_TASK,
        tasks.RECURRING_TASK,
        tasks.WEBHOOK_SWEEP_TASK,
        tasks.EVENTS_PURGE_TASK,
    }
    assert all(run.last_finished_at and run.runs == 1 and run.last_error is None for run in runs.values())
    assert not any(status.overdue for status in housekeeping_status())
    later = timezone.now() + timedelta(seconds=2 * 15 + 61)  # past the index sweeper's allowance only
    overdue = [status.task for status in housekeeping_status(now=later) if status.overdue]
    assert tasks.SWEEP_TASK in overdue and tasks.PURGE_TASK not in overdue


@pytest.fixture
def rabbitmq_app(monkeypatch):
    """A Celery app on a RabbitMQ virtual host of the test's own, current for the services."""
    from celery import Celery

    from kongflow.celery import app as kongflow_app
    from tests.support.shapes import rabbitmq_vhost

    with rabbitmq_vhost() as broker_url:
        monkeypatch.setenv("CELERY_BROKER_URL", broker_url)
        app = Celery("kongflow-test", set_as_current=False)
        app.config_from_object("django.conf:settings", namespace="CELERY")
        app.set_current()
        try:
            yield app
        finally:
            kongflow_app.set_current()


def test_on_rabbitmq_a_message_is_resent_only_when_its_epochs_marker_queue_is_gone(endpoint, settings, rabbitmq_app):
    """RabbitMQ keeps durable queues across restarts, not across a lost data directory: the epoch's
    marker queue goes with it, and the runs sent in that epoch are sent again, once."""
    from endpoints.services.indexing.dispatch import _marker

    settings.KONGFLOW_SWEEP_PENDING_AFTER_SECONDS = 10
    epoch = broker_epoch(cached=False)
    assert epoch and epoch != "static"
    queued = factories.EndpointIndexFactory(endpoint=endpoint, run_at=ago(minutes=30))
    EndpointIndex.objects.filter(id=queued.id).update(dispatched_at=ago(minutes=30), dispatches=1, dispatch_epoch=epoch)
    assert endpoint_indexes_sweep().redispatched == []  # its marker is there: the message is in a backlog

    with rabbitmq_app.connection_for_write() as connection:
        channel = connection.channel()
        channel.queue_delete(_marker(epoch))  # what a broker that lost its data directory looks like
        channel.close()
    assert endpoint_indexes_sweep().redispatched == [queued.id]
    assert endpoint_indexes_sweep().redispatched == []
    queued.refresh_from_db()
    assert queued.dispatches == 2 and queued.dispatch_epoch not in (None, epoch)
