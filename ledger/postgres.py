"""PostgreSQL adapter: the chained application recorder and the ledger store.

``insert_events`` is taken over whole so that the table lock, the head read, the event insert and
the ledger insert run in one explicit transaction with nothing after COMMIT that could fail:
eventsourcing's own hooks either run before its lock or re-raise errors only after COMMIT.
Writers serialise on the events table's EXCLUSIVE lock (readers are not blocked), so the ledger
index is gap-free across processes, and a rolled-back transaction leaves neither event nor entry.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.utils import retry
from psycopg.sql import SQL, Composed, Identifier

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


class ChainedPostgresApplicationRecorder(PostgresApplicationRecorder):
    clock: Clock = staticmethod(_now_us)

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        schema = Identifier(self.datastore.schema)
        ledger = Identifier(LEDGER_TABLE)
        self.sql_create_statements += [
            SQL(
                "CREATE TABLE IF NOT EXISTS {}.{} (idx bigint PRIMARY KEY, entry bytea NOT NULL, "
                "chain bytea NOT NULL, hashes bytea NOT NULL)"
            ).format(schema, ledger),
            SQL(
                "CREATE TABLE IF NOT EXISTS {}.{} (size bigint PRIMARY KEY, root bytea NOT NULL, "
                "note text NOT NULL, signed_at timestamptz NOT NULL)"
            ).format(schema, Identifier(CHECKPOINT_TABLE)),
            SQL(
                "CREATE OR REPLACE FUNCTION {}.alpr_append_only() RETURNS trigger "
                "LANGUAGE plpgsql AS $$ BEGIN "
                "RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
            ).format(schema),
        ]
        for table in (self.events_table_name, LEDGER_TABLE, CHECKPOINT_TABLE):
            self.sql_create_statements += self._append_only(table)
        self.select_max_idx = SQL("SELECT max(idx) AS m FROM {}.{}").format(schema, ledger)
        self.select_head_rows = SQL("SELECT idx, chain, hashes FROM {}.{} WHERE idx = ANY(%s)").format(
            schema, ledger
        )
        self.copy_ledger = SQL("COPY {}.{} (idx, entry, chain, hashes) FROM STDIN (FORMAT BINARY)").format(
            schema, ledger
        )

    def _append_only(self, table: str) -> list[Composed]:
        # Defence in depth: the application never updates or deletes these rows, and the database
        # refuses to. Someone with raw access can still drop the triggers; `verify` catches that.
        schema = Identifier(self.datastore.schema)
        return [
            SQL(
                "CREATE OR REPLACE TRIGGER {} BEFORE UPDATE OR DELETE ON {}.{} "
                "FOR EACH ROW EXECUTE FUNCTION {}.alpr_append_only()"
            ).format(Identifier(f"{table}_append_only"), schema, Identifier(table), schema),
            SQL(
                "CREATE OR REPLACE TRIGGER {} BEFORE TRUNCATE ON {}.{} "
                "FOR EACH STATEMENT EXECUTE FUNCTION {}.alpr_append_only()"
            ).format(Identifier(f"{table}_no_truncate"), schema, Identifier(table), schema),
        ]

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        if not stored_events:
            return []
        if kwargs.get("tracking") is not None:
            raise NotImplementedError("tracking records are not written by the chained recorder")
        pg_events = [
            self.construct_pg_stored_event(e.originator_id, e.originator_version, e.topic, e.state)
            for e in stored_events
        ]
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            self._lock_table(curs)
            curs.execute(self.select_max_idx, prepare=True)
            row = curs.fetchone()
            last = row["m"] if row else None
            size = 0 if last is None else last + 1
            wanted = head_rows(size)
            rows: dict[int, tuple[bytes, bytes]] = {}
            if wanted:
                curs.execute(self.select_head_rows, (wanted,), prepare=True)
                rows = {r["idx"]: (bytes(r["chain"]), bytes(r["hashes"])) for r in curs.fetchall()}
            head = head_from_rows(size, rows)
            ledger_rows, _ = append(head, stored_events, type(self).clock())
            curs.execute(self.insert_events_statement, (pg_events,))
            ids = [r["notification_id"] for r in curs.fetchall()]
            with curs.copy(self.copy_ledger) as copy:
                copy.set_types(["int8", "bytea", "bytea", "bytea"])
                for ledger_row in ledger_rows:
                    copy.write_row(ledger_row)
            self._notify_channel(curs)
        return ids


class PostgresLedgerStore(LedgerStore):
    def __init__(self, datastore: PostgresDatastore, events_table: str) -> None:
        self.datastore = datastore
        schema = Identifier(datastore.schema)
        self.ledger = SQL("{}.{}").format(schema, Identifier(LEDGER_TABLE))
        self.checkpoints_table = SQL("{}.{}").format(schema, Identifier(CHECKPOINT_TABLE))
        self.events = SQL("{}.{}").format(schema, Identifier(events_table))

    def _query(self, statement: Composed, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, params, prepare=True)
            return list(curs.fetchall())

    def size(self) -> int:
        rows = self._query(SQL("SELECT max(idx) AS m FROM {}").format(self.ledger))
        last = rows[0]["m"]
        return 0 if last is None else int(last) + 1

    def fetch_rows(self, indices: Sequence[int]) -> dict[int, tuple[bytes, bytes]]:
        if not indices:
            return {}
        rows = self._query(
            SQL("SELECT idx, chain, hashes FROM {} WHERE idx = ANY(%s)").format(self.ledger),
            (list(indices),),
        )
        return {r["idx"]: (bytes(r["chain"]), bytes(r["hashes"])) for r in rows}

    def entries(self, start: int, limit: int) -> list[tuple[int, bytes]]:
        rows = self._query(
            SQL("SELECT idx, entry FROM {} WHERE idx >= %s ORDER BY idx LIMIT %s").format(self.ledger),
            (start, limit),
        )
        return [(r["idx"], bytes(r["entry"])) for r in rows]

    def iter_ledger(self, start: int = 0, batch: int = 5000) -> Iterator[tuple[int, bytes, bytes, bytes]]:
        after = start - 1
        statement = SQL(
            "SELECT idx, entry, chain, hashes FROM {} WHERE idx > %s ORDER BY idx LIMIT %s"
        ).format(self.ledger)
        while True:
            page = self._query(statement, (after, batch))
            if not page:
                return
            for r in page:
                yield r["idx"], bytes(r["entry"]), bytes(r["chain"]), bytes(r["hashes"])
            after = page[-1]["idx"]

    def iter_events(self, batch: int = 5000) -> Iterator[StoredEventRow]:
        after = -1
        statement = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state FROM {} "
            "WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
        ).format(self.events)
        while True:
            page = self._query(statement, (after, batch))
            if not page:
                return
            for r in page:
                yield StoredEventRow(
                    str(r["originator_id"]), r["originator_version"], r["topic"], bytes(r["state"])
                )
            after = page[-1]["notification_id"]

    def add_checkpoint(self, checkpoint: StoredCheckpoint) -> None:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                SQL("INSERT INTO {} VALUES (%s, %s, %s, %s) ON CONFLICT (size) DO NOTHING").format(
                    self.checkpoints_table
                ),
                (checkpoint.size, checkpoint.root, checkpoint.note, checkpoint.signed_at),
            )

    def _checkpoints(self, tail: str, params: Sequence[Any] = ()) -> list[StoredCheckpoint]:
        rows = self._query(
            SQL("SELECT size, root, note, signed_at FROM {} ").format(self.checkpoints_table) + SQL(tail),
            params,
        )
        return [StoredCheckpoint(r["size"], bytes(r["root"]), r["note"], r["signed_at"]) for r in rows]

    def checkpoints(self) -> list[StoredCheckpoint]:
        return self._checkpoints("ORDER BY size")

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        found = self._checkpoints("ORDER BY size DESC LIMIT 1")
        return found[0] if found else None

    def checkpoint_at(self, size: int) -> StoredCheckpoint | None:
        found = self._checkpoints("WHERE size = %s", (size,))
        return found[0] if found else None
