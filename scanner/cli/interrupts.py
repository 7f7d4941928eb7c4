"""Ctrl-C and SIGTERM stop cloudwall at once, with the shell's exit codes (130, 143).

SIGTERM is what cron, systemd and Kubernetes send; it gets the same treatment as Ctrl-C: the
handler raises ``Interrupted`` in the main thread, which unwinds through every ``finally`` (an
output's temporary file is removed, a store transaction rolled back, queued scopes cancelled).
Requests already in flight run in worker threads that nothing waits for: ``finish`` ends the
process without joining them, once the streams are flushed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from typing import NoReturn


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM; ``exit_code`` is 128 + the signal number, as a shell reports it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.exit_code = 128 + signum


# The first signal received, whatever code path it unwound through (click turns an interrupt
# outside a command into "Aborted!" and exit 1; the shell's code must win).
received: int | None = None


def exit_code_for(exc: KeyboardInterrupt) -> int:
    return exc.exit_code if isinstance(exc, Interrupted) else 128 + signal.SIGINT


def _raise_interrupted(signum: int, _frame) -> None:
    global received
    if received is None:
        received = signum
    raise Interrupted(signum)


def install_handlers() -> None:
    """Route SIGINT and SIGTERM to ``Interrupted``; call once, from the main thread."""
    signal.signal(signal.SIGINT, _raise_interrupted)
    signal.signal(signal.SIGTERM, _raise_interrupted)


def stop_after_batch(stop: threading.Event) -> None:
    """``cloudwall watch``: the first SIGINT or SIGTERM sets ``stop`` (the watcher finishes
    its current batch, saves, and returns; the run still exits 130/143); a second one stops
    at once, as for every other command. Call from the main thread."""

    def handler(signum: int, frame) -> None:
        global received
        if stop.is_set():
            _raise_interrupted(signum, frame)
        if received is None:
            received = signum
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def final_code(code: int) -> int:
    """The exit code, or the shell's code for the signal that stopped the run."""
    return 128 + received if received is not None else code


def finish(code: int) -> NoReturn:
    """Exit with ``code``. When worker threads are still busy (an interrupt or a deadline left
    requests in flight), end the process without the interpreter's join of every executor
    thread, which would wait for those requests to answer or time out."""
    busy = [t for t in threading.enumerate()
            if t is not threading.main_thread() and t.is_alive() and not t.daemon]
    if not busy:
        sys.exit(code)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)
