"""`Endpoint.health_since`: when the stored health last changed (the API's `health.since`)."""

from django.db import migrations, models

# HEALTHY: the first success after the latest failure; DEGRADED and FAILING: the first failure of
# the streak. Runs purged by retention make the backfill later than the truth, never earlier.
BACKFILL = """
UPDATE endpoints_endpoint e SET health_since = CASE
    WHEN e.health = 'HEALTHY' THEN (
        SELECT MIN(COALESCE(s.finished_at, s.updated_at)) FROM endpoints_endpointindex s
        WHERE s.endpoint_id = e.id AND s.status = 'SUCCESS' AND s.created_at > COALESCE(
            (SELECT MAX(f.created_at) FROM endpoints_endpointindex f
             WHERE f.endpoint_id = e.id AND f.status = 'FAILURE'), '-infinity'))
    ELSE e.failing_since END
WHERE e.health <> 'NEVER_INDEXED'
"""


class Migration(migrations.Migration):

    dependencies = [
        ('endpoints', '0018_alert_channels'),
    ]

    operations = [
        migrations.AddField(
            model_name='endpoint',
            name='health_since',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
    ]
