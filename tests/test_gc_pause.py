"""The cyclic collector is paused while runs are in progress, and only then."""

from __future__ import annotations

import gc
import threading

from endpoints.services.indexing.memory import cyclic_gc_paused


def test_paused_inside_restored_after():
    assert gc.isenabled()
    with cyclic_gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_overlapping_runs_keep_it_paused_until_the_last_one_ends():
    first_in, release = threading.Event(), threading.Event()
    seen: list[bool] = []

    def first() -> None:
        with cyclic_gc_paused():
            first_in.set()
            release.wait(10)
            seen.append(gc.isenabled())

    thread = threading.Thread(target=first)
    thread.start()
    assert first_in.wait(10)
    with cyclic_gc_paused():
        pass
    assert not gc.isenabled()  # the first run is still in progress
    release.set()
    thread.join(10)
    assert seen == [False] and gc.isenabled()


def test_a_collector_disabled_by_someone_else_stays_disabled():
    gc.disable()
    try:
        with cyclic_gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_an_exception_still_restores_it():
    try:
        with cyclic_gc_paused():
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert gc.isenabled()
