"""Drop the `varchar_pattern_ops` ("…_like") indexes Django adds beside every varchar primary key,
foreign key and unique column on PostgreSQL.

They only serve case-sensitive `LIKE 'prefix%'` lookups, which Kongflow never makes (the admin's
search is case-insensitive and cannot use them), yet every inserted row paid for them: a job
version carries seven. Dropping them took a first index of 500 jobs from ~215 to ~198 ms and one of
2,000 from ~784 to ~736 ms (bench, docs/performance.md). `tests/test_schema.py` keeps new ones out.
"""

from django.db import migrations


def drop_pattern_ops_indexes(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename LIKE 'endpoints\\_%' AND indexdef LIKE '%_pattern_ops)'"
        )
        names = [name for (name,) in cursor.fetchall()]
        for name in names:
            cursor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


class Migration(migrations.Migration):
    dependencies = [("endpoints", "0007_index_body_hash")]

    operations = [migrations.RunPython(drop_pattern_ops_indexes, migrations.RunPython.noop, elidable=True)]
