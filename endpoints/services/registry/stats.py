"""What an apply returns: the index counters and the work the caller queues after commit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RegistryFollowUps:
    """Work for the caller to queue after commit (the registry itself never talks to workers)."""

    # `activateSource` payloads ({"version", "id", "orphanedOptions" | "orphanedEvents"}).
    source_activations: list[dict[str, Any]] = field(default_factory=list)
    # Active ScheduleSource ids whose next event must be (re)computed and queued.
    schedules_to_arm: list[str] = field(default_factory=list)
    # ScheduleSource ids deactivated by this index: dequeue `scheduled:<id>`.
    schedules_to_disarm: list[str] = field(default_factory=list)
    # WebhookEnvironment ids whose webhook must be (re)registered with the integration.
    webhooks_to_register: list[str] = field(default_factory=list)


@dataclass
class RegistryStats:
    jobs: int = 0
    disabled_jobs: int = 0
    sources: int = 0
    dynamic_triggers: int = 0
    dynamic_schedules: int = 0
    http_endpoints: int = 0
    webhooks: int = 0
    errors: list[str] = field(default_factory=list)
    # The plan's warnings, then one ITEM_SKIPPED per error (what `EndpointIndex.warnings` stores).
    warnings: list[dict[str, Any]] = field(default_factory=list)
    # Rows inserted, updated or deleted (0: the registry did not change), and the organization's
    # registry generation after the apply.
    written: int = 0
    registry_generation: int | None = None
    follow_ups: RegistryFollowUps = field(default_factory=RegistryFollowUps)

    def as_v2_stats(self) -> dict[str, int]:
        """The `EndpointIndex.stats` shape of the original (camelCase counters)."""
        return {
            "jobs": self.jobs,
            "sources": self.sources,
            "webhooks": self.webhooks,
            "dynamicTriggers": self.dynamic_triggers,
            "dynamicSchedules": self.dynamic_schedules,
            "disabledJobs": self.disabled_jobs,
            "httpEndpoints": self.http_endpoints,
        }

    as_dict = as_v2_stats
