"""Where projections keep their rows: a database of their own, never the events' database or file.

Projections may hold personal data in the clear (a plate index cannot search sealed tokens), so they
live apart from the events and purges clean them:

- SQLite: ``data_dir/projections.db`` (WAL, ``secure_delete`` so deleted rows are zeroed, and the
  WAL truncated after a purge).
- PostgreSQL: database ``<ledger database>_projections`` on the same server, with UNLOGGED tables:
  their rows never reach the write-ahead log (which the cluster shares and recycles without
  zeroing), so once a purge deletes them and the table is vacuumed nothing of them remains. After a
  crash PostgreSQL empties unlogged tables — rows and tracked positions together, since both are
  unlogged — and the projections rebuild from the log, which is what they are for.

When a purge's deletion becomes final on disk. A day purge (retention) is made final right after
the page that applied it: SQLite truncates its WAL (``secure_delete`` zeroed the rows as they were
deleted); PostgreSQL runs ``VACUUM FULL`` of the projection's tables, which rewrites them into new
files and removes the old ones. A single record shredded on request (a purge naming records, not a
day key) is not worth rewriting the whole read index inside the request: on PostgreSQL the page's
transaction records the tables in ``projection_rewrites_pending`` (UNLOGGED, beside them) and the
rewrite runs at the next follower tick, ``alpr-ledger projections catch-up`` or retention run
(:meth:`ProjectionDB.rewrite_pending`). Until then the deleted row is no longer visible to any query,
but its bytes — plate, state, position — stay in the dead tuple of the heap page (and in the index
pages that pointed to it) in the table's files of the UNLOGGED table, never in the WAL; a plain
autovacuum may mark the space reusable but does not zero it, only the rewrite removes the file.
After a crash the pending rows are emptied with the tables themselves. SQLite does not defer:
its deletion is zeroed in place and the WAL truncation is cheap.

:class:`ProjectionDB` is the small dialect-aware wrapper projections write through: ``sql()``
turns ``?`` placeholders into ``%s`` for PostgreSQL, ``transaction()`` is one atomic unit (its
position row is locked first, so two processes never apply the same events twice).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Protocol
from urllib.parse import quote, unquote, urlsplit, urlunsplit

PROJECTIONS_DATABASE_SUFFIX: Final = "_projections"
SQLITE_FILE: Final = "projections.db"
PENDING_REWRITES: Final = "projection_rewrites_pending"
"""PostgreSQL: tables whose deleted rows still wait for their rewrite (see the module docstring)."""


class Cursor(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...

    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> Any: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def fetchmany(self, size: int = ...) -> list[Any]: ...


class ProjectionDB(ABC):
    """One projections database. Thread-safe: SQLite serialises on a lock, PostgreSQL uses a pool."""

    dialect: str  # "sqlite" or "postgres"

    def sql(self, statement: str) -> str:
        """``statement`` with ``?`` placeholders in this dialect."""
        return statement if self.dialect == "sqlite" else statement.replace("?", "%s")

    @abstractmethod
    def transaction(self) -> contextlib.AbstractContextManager[Cursor]:
        """One atomic unit of work (a context manager yielding a cursor)."""

    @abstractmethod
    def read(self) -> contextlib.AbstractContextManager[Cursor]:
        """A cursor for queries, outside any write transaction."""

    def lock_schema(self, c: Cursor) -> None:
        """Within a transaction: wait until no other process is creating or dropping tables here
        (PostgreSQL's CREATE TABLE IF NOT EXISTS is not safe against a concurrent twin)."""
        if self.dialect == "postgres":
            c.execute("SELECT pg_advisory_xact_lock(7346222)")

    @abstractmethod
    def after_purge(self, tables: Sequence[str]) -> None:
        """Make deleted rows unrecoverable from the files (zeroed pages, truncated WAL / rewritten
        tables)."""

    def prepare(self, c: Cursor) -> None:  # noqa: B027 - a hook: most backends keep no bookkeeping
        """Within a schema-locked transaction: create this backend's own bookkeeping tables."""

    def defer_rewrite(self, c: Cursor, tables: Sequence[str]) -> bool:
        """Within the transaction that deleted rows: record that ``tables`` need :meth:`after_purge`
        later. False when this backend does not defer (the caller runs :meth:`after_purge` now)."""
        return False

    def rewrite_pending(self) -> list[str]:
        """Run the deferred :meth:`after_purge` of every table recorded pending; the tables done."""
        return []

    def pending_rewrites(self) -> list[str]:
        """The tables whose deletions are not yet final on disk (recorded by :meth:`defer_rewrite`)."""
        return []

    @abstractmethod
    def close(self) -> None: ...


class SQLiteProjectionDB(ProjectionDB):
    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            with contextlib.suppress(FileExistsError):
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=60)
        self._lock = threading.RLock()
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "secure_delete=ON", "temp_store=MEMORY"):
            self._conn.execute(f"PRAGMA {pragma}")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Cursor]:
        with self._lock:
            c = self._conn.cursor()
            c.execute("BEGIN IMMEDIATE")
            try:
                yield c
            except BaseException:
                c.execute("ROLLBACK")
                raise
            c.execute("COMMIT")

    @contextlib.contextmanager
    def read(self) -> Iterator[Cursor]:
        with self._lock:
            yield self._conn.cursor()

    def after_purge(self, tables: Sequence[str]) -> None:
        with self._lock:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class PostgresProjectionDB(ProjectionDB):
    dialect = "postgres"

    def __init__(self, url: str, *, pool_size: int = 4) -> None:
        from psycopg_pool import ConnectionPool

        self.url = url
        self._pool: ConnectionPool[Any] = ConnectionPool(url, min_size=1, max_size=pool_size, open=True)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Cursor]:
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as c:
            yield c

    @contextlib.contextmanager
    def read(self) -> Iterator[Cursor]:
        with self._pool.connection() as conn, conn.cursor() as c:
            yield c

    def after_purge(self, tables: Sequence[str]) -> None:
        import psycopg
        from psycopg import sql

        # VACUUM FULL rewrites the tables into new files and drops the old ones, so deleted rows'
        # bytes leave the data directory (unlogged: they were never in the WAL).
        with psycopg.connect(self.url, autocommit=True) as conn:
            for table in tables:
                conn.execute(sql.SQL("VACUUM FULL {}").format(sql.Identifier(table)))
                # VACUUM FULL leaves the visibility map empty: without this, index-only scans of
                # the covering plate index read the heap again until autovacuum comes round.
                conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(table)))

    def prepare(self, c: Cursor) -> None:
        c.execute(
            f"CREATE UNLOGGED TABLE IF NOT EXISTS {PENDING_REWRITES} (table_name TEXT PRIMARY KEY,"
            " mark TEXT NOT NULL, since TEXT NOT NULL)"
        )

    def defer_rewrite(self, c: Cursor, tables: Sequence[str]) -> bool:
        if not tables:
            return True
        mark, since = uuid.uuid4().hex, datetime.now(UTC).isoformat()
        # A fresh mark on every deferral: a rewrite that read the old mark leaves this one pending.
        c.executemany(
            f"INSERT INTO {PENDING_REWRITES} VALUES (%s, %s, %s)"
            " ON CONFLICT (table_name) DO UPDATE SET mark = excluded.mark",
            [(t, mark, since) for t in tables],
        )
        return True

    def pending_rewrites(self) -> list[str]:
        return [t for t, _ in self._pending()]

    def _pending(self) -> list[tuple[str, str]]:
        with self.read() as c:
            c.execute("SELECT to_regclass(%s)", (PENDING_REWRITES,))
            if c.fetchone()[0] is None:
                return []
            c.execute(f"SELECT table_name, mark FROM {PENDING_REWRITES} ORDER BY table_name")
            return [(str(r[0]), str(r[1])) for r in c.fetchall()]

    def rewrite_pending(self) -> list[str]:
        pending = self._pending()
        if not pending:
            return []
        import psycopg

        # One rewriter at a time across every process (follower ticks, retention runs, catch-up
        # commands, several servers): the others find the lock taken and leave it to that one.
        with psycopg.connect(self.url, autocommit=True) as guard:
            row = guard.execute("SELECT pg_try_advisory_lock(%s)", (_REWRITE_LOCK,)).fetchone()
            if row is None or not row[0]:
                return []
            try:
                return self._rewrite(pending)
            finally:
                guard.execute("SELECT pg_advisory_unlock(%s)", (_REWRITE_LOCK,))

    def _rewrite(self, pending: list[tuple[str, str]]) -> list[str]:
        done: list[str] = []
        for table, mark in pending:
            with self.read() as c:
                c.execute("SELECT to_regclass(%s)", (table,))
                exists = c.fetchone()[0] is not None
            if exists:  # a rebuild may have dropped it meanwhile: nothing left to rewrite then
                self.after_purge([table])
            # VACUUM FULL waited for every transaction holding the table: a deletion committed
            # before it is in the rewrite. One deferred after it carries a new mark and stays.
            with self.transaction() as c:
                c.execute(
                    f"DELETE FROM {PENDING_REWRITES} WHERE table_name = %s AND mark = %s", (table, mark)
                )
            done.append(table)
        return done

    def close(self) -> None:
        self._pool.close()


