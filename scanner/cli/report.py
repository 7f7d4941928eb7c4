"""``cloudwall report compliance``: a framework's controls judged on a stored snapshot."""

from __future__ import annotations

import importlib
from datetime import datetime, timezone
from pathlib import Path

import click

from policies.compliance import assess
from policies.engine import all_packs, available_policies, select_policies
from policies.frameworks import FRAMEWORKS, framework
from scanner import __version__
from scanner.cli.common import open_store
from scanner.cli.outputs import output_options, write_outputs
from scanner.cli.policy_options import policy_options, policy_settings, warn_expired
from scanner.cli.report_options import filter_options, gate_options
from scanner.cli.reporting import prepare
from scanner.engine import analyze
from scanner.errors import EXIT_FINDINGS, EXIT_INCOMPLETE, EXIT_OK
from scanner.filters import filter_compliance, filter_snapshot, finding_matches
from scanner.gates import tripping_findings
from scanner.model import utc_timestamp
from scanner.store import read_snapshot_file

RENDERERS = {"markdown": "reports.compliance_markdown", "json": "reports.compliance_json"}


def register(main: click.Group) -> None:
    main.add_command(report)


@click.group()
def report() -> None:
    """Reports built from a stored snapshot, without cloud access."""


@report.command("schema")
def report_schema() -> None:
    """Print the JSON Schema (draft 2020-12) of every document `--format json` writes."""
    from reports.json_report import schema_text

    click.echo(schema_text(), nl=False)


@report.command("compliance")
@click.option("--framework", "framework_id", required=True,
              help=f"One of: {', '.join(FRAMEWORKS)}.")
@click.option("--snapshot", "ref", default="latest", show_default=True,
              help="Stored snapshot id, id prefix or `latest`, or an exported snapshot JSON "
              "file.")
@output_options(list(RENDERERS), "markdown")
@gate_options(drift=False)
@filter_options()
@policy_options
@click.pass_context
def report_compliance(ctx: click.Context, framework_id: str, ref: str, **flags) -> None:
    """Every control of FRAMEWORK that cloudwall assesses: pass, fail (with the failing
    rules) or not assessed (and why).

    Scope filters (--provider, --account, --region) choose what is assessed; the other filters
    narrow the findings listed and counted by --fail-on, never a control's status.
    """
    chosen = framework(framework_id)
    settings = policy_settings(flags)
    packs = all_packs(settings)  # the user's packs read once for every list
    available = available_policies(settings, packs)
    flt, targets = prepare(flags, [p.policy_id for p in available])
    path = Path(ref)
    if path.suffix == ".json" or path.is_file():
        snapshot = read_snapshot_file(path)
    else:
        snapshot = open_store(ctx).load(ref)
    scan = analyze(snapshot, policies=settings)
    view = filter_snapshot(snapshot, flt)
    names = {(s.provider, s.account): s.name for s in snapshot.scopes if s.name}
    in_scope = [f for f in scan.findings
                if finding_matches(flt.scope(), f, {}, names)]
    result = assess(chosen, view, in_scope, available, select_policies(settings, packs),
                    generated_at=utc_timestamp(datetime.now(timezone.utc)),
                    tool_version=__version__)
    result = filter_compliance(result, flt, scan.resource_tags, names)

    def render(fmt: str) -> str:
        return importlib.import_module(RENDERERS[fmt]).render(result)

    write_outputs(targets, render)
    warn_expired(scan, lambda line: click.echo(line, err=True))
    summary = result.summary()
    click.echo(f"{chosen.framework_id} {chosen.version}: {summary['pass']} pass, "
               f"{summary['fail']} fail, {summary['not_assessed']} not assessed", err=True)
    listed = {f.finding_id: f for r in result.results for f in r.findings}
    tripping = tripping_findings(listed.values(), flags.get("fail_on"))
    if tripping:
        click.echo(f"gate: {len(tripping)} failing finding(s) at or above "
                   f"{flags['fail_on'].value} (--fail-on {flags['fail_on'].value})", err=True)
        ctx.exit(EXIT_FINDINGS)
    ctx.exit(EXIT_INCOMPLETE if view.errors else EXIT_OK)
