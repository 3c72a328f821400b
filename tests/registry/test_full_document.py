"""The `full` scenario (SDK 2.3.19): what one index persists, re-indexing, and a changed document."""

from __future__ import annotations

import copy

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from endpoints import models as m
from endpoints.services.registry import JobToDisable, registry_apply, registry_plan
from tests import factories
from tests.registry.conftest import index

REGISTRY_MODELS = [
    m.Job,
    m.JobVersion,
    m.JobAlias,
    m.JobIntegration,
    m.EventExample,
    m.EventDispatcher,
    m.Integration,
    m.IntegrationDefinition,
    m.ConcurrencyLimitGroup,
    m.TriggerSource,
    m.TriggerSourceOption,
    m.SecretReference,
    m.SecretStore,
    m.DynamicTrigger,
    m.ScheduleSource,
    m.TriggerHttpEndpoint,
    m.TriggerHttpEndpointEnvironment,
    m.Webhook,
    m.WebhookEnvironment,
]

SOURCE_KEY = "acme.repo-http-acme.widgets-acme-prod"
STATIC_JOBS = {
    "order-placed",
    "order-refunded",
    "notify-slack",
    "register-dynamic-trigger-acme-repo-push",
    "repo-push-static",
    SOURCE_KEY,
    "deploy-webhook",
    "webhook.register.acme.deploy-9470f39",
    "inbound-http",
    "invoice-events",
}


def row_ids() -> dict[str, set]:
    return {model.__name__: set(model.objects.values_list("pk", flat=True)) for model in REGISTRY_MODELS}


def row_counts() -> dict[str, int]:
    return {name: len(ids) for name, ids in row_ids().items()}


def version(slug: str, number: str) -> m.JobVersion:
    return m.JobVersion.objects.select_related("job").get(job__slug=slug, version=number)


def dispatcher_for(slug: str) -> m.EventDispatcher:
    return m.EventDispatcher.objects.get(dispatchable_id=m.Job.objects.get(slug=slug).id)


def test_first_index_counts(endpoint, full):
    plan, stats = index(endpoint, full)

    assert stats.as_v2_stats() == {
        "jobs": 12,
        "sources": 1,
        "webhooks": 1,
        "dynamicTriggers": 1,
        "dynamicSchedules": 1,
        "disabledJobs": 0,
        "httpEndpoints": 2,
    }
    assert stats.errors == [] and plan.errors == []
    assert plan.jobs_to_disable == [] and plan.active_jobs_before == 0 and plan.suspicious_shrink() is None
    assert row_counts() == {
        "Job": 15,
        "JobVersion": 15,
        "JobAlias": 15,
        "JobIntegration": 10,
        "EventExample": 7,
        "EventDispatcher": 13,
        "Integration": 6,
        "IntegrationDefinition": 6,
        "ConcurrencyLimitGroup": 1,
        "TriggerSource": 1,
        "TriggerSourceOption": 1,
        "SecretReference": 3,
        "SecretStore": 3,
        "DynamicTrigger": 2,
        "ScheduleSource": 2,
        "TriggerHttpEndpoint": 2,
        "TriggerHttpEndpointEnvironment": 2,
        "Webhook": 1,
        "WebhookEnvironment": 1,
    }


