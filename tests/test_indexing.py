"""The index run service against real SDK endpoints and misbehaving ones (no worker: run directly)."""

import json
import time

import pytest
from django.utils import timezone

from endpoints.models import Endpoint, EndpointIndex, IndexSource, IndexStatus, Job, JobVersion
from endpoints.services.indexing import endpoint_index_request, endpoint_index_run
from tests import factories
from tests.support.misbehaving import VALID_DOCUMENT, MisbehavingEndpoint

BASIC_STATS = {
    "jobs": 2,
    "sources": 0,
    "webhooks": 0,
    "dynamicTriggers": 0,
    "dynamicSchedules": 0,
    "disabledJobs": 0,
    "httpEndpoints": 0,
}


def request_and_run(endpoint, **kwargs):
    """Request and run an index; `retry` is the seconds until its next attempt (None: no retry)."""
    index = endpoint_index_request(endpoint=endpoint, source=kwargs.pop("source", IndexSource.INTERNAL), **kwargs)
    assert endpoint_index_run(index_id=index.id) is None
    index.refresh_from_db()
    retry = (index.run_at - timezone.now()).total_seconds() if index.status == IndexStatus.PENDING else None
    return index, retry


@pytest.fixture
def basic_endpoint(dev_environment, sdk_basic):
    return factories.EndpointFactory(environment=dev_environment, slug="my-endpoint", url=sdk_basic.url)


def test_indexing_the_basic_sdk_endpoint_succeeds_with_v2_stats(basic_endpoint):
    index, retry = request_and_run(basic_endpoint)
    assert retry is None
    assert index.status == IndexStatus.SUCCESS, index.error
    assert index.stats == BASIC_STATS
    assert [job["id"] for job in index.data["jobs"]] == ["send-welcome-email", "daily-report", "disabled-cleanup"]
    assert index.attempts == 1 and index.started_at and index.finished_at
    assert index.document_hash and index.diff["jobs"]["added"] == [
        "daily-report",
        "disabled-cleanup",
        "send-welcome-email",
    ]
    basic_endpoint.refresh_from_db()
    assert (basic_endpoint.version, basic_endpoint.sdk_version) == ("2023-09-29", "2.3.19")
    assert set(Job.objects.values_list("slug", flat=True)) == {"send-welcome-email", "daily-report"}


def test_an_identical_second_index_records_an_empty_diff(basic_endpoint):
    request_and_run(basic_endpoint)
    second, _ = request_and_run(basic_endpoint)
    assert second.status == IndexStatus.SUCCESS
    assert all(not part[kind] for part in second.diff.values() for kind in ("added", "removed", "changed"))
    assert JobVersion.objects.count() == 2


def test_a_duplicate_delivery_does_nothing(basic_endpoint, django_assert_max_num_queries):
    index, _ = request_and_run(basic_endpoint)
    updated_at = index.updated_at
    # The optimistic claim (an UPDATE matching nothing; in a savepoint under the test's transaction)
    # and the read that tells why. Nothing is written.
    with django_assert_max_num_queries(4):
        assert endpoint_index_run(index_id=index.id) is None
    index.refresh_from_db()
    assert index.updated_at == updated_at and index.attempts == 1


def test_wrong_key_on_the_endpoint_is_unauthorized_and_not_retried(sdk_basic, db):
    endpoint = factories.EndpointFactory(
        environment=factories.RuntimeEnvironmentFactory(api_key="tr_dev_notTheFixtureKey"), url=sdk_basic.url
    )
    index, retry = request_and_run(endpoint)
    assert retry is None
    assert index.status == IndexStatus.FAILURE
    assert index.error["code"] == "UNAUTHORIZED"
    assert index.error["message"].startswith("Forbidden: client apiKey mismatch")
    assert index.error["hint"]


def test_deleted_endpoint_fails_without_calling_anything(endpoint):
    Endpoint.objects.filter(id=endpoint.id).update(url=None)
    endpoint.refresh_from_db()
    index, _ = request_and_run(endpoint)
    assert index.status == IndexStatus.FAILURE
    assert index.error["code"] == "ENDPOINT_DELETED"
    assert index.error["message"] == "Endpoint URL is not set"


def test_unreachable_endpoint_in_production_goes_back_to_pending_with_a_backoff(prod_environment):
    endpoint = factories.EndpointFactory(environment=prod_environment, url="http://127.0.0.1:9/api/trigger")
    index, retry = request_and_run(endpoint)
    assert 3 <= retry <= 7
    assert index.status == IndexStatus.PENDING
    assert index.error["code"] == "CONNECTION_FAILED"
    assert index.run_at > timezone.now()
    assert index.attempts == 1 and index.max_attempts == 7


