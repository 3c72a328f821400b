import pytest


def test_healthz(client):
    assert client.get("/healthz").json() == {"ok": True}


@pytest.mark.django_db
def test_readyz_checks_the_database_and_the_broker(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"ok": True, "checks": {"database": True, "broker": True}}


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
