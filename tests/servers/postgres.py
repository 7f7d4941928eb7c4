"""A throwaway PostgreSQL cluster for the store tests: ``initdb`` and ``pg_ctl`` from the system
(Debian's ``postgresql`` package; in ``$CLOUDWALL_PG_BIN``, on PATH or under
``/usr/lib/postgresql/*/bin``), a free
loopback port, the socket and data in a private temporary directory, stopped and removed at the
end. Password authentication over TCP, so tests can present a wrong password.

PostgreSQL refuses to run as root: as root, the cluster runs as the ``postgres`` user (which
Debian's package creates) through ``runuser``, and its directory belongs to that user.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

HOW_TO_ENABLE = ("install PostgreSQL's server binaries (Debian: apt-get install postgresql) "
                 "and psycopg (pip install -e '.[test]')")
SUPERUSER = "cloudwall"
_START_ATTEMPTS = 3  # a free port can be taken by another process before the server binds it


def server_binaries() -> Path | None:
    """The folder holding initdb and pg_ctl: ``$CLOUDWALL_PG_BIN`` if set, else PATH, else the
    newest Debian install."""
    if os.environ.get("CLOUDWALL_PG_BIN"):
        folder = Path(os.environ["CLOUDWALL_PG_BIN"])
        usable = all(os.access(folder / name, os.X_OK) for name in ("initdb", "pg_ctl"))
        return folder if usable else None
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb", path=os.path.dirname(found)):
        return Path(found).parent
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                         key=lambda p: [int(x) for x in p.split("/")[-2].split(".")
                                        if x.isdigit()], reverse=True):
        if os.access(f"{folder}/pg_ctl", os.X_OK) and os.access(f"{folder}/initdb", os.X_OK):
            return Path(folder)
    return None


def unavailable() -> str | None:
    """Why the PostgreSQL tests cannot run here, or None."""
    if server_binaries() is None:
        return ("no initdb/pg_ctl in $CLOUDWALL_PG_BIN, on PATH or under "
                "/usr/lib/postgresql/*/bin")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres user to run the server as"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class PostgresServer:
    port: int
    password: str
    folder: Path

    def url(self, database: str = "postgres", password: bool = True) -> str:
        secret = f":{self.password}" if password else ""
        return f"postgresql://{SUPERUSER}{secret}@127.0.0.1:{self.port}/{database}"

    def admin(self):
        import psycopg

        return psycopg.connect(self.url(), autocommit=True)

    def create_database(self, name: str) -> str:
        """A new, empty database (names are the tests' own, never user input)."""
        with self.admin() as db:
            db.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        with self.admin() as db:
            db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def _run(command: list[str], folder: Path) -> None:
    result = subprocess.run(_as_server_user(command), capture_output=True, text=True,
                            timeout=120, cwd=folder)
    if result.returncode != 0:
        log = folder / "server.log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise RuntimeError(f"{command[0]} failed: {result.stdout}{result.stderr}{tail}")


@contextmanager
def running_server() -> Iterator[PostgresServer]:
    bin_dir = server_binaries()
    assert bin_dir is not None
    folder = Path(tempfile.mkdtemp(prefix="cloudwall-pg-"))
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")
        os.chown(folder, account.pw_uid, account.pw_gid)  # mkdtemp made it 0700
    password = secrets.token_urlsafe(18)
    data = folder / "data"
    started = False
    try:
        pwfile = folder / "pw"
        pwfile.write_text(password + "\n")
        if os.geteuid() == 0:
            os.chown(pwfile, account.pw_uid, account.pw_gid)
        _run([str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, f"--pwfile={pwfile}",
              "--auth-host=scram-sha-256", "--auth-local=scram-sha-256", "-E", "UTF8",
              "--locale=C", "--no-sync"], folder)
        pwfile.unlink()
        for attempt in range(_START_ATTEMPTS):
            port = _free_port()
            # fsync off: a throwaway cluster needs no durability, and saves then cost nothing.
            options = (f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
                       "-c synchronous_commit=off -c full_page_writes=off -c max_connections=60")
            try:
                _run([str(bin_dir / "pg_ctl"), "start", "-w", "-t", "60", "-D", str(data),
                      "-l", str(folder / "server.log"), "-o", options], folder)
                started = True
                break
            except RuntimeError:
                if attempt == _START_ATTEMPTS - 1:
                    raise
        yield PostgresServer(port, password, folder)
    finally:
        if started:
            subprocess.run(_as_server_user([str(bin_dir / "pg_ctl"), "stop", "-m", "immediate",
                                            "-D", str(data)]),
                           capture_output=True, timeout=60, cwd=folder)
        shutil.rmtree(folder, ignore_errors=True)
