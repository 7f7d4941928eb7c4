"""Posting a summary to webhooks (``--notify URL``), with timeouts and bounded retries.

A notification never changes a run's result: ``post`` returns what happened and raises nothing
for network trouble; the CLI prints one line per failure. Webhook URLs carry their secret in
the path (Slack, Teams), the query (``sig=``, ``token=``) or the userinfo, so only
``scheme://host[:port]`` is ever shown (``redact``). Redirects are not followed: a webhook that
redirects is misconfigured, and following it would send the summary somewhere unasked.
"""

from __future__ import annotations

import base64
import http.client
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from scanner import TOOL_NAME, __version__
from scanner.errors import ConfigError

SCHEMES = ("http", "https")
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 10.0  # seconds: a Retry-After longer than this is not waited for


@dataclass(frozen=True, slots=True)
class NotifyResult:
    target: str  # the redacted URL
    ok: bool
    attempts: int
    status: int | None = None
    error: str = ""


def redact(url: str) -> str:
    """``scheme://host[:port]``: never the userinfo, path, query or fragment."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        if ":" in host:
            host = f"[{host}]"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<invalid URL>"
    return f"{parts.scheme or '?'}://{host}{port}"


def check_url(url: str) -> None:
    """A usage error (before any cloud call) for a URL that cannot be a webhook."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise ConfigError(f"--notify {redact(url)} is not a valid URL",
                          "give the webhook's full https:// URL") from None
    if parts.scheme.lower() not in SCHEMES or not parts.hostname:
        raise ConfigError(f"--notify {redact(url)} is not an http(s) URL",
                          "give the webhook's full https:// URL") from None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D102
        raise urllib.error.HTTPError(req.full_url, code, "redirect not followed", headers, fp)


def _request(url: str, body: bytes) -> urllib.request.Request:
    """The request, with userinfo turned into a Basic Authorization header."""
    parts = urlsplit(url)
    headers = {"Content-Type": "application/json; charset=utf-8",
               "User-Agent": f"{TOOL_NAME}/{__version__}"}
    if parts.username is not None:
        credentials = f"{parts.username}:{parts.password or ''}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(credentials).decode()
        netloc = parts.hostname or ""
        if ":" in netloc:
            netloc = f"[{netloc}]"
        if parts.port:
            netloc += f":{parts.port}"
        url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    return urllib.request.Request(url, data=body, headers=headers, method="POST")


def _retry_after(error: urllib.error.HTTPError) -> float | None:
    value = error.headers.get("Retry-After") if error.headers else None
    try:
        return min(max(float(value), 0.0), MAX_RETRY_AFTER) if value is not None else None
    except ValueError:
        return None


def post(url: str, document: Any, *, timeout: float = 10.0, retries: int = 2,
         backoff: float = 0.5, sleep: Callable[[float], None] = time.sleep) -> NotifyResult:
    """POST ``document`` as JSON; retry timeouts, connection errors, 429 and 5xx answers with
    exponential backoff (``backoff``, doubled each time, or the server's Retry-After)."""
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    opener = urllib.request.build_opener(_NoRedirect)
    target = redact(url)
    attempts = 0
    status: int | None = None
    error = ""
    while True:
        attempts += 1
        wait = backoff * (2 ** (attempts - 1))
        try:
            with opener.open(_request(url, body), timeout=timeout) as answer:
                answer.read(65536)
                return NotifyResult(target, True, attempts, answer.status)
        except urllib.error.HTTPError as exc:
            status, error = exc.code, f"HTTP {exc.code}"
            exc.close()
            if exc.code not in RETRY_STATUSES:
                break
            wait = _retry_after(exc) if _retry_after(exc) is not None else wait
        except TimeoutError:
            status, error = None, f"no answer within {timeout:g} s"
        except urllib.error.URLError as exc:
            status = None
            reason = exc.reason
            if isinstance(reason, TimeoutError):
                error = f"no answer within {timeout:g} s"
            else:  # the reason names the OS error, never the URL
                error = f"cannot connect ({type(reason).__name__})" if isinstance(
                    reason, OSError) else "cannot connect"
        except (OSError, http.client.HTTPException) as exc:
            status, error = None, f"connection failed ({type(exc).__name__})"
        if attempts > retries:
            break
        sleep(wait)
    return NotifyResult(target, False, attempts, status, error)


@dataclass(frozen=True, slots=True)
class Webhooks:
    """The ``--notify`` URLs and how to post to them, as every command that notifies reads
    them from its options."""

    urls: tuple[str, ...] = ()
    fmt: str = "generic"
    timeout: float = 10.0
    retries: int = 0

    @classmethod
    def from_flags(cls, flags: Mapping[str, Any]) -> Webhooks:
        return cls(tuple(flags.get("notify_urls") or ()), flags.get("notify_format") or "generic",
                   float(flags.get("notify_timeout") or 10.0),
                   int(flags.get("notify_retries") or 0))

    def send(self, document: Any, warn: Callable[[str], None],
             send: Callable[..., NotifyResult] = post) -> None:
        """Post to every URL; a failure is one ``warn`` line, never an exception."""
        for url in self.urls:
            result = send(url, document, timeout=self.timeout, retries=self.retries)
            if not result.ok:
                warn(f"warning: notification to {result.target} failed after "
                     f"{result.attempts} attempt(s): {result.error}")
