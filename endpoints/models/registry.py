"""What an index declares: jobs and their versions, integrations, sources, dynamic triggers and
schedules, HTTP endpoints and webhooks (§4.2, §5.10). Written in bulk by services.registry."""

from __future__ import annotations

from django.db import models

from .base import TimestampedModel
from .constraints import CompositeForeignKey
from .endpoint import Endpoint
from .tenancy import Organization, Project, RuntimeEnvironment


class JobVersionStatus(models.TextChoices):
    ACTIVE = "ACTIVE"
    DISABLED = "DISABLED"


class StartPosition(models.TextChoices):
    INITIAL = "INITIAL"
    LATEST = "LATEST"


class AuthSource(models.TextChoices):
    HOSTED = "HOSTED"
    LOCAL = "LOCAL"
    RESOLVER = "RESOLVER"


class SetupStatus(models.TextChoices):
    MISSING_FIELDS = "MISSING_FIELDS"
    COMPLETE = "COMPLETE"


class ConnectionType(models.TextChoices):
    EXTERNAL = "EXTERNAL"
    DEVELOPER = "DEVELOPER"


class TriggerChannel(models.TextChoices):
    HTTP = "HTTP"
    SQS = "SQS"
    SMTP = "SMTP"


class DynamicTriggerType(models.TextChoices):
    EVENT = "EVENT"
    SCHEDULE = "SCHEDULE"


class IntegrationDefinition(models.Model):
    id = models.CharField(primary_key=True, max_length=100)  # natural id, e.g. "github"
    name = models.CharField(max_length=200)
    instructions = models.TextField(null=True, blank=True)

    def __str__(self) -> str:
        return self.id


class Integration(TimestampedModel):
    slug = models.CharField(max_length=200)
    title = models.CharField(max_length=200, null=True, blank=True)
    setup_status = models.CharField(max_length=20, choices=SetupStatus.choices, default=SetupStatus.COMPLETE)
    auth_source = models.CharField(max_length=10, choices=AuthSource.choices, default=AuthSource.HOSTED)
    connection_type = models.CharField(max_length=10, choices=ConnectionType.choices, default=ConnectionType.DEVELOPER)
    definition = models.ForeignKey(IntegrationDefinition, on_delete=models.PROTECT, related_name="integrations")
    # Indexed by integration_org_slug_unique (organization, slug), which it leads.
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="integrations", db_index=False
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "slug"], name="integration_org_slug_unique")]

    def __str__(self) -> str:
        return self.slug


class Job(TimestampedModel):
    """Jobs are per project, not per endpoint or environment."""

    slug = models.CharField(max_length=200)
    title = models.CharField(max_length=500)
    internal = models.BooleanField(default=False)
    # Both checked by job_project_fk: the project, of this organization (see models.constraints).
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="jobs", db_constraint=False)
    # Indexed by the (project, slug) constraint: an index of its own would only cost writes.
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="jobs", db_index=False, db_constraint=False
    )
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "slug"], name="job_project_slug_unique"),
            # Referenced by job_version_job_fk.
            models.UniqueConstraint(fields=["id", "project"], name="job_id_project_unique"),
            CompositeForeignKey(
                fields=["project", "organization"],
                to_fields=["id", "organization"],
                name="job_project_fk",
            ),
        ]

    def __str__(self) -> str:
        return self.slug


class ConcurrencyLimitGroup(TimestampedModel):
    name = models.CharField(max_length=200)
    concurrency_limit = models.PositiveIntegerField()
    # Indexed by concurrencygroup_env_name_unique (environment, name), which it leads.
    environment = models.ForeignKey(RuntimeEnvironment, on_delete=models.CASCADE, related_name="+", db_index=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["environment", "name"], name="concurrencygroup_env_name_unique")]


