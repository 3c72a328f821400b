"""The schema stays lean: no index that no query uses but every insert pays for."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction

from endpoints.models import Integration, IntegrationDefinition, Job, JobAlias, JobIntegration, JobVersion
from tests.factories import EndpointFactory


@pytest.mark.django_db
def test_no_varchar_pattern_ops_indexes():
    """Django adds one beside every varchar key; migration 0008 drops them. A later migration that
    adds a varchar foreign key or unique column must drop its own (see 0008)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename LIKE 'endpoints\\_%' AND indexdef LIKE '%_pattern_ops)'"
        )
        assert cursor.fetchall() == []


@pytest.mark.django_db
def test_natural_keys_and_foreign_keys_keep_their_indexes():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'endpoints_jobversion'")
        definitions = " ".join(row[0] for row in cursor.fetchall())
    for column in ("job_id", "endpoint_id", "environment_id"):
        assert f"({column})" in definitions or f"({column}," in definitions


@pytest.mark.django_db
def test_no_index_is_covered_by_another():
    """A plain index whose columns lead another index of the same table only costs writes (Django
    indexes every foreign key, even one that leads a unique constraint: `db_index=False` there)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, i.relname, x.indkey::int2[], x.indisunique, x.indpred IS NOT NULL "
            "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid "
            "JOIN pg_am a ON a.oid = i.relam "
            "WHERE c.relname LIKE 'endpoints\\_%' AND a.amname = 'btree' AND NOT x.indisprimary"
        )
        rows = cursor.fetchall()
    # A many-to-many table Django creates itself (no field to set `db_index` on).
    auto_created = {"endpoints_dynamictrigger_jobs"}
    covered = []
    for table, name, columns, unique, partial in rows:
        if unique or partial or table in auto_created:
            continue
        for other_table, other, other_columns, _, other_partial in rows:
            longer = len(other_columns) > len(columns) and other_columns[: len(columns)] == columns
            if other_table == table and other != name and not other_partial and longer:
                covered.append(f"{table}.{name} (by {other})")
    assert covered == [], "\n".join(covered)


@pytest.mark.django_db
def test_the_one_pending_and_one_started_run_per_endpoint_constraints_exist():
    """Partial unique indexes on one column: Django's AlterField(db_index=False) would drop them too."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes "
            "WHERE tablename = 'endpoints_endpointindex' AND indexdef LIKE 'CREATE UNIQUE%'"
        )
        definitions = [row[0] for row in cursor.fetchall()]
    assert any("'PENDING'" in d for d in definitions) and any("'STARTED'" in d for d in definitions), definitions


def _scope_rows() -> dict[str, Any]:
    """A job with a version and its alias on one endpoint, and a second endpoint elsewhere."""
    endpoint, elsewhere = EndpointFactory(), EndpointFactory()
    scope = {"organization_id": endpoint.organization_id, "project_id": endpoint.project_id}
    job = Job.objects.create(slug="a", title="a", **scope)
    other_job = Job.objects.create(slug="b", title="b", **scope)
    version = JobVersion.objects.create(
        version="1", event_specification={}, job=job, endpoint=endpoint, environment_id=endpoint.environment_id, **scope
    )
    return {"endpoint": endpoint, "elsewhere": elsewhere, "job": job, "other_job": other_job, "version": version}


def _consistent(rows: dict[str, Any]) -> None:
    JobAlias.objects.create(
        value="1", version=rows["version"], job=rows["job"], environment_id=rows["endpoint"].environment_id
    )


def _job_of_another_organization(rows: dict[str, Any]) -> None:
    Job.objects.create(
        slug="c", title="c", project_id=rows["endpoint"].project_id, organization_id=rows["elsewhere"].organization_id
    )


def _version_outside_its_endpoints_environment(rows: dict[str, Any]) -> None:
    JobVersion.objects.filter(id=rows["version"].id).update(environment_id=rows["elsewhere"].environment_id)


def _version_of_a_job_of_another_project(rows: dict[str, Any]) -> None:
    JobVersion.objects.filter(id=rows["version"].id).update(project_id=rows["elsewhere"].project_id)


def _alias_of_another_jobs_version(rows: dict[str, Any]) -> None:
    JobAlias.objects.create(
        value="1", version=rows["version"], job=rows["other_job"], environment_id=rows["endpoint"].environment_id
    )


def _link_to_a_vanished_version(rows: dict[str, Any]) -> None:
    definition = IntegrationDefinition.objects.create(id="github", name="GitHub")
    integration = Integration.objects.create(
        slug="gh", definition=definition, organization_id=rows["endpoint"].organization_id
    )
    JobIntegration.objects.create(key="k", version_id="nope", job=rows["job"], integration=integration)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "write",
    [
        _job_of_another_organization,
        _version_outside_its_endpoints_environment,
        _version_of_a_job_of_another_project,
        _alias_of_another_jobs_version,
        _link_to_a_vanished_version,
    ],
)
def test_composite_keys_refuse_rows_whose_scope_disagrees_with_their_parent(write):
    """Scope columns are checked through one key per parent (models.constraints): a row must exist
    there *and* agree with it."""
    rows = _scope_rows()
    connection.check_constraints()  # the consistent rows pass
    with pytest.raises(IntegrityError), transaction.atomic():
        write(rows)
        connection.check_constraints()


@pytest.mark.django_db
def test_composite_keys_accept_consistent_rows():
    rows = _scope_rows()
    _consistent(rows)
    connection.check_constraints()
    assert JobAlias.objects.filter(job=rows["job"]).exists()


@pytest.mark.django_db
def test_stored_documents_are_compressed_with_lz4():
    """Migration 0011: the run's ~300 KB document is TOAST-compressed with lz4 (faster than pglz)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")
        if not cursor.fetchone()[0]:
            pytest.skip("this PostgreSQL was built without lz4")
        cursor.execute(
            "SELECT attcompression FROM pg_attribute "
            "WHERE attrelid = 'endpoints_endpointindex'::regclass AND attname = 'data'"
        )
        assert cursor.fetchone()[0] == "l"
