"""The one JSON encoder for documents programs read: reports (json, SARIF, OCSF, ASFF, navigator,
exposure, compliance, trend) and snapshot exports.

- Compact by default (no whitespace): a 5,000-group scan report is tens of megabytes, and
  indentation only adds bytes nobody reads. The global ``--pretty`` option indents by 2.
- Keys sorted and the same bytes for the same document every time (reports and exports are
  compared byte for byte).
- orjson writes it: several times faster than the standard library, straight to UTF-8 bytes
  (no intermediate ``str`` to encode again). What orjson refuses (an integer beyond 64 bits, a
  key that is not a string, a lone surrogate, a type it does not know) is an ``EncodingError``
  with one line, never a document written differently. JSON has no NaN or infinity: orjson
  writes ``null`` for them where the standard library wrote the invalid tokens ``NaN`` and
  ``Infinity``; no number in these documents is a float computed from unchecked input.
- Characters that would drive or disguise a terminal showing the document (DEL, the C1
  controls, which include an 8-bit CSI, zero-width and bidi controls, line and paragraph
  separators, the byte order mark) are written as ``\\uXXXX`` escapes: the same JSON value.
- Large documents can be written as they are encoded (``Streamed``): the bytes are exactly
  ``encode``'s, produced in pieces of about ``CHUNK`` bytes, so a report of a million rules is
  never one giant bytes object (twice: once more for the escaping) next to its objects.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from scanner.errors import EXIT_BUG, CloudwallError

_pretty = False

# The characters above as UTF-8 byte sequences. orjson only ever writes valid UTF-8, where these
# lead bytes cannot occur inside another character, so a match is always the whole character.
_UNSAFE = re.compile(
    rb"\x7f|\xc2[\x80-\x9f]|\xe2\x80[\x8b-\x8f\xa8-\xae]|\xe2\x81[\xa6-\xa9]|\xef\xbb\xbf")


class EncodingError(CloudwallError):
    """A document holds a value JSON (or orjson) cannot represent exactly: a bug, not input."""

    exit_code = EXIT_BUG


def set_pretty(enabled: bool) -> None:
    """``--pretty``: indent every machine-readable document this process writes."""
    global _pretty
    _pretty = bool(enabled)


def is_pretty() -> bool:
    return _pretty


def _escape(match: re.Match[bytes]) -> bytes:
    return b"\\u%04x" % ord(match.group().decode("utf-8"))


def encode(document: Any, pretty: bool | None = None) -> bytes:
    """``document`` as sorted JSON ending with a newline; indented when ``pretty`` (default:
    the process-wide ``--pretty`` setting)."""
    option = orjson.OPT_SORT_KEYS
    if _pretty if pretty is None else pretty:
        option |= orjson.OPT_INDENT_2
    try:
        data = orjson.dumps(document, option=option)
    except orjson.JSONEncodeError as exc:
        raise EncodingError(f"cannot write the document as JSON: {exc}",
                            "this is a bug in cloudwall: rerun with --debug and report it"
                            ) from exc
    return _UNSAFE.sub(_escape, data) + b"\n"


def encode_lines(items: Any) -> bytes:
    """A JSON array with one compact element per line (a diff still shows which element
    changed); with ``--pretty``, the whole array indented."""
    items = list(items)
    if _pretty:
        return encode(items, pretty=True)
    if not items:
        return b"[]\n"
    return b"[\n" + b",\n".join(encode(item, pretty=False)[:-1] for item in items) + b"\n]\n"


# Streamed pieces are joined up to about this many bytes before they are written.
CHUNK = 1 << 18

# Dicts this close to the top are opened by ``iter_encode`` itself, key by key (the document,
# its sections, say ``inventory``); a list there is written in batches of elements (the findings,
# the rule sets); anything deeper is part of one orjson call.
_OPENED_LEVELS = 3
_INDENT = b"  "


def _dumps(value: Any, option: int) -> bytes:
    try:
        return orjson.dumps(value, option=option)
    except orjson.JSONEncodeError as exc:
        raise EncodingError(f"cannot write the document as JSON: {exc}",
                            "this is a bug in cloudwall: rerun with --debug and report it"
                            ) from exc


def _at_depth(value: Any, depth: int, option: int, pretty: bool) -> bytes:
    """``value`` as it reads ``depth`` levels down in ``encode``'s output. It is encoded
    wrapped in ``depth`` one-element lists and unwrapped: orjson then counts the same nesting
    toward its depth limit (the same error, at the same depth, as the whole document) and, when
    indenting, indents it where it stands."""
    if depth == 0:
        return _dumps(value, option)
    wrapped = value
    for _ in range(depth):
        wrapped = [wrapped]
    data = _dumps(wrapped, option)
    if not pretty:
        return data[depth:-depth]
    head = sum(2 + 2 * level for level in range(1, depth + 1))  # "[\n" and the indent, per level
    tail = sum(2 + 2 * level for level in range(depth))  # "\n", the indent and "]", per level
    return data[head:-tail]


def _list_pieces(items: list | tuple, depth: int, option: int, pretty: bool
                 ) -> Iterator[bytes]:
    """A non-empty list at ``depth``, its elements encoded a batch at a time: a batch is a
    slice of the list, encoded where the list stands and stripped of its brackets, which leaves
    exactly the elements with their separators and indents. Batches grow or shrink so that each
    gives about ``CHUNK`` bytes, whatever the size of the elements."""
    close = b"\n" + _INDENT * depth + b"]" if pretty else b"]"
    yield b"["
    start, batch = 0, 1
    while start < len(items):
        data = _at_depth(list(items[start:start + batch]), depth, option, pretty)
        yield data[1:-len(close)] if start == 0 else b"," + data[1:-len(close)]
        start += batch
        batch = max(1, min(batch * 4, batch * CHUNK // max(len(data), 1)))
    yield close


def _pieces(value: Any, depth: int, option: int, pretty: bool) -> Iterator[bytes]:
    """``value``'s bytes in ``encode``'s layout, the top levels opened here."""
    kind = type(value)
    if depth < _OPENED_LEVELS and (kind is list or kind is tuple) and value:
        yield from _list_pieces(value, depth, option, pretty)
    elif depth < _OPENED_LEVELS and kind is dict and value and all(
            type(key) is str for key in value):
        inner = b"\n" + _INDENT * (depth + 1) if pretty else b""
        colon = b": " if pretty else b":"
        yield b"{"
        for number, key in enumerate(sorted(value)):
            yield (inner if number == 0 else b"," + inner) + _dumps(key, option) + colon
            yield from _pieces(value[key], depth + 1, option, pretty)
        yield b"\n" + _INDENT * depth + b"}" if pretty else b"}"
    else:
        # Anything else (deeper down, empty, a scalar, a subclass, a key orjson refuses or
        # writes its own way) is left to orjson whole: the same bytes or the same error.
        yield _at_depth(value, depth, option, pretty)


def _joined(pieces: Iterator[bytes]) -> Iterator[bytes]:
    """Pieces gathered into chunks of about ``CHUNK`` bytes, unsafe characters escaped. A piece
    is a whole orjson output or ASCII punctuation, so no character is ever split between two
    chunks (the escaping matches whole characters)."""
    buffer: list[bytes] = []
    size = 0
    for piece in pieces:
        buffer.append(piece)
        size += len(piece)
        if size >= CHUNK:
            yield _UNSAFE.sub(_escape, b"".join(buffer))
            buffer, size = [], 0
    buffer.append(b"\n")
    yield _UNSAFE.sub(_escape, b"".join(buffer))


def iter_encode(document: Any, pretty: bool | None = None) -> Iterator[bytes]:
    """``encode(document, pretty)`` in chunks: the same bytes once joined. An ``EncodingError``
    may come after some chunks were produced (whoever writes them must be ready to discard
    them: scanner.outputs does)."""
    indent = _pretty if pretty is None else pretty
    option = orjson.OPT_SORT_KEYS | (orjson.OPT_INDENT_2 if indent else 0)
    return _joined(_pieces(document, 0, option, indent))


def iter_encode_lines(items: Any) -> Iterator[bytes]:
    """``encode_lines(items)`` in chunks: the same bytes once joined."""
    items = list(items)
    if _pretty:
        return iter_encode(items, pretty=True)
    if not items:
        return iter((b"[]\n",))

    def pieces() -> Iterator[bytes]:
        yield b"["
        for number, item in enumerate(items):
            yield (b"\n" if number == 0 else b",\n") + _dumps(item, orjson.OPT_SORT_KEYS)
        yield b"\n]"

    return _joined(pieces())


@dataclass(frozen=True, slots=True)
class Streamed:
    """A JSON document to be written as it is encoded: iterating gives ``iter_encode``'s chunks
    (``encode_lines``' with ``lines``), again on each iteration; ``encode()`` gives the same
    bytes at once. ``--pretty`` is read when the encoding starts, as ``encode`` reads it."""

    document: Any
    lines: bool = False

    def __iter__(self) -> Iterator[bytes]:
        return iter_encode_lines(self.document) if self.lines else iter_encode(self.document)

    def encode(self) -> bytes:
        return encode_lines(self.document) if self.lines else encode(self.document)


__all__ = ["CHUNK", "EncodingError", "Streamed", "encode", "encode_lines", "is_pretty",
           "iter_encode", "iter_encode_lines", "set_pretty"]
