"""One rule's change judged against the rest of its rule set, walking the other rules once.

``classify`` compares two whole states: it walks the rule set as it was and as it now is over
the traffic the changed rule's two versions match. When the states differ in one rule (added,
removed, edited, moved, disabled), both walks go through the same other rules, so most of that
work is done twice. Here the other rules are walked once, over less traffic:

- A packet that one of the other rules placed before both versions matches is decided by that
  rule either way: what those rules match is taken away first, in any order.
- Where both versions sit at the same place with the same action, what both match is decided
  by them either way: only what one version matches and the other does not is walked.
- The rest is walked over the other rules after that place, first match wins; each piece a
  rule (or no rule) decides is compared with what either version decides there when it comes
  first.
- A security group admits the union of its allows: a change opens what its new version matches
  and neither its old version nor another allow does, and closes the converse.

The traffic opened and closed is the same set of packets ``classify`` finds (the boxes that
spell it may be cut differently), so the drift items are the same; a randomized test compares
the two on every cloud's semantics.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence

from scanner.drift.classify import (
    _NOTHING,
    SYMBOLIC,
    Classification,
    RuleBoxes,
    Universe,
    _relevant_atoms,
    applies,
    box_slot,
    effect_of,
    machine_classes,
    rule_bounds,
    target_key,
)
from scanner.model import Action, Direction, Rule, RuleSetKind
from scanner.netmath import subtract_intervals
from scanner.reach.fast import RawBox, _and, cooked
from scanner.traffic import evaluation_key

# Where traffic ends, worst to best: a change that moves some up widens.
_RANK = {Action.DENY: 0, Action.GOTO_NEXT: 1, Action.ALLOW: 2}
_HANDED_ON = 1  # what no rule of a first-match set matches: the next level decides
_LAST = 1 << 62  # the place of "no rule": after every rule

# An enabled rule in evaluation order: (order key, index in the set, rule, lowest and highest
# protocol, lowest and highest port). The bounds are a cheap first test against a change; what
# the rule matches (``Universe.boxes``) is worked out only for the rules that pass it.
_Entry = tuple[tuple, int, Rule, int, int, int, int]


class RuleSetSide:
    """One version of a rule set's rules, keyed (``changes.keyed_rules``), in the order the
    cloud evaluates them: what every change judged against this version shares.

    A rule's place among the others is its index in ``entries`` (the enabled rules in order):
    the changed rule's own entry is skipped in the walk, and an index counted with it orders
    the others against a version exactly as one counted without it would (the versions are
    ranked among the same entries, and that entry sits between the others just where its key
    sorts), so nothing is rebuilt per change.
    """

    def __init__(self, kind: RuleSetKind, keyed: Mapping[str, Rule]) -> None:
        self.kind = kind
        self.union = union = kind is RuleSetKind.AWS_SECURITY_GROUP
        self.position = {key: i for i, key in enumerate(keyed)}
        self.order_key = order_key = evaluation_key(kind)
        entries: list[_Entry] = []
        for i, rule in enumerate(keyed.values()):
            # A disabled rule, or one that matches nothing, decides nothing.
            if rule.enabled and (bounds := rule_bounds(rule)) is not None:
                entries.append((order_key(rule), i, rule, *bounds))
        if not union:  # a security group's order does not matter
            entries.sort()  # by order key, then place in the set (unique: rules never compared)
        self.entries = entries
        self._places: list[tuple[tuple, int]] | None = None
        self._lanes: dict[Direction, list[tuple[int, _Entry]]] = {}

    def place_of(self, rule: Rule, place: int) -> int:
        """Where ``rule`` would come among the entries, at ``place`` in the set (first match
        only; a security group's rules have no order)."""
        if self.union:
            return 0
        if self._places is None:
            self._places = [(e[0], e[1]) for e in self.entries]
        return bisect_left(self._places, (self.order_key(rule), place))

    def lane(self, direction: Direction) -> list[tuple[int, _Entry]]:
        """The entries that can decide ``direction``, with their place: built when a change
        first asks (most sets change in one direction only)."""
        lane = self._lanes.get(direction)
        if lane is None:
            union = self.union
            lane = self._lanes[direction] = [
                (t, e) for t, e in enumerate(self.entries) if e[2].direction is direction
                and (not union or e[2].action is Action.ALLOW)]
        return lane


_DIRECTIONS = tuple(Direction)


def judge_change(judgements: Sequence[tuple[RuleSetSide, Sequence[Rule]]], key: str,
                 was: Rule | None, now: Rule | None, universe: Universe) -> Classification:
    """``classify`` of a side with ``was`` at ``key`` against the same side with ``now`` there
    (``None``: no rule there), over the traffic the two versions match, for each (side,
    context) of ``judgements``; several are merged as ``Classification.merge`` merges them.
    ``context`` is every rule of both states (``classify``'s, for the targets that matter)."""
    footprint = [r for r in (was, now) if r is not None]
    opened: dict[tuple[Direction, int], list[RawBox]] = {}
    closed: dict[tuple[Direction, int], list[RawBox]] = {}
    symbols: set[str] = set()
    approximate = False
    families = universe.families()
    for side, context in judgements:
        # Without targets anywhere every machine is alike (``_relevant_atoms`` finds none).
        atoms = _relevant_atoms(context, footprint, universe) if universe.atoms else ()
        machines, sampled = machine_classes(atoms)
        approximate = approximate or sampled
        place = side.position.get(key, len(side.position))  # a rule added goes last
        for direction in _DIRECTIONS:
            # Each version where it would come among the others, if it can decide anything.
            ranked = {}
            for rule in footprint:
                if (rule.direction is not direction or not rule.enabled
                        or (side.union and rule.action is not Action.ALLOW)):
                    continue
                ranked[id(rule)] = side.place_of(rule, place)
            if not ranked:
                continue  # neither version decides anything: the two states are alike
            # The others whose protocols and ports can meet a version's: the same in every
            # family, so tested once here (each family tests its addresses).
            hull = [b for r in footprint if id(r) in ranked and (b := rule_bounds(r))]
            if not hull:
                continue  # the versions match nothing: no family has a box for them
            plo, phi = min(b[0] for b in hull), max(b[1] for b in hull)
            qlo, qhi = min(b[2] for b in hull), max(b[3] for b in hull)
            near = [(t, e, universe.boxes(e[2])) for t, e in side.lane(direction)
                    if e[1] != place and e[3] <= phi and e[4] >= plo and e[5] <= qhi
                    and e[6] >= qlo]
            judged_was = was if was is not None and id(was) in ranked else None
            judged_now = now if now is not None and id(now) in ranked else None
            was_boxes = universe.boxes(judged_was) if judged_was is not None else _NOTHING
            now_boxes = universe.boxes(judged_now) if judged_now is not None else _NOTHING
            for family in families:
                for wide in ((False, True) if family == SYMBOLIC else (False,)):
                    slot = box_slot(family, wide)
                    if was_boxes[slot] is not None or now_boxes[slot] is not None:
                        _judge_probe(side.union, near, direction, family, wide, slot, universe,
                                     machines, judged_was, was_boxes[slot], judged_now,
                                     now_boxes[slot], ranked, opened, closed, symbols)
    return Classification(effect_of(opened, closed, approximate),
                          {k: cooked(k[1], v) for k, v in opened.items()},
                          {k: cooked(k[1], v) for k, v in closed.items()},
                          tuple(sorted(symbols)), approximate)


def _judge_probe(union: bool, others: list[tuple[int, _Entry, RuleBoxes]],
                 direction: Direction, family: int, wide: bool, slot: int, universe: Universe,
                 machines: Sequence[frozenset[str]], was: Rule | None, was_box: RawBox | None,
                 now: Rule | None, now_box: RawBox | None, ranked: Mapping[int, int],
                 opened: dict, closed: dict, symbols: set[str]) -> None:
    """One direction, family and reading of the symbolic family (``slot`` of the rules' boxes),
    on every class of machine. ``was``/``now``: the versions that can decide something (enabled,
    an allow in a group), with their box here (not both None); ``others``: the other entries
    that can decide this direction, in order, with their place and boxes."""
    # The other rules whose box meets the hull of the versions' (exactly, in the walk).
    hull = [b for b in (was_box, now_box) if b is not None]
    plo, phi = min(b[0][0][0] for b in hull), max(b[0][-1][1] for b in hull)
    qlo, qhi = min(b[1][0][0] for b in hull), max(b[1][-1][1] for b in hull)
    alo, ahi = min(b[2][0][0] for b in hull), max(b[2][-1][1] for b in hull)
    candidates: list[tuple[int, Rule, RawBox]] = []
    for t, entry, boxes in others:
        box = boxes[slot]
        if (box is None or entry[3] > phi or entry[4] < plo or entry[5] > qhi
                or entry[6] < qlo or box[2][0][0] > ahi or box[2][-1][1] < alo):
            continue
        candidates.append((t, entry[2], box))
    # What tells machines apart here is which of these rules' targets they match: one machine
    # of each kind that makes a difference is walked (in the order ``machines`` gives them).
    # Each candidate with the targets it applies to (None: every machine), so that ``applies``
    # is a set test per class of machine.
    aimed = [(c, frozenset(map(target_key, c[1].targets)) if c[1].targets else None)
             for c in candidates]
    relevant = {target_key(t) for r in (was, now) if r is not None for t in r.targets}
    relevant.update(*(aim for _, aim in aimed if aim is not None))
    targeted = bool(relevant)
    if targeted:
        views: dict[frozenset[str], frozenset[str]] = {}
        for machine in machines:
            views.setdefault(machine & relevant, machine)
        distinct: Sequence[frozenset[str]] = list(views.values())
    else:
        distinct = machines[:1]  # no rule here has targets: every machine is alike
    seen: set[tuple] = set()
    key = (direction, family)
    for machine in distinct:
        was_here = was_box if was is not None and applies(was, machine) else None
        now_here = now_box if now is not None and applies(now, machine) else None
        if was_here is None and now_here is None:
            continue
        here = [c for c, aim in aimed if aim is None or not aim.isdisjoint(machine)] \
            if targeted else candidates
        signature = (was_here is not None, now_here is not None, tuple(c[0] for c in here))
        if signature in seen:
            continue  # machines the same rules apply to are decided alike
        seen.add(signature)
        if union:
            up, down = _union_delta(here, was_here, now_here)
        else:
            up, down = _first_match_delta(
                here, was_here, ranked[id(was)] if was_here else 0,
                _RANK[was.action] if was_here else 0,  # type: ignore[union-attr]
                now_here, ranked[id(now)] if now_here else 0,
                _RANK[now.action] if now_here else 0)  # type: ignore[union-attr]
        if up:
            _add(opened, key, up)
            if family == SYMBOLIC and not wide:
                symbols.update(universe.symbol_names(cooked(family, up)))
        if down:
            _add(closed, key, down)


def _add(acc: dict, key: tuple, boxes: list[RawBox]) -> None:
    """Union, keeping the boxes disjoint (what is there already is not added twice). Classes
    of machines and the two readings of the symbolic family often find the very same boxes."""
    there = acc.get(key)
    if there is None:
        acc[key] = boxes
        return
    known = set(there)
    fresh = [b for b in boxes if b not in known]
    for box in there:
        if not fresh:
            return
        fresh = _cut(fresh, box)[1]
    there.extend(fresh)


def _sub(a: tuple, b: tuple) -> tuple:
    """``subtract_intervals``, without its general loop when ``b`` is one span."""
    if len(b) != 1:
        return subtract_intervals(a, b)
    lo, hi = b[0]
    out = []
    for x, y in a:
        if y < lo or x > hi:
            out.append((x, y))
            continue
        if x < lo:
            out.append((x, lo - 1))
        if hi < y:
            out.append((hi + 1, y))
    return tuple(out)


def _cut(boxes: list[RawBox], cut: RawBox) -> tuple[list[RawBox], list[RawBox]]:
    """(what of ``boxes`` is inside ``cut``, what is outside), each as disjoint boxes: a box
    the cut meets leaves its other protocols, then its other ports, then its other addresses
    (as ``Box.difference`` cuts). Every box here has no empty side."""
    cp, cq, ca = cut
    plo, phi, qlo, qhi, alo, ahi = cp[0][0], cp[-1][1], cq[0][0], cq[-1][1], ca[0][0], ca[-1][1]
    # A side of the cut that is one span holds a side of a box within its ends whole: the
    # commonest case (a rule open on every protocol, port or address of the piece) needs no
    # interval arithmetic.
    p_span, q_span, a_span = len(cp) == 1, len(cq) == 1, len(ca) == 1
    inside: list[RawBox] = []
    outside: list[RawBox] = []
    for box in boxes:
        p, q, a = box
        low, high = p[0][0], p[-1][1]
        if high < plo or phi < low:
            outside.append(box)
            continue
        p_whole = p_span and plo <= low and high <= phi
        low, high = q[0][0], q[-1][1]
        if high < qlo or qhi < low:
            outside.append(box)
            continue
        q_whole = q_span and qlo <= low and high <= qhi
        low, high = a[0][0], a[-1][1]
        if high < alo or ahi < low:
            outside.append(box)
            continue
        a_whole = a_span and alo <= low and high <= ahi
        common_p = p if p_whole else _and(p, cp)
        if not common_p:
            outside.append(box)
            continue
        common_q = q if q_whole else _and(q, cq)
        if not common_q:
            outside.append(box)
            continue
        common_a = a if a_whole else _and(a, ca)
        if not common_a:
            outside.append(box)
            continue
        inside.append((common_p, common_q, common_a))
        if not p_whole and common_p != p:
            outside.append((_sub(p, cp), q, a))
        if not q_whole and common_q != q:
            outside.append((common_p, _sub(q, cq), a))
        if not a_whole and common_a != a:
            outside.append((common_p, common_q, _sub(a, ca)))
    return inside, outside


def _union_delta(others: Sequence[tuple[int, Rule, RawBox]], was: RawBox | None,
                 now: RawBox | None) -> tuple[list[RawBox], list[RawBox]]:
    """A security group: the union of its allows, so a change opens what its new version
    matches that neither its old one nor another allow does (and closes the converse)."""
    up = ([now] if was is None else _cut([now], was)[1]) if now is not None else []
    down = ([was] if now is None else _cut([was], now)[1]) if was is not None else []
    for _, _, box in others:
        if not up and not down:
            break
        if up:
            up = _cut(up, box)[1]
        if down:
            down = _cut(down, box)[1]
    return up, down


def _first_match_delta(others: Sequence[tuple[int, Rule, RawBox]], was: RawBox | None,
                       was_at: int, was_rank: int, now: RawBox | None, now_at: int,
                       now_rank: int) -> tuple[list[RawBox], list[RawBox]]:
    """A first-match set: ``others`` in order (``t``: place among them), the versions with the
    place they would take among them (before ``others[at]``) and the rank of their action."""
    up: list[RawBox] = []
    down: list[RawBox] = []
    if was is not None and now is not None:
        if was_at == now_at and was_rank == now_rank:
            # What both match is decided by them, the same way: only the rest can move.
            walked = _cut([was], now)[1] + _cut([now], was)[1]
        else:
            walked = [was, *_cut([now], was)[1]]
        first = min(was_at, now_at)
    elif was is not None:
        walked, first = [was], was_at
    else:
        assert now is not None
        walked, first = [now], now_at

    def settle(piece: list[RawBox], at: int, rank: int) -> None:
        """``piece`` is decided with ``rank`` by the rule at ``at`` when neither version comes
        before it; a version that does decides what it matches of the piece."""
        was_first = was is not None and at >= was_at
        now_first = now is not None and at >= now_at
        if was_first and now_first:
            in_was, out_was = _cut(piece, was)  # type: ignore[arg-type]
            both, was_only = _cut(in_was, now) if in_was else ([], [])  # type: ignore[arg-type]
            credit(both, was_rank, now_rank)
            credit(was_only, was_rank, rank)
            if out_was and rank != now_rank:
                credit(_cut(out_was, now)[0], rank, now_rank)  # type: ignore[arg-type]
        elif was_first:
            if was_rank != rank:
                credit(_cut(piece, was)[0], was_rank, rank)  # type: ignore[arg-type]
        elif now_first and rank != now_rank:
            credit(_cut(piece, now)[0], rank, now_rank)  # type: ignore[arg-type]

    def credit(part: list[RawBox], before: int, after: int) -> None:
        """``part`` went from ``before`` to ``after``."""
        if part and before != after:
            (up if after > before else down).extend(part)

    for t, rule, box in others:
        if not walked:
            break
        hit, rest = _cut(walked, box)
        if not hit:
            continue
        if t >= first:
            settle(hit, t, _RANK[rule.action])
        # else: decided by this rule either way
        walked = rest
    if walked:
        settle(walked, _LAST, _HANDED_ON)
    return up, down
