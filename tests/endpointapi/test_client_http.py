"""Client behaviour on the wire: faked with `responses`, or with raw loopback sockets where
`responses` cannot fake it (refused/stalled/slow-drip/huge bodies, TLS, timeouts)."""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import time
from urllib.parse import urljoin

import pytest
import requests
import responses
from responses import matchers

from endpointapi import (
    ActionNotSupported,
    ClientConfig,
    EndpointApiClient,
    EndpointApiError,
    EndpointConnectionError,
    EndpointHTTPError,
    EndpointRedirect,
    EndpointTimeout,
    EndpointUnauthorized,
    InvalidEndpointResponse,
    InvalidIndexDocument,
    InvalidJSON,
    Pong,
    RequestRecord,
    ResponseTooLarge,
    transport,
)
from tests.endpointapi.conftest import RawServer, read_request
from tests.endpointapi.documents import document, interval_job, job, sdk20_document
from tests.support.outbound import LOOPBACK_POLICY, PUBLIC_NAMES_POLICY, loopback_only

URL = "https://app.example.com/api/trigger"
KEY = "tr_prod_s3cr3tK3yNeverLogged"
INVALID_JSON = (
    "Could not parse response from endpoint. Make sure it points to the correct URL (you might be missing /api/trigger)"
)
FAST = ClientConfig(
    address_policy=LOOPBACK_POLICY,
    connect_timeout=1.0, read_timeout=0.5, index_read_timeout=0.5, retries=0, retry_backoff=0)


@pytest.fixture(autouse=True)
def _fenced():
    """Names stand for public endpoints here (PUBLIC_NAMES_POLICY): nothing may leave loopback."""
    with loopback_only():
        yield


def client(url: str = URL, **config) -> EndpointApiClient:
    options = {
        "address_policy": PUBLIC_NAMES_POLICY,
        "connect_timeout": 1.0,
        "read_timeout": 2.0,
        "index_read_timeout": 2.0,
        "retry_backoff": 0,
    }
    options.update(config)
    return EndpointApiClient(url=url, api_key=KEY, config=ClientConfig(**options))


def action_is(action: str):
    return matchers.header_matcher({"x-trigger-action": action})


