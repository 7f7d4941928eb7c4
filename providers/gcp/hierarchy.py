"""Projects below organizations and folders (``--organization``, ``--folder``).

Resource Manager v3 lists one level at a time: ``projects.list`` and ``folders.list`` with
``parent=organizations/N`` or ``parent=folders/N`` answer for that node's direct children, paged
with ``pageToken``. The tree is walked level by level (the nodes of a level read concurrently),
each node once, down to the leaves; folders nest at most ten deep, and a node seen before is not
read again, so the walk ends whatever the API answers. A node that cannot be listed is a
CollectionError naming it: what is below it is unknown, never empty. Only ACTIVE projects are
scanned; the parents found on the way are kept for the hierarchical firewall policy lookups.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from providers.gcp.common import PROVIDER
from providers.gcp.fetch import Ancestry, GcpApi, describe_failure
from scanner.errors import ConfigError
from scanner.model import CollectionError

_KINDS = {"organization": "organizations", "folder": "folders"}


def parse_node(value: str, kind: str) -> str:
    """``--organization 123`` / ``organizations/123`` -> ``organizations/123`` (and folders the
    same way); anything but a numeric id is a usage error."""
    collection = _KINDS[kind]
    text = value.strip().rstrip("/")
    if text.startswith(f"{collection}/"):
        text = text[len(collection) + 1:]
    if re.fullmatch(r"[0-9]{1,32}", text):
        return f"{collection}/{text}"
    lister = "organizations" if kind == "organization" else "resource-manager folders"
    article = "an" if kind == "organization" else "a"
    raise ConfigError(f"--{kind} {value!r} is not {article} {kind} id",
                      f"give the numeric id, as `gcloud {lister} list` shows it")


def active_projects(projects: Iterable[Mapping[str, Any]]) -> list[tuple[str, str, str]]:
    """(project id, display name, parent) of the ACTIVE projects of a projects.list answer."""
    return [(str(p["projectId"]), str(p.get("displayName") or ""), str(p.get("parent") or ""))
            for p in projects
            if p.get("projectId") and str(p.get("state") or "").upper() == "ACTIVE"]


def active_folders(folders: Iterable[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """(folder name ``folders/N``, parent) of the ACTIVE folders of a folders.list answer."""
    return [(str(f["name"]), str(f.get("parent") or "")) for f in folders
            if str(f.get("name") or "").startswith("folders/")
            and str(f.get("state") or "").upper() == "ACTIVE"]


@dataclass(frozen=True, slots=True)
class Below:
    projects: list[tuple[str, str]]  # (project id, display name), sorted by id
    errors: list[CollectionError]  # nodes that could not be listed


def projects_below(api: GcpApi, ancestry: Ancestry, nodes: Iterable[str]) -> Below:
    """Every ACTIVE project below ``nodes``, through every level of folders."""
    projects: dict[str, str] = {}
    errors: list[CollectionError] = []
    seen: set[str] = set()
    level = list(dict.fromkeys(nodes))

    def read(node: str) -> tuple[str, Any]:
        try:
            return node, (api.list_projects(node), api.list_folders(node))
        except Exception as exc:  # recorded for this node; the other nodes are still read
            return node, exc

    workers = max(1, api.settings.max_workers)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        while level:
            seen.update(level)
            following: list[str] = []
            for node, answer in pool.map(read, level):
                if isinstance(answer, BaseException):
                    errors.append(node_error(node, answer))
                    continue
                found_projects, found_folders = answer
                for project_id, name, parent in active_projects(found_projects):
                    ancestry.remember_parent(f"projects/{project_id}", parent or node)
                    projects.setdefault(project_id, name)
                for folder, parent in active_folders(found_folders):
                    ancestry.remember_parent(folder, parent or node)
                    if folder not in seen:
                        following.append(folder)
            level = list(dict.fromkeys(following))
    return Below(sorted(projects.items()), errors)


def node_error(node: str, exc: BaseException) -> CollectionError:
    failure = describe_failure(exc, node, "hierarchy", what=f"the projects below {node}")
    return CollectionError(provider=PROVIDER, account=node, region="", reason=failure["reason"],
                           hint=failure["hint"], code=failure["code"])
