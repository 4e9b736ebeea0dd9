"""The queries of the five search types over the read index (:mod:`projections.reads`), per dialect.

Each query returns the rows (:data:`COLUMNS`) of EVERY matching read in the type's stable order
(the search records the count and digest of all of them, not of one page), in one statement: the
rows a query visits to decide and order its results are the rows it returns, so showing a page
costs no second round of lookups. At most ``cap`` rows come back (the caller asks one more than it
allows, to tell "exactly the cap" from "more"). Orders:

- plate, fixed readers, mobile readers, area: ``captured_at``, then ``read_id`` (text) — oldest
  first, ties broken the same way on both backends (PostgreSQL columns are ``COLLATE "C"``);
- associates: plates by the number of distinct sightings of the searched plate they share
  (most first), then plate; within a plate its reads by ``captured_at``, ``read_id``.

Areas are filtered twice: the index prefilter (R*Tree / GiST) by the bounding box, then exactly
here — even-odd point-in-polygon on (longitude, latitude), haversine distance for circles. Areas
that cross the antimeridian are not supported (their bounding box would be the whole globe).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from domain.matching import confusable_key
from domain.search import AreaCriteria, AssociatesCriteria, PlateCriteria, ReadersCriteria
from projections.reads import GEO, MICROS_PER_MINUTE, PLATES, READS_TABLE, chunks, marks, to_micros
from projections.store import ProjectionDB

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius (IUGG), the haversine's sphere."""

COLUMNS = (
    "r.read_id, p.plate, r.state, r.camera_id, r.camera_kind, r.patrol_vehicle, r.latitude, r.longitude,"
    " r.captured_at, r.confidence"
)
"""The columns of :func:`fetch` rows, in this order."""

_ORDER = " ORDER BY r.captured_at, r.read_id"


def _window(where: list[str], params: list[Any], start: Any, end: Any, column: str = "r.captured_at") -> None:
    if start is not None:
        where.append(f"{column} >= ?")
        params.append(to_micros(start))
    if end is not None:
        where.append(f"{column} < ?")
        params.append(to_micros(end))


Row = tuple[Any, ...]
"""One result row: :data:`COLUMNS`, in that order (``read_id`` first)."""

_FROM = f" FROM {READS_TABLE} r JOIN {PLATES} p ON p.plate_id = r.plate_id"


def _rows(db: ProjectionDB, sql: str, params: Sequence[Any], cap: int | None) -> list[Row]:
    if cap is not None:
        sql += f" LIMIT {int(cap)}"
    with db.read() as c:
        c.execute(db.sql(sql), params)
        return [tuple(row) for row in c.fetchall()]


def plate_pattern(db: ProjectionDB, pattern: str) -> str:
    """A ``?``/``*`` pattern in the dialect's matcher: GLOB (SQLite) or LIKE (PostgreSQL). Plates
    hold only A-Z and 0-9, so no character of theirs needs escaping."""
    return pattern if db.dialect == "sqlite" else pattern.replace("*", "%").replace("?", "_")


def plate_search(db: ProjectionDB, c: PlateCriteria, cap: int | None = None) -> list[Row]:
    """A join from the plate dictionary: a complete plate is one dictionary probe and one range of
    the covering plate index, already in (captured_at, read_id) order."""
    column = "skeleton" if c.confusable else "plate"
    value = confusable_key(c.plate) if c.confusable else c.plate
    if c.partial:
        matcher = "GLOB" if db.dialect == "sqlite" else "LIKE"
        where = [f"p.{column} {matcher} ?"]
        value = plate_pattern(db, value)
    else:
        where = [f"p.{column} = ?"]
    params: list[Any] = [value]
    if c.state is not None:
        where.append("r.state = ?")
        params.append(c.state)
    if c.camera_ids:
        where.append(f"r.camera_id IN ({marks(len(c.camera_ids))})")
        params.extend(c.camera_ids)
    _window(where, params, c.captured_from, c.captured_to)
    if db.dialect == "sqlite":
        # CROSS JOIN fixes the dictionary as the outer loop: left to itself, SQLite may walk the
        # whole read index in time order (to skip the sort) for a pattern without a known prefix.
        source = f" FROM {PLATES} p CROSS JOIN {READS_TABLE} r"
        where.insert(0, "r.plate_id = p.plate_id")
    else:
        source = _FROM
    return _rows(db, f"SELECT {COLUMNS}{source} WHERE {' AND '.join(where)}{_ORDER}", params, cap)


