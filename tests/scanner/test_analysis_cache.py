"""The store's analysis cache: a saved scan's report equals a full analysis whatever changed,
unchanged rule sets are not judged again, other policies or settings never use it, and a damaged
or foreign cache is ignored; on SQLite and PostgreSQL (``store_target``)."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import logging
import random
import zlib

import orjson
import pytest

from policies import PolicySettings, evaluate, select_policies
from policies import engine as policies_engine
from policies.engine import code_digest, sources_digest
from scanner.analysis_cache import STATE_KEY, dump_memo, load_memo
from scanner.content_digest import SnapshotDigests
from scanner.engine import analyze, analyze_and_save
from scanner.store import Store
from tests.policies.test_reuse import _change, _snapshot, _templated

PACK = """
pack: team
policies:
  - id: TEAM-001
    title: Database port open to the internet
    severity: {severity}
    match: {{direction: ingress, action: allow, source: internet, services: [ssh]}}
"""


def _rebuilt(snapshot):
    """The same estate as a new collection gives it: new objects, equal content."""
    return dataclasses.replace(snapshot, rule_sets=tuple(dataclasses.replace(rs)
                                                         for rs in snapshot.rule_sets))


def _report(report) -> tuple:
    return ([f.to_dict() for f in report.findings], [e.to_dict() for e in report.exposures],
            report.exposure_unknown)


def _primed(store: Store, snapshot, settings: PolicySettings | None = None):
    """The memo the next saved scan of ``snapshot`` starts from, and it after evaluating."""
    settings = settings or PolicySettings()
    memo = load_memo(store.state(STATE_KEY), snapshot.rule_sets,
                     SnapshotDigests.of(snapshot).rule_sets, select_policies(settings), settings)
    primed = memo.fingerprint is not None
    evaluate(snapshot, select_policies(settings), settings, memo=memo,
             digests=SnapshotDigests.of(snapshot).rule_sets)
    return primed, memo


@pytest.mark.parametrize("seed", range(3))
def test_saved_scans_over_random_changes_report_what_a_full_analysis_does(store_target, seed):
    rng = random.Random(7000 + seed)
    rule_sets = _templated(rng, 30)
    serial = [len(rule_sets)]
    previous: set[bytes] = set()
    with Store(store_target) as store:
        for step in range(5):
            if step:
                rule_sets = _change(rng, rule_sets, serial)
            snapshot = _rebuilt(_snapshot(rule_sets, f"s{step}"))
            digests = SnapshotDigests.of(snapshot).rule_sets
            primed, memo = _primed(store, snapshot)
            assert primed == (step > 0)
            # Every rule set whose digest the last saved scan had is taken from the cache.
            assert memo.bound >= sum(d in previous for d in digests)
            assert memo.rule_sets == len(snapshot.rule_sets)
            saved = analyze_and_save(snapshot, store)
            assert _report(saved) == _report(analyze(snapshot))
            assert store.load(f"s{step}") == snapshot
            previous = set(digests)
        # An unchanged estate, collected again: nothing is judged, no new cache is written.
        written = store.state(STATE_KEY)
        again = _rebuilt(dataclasses.replace(snapshot, snapshot_id="again"))
        _, memo = _primed(store, again)
        assert (memo.judged, memo.bound) == (0, len(again.rule_sets))
        assert _report(analyze_and_save(again, store)) == _report(analyze(again))
        assert store.state(STATE_KEY) == written


def test_other_settings_or_an_edited_pack_judge_everything_again(store_target, tmp_path):
    rng = random.Random(11)
    snapshot = _snapshot(_templated(rng, 20))
    pack = tmp_path / "team.yaml"
    pack.write_text(PACK.format(severity="high"))
    settings = PolicySettings(extra_packs=(str(pack),))
    with Store(store_target) as store:
        analyze_and_save(snapshot, store, policies=settings)
        primed, memo = _primed(store, _rebuilt(snapshot), settings)
        assert primed and memo.judged == 0
        # The pack's policy now says another severity: the cache is not for these policies.
        pack.write_text(PACK.format(severity="low"))
        primed, memo = _primed(store, _rebuilt(snapshot), settings)
        assert not primed and memo.judged > 0
        saved = analyze_and_save(_rebuilt(dataclasses.replace(snapshot, snapshot_id="s2")),
                                 store, policies=settings)
        assert _report(saved) == _report(analyze(snapshot, policies=settings))
        assert {f.severity.value for f in saved.findings if f.policy_id == "TEAM-001"} == {"low"}
        # Other settings (trusted ranges): not primed either, and the report is a full one.
        trusting = PolicySettings(extra_packs=(str(pack),), trusted_cidrs=("0.0.0.0/1",))
        primed, memo = _primed(store, snapshot, trusting)
        assert not primed and memo.judged > 0
        saved = analyze_and_save(dataclasses.replace(snapshot, snapshot_id="s3"), store,
                                 policies=trusting)
        assert _report(saved) == _report(analyze(snapshot, policies=trusting))


def _envelope(payload: bytes) -> str:
    return (f"cwac1:{hashlib.sha256(payload).hexdigest()}:"
            + base64.b64encode(zlib.compress(payload)).decode())


def _payload(text: str) -> dict:
    return orjson.loads(zlib.decompress(base64.b64decode(text.split(":", 2)[2])))


def _damaged(good: str) -> dict[str, str]:
    data = _payload(good)
    body = good.split(":", 2)[2]
    moved = dict(data, contents=[dict(c, judgements=[[j[0], 999, j[2], j[3]]
                                                      for j in c["judgements"]])
                                 for c in data["contents"]])
    return {
        "not a cache": "hello",
        "truncated": good[: len(good) // 2],
        "checksum": "cwac1:" + "0" * 64 + ":" + body,
        "other format": good.replace("cwac1:", "cwac9:", 1),
        "other version": _envelope(orjson.dumps(dict(data, version="0.0.1"))),
        "rule positions out of range": _envelope(orjson.dumps(moved)),
        "missing fields": _envelope(orjson.dumps({"format": 1})),
        "not json": _envelope(b"\xff{"),
    }


@pytest.mark.parametrize("damage", ["not a cache", "truncated", "checksum", "other format",
                                    "other version", "rule positions out of range",
                                    "missing fields", "not json"])
def test_a_damaged_or_foreign_cache_is_ignored_and_the_scan_judges_everything(
        store_target, damage, caplog):
    rng = random.Random(3)
    snapshot = _snapshot(_templated(rng, 20))
    with Store(store_target) as store:
        analyze_and_save(snapshot, store)
        good = store.state(STATE_KEY)
        assert good is not None
        store.put_state(STATE_KEY, _damaged(good)[damage])
        with caplog.at_level(logging.DEBUG, logger="scanner.analysis_cache"):
            primed, memo = _primed(store, _rebuilt(snapshot))
        assert not primed and memo.judged > 0
        assert "analysis cache ignored" in caplog.text
        saved = analyze_and_save(_rebuilt(dataclasses.replace(snapshot, snapshot_id="s2")),
                                 store)
        assert _report(saved) == _report(analyze(snapshot))
        # The scan wrote a good cache again.
        primed, memo = _primed(store, _rebuilt(snapshot))
        assert primed and memo.judged == 0


def test_a_memo_without_digests_writes_no_cache():
    rng = random.Random(4)
    snapshot = _snapshot(_templated(rng, 10))
    memo = load_memo(None, snapshot.rule_sets, (), select_policies(PolicySettings()),
                     PolicySettings())
    evaluate(snapshot, select_policies(PolicySettings()), PolicySettings(), memo=memo)
    assert dump_memo(memo) is None


def test_judgements_of_other_code_are_not_reused(store_target, monkeypatch):
    # The version string stays the same in an editable install while the code changes: the
    # fingerprint carries a digest of the installed sources, so the cache is not for this code.
    snapshot = _snapshot(_templated(random.Random(5), 12))
    settings = PolicySettings()
    with Store(store_target) as store:
        analyze_and_save(snapshot, store, policies=settings)
        assert _primed(store, _rebuilt(snapshot), settings)[0]
        monkeypatch.setattr(policies_engine, "code_digest", lambda: "0" * 64)
        primed, memo = _primed(store, _rebuilt(snapshot), settings)
        assert not primed and memo.judged > 0


def test_the_sources_digest_follows_every_file_name_and_byte(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "a.py").write_text("A = 1\n")
    (package / "sub" / "b.py").write_text("B = 2\n")
    (package / "notes.txt").write_text("not code")
    first = sources_digest(package)
    assert first == sources_digest(package)
    (package / "notes.txt").write_text("still not code")
    assert sources_digest(package) == first
    (package / "sub" / "b.py").write_text("B = 3\n")
    changed = sources_digest(package)
    assert changed != first
    (package / "sub" / "b.py").rename(package / "sub" / "c.py")
    assert sources_digest(package) not in (first, changed)
    assert code_digest() == code_digest() and len(code_digest()) == 64
