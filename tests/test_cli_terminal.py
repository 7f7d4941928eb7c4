"""What a person at a terminal sees, through a real pseudo-terminal: tables fitted to its width
(wrapped, never cut), colour only on a terminal, the summary line once, --quiet and --verbose.

The child runs ``python -m scanner.cli`` with stdout and stderr on a pty whose window size is
set with TIOCSWINSZ, exactly as a terminal emulator would; COLUMNS is removed from its
environment so the width comes from the terminal itself.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from reports.grid import display_width

ANSI = re.compile(r"\x1b\[[0-9;]*m")
LONG_TITLE_POLICY = "TEAM-LONG"
# A pack whose title is far wider than any terminal: the table must wrap it, never cut it.
PACK = f"""
pack: long
policies:
  - id: {LONG_TITLE_POLICY}
    title: >-
      Secure shell reachable from every address on the internet which nobody meant to allow
      and which an adversary with the right credentials would use first thing in the morning
    severity: high
    match: {{direction: ingress, action: allow, source: internet, services: [ssh]}}
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("terminal")
    path = root / "store.db"
    pack = root / "long.yaml"
    pack.write_text(PACK)
    env = {**os.environ, "CLOUDWALL_STORE": str(path)}
    for stage in ("baseline", "changed"):
        done = subprocess.run([sys.executable, "-m", "scanner.cli", "scan", "--provider", "demo",
                               "--demo-stage", stage, "--save", "--format", "json"],
                              env=env, capture_output=True, timeout=300)
        assert done.returncode in (0, 3), done.stderr
    return {"path": path, "pack": pack}


def _env(store, **extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("COLUMNS", "LINES", "NO_COLOR", "TERM")}
    env.update({"CLOUDWALL_STORE": str(store["path"]), "TERM": "xterm-256color"})
    env.update(extra)
    return env


def in_terminal(args, store, columns=80, **env) -> tuple[str, int]:
    """Run cloudwall with stdout and stderr on a pty of ``columns`` columns."""
    leader, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    try:
        child = subprocess.Popen([sys.executable, "-m", "scanner.cli", *args], stdout=follower,
                                 stderr=follower, stdin=subprocess.DEVNULL,
                                 env=_env(store, **env))
        os.close(follower)
        follower = -1
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the child closed its end
                break
            if not chunk:
                break
            chunks.append(chunk)
        code = child.wait(timeout=300)
    finally:
        os.close(leader)
        if follower != -1:
            os.close(follower)
    # The terminal turns \n into \r\n; the text people see is what matters.
    return b"".join(chunks).decode().replace("\r\n", "\n"), code


def piped(args, store, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scanner.cli", *args], capture_output=True,
                          text=True, env=_env(store, **env), timeout=300)


