"""The shared filters every reporter and terminal print uses: CSV neutralisation by the first
non-blank character after NFKC, invisible characters (bidi, zero-width, tags) in terminal, table
and DOT output, and the expired-suppression warning."""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import replace

import pytest
from click.testing import CliRunner
from test_reporters import golden_report

import reports
from reports.dot import quote
from reports.text import csv_cell, dot_string, is_formula, printable, visible
from scanner.cli import main

LIVE_FORMULAS = [
    " =1+1", "  +cmd", "\t=1+1", "\r=1+1", "\u3000=1+1", "\u00a0@SUM(A1)",
    "\uff1d1+1", "\uff0b1", "\uff0d1", "\uff20SUM(A1)", " \uff1dHYPERLINK(\"x\")",
    "=1", "+1", "-1", "@x", "\ufe66cmd",  # small equals sign, NFKC '='
]
INERT = ["a=1", "1+1", "name@example.com", "", "plain", "x-1"]
INVISIBLE = ["\u202e", "\u202d", "\u2066", "\u2067", "\u2068", "\u2069", "\u200b", "\u200c",
             "\u200d", "\u200e", "\u200f", "\u2060", "\ufeff", "\u061c", "\u00ad", "\U000e0041",
             "\U000e007f", "\u2028", "\u2029", "\x1b", "\x9b", "\x00", "\u3164", "\u115f"]


@pytest.mark.parametrize("text", LIVE_FORMULAS)
def test_a_live_formula_is_neutralised(text):
    assert is_formula(text)
    assert csv_cell(text).startswith("'")


@pytest.mark.parametrize("text", INERT)
def test_inert_text_is_left_alone(text):
    assert csv_cell(text) == text


@pytest.mark.parametrize("char", INVISIBLE)
def test_invisible_characters_are_made_visible_in_every_context(char):
    text = f"allow{char}-ssh"
    for out in (printable(text), csv_cell(text), dot_string(text), quote(text), visible(text)):
        assert char not in out
        assert "?" in out
        assert not any(unicodedata.category(c) in ("Cc", "Cf") for c in out)


def test_printable_keeps_ordinary_unicode_and_one_line():
    assert printable("café 東京 Ω") == "café 東京 Ω"
    assert printable("a\nb\tc\r\nd") == "a b c d"


def test_dot_strings_cannot_break_out():
    out = dot_string('x" [label=<b>] \\"\n\u202e')
    assert out.startswith('"') and out.endswith('"')
    inner = out[1:-1]
    assert '"' not in inner.replace('\\"', "")
    assert "\n" not in inner and "\u202e" not in inner


HOSTILE_NAMES = [" =cmd|' /C calc'!A0", "\uff1dHYPERLINK(\"http://evil\")",
                 "admin\u202egnp.exe", "zero\u200bwidth\u2066iso", "tag\U000e0041s"]


@pytest.mark.parametrize("fmt", ["csv", "table", "markdown"])
def test_reporters_use_the_shared_filters(fmt):
    base = golden_report()
    findings = tuple(replace(f, title=name, resource_name=name)
                     for f, name in zip(base.findings, HOSTILE_NAMES, strict=False))
    out = reports.render(fmt, replace(base, findings=findings))
    text = out.decode() if isinstance(out, bytes) else out
    for char in ("\u202e", "\u200b", "\u2066", "\U000e0041"):
        assert char not in text, fmt
    if fmt == "csv":
        cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
        assert not [c for c in cells if is_formula(c)], [c for c in cells if is_formula(c)]


def test_the_expired_suppression_warning_is_filtered(tmp_path):
    suppressions = tmp_path / "suppressions.yaml"
    suppressions.write_text(
        'suppressions:\n'
        '  - {policy: "CW-*", resource: "*", reason: "old",\n'
        '     owner: "\\e[2J\\e]0;pwned\\a ops\\u202e@example.com", expires: 2020-01-01}\n')
    result = CliRunner().invoke(main, ["scan", "--provider", "demo", "--format", "json",
                                       "--suppressions", str(suppressions)])
    assert result.exit_code in (0, 3), result.output
    warnings = [line for line in result.stderr.splitlines() if "has expired" in line]
    assert warnings, result.stderr
    for line in warnings:
        assert "\x1b" not in line and "\x07" not in line and "\u202e" not in line
        assert "ops" in line
