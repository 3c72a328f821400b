"""Tenants never reach Kongflow's infrastructure (issue #20), end to end on loopback.

* Allowed networks are an operator's decision per organization (the global setting is the default).
* The host:port pairs of the database, the broker, the cache and Kongflow's own listening sockets
  are refused to every environment, DEVELOPMENT included, in every spelling, before any socket.
* A non-Trigger.dev answer from a private address reaches its owner without its body; operators
  still read it in the run inspector.
"""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model

from endpoints.models import Endpoint, EnvironmentType, IndexSource, IndexStatus
from endpoints.services.clients import outbound_policy
from endpoints.services.indexing import endpoint_index_request, endpoint_index_run
from endpoints.services.infrastructure import infrastructure_pairs, infrastructure_services
from tests import factories
from tests.support.misbehaving import VALID_DOCUMENT, MisbehavingEndpoint
from tests.support.outbound import dns_lookups, socket_connects

DATABASE = urlsplit(f"//{django_settings.DATABASES['default']['HOST']}:{django_settings.DATABASES['default']['PORT']}")
BROKER = urlsplit(django_settings.CELERY_BROKER_URL)
SECRET = b"<html>internal admin: the root password is hunter2</html>"


@pytest.fixture
def strict(settings):
    """No global allow-list: what a production deployment without ENDPOINTAPI_ALLOWED_NETWORKS does."""
    settings.ENDPOINTAPI_ALLOWED_NETWORKS = ""


@pytest.fixture
def server():
    with MisbehavingEndpoint() as endpoint:
        endpoint.route("/api/trigger", lambda h: h.json(200, {"ok": True}))
        yield endpoint


def register(api_client, environment, url: str):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {environment.api_key}")
    return api_client.post("/api/v1/endpoints", {"id": "x", "url": url}, format="json")


# -- allowed networks per organization ---------------------------------------------------------------


def test_an_organizations_allowed_networks_open_a_network_for_it_and_not_for_another(
    strict, db, api_client, server
):
    opened = factories.RuntimeEnvironmentFactory(
        env_type=EnvironmentType.PRODUCTION, project__organization__allowed_networks="10.0.0.0/8\n127.0.0.0/8"
    )
    other = factories.RuntimeEnvironmentFactory(env_type=EnvironmentType.PRODUCTION)
    url = f"{server.base}/api/trigger"
    with socket_connects() as connects:
        refused = register(api_client, other, url)
    assert refused.status_code == 400 and "which this environment may not call" in refused.json()["error"]
    assert connects == [] and server.requests == []
    assert register(api_client, opened, url).status_code == 200, "the organization's own list opens it"
    assert [path for path, _ in server.requests] == ["/api/trigger"]


def test_the_global_list_is_the_default_and_an_organizations_list_replaces_it(settings, db):
    settings.ENDPOINTAPI_ALLOWED_NETWORKS = "172.28.0.0/16"
    default = factories.RuntimeEnvironmentFactory(env_type=EnvironmentType.PRODUCTION)
    own = factories.RuntimeEnvironmentFactory(
        env_type=EnvironmentType.PRODUCTION, project__organization__allowed_networks="10.20.0.0/16, fd00::/8"
    )
    assert [str(n) for n in outbound_policy(environment=default).allowed_networks] == ["172.28.0.0/16"]
    assert [str(n) for n in outbound_policy(environment=own).allowed_networks] == ["10.20.0.0/16", "fd00::/8"]


def test_a_run_reads_its_organizations_list_at_run_time(strict, db, server):
    environment = factories.RuntimeEnvironmentFactory(env_type=EnvironmentType.PRODUCTION, api_key="tr_prod_orgrun")
    server.route("/index", lambda h: h.json(200, VALID_DOCUMENT))
    endpoint = factories.EndpointFactory(environment=environment, url=f"{server.base}/index")
    first = endpoint_index_request(endpoint=endpoint, source=IndexSource.MANUAL)
    endpoint_index_run(index_id=first.id)
    first.refresh_from_db()
    assert (first.status, first.error["code"]) == (IndexStatus.FAILURE, "FORBIDDEN_ADDRESS")
    assert "for the organization" in first.error["hint"]
    organization = environment.organization
    organization.allowed_networks = "127.0.0.0/8"
    organization.save()
    second = endpoint_index_request(endpoint=endpoint, source=IndexSource.MANUAL, force=True)
    endpoint_index_run(index_id=second.id)
    second.refresh_from_db()
    assert second.status == IndexStatus.SUCCESS, second.error


