"""The state one apply shares between its phases: ids that earlier phases resolved and later ones
link to, and the schedules to disarm or re-arm that the last phase settles in one go."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils import timezone

from endpoints.models import Endpoint, RuntimeEnvironment
from endpoints.services.registry import bulk
from endpoints.services.registry.ignored import item_skipped
from endpoints.services.registry.plan import JobToRegister, RegistryPlan
from endpoints.services.registry.stats import RegistryStats

# The package's name: the records keep the logger name they had before the module was split.
logger = logging.getLogger("endpoints.services.registry")


class ApplyContext:
    """Built inside the apply's transaction; each phase reads and fills it in `registry_apply`'s order."""

    def __init__(self, *, endpoint: Endpoint, plan: RegistryPlan, optimistic: bool = False) -> None:
        self.endpoint = endpoint
        # Upserts said to be `new` are plain INSERTs (see `registry_apply`); else they look keys up.
        self.optimistic = optimistic
        self.environment: RuntimeEnvironment = endpoint.environment
        self.plan = plan
        self.snapshot = plan.snapshot
        self.now = timezone.now()
        self.stats = RegistryStats()
        self.written = 0  # rows inserted, updated or deleted: 0 means the registry did not change
        self.stats.warnings.extend(plan.warnings)
        for message in plan.errors:
            self.error(message)
        self.jobs: list[JobToRegister] = plan.jobs_to_register
        self.integration_ids: dict[str, str] = {}  # slug -> id
        self.job_ids: dict[str, str] = {}  # slug -> id
        self.inserted_ids: set[str] = set()  # rows this apply inserted, of any kind (PostgreSQL)
        self.version_ids: dict[str, str] = {}  # slug -> registered version id
        self.existing_version_ids: list[str] = []  # registered versions that this apply did not insert
        self.registration_versions: dict[tuple[str, str], str] = {}  # (slug, version) -> version id
        self.changed_job_ids: set[str] = set()  # jobs whose versions this index disabled
        self.dynamic_trigger_ids: dict[tuple[str, str], str] = {}  # (slug, type) -> id
        self.scheduled_job_ids: list[str] = []
        self.disarm_filters: list[Q] = []  # ScheduleSources to deactivate
        self.rearm_dynamic_schedule_ids: list[str] = []

    def error(self, message: str) -> None:
        """An item skipped, like the original's per-item "log and swallow"."""
        logger.warning("registry.item_skipped", extra={"endpoint_id": self.endpoint.id, "reason": message})
        self.stats.errors.append(message)
        self.stats.warnings.append(item_skipped(message))

    def registration_version(self, item: dict[str, Any], label: str) -> str | None:
        """The JobVersion id of the item's `registerSourceJob`, or None (reported when unknown)."""
        ref = item.get("registerSourceJob")
        if not ref:
            return None
        version_id = self.registration_versions.get((ref["id"], ref["version"]))
        if version_id is None:
            self.error(f'{label}: registration job "{ref["id"]}" version {ref["version"]} is not registered.')
        return version_id

    # Every write of an apply goes through these three, which count the rows written.

    def upsert(
        self,
        model: type[models.Model],
        rows: Iterable[Mapping[str, Any]],
        *,
        on: list[str],
        update: list[str],
        new: bool = False,
    ) -> bulk.Upserted:
        """`bulk.upsert`: rows sorted by natural key, unchanged rows not rewritten."""
        result = bulk.upsert(model, rows, on=on, update=update, new=new and self.optimistic)
        self.written += result.written
        self.inserted_ids.update(result.ids[key] for key in result.inserted)
        return result

    def all_inserted(self, ids: Iterable[object]) -> bool:
        """Whether this apply inserted every one of these rows: rows keyed by them are new too."""
        return all(row_id in self.inserted_ids for row_id in ids)

    def update(self, queryset: models.QuerySet[Any], **values: Any) -> int:
        changed = queryset.update(**values)
        self.written += changed
        return changed

    def delete_unlisted(self, queryset: models.QuerySet[Any], key_fields: list[str], keep: set[str]) -> int:
        deleted = bulk.delete_unlisted(queryset, key_fields, keep)
        self.written += deleted
        return deleted

    def deactivate(self, model: type[models.Model], ids: list[str]) -> None:
        """Rows of this endpoint that vanished from the document: kept, but inactive until they return."""
        if ids:
            self.update(model._default_manager.filter(id__anyof=ids, active=True), active=False, updated_at=self.now)
