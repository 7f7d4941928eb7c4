"""Judging each distinct rule set once, and keeping what did not change from one scan to the next.

Estates are templated: the same security group, NSG or firewall layout repeats across accounts,
regions and networks. Whatever the pack policies and the rule set checks
(``registry.rule_set_check``) find on a rule set follows from its content alone: its provider,
kind, default flag, attachment count, rules (in order, with their ids) and, only when a selected
policy looks at names, its name. So a rule set is judged once per distinct content and the
findings are bound to every other rule set with that content: the resource fields and finding
ids are theirs, the rules are theirs (equal, with the same ids), and the rule set ids named in
the evidence are theirs. The exposure verdict depends on the assets, not on the rules: it is
added to each bound finding afterwards (``liveness.with_exposure``).

A ``RuleSetMemo`` kept from one evaluation to the next (same policies and settings) does the same
across scans: a rule set whose content did not change keeps its findings; only new or changed
content is judged. Given the rule sets' content digests (``scanner.content_digest``, which a
scan saving its snapshot has computed already), telling an unchanged rule set costs one lookup,
not a pass over its rules. When the exposure analysis is the same as the previous one too (the
caller says so with the same ``exposure_key``), a rule set that did not change keeps its
findings with their exposure verdicts, and nothing at all is recomputed for it. Content that is
no longer in the snapshot is forgotten after each evaluation, so the memo holds one snapshot's
worth.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

from policies.liveness import Judgement
from scanner.model import Finding, Rule, RuleSet, finding_id_part, finding_id_parts, finding_id_with


def content_key(rule_set: RuleSet, with_name: bool) -> Hashable:
    """Everything of a rule set that policies judging its content can see; not its identity
    (resource id, account, region; the name only when ``with_name``)."""
    return _HashedKey((rule_set.provider, rule_set.kind, rule_set.is_default,
                       len(rule_set.attachments), rule_set.name if with_name else None,
                       rule_set.rules))


class _HashedKey:
    """A key whose hash is worked out once, when first asked for: the memo looks a rule set up
    under it (alone and with the rule set's identity) several times, and each hash of a tuple
    hashes every rule again (a second at 1M rules); a rule set found by its content digest
    never needs it."""

    __slots__ = ("parts", "_hash")

    def __init__(self, parts: tuple) -> None:
        self.parts = parts
        self._hash: int | None = None

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(self.parts)
        return self._hash

    def __eq__(self, other: object) -> bool:
        return self is other or (isinstance(other, _HashedKey) and hash(self) == hash(other)
                                 and self.parts == other.parts)


def _identity(rule_set: RuleSet) -> tuple[str, str, str, str]:
    return (rule_set.resource_id, rule_set.account, rule_set.region, rule_set.name)


@dataclasses.dataclass(slots=True)
class _Judged:
    """One distinct content, judged on ``rule_set``."""

    rule_set: RuleSet
    judgements: tuple[Judgement, ...]
    # Per judgement: the index of its finding's rule in ``rule_set.rules`` (None: no rule), and
    # of each rule that decides its exposure (None: no verdict).
    rule_index: tuple[int | None, ...]
    exposure_index: tuple[tuple[int, ...] | None, ...]
    # Per judgement: its finding id's hashed text around the resource id
    # (``model.finding_id_parts``), and whether its evidence names rules of the rule set.
    id_parts: tuple[tuple[bytes, bytes], ...]
    names_rules: tuple[bool, ...]
    # The serial of the last evaluation that had this content (older ones are forgotten).
    seen: int = 0


_Entry = tuple[_Judged, "tuple[Finding, ...] | None", "Hashable | None"]


class RuleSetMemo:
    """The findings of each distinct rule set content, for one set of policies and settings.

    Each rule set of an evaluation is looked up by its *memo key*: its content digest when the
    caller gives one (``scanner.content_digest``: the store's name for it, which covers its
    identity too), else its identity and content key, which costs hashing every rule. A rule
    set whose memo key was in the previous evaluation takes that content's findings without
    looking at its rules; only the others are looked up by content (bound or judged).

    Counters of the last evaluation: ``judged`` (distinct contents judged), ``bound`` (rule sets
    that took the findings of an equal content judged before, in this snapshot or the
    previous one), ``kept`` (of those, rule sets that kept their findings with their exposure
    verdicts as they were)."""

    def __init__(self, keep_inputs: bool = True) -> None:
        """``keep_inputs``: record what each rule set's exposure verdicts read, for a later
        evaluation with this memo to keep them; False for a memo used for one evaluation (a
        saved scan's, whose cache entry keeps judgements only)."""
        self._keep_inputs = keep_inputs
        self.fingerprint: str | None = None
        self.exposure_key: str | None = None
        self._contents: dict[Hashable, _Judged] = {}
        # memo key -> (its content, its findings with exposure verdicts), this evaluation's and
        # the previous one's
        # (None: not known, as for judgements read from a cache) and the exposure inputs they
        # were given their verdicts from (None: not known)
        self._rule_sets: dict[Hashable, _Entry] = {}
        self._previous: dict[Hashable, _Entry] = {}
        self._serial = 0
        self._keep_final = False
        # (rule set findings in snapshot order, the other checks' findings, all sorted)
        self._last: tuple[list[Finding], list[Finding], list[Finding]] | None = None
        self.judged = self.bound = self.kept = 0

    @property
    def rule_sets(self) -> int:
        return self.judged + self.bound

    @property
    def reuse_rate(self) -> float:
        """Share of the rule sets of the last evaluation that were not judged again."""
        return self.bound / self.rule_sets if self.rule_sets else 0.0

    def start(self, fingerprint: str, exposure_key: str | None) -> None:
        """Begin an evaluation: what was judged under another fingerprint is dropped; the
        previous findings with exposure are kept only for the same, known exposure."""
        if fingerprint != self.fingerprint:
            self._contents, self._rule_sets, self._last = {}, {}, None
        self._keep_final = exposure_key is not None and exposure_key == self.exposure_key
        self._previous, self._rule_sets = self._rule_sets, {}
        self._serial += 1
        self.fingerprint, self.exposure_key = fingerprint, exposure_key
        self.judged = self.bound = self.kept = 0

    def prime(self, fingerprint: str, contents: Sequence[tuple[RuleSet, Sequence[Judgement]]],
              keys: Mapping[Hashable, int]) -> None:
        """Start from judgements kept outside the process (``scanner.analysis_cache``), as if
        an evaluation under ``fingerprint`` had just judged them: ``contents`` holds each
        distinct content's rule set and its judgements (whose rules are that rule set's
        objects), ``keys`` the memo key (content digest) of each rule set that had it. Used
        only by an evaluation under the same fingerprint; their exposure verdicts are always
        computed again."""
        judged = [_judged(rule_set, tuple(judgements)) for rule_set, judgements in contents]
        self.fingerprint, self.exposure_key = fingerprint, None
        self._contents, self._last = {}, None
        self._rule_sets = {key: (judged[index], None, None) for key, index in keys.items()}

    def contents(self) -> list[tuple[RuleSet, tuple[Judgement, ...], list[Hashable]]]:
        """The last evaluation's distinct contents: the rule set each was judged on, its
        judgements, and the memo keys of the rule sets that had it."""
        grouped: dict[int, tuple[RuleSet, tuple[Judgement, ...], list[Hashable]]] = {}
        for key, (found, _, _) in self._rule_sets.items():
            entry = grouped.get(id(found))
            if entry is None:
                entry = grouped[id(found)] = (found.rule_set, found.judgements, [])
            entry[2].append(key)
        return list(grouped.values())

    def findings(self, rule_set: RuleSet, key: Hashable,
                 judge: Callable[[RuleSet], Sequence[Judgement]],
                 finish: Callable[[RuleSet, Judgement], Finding] | None,
                 digest: Hashable | None = None,
                 exposure_inputs: Callable[[], Hashable | None] | None = None
                 ) -> tuple[Finding, ...]:
        """The findings of ``rule_set`` (content key ``key``, content digest ``digest`` when
        known): judged (``judge``) if its content is new, else bound from an equal content;
        ``finish`` adds the exposure verdict (None: there is none to add, the findings are as
        judged). ``exposure_inputs``: everything the exposure verdicts of this rule set's
        findings read (``liveness.exposure_inputs``; None: unknown). A rule set whose digest and
        inputs are both as in the previous evaluation keeps its findings, even under a new
        exposure analysis."""
        memo_key = digest if digest is not None else (_identity(rule_set), key)
        hit = self._previous.get(memo_key)
        mine: tuple[Judgement, ...] | None = None  # judged now (None: bound)
        inputs: Hashable | None = None
        wants_inputs = self._keep_inputs and exposure_inputs is not None and finish is not None
        if hit is not None:
            found = hit[0]
            self.bound += 1
            if hit[1] is not None:
                if self._keep_final:
                    found.seen = self._serial
                    self.kept += 1
                    self._rule_sets[memo_key] = hit
                    return hit[1]
                if wants_inputs:
                    inputs = exposure_inputs()
                    wants_inputs = False
                    if inputs is not None and inputs == hit[2]:
                        found.seen = self._serial
                        self.kept += 1
                        self._rule_sets[memo_key] = (found, hit[1], inputs)
                        return hit[1]
        else:
            found = self._contents.get(key)
            if found is None:
                mine = tuple(judge(rule_set))
                found = self._contents[key] = _judged(rule_set, mine)
                self.judged += 1
            else:
                self.bound += 1
        found.seen = self._serial
        if mine is None:
            if finish is None:
                out = _bind_findings(found, rule_set)
            else:
                out = tuple(finish(rule_set, j) for j in _bind(found, rule_set))
        elif finish is None:
            out = tuple(j.finding for j in mine)
        else:
            out = tuple(finish(rule_set, j) for j in mine)
        if wants_inputs:
            inputs = exposure_inputs()
        self._rule_sets[memo_key] = (found, out, inputs)
        return out

    def finish(self, found: list[Finding], others: list[Finding],
               order: Callable[[Finding], Any]) -> list[Finding]:
        """End an evaluation: content not seen in it is forgotten. Returns every finding
        sorted by ``order``: when every rule set kept its findings as they were, in the same
        order, and the other checks found the same, that is the previous evaluation's list
        (sorting several hundred thousand findings again would take a second)."""
        self._previous = {}
        # Only what left the estate is hashed again to be removed.
        for stale in [k for k, judged in self._contents.items() if judged.seen != self._serial]:
            del self._contents[stale]
        last = self._last
        if (last is not None and self.judged == 0 and self.kept == self.bound
                and len(found) == len(last[0])
                and all(a is b for a, b in zip(found, last[0], strict=True))
                and others == last[1]):
            ordered = last[2]
        else:
            ordered = sorted(found + others, key=order)
        self._last = (found, others, ordered)
        return list(ordered)


def _judged(rule_set: RuleSet, judgements: tuple[Judgement, ...]) -> _Judged:
    position = {id(rule): i for i, rule in enumerate(rule_set.rules)}

    def index(rule: Rule | None) -> int | None:
        return None if rule is None else position[id(rule)]

    return _Judged(
        rule_set, judgements,
        tuple(index(j.finding.rule) for j in judgements),
        tuple(None if j.exposure_rules is None else tuple(position[id(r)]
                                                          for r in j.exposure_rules)
              for j in judgements),
        tuple(finding_id_parts(j.finding.policy_id, j.subject) for j in judgements),
        tuple(bool(j.finding.evidence.get("contributing_rules")) for j in judgements))


def _bind_findings(judged: _Judged, rule_set: RuleSet) -> tuple[Finding, ...]:
    """The findings of an equal content, as they are for ``rule_set`` (this runs once per
    finding of every repeated rule set: the id's fixed parts are hashed as they were spelt
    when the content was judged, and the finding is built by ``Finding.rebound``)."""
    if _identity(judged.rule_set) == _identity(rule_set):
        return tuple(j.finding for j in judged.judgements)
    rules = rule_set.rules
    resource_id, account, region, name = (rule_set.resource_id, rule_set.account,
                                          rule_set.region, rule_set.name)
    resource = finding_id_part(resource_id)
    return tuple(
        j.finding.rebound(finding_id_with(parts, resource), account, region, resource_id, name,
                          None if index is None else rules[index],
                          _rebound_evidence(j.finding.evidence, resource_id) if refs
                          else j.finding.evidence)
        for j, index, parts, refs in zip(judged.judgements, judged.rule_index, judged.id_parts,
                                         judged.names_rules, strict=True))


def _bind(judged: _Judged, rule_set: RuleSet) -> tuple[Judgement, ...]:
    """The judgements of an equal content, as they are for ``rule_set``."""
    if _identity(judged.rule_set) == _identity(rule_set):
        return judged.judgements
    rules = rule_set.rules
    return tuple(
        Judgement(finding, judgement.subject,
                  None if exposure is None else tuple(rules[i] for i in exposure))
        for finding, judgement, exposure in zip(_bind_findings(judged, rule_set),
                                                judged.judgements, judged.exposure_index,
                                                strict=True))


def _rebound_evidence(evidence: Any, resource_id: str) -> dict[str, Any]:
    """Evidence naming contributing rules (``policies.combined``) names them in their own rule
    set; everything else in it is about the content (findings are frozen: content-only
    evidence is shared, not copied)."""
    return {**evidence, "contributing_rules": [{**ref, "rule_set_id": resource_id}
                                               for ref in evidence["contributing_rules"]]}