def readers_search(db: ProjectionDB, c: ReadersCriteria, cap: int | None = None) -> list[Row]:
    column, kind = (
        ("camera_id", "fixed") if c.search_type == "fixed_readers" else ("patrol_vehicle", "mobile")
    )
    where = [f"r.{column} IN ({marks(len(c.ids))})", "r.camera_kind = ?"]
    params: list[Any] = [*c.ids, kind]
    _window(where, params, c.captured_from, c.captured_to)
    return _rows(db, f"SELECT {COLUMNS}{_FROM} WHERE {' AND '.join(where)}{_ORDER}", params, cap)


# -- areas --------------------------------------------------------------------------------------


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres on the mean-radius sphere."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def in_polygon(lon: float, lat: float, rings: Sequence[Sequence[tuple[float, float]]]) -> bool:
    """Even-odd rule over every ring (the exterior and its holes): inside the exterior and outside
    every hole."""
    inside = False
    for ring in rings:
        for (x1, y1), (x2, y2) in zip(ring, ring[1:], strict=False):
            if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
                inside = not inside
    return inside


def bounding_box(c: AreaCriteria) -> tuple[float, float, float, float]:
    """(min_lon, min_lat, max_lon, max_lat) enclosing the area."""
    if c.polygon is not None:
        lons = [p[0] for p in c.polygon[0]]
        lats = [p[1] for p in c.polygon[0]]
        return min(lons), min(lats), max(lons), max(lats)
    assert c.center is not None and c.radius_m is not None
    lon, lat = c.center
    angle = c.radius_m / EARTH_RADIUS_M
    dlat = math.degrees(angle)
    ratio = math.sin(angle) / max(math.cos(math.radians(lat)), 1e-12)
    dlon = 180.0 if ratio >= 1 else math.degrees(math.asin(ratio))
    margin = 1e-9
    return (
        max(-180.0, lon - dlon - margin),
        max(-90.0, lat - dlat - margin),
        min(180.0, lon + dlon + margin),
        min(90.0, lat + dlat + margin),
    )


def contains(c: AreaCriteria, lon: float, lat: float) -> bool:
    if c.polygon is not None:
        return in_polygon(lon, lat, c.polygon)
    assert c.center is not None and c.radius_m is not None
    return haversine_m(c.center[0], c.center[1], lon, lat) <= c.radius_m


def area_search(db: ProjectionDB, c: AreaCriteria, cap: int | None = None) -> list[Row]:
    """Rows in the bounding box from the spatial index, in order, kept when exactly inside; stops
    once ``cap`` rows are inside."""
    min_lon, min_lat, max_lon, max_lat = bounding_box(c)
    params: list[Any]
    where: list[str] = []
    if db.dialect == "sqlite":
        # The tree yields the reads inside the box AND the window; ``+r.captured_at`` (no index)
        # keeps SQLite from starting at the time index instead, for the exact window check.
        sql = (
            f"SELECT {COLUMNS} FROM {GEO} g JOIN {READS_TABLE} r ON r.rid = g.rid"
            f" JOIN {PLATES} p ON p.plate_id = r.plate_id"
            " WHERE g.max_lon >= ? AND g.min_lon <= ? AND g.max_lat >= ? AND g.min_lat <= ?"
        )
        params = [min_lon, max_lon, min_lat, max_lat]
        if c.captured_from is not None:
            sql += " AND g.max_minute >= ?"
            params.append(to_micros(c.captured_from) / MICROS_PER_MINUTE)
        if c.captured_to is not None:
            sql += " AND g.min_minute <= ?"
            params.append(to_micros(c.captured_to) / MICROS_PER_MINUTE)
        _window(where, params, c.captured_from, c.captured_to, "+r.captured_at")
    else:
        sql = f"SELECT {COLUMNS}{_FROM} WHERE point(r.longitude, r.latitude) <@ box(point(?, ?), point(?, ?))"
        params = [min_lon, min_lat, max_lon, max_lat]
        _window(where, params, c.captured_from, c.captured_to)
    sql += "".join(f" AND {w}" for w in where) + _ORDER
    found: list[Row] = []
    with db.read() as cur:
        cur.execute(db.sql(sql), params)
        while cap is None or len(found) < cap:
            batch = cur.fetchmany(2000)
            if not batch:
                break
            found.extend(tuple(row) for row in batch if contains(c, float(row[7]), float(row[6])))
    return found if cap is None else found[:cap]


