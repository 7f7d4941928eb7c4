"""The demo's audit-log times, placed after the baseline they follow.

Each cloud's recorded events keep their own spacing (the adversary's session), but are moved so
the first one falls just after ``start`` (the baseline's time): whenever the demo runs, the
story reads baseline -> changes -> the scan that sees them. Without ``start`` the recorded
times are kept (tests compare them with the clouds' own formats).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

AFTER_BASELINE = timedelta(seconds=1)  # the first change, this long after the baseline


def _parse(text: str) -> tuple[datetime, str]:
    """``2026-11-30T22:51:04.2317645Z`` -> (the whole seconds, ``.2317645``): clouds write
    more fractional digits than ``datetime`` keeps, so the fraction is carried as text."""
    body = text.removesuffix("Z")
    whole, dot, fraction = body.partition(".")
    moment = datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    return moment, (dot + fraction) if dot else ""


class Clock:
    """Moves recorded timestamps by one offset: ``start`` minus the first recorded time."""

    def __init__(self, first_recorded: str, start: datetime | None) -> None:
        if start is None:
            self.offset = timedelta(0)
        else:
            first, _ = _parse(first_recorded)
            target = start.astimezone(timezone.utc) + AFTER_BASELINE
            # Whole seconds, so the recorded fractions stay as they are.
            self.offset = timedelta(seconds=int((target - first).total_seconds()) + 1)

    def __call__(self, recorded: str) -> str:
        moment, fraction = _parse(recorded)
        return (moment + self.offset).strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"
