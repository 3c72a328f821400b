"""Decoding endpoint answers: JSON.parse's semantics whichever decoder takes the body."""

from __future__ import annotations

import math

import pytest

from endpointapi.client import _decode_json


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"a": [1, 2.5, "x", true, null]}', {"a": [1, 2.5, "x", True, None]}),
        (b'"\\ud800"', "\ud800"),  # a lone surrogate: JSON.parse keeps it
        ('{"a": 1}'.encode("utf-16"), {"a": 1}),  # not UTF-8
        (b"9007199254740993", 9007199254740993),
        (b"-0", 0),
        (b"\xef\xbb\xbf{}", {}),  # a UTF-8 BOM, dropped as fetch's text decoding drops it
    ],
)
def test_decodes_what_json_parse_decodes(body: bytes, expected: object) -> None:
    assert _decode_json(body) == expected


def test_numbers_beyond_a_double_are_infinite_as_in_json_parse() -> None:
    assert _decode_json(b"1e400") == math.inf


@pytest.mark.parametrize("body", [b"NaN", b"[Infinity]", b"-Infinity", b"{", b"[1,]", b""])
def test_refuses_what_json_parse_refuses(body: bytes) -> None:
    with pytest.raises(ValueError):
        _decode_json(body)
