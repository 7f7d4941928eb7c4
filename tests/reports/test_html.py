"""The HTML reports without a browser: escaping, the Content-Security-Policy, self-containment,
the order of sections, findings grouped by rule, and the demo estate's golden page.

The same pages are opened in a real browser by ``test_html_browser.py``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from dataclasses import replace
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest

import reports
from reports.html import render, render_exposure
from reports.html_drift import accept_command
from reports.html_page import environment
from scanner.exposure import analyze_exposure
from scanner.model import Asset, ScanReport, Snapshot
from tests.reports.demo_report import demo_report
from tests.reports.test_reporters import ANSI, FORMULA, HTML, golden_report

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
UPDATE = os.environ.get("CLOUDWALL_UPDATE_GOLDEN") == "1"

# Every element the templates write; anything else in a page was injected.
OUR_TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "main", "footer", "nav", "section",
    "article", "div", "p", "a", "h1", "h2", "h3", "h4", "code", "time", "strong", "span", "br",
    "dl", "dt", "dd", "ul", "ol", "li", "table", "colgroup", "col", "thead", "tbody", "tr", "th",
    "td", "details", "summary", "figure", "figcaption", "form", "label", "input", "select",
    "option", "button", "output", "script", "svg", "g", "rect", "text", "path",
    "line", "circle", "defs", "marker",
}


class Page(HTMLParser):
    """Tags, attributes and the raw text of every ``<script>`` and ``<style>`` of a page."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.raw: dict[str, list[str]] = {"script": [], "style": []}
        self.text: list[str] = []
        self._in: str | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in self.raw:
            self._in = tag
            self.raw[tag].append("")

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag == self._in:
            self._in = None

    def handle_data(self, data):
        if self._in:
            self.raw[self._in][-1] += data
        else:
            self.text.append(data)

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@pytest.fixture(scope="module")
def hostile() -> str:
    return render(golden_report())


@pytest.fixture(scope="module")
def demo() -> str:
    return render(demo_report())


def csp_of(page: Page) -> dict[str, str]:
    metas = [m for m in page.all("meta") if m.get("http-equiv") == "Content-Security-Policy"]
    assert len(metas) == 1
    return {d.split()[0]: d.partition(" ")[2] for d in metas[0]["content"].split("; ")}


@pytest.mark.parametrize("which", ["hostile", "demo"])
def test_csp_admits_exactly_the_inline_script_and_style(which, request):
    text = request.getfixturevalue(which)
    page = Page(text)
    csp = csp_of(page)
    assert csp["default-src"] == "'none'"
    assert csp["img-src"] == "data:"
    assert csp["base-uri"] == "'none'" and csp["form-action"] == "'none'"
    assert len(page.raw["script"]) == 1 and len(page.raw["style"]) == 1
    assert csp["script-src"] == sha256(page.raw["script"][0])
    assert csp["style-src"] == sha256(page.raw["style"][0])
    assert "unsafe" not in " ".join(csp.values())
    # The policy comes before anything it governs.
    assert text.index("Content-Security-Policy") < text.index("<style>")


@pytest.mark.parametrize("which", ["hostile", "demo"])
def test_page_is_self_contained(which, request):
    page = Page(request.getfixturevalue(which))
    for tag, attrs in page.tags:
        assert "src" not in attrs, tag
        href = attrs.get("href")
        assert href is None or href.startswith("#"), href
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        assert "style" not in attrs, (tag, attrs)  # the CSP would refuse inline style attributes
    style = page.raw["style"][0]
    assert "@import" not in style and "@font-face" not in style and "url(" not in style
    assert not re.search(r"https?:", page.raw["script"][0])
    assert "fetch(" not in page.raw["script"][0] and "XMLHttpRequest" not in page.raw["script"][0]


