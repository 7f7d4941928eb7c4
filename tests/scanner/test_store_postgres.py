"""What only the PostgreSQL store has: a server to reach and log in to, a password that must never
show, a versioned schema applied on first write and refused when newer, a write lock shared
with other clients. The rules every backend shares are in test_store_backends.py and
test_store_cli.py, run against both."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scanner.errors import StoreError
from scanner.store import Store
from scanner.store.locations import open_backend, url_scheme
from scanner.store.postgres import WRITE_LOCK, location_of
from scanner.store.postgres_schema import latest_version, migrations
from tests.scanner.store_builders import database_state, estate


def cloudwall(*args, env=None, unset=()):
    environment = {k: v for k, v in {**os.environ, **(env or {})}.items() if k not in unset}
    return subprocess.run([sys.executable, "-m", "scanner.cli", *args], capture_output=True,
                          text=True, timeout=120, env=environment)


def assert_one_line_error(result, *fragments):
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("error: "), result.stderr
    assert lines[1].startswith("hint: "), result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)


# --- which backend --------------------------------------------------------------------------


@pytest.mark.parametrize(("target", "scheme"), [
    ("postgresql://u@h/db", "postgresql"), ("postgres://u@h/db", "postgres"),
    ("PostgreSQL://u@h/db", "postgresql"), ("store.db", None), ("/var/lib/x.db", None),
    ("C:\\store.db", None), ("dir/postgresql:/x", None),
])
def test_the_url_scheme_picks_the_backend(target, scheme):
    assert url_scheme(target) == scheme


def test_an_unknown_scheme_is_one_line_and_hides_the_password():
    with pytest.raises(StoreError, match=r"no store backend for mysql://") as caught:
        open_backend("mysql://me:hunter2@db/x", create=True)
    assert "hunter2" not in str(caught.value) + caught.value.hint


def test_the_location_never_holds_the_password_or_parameters():
    assert location_of("postgresql://me:s3cr%40t@db.example:5433/cw?password=x&sslmode=require"
                       ) == "postgresql://me@db.example:5433/cw"
    assert location_of("postgres://[::1]/cw") == "postgres://[::1]/cw"


def test_without_psycopg_the_error_says_what_to_install(tmp_path):
    code = ("import sys; sys.modules['psycopg'] = None\n"
            "from scanner.cli import run; run()")
    result = subprocess.run(
        [sys.executable, "-c", code, "--store", "postgresql://me:hunter2@127.0.0.1:9/x",
         "snapshots", "list"], capture_output=True, text=True, timeout=60)
    assert_one_line_error(result, "needs the PostgreSQL driver psycopg",
                          "pip install 'cloudwall[postgresql]'")
    assert "hunter2" not in result.stderr


# --- connecting and logging in ----------------------------------------------------------------


def _failures(server):
    secret = server.password
    return {
        "wrong password": (f"postgresql://cloudwall:{secret}x@127.0.0.1:{server.port}/postgres",
                           "authentication failed", "PGPASSWORD"),
        "refused port": (f"postgresql://cloudwall:{secret}@127.0.0.1:1/postgres",
                         "cannot connect", "server is running"),
        "unknown host": (f"postgresql://cloudwall:{secret}@no-such-host.invalid/postgres",
                         "cannot connect", "server is running"),
        "unknown database": (f"postgresql://cloudwall:{secret}@127.0.0.1:{server.port}/nodb",
                             "no such database", "create the database"),
    }


@pytest.mark.parametrize("case", ["wrong password", "refused port", "unknown host",
                                  "unknown database"])
def test_connection_failures_are_one_line_with_a_hint_and_never_show_the_password(
        postgres_server, case):
    url, message, hint = _failures(postgres_server)[case]
    # A read from --store: one line and a hint.
    result = cloudwall(f"--store={url}", "snapshots", "list")
    assert postgres_server.password not in result.stdout + result.stderr
    assert_one_line_error(result, message, hint, "postgresql://")
    # A scan that would save, the store from the environment, and --debug's traceback: the
    # scan does not start, and the password shows nowhere.
    result = cloudwall("--debug", "scan", "--provider", "demo", "--save",
                       env={"CLOUDWALL_STORE": url})
    assert result.returncode == 2 and message in result.stderr and result.stdout == ""
    assert postgres_server.password not in result.stderr


def test_a_password_from_pgpassword_works_and_the_url_needs_none(postgres_server, postgres_url):
    bare = postgres_url.replace(f":{postgres_server.password}@", "@")
    assert postgres_server.password not in bare
    result = cloudwall("--store", bare, "scan", "--provider", "demo", "--save",
                       env={"PGPASSWORD": postgres_server.password})
    assert result.returncode in (0, 3), result.stderr
    denied = cloudwall("--store", bare, "snapshots", "list")
    assert_one_line_error(denied, "authentication failed")


def test_config_show_and_the_stored_data_never_hold_the_password(postgres_server, postgres_url,
                                                                 tmp_path):
    config = tmp_path / "cloudwall.toml"
    config.write_text(f'store = "{postgres_url}"\n', encoding="utf-8")
    # The file names the store (the environment would win over it).
    shown = cloudwall("--config", str(config), "config", "show", unset=["CLOUDWALL_STORE"])
    assert shown.returncode == 0, shown.stderr
    assert postgres_server.password not in shown.stdout + shown.stderr
    # The URL is taken as a URL, not as a path relative to the configuration file.
    assert f'store = "postgresql://***@127.0.0.1:{postgres_server.port}/' in shown.stdout
    for args in (("scan", "--provider", "demo", "--save"), ("baseline", "set", "prod"),
                 ("report", "trend"), ("snapshots", "list")):
        result = cloudwall("--config", str(config), "--verbose", *args,
                           unset=["CLOUDWALL_STORE"])
        assert result.returncode in (0, 3), (args, result.stderr)
        assert postgres_server.password not in result.stdout + result.stderr
    stored = database_state(postgres_url)
    assert len(stored["snapshots"]) == 1 and len(stored["baselines"]) == 1
    assert postgres_server.password not in repr(stored)
    # The trend cache keys the store by its location, without the password.
    for root, _, files in os.walk(os.environ["CLOUDWALL_CACHE_DIR"]):
        for name in files:
            with open(os.path.join(root, name), "rb") as handle:
                assert postgres_server.password.encode() not in handle.read()


# --- the schema -------------------------------------------------------------------------------


def test_migrations_are_numbered_sql_files_applied_once_on_first_write(postgres_url):
    assert [m.name for m in migrations()][0] == "0001_initial.sql"
    assert database_state(postgres_url) == {}
    with Store(postgres_url) as store:
        assert [row[:2] for row in database_state(postgres_url)["cloudwall_schema"]] == [
            (m.version, m.name) for m in migrations()]
        store.save(estate("s-1", sets=2))
    with Store(postgres_url) as store:  # opened again: nothing applied twice
        assert store.resolve("latest") == "s-1"
    assert len(database_state(postgres_url)["cloudwall_schema"]) == latest_version()


def test_an_older_database_is_brought_up_to_date_on_first_use_keeping_its_data(postgres_url):
    import psycopg

    first = migrations()[0]
    assert latest_version() > first.version
    # The database as the first version of the PostgreSQL store left it, with a snapshot.
    with Store(postgres_url) as store:
        store.save(estate("s-1", sets=2))
    with psycopg.connect(postgres_url, autocommit=True) as db:
        for migration in migrations()[1:]:
            db.execute("DELETE FROM cloudwall_schema WHERE version = %s", (migration.version,))
        db.execute("DROP TABLE state")
    assert "state" not in database_state(postgres_url)
    with Store(postgres_url, create=False) as store:
        assert store.load("s-1") == estate("s-1", sets=2)
        store.put_state("watch:prod", "x")
        assert store.state("watch:prod") == "x"
    versions = [row[0] for row in database_state(postgres_url)["cloudwall_schema"]]
    assert versions == [m.version for m in migrations()]


def test_a_database_with_a_newer_schema_is_refused_and_left_alone(postgres_url):
    import psycopg

    with Store(postgres_url) as store:
        store.save(estate("s-1", sets=2))
    with psycopg.connect(postgres_url, autocommit=True) as db:
        db.execute("INSERT INTO cloudwall_schema (version, name) VALUES (%s, 'future.sql')",
                   (latest_version() + 1,))
    before = database_state(postgres_url)
    for command in (("snapshots", "list"), ("scan", "--provider", "demo", "--save"),
                    ("baseline", "set", "prod")):
        result = cloudwall("--store", postgres_url, *command)
        assert_one_line_error(result, f"schema version {latest_version() + 1}",
                              "newer than this cloudwall", "upgrade cloudwall")
    assert database_state(postgres_url) == before


# --- taking turns -----------------------------------------------------------------------------


def test_a_writer_waits_for_the_lock_then_gives_a_clear_error(postgres_url, monkeypatch):
    import psycopg

    from scanner.store import postgres

    monkeypatch.setattr(postgres, "LOCK_TIMEOUT", "300ms")
    store = Store(postgres_url)
    store.save(estate("s-1", sets=2))
    with psycopg.connect(postgres_url) as other:  # another client is writing
        other.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
        with pytest.raises(StoreError, match="is locked") as caught:
            store.save(estate("s-2", sets=2, minutes=1))
        assert "another cloudwall" in caught.value.hint
        assert [i.snapshot_id for i in store.list()] == ["s-1"]  # reads never wait
    store.save(estate("s-2", sets=2, minutes=1))
    assert [i.snapshot_id for i in store.list()] == ["s-1", "s-2"]
    store.close()


def test_a_lost_connection_is_a_store_error_and_changes_nothing(postgres_server, postgres_url):
    store = Store(postgres_url)
    store.save(estate("s-1", sets=2))
    with postgres_server.admin() as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = %s AND pid <> pg_backend_pid()",
                      (postgres_url.rsplit("/", 1)[1],))
    with pytest.raises(StoreError) as caught:
        store.save(estate("s-2", sets=2, minutes=1))
    assert postgres_server.password not in str(caught.value)
    store.close()
    with Store(postgres_url) as again:
        assert [i.snapshot_id for i in again.list()] == ["s-1"]


# --- without a server -------------------------------------------------------------------------


@pytest.mark.parametrize(("required", "outcome"), [("", "1 skipped"), ("require", "1 error")])
def test_without_postgresql_the_tests_skip_with_a_reason_unless_required(tmp_path, required,
                                                                          outcome):
    env = {**os.environ, "CLOUDWALL_PG_BIN": str(tmp_path / "no-postgresql"),
           "CLOUDWALL_POSTGRES_TESTS": required}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-p",
         "no:xdist", f"{__file__}::test_migrations_are_numbered_sql_files_applied_once_on_"
         "first_write"],
        cwd=Path(__file__).resolve().parents[2], env=env, capture_output=True, text=True,
        timeout=120)
    assert outcome in result.stdout, result.stdout
    assert "no initdb/pg_ctl" in result.stdout and "apt-get install postgresql" in result.stdout
    assert (result.returncode == 0) == (outcome == "1 skipped")


def test_sixteen_first_writers_of_new_databases_set_the_schema_up_once(postgres_server):
    """Writers that wait on the lock while another creates the schema must then see it (a
    name lookup from the session's catalog cache would not, and apply it a second time)."""
    from concurrent.futures import ThreadPoolExecutor

    def first_use(url: str) -> str:
        try:
            open_backend(url, create=True).close()
            return "ok"
        except StoreError as exc:
            return str(exc)

    for _ in range(4):
        name = f"t_race_{os.urandom(6).hex()}"
        url = postgres_server.create_database(name)
        try:
            # One connection each, so sixteen server processes with caches of their own.
            with ThreadPoolExecutor(16) as pool:
                outcomes = list(pool.map(first_use, [url] * 16))
            assert outcomes == ["ok"] * 16
            backend = open_backend(url, create=False)
            with backend.read():
                versions = backend._rows("SELECT version FROM cloudwall_schema ORDER BY version")
            backend.close()
            assert [v for (v,) in versions] == [m.version for m in migrations()]
        finally:
            postgres_server.drop_database(name)
