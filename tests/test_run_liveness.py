"""Runs for months: one message per attempt, leases, resumes after database errors, joins, hints."""

from datetime import timedelta

import pytest
from django.utils import timezone

from endpoints import tasks
from endpoints.models import EndpointIndex, IndexSource, IndexStatus
from endpoints.services.indexing import endpoint_index_request, endpoint_index_run
from endpoints.services.indexing.lease import Heartbeat
from tests import factories
from tests.support.waiting import wait_for

UNREACHABLE = "http://127.0.0.1:9/api/trigger"


def test_a_retry_is_one_message_sent_by_the_service_not_a_task_retry(
    prod_environment, django_capture_on_commit_callbacks
):
    """Fix 2 / idempotence: the failed attempt schedules exactly one message for the next one."""
    endpoint = factories.EndpointFactory(environment=prod_environment, url=UNREACHABLE)
    with django_capture_on_commit_callbacks(execute=True):
        index = endpoint_index_request(endpoint=endpoint, source=IndexSource.INTERNAL)
    assert EndpointIndex.objects.get(id=index.id).dispatches == 1
    with django_capture_on_commit_callbacks(execute=True):
        result = tasks.perform_endpoint_index.apply(kwargs={"index_id": index.id, "attempt": 0})
    assert result.state == "SUCCESS"  # not RETRY: the task never re-sends itself
    index.refresh_from_db()
    assert index.status == IndexStatus.PENDING and index.attempts == 1
    assert index.dispatches == 2 and index.dispatched_at is not None  # the one message of attempt 2
    assert index.run_at > timezone.now()


def test_a_message_for_another_attempt_is_a_no_op(prod_environment, django_assert_max_num_queries):
    endpoint = factories.EndpointFactory(environment=prod_environment, url=UNREACHABLE)
    index = factories.EndpointIndexFactory(endpoint=endpoint, attempts=2, run_at=timezone.now())
    # The optimistic claim (an UPDATE matching nothing; in a savepoint under the test's transaction)
    # and the read that tells why. Nothing is written.
    with django_assert_max_num_queries(4):
        endpoint_index_run(index_id=index.id, attempt=1)  # a redelivered message of attempt 2
    index.refresh_from_db()
    assert index.status == IndexStatus.PENDING and index.attempts == 2


def test_an_early_message_neither_runs_nor_sends_another(prod_environment):
    endpoint = factories.EndpointFactory(environment=prod_environment, url=UNREACHABLE)
    index = factories.EndpointIndexFactory(
        endpoint=endpoint, attempts=1, run_at=timezone.now() + timedelta(minutes=5), dispatched_at=timezone.now()
    )
    endpoint_index_run(index_id=index.id, attempt=1)
    index.refresh_from_db()
    assert index.status == IndexStatus.PENDING and index.attempts == 1 and index.dispatches == 0
    assert index.dispatched_at is None  # consumed: the sweeper sends one when run_at has passed


def test_a_retry_after_a_database_error_resumes_the_run_it_holds(dev_environment, sdk_basic):
    """The task's retry (same task id) carries on with its STARTED run instead of losing it."""
    endpoint = factories.EndpointFactory(environment=dev_environment, slug="my-endpoint", url=sdk_basic.url)
    index = factories.EndpointIndexFactory(
        endpoint=endpoint, status=IndexStatus.STARTED, attempts=1, max_attempts=1, started_at=timezone.now()
    )
    EndpointIndex.objects.filter(id=index.id).update(lease_owner="task-1", heartbeat_at=timezone.now())
    endpoint_index_run(index_id=index.id, attempt=0, lease_owner="task-1")
    # a redelivery while the holder still beats: nothing happens
    assert EndpointIndex.objects.get(id=index.id).status == IndexStatus.STARTED
    EndpointIndex.objects.filter(id=index.id).update(heartbeat_at=None)  # paused after a database error
    endpoint_index_run(index_id=index.id, attempt=0, lease_owner="someone-else")
    assert EndpointIndex.objects.get(id=index.id).status == IndexStatus.STARTED
    endpoint_index_run(index_id=index.id, attempt=0, lease_owner="task-1")
    index.refresh_from_db()
    assert index.status == IndexStatus.SUCCESS and index.attempts == 1, index.error