def test_webhooks_follow_the_organizations_list(strict, db, api_client):
    opened = factories.RuntimeEnvironmentFactory(
        env_type=EnvironmentType.PRODUCTION, project__organization__allowed_networks="127.0.0.0/8"
    )
    other = factories.RuntimeEnvironmentFactory(env_type=EnvironmentType.PRODUCTION)
    for environment, status in ((opened, 201), (other, 400)):
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {environment.api_key}")
        response = api_client.post(
            "/api/v1/event-subscriptions", {"url": "http://127.0.0.1:4000/hooks", "events": ["*"]}, format="json"
        )
        assert response.status_code == status, response.content


def test_the_admin_edits_an_organizations_list_and_refuses_what_is_not_a_network(db, client):
    client.force_login(get_user_model().objects.create_superuser("ops", "ops@example.com", "pw"))
    organization = factories.OrganizationFactory()
    page = f"/admin/endpoints/organization/{organization.id}/change/"
    assert b"allowed_networks" in client.get(page).content
    form = {"slug": organization.slug, "title": organization.title, "allowed_networks": "10.0.0.0/8, not-a-cidr"}
    response = client.post(page, form)
    assert response.status_code == 200 and "&#x27;not-a-cidr&#x27; is not a network (CIDR)" in response.content.decode()
    organization.refresh_from_db()
    assert organization.allowed_networks == ""
    response = client.post(page, {**form, "allowed_networks": "10.0.0.0/8\r\n192.168.5.0/24"})
    assert response.status_code == 302
    organization.refresh_from_db()
    assert organization.allowed_networks == "10.0.0.0/8\r\n192.168.5.0/24"


# -- Kongflow's own infrastructure -------------------------------------------------------------------


def test_the_infrastructure_is_read_from_the_settings():
    pairs = set(infrastructure_pairs())
    assert ("Kongflow's database", DATABASE.hostname, DATABASE.port) in pairs
    assert ("Kongflow's broker", BROKER.hostname, BROKER.port) in pairs
    assert ("Kongflow itself", "0.0.0.0", 8000) in pairs


def test_the_cache_and_named_hosts_are_resolved_once(settings):
    redis = "django.core.cache.backends.redis.RedisCache"
    settings.CACHES = {"default": {"BACKEND": redis, "LOCATION": "redis://localhost:6390/1"}}
    settings.KONGFLOW_SELF_ADDRESSES = ["localhost:8123", "[::1]:9808"]
    services = {(s.name, str(s.address), s.port) for s in infrastructure_services()}
    assert ("Kongflow's cache", "127.0.0.1", 6390) in services
    assert ("Kongflow itself", "127.0.0.1", 8123) in services and ("Kongflow itself", "::1", 9808) in services
    with dns_lookups() as lookups:
        infrastructure_services()
    assert lookups == []  # cached


INFRASTRUCTURE_URLS = [
    f"http://{DATABASE.hostname}:{DATABASE.port}/api/trigger",  # the test database itself
    f"http://localhost:{DATABASE.port}/api/trigger",  # a name resolving to it
    f"http://127.0.0.2:{DATABASE.port}/api/trigger",  # another loopback spelling of a loopback service
    f"http://[::1]:{DATABASE.port}/api/trigger",
    f"http://[::ffff:127.0.0.1]:{DATABASE.port}/api/trigger",
    f"http://0.0.0.0:{DATABASE.port}/api/trigger",
    f"http://2130706433:{DATABASE.port}/api/trigger",
    f"http://{BROKER.hostname}:{BROKER.port}/api/trigger",  # Redis
    f"http://localhost:{BROKER.port}/",
    "http://127.0.0.1:8000/api/trigger",  # Kongflow's own web port (KONGFLOW_SELF_ADDRESSES)
]


@pytest.mark.parametrize("url", INFRASTRUCTURE_URLS)
def test_development_endpoints_never_reach_the_infrastructure(auth_client, url):
    with socket_connects() as connects:
        register = auth_client.post("/api/v1/endpoints", {"id": "x", "url": url}, format="json")
        validate = auth_client.post("/api/v1/endpoints/validate", {"url": url}, format="json")
    for response in (register, validate):
        assert response.status_code == 400, response.content
        error = response.json()["error"]
        assert f"Endpoint {url} resolves to " in error and "which no endpoint may use" in error
        assert "own infrastructure" in error
    assert connects == []  # refused before any socket
    assert not Endpoint.objects.exists()


def test_the_allow_lists_cannot_open_the_infrastructure(settings, db, api_client):
    settings.ENDPOINTAPI_ALLOWED_NETWORKS = "0.0.0.0/0, ::/0"
    environment = factories.RuntimeEnvironmentFactory(
        env_type=EnvironmentType.PRODUCTION, project__organization__allowed_networks="0.0.0.0/0, ::/0"
    )
    with socket_connects() as connects:
        response = register(api_client, environment, f"http://127.0.0.1:{BROKER.port}/api/trigger")
    assert response.status_code == 400 and "Kongflow's broker" in response.json()["error"]
    assert connects == []


