"""The admin for events: pages render, a subscription is created through the service (secret shown
once), deliveries show their attempts, Resend queues a delivery again."""

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction

from endpoints.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookSubscription
from endpoints.services.events import NewEvent, events_record, subscription_create, subscription_drain

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("ops", "ops@example.com", "pw")
    client.force_login(user)
    return client


@pytest.fixture
def delivered(environment, receiver):
    subscription = subscription_create(environment=environment, url=receiver.url, events=["*"])
    with transaction.atomic():
        events_record(environment=environment, events=[NewEvent("job.added", {"job": {"slug": "a"}})])
    subscription_drain(subscription_id=subscription.id)
    return WebhookDelivery.objects.get()


def test_event_pages_render_and_never_show_the_secret(admin_client, delivered):
    subscription = delivered.subscription
    for path in (
        "/admin/endpoints/webhooksubscription/",
        f"/admin/endpoints/webhooksubscription/{subscription.id}/change/",
        "/admin/endpoints/webhookdelivery/",
        f"/admin/endpoints/webhookdelivery/{delivered.id}/change/",
        "/admin/endpoints/registryevent/",
        f"/admin/endpoints/registryevent/{delivered.event_id}/change/",
        "/admin/endpoints/webhooksubscription/add/",
    ):
        response = admin_client.get(path)
        assert response.status_code == 200, path
        assert subscription.secret not in response.content.decode(), path
    page = admin_client.get(f"/admin/endpoints/webhookdelivery/{delivered.id}/change/").content.decode()
    assert '{"ok":true}' in page or "{&quot;ok&quot;:true}" in page  # the attempt's response preview


def test_adding_a_subscription_in_the_admin_goes_through_the_service(admin_client, environment):
    response = admin_client.post(
        "/admin/endpoints/webhooksubscription/add/",
        {"environment": environment.id, "url": "http://127.0.0.1:9/h", "events": '["job.added"]', "is_active": "on"},
        follow=True,
    )
    subscription = WebhookSubscription.objects.get()
    assert subscription.secret.startswith("whsec_")
    assert subscription.secret in response.content.decode()  # shown once, in the message
    bad = admin_client.post(
        "/admin/endpoints/webhooksubscription/add/",
        {"environment": environment.id, "url": "http://127.0.0.1:9/h", "events": '["nope"]'},
    )
    assert bad.status_code == 200 and "unknown event type" in bad.content.decode()
    assert WebhookSubscription.objects.count() == 1


def test_resend_queues_the_delivery_again(admin_client, delivered, receiver):
    response = admin_client.post(
        "/admin/endpoints/webhookdelivery/",
        {"action": "resend", "_selected_action": [delivered.id]},
        follow=True,
    )
    assert "Queued 1 delivery" in response.content.decode()
    delivered.refresh_from_db()
    assert delivered.status == DeliveryStatus.PENDING and delivered.attempts == 0
    subscription_drain(subscription_id=delivered.subscription_id)
    assert [r.headers["webhook-id"] for r in receiver.events()] == [delivered.event_id] * 2
    assert WebhookAttempt.objects.filter(delivery=delivered).count() == 2
