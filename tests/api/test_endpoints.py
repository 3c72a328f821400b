"""GET /api/v1/endpoints, GET|DELETE /api/v1/endpoints/<slug>."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from endpoints.models import Endpoint, EndpointHealth, IndexStatus
from endpoints.services.registration import endpoint_register
from tests import factories
from tests.api.conftest import client_for
from tests.support.indexing import index_now

pytestmark = pytest.mark.django_db


def test_an_indexed_endpoint_shows_its_health_counts_versions_and_runs(owner, full_endpoint, dev_environment):
    run = full_endpoint.indexings.get()
    body = owner.get("/api/v1/endpoints/my-endpoint").json()
    full_endpoint.refresh_from_db()
    assert body["id"] == full_endpoint.id and body["slug"] == "my-endpoint" and body["url"] == full_endpoint.url
    assert body["health"]["state"] == "HEALTHY"
    assert body["health"]["since"] == run.finished_at.isoformat().replace("+00:00", "Z")[:23] + "Z"
    assert body["health"]["consecutiveFailures"] == 0 and body["health"]["lastIndexStatus"] == "SUCCESS"
    assert body["counts"] == {"jobs": 15, "sources": 1, "triggers": 1, "schedules": 1}
    assert body["sdkVersion"] == full_endpoint.sdk_version != "unknown"
    assert body["version"] == full_endpoint.version
    assert body["hookUrl"] == (
        f"http://testserver/api/v1/endpoints/{dev_environment.id}/my-endpoint/index/"
        f"{full_endpoint.indexing_hook_identifier}"
    )
    assert body["latestIndex"]["id"] == body["latestSuccessfulIndex"]["id"] == run.id
    assert body["latestIndex"]["stats"]["jobs"] == 12
    assert body["latestIndex"]["errorCode"] is None
    assert body["latestIndex"]["diff"]["removed"] == [] and "order-placed" in body["latestIndex"]["diff"]["added"]
    assert body["deletedAt"] is None


def test_the_latest_run_and_the_latest_successful_run_differ_after_a_failure(owner, dev_environment):
    endpoint = factories.EndpointFactory(environment=dev_environment, slug="app")
    ok = factories.EndpointIndexFactory(endpoint=endpoint, status=IndexStatus.SUCCESS, stats={"jobs": 1})
    failed = factories.EndpointIndexFactory(
        endpoint=endpoint, status=IndexStatus.FAILURE, error={"code": "TIMEOUT", "message": "m"}
    )
    body = owner.get("/api/v1/endpoints/app").json()
    assert body["latestIndex"]["id"] == failed.id and body["latestIndex"]["errorCode"] == "TIMEOUT"
    assert body["latestSuccessfulIndex"]["id"] == ok.id
    assert body["counts"] == {"jobs": 0, "sources": 0, "triggers": 0, "schedules": 0}


def test_a_never_indexed_endpoint_has_no_runs_and_is_never_indexed_since_its_creation(owner, dev_environment):
    endpoint = factories.EndpointFactory(environment=dev_environment, slug="new", indexing_hook_identifier=None)
    body = owner.get("/api/v1/endpoints/new").json()
    assert body["health"]["state"] == "NEVER_INDEXED"
    assert body["health"]["since"].startswith(endpoint.created_at.strftime("%Y-%m-%dT%H:%M:%S"))
    assert body["latestIndex"] is None and body["latestSuccessfulIndex"] is None and body["hookUrl"] is None


def test_health_since_moves_only_when_the_health_changes(dev_environment, sdk_basic):
    endpoint = factories.EndpointFactory(environment=dev_environment, slug="my-endpoint", url=sdk_basic.url)
    first = index_now(endpoint)
    index_now(endpoint)
    endpoint.refresh_from_db()
    assert endpoint.health == EndpointHealth.HEALTHY and endpoint.health_since == first.finished_at
    endpoint.url = "http://127.0.0.1:9/refused"
    endpoint.save()
    failed = index_now(endpoint)
    endpoint.refresh_from_db()
    assert endpoint.health == EndpointHealth.DEGRADED and endpoint.health_since == failed.finished_at


def test_the_list_pages_by_slug_with_stable_cursors(owner, dev_environment):
    for i in range(7):
        factories.EndpointFactory(environment=dev_environment, slug=f"app-{i}")
    first = owner.get("/api/v1/endpoints?limit=3").json()
    assert [e["slug"] for e in first["results"]] == ["app-0", "app-1", "app-2"] and first["previous"] is None
    factories.EndpointFactory(environment=dev_environment, slug="app-00")  # sorts before the cursor
    second = owner.get(first["next"]).json()
    assert [e["slug"] for e in second["results"]] == ["app-3", "app-4", "app-5"]
    third = owner.get(second["next"]).json()
    assert [e["slug"] for e in third["results"]] == ["app-6"] and third["next"] is None
    back = owner.get(second["previous"]).json()
    assert [e["slug"] for e in back["results"]] == ["app-0", "app-00", "app-1", "app-2"][-3:]


def test_the_list_filters_by_health_and_hides_deleted_endpoints(owner, dev_environment):
    factories.EndpointFactory(environment=dev_environment, slug="ok", health=EndpointHealth.HEALTHY)
    factories.EndpointFactory(environment=dev_environment, slug="bad", health=EndpointHealth.FAILING)
    factories.EndpointFactory(environment=dev_environment, slug="gone", url=None, deleted_at=timezone.now())

    def slugs(query=""):
        response = owner.get(f"/api/v1/endpoints{query}")
        assert response.status_code == 200, response.json()
        return [e["slug"] for e in response.json()["results"]]

    assert slugs() == ["bad", "ok"]
    assert slugs("?health=FAILING") == ["bad"]
    assert slugs("?health=DELETED") == ["gone"]
    assert owner.get("/api/v1/endpoints/gone").json()["health"]["state"] == "DELETED"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?health=SICK", "Invalid request body: health: "),
        ("?health=", "Invalid request body: health: This field may not be blank."),
        ("?limit=0", "Invalid request body: limit: "),
        ("?limit=101", "Invalid request body: limit: "),
        ("?helth=FAILING", "Invalid request body: Unknown query parameter(s): helth"),
    ],
)
def test_bad_queries_are_400(owner, dev_environment, query, message):
    response = owner.get(f"/api/v1/endpoints{query}")
    assert response.status_code == 400
    assert response.json()["error"].startswith(message)


def test_an_invalid_cursor_is_a_json_404(owner, dev_environment):
    response = owner.get("/api/v1/endpoints?cursor=bm9wZQ")
    assert response.status_code == 404 and response.json() == {"error": "Not found"}


def test_a_page_costs_the_same_queries_whatever_its_size(owner, dev_environment):
    def queries(count):
        Endpoint.objects.filter(environment=dev_environment).delete()
        for i in range(count):
            endpoint = factories.EndpointFactory(environment=dev_environment, slug=f"app-{i:03}")
            factories.EndpointIndexFactory(endpoint=endpoint, status=IndexStatus.SUCCESS, stats={"jobs": 1})
            factories.EndpointIndexFactory(endpoint=endpoint, status=IndexStatus.FAILURE, error={"code": "TIMEOUT"})
        with CaptureQueriesContext(connection) as captured:
            response = owner.get("/api/v1/endpoints?limit=50")
        assert response.status_code == 200 and len(response.json()["results"]) == min(count, 50)
        return len(captured)

    small, large = queries(2), queries(60)
    assert small == large <= 3  # the key's environment, the page, the page's latest runs


def test_delete_is_a_soft_delete_and_registering_again_restores(owner, dev_environment, sdk_basic):
    endpoint = factories.EndpointFactory(environment=dev_environment, slug="my-endpoint", url=sdk_basic.url)
    index_now(endpoint)
    response = owner.delete("/api/v1/endpoints/my-endpoint")
    assert response.status_code == 204 and response.content == b""
    endpoint.refresh_from_db()
    assert endpoint.url is None and endpoint.url_before_delete == sdk_basic.url and endpoint.deleted_at
    assert endpoint.job_versions.count() == 2  # jobs and history stay
    assert owner.get("/api/v1/endpoints").json()["results"] == []
    body = owner.get("/api/v1/endpoints/my-endpoint").json()
    assert body["health"]["state"] == "DELETED" and body["url"] is None
    assert body["health"]["since"] == endpoint.deleted_at.isoformat().replace("+00:00", "Z")[:23] + "Z"
    assert owner.delete("/api/v1/endpoints/my-endpoint").status_code == 204  # again: nothing to do
    endpoint_register(environment=dev_environment, slug="my-endpoint", url=sdk_basic.url)
    assert [e["slug"] for e in owner.get("/api/v1/endpoints").json()["results"]] == ["my-endpoint"]


def test_an_unknown_slug_is_a_json_404(owner, dev_environment):
    for method in ("get", "delete"):
        response = getattr(owner, method)("/api/v1/endpoints/nope")
        assert response.status_code == 404 and response.json() == {"error": "Endpoint not found"}


def test_listing_is_not_throttled_by_the_registration_budget(owner, dev_environment, settings):
    settings.KONGFLOW_THROTTLE_REGISTER = "1/min"
    assert all(owner.get("/api/v1/endpoints").status_code == 200 for _ in range(3))


def test_the_hook_url_uses_the_configured_origin(owner, dev_environment, settings):
    settings.KONGFLOW_APP_ORIGIN = "https://kongflow.example.com/"
    endpoint = factories.EndpointFactory(environment=dev_environment, slug="app")
    hook = owner.get("/api/v1/endpoints/app").json()["hookUrl"]
    assert hook == (
        f"https://kongflow.example.com/api/v1/endpoints/{dev_environment.id}/app/index/"
        f"{endpoint.indexing_hook_identifier}"
    )


def test_another_environment_of_the_same_project_is_another_registry(dev_environment):
    staging = factories.RuntimeEnvironmentFactory(project=dev_environment.project, slug="staging", type="STAGING")
    factories.EndpointFactory(environment=dev_environment, slug="app")
    response = client_for(staging).get("/api/v1/endpoints/app")
    assert response.status_code == 404
    assert client_for(staging).get("/api/v1/endpoints").json()["results"] == []


def test_failing_since_is_kept_while_failing(owner, dev_environment):
    since = timezone.now() - timedelta(hours=3)
    factories.EndpointFactory(
        environment=dev_environment,
        slug="app",
        health=EndpointHealth.FAILING,
        consecutive_failures=4,
        failing_since=since,
        health_since=since + timedelta(minutes=10),
    )
    health = owner.get("/api/v1/endpoints/app").json()["health"]
    assert health["state"] == "FAILING" and health["consecutiveFailures"] == 4
    assert health["since"].startswith((since + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M"))
    assert health["failingSince"].startswith(since.strftime("%Y-%m-%dT%H:%M"))
