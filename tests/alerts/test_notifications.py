"""Alert notifications: real transitions of a real endpoint, a real SMTP server and a real webhook
receiver on loopback, real PostgreSQL. Exactly one message per channel and transition."""

from __future__ import annotations

import pytest
from django.db import transaction

from endpoints.models import AlertNotification, AlertStatus, EnvironmentType, IndexSource
from endpoints.services.alerts import alert_channel_create, alert_notification_send, alert_notifications_sweep
from endpoints.services.events import NewEvent, events_record
from endpoints.services.events.recording import endpoint_ref
from endpoints.services.indexing import endpoint_index_request, endpoint_index_run
from tests import factories


def index(endpoint) -> None:
    endpoint_index_run(index_id=endpoint_index_request(endpoint=endpoint, source=IndexSource.MANUAL).id)


def send_due() -> list[str | None]:
    """What the send task does for every queued notification, in process."""
    return [
        alert_notification_send(notification_id=notification_id)
        for notification_id in AlertNotification.objects.filter(status=AlertStatus.PENDING).values_list(
            "id", flat=True
        )
    ]


def slack_texts(slack) -> list[str]:
    return [received.json["text"] for received in slack.events()]


@pytest.fixture
def channels(dev_environment, smtp, slack):
    alert_channel_create(environment=dev_environment, type="email", email="ops@example.com")
    alert_channel_create(environment=dev_environment, type="slack", url=slack.url)


@pytest.mark.django_db
def test_failing_then_recovered_sends_one_mail_and_one_post_each(
    dev_environment, channels, smtp, slack, flaky, settings
):
    settings.KONGFLOW_HEALTH_FAILING_AFTER = 3
    settings.KONGFLOW_APP_ORIGIN = "https://kongflow.example.com"
    endpoint = factories.EndpointFactory(environment=dev_environment, slug="billing", url=flaky.url)
    index(endpoint)  # never indexed -> healthy: not a transition that alerts
    assert not AlertNotification.objects.exists()

    flaky.healthy = False
    index(endpoint)
    index(endpoint)  # degraded twice: no alert yet
    assert not AlertNotification.objects.exists()
    index(endpoint)  # the third failure in a row: failing
    assert send_due() == ["sent", "sent"]
    index(endpoint)  # still failing: nothing new
    assert send_due() == []

    [mail] = smtp.messages
    assert mail["To"] == "ops@example.com" and mail["From"] == "alerts@kongflow.test"
    assert mail["Subject"] == "[Kongflow] Endpoint billing is failing (development (DEVELOPMENT))"
    body = mail.get_content()
    assert "Consecutive failed indexes: 3." in body
    assert "Error: INVALID_JSON" in body and "Hint: " in body
    assert f"Console: https://kongflow.example.com/admin/endpoints/endpoint/{endpoint.id}/change/" in body
    [text] = slack_texts(slack)
    assert text.startswith("*[Kongflow] Endpoint billing is failing") and "Error: INVALID_JSON" in text
    assert slack.events()[0].headers["content-type"] == "application/json"

    flaky.healthy = True
    index(endpoint)  # recovered
    assert send_due() == ["sent", "sent"]
    assert len(smtp.messages) == 2 and len(slack.events()) == 2
    assert smtp.messages[1]["Subject"].startswith("[Kongflow] Endpoint billing recovered")
    assert "Its last index succeeded." in slack_texts(slack)[1]

    flaky.healthy = False
    for _ in range(3):
        index(endpoint)  # a new streak fails: announced again
    assert send_due() == ["sent", "sent"]
    assert len(smtp.messages) == 3 and len(slack.events()) == 3
    assert list(AlertNotification.objects.order_by("created_at").values_list("transition", flat=True)) == [
        "failing",
        "failing",
        "recovered",
        "recovered",
        "failing",
        "failing",
    ]