def test_first_index_jobs_and_versions(endpoint, full):
    index(endpoint, full)
    env = endpoint.environment

    jobs = {job.slug: job for job in m.Job.objects.all()}
    assert "legacy-import" not in jobs  # enabled:false and never registered: nothing to write
    assert {slug for slug, job in jobs.items() if job.internal} == {
        SOURCE_KEY,
        "register-dynamic-trigger-acme-repo-push",
        "webhook.register.acme.deploy-9470f39",
    }
    assert jobs["order-placed"].title == "Order placed"
    assert all(job.project_id == endpoint.project_id and job.deleted_at is None for job in jobs.values())

    for job in m.JobVersion.objects.all():
        assert (job.endpoint_id, job.environment_id, job.status) == (endpoint.id, env.id, "ACTIVE")
        assert job.start_position == "LATEST"
    placed = version("order-placed", "1.2.0")
    assert placed.event_specification == {
        "name": "order.placed",
        "title": "Event",
        "source": "shop.example",
        "icon": "custom-event",
    }
    assert placed.trigger["rule"]["payload"] == {"currency": ["USD"], "total": [{"$gt": 100}]}
    assert (placed.concurrency_limit, placed.concurrency_limit_group_id) == (None, None)
    assert version("order-refunded", "1.0.0").concurrency_limit == 5
    slack = version("notify-slack", "2.0.1")
    assert slack.concurrency_limit is None
    assert (slack.concurrency_limit_group.name, slack.concurrency_limit_group.concurrency_limit) == ("alerts", 2)
    assert version("repo-push-static", "1.0.0").properties == [{"label": "Repo", "text": "acme/widgets"}]
    assert version("repo-push-static", "1.0.0").preprocess_runs is True
    inbound = version("inbound-http", "1.0.0")
    assert inbound.trigger_link == "http-endpoints/inbound-http"
    assert inbound.trigger_help["noRuns"]["link"] == "http-endpoints/inbound-http"
    assert version("deploy-webhook", "1.0.0").properties == []

    for alias in m.JobAlias.objects.select_related("version", "job"):
        assert (alias.name, alias.value, alias.environment_id) == ("latest", alias.version.version, env.id)
        assert alias.version.job_id == alias.job_id

    examples = {(e.job_version.job.slug, e.slug): e for e in m.EventExample.objects.select_related("job_version__job")}
    assert set(examples) == {
        ("order-placed", "big"),
        ("hourly-sync", "now"),
        ("nightly-cleanup", "now"),
        ("user-digest", "now"),
        ("repo-push-dynamic", "push"),
        ("repo-push-static", "push"),
        ("inbound-http", "basic-request"),
    }
    big = examples[("order-placed", "big")]
    assert (big.name, big.icon, big.payload) == (
        "Big order",
        "shopping-cart",
        {"orderId": "o_1", "total": 250, "currency": "USD"},
    )
    assert examples[("repo-push-dynamic", "push")].icon is None


def test_first_index_integrations(endpoint, full):
    index(endpoint, full)

    integrations = {i.slug: i for i in m.Integration.objects.all()}
    assert {slug: (i.auth_source, i.setup_status, i.title, i.definition_id) for slug, i in integrations.items()} == {
        "stripe": ("LOCAL", "COMPLETE", "Stripe", "stripe"),
        "slack": ("HOSTED", "MISSING_FIELDS", "slack", "slack"),
        "openai": ("LOCAL", "COMPLETE", "OpenAI", "openai"),
        "github": ("HOSTED", "MISSING_FIELDS", "github", "github"),
        "resend": ("LOCAL", "COMPLETE", "Resend", "resend"),
        "acme-prod": ("LOCAL", "COMPLETE", "Acme Webhooks", "acme"),
    }
    assert m.IntegrationDefinition.objects.get(id="acme").instructions == "Use an Acme API token"
    links = {(link.version.job.slug, link.key): link.integration.slug for link in m.JobIntegration.objects.all()}
    assert links == {
        ("order-placed", "stripe"): "stripe",
        ("notify-slack", "slack"): "slack",
        ("notify-slack", "openai"): "openai",
        ("hourly-sync", "github"): "github",
        ("user-digest", "resend"): "resend",
        ("register-dynamic-trigger-acme-repo-push", "integration"): "acme-prod",
        ("repo-push-static", "acme"): "acme-prod",
        (SOURCE_KEY, "integration"): "acme-prod",
        ("webhook.register.acme.deploy-9470f39", "integration"): "acme-prod",
        ("invoice-events", "stripe"): "stripe",
    }


