"""SQLite adapter of the key store: its own database file (``<data dir>/keys.db``), not the event store's.

- The file (and SQLite's -wal/-shm files, which inherit its mode) is created 0600.
- ``secure_delete`` makes SQLite overwrite deleted rows with zeros, so a destroyed wrapped key does
  not linger in free pages of the file; after a destruction the WAL is checkpointed and truncated
  for the same reason (a copy of the file taken later then holds no trace of it).
- ``synchronous=FULL``: a data key must be on disk before the event sealed with it is stored.
- One connection, serialised by a lock; writes take the write lock up front (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from pathlib import Path
from uuid import UUID

from ledger.keystore import (
    DEFAULT_CACHE_SIZE,
    Destruction,
    KekInfo,
    KeyDestroyedError,
    KeyStore,
    MasterKey,
    WrappedDek,
    utc_now,
)

_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS keks ("
    " kek_id TEXT PRIMARY KEY, retention_class TEXT NOT NULL, day TEXT,"
    " wrapped BLOB NOT NULL, created_at TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS keks_class_day ON keks (retention_class, day)",
    "CREATE TABLE IF NOT EXISTS deks ("
    " record_id TEXT PRIMARY KEY, kek_id TEXT NOT NULL REFERENCES keks (kek_id),"
    " wrapped BLOB NOT NULL, created_at TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS deks_kek ON deks (kek_id)",
    # No key material here, ever: only what was destroyed, when and why.
    "CREATE TABLE IF NOT EXISTS destroyed ("
    " seq INTEGER PRIMARY KEY, key_id TEXT NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('kek', 'dek')),"
    " destroyed_at TEXT NOT NULL, reason TEXT NOT NULL, kek_id TEXT, dek_count INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS destroyed_key ON destroyed (key_id)",
]

_MAX_PARAMS = 500  # well under SQLite's limit on host parameters per statement


class SQLiteKeyStore(KeyStore):
    def __init__(
        self,
        path: Path,
        master: MasterKey,
        *,
        cache_size: int = DEFAULT_CACHE_SIZE,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        super().__init__(master, cache_size=cache_size, clock=clock)
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            with contextlib.suppress(FileExistsError):
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        self._lock = threading.RLock()
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "secure_delete=ON"):
            self._conn.execute(f"PRAGMA {pragma}")
        with self._write() as c:
            for statement in _SCHEMA:
                c.execute(statement)

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Cursor]:
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
    def _read(self) -> Iterator[sqlite3.Cursor]:
        with self._lock:
            yield self._conn.cursor()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- KEKs ---------------------------------------------------------------------------------

    def _select_kek(self, kek_id: str) -> bytes | None:
        with self._read() as c:
            row = c.execute("SELECT wrapped FROM keks WHERE kek_id = ?", (kek_id,)).fetchone()
        return None if row is None else bytes(row[0])

    def _insert_kek(
        self, kek_id: str, retention_class: str, day: date | None, wrapped: bytes, now: datetime
    ) -> bytes:
        with self._write() as c:
            if c.execute("SELECT 1 FROM destroyed WHERE key_id = ?", (kek_id,)).fetchone():
                raise KeyDestroyedError(f"KEK {kek_id} was destroyed; its id is not reused")
            c.execute(
                "INSERT INTO keks VALUES (?, ?, ?, ?, ?) ON CONFLICT (kek_id) DO NOTHING",
                (kek_id, retention_class, None if day is None else day.isoformat(), wrapped, now.isoformat()),
            )
            row = c.execute("SELECT wrapped FROM keks WHERE kek_id = ?", (kek_id,)).fetchone()
        return bytes(row[0])

    def _select_records_of_classes(self, classes: Sequence[str]) -> set[UUID]:
        marks = ",".join("?" * len(classes))
        with self._read() as c:
            rows = c.execute(
                "SELECT d.record_id FROM deks d JOIN keks k ON k.kek_id = d.kek_id"
                f" WHERE k.retention_class IN ({marks})",
                list(classes),
            ).fetchall()
        return {UUID(r[0]) for r in rows}

    def _select_keks(self, retention_class: str | None, before: date | None) -> list[KekInfo]:
        where, params = [], []
        if retention_class is not None:
            where.append("retention_class = ?")
            params.append(retention_class)
        if before is not None:
            where.append("day IS NOT NULL AND day < ?")
            params.append(before.isoformat())
        sql = "SELECT kek_id, retention_class, day, created_at FROM keks"
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._read() as c:
            rows = c.execute(sql + " ORDER BY day, kek_id", params).fetchall()
        return [
            KekInfo(
                r[0], r[1], None if r[2] is None else date.fromisoformat(r[2]), datetime.fromisoformat(r[3])
            )
            for r in rows
        ]

    def _delete_kek(self, kek_id: str, now: datetime, reason: str) -> int | None:
        with self._write() as c:
            if c.execute("SELECT 1 FROM keks WHERE kek_id = ?", (kek_id,)).fetchone() is None:
                return None
            count = c.execute("DELETE FROM deks WHERE kek_id = ?", (kek_id,)).rowcount
            c.execute("DELETE FROM keks WHERE kek_id = ?", (kek_id,))
            c.execute(
                "INSERT INTO destroyed (key_id, kind, destroyed_at, reason, kek_id, dek_count) "
                "VALUES (?, 'kek', ?, ?, NULL, ?)",
                (kek_id, now.isoformat(), reason, count),
            )
        self._truncate_wal()
        return count

    def _truncate_wal(self) -> None:
        # Destroyed rows were zeroed in the pages, but the WAL may still hold the old pages.
        with self._lock:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # -- DEKs ---------------------------------------------------------------------------------

    def _insert_deks(self, rows: Sequence[tuple[UUID, str, bytes]], now: datetime) -> dict[UUID, WrappedDek]:
        ids = [str(r[0]) for r in rows]
        stamp = now.isoformat()
        with self._write() as c:
            for chunk in _chunks(ids):
                marks = ",".join("?" * len(chunk))
                hit = c.execute(
                    f"SELECT key_id FROM destroyed WHERE key_id IN ({marks}) LIMIT 1", chunk
                ).fetchone()
                if hit:
                    raise KeyDestroyedError(f"data key of {hit[0]} was destroyed; its id is not reused")
            before = self._conn.total_changes
            try:
                # Existing keys stay (a retried ingest): the write lock is held, so whatever is
                # not inserted here was there before, and only then is it read back.
                c.executemany(
                    "INSERT INTO deks VALUES (?, ?, ?, ?) ON CONFLICT (record_id) DO NOTHING",
                    [
                        (rid, kek_id, wrapped, stamp)
                        for rid, (_, kek_id, wrapped) in zip(ids, rows, strict=True)
                    ],
                )
            except sqlite3.IntegrityError as e:  # the foreign key: the KEK is gone
                raise KeyDestroyedError("the KEK of these records was destroyed") from e
            if self._conn.total_changes - before == len(set(ids)):
                return {}
            existing = self._deks_in(c, ids)
            mine = {UUID(rid): wrapped for rid, (_, _, wrapped) in zip(ids, rows, strict=True)}
            return {rid: row for rid, row in existing.items() if row.wrapped != mine[rid]}

    def _deks_in(self, c: sqlite3.Cursor, ids: Sequence[str]) -> dict[UUID, WrappedDek]:
        found: dict[UUID, WrappedDek] = {}
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            for rid, kek_id, wrapped in c.execute(
                f"SELECT record_id, kek_id, wrapped FROM deks WHERE record_id IN ({marks})", chunk
            ):
                found[UUID(rid)] = WrappedDek(kek_id, bytes(wrapped))
        return found

    def _select_deks(self, record_ids: Sequence[UUID]) -> dict[UUID, WrappedDek]:
        with self._read() as c:
            return self._deks_in(c, [str(r) for r in record_ids])

    def _swap_dek(self, record_id: UUID, old: WrappedDek, new: WrappedDek) -> bool:
        with self._write() as c:
            try:
                changed = c.execute(
                    "UPDATE deks SET kek_id = ?, wrapped = ? "
                    "WHERE record_id = ? AND kek_id = ? AND wrapped = ?",
                    (new.kek_id, new.wrapped, str(record_id), old.kek_id, old.wrapped),
                ).rowcount
            except sqlite3.IntegrityError as e:
                raise KeyDestroyedError(f"KEK {new.kek_id} was destroyed") from e
        return changed == 1

    def _delete_dek(self, record_id: UUID, now: datetime, reason: str) -> bool:
        with self._write() as c:
            row = c.execute("SELECT kek_id FROM deks WHERE record_id = ?", (str(record_id),)).fetchone()
            if row is None:
                return False
            c.execute("DELETE FROM deks WHERE record_id = ?", (str(record_id),))
            c.execute(
                "INSERT INTO destroyed (key_id, kind, destroyed_at, reason, kek_id, dek_count) "
                "VALUES (?, 'dek', ?, ?, ?, 1)",
                (str(record_id), now.isoformat(), reason, row[0]),
            )
        self._truncate_wal()
        return True

    def _select_destroyed(self, key_id: str | None) -> list[Destruction]:
        sql = "SELECT key_id, kind, destroyed_at, reason, kek_id, dek_count FROM destroyed"
        params: tuple[str, ...] = ()
        if key_id is not None:
            sql += " WHERE key_id = ?"
            params = (key_id,)
        with self._read() as c:
            rows = c.execute(sql + " ORDER BY seq", params).fetchall()
        return [Destruction(r[0], r[1], datetime.fromisoformat(r[2]), r[3], r[4], r[5]) for r in rows]


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _MAX_PARAMS):
        yield items[start : start + _MAX_PARAMS]


__all__ = ["SQLiteKeyStore"]