def test_hostile_strings_are_text(hostile):
    page = Page(hostile)
    tags = {tag for tag, _ in page.tags}
    assert tags <= OUR_TAGS, tags - OUR_TAGS
    assert len(page.all("script")) == 1 and not page.all("img")
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in hostile
    assert "onerror=alert(1)&gt;" in hostile
    text = "".join(page.text)
    assert HTML in text  # shown, as text, exactly
    assert FORMULA in text
    assert "?[31mRED?[0m" in text and "\x1b" not in hostile and "\u202e" not in hostile


def test_no_python_reprs(hostile, demo):
    for text in (hostile, demo):
        visible = "".join(Page(text).text)
        for word in ("False", "True", "None", "Severity.", "Effect.", "{'", "['"):
            assert word not in visible, word


def test_finalize_refuses_values_without_a_display_form():
    template = environment().from_string("{{ value }}")
    assert template.render(value=None) == ""
    assert template.render(value="a\x1bb") == "a?b"
    for value in (False, [1], {"a": 1}, reports.html_view.Severity.HIGH):
        with pytest.raises(TypeError):
            template.render(value=value)


def test_sections_come_in_a_responders_order(hostile):
    order = [hostile.index(f'id="{name}"') for name in
             ("not-collected", "scope", "drift", "exposure", "findings")]
    assert order == sorted(order)


def test_not_collected_is_prominent_and_names_each_scope(hostile):
    alert = hostile[hostile.index('id="not-collected"'):hostile.index('id="scope"')]
    assert "could not be fully read" in alert and "unknown, not clean" in alert
    assert "gcp/shop-prod" in alert and "network_acls" in alert
    assert "allow ec2:DescribeNetworkAcls" in alert
    assert 'class="warn"' in hostile  # and linked from the top of the page


def test_drift_lists_technique_items_first_with_what_responders_need(hostile):
    drift = hostile[hostile.index('id="drift"'):hostile.index('id="exposure"')]
    assert drift.index("CWD-0002") < drift.index("CWD-0001") < drift.index("CWD-0003")
    # Before and after as rule text, not ids.
    assert "allow ingress tcp 22 from 10.20.0.0/24 (priority 200)" in drift
    assert "allow ingress tcp 3389 from Internet (priority 300)" in drift
    assert "vm-1" in drift  # newly reachable
    assert "?[31mRED?[0m" in drift  # the actor, as text
    assert "Microsoft.Network/x/delete" in drift
    assert "T1562.007" in drift
    # The narrowing is listed, without the technique.
    other = drift[drift.index("Other changes"):]
    assert "CWD-0003" in other and "T1562.007" not in other


def test_accept_command_names_the_real_baseline():
    assert accept_command("prod", "S1", "CWD-1") == (
        "cloudwall baseline set prod --accept CWD-1 --from-snapshot S1")
    assert accept_command("my baseline", "S1", "CWD-1").startswith(
        "cloudwall baseline set 'my baseline' --accept")
    assert accept_command("baseline.json", "S1", "CWD-1") == ""  # a file is not rewritten
    assert accept_command(None, "S1", "CWD-1") == ""
    # A stored baseline name may hold a slash; it is still a name, accepted like any other.
    assert accept_command("team/prod", "S1", "CWD-1") == (
        "cloudwall baseline set team/prod --accept CWD-1 --from-snapshot S1")


def test_demo_accept_commands_use_the_demo_baseline(demo):
    commands = re.findall(r"cloudwall baseline set (\S+) --accept (CWD-\w+) --from-snapshot "
                          r"(\S+)</code>", demo)
    assert len(commands) == 13
    assert {c[0] for c in commands} == {"demo"}
    assert {c[2] for c in commands} == {"20261201T090000Z-00change"}


