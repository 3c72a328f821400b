import json
import logging

from kongflow.logging import JsonFormatter
from tests.conftest import DEV_KEY


def test_json_lines_carry_the_event_and_its_context():
    record = logging.makeLogRecord(
        {"name": "endpoints", "levelname": "INFO", "msg": "endpoints.registered", "endpoint_id": "c1", "index_id": "c2"}
    )
    line = json.loads(JsonFormatter().format(record))
    assert line["event"] == "endpoints.registered"
    assert line["endpoint_id"] == "c1" and line["index_id"] == "c2"
    assert line["level"] == "INFO" and line["logger"] == "endpoints"


def test_registering_and_indexing_never_log_the_api_key(auth_client, sdk_basic, caplog):
    from endpoints.models import EndpointIndex
    from endpoints.services.indexing import endpoint_index_run

    caplog.set_level(logging.DEBUG)
    response = auth_client.post("/api/v1/endpoints", {"id": "my-endpoint", "url": sdk_basic.url}, format="json")
    endpoint_index_run(index_id=response.json()["endpointIndex"]["id"])
    assert EndpointIndex.objects.get().status == "SUCCESS"
    formatter = JsonFormatter()
    lines = [formatter.format(record) for record in caplog.records]
    assert any("endpointapi.request" in line for line in lines)
    assert not [line for line in lines if DEV_KEY in line]


def test_text_lines_carry_the_context_after_the_event():
    from kongflow.logging import TextFormatter

    record = logging.makeLogRecord(
        {
            "name": "endpointapi.client",
            "levelname": "WARNING",
            "msg": "endpointapi.request",
            "action": "INDEX_ENDPOINT",
            "outcome": "http_error",
            "status_code": 500,
            "duration_ms": 12,
            "url": "http://127.0.0.1:3000/api/trigger",
            "endpoint_id": "c1",
        }
    )
    line = TextFormatter().format(record)
    assert line.endswith(
        "WARNING endpointapi.client endpointapi.request action=INDEX_ENDPOINT endpoint_id=c1 outcome=http_error "
        "status_code=500 duration_ms=12 url=http://127.0.0.1:3000/api/trigger"
    )


def test_text_values_with_spaces_are_quoted_and_keys_are_masked():
    from kongflow.logging import JsonFormatter, TextFormatter

    record = logging.makeLogRecord({"msg": "x", "reason": "deploy of main", "note": f"key {DEV_KEY}"})
    line = TextFormatter().format(record)
    assert 'reason="deploy of main"' in line
    assert DEV_KEY not in line and "tr_dev_…0001" in line
    assert DEV_KEY not in JsonFormatter().format(record)


def test_log_context_reaches_every_record_inside_the_block():
    from kongflow.logging import ContextFilter, TextFormatter, log_context

    records = []
    handler = logging.Handler()
    handler.emit = records.append
    handler.addFilter(ContextFilter())
    log = logging.getLogger("kongflow.test.context")
    log.addHandler(handler)
    try:
        with log_context(index_id="i1", endpoint_id="e1"):
            log.warning("inside", extra={"endpoint_id": "explicit"})
        log.warning("outside")
    finally:
        log.removeHandler(handler)
    inside, outside = (TextFormatter().format(r) for r in records)
    assert "endpoint_id=explicit index_id=i1" in inside
    assert outside.endswith("outside")


def test_the_text_log_of_an_index_names_the_call_and_its_endpoint(auth_client, sdk_basic, caplog):
    from endpoints.services.indexing import endpoint_index_run
    from kongflow.logging import ContextFilter, TextFormatter

    caplog.handler.addFilter(ContextFilter())
    caplog.set_level(logging.INFO)
    response = auth_client.post("/api/v1/endpoints", {"id": "my-endpoint", "url": sdk_basic.url}, format="json")
    endpoint_id = response.json()["id"]
    endpoint_index_run(index_id=response.json()["endpointIndex"]["id"])
    lines = [TextFormatter().format(r) for r in caplog.records if r.getMessage() == "endpointapi.request"]
    ping, index = lines
    assert " endpointapi.request action=PING outcome=ok status_code=200 duration_ms=" in ping
    assert f"action=INDEX_ENDPOINT endpoint_id={endpoint_id} outcome=ok status_code=200" in index
    assert "environment_id=" in index and f"url={sdk_basic.url}" in index


def test_webhook_secrets_are_masked_too():
    from kongflow.logging import JsonFormatter, TextFormatter

    secret = "whsec_c2VjcmV0LXNpZ25pbmcta2V5LWJ5dGVzIQ=="
    record = logging.makeLogRecord({"msg": "x", "note": f"signing with {secret}"})
    for line in (TextFormatter().format(record), JsonFormatter().format(record)):
        assert secret not in line and "whsec_…IQ==" in line