_REWRITE_LOCK = 0x616C7072_7277  # pg_advisory_lock key of the deferred rewrites ("alpr" "rw")


def projections_database_url(database_url: str) -> str:
    parts = urlsplit(database_url)
    name = unquote(parts.path.lstrip("/")) or "postgres"
    return urlunsplit(parts._replace(path="/" + quote(name + PROJECTIONS_DATABASE_SUFFIX)))


def ensure_postgres_database(admin_url: str, url: str) -> None:
    """Create the database ``url`` names (through a connection to ``admin_url``) if missing."""
    import psycopg
    from psycopg import sql

    name = unquote(urlsplit(url).path.lstrip("/"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            try:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            except (psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
                pass  # another process created it a moment ago
            except psycopg.errors.InsufficientPrivilege as exc:
                raise PermissionError(
                    f"cannot create the projections database {name!r}: create it, or set ALPR_PROJECTIONS_URL"
                ) from exc


def open_projection_db(database_url: str, data_dir: Path, url: str | None = None) -> ProjectionDB:
    """The projections database for a ledger at ``database_url`` (or the one ``url`` names)."""
    if url is None:
        if database_url.startswith("sqlite://"):
            return SQLiteProjectionDB(Path(data_dir) / SQLITE_FILE)
        url = projections_database_url(database_url)
        ensure_postgres_database(database_url, url)
    if url.startswith("sqlite://"):
        from ops.bootstrap import sqlite_path

        return SQLiteProjectionDB(Path(sqlite_path(url)))
    return PostgresProjectionDB(url)


__all__ = [
    "PENDING_REWRITES",
    "Cursor",
    "PostgresProjectionDB",
    "ProjectionDB",
    "SQLiteProjectionDB",
    "open_projection_db",
    "projections_database_url",
]