@pytest.mark.django_db
def test_notifications_are_queued_on_commit_and_never_sent_twice(
    dev_environment, channels, smtp, slack, flaky, django_capture_on_commit_callbacks
):
    endpoint = factories.EndpointFactory(environment=dev_environment, url=flaky.url)
    flaky.healthy = False
    with django_capture_on_commit_callbacks() as callbacks:
        index(endpoint)  # no success ever: failing at once
    notifications = list(AlertNotification.objects.values_list("id", flat=True))
    assert len(notifications) == 2
    assert len(callbacks) >= 2  # the index's own on-commit work and one dispatch per notification
    first = notifications[0]
    assert alert_notification_send(notification_id=first) == "sent"
    assert alert_notification_send(notification_id=first) is None  # a duplicate task: nothing to do
    send_due()
    assert send_due() == []
    assert len(smtp.messages) == 1 and len(slack.events()) == 1


def _record(environment, endpoint, event_type, **data) -> None:
    payload = {"endpoint": endpoint_ref(endpoint), **data}
    with transaction.atomic():
        events_record(environment=environment, events=[NewEvent(event_type, payload)])


@pytest.mark.django_db
def test_disabling_soon_and_disabled_are_announced_once_each(smtp, slack, flaky, settings):
    """A real streak of failures of a PRODUCTION endpoint: failing, then disabling soon at half the
    threshold, then disabled; each announced once, with the last error the events carry."""
    settings.KONGFLOW_DISABLE_AFTER_FAILURES = 4
    environment = factories.RuntimeEnvironmentFactory(env_type=EnvironmentType.PRODUCTION)
    alert_channel_create(environment=environment, type="email", email="ops@example.com")
    alert_channel_create(environment=environment, type="slack", url=slack.url)
    endpoint = factories.EndpointFactory(environment=environment, slug="billing", url=flaky.url)
    flaky.healthy = False
    for _ in range(4):
        index(endpoint)
    endpoint.refresh_from_db()
    assert endpoint.health == "DISABLED"
    assert send_due() == ["sent"] * 6  # failing, disabling soon, disabled: two channels each

    subjects = [mail["Subject"] for mail in smtp.messages]
    assert subjects == [
        "[Kongflow] Endpoint billing is failing (production (PRODUCTION))",
        "[Kongflow] Endpoint billing will be disabled soon (production (PRODUCTION))",
        "[Kongflow] Endpoint billing was disabled (production (PRODUCTION))",
    ]
    _, soon, disabled = slack_texts(slack)
    assert "Consecutive failed indexes: 2 of 4." in soon and "Error: INVALID_JSON" in soon and "Hint: " in soon
    assert "Consecutive failed indexes: 4 of 4." in disabled and "until it is enabled again" in disabled


@pytest.mark.django_db
def test_another_environment_is_not_told(dev_environment, channels, smtp, slack, flaky):
    other = factories.RuntimeEnvironmentFactory()
    endpoint = factories.EndpointFactory(environment=other, url=flaky.url)
    flaky.healthy = False
    index(endpoint)
    assert not AlertNotification.objects.exists()
    assert smtp.messages == [] and slack.events() == []


@pytest.mark.django_db
def test_a_failed_send_is_retried_with_backoff_then_sent_once(dev_environment, slack, flaky, settings):
    settings.KONGFLOW_ALERT_RETRY_SCHEDULE = [0, 0]
    alert_channel_create(environment=dev_environment, type="slack", url=slack.url)
    endpoint = factories.EndpointFactory(environment=dev_environment, url=flaky.url)
    flaky.healthy = False
    index(endpoint)
    slack.status = 503
    assert send_due() == ["retry"]
    slack.status = 200
    assert send_due() == ["sent"]
    assert len(slack.rejected) == 1 and len(slack.events()) == 1
    notification = AlertNotification.objects.get()
    assert (notification.status, notification.attempts, notification.last_error) == (AlertStatus.SENT, 2, "")


