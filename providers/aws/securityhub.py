"""``--export security-hub``: send a report's findings to AWS Security Hub as ASFF.

- Where: every finding goes to the importing account (Security Hub takes findings through the
  default product only from the account in ``AwsAccountId``), found with STS
  ``GetCallerIdentity``. The region is ``--security-hub-region`` when given, else each AWS
  finding's own region (an Azure or GCP finding then needs the flag).
- How: ``BatchImportFindings`` in batches of 100. Findings the call rejects one by one are
  retried when the error is transient (a bounded number of times, with backoff) and reported
  otherwise; a whole call that fails after botocore's own retries fails its batch.
- Updates, not duplicates: ``Id`` is the finding's stable id, so the next run's import updates
  it; ``CreatedAt`` and ``FirstObservedAt`` are kept from Security Hub's copy.
- Gone: findings of cloudwall that are still active in Security Hub (``GetFindings`` on the
  product ARN, ``cloudwall/`` generators, record state ACTIVE) and are no longer reported are
  re-imported with ``RecordState: ARCHIVED`` when this run could have seen them: a policy
  finding when its policy ran and its scope was read completely, a drift item when this run
  compared with a baseline and its scope was read, a collection error when its scope was
  scanned again; and never past the report's filters (a finding hidden by ``--severity`` is
  not gone). Anything else (another region, a policy not run, a scope not read) is left.

Clients are created on first use; endpoints come from boto3's own ``AWS_ENDPOINT_URL`` /
``AWS_ENDPOINT_URL_SECURITYHUB`` / ``AWS_ENDPOINT_URL_STS`` resolution.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from fnmatch import fnmatchcase
from typing import Any

from reports.asff import GENERATOR_PREFIX, Home, Item, items
from scanner.errors import ConfigError, ProviderError
from scanner.model import ScanReport

BATCH = 100
# BatchImportFindings per-item error codes worth another try.
RETRYABLE = {"InternalException", "InternalError", "ServiceUnavailable", "ThrottlingException",
             "TooManyRequestsException", "LimitExceededException", "RequestTimeout"}
ClientMaker = Callable[[str, str | None], Any]  # (service, region) -> boto3 client


@dataclass
class RegionResult:
    region: str
    imported: list[str] = field(default_factory=list)  # ids Security Hub accepted
    updated: list[str] = field(default_factory=list)  # of those, ids it already had
    archived: list[str] = field(default_factory=list)
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # (id, code, message)
    retries: int = 0


@dataclass
class ExportResult:
    account: str
    regions: list[RegionResult] = field(default_factory=list)

    @property
    def failed(self) -> list[tuple[str, str, str]]:
        return [f for r in self.regions for f in r.failed]

    @property
    def complete(self) -> bool:
        return not self.failed


def default_client_maker(max_retries: int | None = None, timeout: float = 60.0) -> ClientMaker:
    """boto3 clients made on first use, with botocore's parameter validation and standard
    retries for throttling; endpoints from the environment as usual."""
    cache: dict[tuple[str, str | None], Any] = {}

    def make(service: str, region: str | None) -> Any:
        key = (service, region)
        if key not in cache:
            import boto3
            from botocore.config import Config

            retries: dict[str, Any] = {"mode": "standard"}
            if max_retries is not None:
                retries["max_attempts"] = max_retries + 1
            config = Config(retries=retries, connect_timeout=timeout, read_timeout=timeout,
                            parameter_validation=True, user_agent_extra="cloudwall")
            cache[key] = boto3.session.Session().client(service, region_name=region,
                                                        config=config)
        return cache[key]

    return make


def _now() -> str:
    # Milliseconds: an update must carry a later UpdatedAt than the copy it replaces.
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _provider_error(what: str, exc: BaseException) -> ProviderError:
    from botocore import exceptions as bx

    if isinstance(exc, bx.ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "ClientError")
        return ProviderError(
            f"Security Hub {what} failed: {code}: {error.get('Message', '')}",
            "enable Security Hub in this account and region, and allow "
            "securityhub:BatchImportFindings and securityhub:GetFindings", provider="aws")
    return ProviderError(f"Security Hub {what} failed: {exc}",
                         "check the network path and AWS_ENDPOINT_URL_SECURITYHUB",
                         provider="aws")


def _call(what: str, function: Callable[..., Any], **kwargs: Any) -> Any:
    from botocore import exceptions as bx

    try:
        return function(**kwargs)
    except (bx.ClientError, bx.BotoCoreError, OSError) as exc:
        raise _provider_error(what, exc) from exc


def caller_account(make_client: ClientMaker, region: str | None) -> str:
    sts = make_client("sts", region)
    return _call("GetCallerIdentity", sts.get_caller_identity)["Account"]


def route(report: ScanReport, region: str | None, default_region: str | None
          ) -> dict[str, list[Item]]:
    """Items by the Security Hub region they go to."""
    routed: dict[str, list[Item]] = {}
    for item in items(report):
        target = region or (item.region if item.provider == "aws" else None)
        if item.provider == "aws" and not target:
            target = default_region
        if not target:
            if item.provider == "aws":
                raise ConfigError(f"{item.item_id} has no AWS region to go to",
                                  "add --security-hub-region REGION")
            raise ConfigError(
                f"{item.provider} findings need --security-hub-region",
                "add --security-hub-region REGION (they go to the importing account's hub)")
        routed.setdefault(target, []).append(item)
    return routed


def active_findings(client: Any, product_arn: str) -> dict[str, dict[str, Any]]:
    """cloudwall's findings still active in this hub, by id. The filter is applied again here:
    what the server returns is checked, not trusted."""
    filters = {"ProductArn": [{"Value": product_arn, "Comparison": "EQUALS"}],
               "GeneratorId": [{"Value": GENERATOR_PREFIX, "Comparison": "PREFIX"}],
               "RecordState": [{"Value": "ACTIVE", "Comparison": "EQUALS"}]}
    found: dict[str, dict[str, Any]] = {}
    from botocore import exceptions as bx

    pages = client.get_paginator("get_findings").paginate(
        Filters=filters, PaginationConfig={"PageSize": 100})
    try:
        for page in pages:
            for finding in page.get("Findings", []):
                if (finding.get("ProductArn") == product_arn
                        and str(finding.get("GeneratorId", "")).startswith(GENERATOR_PREFIX)
                        and finding.get("RecordState", "ACTIVE") == "ACTIVE"):
                    found[finding["Id"]] = finding
    except (bx.ClientError, bx.BotoCoreError, OSError) as exc:
        raise _provider_error("GetFindings", exc) from exc
    return found


# Filters that hide findings and drift items by what they are, not where: a report narrowed by
# one of them cannot say that a missing finding went away.
ITEM_FILTERS = ("severity", "policy", "resource", "tag")


def _in_view(filters: Mapping[str, Any], provider: str, account: str, region: str,
             names: Iterable[str]) -> bool:
    """Whether a report narrowed by ``filters`` shows this scope (a scope filter that cannot
    be matched here counts as hiding it: archiving on a guess is worse than not archiving)."""
    def matches(key: str, candidates: Iterable[str]) -> bool:
        patterns = [str(p).lower() for p in filters.get(key) or ()]
        return not patterns or any(fnmatchcase(c.lower(), p) for c in candidates if c
                                   for p in patterns)

    return (matches("provider", [provider]) and matches("account", [account, *names])
            and (not region or matches("region", [region])))


def covered(report: ScanReport, finding: Mapping[str, Any]) -> bool:
    """Whether this run could have reported ``finding`` (so its absence means it is gone)."""
    fields = finding.get("ProductFields") or {}
    kind = fields.get("cloudwall/kind")
    where = (fields.get("cloudwall/provider", ""), fields.get("cloudwall/account", ""),
             fields.get("cloudwall/region", ""))
    snapshot = report.snapshot
    scopes = [s for s in snapshot.scopes if (s.provider, s.account) == where[:2]
              and (where[2] in ("", s.region) or s.region == "")]
    if not scopes or not _in_view(report.filters, *where, [s.name for s in scopes]):
        return False
    if kind in ("finding", "drift") and any(report.filters.get(k) for k in ITEM_FILTERS):
        return False
    read = all(snapshot.scope_status(s) == "ok" for s in scopes)
    if kind == "finding":
        ran = {p.policy_id for p in report.policies}
        return read and fields.get("cloudwall/policy") in ran
    if kind == "drift":
        return read and report.baseline_snapshot_id is not None
    return kind == "collection"


def _archived(finding: Mapping[str, Any], input_members: Iterable[str], now: str
              ) -> dict[str, Any]:
    kept = {k: v for k, v in finding.items() if k in set(input_members)}
    kept.update(RecordState="ARCHIVED", UpdatedAt=now)
    return kept


def send(client: Any, findings: list[dict[str, Any]], result: RegionResult,
         attempts: int = 3, backoff: float = 0.5,
         sleep: Callable[[float], None] = time.sleep) -> list[str]:
    """Import ``findings`` in batches of 100; returns the ids accepted. Per-item failures are
    retried while retryable (``attempts`` in all), then recorded in ``result.failed``."""
    accepted: list[str] = []
    for start in range(0, len(findings), BATCH):
        pending = findings[start:start + BATCH]
        for attempt in range(1, attempts + 1):
            answer = _call("BatchImportFindings", client.batch_import_findings,
                           Findings=pending)
            rejected = {f["Id"]: f for f in answer.get("FailedFindings", [])}
            accepted += [f["Id"] for f in pending if f["Id"] not in rejected]
            retry = [f for f in pending if f["Id"] in rejected
                     and rejected[f["Id"]].get("ErrorCode") in RETRYABLE]
            final = [r for r in rejected.values() if r.get("ErrorCode") not in RETRYABLE]
            result.failed += [(r.get("Id", ""), r.get("ErrorCode", ""),
                               r.get("ErrorMessage", "")) for r in final]
            if not retry:
                break
            if attempt == attempts:
                result.failed += [(f["Id"], rejected[f["Id"]].get("ErrorCode", ""),
                                   rejected[f["Id"]].get("ErrorMessage", "") +
                                   f" (after {attempts} attempts)") for f in retry]
                break
            result.retries += len(retry)
            sleep(backoff * 2 ** (attempt - 1))
            pending = retry
    return accepted


def export(report: ScanReport, region: str | None = None,
           make_client: ClientMaker | None = None, attempts: int = 3, backoff: float = 0.5,
           sleep: Callable[[float], None] = time.sleep, now: str | None = None
           ) -> ExportResult:
    """Send ``report`` to Security Hub (see the module docstring for what goes where)."""
    make_client = make_client or default_client_maker()
    default_region = region or _session_region()
    routed = route(report, region, default_region)
    sent_ids = {item.item_id for group in routed.values() for item in group}
    # Hubs to visit: where something goes, and (without --security-hub-region) every AWS
    # region scanned, where findings that went away may still be active.
    regions = set(routed)
    if region:
        regions.add(region)
    else:
        regions.update(s.region for s in report.snapshot.scopes
                       if s.provider == "aws" and s.region)
    if not regions:
        return ExportResult("")  # nothing to send and no hub that could hold anything
    account = caller_account(make_client, sorted(regions)[0])
    stamp = now or _now()
    result = ExportResult(account)
    for target in sorted(regions):
        client = make_client("securityhub", target)
        home = Home(account, target)
        existing = active_findings(client, home.product_arn)
        findings = []
        for item in routed.get(target, []):
            finding = item.build(home, stamp)
            before = existing.get(item.item_id)
            if before is not None:  # an update keeps when Security Hub first saw it
                for key in ("CreatedAt", "FirstObservedAt"):
                    if before.get(key):
                        finding[key] = before[key]
            findings.append(finding)
        outcome = RegionResult(target)
        outcome.imported = send(client, findings, outcome, attempts, backoff, sleep)
        outcome.updated = [i for i in outcome.imported if i in existing]
        members = client.meta.service_model.shape_for("AwsSecurityFinding").members
        gone = [_archived(f, members, stamp) for fid, f in sorted(existing.items())
                if fid not in sent_ids and covered(report, f)]
        outcome.archived = send(client, gone, outcome, attempts, backoff, sleep)
        result.regions.append(outcome)
    return result


def _session_region() -> str | None:
    import boto3

    return boto3.session.Session().region_name
