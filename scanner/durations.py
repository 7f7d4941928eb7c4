"""Durations written the way operators write them: ``90s``, ``30m``, ``2h``."""

from __future__ import annotations

import re

UNITS = {"s": 1, "m": 60, "h": 3600}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smh])\s*$", re.IGNORECASE)


def parse_duration(text: str) -> float:
    """Seconds in ``text``; raises ValueError with a message fit for the user.

    A unit is required: a bare ``30`` could mean seconds or minutes, and a deadline misread by
    a factor of 60 either cuts a scan short or lets it run for hours.
    """
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration: write a number and a unit "
                         "(s, m or h), for example 90s, 30m or 2h")
    seconds = float(match.group(1)) * UNITS[match.group(2).lower()]
    if seconds <= 0:
        raise ValueError(f"{text!r}: a duration must be longer than zero")
    return seconds
