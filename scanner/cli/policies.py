"""``cloudwall policies list|show|test|conditions|services``."""

from __future__ import annotations

import json

import click

from policies.cases import run_cases
from policies.conditions import CONDITIONS
from policies.engine import available_policies
from policies.packs import builtin_packs, load_pack
from policies.policy import PolicySettings
from reports.grid import SEVERITY_STYLES, grid
from reports.text import printable
from scanner.catalogue import SERVICES
from scanner.cli.terminal import table_style
from scanner.errors import EXIT_FINDINGS, ConfigError
from scanner.jsonenc import encode


def register(main: click.Group) -> None:
    main.add_command(policies)


@click.group()
def policies() -> None:
    """The built-in policies, your packs, and their pass/fail cases."""


def _controls(policy, limit: int | None = None) -> str:
    keys: dict[str, list[str]] = {}
    for ref in policy.meta.compliance:
        controls = keys.setdefault(ref.framework, [])
        if ref.control not in controls:
            controls.append(ref.control)
    text = "; ".join(f"{k}: {','.join(v)}" for k, v in keys.items())
    return printable(text, limit)


def _severity(policy) -> str:
    """``catalogue`` for a pack policy whose findings take the port catalogue's severity."""
    if policy.match is not None and policy.match.severity_from_services:
        return "catalogue"
    return policy.meta.severity.value


@policies.command("list")
@click.option("--policies", "policy_files", multiple=True, type=click.Path(dir_okay=False),
              help="Also list the policies of this pack (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown"]),
              default="table", show_default=True)
@click.option("--provider", type=click.Choice(["aws", "azure", "gcp"]),
              help="Only policies that apply to this cloud.")
def policies_list(policy_files, fmt, provider) -> None:
    """Every policy with its severity, clouds and control mappings."""
    found = available_policies(PolicySettings(extra_packs=tuple(policy_files)))
    if provider:
        found = [p for p in found if provider in p.meta.providers]
    if fmt == "json":
        click.echo(encode([p.meta.to_dict() for p in found]), nl=False)
        return
    if fmt == "markdown":
        click.echo("| id | severity | clouds | title | controls |\n| --- | --- | --- | --- | --- |")
        for p in found:
            click.echo(f"| {p.policy_id} | {_severity(p)} | {', '.join(p.meta.providers)} | "
                       f"{printable(p.meta.title)} | {_controls(p).replace('|', '/')} |")
        return
    rows = []
    for p in found:
        rows.append([p.policy_id, _severity(p), ",".join(p.meta.providers), p.kind,
                     p.meta.title, _controls(p)])
    click.echo(grid(["id", "severity", "clouds", "kind", "title", "controls"], rows,
                    table_style(None), paint={1: SEVERITY_STYLES}, keep=(0, 1, 2, 3)))


@policies.command("show")
@click.argument("policy_id")
@click.option("--policies", "policy_files", multiple=True, type=click.Path(dir_okay=False))
def policies_show(policy_id: str, policy_files) -> None:
    """Everything about one policy: rationale, remediation, match, mappings."""
    found = {p.policy_id.upper(): p for p in
             available_policies(PolicySettings(extra_packs=tuple(policy_files)))}
    policy = found.get(policy_id.upper())
    if policy is None:
        from policies.schema import did_you_mean

        raise ConfigError(f"no policy {policy_id!r}",
                          did_you_mean(policy_id.upper(), found) or "see `cloudwall policies "
                          "list`")
    meta = policy.meta.to_dict()
    lines = [f"{meta['id']}: {printable(meta['title'])}",
             f"severity:    {meta['severity']}"
             + (" (from the port catalogue per finding)" if policy.match is not None
                and policy.match.severity_from_services else ""),
             f"clouds:      {', '.join(meta['providers'])}",
             f"subject:     {meta['subject']}",
             f"source:      {printable(meta['source'])}",
             f"attack:      {', '.join(meta['attack']) or '-'}",
             f"rationale:   {printable(meta['rationale'])}",
             f"remediation: {printable(policy.meta.remediation.text())}"]
    if policy.kind == "pack":
        lines.append("match:       " + printable(json.dumps(policy.definition.get("match"),
                                                            sort_keys=True)))
    else:
        lines.append(f"check:       {policy.definition.get('module')}."
                     f"{policy.definition.get('function')}")
    lines.append("compliance:")
    for key, controls in meta["compliance"].items():
        shown = [c if isinstance(c, str) else f"{c['control']} when {json.dumps(c['when'])}"
                 for c in controls]
        lines.append(f"  {key}: {printable('; '.join(shown))}")
    click.echo("\n".join(lines))


@policies.command("test")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--builtin", is_flag=True, help="Also run the built-in packs' cases.")
@click.option("-v", "--verbose", is_flag=True, help="Print every case, not only failures.")
@click.pass_context
def policies_test(ctx: click.Context, files, builtin: bool, verbose: bool) -> None:
    """Run the pass/fail cases of packs FILES (and, with --builtin or no FILES, ours)."""
    ours = builtin_packs()
    packs = [load_pack(path) for path in files]
    policies_ = available_policies(packs=ours + packs)
    cases = [c for pack in packs for c in pack.cases]
    if builtin or not files:
        cases += [c for pack in ours for c in pack.cases]
    if not cases:
        raise ConfigError("no cases to run", "add `cases:` to the pack (see the README)")
    results = run_cases(cases, policies_)
    failed = [r for r in results if not r.passed]
    for r in results:
        if verbose or not r.passed:
            mark = "ok  " if r.passed else "FAIL"
            click.echo(f"{mark} {printable(r.case.location)} {printable(r.case.policy_id)} "
                       f"[{printable(r.label)}] "
                       f"{printable(r.case.name)}"
                       + (f": {printable(r.message)}" if r.message else ""))
    click.echo(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    ctx.exit(EXIT_FINDINGS if failed else 0)


@policies.command("conditions")
def policies_conditions() -> None:
    """The condition vocabulary packs can use in `match`."""
    rows = [[c.name, c.stage, _argument(c.schema), c.help] for c in CONDITIONS.values()]
    click.echo(grid(["condition", "stage", "argument", "meaning"], rows, table_style(None),
                    keep=(0, 1)))


def _argument(schema) -> str:
    if schema.description:
        return schema.description
    choices = list(getattr(schema, "choices", ()))
    shown = ", ".join(choices[:5]) + (", ..." if len(choices) > 5 else "")
    return ("one or more of: " if getattr(schema, "many", False) else "one of: ") + shown


@policies.command("services")
def policies_services() -> None:
    """The port catalogue: service keys for `services`, `ports_any` and `ports_all`."""
    rows = [[s.key, s.name, "; ".join(f"{p}:{ports}" for p, ports in s.ports),
             s.severity.value] for s in SERVICES]
    click.echo(grid(["key", "service", "ports", "severity"], rows, table_style(None),
                    paint={3: SEVERITY_STYLES}))
