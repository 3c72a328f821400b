"""The cheapest re-index: the endpoint answers the very bytes of the latest SUCCESS run's body. They
are not decoded or validated again, and the run's final UPDATE copies the previous document instead
of sending it; a body that differs in any byte (key order, whitespace) takes the normal path."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from endpoints.models import Endpoint, EndpointIndex, IndexStatus, JobVersion, RegistryEvent
from endpoints.services.registry import registry_changed
from tests import factories
from tests.support.indexing import index_deployed, index_now
from tests.support.misbehaving import MisbehavingEndpoint
from tests.test_index_unchanged import touched_registry


@pytest.fixture
def document(prod_sdk_environment):
    """The `evolving` SDK endpoint's validated document (variant 1: jobs a, b, c and cron)."""
    probe = factories.EndpointFactory(environment=prod_sdk_environment, slug="probe")
    index = index_deployed(probe, "1")
    assert index.status == IndexStatus.SUCCESS, index.error
    return index.data


@pytest.fixture
def served():
    """A loopback endpoint answering INDEX_ENDPOINT with `served.body` (bytes, set by the test)."""
    with MisbehavingEndpoint() as server:
        server.body = b""
        server.url = server.route("/api/trigger", lambda handler: handler._send(200, server.body))
        yield server


@pytest.fixture
def endpoint(prod_sdk_environment, served, settings):
    settings.ENDPOINTAPI_ALLOWED_NETWORKS = "127.0.0.0/8"
    return factories.EndpointFactory(environment=prod_sdk_environment, slug="evolving", url=served.url)


def run(endpoint, **kwargs):
    sent: list[tuple[str, object]] = []

    def capture(execute, sql, params, many, context):
        sent.append((sql, params))
        return execute(sql, params, many, context)

    with CaptureQueriesContext(connection) as queries, connection.execute_wrapper(capture):
        index = index_now(endpoint, **kwargs)
    assert index.status == IndexStatus.SUCCESS, index.error
    queries.sent = sent  # the statements with their parameters (server-bound ones are logged without)
    return index, queries


def shipped_document(queries: CaptureQueriesContext) -> bool:
    """Whether the run's final UPDATE carried the document (a job id of it) rather than copying it."""
    finals = [
        (sql, params)
        for sql, params in queries.sent
        if sql.startswith('UPDATE "endpoints_endpointindex"') and "'SUCCESS'" in sql
    ]
    assert len(finals) == 1
    sql, params = finals[0]
    return "job-cron" in sql + repr(params)


def indexed_event(index: EndpointIndex) -> dict:
    return RegistryEvent.objects.get(type="endpoint.indexed", data__index__id=index.id).data


def test_the_same_bytes_are_not_validated_or_sent_again(endpoint, served, document):
    served.body = json.dumps(document).encode()
    first, first_queries = run(endpoint)
    assert shipped_document(first_queries) and touched_registry(first_queries)
    assert first.body_hash == hashlib.sha256(served.body).hexdigest()

    again, queries = run(endpoint)

    assert not shipped_document(queries) and not touched_registry(queries)
    assert len(queries) <= len(first_queries) - 10
    # A complete SUCCESS all the same: the previous document, hashes, stats and an empty diff.
    assert again.data == first.data == document
    assert again.body_hash == first.body_hash and again.document_hash == first.document_hash
    assert again.stats == first.stats and again.stats["jobs"] == 4
    assert all(not (c["added"] or c["removed"] or c["changed"]) for c in again.diff.values())
    assert again.registry_generation == first.registry_generation
    assert indexed_event(again)["unchanged"] is True
    assert Endpoint.objects.get(id=endpoint.id).health == "HEALTHY"


