"""The schema stays lean: no index that no query uses but every insert pays for."""

from __future__ import annotations

import pytest
from django.db import connection

postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's own indexes")


@postgresql_only
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


@postgresql_only
@pytest.mark.django_db
def test_natural_keys_and_foreign_keys_keep_their_indexes():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'endpoints_jobversion'")
        definitions = " ".join(row[0] for row in cursor.fetchall())
    for column in ("job_id", "endpoint_id", "environment_id"):
        assert f"({column})" in definitions or f"({column}," in definitions


@postgresql_only
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


@postgresql_only
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
