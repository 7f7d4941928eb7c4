"""What the configuration file means: every command's options, by their command-line names.

The file mirrors the command line, so an option added to any command works in the file with no
code here::

    store = "/var/lib/cloudwall/store.db"     # a global option (before the command)

    [scan]                                    # `cloudwall scan` options, named as flags
    fail-on = "high"
    format = "json"
    output = "reports/scan.json"
    trusted-cidr = ["203.0.113.0/24"]

    [report.compliance]                       # a subcommand of a group
    framework = "cis-aws"

    [providers.aws]                           # per cloud: which scopes `scan` reads
    regions = ["us-east-1", "eu-west-1"]

The values become click's ``default_map``, so precedence is click's own: command line, then
environment variables, then the file, then the defaults. Every key is checked against the
command's options and every value converted by the option's own type (and callback) when the
file is read, so a mistake is reported once, as ``file:line``, before anything runs. Relative
paths in the file are relative to the file's directory.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import click

from providers import provider_names
from scanner.config import ConfigFile
from scanner.errors import CloudwallError, ConfigError
from scanner.store.locations import is_url

# [providers.<cloud>] keys -> the `scan` option they set. A provider with a section is scanned
# when `[scan] provider` is not given.
PROVIDER_KEYS: dict[str, dict[str, str]] = {
    "aws": {"profile": "profile", "regions": "regions", "role-arn": "role-arn",
            "org-role": "org-role", "accounts": "accounts", "ous": "ou"},
    "azure": {"subscriptions": "subscription", "management-groups": "management-group",
              "cloud": "azure-cloud", "endpoint": "azure-endpoint"},
    "gcp": {"projects": "project", "organizations": "organization", "folders": "folder",
            "endpoint": "gcp-endpoint"},
    "demo": {"stage": "demo-stage"},
}
# [providers.<cloud>] keys that set an SDK's own environment variable when it is not already
# set (boto3 reads its endpoint from the environment; cloudwall has no flag for it on purpose).
PROVIDER_ENV: dict[str, dict[str, str]] = {"aws": {"endpoint": "AWS_ENDPOINT_URL"}}
SCAN_COMMAND = "scan"
PROVIDERS_TABLE = "providers"
# Options and commands that only make sense on a command line.
NOT_CONFIGURABLE = {"config", "help", "version"}


@dataclass
class Configuration:
    """A configuration file turned into what click needs, with each value's origin."""

    file: ConfigFile | None = None
    root: dict[str, Any] = field(default_factory=dict)  # global option name -> value
    default_map: dict[str, Any] = field(default_factory=dict)
    origins: dict[tuple[str, ...], str] = field(default_factory=dict)  # (cmd..., param) -> where
    environment: dict[str, str] = field(default_factory=dict)  # env defaults from the file


def option_keys(command: click.Command) -> dict[str, click.Parameter]:
    """``config key -> parameter``: each option's long flag names without the dashes."""
    keys: dict[str, click.Parameter] = {}
    for param in command.params:
        if not isinstance(param, click.Option) or not param.expose_value:
            continue
        for flag in param.opts:
            if flag.startswith("--") and flag[2:] not in NOT_CONFIGURABLE:
                keys[flag[2:]] = param
    return keys


def _norm(key: str) -> str:
    return key.replace("_", "-")


def _unknown(cf: ConfigFile, key_path: tuple[str, ...], choices: list[str]) -> ConfigError:
    key = key_path[-1]
    close = difflib.get_close_matches(_norm(key), choices, n=1, cutoff=0.6)
    suggestion = f" (did you mean '{close[0]}'?)" if close else ""
    table = ".".join(key_path[:-1])
    where = f" in [{table}]" if table else ""
    return ConfigError(f"{cf.where(key_path)}: unknown key '{key}'{where}{suggestion}",
                       f"valid keys here: {', '.join(sorted(choices))}" if choices else
                       "see the configuration section of the README")


def _type_name(value: Any) -> str:
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string",
            list: "a list", dict: "a table"}.get(type(value), type(value).__name__)


