"""``cloudwall report compliance``: a framework's controls judged on a stored snapshot."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import click

from policies.compliance import assess
from policies.engine import all_packs, available_policies, select_policies
from policies.frameworks import FRAMEWORKS, framework
from scanner import __version__
from scanner.cli.common import emit, open_store
from scanner.cli.policy_options import policy_options, policy_settings, warn_expired
from scanner.engine import analyze
from scanner.model import utc_timestamp
from scanner.store import read_snapshot_file

RENDERERS = {"markdown": "reports.compliance_markdown", "json": "reports.compliance_json"}


def register(main: click.Group) -> None:
    main.add_command(report)


@click.group()
def report() -> None:
    """Reports built from a stored snapshot, without cloud access."""


@report.command("compliance")
@click.option("--framework", "framework_id", required=True,
              help=f"One of: {', '.join(FRAMEWORKS)}.")
@click.option("--snapshot", "ref", default="latest", show_default=True,
              help="Stored snapshot id, id prefix or `latest`, or an exported snapshot JSON "
              "file.")
@click.option("--format", "fmt", type=click.Choice(list(RENDERERS)), default="markdown",
              show_default=True)
@click.option("--output", type=click.Path(dir_okay=False), help="Write the report here.")
@policy_options
@click.pass_context
def report_compliance(ctx: click.Context, framework_id: str, ref: str, fmt: str,
                      output: str | None, **policy_flags) -> None:
    """Every control of FRAMEWORK that cloudwall assesses: pass, fail (with the failing
    rules) or not assessed (and why)."""
    chosen = framework(framework_id)
    settings = policy_settings(policy_flags)
    path = Path(ref)
    if path.suffix == ".json" or path.is_file():
        snapshot = read_snapshot_file(path)
    else:
        snapshot = open_store(ctx).load(ref)
    scan = analyze(snapshot, policies=settings)
    packs = all_packs(settings)  # the user's packs read once for both lists
    result = assess(chosen, snapshot, scan.findings, available_policies(settings, packs),
                    select_policies(settings, packs),
                    generated_at=utc_timestamp(datetime.now(timezone.utc)),
                    tool_version=__version__)
    import importlib

    emit(importlib.import_module(RENDERERS[fmt]).render(result), output)
    warn_expired(scan, lambda line: click.echo(line, err=True))
    summary = result.summary()
    click.echo(f"{chosen.framework_id} {chosen.version}: {summary['pass']} pass, "
               f"{summary['fail']} fail, {summary['not_assessed']} not assessed", err=True)