def http_response(status: str = "200 OK", headers: dict[str, str] | None = None, body: bytes = b"") -> bytes:
    lines = [f"HTTP/1.1 {status}"] + [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


# -- request shape ----------------------------------------------------------------------------------


@responses.activate
def test_ping_sends_exactly_the_v2_headers_and_no_body():
    responses.post(URL, json={"ok": True}, headers={"Trigger-Version": "2023-09-29", "trigger-sdk-version": "2.3.19"})
    pong = client().ping("my-endpoint")
    assert pong == Pong(ok=True, error=None, trigger_version="2023-09-29", trigger_sdk_version="2.3.19")
    request = responses.calls[0].request
    assert request.method == "POST"
    assert {
        k.lower(): v
        for k, v in request.headers.items()
        if k.lower().startswith(("x-", "user-agent", "accept", "content-type"))
    } == {
        "x-trigger-api-key": KEY,
        "x-trigger-action": "PING",
        "x-trigger-version": "2023-09-29",
        "x-trigger-endpoint-id": "my-endpoint",
        "user-agent": "triggerdotdev-server/2.0.0",
        "accept": "application/json",
        "accept-encoding": "gzip, deflate",
    }
    assert not request.body


@responses.activate
def test_endpoint_id_header_only_on_ping_and_json_bodies_carry_content_type():
    responses.post(URL, json={"ok": True, "endpointId": "x"}, match=[action_is("VALIDATE")])
    responses.post(URL, json={"status": "SUCCESS"}, match=[action_is("EXECUTE_JOB")])
    c = client()
    c.validate()
    c.execute_job({"job": {"id": "j", "version": "1"}, "ünï": "ok"})
    validate, execute = (call.request for call in responses.calls)
    assert "x-trigger-endpoint-id" not in validate.headers
    assert "content-type" not in validate.headers
    assert execute.headers["content-type"] == "application/json"
    assert json.loads(execute.body) == {"job": {"id": "j", "version": "1"}, "ünï": "ok"}


@responses.activate
def test_raw_body_actions_send_octet_stream_and_json_encoded_x_ts_headers():
    answer = {
        "events": [{"name": "push", "payload": {"a": 1}}],
        "response": {"status": 202, "body": "ok"},
        "metadata": None,
    }
    responses.post(URL, json=answer, match=[action_is("DELIVER_HTTP_SOURCE_REQUEST")])
    result = client().deliver_http_source_request(
        key="gh.repo",
        secret="whsec",
        params={"repo": "web"},
        data=None,
        url="https://hooks.example/x?y=1",
        method="POST",
        headers={"content-type": "application/json", "x-sig": "é"},
        body=b"\x00raw\xff",
        dynamic_id="dyn-1",
        auth={"type": "apiKey", "accessToken": "t"},
        metadata={"cursor": 3},
    )
    assert result.events == [{"name": "push", "payload": {"a": 1}}]
    assert result.response.status == 202 and result.response.body == "ok" and result.response.headers is None
    request = responses.calls[0].request
    assert request.body == b"\x00raw\xff"
    headers = request.headers
    assert headers["content-type"] == "application/octet-stream"
    assert headers["x-ts-key"] == "gh.repo"
    assert headers["x-ts-secret"] == "whsec"
    assert json.loads(headers["x-ts-params"]) == {"repo": "web"}
    assert json.loads(headers["x-ts-data"]) == {}  # `data ?? {}`
    assert headers["x-ts-http-url"] == "https://hooks.example/x?y=1"
    assert headers["x-ts-http-method"] == "POST"
    assert json.loads(headers["x-ts-http-headers"]) == {"content-type": "application/json", "x-sig": "é"}
    assert headers["x-ts-dynamic-id"] == "dyn-1"
    assert json.loads(headers["x-ts-auth"]) == {"type": "apiKey", "accessToken": "t"}
    assert json.loads(headers["x-ts-metadata"]) == {"cursor": 3}


@responses.activate
def test_optional_x_ts_headers_are_omitted():
    responses.post(URL, json={"response": {"status": 200, "body": {"ok": True}}, "verified": False, "error": "bad"})
    result = client().deliver_webhook_request(
        key="k", secret="s", params=None, url="https://h/x", method="GET", headers={}, body=b""
    )
    assert (result.verified, result.error) == (False, "bad")
    headers = responses.calls[0].request.headers
    assert "x-ts-dynamic-id" not in headers and "x-ts-data" not in headers
    assert headers["x-ts-params"] == "{}"


# -- answers ----------------------------------------------------------------------------------------


@responses.activate
def test_json_is_parsed_whatever_the_content_type():
    body = json.dumps(document()).encode()
    responses.post(URL, body=body, content_type=None)  # Next.js App Router sends no Content-Type
    responses.post(URL, body=body, content_type="text/html")
    assert len(client().index_endpoint().document.jobs) == 1
    assert len(client().index_endpoint().document.jobs) == 1
    assert "Content-Type" not in responses.calls[0].response.headers


@responses.activate
def test_versions_absent_on_old_sdks():
    responses.post(URL, json={"ok": True})
    assert client().ping("x") == Pong(ok=True)


@responses.activate
def test_ping_not_ok_is_returned_not_raised():
    responses.post(URL, json={"ok": False, "error": "Missing endpoint ID"})
    assert client().ping("") == Pong(ok=False, error="Missing endpoint ID")


@responses.activate
def test_ping_schema_failure_has_the_v2_wording():
    responses.post(URL, json={"ok": False})
    with pytest.raises(InvalidEndpointResponse) as excinfo:
        client().ping("x")
    error = excinfo.value
    assert type(error) is InvalidEndpointResponse and error.code == "INVALID_RESPONSE"
    assert error.message == f"Endpoint {URL} responded with error: " + json.dumps(
        [
            {
                "code": "invalid_type",
                "expected": "string",
                "received": "undefined",
                "path": ["error"],
                "message": "Required",
            }
        ],
        indent=2,
    )
    assert [(issue.path, issue.message) for issue in error.issues] == [(("error",), "Required")]


@responses.activate
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {
                "message": "Forbidden: client apiKey mismatch: Make sure you are using the correct API Key for your "
                "environment",
                "stack": "Error: ...",
            },
            "Forbidden: client apiKey mismatch: Make sure you are using the correct API Key for your environment",
        ),
        ({"error": "nope"}, "Trigger API key is invalid"),
        ("<html>401</html>", "Trigger API key is invalid"),
    ],
)
def test_401_message_comes_from_the_body_when_it_has_one(body, expected):
    if isinstance(body, dict):
        responses.post(URL, json=body, status=401)
    else:
        responses.post(URL, body=body, status=401)
    with pytest.raises(EndpointUnauthorized) as excinfo:
        client().validate()
    assert excinfo.value.message == expected
    assert (excinfo.value.code, excinfo.value.retryable, excinfo.value.status_code) == ("UNAUTHORIZED", False, 401)
    assert len(responses.calls) == 1


