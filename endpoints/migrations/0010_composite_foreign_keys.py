"""Composite foreign keys for the registry's denormalized scope columns (see models.constraints).

The parents' unique keys first (a foreign key needs one on the columns it references), then the
single-column keys they replace are dropped, then the composite keys are added (PostgreSQL checks
the existing rows then: a row whose scope disagrees with its parent's stops the upgrade).
"""

import django.db.models.deletion
import endpoints.models.constraints
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("endpoints", "0009_drop_covered_fk_indexes"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="endpoint",
            constraint=models.UniqueConstraint(
                fields=("id", "environment", "organization", "project"), name="endpoint_id_scope_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="job",
            constraint=models.UniqueConstraint(fields=("id", "project"), name="job_id_project_unique"),
        ),
        migrations.AddConstraint(
            model_name="jobversion",
            constraint=models.UniqueConstraint(fields=("id", "job"), name="jobversion_id_job_unique"),
        ),
        migrations.AddConstraint(
            model_name="project",
            constraint=models.UniqueConstraint(fields=("id", "organization"), name="project_id_organization_unique"),
        ),
        migrations.AlterField(
            model_name="job",
            name="organization",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="jobs",
                to="endpoints.organization",
            ),
        ),
        migrations.AlterField(
            model_name="job",
            name="project",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="jobs",
                to="endpoints.project",
            ),
        ),
        migrations.AlterField(
            model_name="jobalias",
            name="job",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="aliases",
                to="endpoints.job",
            ),
        ),
        migrations.AlterField(
            model_name="jobalias",
            name="version",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="aliases",
                to="endpoints.jobversion",
            ),
        ),
        migrations.AlterField(
            model_name="jobintegration",
            name="job",
            field=models.ForeignKey(
                db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="endpoints.job"
            ),
        ),
        migrations.AlterField(
            model_name="jobintegration",
            name="version",
            field=models.ForeignKey(
                db_constraint=False,
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
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="job_versions",
                to="endpoints.endpoint",
            ),
        ),
        migrations.AlterField(
            model_name="jobversion",
            name="environment",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="job_versions",
                to="endpoints.runtimeenvironment",
            ),
        ),
        migrations.AlterField(
            model_name="jobversion",
            name="job",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="versions",
                to="endpoints.job",
            ),
        ),
        migrations.AlterField(
            model_name="jobversion",
            name="organization",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="endpoints.organization",
            ),
        ),
        migrations.AlterField(
            model_name="jobversion",
            name="project",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="endpoints.project",
            ),
        ),
        migrations.AddConstraint(
            model_name="job",
            constraint=endpoints.models.constraints.CompositeForeignKey(
                fields=["project", "organization"], name="job_project_fk", to_fields=["id", "organization"]
            ),
        ),
        migrations.AddConstraint(
            model_name="jobalias",
            constraint=endpoints.models.constraints.CompositeForeignKey(
                fields=["version", "job"], name="jobalias_version_fk", to_fields=["id", "job"]
            ),
        ),
        migrations.AddConstraint(
            model_name="jobintegration",
            constraint=endpoints.models.constraints.CompositeForeignKey(
                fields=["version", "job"], name="jobintegration_version_fk", to_fields=["id", "job"]
            ),
        ),
        migrations.AddConstraint(
            model_name="jobversion",
            constraint=endpoints.models.constraints.CompositeForeignKey(
                fields=["job", "project"], name="jobversion_job_fk", to_fields=["id", "project"]
            ),
        ),
        migrations.AddConstraint(
            model_name="jobversion",
            constraint=endpoints.models.constraints.CompositeForeignKey(
                fields=["endpoint", "environment", "organization", "project"],
                name="jobversion_endpoint_fk",
                to_fields=["id", "environment", "organization", "project"],
            ),
        ),
    ]
