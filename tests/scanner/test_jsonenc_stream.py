"""Documents written as they are encoded: exactly ``encode``'s bytes, compact and indented, and a
failure part way leaves the old file, no half document and no temporary file."""

from __future__ import annotations

import io
import os
import string
import threading
from enum import Enum

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reports
import scanner.jsonenc as jsonenc
from scanner.jsonenc import (
    EncodingError,
    Streamed,
    encode,
    encode_lines,
    iter_encode,
    iter_encode_lines,
    set_pretty,
)
from scanner.outputs import write_output
from tests.reports.demo_report import demo_compliance, demo_report


class Color(str, Enum):
    RED = "red"


@pytest.fixture(autouse=True)
def _compact_and_small_chunks(monkeypatch):
    set_pretty(False)
    # Chunks of a few bytes: every boundary between pieces is also a boundary between chunks.
    monkeypatch.setattr(jsonenc, "CHUNK", 7)
    yield
    set_pretty(False)


# Text mixing what the encoder writes specially: quotes, backslashes, controls, non-ASCII,
# astral characters, and the terminal-unsafe characters escaped as \uXXXX.
_TEXT = st.text(alphabet=st.sampled_from(
    list(string.ascii_letters[:6]) + ['"', "\\", "\n", "\x01", "é", "☕", "\U0001f600",
                                      "\x7f", "\x85", "\u200b", "\u202e", "\u2028", "\ufeff"]),
    max_size=6)
_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=True, allow_infinity=True), _TEXT, st.just(Color.RED))
_DOCUMENTS = st.recursive(
    _SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(_TEXT, children, max_size=5)),
    max_leaves=40)


def _streamed(document, pretty):
    return b"".join(iter_encode(document, pretty))


_CHUNKS = st.sampled_from([1, 7, 100, 1 << 18])


@settings(max_examples=500, deadline=None)
@given(_DOCUMENTS, st.booleans(), _CHUNKS)
def test_streamed_bytes_are_encodes_bytes(document, pretty, chunk):
    jsonenc.CHUNK = chunk  # the batches of list elements follow it
    assert _streamed(document, pretty) == encode(document, pretty)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(_DOCUMENTS, max_size=40), max_size=4), st.booleans(), _CHUNKS)
def test_long_lists_in_the_sections_stream_the_same_bytes(sections, pretty, chunk):
    jsonenc.CHUNK = chunk
    document = {"inventory": {f"s{n}": items for n, items in enumerate(sections)},
                "findings": [item for items in sections for item in items]}
    assert _streamed(document, pretty) == encode(document, pretty)


@settings(max_examples=150, deadline=None)
@given(st.lists(_DOCUMENTS, max_size=6), st.booleans(), _CHUNKS)
def test_streamed_lines_are_encode_lines_bytes(items, pretty, chunk):
    jsonenc.CHUNK = chunk
    set_pretty(pretty)
    assert b"".join(iter_encode_lines(items)) == encode_lines(items)
    assert b"".join(Streamed(items, lines=True)) == Streamed(items, lines=True).encode()


@pytest.mark.parametrize("bad", [2**64, -(2**63) - 1, {1: "int key"}, "\ud800", object()])
@pytest.mark.parametrize("where", ["top", "section", "element", "deep"])
def test_what_encode_refuses_the_stream_refuses(bad, where):
    document = {"top": bad, "section": {"a": bad}, "element": {"list": [1, bad]},
                "deep": {"x": [{"y": [bad]}]}}[where]
    document = {"findings": [1, 2, 3], "z": document}
    with pytest.raises(EncodingError):
        encode(document)
    with pytest.raises(EncodingError):
        _streamed(document, False)


@pytest.mark.parametrize("depth", [252, 253, 254, 255, 256])
@pytest.mark.parametrize("kind", ["list", "dict", "mixed"])
def test_the_depth_limit_is_the_same_as_encoding_whole(depth, kind):
    value: object = 1
    for level in range(depth):
        value = [value] if kind == "list" or (kind == "mixed" and level % 2) else {"k": value}
    for pretty in (False, True):
        try:
            whole = encode(value, pretty)
        except EncodingError:
            with pytest.raises(EncodingError):
                _streamed(value, pretty)
        else:
            assert _streamed(value, pretty) == whole


