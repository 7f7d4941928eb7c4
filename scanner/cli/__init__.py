"""The ``cloudwall`` command. The only code that prints to the terminal or exits.

Errors from the library (``scanner.errors``) become one line plus a hint and their documented
exit code; anything else is a bug and says so (``--debug`` shows the traceback).
"""

from __future__ import annotations

import errno
import importlib
import sys
import traceback
from typing import NoReturn

import click

from reports.text import printable
from scanner.cli.config_command import accept_global_options_after_commands, apply_configuration
from scanner.cli.interrupts import (
    Interrupted,
    exit_code_for,
    final_code,
    finish,
    install_handlers,
)
from scanner.cli.terminal import Terminal
from scanner.cli.version import print_version
from scanner.errors import EXIT_BUG, EXIT_USAGE, CloudwallError
from scanner.jsonenc import set_pretty
from scanner.redact import redact

# Modules whose ``register(main)`` adds their commands.
COMMAND_MODULES = [
    "scanner.cli.scan",
    "scanner.cli.store_commands",
    "scanner.cli.demo",
    "scanner.cli.exposure",
    "scanner.cli.policies",
    "scanner.cli.report",
    "scanner.cli.version",
    "scanner.cli.config_command",
    "scanner.cli.watch",
]


class CloudwallGroup(click.Group):
    """Turns exceptions into one-line errors with the right exit code."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:  # a bad flag before the command name
            _usage_error(exc)

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:  # a bad flag or argument of a command
            _usage_error(exc)
        except CloudwallError as exc:
            # Messages quote file contents and cloud answers: keep them to one safe line.
            click.echo(f"error: {shown(exc.message)}", err=True)
            if exc.hint:
                click.echo(f"hint: {shown(exc.hint)}", err=True)
            if _debugging(ctx):
                print_traceback()
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM (see scanner.cli.interrupts)
            signame = f" ({exc})" if isinstance(exc, Interrupted) else ""
            click.echo(f"interrupted{signame}; nothing was half-written", err=True)
            ctx.exit(exit_code_for(exc))
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                raise  # stdout closed early (`| head`): click exits quietly
            _internal_error(ctx, exc)
        except Exception as exc:  # a bug: say so plainly, never a bare traceback
            _internal_error(ctx, exc)


# `cloudwall` or `cloudwall snapshots` alone: click shows the help (click 8.2+ raises this).
_HELP_WANTED = getattr(click.exceptions, "NoArgsIsHelpError", ())


def _usage_error(exc: click.UsageError) -> NoReturn:
    """One line and a hint, like every other error (click's own form takes three lines)."""
    if isinstance(exc, _HELP_WANTED):
        raise exc
    message = " ".join(exc.format_message().split())
    command = exc.ctx.command_path if exc.ctx else "cloudwall"
    click.echo(f"error: {shown(message)}", err=True)
    click.echo(f"hint: see `{command} --help`", err=True)
    raise click.exceptions.Exit(EXIT_USAGE)


def _internal_error(ctx: click.Context, exc: BaseException) -> NoReturn:
    """A bug: say so plainly, never a bare traceback."""
    click.echo(f"internal error: {type(exc).__name__}: {shown(exc)}", err=True)
    click.echo("hint: rerun with --debug for the traceback and report it", err=True)
    if _debugging(ctx):
        print_traceback()
    ctx.exit(EXIT_BUG)


def _debugging(ctx: click.Context) -> bool:
    """--debug before the command, after it, or from the configuration file."""
    return bool(ctx.params.get("debug") or (ctx.obj or {}).get("debug"))


def shown(text: object) -> str:
    """What the CLI prints of a message: secrets in URLs masked, one printable line."""
    return printable(redact(text))


def print_traceback() -> None:
    """``--debug``: the traceback, with the secrets of every URL in it masked (exception
    messages and locals quote endpoints as given)."""
    click.echo(redact(traceback.format_exc()).rstrip("\n"), err=True)


@click.group(cls=CloudwallGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True,
              callback=print_version, help="Show the versions of cloudwall, Python and the "
              "cloud SDKs, and exit.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="Configuration file (default: ./cloudwall.toml, else $CLOUDWALL_CONFIG, "
              "else cloudwall.toml in the per-user config directory).")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.option(
    "--store",
    "store_path",
    type=click.Path(dir_okay=False),
    metavar="PATH|URL",
    envvar="CLOUDWALL_STORE",
    help="Snapshot store: a SQLite file, or a postgresql:// URL for a shared store (env "
    "CLOUDWALL_STORE; default: a file in the per-user data directory).",
)
@click.option("--quiet", "-q", is_flag=True,
              help="Print only errors on stderr (no progress, summary or warnings).")
@click.option("--verbose", "-v", is_flag=True,
              help="Also say what was read and written, and how long each step took.")
@click.option("--no-color", is_flag=True, help="No colour in tables (also: NO_COLOR=1).")
@click.option("--wide", is_flag=True,
              help="Never wrap table columns to the terminal's width.")
@click.option("--pretty", is_flag=True,
              help="Indent JSON output (reports, SARIF, OCSF, ASFF, snapshot exports); "
              "compact by default.")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, debug: bool, store_path: str | None,
         quiet: bool, verbose: bool, no_color: bool, wide: bool, pretty: bool) -> None:
    """cloudwall: posture scanner for live cloud firewall configuration.

    Exit codes: 0 ok; 1 a gate tripped (--fail-on, --fail-on-drift); 2 usage, config or input
    error; 3 one or more scopes could not be collected; 70 internal error. Precedence:
    2 > 1 > 3 > 0.
    """
    ctx.ensure_object(dict)
    # Command line > environment > configuration file > defaults: the file fills in the
    # global options left at their defaults, and every command's defaults (default_map).
    apply_configuration(ctx, config_path)
    ctx.obj["session"] = start_session
    start_session(ctx)


def start_session(ctx: click.Context) -> None:
    """What the commands read from ``ctx.obj``, from the global options in effect (re-run when
    a global option comes after the command name)."""
    params = ctx.params
    if params["quiet"] and params["verbose"]:
        raise click.UsageError("--quiet and --verbose cannot be combined")
    ctx.obj["debug"] = params["debug"]
    ctx.obj["store_path"] = params["store_path"]
    set_pretty(params["pretty"])
    ctx.obj["terminal"] = Terminal(quiet=params["quiet"], verbose=params["verbose"],
                                   no_color=params["no_color"], wide=params["wide"])
    # Named with --store on this command line (not just inherited from CLOUDWALL_STORE).
    source = ctx.get_parameter_source("store_path")
    ctx.obj["store_from_flag"] = source is click.core.ParameterSource.COMMANDLINE


for _module in COMMAND_MODULES:
    importlib.import_module(_module).register(main)
accept_global_options_after_commands(main)


def run() -> NoReturn:
    """The console entry (``cloudwall`` and ``python -m scanner.cli``)."""
    install_handlers()
    try:
        main.main(prog_name="cloudwall")
    except SystemExit as done:
        code = done.code
    except KeyboardInterrupt as exc:  # before or after a command ran (click's own parsing)
        click.echo("interrupted; nothing was half-written", err=True)
        code = exit_code_for(exc)
    finish(final_code(code if isinstance(code, int) else (0 if code is None else 1)))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run())
