"""Index runs per hour, for the overview: counts by status and source, and duration percentiles.

A day of runs is what the overview draws; at 100,000 endpoints re-indexed hourly that is 2.4 M
runs, too many to aggregate on every view. An hour whose runs are all final no longer changes, so
its figures are kept (`RunHour`) the first time they are computed: a view aggregates only the hours
not kept yet (the current one, the previous one during `SETTLE`, an hour with a run in flight).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection

from endpoints.models import FINAL_STATUSES, EndpointIndex, RunHour

HOUR = timedelta(hours=1)
#: How long after its end an hour may still receive runs: a transaction that created a run just
#: before the hour ended may commit after it.
SETTLE = timedelta(minutes=10)


@dataclass
class HourStats:
    start: datetime
    #: {status: {source: runs}}
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    #: Nearest-rank percentiles of the durations (seconds) of the hour's finished runs.
    p50: float | None = None
    p95: float | None = None

    def by_status(self) -> dict[str, int]:
        return {status: sum(sources.values()) for status, sources in self.counts.items()}

    def settled(self, now: datetime) -> bool:
        """Whether the hour can no longer change: it ended `SETTLE` ago and none of its runs is in flight."""
        return self.start + HOUR + SETTLE <= now and all(status in FINAL_STATUSES for status in self.counts)


def run_hours(*, start: datetime, now: datetime) -> list[HourStats]:
    """The hours from `start` (an hour boundary) to the one holding `now`, oldest first. Reads the
    kept hours, aggregates the others from the runs, keeps those that settled, and forgets kept
    hours older than a day before `start`."""
    hours = [start + HOUR * n for n in range(int((now - start) / HOUR) + 1)]
    kept = {
        row.hour: HourStats(start=row.hour, counts=row.counts, p50=row.p50, p95=row.p95)
        for row in RunHour.objects.filter(hour__gte=start, hour__lte=hours[-1])
    }
    missing = [hour for hour in hours if hour not in kept]
    fresh = _aggregate(since=missing[0], until=missing[-1] + HOUR) if missing else {}
    settled = [fresh.get(hour) or HourStats(start=hour) for hour in missing]
    settled = [stats for stats in settled if stats.settled(now)]
    if settled:
        RunHour.objects.bulk_create(
            [RunHour(hour=s.start, counts=s.counts, p50=s.p50, p95=s.p95) for s in settled], ignore_conflicts=True
        )
        RunHour.objects.filter(hour__lt=start - timedelta(days=1)).delete()
    return [kept.get(hour) or fresh.get(hour) or HourStats(start=hour) for hour in hours]


def _aggregate(*, since: datetime, until: datetime) -> dict[datetime, HourStats]:
    """Runs created in [since, until) by hour: counts by status and source, and per hour the
    percentiles of the finished runs' durations. One index-only scan of
    `endpointindex_created_covering`, aggregated by the database (durations as float8: sorting
    numerics, what EXTRACT returns, costs a third more)."""
    runs = connection.ops.quote_name(EndpointIndex._meta.db_table)
    final = ", ".join(f"'{status}'" for status in FINAL_STATUSES)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT slot, status, source, count(*), percentile_disc(0.5) WITHIN GROUP (ORDER BY seconds), "  # noqa: S608
            "percentile_disc(0.95) WITHIN GROUP (ORDER BY seconds) FROM ("
            "SELECT floor(date_part('epoch', created_at - %(since)s) / 3600)::int AS slot, status, source, "
            f"CASE WHEN status IN ({final}) THEN date_part('epoch', finished_at - started_at) END AS seconds "
            f"FROM {runs} WHERE created_at >= %(since)s AND created_at < %(until)s) AS hourly "
            "GROUP BY GROUPING SETS ((slot, status, source), (slot))",
            {"since": since, "until": until},
        )
        rows = cursor.fetchall()
    hours: dict[datetime, HourStats] = {}
    for slot, status, source, runs_count, p50, p95 in rows:
        hour = since + HOUR * slot
        stats = hours.setdefault(hour, HourStats(start=hour))
        if status is None:
            stats.p50, stats.p95 = p50, p95
        else:
            stats.counts.setdefault(status, {})[source] = runs_count
    return hours
