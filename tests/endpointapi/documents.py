"""Index documents as the SDK lines put them on the wire (hand-written, shapes from reference §2)."""

from __future__ import annotations

import copy
from typing import Any

ACME = {"id": "acme", "metadata": {"id": "acme", "name": "Acme"}, "authSource": "HOSTED"}


def job(**overrides: Any) -> dict[str, Any]:
    """An SDK 2.3 `eventTrigger` job (no `internal`: the SDK only sends it when true)."""
    data: dict[str, Any] = {
        "id": "send-welcome-email",
        "name": "Send welcome email",
        "version": "1.0.2",
        "event": {"name": "user.created", "title": "Event", "source": "trigger.dev", "icon": "custom-event"},
        "trigger": {
            "type": "static",
            "title": "user.created",
            "rule": {"event": "user.created", "source": "trigger.dev", "payload": {}},
        },
        "integrations": {},
        "startPosition": "latest",
        "enabled": True,
        "preprocessRuns": False,
    }
    data.update(overrides)
    return data


def interval_job(seconds: Any, job_id: str = "every-tick") -> dict[str, Any]:
    return job(
        id=job_id,
        event={"name": "trigger.scheduled", "title": "Schedule", "source": "trigger.dev", "icon": "schedule-interval"},
        trigger={"type": "scheduled", "schedule": {"type": "interval", "options": {"seconds": seconds}}},
    )


def document(**overrides: Any) -> dict[str, Any]:
    """SDK 2.3 top level: all six keys."""
    data: dict[str, Any] = {
        "jobs": [job()],
        "sources": [],
        "webhooks": [],
        "dynamicTriggers": [],
        "dynamicSchedules": [],
        "httpEndpoints": [],
    }
    data.update(overrides)
    return data


def sdk20_document() -> dict[str, Any]:
    """SDK 2.0.x: no webhooks/httpEndpoints keys, v1 sources without `version`, `events: [...]`."""
    return {
        "jobs": [
            job(),
            {
                "id": "gh.repo.acme-web",
                "name": "gh.repo.acme-web",
                "version": "0.1.1",
                "internal": True,
                "event": {
                    "name": "dev.trigger.source.register",
                    "title": "Register Source",
                    "source": "internal",
                    "icon": "register-source",
                },
                "trigger": {
                    "type": "static",
                    "title": "Register Source",
                    "rule": {
                        "event": "dev.trigger.source.register",
                        "source": "trigger.dev",
                        "payload": {"source": {"key": ["gh.repo.acme-web"]}},
                    },
                },
                "integrations": {"integration": copy.deepcopy(ACME)},
                "startPosition": "latest",
                "enabled": True,
                "preprocessRuns": False,
            },
            job(
                id="nightly",
                trigger={"type": "scheduled", "schedule": {"type": "cron", "options": {"cron": "0 3 * * *"}}},
            ),
            job(id="per-user", enabled=False, trigger={"type": "dynamic", "id": "user-digests"}),
        ],
        "sources": [
            {
                "channel": "HTTP",
                "key": "gh.repo.acme-web",
                "params": {"owner": "acme", "repo": "web"},
                "events": ["issues", "push"],
                "integration": copy.deepcopy(ACME),
                "registerSourceJob": {"id": "gh.repo.acme-web", "version": "0.1.1"},
            }
        ],
        "dynamicTriggers": [],
        "dynamicSchedules": [{"id": "user-digests", "jobs": [{"id": "per-user", "version": "1.0.2"}]}],
    }