def test_findings_are_grouped_by_rule(hostile):
    page = Page(hostile)
    groups = [a for a in page.all("tbody") if "group" in (a.get("class") or "")]
    # CW-NET-001 and CW-NET-020 fail on the same rule: one row; CW-NET-002 is another rule;
    # the suppressed CW-NET-010 is listed apart.
    assert len(groups) == 2
    ssh = hostile[hostile.index('data-cloud="aws"'):]
    ssh = ssh[:ssh.index("</tbody>")]
    assert 'data-policy="CW-NET-001"' in ssh and 'data-policy="CW-NET-020"' in ssh
    assert "allow ingress tcp 22 from 0.0.0.0/0" in ssh  # protocol, ports, peers
    assert "111122223333" in ssh and "eu-west-1" in ssh
    assert "cis-aws-3.0 5.2" in ssh and "aws-fsbp EC2.13" in ssh
    assert "<details>" in ssh and "Evidence and remediation (2 findings)" in ssh
    suppressed = hostile[hostile.index('class="suppressed"'):]
    assert "CW-NET-010" in suppressed and "accepted" in suppressed


def test_demo_findings_have_exposure_and_remediation(demo):
    page = Page(demo)
    groups = [a for a in page.all("tbody") if "group" in (a.get("class") or "")]
    assert len(groups) < 86  # one row per rule, not per finding
    exposures = {a["data-exposure"] for a in groups}
    assert exposures >= {"2", "1"}  # live and latent rules both present
    assert demo.count('class="remediation"') >= 86
    ranks = [int(a["data-rank"]) for a in groups]
    assert ranks == sorted(ranks, reverse=True)


def test_charts_and_graph_are_inline_svg(demo):
    page = Page(demo)
    svgs = page.all("svg")
    assert len(svgs) == 4  # severity, drift, services, exposure graph
    labels = [a.get("aria-label", "") for a in svgs]
    assert any(label.startswith("Findings by severity: Critical 13, High 14, Medium 23")
               for label in labels), labels
    assert any(label.startswith("Drift by effect: Widened 13") for label in labels)
    graph = demo[demo.index('class="graph"'):]
    graph = graph[:graph.index("</svg>")]
    for name in ("internet (ipv4)", "web-public", "nic-sql-1", "org-guardrails"):
        assert f">{name}<" in graph, name


def test_graph_labels_are_escaped():
    report = golden_report()
    machine = Asset("aws", "111122223333", "eu-west-1", "aws_network_interface", "eni-0abc",
                    name=f"{ANSI}{HTML}", public_addresses=("198.51.100.7",),
                    rule_set_ids=("sg-0123",))
    page = render(replace(report, snapshot=replace(report.snapshot, assets=(machine,))))
    graph = page[page.index('class="graph"'):]
    graph = graph[:graph.index("</svg>")]
    assert "&lt;script&gt;" in graph  # the security group's hostile name, shortened, as text
    assert "?[31mRED" in graph  # the machine's, without its escape sequence
    assert "<script" not in graph and "<img" not in graph and "\x1b" not in graph
    assert {tag for tag, _ in Page(page).tags} <= OUR_TAGS


def test_a_report_with_nothing_in_it_renders():
    snapshot = Snapshot("20260101T000000Z-00000000", datetime(2026, 1, 1, tzinfo=timezone.utc))
    page = render(ScanReport(snapshot))
    assert "No findings." in page
    assert "No machine is reachable" in page
    assert "No baseline was given" in page
    with_baseline = render(ScanReport(snapshot, baseline_name="prod", baseline_snapshot_id="X"))
    assert "No drift" in with_baseline


def test_exposure_page(tmp_path):
    report = demo_report()
    analysis = analyze_exposure(report.snapshot, ("203.0.113.0/24",))
    page = render_exposure(report.snapshot, analysis)
    parsed = Page(page)
    assert {tag for tag, _ in parsed.tags} <= OUR_TAGS
    assert csp_of(parsed)["script-src"] == sha256(parsed.raw["script"][0])
    assert "203.0.113.0/24" in page and "nic-sql-1" in page and 'class="graph"' in page
    assert page.index('id="scope"') < page.index('id="exposure"')


