"""The apply: writes a plan set-based, phase by phase, in one transaction."""

from __future__ import annotations

from collections.abc import Callable

from django.db import IntegrityError, transaction

from endpoints.models import Endpoint
from endpoints.pipelining import send_ahead, sending_ahead
from endpoints.services.registry import http_endpoints, jobs, schedules, sources, triggers
from endpoints.services.registry.context import ApplyContext, logger
from endpoints.services.registry.generation import registry_generation_settle
from endpoints.services.registry.integrations import register_integrations
from endpoints.services.registry.plan import RegistryPlan
from endpoints.services.registry.stats import RegistryStats

UNIQUE_VIOLATION = "23505"  # SQLSTATE


def registry_apply(
    *, endpoint: Endpoint, plan: RegistryPlan, meanwhile: Callable[[], None] | None = None
) -> RegistryStats:
    """Write a plan in bulk, atomically; returns the index counters and the follow-up work.

    `meanwhile`: pure Python work of the caller's (a query would wait for the checks), run while the
    database checks the apply's foreign keys, its longest statement.

    Optimistic first: rows keyed by a row this apply inserted, or by a job the plan did
    not find, are plain INSERTs, without lookup or conflict clause. Inside a savepoint: if another
    transaction committed one of those keys meanwhile (a unique violation), the apply is rolled back
    to it and runs again, looking every key up. Those INSERTs need no answer (their ids are made
    here): they are sent ahead (`endpoints.pipelining`), and Python builds the next kind's rows while
    the database writes the previous kind's."""
    if plan.endpoint_id != endpoint.id:
        raise ValueError("The plan was made for another endpoint.")
    if plan.jobs_to_register:
        try:
            with transaction.atomic(), sending_ahead():
                return _apply(endpoint, plan, meanwhile, optimistic=True)
        except IntegrityError as exc:
            if getattr(exc.__cause__, "sqlstate", None) != UNIQUE_VIOLATION:
                raise
            logger.info("registry.apply_retried", extra={"endpoint_id": endpoint.id, "reason": "unique_violation"})
    # No savepoint of its own inside the caller's transaction: a failure aborts the whole index anyway.
    with transaction.atomic(savepoint=False), sending_ahead():
        return _apply(endpoint, plan, meanwhile, optimistic=False)


def _apply(
    endpoint: Endpoint, plan: RegistryPlan, meanwhile: Callable[[], None] | None, *, optimistic: bool
) -> RegistryStats:
    ctx = ApplyContext(endpoint=endpoint, plan=plan, optimistic=optimistic)
    # Phases run in the original's order where it matters: jobs before sources and dynamic
    # triggers (they point at the internal registration job's version), schedules settled last.
    register_integrations(ctx)
    jobs.register_jobs(ctx)
    jobs.register_versions(ctx)
    jobs.register_examples(ctx)
    jobs.link_integrations(ctx)
    jobs.disable_jobs(ctx)
    jobs.point_latest_aliases(ctx)
    jobs.resolve_registration_jobs(ctx)
    triggers.register_dynamic_triggers(ctx)
    schedules.register_dispatchers_and_schedules(ctx)
    secret_references = sources.register_secret_references(ctx)
    sources.register_sources(ctx, secret_references)
    http_endpoint_ids = http_endpoints.register_http_endpoints(ctx, secret_references)
    http_endpoints.register_webhooks(ctx, http_endpoint_ids)
    schedules.settle_schedules(ctx)
    ctx.stats.written = ctx.written
    _check_references_now(meanwhile)
    # Last, so the organization row's lock (taken only when rows changed) is held briefly.
    ctx.stats.registry_generation = registry_generation_settle(
        organization_id=endpoint.organization_id, changed=ctx.written > 0
    )
    return ctx.stats


def _check_references_now(meanwhile: Callable[[], None] | None) -> None:
    """Run the deferred foreign-key checks of the writes above now, not at COMMIT.

    Django's foreign keys are DEFERRABLE INITIALLY DEFERRED: thousands of row checks (one per row and
    parent it hangs off) would otherwise run inside COMMIT, while the transaction holds the
    organization's generation row and the environment's event sequence row, which every index of the
    organization (environment) needs too. Checked here, those locks are held for milliseconds.

    The checks take milliseconds of the database's CPU: the statement is sent ahead and
    `meanwhile` runs in this process while they do (the next statement waits for them).
    """
    send_ahead("SET CONSTRAINTS ALL IMMEDIATE", [])
    if meanwhile is not None:
        meanwhile()
