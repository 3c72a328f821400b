"""Fairness inside the webhooks queue: an environment and a receiver URL hold at most so many
delivery slots (leased subscriptions) at once; a drain refused a slot changes nothing and is queued
again (sweeper, hand-off); the limit holds for concurrent claims."""

import threading
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.db import connections, transaction
from django.utils import timezone

from endpoints.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from endpoints.services.events import (
    NewEvent,
    events_record,
    subscription_create,
    subscription_drain,
    webhook_deliveries_sweep,
)
from endpoints.services.events.slots import slot_claim
from kongflow.celery import app
from tests import factories
from tests.support.waiting import a_backend_waits_on_a_lock, wait_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def slots(settings):
    settings.KONGFLOW_WEBHOOK_MAX_IN_FLIGHT_PER_ENVIRONMENT = 2
    settings.KONGFLOW_WEBHOOK_MAX_IN_FLIGHT_PER_URL = 1
    return settings


def record(environment, *types):
    with transaction.atomic():
        events_record(environment=environment, events=[NewEvent(t, {}) for t in types])


def hold(*subscriptions):
    """Another worker is draining them (their lease runs for a minute)."""
    ids = [s.id for s in subscriptions]
    WebhookSubscription.objects.filter(id__in=ids).update(lease_until=timezone.now() + timedelta(minutes=1))


def pending(subscription):
    return WebhookDelivery.objects.filter(subscription=subscription, status=DeliveryStatus.PENDING).count()


def test_an_environment_holding_all_its_slots_waits_and_is_swept_again_when_one_frees(environment, receiver, slots):
    subs = [subscription_create(environment=environment, url=f"{receiver.url}/{n}", events=["*"]) for n in range(3)]
    record(environment, "job.added")
    hold(subs[0], subs[1])
    result = subscription_drain(subscription_id=subs[2].id)
    assert (result.delivered, receiver.events()) == (0, [])
    assert pending(subs[2]) == 1 and WebhookSubscription.objects.get(id=subs[2].id).lease_until is None  # kept, due
    assert webhook_deliveries_sweep() == []  # its environment is full: not queued for nothing

    WebhookSubscription.objects.filter(id=subs[0].id).update(lease_until=None)  # that drain ended
    assert sorted(webhook_deliveries_sweep()) == sorted([subs[0].id, subs[2].id])
    assert subscription_drain(subscription_id=subs[2].id).delivered == 1


def test_a_dead_workers_slot_comes_back_when_its_lease_runs_out(environment, receiver, slots):
    subs = [subscription_create(environment=environment, url=f"{receiver.url}/{n}", events=["*"]) for n in range(3)]
    record(environment, "job.added")
    hold(subs[0], subs[1])
    WebhookSubscription.objects.filter(id=subs[0].id).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert subscription_drain(subscription_id=subs[2].id).delivered == 1


def test_one_url_holds_its_slots_whatever_the_environments_and_others_are_not_held_up(receiver, slots):
    a, b = factories.RuntimeEnvironmentFactory(), factories.RuntimeEnvironmentFactory()
    shared_a = subscription_create(environment=a, url=receiver.url, events=["*"])
    shared_b = subscription_create(environment=b, url=receiver.url, events=["*"])
    own_b = subscription_create(environment=b, url=f"{receiver.url}/b", events=["*"])
    record(a, "job.added")
    record(b, "job.added")
    hold(shared_a)
    assert subscription_drain(subscription_id=shared_b.id).delivered == 0  # the URL's one slot is taken
    assert subscription_drain(subscription_id=own_b.id).delivered == 1
    assert [r.path for r in receiver.events()] == ["/hooks/b"]
    assert webhook_deliveries_sweep() == []  # shared_b waits for the URL, not swept in vain
    assert pending(shared_b) == 1


def test_a_drain_that_gives_its_slot_back_queues_the_environments_waiting_subscription(environment, receiver, slots):
    slots.KONGFLOW_WEBHOOK_MAX_IN_FLIGHT_PER_ENVIRONMENT = 1
    first = subscription_create(environment=environment, url=f"{receiver.url}/1", events=["*"])
    waiting = subscription_create(environment=environment, url=f"{receiver.url}/2", events=["*"])
    record(environment, "job.added")
    with app.connection_for_write() as conn:
        queue = conn.SimpleQueue(django_settings.KONGFLOW_WEBHOOKS_QUEUE, no_ack=True)
        queue.clear()
        assert subscription_drain(subscription_id=first.id).delivered == 1
        message = queue.get(timeout=5)
        queue.close()
    assert message.headers["task"] == "endpoints.deliver_webhooks"
    assert message.payload[1] == {"subscription_id": waiting.id}




@pytest.mark.django_db(transaction=True)
def test_two_workers_cannot_both_take_the_last_slot(environment, slots):
    """A's claim is not committed yet when B counts: B waits for the environment's lock, then sees it."""
    slots.KONGFLOW_WEBHOOK_MAX_IN_FLIGHT_PER_ENVIRONMENT = 1
    first = subscription_create(environment=environment, url="http://127.0.0.1:9/1", events=["*"])
    second = subscription_create(environment=environment, url="http://127.0.0.1:9/2", events=["*"])
    claimed, release_a = {}, threading.Event()

    def claim(key, subscription, hold=None):
        try:
            with transaction.atomic():
                claimed[key] = slot_claim(subscription_id=subscription.id)
                if hold is not None:
                    hold.wait(30)
        finally:
            connections.close_all()

    a = threading.Thread(target=claim, args=("a", first, release_a))
    a.start()
    wait_for(lambda: "a" in claimed, what="A to claim")
    b = threading.Thread(target=claim, args=("b", second))
    b.start()
    wait_for(a_backend_waits_on_a_lock, what="B to wait for the environment's slot lock")
    assert "b" not in claimed
    release_a.set()
    a.join(30)
    b.join(30)
    assert claimed["a"] is not None and claimed["b"] is None
    assert list(WebhookSubscription.objects.filter(lease_until__isnull=False).values_list("id", flat=True)) == [
        first.id
    ]
