import pytest


def test_healthz(client):
    assert client.get("/healthz").json() == {"ok": True}


@pytest.mark.django_db
def test_readyz_checks_the_database_and_the_broker(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["ok"] is True
    assert response.json()["checks"] == {"database": True, "broker": True}


@pytest.mark.django_db
def test_readyz_shows_housekeeping_that_stopped_running(client, settings):
    from datetime import timedelta

    from django.utils import timezone

    from endpoints.models import HousekeepingRun

    now = timezone.now()
    HousekeepingRun.objects.create(
        task="endpoints.sweep_endpoint_indexes", last_started_at=now - timedelta(hours=1), last_finished_at=now
    )
    HousekeepingRun.objects.create(
        task="endpoints.sweep_webhook_deliveries", last_started_at=now - timedelta(hours=1), last_finished_at=now
    )
    HousekeepingRun.objects.create(
        task="endpoints.sweep_alert_notifications", last_started_at=now - timedelta(hours=1), last_finished_at=now
    )
    HousekeepingRun.objects.create(
        task="endpoints.recurring_endpoint_indexing",
        last_started_at=now - timedelta(hours=1),
        last_finished_at=now - timedelta(hours=1),  # interval 300 s: overdue
    )
    body = client.get("/readyz").json()
    assert body["ok"] is True  # the web process can still serve
    # the purges never ran, but beat started an hour ago and its interval is an hour: not overdue yet
    assert body["housekeeping"]["overdue"] == ["endpoints.recurring_endpoint_indexing"]
    sweep = body["housekeeping"]["tasks"]["endpoints.sweep_endpoint_indexes"]
    assert sweep["overdue"] is False and sweep["secondsSinceLastRun"] < 5
    metrics = client.get("/metrics").content.decode()
    assert 'kongflow_housekeeping_overdue{task="endpoints.recurring_endpoint_indexing"} 1.0' in metrics
    assert 'kongflow_housekeeping_overdue{task="endpoints.sweep_endpoint_indexes"} 0.0' in metrics


@pytest.mark.django_db
def test_housekeeping_with_no_record_at_all_is_overdue():
    from endpoints.selectors import housekeeping_status

    assert all(status.overdue for status in housekeeping_status())


@pytest.mark.integration
def test_an_unreachable_database_is_a_503_json_and_readyz_says_so():
    import requests

    from tests.support.web import WebProcess

    with WebProcess(env={"DATABASE_URL": "postgres://postgres@127.0.0.1:1/nowhere"}) as web:
        api = requests.get(f"{web.url}/api/v1/whoami", headers={"Authorization": "Bearer tr_dev_x"}, timeout=30)
        ready = requests.get(f"{web.url}/readyz", timeout=30)
    assert api.status_code == 503
    assert api.json() == {"error": "Service temporarily unavailable"}
    assert api.headers["Retry-After"]
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"] is False
    assert ready.json()["error"] == "Database unavailable"


@pytest.mark.django_db
def test_readyz_is_503_when_the_broker_is_down(client):
    from kongflow.celery import app

    original = app.conf.broker_write_url
    app.conf.broker_write_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        response = client.get("/readyz")
    finally:
        app.conf.broker_write_url = original
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": True, "broker": False}


def test_metrics_are_exported(client):
    body = client.get("/metrics").content.decode()
    assert "kongflow_endpointapi_requests_total" in body or "django_http_requests" in body
