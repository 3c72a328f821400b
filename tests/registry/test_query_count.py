"""The number of SQL statements of a plan and of an apply does not grow with the document."""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from endpoints import models as m
from endpoints.services.registry import registry_apply, registry_plan
from tests import factories


def generated_document(n: int) -> dict:
    """n jobs (event, cron and interval triggers in turn), each with an integration and an example,
    plus n/10 (at least 2) sources, dynamic triggers, dynamic schedules, HTTP endpoints and webhooks."""
    jobs = []
    for i in range(n):
        kind = i % 3
        if kind == 0:
            trigger = {
                "type": "static",
                "title": f"evt.{i}",
                "rule": {"event": f"evt.{i}", "source": "trigger.dev", "payload": {"n": [i]}},
            }
        elif kind == 1:
            trigger = {"type": "scheduled", "schedule": {"type": "cron", "options": {"cron": f"{i % 60} * * * *"}}}
        else:
            trigger = {"type": "scheduled", "schedule": {"type": "interval", "options": {"seconds": 10 + i}}}
        jobs.append(
            {
                "id": f"job-{i:04d}",
                "name": f"Job {i}",
                "version": "1.0.0",
                "event": {
                    "name": f"evt.{i}",
                    "title": "Event",
                    "source": "trigger.dev",
                    "icon": "custom-event",
                    "examples": [{"id": "example", "name": "Example", "payload": {"i": i}}],
                },
                "trigger": trigger,
                "integrations": {
                    "svc": {
                        "id": f"svc-{i}",
                        "metadata": {"id": f"service-{i % 7}", "name": f"Service {i % 7}"},
                        "authSource": "LOCAL" if i % 2 else "HOSTED",
                    }
                },
                "internal": False,
                "enabled": True,
                "startPosition": "latest",
                "preprocessRuns": False,
                "concurrencyLimit": {"id": f"group-{i % 3}", "limit": 5} if i % 4 == 0 else 3,
            }
        )
    local = {"id": "svc-1", "metadata": {"id": "service-1", "name": "Service 1"}, "authSource": "LOCAL"}
    k = max(2, n // 10)
    # Registration jobs that `changed_document` keeps enabled.
    kept = [i for i in range(n) if i % 4 != 1 and i % 5 != 4]
    ref = [{"id": jobs[i]["id"], "version": "1.0.0"} for i in kept[:k]]
    return {
        "jobs": jobs,
        "sources": [
            {
                "version": "2",
                "channel": "HTTP",
                "key": f"src-{i}",
                "params": {"i": i},
                "options": {"event": ["a", "b", "a"], "repo": [f"r{i}"]},
                "integration": {**local, "id": f"src-int-{i}"},
                "registerSourceJob": ref[i],
            }
            for i in range(k)
        ],
        "dynamicTriggers": [{"id": f"dt-{i}", "jobs": [ref[i]], "registerSourceJob": ref[i]} for i in range(k)],
        "dynamicSchedules": [{"id": f"ds-{i}", "jobs": [ref[i]]} for i in range(k)],
        "httpEndpoints": [
            {"id": f"he-{i}", "version": "1", "enabled": True, "event": {}, "source": "partner.example"}
            for i in range(k)
        ],
        "webhooks": [
            {
                "key": f"wh-{i}",
                "params": {},
                "config": {"e": ["x"]},
                "integration": local,
                "httpEndpoint": {"id": f"he-{i}"},
            }
            for i in range(k)
        ],
    }


def changed_document(n: int) -> dict:
    """Every version bumped, a quarter switched off, a fifth removed, one source and webhook gone."""
    data = generated_document(n)
    jobs = []
    for i, job in enumerate(data["jobs"]):
        if i % 5 == 4:
            continue
        job["version"] = "1.1.0"
        job["enabled"] = i % 4 != 1
        job["event"]["examples"].append({"id": "second", "name": "Second"})
        jobs.append(job)
    data["jobs"] = jobs
    keep = {job["id"] for job in jobs if job["enabled"]}
    for collection in ("sources", "dynamicTriggers"):
        for item in data[collection]:
            item["registerSourceJob"]["version"] = "1.1.0"
    for item in data["dynamicTriggers"] + data["dynamicSchedules"]:
        item["jobs"] = [ref for ref in item["jobs"] if ref["id"] in keep]
    data["sources"] = data["sources"][1:]
    data["webhooks"] = data["webhooks"][1:]
    return data


def measure(endpoint: m.Endpoint, data: dict) -> tuple[int, int, float]:
    with CaptureQueriesContext(connection) as planned:
        plan = registry_plan(endpoint=endpoint, data=data)
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as applied:
        stats = registry_apply(endpoint=endpoint, plan=plan)
    elapsed = time.perf_counter() - started
    assert stats.errors == []
    return len(planned.captured_queries), len(applied.captured_queries), elapsed


@pytest.mark.django_db
def test_statement_count_does_not_grow_with_the_document():
    small = factories.EndpointFactory()
    large = factories.EndpointFactory()

    results = {}
    for name, build in (("first", generated_document), ("repeat", generated_document), ("changed", changed_document)):
        results[name] = (measure(small, build(10)), measure(large, build(500)))

    for name, ((plan_10, apply_10, _), (plan_500, apply_500, _)) in results.items():
        assert (name, plan_10, apply_10) == (name, plan_500, apply_500)
    print({name: (r[0][:2], r[1][:2], f"{r[1][2]:.3f}s for 500") for name, r in results.items()})

    # The large document really was written, and the changed one really disabled.
    assert m.JobVersion.objects.filter(endpoint=large).count() == 500 + 300  # 1.1.0 of the 300 still enabled
    # 100 removed + 100 switched off; the 300 bumped jobs keep 1.0.0 ACTIVE, as the original does
    assert m.JobVersion.objects.filter(endpoint=large, status="DISABLED").count() == 200
    assert m.EventExample.objects.filter(job_version__endpoint=large).count() == 500 + 2 * 300
