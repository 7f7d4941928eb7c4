"""``cloudwall exposure``: which machines the internet can actually reach, and through what."""

from __future__ import annotations

import click

from reports.exposure_report import render_table, stream_json, summary_line
from scanner.cli.common import open_store, trusted_cidrs
from scanner.cli.outputs import output_options, write_outputs
from scanner.cli.report_options import filter_options
from scanner.cli.reporting import prepare
from scanner.cli.terminal import say, stdout_is_terminal, table_style
from scanner.errors import EXIT_INCOMPLETE, EXIT_OK
from scanner.exposure import analyze_exposure, graph
from scanner.filters import filter_exposure
from scanner.outputs import Data

FORMATS = ("table", "json", "dot", "html")


def register(main: click.Group) -> None:
    main.add_command(exposure)


@click.command()
@click.option("--snapshot", "ref", default="latest", show_default=True,
              help="Stored snapshot id, id prefix or `latest`.")
@output_options(FORMATS, "table",
                "table: exposed assets with paths; json: the same as data; dot: the graph; "
                "html: a self-contained page with the graph drawn and every path.")
@filter_options(exclude=("severity", "policy", "include_suppressed"))
@click.option("--trusted-cidr", "--trusted", "trusted", multiple=True, metavar="CIDR",
              help="A range of your own (office, VPN); not counted as the internet. Repeatable "
                   "or comma-separated, as for `cloudwall scan`.")
@click.option("--broad-prefix", type=click.IntRange(1, 32), default=8, show_default=True,
              help="'broad' means at least as many public IPv4 addresses as one /N.")
@click.option("--structure", is_flag=True,
              help="dot: also draw attachments (rule set to subnet or interface).")
@click.pass_context
def exposure(ctx: click.Context, ref: str, trusted: tuple[str, ...], broad_prefix: int,
             structure: bool, **flags) -> None:
    """Effective exposure of a stored snapshot, from the snapshot alone (no cloud access).

    Every layer of each cloud is evaluated in that cloud's order (AWS route, network ACL both
    ways, security groups; Azure subnet then NIC NSG; GCP hierarchical policies, network
    policies and VPC rules, implied deny). Exit 3 when some scope was not read or some asset
    could not be decided (within the filters).
    """
    cidrs = trusted_cidrs(trusted)
    flt, targets = prepare(flags)
    stored = open_store(ctx).load(ref)
    snapshot, analysis = filter_exposure(
        stored, analyze_exposure(stored, cidrs, broad_prefix), flt)

    def render(fmt: str, path: str | None) -> Data:
        if fmt == "json":
            return stream_json(snapshot, analysis, flt.to_dict())
        if fmt == "dot":
            from reports.dot import render_graph  # networkx is only needed for the drawing

            return render_graph(graph(snapshot, analysis), include_structure=structure)
        if fmt == "html":
            from reports.html import render_exposure

            return render_exposure(snapshot, analysis)
        return render_table(snapshot, analysis, table_style(path))

    write_outputs(targets, render)
    fmt, output = flags["fmt"], flags.get("output")
    if not (fmt == "table" and stdout_is_terminal(output)):  # the table ends with it
        say(summary_line(snapshot, analysis))
    incomplete = bool(snapshot.errors or analysis.unknown_assets)
    ctx.exit(EXIT_INCOMPLETE if incomplete else EXIT_OK)
