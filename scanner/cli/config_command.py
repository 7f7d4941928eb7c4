"""Applying the configuration file to a run, ``cloudwall config show``, and global options
written after the command name (``cloudwall scan --store x.db``)."""

from __future__ import annotations

import json
import os
from typing import Any

import click

from reports.text import printable
from scanner.cli.configuration import Configuration, build, settings
from scanner.config import CONFIG_ENV, CONFIG_NAME, find_config, read_config, user_config_path
from scanner.redact import redact

_SOURCE = click.core.ParameterSource


def register(main: click.Group) -> None:
    main.add_command(config)


def apply_configuration(ctx: click.Context, explicit: str | None) -> Configuration:
    """Find and check the configuration file, and make it the defaults of every command.

    Global options from the file apply only where neither the command line nor the
    environment set them; ``[providers.*]`` endpoints likewise only fill unset variables.
    """
    root_ctx = ctx.find_root()
    path = find_config(explicit)
    configuration = build(read_config(path), root_ctx.command) if path else Configuration()
    root_ctx.default_map = configuration.default_map
    obj = root_ctx.ensure_object(dict)
    obj["config"] = configuration
    for name, value in configuration.root.items():
        if root_ctx.get_parameter_source(name) in (None, _SOURCE.DEFAULT, _SOURCE.DEFAULT_MAP):
            root_ctx.params[name] = value
            root_ctx.set_parameter_source(name, _SOURCE.DEFAULT_MAP)
    for variable, value in configuration.environment.items():
        if not os.environ.get(variable):  # the environment wins, as for every option
            os.environ[variable] = value
    if ctx is not root_ctx:  # --config after the command: this command's table, now
        node: Any = configuration.default_map
        for name in _command_names(ctx):
            node = node.get(name, {}) if isinstance(node, dict) else {}
        ctx.default_map = node
        _restart_session(root_ctx)
    return configuration


def _command_names(ctx: click.Context) -> list[str]:
    names = []
    while ctx.parent is not None:
        names.append(ctx.info_name)
        ctx = ctx.parent
    return names[::-1]


# --- global options after the command name ----------------------------------------------------


def _restart_session(root_ctx: click.Context) -> None:
    start = (root_ctx.obj or {}).get("session")
    if start is not None:
        start(root_ctx)


def _late_flag(name: str):
    """A global option given after the command: as if it had come before it."""
    def apply(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        if value is None or value is False or ctx.resilient_parsing:
            return
        root_ctx = ctx.find_root()
        root_ctx.params[name] = value
        root_ctx.set_parameter_source(name, _SOURCE.COMMANDLINE)
        _restart_session(root_ctx)

    return apply


def _late_config(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None and not ctx.resilient_parsing:
        apply_configuration(ctx, value)


LATE_GLOBALS = {
    "--store": dict(type=click.Path(dir_okay=False), callback=_late_flag("store_path")),
    "--debug": dict(is_flag=True, callback=_late_flag("debug")),
    "--quiet": dict(is_flag=True, callback=_late_flag("quiet")),
    "--verbose": dict(is_flag=True, callback=_late_flag("verbose")),
    "--no-color": dict(is_flag=True, callback=_late_flag("no_color")),
    "--wide": dict(is_flag=True, callback=_late_flag("wide")),
    "--config": dict(type=click.Path(dir_okay=False), callback=_late_config),
}


def accept_global_options_after_commands(group: click.Group) -> None:
    """Every command also takes the global options (hidden from its help), so
    ``cloudwall scan --store x.db`` means ``cloudwall --store x.db scan``. They are eager: a
    late ``--config`` is read before the command's other options take their defaults."""
    for command in group.commands.values():
        if isinstance(command, click.Group):
            accept_global_options_after_commands(command)
            continue
        taken = {flag for param in command.params for flag in getattr(param, "opts", ())}
        for flag, spec in LATE_GLOBALS.items():
            if flag not in taken:
                command.params.append(click.Option([flag], hidden=True, expose_value=False,
                                                   is_eager=True, **spec))


# --- cloudwall config show ----------------------------------------------------------------------


@click.group()
def config() -> None:
    """The configuration file and the settings in effect."""


def _render(value: Any) -> str:
    """A TOML value, with any credentials in URLs masked and control characters filtered."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_render(v) for v in value) + "]"
    return json.dumps(printable(redact(value)))


@config.command("show")
@click.argument("command", nargs=-1)
@click.pass_context
def config_show(ctx: click.Context, command: tuple[str, ...]) -> None:
    """Print the settings in effect (TOML) and where each came from: cli, env, the
    configuration file (file:line) or the default. COMMAND limits it to one command
    (`cloudwall config show scan`)."""
    root_ctx = ctx.find_root()
    configuration: Configuration = root_ctx.obj.get("config") or Configuration()
    if configuration.file is not None:
        click.echo(f"# configuration file: {configuration.file.path}")
    else:
        click.echo(f"# configuration file: none (looked for ./{CONFIG_NAME}, "
                   f"${CONFIG_ENV}, {user_config_path()})")
    for variable, value in configuration.environment.items():
        where = configuration.origins[("env", variable)]
        source = "env" if os.environ.get(variable) != value else f"config {where}"
        click.echo(f"# {variable} = {_render(os.environ.get(variable, value))}  ({source})")
    rows = list(settings(root_ctx, configuration, command))
    if command and not rows:
        raise click.BadParameter(f"no command {' '.join(command)!r} with options",
                                 param_hint="COMMAND")
    table = None
    lines: list[tuple[str, str]] = []
    for setting in rows:
        section, _, key = setting.key.rpartition(".")
        if section != table:
            if lines:
                _flush(lines)
            if section:
                click.echo(f"\n[{section}]")
            table = section
        text = f"{key} = {_render(setting.value)}" if setting.value is not None else f"# {key}"
        lines.append((text, setting.source if setting.value is not None
                      else f"not set ({setting.source})"))
    _flush(lines)


def _flush(lines: list[tuple[str, str]]) -> None:
    width = min(60, max(len(text) for text, _ in lines))
    for text, source in lines:
        click.echo(f"{text:<{width}}  # {source}")
    lines.clear()
