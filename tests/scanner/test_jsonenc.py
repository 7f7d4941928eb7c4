"""The JSON encoder of every machine-readable document: compact and sorted by default, the
standard library's indented layout with --pretty, unsafe characters escaped, and a one-line
error (never a silently different document) for what JSON cannot hold exactly."""

from __future__ import annotations

import json
from enum import Enum

import pytest
from click.testing import CliRunner

from scanner.cli import main
from scanner.errors import EXIT_BUG
from scanner.jsonenc import EncodingError, encode, encode_lines, is_pretty, set_pretty

DOCUMENT = {
    "zeta": [1, 2, {"b": None, "a": True}],
    "alpha": {"nested": ("tuple", 3), "text": "café ☕ \"quoted\" \\ \n\t\x01"},
    "ratio": 0.25,
    "big": 2**63 - 1,
    "negative": -(2**63),
    "empty": {"list": [], "map": {}},
}


class Color(str, Enum):
    RED = "red"


@pytest.fixture(autouse=True)
def _compact():
    set_pretty(False)
    yield
    set_pretty(False)


def test_compact_sorted_and_the_same_value():
    data = encode(DOCUMENT)
    assert data.endswith(b"}\n") and b"\n" not in data[:-1] and b": " not in data
    assert json.loads(data) == json.loads(json.dumps(DOCUMENT))
    assert data == (json.dumps(DOCUMENT, sort_keys=True, ensure_ascii=False,
                               separators=(",", ":")) + "\n").encode()


def test_byte_stable_whatever_the_insertion_order():
    shuffled = dict(reversed(list(DOCUMENT.items())))
    assert encode(shuffled) == encode(DOCUMENT)


def test_pretty_is_the_standard_librarys_indented_layout():
    expected = json.dumps(DOCUMENT, sort_keys=True, ensure_ascii=False, indent=2) + "\n"
    assert encode(DOCUMENT, pretty=True) == expected.encode()
    set_pretty(True)
    assert is_pretty() and encode(DOCUMENT) == expected.encode()


def test_str_enums_are_written_as_their_value():
    assert encode({"c": Color.RED}) == b'{"c":"red"}\n'


@pytest.mark.parametrize("char", ["\x7f", "\x85", "\x9b", "\u200b", "\u200f", "\u2028",
                                  "\u202e", "\u2066", "\u2069", "\ufeff"])
def test_terminal_controls_are_escaped_and_keep_their_value(char):
    data = encode({f"k{char}": f"a{char}b"})
    assert char.encode() not in data
    assert f"\\u{ord(char):04x}".encode() in data
    assert json.loads(data) == {f"k{char}": f"a{char}b"}


def test_harmless_neighbours_of_the_escaped_characters_stay_raw():
    text = "\xa0\u00e9\u200a\u2010\u2030\u2065\u206a\ufefe"
    assert encode(text) == ('"' + text + '"\n').encode()


@pytest.mark.parametrize("value", [
    {"n": 2**64},                 # beyond 64 bits
    {"n": -(2**63) - 1},
    {1: "integer key"},           # a key that is not a string
    {"s": "\ud800"},              # a lone surrogate
    {"o": object()},              # a type nobody taught it
], ids=["big-int", "big-negative", "int-key", "surrogate", "object"])
def test_what_json_cannot_hold_exactly_is_a_one_line_error(value):
    with pytest.raises(EncodingError) as caught:
        encode(value)
    assert caught.value.exit_code == EXIT_BUG
    assert "\n" not in str(caught.value) and caught.value.hint


def test_non_finite_floats_are_null_not_invalid_tokens():
    assert encode([float("nan"), float("inf")]) == b"[null,null]\n"


def test_lines_one_compact_element_per_line_or_indented_with_pretty():
    items = [{"b": 1, "a": [1, 2]}, {"c": "x"}]
    assert encode_lines(items) == b'[\n{"a":[1,2],"b":1},\n{"c":"x"}\n]\n'
    assert encode_lines([]) == b"[]\n"
    set_pretty(True)
    assert encode_lines(items) == encode(items, pretty=True)
    assert json.loads(encode_lines(iter(items))) == items


def test_cli_json_is_compact_by_default_and_indented_with_pretty(tmp_path):
    runner = CliRunner()
    compact = runner.invoke(main, ["--store", str(tmp_path / "a.db"), "demo", "--format", "json"])
    pretty = runner.invoke(main, ["--store", str(tmp_path / "b.db"), "--pretty", "demo",
                                  "--format", "json"])
    assert compact.exit_code == pretty.exit_code
    assert compact.stdout.count("\n") == 1 and pretty.stdout.startswith("{\n  ")
    first, second = json.loads(compact.stdout), json.loads(pretty.stdout)
    assert first.keys() == second.keys() and first["findings"] == second["findings"]
    # the setting belongs to one invocation
    again = runner.invoke(main, ["--store", str(tmp_path / "c.db"), "demo", "--format", "json"])
    assert again.stdout.count("\n") == 1
