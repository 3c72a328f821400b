import pytest

from tests.support.misbehaving import MisbehavingEndpoint, Switchable
from tests.support.receiver import Receiver
from tests.support.smtp import SmtpServer


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


@pytest.fixture
def flaky():
    """An endpoint that indexes fine while `healthy`, and answers HTML (INVALID_JSON) otherwise;
    its URL is `flaky.url`."""
    with MisbehavingEndpoint() as server:
        answer = Switchable(healthy=True)
        answer.url = server.route("/api/trigger", answer)
        yield answer
