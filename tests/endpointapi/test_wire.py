"""Validation straight to the wire dict (`parse_wire`) is `parse(...).to_wire()`, byte for byte."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from pydantic import ConfigDict, model_validator

from endpointapi.schemas import IndexDocument, WireModel, parse, parse_wire
from endpointapi.wire import UnsupportedSchema, wire_validator
from tests.endpointapi.documents import ACME, document, interval_job, job
from tests.endpointapi.test_schemas import INVALID, VALID

SOURCE_V2 = {"version": "2", "channel": "HTTP", "key": "k", "options": {"event": ["push"]}, "integration": ACME}
EVERY_SHAPE = document(
    jobs=[
        job(id="a", internal=True, concurrencyLimit=2),
        job(id="b", trigger={"type": "invoke"}, concurrencyLimit={"id": "g", "limit": 1}),
        job(id="c", trigger={"type": "dynamic", "id": "dyn"}, integrations={"acme": ACME}),
        interval_job(60.0),
        job(id="e", trigger={"type": "scheduled", "schedule": {"type": "cron", "options": {"cron": "* * * * *"}}}),
    ],
    sources=[
        SOURCE_V2,
        {"channel": "SQS", "key": "old", "events": ["a"], "integration": ACME, "params": {"x": [1, None]}},
    ],
    webhooks=[
        {"key": "w", "config": {"e": ["x"]}, "integration": ACME, "httpEndpoint": {"id": "h"}, "params": None},
    ],
    dynamicTriggers=[
        {"id": "dyn", "jobs": [{"id": "c", "version": "1"}], "registerSourceJob": {"id": "r", "version": "1"}}
    ],
    dynamicSchedules=[{"id": "ds", "jobs": [{"id": "e", "version": "1"}]}],
    httpEndpoints=[
        {
            "id": "h",
            "version": "1",
            "enabled": True,
            "event": {
                "name": "x",
                "title": "E",
                "source": "s",
                "icon": "i",
                "properties": [{"label": "l", "text": "t"}],
            },
            "immediateResponseFilter": {"method": ["POST"]},
            "source": "s",
        }
    ],
)
BY_NAME = document(jobs=[job(start_position="initial", preprocess_runs=True, concurrency_limit=4)])
NAME_AND_ALIAS = document(jobs=[job(preprocessRuns=False, preprocess_runs=True)])
CASES = {**VALID, "every_shape": EVERY_SHAPE, "by_python_name": BY_NAME, "name_and_alias": NAME_AND_ALIAS}


@pytest.mark.parametrize("name", CASES)
def test_valid_documents_give_the_models_dump(name: str) -> None:
    data, issues = parse_wire(IndexDocument, CASES[name])
    model, _ = parse(IndexDocument, CASES[name])
    assert issues == [] and model is not None
    # Bytes compare key order and JSON types (5 and 5.0, 1 and true), not only equality.
    assert orjson.dumps(data) == orjson.dumps(model.to_wire())


@pytest.mark.parametrize("name", INVALID)
def test_invalid_documents_report_the_models_issues(name: str) -> None:
    assert parse_wire(IndexDocument, INVALID[name]) == (None, parse(IndexDocument, INVALID[name])[1])


def test_the_input_is_left_as_it_was() -> None:
    body = document(jobs=[job(extra=1)])
    before = orjson.dumps(body)
    data, _ = parse_wire(IndexDocument, body)
    assert orjson.dumps(body) == before
    assert data is not None and "internal" in data["jobs"][0] and "internal" not in body["jobs"][0]


class _After(WireModel):
    name: str

    @model_validator(mode="after")
    def _check(self) -> _After:
        return self


class _Wrap(WireModel):
    name: str

    @model_validator(mode="wrap")
    @classmethod
    def _check(cls, data: Any, handler: Any) -> Any:
        return handler(data)  # a wrap validator may read the model it gets back


class _Extra(WireModel):
    model_config = ConfigDict(extra="allow")
    name: str


@pytest.mark.parametrize("model", [_After, _Wrap, _Extra])
def test_models_it_cannot_mirror_exactly_are_refused(model: Any) -> None:
    with pytest.raises(UnsupportedSchema):
        wire_validator(model)
