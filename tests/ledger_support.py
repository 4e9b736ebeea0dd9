"""A small aggregate for ledger tests (the ledger does not care what its events say), plus helpers
that reach past the application the way an attacker with database access would."""

from __future__ import annotations

import sqlite3
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.domain import Aggregate, event

from ops.bootstrap import sqlite_path


class Note(Aggregate):
    """A stand-in aggregate: one ``Written`` event per note, optional ``Amended`` events."""

    @event("Written")
    def __init__(self, text: str, batch: str = "") -> None:
        self.text = text
        self.batch = batch

    @event("Amended")
    def amend(self, text: str) -> None:
        self.text = text


def notes(n: int, batch: str = "", size: int = 40) -> list[Note]:
    return [Note(text=f"note {i} " + "x" * size, batch=batch) for i in range(n)]


# -- raw database access for tamper tests ------------------------------------------------------

APPEND_ONLY_TABLES = ("stored_events", "alprledger_events", "ledger_entries", "ledger_checkpoints")


class RawDatabase:
    """Direct SQL against the store, bypassing the application and its append-only triggers."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url
        self.is_sqlite = database_url.startswith("sqlite://")
        self.events = "stored_events" if self.is_sqlite else "alprledger_events"
        self.order = "rowid" if self.is_sqlite else "notification_id"

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if self.is_sqlite:
            conn = sqlite3.connect(sqlite_path(self.url))
            try:
                rows = conn.execute(sql.replace("%s", "?"), params).fetchall()
                conn.commit()
                return rows
            finally:
                conn.close()
        with psycopg.connect(self.url, autocommit=True) as pg:
            cur = pg.execute(sql, params)  # type: ignore[arg-type]
            return cur.fetchall() if cur.description else []

    def drop_guards(self) -> None:
        if self.is_sqlite:
            for table in (self.events, "ledger_entries", "ledger_checkpoints"):
                for kind in ("no_update", "no_delete"):
                    self.execute(f"DROP TRIGGER IF EXISTS {table}_{kind}")
        else:
            for table in (self.events, "ledger_entries", "ledger_checkpoints"):
                self.execute(f'DROP TRIGGER IF EXISTS "{table}_append_only" ON "{table}"')
                self.execute(f'DROP TRIGGER IF EXISTS "{table}_no_truncate" ON "{table}"')

    def event_keys(self) -> list[tuple[Any, int]]:
        """(originator_id, originator_version) of every event, in log order."""
        return [
            (r[0], r[1])
            for r in self.execute(
                f"SELECT originator_id, originator_version FROM {self.events} ORDER BY {self.order}"
            )
        ]

    def event_at(self, position: int) -> tuple[Any, int, str, bytes]:
        row = self.execute(
            f"SELECT originator_id, originator_version, topic, state FROM {self.events} "
            f"ORDER BY {self.order} LIMIT 1 OFFSET {position}"
        )[0]
        return row[0], row[1], row[2], bytes(row[3])

    def key_at(self, position: int) -> tuple[Any, int]:
        oid, version, _, _ = self.event_at(position)
        return oid, version

    def update_event(self, position: int, column: str, value: Any) -> None:
        oid, version = self.key_at(position)
        self.execute(
            f"UPDATE {self.events} SET {column} = %s WHERE originator_id = %s AND originator_version = %s",
            (value, oid, version),
        )

    def uuid_text(self, oid: Any) -> str:
        return str(UUID(str(oid)))
