"""Webhooks go through the outbound guard, like endpoint calls.

Delivery: a PRODUCTION subscription whose URL is (in any spelling) a loopback, private, link-local
or metadata address is refused before any socket is connected: the attempt is stored with
FORBIDDEN_ADDRESS and the subscription disabled at once (retrying cannot help), its delivery kept
for when it is enabled again. DEVELOPMENT delivers to loopback; the allow-list opens PRODUCTION.

Subscribing: outside DEVELOPMENT a literal refused address (or `localhost`) is a 400 at once,
without any DNS lookup; host names are left to the delivery's check (DNS can change).
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from standardwebhooks import Webhook

from endpoints.models import (
    DeliveryStatus,
    EnvironmentType,
    RegistryEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from endpoints.services.events import (
    InvalidSubscription,
    NewEvent,
    events_record,
    subscription_create,
    subscription_drain,
    subscription_update,
)
from tests import factories
from tests.support.outbound import dns_lookups, loopback_only, socket_connects
from tests.test_outbound_guard import LOOPBACK_SPELLINGS, NON_LOOPBACK

pytestmark = pytest.mark.django_db

GUARDED_TYPES = [EnvironmentType.PRODUCTION, EnvironmentType.STAGING, EnvironmentType.PREVIEW]


@pytest.fixture
def strict(settings):
    """No allow-list: what a production deployment without ENDPOINTAPI_ALLOWED_NETWORKS does."""
    settings.ENDPOINTAPI_ALLOWED_NETWORKS = ""
    return settings


@pytest.fixture
def prod_client(api_client, prod_environment):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {prod_environment.api_key}")
    return api_client


def record_one(environment):
    with transaction.atomic():
        [event] = events_record(environment=environment, events=[NewEvent("job.added", {"job": {"slug": "a"}})])
    return event


def stored_subscription(settings, environment, url):
    """A subscription stored while the allow-list opened everything, then the allow-list is emptied
    (an operator narrowed it): only the delivery's own check stands between it and the address."""
    settings.ENDPOINTAPI_ALLOWED_NETWORKS = "0.0.0.0/0, ::/0"
    subscription = subscription_create(environment=environment, url=url, events=["*"])
    settings.ENDPOINTAPI_ALLOWED_NETWORKS = ""
    return subscription


def assert_refused_and_disabled(subscription, event):
    attempt = WebhookAttempt.objects.get()
    assert not attempt.succeeded and attempt.status_code is None
    assert attempt.error.startswith("FORBIDDEN_ADDRESS: Endpoint ")
    assert "which this environment may not call" in attempt.error
    assert "ENDPOINTAPI_ALLOWED_NETWORKS" in attempt.error
    subscription.refresh_from_db()
    assert not subscription.is_active and subscription.disabled_reason.startswith("FORBIDDEN_ADDRESS: ")
    # Nothing is lost: the delivery waits, due, for the subscription to be enabled again.
    delivery = WebhookDelivery.objects.get(subscription=subscription, event=event)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    assert delivery.next_attempt_at <= timezone.now()
    # Made visible: `webhook.disabled` says why.
    disabled = RegistryEvent.objects.get(type="webhook.disabled")
    assert disabled.data["subscription"]["id"] == subscription.id
    assert disabled.data["reason"].startswith("FORBIDDEN_ADDRESS: ")


# -- delivery ------------------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", LOOPBACK_SPELLINGS)
def test_a_production_delivery_to_any_loopback_spelling_is_refused_and_disables_at_once(
    settings, prod_environment, receiver, spelling
):
    subscription = stored_subscription(settings, prod_environment, spelling.format(port=receiver.server.server_port))
    event = record_one(prod_environment)
    with socket_connects() as connects:
        result = subscription_drain(subscription_id=subscription.id)
    assert (result.delivered, result.failed_attempts, result.gave_up) == (0, 1, 0)
    assert receiver.events() == [] and receiver.rejected == []  # nothing reached the receiver
    assert connects == []  # refused before any socket was connected
    assert_refused_and_disabled(subscription, event)
    # Disabled: neither a drain nor the sweeper retries it.
    assert subscription_drain(subscription_id=subscription.id).failed_attempts == 0
    assert WebhookAttempt.objects.count() == 1


