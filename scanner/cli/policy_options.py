"""The policy flags shared by ``scan``, ``snapshots show``, ``diff`` and ``report compliance``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import click

from policies import PolicySettings
from policies.engine import available_policies, check_settings
from reports.text import printable
from scanner.cli.common import split_values, trusted_cidrs

POLICY_FLAGS = ("policy_files", "only", "skip", "suppressions", "trusted_cidrs", "broad_prefix")


def policy_options(command: Callable) -> Callable:
    """Add the policy flags to a click command (they arrive as keyword arguments)."""
    options = [
        click.option("--policies", "policy_files", multiple=True,
                     type=click.Path(dir_okay=False),
                     help="Add a policy pack (YAML; repeatable)."),
        click.option("--only", multiple=True,
                     help="Run only these policy ids (repeatable, comma-separated, globs)."),
        click.option("--skip", multiple=True,
                     help="Do not run these policy ids (repeatable, comma-separated, globs)."),
        click.option("--suppressions", type=click.Path(dir_okay=False),
                     help="Suppressions file (YAML): accepted findings with reason, owner and "
                     "expiry."),
        click.option("--trusted-cidr", "trusted_cidrs", multiple=True,
                     help="A range you trust (repeatable): rules whose public sources lie "
                     "inside it are not findings."),
        click.option("--broad-prefix", type=click.IntRange(1, 31), default=8, show_default=True,
                     help="An IPv4 source at least this wide (as a prefix length) is 'broad'."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def policy_settings(flags: Mapping[str, Any]) -> PolicySettings:
    settings = PolicySettings(
        trusted_cidrs=trusted_cidrs(tuple(flags.get("trusted_cidrs") or ())),
        broad_prefix=int(flags.get("broad_prefix") or 8),
        only=split_values(tuple(flags.get("only") or ())),
        skip=split_values(tuple(flags.get("skip") or ())),
        extra_packs=tuple(flags.get("policy_files") or ()),
        suppressions=flags.get("suppressions"),
    )
    check_settings(settings)
    return settings


def known_policy_ids(settings: PolicySettings) -> list[str]:
    """Every policy id the settings can see (built-in and the user's packs), for --policy."""
    return [p.policy_id for p in available_policies(settings)]


def warn_expired(report, echo: Callable[[str], None]) -> None:
    """One line per expired suppression that still matches findings."""
    seen: dict[str, int] = {}
    for finding in report.findings:
        entry = finding.suppression or {}
        if entry.get("expired"):
            # Every part comes from the suppressions file: shown through the printable filter.
            key = f"{printable(entry.get('location'))} (owner {printable(entry.get('owner'))}, " \
                  f"expired {printable(entry.get('expires'))})"
            seen[key] = seen.get(key, 0) + 1
    for where, count in seen.items():
        echo(f"warning: suppression {where} has expired; {count} finding(s) are active again")
