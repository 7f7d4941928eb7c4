"""A one-line progress bar on stderr, drawn only when stderr is a terminal."""

from __future__ import annotations

import sys

from providers.base import ProgressCallback
from reports.text import printable


def terminal_progress() -> ProgressCallback | None:
    if not sys.stderr.isatty():
        return None

    def draw(label: str, done: int, total: int) -> None:
        width = 30
        filled = int(width * done / max(total, 1))
        bar = "#" * filled + "-" * (width - filled)
        sys.stderr.write(f"\r[{bar}] {done}/{total} {printable(label, 40):<40}")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return draw