@pytest.mark.django_db
def test_sending_gives_up_after_the_schedule(dev_environment, smtp, flaky, settings):
    settings.KONGFLOW_ALERT_RETRY_SCHEDULE = [0]
    alert_channel_create(environment=dev_environment, type="email", email="ops@example.com")
    endpoint = factories.EndpointFactory(environment=dev_environment, url=flaky.url)
    flaky.healthy = False
    index(endpoint)
    smtp.refuse(451)  # a temporary refusal: retried
    assert send_due() == ["retry"]
    assert send_due() == ["failed"]
    notification = AlertNotification.objects.get()
    assert notification.status == AlertStatus.FAILED and "451" in notification.last_error


@pytest.mark.django_db
def test_a_permanent_refusal_is_not_retried(dev_environment, smtp, flaky, settings):
    settings.KONGFLOW_ALERT_RETRY_SCHEDULE = [0, 0, 0]
    alert_channel_create(environment=dev_environment, type="email", email="ops@example.com")
    endpoint = factories.EndpointFactory(environment=dev_environment, url=flaky.url)
    flaky.healthy = False
    index(endpoint)
    smtp.refuse(550)
    assert send_due() == ["failed"]
    assert AlertNotification.objects.get().attempts == 1


@pytest.mark.django_db
def test_a_webhook_the_guard_refuses_is_not_sent(prod_environment, slack, settings):
    """The guard is asked at each send: a channel created while the allow-list opened loopback is
    refused once it no longer does (FORBIDDEN_ADDRESS: nothing sent, not retried)."""
    settings.ENDPOINTAPI_ALLOWED_NETWORKS = "127.0.0.0/8"
    channel = alert_channel_create(environment=prod_environment, type="slack", url=slack.url)
    settings.ENDPOINTAPI_ALLOWED_NETWORKS = ""
    endpoint = factories.EndpointFactory(environment=prod_environment)
    _record(prod_environment, endpoint, "endpoint.disabled", consecutiveFailures=10, threshold=10)
    assert send_due() == ["failed"]
    notification = AlertNotification.objects.get(channel=channel)
    assert notification.last_error.startswith("FORBIDDEN_ADDRESS")
    assert slack.events() == [] and slack.rejected == []


@pytest.mark.django_db
def test_the_hourly_limit_suppresses_the_excess_and_the_next_message_says_so(
    dev_environment, slack, flaky, settings
):
    settings.KONGFLOW_ALERT_MAX_PER_HOUR = 1
    alert_channel_create(environment=dev_environment, type="slack", url=slack.url)
    endpoint = factories.EndpointFactory(environment=dev_environment, slug="billing", url=flaky.url)
    flaky.healthy = False
    index(endpoint)
    assert send_due() == ["sent"]
    flaky.healthy = True
    index(endpoint)
    flaky.healthy = False
    index(endpoint)  # degraded, then failing with the default threshold of 3
    index(endpoint)
    index(endpoint)
    assert send_due() == ["suppressed", "suppressed"]  # recovered, failing again: over the limit
    assert len(slack.events()) == 1
    assert AlertNotification.objects.filter(status=AlertStatus.SUPPRESSED).count() == 2

    AlertNotification.objects.filter(status=AlertStatus.SENT).update(
        admitted_at=AlertNotification.objects.get(status=AlertStatus.SENT).admitted_at.replace(year=2000)
    )  # an hour later
    flaky.healthy = True
    index(endpoint)
    assert send_due() == ["sent"]
    assert "(2 earlier alert(s) of this channel were not sent" in slack_texts(slack)[1]


@pytest.mark.django_db
def test_the_sweeper_finds_a_notification_whose_dispatch_was_lost(dev_environment, slack, flaky, settings):
    alert_channel_create(environment=dev_environment, type="slack", url=slack.url)
    endpoint = factories.EndpointFactory(environment=dev_environment, url=flaky.url)
    flaky.healthy = False
    index(endpoint)  # its on-commit dispatch never runs inside the test's transaction
    [notification] = AlertNotification.objects.values_list("id", flat=True)
    assert alert_notifications_sweep() == [notification]
    assert send_due() == ["sent"]
    assert alert_notifications_sweep() == []
