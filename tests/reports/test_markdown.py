"""The Markdown drift report: rendered by a CommonMark parser, hostile strings stay literal.

The exact output is in ``tests/golden/report.markdown`` (see test_reporters.py); here the report
is parsed as a ticket system would, and nothing a cloud said may become markup, a link, HTML or
an extra table cell.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timezone

from markdown_it import MarkdownIt

from reports.markdown import code, render
from scanner.model import (
    Action,
    Attribution,
    ChangeKind,
    Direction,
    DriftItem,
    Effect,
    Peer,
    Rule,
    ScanReport,
    Severity,
    Snapshot,
)
from scanner.netmath import PortSet

T0 = datetime(2026, 11, 30, 22, 0, tzinfo=timezone.utc)
HOSTILE = ("evil|cell ``x`` <script>alert(1)</script> [click](http://evil.example) "
           "![img](http://evil.example/i.png) **bold** # heading <b>b</b> http://evil.example")
PARSER = MarkdownIt("commonmark").enable("table")


def hostile_report(hostile: str = HOSTILE) -> ScanReport:
    HOSTILE = hostile  # noqa: N806 - the same report with another string in every slot
    before = Rule(Direction.INGRESS, Action.DENY, "tcp", PortSet.of(22),
                  (Peer.cidr("0.0.0.0/0"),), 100, native_id=HOSTILE, name=HOSTILE)
    widened = DriftItem(
        "CWD-aaaa", ChangeKind.RULE_REMOVED, Effect.WIDENED, Severity.CRITICAL, "azure", "sub",
        "westeurope", "/subs/nsg|x", HOSTILE, rule_key=HOSTILE, before=before,
        summary=f"rule {HOSTILE} removed; it now admits tcp 22 (SSH) from the whole internet",
        details={"rule_set_kind": "azure_nsg", "target": f"subnet {HOSTILE}",
                 "opened": [{"direction": "ingress", "family": "IPv4", "protocols": "tcp",
                             "ports": ["22"], "what": "tcp 22", "internet": False,
                             "broad": False, "sources": [HOSTILE], "services": ["SSH"]}]},
        attack=("T1562.007",), tactic="TA0005", detection="Firewall Rule Modification",
        operations=("Microsoft.Network/networkSecurityGroups/securityRules/delete",),
        attribution=(Attribution(actor=HOSTILE, time=T0, source_address="198.51.100.7",
                                 operation="securityRules/delete"),
                     Attribution(unavailable_reason=HOSTILE)))
    narrowed = replace(widened, drift_id="CWD-bbbb", effect=Effect.NARROWED,
                       severity=Severity.INFO, attack=(), tactic=None, detection=None,
                       change=ChangeKind.RULE_ADDED, attribution=())
    snapshot = Snapshot("snap-2", T0)
    return ScanReport(snapshot, drift=(widened, narrowed), baseline_name=HOSTILE,
                      baseline_snapshot_id="snap-1", tool_version="0.1.0")


def tokens(text: str):
    for token in PARSER.parse(text):
        yield token
        yield from token.children or ()


def test_hostile_strings_never_become_markup():
    text = render(hostile_report())
    # The document has exactly the structure it has with harmless strings in the same places.
    plain = render(hostile_report("plain"))
    assert [t.type for t in tokens(text)] == [t.type for t in tokens(plain)]
    kinds = {t.type for t in tokens(text)}
    assert not kinds & {"html_block", "html_inline", "link_open", "image"}
    html = PARSER.render(text)
    assert "<script>" not in html and "<b>" not in html and "href=" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_pipes_in_cells_do_not_add_cells():
    text = render(hostile_report())
    html = PARSER.render(text)
    for table in html.split("<table>")[1:]:
        body = table.split("</table>")[0]
        header_cells = len(re.findall(r"<th[ >]", body.split("</tr>")[0]))
        for row in body.split("</tr>")[1:-1]:
            assert len(re.findall(r"<td[ >]", row)) == header_cells, row


def test_widening_has_before_after_technique_operations_and_actor():
    text = render(hostile_report())
    widening = text.split("## Widenings")[1].split("## Other changes")[0]
    assert "T1562.007 Impair Defenses: Disable or Modify Cloud Firewall" in widening
    assert "`Microsoft.Network/networkSecurityGroups/securityRules/delete`" in widening
    assert "before: deny ingress tcp 22 from 0.0.0.0/0" in widening
    assert "| 2026-11-30T22:00:00Z | `198.51.100.7` |" in widening
    assert "not available:" in widening
    # The narrowing is listed among the other changes, without the technique.
    others = text.split("## Other changes")[1]
    assert "CWD-bbbb" in others and "T1562.007" not in others


def test_code_spans_outlast_backticks_and_fenced_blocks_cannot_be_closed():
    assert code("a`b") == "``a`b``"
    assert code("``x") == "``` ``x ```"
    assert code("a|b", cell=True) == "`a\\|b`"
    report = hostile_report()
    evil = replace(report.drift[0], before=replace(report.drift[0].before,
                                                   native_id="```\n# pwned"))
    text = render(replace(report, drift=(evil,)))
    assert not [t for t in tokens(text) if t.type == "heading_open" and
                "pwned" in (t.map and text.splitlines()[t.map[0]] or "")]


def _demo_report(baseline: str | None):
    """The demo estate's changed stage, compared with its baseline stage when ``baseline``."""
    from providers.base import ProviderSettings
    from scanner.engine import ScanRequest, analyze, run_scan

    current = run_scan(ScanRequest(("demo",), ProviderSettings(demo_stage="changed")), None)
    if baseline is None:
        return current
    base = run_scan(ScanRequest(("demo",), ProviderSettings()), None).snapshot
    return analyze(current.snapshot, (baseline, base))


