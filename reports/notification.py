"""The compact summary ``--notify`` posts: counts, the top drift items with their actor, and a
few lines of text with no links, shaped for Slack, Microsoft Teams or as plain JSON.

Pure functions of a finished (filtered) report. Cloud-supplied strings are made printable and
cut short; in the chat formats they are also escaped for that client's markup, and URL schemes
inside them are defanged (``hxxp[:]//``), so a rule description cannot add a link, a mention or
formatting to the message.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from reports.json_report import JSON_SCHEMA_VERSION
from reports.summary import ordered_drift, summary
from reports.text import printable
from scanner import TOOL_NAME
from scanner.model import DriftItem, ScanReport, Severity, utc_timestamp

NOTIFY_FORMATS = ("generic", "slack", "teams")
TOP_DRIFT = 5
_TEXT_LIMIT = 200


def _actor(item: DriftItem) -> str | None:
    return next((a.actor for a in item.attribution if a.actor), None)


def _short(resource_id: str) -> str:
    return resource_id.rstrip("/").rsplit("/", 1)[-1] or resource_id


def top_drift(report: ScanReport, count: int = TOP_DRIFT) -> list[DriftItem]:
    """The most severe items, widenings first among equals."""
    ranked = ordered_drift(report.drift)
    return sorted(ranked, key=lambda d: (-d.severity.rank, d.effect.value != "widened"))[:count]


def to_summary(report: ScanReport, exit_code: int, gates: dict[str, str],
               tripped: list[str]) -> dict[str, Any]:
    """The generic payload: everything a receiver needs to route and triage, and no more."""
    counts = summary(report)
    drift_severity = Counter(d.severity.value for d in report.drift)
    return {
        "schema_version": JSON_SCHEMA_VERSION,
        "kind": "notification",
        "tool": {"name": TOOL_NAME, "version": report.tool_version},
        "generated_at": utc_timestamp(report.generated_at) if report.generated_at else None,
        "snapshot": {"id": report.snapshot.snapshot_id,
                     "taken_at": utc_timestamp(report.snapshot.taken_at)},
        "baseline": {"name": report.baseline_name, "snapshot_id": report.baseline_snapshot_id}
        if report.baseline_snapshot_id else None,
        "filters": dict(report.filters),
        "result": {"exit_code": exit_code, "gates": gates, "tripped": tripped,
                   "complete": counts["complete"]},
        "counts": {
            "findings": counts["findings"],
            "suppressed": counts["suppressed"],
            "drift": counts["drift"],
            "drift_by_severity": {s.value: drift_severity.get(s.value, 0)
                                  for s in reversed(Severity)},
            "exposed_assets": counts["exposed_assets"],
            "scopes": counts["scopes"],
            "errors": len(report.snapshot.errors),
        },
        "top_drift": [
            {"id": d.drift_id, "severity": d.severity.value, "effect": d.effect.value,
             "change": d.change.value, "provider": d.provider, "account": d.account,
             "region": d.region, "resource_id": d.resource_id,
             "resource_name": d.resource_name, "attack": list(d.attack),
             "summary": printable(d.summary, _TEXT_LIMIT), "actor": _actor(d)}
            for d in top_drift(report)
        ],
        "text": "\n".join(text_lines(report, tripped, gates=gates)),
    }


def headline(gates: dict[str, str], tripped: list[str]) -> str:
    if tripped:
        return "cloudwall FAILED: " + "; ".join(tripped)
    if gates:
        flags = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in sorted(gates.items()))
        return f"cloudwall passed its gates ({flags})"
    return "cloudwall report"


def text_lines(report: ScanReport, tripped: list[str], escape=lambda text: text,
               gates: dict[str, str] | None = None) -> list[str]:
    """A headline, the counts, then one line per top drift item; ``escape`` makes cloud
    strings safe for the receiving client's markup."""
    counts = summary(report)
    findings = ", ".join(f"{n} {k}" for k, n in counts["findings"].items() if n) or "none"
    drift = ", ".join(f"{n} {k}" for k, n in counts["drift"].items()) or "none"
    scopes = counts["scopes"]
    not_read = scopes["failed"] + scopes["partial"]
    lines = [headline(gates or {}, tripped),
             f"snapshot {report.snapshot.snapshot_id}"
             + (f" against baseline {escape(printable(report.baseline_name or '', 80))}"
                if report.baseline_snapshot_id else ""),
             f"findings: {findings}; suppressed: {counts['suppressed']}; drift: {drift}; "
             f"exposed assets: {counts['exposed_assets']}"]
    if not_read:
        lines.append(f"INCOMPLETE: {not_read} of {scopes['total']} scopes not fully read")
    for item in top_drift(report):
        actor = _actor(item)
        where = "/".join(p for p in (item.provider, item.account, item.region) if p)
        lines.append(
            f"[{item.severity.value.upper()}] {item.effect.value} {where} "
            f"{escape(printable(_short(item.resource_name or item.resource_id), 80))}: "
            f"{escape(printable(item.summary, _TEXT_LIMIT))}"
            + (f" (by {escape(printable(actor, 120))})" if actor else ""))
    return lines


_URL_SCHEME = re.compile(r"(?i)\b(h)tt(ps?)://")


def _defang(text: str) -> str:
    """``https://x`` -> ``hxxps[:]//x``, so no client turns cloud text into a link."""
    return _URL_SCHEME.sub(lambda m: f"{m[1]}xx{m[2]}[:]//", text).replace("://", "[:]//")


def slack_escape(text: str) -> str:
    """Slack's three control characters, so ``<!channel>`` or ``<url|label>`` stay text."""
    return _defang(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# The Markdown subset Adaptive Cards render: emphasis and links.
_TEAMS_MARKUP = str.maketrans({c: "\\" + c for c in "\\*_[]"})


def teams_escape(text: str) -> str:
    """Adaptive Card text is a Markdown subset (emphasis, links): its markup is escaped."""
    return _defang(text).translate(_TEAMS_MARKUP)


def to_slack(report: ScanReport, exit_code: int, gates: dict[str, str],
             tripped: list[str]) -> dict[str, Any]:
    """A Slack incoming-webhook message: plain-text blocks, link unfurling off."""
    lines = text_lines(report, tripped, slack_escape, gates)
    return {
        "text": "\n".join(lines),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": lines[0][:150]}},
            {"type": "section", "text": {"type": "plain_text", "text": "\n".join(lines[1:4])}},
            *({"type": "section", "text": {"type": "plain_text", "text": line[:3000]}}
              for line in lines[4:]),
        ],
        "unfurl_links": False,
        "unfurl_media": False,
    }


def to_teams(report: ScanReport, exit_code: int, gates: dict[str, str],
             tripped: list[str]) -> dict[str, Any]:
    """A Microsoft Teams incoming-webhook (Workflows) message carrying one Adaptive Card."""
    lines = text_lines(report, tripped, teams_escape, gates)
    body = [{"type": "TextBlock", "text": lines[0], "weight": "Bolder", "size": "Medium",
             "wrap": True,
             **({"color": "Attention"} if tripped else {})}]
    body += [{"type": "TextBlock", "text": line, "wrap": True, "spacing": "Small"}
             for line in lines[1:]]
    return {
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "content": {"type": "AdaptiveCard", "version": "1.4", "body": body},
        }],
    }


BUILDERS = {"generic": to_summary, "slack": to_slack, "teams": to_teams}


def payload(fmt: str, report: ScanReport, exit_code: int, gates: dict[str, str],
            tripped: list[str]) -> dict[str, Any]:
    return BUILDERS[fmt](report, exit_code, gates, tripped)
