"""Two first indexes of one project's jobs (its DEVELOPMENT and PRODUCTION endpoints, say), in two
real transactions: both planned the jobs as new, one commits first, the other's optimistic apply
meets the committed keys and applies again from its savepoint, looking them up."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
from django.db import connection, transaction

from endpoints import models as m
from endpoints.services.registry import registry_apply, registry_plan
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_first_index_whose_jobs_another_index_committed_meanwhile_still_succeeds(full, caplog):
    caplog.set_level(logging.INFO, logger="endpoints.services.registry")
    project = factories.ProjectFactory()
    endpoints = [
        factories.EndpointFactory(
            environment=factories.RuntimeEnvironmentFactory(
                project=project, organization=project.organization, env_type=kind
            )
        )
        for kind in ("DEVELOPMENT", "PRODUCTION")
    ]
    planned = threading.Barrier(2, timeout=30)
    first_committed = threading.Event()
    results: dict[str, Any] = {}

    def index(endpoint: m.Endpoint, role: str) -> None:
        try:
            with transaction.atomic():
                plan = registry_plan(endpoint=endpoint, data=full)
                results[f"{role}_saw_no_job"] = not any(job.exists for job in plan.jobs_to_register)
                planned.wait()  # both planned before either wrote
                if role == "second":
                    assert first_committed.wait(30)
                results[role] = registry_apply(endpoint=endpoint, plan=plan)
            if role == "first":
                first_committed.set()
        except Exception as exc:  # reported below, in the test's thread
            results[role] = exc
            first_committed.set()
        finally:
            connection.close()

    threads = [
        threading.Thread(target=index, args=(endpoint, role))
        for endpoint, role in zip(endpoints, ("first", "second"), strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert results["first_saw_no_job"] and results["second_saw_no_job"]
    first, second = results["first"], results["second"]
    assert not isinstance(first, Exception) and not isinstance(second, Exception), results
    slugs = {job.slug for job in registry_plan(endpoint=endpoints[0], data=full).jobs_to_register}
    jobs = m.Job.objects.filter(project=project)
    assert set(jobs.values_list("slug", flat=True)) == slugs  # one row per job for the project
    for endpoint in endpoints:  # each environment got its own versions of the shared jobs
        versions = m.JobVersion.objects.filter(environment=endpoint.environment, endpoint=endpoint)
        assert set(versions.values_list("job__slug", flat=True)) == slugs
    assert first.as_v2_stats() == second.as_v2_stats()
    # The second apply really met the first one's keys and went round again (once).
    assert [r.msg for r in caplog.records].count("registry.apply_retried") == 1
