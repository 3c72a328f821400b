"""GET /api/v1/endpoints/<slug>/jobs, …/sources, …/triggers, …/schedules, on what the real SDK's
`full` scenario declares."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from endpoints.models import JobVersion, JobVersionStatus
from tests import factories

pytestmark = pytest.mark.django_db


def results(client, path):
    response = client.get(path)
    assert response.status_code == 200, response.json()
    return response.json()["results"]


def test_jobs_list_their_latest_version_trigger_type_and_integrations(owner, full_endpoint):
    jobs = results(owner, "/api/v1/endpoints/my-endpoint/jobs?limit=100")
    assert len(jobs) == 15
    assert [job["id"] for job in jobs] == sorted(job["id"] for job in jobs)
    by_id = {job["id"]: job for job in jobs}
    assert by_id["order-placed"] | {"updatedAt": None, "integrations": None} == {
        "id": "order-placed",
        "name": by_id["order-placed"]["name"],
        "version": "1.2.0",
        "triggerType": "static",
        "enabled": True,
        "internal": False,
        "integrations": None,
        "updatedAt": None,
    }
    assert by_id["hourly-sync"]["triggerType"] == "scheduled"
    with_integrations = [job for job in jobs if job["integrations"]]
    assert with_integrations, "the full scenario declares jobs with integrations"
    assert set(with_integrations[0]["integrations"][0]) == {"key", "id", "definition"}


def test_jobs_filter_by_enabled(owner, full_endpoint):
    version = JobVersion.objects.get(endpoint=full_endpoint, job__slug="order-placed")
    JobVersion.objects.filter(id=version.id).update(status=JobVersionStatus.DISABLED)
    disabled = results(owner, "/api/v1/endpoints/my-endpoint/jobs?enabled=false")
    assert [(job["id"], job["enabled"]) for job in disabled] == [("order-placed", False)]
    enabled = results(owner, "/api/v1/endpoints/my-endpoint/jobs?enabled=true&limit=100")
    assert len(enabled) == 14 and all(job["enabled"] for job in enabled)
    response = owner.get("/api/v1/endpoints/my-endpoint/jobs?enabled=1")
    assert response.status_code == 400 and response.json()["error"].startswith("Invalid request body: enabled")


def test_jobs_pages_cost_the_same_queries_as_one_job(owner, full_endpoint):
    with CaptureQueriesContext(connection) as few:
        assert len(results(owner, "/api/v1/endpoints/my-endpoint/jobs?limit=1")) == 1
    with CaptureQueriesContext(connection) as many:
        assert len(results(owner, "/api/v1/endpoints/my-endpoint/jobs?limit=100")) == 15
    # the key, the endpoint, the page, its integrations
    assert len(few) == len(many) == 4


def test_sources_triggers_and_schedules(owner, full_endpoint):
    (source,) = results(owner, "/api/v1/endpoints/my-endpoint/sources")
    assert source["key"] == "acme.repo-http-acme.widgets-acme-prod"
    assert source["channel"] == "HTTP" and source["dynamic"] is False
    assert set(source["integration"]) == {"id", "definition"}
    state, other = ("true", "false") if source["active"] else ("false", "true")
    assert results(owner, f"/api/v1/endpoints/my-endpoint/sources?active={state}") == [source]
    assert results(owner, f"/api/v1/endpoints/my-endpoint/sources?active={other}") == []
    (trigger,) = results(owner, "/api/v1/endpoints/my-endpoint/triggers")
    assert trigger["id"] == "acme-repo-push" and trigger["active"] is True
    assert trigger["jobs"] == ["repo-push-dynamic"]
    (schedule,) = results(owner, "/api/v1/endpoints/my-endpoint/schedules")
    assert schedule["id"] == "per-user-digest" and schedule["jobs"] == ["user-digest"]
    assert results(owner, "/api/v1/endpoints/my-endpoint/schedules?active=false") == []


@pytest.mark.parametrize("kind", ["triggers", "schedules", "sources"])
def test_each_list_queries_a_constant_number_of_times(owner, full_endpoint, kind):
    with CaptureQueriesContext(connection) as captured:
        results(owner, f"/api/v1/endpoints/my-endpoint/{kind}")
    assert len(captured) <= 4


def test_an_endpoint_without_a_registry_lists_nothing(owner, dev_environment):
    factories.EndpointFactory(environment=dev_environment, slug="empty")
    for kind in ("jobs", "sources", "triggers", "schedules", "indexes"):
        assert results(owner, f"/api/v1/endpoints/empty/{kind}") == []
