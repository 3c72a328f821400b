"""Endpoints and their index runs (§4.2)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from .base import TimestampedModel
from .tenancy import Organization, Project, RuntimeEnvironment


class Endpoint(TimestampedModel):
    slug = models.CharField(max_length=200)
    # NULL means soft-deleted (§5.9): indexing skips it, re-registering resurrects it.
    url = models.CharField(max_length=2000, null=True, blank=True)
    environment = models.ForeignKey(RuntimeEnvironment, on_delete=models.CASCADE, related_name="endpoints")
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
    # SHA-256 of the environment key this endpoint last accepted, and when: after a key rotation
    # it tells which endpoints still answer only to the previous key. `since`: first seen with it.
    answered_key_hash = models.CharField(max_length=64, null=True, blank=True, editable=False)
    answered_key_since = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["environment", "slug"], name="endpoint_environment_slug_unique")]

    def __str__(self) -> str:
        return self.slug


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


class EndpointIndex(TimestampedModel):
    """One index run. Per endpoint at most one PENDING and one STARTED row exist (constraints):
    requests arriving while one is PENDING join it instead of queueing another."""

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="indexings")
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
    diff = models.JSONField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "endpoint indexes"
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
            models.Index(fields=["created_at"], name="endpointindex_created"),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.status}"

    @property
    def is_final(self) -> bool:
        return self.status in (IndexStatus.SUCCESS, IndexStatus.FAILURE)