# -- associates ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Associate:
    """A plate seen near sightings of the searched plate: which sightings, which of its reads."""

    plate: str
    sightings: frozenset[str]
    read_ids: tuple[str, ...]  # in captured_at, read_id order


class TooManyAssociateReads(Exception):
    """The associates' reads passed the caller's cap: reading stopped there."""


def associates_search(db: ProjectionDB, c: AssociatesCriteria, cap: int | None = None) -> list[Associate]:
    """Plates read at the camera of a sighting within ±``window_s`` of it, ranked (see module).
    Raises :class:`TooManyAssociateReads` as soon as more than ``cap`` distinct reads are found."""
    window = c.window_s * 1_000_000
    where = [f"s.plate_id = (SELECT plate_id FROM {PLATES} WHERE plate = ?)", "o.plate_id <> s.plate_id"]
    params: list[Any] = [window, window, c.plate]
    if c.state is not None:
        where.append("s.state = ?")
        params.append(c.state)
    _window(where, params, c.captured_from, c.captured_to, "s.captured_at")
    sql = (
        f"SELECT s.read_id, o.read_id, o.plate_id, o.captured_at FROM {READS_TABLE} s JOIN {READS_TABLE} o"
        " ON o.camera_id = s.camera_id AND o.captured_at >= s.captured_at - ?"
        " AND o.captured_at <= s.captured_at + ?"
        f" WHERE {' AND '.join(where)}"
    )
    sightings: dict[int, set[str]] = {}
    reads: dict[int, dict[str, int]] = {}
    with db.read() as cur:
        cur.execute(db.sql(sql), params)
        count = 0
        while batch := cur.fetchmany(2000):
            for sighting, read_id, plate_id, captured_at in batch:
                sightings.setdefault(int(plate_id), set()).add(str(sighting))
                mine = reads.setdefault(int(plate_id), {})
                if str(read_id) not in mine:
                    count += 1
                    mine[str(read_id)] = int(captured_at)
            if cap is not None and count > cap:
                raise TooManyAssociateReads(count)
        names: dict[int, str] = {}
        ids = sorted(sightings)
        for part in chunks(ids):
            cur.execute(
                db.sql(f"SELECT plate_id, plate FROM {PLATES} WHERE plate_id IN ({marks(len(part))})"), part
            )
            names.update((int(row[0]), str(row[1])) for row in cur.fetchall())
    found = [
        Associate(
            names[pid],
            frozenset(sightings[pid]),
            tuple(sorted(reads[pid], key=lambda r, pid=pid: (reads[pid][r], r))),  # type: ignore[misc]
        )
        for pid in ids
        if pid in names
    ]
    found.sort(key=lambda a: (-len(a.sightings), a.plate))
    return found


# -- rows ---------------------------------------------------------------------------------------


def fetch(db: ProjectionDB, read_ids: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    """The rows (:data:`COLUMNS`) of ``read_ids`` still in the index, by read id."""
    found: dict[str, tuple[Any, ...]] = {}
    with db.read() as c:
        for part in chunks(list(read_ids)):
            c.execute(
                db.sql(
                    f"SELECT {COLUMNS} FROM {READS_TABLE} r JOIN {PLATES} p ON p.plate_id = r.plate_id"
                    f" WHERE r.read_id IN ({marks(len(part))})"
                ),
                part,
            )
            found.update((str(row[0]), tuple(row)) for row in c.fetchall())
    return found


__all__ = [
    "COLUMNS",
    "EARTH_RADIUS_M",
    "Associate",
    "TooManyAssociateReads",
    "area_search",
    "associates_search",
    "bounding_box",
    "contains",
    "fetch",
    "haversine_m",
    "in_polygon",
    "plate_search",
    "readers_search",
]
