"""Report filters: which findings, drift items and exposures a report shows and its gates count.

A filter narrows a finished report and nothing else: the snapshot that was collected or stored
is never touched, only the view of it. Every value list is OR within one filter and AND across
filters (``--provider aws --severity high`` is AWS findings at high or above); ``--tag`` keys are
AND across keys and OR within one key.

- scope filters (``providers``, ``accounts``, ``regions``) narrow everything, the scopes and the
  collection errors included, so a report on AWS is complete when AWS was read completely. A
  scope or error with no region (a whole account, subscription or project) stays under any
  region filter: it concerns every region.
- ``severities`` narrows findings and drift items (exposures carry no severity).
- ``policies`` narrows findings only (drift and exposure are not policy results).
- ``resources`` and ``tags`` narrow findings, drift items and exposures by the resource (rule
  set, asset) they are about.
- suppressed findings are counted, and shown only with ``include_suppressed``; they never
  count for a gate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from typing import Any

from scanner.exposure import ExposureAnalysis
from scanner.model import (
    Asset,
    DriftItem,
    Exposure,
    Finding,
    ScanReport,
    Severity,
    Snapshot,
)


@dataclass(frozen=True, slots=True)
class ReportFilter:
    """What a report shows. Empty tuples mean "no restriction"."""

    severities: frozenset[Severity] = frozenset()
    providers: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()  # account, subscription or project ids or names; globs
    regions: tuple[str, ...] = ()  # globs
    policies: tuple[str, ...] = ()  # policy ids or globs
    resources: tuple[str, ...] = ()  # resource ids or names; globs
    tags: tuple[tuple[str, str], ...] = ()  # (key, value glob)
    include_suppressed: bool = False

    @property
    def narrows_scope(self) -> bool:
        return bool(self.providers or self.accounts or self.regions)

    @property
    def narrows_items(self) -> bool:
        return bool(self.severities or self.policies or self.resources or self.tags)

    def scope(self) -> ReportFilter:
        """Only the scope filters of this one."""
        return ReportFilter(providers=self.providers, accounts=self.accounts,
                            regions=self.regions)

    def to_dict(self) -> dict[str, Any]:
        """The filters that are set, as a report records them (empty: nothing was filtered)."""
        out: dict[str, Any] = {}
        if self.severities:
            out["severity"] = [s.value for s in Severity if s in self.severities]
        for key, values in (("provider", self.providers), ("account", self.accounts),
                            ("region", self.regions), ("policy", self.policies),
                            ("resource", self.resources)):
            if values:
                out[key] = list(values)
        if self.tags:
            out["tag"] = [f"{k}={v}" for k, v in self.tags]
        if self.include_suppressed:
            out["include_suppressed"] = True
        return out


def parse_severities(values: Sequence[str]) -> frozenset[Severity]:
    """One value is a minimum (``high``: high and critical); several are exactly those."""
    parsed = [Severity.parse(v) for v in values]  # ValueError names the choices
    if len(parsed) == 1:
        return frozenset(s for s in Severity if s.rank >= parsed[0].rank)
    return frozenset(parsed)


def parse_tag(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` (the value may be a glob; ``KEY=*`` is "has the tag")."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"--tag {text!r} is not KEY=VALUE")
    return key.strip(), value


def _glob(value: str | None, patterns: Iterable[str]) -> bool:
    """Case-insensitive glob: Azure ids and names compare without case, and ids typed by
    people rarely match the cloud's case exactly."""
    text = (value or "").lower()
    return any(fnmatchcase(text, p.lower()) for p in patterns)


# --- scope ------------------------------------------------------------------------------------


def _scope_names(snapshot: Snapshot) -> dict[tuple[str, str], str]:
    return {(s.provider, s.account): s.name for s in snapshot.scopes if s.name}


def _in_scope(flt: ReportFilter, names: Mapping[tuple[str, str], str], provider: str,
              account: str, region: str, *, regionless_ok: bool = False) -> bool:
    if flt.providers and provider not in flt.providers:
        return False
    if flt.accounts and not (_glob(account, flt.accounts)
                             or _glob(names.get((provider, account)), flt.accounts)):
        return False
    regions_ok = not flt.regions or (regionless_ok and not region) or _glob(region, flt.regions)
    return bool(regions_ok)