@pytest.mark.parametrize("fmt", sorted(reports.STREAMS))
@pytest.mark.parametrize("pretty", [False, True])
def test_demo_reports_stream_the_renderers_bytes(fmt, pretty):
    set_pretty(pretty)
    report = demo_report()
    whole = reports.render(fmt, report)
    streamed = reports.render(fmt, report, streamed=True)
    assert isinstance(streamed, Streamed)
    assert b"".join(streamed) == whole and streamed.encode() == whole
    assert b"".join(streamed) == whole  # iterable again (one format, several outputs)


@pytest.mark.parametrize("pretty", [False, True])
def test_demo_compliance_streams_the_renderers_bytes(pretty):
    set_pretty(pretty)
    report = demo_compliance()
    assert b"".join(reports.render_compliance("json", report, streamed=True)) == (
        reports.render_compliance("json", report))


def test_a_streamed_document_is_written_in_many_chunks_with_the_same_bytes(tmp_path):
    document = {"findings": [{"id": n, "text": "é\u200b"} for n in range(50)], "a": None}
    chunks = list(Streamed(document))
    assert len(chunks) > 10
    target = tmp_path / "report.json"
    write_output(target, Streamed(document))
    assert target.read_bytes() == encode(document)


def _failing_late() -> Streamed:
    """A document whose last section cannot be encoded: chunks come out before the error."""
    return Streamed({"findings": [{"n": n} for n in range(100)], "zz": [2**70]})


def test_an_encoding_failure_mid_stream_leaves_the_old_file_and_no_temporary(tmp_path):
    produced = []
    with pytest.raises(EncodingError):
        for chunk in _failing_late():
            produced.append(chunk)
    assert len(produced) > 3  # the failure really comes part way through
    target = tmp_path / "report.json"
    target.write_bytes(b"old report\n")
    target.chmod(0o640)
    with pytest.raises(EncodingError):
        write_output(target, _failing_late())
    assert target.read_bytes() == b"old report\n"
    assert os.stat(target).st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]
    with pytest.raises(EncodingError):
        write_output(tmp_path / "new.json", _failing_late())
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_the_temporary_file_is_private_while_it_is_written(tmp_path):
    target = tmp_path / "report.json"
    target.write_bytes(b"old\n")
    target.chmod(0o644)
    modes = []

    def chunks():
        yield b"{"
        temporary = [p for p in tmp_path.iterdir() if p.name != "report.json"]
        modes.extend(p.stat().st_mode & 0o777 for p in temporary)
        yield b"}\n"

    write_output(target, chunks())
    assert modes == [0o600]
    assert target.read_bytes() == b"{}\n" and target.stat().st_mode & 0o777 == 0o644


def test_a_fifo_gets_nothing_when_the_encoding_fails(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []

    def reader() -> None:
        with open(fifo, "rb") as handle:
            received.append(handle.read())

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    with pytest.raises(EncodingError):
        write_output(fifo, _failing_late())
    # Encoded whole before the FIFO is opened: unblock the reader with an empty write.
    with open(fifo, "wb"):
        pass
    thread.join(timeout=10)
    assert received == [b""]
    document = {"findings": list(range(40))}
    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    write_output(fifo, Streamed(document))
    thread.join(timeout=10)
    assert received[-1] == encode(document)


def test_standard_output_is_written_as_encoded_and_a_failure_ends_it_part_way():
    stdout = io.BytesIO()
    write_output("-", Streamed({"findings": list(range(30))}), stdout)
    assert stdout.getvalue() == encode({"findings": list(range(30))})
    stdout = io.BytesIO()
    with pytest.raises(EncodingError):
        write_output("-", _failing_late(), stdout)
    written = stdout.getvalue()
    assert written and encode({"findings": [{"n": n} for n in range(100)], "zz": []}
                              ).startswith(written)
