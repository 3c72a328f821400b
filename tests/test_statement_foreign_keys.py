"""`StatementForeignKey` (models.fk_triggers): checked once per statement and distinct parent on
PostgreSQL, a plain FOREIGN KEY on SQLite; either way it keeps what a foreign key guarantees."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction

from endpoints.models import EventDispatcher, RegistryEvent, RuntimeEnvironment, ScheduleSource
from endpoints.models.constraints import StatementForeignKey
from tests.factories import EndpointFactory
from tests.support.waiting import wait_for

postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's triggers")
ROLES = ("insert", "update", "delete", "rekey")


def statement_keys() -> list[StatementForeignKey]:
    return [
        constraint
        for model in apps.get_app_config("endpoints").get_models()
        for constraint in model._meta.constraints
        if isinstance(constraint, StatementForeignKey)
    ]


def dispatcher(environment_id: str, n: int = 0) -> EventDispatcher:
    return EventDispatcher(
        event=["e"], source="s", dispatchable_id=f"job_{n}", dispatchable={"type": "JOB"}, environment_id=environment_id
    )


def event(environment_id: str, sequence: int) -> RegistryEvent:
    return RegistryEvent(
        id=f"evt_test_{sequence}",
        environment_id=environment_id,
        sequence=sequence,
        type="endpoint.indexed",
        data={},
        occurred_at=datetime.now(UTC),
    )


@contextmanager
def refused(constraint: str) -> Iterator[None]:
    """The block's writes fail as a foreign key violation of `constraint` (and are rolled back)."""
    with pytest.raises(IntegrityError) as raised, transaction.atomic():
        yield
        connection.check_constraints()  # SQLite's foreign keys are deferred
    if connection.vendor == "postgresql":
        assert raised.value.__cause__.diag.constraint_name == constraint  # type: ignore[union-attr]


@postgresql_only
@pytest.mark.django_db
def test_every_statement_foreign_key_has_its_triggers_and_no_row_by_row_constraint():
    keys = statement_keys()
    assert len(keys) >= 8
    with connection.cursor() as cursor:
        cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgenabled = 'O'")
        triggers = {row[0] for row in cursor.fetchall()}
        cursor.execute("SELECT conname FROM pg_constraint WHERE contype = 'f'")
        foreign_keys = {row[0] for row in cursor.fetchall()}
    assert {f"{key.name}_{role}" for key in keys for role in ROLES} <= triggers
    assert not {key.name for key in keys} & foreign_keys


@pytest.mark.django_db
def test_a_bulk_insert_sharing_one_parent_is_accepted():
    env = EndpointFactory().environment
    RegistryEvent.objects.bulk_create([event(env.id, n) for n in range(1, 301)])
    connection.check_constraints()
    assert RegistryEvent.objects.filter(environment=env).count() == 300


@pytest.mark.django_db
def test_a_statement_with_one_row_whose_parent_is_missing_writes_nothing():
    env = EndpointFactory().environment
    with refused("registryevent_environment_fk"):
        RegistryEvent.objects.bulk_create([*(event(env.id, n) for n in range(1, 100)), event("env_missing", 100)])
    assert not RegistryEvent.objects.exists()


@pytest.mark.django_db
def test_a_composite_key_is_checked_as_a_whole():
    one, other = EndpointFactory(), EndpointFactory()
    with refused("job_project_fk"):
        # Both exist, but the project is not of that organization.
        apps.get_model("endpoints", "Job").objects.create(
            slug="a", title="a", project_id=one.project_id, organization_id=other.organization_id
        )


@pytest.mark.django_db
def test_a_null_key_is_not_checked():
    env = EndpointFactory().environment
    parent = dispatcher(env.id)
    parent.save()
    ScheduleSource.objects.create(key="k", schedule={}, environment=env, endpoint=None, dispatcher=parent)
    connection.check_constraints()


@pytest.mark.django_db
def test_changing_a_rows_key_to_a_missing_parent_is_refused():
    env = EndpointFactory().environment
    row = dispatcher(env.id)
    row.save()
    with refused("eventdispatcher_environment_fk"):
        EventDispatcher.objects.filter(id=row.id).update(environment_id="env_missing")
    assert EventDispatcher.objects.get(id=row.id).environment_id == env.id


