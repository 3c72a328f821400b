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
