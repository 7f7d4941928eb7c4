"""Subscriptions below management groups (``--management-group``).

One Resource Manager call per group answers for the whole tree below it:
``GET /providers/Microsoft.Management/managementGroups/{group}/descendants`` lists every child
management group and subscription, at any depth, paged with ``nextLink``. It is sent through the
pipeline of the subscription client the adapter already has (same credential, retry, timeout
and host checks as every other call), so no management-groups SDK is needed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from providers.azure.fetch import list_pages
from providers.paging import PageLimits
from scanner.errors import ConfigError

# The Management Groups API version read: pinned, so the JSON shape parsed is the tested one.
API_VERSION = "2021-04-01"
PERMISSION = "Microsoft.Management/managementGroups/descendants/read"
SUBSCRIPTION_TYPES = {"microsoft.management/managementgroups/subscriptions", "/subscriptions"}
_PREFIX = "/providers/microsoft.management/managementgroups/"
# Azure's rule for a management group id: letters, digits, - _ . ( ), at most 90 characters.
_GROUP_ID = re.compile(r"[A-Za-z0-9\-_.()]{1,90}")


def parse_group(value: str) -> str:
    """A ``--management-group`` value as its id; the full resource id is accepted too."""
    text = value.strip().rstrip("/")
    if text.lower().startswith(_PREFIX):
        text = text[len(_PREFIX):]
    if _GROUP_ID.fullmatch(text):
        return text
    raise ConfigError(f"--management-group {value!r} is not a management group id",
                      "give the group's id (its name, not its display name), as "
                      "`az account management-group list` shows it")


def descendants_path(group: str) -> str:
    return f"/providers/Microsoft.Management/managementGroups/{quote(group, safe='')}/descendants"


def subscriptions_in(descendants: Iterable[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """(subscription id, display name) of the subscriptions among a descendants listing, in
    the order listed; child management groups are skipped (their subscriptions are listed
    too). The id is the entry's ``name``, else the last segment of ``/subscriptions/{id}``."""
    found: dict[str, str] = {}
    for entry in descendants:
        kind = str(entry.get("type") or "").lower()
        resource_id = str(entry.get("id") or "")
        if kind not in SUBSCRIPTION_TYPES and not resource_id.lower().startswith(
                "/subscriptions/"):
            continue
        sub = str(entry.get("name") or resource_id.rstrip("/").rsplit("/", 1)[-1]).lower()
        if not sub:
            continue
        properties = entry.get("properties")
        name = properties.get("displayName") if isinstance(properties, Mapping) else None
        found.setdefault(sub, str(name or ""))
    return list(found.items())


def list_descendants(client: Any, group: str, base_url: str,
                     limits: PageLimits | None = None) -> list[dict[str, Any]]:
    """Every descendant of one management group, all pages, as the REST API sent them."""
    return list_pages(client, descendants_path(group), API_VERSION,
                      f"descendants of management group {group}", base_url, limits)
