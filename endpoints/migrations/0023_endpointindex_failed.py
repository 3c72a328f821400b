"""Failed runs by id (newest first), replacing the index by finish time: the run list filtered on
FAILURE walked the primary key through every newer SUCCESS run (5.4 s at 2.6 M runs a day, issue
#23's hourly shape; 48 ms with this index) and the overview's latest failures now share it. Built
CONCURRENTLY, as 0020."""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("endpoints", "0022_run_hours")]

    operations = [
        AddIndexConcurrently(
            model_name="endpointindex",
            index=models.Index(fields=["-id"], condition=models.Q(status="FAILURE"), name="endpointindex_failed"),
        ),
        RemoveIndexConcurrently(model_name="endpointindex", name="endpointindex_failures"),
    ]
