"""``cloudwall scan``: collect live state, judge it, compare with a baseline, report."""

from __future__ import annotations

import click

from providers import provider_names
from providers.aws.organization import parse_ou
from providers.azure.management_groups import parse_group
from providers.base import ProviderSettings
from providers.gcp.hierarchy import parse_node
from providers.paging import DEFAULT_MAX_ITEMS, DEFAULT_MAX_PAGES
from reports import format_names
from scanner.cli.common import open_store, split_values
from scanner.cli.export import export_options, run_exports, take_export_flags
from scanner.cli.outputs import output_options
from scanner.cli.policy_options import known_policy_ids, policy_options, policy_settings
from scanner.cli.progress import terminal_progress
from scanner.cli.report_options import filter_options, gate_options, notify_options
from scanner.cli.reporting import finish, prepare
from scanner.cli.terminal import say, terminal
from scanner.durations import parse_duration
from scanner.engine import ScanRequest, is_snapshot_file, run_scan
from scanner.errors import ConfigError
from scanner.executors import ExecutorSettings, executor_names

AZURE_CLOUDS = ("public", "usgov", "china")


def register(main: click.Group) -> None:
    main.add_command(scan)


def _given(ctx: click.Context, *names: str) -> bool:
    """Whether the user set any of these options on the command line (not from the
    environment: a shared CLOUDWALL_DASK_SCHEDULER must not break local scans)."""
    return any(ctx.get_parameter_source(n) is click.core.ParameterSource.COMMANDLINE
               for n in names)


