"""``cloudwall snapshots ...``, ``cloudwall baseline ...`` and ``cloudwall diff``."""

from __future__ import annotations

from pathlib import Path

import click

from reports import format_names
from reports.grid import grid
from reports.text import printable
from scanner.cli.common import emit, open_store
from scanner.cli.export import export_options, run_exports, take_export_flags
from scanner.cli.outputs import output_options
from scanner.cli.policy_options import known_policy_ids, policy_options, policy_settings
from scanner.cli.report_options import filter_options, gate_options, notify_options
from scanner.cli.reporting import finish, prepare
from scanner.cli.scan import AZURE_CLOUDS
from scanner.cli.terminal import say, table_style
from scanner.engine import analyze, load_baseline
from scanner.errors import ConfigError
from scanner.model import utc_timestamp
from scanner.outputs import is_stdout
from scanner.store import read_snapshot_file


def register(main: click.Group) -> None:
    from scanner.cli import store_lifecycle

    store_lifecycle.register(snapshots, baseline)
    main.add_command(snapshots)
    main.add_command(baseline)
    main.add_command(diff)


@click.group()
def snapshots() -> None:
    """List, show, export, import, delete and prune stored snapshots."""


@snapshots.command("list")
@click.pass_context
def snapshots_list(ctx: click.Context) -> None:
    """Every stored snapshot, oldest first."""
    rows = [
        [i.snapshot_id, i.taken_at, i.providers, i.scope_count, i.rule_set_count, i.rule_count,
         i.error_count, ",".join(printable(b) for b in i.baselines)]
        for i in open_store(ctx).list()
    ]
    click.echo(grid(["id", "taken at", "providers", "scopes", "rule sets", "rules", "errors",
                     "baselines"], rows, table_style(None)))


@snapshots.command("show")
@click.argument("ref", default="latest")
@output_options(format_names(), "table")
@gate_options()
@filter_options()
@notify_options
@policy_options
@export_options
@click.pass_context
def snapshots_show(ctx: click.Context, ref: str, **flags) -> None:
    """Report on a stored snapshot (id, id prefix or `latest`) without cloud access (except
    Security Hub with --export)."""
    export_flags = take_export_flags(flags)
    settings = policy_settings(flags)
    flt, targets = prepare(flags, known_policy_ids(settings))
    report = analyze(open_store(ctx).load(ref), policies=settings)
    finish(ctx, report, flags, flt, targets,
           export=lambda view: run_exports(view, export_flags, say))


@snapshots.command("export")
@click.argument("ref", default="latest")
@click.option("--output", "-o", type=click.Path(dir_okay=False), required=True)
@click.pass_context
def snapshots_export(ctx: click.Context, ref: str, output: str) -> None:
    """Write a snapshot as canonical JSON (sorted keys: it diffs cleanly in git)."""
    try:
        snapshot_id = open_store(ctx).export(ref, output)
    except OSError as exc:
        raise ConfigError(f"cannot write {output}: {exc.strerror or exc}",
                          "check the --output path") from exc
    click.echo(f"exported {snapshot_id} to "
               f"{'stdout' if is_stdout(output) else printable(output)}",
               err=True)


@snapshots.command("import")
@click.argument("path", type=click.Path(dir_okay=False))
@click.pass_context
def snapshots_import(ctx: click.Context, path: str) -> None:
    """Add an exported snapshot JSON file to the store."""
    # The file is read and checked first: a bad file never creates or changes a store.
    snapshot = read_snapshot_file(Path(path))
    open_store(ctx, create=True).save(snapshot)
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
@click.option("--accept", "accept_ids", multiple=True, metavar="ITEM",
              help="Accept one drift item (id or unique prefix, repeatable) between baseline "
              "NAME and --from-snapshot into the baseline, leaving every other change as drift.")