def filter_snapshot(snapshot: Snapshot, flt: ReportFilter) -> Snapshot:
    """The snapshot's view under the scope filters (the same object when there are none)."""
    if not flt.narrows_scope:
        return snapshot
    names = _scope_names(snapshot)

    def keep(item: Any, regionless_ok: bool = False) -> bool:
        return _in_scope(flt, names, item.provider, item.account, item.region,
                         regionless_ok=regionless_ok)

    return replace(
        snapshot,
        scopes=tuple(s for s in snapshot.scopes if keep(s, True)),
        rule_sets=tuple(rs for rs in snapshot.rule_sets if keep(rs)),
        assets=tuple(a for a in snapshot.assets if keep(a)),
        subnets=tuple(s for s in snapshot.subnets if keep(s)),
        networks=tuple(n for n in snapshot.networks if keep(n)),
        ip_lists=tuple(i for i in snapshot.ip_lists if keep(i)),
        errors=tuple(e for e in snapshot.errors if keep(e, True)),
    )


# --- items ------------------------------------------------------------------------------------


def tag_index(*snapshots: Snapshot | None) -> dict[str, Mapping[str, str]]:
    """resource id -> tags, for rule sets and assets; later snapshots win."""
    index: dict[str, Mapping[str, str]] = {}
    for snapshot in snapshots:
        if snapshot is None:
            continue
        for rule_set in snapshot.rule_sets:
            if rule_set.tags:
                index[rule_set.resource_id] = rule_set.tags
        for asset in snapshot.assets:
            if asset.tags:
                index[asset.asset_id] = asset.tags
    return index


def _tags_match(flt: ReportFilter, tags: Mapping[str, str] | None) -> bool:
    if not flt.tags:
        return True
    lowered = {str(k).lower(): str(v) for k, v in (tags or {}).items()}
    wanted: dict[str, list[str]] = {}
    for key, value in flt.tags:
        wanted.setdefault(key.lower(), []).append(value)
    return all(key in lowered and any(fnmatchcase(lowered[key], v) for v in values)
               for key, values in wanted.items())


def _any_tags_match(flt: ReportFilter, tags: Mapping[str, Mapping[str, str]],
                    *resource_ids: str | None) -> bool:
    return not flt.tags or any(_tags_match(flt, tags.get(r)) for r in resource_ids if r)


def finding_matches(flt: ReportFilter, finding: Finding, tags: Mapping[str, Mapping[str, str]],
                    names: Mapping[tuple[str, str], str] | None = None) -> bool:
    """Whether a finding is in the view (suppression aside)."""
    if not _in_scope(flt, names or {}, finding.provider, finding.account, finding.region):
        return False
    if flt.severities and finding.severity not in flt.severities:
        return False
    if flt.policies and not _glob(finding.policy_id, flt.policies):
        return False
    if flt.resources and not any(_glob(v, flt.resources) for v in
                                 (finding.resource_id, finding.resource_name, finding.asset_id)):
        return False
    return _any_tags_match(flt, tags, finding.resource_id, finding.asset_id)


def drift_matches(flt: ReportFilter, item: DriftItem, tags: Mapping[str, Mapping[str, str]],
                  names: Mapping[tuple[str, str], str] | None = None) -> bool:
    if not _in_scope(flt, names or {}, item.provider, item.account, item.region,
                     regionless_ok=True):
        return False
    if flt.severities and item.severity not in flt.severities:
        return False
    if flt.resources and not any(_glob(v, flt.resources)
                                 for v in (item.resource_id, item.resource_name)):
        return False
    return _any_tags_match(flt, tags, item.resource_id)


def exposure_matches(flt: ReportFilter, exposure: Exposure, tags: Mapping[str, Mapping[str, str]],
                     asset_names: Mapping[str, str],
                     names: Mapping[tuple[str, str], str] | None = None) -> bool:
    if not _in_scope(flt, names or {}, exposure.provider, exposure.account, exposure.region):
        return False
    if flt.resources and not any(_glob(v, flt.resources)
                                 for v in (exposure.asset_id, asset_names.get(exposure.asset_id))):
        return False
    return _any_tags_match(flt, tags, exposure.asset_id)


def asset_matches(flt: ReportFilter, asset: Asset | None, tags: Mapping[str, Mapping[str, str]],
                  names: Mapping[tuple[str, str], str] | None = None) -> bool:
    """For assets named only by id (exposure not decided): scope, resource and tag filters;
    an asset the snapshot does not hold is kept only when nothing narrows by asset."""
    if asset is None:
        return not (flt.narrows_scope or flt.resources or flt.tags)
    if not _in_scope(flt, names or {}, asset.provider, asset.account, asset.region):
        return False
    if flt.resources and not any(_glob(v, flt.resources) for v in (asset.asset_id, asset.name)):
        return False
    return _any_tags_match(flt, tags, asset.asset_id)


