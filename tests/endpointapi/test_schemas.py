"""Index document parsing: the union of SDK 2.0-2.3 shapes, zod's defaults and zod's error texts."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from endpointapi.errors import InvalidIndexDocument, Issue, friendly_index_message
from endpointapi.schemas import (
    IndexDocument,
    PongResponse,
    ScheduledTrigger,
    SourceMetadataV1,
    SourceMetadataV2,
    parse,
)
from tests.endpointapi.documents import ACME, document, interval_job, job, sdk20_document


def _data(body: Any) -> dict[str, Any]:
    parsed, issues = parse(IndexDocument, body)
    assert issues == []
    assert parsed is not None
    return parsed.to_wire()


def test_sdk23_document_round_trips_with_internal_default():
    body = document()
    data = _data(body)
    expected = copy.deepcopy(body)
    expected["jobs"][0]["internal"] = False
    assert data == expected


def test_unknown_keys_are_dropped_everywhere():
    noisy = document(
        futureTopLevel={"x": 1},
        jobs=[
            job(
                futureJobKey=True,
                event={"name": "e", "title": "E", "source": "s", "icon": "i", "newKey": 1},
                integrations={"acme": {**ACME, "scopes": ["repo"]}},
            )
        ],
    )
    data = _data(noisy)
    assert "futureTopLevel" not in data
    assert "futureJobKey" not in data["jobs"][0]
    assert data["jobs"][0]["event"] == {"name": "e", "title": "E", "source": "s", "icon": "i"}
    assert data["jobs"][0]["integrations"]["acme"] == ACME


def test_sdk20_document_gets_source_version_and_empty_new_lists():
    parsed, issues = parse(IndexDocument, sdk20_document())
    assert issues == []
    assert parsed is not None
    source = parsed.sources[0]
    assert isinstance(source, SourceMetadataV1)
    assert source.events == ["issues", "push"]
    data = parsed.to_wire()
    assert data["sources"][0]["version"] == "1"
    assert data["webhooks"] == [] and data["httpEndpoints"] == []
    assert [j["internal"] for j in data["jobs"]] == [False, True, False, False]
    assert list(data) == ["jobs", "sources", "webhooks", "dynamicTriggers", "dynamicSchedules", "httpEndpoints"]


def test_all_trigger_types_auth_sources_and_concurrency_limits_are_accepted():
    body = document(
        jobs=[
            job(id="a", concurrencyLimit=5),
            job(
                id="b",
                concurrencyLimit={"id": "alerts", "limit": 2},
                integrations={"r": {**ACME, "authSource": "RESOLVER"}, "l": {**ACME, "authSource": "LOCAL"}},
            ),
            job(id="c", trigger={"type": "invoke"}),
            job(id="d", trigger={"type": "dynamic", "id": "dyn"}),
            interval_job(20, "e"),
            interval_job(2_592_000, "f"),
            job(
                id="g",
                trigger={
                    "type": "static",
                    "title": ["x", "y"],
                    "link": "docs/x",
                    "help": {"noRuns": {"text": "Send an event", "link": "https://x"}},
                    "rule": {"event": ["x", "y"], "source": "s"},
                },
            ),
        ],
        sources=[
            {
                "version": "2",
                "channel": "SQS",
                "key": "k",
                "params": None,
                "options": {"event": ["a", "a"]},
                "integration": ACME,
            }
        ],
    )
    parsed, issues = parse(IndexDocument, body)
    assert issues == []
    assert parsed is not None
    assert [type(j.trigger).__name__ for j in parsed.jobs] == [
        "StaticTrigger",
        "StaticTrigger",
        "InvokeTrigger",
        "DynamicTrigger",
        "ScheduledTrigger",
        "ScheduledTrigger",
        "StaticTrigger",
    ]
    assert parsed.jobs[0].concurrency_limit == 5
    assert parsed.jobs[1].concurrency_limit.limit == 2
    assert isinstance(parsed.sources[0], SourceMetadataV2)
    trigger = parsed.jobs[4].trigger
    assert isinstance(trigger, ScheduledTrigger) and trigger.schedule.options.seconds == 20


def test_opaque_values_keep_json_null_and_absent_stays_absent():
    body = document(
        jobs=[
            job(
                event={
                    "name": "e",
                    "title": "E",
                    "source": "s",
                    "icon": "i",
                    "schema": None,
                    "examples": [{"id": "x", "name": "X", "payload": None}, {"id": "y", "name": "Y"}],
                }
            )
        ],
        sources=[{"version": "2", "channel": "HTTP", "key": "k", "params": None, "options": {}, "integration": ACME}],
    )
    data = _data(body)
    assert data["jobs"][0]["event"]["schema"] is None
    assert data["jobs"][0]["event"]["examples"] == [{"id": "x", "name": "X", "payload": None}, {"id": "y", "name": "Y"}]
    assert data["sources"][0]["params"] is None
    assert "concurrencyLimit" not in data["jobs"][0]
    assert "registerSourceJob" not in data["sources"][0]
    json.dumps(data)  # JSON-able


def test_interval_of_10s_gives_the_friendly_job_message():
    body = document(jobs=[job(), interval_job(10)])
    parsed, issues = parse(IndexDocument, body)
    assert parsed is None
    assert issues == [
        Issue(
            ("jobs", 1, "trigger", "schedule", "options", "seconds"),
            "Number must be greater than or equal to 20",
            "too_small",
        )
    ]
    error = InvalidIndexDocument.from_issues(issues, body)
    assert error.message == (
        "Your Jobs have issues:\n"
        '- Job "every-tick": Number must be greater than or equal to 20 at "trigger.schedule.options.seconds".'
    )
    assert error.code == "INVALID_DOCUMENT" and error.retryable is False
    assert json.loads(error.raw) == [
        {
            "code": "too_small",
            "minimum": 20,
            "type": "number",
            "inclusive": True,
            "exact": False,
            "path": ["jobs", 1, "trigger", "schedule", "options", "seconds"],
            "message": "Number must be greater than or equal to 20",
        }
    ]


def test_several_job_issues_one_line_each_and_non_job_issues_left_out():
    body = document(
        jobs=[job(id="a", enabled="yes"), interval_job(3_000_000, "b")],
        sources=[{"version": "3"}],
    )
    _, issues = parse(IndexDocument, body)
    assert friendly_index_message(issues, body) == (
        "Your Jobs have issues:\n"
        '- Job "a": Expected boolean, received string at "enabled".\n'
        '- Job "b": Number must be less than or equal to 2592000 at "trigger.schedule.options.seconds".'
    )


def test_non_job_issues_get_the_generic_message():
    body = document(sources=[{"version": "3"}], dynamicSchedules=[{"id": "d"}])
    _, issues = parse(IndexDocument, body)
    assert friendly_index_message(issues, body) == (
        "There's an issue with the format of your Jobs: "
        "Invalid discriminator value. Expected '1' | '2' at \"sources[0].version\"; "
        'Required at "dynamicSchedules[0].jobs"'
    )


def test_job_without_id_and_non_object_body():
    body = document(jobs=[{"name": "x"}])
    _, issues = parse(IndexDocument, body)
    assert friendly_index_message(issues, body).startswith(
        'Your Jobs have issues:\n- Job "undefined": Required at "id".'
    )
    _, issues = parse(IndexDocument, [])
    assert friendly_index_message(issues, []) == (
        "There's an issue with the format of your Jobs: Expected object, received array"
    )


# -- zod as the oracle (needs node + the SDK fixture) -----------------------------------------------

INVALID = {
    "interval_10": document(jobs=[job(), interval_job(10)]),
    "interval_too_big": document(jobs=[interval_job(3_000_000)]),
    "interval_not_integer": document(jobs=[interval_job(30.5)]),
    "interval_string": document(jobs=[interval_job("30")]),
    "missing_name": document(jobs=[{k: v for k, v in job().items() if k != "name"}]),
    "enabled_string": document(jobs=[job(enabled="yes")]),
    "unknown_trigger_type": document(jobs=[job(trigger={"type": "cron"})]),
    "trigger_without_type": document(jobs=[job(trigger={})]),
    "trigger_missing": document(jobs=[{k: v for k, v in job().items() if k != "trigger"}]),
    "trigger_not_object": document(jobs=[job(trigger="static")]),
    "bad_auth_source": document(jobs=[job(integrations={"gh": {**ACME, "authSource": "FOO"}})]),
    "missing_auth_source": document(jobs=[job(integrations={"gh": {"id": "gh", "metadata": ACME["metadata"]}})]),
    "bad_start_position": document(jobs=[job(startPosition="now")]),
    "null_concurrency_limit": document(jobs=[job(concurrencyLimit=None)]),
    "zero_concurrency_limit": document(jobs=[job(concurrencyLimit=0)]),
    "fractional_concurrency_limit": document(jobs=[job(concurrencyLimit=2.5)]),
    "incomplete_concurrency_group": document(jobs=[job(concurrencyLimit={"id": "x"})]),
    "null_internal": document(jobs=[job(internal=None)]),
    "numeric_event_name": document(jobs=[job(event={"name": 5, "title": "E", "source": "s", "icon": "i"})]),
    "missing_event_name": document(jobs=[job(event={"title": "E", "source": "s", "icon": "i"})]),
    "string_filter": document(jobs=[job(event={"name": "x", "title": "E", "source": "s", "icon": "i", "filter": "x"})]),
    "bad_properties": document(
        jobs=[
            job(
                event={
                    "name": "x",
                    "title": "E",
                    "source": "s",
                    "icon": "i",
                    "properties": [{"label": "a"}, {"label": "b", "text": "t", "imageUrl": "u"}],
                }
            )
        ]
    ),
    "bad_static_title_and_help": document(
        jobs=[
            job(
                trigger={
                    "type": "static",
                    "title": ["a", 1],
                    "rule": {"event": "e", "source": "s"},
                    "help": {"noRuns": {}},
                }
            )
        ]
    ),
    "source_version_3": document(sources=[{"version": "3", "key": "k"}]),
    "v1_source_events_not_list": document(
        sources=[{"channel": "HTTP", "key": "k", "integration": ACME, "events": "push"}]
    ),
    "bad_channel": document(
        sources=[{"version": "2", "channel": "FTP", "key": "k", "integration": ACME, "options": {"event": ["x"]}}]
    ),
    "jobs_missing": {"sources": [], "dynamicTriggers": [], "dynamicSchedules": []},
    "jobs_not_list": document(jobs={}),
    "job_not_object": document(jobs=["nope"]),
    "null_webhooks": document(webhooks=None),
    "body_is_list": [],
    "body_is_null": None,
    "dynamic_schedule_job_id": document(dynamicSchedules=[{"id": "d", "jobs": [{"id": 1}]}]),
    "http_endpoint_fields": document(
        httpEndpoints=[
            {
                "id": "h",
                "version": "1",
                "enabled": True,
                "event": {"name": "x", "title": "E", "source": "s", "icon": "i"},
                "skipTriggeringRuns": "no",
            }
        ]
    ),
}

VALID = {
    "sdk23": document(),
    "sdk20": sdk20_document(),
    "unknown_keys": document(extra=1, jobs=[job(extra=2, trigger={"type": "invoke", "extra": 3})]),
    "nulls_in_any": document(
        sources=[{"version": "2", "channel": "HTTP", "key": "k", "params": None, "options": {}, "integration": ACME}]
    ),
    "limits": document(jobs=[job(concurrencyLimit=3.0), job(id="b", concurrencyLimit={"id": "g", "limit": 1.5})]),
}


@pytest.mark.integration
def test_issues_match_zod(zod):
    results = zod([("IndexEndpointResponseSchema", body) for body in INVALID.values()])
    mismatches = {}
    for name, body, expected in zip(INVALID, INVALID.values(), results, strict=True):
        assert expected["success"] is False, name
        _, issues = parse(IndexDocument, body)
        ours = [(list(issue.path), issue.message) for issue in issues]
        theirs = [(issue["path"], issue["message"]) for issue in expected["issues"]]
        if ours != theirs:
            mismatches[name] = (ours, theirs)
    assert mismatches == {}


@pytest.mark.integration
def test_index_data_matches_zod_output(zod):
    results = zod([("IndexEndpointResponseSchema", body) for body in VALID.values()])
    for name, body, expected in zip(VALID, VALID.values(), results, strict=True):
        assert expected["success"] is True, name
        zod_data = expected["data"]
        zod_data.setdefault("webhooks", [])  # our one documented addition: both lists always present
        zod_data.setdefault("httpEndpoints", [])
        assert _data(body) == zod_data, name


@pytest.mark.integration
def test_pong_issues_serialise_like_zod(zod):
    bodies = [{}, {"ok": False}, {"ok": "true"}, [], {"ok": True, "triggerVersion": 1}]
    results = zod([("PongResponseSchema", body) for body in bodies])
    for body, expected in zip(bodies, results, strict=True):
        _, issues = parse(PongResponse, body)
        assert [issue.to_json() for issue in issues] == expected["issues"], body


def _python_serializers(schema: Any) -> list[str]:
    """Where a core schema serializes through a Python function."""
    found: list[str] = []
    if isinstance(schema, dict):
        serialization = schema.get("serialization")
        if isinstance(serialization, dict) and serialization.get("type", "").startswith("function-"):
            found.append(f"{schema.get('type')}: {serialization.get('function')}")
        for value in schema.values():
            found += _python_serializers(value)
    elif isinstance(schema, list):
        for value in schema:
            found += _python_serializers(value)
    return found


def test_to_wire_calls_no_python_function_per_value():
    # pydantic's PlainValidator serializes through a Python lambda per value: a 500-job document's
    # to_wire() then cost as much as its validation.
    assert _python_serializers(IndexDocument.__pydantic_core_schema__) == []


def test_checked_values_serialize_as_their_type():
    data = _data(document(jobs=[job(id="a", concurrencyLimit=5.0, enabled=True, preprocessRuns=False)]))
    limit = data["jobs"][0]["concurrencyLimit"]
    assert limit == 5 and type(limit) is int  # zod's .int() accepts 5.0; JSON.stringify writes 5
    assert data["jobs"][0]["enabled"] is True and data["jobs"][0]["preprocessRuns"] is False
    assert json.dumps(data["jobs"][0]["concurrencyLimit"]) == "5"
