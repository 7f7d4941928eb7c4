"""Accepting drift into a baseline: the baseline with chosen changes applied, nothing else.

``cloudwall baseline set NAME --accept ITEM`` compares the baseline with a later snapshot, finds
the drift item (by id or a unique prefix of one), and builds a new baseline snapshot: the old one
with exactly that change taken from the later snapshot. Compared with the later snapshot again,
the accepted item is gone and every other item is still there.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timezone

from scanner.collect import new_snapshot_id
from scanner.drift.changes import key_of, rule_set_key
from scanner.drift.comparison import compare, keyed_rules
from scanner.errors import ConfigError
from scanner.model import Attachment, ChangeKind, DriftItem, RuleSet, Snapshot

_RULE_CHANGES = {ChangeKind.RULE_ADDED, ChangeKind.RULE_REMOVED, ChangeKind.RULE_MODIFIED,
                 ChangeKind.RULE_ENABLED, ChangeKind.RULE_DISABLED, ChangeKind.PRIORITY_CHANGED}


def find_items(items: Sequence[DriftItem], refs: Iterable[str]) -> list[DriftItem]:
    """Drift items by id or unique id prefix; a ref matching none or several is an error."""
    chosen: dict[str, DriftItem] = {}
    for ref in refs:
        ref = ref.strip()
        hits = [i for i in items if i.drift_id == ref] or [
            i for i in items if ref and i.drift_id.startswith(ref)]
        if not hits:
            raise ConfigError(f"no drift item {ref!r} between the baseline and the snapshot",
                              "list the items with `cloudwall diff --baseline NAME`")
        if len(hits) > 1:
            raise ConfigError(f"drift item id {ref!r} is ambiguous ({len(hits)} items)",
                              "give more characters of the id")
        item = hits[0]
        if item.change is ChangeKind.SCOPE_UNKNOWN:
            raise ConfigError(f"{item.drift_id} is an unread scope, not a change",
                              "rescan the scope; there is nothing to accept")
        chosen[item.drift_id] = item
    return list(chosen.values())


def _where(obj) -> tuple[str, str, str]:
    return (obj.provider, obj.account, obj.region)


def _sorted_sets(sets: Iterable[RuleSet]) -> tuple[RuleSet, ...]:
    return tuple(sorted(sets, key=lambda r: (r.resource_id, _where(r))))


def _key(rs: RuleSet) -> tuple[str, str, str]:
    return key_of(rs)


def _item_key(item: DriftItem, resource_id: str | None = None) -> tuple[str, str, str]:
    return rule_set_key(item.provider, item.account, resource_id or item.resource_id,
                        str(item.details.get("rule_set_kind", "")))


def _put_set(snapshot: Snapshot, rule_set: RuleSet | None, key: tuple[str, str, str]) -> Snapshot:
    others = [rs for rs in snapshot.rule_sets if _key(rs) != key]
    return replace(snapshot, rule_sets=_sorted_sets(others + ([rule_set] if rule_set else [])))


def _set(snapshot: Snapshot, key: tuple[str, str, str]) -> RuleSet | None:
    return next((rs for rs in snapshot.rule_sets if _key(rs) == key), None)


def _apply_rule(base: RuleSet, item: DriftItem) -> RuleSet:
    rules = keyed_rules(base.rules)
    assert item.rule_key is not None
    if item.after is None:
        rules.pop(item.rule_key, None)
    else:
        rules[item.rule_key] = item.after
    return replace(base, rules=tuple(rules.values()))


def _copy_target(snapshot: Snapshot, current: Snapshot, target_id: str) -> Snapshot:
    """The interface, subnet or network the attachment is on, as the later snapshot has it."""
    for field_name, id_name in (("assets", "asset_id"), ("subnets", "subnet_id"),
                                ("networks", "network_id")):
        now = [o for o in getattr(current, field_name) if getattr(o, id_name) == target_id]
        if now:
            kept = [o for o in getattr(snapshot, field_name) if getattr(o, id_name) != target_id]
            merged = sorted(kept + now, key=lambda o, n=id_name: (getattr(o, n), _where(o)))
            snapshot = replace(snapshot, **{field_name: tuple(merged)})
    return snapshot


def _apply_attachment(snapshot: Snapshot, current: Snapshot, item: DriftItem) -> Snapshot:
    kind, _, target_id = str(item.details.get("target", "")).partition(" ")
    attachment = Attachment(kind, target_id)
    key = _item_key(item)
    base = _set(snapshot, key) or _set(current, key)
    if base is None:
        raise ConfigError(f"{item.resource_id} is in neither snapshot", "nothing to accept")
    attachments = set(base.attachments)
    if item.change is ChangeKind.ATTACHMENT_ADDED:
        attachments.add(attachment)
    else:
        attachments.discard(attachment)
    ordered = tuple(sorted(attachments, key=lambda a: (a.target_kind, a.target_id)))
    snapshot = _put_set(snapshot, replace(base, attachments=ordered), key)
    replaced = item.details.get("replaces")
    if replaced:
        old_key = _item_key(item, str(replaced))
        old = _set(snapshot, old_key)
        if old is not None:
            kept = tuple(a for a in old.attachments if a != attachment)
            snapshot = _put_set(snapshot, replace(old, attachments=kept), old_key)
    return _copy_target(snapshot, current, target_id)


def apply_item(snapshot: Snapshot, current: Snapshot, item: DriftItem) -> Snapshot:
    """``snapshot`` with the one change ``item`` describes taken from ``current``."""
    key = _item_key(item)
    if item.change in _RULE_CHANGES:
        base = _set(snapshot, key)
        if base is None:
            raise ConfigError(f"{item.resource_id} is not in the baseline", "nothing to accept")
        return _put_set(snapshot, _apply_rule(base, item), key)
    if item.change is ChangeKind.RULE_SET_CREATED:
        return _put_set(snapshot, _set(current, key), key)
    if item.change is ChangeKind.RULE_SET_DELETED:
        return _put_set(snapshot, None, key)
    if item.change in (ChangeKind.ATTACHMENT_ADDED, ChangeKind.ATTACHMENT_REMOVED):
        return _apply_attachment(snapshot, current, item)
    if item.change in (ChangeKind.IP_LIST_ADDED, ChangeKind.IP_LIST_CHANGED,
                       ChangeKind.IP_LIST_REMOVED):
        list_key = (item.provider, item.account, item.region, item.resource_id)
        kept = [i for i in snapshot.ip_lists if (*_where(i), i.list_id) != list_key]
        now = [i for i in current.ip_lists if (*_where(i), i.list_id) == list_key]
        merged = sorted(kept + now, key=lambda i: (i.list_id, _where(i)))
        return replace(snapshot, ip_lists=tuple(merged))
    if item.change is ChangeKind.ENFORCEMENT_ORDER_CHANGED:
        return _copy_target(snapshot, current, item.resource_id)
    raise ConfigError(f"{item.drift_id} ({item.change.value}) cannot be accepted", "")


def accept(baseline: Snapshot, current: Snapshot, refs: Iterable[str],
           now: datetime | None = None) -> tuple[Snapshot, list[DriftItem]]:
    """A new baseline snapshot with the chosen drift items applied, and those items.

    It keeps the baseline's ``taken_at`` (the rest of it is still as then, and attribution
    looks for changes since then); it gets a new id.
    """
    items = find_items(compare(baseline, current), refs)
    snapshot = baseline
    for item in items:
        snapshot = apply_item(snapshot, current, item)
    now = now or datetime.now(timezone.utc).replace(microsecond=0)
    return replace(snapshot, snapshot_id=new_snapshot_id(now)), items