def test_title_says_what_the_report_holds():
    plain = render(_demo_report(None))
    assert plain.startswith("# Exposure and findings of snapshot `")
    assert "drift" not in plain.splitlines()[0].lower()
    assert "## Widenings" not in plain and "- **Drift:**" not in plain
    compared = render(_demo_report("prod eu"))
    assert compared.startswith("# Drift since baseline `prod eu`, exposure and findings\n")


def test_accept_hints_name_the_real_baseline():
    report = _demo_report("prod eu")
    text = render(report)
    hints = re.findall(r"accept it with `([^`]*)`", text)
    assert hints and all(h.startswith("cloudwall baseline set 'prod eu' --accept CWD-")
                         and h.endswith(f" --from-snapshot {report.snapshot.snapshot_id}")
                         for h in hints)
    from_file = render(_demo_report("baselines/prod.json"))
    assert "the baseline was the file `baselines/prod.json`" in from_file
    assert "cloudwall baseline set NAME --accept CWD-" in from_file


def test_exposure_section_lists_every_exposed_machine_with_its_path():
    report = _demo_report(None)
    text = render(report)
    section = text.split("## Exposure\n")[1].split("\n## ")[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    assert len(rows) == len(report.exposures)
    names = {a.asset_id: a.name for a in report.snapshot.assets}
    for exposure in report.exposures:
        assert f"`{names.get(exposure.asset_id) or exposure.asset_id}`" in section
    assert "the whole internet" in section
    assert all(row.count(" | ") == 7 for row in rows)  # eight cells, the path in the last


def test_suppressed_findings_are_counted_and_listed_with_their_reason():
    report = _demo_report(None)
    quiet = replace(report.findings[0], suppressed=True,
                    suppression={"reason": "bastion", "owner": "netops", "expires": "2027-01-01"})
    text = render(replace(report, findings=(quiet, *report.findings[1:])))
    section = text.split("## Suppressed findings (1)\n")[1].split("\n## ")[0]
    assert "`bastion`" in section and "`netops`" in section and quiet.finding_id in section
    assert "; 1 suppressed (accepted exceptions, not counted)" in text
    assert "## Suppressed findings" not in render(report)
