"""Geometry of the charts the HTML reports draw as inline SVG.

Pure functions from counts to coordinates; the templates only draw what these return, so no
markup is ever built from strings. Coordinates are rounded to one decimal, so the same counts
always give the same page.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def _r(value: float) -> float:
    return round(value, 1) + 0.0  # + 0.0: never "-0.0"


@dataclass(frozen=True, slots=True)
class Segment:
    x: float
    width: float
    css: str  # class that colours it (a severity, an effect)
    count: int
    title: str  # tooltip: what the segment counts


@dataclass(frozen=True, slots=True)
class BarRow:
    label: str
    y: float
    total: int
    segments: tuple[Segment, ...]
    total_x: float  # where the total is written, right of the bar


@dataclass(frozen=True, slots=True)
class BarChart:
    title: str
    width: int
    height: int
    label_width: int
    bar_height: int
    rows: tuple[BarRow, ...]

    @property
    def empty(self) -> bool:
        return not any(row.total for row in self.rows)


def bar_chart(title: str, rows: Sequence[tuple[str, Sequence[tuple[str, int, str]]]],
              width: int = 360, label_width: int = 86, bar_height: int = 18,
              gap: int = 8) -> BarChart:
    """Horizontal bars, one per ``(label, [(css, count, title), ...])``, stacked by segment and
    scaled to the longest bar."""
    value_width = 44
    longest = max((sum(c for _, c, _ in segments) for _, segments in rows), default=0)
    scale = (width - label_width - value_width) / longest if longest else 0.0
    placed = []
    for i, (label, segments) in enumerate(rows):
        x = float(label_width)
        parts = []
        for css, count, what in segments:
            if count <= 0:
                continue
            length = max(count * scale, 2.0)  # a count of one is still visible
            parts.append(Segment(_r(x), _r(length), css, count, what))
            x += length
        total = sum(s.count for s in parts)
        placed.append(BarRow(label, _r(i * (bar_height + gap)), total, tuple(parts), _r(x + 6)))
    height = len(rows) * (bar_height + gap) - gap if rows else 0
    return BarChart(title, width, max(height, 0), label_width, bar_height, tuple(placed))


def nice_ceiling(value: float) -> tuple[int, int]:
    """A round axis maximum at or above ``value`` and its tick step (1, 2 or 5 times 10^k)."""
    if value <= 0:
        return 1, 1
    raw = value / 5
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    step = max(int(step), 1)
    return int(math.ceil(value / step) * step), step


@dataclass(frozen=True, slots=True)
class Point:
    x: float
    y: float
    value: int
    label: str  # tooltip: x label and value


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    css: str
    points: tuple[Point, ...]
    path: str  # SVG path data through the points
    last: int


@dataclass(frozen=True, slots=True)
class Tick:
    at: float
    label: str


@dataclass(frozen=True, slots=True)
class LineChart:
    title: str
    width: int
    height: int
    left: int
    top: int
    right: int
    bottom: int
    series: tuple[Series, ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]


def line_chart(title: str, x_labels: Sequence[str],
               series: Sequence[tuple[str, str, Sequence[int | None]]],
               width: int = 760, height: int = 260, max_x_ticks: int = 8) -> LineChart:
    """One line per ``(name, css, values)`` over ``x_labels`` (oldest first). A ``None`` value
    (nothing to count there) leaves a gap in its line, never a zero."""
    left, top, right, bottom = 44, 12, width - 12, height - 28
    top_value, step = nice_ceiling(max((max((x for x in v if x is not None), default=0)
                                        for _, _, v in series), default=0))
    count = len(x_labels)

    def x_at(i: int) -> float:
        return _r(left + (right - left) * (i / (count - 1) if count > 1 else 0.5))

    def y_at(value: int) -> float:
        return _r(bottom - (bottom - top) * value / top_value)

    drawn = []
    for name, css, values in series:
        points = []
        path = []
        pen_down = False
        for i, v in enumerate(values):
            if v is None:
                pen_down = False
                continue
            point = Point(x_at(i), y_at(v), v, f"{x_labels[i]}: {v} {name}")
            path.append(("L" if pen_down else "M") + f"{point.x} {point.y}")
            points.append(point)
            pen_down = True
        last = next((v for v in reversed(values) if v is not None), 0)
        drawn.append(Series(name, css, tuple(points), " ".join(path), last))
    every = max(1, math.ceil(count / max_x_ticks))
    x_ticks = tuple(Tick(x_at(i), x_labels[i]) for i in range(0, count, every))
    y_ticks = tuple(Tick(y_at(v), str(v)) for v in range(0, top_value + 1, step))
    return LineChart(title, width, height, left, top, right, bottom, tuple(drawn), x_ticks,
                     y_ticks)