def _check_value(cf: ConfigFile, key_path: tuple[str, ...], command: click.Command,
                 param: click.Option, value: Any) -> Any:
    """The value as click's default_map wants it, after checking it the way click would."""
    where = f"{cf.where(key_path)}: {'.'.join(key_path)}"
    if param.is_flag and not param.count:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, not {_type_name(value)}",
                              f"write {key_path[-1]} = true")
    elif param.multiple:
        value = value if isinstance(value, list) else [value]
        for item in value:
            if isinstance(item, (list, dict)):
                raise ConfigError(f"{where} must be a list of values, not a list of "
                                  f"{_type_name(item)}s", f'write {key_path[-1]} = ["a", "b"]')
    elif isinstance(value, (list, dict)):
        raise ConfigError(f"{where} takes one value, not {_type_name(value)}",
                          f"write {key_path[-1]} = VALUE")
    if isinstance(param.type, click.Path):
        value = _relative_to(cf, value)
    ctx = click.Context(command, info_name=command.name, resilient_parsing=False)
    try:
        converted = param.type_cast_value(ctx, value)
        if param.callback is not None:
            param.callback(ctx, param, converted)
    except click.BadParameter as exc:
        # click names the flag ("Invalid value for '--x': ..."); the file names the key.
        message = re.sub(r"^Invalid value(?: for [^:]+)?:\s*", "",
                         " ".join(exc.format_message().split()))
        raise ConfigError(f"{where}: {message}", f"see `cloudwall {command.name} --help`"
                          ) from None
    except (click.UsageError, CloudwallError, ValueError, TypeError) as exc:
        message = exc.format_message() if isinstance(exc, click.UsageError) else str(exc)
        raise ConfigError(f"{where}: {message}", f"see `cloudwall {command.name} --help`"
                          ) from None
    return value


def _relative_to(cf: ConfigFile, value: Any) -> Any:
    """Paths in the file are relative to the file, wherever cloudwall is run from; a URL
    (``store = "postgresql://..."``) is not a path."""
    if isinstance(value, list):
        return [_relative_to(cf, v) for v in value]
    if isinstance(value, str) and value != "-" and not os.path.isabs(value) and not is_url(value):
        return str(cf.path.parent / os.path.expanduser(value))
    return value


def build(cf: ConfigFile, root: click.Group) -> Configuration:
    """Check every key of ``cf`` against ``root``'s commands; raises ConfigError."""
    config = Configuration(file=cf)
    _table(cf, root, cf.data, (), (), config.default_map, config, is_root=True)
    return config


def _table(cf: ConfigFile, command: click.Command, data: Mapping[str, Any],
           key_path: tuple[str, ...], command_path: tuple[str, ...], out: dict[str, Any],
           config: Configuration, is_root: bool = False) -> None:
    options = option_keys(command)
    subcommands = {name: sub for name, sub in getattr(command, "commands", {}).items()
                   if name not in NOT_CONFIGURABLE}
    choices = [*options, *subcommands] + ([PROVIDERS_TABLE] if is_root else [])
    # [providers.*] last, so a value also set in [scan] is reported as the duplicate it is.
    for key, value in sorted(data.items(), key=lambda item: is_root and item[0] == PROVIDERS_TABLE):
        path = (*key_path, key)
        if key in subcommands:
            if not isinstance(value, dict):
                raise ConfigError(f"{cf.where(path)}: '{key}' is a command: its options go in "
                                  f"a [{'.'.join(path)}] table", f"write [{'.'.join(path)}]")
            sub = subcommands[key]
            _table(cf, sub, value, path, (*command_path, sub.name), out.setdefault(sub.name, {}),
                   config)
        elif is_root and key == PROVIDERS_TABLE:
            _providers(cf, command, value, path, config)
        elif _norm(key) in options:
            param = options[_norm(key)]
            if param.name in out:
                raise ConfigError(f"{cf.where(path)}: '{key}' is set twice in "
                                  f"[{'.'.join(key_path)}]", "keep one of them")
            checked = _check_value(cf, path, command, param, value)
            if is_root:
                config.root[param.name] = checked
            else:
                out[param.name] = checked
            config.origins[(*command_path, param.name)] = cf.where(path)
        else:
            raise _unknown(cf, path, choices)


