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

- plate, complete: ``read_plates(plate)`` unique, then ``read_index(plate_id, captured_at)`` — one
  dictionary probe and a range of the reads index, already in time order.
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
- area: SQLite — an R*Tree ``read_geo(rid, min_lon, max_lon, min_lat, max_lat)``, queried with the
  area's bounding box; PostgreSQL — GiST on ``point(longitude, latitude)``, queried with ``<@ box``.
  Either is only a prefilter: the exact point-in-polygon or haversine test follows in
  :mod:`projections.search`. R*Tree coordinates are 32-bit floats rounded outwards, so the box
  never loses a point that is inside.
- time alone (area + window when the area is dense): SQLite — btree ``read_index(captured_at)``;
  PostgreSQL — BRIN on ``captured_at`` (reads arrive nearly in time order, so a few pages of BRIN
  summarise millions of rows).
- purges: ``read_index(day)`` finds a day's reads.

Purges. A read whose fields arrive ``PURGED`` is never indexed. On ``Purge.Executed``:

- a day purge of class ``reads`` deletes that day's reads except those still keyed on a hold or a
  case (``keystore.records_of_classes(["hold", "case"])``: re-keyed before the day's key went);
- a purge naming records deletes those whose data key is gone (``keystore.data_keys``);
- then dictionary rows no read uses any more are deleted, and ``apply`` returns True so the runner
  makes the deletion final on disk (SQLite ``secure_delete`` + WAL truncation; PostgreSQL VACUUM
  FULL, which rewrites the tables into new files).

Range-partitioning ``read_index`` by day on PostgreSQL (so a day purge drops a partition's files
at once) was considered and not done yet: held and case reads must survive their day's purge, so
a dropped partition would first have to give them up to another one; delete + VACUUM FULL is
correct today and its cost is one rewrite per purge run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.utils import get_topic

from domain.matching import confusable_key
from domain.read import Read
from domain.retention import Purge
from domain.values import is_purged
from ops.keys import READS
from projections.base import Projection
from projections.registry import register
from projections.store import Cursor, ProjectionDB

PLATES = "read_plates"
READS_TABLE = "read_index"
GEO = "read_geo"
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
        for name, columns in _READ_INDEXES:
            c.execute(f"CREATE INDEX IF NOT EXISTS {READS_TABLE}_{name} ON {READS_TABLE} ({columns})")
        c.execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {GEO} USING rtree(rid, min_lon, max_lon, min_lat, max_lat)"
        )

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

    def apply(self, c: Cursor, db: ProjectionDB, events: Sequence[Any]) -> bool:
        purged = False
        batch: list[Any] = []
        for event in events:
            if isinstance(event, Read.Captured):
                if not is_purged(event.plate):
                    batch.append(event)
            elif isinstance(event, Purge.Executed):
                self._insert(c, db, batch)  # a purge applies to what came before it
                batch = []
                purged = self._purge(c, db, event) or purged
        self._insert(c, db, batch)
        return purged

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
                f"INSERT INTO {GEO} SELECT rid, longitude, longitude, latitude, latitude FROM {READS_TABLE}"
                " WHERE rid > ?",
                (last,),
            )

    def _purge(self, c: Cursor, db: ProjectionDB, purge: Any) -> bool:
        """Delete the rows of reads ``purge`` shredded; True when any were deleted."""
        doomed: list[tuple[int, str, int]] = []  # rid, read_id, plate_id
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
            doomed.extend(r for r in found if r[1] not in alive)
        # A day key's purge (scope "kek") shreds the whole day; a single read's purge names its day
        # too (scope "record") but shreds that read only.
        if purge.scope == "kek" and purge.retention_class == READS and purge.day is not None:
            day = date.fromisoformat(purge.day).isoformat()
            c.execute(db.sql(f"SELECT rid, read_id, plate_id FROM {READS_TABLE} WHERE day = ?"), (day,))
            rows = [(int(r[0]), str(r[1]), int(r[2])) for r in c.fetchall()]
            if rows:
                kept = {str(k) for k in self.keystore.records_of_classes(["hold", "case"])}
                doomed.extend(r for r in rows if r[1] not in kept)
        if not doomed:
            return False
        rids = sorted({r[0] for r in doomed})
        for part in chunks(rids):
            c.execute(db.sql(f"DELETE FROM {READS_TABLE} WHERE rid IN ({marks(len(part))})"), part)
            if db.dialect == "sqlite":
                c.execute(f"DELETE FROM {GEO} WHERE rid IN ({marks(len(part))})", part)
        plate_ids = sorted({r[2] for r in doomed})
        for part in chunks(plate_ids):
            c.execute(
                db.sql(
                    f"DELETE FROM {PLATES} WHERE plate_id IN ({marks(len(part))}) AND NOT EXISTS"
                    f" (SELECT 1 FROM {READS_TABLE} r WHERE r.plate_id = {PLATES}.plate_id)"
                ),
                part,
            )
        return True


_READ_INDEXES: tuple[tuple[str, str], ...] = (
    ("plate", "plate_id, captured_at"),
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
