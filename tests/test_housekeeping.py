"""Sweeper (lost dispatches, dead workers), retention and the recurring index."""

from datetime import timedelta

import pytest
from django.utils import timezone

from endpoints.models import EndpointIndex, EnvironmentType, IndexStatus
from endpoints.services.indexing import (
    endpoint_indexes_purge,
    endpoint_indexes_sweep,
    endpoints_recurring_index,
)
from tests import factories


def ago(**kwargs):
    return timezone.now() - timedelta(**kwargs)


def test_sweeper_redispatches_pending_runs_whose_task_never_ran(endpoint, settings):
    settings.KONGFLOW_SWEEP_PENDING_AFTER_SECONDS = 60
    stale = factories.EndpointIndexFactory(endpoint=endpoint)
    EndpointIndex.objects.filter(id=stale.id).update(run_at=ago(minutes=5))
    fresh = factories.EndpointIndexFactory(endpoint=factories.EndpointFactory(), run_at=timezone.now())
    result = endpoint_indexes_sweep()
    assert result.redispatched == [stale.id]
    stale.refresh_from_db()
    assert stale.dispatched_at is not None
    # dispatched just now: not again on the next sweep
    assert endpoint_indexes_sweep().redispatched == []
    assert fresh.id not in result.redispatched


def test_sweeper_recovers_a_started_run_whose_worker_died(prod_environment, settings):
    settings.KONGFLOW_SWEEP_STARTED_AFTER_SECONDS = 300
    endpoint = factories.EndpointFactory(environment=prod_environment)
    orphan = factories.EndpointIndexFactory(
        endpoint=endpoint, status=IndexStatus.STARTED, attempts=1, started_at=ago(minutes=10)
    )
    result = endpoint_indexes_sweep()
    assert result.recovered == [orphan.id]
    orphan.refresh_from_db()
    assert orphan.status == IndexStatus.PENDING
    assert orphan.error["code"] == "WORKER_LOST"


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


@pytest.mark.parametrize(
    ("env_type", "due"),
    [
        (EnvironmentType.PRODUCTION, True),
        (EnvironmentType.STAGING, True),
        (EnvironmentType.DEVELOPMENT, False),
        (EnvironmentType.PREVIEW, False),
    ],
)
def test_recurring_index_covers_production_and_staging(db, env_type, due):
    endpoint = factories.EndpointFactory(environment=factories.RuntimeEnvironmentFactory(env_type=env_type))
    assert (endpoints_recurring_index() == [endpoint.id]) is due


def test_recurring_index_skips_recently_indexed_and_deleted_endpoints(prod_environment):
    recent = factories.EndpointFactory(environment=prod_environment)
    factories.EndpointIndexFactory(endpoint=recent, status=IndexStatus.SUCCESS)
    deleted = factories.EndpointFactory(environment=prod_environment, url=None)
    stale = factories.EndpointFactory(environment=prod_environment)
    old = factories.EndpointIndexFactory(endpoint=stale, status=IndexStatus.SUCCESS)
    EndpointIndex.objects.filter(id=old.id).update(created_at=ago(minutes=11))
    assert endpoints_recurring_index() == [stale.id]
    assert not deleted.indexings.exists()