@responses.activate
@pytest.mark.parametrize(
    ("status", "retryable"),
    [(500, True), (502, True), (503, True), (408, True), (429, True), (404, False), (400, False), (410, False)],
)
def test_http_errors_are_typed_and_never_retried_in_the_client(status, retryable):
    responses.post(URL, json={"message": "Job not found"}, status=status)
    with pytest.raises(EndpointHTTPError) as excinfo:
        client(retries=3).index_endpoint()
    error = excinfo.value
    assert error.message == f"Could not connect to endpoint {URL}. Status code: {status}"
    assert (error.code, error.retryable, error.status_code) == ("HTTP_ERROR", retryable, status)
    assert error.body_message == "Job not found"
    assert len(responses.calls) == 1


@responses.activate
def test_405_from_the_sdk_is_action_not_supported_other_405s_are_http_errors():
    responses.post(URL, json={"message": "Method not allowed"}, status=405, match=[action_is("DELIVER_EVENT")])
    responses.post(URL, body="", status=405, match=[action_is("PING")])
    with pytest.raises(ActionNotSupported) as excinfo:
        client().deliver_event({"name": "x"})
    assert excinfo.value.code == "ACTION_NOT_SUPPORTED" and not excinfo.value.retryable
    assert "does not support DELIVER_EVENT" in excinfo.value.message
    with pytest.raises(EndpointHTTPError) as http_error:
        client().ping("x")
    assert http_error.value.message == f"Could not connect to endpoint {URL}. Status code: 405"


@responses.activate
@pytest.mark.parametrize("body", [b'{"jobs": [', b"<!DOCTYPE html><html>Welcome to my blog</html>", b"", b"NaN"])
def test_non_json_200_is_invalid_json(body):
    responses.post(URL, body=body, content_type="text/html")
    with pytest.raises(InvalidJSON) as excinfo:
        client().index_endpoint()
    error = excinfo.value
    assert error.message == INVALID_JSON
    assert (error.code, error.retryable, error.status_code) == ("INVALID_JSON", False, 200)
    assert isinstance(error, InvalidEndpointResponse)
    assert error.raw == (body.decode() or None)


@responses.activate
def test_invalid_index_document_and_sdk20_document():
    responses.post(URL, json=document(jobs=[job(), interval_job(10)]))
    responses.post(URL, json=sdk20_document(), headers={})
    with pytest.raises(InvalidIndexDocument) as excinfo:
        client().index_endpoint()
    assert excinfo.value.message == (
        "Your Jobs have issues:\n"
        '- Job "every-tick": Number must be greater than or equal to 20 at "trigger.schedule.options.seconds".'
    )
    assert json.loads(excinfo.value.raw)[0]["path"] == ["jobs", 1, "trigger", "schedule", "options", "seconds"]
    result = client().index_endpoint()
    assert result.trigger_version is None and result.trigger_sdk_version is None
    assert result.data["sources"][0]["version"] == "1"
    assert result.data["webhooks"] == [] and result.data["httpEndpoints"] == []


@responses.activate
def test_execute_job_result_and_run_metadata():
    responses.post(
        URL,
        json={"status": "YIELD_EXECUTION", "key": "k", "extra": [1]},
        headers={"x-trigger-run-metadata": '{"successSubscription":true,"junk":1}'},
    )
    responses.post(URL, json={"status": "NOPE"})
    result = client().execute_job({})
    assert result.status == "YIELD_EXECUTION"
    assert result.body == {"status": "YIELD_EXECUTION", "key": "k", "extra": [1]}
    assert result.run_metadata == {"successSubscription": True}
    with pytest.raises(InvalidEndpointResponse) as excinfo:
        client().execute_job({})
    assert excinfo.value.issues[0].path == ("status",)


