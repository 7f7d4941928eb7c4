"""``cloudwall snapshots ...``, ``cloudwall baseline ...`` and ``cloudwall diff``."""

from __future__ import annotations

import click
from tabulate import tabulate

from reports import format_names
from reports.summary import summary_line
from reports.text import printable
from scanner.cli.common import emit, exit_code, open_store, parse_severity, write_report
from scanner.engine import analyze, load_baseline


def register(main: click.Group) -> None:
    main.add_command(snapshots)
    main.add_command(baseline)
    main.add_command(diff)


@click.group()
def snapshots() -> None:
    """List, show, export and import stored snapshots."""


@snapshots.command("list")
@click.pass_context
def snapshots_list(ctx: click.Context) -> None:
    """Every stored snapshot, oldest first."""
    rows = [
        [i.snapshot_id, i.taken_at, i.providers, i.scope_count, i.rule_set_count, i.rule_count,
         i.error_count, ",".join(printable(b) for b in i.baselines)]
        for i in open_store(ctx).list()
    ]
    click.echo(tabulate(rows, headers=["id", "taken at", "providers", "scopes", "rule sets",
                                       "rules", "errors", "baselines"]))


@snapshots.command("show")
@click.argument("ref", default="latest")
@click.option("--format", "fmt", type=click.Choice(format_names()), default="table",
              show_default=True)
@click.option("--output", type=click.Path(dir_okay=False))
@click.pass_context
def snapshots_show(ctx: click.Context, ref: str, fmt: str, output: str | None) -> None:
    """Report on a stored snapshot (id, id prefix or `latest`) without cloud access."""
    report = analyze(open_store(ctx).load(ref))
    write_report(report, fmt, output)


@snapshots.command("export")
@click.argument("ref", default="latest")
@click.option("--output", "-o", type=click.Path(dir_okay=False), required=True)
@click.pass_context
def snapshots_export(ctx: click.Context, ref: str, output: str) -> None:
    """Write a snapshot as canonical JSON (sorted keys: it diffs cleanly in git)."""
    snapshot_id = open_store(ctx).export(ref, output)
    click.echo(f"exported {snapshot_id} to {output}", err=True)


@snapshots.command("import")
@click.argument("path", type=click.Path(dir_okay=False))
@click.pass_context
def snapshots_import(ctx: click.Context, path: str) -> None:
    """Add an exported snapshot JSON file to the store."""
    snapshot = open_store(ctx).import_file(path)
    click.echo(snapshot.snapshot_id)


@click.group()
def baseline() -> None:
    """Named baselines: the snapshots later scans are compared with."""


@baseline.command("set")
@click.argument("name")
@click.option("--from-snapshot", "ref", default="latest", show_default=True,
              help="Snapshot id, id prefix or `latest`.")
@click.option("--note", default="", help="Why this is the baseline.")
@click.option("--force", is_flag=True, help="Move an existing baseline to this snapshot.")
@click.pass_context
def baseline_set(ctx: click.Context, name: str, ref: str, note: str, force: bool) -> None:
    """Make a stored snapshot the baseline NAME."""
    result = open_store(ctx).set_baseline(name, ref, note, force)
    click.echo(f"baseline {printable(result.name)} -> {result.snapshot_id}")


@baseline.command("show")
@click.argument("name")
@click.pass_context
def baseline_show(ctx: click.Context, name: str) -> None:
    store = open_store(ctx)
    item = store.baseline(name)
    snapshot = store.load(item.snapshot_id)
    click.echo(f"baseline:  {printable(item.name)}\nsnapshot:  {item.snapshot_id}\n"
               f"set at:    {item.set_at}\nnote:      {printable(item.note)}\n"
               f"taken at:  {snapshot.to_dict()['taken_at']}\n"
               f"contents:  {len(snapshot.scopes)} scopes, {len(snapshot.rule_sets)} rule sets, "
               f"{snapshot.rule_count()} rules, {len(snapshot.errors)} errors")


@baseline.command("list")
@click.pass_context
def baseline_list(ctx: click.Context) -> None:
    rows = [[printable(b.name), b.snapshot_id, b.set_at, printable(b.note, 60)]
            for b in open_store(ctx).baselines()]
    click.echo(tabulate(rows, headers=["name", "snapshot", "set at", "note"]))


@click.command()
@click.option("--baseline", "baseline_ref", required=True,
              help="Stored baseline name or snapshot JSON file.")
@click.option("--snapshot", "ref", default="latest", show_default=True)
@click.option("--format", "fmt", type=click.Choice(format_names()), default="table",
              show_default=True)
@click.option("--output", type=click.Path(dir_okay=False))
@click.option("--fail-on", callback=parse_severity, default=None)
@click.pass_context
def diff(ctx: click.Context, baseline_ref: str, ref: str, fmt: str, output: str | None,
         fail_on) -> None:
    """Compare a stored snapshot with a baseline, without cloud access."""
    store = open_store(ctx)
    base = load_baseline(store, baseline_ref)
    report = analyze(store.load(ref), base)
    write_report(report, fmt, output)
    click.echo(summary_line(report), err=True)
    ctx.exit(exit_code(report, fail_on))


__all__ = ["register", "emit"]
