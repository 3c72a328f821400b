"""Indexes the console needs at 100,000 endpoints (figures in docs/scaling.md, from bench/scale.py):
endpoints by slug (the list's order), runs by creation time carrying status, source and timings
(the overview reads that index alone), and the latest failures. Built CONCURRENTLY: a fleet's run
history takes a while to index, and writes go on meanwhile.
"""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("endpoints", "0019_endpoint_health_since")]

    operations = [
        AddIndexConcurrently(model_name="endpoint", index=models.Index(fields=["slug", "-id"], name="endpoint_slug")),
        AddIndexConcurrently(
            model_name="endpointindex",
            index=models.Index(
                fields=["created_at"],
                include=["status", "source", "started_at", "finished_at"],
                name="endpointindex_created_covering",
            ),
        ),
        RemoveIndexConcurrently(model_name="endpointindex", name="endpointindex_created"),
        AddIndexConcurrently(
            model_name="endpointindex",
            index=models.Index(
                fields=["-finished_at", "-created_at"],
                condition=models.Q(status="FAILURE"),
                name="endpointindex_failures",
            ),
        ),
    ]
