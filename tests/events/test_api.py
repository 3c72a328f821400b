"""The pull API and the subscription API, per environment, with v2-style errors."""

import pytest
from django.db import transaction

from endpoints.models import RegistryEvent, WebhookSubscription
from endpoints.services.events import NewEvent, events_record
from tests import factories

pytestmark = pytest.mark.django_db


def record(environment, n):
    with transaction.atomic():
        events_record(environment=environment, events=[NewEvent("endpoint.deleted", {"n": i}) for i in range(n)])


def test_the_pull_api_pages_through_the_environments_events_without_gaps(auth_client, dev_environment):
    record(dev_environment, 12)
    record(factories.RuntimeEnvironmentFactory(), 3)  # another environment's events are never shown
    record(dev_environment, 13)
    seen, after, pages = [], 0, 0
    while True:
        body = auth_client.get(f"/api/v1/registry-events?after={after}&limit=10").json()
        seen += [event["sequence"] for event in body["data"]]
        after = body["next"]
        pages += 1
        if not body["hasMore"]:
            break
    assert seen == list(range(1, 26)) and pages == 3 and after == 25
    first = auth_client.get("/api/v1/registry-events?limit=1").json()
    event = RegistryEvent.objects.get(environment=dev_environment, sequence=1)
    assert first == {
        "data": [
            {
                "id": event.id,
                "sequence": 1,
                "type": "endpoint.deleted",
                "version": 1,
                "timestamp": first["data"][0]["timestamp"],
                "data": {"sequence": 1, "environment": event.data["environment"], "n": 0},
            }
        ],
        "next": 1,
        "hasMore": True,
    }
    assert first["data"][0]["timestamp"].endswith("Z")
    assert auth_client.get("/api/v1/registry-events?after=25").json() == {"data": [], "next": 25, "hasMore": False}


@pytest.mark.parametrize("query", ["after=-1", "after=x", "limit=0", "limit=abc"])
def test_the_pull_api_rejects_bad_paging(auth_client, query):
    response = auth_client.get(f"/api/v1/registry-events?{query}")
    assert response.status_code == 400
    assert response.json()["error"].startswith("Invalid request body: ")


def test_the_pull_api_needs_a_key(api_client):
    assert api_client.get("/api/v1/registry-events").status_code == 401


def test_subscriptions_are_created_shown_changed_and_deleted(auth_client, dev_environment):
    created = auth_client.post(
        "/api/v1/event-subscriptions",
        {"url": "http://127.0.0.1:9/hooks", "events": ["job.added", "endpoint.indexed"], "description": "ci"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["secret"].startswith("whsec_")
    subscription = WebhookSubscription.objects.get(id=body["id"])
    assert subscription.environment == dev_environment and subscription.secret == body["secret"]
    assert body == {
        "id": subscription.id,
        "url": "http://127.0.0.1:9/hooks",
        "events": ["endpoint.indexed", "job.added"],
        "description": "ci",
        "isActive": True,
        "disabledAt": None,
        "disabledReason": "",
        "createdAt": body["createdAt"],
        "secret": subscription.secret,
    }
    shown = auth_client.get(f"/api/v1/event-subscriptions/{subscription.id}").json()
    assert "secret" not in shown and shown["url"] == "http://127.0.0.1:9/hooks"
    assert [s["id"] for s in auth_client.get("/api/v1/event-subscriptions").json()] == [subscription.id]

    patched = auth_client.patch(
        f"/api/v1/event-subscriptions/{subscription.id}", {"events": ["*"], "isActive": False}, format="json"
    ).json()
    assert patched["events"] == ["*"] and patched["isActive"] is False and patched["disabledAt"]
    disabled = RegistryEvent.objects.get(environment=dev_environment)
    assert disabled.type == "webhook.disabled" and disabled.data["reason"] == "Disabled by a user"
    assert auth_client.delete(f"/api/v1/event-subscriptions/{subscription.id}").status_code == 204
    assert not WebhookSubscription.objects.exists()
    assert auth_client.get(f"/api/v1/event-subscriptions/{subscription.id}").json() == {
        "error": "Event subscription not found"
    }


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({"url": "http://127.0.0.1:9/h", "events": ["job.exploded"]}, "events: unknown event type(s) job.exploded"),
        ({"url": "http://127.0.0.1:9/h", "events": []}, "Invalid request body: events: This list may not be empty."),
        ({"url": "ftp://example.com/h", "events": ["*"]}, "Invalid request body: url: Invalid url"),
        ({"events": ["*"]}, "Invalid request body: url: This field is required."),
    ],
)
def test_invalid_subscriptions_are_rejected_and_nothing_is_stored(auth_client, payload, error):
    response = auth_client.post("/api/v1/event-subscriptions", payload, format="json")
    assert (response.status_code, response.json()) == (400, {"error": error})
    assert not WebhookSubscription.objects.exists()


def test_another_environments_subscription_is_not_found(auth_client):
    other = factories.RuntimeEnvironmentFactory()
    subscription = WebhookSubscription.objects.create(environment=other, url="http://127.0.0.1:9/", secret="whsec_x")
    for method in ("get", "patch", "delete"):
        response = getattr(auth_client, method)(f"/api/v1/event-subscriptions/{subscription.id}", {}, format="json")
        assert response.status_code == 404
    assert auth_client.get("/api/v1/event-subscriptions").json() == []
    assert WebhookSubscription.objects.filter(id=subscription.id, is_active=True).exists()


def test_rotating_the_secret_keeps_the_previous_one_for_the_grace(auth_client):
    created = auth_client.post(
        "/api/v1/event-subscriptions", {"url": "http://127.0.0.1:9/h", "events": ["*"]}, format="json"
    ).json()
    rotated = auth_client.post(
        f"/api/v1/event-subscriptions/{created['id']}/rotate-secret", {"graceSeconds": 600}, format="json"
    ).json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]
    assert rotated["previousSecretExpiresAt"]
    subscription = WebhookSubscription.objects.get(id=created["id"])
    assert subscription.previous_secret == created["secret"]
    bad = auth_client.post(
        f"/api/v1/event-subscriptions/{created['id']}/rotate-secret", {"graceSeconds": -1}, format="json"
    )
    assert bad.status_code == 400
