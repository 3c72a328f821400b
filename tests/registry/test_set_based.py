"""Set-based writes: an unchanged document writes nothing, a changed one only what changed; ids come
back from the upserts; rows are written in natural-key order; the organization's registry generation."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from endpoints import models as m
from endpoints.services.registry import (
    registry_apply,
    registry_changed,
    registry_generation_current,
    registry_plan,
)
from endpoints.services.registry.bulk import upsert
from tests import factories
from tests.registry.conftest import index
from tests.registry.test_full_document import REGISTRY_MODELS

pytestmark = pytest.mark.django_db


def stamps() -> dict[str, dict]:
    """`updated_at` (or the whole row, for models without one) of every registry row."""
    result = {}
    for model in REGISTRY_MODELS:
        fields = ["pk", "updated_at"] if any(f.name == "updated_at" for f in model._meta.fields) else None
        rows = model.objects.values_list(*fields) if fields else model.objects.values_list()
        result[model.__name__] = dict(rows) if fields else set(rows)
    return result


def generation(endpoint: m.Endpoint) -> int:
    return registry_generation_current(organization_id=endpoint.organization_id)


def test_an_unchanged_document_writes_nothing_and_keeps_the_generation(endpoint, full):
    _, first = index(endpoint, full)
    assert first.written > 0
    assert first.registry_generation == generation(endpoint) == 1
    before = stamps()

    _, again = index(endpoint, copy.deepcopy(full))

    assert again.written == 0
    assert again.as_v2_stats() == first.as_v2_stats()
    assert stamps() == before  # not one row rewritten: `updated_at` did not move anywhere
    assert again.registry_generation == generation(endpoint) == 1


def test_a_changed_document_writes_only_the_rows_that_changed(endpoint, full):
    index(endpoint, full)
    before = stamps()
    changed = copy.deepcopy(full)
    placed = next(job for job in changed["jobs"] if job["id"] == "order-placed")
    placed["name"] = "Order placed (renamed)"

    _, stats = index(endpoint, changed)

    assert stats.written == 1
    after = stamps()
    job = m.Job.objects.get(slug="order-placed")
    assert job.title == "Order placed (renamed)"
    assert after["Job"][job.pk] > before["Job"][job.pk]
    assert {pk: at for pk, at in after["Job"].items() if pk != job.pk} == {
        pk: at for pk, at in before["Job"].items() if pk != job.pk
    }
    assert {name: rows for name, rows in after.items() if name != "Job"} == {
        name: rows for name, rows in before.items() if name != "Job"
    }
    assert stats.registry_generation == generation(endpoint) == 2


def test_upsert_returns_the_id_of_every_row_written_or_not():
    org = factories.OrganizationFactory()
    first = upsert(
        m.IntegrationDefinition, [{"id": "b", "name": "B"}, {"id": "a", "name": "A"}], on=["id"], update=["name"]
    )
    assert first.ids == {("a",): "a", ("b",): "b"} and first.written == 2
    rows = [{"slug": slug, "title": slug.upper(), "definition_id": "a", "organization_id": org.id} for slug in "cab"]
    created = upsert(m.Integration, rows, on=["organization", "slug"], update=["title"])
    stored = dict(m.Integration.objects.values_list("slug", "id"))
    assert created.by_last() == stored
    assert all(len(row_id) == 25 and row_id.startswith("c") for row_id in stored.values())
    rows[0]["title"] = "changed"
    again = upsert(m.Integration, rows, on=["organization", "slug"], update=["title"])
    assert again.by_last() == stored
    assert again.written == 1
    assert m.Integration.objects.get(slug="c").title == "changed"


def test_upsert_of_rows_said_to_be_new_is_a_plain_insert_that_refuses_an_existing_key():
    org = factories.OrganizationFactory()
    upsert(m.IntegrationDefinition, [{"id": "a", "name": "A"}], on=["id"], update=[])
    row = {"slug": "x", "title": "x", "definition_id": "a", "organization_id": org.id}
    created = upsert(m.Integration, [row], on=["organization", "slug"], update=["title"], new=True)
    assert created.by_last() == dict(m.Integration.objects.values_list("slug", "id")) and created.written == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        upsert(m.Integration, [row], on=["organization", "slug"], update=["title"], new=True)


def test_a_first_index_sends_its_inserts_ahead_and_waits_for_them_before_reading(endpoint, full):
    """The optimistic apply's INSERTs go out in pipeline mode (not waited for); every other
    statement runs with the pipeline left, i.e. after those INSERTs finished."""
    from psycopg import pq

    plan = registry_plan(endpoint=endpoint, data=full)
    seen: list[tuple[str, bool]] = []  # (what, sent ahead)

    def record(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        result = execute(sql, params, many, context)
        inserted = re.search(r'INSERT INTO "(\w+)"', sql)
        what = inserted.group(1) if inserted else sql.split(None, 1)[0]
        seen.append((what, connection.connection.pgconn.pipeline_status != pq.PipelineStatus.OFF))
        return result

    with transaction.atomic(), connection.execute_wrapper(record):
        registry_apply(endpoint=endpoint, plan=plan)
        assert connection.connection.pgconn.pipeline_status == pq.PipelineStatus.OFF

    ahead = {what for what, sent_ahead in seen if sent_ahead}
    assert {"endpoints_job", "endpoints_jobversion", "endpoints_jobalias", "SET"} <= ahead, seen
    assert ahead <= {what for what, _ in seen if what.startswith("endpoints_")} | {"SET"}, seen
    assert not any(sent_ahead for what, sent_ahead in seen if what in ("SELECT", "UPDATE", "RELEASE")), seen
    assert m.Job.objects.filter(project_id=endpoint.project_id).count() == len(plan.jobs_to_register)


def test_an_apply_whose_new_keys_were_committed_meanwhile_runs_again_looking_them_up(endpoint, full):
    """The plan found no job; before the apply, "another index" inserts one of them: the optimistic
    apply's plain INSERT fails on it, the apply is rolled back to its savepoint and runs again."""
    plan = registry_plan(endpoint=endpoint, data=full)
    slug = plan.jobs_to_register[0].slug
    assert not any(job.exists for job in plan.jobs_to_register)
    taken = m.Job.objects.create(
        slug=slug, title="taken", project_id=endpoint.project_id, organization_id=endpoint.organization_id
    )

    with CaptureQueriesContext(connection) as queries:
        stats = registry_apply(endpoint=endpoint, plan=plan)

    # (Django logs a statement sent ahead without its text: its cursor has no result to take it from.)
    sql = [q["sql"] or "" for q in queries.captured_queries]
    assert any(s.startswith("ROLLBACK TO SAVEPOINT") for s in sql)
    assert m.Job.objects.get(project_id=endpoint.project_id, slug=slug).id == taken.id
    assert m.Job.objects.filter(project_id=endpoint.project_id).count() == len(plan.jobs_to_register)
    assert stats.as_v2_stats() == index(factories.EndpointFactory(), full)[1].as_v2_stats()


