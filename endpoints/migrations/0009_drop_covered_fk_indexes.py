"""Foreign keys that lead a unique constraint or another index lose their own index: it served no
query the other does not, and every insert paid for it (tests/test_schema.py keeps it so).

Django's own AlterField(db_index=False) drops every single-column btree index on the column,
partial unique ones included (the "one PENDING / one STARTED run per endpoint" constraints): the
database side here drops only the plain index.
"""

import django.db.models.deletion
from django.db import migrations, models

FIELDS = [
    ("concurrencylimitgroup", "environment"),
    ("dynamictrigger", "endpoint"),
    ("endpoint", "environment"),
    ("endpointindex", "endpoint"),
    ("integration", "organization"),
    ("job", "project"),
    ("jobalias", "job"),
    ("jobintegration", "version"),
    ("jobversion", "endpoint"),
    ("jobversion", "job"),
    ("registryevent", "environment"),
    ("runtimeenvironment", "project"),
    ("triggerhttpendpointenvironment", "endpoint"),
    ("triggerhttpendpointenvironment", "environment"),
    ("webhookattempt", "delivery"),
    ("webhookdelivery", "subscription"),
    ("webhookenvironment", "environment"),
    ("webhooksubscription", "environment"),
]


def drop_plain_fk_indexes(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        for model_name, field_name in FIELDS:
            model = apps.get_model("endpoints", model_name)
            field = model._meta.get_field(field_name)
            cursor.execute(
                "SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
                "JOIN pg_class c ON c.oid = x.indrelid "
                "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = x.indkey[0] "
                "WHERE c.relname = %s AND a.attname = %s AND x.indnatts = 1 "
                "AND NOT x.indisunique AND NOT x.indisprimary AND x.indpred IS NULL",
                [model._meta.db_table, field.column],
            )
            for (name,) in cursor.fetchall():
                cursor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


STATE = [
    migrations.AlterField(
        model_name="concurrencylimitgroup",
        name="environment",
        field=models.ForeignKey(
            db_index=False,
            on_delete=django.db.models.deletion.CASCADE,
            related_name="+",
            to="endpoints.runtimeenvironment",
        ),
    ),
    migrations.AlterField(
        model_name="dynamictrigger",
        name="endpoint",
        field=models.ForeignKey(
            db_index=False,
            on_delete=django.db.models.deletion.CASCADE,
            related_name="dynamic_triggers",
            to="endpoints.endpoint",
        ),
    ),
    migrations.AlterField(
        model_name="endpoint",
        name="environment",
        field=models.ForeignKey(
            db_index=False,
            on_delete=django.db.models.deletion.CASCADE,
            related_name="endpoints",
            to="endpoints.runtimeenvironment",
        ),
    ),
    migrations.AlterField(
        model_name="endpointindex",
        name="endpoint",
        field=models.ForeignKey(
            db_index=False,
            on_delete=django.db.models.deletion.CASCADE,
            related_name="indexings",
            to="endpoints.endpoint",
        ),
    ),
    migrations.AlterField(
        model_name="integration",
        name="organization",
        field=models.ForeignKey(
            db_index=False,
            on_delete=django.db.models.deletion.CASCADE,
            related_name="integrations",
            to="endpoints.organization",
        ),
    ),
    migrations.AlterField(
        model_name="job",
        name="project",
        field=models.ForeignKey(
            db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="jobs", to="endpoints.project"
        ),
    ),
    migrations.AlterField(
        model_name="jobalias",
        name="job",
        field=models.ForeignKey(
            db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="aliases", to="endpoints.job"
        ),
    ),
    migrations.AlterField(
        model_name="jobintegration",
        name="version",
        field=models.ForeignKey(
            db_index=False,
            on_delete=django.db.models.deletion.CASCADE,
            related_name="integrations",
            to="endpoints.jobversion",
        ),
    ),
    migrations.AlterField(
        model_name="jobversion",
        name="endpoint",
        field=models.ForeignKey(
            db_index=False,
            on_delete=django.db.models.deletion.CASCADE,
            related_name="job_versions",
            to="endpoints.endpoint",
        ),
    ),
    migrations.AlterField(
        model_name="jobversion",
        name="job",
        field=models.ForeignKey(
            db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="versions", to="endpoints.job"
        ),
    ),
    migrations.AlterField(
        model_name="registryevent",
        name="environment",
        field=models.ForeignKey(
            db_index=False,
            on_delete=django.db.models.deletion.CASCADE,
            related_name="registry_events",
            to="endpoints.runtimeenvironment",
        ),
    ),
    migrations.AlterField(
        model_name="runtimeenvironment",
        name="project",
        field=models.ForeignKey(
            db_index=False,
            on_delete=django.db.models.deletion.CASCADE,
            related_name="environments",
            to="endpoints.project",
        ),
    ),
    migrations.AlterField(
        model_name="triggerhttpendpointenvironment",
        name="endpoint",
        field=models.ForeignKey(
            db_index=False,
            on_delete=django.db.models.deletion.CASCADE,
            related_name="http_endpoint_environments",
            to="endpoints.endpoint",
        ),
    ),
    migrations.AlterField(
        model_name="triggerhttpendpointenvironment",
        name="environment",
        field=models.ForeignKey(
            db_index=False,
            on_delete=django.db.models.deletion.CASCADE,
            related_name="+",
            to="endpoints.runtimeenvironment",
        ),
    ),
    migrations.AlterField(
        model_name="webhookattempt",
        name="delivery",
        field=models.ForeignKey(
            db_index=False,
            on_delete=django.db.models.deletion.CASCADE,
            related_name="attempt_rows",
            to="endpoints.webhookdelivery",
        ),
    ),
    migrations.AlterField(
        model_name="webhookdelivery",
        name="subscription",
        field=models.ForeignKey(
            db_index=False,
            on_delete=django.db.models.deletion.CASCADE,
            related_name="deliveries",
            to="endpoints.webhooksubscription",
        ),
    ),
    migrations.AlterField(
        model_name="webhookenvironment",
        name="environment",
        field=models.ForeignKey(
            db_index=False,
            on_delete=django.db.models.deletion.CASCADE,
            related_name="+",
            to="endpoints.runtimeenvironment",
        ),
    ),
    migrations.AlterField(
        model_name="webhooksubscription",
        name="environment",
        field=models.ForeignKey(
            db_index=False,
            on_delete=django.db.models.deletion.CASCADE,
            related_name="webhook_subscriptions",
            to="endpoints.runtimeenvironment",
        ),
    ),
]


class Migration(migrations.Migration):
    dependencies = [("endpoints", "0008_drop_pattern_ops_indexes")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop_plain_fk_indexes, migrations.RunPython.noop)],
            state_operations=STATE,
        )
    ]
