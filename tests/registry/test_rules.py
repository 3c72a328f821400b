"""Registry rules one at a time: scoping to the endpoint, semver `latest`, #1041, the shrink guard,
the 2.0 document shape and the items that are skipped instead of failing the index."""

from __future__ import annotations

from django.utils import timezone

from endpoints import models as m
from endpoints.services.registry import registry_plan
from tests import factories
from tests.registry.conftest import document, index, job, load


def active_versions(slug: str) -> set[str]:
    return set(m.JobVersion.objects.filter(job__slug=slug, status="ACTIVE").values_list("version", flat=True))


def latest(slug: str, environment: m.RuntimeEnvironment) -> str:
    return m.JobAlias.objects.get(job__slug=slug, environment=environment, name="latest").value


def dispatcher(slug: str, environment: m.RuntimeEnvironment) -> m.EventDispatcher:
    return m.EventDispatcher.objects.get(dispatchable_id=m.Job.objects.get(slug=slug).id, environment=environment)


def test_basic_scenario(endpoint):
    _, stats = index(endpoint, load("basic"))

    assert stats.as_v2_stats()["jobs"] == 2 and stats.disabled_jobs == 0
    assert set(m.Job.objects.values_list("slug", flat=True)) == {"send-welcome-email", "daily-report"}
    assert dispatcher("send-welcome-email", endpoint.environment).payload_filter == {"plan": ["pro", "team"]}
    schedule = m.ScheduleSource.objects.get()
    assert schedule.schedule == {"type": "cron", "options": {"cron": "0 9 * * *"}}
    assert schedule.key == m.Job.objects.get(slug="daily-report").id


def test_another_endpoints_jobs_are_untouched(environment):
    mine = factories.EndpointFactory(environment=environment)
    theirs = factories.EndpointFactory(environment=environment)
    index(theirs, document(job("theirs-only"), job("shared", "2.0.0")))

    # `mine` never declares "theirs-only", declares "shared" at a lower version, and switches off a
    # job of which it has no version at all.
    plan, stats = index(mine, document(job("mine"), job("shared", "1.0.0"), job("theirs-only", enabled=False)))

    assert plan.jobs_to_disable == [] and stats.disabled_jobs == 0
    assert active_versions("theirs-only") == {"1.0.0"}
    assert dispatcher("theirs-only", environment).enabled is True
    assert latest("shared", environment) == "2.0.0"  # the higher version, on the other endpoint
    assert m.JobVersion.objects.get(job__slug="shared", version="2.0.0").endpoint == theirs

    # Now `mine` drops everything: only its own jobs are disabled.
    plan, stats = index(mine, document())
    assert sorted(d.slug for d in plan.jobs_to_disable) == ["mine"]
    assert stats.disabled_jobs == 1
    assert active_versions("theirs-only") == {"1.0.0"} and active_versions("shared") == {"1.0.0", "2.0.0"}


def test_same_slug_in_another_environment_is_untouched(endpoint):
    other_env = factories.RuntimeEnvironmentFactory(project=endpoint.project, slug="prod", env_type="PRODUCTION")
    other = factories.EndpointFactory(environment=other_env, slug=endpoint.slug)
    index(other, document(job("report")))
    index(endpoint, document(job("report")))

    _, stats = index(endpoint, document())

    assert stats.disabled_jobs == 1
    assert m.JobVersion.objects.get(environment=other_env).status == "ACTIVE"
    assert dispatcher("report", other_env).enabled is True


def test_latest_follows_semantic_version_order(endpoint):
    env = endpoint.environment
    index(endpoint, document(job("digest", "1.9.0")))
    assert latest("digest", env) == "1.9.0"

    index(endpoint, document(job("digest", "1.10.0")))
    assert latest("digest", env) == "1.10.0"  # a string comparison would keep 1.9.0

    index(endpoint, document(job("digest", "1.9.0")))  # re-declaring the older version
    assert latest("digest", env) == "1.10.0"
    assert active_versions("digest") == {"1.9.0", "1.10.0"}
    assert m.JobAlias.objects.count() == 1


