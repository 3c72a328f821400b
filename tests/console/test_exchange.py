"""The failure inspector's data: the failed exchange, recorded by endpointapi and stored on the run."""

from endpointapi import ClientConfig, EndpointApiClient, EndpointHTTPError, InvalidIndexDocument
from endpoints.admin.widgets import curl_command
from endpoints.models import IndexSource, IndexStatus
from endpoints.services.indexing import endpoint_index_request, endpoint_index_run
from tests import factories
from tests.conftest import DEV_KEY
from tests.console.conftest import server_error
from tests.support.outbound import LOOPBACK_POLICY

# The endpoints of these tests listen on loopback.
LOOPBACK = ClientConfig(address_policy=LOOPBACK_POLICY)


def test_a_failed_call_carries_its_exchange_with_the_key_masked(misbehaving, failing_endpoint):
    client = EndpointApiClient(url=failing_endpoint.url + "?token=secret", api_key=DEV_KEY, config=LOOPBACK)
    try:
        client.index_endpoint()
    except InvalidIndexDocument as exc:
        exchange = exc.exchange
    else:
        raise AssertionError("expected InvalidIndexDocument")
    assert exchange is not None
    assert exchange.url == failing_endpoint.url  # no query string
    assert exchange.action == "INDEX_ENDPOINT" and exchange.status_code == 200
    assert exchange.request_headers["x-trigger-api-key"] == "tr_dev_…0001"
    assert DEV_KEY not in repr(exchange.to_dict())
    assert "broken-two" in exchange.response_body
    assert exchange.response_headers["trigger-sdk-version"] == "2.3.19"


def test_an_echoed_key_is_redacted_from_the_response_preview(misbehaving, dev_environment):
    url = misbehaving.route("/error", server_error)
    try:
        EndpointApiClient(url=url, api_key=DEV_KEY, config=LOOPBACK).ping("x")
    except EndpointHTTPError as exc:
        data = exc.exchange.to_dict()
    assert data["response"]["status"] == 500 and "[redacted]" in data["response"]["body"]
    assert data["response"]["headers"]["x-request-id"] == "r-1"
    assert DEV_KEY not in str(data)


def test_a_connection_failure_records_the_request_and_no_response(dev_environment):
    try:
        EndpointApiClient(url="http://127.0.0.1:9/api/trigger", api_key=DEV_KEY, config=LOOPBACK).validate()
    except Exception as exc:
        data = exc.exchange.to_dict()
    assert data["response"] is None and data["error"] and data["request"]["headers"]["x-trigger-action"] == "VALIDATE"


def test_a_failed_run_stores_the_exchange_and_a_success_clears_it(failing_endpoint, misbehaving):
    index = endpoint_index_request(endpoint=failing_endpoint, source=IndexSource.MANUAL)
    endpoint_index_run(index_id=index.id)
    index.refresh_from_db()
    assert index.status == IndexStatus.FAILURE
    assert index.exchange["response"]["status"] == 200
    assert index.exchange["request"]["headers"]["x-trigger-api-key"].endswith("0001")
    assert len(str(index.exchange)) < 12_000  # bounded


def test_copy_as_curl_uses_the_environment_variable_for_the_key(failing_endpoint, misbehaving):
    index = factories.EndpointIndexFactory(endpoint=failing_endpoint, status=IndexStatus.FAILURE)
    exchange = {
        "method": "POST",
        "url": "http://127.0.0.1:3000/api/trigger",
        "action": "INDEX_ENDPOINT",
        "request": {"headers": {"x-trigger-api-key": "tr_dev_…0001", "x-trigger-action": "INDEX_ENDPOINT"}},
    }
    command = curl_command(exchange)
    assert command.startswith("curl -i -X POST http://127.0.0.1:3000/api/trigger")
    assert '-H "x-trigger-api-key: $TRIGGER_API_KEY"' in command
    assert "-H 'x-trigger-action: INDEX_ENDPOINT'" in command
    assert "…" not in command and index.pk
