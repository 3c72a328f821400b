"""Django adds a `varchar_pattern_ops` ("…_like") index beside every varchar primary key, foreign
key and unique column on PostgreSQL. They only serve case-sensitive `LIKE 'prefix%'` lookups, which
Kongflow never makes, yet every inserted row pays for them (migration 0008). A migration that adds
such a column ends with `DROP_PATTERN_OPS`; `tests/test_schema.py` keeps new ones out."""

from django.db import migrations


def drop_pattern_ops_indexes(apps, schema_editor):
    # Django creates a new table's indexes at the end of its migration: create them now, so that the
    # ones this migration adds are there to drop.
    while schema_editor.deferred_sql:
        schema_editor.execute(schema_editor.deferred_sql.pop(0))
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename LIKE 'endpoints\\_%' AND indexdef LIKE '%_pattern_ops)'"
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


DROP_PATTERN_OPS = migrations.RunPython(drop_pattern_ops_indexes, migrations.RunPython.noop, elidable=True)
