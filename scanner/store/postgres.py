"""The PostgreSQL backend: one database shared by a team's people, runners and CI jobs.

It keeps the same records as the SQLite store (``pg_migrations/``): content-addressed objects
compressed against the store's dictionary, manifests of their row ids, snapshots pointing to a
manifest, baselines and their history.

Writers take turns: every write is one READ COMMITTED transaction that first takes a
transaction-level advisory lock on the database (``pg_advisory_xact_lock``), exactly as a SQLite
write begins with ``BEGIN IMMEDIATE``. The store's rules are read-then-write sequences (is the
baseline there? then move it; which objects are new? then insert them) run by the core inside
one ``with backend.write():`` block. SERIALIZABLE isolation would detect the conflicts, but the
fix it asks for is to run the transaction again, and the backend cannot replay the body of a
``with`` block; one lock per store makes a conflict impossible instead, costs no retry loop,
and a scan holds it only for the moment its save takes. Reads are REPEATABLE READ READ ONLY
transactions: a consistent view that never waits for a writer.

The connection URL may carry a password; nothing here ever prints, logs or stores it: the store
is named by ``location`` (the URL without password or parameters) and every message from the
driver is scrubbed of the password before it is raised.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any
from urllib.parse import unquote, urlsplit

from scanner.errors import StoreError
from scanner.redact import redact
from scanner.store.backend import (
    Backend,
    Baseline,
    BaselineEvent,
    GarbageCollected,
    SnapshotInfo,
)
from scanner.store.compression import (
    UNREADABLE,
    compress,
    sample_dictionary,
    stored_document,
)
from scanner.store.content import SnapshotParts
from scanner.store.members import decode_members, encode_members
from scanner.store.postgres_schema import VERSIONS_TABLE, pending, refuse_newer

# pg_advisory_xact_lock key: "CWL1", the SQLite store's application id. Advisory locks belong to
# one database, so two stores on one server never wait for each other.
WRITE_LOCK = 0x43574C31
LOCK_TIMEOUT = "30s"  # like the SQLite store's busy timeout: then a clear "locked" error
CONNECT_TIMEOUT = 10
_CONNECT_HINT = ("check that the server is running and reachable at that host and port "
                 "(or PGHOST/PGPORT), and the database name")
_AUTH_HINT = ("check the user and its password: give the password in PGPASSWORD, ~/.pgpass or "
              "a libpq service file rather than in the URL")


def location_of(url: str) -> str:
    """The store's name in every message: scheme, user, host, port and database; never the
    password or the URL's parameters (which may hold one)."""
    parts = urlsplit(url)
    user = f"{unquote(parts.username)}@" if parts.username else ""
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{user}{host}{port}{parts.path}"


def _password_of(url: str) -> str | None:
    try:
        password = urlsplit(url).password
    except ValueError:
        return None
    return unquote(password) if password else None


