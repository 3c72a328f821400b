"""The cyclic garbage collector, kept out of an index's way.

An index document of hundreds of jobs is tens of thousands of small dicts and lists, decoded,
validated, diffed and turned into rows within a fraction of a second. Each allocation burst lets the
collector traverse them (and, on a full collection, every object the process holds): measured on a
500-job first index, about a sixth of the run and most of its variance. They are trees, not cycles,
so reference counting frees them; pausing the collector for the run loses nothing but defers the
collection of whatever cyclic garbage the run makes (bounded by one run) to the next one after it.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_paused = 0  # runs in progress in this process (a threads pool runs several)
_restore = False  # whether the collector was enabled when the first of them started


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """No automatic cyclic collection while any run of this process is inside the block."""
    global _paused, _restore
    with _lock:
        if _paused == 0:
            _restore = gc.isenabled()
            gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _lock:
            _paused -= 1
            if _paused == 0 and _restore:
                gc.enable()
