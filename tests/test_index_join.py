"""Joining the PENDING run is one statement; its relaxed commit never leaks into other transactions."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from endpoints.models import EndpointIndex, IndexSource
from endpoints.services.indexing import endpoint_index_request
from tests import factories


def synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return str(cursor.fetchone()[0])


@pytest.mark.django_db(transaction=True)
def test_joins_count_every_request_and_leave_the_session_as_it_was(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    endpoint = factories.EndpointFactory()
    first = endpoint_index_request(endpoint=endpoint, source=IndexSource.HOOK, reason="a", delay=60)
    assert synchronous_commit() == "on"
    joined = [endpoint_index_request(endpoint=endpoint, source=IndexSource.HOOK, reason=str(i)) for i in range(3)]
    assert {index.id for index in joined} == {first.id}
    assert [index.requests for index in joined] == [2, 3, 4]
    assert synchronous_commit() == "on"  # the join's SET LOCAL ended with its own transaction
    with transaction.atomic():
        forced = endpoint_index_request(endpoint=endpoint, source=IndexSource.MANUAL, force=True)
        assert synchronous_commit() == "on"  # inside a caller's transaction: never relaxed
    stored = EndpointIndex.objects.get(id=first.id)
    assert forced.id == first.id and stored.requests == 5 and stored.force
    assert [entry["reason"] for entry in stored.coalesced] == ["a", "0", "1", "2", None]
