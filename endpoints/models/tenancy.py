"""Organisations, projects and their runtime environments (read-mostly context, §4.2)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from endpointapi.guard import parse_networks

from .base import TimestampedModel
from .fields import EncryptedTextField


class EnvironmentType(models.TextChoices):
    PRODUCTION = "PRODUCTION"
    STAGING = "STAGING"
    DEVELOPMENT = "DEVELOPMENT"
    PREVIEW = "PREVIEW"


def validate_networks(value: str) -> None:
    try:
        parse_networks(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


class Organization(TimestampedModel):
    slug = models.SlugField(max_length=100, unique=True)
    title = models.CharField(max_length=200)
    deleted_at = models.DateTimeField(null=True, blank=True)
    # An operator's decision (endpoints.services.clients.outbound_policy): empty = the default.
    allowed_networks = models.TextField(
        blank=True,
        default="",
        validators=[validate_networks],
        help_text=(
            "Private networks (CIDRs, separated by commas or new lines) that this organization's "
            "PRODUCTION, STAGING and PREVIEW endpoints and webhooks may be on, e.g. 10.20.0.0/16. "
            "Empty: ENDPOINTAPI_ALLOWED_NETWORKS applies. Kongflow's own database, broker, cache and "
            "listening sockets stay refused whatever this says."
        ),
    )
    # Bumped by every transaction that changes a registry row of the organization (§ skip of
    # identical documents in endpoints.services.indexing.runs).
    registry_generation = models.BigIntegerField(default=0, editable=False)

    def __str__(self) -> str:
        return self.slug


class Project(TimestampedModel):
    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="projects")
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # Referenced by the jobs' composite key (see models.constraints).
        constraints = [models.UniqueConstraint(fields=["id", "organization"], name="project_id_organization_unique")]

    def __str__(self) -> str:
        return self.slug


class RuntimeEnvironment(TimestampedModel):
    slug = models.SlugField(max_length=100)
    type = models.CharField(max_length=20, choices=EnvironmentType.choices, default=EnvironmentType.DEVELOPMENT)
    # The secret key is sent to endpoints on every call (x-trigger-api-key), so it is stored
    # retrievable, encrypted (kongflow.encryption); it is compared in constant time and shown masked.
    api_key = EncryptedTextField()
    pk_api_key = models.CharField(max_length=100, unique=True)
    # Looked up by the key's SHA-256, so the lookup's timing says nothing about the key itself;
    # the key is then compared in constant time.
    api_key_hash = models.CharField(max_length=64, unique=True, editable=False)
    # Key rotation (services.environments.environment_api_key_rotate): the key replaced last keeps
    # working, for the API and towards endpoints, until `previous_api_key_expires_at`.
    previous_api_key = EncryptedTextField(null=True, blank=True, editable=False)
    previous_api_key_hash = models.CharField(max_length=64, null=True, blank=True, editable=False, db_index=True)
    previous_api_key_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    api_key_rotated_at = models.DateTimeField(null=True, blank=True, editable=False)
    auto_enable_internal_sources = models.BooleanField(default=True)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="environments")
    # Indexed by environment_project_slug_unique, which it leads.
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="environments", db_index=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "slug"], name="environment_project_slug_unique")]

    def __str__(self) -> str:
        return f"{self.project_id}/{self.slug}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.api_key_hash = hash_key(self.api_key)
        self.previous_api_key_hash = hash_key(self.previous_api_key) if self.previous_api_key else None
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            if "api_key" in update_fields:
                update_fields = {*update_fields, "api_key_hash"}
            if "previous_api_key" in update_fields:
                update_fields = {*update_fields, "previous_api_key_hash"}
            kwargs["update_fields"] = update_fields
        super().save(*args, **kwargs)

    @property
    def masked_api_key(self) -> str:
        return mask_key(self.api_key)

    def previous_api_key_valid(self, now: datetime | None = None) -> bool:
        """The previous key still works (its rotation grace has not ended)."""
        return bool(
            self.previous_api_key
            and self.previous_api_key_expires_at is not None
            and self.previous_api_key_expires_at > (now or timezone.now())
        )


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def mask_key(key: str) -> str:
    """`tr_dev_…abcd`: enough to recognise a key, never enough to use it."""
    prefix = key.rsplit("_", 1)[0] + "_" if "_" in key else ""
    return f"{prefix}…{key[-4:]}"