def test_the_version_headers_are_still_stored(endpoint, served, document):
    served.body = json.dumps(document).encode()
    run(endpoint)
    endpoint.refresh_from_db()
    assert "2.3.19" not in (endpoint.version, endpoint.sdk_version)  # the server sends no version headers
    headers = {"trigger-version": "2023-09-29", "trigger-sdk-version": "2.3.19"}
    served.route("/api/trigger", lambda handler: handler._send(200, served.body, headers=headers))
    again, queries = run(endpoint)
    assert not shipped_document(queries) and again.stats["jobs"] == 4
    endpoint.refresh_from_db()
    assert (endpoint.version, endpoint.sdk_version) == ("2023-09-29", "2.3.19")


def test_the_same_document_in_other_bytes_takes_the_normal_path(endpoint, served, document):
    served.body = json.dumps(document).encode()
    first, _ = run(endpoint)
    served.body = json.dumps(document, sort_keys=True, indent=2).encode()  # key order and whitespace

    second, queries = run(endpoint)

    assert shipped_document(queries)  # decoded, validated and stored as received
    assert not touched_registry(queries)  # still the same document: the registry is not rewritten
    assert second.document_hash == first.document_hash and second.body_hash != first.body_hash
    assert second.body_hash == hashlib.sha256(served.body).hexdigest()
    assert second.data == document and indexed_event(second)["unchanged"] is True
    third, queries = run(endpoint)  # now these bytes are the known ones
    assert not shipped_document(queries) and third.body_hash == second.body_hash


def test_an_invalid_document_is_never_taken_for_the_known_one(endpoint, served, document):
    served.body = json.dumps(document).encode()
    run(endpoint)
    served.body = json.dumps({**document, "jobs": "nope"}).encode()
    index = index_now(endpoint)
    assert index.status == IndexStatus.FAILURE and index.error["code"] == "INVALID_DOCUMENT"


def test_a_forced_run_decodes_and_applies_the_same_bytes(endpoint, served, document):
    served.body = json.dumps(document).encode()
    first, _ = run(endpoint)
    forced, queries = run(endpoint, force=True)
    assert shipped_document(queries) and touched_registry(queries)
    assert forced.body_hash == first.body_hash and forced.stats == first.stats


def test_a_changed_registry_decodes_and_applies_the_same_bytes(endpoint, served, document):
    served.body = json.dumps(document).encode()
    run(endpoint)
    with transaction.atomic():  # e.g. an operator disabling a version
        JobVersion.objects.filter(job__slug="job-a", endpoint=endpoint).update(status="DISABLED")
        registry_changed(organization_id=endpoint.organization_id)
    again, queries = run(endpoint)
    assert shipped_document(queries) and touched_registry(queries)
    assert JobVersion.objects.get(job__slug="job-a", endpoint=endpoint).status == "ACTIVE"
    assert indexed_event(again)["unchanged"] is False


@pytest.mark.django_db(transaction=True)
def test_a_registry_change_during_the_fetch_applies_the_previous_document(document, prod_sdk_environment):
    """The body matched, but the registry changed between the check and the run's transaction: the
    same bytes' document (the previous run's) is applied, without decoding anything."""
    endpoint = None

    def change_the_registry_then_answer(handler):
        # Another connection (the server thread's), committed while the run waits for its answer.
        JobVersion.objects.filter(job__slug="job-a", endpoint=endpoint).update(status="DISABLED")
        registry_changed(organization_id=endpoint.organization_id)
        connection.close()
        handler._send(200, body)

    body = json.dumps(document).encode()
    with MisbehavingEndpoint() as server:
        url = server.route("/api/trigger", lambda handler: handler._send(200, body))
        with override_settings(ENDPOINTAPI_ALLOWED_NETWORKS="127.0.0.0/8"):
            endpoint = factories.EndpointFactory(environment=prod_sdk_environment, slug="evolving", url=url)
            first, _ = run(endpoint)
            server.route("/api/trigger", change_the_registry_then_answer)
            again, queries = run(endpoint)
    assert touched_registry(queries) and shipped_document(queries)
    assert JobVersion.objects.get(job__slug="job-a", endpoint=endpoint).status == "ACTIVE"
    assert again.data == first.data and again.body_hash == first.body_hash
    assert indexed_event(again)["unchanged"] is False
