"""What the registry ignores in a document is said, not dropped: warnings on the run, in the API's
answer, on the console's run page and in `endpoint.indexed` (real PostgreSQL, misbehaving endpoint)."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from endpoints.models import EndpointIndex, IndexSource, IndexStatus, JobVersion, JobVersionStatus, RegistryEvent
from endpoints.services.indexing import endpoint_index_request, endpoint_index_run
from tests import factories
from tests.registry.conftest import job
from tests.support.misbehaving import SDK_HEADERS, VALID_DOCUMENT, MisbehavingEndpoint, raw_scenario

DUPLICATE_JOB = {"code": "DUPLICATE_JOB_ID", "job": "dup", "versions": ["1.0.0", "2.0.0"]}


@pytest.fixture
def server():
    with MisbehavingEndpoint() as running:
        yield running


def run(endpoint, source=IndexSource.INTERNAL) -> EndpointIndex:
    index = endpoint_index_request(endpoint=endpoint, source=source)
    endpoint_index_run(index_id=index.id)
    return EndpointIndex.objects.get(id=index.id)


def indexed_events(endpoint):
    return [
        event.data
        for event in RegistryEvent.objects.filter(type="endpoint.indexed").order_by("sequence")
        if event.data["endpoint"]["id"] == endpoint.id
    ]


def test_a_job_id_declared_twice_keeps_the_last_and_says_so_everywhere(server, db, client):
    environment = factories.RuntimeEnvironmentFactory()
    endpoint = factories.EndpointFactory(
        environment=environment, url=server.route("/dup", raw_scenario("duplicate-job-id"))
    )

    index = run(endpoint)

    assert index.status == IndexStatus.SUCCESS, index.error
    assert index.warnings == [DUPLICATE_JOB]
    # Today's outcome is kept: the last declaration wins, one version of "dup" is registered.
    dup = JobVersion.objects.filter(job__slug="dup", endpoint=endpoint)
    assert list(dup.values_list("version", "status")) == [("2.0.0", JobVersionStatus.ACTIVE)]
    assert index.stats["jobs"] == 2
    # The API: the CLI's poll answer carries them (its zod schema ignores unknown keys).
    body = client.get(f"/api/v1/endpointindex/{index.id}", HTTP_AUTHORIZATION=f"Bearer {environment.api_key}").json()
    assert body["status"] == "SUCCESS" and body["warnings"] == [DUPLICATE_JOB]
    # The event closing the index.
    (event,) = indexed_events(endpoint)
    assert event["warnings"] == [DUPLICATE_JOB] and event["unchanged"] is False
    # The console's run page.
    client.force_login(get_user_model().objects.create_superuser("ops", "ops@example.com", "pw"))
    page = client.get(reverse("admin:endpoints_endpointindex_change", args=[index.id])).content.decode()
    assert "Warnings: what the registry ignored" in page
    assert "DUPLICATE_JOB_ID" in page and "versions: 1.0.0, 2.0.0" in page
    listing = client.get(reverse("admin:endpoints_endpointindex_changelist")).content.decode()
    assert '<td class="field-warnings_count">1</td>' in listing


def test_an_unchanged_reindex_repeats_the_warnings_of_the_same_document(server, db):
    endpoint = factories.EndpointFactory(url=server.route("/dup", raw_scenario("duplicate-job-id")))
    run(endpoint)
    again = run(endpoint)
    assert again.status == IndexStatus.SUCCESS and again.warnings == [DUPLICATE_JOB]
    assert [event["unchanged"] for event in indexed_events(endpoint)] == [False, True]
    assert indexed_events(endpoint)[1]["warnings"] == [DUPLICATE_JOB]


def test_a_clean_run_has_no_warnings_and_the_poll_answer_keeps_the_v2_shape(server, db, client):
    environment = factories.RuntimeEnvironmentFactory()
    url = server.route("/ok", lambda h: h.json(200, {**VALID_DOCUMENT, "jobs": [job("fine")]}, headers=SDK_HEADERS))
    index = run(factories.EndpointFactory(environment=environment, url=url))
    assert index.status == IndexStatus.SUCCESS and index.warnings == []
    body = client.get(f"/api/v1/endpointindex/{index.id}", HTTP_AUTHORIZATION=f"Bearer {environment.api_key}").json()
    assert set(body) == {"status", "updatedAt", "stats", "diff"}  # diff: a Kongflow addition


def test_every_other_silent_drop_has_a_code(server, db):
    example = {"id": "ex", "name": "Example", "payload": {}}
    first = job("with-examples")
    first["event"]["examples"] = [example, {**example, "name": "Again"}]
    document = {
        **VALID_DOCUMENT,
        "jobs": [first, job("never-seen", version="3.0.0", enabled=False)],
        "dynamicTriggers": [{"id": "dyn", "jobs": []}, {"id": "dyn", "jobs": []}],
        "dynamicSchedules": [{"id": "sched", "jobs": []}, {"id": "sched", "jobs": []}],
        "httpEndpoints": [],
        "webhooks": [],
    }
    url = server.route("/drops", lambda h: h.json(200, document, headers=SDK_HEADERS))
    index = run(factories.EndpointFactory(url=url))
    assert index.status == IndexStatus.SUCCESS, index.error
    assert index.warnings == [
        {"code": "DUPLICATE_EXAMPLE_ID", "job": "with-examples", "example": "ex", "count": 2},
        {"code": "DUPLICATE_DYNAMIC_TRIGGER_ID", "dynamicTrigger": "dyn", "count": 2},
        {"code": "DUPLICATE_DYNAMIC_SCHEDULE_ID", "dynamicSchedule": "sched", "count": 2},
        {"code": "DISABLED_JOB_NOT_REGISTERED", "job": "never-seen", "version": "3.0.0"},
    ]
    assert not JobVersion.objects.filter(job__slug="never-seen").exists()


def test_an_item_the_registry_skips_is_a_warning_too(server, db):
    too_long = "x" * 300
    document = {**VALID_DOCUMENT, "jobs": [job("fine")], "dynamicTriggers": [{"id": too_long, "jobs": []}]}
    url = server.route("/skip", lambda h: h.json(200, document, headers=SDK_HEADERS))
    endpoint = factories.EndpointFactory(url=url)
    index = run(endpoint)
    message = f'Dynamic trigger "{too_long}": the id is too long.'
    assert index.warnings == [{"code": "ITEM_SKIPPED", "message": message}]
    assert indexed_events(endpoint)[0]["errors"] == [message]  # as before
