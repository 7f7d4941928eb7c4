"""Making untrusted strings (rule descriptions, names, tags, file contents) safe to show.

One function per output context, used by every reporter and every terminal print:

- :func:`printable` for terminals and plain-text tables: control characters (terminal escape
  sequences start with ESC or CSI) and the invisible characters that reorder or hide text on
  screen (bidi embeddings, overrides and isolates, zero-width characters, the BOM, Unicode tag
  characters, line and paragraph separators, invisible letters) become ``?``; tabs and line
  breaks become spaces, so one value stays on one line.
- :func:`csv_cell` for CSV: the same, then a cell whose first non-blank character after Unicode
  compatibility normalisation (NFKC, so full-width ``＝`` counts as ``=``) is ``=``, ``+``,
  ``-`` or ``@``, or that starts with a tab or carriage return, gets a leading ``'`` so no
  spreadsheet evaluates it.
- :func:`dot_string` for Graphviz DOT: a quoted string with the invisible characters replaced and
  backslashes, quotes and line breaks escaped.

Invisible means: Unicode categories Cc (controls), Cf (format: bidi controls, zero-width,
tags), Zl, Zp, Cs (lone surrogates) and Cn (unassigned, which a later Unicode may make a format
character), plus the letters that render as nothing (Hangul fillers, the braille blank).
"""

from __future__ import annotations

import unicodedata

_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Cn"})
_INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e")
_FORMULA_START = frozenset("=+-@")


def visible(text: object, keep: str = "") -> str:
    """``text`` with every invisible character (see the module) replaced by ``?``; characters
    in ``keep`` are left alone for the caller to handle."""
    value = str(text)
    if value.isprintable() and _INVISIBLE_LETTERS.isdisjoint(value):  # the common case, in C
        return value
    out = []
    for char in value:
        if char in keep:
            out.append(char)
        elif unicodedata.category(char) in _INVISIBLE_CATEGORIES or char in _INVISIBLE_LETTERS:
            out.append("?")
        else:
            out.append(char)
    return "".join(out)


def printable(text: object, limit: int | None = None) -> str:
    """One line for a terminal: tabs and line breaks as spaces, invisible characters as '?'."""
    value = str(text)
    for space in ("\r\n", "\n", "\r", "\t"):
        value = value.replace(space, " ")
    out = visible(value)
    if limit is not None and len(out) > limit:
        out = out[: limit - 1] + "…"
    return out


def is_formula(text: str) -> bool:
    """Would a spreadsheet read this cell as a formula (or a DDE payload)?"""
    if text[:1] in ("\t", "\r"):
        return True
    probe = unicodedata.normalize("NFKC", text).lstrip()
    return probe[:1] in _FORMULA_START


def csv_cell(value: object) -> str:
    """A CSV cell a spreadsheet will not evaluate (see :func:`is_formula`)."""
    if value is None:
        return ""
    raw = str(value)
    text = printable(raw)
    return "'" + text if is_formula(raw) or is_formula(text) else text


def dot_string(text: object) -> str:
    """A DOT quoted string that says exactly ``text`` (made visible), and nothing more."""
    value = visible(str(text).replace("\r\n", "\n").replace("\r", "\n"), keep="\n")
    value = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{value}"'