@pytest.mark.parametrize("url", NON_LOOPBACK)
def test_a_production_delivery_to_private_link_local_and_metadata_addresses_is_refused(settings, prod_environment, url):
    subscription = stored_subscription(settings, prod_environment, url)
    event = record_one(prod_environment)
    with loopback_only(), socket_connects() as connects:  # a guard failure could not leave loopback
        result = subscription_drain(subscription_id=subscription.id)
    assert (result.delivered, result.failed_attempts) == (0, 1)
    assert connects == []
    assert_refused_and_disabled(subscription, event)


def test_a_refused_subscription_delivers_its_backlog_once_the_allow_list_opens_and_it_is_enabled(
    settings, prod_environment, receiver
):
    subscription = stored_subscription(settings, prod_environment, receiver.url)
    first = record_one(prod_environment)
    subscription_drain(subscription_id=subscription.id)
    subscription.refresh_from_db()
    assert not subscription.is_active and receiver.events() == []

    settings.ENDPOINTAPI_ALLOWED_NETWORKS = "127.0.0.0/8"
    subscription_update(subscription=subscription, changes={"is_active": True})
    assert subscription_drain(subscription_id=subscription.id).delivered == 1
    assert [r.headers["webhook-id"] for r in receiver.events()] == [first.id]
    assert WebhookDelivery.objects.get(event=first).status == DeliveryStatus.DELIVERED


def test_a_development_subscription_delivers_to_loopback(strict, environment, receiver):
    assert environment.type == EnvironmentType.DEVELOPMENT
    for url in (receiver.url, f"http://localhost:{receiver.server.server_port}/hooks"):
        subscription = subscription_create(environment=environment, url=url, events=["*"])
        event = record_one(environment)
        assert subscription_drain(subscription_id=subscription.id).delivered == 1
        assert receiver.events()[-1].headers["webhook-id"] == event.id
        subscription_update(subscription=subscription, changes={"is_active": False})
    assert not WebhookAttempt.objects.exclude(succeeded=True).exists()


def test_the_allow_list_opens_loopback_to_a_production_subscription(settings, prod_environment, receiver):
    settings.ENDPOINTAPI_ALLOWED_NETWORKS = "127.0.0.0/8"
    subscription = subscription_create(environment=prod_environment, url=receiver.url, events=["*"])
    event = record_one(prod_environment)
    with socket_connects() as connects:
        assert subscription_drain(subscription_id=subscription.id).delivered == 1
    assert connects  # it really connected, to the receiver
    [got] = receiver.events()
    assert Webhook(subscription.secret).verify(got.body, got.headers)["type"] == "job.added"
    assert got.headers["webhook-id"] == event.id

    settings.ENDPOINTAPI_ALLOWED_NETWORKS = "10.0.0.0/8"  # read at each delivery
    record_one(prod_environment)
    assert subscription_drain(subscription_id=subscription.id).delivered == 0
    assert len(receiver.events()) == 1
    assert WebhookAttempt.objects.filter(error__startswith="FORBIDDEN_ADDRESS").count() == 1


# -- subscribing ---------------------------------------------------------------------------------

REFUSED_AT_ONCE = [s.format(port=8080) for s in LOOPBACK_SPELLINGS] + NON_LOOPBACK


def _assert_refused_400(response) -> None:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error.startswith("url: ") and "which this environment may not call" in error
    assert "ENDPOINTAPI_ALLOWED_NETWORKS" in error  # the guard's hint


@pytest.mark.parametrize("url", REFUSED_AT_ONCE)
def test_subscribing_or_moving_to_a_refused_literal_address_is_a_400_at_once_without_dns(
    strict, prod_client, prod_environment, url
):
    existing = subscription_create(environment=prod_environment, url="https://hooks.example.com/k", events=["*"])
    with dns_lookups() as lookups, socket_connects() as connects:
        created = prod_client.post("/api/v1/event-subscriptions", {"url": url, "events": ["*"]}, format="json")
        moved = prod_client.patch(f"/api/v1/event-subscriptions/{existing.id}", {"url": url}, format="json")
    _assert_refused_400(created)
    _assert_refused_400(moved)
    assert lookups == [] and connects == []
    assert list(WebhookSubscription.objects.values_list("id", "url")) == [(existing.id, "https://hooks.example.com/k")]


