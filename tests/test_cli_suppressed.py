"""Suppressed findings in every format: always counted, listed only with --include-suppressed,
never silently dropped."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from scanner.cli import main

SUPPRESSIONS = ("suppressions:\n  - {policy: CW-NET-006, resource: \"*\", reason: egress via "
                "proxy, owner: netops@example.com, expires: 2099-01-01}\n")


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    root = tmp_path_factory.mktemp("suppressed")
    store = str(root / "store.db")
    done = CliRunner().invoke(main, ["--store", store, "scan", "--provider", "demo", "--save",
                                     "--format", "json"])
    assert done.exit_code == 0, done.output
    path = root / "suppressions.yaml"
    path.write_text(SUPPRESSIONS)
    return store, str(path)


def _show(stored, fmt, *extra):
    store, suppressions = stored
    result = CliRunner().invoke(main, ["--store", store, "snapshots", "show", "latest",
                                       "--suppressions", suppressions, "--format", fmt, *extra])
    assert result.exit_code == 0, result.output
    return result.stdout


def _count(stored) -> int:
    document = json.loads(_show(stored, "json"))
    assert document["summary"]["suppressed"] > 0
    return document["summary"]["suppressed"]


def test_table_counts_them_and_lists_them_on_request(stored):
    count = _count(stored)
    table = _show(stored, "table")
    assert f"{count} suppressed findings are not listed" in table
    assert f"; {count} suppressed; " in table.splitlines()[-1]
    listed = _show(stored, "table", "--include-suppressed")
    assert f"Suppressed ({count}; accepted exceptions, not counted)" in listed
    assert listed.count("egress via proxy") == count


def test_markdown_counts_them_and_lists_them_on_request(stored):
    count = _count(stored)
    text = _show(stored, "markdown")
    assert f"; {count} suppressed (accepted exceptions, not counted)" in text
    assert f"## Suppressed findings ({count})" in text and "`egress via proxy`" not in text
    listed = _show(stored, "markdown", "--include-suppressed")
    assert listed.count("`egress via proxy`") == count


def test_csv_counts_them_and_lists_them_on_request(stored):
    count = _count(stored)
    rows = list(csv.DictReader(io.StringIO(_show(stored, "csv"))))
    assert rows[-1]["kind"] == "summary" and rows[-1]["suppressed"] == str(count)
    assert not [r for r in rows if r["suppressed"] == "true"]
    listed = list(csv.DictReader(io.StringIO(_show(stored, "csv", "--include-suppressed"))))
    quiet = [r for r in listed if r["kind"] == "finding" and r["suppressed"] == "true"]
    assert len(quiet) == count and all("egress via proxy" in r["suppression"] for r in quiet)
