"""Drop the `varchar_pattern_ops` ("…_like") indexes Django adds beside every varchar primary key,
foreign key and unique column on PostgreSQL.

They only serve case-sensitive `LIKE 'prefix%'` lookups, which Kongflow never makes (the admin's
search is case-insensitive and cannot use them), yet every inserted row paid for them: a job
version carries seven. Dropping them took a first index of 500 jobs from ~215 to ~198 ms and one of
2,000 from ~784 to ~736 ms (bench, docs/performance.md). `tests/test_schema.py` keeps new ones out.
"""

from django.db import migrations

from ._pattern_ops import DROP_PATTERN_OPS


class Migration(migrations.Migration):
    dependencies = [("endpoints", "0007_index_body_hash")]

    operations = [DROP_PATTERN_OPS]