@pytest.mark.parametrize(
    ("url", "means"),
    [
        ("http://2130706433:8080/h", "127.0.0.1, a loopback address"),
        ("http://0xa9fea9fe/latest/meta-data/", "169.254.169.254, a link-local address"),
        ("http://[::ffff:10.0.0.1]/h", "::ffff:a00:1, a private address"),
        ("http://localhost:3000/h", "127.0.0.1, a loopback address"),
        ("http://api.localhost:3000/h", "127.0.0.1, a loopback address"),
        ("http://[::1]:3000/h", "::1, a loopback address"),
    ],
)
def test_the_refusal_names_the_address_the_spelling_means(strict, prod_client, url, means):
    response = prod_client.post("/api/v1/event-subscriptions", {"url": url, "events": ["*"]}, format="json")
    assert f" is {means}, which this environment may not call" in response.json()["error"]


@pytest.mark.parametrize("env_type", GUARDED_TYPES)
def test_every_type_but_development_refuses_at_once_in_the_service(strict, env_type):
    environment = factories.RuntimeEnvironmentFactory(env_type=env_type)
    with pytest.raises(InvalidSubscription, match="a link-local address"):
        subscription_create(environment=environment, url="http://169.254.169.254/", events=["*"])
    subscription = subscription_create(environment=environment, url="https://hooks.example.com/k", events=["*"])
    with pytest.raises(InvalidSubscription, match="a loopback address"):
        subscription_update(subscription=subscription, changes={"url": "http://localhost/", "description": "x"})
    assert list(WebhookSubscription.objects.values_list("url", "description")) == [("https://hooks.example.com/k", "")]


def test_host_names_development_and_the_allow_list_are_accepted_without_dns(settings, strict, prod_client, auth_client):
    with dns_lookups() as lookups:
        named = prod_client.post(
            "/api/v1/event-subscriptions", {"url": "https://hooks.example.com/k", "events": ["*"]}, format="json"
        )
        dev = auth_client.post(
            "/api/v1/event-subscriptions", {"url": "http://localhost:3000/hooks", "events": ["*"]}, format="json"
        )
        settings.ENDPOINTAPI_ALLOWED_NETWORKS = "10.0.0.0/8"
        allowed = prod_client.post(
            "/api/v1/event-subscriptions", {"url": "http://10.1.2.3:8080/hooks", "events": ["*"]}, format="json"
        )
    assert (named.status_code, dev.status_code, allowed.status_code) == (201, 201, 201)
    assert lookups == []  # a host name is resolved (and checked) at delivery time only


@pytest.mark.parametrize("url", ["http://user:pass@hooks.example.com/k", "http://user@hooks.example.com/k"])
def test_credentials_in_a_subscription_url_are_a_400(prod_client, prod_environment, url):
    existing = subscription_create(environment=prod_environment, url="https://hooks.example.com/k", events=["*"])
    created = prod_client.post("/api/v1/event-subscriptions", {"url": url, "events": ["*"]}, format="json")
    moved = prod_client.patch(f"/api/v1/event-subscriptions/{existing.id}", {"url": url}, format="json")
    for response in (created, moved):
        assert (response.status_code, response.json()) == (
            400,
            {"error": "Invalid request body: url: Endpoint URLs must not contain credentials (user:password@)"},
        )
    with pytest.raises(InvalidSubscription, match="must not contain credentials"):
        subscription_create(environment=prod_environment, url=url, events=["*"])
    assert list(WebhookSubscription.objects.values_list("url", flat=True)) == ["https://hooks.example.com/k"]


@pytest.fixture
def admin_client(client):
    client.force_login(get_user_model().objects.create_superuser("ops", "ops@example.com", "pw"))
    return client


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://169.254.169.254/latest/meta-data/", "a link-local address, which this environment may not call"),
        ("http://localhost:3000/h", "a loopback address, which this environment may not call"),
        ("http://user:pass@hooks.example.com/k", "must not contain credentials"),
    ],
)
def test_the_admin_refuses_the_same_urls(strict, admin_client, prod_environment, url, message):
    existing = subscription_create(environment=prod_environment, url="https://hooks.example.com/k", events=["*"])
    add = admin_client.post(
        "/admin/endpoints/webhooksubscription/add/",
        {"environment": prod_environment.id, "url": url, "events": '["*"]', "is_active": "on"},
    )
    change = admin_client.post(
        f"/admin/endpoints/webhooksubscription/{existing.id}/change/",
        {"url": url, "events": '["*"]', "description": "", "is_active": "on"},
    )
    for response in (add, change):
        assert response.status_code == 200  # the form again, with the error
        assert message in response.content.decode()
    assert list(WebhookSubscription.objects.values_list("url", flat=True)) == ["https://hooks.example.com/k"]
