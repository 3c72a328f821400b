"""Stop hammering dead endpoints: after KONGFLOW_DISABLE_AFTER_FAILURES consecutive failed indexes a
non-DEVELOPMENT endpoint is disabled (no recurring index, deploy hooks 409) until it is registered
again, enabled by an operator or indexed successfully. Real PostgreSQL, a misbehaving endpoint."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from rest_framework.test import APIClient

from endpoints.models import Endpoint, EndpointHealth, EndpointIndex, IndexSource, IndexStatus, RegistryEvent
from endpoints.services.indexing import endpoint_index_request, endpoint_index_run, endpoints_recurring_index
from endpoints.services.registration import endpoint_register
from tests import factories
from tests.support.misbehaving import MisbehavingEndpoint, Switchable

THRESHOLD = 4
SWITCH_EVENTS = ("endpoint.disabling_soon", "endpoint.disabled", "endpoint.enabled")


@pytest.fixture
def answer():
    """The endpoint's behaviour, switched by the test (unhealthy at first)."""
    return Switchable(healthy=False)


@pytest.fixture
def server(answer):
    with MisbehavingEndpoint() as running:
        running.route("/api/trigger", answer)
        yield running


@pytest.fixture(autouse=True)
def _threshold(settings):
    settings.KONGFLOW_DISABLE_AFTER_FAILURES = THRESHOLD


@pytest.fixture
def endpoint(server, prod_environment):
    return factories.EndpointFactory(environment=prod_environment, url=server.base + "/api/trigger")


def fail(endpoint, times=1, source=IndexSource.INTERNAL):
    for _ in range(times):
        index = endpoint_index_request(endpoint=endpoint, source=source)
        endpoint_index_run(index_id=index.id)
        assert EndpointIndex.objects.get(id=index.id).status == IndexStatus.FAILURE


def switch_events(endpoint):
    return [
        (event.type, event.data)
        for event in RegistryEvent.objects.filter(type__in=SWITCH_EVENTS).order_by("sequence")
        if event.data["endpoint"]["id"] == endpoint.id
    ]


def hook(client, endpoint):
    url = f"/api/v1/endpoints/{endpoint.environment_id}/{endpoint.slug}/index/{endpoint.indexing_hook_identifier}"
    return client.post(url)


def disabled(endpoint):
    fail(endpoint, THRESHOLD)
    endpoint.refresh_from_db()
    assert endpoint.health == EndpointHealth.DISABLED
    return endpoint


def test_warned_at_half_then_disabled_at_the_threshold(endpoint):
    fail(endpoint)
    assert switch_events(endpoint) == []
    fail(endpoint)  # 2 of 4: the warning, once
    [(kind, soon)] = switch_events(endpoint)
    assert kind == "endpoint.disabling_soon"
    assert soon["consecutiveFailures"] == 2 and soon["threshold"] == THRESHOLD
    assert soon["endpoint"] == {"id": endpoint.id, "slug": endpoint.slug}
    assert soon["error"]["code"] == "INVALID_JSON" and soon["error"]["hint"]
    fail(endpoint)
    endpoint.refresh_from_db()
    assert endpoint.health == EndpointHealth.FAILING and len(switch_events(endpoint)) == 1

    fail(endpoint)  # 4 of 4
    endpoint.refresh_from_db()
    assert endpoint.health == EndpointHealth.DISABLED and endpoint.disabled_at is not None
    assert endpoint.consecutive_failures == THRESHOLD
    kinds = [kind for kind, _ in switch_events(endpoint)]
    assert kinds == ["endpoint.disabling_soon", "endpoint.disabled"]
    off = switch_events(endpoint)[1][1]
    assert off["consecutiveFailures"] == THRESHOLD and off["threshold"] == THRESHOLD
    assert off["error"]["code"] == "INVALID_JSON" and off["error"]["hint"]
    changed = RegistryEvent.objects.filter(type="endpoint.health_changed").order_by("-sequence").first()
    assert changed.data["health"] == {"previous": "FAILING", "current": "DISABLED"}

    # A manual index that fails again keeps it disabled, without a second event.
    fail(endpoint, source=IndexSource.MANUAL)
    endpoint.refresh_from_db()
    assert endpoint.health == EndpointHealth.DISABLED and endpoint.consecutive_failures == THRESHOLD + 1
    assert len(switch_events(endpoint)) == 2