def test_unreachable_endpoint_in_development_fails_at_once(environment):
    endpoint = factories.EndpointFactory(environment=environment, url="http://127.0.0.1:9/api/trigger")
    index, retry = request_and_run(endpoint)
    assert retry is None
    assert index.status == IndexStatus.FAILURE
    assert index.error["code"] == "CONNECTION_FAILED"
    assert index.error["message"] == "Could not connect to endpoint http://127.0.0.1:9/api/trigger"


def test_last_attempt_ends_in_failure(prod_environment):
    endpoint = factories.EndpointFactory(environment=prod_environment, url="http://127.0.0.1:9/api/trigger")
    index = factories.EndpointIndexFactory(endpoint=endpoint, attempts=6, max_attempts=7)
    assert endpoint_index_run(index_id=index.id) is None
    index.refresh_from_db()
    assert index.status == IndexStatus.FAILURE and index.attempts == 7


def test_a_request_joins_a_run_waiting_to_retry(prod_environment):
    endpoint = factories.EndpointFactory(environment=prod_environment, url="http://127.0.0.1:9/api/trigger")
    first = endpoint_index_request(endpoint=endpoint, source=IndexSource.INTERNAL)
    endpoint_index_run(index_id=first.id)
    assert EndpointIndex.objects.get(id=first.id).status == IndexStatus.PENDING  # with a backoff
    second = endpoint_index_request(endpoint=endpoint, source=IndexSource.API)
    assert second.id == first.id
    assert [entry["source"] for entry in EndpointIndex.objects.get(id=first.id).coalesced] == ["INTERNAL", "API"]


@pytest.mark.django_db(transaction=True)
def test_a_failing_run_gives_way_to_a_newer_pending_request(broken):
    from django.db import connection

    environment = factories.RuntimeEnvironmentFactory(env_type="PRODUCTION")
    newer = []

    def deploy_hook_arrives_then_fail(handler):
        # while the run is STARTED a newer request comes in; then the endpoint answers 503
        newer.append(endpoint_index_request(endpoint=endpoint, source=IndexSource.HOOK))
        connection.close()
        handler.json(503, {"message": "busy"})

    endpoint = _endpoint_at(broken.route("/busy", deploy_hook_arrives_then_fail), environment=environment)
    running, retry = request_and_run(endpoint)
    assert retry is None  # no retry of its own: the newer run will index the endpoint
    assert running.status == IndexStatus.FAILURE and running.error["code"] == "HTTP_ERROR"
    assert EndpointIndex.objects.get(id=newer[0].id).status == IndexStatus.PENDING


@pytest.fixture
def broken():
    with MisbehavingEndpoint() as server:
        yield server


def _endpoint_at(url, environment=None):
    return factories.EndpointFactory(url=url, environment=environment or factories.RuntimeEnvironmentFactory())


@pytest.mark.parametrize(
    ("path", "responder", "code", "message"),
    [
        (
            "/html",
            lambda h: h._send(200, b"<html>hi</html>", "text/html"),
            "INVALID_JSON",
            "Could not parse response from endpoint. Make sure it points to the correct URL "
            "(you might be missing /api/trigger)",
        ),
        ("/truncated", lambda h: h._send(200, b'{"jobs": [', None), "INVALID_JSON", None),
        ("/too-deep", lambda h: h._send(200, b"[" * 100_000 + b"]" * 100_000), "INVALID_JSON", None),
        ("/teapot", lambda h: h.json(418, {"message": "no"}), "HTTP_ERROR", "Status code: 418"),
        ("/unauthorized", lambda h: h._send(401, b"nope", "text/plain"), "UNAUTHORIZED", "Trigger API key is invalid"),
        ("/nolocation", lambda h: h._send(302, b""), "REDIRECT_WITHOUT_LOCATION", "no location header is present"),
        (
            "/loop",
            lambda h: h._send(307, b"", headers={"Location": "/loop"}),
            "REDIRECT_LOOP",
            "is redirecting too many times",
        ),
        (
            "/short-interval",
            lambda h: h.json(
                200,
                {
                    **VALID_DOCUMENT,
                    "jobs": [
                        {
                            "id": "tick",
                            "name": "Tick",
                            "version": "1.0.0",
                            "event": {
                                "name": "trigger.scheduled",
                                "title": "Schedule",
                                "source": "trigger.dev",
                                "icon": "schedule-interval",
                            },
                            "trigger": {
                                "type": "scheduled",
                                "schedule": {"type": "interval", "options": {"seconds": 5}},
                            },
                            "integrations": {},
                            "enabled": True,
                            "startPosition": "latest",
                            "preprocessRuns": False,
                        }
                    ],
                },
            ),
            "INVALID_DOCUMENT",
            'Job "tick": ',
        ),
        ("/not-a-document", lambda h: h.json(200, {"hello": "world"}), "INVALID_DOCUMENT", None),
    ],
)
def test_misbehaving_endpoints_fail_with_a_documented_code(broken, db, path, responder, code, message):
    endpoint = _endpoint_at(broken.route(path, responder))
    index, retry = request_and_run(endpoint)
    assert retry is None
    assert index.status == IndexStatus.FAILURE
    assert index.error["code"] == code
    assert index.error["hint"]
    if message:
        assert message in index.error["message"]


