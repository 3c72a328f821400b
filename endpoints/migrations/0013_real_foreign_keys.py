"""Real FOREIGN KEY constraints again for the eight keys 0012 checked with triggers: PostgreSQL's own
checks (row by row, in C) cover what the triggers did not (TRUNCATE of a parent, REPEATABLE READ
writers, `session_replication_role = replica`) and leave no hand-written trigger to keep. The two
scope keys are composite as before 0012 (the job's project and organization; the job version's
endpoint, environment, organization and project), the six others single-column.

The triggers are dropped first, then the constraints added (PostgreSQL checks the existing rows).
Backwards, the constraints are dropped and the triggers recreated.
"""

import django.db.models.deletion
import endpoints.models.constraints
from django.db import migrations, models

from ._statement_fk_triggers import CREATE_SQL, DROP_SQL


class Migration(migrations.Migration):

    dependencies = [
        ('endpoints', '0012_statement_foreign_keys'),
    ]

    operations = [
        migrations.RunSQL([DROP_SQL], reverse_sql=[CREATE_SQL]),
        migrations.AlterField(
            model_name='eventdispatcher',
            name='environment',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='endpoints.runtimeenvironment'),
        ),
        migrations.AlterField(
            model_name='jobalias',
            name='environment',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='endpoints.runtimeenvironment'),
        ),
        migrations.AlterField(
            model_name='jobintegration',
            name='integration',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='job_integrations', to='endpoints.integration'),
        ),
        migrations.AlterField(
            model_name='registryevent',
            name='environment',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='registry_events', to='endpoints.runtimeenvironment'),
        ),
        migrations.AlterField(
            model_name='schedulesource',
            name='endpoint',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='endpoints.endpoint'),
        ),
        migrations.AlterField(
            model_name='schedulesource',
            name='environment',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='endpoints.runtimeenvironment'),
        ),
        migrations.AddConstraint(
            model_name='job',
            constraint=endpoints.models.constraints.CompositeForeignKey(fields=['project', 'organization'], name='job_project_fk', to_fields=['id', 'organization']),
        ),
        migrations.AddConstraint(
            model_name='jobversion',
            constraint=endpoints.models.constraints.CompositeForeignKey(fields=['endpoint', 'environment', 'organization', 'project'], name='jobversion_endpoint_fk', to_fields=['id', 'environment', 'organization', 'project']),
        ),
    ]
