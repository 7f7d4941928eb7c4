"""YAML with line numbers: plain Python values plus a map from value paths to source lines.

Only safe YAML is read (PyYAML's safe constructors); nothing in a pack is ever evaluated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scanner.errors import PolicyError

PathKey = tuple[Any, ...]
_PLAIN = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}


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
             lines: dict[PathKey, int], name: str) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in _PLAIN:
        # Only plain YAML: a tag such as !!python/object is refused, never constructed.
        raise PolicyError(f"unsupported YAML tag {node.tag!r}", "packs are plain YAML",
                          location=f"{name}:{node.start_mark.line + 1}")
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) or key is None:
                raise PolicyError(f"a mapping key must be text, got {key!r}",
                                  location=f"{name}:{key_node.start_mark.line + 1}")
            if key in out:
                raise PolicyError(f"duplicate key {key!r}", "each key may appear once",
                                  location=f"{name}:{key_node.start_mark.line + 1}")
            out[key] = _convert(loader, value_node, (*path, key), lines, name)
            lines[(*path, key)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(loader, item, (*path, i), lines, name)
                for i, item in enumerate(node.value)]
    try:
        return loader.construct_object(node, deep=True)
    except (ValueError, TypeError, OverflowError) as exc:
        # PyYAML's date and number constructors raise plain errors for values like 2026-13-01.
        raise PolicyError(f"{node.value!r} is not a valid value: {exc}",
                          "quote it if it is meant as text",
                          location=f"{name}:{node.start_mark.line + 1}") from None


# libyaml's parser when PyYAML was built with it (several times faster); same safe constructors.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse(text: str, name: str) -> Source:
    loader = _LOADER(text)
    try:
        node = loader.get_single_node()
        lines: dict[PathKey, int] = {}
        data = None if node is None else _convert(loader, node, (), lines, name)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = exc.problem or exc.context or "not valid YAML"
        raise PolicyError(f"YAML syntax error: {problem}",
                          "check indentation and quoting near this line",
                          location=f"{name}:{line}") from None
    except yaml.YAMLError as exc:
        raise PolicyError(f"not valid YAML: {exc}", location=f"{name}:1") from None
    finally:
        loader.dispose()
    return Source(name, data, lines)


def read(path: str | Path) -> Source:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError(f"{path}: no such file", "check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{path}: cannot be read: {exc}", "check the file") from None
    return parse(text, str(path))