def test_invalid_document_keeps_the_raw_issues(broken, db):
    endpoint = _endpoint_at(broken.route("/bad", lambda h: h.json(200, {**VALID_DOCUMENT, "jobs": [{"id": "x"}]})))
    index, _ = request_and_run(endpoint)
    assert index.error["code"] == "INVALID_DOCUMENT"
    assert index.error["message"].startswith("Your Jobs have issues:")
    assert json.loads(index.error["raw"])
    assert not Job.objects.exists()


def test_same_origin_redirects_are_followed_and_the_new_url_stored_with_the_success(broken, db):
    target = broken.route("/final", lambda h: h.json(200, VALID_DOCUMENT))
    endpoint = _endpoint_at(broken.route("/moved", lambda h: h._send(308, b"", headers={"Location": "/final"})))
    index, _ = request_and_run(endpoint)
    assert index.status == IndexStatus.SUCCESS, index.error
    endpoint.refresh_from_db()
    assert endpoint.url == target


def test_a_redirect_whose_index_fails_leaves_the_stored_url_alone(broken, db):
    broken.route("/final", lambda h: h._send(200, b"<html>moved</html>", "text/html"))
    url = broken.route("/moved", lambda h: h._send(308, b"", headers={"Location": "/final"}))
    endpoint = _endpoint_at(url)
    index, _ = request_and_run(endpoint)
    assert (index.status, index.error["code"]) == (IndexStatus.FAILURE, "INVALID_JSON")
    endpoint.refresh_from_db()
    assert endpoint.url == url


def test_five_redirects_are_followed_the_sixth_is_a_loop(broken, db):
    broken.route("/final", lambda h: h.json(200, VALID_DOCUMENT))
    for hop in range(5):
        nxt = f"/hop{hop + 1}" if hop < 4 else "/final"
        broken.route(f"/hop{hop}", lambda h, nxt=nxt: h._send(302, b"", headers={"Location": nxt}))
    endpoint = _endpoint_at(broken.base + "/hop0")
    index, _ = request_and_run(endpoint)
    assert index.status == IndexStatus.SUCCESS, index.error
    assert len([p for p, _ in broken.requests if p.startswith("/hop")]) == 5


def test_an_endpoint_slower_than_the_read_timeout_is_a_retryable_timeout(broken, prod_environment, settings):
    settings.ENDPOINTAPI_INDEX_READ_TIMEOUT = 0.3
    settings.ENDPOINTAPI_RETRIES = 0

    def stall(handler):
        time.sleep(1)  # longer than the read timeout: the endpoint under test is slow
        handler.json(200, VALID_DOCUMENT)

    endpoint = _endpoint_at(broken.route("/slow", stall), environment=prod_environment)
    index, retry = request_and_run(endpoint)
    assert retry is not None
    assert index.status == IndexStatus.PENDING
    assert index.error["code"] == "TIMEOUT"
    assert index.error["message"].startswith(f"Could not connect to endpoint {endpoint.url}")


def test_a_document_over_the_size_cap_fails(broken, db, settings):
    settings.ENDPOINTAPI_MAX_RESPONSE_BYTES = 10_000
    big = {**VALID_DOCUMENT, "padding": "x" * 20_000}
    endpoint = _endpoint_at(broken.route("/big", lambda h: h.json(200, big)))
    index, retry = request_and_run(endpoint)
    assert retry is None
    assert index.status == IndexStatus.FAILURE
    assert index.error["code"] == "RESPONSE_TOO_LARGE"


def test_a_server_error_is_retried_outside_development(broken, prod_environment):
    endpoint = _endpoint_at(broken.route("/down", lambda h: h.json(503, {"message": "down"})), prod_environment)
    index, retry = request_and_run(endpoint)
    assert retry is not None and index.status == IndexStatus.PENDING
    assert index.error["code"] == "HTTP_ERROR"
    assert index.error["message"].endswith("Status code: 503")