def test_disabling_a_new_version_disables_the_running_one_issue_1041(endpoint):
    env = endpoint.environment
    index(endpoint, document(job("sync", "1.0.0")))

    # One deploy bumps the version and switches the job off: 2.0.0 was never registered.
    plan, stats = index(endpoint, document(job("sync", "2.0.0", enabled=False)))

    assert [(d.slug, d.version, d.why) for d in plan.jobs_to_disable] == [("sync", "1.0.0", "enabled_false")]
    assert stats.disabled_jobs == 1 and stats.jobs == 0
    assert active_versions("sync") == set()
    assert not m.JobVersion.objects.filter(version="2.0.0").exists()
    assert dispatcher("sync", env).enabled is False
    assert latest("sync", env) == "1.0.0"


def test_suspicious_shrink(endpoint):
    jobs = [job(f"job-{i}") for i in range(4)]
    assert registry_plan(endpoint=endpoint, data=document(*jobs)).suspicious_shrink() is None  # nothing active
    index(endpoint, document(*jobs))

    half = registry_plan(endpoint=endpoint, data=document(*jobs[:2]))
    assert half.active_jobs_before == 4 and half.active_jobs_to_disable == 2
    assert half.suspicious_shrink() is None  # exactly half is not more than half

    most = registry_plan(endpoint=endpoint, data=document(jobs[0], job("job-1", enabled=False)))
    assert most.active_jobs_to_disable == 3
    assert most.suspicious_shrink() == "The index would disable 3 of the endpoint's 4 active job(s)."

    none = registry_plan(endpoint=endpoint, data=document())
    assert none.suspicious_shrink() == "The index declares no jobs, but the endpoint has 4 active job(s)."

    # A plan is only a plan: nothing was disabled.
    assert m.JobVersion.objects.filter(status="ACTIVE").count() == 4


def test_sdk_2_0_document_with_a_v1_source(endpoint):
    """2.0.x: sources without `version` (v1, `events`), no internal/httpEndpoints/webhooks keys."""
    github = {"id": "github", "metadata": {"id": "github", "name": "GitHub"}, "authSource": "HOSTED"}
    on_issue = job("on-issue", preprocessRuns=True, integrations={"github": github})
    on_issue["trigger"]["rule"] = {"event": ["issues", "issue_comment"], "source": "github.com", "payload": {}}
    source = {
        "version": "1",
        "channel": "HTTP",
        "key": "github.repo.acme.web",
        "params": {"repo": "acme/web"},
        "events": ["issues", "issue_comment", "issues"],
        "integration": github,
    }
    _, stats = index(endpoint, document(on_issue, sources=[source]))

    assert stats.sources == 1 and stats.jobs == 1
    assert dispatcher("on-issue", endpoint.environment).event == ["issues", "issue_comment"]
    row = m.TriggerSource.objects.get()
    assert (row.version, row.integration.slug, row.source_registration_job_id) == ("1", "github", None)
    assert sorted(row.options.values_list("name", "value")) == [("event", "issue_comment"), ("event", "issues")]
    assert stats.follow_ups.source_activations == [{"version": "1", "id": row.id, "orphanedEvents": []}]

    # v1 keeps options it no longer declares and reports them as orphaned events.
    source["events"] = ["issues"]
    m.TriggerSource.objects.update(active=True)
    m.TriggerSourceOption.objects.update(registered=True)
    _, again = index(endpoint, document(on_issue, sources=[source]))
    assert row.options.count() == 2
    assert again.follow_ups.source_activations == [{"version": "1", "id": row.id, "orphanedEvents": ["issue_comment"]}]


