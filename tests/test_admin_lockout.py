"""Admin login brute force (django-axes): real login posts; after KONGFLOW_LOGIN_FAILURE_LIMIT (5)
failures of one user from one address that pair is locked out (429, even with the right password)
until the cool-off ends or an operator runs `manage.py axes_reset`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command

pytestmark = pytest.mark.django_db
PASSWORD = "the-right-password"


@pytest.fixture(autouse=True)
def operator():
    return get_user_model().objects.create_superuser("ops", "ops@example.com", PASSWORD)


def login(client, password: str, *, username: str = "ops", address: str = "192.0.2.10"):
    return client.post(
        "/admin/login/?next=/admin/", {"username": username, "password": password}, REMOTE_ADDR=address
    )


def lock_out(client, **kwargs) -> None:
    for attempt in range(1, settings.AXES_FAILURE_LIMIT):
        response = login(client, f"wrong-{attempt}", **kwargs)
        assert response.status_code == 200 and "Please enter the correct username" in response.content.decode()
    locked = login(client, "wrong-last", **kwargs)
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()


def test_five_failures_lock_the_user_out_from_that_address(client):
    assert settings.AXES_FAILURE_LIMIT == 5
    lock_out(client)
    refused = login(client, PASSWORD)  # the right password does not help now
    assert refused.status_code == 429 and "_auth_user_id" not in client.session
    assert "ask an operator to run <code>python manage.py axes_reset</code>" in refused.content.decode()
    # Per user and address: the same user elsewhere, and another user here, still log in.
    assert login(client, PASSWORD, address="192.0.2.99").status_code == 302
    get_user_model().objects.create_superuser("other", "other@example.com", PASSWORD)
    client.logout()
    assert login(client, PASSWORD, username="other").status_code == 302


def test_the_lockout_ends_after_the_cool_off(client):
    lock_out(client)
    cool_off = timedelta(minutes=15)
    assert cool_off == settings.AXES_COOLOFF_TIME
    # The failures age past the cool-off (the clock is the database's attempt_time).
    aged = AccessAttempt.objects.get().attempt_time - cool_off - timedelta(seconds=1)
    AccessAttempt.objects.update(attempt_time=aged)
    response = login(client, PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_axes_reset_unlocks_at_once(client):
    lock_out(client)
    call_command("axes_reset", verbosity=0)
    assert login(client, PASSWORD).status_code == 302


def test_a_success_clears_the_earlier_failures(client):
    for attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        login(client, f"wrong-{attempt}")
    assert login(client, PASSWORD).status_code == 302
    client.logout()
    assert login(client, "wrong-again").status_code == 200  # counting starts again


def test_behind_a_proxy_the_address_is_the_one_it_forwarded(client, settings):
    """KONGFLOW_NUM_PROXIES=1: the last X-Forwarded-For entry; a spoofed first entry changes nothing."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    proxy = {"REMOTE_ADDR": "127.0.0.1"}
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            "/admin/login/",
            {"username": "ops", "password": f"wrong-{attempt}"},
            HTTP_X_FORWARDED_FOR=f"10.9.9.{attempt}, 198.51.100.7",
            **proxy,
        )
    assert AccessAttempt.objects.get().ip_address == "198.51.100.7"
    locked = client.post(
        "/admin/login/", {"username": "ops", "password": PASSWORD}, HTTP_X_FORWARDED_FOR="198.51.100.7", **proxy
    )
    assert locked.status_code == 429
