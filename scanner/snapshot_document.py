"""Reading a snapshot document that cloudwall did not just build itself.

A snapshot file (``snapshots import``, ``--baseline FILE.json``) or a body read back from a store
is untrusted: it is checked whole before any of it is used or stored, so a wrongly typed field
can never reach ``show``, ``exposure``, ``diff`` or the compliance report and crash them later.

The checks, in order, each failing as one :class:`DocumentError` that names where:

1. size: at most ``MAX_DOCUMENT_BYTES``;
2. JSON syntax, then nesting: at most ``MAX_DEPTH`` levels (``extra`` fields included);
3. the JSON Schema shipped in the package (``scanner/schemas/snapshot.schema.json``, draft-07,
   compiled with ``fastjsonschema``): every field's presence and type, unknown fields refused,
   errors named by JSON path (``$.rule_sets[0].rules[2].priority``);
4. what a schema cannot say: port ranges within 0-65535 and low <= high, peer addresses that
   parse, ``taken_at`` a real time between 2006-01-01 and now plus ``CLOCK_SKEW``.

Only then is the model built (``Snapshot.from_dict``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from functools import cache
from importlib import resources
from typing import Any

from scanner.model import SCHEMA_VERSION, Snapshot
from scanner.netmath import MAX_PORT, parse_network

MAX_DOCUMENT_BYTES = 512 * 1024 * 1024
MAX_DEPTH = 32
EARLIEST = datetime(2006, 1, 1, tzinfo=timezone.utc)  # before any of the clouds' firewall APIs
CLOCK_SKEW = timedelta(minutes=10)
_SHOWN = 120  # characters of an offending value quoted in a message


class DocumentError(ValueError):
    """A snapshot document that cannot be used; ``path`` is the JSON path of the problem."""

    def __init__(self, message: str, path: str = "$", syntax: bool = False) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message
        self.syntax = syntax  # not JSON at all (truncated, garbled), rather than wrong content


@cache
def schema() -> dict[str, Any]:
    """The snapshot document's JSON Schema, as shipped in the package."""
    text = resources.files("scanner").joinpath("schemas/snapshot.schema.json").read_text("utf-8")
    return json.loads(text)


@cache
def _validator():
    # Compiled once into plain Python: an order of magnitude faster than an interpreting
    # validator, which matters because every store read is checked too.
    import fastjsonschema

    return fastjsonschema.compile(schema())


def parse(data: str | bytes) -> Snapshot:
    """A snapshot from the text of a document, or a DocumentError saying what is wrong."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise DocumentError(f"larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MiB", "")
    try:
        document = json.loads(data)
    except RecursionError:
        raise DocumentError(f"nested deeper than {MAX_DEPTH} levels", "") from None
    except ValueError as exc:  # JSONDecodeError, or bytes that are not UTF-8
        where = f"line {exc.lineno}: {exc.msg}" if isinstance(exc, json.JSONDecodeError) else exc
        raise DocumentError(str(where), "", syntax=True) from None
    return from_document(document)


def from_document(document: Any) -> Snapshot:
    """A snapshot from an already parsed document, after every check."""
    _check_depth(document)
    if isinstance(document, dict) and document.get("schema_version") != SCHEMA_VERSION:
        # Said first: a document of another version fails everything else for that reason.
        raise DocumentError(f"schema_version {_shown(document.get('schema_version'))} is not "
                            f"supported (expected {SCHEMA_VERSION})", "$.schema_version")
    error = _first_schema_error(document)
    if error is not None:
        raise error
    for path, message in _semantic_problems(document):
        raise DocumentError(message, path)
    try:
        return Snapshot.from_dict(document)
    except (ValueError, KeyError, TypeError) as exc:  # the checks above should make this dead
        raise DocumentError(f"cannot be read ({exc})") from None


def _check_depth(document: Any) -> None:
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise DocumentError(f"nested deeper than {MAX_DEPTH} levels", "")
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=True) if not isinstance(value, (dict, list)) else (
        "an object" if isinstance(value, dict) else "a list")
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def _first_schema_error(document: Any) -> DocumentError | None:
    from fastjsonschema import JsonSchemaValueException

    try:
        _validator()(document)
    except JsonSchemaValueException as exc:
        return DocumentError(_schema_message(exc), _json_path(exc.path or ["data"]))
    return None


def _json_path(parts: list[str]) -> str:
    out = "$"
    for part in parts[1:]:  # parts[0] is the validator's name for the root
        out += f"[{part}]" if str(part).isdigit() else f".{part}"
    return out


def _schema_message(exc: Any) -> str:
    rule, value, definition = exc.rule, exc.value, exc.rule_definition
    if rule == "type":
        names = definition if isinstance(definition, list) else [definition]
        return f"{_shown(value)} is not {' or '.join(names)}"
    if rule == "required" and isinstance(value, dict):
        missing = [k for k in definition if k not in value]
        return f"missing field {missing[0]!r}" if missing else "a required field is missing"
    if rule == "additionalProperties" and isinstance(value, dict):
        known = exc.definition.get("properties", {})
        extra = sorted(str(k) for k in value if k not in known)
        return f"unknown field {extra[0][:_SHOWN]!r}" if extra else "unknown field"
    if rule == "enum":
        return f"{_shown(value)} is not one of {', '.join(map(str, definition))}"
    if rule == "const":
        return f"{_shown(value)} is not supported (expected {definition!r})"
    if rule == "pattern":
        return f"{_shown(value)} is not in the expected form"
    return f"{_shown(value)} fails the {rule!r} check ({definition!r})"


def _semantic_problems(document: dict[str, Any]) -> Iterator[tuple[str, str]]:
    yield from _time_problems(document["taken_at"])
    for i, rule_set in enumerate(document["rule_sets"]):
        for j, rule in enumerate(rule_set["rules"]):
            where = f"$.rule_sets[{i}].rules[{j}]"
            for k, text in enumerate(rule["ports"]):
                low, _, high = text.partition("-")
                if int(low) > MAX_PORT or int(high or low) > MAX_PORT or \
                        int(low) > int(high or low):
                    yield f"{where}.ports[{k}]", f"{text!r} is not a port range within " \
                                                 f"0-{MAX_PORT}"
            for field in ("peers", "targets"):
                for k, peer in enumerate(rule.get(field, ())):
                    for m, address in enumerate(peer.get("addresses", ())):
                        if not _is_network(address):
                            yield (f"{where}.{field}[{k}].addresses[{m}]",
                                   f"{_shown(address)} is not an address or network")
                    if peer["kind"] == "cidr" and "addresses" not in peer and \
                            not _is_network(peer["value"]):
                        yield (f"{where}.{field}[{k}].value",
                               f"{_shown(peer['value'])} is not an address or network")


def _is_network(text: str) -> bool:
    try:
        parse_network(text)
    except ValueError:
        return False
    return True


def _time_problems(text: str) -> Iterator[tuple[str, str]]:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        yield "$.taken_at", f"{_shown(text)} is not a real date and time"
        return
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    latest = datetime.now(timezone.utc) + CLOCK_SKEW
    if not EARLIEST <= moment <= latest:
        yield "$.taken_at", (f"{text} is outside {EARLIEST:%Y-%m-%d} .. now (a snapshot "
                             "cannot be taken in the future)")
