"""The collector pause: off inside, back as it was after, whatever happens inside."""

from __future__ import annotations

import gc

import pytest

from scanner import gcpause
from scanner.gcpause import collector_paused


@pytest.fixture(autouse=True)
def _collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_the_collector_is_off_inside_and_on_after():
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_an_error_inside_still_turns_it_back_on():
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_nested_pauses_resume_only_at_the_outermost():
    with collector_paused():
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_already_off_is_left_off():
    gc.disable()
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_what_the_block_kept_is_aged_into_the_oldest_generation():
    # Else the first collection after the block would walk all of it.
    with collector_paused():
        kept = [[] for _ in range(100)]
    young = {id(o) for o in gc.get_objects(generation=0)}
    assert not any(id(o) in young for o in kept)
    oldest = {id(o) for o in gc.get_objects(generation=2)}
    assert all(id(o) in oldest for o in kept)


def test_objects_frozen_elsewhere_stay_frozen():
    # Frozen under the module's lock: a pause ending in another thread of the test process
    # (one left running by an earlier test) then sees it frozen, as it would any freeze made
    # before its check. (The frozen count itself moves as frozen objects die anywhere.)
    frozen = [[] for _ in range(20)]
    with gcpause._lock:
        gc.freeze()
    try:
        with collector_paused():
            [[] for _ in range(10)]
        tracked = {id(o) for o in gc.get_objects()}  # every generation but the frozen one
        assert not any(id(o) in tracked for o in frozen)
    finally:
        gc.unfreeze()
