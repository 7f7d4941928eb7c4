"""The HTML scan report of a large estate: how long it takes to render, how big the page is,
and (with ``--browser``) how long headless Chromium takes to open it and to apply a filter.

    .venv/bin/python bench/bench_html.py [--assets 2000] [--rules 20000] [--seed 7] [--browser]

The estate is ``bench_exposure``'s synthetic one; it is judged as a scan would be (policies and
exposure), then rendered with ``reports.html``. ``--browser`` needs Chromium at
/usr/bin/chromium (or ``CLOUDWALL_CHROMIUM``) and Playwright for Python.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_exposure import build  # noqa: E402

from reports.html import render  # noqa: E402
from scanner.engine import analyze  # noqa: E402


def _timed(label: str, fn):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    print(f"{label}: {time.perf_counter() - wall:.2f}s wall, "
          f"{time.process_time() - cpu:.2f}s CPU")
    return result


def _browser(path: Path) -> None:
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("CLOUDWALL_CHROMIUM", "/usr/bin/chromium")
    with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=chromium, headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        started = time.perf_counter()
        page.goto(path.as_uri())
        page.wait_for_selector("#filters:not([hidden])")
        print(f"browser: page loaded and script ready in {time.perf_counter() - started:.2f}s")
        started = time.perf_counter()
        page.select_option("#f-severity", "4")
        shown = page.inner_text("#f-count")
        print(f"browser: severity filter applied in {time.perf_counter() - started:.2f}s "
              f"({shown})")
        started = time.perf_counter()
        page.locator("th button.sort", has_text="Resource").click()
        print(f"browser: sorted by resource in {time.perf_counter() - started:.2f}s")
        print(f"browser: {len(errors)} console errors")
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--assets", type=int, default=2_000)
    parser.add_argument("--rules", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--browser", action="store_true")
    args = parser.parse_args()
    snapshot = _timed("build estate", lambda: build(args.assets, args.rules, args.seed))
    report = _timed("scan judgement (policies, exposure)", lambda: analyze(snapshot))
    print(f"{len(report.findings)} findings, {len(report.exposures)} exposures, "
          f"{len({e.asset_id for e in report.exposures})} exposed assets")
    page = _timed("render HTML", lambda: render(report))
    print(f"page: {len(page.encode()) / 1e6:.1f} MB")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    if args.browser:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "report.html"
            path.write_text(page, encoding="utf-8")
            _browser(path)


if __name__ == "__main__":
    main()
