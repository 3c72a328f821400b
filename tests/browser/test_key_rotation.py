"""In a real browser (Debian's chromium driven by Playwright): an operator rotates an environment's
key from the admin, reads the new key once, and sees the grace state and the endpoint that still
answers only to the previous key."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.contrib.auth import get_user_model

from endpoints.services.registration import endpoint_register
from tests import factories
from tests.conftest import DEV_KEY
from tests.support.browser import chromium, require_chromium
from tests.support.web import register_endpoint

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def page(live_server) -> Iterator:
    """A page of Debian's Chromium (live_server first, so the browser closes before the server)."""
    require_chromium()
    with chromium() as browser:
        context = browser.new_context()
        context.set_default_timeout(30_000)
        yield context.new_page()


def test_an_operator_rotates_a_key_and_sees_the_grace_state(page, live_server, sdk_basic):
    get_user_model().objects.create_superuser("ops", "ops@example.com", "ops-password")
    environment = factories.RuntimeEnvironmentFactory(api_key=DEV_KEY)
    endpoint_register(environment=environment, slug="my-endpoint", url=sdk_basic.url)

    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "ops")
    page.fill("#id_password", "ops-password")
    page.click("input[type=submit]")
    page.goto(f"{live_server.url}/admin/endpoints/runtimeenvironment/")
    page.check(f"input[name=_selected_action][value='{environment.id}']")
    page.select_option("select[name=action]", "rotate_api_key")
    page.click("button[name=index]")

    assert "Rotate API key" in page.title()
    assert "keeps working for 24 hour(s)" in page.inner_text("#content-main")
    page.click("#kf-confirm")
    new_key = page.inner_text("#kf-new-key").strip()
    assert re.fullmatch(r"tr_dev_[A-Za-z0-9]{20}", new_key) and new_key != DEV_KEY
    assert "keeps working until" in page.inner_text("#kf-grace-until")

    # The CLI re-registers with the new key while the endpoint still runs with the old one.
    response = register_endpoint(live_server.url, slug="my-endpoint", url=sdk_basic.url, api_key=new_key, timeout=30)
    assert response.status_code == 200, response.text

    page.click("#kf-back")
    state = page.inner_text("#kf-grace-state")
    assert "still works until" in state
    assert "my-endpoint" in page.inner_text("#kf-old-key-endpoints")
    body = page.content()
    assert new_key not in body and DEV_KEY not in body  # masked once the key was shown
