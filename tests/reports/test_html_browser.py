"""The HTML reports in a real browser: headless Chromium (Debian's ``chromium`` package), driven
by Playwright for Python pointed at it; no browser is ever downloaded.

Without Chromium (or Playwright) these tests skip and say why; ``CLOUDWALL_BROWSER_TESTS=require``
(as ``.ci/run`` sets it) turns that skip into a failure. Screenshots are written to
``$CLOUDWALL_TEST_ARTIFACTS`` (default: a pytest temporary directory).
``CLOUDWALL_UPDATE_SCREENSHOT=1`` also rewrites ``docs/report.png`` from the demo's report.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from reports import render_compliance, render_trend
from reports.html import render, render_exposure
from scanner.exposure import analyze_exposure
from tests.reports.demo_report import demo_compliance, demo_report
from tests.reports.test_html_compliance_trend import trend_report
from tests.reports.test_reporters import FORMULA, HTML, golden_report

CHROMIUM = os.environ.get("CLOUDWALL_CHROMIUM", "/usr/bin/chromium")
REQUIRED = os.environ.get("CLOUDWALL_BROWSER_TESTS") == "require"
ROOT = Path(__file__).resolve().parents[2]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _unavailable() -> str | None:
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return (f"no Chromium at {CHROMIUM}: apt-get install chromium "
                "(or set CLOUDWALL_CHROMIUM)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed: pip install -e '.[test]'"
    return None


@pytest.fixture(scope="module")
def playwright():
    reason = _unavailable()
    if reason:
        if REQUIRED:
            pytest.fail(f"browser tests are required here, but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


def _context(playwright, javascript: bool = True):
    """A fresh profile (--user-data-dir) each time, so nothing carries over between runs."""
    profile = tempfile.mkdtemp(prefix="cloudwall-chromium-")
    context = playwright.chromium.launch_persistent_context(
        profile, executable_path=CHROMIUM, headless=True, args=FLAGS,
        java_script_enabled=javascript, viewport={"width": 1280, "height": 900},
        offline=True)
    return context, profile


@pytest.fixture(scope="module")
def browser(playwright):
    context, profile = _context(playwright)
    yield context
    context.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def no_js_browser(playwright):
    context, profile = _context(playwright, javascript=False)
    yield context
    context.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("html")
    report = demo_report()
    texts = {
        "demo": render(report),
        "hostile": render(golden_report()),
        "exposure": render_exposure(report.snapshot, analyze_exposure(report.snapshot)),
        "compliance": render_compliance("html", demo_compliance()),
        "trend": render_trend("html", trend_report()),
    }
    urls = {}
    for name, text in texts.items():
        path = root / f"{name}.html"
        path.write_text(text, encoding="utf-8")
        urls[name] = path.as_uri()
    return urls


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> Path:
    where = os.environ.get("CLOUDWALL_TEST_ARTIFACTS")
    path = Path(where) if where else tmp_path_factory.mktemp("artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


class Opened:
    """A page with every console error, uncaught exception and dialog it produced."""

    def __init__(self, context, url: str) -> None:
        self.page = context.new_page()
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        self.page.on("dialog", self._dialog)
        # Nothing may be fetched: any request other than the file itself is recorded.
        self.requests: list[str] = []
        self.page.on("request", lambda r: r.url != url and self.requests.append(r.url))
        self.page.goto(url)
        self.page.wait_for_load_state("load")

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def visible_groups(self) -> list[dict[str, str]]:
        return self.page.eval_on_selector_all(
            "#findings-table tbody.group",
            "els => els.filter(e => !e.hidden && e.offsetParent !== null)"
            ".map(e => Object.assign({text: e.textContent}, e.dataset))")

    def close(self) -> None:
        self.page.close()


@pytest.fixture
def open_page(browser, pages):
    opened: list[Opened] = []

    def _open(name: str) -> Opened:
        page = Opened(browser, pages[name])
        opened.append(page)
        return page

    yield _open
    for page in opened:
        page.close()


@pytest.mark.parametrize("name", ["demo", "hostile", "exposure", "compliance", "trend"])
def test_no_console_errors_and_the_policy_admits_our_script_and_style(open_page, name):
    page = open_page(name)
    assert page.errors == []  # CSP violations are console errors too
    assert page.requests == [] and page.dialogs == []
    # Our stylesheet applied (its hash is in the policy) ...
    colour = page.page.eval_on_selector(".masthead", "e => getComputedStyle(e).backgroundImage")
    assert "gradient" in colour
    # ... and our script ran: it shows the filter bar and adds the sort buttons.
    if name in ("demo", "hostile"):
        assert page.page.is_visible("#filters")
        assert page.page.locator("th button.sort").count() == 6


def test_the_policy_refuses_an_injected_script(open_page):
    """Had a string from the cloud become a script element, the browser would not run it."""
    page = open_page("demo")
    page.page.evaluate("""() => {
        const s = document.createElement('script');
        s.textContent = 'window.injected = 1';
        document.body.appendChild(s);
    }""")
    assert page.page.evaluate("() => window.injected") is None
    assert any("Content Security Policy" in e for e in page.errors), page.errors


def test_hostile_strings_render_as_text(open_page):
    page = open_page("hostile")
    p = page.page
    assert page.dialogs == []  # no alert() ran
    assert p.locator("script").count() == 1 and p.locator("img").count() == 0
    with_handlers = p.evaluate("""() => [...document.querySelectorAll('*')].filter(
        e => [...e.attributes].some(a => a.name.startsWith('on'))).length""")
    assert with_handlers == 0
    text = p.inner_text("body")
    assert HTML in text and FORMULA in text
    assert "\x1b" not in text and "\u202e" not in text
    assert page.errors == []


def test_filters_change_the_visible_rows(open_page):
    page = open_page("demo")
    p = page.page
    everything = page.visible_groups()
    total = len(everything)
    assert total > 20
    assert p.inner_text("#f-count") == f"{total} rows"

    p.select_option("#f-severity", "4")  # critical only
    critical = page.visible_groups()
    assert 0 < len(critical) < total and {g["rank"] for g in critical} == {"4"}
    assert p.inner_text("#f-count") == f"{len(critical)} of {total} rows"

    p.select_option("#f-severity", "3")  # high and above
    high = page.visible_groups()
    assert len(critical) < len(high) < total and {g["rank"] for g in high} == {"3", "4"}

    p.select_option("#f-cloud", "gcp")
    gcp = page.visible_groups()
    assert gcp and {g["cloud"] for g in gcp} == {"gcp"} and len(gcp) < len(high)

    p.click("#f-reset")
    # (a function, not an expression string: the page's policy forbids eval)
    p.wait_for_function("n => document.getElementById('f-count').textContent === n + ' rows'",
                        arg=total)

    p.select_option("#f-account", "111122223333")
    aws = page.visible_groups()
    assert aws and {g["account"] for g in aws} == {"111122223333"} and len(aws) < total
    p.select_option("#f-account", "")

    p.select_option("#f-policy", "CW-GCP-001")
    policy = page.visible_groups()
    assert policy and len(policy) < total
    for group in policy:
        assert "CW-GCP-001" in group["text"]
    p.select_option("#f-policy", "")

    p.fill("#f-text", "sgr-0a00000000000b0f1")
    found = page.visible_groups()
    assert 0 < len(found) < total
    assert all("sgr-0a00000000000b0f1" in g["text"] for g in found)

    p.fill("#f-text", "no such thing anywhere")
    assert page.visible_groups() == [] and p.is_visible("#f-none")
    p.keyboard.press("Enter")  # the search box never submits the page anywhere
    p.fill("#f-text", "")
    assert len(page.visible_groups()) == total and not p.is_visible("#f-none")
    assert page.errors == []


def test_sorting(open_page):
    page = open_page("demo")
    p = page.page
    ranks = [int(g["rank"]) for g in page.visible_groups()]
    assert ranks == sorted(ranks, reverse=True)  # most severe first, as rendered

    cloud = p.locator("th button.sort", has_text="Cloud")
    cloud.click()
    clouds = [g["cloud"] for g in page.visible_groups()]
    assert clouds == sorted(clouds) and len(set(clouds)) == 3
    assert p.get_attribute("th:has(button:text('Cloud'))", "aria-sort") == "ascending"
    cloud.click()
    assert [g["cloud"] for g in page.visible_groups()] == sorted(clouds, reverse=True)

    severity = p.locator("th button.sort", has_text="Severity")
    severity.click()  # a number column starts largest first
    ranks = [int(g["rank"]) for g in page.visible_groups()]
    assert ranks == sorted(ranks, reverse=True)
    severity.click()
    ranks = [int(g["rank"]) for g in page.visible_groups()]
    assert ranks == sorted(ranks) and ranks[0] < ranks[-1]

    p.locator("th button.sort", has_text="Exposure").click()
    exposure = [int(g["exposure"]) for g in page.visible_groups()]
    assert exposure == sorted(exposure, reverse=True) and exposure[0] == 2  # live first

    # Sorting keeps filters: only critical rows, now by resource name.
    p.select_option("#f-severity", "4")
    p.locator("th button.sort", has_text="Resource").click()
    shown = page.visible_groups()
    assert {g["rank"] for g in shown} == {"4"}
    names = [g["resource"] for g in shown]
    assert names == sorted(names, key=str.casefold) or names == sorted(names)
    assert page.errors == []


def test_expand_all_and_details(open_page):
    page = open_page("demo")
    p = page.page
    assert p.locator("#findings-table details[open]").count() == 0
    p.click("#f-expand")
    count = p.locator("#findings-table details").count()
    assert p.locator("#findings-table details[open]").count() == count > 0
    assert p.is_visible("#findings-table .remediation >> nth=0")
    p.click("#f-expand")
    assert p.locator("#findings-table details[open]").count() == 0


def test_readable_without_javascript(no_js_browser, pages, artifacts):
    page = Opened(no_js_browser, pages["demo"])
    p = page.page
    try:
        assert not p.is_visible("#filters")  # controls that would do nothing stay hidden
        groups = p.locator("#findings-table tbody.group")
        assert groups.count() > 20
        assert all(groups.nth(i).is_visible() for i in range(groups.count()))
        assert p.locator("th button.sort").count() == 0
        for section in ("#scope", "#drift", "#exposure", "#findings"):
            assert p.is_visible(section)
        assert p.locator("article.drift").count() == 13
        p.locator("#findings-table details >> nth=0").locator("summary").click()
        assert p.is_visible("#findings-table .remediation >> nth=0")  # <details> needs no script
        p.screenshot(path=str(artifacts / "demo-report-no-javascript.png"))
        assert page.errors == []
    finally:
        page.close()


def test_compliance_details_open_and_trend_points_have_tooltips(open_page):
    compliance = open_page("compliance").page
    failing = compliance.locator("tbody.status-fail details >> nth=0")
    failing.locator("summary").click()
    assert failing.locator("text=Every resource judged").is_visible()
    trend = open_page("trend").page
    dots = trend.locator("svg.trend circle.dot")
    assert dots.count() == 5 * 4 + 3 + 4  # severities, drift (none for the first), exposure
    assert trend.locator("svg.trend circle.dot title >> nth=0").text_content().startswith("11-01")


def test_print_stylesheet(open_page):
    page = open_page("demo")
    p = page.page
    assert not p.is_visible("#findings-table .remediation >> nth=0")  # behind a closed <details>
    p.emulate_media(media="print")
    assert not p.is_visible("#filters") and not p.is_visible("nav.toc")
    assert p.is_visible("#findings-table")
    assert p.is_visible("#findings-table .remediation >> nth=0")  # printed open
    p.emulate_media(media="screen")
    assert p.is_visible("#filters")


def _is_png(path: Path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_screenshots(open_page, artifacts):
    for name in ("demo", "hostile", "exposure", "compliance", "trend"):
        page = open_page(name)
        path = artifacts / f"{name}-report.png"
        page.page.screenshot(path=str(path), full_page=True)
        assert _is_png(path) and path.stat().st_size > 10_000
    docs = ROOT / "docs"
    if os.environ.get("CLOUDWALL_UPDATE_SCREENSHOT") == "1":
        page = open_page("demo")
        docs.mkdir(exist_ok=True)
        bottom = page.page.eval_on_selector(
            ".overview", "e => e.getBoundingClientRect().bottom + window.scrollY")
        page.page.screenshot(path=str(docs / "report.png"),
                             clip={"x": 0, "y": 0, "width": 1280, "height": bottom + 4})
        page.page.locator("#exposure .graph-wrap").screenshot(
            path=str(docs / "exposure-graph.png"))
    for name in ("report.png", "exposure-graph.png"):
        committed = docs / name
        assert committed.exists() and _is_png(committed), committed
        assert committed.stat().st_size < 400_000  # modest: it ships in the repository


@pytest.mark.parametrize("required, outcome", [("", "1 skipped"), ("require", "1 error")])
def test_missing_chromium_skips_with_a_reason_unless_required(tmp_path, required, outcome):
    import subprocess
    import sys

    env = {**os.environ, "CLOUDWALL_CHROMIUM": str(tmp_path / "no-chromium"),
           "CLOUDWALL_BROWSER_TESTS": required}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
         f"{__file__}::test_print_stylesheet"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert outcome in result.stdout, result.stdout
    assert "no Chromium at" in result.stdout and "apt-get install chromium" in result.stdout
    assert (result.returncode == 0) == (outcome == "1 skipped")
