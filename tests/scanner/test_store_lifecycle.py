"""Which snapshots a prune removes: the rules alone, without a store."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from scanner.errors import ConfigError
from scanner.store.lifecycle import parse_age, plan_prune

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)
# Hourly snapshots, oldest first: h-9 was taken 9 hours ago.
HOURLY = [(f"h-{n}", (NOW - timedelta(hours=n)).strftime("%Y-%m-%dT%H:%M:%SZ"))
          for n in range(9, -1, -1)]


@pytest.mark.parametrize(("text", "expected"), [
    ("90m", timedelta(minutes=90)), ("12h", timedelta(hours=12)), ("30d", timedelta(days=30)),
    ("2w", timedelta(weeks=2)), (" 7D ", timedelta(days=7)),
])
def test_ages(text, expected):
    assert parse_age(text) == expected


@pytest.mark.parametrize("text", ["", "30", "d", "0d", "-1d", "1.5d", "3y", "30 d", "9999999d"])
def test_bad_ages(text):
    with pytest.raises(ConfigError) as caught:
        parse_age(text)
    assert "90m, 12h, 30d or 2w" in caught.value.hint


def test_keep_the_newest():
    plan = plan_prune(HOURLY, {}, keep=3, older_than=None, now=NOW)
    assert plan.remove == tuple(f"h-{n}" for n in range(9, 2, -1))
    assert plan.kept == 3


@pytest.mark.parametrize("keep", [10, 11, 1000])
def test_keeping_more_than_there_are_removes_nothing(keep):
    assert plan_prune(HOURLY, {}, keep=keep, older_than=None, now=NOW).remove == ()


def test_keep_zero_removes_all_but_baselines():
    plan = plan_prune(HOURLY, {"prod": "h-5", "qa": "h-5", "dev": "h-0"}, keep=0,
                      older_than=None, now=NOW)
    assert "h-5" not in plan.remove and "h-0" not in plan.remove
    assert len(plan.remove) == 8
    assert dict(plan.protected) == {"h-5": ("prod", "qa"), "h-0": ("dev",)}


def test_age_alone_and_both_together():
    assert plan_prune(HOURLY, {}, None, timedelta(hours=6), NOW).remove == (
        "h-9", "h-8", "h-7")  # h-6 is exactly 6 hours old: not older
    # Both: only what is beyond the 8 newest and older than 6 hours.
    assert plan_prune(HOURLY, {}, 8, timedelta(hours=6), NOW).remove == ("h-9", "h-8")
    assert plan_prune(HOURLY, {}, 2, timedelta(hours=6), NOW).remove == ("h-9", "h-8", "h-7")


def test_a_baseline_is_never_pruned_even_when_old():
    plan = plan_prune(HOURLY, {"prod": "h-9"}, None, timedelta(hours=1), NOW)
    assert "h-9" not in plan.remove and plan.protected == {"h-9": ("prod",)}


def test_a_condition_is_required():
    with pytest.raises(ConfigError, match="needs --keep"):
        plan_prune(HOURLY, {}, None, None, NOW)


def test_an_age_beyond_the_calendar_removes_nothing():
    assert plan_prune(HOURLY, {}, None, parse_age("999999w"), NOW).remove == ()