def test_first_index_dispatchers_and_schedules(endpoint, full):
    _, stats = index(endpoint, full)
    env = endpoint.environment

    for slug in STATIC_JOBS:
        dispatcher = dispatcher_for(slug)
        assert dispatcher.dispatchable == {"type": "JOB_VERSION", "id": m.JobVersion.objects.get(job__slug=slug).id}
        assert (dispatcher.enabled, dispatcher.manual, dispatcher.environment_id) == (True, False, env.id)
    placed = dispatcher_for("order-placed")
    assert (placed.event, placed.source) == (["order.placed"], "shop.example")
    assert placed.payload_filter == {"currency": ["USD"], "total": [{"$gt": 100}]}
    assert placed.context_filter is None
    assert dispatcher_for(SOURCE_KEY).payload_filter == {"source": {"key": [SOURCE_KEY]}}
    for slug in ("manual-backfill", "user-digest", "repo-push-dynamic"):  # invoke and dynamic: no dispatcher
        assert not m.EventDispatcher.objects.filter(dispatchable_id=m.Job.objects.get(slug=slug).id).exists()

    schedules = {s.key: s for s in m.ScheduleSource.objects.select_related("dispatcher")}
    hourly, nightly = m.Job.objects.get(slug="hourly-sync"), m.Job.objects.get(slug="nightly-cleanup")
    assert set(schedules) == {hourly.id, nightly.id}
    assert schedules[hourly.id].schedule == {"type": "interval", "options": {"seconds": 3600}}
    assert schedules[nightly.id].schedule == {"type": "cron", "options": {"cron": "30 2 * * *"}}
    for job, schedule in ((hourly, schedules[hourly.id]), (nightly, schedules[nightly.id])):
        assert (schedule.active, schedule.endpoint_id, schedule.environment_id) == (True, endpoint.id, env.id)
        assert schedule.dispatcher.dispatchable_id == job.id
        assert schedule.dispatcher.event == ["dev.trigger.scheduled"]
        assert (schedule.dispatcher.source, schedule.dispatcher.manual) == ("trigger.dev", True)
        assert schedule.dispatcher.dispatchable == {"type": "JOB_VERSION", "id": job.versions.get().id}
    assert stats.follow_ups.schedules_to_arm == sorted(s.id for s in schedules.values())
    assert stats.follow_ups.schedules_to_disarm == []


def test_first_index_sources_dynamic_http_and_webhooks(endpoint, full):
    _, stats = index(endpoint, full)
    env = endpoint.environment

    source = m.TriggerSource.objects.select_related("secret_reference", "integration").get()
    assert (source.key, source.version, source.channel, source.active) == (SOURCE_KEY, "2", "HTTP", False)
    assert source.params == {"owner": "acme", "repo": "widgets"}
    assert (source.endpoint_id, source.environment_id, source.integration.slug) == (endpoint.id, env.id, "acme-prod")
    assert source.source_registration_job == version(SOURCE_KEY, "0.1.0")
    assert source.secret_reference.key == f"{endpoint.id}:{SOURCE_KEY}"
    assert set(m.SecretStore.objects.get(key=source.secret_reference.key).value) == {"secret"}
    assert list(source.options.values_list("name", "value", "registered")) == [("event", "push", False)]
    assert stats.follow_ups.source_activations == [{"version": "2", "id": source.id, "orphanedOptions": {}}]

    trigger = m.DynamicTrigger.objects.get(type="EVENT")
    assert (trigger.slug, trigger.endpoint_id, trigger.active) == ("acme-repo-push", endpoint.id, True)
    assert trigger.source_registration_job == version("register-dynamic-trigger-acme-repo-push", "0.1.0")
    assert list(trigger.jobs.values_list("slug", flat=True)) == ["repo-push-dynamic"]
    schedule = m.DynamicTrigger.objects.get(type="SCHEDULE")
    assert (schedule.slug, schedule.source_registration_job_id) == ("per-user-digest", None)
    assert list(schedule.jobs.values_list("slug", flat=True)) == ["user-digest"]
    dispatcher = m.EventDispatcher.objects.get(dispatchable_id=schedule.id)
    assert dispatcher.dispatchable == {"type": "DYNAMIC_TRIGGER", "id": schedule.id}
    assert (dispatcher.event, dispatcher.source, dispatcher.manual) == (["dev.trigger.scheduled"], "trigger.dev", True)

    envs = {e.http_endpoint.key: e for e in m.TriggerHttpEndpointEnvironment.objects.select_related("http_endpoint")}
    assert set(envs) == {"acme.deploy-9470f39", "inbound-http"}
    assert {key: (e.active, e.source, e.endpoint_id) for key, e in envs.items()} == {
        "acme.deploy-9470f39": (True, "trigger.dev", endpoint.id),
        "inbound-http": (True, "partner.example", endpoint.id),
    }
    inbound = envs["inbound-http"].http_endpoint
    assert (inbound.icon, inbound.title, inbound.project_id) == ("webhook", None, endpoint.project_id)
    assert inbound.secret_reference.key == f"httpendpoint:{endpoint.project_id}:inbound-http"
    assert m.SecretStore.objects.filter(key=inbound.secret_reference.key).exists()

    webhook = m.Webhook.objects.select_related("http_endpoint", "integration").get()
    assert (webhook.key, webhook.params, webhook.active) == ("acme.deploy-9470f39", {"project": "rocket"}, False)
    assert (webhook.http_endpoint.key, webhook.integration.slug) == ("acme.deploy-9470f39", "acme-prod")
    webhook_env = m.WebhookEnvironment.objects.get()
    assert (webhook_env.desired_config, webhook_env.config, webhook_env.active) == ({}, None, False)
    assert (webhook_env.endpoint_id, webhook_env.environment_id) == (endpoint.id, env.id)
    assert stats.follow_ups.webhooks_to_register == [webhook_env.id]


