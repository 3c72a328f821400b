"""The free re-index: an identical document on an unchanged registry skips the registry writes and the
diff, and still leaves a complete SUCCESS run; anything that changed the registry since prevents it."""

from __future__ import annotations

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from endpoints.models import IndexStatus, JobVersion, Organization
from endpoints.services.registry import registry_changed
from tests import factories
from tests.support.indexing import deploy, index_now

REGISTRY_TABLES = ("endpoints_job", "endpoints_jobversion", "endpoints_eventdispatcher", "endpoints_jobalias")


def touched_registry(queries: CaptureQueriesContext) -> bool:
    """Whether the run read or wrote registry tables (a skipped run does neither)."""
    return any(table in q["sql"] for q in queries.captured_queries for table in REGISTRY_TABLES)


def run(endpoint, **kwargs):
    with CaptureQueriesContext(connection) as queries:
        index = index_now(endpoint, **kwargs)
    assert index.status == IndexStatus.SUCCESS, index.error
    return index, queries


def generation(endpoint) -> int:
    return Organization.objects.get(id=endpoint.organization_id).registry_generation


def test_an_identical_document_is_a_complete_success_without_registry_work(prod_sdk_environment):
    endpoint = factories.EndpointFactory(environment=prod_sdk_environment, slug="evolving")
    with deploy("1") as sdk:
        endpoint.url = sdk.url
        endpoint.save()
        first, first_queries = run(endpoint)
        stamps = dict(JobVersion.objects.values_list("id", "updated_at"))
        again, again_queries = run(endpoint)

    assert touched_registry(first_queries) and not touched_registry(again_queries)
    assert len(again_queries) < len(first_queries)
    assert again.id != first.id
    assert again.stats == first.stats and again.stats["jobs"] == 4
    assert again.document_hash == first.document_hash
    assert again.data == first.data
    assert again.diff == {
        name: {"added": [], "removed": [], "changed": {}}
        for name in ("jobs", "sources", "dynamicTriggers", "dynamicSchedules", "httpEndpoints", "webhooks")
    }
    assert again.registry_generation == first.registry_generation == generation(endpoint)
    assert dict(JobVersion.objects.values_list("id", "updated_at")) == stamps


def test_a_changed_document_is_applied(prod_sdk_environment):
    endpoint = factories.EndpointFactory(environment=prod_sdk_environment, slug="evolving")
    with deploy("1") as sdk:
        endpoint.url = sdk.url
        endpoint.save()
        first, _ = run(endpoint)
    with deploy("2") as sdk:
        endpoint.url = sdk.url
        endpoint.save()
        second, queries = run(endpoint)
    assert touched_registry(queries)
    assert second.document_hash != first.document_hash
    assert second.diff["jobs"]["added"] == ["job-d"]
    assert second.registry_generation == generation(endpoint) == first.registry_generation + 1


def test_another_endpoint_changing_the_registry_prevents_the_skip(prod_sdk_environment):
    """Endpoint B declares the same job versions and takes them over; A's identical document must
    take them back rather than being skipped."""
    a = factories.EndpointFactory(environment=prod_sdk_environment, slug="evolving")
    b = factories.EndpointFactory(environment=prod_sdk_environment, slug="evolving-copy")
    with deploy("1") as sdk:
        for endpoint in (a, b):
            endpoint.url = sdk.url
            endpoint.save()
        run(a)
        run(b)
        assert set(JobVersion.objects.values_list("endpoint_id", flat=True)) == {b.id}
        again, queries = run(a)
        assert touched_registry(queries)
        assert set(JobVersion.objects.values_list("endpoint_id", flat=True)) == {a.id}
        # Now nothing changed since A's run: the next one is free again.
        free, queries = run(a)
    assert not touched_registry(queries)
    assert free.registry_generation == again.registry_generation == generation(a)


def test_an_out_of_band_registry_change_prevents_the_skip(prod_sdk_environment):
    endpoint = factories.EndpointFactory(environment=prod_sdk_environment, slug="evolving")
    with deploy("1") as sdk:
        endpoint.url = sdk.url
        endpoint.save()
        run(endpoint)
        with transaction.atomic():  # e.g. an operator disabling a version
            JobVersion.objects.filter(job__slug="job-a").update(status="DISABLED")
            registry_changed(organization_id=endpoint.organization_id)
        again, queries = run(endpoint)
    assert touched_registry(queries)
    assert JobVersion.objects.get(job__slug="job-a").status == "ACTIVE"
    assert again.registry_generation == generation(endpoint)


def test_a_forced_run_never_skips(prod_sdk_environment):
    endpoint = factories.EndpointFactory(environment=prod_sdk_environment, slug="evolving")
    with deploy("1") as sdk:
        endpoint.url = sdk.url
        endpoint.save()
        first, _ = run(endpoint)
        forced, queries = run(endpoint, force=True)
    assert touched_registry(queries)
    assert forced.stats == first.stats
    assert forced.registry_generation == first.registry_generation  # nothing was written


def test_a_claimed_run_comes_with_the_latest_success_the_selector_returns(db):
    """`endpoint_index_for_run` reads the run and the endpoint's latest SUCCESS run in one query."""
    from endpoints.selectors import endpoint_index_for_run, endpoint_index_latest_success

    endpoint = factories.EndpointFactory()
    older = factories.EndpointIndexFactory(endpoint=endpoint, status=IndexStatus.SUCCESS, document_hash="a" * 64)
    latest = factories.EndpointIndexFactory(
        endpoint=endpoint,
        status=IndexStatus.SUCCESS,
        document_hash="b" * 64,
        body_hash="c" * 64,
        registry_generation=3,
        stats={"jobs": 2},
        data={"jobs": []},
    )
    factories.EndpointIndexFactory(endpoint=endpoint, status=IndexStatus.FAILURE)
    run = factories.EndpointIndexFactory(endpoint=endpoint, status=IndexStatus.STARTED)
    assert older.created_at < latest.created_at
    with CaptureQueriesContext(connection) as queries:
        index, previous = endpoint_index_for_run(index_id=run.id)
    assert len(queries) == 1 and index.id == run.id and index.endpoint.environment.id
    expected = endpoint_index_latest_success(endpoint_id=endpoint.id, organization_id=endpoint.organization_id)
    assert previous is not None and expected is not None and previous.id == latest.id == expected.id
    for name in ("document_hash", "body_hash", "registry_generation", "stats", "registry_generation_now"):
        assert getattr(previous, name) == getattr(expected, name), name
    assert previous.data == {"jobs": []}  # loaded on first access

    lonely = factories.EndpointIndexFactory(status=IndexStatus.STARTED)
    assert endpoint_index_for_run(index_id=lonely.id)[1] is None


def test_an_unchanged_re_index_reports_that_it_disabled_nothing(prod_sdk_environment):
    """v2 reports the disables a run made: the run that disabled jobs says so, the next one 0."""
    endpoint = factories.EndpointFactory(environment=prod_sdk_environment, slug="evolving")
    with deploy("1") as sdk:
        endpoint.url = sdk.url
        endpoint.save()
        run(endpoint)
    with deploy("2") as sdk:
        endpoint.url = sdk.url
        endpoint.save()
        disabling, _ = run(endpoint)
        again, queries = run(endpoint)
    assert disabling.stats["disabledJobs"] == 2
    assert not touched_registry(queries)  # skipped the registry
    assert again.stats == {**disabling.stats, "disabledJobs": 0}
