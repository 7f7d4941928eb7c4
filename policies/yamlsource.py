"""YAML with line numbers: plain Python values plus a map from value paths to source lines.

Only safe YAML is read (PyYAML's safe constructors); nothing in a pack is ever evaluated.

Hostile files are bounded before they can cost time or memory: a file larger than
``MAX_FILE_BYTES`` is refused unread, nesting deeper than ``MAX_DEPTH`` is refused, and the
values built are counted against ``MAX_NODES`` with every alias counted again where it is
used, so a few hundred bytes of nested aliases ("billion laughs") stop at the budget instead of
expanding. An alias that refers to a value containing itself is refused. Each of these is a
PolicyError with ``file:line`` (exit 2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scanner.errors import PolicyError

PathKey = tuple[Any, ...]
_PLAIN = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}
# Far above any real pack or suppressions file (the built-in packs together have a few
# thousand nodes), far below what hurts.
MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_NODES = 200_000
MAX_DEPTH = 64


class _Budget:
    """Nodes built so far, and the collection nodes on the path being built (for cycles)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.nodes = 0
        self.open: set[int] = set()

    def spend(self, node: yaml.Node, depth: int) -> None:
        self.nodes += 1
        where = f"{self.name}:{node.start_mark.line + 1}"
        if self.nodes > MAX_NODES:
            raise PolicyError(
                f"more than {MAX_NODES} YAML values (aliases count each time they are used)",
                "nested aliases expand without bound (a \"billion laughs\" file?); write the "
                "values out or split the file", location=where)
        if depth > MAX_DEPTH:
            raise PolicyError(f"YAML nested deeper than {MAX_DEPTH} levels",
                              "flatten the structure", location=where)


@dataclass
class Source:
    """Parsed YAML and where each value came from."""

    name: str
    data: Any
    lines: dict[PathKey, int] = field(default_factory=dict)

    def line(self, path: PathKey) -> int:
        """The line of the value at ``path``, or of the nearest enclosing value."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)

    def where(self, path: PathKey) -> str:
        return f"{self.name}:{self.line(path)}"

    def error(self, path: PathKey, message: str, hint: str = "") -> PolicyError:
        return PolicyError(message, hint, location=self.where(path))


def _convert(loader: Any, node: yaml.Node, path: PathKey,
             lines: dict[PathKey, int], name: str, budget: _Budget) -> Any:
    budget.spend(node, len(path))
    lines[path] = node.start_mark.line + 1
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in _PLAIN:
        # Only plain YAML: a tag such as !!python/object is refused, never constructed.
        raise PolicyError(f"unsupported YAML tag {node.tag!r}", "packs are plain YAML",
                          location=f"{name}:{node.start_mark.line + 1}")
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
        if id(node) in budget.open:
            raise PolicyError("a YAML alias refers to a value that contains it (recursive "
                              "alias)", "aliases must not refer to an enclosing value",
                              location=f"{name}:{node.start_mark.line + 1}")
        budget.open.add(id(node))
        try:
            return _convert_collection(loader, node, path, lines, name, budget)
        finally:
            budget.open.discard(id(node))
    try:
        return loader.construct_object(node, deep=True)
    except (ValueError, TypeError, OverflowError) as exc:
        # PyYAML's date and number constructors raise plain errors for values like 2026-13-01.
        raise PolicyError(f"{node.value!r} is not a valid value: {exc}",
                          "quote it if it is meant as text",
                          location=f"{name}:{node.start_mark.line + 1}") from None


def _convert_collection(loader: Any, node: yaml.Node, path: PathKey,
                        lines: dict[PathKey, int], name: str, budget: _Budget) -> Any:
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise PolicyError("a mapping key must be text, not a list or mapping",
                                  location=f"{name}:{key_node.start_mark.line + 1}")
            budget.spend(key_node, len(path) + 1)
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) or key is None:
                raise PolicyError(f"a mapping key must be text, got {key!r}",
                                  location=f"{name}:{key_node.start_mark.line + 1}")
            if key in out:
                raise PolicyError(f"duplicate key {key!r}", "each key may appear once",
                                  location=f"{name}:{key_node.start_mark.line + 1}")
            out[key] = _convert(loader, value_node, (*path, key), lines, name, budget)
            lines[(*path, key)] = key_node.start_mark.line + 1
        return out
    return [_convert(loader, item, (*path, i), lines, name, budget)
            for i, item in enumerate(node.value)]


# libyaml's parser when PyYAML was built with it (several times faster); same safe constructors.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse(text: str, name: str) -> Source:
    if len(text) > MAX_FILE_BYTES:
        raise PolicyError(f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB",
                          "packs and suppression files are small: is this the right file?",
                          location=f"{name}:1")
    loader = _LOADER(text)
    try:
        node = loader.get_single_node()
        lines: dict[PathKey, int] = {}
        data = None if node is None else _convert(loader, node, (), lines, name,
                                                  _Budget(name))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = exc.problem or exc.context or "not valid YAML"
        raise PolicyError(f"YAML syntax error: {problem}",
                          "check indentation and quoting near this line",
                          location=f"{name}:{line}") from None
    except yaml.YAMLError as exc:
        raise PolicyError(f"not valid YAML: {exc}", location=f"{name}:1") from None
    except RecursionError:
        # The parser itself nests once per level: thousands of "[" in a row end here.
        raise PolicyError(f"YAML nested deeper than {MAX_DEPTH} levels",
                          "flatten the structure", location=f"{name}:1") from None
    finally:
        loader.dispose()
    return Source(name, data, lines)


def read(path: str | Path) -> Source:
    path = Path(path)
    try:
        with path.open("rb") as handle:  # read no more than the limit, whatever the file is
            data = handle.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise PolicyError(f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB",
                              "packs and suppression files are small: is this the right file?",
                              location=f"{path}:1")
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise PolicyError(f"{path}: no such file", "check the path") from None
    except IsADirectoryError:
        raise PolicyError(f"{path}: is a directory", "give a YAML file") from None
    except UnicodeDecodeError as exc:
        raise PolicyError(f"{path}: not UTF-8 text (byte {exc.start})",
                          "save the file as UTF-8") from None
    except OSError as exc:
        raise PolicyError(f"{path}: cannot be read: {exc.strerror or exc}",
                          "check the file") from None
    return parse(text, str(path))
