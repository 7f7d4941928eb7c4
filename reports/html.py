"""Self-contained HTML reports, from Jinja2 templates (``reports/templates``).

The scan report answers a responder's questions in order: what was scanned and what could not
be read; what changed since the baseline (T1562.007 first); what the internet can reach; then
every finding, one row per rule, sortable and filterable in the page itself. Every string
from the cloud is escaped by the template engine; nothing is built as markup here.
"""

from __future__ import annotations

from typing import Any

from reports.html_drift import drift_view
from reports.html_findings import (
    DETAIL_LIMIT,
    filters,
    finding_groups,
    severity_counts,
    suppressed,
)
from reports.html_graph import exposure_graph
from reports.html_page import render_page
from reports.html_view import exposed_assets, header, services_chart, severity_chart
from scanner.model import ScanReport, Snapshot


def _names(snapshot: Snapshot) -> tuple[dict[tuple[str, str], str], dict[str, str]]:
    accounts = {(s.provider, s.account): s.name for s in snapshot.scopes if s.name}
    assets = {a.asset_id: a.name or a.asset_id for a in snapshot.assets}
    return accounts, assets


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def headline(report: ScanReport, drift: dict[str, Any] | None, exposure: dict[str, Any],
             counts: dict[str, int], rules: int) -> list[str]:
    """The report in a few sentences, for whoever reads nothing else."""
    lines = []
    not_read = sum(1 for s in report.snapshot.scopes
                   if report.snapshot.scope_status(s) != "ok")
    if not_read:
        lines.append(f"{_plural(not_read, 'scope')} could not be fully read: what they hold is "
                     "unknown, not clean.")
    if drift is not None:
        changes = drift["changes"]
        critical = sum(1 for d in changes if d["severity"] == "critical")
        if changes:
            lines.append(f"{_plural(len(changes), 'change')} since the baseline widen what the "
                         f"firewalls admit ({drift['technique']})"
                         + (f", {critical} of them critical." if critical else "."))
        elif drift["total"]:
            lines.append(f"{_plural(drift['total'], 'change')} since the baseline; none widens "
                         "what the firewalls admit.")
        else:
            lines.append("No drift since the baseline.")
    internet = exposure["internet_assets"]
    if exposure["assets"]:
        top = exposure["top_service"]
        lines.append(f"{_plural(len(exposure['assets']), 'machine')} can be reached from the "
                     f"internet ({internet} from every address)"
                     + (f", most often on {top[0]} ({top[1]})." if top else "."))
    else:
        lines.append("No machine can be reached from the internet.")
    total = sum(counts.values())
    if total:
        lines.append(f"{counts['critical']} critical and {counts['high']} high of "
                     f"{_plural(total, 'finding')} on {_plural(rules, 'rule')} and resources.")
    else:
        lines.append("No findings.")
    return lines


def scan_context(report: ScanReport) -> dict[str, Any]:
    snapshot = report.snapshot
    account_names, asset_names = _names(snapshot)
    active = [f for f in report.findings if not f.suppressed]
    exposed = {e.asset_id for e in report.exposures}
    groups = finding_groups(active, account_names, asset_names, exposed, DETAIL_LIMIT)
    titles: dict[str, str] = {}
    for f in active:
        titles.setdefault(f.policy_id, f.title)
    counts = severity_counts(active)
    title = "Drift and posture report" if report.baseline_snapshot_id else "Posture report"
    drift = drift_view(report.drift, report.baseline_name, snapshot.snapshot_id,
                       asset_names) if report.baseline_snapshot_id else None
    exposure = exposed_assets(snapshot, report.exposures, report.exposure_unknown)
    return {
        "headline": headline(report, drift, exposure, counts, len(groups)),
        "header": header(snapshot, title=title, generated_at=report.generated_at,
                         tool_version=report.tool_version, baseline_name=report.baseline_name,
                         baseline_snapshot_id=report.baseline_snapshot_id),
        "drift": drift,
        "exposure": exposure,
        "graph": exposure_graph(snapshot, report.exposures),
        "services_chart": services_chart(report.exposures),
        "findings": {
            "total": len(active),
            "counts": counts,
            "chart": severity_chart(counts, "Findings by severity"),
            "groups": groups,
            "detail_limit": DETAIL_LIMIT,
            "filters": filters(groups, titles),
            "suppressed": suppressed(report.findings),
        },
    }


def render(report: ScanReport) -> str:
    return render_page("scan.html.j2", **scan_context(report))


def render_exposure(snapshot: Snapshot, analysis) -> str:
    """``cloudwall exposure --format html``: the graph and every exposed machine of one
    snapshot (``analysis`` is its ``scanner.exposure.ExposureAnalysis``)."""
    return render_page(
        "exposure.html.j2",
        header=header(snapshot, title="Exposure report"),
        exposure=exposed_assets(snapshot, analysis.exposures, analysis.unknown_reasons,
                                analysis.notes),
        graph=exposure_graph(snapshot, analysis.exposures),
        trusted=list(analysis.trusted_cidrs),
        broad_prefix=analysis.broad_prefix,
    )
