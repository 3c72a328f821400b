"""GET /api/v1/endpoints/<slug>/indexes and the diff of GET /api/v1/endpointindex/<id>, on a real
SDK endpoint that changes across deploys (tests/scenarios/evolving.mjs)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from endpoints.models import EndpointIndex, IndexSource, IndexStatus
from tests import factories
from tests.support.indexing import deploy, index_now

pytestmark = pytest.mark.django_db


@pytest.fixture
def evolved(prod_sdk_environment):
    """`evolving` indexed at deploy 1, then at deploy 2 (a removed, b and c changed, d added)."""
    endpoint = factories.EndpointFactory(environment=prod_sdk_environment, slug="evolving")
    runs = []
    for variant in ("1", "2"):
        with deploy(variant) as sdk:
            endpoint.url = sdk.url
            endpoint.save()
            runs.append(index_now(endpoint))
    return endpoint, runs


def test_runs_list_newest_first_with_stats_error_code_and_the_job_ids_changed(prod_owner, evolved):
    endpoint, (first, second) = evolved
    failed = factories.EndpointIndexFactory(
        endpoint=endpoint, status=IndexStatus.FAILURE, error={"code": "TIMEOUT", "message": "timed out"}
    )
    runs = prod_owner.get("/api/v1/endpoints/evolving/indexes").json()["results"]
    assert [run["id"] for run in runs] == [failed.id, second.id, first.id]
    assert runs[0]["errorCode"] == "TIMEOUT" and runs[0]["diff"] is None and runs[0]["stats"] is None
    assert runs[1]["status"] == "SUCCESS" and runs[1]["stats"]["jobs"] == 3 and runs[1]["errorCode"] is None
    assert runs[1]["diff"] == {"added": ["job-d"], "removed": ["job-a"], "changed": ["job-b", "job-c"]}
    assert runs[2]["diff"]["added"] == ["job-a", "job-b", "job-c", "job-cron"]
    assert set(runs[1]) == {
        "id", "endpointId", "source", "reason", "status", "stats", "errorCode", "diff", "requests", "attempts",
        "createdAt", "updatedAt", "startedAt", "finishedAt",
    }  # fmt: skip


def test_the_poll_of_a_run_gains_its_diff(prod_owner, evolved):
    _, (_, second) = evolved
    body = prod_owner.get(f"/api/v1/endpointindex/{second.id}").json()
    assert body["status"] == "SUCCESS" and body["stats"]["jobs"] == 3
    assert body["diff"] == {"added": ["job-d"], "removed": ["job-a"], "changed": ["job-b", "job-c"]}


def test_runs_filter_by_status_and_source(prod_owner, prod_sdk_environment):
    endpoint = factories.EndpointFactory(environment=prod_sdk_environment, slug="app")
    hook = factories.EndpointIndexFactory(endpoint=endpoint, status=IndexStatus.SUCCESS, source=IndexSource.HOOK)
    api = factories.EndpointIndexFactory(endpoint=endpoint, status=IndexStatus.FAILURE, source=IndexSource.API)

    def ids(query):
        response = prod_owner.get(f"/api/v1/endpoints/app/indexes?{query}")
        assert response.status_code == 200, response.json()
        return [run["id"] for run in response.json()["results"]]

    assert ids("status=FAILURE") == [api.id]
    assert ids("source=HOOK") == [hook.id]
    assert ids("status=SUCCESS&source=API") == []
    response = prod_owner.get("/api/v1/endpoints/app/indexes?status=DONE")
    assert response.status_code == 400 and response.json()["error"].startswith("Invalid request body: status")


def test_runs_created_in_the_same_instant_page_without_loss_or_repeat(prod_owner, prod_sdk_environment):
    endpoint = factories.EndpointFactory(environment=prod_sdk_environment, slug="app")
    now = timezone.now()
    for i in range(5):
        run = factories.EndpointIndexFactory(endpoint=endpoint, status=IndexStatus.SUCCESS)
        EndpointIndex.objects.filter(id=run.id).update(created_at=now - timedelta(seconds=i // 3))
    seen, url = [], "/api/v1/endpoints/app/indexes?limit=2"
    while url:
        page = prod_owner.get(url).json()
        seen += [run["id"] for run in page["results"]]
        url = page["next"]
    expected = EndpointIndex.objects.filter(endpoint=endpoint).order_by("-created_at", "-id")
    assert seen == [run.id for run in expected]


def test_a_page_of_runs_costs_the_same_queries_whatever_its_size(prod_owner, prod_sdk_environment):
    endpoint = factories.EndpointFactory(environment=prod_sdk_environment, slug="app")

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert prod_owner.get("/api/v1/endpoints/app/indexes").status_code == 200
        return len(captured)

    factories.EndpointIndexFactory(endpoint=endpoint, status=IndexStatus.SUCCESS)
    one = queries()
    EndpointIndex.objects.bulk_create(
        EndpointIndex(endpoint=endpoint, status=IndexStatus.FAILURE, error={"code": "TIMEOUT"}) for _ in range(60)
    )
    assert queries() == one == 3  # the key, the endpoint, the page
