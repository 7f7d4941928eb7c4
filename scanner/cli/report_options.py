"""Options every reporting command shares: filters, gates, outputs and notifications.

Plain click options (so a config file's defaults reach them like any other), added by one
decorator each and read back by one function each: no command carries its own copy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Any

import click

from scanner.cli.common import split_values
from scanner.errors import ConfigError
from scanner.filters import ReportFilter, parse_severities, parse_tag
from scanner.gates import DriftGate, Gates
from scanner.model import Severity

FILTER_KEYS = ("severity", "filter_providers", "filter_accounts", "filter_regions",
               "filter_policies", "filter_resources", "filter_tags", "include_suppressed")


def _apply(command: Callable, options: Sequence[Callable]) -> Callable:
    for option in reversed(options):
        command = option(command)
    return command


def filter_options(exclude: Sequence[str] = ()) -> Callable[[Callable], Callable]:
    """The filter flags (``exclude``: flag names a command has no use for, such as
    ``--provider`` on ``scan``, where it already names the clouds to collect)."""
    options = {
        "severity": click.option(
            "--severity", "severity", multiple=True, metavar="SEVERITY",
            help="Show findings and drift at or above SEVERITY; several values (comma list "
            "or repeated) show exactly those."),
        "provider": click.option(
            "--provider", "filter_providers", multiple=True, metavar="CLOUD",
            help="Show only this cloud (aws, azure, gcp; repeatable)."),
        "account": click.option(
            "--account", "filter_accounts", multiple=True, metavar="ID",
            help="Show only this account, subscription or project (id or name, glob; "
            "repeatable)."),
        "region": click.option(
            "--region", "filter_regions", multiple=True, metavar="REGION",
            help="Show only this region (glob; repeatable)."),
        "policy": click.option(
            "--policy", "filter_policies", multiple=True, metavar="ID",
            help="Show only findings of this policy (id or glob; repeatable)."),
        "resource": click.option(
            "--resource", "filter_resources", multiple=True, metavar="ID",
            help="Show only this resource (rule set or asset id or name, glob; repeatable)."),
        "tag": click.option(
            "--tag", "filter_tags", multiple=True, metavar="KEY=VALUE",
            help="Show only resources with this tag (value may be a glob; repeatable: AND "
            "across keys, OR within a key)."),
        "include_suppressed": click.option(
            "--include-suppressed", "include_suppressed", is_flag=True,
            help="Also show suppressed findings (they are always counted, and never trip a "
            "gate)."),
    }
    chosen = [option for name, option in options.items() if name not in exclude]
    return lambda command: _apply(command, chosen)


def report_filter(flags: Mapping[str, Any], known_policies: Sequence[str] | None = None
                  ) -> ReportFilter:
    """The filter from the flags; bad values are usage errors, and a --policy pattern that
    matches no known policy is a typo, not an empty report."""
    try:
        severities = parse_severities(split_values(tuple(flags.get("severity") or ())))
    except ValueError as exc:
        raise ConfigError(f"--severity: {exc}",
                          "one value is a minimum (--severity high); several are exactly "
                          "those (--severity low,critical)") from None
    try:
        tags = tuple(parse_tag(t) for t in flags.get("filter_tags") or ())
    except ValueError as exc:
        raise ConfigError(str(exc), "write it as --tag env=prod (env=* for any value)") from None
    policies = split_values(tuple(flags.get("filter_policies") or ()))
    if known_policies is not None:
        for pattern in policies:
            if not any(fnmatchcase(p.upper(), pattern.upper()) for p in known_policies):
                from policies.schema import did_you_mean

                raise ConfigError(f"--policy {pattern!r} matches no policy",
                                  did_you_mean(pattern, known_policies)
                                  or "see `cloudwall policies list`")
    providers = split_values(tuple(flags.get("filter_providers") or ()))
    from providers import provider_names

    for provider in providers:
        if provider not in provider_names() or provider == "demo":
            raise ConfigError(f"--provider {provider!r} is not a cloud",
                              "choose aws, azure or gcp")
    return ReportFilter(
        severities=severities,
        providers=providers,
        accounts=split_values(tuple(flags.get("filter_accounts") or ())),
        regions=split_values(tuple(flags.get("filter_regions") or ())),
        policies=policies,
        resources=split_values(tuple(flags.get("filter_resources") or ())),
        tags=tags,
        include_suppressed=bool(flags.get("include_suppressed")),
    )


# --- gates ------------------------------------------------------------------------------------


def _severity(_ctx, _param, value: str | None) -> Severity | None:
    if value is None or value == "none":
        return None
    try:
        return Severity.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _drift_gate(_ctx, _param, value: str | None) -> DriftGate | None:
    if value is None or value == "none":
        return None
    try:
        return DriftGate.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def gate_options(drift: bool = True) -> Callable[[Callable], Callable]:
    options = [click.option(
        "--fail-on", "fail_on", callback=_severity, default=None, metavar="SEVERITY",
        help="Exit 1 if a finding (after filters, not suppressed) is at or above SEVERITY "
        "(info, low, medium, high, critical).")]
    if drift:
        options.append(click.option(
            "--fail-on-drift", "fail_on_drift", callback=_drift_gate, default=None,
            metavar="SEVERITY|widened|any",
            help="Exit 1 if a drift item (after filters) is at or above SEVERITY; `widened`: "
            "any widening or undecided change (T1562.007); `any`: any change."))
    return lambda command: _apply(command, options)


def gates(flags: Mapping[str, Any]) -> Gates:
    return Gates(fail_on=flags.get("fail_on"), fail_on_drift=flags.get("fail_on_drift"))


# --- notifications ----------------------------------------------------------------------------


def notify_options(command: Callable) -> Callable:
    from reports.notification import NOTIFY_FORMATS

    return _apply(command, [
        click.option("--notify", "notify_urls", multiple=True, metavar="URL",
                     envvar="CLOUDWALL_NOTIFY",
                     help="POST a summary to this webhook when the run ends (repeatable; env "
                     "CLOUDWALL_NOTIFY, space-separated, keeps the URL off the process list). "
                     "A failed notification is reported and never changes the exit code."),
        click.option("--notify-format", type=click.Choice(NOTIFY_FORMATS), default="generic",
                     show_default=True, help="Payload shape: Slack or Teams incoming webhook, "
                     "or generic JSON."),
        click.option("--notify-timeout", type=click.FloatRange(0.1, 300), default=10.0,
                     show_default=True, help="Seconds to wait for each webhook answer."),
        click.option("--notify-retries", type=click.IntRange(0, 10), default=2,
                     show_default=True,
                     help="Retries for a timeout, connection error, 429 or 5xx answer "
                     "(exponential backoff)."),
    ])


def check_notify(flags: Mapping[str, Any]) -> None:
    from scanner.notify import check_url

    for url in flags.get("notify_urls") or ():
        check_url(url)
