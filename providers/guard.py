"""Per-item guards and shape checks every normalizer shares.

One cloud object the normalizer cannot read must spoil only itself: each item (a security
group, an interface, a subnet, an NSG, a VPC network's firewall rules...) is built under
:func:`guarded`, and a payload it does not understand becomes a CollectionError naming the item
and its resource type, while the rest of the scope is reported.

"Does not understand" includes shapes that would otherwise read as *less* than the cloud said:
a list field holding an object, rules outside the ``properties`` object, an entry without the
field that decides what it admits. The ``require_*`` helpers raise :class:`ShapeError` for
those, so such an item is an error, never an empty, clean resource.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from scanner.errors import describe_bad_value
from scanner.model import CollectionError, Scope

T = TypeVar("T")
_SHOWN = 80


class ShapeError(ValueError):
    """A payload whose shape the normalizer does not understand."""


def shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def require_mapping(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ShapeError(f"{what} is {type(value).__name__}, not an object")
    return value


def optional_list(obj: Mapping[str, Any], key: str, what: str = "") -> list[Any]:
    """``obj[key]`` as a list: absent or null is empty; anything else that is not a list (an
    object, a string) is not understood."""
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ShapeError(f"{what or key} is {type(value).__name__}, not a list")
    return value


def optional_mappings(obj: Mapping[str, Any], key: str, what: str = "") -> list[Mapping]:
    """A list of objects (``obj[key]``), each checked."""
    items = optional_list(obj, key, what)
    for index, item in enumerate(items):
        require_mapping(item, f"{what or key}[{index}]")
    return items


def require_text(obj: Mapping[str, Any], key: str, what: str = "") -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise ShapeError(f"{what or key} is missing or not text ({shown(value)})")
    return value


def require_choice(obj: Mapping[str, Any], key: str, choices: set[str], what: str = "") -> str:
    """A case-insensitive enumeration (``direction: Inbound|Outbound``), lower-cased."""
    value = obj.get(key)
    if not isinstance(value, str) or value.lower() not in choices:
        raise ShapeError(f"{what or key} is {shown(value)}, not one of "
                         f"{', '.join(sorted(choices))}")
    return value.lower()


def label(item: Any, *keys: str, index: int | None = None) -> str:
    """A name for an item in an error: its id where it has one."""
    if isinstance(item, Mapping):
        for key in keys:
            value = item.get(key)
            if isinstance(value, (str, int)) and not isinstance(value, bool) and value != "":
                text = str(value)  # ARM ids and self links run long: keep 256 characters
                return text if len(text) <= 256 else text[:255] + "…"
    return f"item {index}" if index is not None else "an item"


def describe(exc: BaseException) -> str:
    """What was wrong with a payload, in words rather than an exception's name."""
    if isinstance(exc, ShapeError):
        return str(exc)
    return describe_bad_value(exc)


def guarded(scope: Scope, resource_type: str, name: str, build: Callable[[], T],
            hint: str = "") -> T | CollectionError:
    """``build()``, or a CollectionError naming the item when its payload cannot be read."""
    try:
        return build()
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError) as exc:
        return CollectionError(
            provider=scope.provider, account=scope.account, region=scope.region,
            reason=f"{name} could not be read: {describe(exc)}",
            hint=hint or "the API answered with a shape cloudwall does not understand; report "
                         "it as a cloudwall bug (rerun with --debug)",
            resource_type=resource_type, code="UnreadablePayload")


def checked_payload(scope: Scope, raw: Any, expected: Mapping[str, type | tuple[type, ...]],
                    ) -> tuple[dict[str, Any], list[CollectionError]]:
    """``raw`` with every resource type whose value is not of the expected kind (a list, a
    mapping) taken out, so it reads as not collected rather than as empty, and an error for
    each one taken out."""
    if not isinstance(raw, Mapping):
        return {}, [CollectionError(
            provider=scope.provider, account=scope.account, region=scope.region,
            reason=f"the payload is {type(raw).__name__}, not an object",
            hint="report this as a cloudwall bug (rerun with --debug)", code="UnreadablePayload")]
    out = dict(raw)
    errors = []
    for key, kind in expected.items():
        if key in out and out[key] is not None and not isinstance(out[key], kind):
            errors.append(guarded(scope, key, f"the {key} list", lambda k=key: _wrong(out[k])))
            del out[key]
    return out, errors


def _wrong(value: Any) -> None:
    raise ShapeError(f"it is {type(value).__name__}, not a list")


__all__ = ["ShapeError", "checked_payload", "describe", "guarded", "label", "optional_list",
           "optional_mappings", "require_choice", "require_mapping", "require_text", "shown"]