# -- redirects --------------------------------------------------------------------------------------


@responses.activate
@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_index_follows_same_origin_redirects_and_says_where_it_found_the_document(status):
    target = "https://app.example.com/api/trigger/"
    responses.post(URL, status=status, headers={"Location": "/api/trigger/"})
    responses.post(target, json=document())
    result = client().index_endpoint()
    assert (result.url, result.data) == (target, result.document.to_wire())
    assert [job["id"] for job in result.data["jobs"]] == ["send-welcome-email"]
    assert [call.request.headers["x-trigger-api-key"] for call in responses.calls] == [KEY, KEY]
    assert client(target).index_endpoint().url == target


@responses.activate
def test_redirect_without_location():
    responses.post(URL, status=308)
    with pytest.raises(EndpointRedirect) as excinfo:
        client().index_endpoint()
    assert (excinfo.value.location, excinfo.value.code) == (None, "REDIRECT_WITHOUT_LOCATION")
    assert excinfo.value.message == f"Endpoint {URL} is redirecting but no location header is present"
    with pytest.raises(EndpointRedirect):
        client().ping("x")


@responses.activate
def test_other_actions_follow_same_origin_redirects_keeping_post_and_body():
    target = "https://app.example.com/api/trigger/"
    responses.post(URL, status=301, headers={"Location": "/api/trigger/"})
    responses.post(target, json={"status": "SUCCESS"})
    records: list[RequestRecord] = []
    result = client(on_request=records.append).execute_job({"run": 1})
    assert result.status == "SUCCESS"
    second = responses.calls[1].request
    assert second.method == "POST" and json.loads(second.body) == {"run": 1}
    assert second.headers["x-trigger-api-key"] == KEY
    assert [(r.outcome, r.status_code) for r in records] == [("REDIRECT", 301), ("ok", 200)]


@responses.activate
@pytest.mark.parametrize(
    "location",
    [
        "https://www.example.com/api/trigger",  # another host (apex -> www)
        "https://app.example.com:8443/api/trigger",  # another port
        "http://app.example.com/api/trigger",  # https -> http: the key would travel in clear text
        "//evil.example/api/trigger",  # scheme-relative
    ],
)
def test_redirects_to_another_origin_are_not_followed_the_key_stays_home(location):
    responses.post(URL, status=307, headers={"Location": location})
    responses.post(re.compile(r".*"), json={"ok": True})
    with pytest.raises(EndpointRedirect) as excinfo:
        client().ping("x")
    error = excinfo.value
    assert error.message.startswith(f"Endpoint {URL} is redirecting to ") and "another origin" in error.message
    assert urljoin(URL, location).split("://", 1)[1].split("/")[0] in error.message  # names the target
    assert "register that URL instead" in error.hint
    assert error.location == location and error.retryable is False
    assert len(responses.calls) == 1


@responses.activate
def test_http_to_https_of_the_same_host_is_followed():
    plain = "http://app.example.com/api/trigger"
    responses.post(plain, status=308, headers={"Location": URL})
    responses.post(URL, json={"ok": True})
    assert client(plain).ping("x").ok
    assert responses.calls[1].request.url == URL
    assert responses.calls[1].request.headers["x-trigger-api-key"] == KEY


@responses.activate
def test_redirect_loops_stop_after_five_hops():
    responses.post(URL, status=307, headers={"Location": URL})
    with pytest.raises(EndpointRedirect) as excinfo:
        client().run_notification({"ok": True})
    assert excinfo.value.message == f"Endpoint {URL} is redirecting too many times"
    assert excinfo.value.code == "REDIRECT_LOOP"
    assert len(responses.calls) == 6


