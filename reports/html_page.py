"""What every HTML report shares: one Jinja2 environment, the inline stylesheet and script, and
the Content-Security-Policy that admits exactly those two and nothing else.

A page is self-contained: no fonts, scripts or images are fetched, so it can be mailed, attached
to a ticket or opened offline. Autoescaping is on for every template, and every value a template
prints passes ``_finalize``: control characters become ``?`` (HTML does not allow them, and a page
printed to a terminal must not drive it), ``None`` prints as nothing, and a value that has no
display form (a bool, an enum, a dict or list) is a bug in the view, not a ``False`` column.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from enum import Enum
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from reports.text import printable


def _finalize(value: Any) -> Any:
    if isinstance(value, Markup):
        return value
    if value is None:
        return ""
    if isinstance(value, bool | Enum | Mapping | list | tuple | set | frozenset):
        raise TypeError(f"a {type(value).__name__} has no display form in a report: "
                        "the view must turn it into text")
    return printable(value)


@lru_cache(maxsize=1)
def environment() -> Environment:
    return Environment(
        loader=PackageLoader("reports", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@cache
def asset(name: str) -> str:
    """A static file of the templates directory (the stylesheet, the script)."""
    return resources.files("reports").joinpath("templates", name).read_text(encoding="utf-8")


def sha256_source(text: str) -> str:
    """A CSP hash source for an inline element whose content is exactly ``text``."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def content_security_policy(style: str, script: str) -> str:
    """Nothing may load; only our own stylesheet and script run (by hash, so an element
    injected into the page would be refused), images only as data: URLs."""
    return "; ".join((
        "default-src 'none'",
        f"script-src {sha256_source(script)}",
        f"style-src {sha256_source(style)}",
        "img-src data:",
        "base-uri 'none'",
        "form-action 'none'",
    ))


def render_page(template: str, **context: Any) -> str:
    style = asset("report.css")
    script = asset("report.js")
    return environment().get_template(template).render(
        csp=content_security_policy(style, script),
        style=Markup(style),
        script=Markup(script),
        **context,
    )
