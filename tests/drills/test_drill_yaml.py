"""Hostile YAML: policy packs and suppression files with alias bombs, recursive aliases, deep
nesting and sheer size are refused with exit 2 and ``file:line``, quickly, in bounded memory."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import tracemalloc

import pytest

from policies import yamlsource
from scanner.errors import PolicyError


def billion_laughs(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for n in range(1, levels + 1):
        refs = ",".join([f"*a{n - 1}"] * 10)
        lines.append(f"a{n}: &a{n} [{refs}]")
    return "\n".join(lines) + "\n"


HOSTILE = {
    # ~1 KB that would expand to 10^9 strings
    "laughs": (billion_laughs(), "aliases count each time"),
    # a value that contains an alias to itself
    "recursive": ("pack: x\npolicies: &p\n  - *p\n", "recursive alias"),
    # a mapping whose value is the mapping itself
    "recursive-map": ("pack: x\nloop: &m {self: *m}\n", "recursive alias"),
    "deep": ("pack: x\npolicies: " + "[" * 3000 + "]" * 3000 + "\n", "nest"),
    "deep-blocks": ("pack: x\n" + "".join(f"{' ' * n}k{n}:\n" for n in range(200)) + "\n",
                    "nested deeper"),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_the_loader_refuses_with_a_line_in_bounded_memory(kind):
    text, message = HOSTILE[kind]
    tracemalloc.start()
    try:
        with pytest.raises(PolicyError) as caught:
            yamlsource.parse(text, "bomb.yaml")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert message in str(caught.value)
    assert caught.value.location.startswith("bomb.yaml:")
    assert peak < 200 * 1024 * 1024  # the node budget, not the expansion, bounds memory


def test_the_node_budget_counts_every_use_of_an_alias():
    # 11 * 10^4 values when expanded: over a budget of 10^4, though the text is tiny.
    text = billion_laughs(levels=4)
    budget = yamlsource._Budget("x.yaml")
    loader = yamlsource._LOADER(text)
    node = loader.get_single_node()
    original = yamlsource.MAX_NODES
    yamlsource.MAX_NODES = 10_000
    try:
        with pytest.raises(PolicyError):
            yamlsource._convert(loader, node, (), {}, "x.yaml", budget)
    finally:
        yamlsource.MAX_NODES = original
        loader.dispose()
    assert budget.nodes == 10_001


def test_aliases_within_the_budget_still_work():
    source = yamlsource.parse("a: &x [1, 2]\nb: *x\n", "ok.yaml")
    assert source.data == {"a": [1, 2], "b": [1, 2]}


def test_an_oversized_file_is_refused_unread(tmp_path):
    big = tmp_path / "big.yaml"
    with big.open("w") as handle:
        handle.write("pack: x\n")
        handle.write("# padding\n" * (yamlsource.MAX_FILE_BYTES // 10 + 1))
    with pytest.raises(PolicyError) as caught:
        yamlsource.read(big)
    assert "MiB" in str(caught.value) and caught.value.location == f"{big}:1"


def test_a_file_that_is_not_utf8_is_one_line(tmp_path):
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"pack: caf\xe9\n")
    with pytest.raises(PolicyError) as caught:
        yamlsource.read(bad)
    assert "not UTF-8" in str(caught.value)


def cloudwall(*args: str, timeout: float = 60) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "scanner.cli", *args], capture_output=True,
                            text=True, timeout=timeout, env=os.environ.copy())
    return result, time.monotonic() - started


def _assert_refused(result, path):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    first = result.stderr.strip().splitlines()[0]
    assert first.startswith(f"error: {path}:"), result.stderr


@pytest.mark.parametrize("kind", ["laughs", "recursive"])
def test_policies_test_refuses_a_bomb_quickly(tmp_path, kind):
    path = tmp_path / f"{kind}.yaml"
    path.write_text(HOSTILE[kind][0])
    result, elapsed = cloudwall("policies", "test", str(path))
    _assert_refused(result, path)
    # Seconds (mostly interpreter start-up), not the minutes the expansion would take.
    assert elapsed < 30


@pytest.mark.parametrize("flag", ["--policies", "--suppressions"])
def test_scan_refuses_a_bomb_before_any_cloud_call(tmp_path, flag):
    path = tmp_path / "bomb.yaml"
    path.write_text(billion_laughs())
    result, elapsed = cloudwall("scan", "--provider", "demo", "--format", "json", flag,
                                str(path))
    _assert_refused(result, path)
    assert elapsed < 30
    assert result.stdout == ""