def test_v2_orphaned_options_are_deleted(endpoint):
    full = load("full")
    index(endpoint, full)
    full["sources"][0]["options"] = {"event": ["push", "pull_request", "push"], "branch": ["main"]}
    _, stats = index(endpoint, full)
    source = m.TriggerSource.objects.get()
    assert sorted(source.options.values_list("name", "value")) == [
        ("branch", "main"),
        ("event", "pull_request"),
        ("event", "push"),
    ]

    m.TriggerSource.objects.update(active=True)
    m.TriggerSourceOption.objects.update(registered=True)
    full["sources"][0]["options"] = {"event": ["push"]}
    _, stats = index(endpoint, full)
    assert list(source.options.values_list("name", "value")) == [("event", "push")]
    assert stats.follow_ups.source_activations == [
        {"version": "2", "id": source.id, "orphanedOptions": {"branch": ["main"], "event": ["pull_request"]}}
    ]

    _, stats = index(endpoint, full)  # active, nothing orphaned, everything registered
    assert stats.follow_ups.source_activations == []


def test_hosted_source_integration_must_exist(endpoint):
    hosted = {"id": "gh-hosted", "metadata": {"id": "github", "name": "GitHub"}, "authSource": "HOSTED"}
    source = {"version": "2", "channel": "HTTP", "key": "gh", "params": {}, "options": {"event": ["push"]}}
    _, stats = index(endpoint, document(job("a"), sources=[{**source, "integration": hosted}]))

    assert stats.sources == 0 and stats.jobs == 1
    assert stats.errors == ['Source "gh": Integration not found.']
    assert not m.TriggerSource.objects.exists()


def test_hosted_source_uses_an_existing_integration(endpoint):
    hosted = {"id": "gh-hosted", "metadata": {"id": "github", "name": "GitHub"}, "authSource": "HOSTED"}
    index(endpoint, document(job("a", integrations={"gh": hosted})))  # the job creates the integration
    source = {"version": "2", "channel": "HTTP", "key": "gh", "params": {}, "options": {"event": ["push"]}}
    _, stats = index(endpoint, document(job("b"), sources=[{**source, "integration": hosted}]))

    assert stats.errors == [] and stats.sources == 1
    assert m.TriggerSource.objects.get().integration == m.Integration.objects.get(slug="gh-hosted")


def test_interval_below_twenty_seconds_is_clamped(endpoint):
    trigger = {"type": "scheduled", "schedule": {"type": "interval", "options": {"seconds": 5}, "metadata": {"a": 1}}}
    index(endpoint, document(job("fast", trigger=trigger)))
    schedule = m.ScheduleSource.objects.get()
    assert schedule.schedule == {"type": "interval", "options": {"seconds": 20}}
    assert schedule.metadata == {"a": 1}
    assert m.JobVersion.objects.get().trigger == trigger  # the declaration is stored as declared


def test_inactive_environment_keeps_schedules_off(endpoint):
    endpoint.environment.auto_enable_internal_sources = False
    endpoint.environment.save()
    trigger = {"type": "scheduled", "schedule": {"type": "cron", "options": {"cron": "0 * * * *"}}}
    _, stats = index(endpoint, document(job("hourly", trigger=trigger)))
    assert m.ScheduleSource.objects.get().active is False
    assert stats.follow_ups.schedules_to_arm == []


def test_a_job_that_stops_being_scheduled_loses_its_schedule(endpoint):
    env = endpoint.environment
    cron = {"type": "scheduled", "schedule": {"type": "cron", "options": {"cron": "0 * * * *"}}}
    index(endpoint, document(job("flip", "1.0.0", trigger=cron)))
    schedule = m.ScheduleSource.objects.get()

    _, stats = index(endpoint, document(job("flip", "1.1.0")))

    schedule.refresh_from_db()
    assert schedule.active is False and stats.follow_ups.schedules_to_disarm == [schedule.id]
    flip = dispatcher("flip", env)
    assert (flip.event, flip.manual, flip.enabled) == (["flip.event"], False, True)
    assert flip.dispatchable["id"] == m.JobVersion.objects.get(version="1.1.0").id


def test_soft_deleted_job_is_revived_and_its_title_updated(endpoint):
    index(endpoint, document(job("old", name="Old")))
    m.Job.objects.update(deleted_at=timezone.now())
    index(endpoint, document(job("old", name="New title")))
    revived = m.Job.objects.get()
    assert (revived.title, revived.deleted_at) == ("New title", None)


