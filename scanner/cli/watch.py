"""``cloudwall watch``: read the clouds' audit logs every interval and alert on new drift.

Runs until stopped. Alerts are JSON lines on stdout (``scanner.watch.alerts``); one status
line per interval goes to stderr. The first SIGTERM or Ctrl-C stops it after the current batch
is saved (exit 143 or 130, the shell's codes for the signal, as for every command); a second
one stops at once. Usage, configuration and store errors exit 2 before any cloud call.
"""

from __future__ import annotations

import click

from providers import load_provider, provider_names
from providers.base import ProviderSettings
from scanner.cli.common import open_store, split_values
from scanner.cli.interrupts import stop_after_batch
from scanner.cli.report_options import check_notify, notify_options
from scanner.cli.scan import AZURE_CLOUDS, duration
from scanner.cli.terminal import terminal
from scanner.errors import ConfigError
from scanner.gates import DriftGate


def register(main: click.Group) -> None:
    main.add_command(watch)


def _gate(_ctx, _param, value: str) -> DriftGate:
    try:
        return DriftGate.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _duration(_ctx, _param, value: str) -> float:
    return duration(value)  # type: ignore[return-value]


@click.command()
@click.option("--baseline", required=True, help="Stored baseline name to compare with.")
@click.option("--provider", "providers", multiple=True, required=True,
              type=click.Choice(provider_names()), help="Cloud to watch (repeatable).")
@click.option("--interval", default="30s", show_default=True, callback=_duration,
              metavar="DURATION", help="How often the audit logs are read.")
@click.option("--overlap", default="15m", show_default=True, callback=_duration,
              metavar="DURATION", help="How far each read reaches back before the last one, "
              "for events the log delivers late (CloudTrail: many minutes).")
@click.option("--full-every", default="6h", show_default=True, callback=_duration,
              metavar="DURATION", help="A full scan this often catches what no log recorded.")
@click.option("--aws-queue", metavar="URL", help="AWS: read the calls from this SQS queue, fed "
              "by an EventBridge rule (seconds instead of CloudTrail's minutes), instead of "
              "CloudTrail LookupEvents.")
@click.option("--fail-on-drift", "gate", default="widened", show_default=True, callback=_gate,
              metavar="LEVEL", help="Which new drift items are alerted: at or above a "
              "severity, `widened` (widening or undecided, T1562.007) or `any`.")
@click.option("--profile", help="AWS: named profile from the shared config.")
@click.option("--regions", multiple=True, help="AWS: regions (comma-separated or repeated).")
@click.option("--role-arn", help="AWS: assume this role first (one account).")
@click.option("--subscription", "subscriptions", multiple=True, help="Azure: subscription id.")
@click.option("--azure-cloud", type=click.Choice(AZURE_CLOUDS), default="public",
              show_default=True, help="Azure: national cloud.")
@click.option("--azure-endpoint", envvar="CLOUDWALL_AZURE_ENDPOINT",
              help="Azure: Resource Manager base URL (env CLOUDWALL_AZURE_ENDPOINT).")
@click.option("--project", "projects", multiple=True, help="GCP: project id (repeatable).")
@click.option("--gcp-endpoint", envvar="CLOUDWALL_GCP_ENDPOINT",
              help="GCP: base URL for every Google API called (env CLOUDWALL_GCP_ENDPOINT).")
@click.option("--concurrency", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Scopes read at once.")
@click.option("--max-retries", type=click.IntRange(0, 20), default=None,
              envvar="CLOUDWALL_MAX_RETRIES", help="Retries for throttling and transient "
              "errors (env CLOUDWALL_MAX_RETRIES; default: each SDK's own).")
@click.option("--timeout", "request_timeout", type=click.FloatRange(0.1, 3600), default=60.0,
              show_default=True, envvar="CLOUDWALL_TIMEOUT", help="Seconds per HTTP request.")
@notify_options
@click.pass_context
def watch(ctx: click.Context, baseline, providers, interval, overlap, full_every, aws_queue,
          gate, profile, regions, role_arn, subscriptions, azure_cloud, azure_endpoint,
          projects, gcp_endpoint, concurrency, max_retries, request_timeout, **flags) -> None:
    """Alert on firewall changes within an interval of the API call that made them.

    Each interval reads the audit logs (CloudTrail, Azure Activity Log, GCP Admin Activity)
    of every watched scope, re-reads only what the firewall calls touched, and prints each new
    drift item against the baseline once, as a JSON line, with who made it. Checkpoints are
    kept in the store: a restart neither misses nor repeats an alert.

    SIGTERM or Ctrl-C stops it after the current batch is saved (exit 143 or 130); a second
    one stops at once. Usage, configuration and store errors exit 2.
    """
    from scanner.collect import collect_snapshot
    from scanner.notify import Webhooks
    from scanner.watch.alerts import Alerts
    from scanner.watch.loop import Watcher, WatchSettings, watchable

    if aws_queue and "aws" not in providers:
        raise ConfigError("--aws-queue needs --provider aws", "add --provider aws")
    check_notify(flags)
    settings = ProviderSettings(
        profile=profile, regions=split_values(regions), role_arn=role_arn,
        subscriptions=split_values(subscriptions), azure_cloud=azure_cloud,
        azure_endpoint=azure_endpoint, projects=split_values(projects),
        gcp_endpoint=gcp_endpoint, max_workers=concurrency, max_retries=max_retries,
        request_timeout=request_timeout)
    store = open_store(ctx, write=True)
    baseline_snapshot = store.load_baseline(baseline)
    adapters = [load_provider(name)(settings) for name in dict.fromkeys(providers)]
    sources, refused = watchable(adapters)
    if refused:
        raise ConfigError(f"cannot watch {', '.join(refused)}: its adapter reads no audit log",
                          "watch the other providers, and scan this one on a schedule")
    quiet = terminal(ctx).quiet

    def status(line: str) -> None:
        if not quiet or line.startswith("warning"):
            click.echo(line, err=True)

    alerts = Alerts(gate, baseline, baseline_snapshot.snapshot_id,
                    Webhooks.from_flags(flags),
                    warn=lambda line: click.echo(line, err=True))
    watcher = Watcher(
        WatchSettings(baseline, interval, overlap, full_every, concurrency), store,
        baseline_snapshot, sources, lambda: collect_snapshot(adapters, concurrency), alerts,
        status)
    stop_after_batch(watcher.stop)
    watcher.start()
    if aws_queue:
        watcher.feed = _queue(aws_queue, sources["aws"], watcher)
    watcher.run()
    status("watch: stopped after the current batch; checkpoints saved")


def _queue(url: str, aws, watcher):
    from providers.aws.watch_queue import EventQueue

    accounts = aws.accounts()
    home = next((a for a in accounts.values() if a.clients is not None), None)
    if home is None:
        raise ConfigError("--aws-queue: no AWS account could be entered to read the queue",
                          "check the AWS credentials")
    region = aws.settings.regions[0] if aws.settings.regions else (
        home.clients.session.region_name or "us-east-1")
    return EventQueue(url, home.clients, list(watcher.scopes.values()), region)