def test_a_document_with_nul_characters_fails_cleanly(broken, db):
    job = {
        "id": "nul",
        "name": "bad\u0000name",
        "version": "1.0.0",
        "event": {
            "name": "e",
            "title": "E",
            "source": "s",
            "icon": "i",
            "examples": [{"id": "x", "name": "X", "payload": {"text": "a\u0000b"}}],
        },
        "trigger": {"type": "static", "title": "e", "rule": {"event": "e", "source": "s"}},
        "integrations": {},
        "enabled": True,
        "startPosition": "latest",
        "preprocessRuns": False,
    }
    endpoint = _endpoint_at(broken.route("/nul", lambda h: h.json(200, {**VALID_DOCUMENT, "jobs": [job]})))
    index, retry = request_and_run(endpoint)
    assert retry is None
    assert index.status == IndexStatus.FAILURE, index.stats
    assert index.error["code"] == "INVALID_DOCUMENT"
    assert not Job.objects.exists()
    # The raw-bytes pre-check must not miss a NUL in a body the JSON decoder reads as UTF-16.
    utf16 = json.dumps({**VALID_DOCUMENT, "jobs": [job]}).encode("utf-16-le")
    endpoint = _endpoint_at(broken.route("/nul16", lambda h: h._send(200, utf16)))
    index, retry = request_and_run(endpoint)
    assert index.status == IndexStatus.FAILURE and index.error["code"] == "INVALID_DOCUMENT", index.error
    assert not Job.objects.exists()


def test_a_document_with_an_unpaired_surrogate_fails_cleanly(broken, db):
    """JSON can carry half of a UTF-16 pair (JSON.stringify escapes a lone surrogate; the decoder
    also reads its UTF-8-style bytes): PostgreSQL cannot store it, so the document is invalid."""
    job = {
        "id": "half",
        "name": "NAME",
        "version": "1.0.0",
        "event": {"name": "e", "title": "E", "source": "s", "icon": "i"},
        "trigger": {"type": "static", "title": "e", "rule": {"event": "e", "source": "s"}},
        "integrations": {},
        "enabled": True,
        "startPosition": "latest",
        "preprocessRuns": False,
    }
    body = json.dumps({**VALID_DOCUMENT, "jobs": [job]}, ensure_ascii=False).encode()
    for n, name in enumerate((b"bad\\ud800name", b"bad\xed\xa0\x80name")):
        route = broken.route(f"/half{n}", lambda h, name=name: h._send(200, body.replace(b"NAME", name)))
        index, retry = request_and_run(_endpoint_at(route))
        assert retry is None
        assert index.status == IndexStatus.FAILURE and index.error["code"] == "INVALID_DOCUMENT", index.error
        assert "unpaired surrogates" in index.error["message"] and '"half"' in index.error["message"]
        assert not Job.objects.exists()
    # A whole pair, escaped, and Hangul (whose UTF-8 shares the surrogates' lead byte) are ordinary text.
    for n, name in enumerate((b"\\ud83d\\ude00", "\ud55c".encode())):
        route = broken.route(f"/whole{n}", lambda h, name=name: h._send(200, body.replace(b"NAME", name)))
        index, _ = request_and_run(_endpoint_at(route))
        assert index.status == IndexStatus.SUCCESS, index.error
    assert "\ud55c" in set(Job.objects.filter(slug="half").values_list("title", flat=True))


def test_requests_during_a_running_index_queue_exactly_one_more(basic_endpoint):
    running = endpoint_index_request(endpoint=basic_endpoint, source=IndexSource.INTERNAL)
    EndpointIndex.objects.filter(id=running.id).update(status=IndexStatus.STARTED, attempts=1)
    joined = {endpoint_index_request(endpoint=basic_endpoint, source=IndexSource.HOOK).id for _ in range(20)}
    assert len(joined) == 1
    waiting = EndpointIndex.objects.get(id=joined.pop())
    assert waiting.status == IndexStatus.PENDING and waiting.requests == 20
    # the waiting run cannot start while the other one is STARTED ...
    assert endpoint_index_run(index_id=waiting.id) is None
    waiting.refresh_from_db()
    assert waiting.status == IndexStatus.PENDING and waiting.attempts == 0
    # ... and runs once it has finished
    EndpointIndex.objects.filter(id=running.id).update(status=IndexStatus.SUCCESS)
    assert endpoint_index_run(index_id=waiting.id) is None
    waiting.refresh_from_db()
    assert waiting.status == IndexStatus.SUCCESS
