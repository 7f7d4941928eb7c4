"""Terminal tables: wrapped to fit, never cut; widths in terminal columns; colour after layout."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from reports.grid import PLAIN, SEVERITY_STYLES, Style, display_width, fit, grid, wrap

ANSI = re.compile(r"\x1b\[[0-9;]*m")
words = st.text(alphabet=st.characters(codec="utf-8", categories=("L", "N", "P")),
                min_size=1, max_size=30)


@settings(max_examples=200, deadline=None)
@given(st.lists(words, min_size=1, max_size=12), st.integers(min_value=1, max_value=40))
def test_wrap_keeps_every_character_and_respects_the_width(parts, width):
    text = " ".join(parts)
    lines = wrap(text, width)
    assert all(display_width(line) <= max(width, 2) for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")


def test_wide_characters_count_twice():
    assert display_width("日本") == 4 and display_width("abc") == 3
    assert wrap("日本語テキスト", 4) == ["日本", "語テ", "キス", "ト"]


def test_fit_gives_the_widest_columns_away_first():
    assert fit([10, 50, 8], [8, 8, 8], 100) == [10, 50, 8]
    assert fit([10, 50, 8], [8, 8, 8], 40) == [10, 22, 8]
    assert sum(fit([30, 30, 30], [8, 8, 8], 40)) <= 40
    assert fit([30, 30], [20, 20], 10) == [20, 20]  # cannot fit: floors, nothing dropped


def test_a_plain_grid_never_wraps_and_a_fitted_one_keeps_ids_whole():
    rows = [["HIGH", "CW-NET-001", "a long title " * 8, "sg-0123456789abcdef"]]
    plain = grid(["severity", "policy", "title", "resource"], rows)
    assert len(plain.splitlines()) == 3 and "a long title " * 7 in plain
    fitted = grid(["severity", "policy", "title", "resource"], rows, Style(width=70),
                  keep=(0, 1, 3))
    lines = fitted.splitlines()
    assert all(display_width(line) <= 70 for line in lines) and len(lines) > 3
    assert "CW-NET-001" in lines[2] and "sg-0123456789abcdef" in lines[2]
    assert fitted.count("title") == 9  # the header and all eight, none cut


def test_colour_is_added_after_layout_and_only_when_asked():
    rows = [["CRITICAL", "x"], ["info", "y"]]
    plain = grid(["severity", "what"], rows, PLAIN, paint={0: SEVERITY_STYLES})
    coloured = grid(["severity", "what"], rows, Style(color=True), paint={0: SEVERITY_STYLES})
    assert "\x1b" not in plain
    assert ANSI.sub("", coloured) == plain and "\x1b[31m" in coloured


def test_cells_from_the_cloud_are_made_printable():
    table = grid(["name"], [["\x1b]0;pwned\x07evil\u202e"]])
    assert "\x1b" not in table and "\u202e" not in table and "evil" in table