def test_reindexing_the_same_document_is_idempotent(endpoint, full):
    _, first = index(endpoint, full)
    ids = row_ids()
    secrets_before = dict(m.SecretStore.objects.values_list("key", "value"))

    plan, second = index(endpoint, copy.deepcopy(full))

    assert row_ids() == ids
    assert second.as_v2_stats() == first.as_v2_stats()
    assert plan.jobs_to_disable == [] and plan.active_jobs_before == 15
    assert not (plan.sources_to_deactivate or plan.dynamic_triggers_to_deactivate or plan.webhooks_to_deactivate)
    assert dict(m.SecretStore.objects.values_list("key", "value")) == secrets_before  # never overwritten
    assert set(m.JobVersion.objects.values_list("status", flat=True)) == {"ACTIVE"}
    assert m.ScheduleSource.objects.filter(active=True).count() == 2


def test_changed_document_disables_and_deactivates_exactly(endpoint, full):
    index(endpoint, full)
    m.TriggerSource.objects.update(active=True)  # as if the sources service had activated it
    invoice = m.Job.objects.get(slug="invoice-events")
    nightly_schedule = m.ScheduleSource.objects.get(key=m.Job.objects.get(slug="nightly-cleanup").id)

    changed = copy.deepcopy(full)
    jobs = {job["id"]: job for job in changed["jobs"]}
    del jobs["invoice-events"]  # removed
    del jobs[SOURCE_KEY]  # the source and its internal registration job go together
    jobs["order-placed"]["version"] = "1.3.0"  # bumped
    jobs["nightly-cleanup"]["enabled"] = False  # flipped
    changed["jobs"] = list(jobs.values())
    changed["sources"] = []

    plan, stats = index(endpoint, changed)

    assert sorted((d.slug, d.version, d.why) for d in plan.jobs_to_disable) == [
        (SOURCE_KEY, "0.1.0", "vanished"),
        ("invoice-events", "1.0.0", "vanished"),
        ("nightly-cleanup", "1.0.0", "enabled_false"),
    ]
    assert plan.sources_to_deactivate == [SOURCE_KEY]
    assert plan.suspicious_shrink() is None
    assert stats.disabled_jobs == 3 and stats.jobs == 10 and stats.sources == 0
    disabled = set(m.JobVersion.objects.filter(status="DISABLED").values_list("job__slug", "version"))
    assert disabled == {("invoice-events", "1.0.0"), ("nightly-cleanup", "1.0.0"), (SOURCE_KEY, "0.1.0")}
    assert m.JobVersion.objects.filter(status="ACTIVE").count() == 13  # 12 kept + order-placed 1.3.0

    assert dispatcher_for("invoice-events").enabled is False
    assert dispatcher_for("nightly-cleanup").enabled is False
    assert dispatcher_for(SOURCE_KEY).enabled is False
    nightly_schedule.refresh_from_db()
    assert nightly_schedule.active is False
    assert stats.follow_ups.schedules_to_disarm == [nightly_schedule.id]
    assert m.ScheduleSource.objects.get(key=m.Job.objects.get(slug="hourly-sync").id).active is True
    assert m.TriggerSource.objects.get().active is False

    bumped = version("order-placed", "1.3.0")
    assert bumped.status == "ACTIVE" and version("order-placed", "1.2.0").status == "ACTIVE"
    assert m.JobAlias.objects.get(job__slug="order-placed").version == bumped
    assert dispatcher_for("order-placed").dispatchable == {"type": "JOB_VERSION", "id": bumped.id}
    assert list(bumped.examples.values_list("slug", flat=True)) == ["big"]
    assert list(bumped.integrations.values_list("key", flat=True)) == ["stripe"]
    # the alias of a disabled job stays where it was; the job row itself is never deleted
    assert m.JobAlias.objects.get(job=invoice).value == "1.0.0"
    assert m.Job.objects.filter(id=invoice.id, deleted_at=None).exists()

    # Applying the changed document again changes nothing and counts nothing as disabled.
    plan, again = index(endpoint, changed)
    assert plan.jobs_to_disable == [] and again.disabled_jobs == 0

    # Flipping the job back on re-activates version, dispatcher and schedule.
    _, back = index(endpoint, full)
    assert back.disabled_jobs == 0
    assert version("nightly-cleanup", "1.0.0").status == "ACTIVE"
    assert dispatcher_for("nightly-cleanup").enabled is True
    nightly_schedule.refresh_from_db()
    assert nightly_schedule.active is True and nightly_schedule.id in back.follow_ups.schedules_to_arm


