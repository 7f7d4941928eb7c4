"""Plain-text tables for people, fitted to a terminal when there is one.

A table is never cut: written to a file or a pipe (``Style()``), every cell is shown whole on
one line; on a terminal (``Style(width=columns)``) the widest columns are wrapped onto more
lines until the table fits, and nothing is lost. Colour (severity) is added after the layout,
only when asked, so widths are computed on the text people read.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import click

from reports.text import printable

GAP = "  "
MIN_WIDTH = 8  # a wrapped column never gets narrower than this (or its header word)

# Severity colours: the two that demand action stand out, the rest stay readable.
SEVERITY_STYLES: dict[str, dict[str, object]] = {
    "critical": {"fg": "red", "bold": True},
    "high": {"fg": "red"},
    "medium": {"fg": "yellow"},
    "low": {"fg": "cyan"},
    "info": {"dim": True},
}
STATUS_STYLES: dict[str, dict[str, object]] = {
    "fail": {"fg": "red", "bold": True},
    "pass": {"fg": "green"},
    "not_assessed": {"fg": "yellow"},
    "not assessed": {"fg": "yellow"},
    "suppressed": {"dim": True},
}


@dataclass(frozen=True, slots=True)
class Style:
    """How a table is laid out: ``width`` None never wraps (files, pipes, ``--wide``)."""

    width: int | None = None
    color: bool = False

    def paint(self, text: str, styles: Mapping[str, Mapping[str, object]]) -> str:
        """``text`` in the colour its (lower-cased, stripped) value names, when colour is on."""
        found = styles.get(text.strip().lower()) if self.color else None
        return click.style(text, **found) if found else text

    def fill(self, text: str) -> str:
        """A line of prose (a title, the summary) wrapped at spaces to the terminal's width."""
        text = printable(text)
        return text if self.width is None else "\n".join(wrap(text, max(self.width, 20)))


PLAIN = Style()


def char_width(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def display_width(text: str) -> int:
    """Columns ``text`` takes on a terminal (wide East Asian characters take two)."""
    if text.isascii():
        return len(text)
    return sum(char_width(c) for c in text)


def _break_word(word: str, width: int) -> list[str]:
    pieces, current, used = [], "", 0
    for char in word:
        w = char_width(char)
        if used + w > width and current:
            pieces.append(current)
            current, used = "", 0
        current += char
        used += w
    return [*pieces, current] if current else pieces


def wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` columns: at spaces where possible, else within a
    long word (an id or a CIDR list), so nothing is ever dropped."""
    if display_width(text) <= width:
        return [text]
    lines: list[str] = []
    current, used = "", 0
    for word in text.split(" "):
        w = display_width(word)
        if current and used + 1 + w <= width:
            current, used = current + " " + word, used + 1 + w
            continue
        if current:
            lines.append(current)
            current, used = "", 0
        if w <= width:
            current, used = word, w
        else:
            *full, current = _break_word(word, width)
            lines.extend(full)
            used = display_width(current)
    lines.append(current)
    return lines


def fit(natural: Sequence[int], floors: Sequence[int], budget: int) -> list[int]:
    """Column widths that fit ``budget``: the widest columns give way first, down to their
    floors (largest cap C with sum(max(floor, min(width, C))) <= budget)."""
    if sum(natural) <= budget:
        return list(natural)

    def total(cap: int) -> int:
        return sum(max(f, min(w, cap)) for w, f in zip(natural, floors, strict=True))

    low, high = 0, max(natural)
    while low < high:
        mid = (low + high + 1) // 2
        if total(mid) <= budget:
            low = mid
        else:
            high = mid - 1
    return [max(f, min(w, low)) for w, f in zip(natural, floors, strict=True)]


Styles = Mapping[str, Mapping[str, object]] | Callable[[str], Mapping[str, object] | None]


def _style_of(styles: Styles, text: str) -> Mapping[str, object] | None:
    if callable(styles):
        return styles(text)
    return styles.get(text.strip().lower())


def grid(headers: Sequence[str], rows: Sequence[Sequence[object]], style: Style = PLAIN,
         paint: Mapping[int, Styles] | None = None, keep: Sequence[int] = ()) -> str:
    """A table: header, a rule of dashes, one row per entry (more lines when wrapped).

    Every cell is made printable (it may come from the cloud). ``paint`` maps a column index
    to the styles of its values (``SEVERITY_STYLES``, or a function of the cell's text), applied
    only when ``style.color``.
    Columns in ``keep`` (ids, severities) are wrapped only when the others cannot give way
    enough."""
    cells = [[printable(cell) for cell in row] for row in rows]
    heads = [printable(h) for h in headers]
    count = len(heads)
    natural = [max([display_width(heads[i])] + [display_width(r[i]) for r in cells])
               for i in range(count)]
    widths = natural
    if style.width is not None:
        budget = max(1, style.width - len(GAP) * (count - 1))
        floors = [min(natural[i], max(MIN_WIDTH, *(display_width(w) for w in heads[i].split())))
                  for i in range(count)]
        kept = [natural[i] if i in keep else floors[i] for i in range(count)]
        widths = fit(natural, kept if sum(kept) <= budget else floors, budget)
    paint = paint if style.color and paint else {}
    lines = [_line([[h] for h in heads], widths, [None] * count),
             GAP.join("-" * w for w in widths)]
    for row in cells:
        wrapped = [wrap(cell, widths[i]) for i, cell in enumerate(row)]
        colours = [_style_of(paint[i], cell) if i in paint else None
                   for i, cell in enumerate(row)]
        lines.append(_line(wrapped, widths, colours))
    return "\n".join(lines)


def _line(columns: list[list[str]], widths: Sequence[int],
          colours: Sequence[Mapping[str, object] | None]) -> str:
    height = max(len(c) for c in columns)
    out = []
    for n in range(height):
        parts = []
        for i, lines in enumerate(columns):
            text = lines[n] if n < len(lines) else ""
            pad = " " * (widths[i] - display_width(text))
            colour = colours[i]
            parts.append((click.style(text, **colour) if colour and text else text) + pad)
        out.append(GAP.join(parts).rstrip())
    return "\n".join(out)