class PostgresBackend(Backend):
    """A store in the PostgreSQL database named by ``url`` (``postgresql://`` or
    ``postgres://``; libpq's environment variables and password file apply as usual).
    ``create``: set up the schema when the database has none yet; otherwise it must have one."""

    def __init__(self, url: str, create: bool = True) -> None:
        self.location = location_of(url)
        self._secret = _password_of(url)
        try:
            import psycopg  # only a PostgreSQL store needs the driver
        except ImportError:
            raise StoreError(
                f"store {self.location} needs the PostgreSQL driver psycopg",
                "install it with `pip install 'cloudwall[postgresql]'`",
            ) from None
        self._pg = psycopg
        self._in_transaction = False
        self._db = self._connect(url)
        try:
            self._open(create)
        except BaseException:
            self._db.close()
            raise

    # --- opening ------------------------------------------------------------------------------

    def _connect(self, url: str):
        psycopg = self._pg
        try:
            return psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT,
                                   application_name="cloudwall")
        except psycopg.ProgrammingError as exc:  # a URL libpq cannot parse
            raise StoreError(f"--store {self.location} is not a usable PostgreSQL URL "
                             f"({self._scrub(exc)})",
                             "write it as postgresql://USER@HOST:PORT/DATABASE") from None
        except psycopg.Error as exc:
            raise self._connect_error(exc) from None

    def _connect_error(self, exc: Exception) -> StoreError:
        state = getattr(exc, "sqlstate", None)
        detail = self._scrub(exc)
        if state in ("28P01", "28000") or "password" in detail or "authentication" in detail:
            return StoreError(f"authentication failed for store {self.location}", _AUTH_HINT)
        if state == "3D000" or ("database" in detail and "does not exist" in detail):
            return StoreError(f"there is no store at {self.location} (no such database)",
                              "create the database (see the README's team setup), or fix "
                              "the database name in --store")
        return StoreError(f"cannot connect to store {self.location}: {detail}", _CONNECT_HINT)

    def _scrub(self, exc: object) -> str:
        """The driver's message on one line, with the password and URL secrets masked."""
        text = " ".join(str(exc).split())
        if self._secret:
            text = text.replace(self._secret, "***")
        return redact(text).removeprefix("connection failed: ")

    def _open(self, create: bool) -> None:
        version = self._schema_version()
        if version is None and not create:
            raise StoreError(
                f"there is no store at {self.location} (the database has no cloudwall tables)",
                "save a snapshot first (`cloudwall scan --save`), or pass --store with the "
                "right URL",
            )
        refuse_newer(version or 0, self.location)
        if version is None or pending(version):
            # Set up or brought up to date on first use: every pending migration in one
            # transaction under the write lock, so two first writers cannot both apply them.
            with self.write():
                pass

    def _schema_version(self) -> int | None:
        try:
            # pg_class read as a table, not through to_regclass: the name lookup answers from the
            # session's catalog cache, which a wait on the advisory lock does not refresh, so a
            # writer that waited while another created the schema would still see none.
            row = self._db.execute(
                "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
                "ON n.oid = c.relnamespace WHERE c.relname = 'cloudwall_schema' "
                "AND n.nspname = current_schema())").fetchone()
            if not row[0]:
                return None
            return self._db.execute(
                "SELECT coalesce(max(version), 0) FROM cloudwall_schema").fetchone()[0]
        except self._pg.Error as exc:
            raise self._error("read", exc) from None

    def _migrate(self) -> None:
        """Inside a write transaction, holding the lock: apply what is pending."""
        current = self._schema_version()
        if current is None:
            self._db.execute(VERSIONS_TABLE)
            current = 0
        refuse_newer(current, self.location)
        for migration in pending(current):
            self._db.execute(migration.sql)
            self._db.execute("INSERT INTO cloudwall_schema (version, name) VALUES (%s, %s)",
                             (migration.version, migration.name))

    def close(self) -> None:
        self._db.close()

    def check_integrity(self) -> None:
        """PostgreSQL keeps its own pages consistent (WAL, checksums where enabled) and the
        schema's keys keep the records consistent; what can go wrong is the schema version,
        checked when the store was opened and again inside every write."""

    def compact(self) -> None:
        """Nothing to do: autovacuum reclaims the rows a deletion freed for the next saves."""

    def size_bytes(self) -> int | None:
        try:
            row = self._db.execute(
                "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
                "WHERE c.relkind = 'r' AND c.oid IN (SELECT to_regclass(t) FROM unnest("
                "ARRAY['objects', 'manifests', 'snapshots', 'baselines', 'baseline_events', "
                "'dictionaries', 'state', 'cloudwall_schema']) AS t)").fetchone()
        except self._pg.Error:
            return None
        return int(row[0]) if row and row[0] is not None else None

    # --- transactions -------------------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._transaction("write", "BEGIN ISOLATION LEVEL READ COMMITTED"):
            self._db.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            self._db.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            self._migrate()
            yield

    @contextmanager
    def read(self) -> Iterator[None]:
        if self._in_transaction:  # a read inside a write sees the write's own changes
            yield
            return
        with self._transaction("read", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"):
            yield

    @contextmanager
    def _transaction(self, kind: str, begin: str) -> Iterator[None]:
        db = self._db
        try:
            db.execute(begin)
        except self._pg.Error as exc:
            raise self._error(kind, exc) from None
        self._in_transaction = True
        try:
            yield
            db.execute("COMMIT")
        except self._pg.Error as exc:
            self._rollback()
            raise self._error(kind, exc) from None
        except BaseException:
            self._rollback()  # a rule refused, Ctrl-C: nothing of the transaction stays
            raise
        finally:
            self._in_transaction = False

    def _rollback(self) -> None:
        # If the connection is gone, the server rolls the transaction back by itself.
        with suppress(self._pg.Error):
            self._db.execute("ROLLBACK")

    def _error(self, kind: str, exc: Exception) -> StoreError:
        errors = self._pg.errors
        if isinstance(exc, errors.LockNotAvailable):
            return StoreError(f"store {self.location} is locked ({self._scrub(exc)})",
                              "another cloudwall may be writing to it: wait for it, or pass "
                              "another --store")
        if isinstance(exc, self._pg.OperationalError) and self._db.closed:
            return StoreError(f"lost the connection to store {self.location}: "
                              f"{self._scrub(exc)}", _CONNECT_HINT + "; nothing was changed")
        if kind == "write":
            return StoreError(f"cannot write to store {self.location}: {self._scrub(exc)}",
                              "check the user's privileges on the database; nothing was "
                              "changed")
        return StoreError(f"cannot read store {self.location}: {self._scrub(exc)}",
                          "check the user's privileges on the database")

    # --- snapshots ----------------------------------------------------------------------------

    def _rows(self, query: str, params: Sequence[Any] = ()) -> list[tuple]:
        return self._db.execute(query, params).fetchall()

    def snapshot_infos(self) -> list[SnapshotInfo]:
        rows = self._rows(
            "SELECT snapshot_id, taken_at, providers, scope_count, rule_set_count, rule_count,"
            # seq breaks ties the way `latest` does: writers take turns, so seq is save order.
            " error_count FROM snapshots ORDER BY taken_at, seq")
        return [SnapshotInfo(*row) for row in rows]

    def latest_snapshot_id(self) -> str | None:
        rows = self._rows("SELECT snapshot_id FROM snapshots ORDER BY taken_at DESC, seq DESC "
                          "LIMIT 1")
        return rows[0][0] if rows else None

    def snapshot_ids_with_prefix(self, prefix: str, limit: int) -> list[str]:
        # left(): no LIKE, so _ and % in an id are plain characters.
        rows = self._rows(
            "SELECT snapshot_id FROM snapshots WHERE snapshot_id = %s OR "
            "left(snapshot_id, length(%s)) = %s LIMIT %s", (prefix, prefix, prefix, limit))
        return [row[0] for row in rows]

    def has_snapshot(self, snapshot_id: str) -> bool:
        return bool(self._rows("SELECT 1 FROM snapshots WHERE snapshot_id = %s", (snapshot_id,)))

    def snapshot_document(self, snapshot_id: str) -> dict[str, Any]:
        rows = self._rows(
            "SELECT s.taken_at, m.members FROM snapshots s JOIN manifests m "
            "ON m.id = s.manifest_id WHERE s.snapshot_id = %s", (snapshot_id,))
        def bodies(ids: list[int]) -> dict[int, bytes]:
            return dict(self._rows("SELECT id, body FROM objects WHERE id = ANY(%s)", (ids,)))

        try:
            if not rows:
                raise ValueError("its manifest is missing")
            taken_at, members = rows[0]
            return stored_document(snapshot_id, taken_at, bytes(members), bodies,
                                   self._dictionary)
        except UNREADABLE as exc:
            raise StoreError(
                f"snapshot {snapshot_id} in {self.location} is unreadable ({exc})",
                "restore the database from a backup, or re-import the snapshot from JSON",
            ) from exc

    def insert_snapshot(self, parts: SnapshotParts) -> None:
        manifest_id = self._store_objects(parts)
        self._db.execute(
            "INSERT INTO snapshots (snapshot_id, taken_at, providers, scope_count, "
            "rule_set_count, rule_count, error_count, manifest_id) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (parts.snapshot_id, parts.taken_at, ",".join(parts.providers), parts.scope_count,
             parts.rule_set_count, parts.rule_count, parts.error_count, manifest_id))

    def _store_objects(self, parts: SnapshotParts) -> int:
        """The manifest row of ``parts``, storing it and any object not held yet."""
        found = self._rows("SELECT id FROM manifests WHERE digest = %s",
                           (parts.manifest_digest,))
        if found:  # the same content as an earlier snapshot: every object is there already
            return found[0][0]
        digests = list(parts.objects)
        ids: dict[bytes, int] = {bytes(d): i for d, i in self._rows(
            "SELECT digest, id FROM objects WHERE digest = ANY(%s)", (digests,))}
        new = [d for d in digests if d not in ids]
        if new:
            dictionary_id, dictionary = self._current_dictionary(parts)
            bodies = [compress(parts.objects[d], dictionary_id, dictionary) for d in new]
            # One statement for all new objects; ids follow the order given, so a manifest's
            # members stay mostly consecutive and their deltas small.
            inserted = self._rows(
                "INSERT INTO objects (digest, body) SELECT d, b FROM "
                "unnest(%s::bytea[], %s::bytea[]) WITH ORDINALITY AS t(d, b, n) ORDER BY n "
                "RETURNING digest, id", (new, bodies))
            ids.update((bytes(d), i) for d, i in inserted)
        members = encode_members({section: [ids[d] for d in section_digests]
                                  for section, section_digests in parts.sections.items()})
        return self._rows("INSERT INTO manifests (digest, members) VALUES (%s, %s) RETURNING id",
                          (parts.manifest_digest, members))[0][0]

    def _current_dictionary(self, parts: SnapshotParts) -> tuple[int | None, bytes]:
        """The store's compression dictionary, sampled from ``parts`` if it has none yet."""
        rows = self._rows("SELECT id, body FROM dictionaries ORDER BY id DESC LIMIT 1")
        if rows:
            return rows[0][0], bytes(rows[0][1])
        sample = sample_dictionary(parts)
        if not sample:
            return None, b""
        return self._rows("INSERT INTO dictionaries (body) VALUES (%s) RETURNING id",
                          (sample,))[0][0], sample

    def _dictionary(self, dictionary_id: int) -> bytes:
        rows = self._rows("SELECT body FROM dictionaries WHERE id = %s", (dictionary_id,))
        if not rows:
            raise KeyError(f"compression dictionary {dictionary_id} is missing")
        return bytes(rows[0][0])

    def delete_snapshots(self, snapshot_ids: Sequence[str]) -> None:
        self._db.execute("DELETE FROM snapshots WHERE snapshot_id = ANY(%s)",
                         (list(snapshot_ids),))

    def collect_garbage(self) -> GarbageCollected:
        orphans = self._rows("SELECT id, members FROM manifests m WHERE NOT EXISTS "
                             "(SELECT 1 FROM snapshots s WHERE s.manifest_id = m.id)")
        if not orphans:
            return GarbageCollected(0, 0)
        candidates = {i for _, blob in orphans for ids in decode_members(bytes(blob)).values()
                      for i in ids}
        self._db.execute("DELETE FROM manifests WHERE id = ANY(%s)", ([m for m, _ in orphans],))
        for (blob,) in self._rows("SELECT members FROM manifests"):
            for ids in decode_members(bytes(blob)).values():
                candidates.difference_update(ids)
        self._db.execute("DELETE FROM objects WHERE id = ANY(%s)", (sorted(candidates),))
        return GarbageCollected(len(orphans), len(candidates))

    # --- baselines ----------------------------------------------------------------------------

    def get_baseline(self, name: str) -> Baseline | None:
        rows = self._rows("SELECT name, snapshot_id, set_at, note FROM baselines WHERE name = %s",
                          (name,))
        return Baseline(*rows[0]) if rows else None

    def list_baselines(self) -> list[Baseline]:
        # COLLATE "C": the same order as SQLite's, whatever the database's locale.
        rows = self._rows('SELECT name, snapshot_id, set_at, note FROM baselines '
                          'ORDER BY name COLLATE "C"')
        return [Baseline(*row) for row in rows]

    def put_baseline(self, baseline: Baseline) -> None:
        self._db.execute(
            "INSERT INTO baselines (name, snapshot_id, set_at, note) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (name) DO UPDATE SET snapshot_id = excluded.snapshot_id, "
            "set_at = excluded.set_at, note = excluded.note",
            (baseline.name, baseline.snapshot_id, baseline.set_at, baseline.note))

    def delete_baseline(self, name: str) -> None:
        self._db.execute("DELETE FROM baselines WHERE name = %s", (name,))

    def add_baseline_event(self, event: BaselineEvent) -> None:
        self._db.execute(
            "INSERT INTO baseline_events (name, at, action, from_snapshot, to_snapshot, note, "
            "accepted) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (event.name, event.at, event.action, event.from_snapshot, event.to_snapshot,
             event.note, list(event.accepted)))

    def baseline_events(self, name: str) -> list[BaselineEvent]:
        rows = self._rows(
            "SELECT name, at, action, from_snapshot, to_snapshot, note, accepted "
            "FROM baseline_events WHERE name = %s ORDER BY seq", (name,))
        return [BaselineEvent(*row[:6], tuple(row[6])) for row in rows]

    # --- state --------------------------------------------------------------------------------

    def get_state(self, key: str) -> str | None:
        rows = self._rows("SELECT value FROM state WHERE key = %s", (key,))
        return rows[0][0] if rows else None

    def put_state(self, key: str, value: str) -> None:
        self._db.execute("INSERT INTO state (key, value) VALUES (%s, %s) "
                         "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))
