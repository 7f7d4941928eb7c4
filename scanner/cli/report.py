"""``cloudwall report compliance`` and ``cloudwall report trend``: reports built from stored
snapshots, without cloud access."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

import click

from reports import COMPLIANCE_REGISTRY, TREND_REGISTRY, render_compliance, render_trend
from scanner.cli.common import emit, open_store, split_values
from scanner.cli.outputs import output_options, write_outputs
from scanner.cli.policy_options import policy_options, policy_settings, warn_expired
from scanner.cli.progress import terminal_progress
from scanner.cli.report_options import filter_options, gate_options
from scanner.cli.reporting import prepare
from scanner.cli.terminal import detail, say, stdout_is_terminal, table_style, warn
from scanner.errors import EXIT_FINDINGS, EXIT_INCOMPLETE, EXIT_OK
from scanner.filters import filter_compliance, filter_snapshot, finding_matches
from scanner.gates import tripping_findings
from scanner.model import utc_timestamp


def register(main: click.Group) -> None:
    main.add_command(report)


@click.group()
def report() -> None:
    """Reports built from stored snapshots, without cloud access."""


def _framework_help() -> str:
    from policies.frameworks import FRAMEWORKS

    return (f"`all`, or one or more of {', '.join(FRAMEWORKS)} or an x- framework of a "
            "--policies pack (comma-separated or repeated).")


@report.command("schema")
def report_schema() -> None:
    """Print the JSON Schema (draft 2020-12) of every document `--format json` writes."""
    from reports.json_report import schema_text

    click.echo(schema_text(), nl=False)


@report.command("compliance")
@click.option("--framework", "framework_ids", required=True, multiple=True,
              help=_framework_help())
@click.option("--snapshot", "ref", default="latest", show_default=True,
              help="Stored snapshot id, id prefix or `latest`, or an exported snapshot JSON "
              "file.")
@output_options(list(COMPLIANCE_REGISTRY), "markdown",
                "csv: one row per control and resource, as auditors import it.")
@gate_options(drift=False)
@filter_options()
@policy_options
@click.pass_context
def report_compliance(ctx: click.Context, framework_ids: tuple[str, ...], ref: str,
                      **flags) -> None:
    """Every control of each FRAMEWORK that cloudwall assesses: pass, fail (with the failing
    rules) or not assessed (and why), and every resource each control was judged on.

    Scope filters (--provider, --account, --region) choose what is assessed; the other filters
    narrow the findings listed and counted by --fail-on, never a control's status. Exit 1 when
    a listed failing finding is at or above --fail-on; else 3 when a scope in the assessment was
    not read completely (its controls are not assessed, never passed)."""
    from policies.compliance import assess
    from policies.engine import all_packs, available_policies, select_policies
    from policies.frameworks import frameworks
    from scanner import __version__
    from scanner.engine import analyze
    from scanner.store import read_snapshot_file

    started = time.perf_counter()
    settings = policy_settings(flags)
    packs = all_packs(settings)  # the user's packs read once for every list
    available = available_policies(settings, packs)
    chosen = frameworks(split_values(framework_ids), available)
    flt, targets = prepare(flags, [p.policy_id for p in available])
    path = Path(ref)
    if path.suffix == ".json" or path.is_file():
        snapshot = read_snapshot_file(path)
    else:
        snapshot = open_store(ctx).load(ref)
    detail(f"snapshot {snapshot.snapshot_id}; frameworks: "
           + ", ".join(fw.framework_id for fw in chosen))
    scan = analyze(snapshot, policies=settings)
    # Scope filters choose what is assessed; the other filters only narrow what is listed.
    view = filter_snapshot(snapshot, flt)
    names = {(s.provider, s.account): s.name for s in snapshot.scopes if s.name}
    in_scope = [f for f in scan.findings if finding_matches(flt.scope(), f, {}, names)]
    result = assess(chosen, view, in_scope, available, select_policies(settings, packs),
                    generated_at=utc_timestamp(datetime.now(timezone.utc)),
                    tool_version=__version__)
    result = filter_compliance(result, flt, scan.resource_tags, names)
    write_outputs(targets, lambda fmt, path: render_compliance(fmt, result, table_style(path),
                                                                   streamed=True))
    warn_expired(scan, warn)
    detail(f"judged in {time.perf_counter() - started:.2f}s")
    from reports.compliance_table import summary_line

    fmt, output = flags["fmt"], flags.get("output")
    if not (fmt == "table" and stdout_is_terminal(output)):  # the table ends with it
        say(summary_line(result))
    listed = {f.finding_id: f for fw in result.frameworks for r in fw.results
              for f in r.findings}
    fail_on = flags.get("fail_on")
    tripping = tripping_findings(listed.values(), fail_on)
    if tripping:
        say(f"gate: {len(tripping)} failing finding(s) at or above {fail_on.value} "
            f"(--fail-on {fail_on.value})")
        ctx.exit(EXIT_FINDINGS)
    ctx.exit(EXIT_OK if result.complete else EXIT_INCOMPLETE)


@report.command("trend")
@click.option("--since", help="Only snapshots taken in this period: 30d, 12h, 6w, or a date "
              "(2026-05-01). Default: every stored snapshot.")
@click.option("--baseline", "baseline_name",
              help="Count drift against this stored baseline, instead of against the previous "
              "snapshot of the same clouds.")
@click.option("--format", "fmt", type=click.Choice(list(TREND_REGISTRY)), default="table",
              show_default=True)
@click.option("--output", type=click.Path(dir_okay=False), help="Write the report here.")
@click.option("--cache/--no-cache", default=True, show_default=True,
              help="Reuse figures computed for snapshots before (kept in "
              "$CLOUDWALL_CACHE_DIR or the per-user cache directory).")
@policy_options
@click.pass_context
def report_trend(ctx: click.Context, since: str | None, baseline_name: str | None, fmt: str,
                 output: str | None, cache: bool, **policy_flags) -> None:
    """Per stored snapshot, oldest first: findings by severity, suppressed findings, drift
    items, exposed assets and scopes not read.

    Drift is counted against the previous stored snapshot of the same clouds (what changed in
    each interval; the first has none), or with --baseline NAME against that baseline (what
    has accumulated since)."""
    from scanner.cli.common import store_key
    from scanner.trend import parse_since
    from scanner.trend_build import build_trend
    from scanner.trend_cache import TrendCache, default_cache_path

    started = time.perf_counter()
    now = datetime.now(timezone.utc).replace(microsecond=0)
    cutoff = parse_since(since, now) if since else None
    settings = policy_settings(policy_flags)
    store = open_store(ctx)
    points = None
    if cache:
        points = TrendCache(default_cache_path(), store_key(store))
        ctx.call_on_close(points.close)
    progress = terminal_progress() if not ctx.find_root().obj["terminal"].quiet else None
    result = build_trend(store, since=cutoff, baseline=baseline_name, settings=settings,
                         cache=points, progress=progress, now=now)
    emit(render_trend(fmt, result, table_style(output), streamed=True), output)
    if points is not None:
        detail(f"trend cache {points.path}: {points.hits} reused, {points.misses} computed")
    if output:
        detail(f"wrote {output}")
    detail(f"{len(result.points)} snapshots in {time.perf_counter() - started:.2f}s")
    from reports.trend_report import summary_line

    if not (fmt == "table" and stdout_is_terminal(output)):
        say(summary_line(result))