class JobVersion(TimestampedModel):
    version = models.CharField(max_length=100)
    event_specification = models.JSONField()
    trigger = models.JSONField(default=dict, help_text="The trigger metadata as declared (type, rule/schedule/id).")
    properties = models.JSONField(null=True, blank=True)
    trigger_link = models.TextField(null=True, blank=True)
    trigger_help = models.JSONField(null=True, blank=True)
    # Both indexed by what they lead: (job, version, environment) and (endpoint, status). The five
    # are checked by two composite keys: the job, of this project; the endpoint, of this
    # environment, organization and project (see models.constraints).
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="versions", db_index=False, db_constraint=False)
    endpoint = models.ForeignKey(
        Endpoint, on_delete=models.CASCADE, related_name="job_versions", db_index=False, db_constraint=False
    )
    environment = models.ForeignKey(
        RuntimeEnvironment, on_delete=models.CASCADE, related_name="job_versions", db_constraint=False
    )
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    start_position = models.CharField(max_length=10, choices=StartPosition.choices, default=StartPosition.LATEST)
    preprocess_runs = models.BooleanField(default=False)
    concurrency_limit = models.PositiveIntegerField(null=True, blank=True)
    concurrency_limit_group = models.ForeignKey(
        ConcurrencyLimitGroup, on_delete=models.SET_NULL, null=True, blank=True, related_name="job_versions"
    )
    status = models.CharField(max_length=10, choices=JobVersionStatus.choices, default=JobVersionStatus.ACTIVE)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "version", "environment"], name="jobversion_job_version_env_unique"),
            # Referenced by the aliases' and integration links' composite keys.
            models.UniqueConstraint(fields=["id", "job"], name="jobversion_id_job_unique"),
            CompositeForeignKey(fields=["job", "project"], to_fields=["id", "project"], name="jobversion_job_fk"),
            CompositeForeignKey(
                fields=["endpoint", "environment", "organization", "project"],
                to_fields=["id", "environment", "organization", "project"],
                name="jobversion_endpoint_fk",
            ),
        ]
        indexes = [models.Index(fields=["endpoint", "status"], name="jobversion_endpoint_status")]

    def __str__(self) -> str:
        return f"{self.job_id}@{self.version}"


class JobAlias(TimestampedModel):
    """`latest` points at the highest version by semantic-version order (the original used string order)."""

    name = models.CharField(max_length=50, default="latest")
    value = models.CharField(max_length=100)
    # Version and job: checked by jobalias_version_fk (the version, of this job).
    version = models.ForeignKey(JobVersion, on_delete=models.CASCADE, related_name="aliases", db_constraint=False)
    # Indexed by the (job, environment, name) constraint.
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="aliases", db_index=False, db_constraint=False)
    environment = models.ForeignKey(RuntimeEnvironment, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "environment", "name"], name="jobalias_job_env_name_unique"),
            CompositeForeignKey(
                fields=["version", "job"],
                to_fields=["id", "job"],
                name="jobalias_version_fk",
            ),
        ]


class JobIntegration(TimestampedModel):
    key = models.CharField(max_length=200)
    # Indexed by the (version, key) constraint. Version and job: checked by jobintegration_version_fk.
    version = models.ForeignKey(
        JobVersion, on_delete=models.CASCADE, related_name="integrations", db_index=False, db_constraint=False
    )
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="job_integrations")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "key"], name="jobintegration_version_key_unique"),
            CompositeForeignKey(
                fields=["version", "job"],
                to_fields=["id", "job"],
                name="jobintegration_version_fk",
            ),
        ]


class EventExample(TimestampedModel):
    slug = models.CharField(max_length=200)
    name = models.CharField(max_length=500)
    icon = models.CharField(max_length=200, null=True, blank=True)
    payload = models.JSONField(null=True, blank=True)
    job_version = models.ForeignKey(JobVersion, on_delete=models.CASCADE, related_name="examples")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["slug", "job_version"], name="eventexample_slug_version_unique")]


class EventDispatcher(TimestampedModel):
    """For jobs `dispatchable_id` is the Job id: one dispatcher per job and environment."""

    event = models.JSONField(default=list)
    source = models.CharField(max_length=200)
    payload_filter = models.JSONField(null=True, blank=True)
    context_filter = models.JSONField(null=True, blank=True)
    manual = models.BooleanField(default=False)
    dispatchable_id = models.CharField(max_length=30)
    dispatchable = models.JSONField()
    enabled = models.BooleanField(default=True)
    environment = models.ForeignKey(RuntimeEnvironment, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["dispatchable_id", "environment"], name="dispatcher_dispatchable_env_unique"
            ),
        ]


class DynamicTrigger(TimestampedModel):
    type = models.CharField(max_length=10, choices=DynamicTriggerType.choices, default=DynamicTriggerType.EVENT)
    slug = models.CharField(max_length=200)
    # Indexed by dynamictrigger_endpoint_slug_type_unique, which it leads.
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="dynamic_triggers", db_index=False)
    source_registration_job = models.ForeignKey(
        JobVersion, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    jobs = models.ManyToManyField(Job, related_name="dynamic_triggers", blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "slug", "type"], name="dynamictrigger_endpoint_slug_type_unique"
            )
        ]