def duration(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command()
@click.option("--provider", "providers", multiple=True, required=True,
              type=click.Choice(provider_names()), help="Cloud to scan (repeatable).")
@click.option("--profile", help="AWS: named profile from the shared config.")
@click.option("--regions", multiple=True, help="AWS: regions (comma-separated or repeated); "
              "default every region enabled for the account.")
@click.option("--role-arn", help="AWS: assume this role first (one account).")
@click.option("--org-role", help="AWS: assume this role name in every active account of the "
              "organization.")
@click.option("--accounts", multiple=True, help="AWS: with --org-role, only these account ids.")
@click.option("--ou", "ous", multiple=True, metavar="OU_ID",
              help="AWS: with --org-role, the active accounts below this organizational unit, "
              "child OUs included (repeatable; the root r-xxxx for all).")
@click.option("--subscription", "subscriptions", multiple=True,
              help="Azure: subscription id (repeatable); default all visible.")
@click.option("--management-group", "management_groups", multiple=True, metavar="ID",
              help="Azure: every subscription below this management group, child groups "
              "included (repeatable).")
@click.option("--azure-cloud", type=click.Choice(AZURE_CLOUDS), default="public",
              show_default=True, help="Azure: national cloud.")
@click.option("--azure-endpoint", envvar="CLOUDWALL_AZURE_ENDPOINT",
              help="Azure: Resource Manager base URL (env CLOUDWALL_AZURE_ENDPOINT).")
@click.option("--project", "projects", multiple=True,
              help="GCP: project id (repeatable); default all visible.")
@click.option("--organization", "organizations", multiple=True, metavar="ID",
              help="GCP: every active project of this organization, in any folder "
              "(repeatable).")
@click.option("--folder", "folders", multiple=True, metavar="ID",
              help="GCP: every active project below this folder, subfolders included "
              "(repeatable).")
@click.option("--gcp-endpoint", envvar="CLOUDWALL_GCP_ENDPOINT",
              help="GCP: base URL for every Google API called (env CLOUDWALL_GCP_ENDPOINT).")
@click.option("--concurrency", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Scopes collected at once.")
@click.option("--max-retries", type=click.IntRange(0, 20), default=None,
              envvar="CLOUDWALL_MAX_RETRIES",
              help="Retries for throttling and transient errors (env CLOUDWALL_MAX_RETRIES; "
              "default: each SDK's own).")
@click.option("--timeout", "request_timeout", type=click.FloatRange(0.1, 3600), default=60.0,
              show_default=True, envvar="CLOUDWALL_TIMEOUT",
              help="Seconds per HTTP request before a scope is recorded as timed out.")
@click.option("--max-pages", type=click.IntRange(1, None), default=DEFAULT_MAX_PAGES,
              show_default=True, envvar="CLOUDWALL_MAX_PAGES",
              help="Pages one list call may take per resource type and scope; more (or a "
              "next-page token that repeats) is recorded as not collected (exit 3).")
@click.option("--max-items", type=click.IntRange(1, None), default=DEFAULT_MAX_ITEMS,
              show_default=True, envvar="CLOUDWALL_MAX_ITEMS",
              help="Items one list call may return per resource type and scope; more is "
              "recorded as not collected (exit 3).")
@click.option("--deadline", callback=lambda _c, _p, v: duration(v), metavar="DURATION",
              help="Stop collecting after this long (90s, 30m, 2h): scopes not finished by "
              "then are reported as not collected and the scan exits 3.")
@click.option("--executor", "executor_name", type=click.Choice(executor_names()),
              default="local", show_default=True, envvar="CLOUDWALL_EXECUTOR",
              help="Where scopes are collected: this process's threads, or the workers of a "
              "Dask cluster (needs cloudwall[dask]; workers use their own cloud credentials).")
@click.option("--dask-scheduler", envvar="CLOUDWALL_DASK_SCHEDULER", metavar="ADDRESS",
              help="With --executor dask: the scheduler, tcp://HOST:8786 "
              "(env CLOUDWALL_DASK_SCHEDULER).")
@click.option("--dask-retries", type=click.IntRange(0, 10), default=2, show_default=True,
              help="With --executor dask: attempts after the first for a scope whose task "
              "fails or whose worker dies.")
@click.option("--demo-stage", type=click.Choice(["baseline", "changed"]), default="baseline",
              show_default=True, help="Demo provider: the estate before or after the changes.")
@click.option("--save", is_flag=True, help="Save the snapshot in the store.")
@click.option("--baseline", help="Compare with this stored baseline name or snapshot JSON file.")
@click.option("--attribute", is_flag=True,
              help="With --baseline: look up who made each drift item in the clouds' audit "
              "logs (CloudTrail, Azure Activity Log, GCP Admin Activity) since the baseline.")
@output_options(format_names(), "table")
@gate_options()
@filter_options(exclude=("provider",))
@notify_options
@policy_options
@export_options
@click.pass_context
def scan(ctx: click.Context, providers, profile, regions, role_arn, org_role, accounts, ous,
         subscriptions, management_groups, azure_cloud, azure_endpoint, projects,
         organizations, folders, gcp_endpoint, concurrency,
         max_retries, request_timeout, max_pages, max_items, deadline, executor_name,
         dask_scheduler, dask_retries, demo_stage, save,
         baseline, attribute, **flags) -> None:
    """Snapshot live firewall configuration and report on it.

    The report, the gates and the notifications see the filters; the saved snapshot is
    always the whole collection.
    """
    if org_role and role_arn:
        raise ConfigError("--org-role and --role-arn cannot be combined",
                          "use --role-arn for one account or --org-role for the organization")
    if accounts and not org_role:
        raise ConfigError("--accounts needs --org-role", "add --org-role ROLE_NAME")
    if ous and not org_role:
        raise ConfigError("--ou needs --org-role",
                          "add --org-role ROLE_NAME: the role assumed in each account found")
    executor = ExecutorSettings(executor_name, dask_scheduler, dask_retries)
    if executor_name != "dask" and _given(ctx, "dask_scheduler", "dask_retries"):
        raise ConfigError("--dask-scheduler and --dask-retries need --executor dask",
                          "add --executor dask")
    settings = ProviderSettings(
        profile=profile,
        regions=split_values(regions),
        role_arn=role_arn,
        org_role=org_role,
        accounts=split_values(accounts),
        ous=tuple(dict.fromkeys(parse_ou(v) for v in split_values(ous))),
        subscriptions=split_values(subscriptions),
        management_groups=tuple(dict.fromkeys(
            parse_group(v) for v in split_values(management_groups))),
        azure_cloud=azure_cloud,
        azure_endpoint=azure_endpoint,
        projects=split_values(projects),
        organizations=tuple(dict.fromkeys(
            parse_node(v, "organization") for v in split_values(organizations))),
        folders=tuple(dict.fromkeys(parse_node(v, "folder") for v in split_values(folders))),
        gcp_endpoint=gcp_endpoint,
        max_workers=concurrency,
        max_retries=max_retries,
        request_timeout=request_timeout,
        max_pages=max_pages,
        max_items=max_items,
        demo_stage=demo_stage,
    )
    if attribute and not baseline:
        raise ConfigError("--attribute needs --baseline", "add --baseline NAME")
    export_flags = take_export_flags(flags)
    policies = policy_settings(flags)
    flt, targets = prepare(flags, known_policy_ids(policies))
    request = ScanRequest(tuple(dict.fromkeys(providers)), settings, save, baseline, attribute,
                          policies=policies, deadline=deadline, executor=executor)
    # A baseline kept as a file needs no store; only --save may create one.
    needs_store = save or (baseline is not None and not is_snapshot_file(baseline))
    store = open_store(ctx, create=save) if needs_store else None
    quiet = terminal(ctx).quiet
    report = run_scan(request, store, None if quiet else terminal_progress())
    if save:
        say(f"saved snapshot {report.snapshot.snapshot_id}")
    finish(ctx, report, flags, flt, targets, export=lambda view: run_exports(
        view, export_flags, say, max_retries, request_timeout))
