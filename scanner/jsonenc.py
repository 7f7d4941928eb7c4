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
"""

from __future__ import annotations

import re
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


__all__ = ["EncodingError", "encode", "encode_lines", "is_pretty", "set_pretty"]