def test_vanished_collections_are_deactivated_and_come_back(endpoint, full):
    index(endpoint, full)
    schedule_trigger = m.DynamicTrigger.objects.get(type="SCHEDULE")
    # A registration made at run time (DynamicSchedule.register) and an activated webhook and source.
    registration = m.ScheduleSource.objects.create(
        key="per-user-digest:user-1",
        schedule={"type": "cron", "options": {"cron": "0 8 * * *"}},
        environment=endpoint.environment,
        dispatcher=m.EventDispatcher.objects.get(dispatchable_id=schedule_trigger.id),
        dynamic_trigger=schedule_trigger,
        active=True,
    )
    m.Webhook.objects.update(active=True)
    m.WebhookEnvironment.objects.update(active=True, config={})
    m.TriggerSource.objects.update(active=True)
    m.TriggerSourceOption.objects.update(registered=True)

    empty = copy.deepcopy(full)
    for collection in ("sources", "dynamicTriggers", "dynamicSchedules", "httpEndpoints", "webhooks"):
        empty[collection] = []
    plan, stats = index(endpoint, empty)

    assert plan.sources_to_deactivate == [SOURCE_KEY]
    assert plan.dynamic_triggers_to_deactivate == ["acme-repo-push"]
    assert plan.dynamic_schedules_to_deactivate == ["per-user-digest"]
    assert plan.http_endpoints_to_deactivate == ["acme.deploy-9470f39", "inbound-http"]
    assert plan.webhooks_to_deactivate == ["acme.deploy-9470f39"]
    assert stats.jobs == 12 and stats.disabled_jobs == 0
    assert not m.DynamicTrigger.objects.filter(active=True).exists()
    assert m.EventDispatcher.objects.get(dispatchable_id=schedule_trigger.id).enabled is False
    registration.refresh_from_db()
    assert registration.active is False and stats.follow_ups.schedules_to_disarm == [registration.id]
    assert not m.TriggerHttpEndpointEnvironment.objects.filter(active=True).exists()
    assert not m.WebhookEnvironment.objects.filter(active=True).exists()
    assert not m.TriggerSource.objects.filter(active=True).exists()

    _, back = index(endpoint, full)

    assert m.DynamicTrigger.objects.filter(active=True).count() == 2
    assert m.EventDispatcher.objects.get(dispatchable_id=schedule_trigger.id).enabled is True
    registration.refresh_from_db()
    assert registration.active is True and registration.id in back.follow_ups.schedules_to_arm
    assert m.TriggerHttpEndpointEnvironment.objects.filter(active=True).count() == 2
    # Webhooks and sources are activated by their own services: the index only asks for it.
    webhook_env = m.WebhookEnvironment.objects.get()
    assert webhook_env.active is False and back.follow_ups.webhooks_to_register == [webhook_env.id]
    source = m.TriggerSource.objects.get()
    assert source.active is False
    assert back.follow_ups.source_activations == [{"version": "2", "id": source.id, "orphanedOptions": {}}]


def test_plan_only_reads(endpoint, full):
    index(endpoint, full)
    changed = copy.deepcopy(full)
    changed["jobs"] = changed["jobs"][:3]
    counts = row_counts()

    with CaptureQueriesContext(connection) as queries:
        plan = registry_plan(endpoint=endpoint, data=changed)

    assert all(q["sql"].lstrip("( ").upper().startswith("SELECT") for q in queries.captured_queries)
    assert row_counts() == counts
    assert {d.why for d in plan.jobs_to_disable} == {"vanished"}
    assert len(plan.jobs_to_disable) == 12
    assert isinstance(plan.jobs_to_disable[0], JobToDisable)


def test_apply_refuses_a_plan_made_for_another_endpoint(endpoint, full):
    plan = registry_plan(endpoint=endpoint, data=full)
    other = factories.EndpointFactory(environment=endpoint.environment)
    with pytest.raises(ValueError):
        registry_apply(endpoint=other, plan=plan)
