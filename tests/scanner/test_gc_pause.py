"""The collector is paused inside the block only, and left as the caller had it."""

from __future__ import annotations

import gc

import pytest

from scanner.gc_pause import collector_paused


def test_paused_inside_and_running_again_after_even_on_an_exception():
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        assert not gc.isenabled()
        raise RuntimeError("stop")
    assert gc.isenabled()


def test_a_caller_that_disabled_it_keeps_it_disabled():
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