def test_joining_a_run_in_backoff_starts_it_now_with_fresh_attempts(
    prod_environment, django_capture_on_commit_callbacks
):
    """Fix 6: a deploy hook joining a retry that waits minutes does not wait with it."""
    endpoint = factories.EndpointFactory(environment=prod_environment, url=UNREACHABLE)
    waiting = factories.EndpointIndexFactory(
        endpoint=endpoint,
        attempts=6,
        max_attempts=7,
        run_at=timezone.now() + timedelta(minutes=5),
        dispatched_at=timezone.now(),
    )
    with django_capture_on_commit_callbacks(execute=True):
        joined = endpoint_index_request(endpoint=endpoint, source=IndexSource.HOOK)
    assert joined.id == waiting.id
    waiting.refresh_from_db()
    assert waiting.run_at <= timezone.now()
    assert waiting.max_attempts == 6 + 7 and waiting.attempts == 6
    assert waiting.dispatches == 1 and waiting.requests == 2


def test_the_recurring_index_joining_a_run_in_backoff_does_not_restart_it(prod_environment):
    endpoint = factories.EndpointFactory(environment=prod_environment, url=UNREACHABLE)
    run_at = timezone.now() + timedelta(minutes=5)
    waiting = factories.EndpointIndexFactory(endpoint=endpoint, attempts=6, max_attempts=7, run_at=run_at)
    endpoint_index_request(endpoint=endpoint, source=IndexSource.INTERNAL)
    waiting.refresh_from_db()
    assert waiting.run_at == run_at and waiting.max_attempts == 7


def test_joining_a_run_that_is_not_in_backoff_changes_nothing_of_its_schedule(endpoint):
    first = endpoint_index_request(endpoint=endpoint, source=IndexSource.INTERNAL)
    run_at = EndpointIndex.objects.get(id=first.id).run_at
    endpoint_index_request(endpoint=endpoint, source=IndexSource.API)
    assert EndpointIndex.objects.get(id=first.id).run_at == run_at


@pytest.mark.parametrize(
    ("url", "hint"),
    [
        ("http://a..b/api/trigger", "The URL's host is not a valid host name."),  # the guard's parser
        ("TLS", "The TLS handshake failed: check the endpoint's certificate."),
    ],
)
def test_the_clients_specific_hint_is_stored(environment, sdk_basic, url, hint):
    """Fix 7: the client's own hint (TLS, bad URL) is kept instead of the code's generic one."""
    if url == "TLS":
        url = sdk_basic.url.replace("http://", "https://")  # TLS to a plain HTTP server
    endpoint = factories.EndpointFactory(environment=environment, url=url)
    index = endpoint_index_request(endpoint=endpoint, source=IndexSource.INTERNAL)
    endpoint_index_run(index_id=index.id)
    index.refresh_from_db()
    assert index.status == IndexStatus.FAILURE
    assert index.error["code"] == "CONNECTION_FAILED"
    assert index.error["hint"] == hint


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_beats_while_the_run_is_held_and_stops_when_it_is_lost(prod_environment):
    endpoint = factories.EndpointFactory(environment=prod_environment)
    index = factories.EndpointIndexFactory(endpoint=endpoint, status=IndexStatus.STARTED, attempts=1)
    EndpointIndex.objects.filter(id=index.id).update(heartbeat_at=timezone.now() - timedelta(minutes=1))
    with Heartbeat(index.id, 1, interval=0.05) as heartbeat:
        wait_for(
            lambda: EndpointIndex.objects.get(id=index.id).heartbeat_at > timezone.now() - timedelta(seconds=5),
            timeout=10,
            what="a heartbeat",
        )
        EndpointIndex.objects.filter(id=index.id).update(attempts=2)  # recovered by the sweeper meanwhile
        wait_for(heartbeat.lost.is_set, timeout=10, what="the heartbeat to notice it lost the run")
    assert not heartbeat.lost.is_set() or not heartbeat._thread.is_alive()
