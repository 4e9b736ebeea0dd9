"""SQLite adapter: the chained application recorder and the ledger store.

The chain is hooked in ``_insert_events``, inside the parent's transaction: the event inserts take
SQLite's write lock first, so the head read here cannot race another writer, and an exception
rolls back events and ledger rows together.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore

from ledger.chain import Clock, append, head_from_rows, head_rows
from ledger.store import (
    CHECKPOINT_TABLE,
    LEDGER_TABLE,
    LedgerStore,
    StoredCheckpoint,
    StoredEventRow,
)


def _now_us() -> int:
    return time.time_ns() // 1000


def _append_only(table: str) -> list[str]:
    # Defence in depth: the application never updates or deletes these rows, and the database
    # refuses to. Someone with raw access can still drop the triggers; `verify` catches that.
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END",
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END",
    ]


class ChainedSQLiteApplicationRecorder(SQLiteApplicationRecorder):
    clock: Clock = staticmethod(_now_us)

    def construct_create_table_statements(self) -> list[str]:
        statements = super().construct_create_table_statements()
        statements += [
            f"CREATE TABLE IF NOT EXISTS {LEDGER_TABLE} ("
            "idx INTEGER PRIMARY KEY, entry BLOB NOT NULL, chain BLOB NOT NULL, "
            "hashes BLOB NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {CHECKPOINT_TABLE} ("
            "size INTEGER PRIMARY KEY, root BLOB NOT NULL, note TEXT NOT NULL, "
            "signed_at TEXT NOT NULL)",
        ]
        for table in (self.events_table_name, LEDGER_TABLE, CHECKPOINT_TABLE):
            statements += _append_only(table)
        return statements

    def _insert_events(
        self,
        c: SQLiteCursor,
        stored_events: Sequence[StoredEvent],
        **kwargs: Any,
    ) -> Sequence[int] | None:
        if not stored_events:
            return []
        # The first statement must be a write: a deferred transaction that reads first cannot
        # upgrade to the write lock once another process has written (SQLITE_BUSY at once).
        # The first insert takes the lock and tells us its rowid; holding the lock, the rest
        # get the following rowids, which we check rather than assume.
        params = [
            (
                s.originator_id.hex if isinstance(s.originator_id, UUID) else s.originator_id,
                s.originator_version,
                s.topic,
                s.state,
            )
            for s in stored_events
        ]
        c.execute(self.insert_events_statement, params[0])
        first = c.lastrowid
        if len(params) > 1:
            c.executemany(self.insert_events_statement, params[1:])
        c.execute(f"SELECT max(rowid) FROM {self.events_table_name}")
        last_id = c.fetchone()[0]
        if last_id != first + len(params) - 1:
            raise IntegrityError(f"notification ids not contiguous ({first}..{last_id})")
        c.execute(f"SELECT max(idx) FROM {LEDGER_TABLE}")
        last = c.fetchone()[0]
        size = 0 if last is None else last + 1
        wanted = head_rows(size)
        rows: dict[int, tuple[bytes, bytes]] = {}
        if wanted:
            marks = ",".join("?" * len(wanted))
            c.execute(f"SELECT idx, chain, hashes FROM {LEDGER_TABLE} WHERE idx IN ({marks})", wanted)
            rows = {r[0]: (r[1], r[2]) for r in c.fetchall()}
        head = head_from_rows(size, rows)
        ledger_rows, _ = append(head, stored_events, type(self).clock())
        c.executemany(f"INSERT INTO {LEDGER_TABLE} VALUES (?,?,?,?)", ledger_rows)
        return list(range(first, last_id + 1))


class SQLiteLedgerStore(LedgerStore):
    def __init__(self, datastore: SQLiteDatastore, events_table: str = "stored_events") -> None:
        self.datastore = datastore
        self.events_table = events_table

    def size(self) -> int:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT max(idx) FROM {LEDGER_TABLE}")
            last = c.fetchone()[0]
        return 0 if last is None else int(last) + 1

    def fetch_rows(self, indices: Sequence[int]) -> dict[int, tuple[bytes, bytes]]:
        if not indices:
            return {}
        marks = ",".join("?" * len(indices))
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT idx, chain, hashes FROM {LEDGER_TABLE} WHERE idx IN ({marks})",
                list(indices),
            )
            return {r[0]: (bytes(r[1]), bytes(r[2])) for r in c.fetchall()}

    def entries(self, start: int, limit: int) -> list[tuple[int, bytes]]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT idx, entry FROM {LEDGER_TABLE} WHERE idx >= ? ORDER BY idx LIMIT ?",
                (start, limit),
            )
            return [(r[0], bytes(r[1])) for r in c.fetchall()]

    def iter_ledger(self, start: int = 0, batch: int = 5000) -> Iterator[tuple[int, bytes, bytes, bytes]]:
        # Keyset pages: a row that is missing or out of order still shows up to the caller.
        after = start - 1
        while True:
            with self.datastore.transaction(commit=False) as c:
                c.execute(
                    f"SELECT idx, entry, chain, hashes FROM {LEDGER_TABLE} "
                    "WHERE idx > ? ORDER BY idx LIMIT ?",
                    (after, batch),
                )
                page = c.fetchall()
            if not page:
                return
            for r in page:
                yield r[0], r[1], r[2], r[3]
            after = page[-1][0]

    def iter_events(self, batch: int = 5000) -> Iterator[StoredEventRow]:
        after = -1
        while True:
            with self.datastore.transaction(commit=False) as c:
                c.execute(
                    f"SELECT rowid, originator_id, originator_version, topic, state "
                    f"FROM {self.events_table} WHERE rowid > ? ORDER BY rowid LIMIT ?",
                    (after, batch),
                )
                page = c.fetchall()
            if not page:
                return
            for r in page:
                oid = r[1]
                # Stored as UUID hex; the entry commits to the canonical hyphenated text.
                if len(oid) == 32:
                    oid = f"{oid[:8]}-{oid[8:12]}-{oid[12:16]}-{oid[16:20]}-{oid[20:]}"
                yield StoredEventRow(oid, r[2], r[3], r[4])
            after = page[-1][0]

    def add_checkpoint(self, checkpoint: StoredCheckpoint) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                f"INSERT OR IGNORE INTO {CHECKPOINT_TABLE} VALUES (?,?,?,?)",
                (checkpoint.size, checkpoint.root, checkpoint.note, checkpoint.signed_at.isoformat()),
            )

    def _checkpoints(self, where: str, params: tuple[Any, ...]) -> list[StoredCheckpoint]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT size, root, note, signed_at FROM {CHECKPOINT_TABLE} {where}", params)
            return [
                StoredCheckpoint(r[0], bytes(r[1]), r[2], datetime.fromisoformat(r[3])) for r in c.fetchall()
            ]

    def checkpoints(self) -> list[StoredCheckpoint]:
        return self._checkpoints("ORDER BY size", ())

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        found = self._checkpoints("ORDER BY size DESC LIMIT 1", ())
        return found[0] if found else None

    def checkpoint_at(self, size: int) -> StoredCheckpoint | None:
        found = self._checkpoints("WHERE size = ?", (size,))
        return found[0] if found else None