def test_pairs_not_addresses_other_ports_of_the_same_host_keep_working(auth_client, sdk_basic):
    """The SDK listens on 127.0.0.1 like PostgreSQL and Redis do, on another port: it is reached."""
    url = sdk_basic.url.replace("127.0.0.1", "localhost")
    response = auth_client.post("/api/v1/endpoints", {"id": "my-endpoint", "url": url}, format="json")
    assert response.status_code == 200, response.content


def test_an_infrastructure_pair_named_in_the_settings_is_refused_at_its_own_address(settings, auth_client):
    """127.0.0.2 stands in for an internal service: listed by name, refused; its neighbours are not."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.2", 0))
        listener.listen()
        port = listener.getsockname()[1]
        settings.KONGFLOW_SELF_ADDRESSES = [f"127.0.0.2:{port}"]
        with socket_connects() as connects:
            response = auth_client.post(
                "/api/v1/endpoints", {"id": "x", "url": f"http://127.0.0.2:{port}/"}, format="json"
            )
        assert response.status_code == 400 and f"port {port}, Kongflow itself" in response.json()["error"]
        assert connects == []


def test_a_stored_endpoint_on_the_infrastructure_fails_its_index_without_a_connection(dev_environment):
    endpoint = factories.EndpointFactory(environment=dev_environment, url=f"http://localhost:{DATABASE.port}/")
    index = endpoint_index_request(endpoint=endpoint, source=IndexSource.INTERNAL)
    with socket_connects() as connects:
        endpoint_index_run(index_id=index.id)
    index.refresh_from_db()
    assert (index.status, index.error["code"]) == (IndexStatus.FAILURE, "FORBIDDEN_ADDRESS")
    assert "own infrastructure" in index.error["hint"]
    assert connects == []


def test_webhooks_never_reach_the_infrastructure(auth_client):
    url = f"http://localhost:{BROKER.port}/hooks"
    response = auth_client.post("/api/v1/event-subscriptions", {"url": url, "events": ["*"]}, format="json")
    assert response.status_code == 400
    assert "Kongflow's broker, which no webhook may use" in response.json()["error"]


# -- non-Trigger.dev answers from private addresses ----------------------------------------------------


@pytest.fixture
def admin_client(client, db):
    client.force_login(get_user_model().objects.create_superuser("ops", "ops@example.com", "pw"))
    return client


@pytest.mark.parametrize(
    ("status", "code"),
    [(200, "INVALID_JSON"), (500, "HTTP_ERROR"), (404, "HTTP_ERROR")],
)
def test_a_private_non_trigger_answer_reaches_the_owner_without_its_body(
    auth_client, admin_client, dev_environment, status, code
):
    with MisbehavingEndpoint() as internal:
        url = internal.route("/", lambda h: h._send(status, SECRET, "text/html"))
        endpoint = factories.EndpointFactory(environment=dev_environment, url=url)
        index = endpoint_index_request(endpoint=endpoint, source=IndexSource.INTERNAL)
        endpoint_index_run(index_id=index.id)
    index.refresh_from_db()
    assert (index.status, index.error["code"]) == (IndexStatus.FAILURE, code)
    seen_by_owner = auth_client.get(f"/api/v1/endpointindex/{index.id}")
    assert seen_by_owner.status_code == 200
    assert "hunter2" not in seen_by_owner.content.decode()
    assert "body withheld" in seen_by_owner.json()["error"]["raw"]
    assert "hunter2" not in json.dumps(index.error)
    inspector = admin_client.get(f"/admin/endpoints/endpointindex/{index.id}/change/").content.decode()
    assert "hunter2" in inspector  # operators read the exchange


def test_a_trigger_or_json_answer_from_a_private_address_keeps_its_body(auth_client, dev_environment):
    with MisbehavingEndpoint() as endpoint_server:
        trigger = endpoint_server.route(
            "/sdk", lambda h: h._send(500, b"<html>sdk crashed</html>", "text/html", {"trigger-version": "2023-09-29"})
        )
        plain_json = endpoint_server.route("/json", lambda h: h.json(502, {"detail": "upstream down"}))
        raws = []
        for url in (trigger, plain_json):
            endpoint = factories.EndpointFactory(environment=dev_environment, url=url)
            index = endpoint_index_request(endpoint=endpoint, source=IndexSource.INTERNAL)
            endpoint_index_run(index_id=index.id)
            index.refresh_from_db()
            raws.append(index.error["raw"])
    assert raws == ["<html>sdk crashed</html>", '{"detail": "upstream down"}']
