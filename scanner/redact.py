"""Secrets in endpoint URLs never reach a terminal, a report or the store.

Endpoints come from flags and the environment (``--azure-endpoint``, ``--gcp-endpoint``,
``AWS_ENDPOINT_URL*``) and the SDKs quote them back in their errors. :func:`redact` takes any
text and, in every URL in it, replaces the userinfo (``user:password@``) and the values of
credential-like query parameters (``password``, ``token``, ``sig``, ``X-Amz-Signature``...) with
``***``. It is applied where such text leaves cloudwall: every CollectionError and attribution
reason (so the JSON report and the stored snapshot), and every error, hint and ``--debug``
traceback the CLI prints.
"""

from __future__ import annotations

import re

MASK = "***"
# scheme://[userinfo@]host...; stops at whitespace, quotes and brackets around a quoted URL.
_URL = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.\-]*://)([^\s\"'<>()\[\]{}`]+)")
_CREDENTIAL_KEYS = (
    r"password|passwd|pwd|pass|secret|client_secret|token|access_token|id_token|refresh_token|"
    r"api[_-]?key|key|sig|signature|x-amz-signature|x-amz-credential|x-amz-security-token|"
    r"x-goog-signature|x-goog-credential|auth|authorization|credential|credentials|code|"
    r"session|sessiontoken|private_token"
)
_QUERY_SECRET = re.compile(rf"(?i)([?&;](?:{_CREDENTIAL_KEYS})=)([^&;#\s]*)")


def _redact_url(match: re.Match[str]) -> str:
    scheme, rest = match.group(1), match.group(2)
    authority_end = len(rest)
    for stop in "/?#":
        index = rest.find(stop)
        if index != -1:
            authority_end = min(authority_end, index)
    authority, tail = rest[:authority_end], rest[authority_end:]
    if "@" in authority:
        authority = MASK + "@" + authority.rsplit("@", 1)[1]
    tail = _QUERY_SECRET.sub(lambda m: m.group(1) + (MASK if m.group(2) else ""), tail)
    return scheme + authority + tail


def redact(text: object) -> str:
    """``text`` with the secrets of every URL in it masked (see the module)."""
    value = str(text)
    if "://" not in value:
        return value
    return _URL.sub(_redact_url, value)


def redact_url(url: str | None) -> str | None:
    """One URL, masked; None stays None."""
    return None if url is None else redact(url)
