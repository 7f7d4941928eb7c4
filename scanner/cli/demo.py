"""``cloudwall demo``: the whole story on the built-in estate, in a few seconds.

Scan the demo estate as its owners left it, keep it as baseline ``demo``, scan it again after an
adversary's T1562.007-style changes, and report the findings and the drift.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from providers.base import ProviderSettings
from reports import format_names
from reports.summary import summary_line
from scanner.cli.common import write_report
from scanner.engine import ScanRequest, run_scan
from scanner.store import Store

DEMO_BASELINE = "demo"


def register(main: click.Group) -> None:
    main.add_command(demo)


@click.command()
@click.option("--format", "fmt", type=click.Choice(format_names()), default="table",
              show_default=True, help="Format of the final report.")
@click.option("--output", type=click.Path(dir_okay=False), help="Write the final report here.")
@click.pass_context
def demo(ctx: click.Context, fmt: str, output: str | None) -> None:
    """Run a scan, a baseline and a drift comparison on the built-in demo estate."""
    with tempfile.TemporaryDirectory(prefix="cloudwall-demo-") as tmp:
        # The demo never touches a real store unless one was named explicitly.
        path = ctx.obj.get("store_path") or Path(tmp) / "demo.db"
        with Store(path) as store:
            say = lambda text: click.echo(text, err=True)  # noqa: E731
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
                                          baseline=DEMO_BASELINE), store)
            say("4. Report:\n")
            write_report(second, fmt, output)
            say(summary_line(second))
