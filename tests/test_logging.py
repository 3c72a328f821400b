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