# -- connection failures, timeouts, retries ---------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connection_refused_is_retried_for_safe_actions_only():
    url = f"http://127.0.0.1:{_closed_port()}/api/trigger"
    records: list[RequestRecord] = []
    c = client(url, retries=2, on_request=records.append)
    with pytest.raises(EndpointConnectionError) as excinfo:
        c.ping("x")
    error = excinfo.value
    assert error.message == f"Could not connect to endpoint {url}"
    assert (error.code, error.retryable, error.status_code, error.action) == ("CONNECTION_FAILED", True, None, "PING")
    assert [r.outcome for r in records] == ["CONNECTION_FAILED"] * 3
    records.clear()
    with pytest.raises(EndpointConnectionError):
        c.execute_job({})
    with pytest.raises(EndpointConnectionError):
        c.probe_execution_timeout(1)
    assert [r.action for r in records] == ["EXECUTE_JOB", "PROBE_EXECUTION_TIMEOUT"]


@responses.activate
def test_connect_timeout_message():
    responses.post(URL, body=requests.exceptions.ConnectTimeout("boom"))
    with pytest.raises(EndpointTimeout) as excinfo:
        client(connect_timeout=2.5, retries=0).ping("x")
    assert excinfo.value.message == f"Could not connect to endpoint {URL}. Timed out after 2.5s"
    assert excinfo.value.retryable


def test_no_answer_is_a_read_timeout_and_is_not_retried_in_the_client(raw_server):
    def silent(conn: socket.socket, stop: threading.Event, server: RawServer) -> None:
        read_request(conn)
        stop.wait(5)

    server = raw_server(silent)
    records: list[RequestRecord] = []
    c = client(server.url, index_read_timeout=0.2, retries=1, on_request=records.append)
    started = time.monotonic()
    with pytest.raises(EndpointTimeout) as excinfo:
        c.index_endpoint()
    assert time.monotonic() - started < 2
    assert excinfo.value.message == f"Could not connect to endpoint {server.url}. Timed out after 0.2s"
    assert [r.outcome for r in records] == ["TIMEOUT"]  # the worker retries indexes, with a backoff
    assert server.connections == 1


@pytest.mark.parametrize("chunked", [False, True])
def test_slow_drip_body_hits_the_total_deadline(raw_server, chunked):
    def drip(conn: socket.socket, stop: threading.Event, server: RawServer) -> None:
        read_request(conn)
        headers = {"Transfer-Encoding": "chunked"} if chunked else {"Content-Length": "100000"}
        server.send(conn, http_response(headers={"Content-Type": "application/json", **headers}, body=b""))
        while not stop.wait(0.02):  # one byte every 20 ms: each recv() succeeds, the whole never ends
            server.send(conn, b"1\r\n \r\n" if chunked else b" ")

    server = raw_server(drip)
    started = time.monotonic()
    with pytest.raises(EndpointTimeout) as excinfo:
        client(server.url, read_timeout=0.4, retries=0).validate()
    elapsed = time.monotonic() - started
    assert 0.35 < elapsed < 1.5
    assert excinfo.value.message.endswith("Timed out after 0.4s")
    assert excinfo.value.status_code == 200


def test_stalled_body_times_out(raw_server):
    def stall(conn: socket.socket, stop: threading.Event, server: RawServer) -> None:
        read_request(conn)
        server.send(conn, http_response(headers={"Content-Length": "50"}, body=b'{"ok":'))
        stop.wait(5)

    server = raw_server(stall)
    with pytest.raises(EndpointTimeout):
        client(server.url, read_timeout=0.3, retries=0).ping("x")


def test_connection_dropped_mid_body(raw_server):
    def drop(conn: socket.socket, stop: threading.Event, server: RawServer) -> None:
        read_request(conn)
        server.send(conn, http_response(headers={"Content-Length": "500"}, body=b'{"ok": true'))

    server = raw_server(drop)
    with pytest.raises(EndpointConnectionError) as excinfo:
        client(server.url, retries=0).ping("x")
    assert excinfo.value.retryable


def test_tls_error_is_a_connection_error(raw_server):
    def plain_http(conn: socket.socket, stop: threading.Event, server: RawServer) -> None:
        conn.recv(4096)  # a TLS ClientHello
        server.send(conn, http_response("400 Bad Request", {"Content-Length": "0"}))

    server = raw_server(plain_http, scheme="https")
    with pytest.raises(EndpointConnectionError) as excinfo:
        client(server.url, retries=0).ping("x")
    assert excinfo.value.message == f"Could not connect to endpoint {server.url}"
    assert "TLS" in excinfo.value.hint
    assert excinfo.value.__cause__ is not None


