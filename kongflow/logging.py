"""Log lines with their context. The message is a stable event name; context rides in `extra` and
in `log_context(...)` (ids of the endpoint, run or task being worked on), and is printed by both
formats: `text` (default) as `key=value` pairs after the event, `json` as one object per line.

Secret keys never belong in a record; as a last guard both formatters mask anything shaped like
one (`tr_dev_…abcd`, `whsec_…abcd`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Iterator
from contextvars import ContextVar, Token
from typing import Any

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}
_CONTEXT: ContextVar[dict[str, Any] | None] = ContextVar("kongflow_log_context", default=None)
_SECRET_KEY = re.compile(r"\b(tr_(?:dev|prod|stg|prev)_|whsec_)[A-Za-z0-9+/=]+")
# Printed first, in this order, when present; other context keys follow alphabetically.
_LEADING = ("action", "endpoint_id", "outcome", "status_code", "duration_ms", "index_id", "environment_id")


@contextlib.contextmanager
def log_context(**values: Any) -> Iterator[None]:
    """Add `values` to every record logged inside the block (nested blocks add to it)."""
    token = bind_context(**values)
    try:
        yield
    finally:
        unbind_context(token)


def bind_context(**values: Any) -> Token[dict[str, Any] | None]:
    """Like `log_context` for code that cannot wrap a block (Celery's task signals)."""
    return _CONTEXT.set({**(_CONTEXT.get() or {}), **{k: v for k, v in values.items() if v is not None}})


def unbind_context(token: Token[dict[str, Any] | None]) -> None:
    _CONTEXT.reset(token)


def clear_context() -> None:
    _CONTEXT.set(None)


class ContextFilter(logging.Filter):
    """Copies the current `log_context` onto the record (explicit `extra` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (_CONTEXT.get() or {}).items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


def record_context(record: logging.LogRecord, *, brief: bool = False) -> dict[str, Any]:
    """The record's context: everything that is not a standard LogRecord attribute. `brief` leaves
    out Celery's `data` (the task's arguments, already in its message)."""
    context = {key: value for key, value in vars(record).items() if key not in _STANDARD}
    if brief and (record.name or "").startswith("celery."):
        context.pop("data", None)
    ordered = {key: context.pop(key) for key in _LEADING if key in context}
    return {**ordered, **dict(sorted(context.items()))}


def mask_secret_keys(text: str) -> str:
    return _SECRET_KEY.sub(lambda m: f"{m.group(1)}…{m.group(0)[-4:]}", text)


def _text_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return json.dumps(text) if not text or re.search(r'[\s"=]', text) else text


class TextFormatter(logging.Formatter):
    """`2026-01-01 12:00:00,000 INFO endpointapi.client endpointapi.request action=PING outcome=ok …`"""

    def __init__(self, fmt: str | None = None, datefmt: str | None = None) -> None:
        super().__init__(fmt or "%(asctime)s %(levelname)s %(name)s %(message)s", datefmt)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        pairs = record_context(record, brief=True).items()
        context = " ".join(f"{key}={_text_value(value)}" for key, value in pairs)
        if context:
            head, sep, tail = line.partition("\n")  # a traceback stays below the first line
            line = f"{head} {context}{sep}{tail}"
        return mask_secret_keys(line)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "event": record.getMessage(),
        }
        line.update(record_context(record))
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return mask_secret_keys(json.dumps(line, default=str))
