"""The registry's event types and the version of each one's payload (bumped on a breaking change)."""

from __future__ import annotations

ENDPOINT_REGISTERED = "endpoint.registered"
ENDPOINT_DELETED = "endpoint.deleted"
ENDPOINT_RESTORED = "endpoint.restored"
ENDPOINT_INDEXED = "endpoint.indexed"
ENDPOINT_INDEX_FAILED = "endpoint.index_failed"
ENDPOINT_HEALTH_CHANGED = "endpoint.health_changed"
ENDPOINT_DISABLING_SOON = "endpoint.disabling_soon"
ENDPOINT_DISABLED = "endpoint.disabled"
ENDPOINT_ENABLED = "endpoint.enabled"
JOB_ADDED = "job.added"
JOB_CHANGED = "job.changed"
JOB_DISABLED = "job.disabled"
SOURCE_ACTIVATION_REQUESTED = "source.activation_requested"
SCHEDULE_ARMED = "schedule.armed"
SCHEDULE_DISARMED = "schedule.disarmed"
WEBHOOK_REGISTRATION_REQUESTED = "webhook.registration_requested"
DYNAMIC_TRIGGER_REGISTERED = "dynamic_trigger.registered"
WEBHOOK_DISABLED = "webhook.disabled"

# type -> payload version. Every payload is documented in README.md ("Registry events").
EVENT_TYPES: dict[str, int] = {
    ENDPOINT_REGISTERED: 1,
    ENDPOINT_DELETED: 1,
    ENDPOINT_RESTORED: 1,
    ENDPOINT_INDEXED: 1,
    ENDPOINT_INDEX_FAILED: 1,
    ENDPOINT_HEALTH_CHANGED: 1,
    ENDPOINT_DISABLING_SOON: 1,
    ENDPOINT_DISABLED: 1,
    ENDPOINT_ENABLED: 1,
    JOB_ADDED: 1,
    JOB_CHANGED: 1,
    JOB_DISABLED: 1,
    SOURCE_ACTIVATION_REQUESTED: 1,
    SCHEDULE_ARMED: 1,
    SCHEDULE_DISARMED: 1,
    WEBHOOK_REGISTRATION_REQUESTED: 1,
    DYNAMIC_TRIGGER_REGISTERED: 1,
    WEBHOOK_DISABLED: 1,
}

ALL = "*"
