"""Delivering to a real receiver on loopback: Standard Webhooks signatures (checked with the
`standardwebhooks` package), order, retries stored in rows, give-up, auto-disable, rotation, Resend."""

import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from standardwebhooks import Webhook, WebhookVerificationError

from endpoints.models import DeliveryStatus, RegistryEvent, WebhookAttempt, WebhookDelivery, WebhookSubscription
from endpoints.services.events import (
    NewEvent,
    events_record,
    retry_delay,
    subscription_create,
    subscription_drain,
    subscription_rotate_secret,
    webhook_deliveries_resend,
    webhook_deliveries_sweep,
)

pytestmark = pytest.mark.django_db


def record(environment, *types):
    with transaction.atomic():
        return events_record(environment=environment, events=[NewEvent(t, {"i": i}) for i, t in enumerate(types)])


def verify(secret, received):
    return Webhook(secret).verify(received.body, received.headers)


def test_a_delivery_is_signed_per_standard_webhooks_and_stored(environment, receiver):
    subscription = subscription_create(environment=environment, url=receiver.url, events=["*"])
    [event] = record(environment, "endpoint.deleted")
    result = subscription_drain(subscription_id=subscription.id)
    assert result.delivered == 1
    [got] = receiver.events()
    assert verify(subscription.secret, got) == {
        "type": "endpoint.deleted",
        "timestamp": got.json["timestamp"],
        "data": {"sequence": 1, "environment": event.data["environment"], "i": 0},
    }
    assert got.headers["webhook-id"] == event.id
    assert got.headers["content-type"] == "application/json"
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "QUJD" * 8).verify(got.body, got.headers)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 1 and delivery.delivered_at
    attempt = WebhookAttempt.objects.get()
    assert attempt.succeeded and attempt.status_code == 200 and attempt.response_preview == '{"ok":true}'


def test_subscriptions_get_only_the_types_they_filter(environment, receiver):
    jobs = subscription_create(environment=environment, url=receiver.url, events=["job.added"])
    record(environment, "endpoint.deleted", "job.added", "endpoint.indexed")
    subscription_drain(subscription_id=jobs.id)
    assert receiver.types() == ["job.added"]


def test_a_failing_receiver_holds_the_backlog_in_order_and_gets_it_after_retries(environment, receiver, settings):
    settings.KONGFLOW_WEBHOOK_RETRY_SCHEDULE = [60, 60]
    settings.KONGFLOW_WEBHOOK_RETRY_JITTER = 0
    subscription = subscription_create(environment=environment, url=receiver.url, events=["*"])
    receiver.status = 503
    events = record(environment, "job.added", "job.added", "job.changed")
    result = subscription_drain(subscription_id=subscription.id)
    assert (result.delivered, result.failed_attempts) == (0, 1)  # the head failed; the others waited behind it
    head = WebhookDelivery.objects.get(event=events[0])
    assert head.attempts == 1 and head.status == DeliveryStatus.PENDING
    assert head.next_attempt_at > timezone.now() + timedelta(seconds=50)
    assert WebhookDelivery.objects.filter(attempts=0).count() == 2
    assert WebhookAttempt.objects.get().status_code == 503
    assert WebhookSubscription.objects.get().failing_since is not None

    # not due yet: neither a drain nor the sweeper sends anything
    assert subscription_drain(subscription_id=subscription.id).failed_attempts == 0
    assert webhook_deliveries_sweep() == []

    receiver.status = 200
    WebhookDelivery.objects.filter(id=head.id).update(next_attempt_at=timezone.now())  # time passes
    assert webhook_deliveries_sweep() == [subscription.id]
    assert subscription_drain(subscription_id=subscription.id).delivered == 3
    assert [r.sequence for r in receiver.events()] == [1, 2, 3]
    assert [r.headers["webhook-id"] for r in receiver.events()] == [e.id for e in events]
    assert receiver.rejected[0].headers["webhook-id"] == events[0].id  # the retry carried the same id
    assert WebhookSubscription.objects.get().failing_since is None


def test_after_the_schedule_a_delivery_fails_and_the_next_one_goes(environment, receiver, fast_retries):
    subscription = subscription_create(environment=environment, url=receiver.url, events=["*"])
    receiver.status = 500
    first, second = record(environment, "job.added", "job.changed")
    for _ in range(4):  # 1 attempt + 3 retries
        subscription_drain(subscription_id=subscription.id)
        if WebhookDelivery.objects.get(event=first).status == DeliveryStatus.FAILED:
            break
    assert WebhookDelivery.objects.get(event=first).attempts == 4
    assert WebhookDelivery.objects.get(event=first).status == DeliveryStatus.FAILED
    receiver.status = 200
    subscription_drain(subscription_id=subscription.id)
    assert [r.headers["webhook-id"] for r in receiver.events()] == [second.id]

    # Resend: the failed one goes again, with the same webhook-id
    assert webhook_deliveries_resend(delivery_ids=[WebhookDelivery.objects.get(event=first).id]) == 1
    subscription_drain(subscription_id=subscription.id)
    assert [r.headers["webhook-id"] for r in receiver.events()] == [second.id, first.id]
    assert WebhookDelivery.objects.get(event=first).status == DeliveryStatus.DELIVERED
    assert WebhookAttempt.objects.filter(delivery__event=first).count() == 5


