"""The store's analysis cache: what a saved scan judged, for the next scheduled scan to reuse.

A scan that saves its snapshot names every rule set by its content digest
(``scanner.content_digest``; the store's object names). What the policies find on a rule set
follows from that content alone (``policies.reuse``), so the store keeps, beside its snapshots,
one cache entry: per distinct content the judgements (findings before their exposure verdict)
and per rule set digest which content it has, under the fingerprint of the policies, settings
and cloudwall version and code that judged them (``policies.engine.rule_set_fingerprint``). The next
``scan --save`` with the same fingerprint judges only rule sets whose digest is not in it; the
exposure analysis and every exposure verdict are computed in full (they depend on assets,
subnets and networks, not on one rule set), so the report is the one a full evaluation gives.

The entry is written in the same transaction as the snapshot (``Store.save``'s state), and only
when the scan judged something new: an unchanged estate's scan writes nothing more. It is an
optimisation only: an entry that cannot be read (damaged, another format, another version or
fingerprint, digests that do not fit the rule sets) is ignored with a debug line, and the scan
judges everything.

Format: ``cwac1:<sha256 of the payload>:<base64 of the zlib-compressed JSON payload>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import orjson

from policies.engine import rule_set_fingerprint
from policies.liveness import Judgement
from policies.policy import Policy, PolicySettings
from policies.reuse import RuleSetMemo
from scanner import __version__
from scanner.model import Finding, RuleSet

STATE_KEY = "analysis-cache"
FORMAT = 1
_PREFIX = f"cwac{FORMAT}"
_log = logging.getLogger(__name__)


class _Invalid(ValueError):
    """The entry does not describe judgements this scan can use."""


def load_memo(text: str | None, rule_sets: Sequence[RuleSet], digests: Sequence[bytes],
              policies: Iterable[Policy], settings: PolicySettings) -> RuleSetMemo:
    """A memo primed with the cached judgements of the rule sets whose digest is in the entry
    ``text`` (the store's state under ``STATE_KEY``); an empty memo when there is none or it
    cannot be used. ``digests``: the rule sets' content digests, in their order."""
    # Used for this scan's one evaluation: what the verdicts read is not worth recording.
    memo = RuleSetMemo(keep_inputs=False)
    if text is None:
        return memo
    fingerprint = rule_set_fingerprint(policies, settings)
    try:
        contents, keys = _decode(text, fingerprint, rule_sets, digests)
    except (_Invalid, ValueError, TypeError, KeyError, IndexError, AttributeError,
            zlib.error, binascii.Error, orjson.JSONDecodeError) as exc:
        _log.debug("analysis cache ignored: %s", _reason(exc))
        return memo
    memo.prime(fingerprint, contents, keys)
    return memo


def dump_memo(memo: RuleSetMemo, previous: str | None = None) -> str | None:
    """The entry for the memo's last evaluation, or None when ``previous`` (the entry it was
    primed from) still holds everything it used: nothing was judged anew."""
    if memo.fingerprint is None or (previous is not None and memo.judged == 0):
        return None
    contents: list[dict[str, Any]] = []
    rule_sets: dict[str, int] = {}
    for rule_set, judgements, keys in memo.contents():
        if not all(isinstance(key, bytes) for key in keys):
            return None  # keyed without digests: nothing another process could look up
        rule_sets.update((key.hex(), len(contents)) for key in keys)
        contents.append(_content(rule_set, judgements))
    payload = orjson.dumps({"format": FORMAT, "version": __version__,
                            "fingerprint": memo.fingerprint, "contents": contents,
                            "rule_sets": rule_sets}, option=orjson.OPT_SORT_KEYS)
    return (f"{_PREFIX}:{hashlib.sha256(payload).hexdigest()}:"
            + base64.b64encode(zlib.compress(payload, 1)).decode("ascii"))


def _content(rule_set: RuleSet, judgements: Sequence[Judgement]) -> dict[str, Any]:
    position = {id(rule): i for i, rule in enumerate(rule_set.rules)}
    out = []
    for judgement in judgements:
        finding = judgement.finding
        data = finding.to_dict()
        data["rule"] = None  # the rule is the rule set's own, by position
        out.append([data, None if finding.rule is None else position[id(finding.rule)],
                    judgement.subject,
                    None if judgement.exposure_rules is None
                    else [position[id(r)] for r in judgement.exposure_rules]])
    return {"identity": [rule_set.resource_id, rule_set.account, rule_set.region, rule_set.name],
            "rules": len(rule_set.rules), "judgements": out}


def _decode(text: str, fingerprint: str, rule_sets: Sequence[RuleSet], digests: Sequence[bytes]
            ) -> tuple[list[tuple[RuleSet, list[Judgement]]], dict[bytes, int]]:
    prefix, checksum, body = text.split(":", 2)
    if prefix != _PREFIX:
        raise _Invalid(f"format {prefix!r}")
    payload = zlib.decompress(base64.b64decode(body, validate=True))
    if hashlib.sha256(payload).hexdigest() != checksum:
        raise _Invalid("checksum mismatch")
    data = orjson.loads(payload)
    if data["format"] != FORMAT or data["version"] != __version__:
        raise _Invalid(f"written by cloudwall {data.get('version')!r}")
    if data["fingerprint"] != fingerprint:
        raise _Invalid("other policies or settings")
    if len(digests) != len(rule_sets):
        raise _Invalid("digests do not fit the rule sets")
    cached, stored = data["rule_sets"], data["contents"]
    # content index -> the rule sets (in this snapshot) that have it
    members: dict[int, list[tuple[RuleSet, bytes]]] = {}
    keys: dict[bytes, int] = {}
    for rule_set, digest in zip(rule_sets, digests, strict=True):
        at = cached.get(digest.hex())
        if at is not None:
            members.setdefault(at, []).append((rule_set, digest))
    contents: list[tuple[RuleSet, list[Judgement]]] = []
    for at, mine in members.items():
        entry = stored[at]
        identity = tuple(entry["identity"])
        own = next((rs for rs, _ in mine if (rs.resource_id, rs.account, rs.region, rs.name)
                    == identity), None)
        # The content was judged on a rule set this snapshot may no longer have: its rules are
        # any member's (equal content), its identity its own, so findings bind as before.
        judged_on = own or replace(mine[0][0], resource_id=identity[0], account=identity[1],
                                   region=identity[2], name=identity[3])
        rules = judged_on.rules
        if len(rules) != entry["rules"]:
            raise _Invalid("a content's rules do not fit")
        judgements = []
        for data, rule_index, subject, exposure in entry["judgements"]:
            finding = Finding.from_dict(data)
            if rule_index is not None:
                finding = replace(finding, rule=_at(rules, rule_index))
            judgements.append(Judgement(
                finding, subject if isinstance(subject, str) else _bad("subject"),
                None if exposure is None else tuple(_at(rules, i) for i in exposure)))
        for _, digest in mine:
            keys[digest] = len(contents)
        contents.append((judged_on, judgements))
    return contents, keys


def _at(rules: Sequence[Any], index: object) -> Any:
    if type(index) is not int or not 0 <= index < len(rules):
        raise _Invalid("a rule position is out of range")
    return rules[index]


def _bad(what: str):
    raise _Invalid(f"a malformed {what}")


def _reason(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, _Invalid) else f"unreadable ({type(exc).__name__})"
