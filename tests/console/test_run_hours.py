"""The overview's runs per hour: exact figures, kept once an hour has settled, read back after."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from endpoints.console import overview_get
from endpoints.models import EndpointIndex, IndexSource, IndexStatus, RunHour
from endpoints.services.run_hours import HOUR, run_hours
from tests import factories

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 4, 15, 30, tzinfo=UTC)
START = datetime(2026, 12, 3, 16, 0, tzinfo=UTC)  # the hour 23 hours before NOW's


def add_run(created: datetime, status: str, *, seconds: float | None = None, source: str = IndexSource.API) -> str:
    """A run created at `created`; `seconds` long if it finished. Runs in flight each get an
    endpoint of their own (one PENDING / STARTED run per endpoint)."""
    run = factories.EndpointIndexFactory(status=status, source=source)
    times: dict[str, object] = {"created_at": created}
    if seconds is not None:
        times.update(started_at=created, finished_at=created + timedelta(seconds=seconds))
    EndpointIndex.objects.filter(id=run.id).update(**times)
    return run.id


@pytest.fixture
def day() -> dict[str, datetime]:
    """Runs in four hours: a finished one, one with a run in flight, the previous and the current."""
    finished, in_flight, previous, current = START + 2 * HOUR, START + 5 * HOUR, NOW - HOUR, NOW
    for n in range(1, 21):
        add_run(finished + timedelta(minutes=n), IndexStatus.SUCCESS, seconds=n)
    add_run(finished, IndexStatus.FAILURE, seconds=100, source=IndexSource.INTERNAL)
    add_run(finished, IndexStatus.FAILURE, seconds=200, source=IndexSource.INTERNAL)
    add_run(in_flight, IndexStatus.STARTED)
    add_run(in_flight + timedelta(minutes=1), IndexStatus.SUCCESS, seconds=1)
    add_run(previous, IndexStatus.SUCCESS, seconds=3)
    add_run(current - timedelta(minutes=1), IndexStatus.PENDING)
    return {"finished": finished, "in_flight": in_flight, "previous": previous.replace(minute=0)}


def test_figures_are_exact_and_settled_hours_are_kept(day):
    hours = run_hours(start=START, now=NOW)

    assert [hour.start for hour in hours] == [START + n * HOUR for n in range(24)]
    finished = hours[2]
    assert finished.counts == {"SUCCESS": {"API": 20}, "FAILURE": {"INTERNAL": 2}}
    # Nearest rank of 1..20, 100, 200 s: the 11th and the 21st.
    assert (finished.p50, finished.p95) == (11.0, 100.0)
    assert hours[5].counts == {"STARTED": {"API": 1}, "SUCCESS": {"API": 1}}
    assert hours[23].counts == {"PENDING": {"API": 1}} and hours[23].p50 is None
    # Every hour but the one with a run in flight and the current one, empty hours included.
    kept = set(RunHour.objects.values_list("hour", flat=True))
    assert kept == {START + n * HOUR for n in range(23)} - {day["in_flight"]}


def test_kept_hours_are_read_back_and_an_hour_is_kept_once_its_runs_finish(day):
    first = run_hours(start=START, now=NOW)
    EndpointIndex.objects.filter(created_at__lt=START + 3 * HOUR).delete()  # as a purge would
    EndpointIndex.objects.filter(status=IndexStatus.STARTED).update(
        status=IndexStatus.FAILURE, started_at=day["in_flight"], finished_at=day["in_flight"] + timedelta(seconds=9)
    )

    with CaptureQueriesContext(connection) as queries:
        second = run_hours(start=START, now=NOW)

    assert second[2] == first[2]  # from RunHour: its runs are gone
    assert second[5].counts == {"FAILURE": {"API": 1}, "SUCCESS": {"API": 1}} and second[5].p95 == 9.0
    assert RunHour.objects.filter(hour=day["in_flight"]).exists()
    # The kept hours; one aggregate of the hours not kept (5 to 23); keep hour 5; forget old hours.
    aggregate = [q["sql"] for q in queries.captured_queries if "percentile_disc" in q["sql"]]
    assert len(aggregate) == 1 and len(queries.captured_queries) == 4


def test_an_hour_is_kept_only_once_it_has_settled(day):
    previous = day["previous"]
    run_hours(start=START, now=previous + HOUR + timedelta(minutes=5))
    assert not RunHour.objects.filter(hour=previous).exists()
    run_hours(start=START, now=previous + HOUR + timedelta(minutes=11))
    assert RunHour.objects.get(hour=previous).counts == {"SUCCESS": {"API": 1}}


def test_hours_older_than_a_day_before_the_window_are_forgotten(db):
    RunHour.objects.create(hour=START - timedelta(days=2), counts={"SUCCESS": {"API": 1}})
    RunHour.objects.create(hour=START - timedelta(hours=2), counts={"SUCCESS": {"API": 1}})
    run_hours(start=START, now=NOW)
    assert not RunHour.objects.filter(hour=START - timedelta(days=2)).exists()
    assert RunHour.objects.filter(hour=START - timedelta(hours=2)).exists()


def test_the_overview_totals_the_window(day):
    overview = overview_get(now=NOW)
    assert overview.runs_by_status == {"PENDING": 1, "STARTED": 1, "SUCCESS": 22, "FAILURE": 2}
    assert overview.runs_by_source == {"MANUAL": 0, "API": 24, "INTERNAL": 2, "HOOK": 0}
    assert overview.hours[2].by_status() == {"SUCCESS": 20, "FAILURE": 2} and overview.hours[2].p95 == 100.0
    assert overview_get(now=NOW).runs_by_status == overview.runs_by_status  # from the kept hours