def split_findings(findings: Iterable[Finding], flt: ReportFilter,
                   tags: Mapping[str, Mapping[str, str]],
                   names: Mapping[tuple[str, str], str] | None = None,
                   ) -> tuple[tuple[Finding, ...], tuple[Finding, ...]]:
    """(findings shown, suppressed findings in the view): both narrowed by the filter; the
    suppressed ones are among those shown only with ``include_suppressed``."""
    shown: list[Finding] = []
    suppressed: list[Finding] = []
    for finding in findings:
        if not finding_matches(flt, finding, tags, names):
            continue
        if finding.suppressed:
            suppressed.append(finding)
            if not flt.include_suppressed:
                continue
        shown.append(finding)
    return tuple(shown), tuple(suppressed)


# --- the report -------------------------------------------------------------------------------


def apply_filter(report: ScanReport, flt: ReportFilter) -> ScanReport:
    """The report as the filter shows it. Pure: the report and its snapshot are not changed."""
    snapshot = report.snapshot
    tags = report.resource_tags or tag_index(snapshot)
    names = _scope_names(snapshot)
    assets = {a.asset_id: a for a in snapshot.assets}
    asset_names = {a.asset_id: a.name for a in snapshot.assets}
    view = filter_snapshot(snapshot, flt)
    shown_ids = {f.finding_id for f in report.findings}
    hidden = (f for f in report.suppressed_findings if f.finding_id not in shown_ids)
    findings, suppressed = split_findings((*report.findings, *hidden), flt, tags, names)
    return replace(
        report,
        snapshot=view,
        findings=findings,
        suppressed_findings=suppressed,
        drift=tuple(d for d in report.drift if drift_matches(flt, d, tags, names)),
        exposures=tuple(e for e in report.exposures
                        if exposure_matches(flt, e, tags, asset_names, names)),
        exposure_unknown={a: why for a, why in report.exposure_unknown.items()
                          if asset_matches(flt, assets.get(a), tags, names)},
        filters=flt.to_dict(),
    )


def filter_exposure(snapshot: Snapshot, analysis: ExposureAnalysis, flt: ReportFilter
                    ) -> tuple[Snapshot, ExposureAnalysis]:
    """An exposure analysis narrowed to the assets the scope, resource and tag filters keep
    (severity and policy filters do not apply: exposures are not policy results)."""
    view = filter_snapshot(snapshot, flt)
    if not (flt.narrows_scope or flt.resources or flt.tags):
        return view, analysis
    tags = tag_index(snapshot)
    names = _scope_names(snapshot)
    kept = {a.asset_id for a in view.assets if asset_matches(flt, a, tags, names)}
    exposures = tuple(e for e in analysis.exposures if e.asset_id in kept)
    by_asset: dict[str, list[Exposure]] = {}
    for exposure in exposures:
        by_asset.setdefault(exposure.asset_id, []).append(exposure)
    live = {key: assets & kept for key, assets in analysis.live_rules.items()}
    return view, replace(
        analysis,
        exposures=exposures,
        live_rules={key: assets for key, assets in live.items() if assets},
        unknown_assets=tuple(a for a in analysis.unknown_assets if a in kept),
        unknown_reasons={a: r for a, r in analysis.unknown_reasons.items() if a in kept},
        notes={a: n for a, n in analysis.notes.items() if a in kept},
        assets_checked=len(kept),
        _by_asset={a: tuple(items) for a, items in by_asset.items()},
    )


def filter_compliance(result: Any, flt: ReportFilter, tags: Mapping[str, Mapping[str, str]],
                      names: Mapping[tuple[str, str], str] | None = None) -> Any:
    """A compliance report (scanner.compliance_model) with its listed findings and resource
    rows narrowed by the item filters (severity, policy, resource, tag, suppressed). Control
    statuses are not changed: a control that fails keeps failing when its failing findings are
    filtered out of the listing; only the scope filters, applied before the assessment, change
    what is assessed."""
    frameworks = []
    for framework in result.frameworks:
        controls = []
        for control in framework.results:
            findings, _ = split_findings(control.findings, flt, tags, names)
            quiet: tuple[Finding, ...] = ()
            if flt.include_suppressed:
                quiet = split_findings(control.suppressed, flt, tags, names)[1]
            rows = tuple(r for r in control.resources if _resource_row_matches(flt, r, tags))
            controls.append(replace(control, findings=findings, suppressed=quiet,
                                    resources=rows))
        frameworks.append(replace(framework, results=tuple(controls)))
    return replace(result, frameworks=tuple(frameworks), filters=flt.to_dict())


def _resource_row_matches(flt: ReportFilter, row: Any,
                          tags: Mapping[str, Mapping[str, str]]) -> bool:
    if flt.resources and not any(_glob(v, flt.resources)
                                 for v in (row.resource_id, row.resource_name)):
        return False
    return _any_tags_match(flt, tags, row.resource_id)
