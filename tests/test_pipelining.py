"""Statements sent ahead (`endpoints.pipelining`): not waited for, but waited for before any other
statement, with their errors raised as Django's and the transaction left usable."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from django.db import IntegrityError, connection, transaction
from psycopg import pq

from endpoints.pipelining import send_ahead, sending_ahead
from tests.support.waiting import wait_for

pytestmark = pytest.mark.django_db
LOCK = 734_001


@pytest.fixture
def table() -> str:
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE ahead (id int PRIMARY KEY, n int NOT NULL DEFAULT 0)")
    return "ahead"


@pytest.fixture
def other() -> Iterator[psycopg.Connection]:
    """A second session on the test database."""
    settings = connection.settings_dict
    with psycopg.connect(
        dbname=settings["NAME"],
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        user=settings["USER"] or None,
        autocommit=True,
    ) as conn:
        yield conn


def in_pipeline() -> bool:
    return connection.connection.pgconn.pipeline_status != pq.PipelineStatus.OFF


def test_a_statement_sent_ahead_runs_while_this_process_goes_on(table, other):
    other.execute("SELECT pg_advisory_lock(%s)", [LOCK])
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    with transaction.atomic(), sending_ahead():
        # It cannot finish while the other session holds the lock; send_ahead returns all the same.
        send_ahead("INSERT INTO ahead (id) SELECT 1 FROM pg_advisory_xact_lock(%s)", [LOCK])
        assert in_pipeline()
        wait_for(
            lambda: (
                other.execute(
                    "SELECT 1 FROM pg_locks WHERE pid = %s AND locktype = 'advisory' AND NOT granted", [backend]
                ).fetchone()
                is not None
            ),
            timeout=10,
            what="the statement sent ahead to wait for the lock",
        )
        other.execute("SELECT pg_advisory_unlock(%s)", [LOCK])
        # Any other statement waits for it first, and sees its row.
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM ahead")
            assert cursor.fetchall() == [(1,)]
        assert not in_pipeline()


def test_a_row_count_after_statements_sent_ahead_is_the_real_one(table):
    with transaction.atomic(), sending_ahead():
        send_ahead("INSERT INTO ahead (id) SELECT generate_series(1, %s)", [5])
        send_ahead("INSERT INTO ahead (id) VALUES (%s)", [6])
        with connection.cursor() as cursor:
            cursor.execute("UPDATE ahead SET n = n + 1")
            assert cursor.rowcount == 6


def test_an_error_of_a_statement_sent_ahead_is_raised_by_the_next_statement_as_django_s(table):
    with pytest.raises(IntegrityError) as raised, transaction.atomic(), sending_ahead():
        send_ahead("INSERT INTO ahead (id) VALUES (1), (1)", [])
        assert in_pipeline()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    assert isinstance(raised.value.__cause__, psycopg.errors.UniqueViolation)
    assert not in_pipeline()
    with connection.cursor() as cursor:  # the transaction is usable again after the rollback
        cursor.execute("SELECT count(*) FROM ahead")
        assert cursor.fetchone() == (0,)


def test_an_error_of_the_last_statement_sent_ahead_is_raised_when_the_block_ends(table):
    with pytest.raises(IntegrityError), transaction.atomic(), sending_ahead():
        send_ahead("INSERT INTO ahead (id) VALUES (1)", [])
        send_ahead("INSERT INTO ahead (id) VALUES (1)", [])
    assert not in_pipeline()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM ahead")
        assert cursor.fetchone() == (0,)


def test_an_exception_of_the_block_wins_over_a_pending_error_and_the_block_still_ends(table):
    with pytest.raises(KeyError), transaction.atomic(), sending_ahead():
        send_ahead("INSERT INTO ahead (id) VALUES (1), (1)", [])
        raise KeyError("the caller's own")
    assert not in_pipeline()


def test_outside_the_block_a_statement_is_waited_for(table):
    with pytest.raises(IntegrityError), transaction.atomic():
        send_ahead("INSERT INTO ahead (id) VALUES (1), (1)", [])
        assert not in_pipeline()


def test_a_nested_block_leaves_the_outer_one_in_charge(table):
    with transaction.atomic(), sending_ahead():
        with sending_ahead():
            send_ahead("INSERT INTO ahead (id) VALUES (1)", [])
        assert in_pipeline()  # the inner block did not end the pipeline
        send_ahead("INSERT INTO ahead (id) VALUES (2)", [])
    assert not in_pipeline()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM ahead")
        assert cursor.fetchone() == (2,)


def test_with_pipelining_switched_off_every_statement_is_waited_for(table, settings):
    settings.DATABASE_PIPELINE = False
    with pytest.raises(IntegrityError), transaction.atomic(), sending_ahead():
        send_ahead("INSERT INTO ahead (id) VALUES (1), (1)", [])
        assert not in_pipeline()  # not reached: the INSERT failed in send_ahead itself
