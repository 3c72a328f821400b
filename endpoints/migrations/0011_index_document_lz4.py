"""Runs' stored documents (`EndpointIndex.data`, ~300 KB for 500 jobs) are TOAST-compressed with lz4
instead of pglz: a 500-job first index's final UPDATE 8.8 -> 6.5 ms, and reads decompress faster.

Only where the server was built with lz4 (14+; the official images are); rows
already stored keep their compression until rewritten.
"""

from django.db import migrations


def _lz4_available(schema_editor) -> bool:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)")
        return cursor.fetchone() is not None


def _set(compression: str):
    def run(apps, schema_editor) -> None:
        if _lz4_available(schema_editor):
            table = schema_editor.quote_name(apps.get_model("endpoints", "EndpointIndex")._meta.db_table)
            schema_editor.execute(f"ALTER TABLE {table} ALTER COLUMN data SET COMPRESSION {compression}")

    return run


class Migration(migrations.Migration):
    dependencies = [("endpoints", "0010_composite_foreign_keys")]

    operations = [migrations.RunPython(_set("lz4"), _set("default"))]