def _looked_up(endpoint: m.Endpoint, document: dict[str, Any]) -> set[str]:
    """The tables whose upsert looked its keys up first, in one index."""
    with CaptureQueriesContext(connection) as queries:
        index(endpoint, document)
    return {
        q["sql"].split("INSERT INTO ")[1].split()[0].strip('"')
        for q in queries.captured_queries
        if "INSERT INTO" in q["sql"] and "LEFT JOIN LATERAL" in q["sql"]
    }


def test_rows_under_jobs_this_index_inserted_skip_the_lookup(endpoint, full):
    under_new_jobs = {
        f"endpoints_{name}"
        for name in ("job", "jobversion", "jobalias", "eventexample", "jobintegration", "eventdispatcher")
    }
    first = _looked_up(endpoint, full)
    again = _looked_up(endpoint, copy.deepcopy(full))
    assert first & under_new_jobs == set()
    # The same jobs again: every kind is looked up (unchanged rows are not even locked).
    assert under_new_jobs <= again and first < again


def test_rows_are_sent_sorted_by_their_natural_key():
    org = factories.OrganizationFactory()
    upsert(m.IntegrationDefinition, [{"id": "def", "name": "D"}], on=["id"], update=[])
    rows = [
        {"slug": slug, "title": slug, "definition_id": "def", "organization_id": org.id} for slug in ("z", "m", "a")
    ]
    sent: list[tuple[str, Any]] = []

    def capture(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        sent.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        upsert(m.Integration, rows, on=["organization", "slug"], update=["title"])
    ((statement, params),) = [(sql, params) for sql, params in sent if "INSERT INTO" in sql]
    assert "ORDER BY" in statement
    # The rows (values by position), in key order; the columns equal in every row are sent once.
    assert [set(row) & {"a", "m", "z"} for row in json.loads(params[0])] == [{"a"}, {"m"}, {"z"}]
    assert set(json.loads(params[1])) >= {"def", org.id}


def test_a_write_outside_the_apply_bumps_the_generation(endpoint, full):
    index(endpoint, full)
    assert generation(endpoint) == 1
    assert registry_changed(organization_id=endpoint.organization_id) == 2
    other = factories.EndpointFactory()  # another organization: its own counter
    assert generation(other) == 0


def test_foreign_keys_are_checked_before_the_generation_row_is_locked(endpoint, full):
    """Not in COMMIT, while the organization's row (and later the event sequence) is held."""
    with CaptureQueriesContext(connection) as queries:
        index(endpoint, full)
    sql = [q["sql"] for q in queries.captured_queries]
    checked = sql.index("SET CONSTRAINTS ALL IMMEDIATE")
    bumped = next(n for n, statement in enumerate(sql) if "SET registry_generation" in statement)
    assert checked < bumped
    assert not any(statement.startswith(("INSERT", "WITH", "DELETE")) for statement in sql[checked:])


def test_values_equal_in_python_but_not_in_json_are_stored_as_sent(endpoint, full):
    """A column is sent once only when it is the same JSON value in every row: 1, 1.0 and True are
    equal in Python (and so are dicts of them), so payload columns holding them stay per row."""
    index(endpoint, full)
    version = m.JobVersion.objects.filter(endpoint=endpoint).first()
    for group, payloads in enumerate(([1, 1.0, True], [{"a": 1}, {"a": 1.0}, {"a": True}])):
        rows = [
            {"slug": f"x{group}{n}", "name": "Same", "icon": None, "payload": payload, "job_version_id": version.id}
            for n, payload in enumerate(payloads)
        ]
        upsert(m.EventExample, rows, on=["slug", "job_version"], update=["name", "icon", "payload"])
        stored = m.EventExample.objects.filter(slug__startswith=f"x{group}").order_by("slug")
        assert [json.dumps(example.payload) for example in stored] == [json.dumps(payload) for payload in payloads]
        assert {(example.name, example.icon) for example in stored} == {("Same", None)}
    # The same null payload in every row: SQL NULL, as when it is sent per row.
    upsert(m.EventExample, [{**row, "payload": None} for row in rows], on=["slug", "job_version"], update=["payload"])
    assert m.EventExample.objects.filter(slug__startswith="x1", payload__isnull=True).count() == 3