FIFTY_MB = 50 * 1024 * 1024


@pytest.mark.parametrize("declared", [True, False])
def test_50mb_body_is_refused_without_buffering_it(raw_server, declared):
    def huge(conn: socket.socket, stop: threading.Event, server: RawServer) -> None:
        read_request(conn)
        length = {"Content-Length": str(FIFTY_MB)} if declared else {"Connection": "close"}
        server.send(conn, http_response(headers=length))
        chunk = b"x" * 65536
        for _ in range(FIFTY_MB // len(chunk)):
            if stop.is_set():
                return
            server.send(conn, chunk)

    server = raw_server(huge)
    records: list[RequestRecord] = []
    with pytest.raises(ResponseTooLarge) as excinfo:
        client(server.url, retries=0, on_request=records.append).index_endpoint()
    assert excinfo.value.code == "RESPONSE_TOO_LARGE" and not excinfo.value.retryable
    assert excinfo.value.message == f"Endpoint {server.url} responded with more than {10 * 1024 * 1024} bytes"
    assert records[0].outcome == "RESPONSE_TOO_LARGE"
    # the client hung up early: the server could not push the whole 50 MB through
    assert server.bytes_sent < FIFTY_MB


def test_small_cap_counts_decoded_bytes(raw_server):
    import gzip

    compressed = gzip.compress(b'{"ok": true, "pad": "' + b"a" * 5000 + b'"}')

    def gz(conn: socket.socket, stop: threading.Event, server: RawServer) -> None:
        read_request(conn)
        server.send(
            conn,
            http_response(
                headers={"Content-Encoding": "gzip", "Content-Length": str(len(compressed))}, body=compressed
            ),
        )

    server = raw_server(gz)
    with pytest.raises(ResponseTooLarge):
        client(server.url, max_response_bytes=1000).ping("x")
    assert client(server.url).ping("x").ok is True


# -- probe --------------------------------------------------------------------------------------


@responses.activate
@pytest.mark.parametrize(
    ("status", "headers", "body"),
    [
        (504, {}, "An error occurred"),
        (408, {}, ""),
        (500, {"x-vercel-error": "FUNCTION_INVOCATION_TIMEOUT"}, ""),
        (502, {}, '{"error":{"code":"TIME_LIMIT"}}'),
        (503, {"cf-ray": "8a1b2c3d4e5f-AMS"}, "Error 1102: Worker exceeded resource limits"),
    ],
)
def test_probe_platform_timeouts_are_results(status, headers, body):
    responses.post(URL, status=status, headers=headers, body=body)
    result = client().probe_execution_timeout(120_000)
    assert (result.status_code, result.ok, result.platform_timeout) == (status, False, True)
    assert json.loads(responses.calls[0].request.body) == {"timeout": 120000}


@responses.activate
def test_probe_other_failures_raise():
    responses.post(URL, status=503, body="Worker exceeded resource limits")  # no cf-ray: not Cloudflare
    with pytest.raises(EndpointHTTPError):
        client().probe_execution_timeout(10)


# -- metrics hook and logs ------------------------------------------------------------------------


@responses.activate
def test_on_request_gets_one_record_per_attempt_and_its_errors_are_swallowed(caplog):
    responses.post(URL, json={"ok": True}, match=[action_is("PING")])
    responses.post(URL, status=401, json={"message": "no"}, match=[action_is("VALIDATE")])
    records: list[RequestRecord] = []

    def hook(record: RequestRecord) -> None:
        records.append(record)
        raise RuntimeError("metrics backend down")

    c = client(on_request=hook)
    assert c.ping("x").ok
    with pytest.raises(EndpointUnauthorized):
        c.validate()
    assert [(r.action, r.outcome, r.status_code) for r in records] == [
        ("PING", "ok", 200),
        ("VALIDATE", "UNAUTHORIZED", 401),
    ]
    assert all(r.duration >= 0 for r in records)
    assert "endpointapi.on_request_failed" in caplog.text


def test_the_api_key_never_reaches_logs_or_errors(raw_server, caplog):
    caplog.set_level(logging.DEBUG)  # urllib3 debug logging included

    def echo_key(conn: socket.socket, stop: threading.Event, server: RawServer) -> None:
        request = read_request(conn)
        body = json.dumps({"message": f"you sent {request.decode(errors='replace')}"}).encode()
        server.send(conn, http_response("500 Oops", {"Content-Length": str(len(body))}, body))

    server = raw_server(echo_key)
    failures = []
    for url in (server.url + "?token=abc", f"http://127.0.0.1:{_closed_port()}/x"):
        c = EndpointApiClient(url=url, api_key=KEY, config=FAST)
        for call in (lambda c=c: c.ping("x"), lambda c=c: c.index_endpoint()):
            with pytest.raises(EndpointApiError) as excinfo:
                call()
            failures.append(excinfo.value)
    records = [r for r in caplog.records if r.name == "endpointapi"]
    assert {r.getMessage() for r in records} == {"endpointapi.request"}
    assert records[0].url == server.url  # no query string
    assert {"action", "status_code", "duration_ms", "outcome"} <= set(vars(records[0]))
    assert KEY not in caplog.text
    assert all(KEY not in repr(vars(r)) for r in caplog.records)
    assert failures[0].status_code == 500 and "[redacted]" in failures[0].raw  # the echo was scrubbed
    for error in failures:
        assert KEY not in str(error) and KEY not in repr(error) and KEY not in json.dumps(error.to_dict())
    assert KEY not in repr(EndpointApiClient(url=URL, api_key=KEY))


# -- session ----------------------------------------------------------------------------------------


def test_shared_session_is_per_process(monkeypatch):
    first = transport.shared_session()
    assert transport.shared_session() is first
    assert first.trust_env is False
    monkeypatch.setattr(transport, "_session_pid", -1)  # as seen by a forked child
    second = transport.shared_session()
    assert second is not first and transport.shared_session() is second


@responses.activate
def test_endpoints_cannot_plant_cookies_in_the_shared_session():
    responses.post(URL, json={"ok": True}, headers={"Set-Cookie": "sid=abc; Path=/"})
    c = client()
    c.ping("x")
    c.ping("x")
    assert "Cookie" not in responses.calls[1].request.headers


@responses.activate
def test_injected_session_is_used():
    session = transport.new_session()
    responses.post(URL, json={"ok": True})
    EndpointApiClient(url=URL, api_key=KEY, session=session, config=FAST).ping("x")
    assert len(responses.calls) == 1


def test_connections_are_kept_alive_between_calls(raw_server):
    def keep_alive(conn: socket.socket, stop: threading.Event, server: RawServer) -> None:
        while not stop.is_set() and read_request(conn):
            server.send(conn, http_response(headers={"Content-Length": "11"}, body=b'{"ok":true}'))

    server = raw_server(keep_alive)
    c = client(server.url)
    assert [c.ping("x").ok for _ in range(3)] == [True, True, True]
    assert server.connections == 1


@pytest.mark.parametrize(
    "answer",
    [
        b"garbage, not HTTP\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 9\r\n\r\nnot gzip!",
    ],
    ids=["status-line", "chunk-size", "gzip"],
)
def test_malformed_http_answers_are_typed_errors(raw_server, answer):
    def malformed(conn: socket.socket, stop: threading.Event, server: RawServer) -> None:
        read_request(conn)
        server.send(conn, answer)

    server = raw_server(malformed)
    with pytest.raises((EndpointConnectionError, InvalidJSON)) as excinfo:
        client(server.url, retries=0).ping("x")
    assert excinfo.value.__cause__ is not None


@pytest.mark.parametrize("url", ["http://a..b/api/trigger", "http://127.0.0.1:99999/x", "ftp://x/y", ""])
def test_unusable_urls_are_typed_not_retryable_errors(url):
    with pytest.raises(EndpointConnectionError) as excinfo:
        EndpointApiClient(url=url, api_key=KEY, config=FAST).ping("x")
    assert excinfo.value.retryable is False
    assert excinfo.value.message == f"Could not connect to endpoint {url}"