@click.pass_context
def baseline_set(ctx: click.Context, name: str, ref: str, note: str, force: bool,
                 accept_ids: tuple[str, ...]) -> None:
    """Make a stored snapshot the baseline NAME, or accept drift items into it."""
    store = open_store(ctx, write=True)
    if not accept_ids:
        result = store.set_baseline(name, ref, note, force)
        click.echo(f"baseline {printable(result.name)} -> {result.snapshot_id}")
        return
    from scanner.drift.accept import accept

    current_baseline = store.baseline(name)
    old = store.load(current_baseline.snapshot_id)
    snapshot, accepted = accept(old, store.load(ref), accept_ids)
    why = note or current_baseline.note
    result = store.save_as_baseline(snapshot, name, why, current_baseline.snapshot_id,
                                    [item.drift_id for item in accepted])
    for item in accepted:
        click.echo(f"accepted {item.drift_id}: {printable(item.summary)}")
    click.echo(f"baseline {printable(result.name)} -> {result.snapshot_id} "
               f"(was {current_baseline.snapshot_id})")


@baseline.command("show")
@click.argument("name")
@click.pass_context
def baseline_show(ctx: click.Context, name: str) -> None:
    store = open_store(ctx)
    item = store.baseline(name)
    snapshot = store.load(item.snapshot_id)
    click.echo(f"baseline:  {printable(item.name)}\nsnapshot:  {item.snapshot_id}\n"
               f"set at:    {item.set_at}\nnote:      {printable(item.note)}\n"
               f"taken at:  {utc_timestamp(snapshot.taken_at)}\n"
               f"contents:  {len(snapshot.scopes)} scopes, {len(snapshot.rule_sets)} rule sets, "
               f"{snapshot.rule_count()} rules, {len(snapshot.errors)} errors")


@baseline.command("list")
@click.pass_context
def baseline_list(ctx: click.Context) -> None:
    rows = [[b.name, b.snapshot_id, b.set_at, b.note] for b in open_store(ctx).baselines()]
    click.echo(grid(["name", "snapshot", "set at", "note"], rows, table_style(None)))


@click.command()
@click.option("--baseline", "baseline_ref", required=True,
              help="Stored baseline name or snapshot JSON file.")
@click.option("--snapshot", "ref", default="latest", show_default=True)
@output_options(format_names(), "table")
@gate_options()
@filter_options()
@notify_options
@click.option("--attribute", is_flag=True,
              help="Look up who made each drift item in the clouds' audit logs since the "
              "baseline (the only cloud access diff makes).")
@click.option("--profile", help="AWS (with --attribute): named profile.")
@click.option("--role-arn", help="AWS (with --attribute): assume this role first.")
@click.option("--azure-cloud", type=click.Choice(AZURE_CLOUDS),
              default="public", show_default=True, help="Azure (with --attribute).")
@click.option("--azure-endpoint", envvar="CLOUDWALL_AZURE_ENDPOINT",
              help="Azure (with --attribute): Resource Manager base URL.")
@click.option("--gcp-endpoint", envvar="CLOUDWALL_GCP_ENDPOINT",
              help="GCP (with --attribute): base URL for Google APIs.")
@policy_options
@click.pass_context
def diff(ctx: click.Context, baseline_ref: str, ref: str, attribute: bool, profile, role_arn,
         azure_cloud, azure_endpoint, gcp_endpoint, **flags) -> None:
    """Compare a stored snapshot with a baseline, without cloud access."""
    settings = policy_settings(flags)
    flt, targets = prepare(flags, known_policy_ids(settings))
    store = open_store(ctx)
    base = load_baseline(store, baseline_ref)
    current = store.load(ref)
    report = analyze(current, base, policies=settings)
    if attribute and report.drift:
        from providers.base import ProviderSettings
        from scanner.attribution import providers_for
        from scanner.engine import with_attribution

        cloud = ProviderSettings(profile=profile, role_arn=role_arn, azure_cloud=azure_cloud,
                                 azure_endpoint=azure_endpoint, gcp_endpoint=gcp_endpoint,
                                 demo_stage="changed")
        report = with_attribution(report, base[1], providers_for(current.providers, cloud))
    finish(ctx, report, flags, flt, targets)


__all__ = ["register", "emit"]
