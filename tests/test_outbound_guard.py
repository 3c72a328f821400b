"""The outbound guard end to end: a PRODUCTION environment cannot make Kongflow call loopback,
private, link-local or metadata addresses in any spelling; DEVELOPMENT keeps working on localhost.

Loopback spellings are tried against a real loopback server whose request log must stay empty;
other addresses are only ever refused (an audit hook shows no socket was even connected).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from endpointapi import transport
from endpoints.models import Endpoint, EndpointIndex, EnvironmentType, IndexSource, IndexStatus
from endpoints.services.clients import outbound_policy
from endpoints.services.indexing import endpoint_index_request, endpoint_index_run
from tests import factories
from tests.conftest import PROD_KEY
from tests.support.misbehaving import VALID_DOCUMENT, MisbehavingEndpoint
from tests.support.outbound import socket_connects
from tests.support.sdk import sdk_endpoint

LOOPBACK_SPELLINGS = [
    "http://127.0.0.1:{port}/api/trigger",
    "http://2130706433:{port}/api/trigger",  # decimal
    "http://0x7f000001:{port}/api/trigger",  # hex
    "http://0x7F.0.0.1:{port}/api/trigger",  # hex first part
    "http://0177.0.0.1:{port}/api/trigger",  # octal
    "http://017700000001:{port}/api/trigger",  # octal, one part
    "http://127.1:{port}/api/trigger",  # short form
    "http://127.0.1:{port}/api/trigger",  # three parts
    "http://127.0.0.1.:{port}/api/trigger",  # trailing dot
    "http://127.255.255.254:{port}/api/trigger",  # elsewhere in 127/8
    "http://localhost:{port}/api/trigger",  # a name (resolved once, then checked)
    "http://LOCALHOST:{port}/api/trigger",
    "http://[::ffff:127.0.0.1]:{port}/api/trigger",  # IPv4-mapped IPv6
    "http://[::ffff:7f00:1]:{port}/api/trigger",  # the same, in hex
    "http://[0:0:0:0:0:ffff:127.0.0.1]:{port}/api/trigger",
    "http://[::1]:{port}/api/trigger",
    "http://[::127.0.0.1]:{port}/api/trigger",  # IPv4-compatible IPv6
    "http://0.0.0.0:{port}/api/trigger",  # unspecified (Linux connects it to loopback)
    "http://0:{port}/api/trigger",
    "http://[::]:{port}/api/trigger",
]

# Never connected to: refused before any socket exists.
NON_LOOPBACK = [
    "http://10.0.0.1/api/trigger",
    "http://10.1/api/trigger",  # 10.0.0.1, short
    "http://172.16.0.1/api/trigger",
    "http://172.31.255.255/api/trigger",
    "http://192.168.1.1/api/trigger",
    "http://3232235777/api/trigger",  # 192.168.1.1, decimal
    "http://100.64.0.1/api/trigger",  # carrier-grade NAT
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://2852039166/latest/meta-data/",  # the same, decimal
    "http://0xa9fea9fe/latest/meta-data/",  # hex
    "http://0251.0376.0251.0376/latest/meta-data/",  # octal
    "http://169.254.43518/latest/meta-data/",  # three parts
    "http://[::ffff:169.254.169.254]/latest/meta-data/",  # IPv4-mapped
    "http://[::ffff:a9fe:a9fe]/latest/meta-data/",
    "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",  # NAT64
    "http://[2002:a9fe:a9fe::1]/latest/meta-data/",  # 6to4
    "http://[::ffff:10.0.0.1]/api/trigger",
    "http://[fd00::1]/api/trigger",  # unique-local
    "http://[fc00::1]/api/trigger",
    "http://[fe80::1]/api/trigger",  # link-local
    "http://[fec0::1]/api/trigger",  # site-local
    "http://224.0.0.1/api/trigger",  # multicast
    "http://[ff02::1]/api/trigger",
    "http://255.255.255.255/api/trigger",  # broadcast
    "http://240.0.0.1/api/trigger",  # reserved
    "http://192.0.2.1/api/trigger",  # documentation
    "http://198.51.100.7/api/trigger",
    "http://203.0.113.9/api/trigger",
    "http://[2001:db8::1]/api/trigger",
    "http://198.18.0.1/api/trigger",  # benchmarking
    "http://192.0.0.8/api/trigger",  # IETF protocol assignments
    "https://10.0.0.1:8443/api/trigger",
]


@pytest.fixture
def strict(settings):
    """No allow-list: what a production deployment without ENDPOINTAPI_ALLOWED_NETWORKS does."""
    settings.ENDPOINTAPI_ALLOWED_NETWORKS = ""


@pytest.fixture
def prod_client(api_client, prod_sdk_environment):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {prod_sdk_environment.api_key}")
    return api_client


@pytest.fixture
def server():
    with MisbehavingEndpoint() as endpoint:
        endpoint.route("/api/trigger", lambda h: h.json(200, {"ok": True}))
        yield endpoint


def _assert_refused(response, shown_url: str) -> None:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error.startswith(f"Endpoint {shown_url} resolves to ")
    assert "which this environment may not call" in error
    assert "ENDPOINTAPI_ALLOWED_NETWORKS" in error


@pytest.mark.parametrize("spelling", LOOPBACK_SPELLINGS)
def test_production_registration_to_any_loopback_spelling_is_refused_before_connecting(
    strict, prod_client, server, spelling
):
    url = spelling.format(port=server.server.server_port)
    with socket_connects() as connects:
        response = prod_client.post("/api/v1/endpoints", {"id": "x", "url": url}, format="json")
    _assert_refused(response, url)
    assert server.requests == []  # the endpoint's request log stays empty
    assert connects == []  # and no socket was even connected
    assert not Endpoint.objects.exists() and not EndpointIndex.objects.exists()


@pytest.mark.parametrize("url", NON_LOOPBACK)
def test_production_registration_to_private_link_local_and_metadata_addresses_is_refused(
    strict, prod_client, url
):
    with socket_connects() as connects:
        register = prod_client.post("/api/v1/endpoints", {"id": "x", "url": url}, format="json")
        validate = prod_client.post("/api/v1/endpoints/validate", {"url": url}, format="json")
    _assert_refused(register, url)
    _assert_refused(validate, url)
    assert connects == []
    assert not Endpoint.objects.exists()


def test_the_refusal_names_the_address_the_spelling_means(strict, prod_client):
    response = prod_client.post("/api/v1/endpoints", {"id": "x", "url": "http://0xa9fea9fe/"}, format="json")
    assert response.json()["error"].startswith(
        "Endpoint http://0xa9fea9fe/ resolves to 169.254.169.254, a link-local address"
    )


@pytest.mark.parametrize("env_type", [EnvironmentType.PRODUCTION, EnvironmentType.STAGING, EnvironmentType.PREVIEW])
def test_every_type_but_development_is_guarded(strict, db, api_client, server, env_type):
    environment = factories.RuntimeEnvironmentFactory(env_type=env_type)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {environment.api_key}")
    url = f"{server.base}/api/trigger"
    _assert_refused(api_client.post("/api/v1/endpoints", {"id": "x", "url": url}, format="json"), url)
    assert server.requests == []


def test_development_keeps_working_on_localhost(strict, auth_client, sdk_basic):
    url = sdk_basic.url.replace("127.0.0.1", "localhost")
    # sdk_basic serves the whole session: a connection an earlier test kept alive would be reused.
    transport.shared_session().close()
    with socket_connects() as connects:
        response = auth_client.post("/api/v1/endpoints", {"id": "my-endpoint", "url": url}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["url"] == url
    assert ("127.0.0.1", sdk_basic.port) in connects  # the audit hook does see connections


def test_the_allow_list_opens_a_network_for_production(settings, prod_client, sdk_basic_prod):
    settings.ENDPOINTAPI_ALLOWED_NETWORKS = "10.0.0.0/8, 127.0.0.0/8"
    response = prod_client.post("/api/v1/endpoints", {"id": "my-endpoint", "url": sdk_basic_prod.url}, format="json")
    assert response.status_code == 200, response.content
    settings.ENDPOINTAPI_ALLOWED_NETWORKS = "10.0.0.0/8"  # read at call time
    response = prod_client.post("/api/v1/endpoints", {"id": "my-endpoint", "url": sdk_basic_prod.url}, format="json")
    _assert_refused(response, sdk_basic_prod.url)


def test_outbound_policy_by_environment_type(settings, db):
    settings.ENDPOINTAPI_ALLOWED_NETWORKS = "10.0.0.0/8"
    development = outbound_policy(environment=factories.RuntimeEnvironmentFactory())
    assert development.allow_private is True and development.infrastructure  # refused to DEVELOPMENT too
    production = outbound_policy(environment=factories.RuntimeEnvironmentFactory(env_type=EnvironmentType.PRODUCTION))
    assert production.allow_private is False
    assert [str(n) for n in production.allowed_networks] == ["10.0.0.0/8"]
    assert production.infrastructure == development.infrastructure


def test_an_index_of_a_stored_loopback_url_fails_without_calling_it(strict, prod_sdk_environment, server):
    endpoint = factories.EndpointFactory(environment=prod_sdk_environment, url=f"{server.base}/api/trigger")
    index = endpoint_index_request(endpoint=endpoint, source=IndexSource.INTERNAL)
    with socket_connects() as connects:
        assert endpoint_index_run(index_id=index.id) is None  # not retried: it cannot recover
    index.refresh_from_db()
    assert (index.status, index.error["code"]) == (IndexStatus.FAILURE, "FORBIDDEN_ADDRESS")
    assert "ENDPOINTAPI_ALLOWED_NETWORKS" in index.error["hint"]
    assert server.requests == [] and connects == []


# -- redirects: the key never leaves the registered origin ------------------------------------------


def test_a_cross_origin_redirect_never_carries_the_key_to_the_second_origin(
    prod_client, prod_sdk_environment, tmp_path: Path
):
    """Two real loopback endpoints (different ports = different origins), the second one logging."""
    log = tmp_path / "requests.jsonl"
    with (
        sdk_endpoint(api_key=PROD_KEY, endpoint_id="x", scenario="basic", extra_args=["--request-log", str(log)])
        as second,
        MisbehavingEndpoint() as first,
    ):
        first.route("/api/trigger", lambda h: h._send(307, b"", headers={"Location": second.url}))
        url = f"{first.base}/api/trigger"
        register = prod_client.post("/api/v1/endpoints", {"id": "x", "url": url}, format="json")
        assert register.status_code == 400
        assert register.json()["error"].startswith(f"Endpoint {url} is redirecting to {second.url}, another origin")
        assert "register that URL instead" in register.json()["error"]

        # An endpoint stored at the first origin (e.g. registered before it started redirecting).
        endpoint = factories.EndpointFactory(environment=prod_sdk_environment, url=url)
        index = endpoint_index_request(endpoint=endpoint, source=IndexSource.INTERNAL)
        endpoint_index_run(index_id=index.id)
        index.refresh_from_db()
        assert (index.status, index.error["code"]) == (IndexStatus.FAILURE, "REDIRECT")
        assert second.url in index.error["message"] and "register that URL instead" in index.error["hint"]
        endpoint.refresh_from_db()
        assert endpoint.url == url  # never moved to the redirect target
        assert [path for path, _ in first.requests] == ["/api/trigger", "/api/trigger"]
        assert all(headers["x-trigger-api-key"] == PROD_KEY for _, headers in first.requests)
    entries = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    assert entries == []  # the second origin never saw a request, so never the key


def test_a_same_origin_redirect_is_followed_and_stored_with_the_successful_index(prod_sdk_environment):
    with MisbehavingEndpoint() as server:
        server.route("/final", lambda h: h.json(200, VALID_DOCUMENT))
        url = server.route("/moved", lambda h: h._send(308, b"", headers={"Location": "/final"}))
        endpoint = factories.EndpointFactory(environment=prod_sdk_environment, url=url)
        index = endpoint_index_request(endpoint=endpoint, source=IndexSource.INTERNAL)
        endpoint_index_run(index_id=index.id)
    index.refresh_from_db()
    assert index.status == IndexStatus.SUCCESS, index.error
    endpoint.refresh_from_db()
    assert endpoint.url == f"{server.base}/final"


# -- URLs that cannot be registered -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://user:pass@example.com/api/trigger", "must not contain credentials"),
        ("http://user@example.com/api/trigger", "must not contain credentials"),
        ("http://127.0.0.1:1\\@evil.example/", "Invalid url"),  # one parser: no two readings of a host
        ("http://evil.example\\@127.0.0.1/", "Invalid url"),
        ("http://1.2.3.4.5/", "Invalid url"),
        ("http://256.0.0.1/", "Invalid url"),
        ("http://[fe80::1%25eth0]/", "Invalid url"),
    ],
)
def test_ambiguous_urls_and_credentials_are_a_clear_400(prod_client, url, message):
    with socket_connects() as connects:
        response = prod_client.post("/api/v1/endpoints", {"id": "x", "url": url}, format="json")
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert connects == [] and not Endpoint.objects.exists()