def _providers(cf: ConfigFile, root: click.Group, data: Any, key_path: tuple[str, ...],
               config: Configuration) -> None:
    if not isinstance(data, dict):
        raise ConfigError(f"{cf.where(key_path)}: 'providers' must be a table of clouds",
                          "write [providers.aws], [providers.azure], [providers.gcp]")
    scan = root.commands[SCAN_COMMAND]
    scan_options = option_keys(scan)
    scan_map = config.default_map.setdefault(SCAN_COMMAND, {})
    named: list[str] = []
    for provider, settings in data.items():
        path = (*key_path, provider)
        if provider not in provider_names():
            raise _unknown(cf, path, provider_names())
        if not isinstance(settings, dict):
            raise ConfigError(f"{cf.where(path)}: providers.{provider} must be a table",
                              f"write [providers.{provider}]")
        named.append(provider)
        keys = PROVIDER_KEYS.get(provider, {})
        env_keys = PROVIDER_ENV.get(provider, {})
        for key, value in settings.items():
            item = (*path, key)
            if _norm(key) in env_keys:
                if not isinstance(value, str):
                    raise ConfigError(f"{cf.where(item)}: {'.'.join(item)} must be a string, "
                                      f"not {_type_name(value)}", f'write {key} = "https://..."')
                config.environment[env_keys[_norm(key)]] = value
                config.origins[("env", env_keys[_norm(key)])] = cf.where(item)
                continue
            if _norm(key) not in keys:
                raise _unknown(cf, item, [*keys, *env_keys])
            param = scan_options[keys[_norm(key)]]
            if param.name in scan_map:
                raise ConfigError(f"{cf.where(item)}: {'.'.join(item)} is also set in [scan]",
                                  "set it in one place")
            scan_map[param.name] = _check_value(cf, item, scan, param, value)
            config.origins[(SCAN_COMMAND, param.name)] = cf.where(item)
    provider_param = scan_options["provider"]
    if named and provider_param.name not in scan_map:
        scan_map[provider_param.name] = named
        config.origins[(SCAN_COMMAND, provider_param.name)] = cf.where(key_path)


# --- what `config show` reports -----------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    key: str  # dotted: "store", "scan.regions", "report.compliance.framework"
    value: Any  # None: not set
    source: str  # "cli", "env NAME", "config FILE:LINE", "default"


def settings(root_ctx: click.Context, config: Configuration,
             only: tuple[str, ...] = ()) -> Iterator[Setting]:
    """Every option's effective value and where it came from, commands in tree order."""
    root = root_ctx.command
    for name, param in _unique_options(root) if not only else ():
        source = root_ctx.get_parameter_source(param.name)
        value = root_ctx.params.get(param.name)
        if source is click.core.ParameterSource.COMMANDLINE:
            label = "cli"
        elif source is click.core.ParameterSource.ENVIRONMENT:
            label = f"env {param.envvar}"
        elif param.name in config.root:
            value = config.root[param.name]
            label = f"config {config.origins[(param.name,)]}"
        else:
            label = "default"
        yield Setting(name, _unset_is_none(value), label)
    yield from _command_settings(root_ctx, root, (), config.default_map, config, only)


def _command_settings(parent: click.Context, group: click.Command, path: tuple[str, ...],
                      default_map: Mapping[str, Any], config: Configuration,
                      only: tuple[str, ...]) -> Iterator[Setting]:
    for name, command in getattr(group, "commands", {}).items():
        if name in NOT_CONFIGURABLE:
            continue
        sub_path = (*path, name)
        if only and sub_path[: len(only)] != only[: len(sub_path)]:
            continue
        sub_map = default_map.get(name, {}) if isinstance(default_map, Mapping) else {}
        ctx = click.Context(command, info_name=name, parent=parent, default_map=sub_map)
        if isinstance(command, click.Group):
            yield from _command_settings(ctx, command, sub_path, sub_map, config, only)
            continue
        for key, param in _unique_options(command):
            envvar = _envvar(param, ctx)
            if envvar is not None:
                yield Setting(".".join((*sub_path, key)), _typed(param, ctx, envvar[1]),
                              f"env {envvar[0]}")
            elif param.name in sub_map:
                yield Setting(".".join((*sub_path, key)), sub_map[param.name],
                              f"config {config.origins[(*sub_path, param.name)]}")
            else:
                yield Setting(".".join((*sub_path, key)),
                              _unset_is_none(param.get_default(ctx, call=True)), "default")


# click 8.2+ marks "no default" with a sentinel rather than None.
_UNSET = getattr(getattr(click, "_utils", None), "UNSET", None)


def _unset_is_none(value: Any) -> Any:
    return None if _UNSET is not None and value is _UNSET else value


def _unique_options(command: click.Command) -> list[tuple[str, click.Parameter]]:
    """Each configurable option once, under its first long name."""
    seen: dict[str, tuple[str, click.Parameter]] = {}
    for key, param in option_keys(command).items():
        seen.setdefault(param.name, (key, param))
    return list(seen.values())


def _typed(param: click.Parameter, ctx: click.Context, raw: str) -> Any:
    """An environment value as the option reads it (a number stays a number)."""
    try:
        return param.type_cast_value(ctx, param.value_from_envvar(ctx))
    except (click.BadParameter, ValueError, TypeError):
        return raw


def _envvar(param: click.Parameter, ctx: click.Context) -> tuple[str, str] | None:
    names = [param.envvar] if isinstance(param.envvar, str) else list(param.envvar or ())
    for name in names:
        if os.environ.get(name):
            return name, os.environ[name]
    return None
