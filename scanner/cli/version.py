"""``cloudwall version`` and ``--version``: everything a bug report needs, one line each."""

from __future__ import annotations

import click

from scanner.about import version_text


def register(main: click.Group) -> None:
    main.add_command(version)


def print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """The eager ``--version`` flag: same text as the command, then stop."""
    if not value or ctx.resilient_parsing:
        return
    click.echo(version_text(), nl=False)
    ctx.exit(0)


@click.command()
def version() -> None:
    """Show the versions of cloudwall, Python, the platform and the cloud SDKs."""
    click.echo(version_text(), nl=False)
