"""Indexing real SDK documents: the `full` scenario and an endpoint that changes across deploys."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from endpoints.models import (
    DynamicTrigger,
    EnvironmentType,
    EventDispatcher,
    IndexSource,
    IndexStatus,
    Job,
    JobAlias,
    JobVersion,
    ScheduleSource,
    TriggerHttpEndpointEnvironment,
    TriggerSource,
    Webhook,
)
from endpoints.services.indexing import endpoint_index_request, endpoint_index_run
from tests import factories
from tests.conftest import PROD_KEY
from tests.support.indexing import deploy, index_now
from tests.support.sdk import sdk_endpoint


def test_the_full_scenario_registers_everything_it_declares(dev_environment, sdk_full):
    endpoint = factories.EndpointFactory(environment=dev_environment, slug="my-endpoint", url=sdk_full.url)
    index = index_now(endpoint)
    assert index.status == IndexStatus.SUCCESS, index.error
    assert index.stats == {
        "jobs": 12,
        "sources": 1,
        "webhooks": 1,
        "dynamicTriggers": 1,
        "dynamicSchedules": 1,
        "disabledJobs": 0,
        "httpEndpoints": 2,
    }
    assert Job.objects.filter(internal=False).count() == 12  # legacy-import (enabled:false) is never created
    assert Job.objects.filter(internal=True).count() == 3
    assert JobVersion.objects.filter(endpoint=endpoint, status="ACTIVE").count() == 15
    assert JobAlias.objects.count() == 15
    source = TriggerSource.objects.get()
    assert source.key == "acme.repo-http-acme.widgets-acme-prod" and source.version == "2"
    assert source.source_registration_job.job.slug == source.key
    assert set(DynamicTrigger.objects.values_list("slug", "type")) == {
        ("acme-repo-push", "EVENT"),
        ("per-user-digest", "SCHEDULE"),
    }
    assert DynamicTrigger.objects.get(type="SCHEDULE").jobs.get().slug == "user-digest"
    assert set(ScheduleSource.objects.values_list("schedule__type", flat=True)) == {"interval", "cron"}
    assert TriggerHttpEndpointEnvironment.objects.count() == 2
    assert Webhook.objects.get().key == "acme.deploy-9470f39"
    # a second, identical index changes nothing and records an empty diff
    rows = {model: model.objects.count() for model in (Job, JobVersion, EventDispatcher, TriggerSource)}
    again = index_now(endpoint)
    assert again.stats == index.stats
    assert again.document_hash == index.document_hash
    assert all(not part[kind] for part in again.diff.values() for kind in ("added", "removed", "changed"))
    assert {model: model.objects.count() for model in rows} == rows


def active_slugs(endpoint):
    return set(JobVersion.objects.filter(endpoint=endpoint, status="ACTIVE").values_list("job__slug", flat=True))


def test_a_changing_endpoint_records_the_diff_and_disables_what_vanished(prod_sdk_environment):
    endpoint = factories.EndpointFactory(environment=prod_sdk_environment, slug="evolving")
    with deploy("1") as sdk:
        endpoint.url = sdk.url
        endpoint.save()
        first = index_now(endpoint)
    assert first.status == IndexStatus.SUCCESS and first.stats["jobs"] == 4
    assert active_slugs(endpoint) == {"job-a", "job-b", "job-c", "job-cron"}

    with deploy("2") as sdk:
        endpoint.url = sdk.url
        endpoint.save()
        second = index_now(endpoint)
    assert second.status == IndexStatus.SUCCESS, second.error
    assert second.stats["jobs"] == 3  # b, cron, d
    assert second.stats["disabledJobs"] == 2  # a vanished, c enabled:false
    jobs = second.diff["jobs"]
    assert jobs["added"] == ["job-d"]
    assert jobs["removed"] == ["job-a"]
    assert set(jobs["changed"]) == {"job-b", "job-c"}
    assert "version" in jobs["changed"]["job-b"] and "enabled" in jobs["changed"]["job-c"]
    assert active_slugs(endpoint) == {"job-b", "job-cron", "job-d"}
    latest_b = JobAlias.objects.get(job__slug="job-b")
    assert latest_b.value == "1.1.0"
    assert not EventDispatcher.objects.get(dispatchable_id=Job.objects.get(slug="job-a").id).enabled


def test_a_suspicious_shrink_changes_nothing_unless_forced(prod_sdk_environment):
    endpoint = factories.EndpointFactory(environment=prod_sdk_environment, slug="evolving")
    with deploy("1") as sdk:
        endpoint.url = sdk.url
        endpoint.save()
        index_now(endpoint)
    with deploy("3") as sdk:
        endpoint.url = sdk.url
        endpoint.save()
        guarded = index_now(endpoint)
        assert guarded.status == IndexStatus.FAILURE
        assert guarded.error["code"] == "SUSPICIOUS_SHRINK"
        assert guarded.error["hint"]
        assert active_slugs(endpoint) == {"job-a", "job-b", "job-c", "job-cron"}
        assert not Job.objects.filter(slug="job-d").exists()
        forced = index_now(endpoint, force=True)
    assert forced.status == IndexStatus.SUCCESS, forced.error
    assert forced.stats["disabledJobs"] == 4
    assert active_slugs(endpoint) == {"job-d"}


def test_another_endpoints_jobs_are_left_alone(prod_sdk_environment, sdk_basic_prod):
    other = factories.EndpointFactory(environment=prod_sdk_environment, slug="my-endpoint", url=sdk_basic_prod.url)
    index_now(other)
    endpoint = factories.EndpointFactory(environment=prod_sdk_environment, slug="evolving")
    with deploy("1") as sdk:
        endpoint.url = sdk.url
        endpoint.save()
        index_now(endpoint)
    assert active_slugs(other) == {"send-welcome-email", "daily-report"}


def _index_queries(environment, jobs):
    """SQL statements of a first and a repeated index of a real SDK endpoint declaring `jobs` jobs
    (claim, fetch bookkeeping, registry, the run's final write and its registry events)."""
    with sdk_endpoint(
        api_key=PROD_KEY, endpoint_id=f"many-{jobs}", scenario="many", extra_args=["--jobs", str(jobs)]
    ) as sdk:
        endpoint = factories.EndpointFactory(environment=environment, slug=f"many-{jobs}", url=sdk.url)
        counts = []
        for _ in range(2):
            index = endpoint_index_request(endpoint=endpoint, source=IndexSource.MANUAL)
            with CaptureQueriesContext(connection) as queries:
                endpoint_index_run(index_id=index.id)
            index.refresh_from_db()
            assert index.status == IndexStatus.SUCCESS, index.error
            assert index.stats["jobs"] == jobs
            # SAVEPOINT/RELEASE are transaction control: the test's own transaction turns the
            # atomic blocks into savepoints (in production BEGIN/COMMIT, not logged), and a first
            # index's optimistic apply adds one (`registry_apply`), two round trips not counted here.
            counts.append(sum(not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT")) for q in queries))
    return counts


def test_the_query_count_of_an_index_does_not_grow_with_its_jobs(prod_sdk_environment):
    small = _index_queries(prod_sdk_environment, 10)
    # The large document in a project of its own: its first index is as much a first as the small one's
    # (the job versions an index finds already there cost two more statements, whatever their number).
    prod_sdk_environment.api_key = "tr_prod_retired"
    prod_sdk_environment.save(update_fields=["api_key"])
    fresh = factories.RuntimeEnvironmentFactory(env_type=EnvironmentType.PRODUCTION, api_key=PROD_KEY)
    large = _index_queries(fresh, 500)
    assert small == large, f"10 jobs: {small} queries (first, repeat); 500 jobs: {large}"
    first, repeat = large
    # 21 for the claim (the run, its endpoint and its latest success read in one query), the registry
    # (with its foreign-key checks run before the generation's row lock, not in COMMIT) and the run,
    # 1 for its registry events (sequences, events and webhook deliveries in one statement), 1 for the
    # endpoint's health and, on a first index only, 1 to remember which API key the endpoint accepted.
    assert first <= 24 and repeat <= 7, large  # the repeat is an unchanged document: no registry work