def test_a_failed_attempt_that_will_be_retried_is_not_a_failed_index(endpoint, server):
    fail(endpoint, THRESHOLD - 1)
    server.route("/down", lambda h: h.json(503, {"message": "down"}))
    Endpoint.objects.filter(id=endpoint.id).update(url=server.base + "/down")
    endpoint.refresh_from_db()
    index = endpoint_index_request(endpoint=endpoint, source=IndexSource.INTERNAL)
    endpoint_index_run(index_id=index.id)
    assert EndpointIndex.objects.get(id=index.id).status == IndexStatus.PENDING  # a retry is scheduled
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == THRESHOLD - 1 and endpoint.health == EndpointHealth.FAILING
    assert [kind for kind, _ in switch_events(endpoint)] == ["endpoint.disabling_soon"]


def test_development_endpoints_and_a_zero_threshold_are_never_disabled(server, environment, prod_environment, settings):
    development = factories.EndpointFactory(environment=environment, url=server.base + "/api/trigger")
    fail(development, THRESHOLD + 1)
    development.refresh_from_db()
    assert development.health == EndpointHealth.FAILING and switch_events(development) == []

    settings.KONGFLOW_DISABLE_AFTER_FAILURES = 0
    production = factories.EndpointFactory(environment=prod_environment, url=server.base + "/api/trigger")
    fail(production, THRESHOLD + 1)
    production.refresh_from_db()
    assert production.health == EndpointHealth.FAILING and switch_events(production) == []


def test_the_recurring_index_skips_a_disabled_endpoint(endpoint, server, prod_environment, settings):
    other = factories.EndpointFactory(environment=prod_environment, url=server.base + "/api/trigger")
    disabled(endpoint)
    settings.KONGFLOW_RECURRING_INDEX_MINUTES = 0  # every endpoint is due
    tick = endpoints_recurring_index()
    assert other.id in tick.requested and endpoint.id not in tick.requested
    assert tick.disabled == [endpoint.id]  # kept on its schedule, not indexed
    assert not EndpointIndex.objects.filter(endpoint=endpoint, status=IndexStatus.PENDING).exists()


def test_a_deploy_hook_is_refused_with_409_and_says_how_to_enable(endpoint, client):
    disabled(endpoint)
    runs = EndpointIndex.objects.count()
    response = hook(client, endpoint)
    assert response.status_code == 409
    error = response.json()["error"]
    assert set(response.json()) == {"error"}
    assert f'Endpoint "{endpoint.slug}" is disabled after {THRESHOLD} consecutive failed indexes' in error
    assert "Register it again" in error and "Enable" in error
    assert EndpointIndex.objects.count() == runs

    # Nor does it join a run already pending (the one-statement join skips disabled endpoints).
    pending = endpoint_index_request(endpoint=endpoint, source=IndexSource.MANUAL)
    assert hook(client, endpoint).status_code == 409
    assert EndpointIndex.objects.get(id=pending.id).requests == 1


def test_registering_again_enables(endpoint, client):
    disabled(endpoint)
    registration = endpoint_register(environment=endpoint.environment, slug=endpoint.slug, url=endpoint.url)
    assert registration.endpoint.health == EndpointHealth.FAILING
    endpoint.refresh_from_db()
    assert (endpoint.health, endpoint.consecutive_failures, endpoint.disabled_at) == (EndpointHealth.FAILING, 0, None)
    kind, enabled = switch_events(endpoint)[-1]
    assert kind == "endpoint.enabled"
    assert enabled["by"] == "registration" and enabled["consecutiveFailures"] == THRESHOLD
    assert enabled["threshold"] == THRESHOLD
    assert hook(client, endpoint).status_code == 200
    # A new streak: the counter started again, so it takes the whole threshold to disable it again.
    fail(endpoint, THRESHOLD - 1)
    endpoint.refresh_from_db()
    assert endpoint.health == EndpointHealth.FAILING
    kinds = [kind for kind, _ in switch_events(endpoint)]
    assert kinds == ["endpoint.disabling_soon", "endpoint.disabled", "endpoint.enabled", "endpoint.disabling_soon"]


