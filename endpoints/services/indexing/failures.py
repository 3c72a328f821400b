"""How a run ends early: a recorded failure, or a fence telling this worker it lost the run."""

from __future__ import annotations

from typing import Any


class IndexFailure(Exception):
    def __init__(
        self, error: dict[str, Any], *, retryable: bool = False, exchange: dict[str, Any] | None = None
    ) -> None:
        super().__init__(error["message"])
        self.error = error
        self.retryable = retryable
        #: The failed HTTP exchange (`endpointapi.Exchange.to_dict()`), stored on the run.
        self.exchange = exchange


class Fenced(Exception):
    """The run was taken over (recovered) while this worker was still on it."""
