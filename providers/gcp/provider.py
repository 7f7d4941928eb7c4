"""The GCP adapter: projects as scopes, fetch then normalize, audit-log attribution."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import ClassVar

from providers.base import ProviderSettings
from providers.gcp.fetch import Ancestry, GcpApi, discover_projects, fetch_project
from providers.gcp.hierarchy import projects_below
from providers.gcp.normalize import normalize_scope
from providers.watching import AuditEvent, Reread
from scanner.model import (
    Attribution,
    CollectedItem,
    CollectionError,
    DriftItem,
    RuleSet,
    RuleSetKind,
    Scope,
)


class GcpProvider:
    """Google Cloud: VPC firewall rules, firewall policies and instances, per project.

    ``api`` may be given to reuse clients (tests, the benchmark); by default credentials are
    resolved on first use, from ``CLOUDWALL_GCP_TOKEN`` or Application Default Credentials.
    """

    name: ClassVar[str] = "gcp"

    def __init__(self, settings: ProviderSettings, api: GcpApi | None = None) -> None:
        self.settings = settings
        self.api = api or GcpApi(settings)
        self.ancestry = Ancestry(self.api)
        # A hierarchical policy applies to many projects; it is reported once per scan.
        self._claimed: set[str] = set()
        self._parents: dict[str, str] = {}
        self._lock = threading.Lock()
        # The organization's and folders' log entries of the last watch window, by ancestry:
        # every project below them asks for the same read in the same interval.
        self._ancestor_window: tuple[datetime, datetime] | None = None
        self._ancestor_entries: dict[tuple[str, ...], list[dict]] = {}

    def discover_scopes(self) -> Iterator[Scope | CollectionError]:
        self.api.creds()  # missing credentials stop the scan here, with a hint
        # Every scan starts here: a provider kept for the next scan (the watch's full scans)
        # must report each hierarchical policy again, not count it as claimed by the last one.
        with self._lock:
            self._claimed = set()
        nodes = (*self.settings.organizations, *self.settings.folders)
        if not nodes:
            for project, display_name in discover_projects(
                self.api, self.ancestry, self.settings.projects
            ):
                yield Scope("gcp", project, "", name=display_name)
            return
        # --organization / --folder: the projects below them, and any named with --project.
        named = discover_projects(self.api, self.ancestry, self.settings.projects) \
            if self.settings.projects else []
        below = projects_below(self.api, self.ancestry, nodes)
        seen: set[str] = set()
        for project, display_name in (*named, *below.projects):
            if project not in seen:
                seen.add(project)
                yield Scope("gcp", project, "", name=display_name)
        yield from below.errors

    def collect(self, scope: Scope) -> Iterator[CollectedItem]:
        return self.merge_collected(self.collect_unmerged(scope))

    def collect_unmerged(self, scope: Scope) -> Iterator[CollectedItem]:
        """One project's items, every hierarchical policy it inherits included."""
        return normalize_scope(scope, fetch_project(self.api, self.ancestry, scope.account))

    def merge_collected(self, items: Iterable[CollectedItem]) -> Iterator[CollectedItem]:
        """The items, less the hierarchical policies another project already reported."""
        for item in items:
            if isinstance(item, RuleSet) and item.kind is RuleSetKind.GCP_HIERARCHICAL_POLICY:
                with self._lock:
                    if item.resource_id in self._claimed:
                        continue
                    self._claimed.add(item.resource_id)
                    if item.extra.get("parent"):
                        self._parents[item.resource_id] = item.extra["parent"]
            yield item

    def attribute(
        self, items: Sequence[DriftItem], since: datetime
    ) -> Mapping[str, tuple[Attribution, ...]]:
        from providers.gcp.audit import attribute

        with self._lock:
            parents = dict(self._parents)
        return attribute(self.api, items, since, parents)

    # -- watching (providers.watching.WatchSource) ---------------------------------------------

    def audit_events(self, scope: Scope, start: datetime,
                     end: datetime) -> Iterator[AuditEvent | CollectionError]:
        """The project's finished firewall, policy and instance-tag calls made in [start, end),
        and the organization and folder policy calls logged in its ancestors' logs."""
        from providers.gcp import watch
        from providers.gcp.audit import list_entries, logging_session

        project = scope.account
        errors = watch.log_errors(scope)
        entries: list[dict] = []
        try:
            session = logging_session(self.api)
            entries += list_entries(self.api, session, f"projects/{project}",
                                    watch.project_filter(project, start, end),
                                    "timestamp asc", None)
        except Exception as exc:
            yield errors(f"projects/{project}", exc)
            return
        try:
            nodes = self.ancestry.of(project)
            if nodes:
                entries += self._ancestor_log(session, tuple(nodes), start, end)
        except Exception as exc:  # the project's own events are still reported
            yield errors("the organization and folders above it (their firewall policy changes "
                         "are not watched)", exc)
        yield from watch.audit_events(scope, entries, start, end)

    def _ancestor_log(self, session, nodes: tuple[str, ...], start: datetime,
                      end: datetime) -> list[dict]:
        """The policy calls in the logs of ``nodes``, read once per window whatever the number
        of projects below them (a failed read is not kept: the next project asks again)."""
        from providers.gcp import watch
        from providers.gcp.audit import list_entries

        with self._lock:
            if self._ancestor_window != (start, end):
                self._ancestor_window, self._ancestor_entries = (start, end), {}
            known = self._ancestor_entries.get(nodes)
        if known is not None:
            return known
        read = list_entries(self.api, session, list(nodes), watch.nodes_filter(nodes, start, end),
                            "timestamp asc", None)
        with self._lock:
            if self._ancestor_window == (start, end):
                self._ancestor_entries[nodes] = read
        return read

    def reread(self, scope: Scope, targets: Sequence[str]) -> Reread:
        """Firewall rules (as their network's rule set), firewall policies and instances by
        resource name, normalised as a full collection would."""
        from providers.gcp import watch
        from providers.gcp.fetch import describe_failure

        items, gone = watch.reread(self.api, scope, targets,
                                   watch.errors_for(scope, describe_failure))
        return Reread(scope, tuple(items), tuple(gone))
