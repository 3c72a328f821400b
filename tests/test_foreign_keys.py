"""The registry's references are PostgreSQL's own FOREIGN KEY constraints (migration 0013): no
hand-written trigger on Kongflow's tables, and a row whose parent is missing is refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, connection, transaction

from endpoints.models import Job, RegistryEvent
from endpoints.services.registry.bulk import upsert
from tests.factories import EndpointFactory

pytestmark = pytest.mark.django_db

ENVIRONMENT = ("endpoints_runtimeenvironment", ("id",))
# (table, columns) -> (referenced table, columns): the keys 0012 had moved to triggers, then the
# composite keys of 0010.
EXPECTED = {
    ("endpoints_job", ("project_id", "organization_id")): ("endpoints_project", ("id", "organization_id")),
    ("endpoints_jobversion", ("endpoint_id", "environment_id", "organization_id", "project_id")): (
        "endpoints_endpoint",
        ("id", "environment_id", "organization_id", "project_id"),
    ),
    ("endpoints_eventdispatcher", ("environment_id",)): ENVIRONMENT,
    ("endpoints_jobalias", ("environment_id",)): ENVIRONMENT,
    ("endpoints_jobintegration", ("integration_id",)): ("endpoints_integration", ("id",)),
    ("endpoints_registryevent", ("environment_id",)): ENVIRONMENT,
    ("endpoints_schedulesource", ("environment_id",)): ENVIRONMENT,
    ("endpoints_schedulesource", ("endpoint_id",)): ("endpoints_endpoint", ("id",)),
    ("endpoints_jobversion", ("job_id", "project_id")): ("endpoints_job", ("id", "project_id")),
    ("endpoints_jobalias", ("version_id", "job_id")): ("endpoints_jobversion", ("id", "job_id")),
    ("endpoints_jobintegration", ("version_id", "job_id")): ("endpoints_jobversion", ("id", "job_id")),
}


def _rows(sql: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def test_no_hand_written_trigger_remains_on_kongflows_tables():
    triggers = _rows(
        "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE c.relname LIKE 'endpoints\\_%' AND NOT t.tgisinternal"
    )
    assert triggers == []


def test_the_registrys_references_are_foreign_key_constraints():
    rows = _rows(
        "SELECT c.conrelid::regclass::text, "
        "ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, i) "
        "      JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i)::text[], "
        "c.confrelid::regclass::text, "
        "ARRAY(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(n, i) "
        "      JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i)::text[], "
        "c.condeferrable "
        "FROM pg_constraint c WHERE c.contype = 'f' AND c.conrelid::regclass::text LIKE 'endpoints\\_%'"
    )
    found = {
        (table, tuple(columns)): ((parent, tuple(parent_columns)), deferrable)
        for table, columns, parent, parent_columns, deferrable in rows
    }
    for key, parent in EXPECTED.items():
        assert found.get(key) == (parent, True), key


def _event(environment_id: str, sequence: int) -> RegistryEvent:
    return RegistryEvent(
        id=f"evt_fk_{sequence}",
        environment_id=environment_id,
        sequence=sequence,
        type="endpoint.indexed",
        data={},
        occurred_at=datetime.now(UTC),
    )


def test_a_bulk_write_with_one_missing_parent_is_refused():
    env = EndpointFactory().environment
    with pytest.raises(IntegrityError) as raised, transaction.atomic():
        RegistryEvent.objects.bulk_create([*(_event(env.id, n) for n in range(1, 100)), _event("env_missing", 100)])
        connection.check_constraints()  # the keys are deferred: checked here rather than at COMMIT
    assert raised.value.__cause__.sqlstate == "23503"  # type: ignore[union-attr]
    assert not RegistryEvent.objects.exists()


def test_a_bulk_upsert_whose_scope_disagrees_with_its_parent_is_refused():
    """Both the project and the organization exist, but the project is not the organization's."""
    one, other = EndpointFactory(), EndpointFactory()
    rows = [
        {"slug": f"job-{n}", "title": "Job", "project_id": one.project_id, "organization_id": one.organization_id}
        for n in range(50)
    ]
    rows.append(
        {"slug": "stray", "title": "Job", "project_id": one.project_id, "organization_id": other.organization_id}
    )
    with pytest.raises(IntegrityError) as raised, transaction.atomic():
        upsert(Job, rows, on=["project", "slug"], update=["title"])
        connection.check_constraints()
    assert raised.value.__cause__.diag.constraint_name == "job_project_fk"  # type: ignore[union-attr]
    assert not Job.objects.exists()
