"""KONGFLOW_MAX_SUBSCRIPTIONS: past it a create is a 400 naming the limit (API and admin share the
service), nothing is stored, and concurrent creates cannot exceed it."""

import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connections, transaction

from endpoints.models import WebhookSubscription
from endpoints.services.events import InvalidSubscription, subscription_create
from tests import factories
from tests.support.waiting import a_backend_waits_on_a_lock, wait_for

pytestmark = pytest.mark.django_db

ERROR = (
    "This environment has 2 event subscriptions, the most KONGFLOW_MAX_SUBSCRIPTIONS allows (2): "
    "delete one, or subscribe one URL to several event types"
)


@pytest.fixture
def cap(settings):
    settings.KONGFLOW_MAX_SUBSCRIPTIONS = 2
    return settings


def create(auth_client, n):
    return auth_client.post(
        "/api/v1/event-subscriptions", {"url": f"http://127.0.0.1:9/{n}", "events": ["*"]}, format="json"
    )


def test_past_the_cap_the_api_answers_400_naming_the_limit_and_stores_nothing(auth_client, dev_environment, cap):
    assert [create(auth_client, n).status_code for n in range(2)] == [201, 201]
    refused = create(auth_client, 2)
    assert (refused.status_code, refused.json()) == (400, {"error": ERROR})
    assert WebhookSubscription.objects.filter(environment=dev_environment).count() == 2

    other = factories.RuntimeEnvironmentFactory()  # the cap is per environment
    assert subscription_create(environment=other, url="http://127.0.0.1:9/", events=["*"]).environment == other

    first = WebhookSubscription.objects.filter(environment=dev_environment).first()
    auth_client.patch(f"/api/v1/event-subscriptions/{first.id}", {"isActive": False}, format="json")
    assert create(auth_client, 3).status_code == 400  # a disabled one still counts: it can be enabled again
    assert auth_client.delete(f"/api/v1/event-subscriptions/{first.id}").status_code == 204
    assert create(auth_client, 4).status_code == 201


def test_the_admin_refuses_past_the_cap_with_the_same_message(client, environment, cap):
    client.force_login(get_user_model().objects.create_superuser("ops", "ops@example.com", "pw"))
    for n in range(2):
        subscription_create(environment=environment, url=f"http://127.0.0.1:9/{n}", events=["*"])
    response = client.post(
        "/admin/endpoints/webhooksubscription/add/",
        {"environment": environment.id, "url": "http://127.0.0.1:9/h", "events": '["*"]', "is_active": "on"},
    )
    assert response.status_code == 200  # the form again, with the error
    assert "KONGFLOW_MAX_SUBSCRIPTIONS allows (2)" in response.content.decode()
    assert WebhookSubscription.objects.filter(environment=environment).count() == 2




@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_cannot_exceed_the_cap(environment, cap):
    """A's create is not committed when B counts: B waits for the environment row, then sees it."""
    cap.KONGFLOW_MAX_SUBSCRIPTIONS = 1
    results, release_a = {}, threading.Event()

    def create_in_thread(key, hold=None):
        try:
            with transaction.atomic():
                results[key] = subscription_create(
                    environment=environment, url=f"http://127.0.0.1:9/{key}", events=["*"]
                )
                if hold is not None:
                    hold.wait(30)
        except InvalidSubscription as exc:
            results[key] = exc
        finally:
            connections.close_all()

    a = threading.Thread(target=create_in_thread, args=("a", release_a))
    a.start()
    wait_for(lambda: "a" in results, what="A to create")
    b = threading.Thread(target=create_in_thread, args=("b",))
    b.start()
    wait_for(a_backend_waits_on_a_lock, what="B to wait for the environment row")
    assert "b" not in results
    release_a.set()
    a.join(30)
    b.join(30)
    assert isinstance(results["a"], WebhookSubscription)
    assert isinstance(results["b"], InvalidSubscription) and "(1)" in results["b"].message
    assert WebhookSubscription.objects.filter(environment=environment).count() == 1