def test_scan_report_through_the_registry_is_the_html_reporter():
    assert reports.render("html", golden_report()) == render(golden_report())


def test_demo_golden(demo):
    path = GOLDEN / "demo.html"
    if UPDATE:
        path.write_text(demo, encoding="utf-8")
    assert path.exists(), "run CLOUDWALL_UPDATE_GOLDEN=1 .venv/bin/pytest tests/reports"
    assert demo == path.read_text(encoding="utf-8"), (
        "the demo's HTML report changed; if intended, regenerate with CLOUDWALL_UPDATE_GOLDEN=1 "
        ".venv/bin/pytest tests/reports and review the diff")


def test_incomplete_scope_never_looks_clean():
    report = golden_report()
    page = render(replace(report, drift=(), findings=(), exposures=()))
    assert "every scope read" not in page
    assert "2 scopes not fully read" in page


def test_every_reporting_command_writes_html(tmp_path):
    """scan, snapshots show, diff and exposure all take --format html."""
    from click.testing import CliRunner

    from scanner.cli import main

    store = str(tmp_path / "store.db")

    def run(*args: str, code: int = 0) -> None:
        result = CliRunner().invoke(main, ["--store", store, *args], catch_exceptions=False)
        assert result.exit_code == code, result.output

    run("scan", "--provider", "demo", "--save", "--format", "html", "--output",
        str(tmp_path / "scan.html"))
    run("baseline", "set", "prod", "--from-snapshot", "latest")
    run("scan", "--provider", "demo", "--demo-stage", "changed", "--save", "--format", "json",
        "--output", str(tmp_path / "changed.json"))
    run("diff", "--baseline", "prod", "--format", "html", "--output", str(tmp_path / "diff.html"))
    run("snapshots", "show", "latest", "--format", "html", "--output",
        str(tmp_path / "show.html"))
    run("exposure", "--format", "html", "--output", str(tmp_path / "exposure.html"))
    for name in ("scan", "diff", "show", "exposure"):
        text = (tmp_path / f"{name}.html").read_text(encoding="utf-8")
        page = Page(text)
        assert csp_of(page)["script-src"] == sha256(page.raw["script"][0]), name
        assert {tag for tag, _ in page.tags} <= OUR_TAGS, name
        assert 'id="exposure"' in text and "web-1" in text, name
    diff = (tmp_path / "diff.html").read_text(encoding="utf-8")
    assert "Drift since baseline <code>prod</code>" in diff
    assert "cloudwall baseline set prod --accept CWD-" in diff
    assert "No baseline was given" in (tmp_path / "show.html").read_text(encoding="utf-8")


def test_rows_past_the_detail_limit_name_their_findings(monkeypatch):
    import reports.html as html_module

    monkeypatch.setattr(html_module, "DETAIL_LIMIT", 1)
    report = demo_report()
    context = html_module.scan_context(report)
    assert context["findings"]["detail_limit"] == 1
    page = render(report)
    rows = len(context["findings"]["groups"])
    assert f"the other {rows - 1} rows in <code>--format json</code>" in page
    # Every row is still there with its policies; past the first, finding ids stand in for
    # the evidence.
    groups = [a for a in Page(page).all("tbody") if "group" in (a.get("class") or "")]
    assert len(groups) == rows > 1
    assert page.count('class="remediation"') == len(
        [f for f in context["findings"]["groups"][0]["findings"]])
    last = [f for f in report.findings if not f.suppressed][-1]
    assert f"<code>{last.finding_id}</code>" in page


def test_evidence_shared_by_a_rows_findings_is_shown_once():
    page = render(golden_report())
    ssh = page[page.index('data-cloud="aws"'):]
    ssh = ssh[:ssh.index("</tbody>")]
    # CW-NET-001 and CW-NET-020 on the same rule: neither has evidence here, and the row's
    # common evidence block is left out rather than shown empty.
    assert ssh.count('class="finding"') == 2