def test_examples_and_integrations_follow_the_declaration(endpoint):
    local = {"id": "resend", "metadata": {"id": "resend", "name": "Resend"}, "authSource": "LOCAL"}
    other = {"id": "resend-2", "metadata": {"id": "resend", "name": "Resend"}, "authSource": "RESOLVER"}
    event = {"name": "e", "title": "E", "source": "trigger.dev", "icon": "x"}
    first = job("mail", event={**event, "examples": [{"id": "a", "name": "A"}, {"id": "b", "name": "B"}]})
    first["integrations"] = {"email": local, "backup": local}
    index(endpoint, document(first))

    second = job("mail", event={**event, "examples": [{"id": "b", "name": "B2", "payload": {"x": 1}}]})
    second["integrations"] = {"email": other}
    index(endpoint, document(second))

    jv = m.JobVersion.objects.get()
    assert list(jv.examples.values_list("slug", "name", "payload")) == [("b", "B2", {"x": 1})]
    assert list(jv.integrations.values_list("key", "integration__slug")) == [("email", "resend-2")]
    created = m.Integration.objects.get(slug="resend-2")
    assert (created.auth_source, created.connection_type) == ("RESOLVER", "EXTERNAL")
    assert "examples" not in jv.event_specification


def test_existing_integrations_are_not_changed_by_jobs(endpoint):
    hosted = {"id": "slack", "metadata": {"id": "slack", "name": "Slack"}, "authSource": "HOSTED"}
    index(endpoint, document(job("a", integrations={"slack": hosted})))
    local = {"id": "slack", "metadata": {"id": "slack", "name": "Slack local"}, "authSource": "LOCAL"}
    index(endpoint, document(job("a", integrations={"slack": local})))
    integration = m.Integration.objects.get()
    assert (integration.auth_source, integration.setup_status, integration.title) == (
        "HOSTED",
        "MISSING_FIELDS",
        "slack",
    )


def test_concurrency_limit_changes(endpoint):
    index(endpoint, document(job("c", concurrencyLimit={"id": "shared", "limit": 3})))
    index(endpoint, document(job("c", concurrencyLimit={"id": "shared", "limit": 7})))
    jv = m.JobVersion.objects.get()
    assert (jv.concurrency_limit, jv.concurrency_limit_group.concurrency_limit) == (None, 7)
    index(endpoint, document(job("c", concurrencyLimit=4)))
    jv.refresh_from_db()
    assert (jv.concurrency_limit, jv.concurrency_limit_group_id) == (4, None)


def test_unstorable_items_are_skipped_not_fatal(endpoint):
    too_long = job("x" * 300)
    webhook_integration = {"id": "acme", "metadata": {"id": "acme", "name": "Acme"}, "authSource": "LOCAL"}
    http = {"id": "hook", "version": "1", "enabled": True, "event": {}, "source": "acme.example"}
    webhooks = [
        {"key": key, "params": {}, "config": {}, "integration": webhook_integration, "httpEndpoint": {"id": http_id}}
        for key, http_id in (("first", "hook"), ("second", "hook"), ("orphan", "nope"))
    ]
    data = document(job("fine", integrations={"acme": webhook_integration}), too_long, httpEndpoints=[http])
    data["webhooks"] = webhooks

    plan, stats = index(endpoint, data)

    assert stats.jobs == 1 and stats.http_endpoints == 1 and stats.webhooks == 1
    assert list(m.Webhook.objects.values_list("key", flat=True)) == ["first"]
    assert stats.errors == [
        f'Job "{"x" * 300}": the id is too long.',
        'Webhook "second": HTTP endpoint "hook" already belongs to webhook "first".',
        'Webhook "orphan": HTTP endpoint not found.',
    ]
    # The unstorable job is still "declared": it is not treated as vanished.
    assert plan.jobs_to_disable == []


def test_duplicate_ids_last_declaration_wins(endpoint):
    _, stats = index(endpoint, document(job("dup", "1.0.0"), job("dup", "1.1.0")))
    assert stats.jobs == 1
    assert list(m.JobVersion.objects.values_list("version", flat=True)) == ["1.1.0"]
