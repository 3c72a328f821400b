"""POST /api/v1/endpoints/<slug>/plan: the console's dry run through the API, on a real SDK endpoint."""

import pytest

from endpoints.models import Endpoint, EndpointIndex, Job, JobVersion, RegistryEvent
from endpoints.services.lifecycle import endpoint_soft_delete
from tests import factories
from tests.support.indexing import deploy, index_deployed

pytestmark = pytest.mark.django_db


def snapshot():
    """Everything an index or a key check could write."""
    endpoints = list(Endpoint.objects.order_by("id").values())
    counts = [model.objects.count() for model in (EndpointIndex, Job, JobVersion, RegistryEvent)]
    return endpoints, counts, list(JobVersion.objects.order_by("id").values_list("id", "status", "updated_at"))


@pytest.fixture
def deployed(prod_sdk_environment):
    endpoint = factories.EndpointFactory(environment=prod_sdk_environment, slug="evolving")
    assert index_deployed(endpoint, "1").status == "SUCCESS"
    return endpoint


def test_the_plan_says_what_the_next_deploy_changes_and_writes_nothing(prod_owner, deployed):
    with deploy("2") as sdk:
        Endpoint.objects.filter(id=deployed.id).update(url=sdk.url)
        before = snapshot()
        response = prod_owner.post("/api/v1/endpoints/evolving/plan")
        assert snapshot() == before
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "SUCCESS" and body["error"] is None and body["suspiciousShrink"] is None
    assert body["endpointId"] == deployed.id and body["slug"] == "evolving"
    assert body["diff"] == {"added": ["job-d"], "removed": ["job-a"], "changed": ["job-b", "job-c"]}
    assert "version" in body["changes"]["jobs"]["changed"]["job-b"]
    registered = {(job["id"], job["version"], job["new"]) for job in body["jobsToRegister"]}
    assert registered == {("job-b", "1.1.0", False), ("job-cron", "1.0.0", False), ("job-d", "1.0.0", True)}
    disabled = {(job["id"], job["reason"]) for job in body["jobsToDisable"]}
    assert disabled == {("job-a", "vanished"), ("job-c", "enabled_false")}


def test_a_shrinking_deploy_is_flagged_as_an_index_would_refuse_it(prod_owner, deployed):
    with deploy("3") as sdk:
        Endpoint.objects.filter(id=deployed.id).update(url=sdk.url)
        body = prod_owner.post("/api/v1/endpoints/evolving/plan").json()
    assert body["status"] == "SUCCESS"
    assert body["suspiciousShrink"] == "The index would disable 4 of the endpoint's 4 active job(s)."


def test_an_unreachable_endpoint_is_a_failed_plan_with_the_index_error_code(prod_owner, prod_sdk_environment):
    factories.EndpointFactory(environment=prod_sdk_environment, slug="down", url="http://127.0.0.1:9/api/trigger")
    before = snapshot()
    response = prod_owner.post("/api/v1/endpoints/down/plan")
    assert snapshot() == before
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "FAILURE" and body["error"]["code"] == "CONNECTION_FAILED" and body["error"]["hint"]
    assert body["diff"] is None and body["changes"] is None
    assert body["jobsToRegister"] is None and body["jobsToDisable"] is None


def test_a_deleted_endpoint_plans_nothing(prod_owner, deployed):
    endpoint_soft_delete(endpoint=deployed)
    body = prod_owner.post("/api/v1/endpoints/evolving/plan").json()
    assert body["status"] == "FAILURE" and body["error"]["code"] == "ENDPOINT_DELETED"


def test_plans_share_the_index_budget(prod_owner, prod_sdk_environment, settings):
    settings.KONGFLOW_THROTTLE_INDEX = "1/min"
    factories.EndpointFactory(environment=prod_sdk_environment, slug="down", url="http://127.0.0.1:9/api/trigger")
    assert prod_owner.post("/api/v1/endpoints/down/plan").status_code == 200
    response = prod_owner.post("/api/v1/endpoints/down/plan")
    assert response.status_code == 429 and response["Retry-After"]
    assert response.json()["error"].startswith("Too many requests")
