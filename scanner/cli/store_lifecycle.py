"""The store's lifecycle: ``snapshots delete|prune``, ``baseline delete|log``."""

from __future__ import annotations

import click

from reports.grid import grid
from reports.text import printable
from scanner.cli.common import emit, open_store
from scanner.cli.terminal import table_style
from scanner.errors import ConfigError
from scanner.jsonenc import encode
from scanner.store import BaselineEvent, parse_age


def register(snapshots: click.Group, baseline: click.Group) -> None:
    snapshots.add_command(snapshots_delete)
    snapshots.add_command(snapshots_prune)
    baseline.add_command(baseline_delete)
    baseline.add_command(baseline_log)


def _say(text: str) -> None:
    click.echo(text, err=True)


def _size(value: int | None) -> str:
    if value is None:
        return "?"
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return str(value)  # pragma: no cover


@click.command("delete")
@click.argument("refs", nargs=-1, required=True, metavar="ID...")
@click.pass_context
def snapshots_delete(ctx: click.Context, refs: tuple[str, ...]) -> None:
    """Delete stored snapshots (ids or unique prefixes), all or none.

    A snapshot a baseline points to is refused: move or delete the baseline first.
    """
    store = open_store(ctx, write=True)
    for snapshot_id in store.delete_snapshots(refs):
        click.echo(f"deleted {snapshot_id}")


@click.command("prune")
@click.option("--keep", type=click.IntRange(0), metavar="N",
              help="Keep the N newest snapshots.")
@click.option("--older-than", "older_than", metavar="AGE",
              help="Delete only snapshots taken longer ago than AGE (90m, 12h, 30d, 2w).")
@click.option("--apply", is_flag=True, help="Delete them (default: only say what would go).")
@click.option("--dry-run", is_flag=True, help="Only say what would go (the default).")
@click.pass_context
def snapshots_prune(ctx: click.Context, keep: int | None, older_than: str | None, apply: bool,
                    dry_run: bool) -> None:
    """Delete old snapshots: a dry run unless --apply is given.

    With both --keep and --older-than a snapshot goes only when both say so. A snapshot a
    baseline points to is never deleted. Objects no remaining snapshot uses are removed in the
    same transaction and the space is given back.
    """
    if apply and dry_run:
        raise ConfigError("--apply and --dry-run contradict each other",
                          "leave out --apply to see what would go, then add it to delete")
    age = parse_age(older_than) if older_than is not None else None
    store = open_store(ctx, write=apply)
    if not apply:
        plan = store.plan_prune(keep, age)
        _show_plan(store, plan, "would delete")
        _say("dry run: nothing was deleted; add --apply to delete them")
        return
    before = store.size_bytes()
    plan, collected = store.prune(keep, age)
    _show_plan(store, plan, "deleted")
    _say(f"removed {collected.objects} stored objects no snapshot uses any more; "
         f"store size {_size(before)} -> {_size(store.size_bytes())}")


def _show_plan(store, plan, verb: str) -> None:
    for snapshot_id in plan.remove:
        click.echo(f"{verb} {snapshot_id}")
    for snapshot_id, names in plan.protected.items():
        click.echo(f"kept {snapshot_id}: baseline {', '.join(printable(n) for n in names)}")
    _say(f"{verb} {len(plan.remove)} snapshots; {plan.kept} kept "
         f"({len(plan.protected)} only because a baseline points to them)")


@click.command("delete")
@click.argument("name")
@click.option("--note", default="", help="Why, recorded in the baseline's history.")
@click.pass_context
def baseline_delete(ctx: click.Context, name: str, note: str) -> None:
    """Delete baseline NAME. Its snapshot stays (prune may then remove it); its history stays."""
    removed = open_store(ctx, write=True).delete_baseline(name, note)
    click.echo(f"deleted baseline {printable(removed.name)} (was {removed.snapshot_id})")


@click.command("log")
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.option("--output", type=click.Path(dir_okay=False))
@click.pass_context
def baseline_log(ctx: click.Context, name: str, fmt: str, output: str | None) -> None:
    """Every set, move, accepted drift and deletion of baseline NAME, oldest first."""
    events = open_store(ctx).baseline_log(name)
    if fmt == "json":
        text: str | bytes = encode({"baseline": name,
                                    "events": [e.to_dict() for e in events]})
    else:
        text = grid(["at", "action", "from", "to", "accepted", "note"],
                    [_row(e) for e in events], table_style(output)) + "\n"
    emit(text, output)


def _row(event: BaselineEvent) -> list[str]:
    return [event.at, event.action, event.from_snapshot or "-", event.to_snapshot or "-",
            ",".join(printable(a) for a in event.accepted) or "-", event.note]
