"""The console's alert channels (list, add, delete; the webhook URL only masked) and notifications."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction

from endpoints.models import AlertChannel, AlertNotification
from endpoints.services.alerts import alert_channel_create
from endpoints.services.events import NewEvent, events_record
from endpoints.services.events.recording import endpoint_ref
from tests import factories

pytestmark = pytest.mark.django_db

SLACK_URL = "https://hooks.slack.com/services/T000/B000/secretpart9876"


@pytest.fixture
def admin_client(client):
    client.force_login(get_user_model().objects.create_superuser("ops", "ops@example.com", "pw"))
    return client


def test_the_list_and_the_page_show_the_webhook_url_masked(admin_client, prod_environment):
    channel = alert_channel_create(environment=prod_environment, type="slack", url=SLACK_URL)
    for page in ("/admin/endpoints/alertchannel/", f"/admin/endpoints/alertchannel/{channel.id}/change/"):
        html = admin_client.get(page).content.decode()
        assert "https://hooks.slack.com/…9876" in html
        assert "secretpart" not in html


def test_adding_a_channel_goes_through_the_service(admin_client, prod_environment, settings):
    settings.KONGFLOW_MAX_ALERT_CHANNELS = 1
    form = {"environment": prod_environment.id, "type": "email", "email": "ops@example.com", "url": ""}
    response = admin_client.post("/admin/endpoints/alertchannel/add/", form)
    assert response.status_code == 302
    assert AlertChannel.objects.get().email == "ops@example.com"
    again = admin_client.post("/admin/endpoints/alertchannel/add/", {**form, "email": "two@example.com"})
    assert again.status_code == 200 and "KONGFLOW_MAX_ALERT_CHANNELS" in again.content.decode()
    bad = admin_client.post("/admin/endpoints/alertchannel/add/", {**form, "type": "slack", "email": ""})
    assert "url: required for a slack channel" in bad.content.decode()
    assert AlertChannel.objects.count() == 1


def test_deleting_a_channel(admin_client, prod_environment):
    channel = alert_channel_create(environment=prod_environment, type="email", email="ops@example.com")
    response = admin_client.post(f"/admin/endpoints/alertchannel/{channel.id}/delete/", {"post": "yes"})
    assert response.status_code == 302 and not AlertChannel.objects.exists()


def test_the_notifications_page_shows_what_was_sent(admin_client, prod_environment):
    alert_channel_create(environment=prod_environment, type="slack", url=SLACK_URL)
    endpoint = factories.EndpointFactory(environment=prod_environment, slug="billing")
    with transaction.atomic():
        data = {"endpoint": endpoint_ref(endpoint), "consecutiveFailures": 10, "threshold": 10}
        events_record(environment=prod_environment, events=[NewEvent("endpoint.disabled", data)])
    notification = AlertNotification.objects.get()
    listing = admin_client.get("/admin/endpoints/alertnotification/").content.decode()
    assert "disabled" in listing and "secretpart" not in listing
    page = admin_client.get(f"/admin/endpoints/alertnotification/{notification.id}/change/").content.decode()
    assert "Endpoint billing was disabled" in page and "secretpart" not in page