def table_cells(text: str, header_start: str) -> list[list[str]]:
    """The cells of the table whose header line starts with ``header_start``, each wrapped
    cell joined back from its lines (a row starts where the first column is filled)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rule = lines[start + 1]
    spans = [(m.start(), m.end()) for m in re.finditer(r"-+", rule)]
    rows: list[list[list[str]]] = []
    for line in lines[start + 2:]:
        if not line.strip():
            break
        pieces = [line[a:(spans[i + 1][0] if i + 1 < len(spans) else None)].strip()
                  for i, (a, _) in enumerate(spans)]
        if pieces[0] or not rows:
            rows.append([[p] if p else [] for p in pieces])
        else:
            for cell, piece in zip(rows[-1], pieces, strict=True):
                if piece:
                    cell.append(piece)
    return [[" ".join(cell) for cell in row] for row in rows]


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_a_table_on_a_narrow_terminal_wraps_to_its_width_and_loses_nothing(store):
    args = ["--no-color", "snapshots", "show", "latest", "--policies", str(store["pack"])]
    text, code = in_terminal(args, store, columns=90)
    assert code in (0, 3), text
    widest = max(display_width(line) for line in text.splitlines())
    assert widest <= 90, [line for line in text.splitlines() if display_width(line) > 90]
    assert "…" not in text
    # Every finding is there, whole: cell by cell the same as the JSON says.
    document = json.loads(piped(["snapshots", "show", "latest", "--format", "json",
                                 "--policies", str(store["pack"])], store).stdout)
    rows = table_cells(text, "severity")
    active = [f for f in document["findings"] if not f["suppressed"]]
    assert len(rows) == len(active)
    titles = {squeeze(row[3]) for row in rows}
    assert {squeeze(f["title"]) for f in active} == titles
    long_row = next(row for row in rows if row[2] == LONG_TITLE_POLICY)
    assert squeeze(long_row[3]) == squeeze(next(
        f["title"] for f in active if f["policy_id"] == LONG_TITLE_POLICY))


def test_wide_and_pipes_and_files_never_wrap_or_cut(store, tmp_path):
    args = ["snapshots", "show", "latest", "--policies", str(store["pack"])]
    wide, _ = in_terminal(["--wide", "--no-color", *args], store, columns=60)
    assert max(display_width(line) for line in wide.splitlines()) > 60
    long_lines = [line for line in wide.splitlines() if LONG_TITLE_POLICY in line]
    assert long_lines and all("in the morning" in line for line in long_lines)
    to_pipe = piped(args, store, COLUMNS="40")
    assert "…" not in to_pipe.stdout
    assert any(LONG_TITLE_POLICY in line and "in the morning" in line
               for line in to_pipe.stdout.splitlines())
    out = tmp_path / "report.txt"
    written, _ = in_terminal([*args, "--output", str(out)], store, columns=60)
    assert out.read_text() == to_pipe.stdout  # the file is the same as a pipe gets
    assert "\x1b" not in out.read_text()


def test_colour_by_severity_only_on_a_terminal(store):
    args = ["snapshots", "show", "latest"]
    coloured, _ = in_terminal(args, store, columns=200)
    styles = {word: set(re.findall(r"\d+", prefix)) for prefix, word in
              re.findall(r"((?:\x1b\[[0-9;]*m)+)(CRITICAL|HIGH|MEDIUM|LOW)\x1b\[0m", coloured)}
    assert styles["CRITICAL"] == {"31", "1"}  # bold red
    assert styles["HIGH"] == {"31"} and styles["MEDIUM"] == {"33"}
    # Colour never changes the layout: without the escapes, the same text as without colour.
    plain, _ = in_terminal(["--no-color", *args], store, columns=200)
    assert ANSI.sub("", coloured) == plain
    for off in (in_terminal(args, store, columns=200, NO_COLOR="1")[0],
                in_terminal(["--no-color", *args], store, columns=200)[0],
                in_terminal(args, store, columns=200, TERM="dumb")[0],
                piped(args, store).stdout):
        assert "\x1b" not in off
        assert "CRITICAL" in off


def test_the_summary_line_is_printed_once(store):
    text, _ = in_terminal(["--no-color", "snapshots", "show", "latest"], store, columns=200)
    assert len(re.findall(r"^\d+ scopes \(", text, flags=re.M)) == 1
    diff, _ = in_terminal(["--no-color", "diff", "--baseline", _first_snapshot(store),
                           "--snapshot", "latest"], store, columns=200)
    assert len(re.findall(r"^\d+ scopes \(", diff, flags=re.M)) == 1
    # Piped, the table keeps its summary and stderr says it too (two places, each once).
    result = piped(["snapshots", "show", "latest"], store)
    assert result.stdout.count(" scopes (") == 1 and result.stderr.count(" scopes (") == 1


def _first_snapshot(store) -> str:
    from scanner.store import Store

    with Store(store["path"]) as opened:
        snapshot_id = opened.list()[0].snapshot_id
    export = Path(store["path"]).with_name("first.json")
    if not export.exists():
        with Store(store["path"]) as opened:
            opened.export(snapshot_id, export)
    return str(export)


def test_quiet_prints_only_errors_and_verbose_says_more(store, tmp_path):
    quiet = piped(["--quiet", "snapshots", "show", "latest", "--format", "json"], store)
    assert quiet.returncode in (0, 3) and quiet.stderr == ""
    json.loads(quiet.stdout)  # the report itself is not silenced
    pty_quiet, _ = in_terminal(["--quiet", "scan", "--provider", "demo", "--format", "json",
                                "--output", str(tmp_path / "r.json")], store)
    assert pty_quiet.strip() == ""  # no progress bar, no summary
    error = piped(["--quiet", "snapshots", "show", "nope"], store)
    assert error.returncode == 2 and error.stderr.startswith("error: ")
    verbose = piped(["--verbose", "report", "trend", "--output", str(tmp_path / "t.txt")],
                    store)
    assert verbose.returncode == 0, verbose.stderr
    assert f"wrote {tmp_path / 't.txt'}" in verbose.stderr and "trend cache" in verbose.stderr
    shown = piped(["-v", "snapshots", "show", "latest", "--output", str(tmp_path / "s.txt")],
                  store)
    assert "scope aws/111122223333/us-east-1: ok" in shown.stderr
    assert f"wrote {tmp_path / 's.txt'}" in shown.stderr
    both = piped(["--quiet", "--verbose", "snapshots", "list"], store)
    assert both.returncode == 2 and "cannot be combined" in both.stderr
