"""Production settings from the environment (HTTPS redirect, HSTS, secure cookies behind a proxy
that says https), development defaults over plain http, the CSP and its nonces, no-store on every
answer that shows a secret, and the admin's "View site" link."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, override_settings

from endpoints.models import WebhookSubscription
from tests import factories

pytestmark = pytest.mark.django_db
PRODUCTION = {
    "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https"),
    "SECURE_SSL_REDIRECT": True,
    "SECURE_HSTS_SECONDS": 31536000,
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
    "SECURE_HSTS_PRELOAD": True,
    "SESSION_COOKIE_SECURE": True,
    "CSRF_COOKIE_SECURE": True,
}


@pytest.fixture
def operator():
    return get_user_model().objects.create_superuser("ops", "ops@example.com", "pw")


def log_in(client: Client, **extra) -> None:
    response = client.post("/admin/login/?next=/admin/", {"username": "ops", "password": "pw"}, **extra)
    assert response.status_code == 302, response.content[:300]


def test_development_defaults_work_over_plain_http(operator):
    client = Client()
    page = client.get("/admin/login/")
    assert page.status_code == 200
    assert "Strict-Transport-Security" not in page
    log_in(client)
    assert not client.cookies["sessionid"]["secure"]
    assert client.get("/admin/").status_code == 200


def test_production_settings_redirect_to_https_and_mark_everything_secure(operator):
    with override_settings(**PRODUCTION):
        client = Client()
        plain = client.get("/admin/login/")
        assert plain.status_code == 301 and plain["Location"] == "https://testserver/admin/login/"
        for probe in ("/healthz", "/metrics"):  # probes and scrapes inside the deployment speak http
            assert client.get(probe).status_code == 200, probe
        https = {"HTTP_X_FORWARDED_PROTO": "https"}
        page = client.get("/admin/login/", **https)
        assert page.status_code == 200
        assert page["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
        log_in(client, **https)
        assert client.cookies["sessionid"]["secure"] and client.cookies["csrftoken"]["secure"]
        assert client.cookies["sessionid"]["httponly"]


@pytest.mark.parametrize("page_of", ["index", "endpoint", "environment"])
def test_the_csp_allows_only_scripts_of_this_origin_or_with_the_nonce(operator, client, page_of):
    endpoint = factories.EndpointFactory()
    path = {
        "index": "/admin/",
        "endpoint": f"/admin/endpoints/endpoint/{endpoint.id}/change/",
        "environment": f"/admin/endpoints/runtimeenvironment/{endpoint.environment_id}/change/",
    }[page_of]
    log_in(client)
    page = client.get(path)
    assert page.status_code == 200
    policy = page["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    assert "default-src 'self'" in policy and "object-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "script-src 'self' 'nonce-" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    html = page.content.decode()
    inline_scripts = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
    assert inline_scripts and all(f'nonce="{nonce}"' in attributes for attributes in inline_scripts)
    assert not re.search(r"<[^>]+\son[a-z]+=", html)  # no inline event handlers
    assert nonce not in client.get(path)["Content-Security-Policy"]  # a new nonce per answer


def test_swagger_ui_has_no_inline_script():
    page = Client().get("/api/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assert not re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    script_url = re.findall(r'<script src="([^"]+)"', html)[-1].replace("&amp;", "&")
    script = Client().get(script_url)
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()


def test_the_admins_view_site_link_answers(operator, client):
    log_in(client)
    html = client.get("/admin/").content.decode()
    assert '<a href="/api/docs">View site</a>' in html
    assert client.get("/api/docs").status_code == 200


def assert_no_store(response) -> None:
    assert "no-store" in response["Cache-Control"], response.get("Cache-Control")


def test_api_answers_with_a_secret_are_no_store(api_client, environment):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {environment.api_key}")
    created = api_client.post(
        "/api/v1/event-subscriptions", {"url": "http://127.0.0.1:9/hook", "events": ["*"]}, format="json"
    )
    assert created.status_code == 201 and created.json()["secret"].startswith("whsec_")
    assert_no_store(created)
    rotated = api_client.post(f"/api/v1/event-subscriptions/{created.json()['id']}/rotate-secret", {}, format="json")
    assert rotated.status_code == 200 and rotated.json()["secret"].startswith("whsec_")
    assert_no_store(rotated)


def test_admin_pages_with_a_secret_are_no_store(operator, client):
    environment = factories.RuntimeEnvironmentFactory()
    log_in(client)
    rotated = client.post(
        f"/admin/endpoints/runtimeenvironment/{environment.id}/rotate-key/", {"rotating": environment.api_key_hash}
    )
    assert rotated.status_code == 200 and 'id="kf-new-key"' in rotated.content.decode()
    assert_no_store(rotated)
    added = client.post(
        "/admin/endpoints/webhooksubscription/add/",
        {"environment": environment.id, "url": "http://127.0.0.1:9/h", "events": '["*"]', "is_active": "on"},
        follow=True,
    )
    assert WebhookSubscription.objects.get().secret in added.content.decode()  # the one page that shows it
    assert_no_store(added)
