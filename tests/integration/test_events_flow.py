"""Registry events end to end: the web process records them, a real worker (with beat) delivers them
to a real receiver on loopback; signatures are checked with the `standardwebhooks` package."""

from collections import OrderedDict

import pytest
import requests
from standardwebhooks import Webhook

from endpoints.models import RegistryEvent, WebhookAttempt, WebhookSubscription
from endpoints.services.events.signing import generate_secret
from tests.conftest import DEV_KEY
from tests.integration.conftest import FAST_RECOVERY
from tests.support.misbehaving import MisbehavingEndpoint
from tests.support.receiver import Receiver
from tests.support.shapes import BASIC_EVENTS
from tests.support.waiting import wait_for
from tests.support.web import WebProcess, register_endpoint
from tests.support.worker import Worker, assert_no_consumer, purge_queue

pytestmark = pytest.mark.django_db(transaction=True)

FAST_WEBHOOKS = {
    **FAST_RECOVERY,
    "KONGFLOW_WEBHOOK_RETRY_SCHEDULE": "0.5,1,1,1,1,1,1,1,1,1,1,1",
    "KONGFLOW_WEBHOOK_SWEEP_INTERVAL_SECONDS": "0.5",
}


@pytest.fixture(scope="module")
def celery_worker(django_db_setup):
    """Override: one worker with beat (the delivery sweeper) and short retry intervals."""
    assert_no_consumer()
    purge_queue()
    worker = Worker(beat=True, env=FAST_WEBHOOKS).start()
    yield worker
    worker.stop()
    purge_queue()


def api(live_api, method, path, **kwargs):
    return requests.request(
        method, f"{live_api}{path}", headers={"Authorization": f"Bearer {DEV_KEY}"}, timeout=30, **kwargs
    )


def subscribe(live_api, url, events=("*",)):
    response = api(live_api, "POST", "/api/v1/event-subscriptions", json={"url": url, "events": list(events)})
    assert response.status_code == 201, response.text
    return response.json()


def first_deliveries(received):
    """Each webhook-id once, in the order first received (redeliveries are allowed, at least once)."""
    firsts = OrderedDict()
    for item in received:
        firsts.setdefault(item.headers["webhook-id"], item)
    return list(firsts.values())


def test_register_and_index_are_delivered_signed_and_in_order(live_api, dev_environment, sdk_basic):
    with Receiver() as receiver:
        subscription = subscribe(live_api, receiver.url)
        response = api(live_api, "POST", "/api/v1/endpoints", json={"id": "my-endpoint", "url": sdk_basic.url})
        assert response.status_code == 200, response.text
        wait_for(lambda: "endpoint.health_changed" in receiver.types(), timeout=60, what="the last event to arrive")
        received = first_deliveries(receiver.events())
    webhook = Webhook(subscription["secret"])
    bodies = [webhook.verify(item.body, item.headers) for item in received]
    assert [body["type"] for body in bodies] == BASIC_EVENTS
    assert [body["data"]["sequence"] for body in bodies] == [1, 2, 3, 4, 5, 6]
    events = list(RegistryEvent.objects.order_by("sequence"))
    assert [item.headers["webhook-id"] for item in received] == [event.id for event in events]
    assert bodies[-2]["data"]["index"]["id"] == response.json()["endpointIndex"]["id"]

    # the pull API tells the same story
    pulled = api(live_api, "GET", "/api/v1/registry-events?after=0&limit=3").json()
    rest = api(live_api, "GET", f"/api/v1/registry-events?after={pulled['next']}").json()
    assert [e["type"] for e in pulled["data"] + rest["data"]] == BASIC_EVENTS
    assert pulled["hasMore"] and not rest["hasMore"]


def test_a_broken_endpoint_is_reported_as_index_failed(live_api, dev_environment):
    def broken(handler):
        if handler.headers.get("x-trigger-action") == "PING":
            handler.json(200, {"ok": True})
        else:
            handler._send(200, b"<html>not a trigger handler</html>", "text/html")

    with Receiver() as receiver, MisbehavingEndpoint() as endpoint:
        subscription = subscribe(live_api, receiver.url, events=["endpoint.registered", "endpoint.index_failed"])
        url = endpoint.route("/api/trigger", broken)
        response = api(live_api, "POST", "/api/v1/endpoints", json={"id": "broken", "url": url})
        assert response.status_code == 200, response.text
        wait_for(lambda: "endpoint.index_failed" in receiver.types(), timeout=60, what="index_failed to arrive")
        received = first_deliveries(receiver.events())
    bodies = [Webhook(subscription["secret"]).verify(item.body, item.headers) for item in received]
    assert [body["type"] for body in bodies] == ["endpoint.registered", "endpoint.index_failed"]
    assert bodies[1]["data"]["error"]["code"] == "INVALID_JSON"
    assert bodies[1]["data"]["endpoint"]["slug"] == "broken"


def test_a_receiver_down_then_up_gets_everything_in_order_after_retries(live_api, dev_environment, sdk_basic):
    receiver = Receiver().start()
    port_url = receiver.url
    receiver.stop()  # down: connections are refused
    subscription = subscribe(live_api, port_url)
    response = api(live_api, "POST", "/api/v1/endpoints", json={"id": "my-endpoint", "url": sdk_basic.url})
    assert response.status_code == 200, response.text
    wait_for(
        lambda: WebhookAttempt.objects.filter(succeeded=False).count() >= 3,
        timeout=60,
        what="failed attempts while the receiver is down",
    )
    assert not WebhookAttempt.objects.filter(succeeded=True).exists()
    receiver.start()  # up again, same port
    try:
        wait_for(lambda: receiver.types().count("endpoint.indexed") >= 1, timeout=90, what="the backlog")
        wait_for(lambda: len(first_deliveries(receiver.events())) == 6, timeout=30, what="all six events")
        received = receiver.events()
    finally:
        receiver.stop()
    firsts = first_deliveries(received)
    assert [item.type for item in firsts] == BASIC_EVENTS
    assert [item.sequence for item in firsts] == [1, 2, 3, 4, 5, 6]
    events = {event.id: event.sequence for event in RegistryEvent.objects.all()}
    assert {item.headers["webhook-id"] for item in received} == set(events)  # nothing lost, nothing foreign
    for item in received:  # a redelivery (if any) is the same event under the same id
        assert events[item.headers["webhook-id"]] == item.sequence
        Webhook(subscription["secret"]).verify(item.body, item.headers)
    assert WebhookAttempt.objects.filter(succeeded=False).count() >= 3


def test_events_committed_while_the_broker_is_down_are_delivered_by_the_sweeper(
    dev_environment, sdk_basic, celery_worker
):
    with Receiver() as receiver:
        subscription = WebhookSubscription.objects.create(
            environment=dev_environment, url=receiver.url, events=["*"], secret=generate_secret()
        )
        with WebProcess(env={"CELERY_BROKER_URL": "redis://127.0.0.1:1/0"}) as web:
            response = register_endpoint(web.url, slug="my-endpoint", url=sdk_basic.url, api_key=DEV_KEY)
        assert response.status_code == 200, response.text
        assert "events.delivery.dispatch_failed" in web.log_path.read_text()
        # the beat sweepers re-dispatch the index and the deliveries
        wait_for(lambda: "endpoint.health_changed" in receiver.types(), timeout=90, what="the sweepers to catch up")
        received = first_deliveries(receiver.events())
    bodies = [Webhook(subscription.secret).verify(item.body, item.headers) for item in received]
    assert [body["type"] for body in bodies] == BASIC_EVENTS
