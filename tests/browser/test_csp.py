"""Under the Content-Security-Policy, in a real browser (Debian's Chromium): the admin, the
console's pages and Swagger UI at /api/docs work, and the browser reports no violation."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth import get_user_model

from endpoints.models import Endpoint
from endpoints.services.events import subscription_create
from tests import factories
from tests.support.browser import chromium, require_chromium

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def page(live_server) -> Iterator:
    require_chromium()
    with chromium() as browser:
        context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
        context.set_default_timeout(30_000)
        yield context.new_page()


def violations(page) -> list[str]:
    messages: list[str] = []
    page.on("console", lambda message: messages.append(f"{page.url}: {message.text}"))
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e =>"
        " console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));"
    )
    return messages


def test_admin_console_and_swagger_ui_work_under_the_csp(page, live_server):
    get_user_model().objects.create_superuser("ops", "ops@example.com", "ops-password")
    environment = factories.RuntimeEnvironmentFactory()
    endpoint = factories.EndpointFactory(environment=environment)
    subscription_create(environment=environment, url="http://127.0.0.1:9/hook", events=["*"])
    messages = violations(page)

    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "ops")
    page.fill("#id_password", "ops-password")
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")
    for path in (
        "/admin/",
        "/admin/overview/",
        "/admin/endpoints/endpoint/",
        f"/admin/endpoints/runtimeenvironment/{environment.id}/change/",
        "/admin/endpoints/webhooksubscription/",
        "/admin/endpoints/endpointindex/",
    ):
        assert page.goto(f"{live_server.url}{path}").status == 200, path

    # The console's own script (nonce) runs: the deploy-hook URL is made absolute, Copy copies.
    page.goto(f"{live_server.url}/admin/endpoints/endpoint/{endpoint.id}/change/")
    hook_url = page.inner_text("#kf-hook-url")
    assert hook_url.startswith(live_server.url), hook_url
    page.click("button[data-copy-target=kf-hook-url]")
    page.wait_for_function("document.querySelector('button[data-copy-target=kf-hook-url]').textContent === 'Copied'")
    # "Soft delete" asks first (a data-confirm form, no inline handler): declining keeps the endpoint.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("button.kf-danger")
    page.wait_for_selector("#kf-hook-url")
    assert Endpoint.objects.get(id=endpoint.id).url is not None

    # The admin's own scripts run: the action bar's "select all" checkbox ticks every row.
    page.goto(f"{live_server.url}/admin/endpoints/endpoint/")
    page.check("#action-toggle")
    assert page.is_checked("input[name=_selected_action]")

    # Swagger UI renders the schema it fetched.
    page.goto(f"{live_server.url}/api/docs")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "Kongflow endpoints API" in page.inner_text(".swagger-ui .info .title")
    page.wait_for_selector("#operations-whoami-whoami_retrieve, .opblock-summary-path")

    assert not [m for m in messages if "Content Security Policy" in m or "CSP violation" in m], messages
