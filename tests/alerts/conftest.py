import pytest

from tests.support.misbehaving import VALID_DOCUMENT, MisbehavingEndpoint
from tests.support.receiver import Receiver
from tests.support.smtp import SmtpServer

SDK_HEADERS = {"trigger-version": "2023-09-29", "trigger-sdk-version": "2.3.19"}


@pytest.fixture
def smtp(settings):
    """Django's real SMTP backend, pointed at a real SMTP server on loopback."""
    with SmtpServer() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.KONGFLOW_ALERT_FROM_EMAIL = "alerts@kongflow.test"
        yield server


@pytest.fixture
def slack():
    with Receiver() as running:
        yield running


class Flaky:
    """An endpoint that indexes fine while `ok`, and answers HTML (INVALID_JSON) otherwise."""

    def __init__(self, server: MisbehavingEndpoint) -> None:
        self.ok = True
        self.url = server.route("/api/trigger", self._answer)

    def _answer(self, handler) -> None:
        if self.ok:
            handler.json(200, VALID_DOCUMENT, headers=SDK_HEADERS)
        else:
            handler._send(200, b"<html>maintenance</html>", "text/html")


@pytest.fixture
def flaky():
    with MisbehavingEndpoint() as server:
        yield Flaky(server)