def test_a_successful_manual_index_enables(endpoint, answer):
    disabled(endpoint)
    answer.healthy = True
    index = endpoint_index_request(endpoint=endpoint, source=IndexSource.API)
    endpoint_index_run(index_id=index.id)
    assert EndpointIndex.objects.get(id=index.id).status == IndexStatus.SUCCESS
    endpoint.refresh_from_db()
    assert (endpoint.health, endpoint.consecutive_failures, endpoint.disabled_at) == (EndpointHealth.HEALTHY, 0, None)
    kind, enabled = switch_events(endpoint)[-1]
    assert kind == "endpoint.enabled" and enabled["by"] == "index"
    assert enabled["consecutiveFailures"] == THRESHOLD and enabled["index"]["id"] == index.id


def test_the_api_index_is_allowed_on_a_disabled_endpoint(endpoint, settings):
    disabled(endpoint)
    settings.KONGFLOW_INDEX_API_WAIT_SECONDS = 0
    key = {"HTTP_AUTHORIZATION": f"Bearer {endpoint.environment.api_key}"}
    response = APIClient().post(f"/api/v1/endpoints/{endpoint.slug}/index", {}, format="json", **key)
    assert response.status_code == 202
    assert response.json()["status"] == "PENDING" and response.json()["warnings"] == []
    assert EndpointIndex.objects.get(id=response.json()["id"]).source == IndexSource.API


@pytest.fixture
def operator(client, db):
    client.force_login(get_user_model().objects.create_superuser("ops", "ops@example.com", "pw"))
    return client


def test_the_console_shows_disabled_and_enables_with_the_button_or_the_action(endpoint, operator, prod_environment):
    disabled(endpoint)
    page_url = reverse("admin:endpoints_endpoint_change", args=[endpoint.id])
    page = operator.get(page_url).content.decode()
    assert "disabled since" in page and f"{THRESHOLD} failures" in page
    assert reverse("admin:endpoints_endpoint_operate", args=[endpoint.id, "enable"]) in page
    listing = operator.get(reverse("admin:endpoints_endpoint_changelist") + "?health=DISABLED").content.decode()
    assert endpoint.slug in listing
    overview = operator.get(reverse("kongflow-overview")).content.decode()
    assert "?health=DISABLED" in overview

    response = operator.post(reverse("admin:endpoints_endpoint_operate", args=[endpoint.id, "enable"]), follow=True)
    assert "Enabled: the failure count starts again at 0" in response.content.decode()
    endpoint.refresh_from_db()
    assert endpoint.health == EndpointHealth.FAILING and endpoint.consecutive_failures == 0
    kind, enabled = switch_events(endpoint)[-1]
    assert kind == "endpoint.enabled" and enabled["by"] == "operator" and enabled["reason"] == "Enabled by ops"
    assert (
        reverse("admin:endpoints_endpoint_operate", args=[endpoint.id, "enable"])
        not in operator.get(page_url).content.decode()
    )

    # The bulk action.
    disabled(endpoint)
    healthy = factories.EndpointFactory(environment=prod_environment)
    response = operator.post(
        reverse("admin:endpoints_endpoint_changelist"),
        {"action": "enable", "_selected_action": [endpoint.id, healthy.id]},
        follow=True,
    )
    assert "Enabled 1 endpoint(s)." in response.content.decode()
    assert Endpoint.objects.get(id=endpoint.id).health == EndpointHealth.FAILING
    assert [kind for kind, _ in switch_events(endpoint)][-1] == "endpoint.enabled"


def test_the_metrics_count_disabled_endpoints(endpoint, client):
    disabled(endpoint)
    metrics = client.get("/metrics").content.decode()
    assert 'kongflow_endpoints{health="DISABLED"} 1.0' in metrics


@pytest.mark.parametrize(("raw", "ok"), [("-1", False), ("0", True), ("12", True)])
def test_the_setting_is_zero_or_a_positive_count(raw, ok):
    environ = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kongflow.settings",
        "DJANGO_SECRET_KEY": "test",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/test",
        "KONGFLOW_DISABLE_AFTER_FAILURES": raw,
    }
    code = (
        "import django; django.setup(); from django.conf import settings as s; print(s.KONGFLOW_DISABLE_AFTER_FAILURES)"
    )
    repo = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], cwd=repo, env=environ, capture_output=True, text=True)
    if ok:
        assert out.returncode == 0 and out.stdout.strip() == raw
    else:
        assert out.returncode != 0
        assert "KONGFLOW_DISABLE_AFTER_FAILURES must be 0 (never) or a positive number" in out.stderr
