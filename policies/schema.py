"""Argument schemas for pack conditions: small checkers that normalise a YAML value or say,
in one line, what is wrong with it and what was probably meant."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from policies.admitted import PORT_PROTOCOLS
from scanner.catalogue import SERVICES_BY_KEY
from scanner.netmath import MAX_PORT, PortSet


class ArgError(ValueError):
    """A bad argument; the pack loader adds the file:line."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else ""


def suggestion_suffix(word: str, choices: Iterable[str]) -> str:
    hint = did_you_mean(word, choices)
    return f" ({hint})" if hint else ""


class Schema:
    description = ""

    def check(self, value: Any) -> Any:  # pragma: no cover - interface
        raise NotImplementedError


@dataclass(frozen=True)
class Boolean(Schema):
    description: str = "true or false"

    def check(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise ArgError(f"expected true or false, got {value!r}")
        return value


@dataclass(frozen=True)
class Bounds(Schema):
    """``{min: N, max: N}`` (either may be left out)."""

    description: str = "{min: N, max: N}"

    def check(self, value: Any) -> tuple[int | None, int | None]:
        if not isinstance(value, dict) or not value:
            raise ArgError(f"expected a mapping such as {{min: 1}}, got {value!r}")
        for key in value:
            if key not in ("min", "max"):
                raise ArgError(f"unknown bound {key!r}{suggestion_suffix(key, ['min', 'max'])}")
        low, high = value.get("min"), value.get("max")
        for bound in (low, high):
            if bound is not None and (isinstance(bound, bool) or not isinstance(bound, int)):
                raise ArgError(f"bounds must be whole numbers, got {bound!r}")
        if low is not None and high is not None and low > high:
            raise ArgError(f"min {low} is above max {high}")
        return low, high


@dataclass(frozen=True)
class Choice(Schema):
    """One of ``choices``, or a list of them when ``many``."""

    choices: tuple[str, ...] = ()
    many: bool = True
    description: str = ""

    def check(self, value: Any) -> tuple[str, ...]:
        items = value if isinstance(value, list) and self.many else [value]
        if not items:
            raise ArgError("expected at least one value", f"choose from {', '.join(self.choices)}")
        out = []
        for item in items:
            if not isinstance(item, str) or item.lower() not in self.choices:
                hint = did_you_mean(str(item), self.choices) or \
                    f"choose from {', '.join(self.choices)}"
                raise ArgError(f"unknown value {item!r}", hint)
            out.append(item.lower())
        return tuple(dict.fromkeys(out))


PORT_PROTOCOL_NAMES = tuple(PORT_PROTOCOLS)


@dataclass(frozen=True, slots=True)
class PortItem:
    """One entry of a port list: pairs of (protocol or None for any port protocol, ports)."""

    label: str
    pairs: tuple[tuple[str | None, PortSet], ...]


def parse_port_item(item: Any) -> PortItem:
    """``22``, ``"1000-2000"``, ``"tcp:22"``, ``"udp:137-139"`` or a catalogue key (``ssh``)."""
    if isinstance(item, bool):
        raise ArgError(f"not a port: {item!r}")
    if isinstance(item, int):
        if not 0 <= item <= MAX_PORT:
            raise ArgError(f"port {item} is outside 0-{MAX_PORT}")
        return PortItem(str(item), ((None, PortSet.of(item)),))
    if not isinstance(item, str) or not item.strip():
        raise ArgError(f"not a port, range or service: {item!r}")
    text = item.strip().lower()
    if text in SERVICES_BY_KEY:
        return PortItem(text, SERVICES_BY_KEY[text].ports)
    protocol, colon, ports_text = text.partition(":")
    if colon:
        if protocol not in PORT_PROTOCOL_NAMES:
            raise ArgError(f"unknown port protocol {protocol!r} in {item!r}",
                           did_you_mean(protocol, PORT_PROTOCOL_NAMES)
                           or "use tcp, udp or sctp")
    else:
        protocol, ports_text = None, text
    if ports_text[:1].isdigit():
        try:
            ports = PortSet.parse(ports_text)
        except ValueError as exc:
            raise ArgError(str(exc), "write a port (22) or an inclusive range (1000-2000)") \
                from None
        return PortItem(text, ((protocol, ports),))
    raise ArgError(f"unknown port or service {item!r}",
                   did_you_mean(text, SERVICES_BY_KEY)
                   or "use a number, a range, tcp:PORT or a service from `cloudwall policies "
                   "services`")


@dataclass(frozen=True)
class PortList(Schema):
    description: str = "list of ports, ranges, proto:ports or service keys"

    def check(self, value: Any) -> tuple[PortItem, ...]:
        items = value if isinstance(value, list) else [value]
        if not items:
            raise ArgError("expected at least one port or service")
        return tuple(parse_port_item(i) for i in items)


@dataclass(frozen=True)
class ProtocolPorts(Schema):
    """``{tcp: [80, 443], udp: []}``: per protocol, the ports that are allowed."""

    description: str = "{tcp: [ports], udp: [ports]}"

    def check(self, value: Any) -> dict[str, PortSet]:
        if not isinstance(value, dict) or not value:
            raise ArgError(f"expected a mapping such as {{tcp: [80, 443]}}, got {value!r}")
        out: dict[str, PortSet] = {}
        for protocol, ports in value.items():
            if protocol not in PORT_PROTOCOL_NAMES:
                raise ArgError(f"unknown port protocol {protocol!r}",
                               did_you_mean(str(protocol), PORT_PROTOCOL_NAMES)
                               or "use tcp, udp or sctp")
            allowed = PortSet()
            for item in PortList().check(ports) if ports not in (None, []) else ():
                for _, port_set in item.pairs:
                    allowed = allowed.union(port_set)
            out[protocol] = allowed
        return out


@dataclass(frozen=True)
class Text(Schema):
    description: str = "text"

    def check(self, value: Any) -> str:
        if not isinstance(value, str) or not value:
            raise ArgError(f"expected text, got {value!r}")
        return value
