"""The ``cloudwall`` command. The only code that prints to the terminal or exits.

Errors from the library (``scanner.errors``) become one line plus a hint and their documented
exit code; anything else is a bug and says so (``--debug`` shows the traceback).
"""

from __future__ import annotations

import importlib
import sys
import traceback

import click

from scanner import __version__
from scanner.errors import EXIT_BUG, CloudwallError

# Modules whose ``register(main)`` adds their commands.
COMMAND_MODULES = [
    "scanner.cli.scan",
    "scanner.cli.store_commands",
    "scanner.cli.demo",
]


class CloudwallGroup(click.Group):
    """Turns exceptions into one-line errors with the right exit code."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except CloudwallError as exc:
            click.echo(f"error: {exc.message}", err=True)
            if exc.hint:
                click.echo(f"hint: {exc.hint}", err=True)
            if ctx.params.get("debug"):
                traceback.print_exc()
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted; nothing was half-written", err=True)
            ctx.exit(130)
        except Exception as exc:  # a bug: say so plainly, never a bare traceback
            click.echo(f"internal error: {type(exc).__name__}: {exc}", err=True)
            click.echo("hint: rerun with --debug for the traceback and report it", err=True)
            if ctx.params.get("debug"):
                traceback.print_exc()
            ctx.exit(EXIT_BUG)


@click.group(cls=CloudwallGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cloudwall")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.option(
    "--store",
    "store_path",
    type=click.Path(dir_okay=False),
    envvar="CLOUDWALL_STORE",
    help="Snapshot store file (env CLOUDWALL_STORE; default: per-user data directory).",
)
@click.pass_context
def main(ctx: click.Context, debug: bool, store_path: str | None) -> None:
    """cloudwall: posture scanner for live cloud firewall configuration.

    Exit codes: 0 ok; 1 findings or drift at or above --fail-on; 2 usage, config or input
    error; 3 one or more scopes could not be collected; 70 internal error.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    ctx.obj["store_path"] = store_path


for _module in COMMAND_MODULES:
    importlib.import_module(_module).register(main)


def run() -> None:  # pragma: no cover - console entry for `python -m scanner.cli`
    main(prog_name="cloudwall")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run())
