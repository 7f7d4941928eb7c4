"""Suppressions: accepted findings, each with a reason, an owner and an expiry date.

    suppressions:
      - id: CWF-3f2a9c0d1e2b3a4c5d6e       # one finding, by its stable id
        reason: bastion host, reviewed in SEC-123
        owner: netops@example.com
        expires: 2026-06-30
      - policy: CW-NET-001                  # or a policy and a resource pattern (glob on the
        resource: "sg-0bastion*"            # resource id or name)
        reason: ...
        owner: ...
        expires: 2026-06-30

A suppressed finding stays in the report, marked ``suppressed`` with the entry that matched. An
expired entry stops suppressing: the finding is active again and carries the entry with
``expired: true`` so the report says why it came back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from policies.schema import suggestion_suffix
from policies.yamlsource import Source, read
from scanner.model import Finding

ENTRY_KEYS = ("id", "policy", "resource", "reason", "owner", "expires")


@dataclass(frozen=True, slots=True)
class Suppression:
    reason: str
    owner: str
    expires: date
    location: str
    finding_id: str | None = None
    policy: str | None = None
    resource: str | None = None

    def matches(self, finding: Finding) -> bool:
        if self.finding_id is not None:
            return finding.finding_id == self.finding_id
        if self.policy and not fnmatchcase(finding.policy_id.upper(), self.policy.upper()):
            return False
        pattern = self.resource or "*"
        return fnmatchcase(finding.resource_id, pattern) or \
            fnmatchcase(finding.resource_name, pattern)

    def to_dict(self, expired: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"reason": self.reason, "owner": self.owner,
                               "expires": self.expires.isoformat(), "location": self.location}
        for key in ("finding_id", "policy", "resource"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if expired:
            out["expired"] = True
        return out


def _entry(src: Source, index: int, data: Any) -> Suppression:
    path = ("suppressions", index)
    if not isinstance(data, dict):
        raise src.error(path, "a suppression must be a mapping",
                        "give id (or policy and resource), reason, owner and expires")
    for key in data:
        if key not in ENTRY_KEYS:
            raise src.error((*path, key), f"unknown suppression field {key!r}"
                            + suggestion_suffix(str(key), ENTRY_KEYS))
    for key in ("reason", "owner", "expires"):
        if data.get(key) in (None, ""):
            raise src.error(path, f"suppression is missing `{key}`",
                            "every suppression needs a reason, an owner and an expiry date")
    if not data.get("id") and not data.get("policy"):
        raise src.error(path, "suppression matches nothing: give `id`, or `policy` (and "
                        "`resource`)")
    if data.get("id") and (data.get("policy") or data.get("resource")):
        raise src.error(path, "give either `id` or `policy`/`resource`, not both")
    expires = data["expires"]
    if isinstance(expires, datetime):
        expires = expires.date()
    if not isinstance(expires, date):
        try:
            expires = date.fromisoformat(str(expires))
        except ValueError:
            raise src.error((*path, "expires"), f"expires must be a date, got {expires!r}",
                            "write it as YYYY-MM-DD") from None
    for key in ("id", "policy", "resource", "reason", "owner"):
        if data.get(key) is not None and not isinstance(data[key], (str, int, float)) or \
                isinstance(data.get(key), bool):
            # A list or mapping here would be matched or shown as its Python spelling.
            raise src.error((*path, key), f"`{key}` must be text, got "
                            f"{type(data[key]).__name__}", "quote the value")
    text = {k: str(data[k]) for k in ("id", "policy", "resource", "reason", "owner")
            if data.get(k) not in (None, "")}
    return Suppression(text["reason"], text["owner"], expires, src.where(path),
                       text.get("id"), text.get("policy"), text.get("resource"))


def parse_suppressions(src: Source) -> list[Suppression]:
    data = src.data
    if isinstance(data, dict) and set(data) <= {"suppressions"}:
        data = data.get("suppressions") or []
        src = Source(src.name, {"suppressions": data},
                     {k: v for k, v in src.lines.items()})
    elif isinstance(data, list):
        src = Source(src.name, {"suppressions": data},
                     {("suppressions", *k): v for k, v in src.lines.items()})
    else:
        raise src.error((), "a suppressions file is a list, or a mapping with `suppressions`")
    return [_entry(src, i, item) for i, item in enumerate(data)]


def load_suppressions(path: str | Path) -> list[Suppression]:
    return parse_suppressions(read(path))


def apply_suppressions(findings: Iterable[Finding], suppressions: list[Suppression],
                       today: date | None = None) -> tuple[list[Finding], list[dict]]:
    """Mark findings; returns them and a notice per expired entry that matched something."""
    today = today or datetime.now(timezone.utc).date()
    out: list[Finding] = []
    expired_hits: dict[str, dict] = {}
    for finding in findings:
        active = expired = None
        for entry in suppressions:
            if entry.matches(finding):
                if entry.expires >= today:
                    active = entry
                    break
                expired = expired or entry
        if active is not None:
            finding = replace(finding, suppressed=True, suppression=active.to_dict(False))
        elif expired is not None:
            finding = replace(finding, suppressed=False, suppression=expired.to_dict(True))
            notice = expired_hits.setdefault(expired.location, {
                "location": expired.location, "expired": expired.expires.isoformat(),
                "owner": expired.owner, "findings": 0})
            notice["findings"] += 1
        out.append(finding)
    return out, list(expired_hits.values())
