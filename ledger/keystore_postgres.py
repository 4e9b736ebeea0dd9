"""PostgreSQL adapter of the key store: its own schema (``alpr_keys``), never the event store's tables.

It may live in the same database as the events or, better, in another database or server with
other credentials: the constructor takes its own connection URL. Writers that race on the same
KEK both insert with ``ON CONFLICT DO NOTHING`` and read back the one stored. The foreign key from
``deks`` to ``keks`` refuses a data key wrapped under a KEK that another process has destroyed.

Deleted rows stay in the table's pages until VACUUM reuses them (and in WAL archives): the wrapped
keys there are useless without the master key, but run VACUUM after large purges, and keep the
key store's WAL archives and backups short-lived (see ``ledger.keystore``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import dict_row
from psycopg.sql import SQL, Identifier
from psycopg_pool import ConnectionPool

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

DEFAULT_SCHEMA = "alpr_keys"
_SCHEMA_LOCK = 7_346_222  # advisory-lock key: several processes creating the schema at once collide

_TABLES = [
    "CREATE TABLE IF NOT EXISTS {s}.keks ("
    " kek_id text PRIMARY KEY, retention_class text NOT NULL, day date,"
    " wrapped bytea NOT NULL, created_at timestamptz NOT NULL)",
    "CREATE INDEX IF NOT EXISTS keks_class_day ON {s}.keks (retention_class, day)",
    "CREATE TABLE IF NOT EXISTS {s}.deks ("
    " record_id uuid PRIMARY KEY, kek_id text NOT NULL REFERENCES {s}.keks (kek_id),"
    " wrapped bytea NOT NULL, created_at timestamptz NOT NULL)",
    "CREATE INDEX IF NOT EXISTS deks_kek ON {s}.deks (kek_id)",
    # No key material here, ever: only what was destroyed, when and why.
    "CREATE TABLE IF NOT EXISTS {s}.destroyed ("
    " seq bigserial PRIMARY KEY, key_id text NOT NULL, kind text NOT NULL CHECK (kind IN ('kek', 'dek')),"
    " destroyed_at timestamptz NOT NULL, reason text NOT NULL, kek_id text, dek_count bigint NOT NULL)",
    "CREATE INDEX IF NOT EXISTS destroyed_key ON {s}.destroyed (key_id)",
]


class PostgresKeyStore(KeyStore):
    def __init__(
        self,
        url: str,
        master: MasterKey,
        *,
        schema: str = DEFAULT_SCHEMA,
        pool_size: int = 4,
        cache_size: int = DEFAULT_CACHE_SIZE,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        super().__init__(master, cache_size=cache_size, clock=clock)
        self.schema = schema
        s = Identifier(schema)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (_SCHEMA_LOCK,))
            try:
                conn.execute(SQL("CREATE SCHEMA IF NOT EXISTS {}").format(s))
                for statement in _TABLES:
                    conn.execute(SQL(statement).format(s=s))
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (_SCHEMA_LOCK,))
        self._pool: ConnectionPool[psycopg.Connection[dict[str, Any]]] = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            kwargs={"row_factory": dict_row},
            open=True,
        )
        self._keks = SQL("{}.keks").format(s)
        self._deks = SQL("{}.deks").format(s)
        self._destroyed = SQL("{}.destroyed").format(s)

    def close(self) -> None:
        self._pool.close()

    def _rows(self, statement: Any, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._pool.connection() as conn:
            return list(conn.execute(statement, params).fetchall())

    # -- KEKs ---------------------------------------------------------------------------------

    def _select_records_of_classes(self, classes: Sequence[str]) -> set[UUID]:
        rows = self._rows(
            SQL(
                "SELECT d.record_id FROM {} d JOIN {} k ON k.kek_id = d.kek_id"
                " WHERE k.retention_class = ANY(%s)"
            ).format(self._deks, self._keks),
            (list(classes),),
        )
        return {r["record_id"] for r in rows}

    def _select_kek(self, kek_id: str) -> bytes | None:
        rows = self._rows(SQL("SELECT wrapped FROM {} WHERE kek_id = %s").format(self._keks), (kek_id,))
        return bytes(rows[0]["wrapped"]) if rows else None

    def _insert_kek(
        self, kek_id: str, retention_class: str, day: date | None, wrapped: bytes, now: datetime
    ) -> bytes:
        with self._pool.connection() as conn, conn.transaction():
            if conn.execute(
                SQL("SELECT 1 FROM {} WHERE key_id = %s").format(self._destroyed), (kek_id,)
            ).fetchone():
                raise KeyDestroyedError(f"KEK {kek_id} was destroyed; its id is not reused")
            conn.execute(
                SQL("INSERT INTO {} VALUES (%s, %s, %s, %s, %s) ON CONFLICT (kek_id) DO NOTHING").format(
                    self._keks
                ),
                (kek_id, retention_class, day, wrapped, now),
            )
            row = conn.execute(
                SQL("SELECT wrapped FROM {} WHERE kek_id = %s").format(self._keks), (kek_id,)
            ).fetchone()
        assert row is not None
        return bytes(row["wrapped"])

    def _select_keks(self, retention_class: str | None, before: date | None) -> list[KekInfo]:
        rows = self._rows(
            SQL(
                "SELECT kek_id, retention_class, day, created_at FROM {} "
                "WHERE (%(c)s::text IS NULL OR retention_class = %(c)s) "
                "AND (%(b)s::date IS NULL OR day < %(b)s) ORDER BY day, kek_id"
            ).format(self._keks),
            {"c": retention_class, "b": before},  # type: ignore[arg-type]
        )
        return [KekInfo(r["kek_id"], r["retention_class"], r["day"], r["created_at"]) for r in rows]

    def _delete_kek(self, kek_id: str, now: datetime, reason: str) -> int | None:
        with self._pool.connection() as conn, conn.transaction():
            # Lock the KEK row first: a concurrent insert of a DEK under it waits, then fails its FK.
            if not conn.execute(
                SQL("SELECT 1 FROM {} WHERE kek_id = %s FOR UPDATE").format(self._keks), (kek_id,)
            ).fetchone():
                return None
            count = conn.execute(
                SQL("DELETE FROM {} WHERE kek_id = %s").format(self._deks), (kek_id,)
            ).rowcount
            conn.execute(SQL("DELETE FROM {} WHERE kek_id = %s").format(self._keks), (kek_id,))
            conn.execute(
                SQL(
                    "INSERT INTO {} (key_id, kind, destroyed_at, reason, kek_id, dek_count) "
                    "VALUES (%s, 'kek', %s, %s, NULL, %s)"
                ).format(self._destroyed),
                (kek_id, now, reason, count),
            )
        return count

    # -- DEKs ---------------------------------------------------------------------------------

    def _insert_deks(self, rows: Sequence[tuple[UUID, str, bytes]], now: datetime) -> dict[UUID, WrappedDek]:
        ids = [r[0] for r in rows]
        with self._pool.connection() as conn, conn.transaction():
            hit = conn.execute(
                SQL("SELECT key_id FROM {} WHERE key_id = ANY(%s) LIMIT 1").format(self._destroyed),
                ([str(i) for i in ids],),
            ).fetchone()
            if hit:
                raise KeyDestroyedError(f"data key of {hit['key_id']} was destroyed; its id is not reused")
            try:
                inserted = conn.execute(
                    SQL(
                        "INSERT INTO {} (record_id, kek_id, wrapped, created_at) "
                        "SELECT r, k, w, %s FROM unnest(%s::uuid[], %s::text[], %s::bytea[]) AS t(r, k, w) "
                        "ON CONFLICT (record_id) DO NOTHING RETURNING record_id"
                    ).format(self._deks),
                    (now, ids, [r[1] for r in rows], [r[2] for r in rows]),
                ).fetchall()
            except psycopg.errors.ForeignKeyViolation as e:
                raise KeyDestroyedError("the KEK of these records was destroyed") from e
            if len(inserted) == len(ids):
                return {}
            new = {r["record_id"] for r in inserted}
            return self._deks_in(conn, [i for i in ids if i not in new])

    def _deks_in(
        self, conn: psycopg.Connection[dict[str, Any]], ids: Sequence[UUID]
    ) -> dict[UUID, WrappedDek]:
        rows = conn.execute(
            SQL("SELECT record_id, kek_id, wrapped FROM {} WHERE record_id = ANY(%s)").format(self._deks),
            (list(ids),),
        ).fetchall()
        return {r["record_id"]: WrappedDek(r["kek_id"], bytes(r["wrapped"])) for r in rows}

    def _select_deks(self, record_ids: Sequence[UUID]) -> dict[UUID, WrappedDek]:
        if not record_ids:
            return {}
        with self._pool.connection() as conn:
            return self._deks_in(conn, record_ids)

    def _swap_dek(self, record_id: UUID, old: WrappedDek, new: WrappedDek) -> bool:
        try:
            with self._pool.connection() as conn, conn.transaction():
                changed = conn.execute(
                    SQL(
                        "UPDATE {} SET kek_id = %s, wrapped = %s "
                        "WHERE record_id = %s AND kek_id = %s AND wrapped = %s"
                    ).format(self._deks),
                    (new.kek_id, new.wrapped, record_id, old.kek_id, old.wrapped),
                ).rowcount
        except psycopg.errors.ForeignKeyViolation as e:
            raise KeyDestroyedError(f"KEK {new.kek_id} was destroyed") from e
        return changed == 1

    def _delete_dek(self, record_id: UUID, now: datetime, reason: str) -> bool:
        with self._pool.connection() as conn, conn.transaction():
            row = conn.execute(
                SQL("DELETE FROM {} WHERE record_id = %s RETURNING kek_id").format(self._deks), (record_id,)
            ).fetchone()
            if row is None:
                return False
            conn.execute(
                SQL(
                    "INSERT INTO {} (key_id, kind, destroyed_at, reason, kek_id, dek_count) "
                    "VALUES (%s, 'dek', %s, %s, %s, 1)"
                ).format(self._destroyed),
                (str(record_id), now, reason, row["kek_id"]),
            )
        return True

    def _select_destroyed(self, key_id: str | None) -> list[Destruction]:
        rows = self._rows(
            SQL(
                "SELECT key_id, kind, destroyed_at, reason, kek_id, dek_count FROM {} "
                "WHERE %(k)s::text IS NULL OR key_id = %(k)s ORDER BY seq"
            ).format(self._destroyed),
            {"k": key_id},  # type: ignore[arg-type]
        )
        return [
            Destruction(r["key_id"], r["kind"], r["destroyed_at"], r["reason"], r["kek_id"], r["dek_count"])
            for r in rows
        ]


__all__ = ["DEFAULT_SCHEMA", "PostgresKeyStore"]
