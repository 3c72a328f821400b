"""Our whole server against a real endpoint of every SDK line: register through the API (PING),
index (INDEX_ENDPOINT + registry), and what gets stored differs by line exactly as §1.6 says."""

from __future__ import annotations

import pytest

from endpoints.models import Endpoint, EndpointIndex, IndexStatus, Job, TriggerSource
from endpoints.services.indexing import endpoint_index_run
from tests import factories
from tests.compat.cases import API_KEY, ENDPOINT_ID, KEY_MISMATCH, Case
from tests.support.sdk import RunningEndpoint

pytestmark = pytest.mark.integration


@pytest.fixture
def client(api_client, db):
    factories.RuntimeEnvironmentFactory(api_key=API_KEY)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {API_KEY}")
    return api_client


def register_and_index(client, endpoint: RunningEndpoint) -> tuple[dict, EndpointIndex]:
    response = client.post("/api/v1/endpoints", {"id": ENDPOINT_ID, "url": endpoint.url}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert endpoint_index_run(index_id=body["endpointIndex"]["id"]) is None
    return body, EndpointIndex.objects.get(id=body["endpointIndex"]["id"])


def test_register_and_index_the_basic_jobs(case: Case, basic: RunningEndpoint, client):
    body, index = register_and_index(client, basic)
    assert body["version"] == (case.trigger_version or "unknown")
    assert index.status == IndexStatus.SUCCESS, index.error
    assert index.stats["jobs"] == 2 and index.stats["disabledJobs"] == 0
    assert set(Job.objects.values_list("slug", flat=True)) == {"send-welcome-email", "daily-report"}
    endpoint = Endpoint.objects.get()
    assert (endpoint.version, endpoint.sdk_version) == (
        case.trigger_version or "unknown",
        case.sdk_version or "unknown",
    )


def test_register_and_index_sources_in_the_lines_shape(case: Case, sources: RunningEndpoint, client):
    _, index = register_and_index(client, sources)
    assert index.status == IndexStatus.SUCCESS, index.error
    assert index.stats["sources"] == 1 and index.stats["dynamicTriggers"] == 1 and index.stats["dynamicSchedules"] == 1
    source = TriggerSource.objects.get()
    assert source.version == case.source_version
    assert list(source.options.values_list("name", "value")) == [("event", "push")]
    assert source.source_registration_job is not None  # the internal job was registered first
    assert index.stats["httpEndpoints"] == (2 if case.late_features else 0)
    assert index.stats["webhooks"] == (1 if case.late_features else 0)


def test_a_wrong_key_is_refused_by_every_line(basic: RunningEndpoint, api_client, db):
    factories.RuntimeEnvironmentFactory(api_key="tr_dev_notTheCompatKey")
    api_client.credentials(HTTP_AUTHORIZATION="Bearer tr_dev_notTheCompatKey")
    response = api_client.post("/api/v1/endpoints", {"id": ENDPOINT_ID, "url": basic.url}, format="json")
    assert response.status_code == 400
    assert response.json() == {"error": KEY_MISMATCH}
    assert not Endpoint.objects.exists()
