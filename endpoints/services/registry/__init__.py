"""Persist an index document: jobs and their versions, integrations, sources, dynamic triggers and
schedules, HTTP endpoints and webhooks (reference §5.4 steps 9-14, §5.10).

The original registers item by item (≈ 20-30 SQL statements per job, §5.11). Here `registry_plan`
reads what exists in a constant number of SELECTs and decides what to write and disable, and
`registry_apply` writes it set-based: upserts with `bulk_create(update_conflicts=...)`, set updates
and deletes, and one re-select by natural key wherever a row id is needed (ids are generated client
side, so after an upsert that hit an existing row the Python object's id is not the row's id). The
number of statements therefore does not depend on how many jobs, integrations, examples or sources
the document declares.

Kongflow decisions (each one a deliberate deviation from T23):
* `latest` is the highest ACTIVE version by semantic-version order (`semver.version_key`).
* `enabled:false` disables the job's ACTIVE versions on this endpoint even when the declared version
  was never registered (upstream #1041).
* Missing-job disabling is scoped to this endpoint: a job vanished only if its `latest` version in
  this environment belongs to this endpoint. Another endpoint's jobs are never touched.
* Sources, dynamic triggers/schedules, HTTP endpoint and webhook environments of this endpoint that
  vanished from the document are deactivated, and re-activated when they come back.
* A registered job that is no longer `scheduled` gets its job-keyed ScheduleSource deactivated (the
  original kept firing schedules into the repointed dispatcher).
* The webhook counter counts registered webhooks (the original never incremented it).
* Items that cannot be stored (identifiers longer than their column, a HOSTED integration that does
  not exist, a webhook whose HTTP endpoint is missing or taken) are skipped and reported in
  `errors`, like the original's per-item "log and swallow"; they never abort the whole index.
* Nothing else is dropped without a word either: duplicate ids or keys (the last declaration wins),
  `enabled:false` for a job never registered, and every skipped item become the run's `warnings`
  (`ignored`: one code each).

Modules: `plan` (reads, decisions, the plan types), `apply` (phase order), one module per kind of
row written (`integrations`, `jobs`, `triggers`, `schedules`, `sources`, `http_endpoints`), and
shared helpers (`context`, `bulk`, `columns`, `document`, `ignored`, `stats`).
"""

from endpoints.services.registry.apply import registry_apply
from endpoints.services.registry.generation import registry_changed, registry_generation_current
from endpoints.services.registry.plan import (
    LATEST_ALIAS,
    REASON_ENABLED_FALSE,
    REASON_VANISHED,
    JobToDisable,
    JobToRegister,
    RegistryPlan,
    registry_plan,
)
from endpoints.services.registry.stats import RegistryFollowUps, RegistryStats

__all__ = [
    "LATEST_ALIAS",
    "REASON_ENABLED_FALSE",
    "REASON_VANISHED",
    "JobToDisable",
    "JobToRegister",
    "RegistryFollowUps",
    "RegistryPlan",
    "RegistryStats",
    "registry_apply",
    "registry_changed",
    "registry_generation_current",
    "registry_plan",
]