class ScheduleSource(TimestampedModel):
    key = models.CharField(max_length=200)
    schedule = models.JSONField()
    environment = models.ForeignKey(RuntimeEnvironment, on_delete=models.CASCADE, related_name="+")
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    dispatcher = models.ForeignKey(EventDispatcher, on_delete=models.CASCADE, related_name="schedule_sources")
    active = models.BooleanField(default=False)
    metadata = models.JSONField(null=True, blank=True)
    account_id = models.CharField(max_length=200, null=True, blank=True)
    dynamic_trigger = models.ForeignKey(DynamicTrigger, on_delete=models.CASCADE, null=True, blank=True)
    last_event_timestamp = models.DateTimeField(null=True, blank=True)
    next_event_timestamp = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "environment"], name="schedulesource_key_env_unique"),
        ]


class SecretReference(TimestampedModel):
    key = models.CharField(max_length=300, unique=True)
    provider = models.CharField(max_length=20, default="DATABASE")


class SecretStore(models.Model):
    key = models.CharField(primary_key=True, max_length=300)
    value = models.JSONField()
    version = models.CharField(max_length=10, default="1")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.key


class TriggerSource(TimestampedModel):
    key = models.CharField(max_length=300)
    params = models.JSONField(null=True, blank=True)
    channel = models.CharField(max_length=10, choices=TriggerChannel.choices, default=TriggerChannel.HTTP)
    version = models.CharField(max_length=5, default="1")
    metadata = models.JSONField(null=True, blank=True)
    secret_reference = models.ForeignKey(SecretReference, on_delete=models.PROTECT, related_name="+")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    environment = models.ForeignKey(RuntimeEnvironment, on_delete=models.CASCADE, related_name="+")
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="sources")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="sources")
    dynamic_trigger = models.ForeignKey(DynamicTrigger, on_delete=models.CASCADE, null=True, blank=True)
    source_registration_job = models.ForeignKey(
        JobVersion, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    active = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "environment"], name="triggersource_key_env_unique")]


class TriggerSourceOption(TimestampedModel):
    name = models.CharField(max_length=200)
    value = models.CharField(max_length=500)
    source = models.ForeignKey(TriggerSource, on_delete=models.CASCADE, related_name="options")
    registered = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "value", "source"], name="triggersourceoption_unique")]


class TriggerHttpEndpoint(TimestampedModel):
    key = models.CharField(max_length=200)
    title = models.CharField(max_length=500, null=True, blank=True)
    icon = models.CharField(max_length=200, null=True, blank=True)
    properties = models.JSONField(null=True, blank=True)
    secret_reference = models.ForeignKey(SecretReference, on_delete=models.PROTECT, related_name="+")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="http_endpoints")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "project"], name="httpendpoint_key_project_unique")]


class TriggerHttpEndpointEnvironment(TimestampedModel):
    active = models.BooleanField(default=False)
    immediate_response_filter = models.JSONField(null=True, blank=True)
    skip_triggering_runs = models.BooleanField(default=False)
    source = models.CharField(max_length=200)
    # Indexed by httpendpointenv_env_unique, which it leads.
    environment = models.ForeignKey(RuntimeEnvironment, on_delete=models.CASCADE, related_name="+", db_index=False)
    # Indexed by httpendpointenv_endpoint_unique, which it leads.
    endpoint = models.ForeignKey(
        Endpoint, on_delete=models.CASCADE, related_name="http_endpoint_environments", db_index=False
    )
    http_endpoint = models.ForeignKey(TriggerHttpEndpoint, on_delete=models.CASCADE, related_name="environments")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["environment", "http_endpoint"], name="httpendpointenv_env_unique"),
            models.UniqueConstraint(fields=["endpoint", "http_endpoint"], name="httpendpointenv_endpoint_unique"),
        ]


class Webhook(TimestampedModel):
    key = models.CharField(max_length=200)
    params = models.JSONField(null=True, blank=True)
    active = models.BooleanField(default=False)
    http_endpoint = models.OneToOneField(TriggerHttpEndpoint, on_delete=models.CASCADE, related_name="webhook")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="webhooks")
    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="webhooks")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "project"], name="webhook_key_project_unique")]


class WebhookEnvironment(TimestampedModel):
    active = models.BooleanField(default=False)
    config = models.JSONField(null=True, blank=True)
    desired_config = models.JSONField(null=True, blank=True)
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="webhook_environments")
    # Indexed by webhookenv_env_webhook_unique, which it leads.
    environment = models.ForeignKey(RuntimeEnvironment, on_delete=models.CASCADE, related_name="+", db_index=False)
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="environments")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["environment", "webhook"], name="webhookenv_env_webhook_unique")]
