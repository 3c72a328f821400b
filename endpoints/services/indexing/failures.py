"""How a run ends early: a recorded failure, or a fence telling this worker it lost the run."""

from __future__ import annotations

from typing import Any


class IndexFailure(Exception):
    def __init__(self, error: dict[str, Any], *, retryable: bool = False) -> None:
        super().__init__(error["message"])
        self.error = error
        self.retryable = retryable


class Fenced(Exception):
    """The run was taken over (recovered) while this worker was still on it."""