def test_a_subscription_failing_for_too_long_is_disabled_with_an_event(environment, receiver, fast_retries):
    settings = fast_retries
    settings.KONGFLOW_WEBHOOK_DISABLE_AFTER_SECONDS = 3600
    failing = subscription_create(environment=environment, url=receiver.url, events=["job.added"])
    watcher = subscription_create(environment=environment, url=receiver.url + "/watch", events=["webhook.disabled"])
    receiver.status = 502
    record(environment, "job.added")
    subscription_drain(subscription_id=failing.id)
    assert WebhookSubscription.objects.get(id=failing.id).is_active  # failing for seconds only
    WebhookSubscription.objects.filter(id=failing.id).update(failing_since=timezone.now() - timedelta(days=2))
    subscription_drain(subscription_id=failing.id)
    failing.refresh_from_db()
    assert not failing.is_active and failing.disabled_at and "failed for" in failing.disabled_reason
    disabled = RegistryEvent.objects.get(type="webhook.disabled")
    assert disabled.data["subscription"] == {"id": failing.id, "url": receiver.url}
    assert disabled.data["reason"] == failing.disabled_reason
    # the event goes to the other subscriptions, not to the disabled one
    assert set(WebhookDelivery.objects.filter(event=disabled).values_list("subscription_id", flat=True)) == {watcher.id}
    assert webhook_deliveries_sweep() == [watcher.id]
    assert subscription_drain(subscription_id=failing.id).failed_attempts == 0  # disabled: nothing sent


def test_410_gone_disables_the_subscription_at_once(environment, receiver):
    subscription = subscription_create(environment=environment, url=receiver.url, events=["*"])
    receiver.status = 410
    record(environment, "job.added")
    subscription_drain(subscription_id=subscription.id)
    subscription.refresh_from_db()
    assert not subscription.is_active and subscription.disabled_reason == "The receiver answered 410 Gone"


def test_during_the_rotation_grace_both_secrets_verify(environment, receiver):
    subscription = subscription_create(environment=environment, url=receiver.url, events=["*"])
    old = subscription.secret
    new = subscription_rotate_secret(subscription=subscription, grace_seconds=300).secret
    record(environment, "job.added")
    subscription_drain(subscription_id=subscription.id)
    [got] = receiver.events()
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    assert verify(new, got)["type"] == "job.added"
    assert verify(old, got)["type"] == "job.added"

    # after the grace only the new secret signs
    WebhookSubscription.objects.filter(id=subscription.id).update(
        previous_secret_expires_at=timezone.now() - timedelta(seconds=1)
    )
    record(environment, "job.changed")
    subscription_drain(subscription_id=subscription.id)
    latest = receiver.events()[-1]
    assert len(latest.headers["webhook-signature"].split(" ")) == 1
    assert verify(new, latest)["type"] == "job.changed"
    with pytest.raises(WebhookVerificationError):
        verify(old, latest)


def test_an_unreachable_receiver_is_an_attempt_with_an_error_and_no_secret_in_it(environment, receiver, caplog):
    subscription = subscription_create(environment=environment, url=receiver.url, events=["*"])
    receiver.stop()
    record(environment, "job.added")
    with caplog.at_level("DEBUG"):
        subscription_drain(subscription_id=subscription.id)
    attempt = WebhookAttempt.objects.get()
    assert not attempt.succeeded and attempt.status_code is None and "Could not connect" in attempt.error
    assert subscription.secret not in caplog.text
    assert subscription.secret.removeprefix("whsec_") not in json.dumps(
        [r.__dict__ for r in caplog.records], default=str
    )


def test_redirects_are_not_followed(environment, receiver):
    receiver.status = 307
    subscription = subscription_create(environment=environment, url=receiver.url, events=["*"])
    record(environment, "job.added")
    subscription_drain(subscription_id=subscription.id)
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code == 307 and not attempt.succeeded


def test_the_retry_schedule_spans_about_a_day_with_jitter(settings):
    total = sum(retry_delay(n) for n in range(1, len(settings.KONGFLOW_WEBHOOK_RETRY_SCHEDULE) + 1))
    assert 20 * 3600 < total < 34 * 3600
    assert retry_delay(len(settings.KONGFLOW_WEBHOOK_RETRY_SCHEDULE) + 1) is None
    assert len({retry_delay(1) for _ in range(20)}) > 1  # jittered


def test_one_worker_at_a_time_drains_a_subscription_and_a_dead_workers_lease_runs_out(environment, receiver):
    subscription = subscription_create(environment=environment, url=receiver.url, events=["*"])
    record(environment, "job.added")
    WebhookSubscription.objects.filter(id=subscription.id).update(lease_until=timezone.now() + timedelta(minutes=1))
    assert subscription_drain(subscription_id=subscription.id).delivered == 0  # another worker holds it
    assert webhook_deliveries_sweep() == []
    WebhookSubscription.objects.filter(id=subscription.id).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert webhook_deliveries_sweep() == [subscription.id]
    assert subscription_drain(subscription_id=subscription.id).delivered == 1
    assert WebhookSubscription.objects.get(id=subscription.id).lease_until is None
