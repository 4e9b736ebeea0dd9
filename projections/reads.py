"""The read index: every live read, by plate, reader, vehicle, place and time, for the five searches.

Two tables (UNLOGGED on PostgreSQL, see :mod:`projections.store`), plus one SQLite R*Tree:

- ``read_plates`` — the plate dictionary: ``plate_id``, ``plate``, ``skeleton`` (the plate with
  every OCR-confusable character folded to its class's representative, :func:`domain.matching.
  confusable_key`). A city has far fewer distinct plates than reads, so partial and confusable
  patterns are matched against the dictionary first and only the matching ids reach the reads.
- ``read_index`` — one row per live read: ``rid`` (a compact integer key), ``read_id``,
  ``plate_id``, ``state``, ``camera_id``, ``camera_kind``, ``patrol_vehicle``, ``latitude``,
  ``longitude``, ``captured_at`` (integer microseconds since the epoch, UTC: exact, compact, and
  compared the same on both backends), ``day`` (the UTC capture day, ISO, the unit of day purges)
  and ``confidence``.

Indexes, by search type:

- plate, complete: ``read_plates(plate)`` unique, then the covering index ``read_index(plate_id,
  captured_at, read_id, ...every other result column)`` (PostgreSQL: ``INCLUDE``) — one dictionary
  probe and one contiguous range of one index, already in result order. A plate's reads are spread
  over the whole table (rows arrive in time order), so without the covering columns each result
  was one random page read: ~100 ms for a plate with ~2,000 reads on a cold cache at 10M reads.
  Index changes like this one need no rebuild: ``create`` drops old indexes
  (``_DROPPED_INDEXES``) and builds new ones on the rows in place.
- plate, partial or confusable: SQLite — ``GLOB`` over the dictionary (``plate`` / ``skeleton``;
  a pattern with a known prefix uses the btree, others scan the small dictionary). An FTS5 trigram
  table was considered and left out: SQLite 3.40 has no FTS5 ``secure-delete``, so a purged plate's
  trigrams would stay in the index segments until a merge, and a purge must leave the plate
  nowhere on disk. PostgreSQL — ``pg_trgm`` GIN indexes on ``plate`` and ``skeleton`` answer
  ``LIKE`` patterns with any known run of three characters (``CREATE EXTENSION IF NOT EXISTS
  pg_trgm``: a trusted extension; without it the btree ``text_pattern_ops`` index serves prefixes).
- fixed readers: ``read_index(camera_id, captured_at)``; mobile readers:
  ``read_index(patrol_vehicle, captured_at)`` — each reader's reads of the window are one range.
  Associates use the camera index too: for each sighting, the reads of its camera within
  ±window seconds.
- area: SQLite — a 3-D R*Tree ``read_geo(rid, min_lon, max_lon, min_lat, max_lat, min_minute,
  max_minute)`` (time as minutes since the epoch), queried with the area's bounding box AND the
  window, so it yields only reads inside both: a 2-D tree had to start from the window's time range
  (a day of a 10M-read city is ~330k rows, each probed against the tree: ~0.3-0.5 s) or from every
  read ever taken in the box. An older 2-D tree is rebuilt in place from the rows when the view
  opens. PostgreSQL — GiST on ``point(longitude, latitude)``, queried with ``<@ box``.
  Either is only a prefilter: the exact point-in-polygon or haversine test follows in
  :mod:`projections.search`. R*Tree coordinates are 32-bit floats rounded outwards (a minute
  is ~2 minutes wide at today's dates), so the box never loses a point that is inside; the exact
  window is checked on ``captured_at``.
- time alone: SQLite — btree ``read_index(captured_at)`` (the day purges' index; plate patterns
  never start there: :func:`projections.search.plate_search` keeps the dictionary as the outer
  loop with a ``CROSS JOIN``, then one range of the covering plate index per matching plate, the
  window included — left to itself SQLite walked the whole index in time order for a pattern with
  no known prefix); PostgreSQL — BRIN on ``captured_at`` (reads arrive nearly in time order, so a
  few pages of BRIN summarise millions of rows).
- purges: SQLite — the time index (a UTC day is the ``captured_at`` range [midnight, next
  midnight)); no index on ``day``, which every insert and purge would also have to maintain;
  PostgreSQL — ``read_index(day)``.

Purges. A read whose fields arrive ``PURGED`` is never indexed. On ``Purge.Executed``:

- a day purge of class ``reads`` deletes that day's reads except those still keyed on a hold or a
  case (``keystore.records_of_classes(["hold", "case"])``: re-keyed before the day's key went);
- a purge naming records deletes those whose data key is gone (``keystore.data_keys``);
- one statement per table for all of them (SQLite: their rids in an in-memory temp table, the
  R*Tree rows first, with a larger page cache for the transaction so the day's dirty index pages
  are not spilled to the WAL over and over; PostgreSQL: ``DELETE ... RETURNING plate_id``);
- then dictionary rows no read uses any more are deleted, and the runner makes the deletion final
  on disk (SQLite ``secure_delete`` + WAL truncation; PostgreSQL VACUUM FULL, which rewrites the
  tables into new files): after the page for a day purge (``apply`` returns ``Erasure.NOW``); for
  records shredded on request (``Erasure.LATER``) PostgreSQL's rewrite waits for the next follower
  tick or retention run (:mod:`projections.store` says what stays on disk until then).

Range-partitioning ``read_index`` by day on PostgreSQL (so a day purge drops a partition's files
at once) was considered and not done yet: held and case reads must survive their day's purge, so
a dropped partition would first have to give them up to another one; delete + VACUUM FULL is
correct today and its cost is one rewrite per purge run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.utils import get_topic

from domain.matching import confusable_key
from domain.read import Read
from domain.retention import Purge
from domain.values import is_purged
from ops.keys import READS
from projections.base import Erasure, Projection
from projections.registry import register
from projections.store import Cursor, ProjectionDB

PLATES = "read_plates"
READS_TABLE = "read_index"
GEO = "read_geo"
_DOOMED = "read_purge_doomed"
_PURGE_CACHE_KIB = 256 * 1024
_CHUNK = 500

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def to_micros(moment: datetime) -> int:
    """``moment`` as integer microseconds since the epoch (exact, unlike ``timestamp()``)."""
    return (moment.astimezone(UTC) - EPOCH) // _MICROSECOND


def from_micros(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=int(value))


def chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def marks(n: int) -> str:
    return ", ".join("?" * n)


class ReadIndex(Projection):
    """The search index of live reads (see the module docstring for tables and indexes)."""

    name: ClassVar[str] = "reads"
    version: ClassVar[int] = 1
    topics: ClassVar[tuple[str, ...]] = (get_topic(Read.Captured), get_topic(Purge.Executed))

    def __init__(self, keystore: Any, dialect: str) -> None:
        self.keystore = keystore
        self.dialect = dialect
        tables = (PLATES, READS_TABLE, GEO) if dialect == "sqlite" else (PLATES, READS_TABLE)
        self.tables = tables  # type: ignore[misc]
        self.trigram = False

    # -- schema --------------------------------------------------------------------------------

    def create(self, c: Cursor, db: ProjectionDB) -> None:
        if db.dialect == "sqlite":
            self._create_sqlite(c)
        else:
            self._create_postgres(c)

    def _create_sqlite(self, c: Cursor) -> None:
        c.execute(
            f"CREATE TABLE IF NOT EXISTS {PLATES} (plate_id INTEGER PRIMARY KEY, plate TEXT NOT NULL UNIQUE,"
            " skeleton TEXT NOT NULL)"
        )
        c.execute(f"CREATE INDEX IF NOT EXISTS {PLATES}_skeleton ON {PLATES} (skeleton)")
        c.execute(
            f"CREATE TABLE IF NOT EXISTS {READS_TABLE} (rid INTEGER PRIMARY KEY,"
            " read_id TEXT NOT NULL UNIQUE, plate_id INTEGER NOT NULL, state TEXT, camera_id TEXT NOT NULL,"
            " camera_kind TEXT NOT NULL,"
            " patrol_vehicle TEXT, latitude REAL NOT NULL, longitude REAL NOT NULL,"
            " captured_at INTEGER NOT NULL, day TEXT NOT NULL, confidence REAL NOT NULL)"
        )
        for name in _DROPPED_INDEXES:
            c.execute(f"DROP INDEX IF EXISTS {READS_TABLE}_{name}")
        c.execute(
            f"CREATE INDEX IF NOT EXISTS {READS_TABLE}_plate_cover ON {READS_TABLE}"
            f" (plate_id, captured_at, {_COVERED})"
        )
        for name in _DROPPED_SQLITE_INDEXES:
            c.execute(f"DROP INDEX IF EXISTS {READS_TABLE}_{name}")
        for name, columns in _READ_INDEXES:
            if name not in _DROPPED_SQLITE_INDEXES:
                c.execute(f"CREATE INDEX IF NOT EXISTS {READS_TABLE}_{name} ON {READS_TABLE} ({columns})")
        c.execute(f"SELECT COUNT(*) FROM pragma_table_info('{GEO}')")
        shape = int(c.fetchone()[0])
        if shape and shape != len(_GEO_COLUMNS):  # an earlier 2-D tree: rebuilt from the rows in place
            c.execute(f"DROP TABLE {GEO}")
        c.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS {GEO} USING rtree({', '.join(_GEO_COLUMNS)})")
        if shape and shape != len(_GEO_COLUMNS):
            c.execute(f"INSERT INTO {GEO} SELECT {_GEO_VALUES} FROM {READS_TABLE}")

    def _create_postgres(self, c: Cursor) -> None:
        c.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
        if c.fetchone() is not None:
            c.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            self.trigram = True
        c.execute(
            f"CREATE UNLOGGED TABLE IF NOT EXISTS {PLATES} (plate_id BIGSERIAL PRIMARY KEY,"
            ' plate TEXT COLLATE "C" NOT NULL UNIQUE, skeleton TEXT COLLATE "C" NOT NULL)'
        )
        c.execute(f"CREATE INDEX IF NOT EXISTS {PLATES}_skeleton ON {PLATES} (skeleton)")
        if self.trigram:
            for column in ("plate", "skeleton"):
                c.execute(
                    f"CREATE INDEX IF NOT EXISTS {PLATES}_{column}_trgm ON {PLATES}"
                    f" USING gin ({column} gin_trgm_ops)"
                )
        c.execute(
            f"CREATE UNLOGGED TABLE IF NOT EXISTS {READS_TABLE} (rid BIGSERIAL PRIMARY KEY,"
            ' read_id TEXT COLLATE "C" NOT NULL UNIQUE, plate_id BIGINT NOT NULL, state TEXT,'
            " camera_id TEXT NOT NULL, camera_kind TEXT NOT NULL, patrol_vehicle TEXT,"
            " latitude DOUBLE PRECISION NOT NULL, longitude DOUBLE PRECISION NOT NULL,"
            " captured_at BIGINT NOT NULL, day TEXT NOT NULL, confidence DOUBLE PRECISION NOT NULL)"
        )
        for name in _DROPPED_INDEXES:
            c.execute(f"DROP INDEX IF EXISTS {READS_TABLE}_{name}")
        c.execute(
            f"CREATE INDEX IF NOT EXISTS {READS_TABLE}_plate_cover ON {READS_TABLE}"
            f" (plate_id, captured_at, read_id) INCLUDE ({_COVERED.removeprefix('read_id, ')})"
        )
        for name, columns in _READ_INDEXES:
            if name != "time":
                c.execute(f"CREATE INDEX IF NOT EXISTS {READS_TABLE}_{name} ON {READS_TABLE} ({columns})")
        c.execute(f"CREATE INDEX IF NOT EXISTS {READS_TABLE}_time ON {READS_TABLE} USING brin (captured_at)")
        c.execute(
            f"CREATE INDEX IF NOT EXISTS {READS_TABLE}_geo ON {READS_TABLE}"
            " USING gist (point(longitude, latitude))"
        )

    def drop(self, c: Cursor, db: ProjectionDB) -> None:
        for table in (GEO, READS_TABLE, PLATES):
            c.execute(f"DROP TABLE IF EXISTS {table}")

    # -- events --------------------------------------------------------------------------------

    def apply(self, c: Cursor, db: ProjectionDB, events: Sequence[Any]) -> bool | Erasure:
        day_purged = record_purged = False
        batch: list[Any] = []
        for event in events:
            if isinstance(event, Read.Captured):
                if not is_purged(event.plate):
                    batch.append(event)
            elif isinstance(event, Purge.Executed):
                self._insert(c, db, batch)  # a purge applies to what came before it
                batch = []
                if self._purge(c, db, event):
                    if event.scope == "kek":
                        day_purged = True
                    else:
                        record_purged = True
        self._insert(c, db, batch)
        # A day's purge (a retention run) makes its deletion final at once; records shredded on
        # request may wait for the next follower tick (projections.store: what stays until then).
        if day_purged:
            return Erasure.NOW
        return Erasure.LATER if record_purged else False

    def _insert(self, c: Cursor, db: ProjectionDB, events: Sequence[Any]) -> None:
        if not events:
            return
        plates = sorted({e.plate for e in events})
        c.executemany(
            db.sql(f"INSERT INTO {PLATES} (plate, skeleton) VALUES (?, ?) ON CONFLICT (plate) DO NOTHING"),
            [(p, confusable_key(p)) for p in plates],
        )
        ids: dict[str, int] = {}
        for part in chunks(plates):
            c.execute(
                db.sql(f"SELECT plate, plate_id FROM {PLATES} WHERE plate IN ({marks(len(part))})"), part
            )
            ids.update((row[0], int(row[1])) for row in c.fetchall())
        last = 0
        if db.dialect == "sqlite":  # the R*Tree rows of this batch are those after the last rid
            c.execute(f"SELECT COALESCE(MAX(rid), 0) FROM {READS_TABLE}")
            last = int(c.fetchone()[0])
        c.executemany(
            db.sql(
                f"INSERT INTO {READS_TABLE} (read_id, plate_id, state, camera_id, camera_kind,"
                " patrol_vehicle, latitude, longitude, captured_at, day, confidence)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (read_id) DO NOTHING"
            ),
            [
                (
                    str(e.originator_id),
                    ids[e.plate],
                    None if is_purged(e.state) else e.state,
                    e.camera_id,
                    e.camera_kind,
                    None if is_purged(e.patrol_vehicle) else e.patrol_vehicle,
                    float(e.latitude),
                    float(e.longitude),
                    to_micros(e.captured_at),
                    e.captured_at.astimezone(UTC).date().isoformat(),
                    float(e.confidence),
                )
                for e in events
            ],
        )
        if db.dialect == "sqlite":
            c.execute(
                f"INSERT INTO {GEO} SELECT {_GEO_VALUES} FROM {READS_TABLE} WHERE rid > ?",
                (last,),
            )

    def _purge(self, c: Cursor, db: ProjectionDB, purge: Any) -> bool:
        """Delete the rows of reads ``purge`` shredded; True when any were deleted.

        A day's rows go in one statement per table (not one per chunk of rids): each row still
        leaves every index of the table, but SQLite walks the day's rows once per table, in rid
        order, and PostgreSQL runs one plan over them."""
        doomed: list[tuple[int, int]] = []  # rid, plate_id: reads named by the purge
        named = [str(r) for r in purge.record_ids]
        if named:
            found: list[tuple[int, str, int]] = []
            for part in chunks(named):
                c.execute(
                    db.sql(
                        f"SELECT rid, read_id, plate_id FROM {READS_TABLE}"
                        f" WHERE read_id IN ({marks(len(part))})"
                    ),
                    part,
                )
                found.extend((int(r[0]), str(r[1]), int(r[2])) for r in c.fetchall())
            alive = {str(k) for k in self.keystore.data_keys([UUID(r[1]) for r in found])} if found else set()
            doomed.extend((r[0], r[2]) for r in found if r[1] not in alive)
        # A day key's purge (scope "kek") shreds the whole day; a single read's purge names its day
        # too (scope "record") but shreds that read only.
        day: str | None = None
        if purge.scope == "kek" and purge.retention_class == READS and purge.day is not None:
            day = date.fromisoformat(purge.day).isoformat()
        if day is None and not doomed:
            return False
        if db.dialect == "sqlite":
            return self._purge_sqlite(c, day, doomed)
        return self._purge_postgres(c, day, doomed)

    def _kept(self) -> list[str]:
        """Read ids still keyed on a hold or a case: they survive their day's purge."""
        return sorted(str(k) for k in self.keystore.records_of_classes(["hold", "case"]))

    def _purge_sqlite(self, c: Cursor, day: str | None, named: Sequence[tuple[int, int]]) -> bool:
        # The doomed rids and plate ids (integers, nothing personal) in a temp table: in memory
        # (temp_store=MEMORY), dropped before the transaction ends.
        c.execute(f"DROP TABLE IF EXISTS temp.{_DOOMED}")
        c.execute(f"CREATE TEMP TABLE {_DOOMED} (rid INTEGER PRIMARY KEY, plate_id INTEGER NOT NULL)")
        # A day's rows are spread over every page of the read-id and plate indexes: with the
        # default 2 MiB page cache, dirty pages spill to the WAL and are written again and again
        # within the one transaction. A larger cache for the purge only (memory as pages are used).
        c.execute("PRAGMA cache_size")
        cache = int(c.fetchone()[0])
        if day is not None:
            c.execute(f"PRAGMA cache_size = {min(cache, -_PURGE_CACHE_KIB)}")
        try:
            if named:
                c.executemany(f"INSERT OR IGNORE INTO temp.{_DOOMED} VALUES (?, ?)", named)
            if day is not None:
                # The day's reads by the time index (SQLite keeps no day index): a UTC day is
                # exactly the captured_at range [midnight, next midnight).
                start = datetime.combine(date.fromisoformat(day), time(), UTC)
                c.execute(
                    f"INSERT OR IGNORE INTO temp.{_DOOMED} SELECT rid, plate_id FROM {READS_TABLE}"
                    " WHERE captured_at >= ? AND captured_at < ? AND day = ?"
                    " AND read_id NOT IN (SELECT value FROM json_each(?))",
                    (to_micros(start), to_micros(start + timedelta(days=1)), day, json.dumps(self._kept())),
                )
            c.execute(f"SELECT COUNT(*) FROM temp.{_DOOMED}")
            if not int(c.fetchone()[0]):
                return False
            gone = f"rid IN (SELECT rid FROM temp.{_DOOMED})"
            c.execute(f"DELETE FROM {GEO} WHERE {gone}")
            c.execute(f"DELETE FROM {READS_TABLE} WHERE {gone}")
            c.execute(
                f"DELETE FROM {PLATES} WHERE plate_id IN (SELECT plate_id FROM temp.{_DOOMED}) AND NOT EXISTS"
                f" (SELECT 1 FROM {READS_TABLE} r WHERE r.plate_id = {PLATES}.plate_id)"
            )
            return True
        finally:
            c.execute(f"DROP TABLE IF EXISTS temp.{_DOOMED}")
            c.execute(f"PRAGMA cache_size = {cache}")

    def _purge_postgres(self, c: Cursor, day: str | None, named: Sequence[tuple[int, int]]) -> bool:
        plate_ids: set[int] = set()
        if named:
            c.execute(
                f"DELETE FROM {READS_TABLE} WHERE rid = ANY(%s) RETURNING plate_id",
                ([r[0] for r in named],),
            )
            plate_ids.update(int(r[0]) for r in c.fetchall())
        if day is not None:
            # NOT IN (subquery): a hashed subplan, one probe per row of the day.
            c.execute(
                f"DELETE FROM {READS_TABLE} WHERE day = %s"
                " AND read_id NOT IN (SELECT unnest(%s::text[])) RETURNING plate_id",
                (day, self._kept()),
            )
            plate_ids.update(int(r[0]) for r in c.fetchall())
        if not plate_ids:
            return False
        c.execute(
            f"DELETE FROM {PLATES} WHERE plate_id = ANY(%s) AND NOT EXISTS"
            f" (SELECT 1 FROM {READS_TABLE} r WHERE r.plate_id = {PLATES}.plate_id)",
            (sorted(plate_ids),),
        )
        return True


