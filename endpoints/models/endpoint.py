"""Endpoints and their index runs (§4.2)."""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.db.models import Q
from django.utils import timezone

from .base import TimestampedModel
from .tenancy import Organization, Project, RuntimeEnvironment


class EndpointHealth(models.TextChoices):
    """Derived from recent index outcomes by `endpoints.services.health` (deleted: `url` is NULL)."""

    NEVER_INDEXED = "NEVER_INDEXED", "never indexed"
    HEALTHY = "HEALTHY", "healthy"
    DEGRADED = "DEGRADED", "degraded"
    FAILING = "FAILING", "failing"
    # Switched off after KONGFLOW_DISABLE_AFTER_FAILURES consecutive failed indexes: no recurring
    # index, deploy hooks refused (409). Registering again, Enable or a successful index lifts it.
    DISABLED = "DISABLED", "disabled"
    DELETED = "DELETED", "deleted"


class Endpoint(TimestampedModel):
    slug = models.CharField(max_length=200)
    # NULL means soft-deleted (§5.9): indexing skips it, re-registering resurrects it.
    url = models.CharField(max_length=2000, null=True, blank=True)
    # Indexed by endpoint_environment_slug_unique (environment, slug), which it leads.
    environment = models.ForeignKey(
        RuntimeEnvironment, on_delete=models.CASCADE, related_name="endpoints", db_index=False
    )
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="endpoints")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="endpoints")
    indexing_hook_identifier = models.CharField(max_length=10, null=True, blank=True)
    version = models.CharField(max_length=50, default="unknown")
    sdk_version = models.CharField(max_length=50, default="unknown")
    run_chunk_execution_limit = models.IntegerField(default=60_000)
    start_task_threshold = models.IntegerField(default=750)
    before_execute_task_threshold = models.IntegerField(default=1500)
    before_complete_task_threshold = models.IntegerField(default=750)
    after_complete_task_threshold = models.IntegerField(default=750)
    # Health, denormalized when a run finishes (in the transaction of its final write), so lists
    # and the API read it without a query per endpoint. DELETED is never stored: see `health_state`.
    health = models.CharField(max_length=20, choices=EndpointHealth.choices, default=EndpointHealth.NEVER_INDEXED)
    consecutive_failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    # When `health` last changed (NULL: never indexed, since `created_at`).
    health_since = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_index_status = models.CharField(max_length=10, null=True, blank=True)
    last_index_at = models.DateTimeField(null=True, blank=True)
    # When health became DISABLED (NULL otherwise); see `endpoints.services.health`.
    disabled_at = models.DateTimeField(null=True, blank=True)
    # Soft delete keeps the URL it cleared, so Restore can ping and re-register it.
    deleted_at = models.DateTimeField(null=True, blank=True)
    url_before_delete = models.CharField(max_length=2000, null=True, blank=True)
    # SHA-256 of the environment key this endpoint last accepted, and when: after a key rotation
    # it tells which endpoints still answer only to the previous key. `since`: first seen with it.
    answered_key_hash = models.CharField(max_length=64, null=True, blank=True, editable=False)
    answered_key_since = models.DateTimeField(null=True, blank=True, editable=False)
    # When the recurring index next looks at this endpoint: its slot (see
    # endpoints.services.indexing.recurring). New endpoints are due at once, and the first tick
    # places them; NULL: never (not PRODUCTION or STAGING, or deleted; registering again resets it).
    recurring_index_at = models.DateTimeField(null=True, blank=True, default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["environment", "slug"], name="endpoint_environment_slug_unique"),
            # Referenced by the job versions' composite key (see models.constraints).
            models.UniqueConstraint(
                fields=["id", "environment", "organization", "project"], name="endpoint_id_scope_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["health"], name="endpoint_health"),
            # The console's list order (slug, then the admin's -pk): many endpoints share a slug.
            models.Index(fields=["slug", "-id"], name="endpoint_slug"),
            # The recurring index's tick reads the first due endpoints in this order.
            models.Index(
                fields=["recurring_index_at"],
                name="endpoint_recurring_due",
                condition=Q(recurring_index_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.slug

    @property
    def health_state(self) -> str:
        """The stored health, or DELETED for a soft-deleted endpoint."""
        return EndpointHealth.DELETED if self.url is None else self.health

    @property
    def health_state_since(self) -> datetime:
        """Since when `health_state` holds."""
        if self.url is None and self.deleted_at is not None:
            return self.deleted_at
        return self.health_since or self.created_at


class IndexSource(models.TextChoices):
    MANUAL = "MANUAL"
    API = "API"
    INTERNAL = "INTERNAL"
    HOOK = "HOOK"


class IndexStatus(models.TextChoices):
    PENDING = "PENDING"
    STARTED = "STARTED"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"


#: A run in one of these no longer changes (no worker will touch it again).
FINAL_STATUSES = (IndexStatus.SUCCESS, IndexStatus.FAILURE)


class EndpointIndex(TimestampedModel):
    """One index run. Per endpoint at most one PENDING and one STARTED row exist (constraints):
    requests arriving while one is PENDING join it instead of queueing another."""

    # Indexed by endpointindex_endpoint_recent (endpoint, -created_at).
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="indexings", db_index=False)
    source = models.CharField(max_length=10, choices=IndexSource.choices, default=IndexSource.MANUAL)
    source_data = models.JSONField(null=True, blank=True)
    reason = models.TextField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=IndexStatus.choices, default=IndexStatus.PENDING)
    data = models.JSONField(null=True, blank=True)
    stats = models.JSONField(null=True, blank=True)
    error = models.JSONField(null=True, blank=True)
    # Kongflow additions: delivery bookkeeping, coalescing and the diff against the previous index.
    force = models.BooleanField(default=False, help_text="Skip the suspicious-shrink guard.")
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=7)
    run_at = models.DateTimeField(null=True, blank=True, help_text="Not dispatched before this time.")
    dispatched_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    requests = models.PositiveIntegerField(default=1, help_text="How many index requests this run absorbed.")
    coalesced = models.JSONField(default=list, blank=True, help_text="Source and reason of each joined request.")
    document_hash = models.CharField(max_length=64, null=True, blank=True)
    body_hash = models.CharField(
        max_length=64, null=True, blank=True, help_text="SHA-256 of the INDEX_ENDPOINT body as received (SUCCESS runs)."
    )
    diff = models.JSONField(null=True, blank=True)
    registry_generation = models.BigIntegerField(
        null=True, blank=True, help_text="The organization's registry generation this run's registry writes left."
    )
    # Liveness: who holds a STARTED run and when it last said so (the sweeper recovers expired leases).
    worker = models.CharField(max_length=200, null=True, blank=True, help_text="Host and pid holding the run.")
    lease_owner = models.CharField(max_length=64, null=True, blank=True, help_text="Task id holding the run.")
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Delivery: how many messages were sent for this run, and on which broker epoch the last one was.
    dispatches = models.PositiveIntegerField(default=0)
    dispatch_epoch = models.CharField(max_length=64, null=True, blank=True)
    # The failed HTTP exchange (request with the key masked, response preview), for the inspector.
    exchange = models.JSONField(null=True, blank=True)
    # What the registry ignored in the document (SUCCESS runs): [{"code": "DUPLICATE_JOB_ID", ...}].
    warnings = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = "index run"
        verbose_name_plural = "index runs"
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint"], condition=Q(status="PENDING"), name="endpointindex_one_pending_per_endpoint"
            ),
            models.UniqueConstraint(
                fields=["endpoint"], condition=Q(status="STARTED"), name="endpointindex_one_started_per_endpoint"
            ),
        ]
        indexes = [
            models.Index(fields=["endpoint", "-created_at"], name="endpointindex_endpoint_recent"),
            models.Index(fields=["status", "updated_at"], name="endpointindex_status_updated"),
            # Carries what the overview aggregates (runs per hour, status and source; durations), so
            # that it reads this index alone; the purge finds its candidates here too (bench/scale.py).
            models.Index(
                fields=["created_at"],
                include=["status", "source", "started_at", "finished_at"],
                name="endpointindex_created_covering",
            ),
            # Failed runs newest first: the run list filtered on FAILURE (its page and capped count)
            # and the overview's latest failures. Failures are sparse among millions of SUCCESS
            # runs: without it both walk the primary key through every newer run.
            models.Index(fields=["-id"], condition=Q(status="FAILURE"), name="endpointindex_failed"),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.status}"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


class HousekeepingRun(models.Model):
    """When each housekeeping task (sweeper, recurring index, purge) last ran: one row per task.

    Kept in the database, not in beat's schedule file (disposable) nor in a cache, so that the
    web process, the console and /readyz can tell that beat stopped.
    """

    task = models.CharField(primary_key=True, max_length=100)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(null=True, blank=True)
    runs = models.PositiveIntegerField(default=0)
    # When the beat that sent the last run fired it: one run per beat interval, however many beats
    # fire (see `housekeeping_claim`). `skipped` counts the messages that found theirs taken.
    last_fired_at = models.DateTimeField(null=True, blank=True)
    skipped = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return self.task


class RunHour(models.Model):
    """The overview's figures for one closed hour of index runs (by `created_at`): runs by status
    and source, and the nearest-rank p50 / p95 of their durations (seconds).

    Written once every run of the hour is final (it can no longer change), so that the overview
    reads 24 rows instead of a day of runs. Derived data: any row may be deleted and is rebuilt
    from the runs while they are kept.
    """

    hour = models.DateTimeField(primary_key=True)
    #: {status: {source: runs}}
    counts = models.JSONField(default=dict)
    p50 = models.FloatField(null=True)
    p95 = models.FloatField(null=True)

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H}:00"
