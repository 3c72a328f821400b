"""GET|POST /api/v1/alert-channels and DELETE /api/v1/alert-channels/<id>, scoped to the key's environment."""

from __future__ import annotations

import pytest

from endpoints.models import AlertChannel, EnvironmentType
from endpoints.services.alerts import alert_channel_create
from tests import factories

pytestmark = pytest.mark.django_db

SLACK_URL = "https://hooks.slack.com/services/T000/B000/abcdefghijkl"


@pytest.fixture
def prod_client(api_client, prod_environment):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {prod_environment.api_key}")
    return api_client


def test_create_list_and_delete(prod_client, prod_environment):
    mail = prod_client.post("/api/v1/alert-channels", {"type": "email", "email": "ops@example.com"}, format="json")
    assert mail.status_code == 201
    assert mail.json()["id"] and mail.json()["type"] == "email" and mail.json()["email"] == "ops@example.com"
    assert mail.json()["url"] is None
    slack = prod_client.post("/api/v1/alert-channels", {"type": "slack", "url": SLACK_URL}, format="json")
    assert slack.status_code == 201
    assert slack.json()["url"] == "https://hooks.slack.com/…ijkl"  # a credential: never shown again
    assert AlertChannel.objects.get(id=slack.json()["id"]).url == SLACK_URL

    listed = prod_client.get("/api/v1/alert-channels").json()
    assert [c["id"] for c in listed] == [mail.json()["id"], slack.json()["id"]]
    assert SLACK_URL not in str(listed)

    assert prod_client.delete(f"/api/v1/alert-channels/{mail.json()['id']}").status_code == 204
    assert [c["id"] for c in prod_client.get("/api/v1/alert-channels").json()] == [slack.json()["id"]]
    assert prod_client.delete(f"/api/v1/alert-channels/{mail.json()['id']}").json() == {
        "error": "Alert channel not found"
    }


def test_another_organizations_key_sees_404(prod_client, api_client):
    elsewhere = factories.RuntimeEnvironmentFactory(env_type=EnvironmentType.PRODUCTION)  # another organization
    theirs = AlertChannel.objects.create(environment=elsewhere, type="email", email="them@example.com")
    response = prod_client.delete(f"/api/v1/alert-channels/{theirs.id}")
    assert response.status_code == 404 and response.json() == {"error": "Alert channel not found"}
    assert AlertChannel.objects.filter(id=theirs.id).exists()
    assert prod_client.get("/api/v1/alert-channels").json() == []


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"type": "pager", "email": "a@example.com"}, 'type: "email" or "slack"'),
        ({"email": "a@example.com"}, 'type: "email" or "slack"'),
        (["email"], 'type: "email" or "slack"'),
        ({"type": "email", "email": "not-an-address"}, "Invalid request body: email: Enter a valid email address."),
        ({"type": "email"}, "Invalid request body: email: This field is required."),
        ({"type": "slack", "url": "ftp://hooks.example.com/x"}, "Invalid request body: url: Invalid url"),
        ({"type": "slack"}, "Invalid request body: url: This field is required."),
        ({"type": "slack", "url": "https://hooks.ex\u00e4mple.com/x"}, "Invalid request body: url: Invalid url"),
        ({"type": "slack", "url": "https://hooks.example.com/a b"}, "Invalid request body: url: Invalid url"),
    ],
)
def test_bad_input_is_a_400_and_changes_nothing(prod_client, body, error):
    response = prod_client.post("/api/v1/alert-channels", body, format="json")
    assert response.status_code == 400
    assert response.json() == {"error": error}
    assert not AlertChannel.objects.exists()


def test_a_refused_address_is_a_400_outside_development(prod_client, settings):
    settings.ENDPOINTAPI_ALLOWED_NETWORKS = ""
    body = {"type": "slack", "url": "http://10.0.0.5/hook"}
    response = prod_client.post("/api/v1/alert-channels", body, format="json")
    assert response.status_code == 400
    assert "10.0.0.5, a private address, which this environment may not call" in response.json()["error"]
    assert not AlertChannel.objects.exists()


def test_the_same_target_twice_is_a_400(prod_client):
    body = {"type": "email", "email": "ops@example.com"}
    assert prod_client.post("/api/v1/alert-channels", body, format="json").status_code == 201
    again = prod_client.post("/api/v1/alert-channels", {**body, "email": "OPS@example.com"}, format="json")
    assert again.status_code == 400 and "already has this alert channel" in again.json()["error"]
    assert AlertChannel.objects.count() == 1


def test_channels_per_environment_are_capped(prod_client, prod_environment, settings):
    settings.KONGFLOW_MAX_ALERT_CHANNELS = 2
    for n in range(2):
        body = {"type": "email", "email": f"ops{n}@example.com"}
        assert prod_client.post("/api/v1/alert-channels", body, format="json").status_code == 201
    response = prod_client.post("/api/v1/alert-channels", {"type": "email", "email": "x@example.com"}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "error": "This environment has 2 alert channels, the most KONGFLOW_MAX_ALERT_CHANNELS allows (2)"
    }
    assert AlertChannel.objects.filter(environment=prod_environment).count() == 2
    other = factories.RuntimeEnvironmentFactory()  # the cap is per environment
    assert alert_channel_create(environment=other, type="email", email="x@example.com").id


def test_a_missing_key_is_a_401(api_client):
    response = api_client.get("/api/v1/alert-channels")
    assert response.status_code == 401 and "error" in response.json()
