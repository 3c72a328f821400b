"""The outbox: events written with the change they describe, in a gap-free per-environment sequence."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone
from standardwebhooks import Webhook

from endpoints.models import Endpoint, EventSequence, RegistryEvent
from endpoints.services.events import (
    NewEvent,
    OutboxOutsideTransaction,
    events_record,
    registry_events_purge,
    subscription_create,
    subscription_drain,
)
from endpoints.services.events.recording import record_health_changed
from endpoints.services.indexing import endpoint_index_request, endpoint_index_run, endpoint_indexes_sweep
from endpoints.services.registration import endpoint_register, endpoints_soft_delete
from tests import factories
from tests.conftest import PROD_KEY
from tests.support.misbehaving import MisbehavingEndpoint
from tests.support.sdk import sdk_endpoint
from tests.support.waiting import a_backend_waits_on_a_lock, wait_for


def types(environment):
    return list(
        RegistryEvent.objects.filter(environment=environment).order_by("sequence").values_list("type", flat=True)
    )


def sequences(environment):
    return list(
        RegistryEvent.objects.filter(environment=environment).order_by("sequence").values_list("sequence", flat=True)
    )


def run(index_id):
    endpoint_index_run(index_id=index_id)


@pytest.mark.django_db
def test_registering_and_indexing_the_basic_sdk_endpoint_records_its_events(dev_environment, sdk_basic):
    registration = endpoint_register(environment=dev_environment, slug="my-endpoint", url=sdk_basic.url)
    registered = RegistryEvent.objects.get(environment=dev_environment)
    assert registered.type == "endpoint.registered" and registered.sequence == 1 and registered.version == 1
    assert registered.data["endpoint"] == {
        "id": registration.endpoint.id,
        "slug": "my-endpoint",
        "url": sdk_basic.url,
        "version": "2023-09-29",
        "sdkVersion": "2.3.19",
    }
    assert registered.data["created"] is True and registered.data["indexId"] == registration.index.id
    assert registered.data["environment"]["id"] == dev_environment.id

    run(registration.index.id)
    assert types(dev_environment) == [
        "endpoint.registered",
        "job.added",
        "job.added",
        "schedule.armed",
        "endpoint.indexed",
        "endpoint.health_changed",  # never indexed -> healthy, in the same transaction
    ]
    assert sequences(dev_environment) == [1, 2, 3, 4, 5, 6]
    health = RegistryEvent.objects.get(type="endpoint.health_changed")
    assert health.data["health"] == {"previous": "NEVER_INDEXED", "current": "HEALTHY"}
    added = RegistryEvent.objects.filter(type="job.added").order_by("sequence")
    assert [e.data["job"]["slug"] for e in added] == ["daily-report", "send-welcome-email"]
    indexed = RegistryEvent.objects.get(type="endpoint.indexed")
    assert indexed.data["index"]["id"] == registration.index.id
    assert indexed.data["stats"]["jobs"] == 2
    assert indexed.data["diff"]["jobs"] == {"added": 3, "removed": 0, "changed": 0}

    # an identical second index is a free re-index: nothing written, so only endpoint.indexed
    run(endpoint_index_request(endpoint=registration.endpoint, source="MANUAL").id)
    assert types(dev_environment)[6:] == ["endpoint.indexed"]  # still healthy: no health event
    again = RegistryEvent.objects.filter(type="endpoint.indexed").latest("sequence")
    assert again.data["unchanged"] is True and again.data["stats"]["jobs"] == 2
    assert indexed.data["unchanged"] is False

    # a forced index writes the registry again: the follow-ups are computed and emitted again
    run(endpoint_index_request(endpoint=registration.endpoint, source="MANUAL", force=True).id)
    assert types(dev_environment)[7:] == ["schedule.armed", "endpoint.indexed"]


@pytest.mark.django_db
def test_an_index_and_its_events_commit_durably(dev_environment, sdk_basic):
    """Other sessions (a delivery worker) see committed events at once: the index transaction that
    appends them must not return before its WAL is flushed (`synchronous_commit` is never relaxed),
    or a database crash could take back events already delivered, and their sequences."""
    endpoint = factories.EndpointFactory(environment=dev_environment, slug="my-endpoint", url=sdk_basic.url)
    index = endpoint_index_request(endpoint=endpoint, source="MANUAL")
    sent: list[str] = []

    def capture(execute, sql, params, many, context):
        sent.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        run(index.id)
    assert any("endpoints_registryevent" in sql for sql in sent)
    assert not [sql for sql in sent if "synchronous_commit" in sql]


@pytest.mark.django_db
def test_soft_delete_then_register_again_records_deleted_then_restored(dev_environment, sdk_basic):
    endpoint = endpoint_register(environment=dev_environment, slug="my-endpoint", url=sdk_basic.url).endpoint
    assert endpoints_soft_delete(endpoint_ids=[endpoint.id]) == 1
    assert endpoints_soft_delete(endpoint_ids=[endpoint.id]) == 0  # already deleted: no second event
    endpoint_register(environment=dev_environment, slug="my-endpoint", url=sdk_basic.url)
    assert types(dev_environment) == ["endpoint.registered", "endpoint.deleted", "endpoint.restored"]
    deleted = RegistryEvent.objects.get(type="endpoint.deleted")
    assert deleted.data["previousUrl"] == sdk_basic.url and deleted.data["endpoint"]["slug"] == "my-endpoint"
    restored = RegistryEvent.objects.get(type="endpoint.restored")
    assert restored.data["created"] is False and restored.data["previousUrl"] is None


@pytest.mark.django_db
def test_a_failed_index_records_index_failed_with_code_and_hint(dev_environment):
    with MisbehavingEndpoint() as broken:
        url = broken.route("/html", lambda h: h._send(200, b"<html>hi</html>", "text/html"))
        endpoint = factories.EndpointFactory(environment=dev_environment, url=url)
        index = endpoint_index_request(endpoint=endpoint, source="MANUAL")
        run(index.id)
    assert types(dev_environment) == ["endpoint.index_failed", "endpoint.health_changed"]
    failed = RegistryEvent.objects.get(environment=dev_environment, type="endpoint.index_failed")
    health = RegistryEvent.objects.get(type="endpoint.health_changed")
    assert health.data["health"] == {"previous": "NEVER_INDEXED", "current": "FAILING"}
    assert health.data["reason"] == "Index failed: INVALID_JSON"
    assert failed.data["error"]["code"] == "INVALID_JSON"
    assert failed.data["error"]["hint"]
    assert failed.data["index"]["id"] == index.id


@pytest.mark.django_db
def test_the_evolving_endpoint_records_jobs_added_changed_and_disabled(prod_sdk_environment, receiver):
    subscription = subscription_create(environment=prod_sdk_environment, url=receiver.url, events=["*"])
    endpoint = factories.EndpointFactory(environment=prod_sdk_environment, slug="evolving")
    for variant in ("1", "2"):
        with sdk_endpoint(
            api_key=PROD_KEY, endpoint_id="evolving", scenario="evolving", extra_args=["--variant", variant]
        ) as sdk:
            Endpoint.objects.filter(id=endpoint.id).update(url=sdk.url)
            endpoint.refresh_from_db()
            run(endpoint_index_request(endpoint=endpoint, source="MANUAL").id)
    first_end = RegistryEvent.objects.filter(type="endpoint.indexed").order_by("sequence").first().sequence
    second = RegistryEvent.objects.filter(sequence__gt=first_end)
    by_type = {}
    for event in second.order_by("sequence"):
        by_type.setdefault(event.type, []).append(event.data)
    assert [d["job"] for d in by_type["job.added"]] == [{"slug": "job-d", "version": "1.0.0"}]
    assert [d["job"]["slug"] for d in by_type["job.changed"]] == ["job-b"]
    assert "version" in by_type["job.changed"][0]["changed"]
    assert {(d["job"]["slug"], d["reason"]) for d in by_type["job.disabled"]} == {
        ("job-a", "vanished"),
        ("job-c", "enabled_false"),
    }
    assert list(by_type)[-1] == "endpoint.indexed"

    # delivered in order, each signed (verified by the standardwebhooks package)
    subscription_drain(subscription_id=subscription.id)
    webhook = Webhook(subscription.secret)
    bodies = [webhook.verify(item.body, item.headers) for item in receiver.events()]
    assert [body["type"] for body in bodies] == types(prod_sdk_environment)
    assert [body["data"]["sequence"] for body in bodies] == sequences(prod_sdk_environment)


@pytest.mark.django_db
def test_a_rolled_back_registration_records_nothing(dev_environment, sdk_basic):
    with pytest.raises(RuntimeError), transaction.atomic():
        endpoint_register(environment=dev_environment, slug="my-endpoint", url=sdk_basic.url)
        assert types(dev_environment) == ["endpoint.registered"]
        raise RuntimeError("the surrounding change failed")
    assert not RegistryEvent.objects.exists() and not Endpoint.objects.exists()
    endpoint_register(environment=dev_environment, slug="my-endpoint", url=sdk_basic.url)
    assert sequences(dev_environment) == [1]  # the rolled-back number was given back


@pytest.mark.django_db(transaction=True)
def test_events_cannot_be_recorded_outside_a_transaction(environment):
    with pytest.raises(OutboxOutsideTransaction):
        events_record(environment=environment, events=[NewEvent("endpoint.deleted", {})])
    with pytest.raises(ValueError, match="Unknown event type"), transaction.atomic():
        events_record(environment=environment, events=[NewEvent("nope", {})])




def _record_in_thread(environment, results, key, *, hold: threading.Event | None = None, rollback=False):
    def target():
        try:
            with transaction.atomic():
                rows = events_record(environment=environment, events=[NewEvent("endpoint.deleted", {"n": key})])
                results[key] = rows[0].sequence
                if hold is not None:
                    hold.wait(30)
                if rollback:
                    raise RuntimeError("rolled back")
        except RuntimeError:
            results[key] = "rolled back"
        finally:
            connections.close_all()

    thread = threading.Thread(target=target)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("first_commits", [True, False])
def test_concurrent_transactions_commit_sequences_in_order_without_gaps(environment, first_commits):
    """B starts while A holds sequence 1 uncommitted: B waits on the counter lock, so a reader never
    sees 2 before 1; if A rolls back, B takes 1 (no gap)."""
    results: dict = {}
    release_a = threading.Event()
    a = _record_in_thread(environment, results, "a", hold=release_a, rollback=not first_commits)
    wait_for(lambda: "a" in results, what="A to allocate")
    b = _record_in_thread(environment, results, "b")
    wait_for(a_backend_waits_on_a_lock, what="B to wait for A's counter lock")
    assert "b" not in results and not RegistryEvent.objects.exists()  # nothing visible, nothing out of order
    release_a.set()
    a.join(30)
    b.join(30)
    if first_commits:
        assert results == {"a": 1, "b": 2}
        assert sequences(environment) == [1, 2]
    else:
        assert results == {"a": "rolled back", "b": 1}
        assert sequences(environment) == [1]
    assert EventSequence.objects.get(environment=environment).last_sequence == len(sequences(environment))


@pytest.mark.django_db
def test_the_events_returned_are_the_rows_stored_in_order(environment):
    with transaction.atomic():
        recorded = events_record(environment=environment, events=[NewEvent("job.added", {"i": i}) for i in range(3)])
    assert len(recorded) == 3
    stored = list(RegistryEvent.objects.filter(environment=environment).order_by("sequence"))
    assert [(e.id, e.sequence, e.type, e.data) for e in recorded] == [
        (e.id, e.sequence, e.type, e.data) for e in stored
    ]
    assert [e.data["i"] for e in recorded[1:]] == [1, 2] and recorded[-1].data["sequence"] == stored[-1].sequence


@pytest.mark.django_db
def test_the_purge_keeps_recent_events_and_those_still_pending_delivery(environment):
    subscription = subscription_create(environment=environment, url="http://127.0.0.1:9/", events=["job.added"])
    with transaction.atomic():
        old_done, old_pending, recent = events_record(
            environment=environment,
            events=[NewEvent("endpoint.deleted", {}), NewEvent("job.added", {}), NewEvent("endpoint.deleted", {})],
        )
    RegistryEvent.objects.filter(id__in=[old_done.id, old_pending.id]).update(
        occurred_at=timezone.now() - timedelta(days=31)
    )
    assert registry_events_purge() == 1
    assert set(RegistryEvent.objects.values_list("id", flat=True)) == {old_pending.id, recent.id}
    assert subscription.deliveries.count() == 1
    with transaction.atomic():
        [following] = events_record(environment=environment, events=[NewEvent("endpoint.deleted", {})])
    assert following.sequence == 4  # numbering continues after a purge


@pytest.mark.django_db
def test_a_run_given_up_by_the_sweeper_records_index_failed(endpoint):
    orphan = factories.EndpointIndexFactory(
        endpoint=endpoint,
        status="STARTED",
        attempts=3,
        max_attempts=1,
        started_at=timezone.now() - timedelta(hours=1),
    )
    assert endpoint_indexes_sweep().failed == [orphan.id]
    assert types(endpoint.environment) == ["endpoint.index_failed", "endpoint.health_changed"]
    failed = RegistryEvent.objects.get(environment=endpoint.environment, type="endpoint.index_failed")
    assert failed.data["error"]["code"] == "WORKER_LOST" and failed.data["index"]["id"] == orphan.id


@pytest.mark.django_db
def test_health_changes_are_recorded_with_old_and_new_state(endpoint):
    with transaction.atomic():
        [event] = record_health_changed(endpoint=endpoint, previous="HEALTHY", current="FAILING", reason="3 failures")
    assert event.type == "endpoint.health_changed"
    assert event.data["health"] == {"previous": "HEALTHY", "current": "FAILING"}
    assert event.data["endpoint"] == {"id": endpoint.id, "slug": endpoint.slug} and event.data["reason"] == "3 failures"
