"""Endpoint health: the rule, the transition the service returns, and runs that really finish."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from endpoints.models import EndpointHealth, IndexSource, IndexStatus
from endpoints.services.health import HealthState, endpoint_health_record, health_next
from endpoints.services.indexing import endpoint_index_request, endpoint_index_run
from endpoints.services.registration import endpoints_soft_delete
from tests import factories

T0 = timezone.now()


def test_the_rule_healthy_degraded_failing(settings):
    settings.KONGFLOW_HEALTH_FAILING_AFTER = 3
    never = HealthState(EndpointHealth.NEVER_INDEXED, 0, None, None)
    ok = health_next(current=never, status=IndexStatus.SUCCESS, at=T0)
    assert ok == HealthState(EndpointHealth.HEALTHY, 0, None, T0)
    one = health_next(current=ok, status=IndexStatus.FAILURE, at=T0 + timedelta(minutes=1))
    assert (one.health, one.consecutive_failures, one.failing_since) == (
        EndpointHealth.DEGRADED,
        1,
        T0 + timedelta(minutes=1),
    )
    two = health_next(current=one, status=IndexStatus.FAILURE, at=T0 + timedelta(minutes=2))
    three = health_next(current=two, status=IndexStatus.FAILURE, at=T0 + timedelta(minutes=3))
    assert two.health == EndpointHealth.DEGRADED
    assert (three.health, three.consecutive_failures) == (EndpointHealth.FAILING, 3)
    assert three.failing_since == T0 + timedelta(minutes=1)  # since the first failure of the streak
    back = health_next(current=three, status=IndexStatus.SUCCESS, at=T0 + timedelta(minutes=4))
    assert back == HealthState(EndpointHealth.HEALTHY, 0, None, T0 + timedelta(minutes=4))


def test_a_failure_without_any_earlier_success_is_failing_at_once():
    never = HealthState(EndpointHealth.NEVER_INDEXED, 0, None, None)
    assert health_next(current=never, status=IndexStatus.FAILURE, at=T0).health == EndpointHealth.FAILING


def test_the_service_stores_the_state_and_returns_the_transition(endpoint):
    first = endpoint_health_record(endpoint_id=endpoint.id, status=IndexStatus.SUCCESS, at=T0)
    assert (first.old, first.new, first.changed) == ("NEVER_INDEXED", "HEALTHY", True)
    assert type(first.old) is str and type(first.new) is str  # plain values, ready for an event payload
    again = endpoint_health_record(endpoint_id=endpoint.id, status=IndexStatus.SUCCESS, at=T0)
    assert not again.changed
    failed = endpoint_health_record(endpoint_id=endpoint.id, status=IndexStatus.FAILURE, at=T0 + timedelta(seconds=5))
    assert (failed.old, failed.new, failed.consecutive_failures) == ("HEALTHY", "DEGRADED", 1)
    endpoint.refresh_from_db()
    assert endpoint.health == EndpointHealth.DEGRADED
    assert endpoint.last_index_status == IndexStatus.FAILURE and endpoint.last_success_at == T0
    assert endpoint_health_record(endpoint_id="missing", status=IndexStatus.SUCCESS, at=T0) is None


def test_a_deleted_endpoint_reads_deleted_whatever_was_stored(endpoint):
    endpoint_health_record(endpoint_id=endpoint.id, status=IndexStatus.SUCCESS, at=T0)
    endpoints_soft_delete(endpoint_ids=[endpoint.id])
    endpoint.refresh_from_db()
    assert endpoint.health_state == EndpointHealth.DELETED
    assert endpoint.url_before_delete and endpoint.deleted_at


@pytest.fixture
def basic_endpoint(dev_environment, sdk_basic):
    return factories.EndpointFactory(environment=dev_environment, slug="my-endpoint", url=sdk_basic.url)


def run(endpoint):
    index = endpoint_index_request(endpoint=endpoint, source=IndexSource.MANUAL)
    endpoint_index_run(index_id=index.id)
    index.refresh_from_db()
    return index


def test_finished_runs_update_health_in_their_transaction(basic_endpoint, failing_endpoint):
    ok = run(basic_endpoint)
    basic_endpoint.refresh_from_db()
    assert ok.status == IndexStatus.SUCCESS
    assert basic_endpoint.health == EndpointHealth.HEALTHY and basic_endpoint.last_index_at == ok.finished_at

    failed = run(failing_endpoint)
    failing_endpoint.refresh_from_db()
    assert failed.status == IndexStatus.FAILURE
    assert failing_endpoint.health == EndpointHealth.FAILING
    assert failing_endpoint.failing_since == failed.finished_at and failing_endpoint.consecutive_failures == 1


def test_the_api_endpoint_output_carries_health(auth_client, sdk_basic):
    body = auth_client.post("/api/v1/endpoints", {"id": "my-endpoint", "url": sdk_basic.url}, format="json").json()
    assert body["health"] == {
        "state": "NEVER_INDEXED",
        "consecutiveFailures": 0,
        "failingSince": None,
        "lastIndexStatus": None,
        "lastIndexAt": None,
        "disabledAt": None,
    }


@pytest.mark.django_db
def test_a_success_records_its_transition_from_the_state_before_it():
    endpoint = factories.EndpointFactory(health=EndpointHealth.FAILING, consecutive_failures=4)
    now = timezone.now()
    with transaction.atomic():
        transition = endpoint_health_record(endpoint_id=endpoint.id, status=IndexStatus.SUCCESS, at=now)
    assert transition is not None and transition.changed
    assert (transition.old, transition.new, transition.consecutive_failures) == ("FAILING", "HEALTHY", 0)
    endpoint.refresh_from_db()
    assert endpoint.health == EndpointHealth.HEALTHY and endpoint.consecutive_failures == 0
    assert endpoint.failing_since is None and endpoint.last_success_at == now == endpoint.last_index_at

    again = endpoint_health_record(endpoint_id=endpoint.id, status=IndexStatus.SUCCESS, at=timezone.now())
    assert again is not None and not again.changed

    type(endpoint).objects.filter(id=endpoint.id).update(url=None)
    deleted = endpoint_health_record(endpoint_id=endpoint.id, status=IndexStatus.SUCCESS, at=timezone.now())
    assert deleted is not None and (deleted.old, deleted.new) == ("DELETED", "DELETED")
    assert endpoint_health_record(endpoint_id="gone", status=IndexStatus.SUCCESS, at=timezone.now()) is None