@pytest.mark.django_db
def test_a_referenced_parent_can_be_neither_deleted_nor_rekeyed():
    env = EndpointFactory().environment
    dispatcher(env.id).save()
    with refused("eventdispatcher_environment_fk"), connection.cursor() as cursor:
        cursor.execute("DELETE FROM endpoints_runtimeenvironment WHERE id = %s", [env.id])
    with refused("eventdispatcher_environment_fk"), connection.cursor() as cursor:
        cursor.execute("UPDATE endpoints_runtimeenvironment SET id = 'env_rekeyed' WHERE id = %s", [env.id])
    assert RuntimeEnvironment.objects.filter(id=env.id).exists()


@pytest.mark.django_db
def test_django_deletes_the_children_first_so_a_parent_can_go():
    endpoint = EndpointFactory()
    env = endpoint.environment
    parent = dispatcher(env.id)
    parent.save()
    ScheduleSource.objects.create(key="k", schedule={}, environment=env, endpoint=endpoint, dispatcher=parent)
    RegistryEvent.objects.bulk_create([event(env.id, 1)])
    env.delete()
    connection.check_constraints()
    assert not EventDispatcher.objects.exists() and not ScheduleSource.objects.exists()
    assert not RegistryEvent.objects.exists()


# Two sessions (READ COMMITTED, as Django's): the parent row a statement's children reference stays
# locked until it commits.


Session = psycopg.Connection[Any]


@pytest.fixture
def sessions() -> Iterator[tuple[Session, Session, Session]]:
    """Two sessions that race (transactions), and a third that watches them (autocommit)."""
    settings = connection.settings_dict

    def session(autocommit: bool = False) -> Session:
        return psycopg.connect(
            dbname=settings["NAME"],
            host=settings["HOST"] or None,
            port=settings["PORT"] or None,
            user=settings["USER"] or None,
            autocommit=autocommit,
        )

    with session() as first, session() as second, session(autocommit=True) as watcher:
        yield first, second, watcher


def _blocked_then_released(watcher: Session, blocked: Session, sql: str, env_id: str, holder: Session) -> Any:
    """Run `sql` (and commit) in `blocked` until it waits on a lock, commit `holder`; the outcome
    of `sql`: None, or the exception it raised."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            blocked.execute(sql, [env_id])
            blocked.commit()
            outcome.append(None)
        except psycopg.Error as exc:
            blocked.rollback()
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    pid = blocked.info.backend_pid

    def waiting() -> bool:
        row = watcher.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
        return row is not None and row[0] == "Lock"

    wait_for(waiting, timeout=10, what="the statement to wait for the other session's lock")
    holder.commit()
    thread.join(timeout=10)
    return outcome[0]


INSERT_DISPATCHER = (
    "INSERT INTO endpoints_eventdispatcher (id, created_at, updated_at, event, source, manual, dispatchable_id, "
    "dispatchable, enabled, environment_id) VALUES ('disp_race', now(), now(), '[]', 's', false, 'j', '{}', true, %s)"
)
DELETE_ENVIRONMENT = "DELETE FROM endpoints_runtimeenvironment WHERE id = %s"


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_parent_deleted_while_its_child_is_uncommitted_stays(sessions):
    writer, deleter, watcher = sessions
    env_id = EndpointFactory().environment_id
    writer.execute(INSERT_DISPATCHER, [env_id])  # uncommitted; the environment row is locked
    outcome = _blocked_then_released(watcher, deleter, DELETE_ENVIRONMENT, env_id, holder=writer)
    assert isinstance(outcome, psycopg.errors.ForeignKeyViolation)
    assert RuntimeEnvironment.objects.filter(id=env_id).exists()
    assert EventDispatcher.objects.filter(id="disp_race", environment_id=env_id).exists()


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_child_inserted_while_its_parents_delete_is_uncommitted_is_refused(sessions):
    writer, deleter, watcher = sessions
    env_id = EndpointFactory().environment_id
    # The environment's own children first, as Django's delete does; then the environment.
    deleter.execute("DELETE FROM endpoints_endpoint WHERE environment_id = %s", [env_id])
    deleter.execute(DELETE_ENVIRONMENT, [env_id])  # uncommitted
    outcome = _blocked_then_released(watcher, writer, INSERT_DISPATCHER, env_id, holder=deleter)
    assert isinstance(outcome, psycopg.errors.ForeignKeyViolation)
    assert not EventDispatcher.objects.filter(id="disp_race").exists()
