"""``cloudwall demo``: the whole story on the built-in estate, in a few seconds.

Scan the demo estate as its owners left it, keep it as baseline ``demo``, scan it again after an
adversary's T1562.007-style changes, look up who made each change in the clouds' (recorded)
audit logs, and report the findings, the drift and the attribution.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from providers.base import ProviderSettings
from reports import format_names
from reports.summary import summary_line
from reports.text import printable
from scanner.cli.common import report_summary, write_report
from scanner.cli.terminal import say
from scanner.engine import ScanRequest, run_scan
from scanner.errors import StoreError
from scanner.filters import ReportFilter, apply_filter
from scanner.store import Store

DEMO_BASELINE = "demo"


def register(main: click.Group) -> None:
    main.add_command(demo)


@click.command()
@click.option("--format", "fmt", type=click.Choice(format_names()), default="table",
              show_default=True, help="Format of the final report.")
@click.option("--output", type=click.Path(dir_okay=False), help="Write the final report here.")
@click.option("--force", is_flag=True,
              help="With --store: move an existing baseline 'demo' in that store.")
@click.pass_context
def demo(ctx: click.Context, fmt: str, output: str | None, force: bool) -> None:
    """Run a scan, a baseline and a drift comparison on the built-in demo estate."""
    with tempfile.TemporaryDirectory(prefix="cloudwall-demo-") as tmp:
        # The demo never touches a real store unless one was named with --store: a store set
        # in CLOUDWALL_STORE is the user's own, and its baseline "demo" must not be moved.
        named = ctx.obj.get("store_path") if ctx.obj.get("store_from_flag") else None
        path = named or Path(tmp) / "demo.db"
        with Store(path) as store:
            store.check_writable()
            if named and not force:
                refuse_to_move(store)
            say("1. Scanning the demo estate (AWS, Azure, GCP) as its owners left it...")
            first = run_scan(ScanRequest(("demo",), ProviderSettings(), save=True), store)
            say(f"   {summary_line(first)}")
            baseline = store.set_baseline(DEMO_BASELINE, first.snapshot.snapshot_id,
                                          "demo estate before the changes", force=True)
            say(f"2. Saved snapshot {baseline.snapshot_id} as baseline '{DEMO_BASELINE}'.")
            say("3. An adversary with control-plane access changes the firewalls "
                "(MITRE ATT&CK T1562.007); scanning again against the baseline...")
            settings = ProviderSettings(demo_stage="changed")
            second = run_scan(ScanRequest(("demo",), settings, save=True,
                                          baseline=DEMO_BASELINE, attribute=True), store)
            say("4. What changed, per cloud, and who did it (from each cloud's audit log):")
            for line in story_lines(second):
                say("   " + line)
            say("5. Report:")
            say("")
            # Like every report: suppressed findings counted, not listed.
            shown = apply_filter(second, ReportFilter())
            write_report(shown, fmt, output)
            report_summary(shown, fmt, output)


def story_lines(report) -> list[str]:
    """One line per T1562.007 widening: cloud, severity, what, and who did it."""
    lines = []
    for item in report.drift:
        if not item.attack:
            continue
        who = next((a for a in item.attribution if a.actor), None)
        by = (f"by {printable(who.actor)} from {printable(who.source_address or '?')} "
              f"({printable(who.operation or '?')})" if who else "actor unknown")
        lines.append(f"[{item.provider}] {item.severity.value.upper()} "
                     f"{printable(item.summary)} -- {by}")
    return lines or ["no widening found"]


def refuse_to_move(store: Store) -> None:
    """A named store may hold a baseline 'demo' of the user's own: never move it unasked."""
    existing = next((b for b in store.baselines() if b.name == DEMO_BASELINE), None)
    if existing is not None:
        raise StoreError(
            f"{store.location} already has a baseline '{DEMO_BASELINE}' (snapshot "
            f"{existing.snapshot_id}); the demo would move it",
            "pass --force to move it, or give the demo another --store",
        )
