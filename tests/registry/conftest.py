"""Helpers for the registry tests: index documents as the validation layer hands them over."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from endpoints.models import Endpoint
from endpoints.services.registry import RegistryPlan, RegistryStats, registry_apply, registry_plan

DATA = Path(__file__).parent / "data"


def validated(document: dict) -> dict:
    """The defaults the pydantic layer fills in: `internal`, source `version`, the optional arrays."""
    document = copy.deepcopy(document)
    for job in document["jobs"]:
        job.setdefault("internal", False)
    for source in document["sources"]:
        source.setdefault("version", "1")
    document.setdefault("webhooks", [])
    document.setdefault("httpEndpoints", [])
    return document


def load(name: str) -> dict:
    return validated(json.loads((DATA / f"{name}.json").read_text()))


def index(endpoint: Endpoint, data: dict) -> tuple[RegistryPlan, RegistryStats]:
    plan = registry_plan(endpoint=endpoint, data=data)
    return plan, registry_apply(endpoint=endpoint, plan=plan)


def job(slug: str, version: str = "1.0.0", **overrides) -> dict:
    """A plain eventTrigger job as the SDK declares it."""
    metadata = {
        "id": slug,
        "name": slug.replace("-", " ").title(),
        "version": version,
        "event": {"name": f"{slug}.event", "title": "Event", "source": "trigger.dev", "icon": "custom-event"},
        "trigger": {
            "type": "static",
            "title": f"{slug}.event",
            "rule": {"event": f"{slug}.event", "source": "trigger.dev", "payload": {}},
        },
        "integrations": {},
        "internal": False,
        "enabled": True,
        "startPosition": "latest",
        "preprocessRuns": False,
    }
    metadata.update(overrides)
    return metadata


def document(*jobs: dict, **collections: list) -> dict:
    """A validated index document declaring `jobs` (and any other collection passed by name)."""
    empty = ("sources", "webhooks", "dynamicTriggers", "dynamicSchedules", "httpEndpoints")
    return {"jobs": list(jobs), **{name: [] for name in empty}, **collections}


@pytest.fixture
def full() -> dict:
    return load("full")
