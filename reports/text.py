"""Making untrusted strings (rule descriptions, names, tags) safe to show."""

from __future__ import annotations

import re

# C0 and C1 controls (terminal escape sequences start with ESC or CSI), and the invisible
# formatting characters that reorder or hide text on screen (bidi overrides, zero-width, line
# separators), so a rule description cannot make a report say something it does not.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def printable(text: object, limit: int | None = None) -> str:
    """Replace control characters (terminal escape sequences included) with '?'."""
    out = _CONTROL.sub("?", str(text)).replace("\n", " ").replace("\t", " ")
    if limit is not None and len(out) > limit:
        out = out[: limit - 1] + "…"
    return out


def csv_cell(value: object) -> str:
    """A CSV cell a spreadsheet will not evaluate: a leading formula character gets a quote."""
    text = "" if value is None else printable(value)
    return "'" + text if text.startswith(_FORMULA_START) else text