_GEO_COLUMNS = ("rid", "min_lon", "max_lon", "min_lat", "max_lat", "min_minute", "max_minute")
MICROS_PER_MINUTE = 60_000_000
_GEO_VALUES = (
    f"rid, longitude, longitude, latitude, latitude, captured_at / {MICROS_PER_MINUTE}.0,"
    f" captured_at / {MICROS_PER_MINUTE}.0"
)
"""A read's point in the R*Tree: (longitude, latitude, minute since the epoch)."""

_COVERED = "read_id, state, camera_id, camera_kind, patrol_vehicle, latitude, longitude, confidence"
"""The other columns of a result row, carried in the plate index (see the module docstring)."""

_DROPPED_INDEXES = ("plate",)
"""Indexes of earlier shapes, dropped when the view is opened (index changes need no rebuild)."""

_DROPPED_SQLITE_INDEXES = ("day",)
"""SQLite: the day's reads of a purge are a range of the time index, so a second index on the day
would only cost every insert and purge."""

_READ_INDEXES: tuple[tuple[str, str], ...] = (
    ("camera", "camera_id, captured_at"),
    ("vehicle", "patrol_vehicle, captured_at"),
    ("time", "captured_at"),
    ("day", "day"),
)


def _factory(app: Any) -> ReadIndex:
    db = getattr(app, "projection_db", None)
    return ReadIndex(getattr(app, "keystore", None), "sqlite" if db is None else db.dialect)


register("reads", _factory)

__all__ = ["EPOCH", "GEO", "PLATES", "READS_TABLE", "ReadIndex", "from_micros", "to_micros"]
