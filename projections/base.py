"""Projections: read models that follow the log, with their position tracked beside their rows.

A :class:`Projection` names the event topics it reads, creates and drops its tables, and applies a
page of events inside a transaction it is given. The :class:`ProjectionRunner` feeds it from the
application's notification log:

- each page is applied in ONE transaction of the projections database that also moves the
  projection's row in ``projection_positions`` — the position is read under the transaction's lock
  first, and a page another process applied meanwhile is skipped, so a restart or a second process
  never loses nor applies an event twice;
- :meth:`ProjectionRunner.catch_up` brings the projection to the log's top (or to a position a caller
  has seen: searches call it first, so a read just ingested is found); :meth:`lag` says how far
  behind it is; :meth:`rebuild` drops the tables and replays the whole log, reporting progress;
- a projection whose ``version`` changed (new columns or indexes) is rebuilt on first use.

Events arrive decoded (sealed fields opened with the data keys still in the key store; a purged
record's fields read as ``PURGED``: projections skip or drop those rows). A projection that reads
only clear fields sets ``opens_sealed = False``: its pages are decoded without the key store and
without AES, and each sealed field reads as ``ledger.sealing_mapper.UNOPENED`` (neither plaintext
nor ``PURGED``). Notification ids may have gaps; the position is the last notification id applied
or skipped.

Purges. ``apply`` returns True when it deleted rows of shredded records: the runner makes the
deletion final on disk after the page commits (:meth:`ProjectionDB.after_purge`). It returns
:attr:`Erasure.LATER` when the deletion may wait for the next follower tick or retention run
(one record shredded on request): a backend whose rewrite is costly records it as pending in the
page's transaction (:meth:`ProjectionDB.defer_rewrite`) and :meth:`ProjectionDB.rewrite_pending`
does it later.
"""

from __future__ import annotations

import enum
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from eventsourcing.application import Application

from projections.store import Cursor, ProjectionDB

PAGE = 2000
"""Notifications per transaction: large enough to amortise a commit, small enough to stay short."""

POSITIONS_TABLE = "projection_positions"
_INSERT_POSITION = f"INSERT INTO {POSITIONS_TABLE} VALUES (?, 0, ?, ?) ON CONFLICT (name) DO NOTHING"
_SELECT_POSITION = f"SELECT position FROM {POSITIONS_TABLE} WHERE name = ?"


def _positions_ddl(db: ProjectionDB) -> str:
    unlogged = "UNLOGGED " if db.dialect == "postgres" else ""
    return (
        f"CREATE {unlogged}TABLE IF NOT EXISTS {POSITIONS_TABLE} ("
        " name TEXT PRIMARY KEY, position BIGINT NOT NULL, version INTEGER NOT NULL,"
        " updated_at TEXT NOT NULL)"
    )


class _Outcome(enum.Enum):
    APPLIED = "applied"
    MOVED = "moved"
    MISSING = "missing"


class Erasure(enum.Enum):
    """What ``apply`` returns besides True/False when it deleted rows of shredded records."""

    NOW = "now"
    """Make the deletion final on disk after this page (same as True)."""
    LATER = "later"
    """The deletion may be made final by the next follower tick or retention run."""


class Projection(ABC):
    """One read model. Subclasses set ``name``, ``version``, ``topics``; tables are created
    UNLOGGED on PostgreSQL (see :mod:`projections.store`)."""

    name: ClassVar[str]
    version: ClassVar[int] = 1
    topics: ClassVar[tuple[str, ...]]
    tables: ClassVar[tuple[str, ...]] = ()
    """Every table the projection owns (dropped on rebuild, vacuumed after purges)."""
    opens_sealed: ClassVar[bool] = True
    """False: ``apply`` reads clear fields only, so pages are decoded without the key store and
    AES (sealed fields read as ``UNOPENED``)."""

    @abstractmethod
    def create(self, c: Cursor, db: ProjectionDB) -> None:
        """Create the tables and indexes (idempotent)."""

    def drop(self, c: Cursor, db: ProjectionDB) -> None:
        for table in self.tables:
            c.execute(f"DROP TABLE IF EXISTS {table}")

    @abstractmethod
    def apply(self, c: Cursor, db: ProjectionDB, events: Sequence[Any]) -> bool | Erasure:
        """Apply decoded events (oldest first) within the caller's transaction. True (or
        :attr:`Erasure.NOW`) when rows of shredded records were deleted (the runner then makes the
        deletion final on disk); :attr:`Erasure.LATER` when that may wait (see the module doc)."""


@dataclass(frozen=True, slots=True)
class Status:
    name: str
    position: int
    top: int
    version: int

    @property
    def lag(self) -> int:
        return max(0, self.top - self.position)


class ProjectionRunner:
    """Feeds one projection from ``app``'s log into ``db``. Thread-safe."""

    def __init__(self, app: Application[Any], projection: Projection, db: ProjectionDB, *, page: int = PAGE):
        self.app = app
        self.projection = projection
        self.db = db
        self.page = page
        self._lock = threading.Lock()
        self._ready = False

    # -- set-up ------------------------------------------------------------------------------

    def _ensure(self) -> None:
        if self._ready:
            return
        p, db = self.projection, self.db
        with db.transaction() as c:
            db.lock_schema(c)
            c.execute(_positions_ddl(db))
            db.prepare(c)
            c.execute(db.sql(f"SELECT version FROM {POSITIONS_TABLE} WHERE name = ?"), (p.name,))
            row = c.fetchone()
            if row is not None and int(row[0]) != p.version:
                p.drop(c, db)  # an older shape: rebuilt from the log
                c.execute(db.sql(f"DELETE FROM {POSITIONS_TABLE} WHERE name = ?"), (p.name,))
                row = None
            p.create(c, db)
            if row is None:
                c.execute(
                    db.sql(
                        f"INSERT INTO {POSITIONS_TABLE} VALUES (?, 0, ?, ?) ON CONFLICT (name) DO NOTHING"
                    ),
                    (p.name, p.version, _now()),
                )
        self._ready = True

    # -- following the log -------------------------------------------------------------------

    def position(self) -> int:
        self._ensure()
        with self.db.read() as c:
            c.execute(
                self.db.sql(f"SELECT position FROM {POSITIONS_TABLE} WHERE name = ?"), (self.projection.name,)
            )
            row = c.fetchone()
        return 0 if row is None else int(row[0])

    def status(self) -> Status:
        return Status(self.projection.name, self.position(), self._top(), self.projection.version)

    def lag(self) -> int:
        return self.status().lag

    def _top(self) -> int:
        return self.app.recorder.max_notification_id() or 0

    def catch_up(
        self, *, until: int | None = None, progress: Callable[[int, int], None] | None = None
    ) -> int:
        """Apply everything up to the log's top (at the call) or ``until``; how many events applied."""
        self._ensure()
        with self._lock:
            top = self._top() if until is None else until
            applied = 0
            missing_once = False
            while True:
                start = self.position()
                if start >= top:
                    return applied
                notifications = self.app.recorder.select_notifications(
                    start, self.page, stop=top, topics=self.projection.topics, inclusive_of_start=False
                )
                # Writers commit in notification order (the table lock / the single SQLite writer),
                # so nothing can appear at or below ``top`` later: a short page ends at ``top``.
                end = notifications[-1].id if len(notifications) == self.page else top
                events = _decode(self.app, notifications, open_sealed=self.projection.opens_sealed)
                outcome = self._apply_page(start, end, events)
                if outcome is _Outcome.APPLIED:
                    applied += len(events)
                elif outcome is _Outcome.MISSING:
                    # The position row is gone (PostgreSQL emptied the unlogged tables after a crash,
                    # or a rebuild elsewhere died half-way): set up again and replay from the start.
                    if missing_once:
                        raise RuntimeError(f"projection {self.projection.name}: its position cannot be kept")
                    missing_once = True
                    self._ready = False
                    self._ensure()
                    continue
                if progress is not None:
                    progress(end, top)

    def _apply_page(self, start: int, end: int, events: Sequence[Any]) -> _Outcome:
        p, db = self.projection, self.db
        rewrite_now = False
        with db.transaction() as c:
            lock = " FOR UPDATE" if db.dialect == "postgres" else ""
            c.execute(db.sql(f"SELECT position FROM {POSITIONS_TABLE} WHERE name = ?{lock}"), (p.name,))
            row = c.fetchone()
            if row is None:
                return _Outcome.MISSING
            if int(row[0]) != start:
                return _Outcome.MOVED  # another process applied this page meanwhile: read on from there
            if events:
                erased = p.apply(c, db, events)
                if erased is Erasure.LATER:
                    rewrite_now = not db.defer_rewrite(c, p.tables)
                else:
                    rewrite_now = bool(erased)
            c.execute(
                db.sql(f"UPDATE {POSITIONS_TABLE} SET position = ?, updated_at = ? WHERE name = ?"),
                (end, _now(), p.name),
            )
        if rewrite_now:
            db.after_purge(p.tables)
        return _Outcome.APPLIED

    def reset(self) -> None:
        """Drop the projection's tables and position: the next catch-up replays the whole log."""
        p, db = self.projection, self.db
        with self._lock:
            with db.transaction() as c:
                db.lock_schema(c)
                c.execute(_positions_ddl(db))
                p.drop(c, db)
                c.execute(db.sql(f"DELETE FROM {POSITIONS_TABLE} WHERE name = ?"), (p.name,))
            db.after_purge(())
            self._ready = False

    def rebuild(self, *, progress: Callable[[int, int], None] | None = None) -> int:
        """Drop the projection's tables and replay the whole log into new ones."""
        self.reset()
        return self.catch_up(progress=progress)


def _decode(app: Application[Any], notifications: Sequence[Any], *, open_sealed: bool = True) -> list[Any]:
    batch = getattr(app.mapper, "to_domain_events", None)
    if batch is not None:
        return list(batch(notifications) if open_sealed else batch(notifications, open_sealed=False))
    return [app.mapper.to_domain_event(n) for n in notifications]


def _now() -> str:
    return datetime.now(UTC).isoformat()


__all__ = ["PAGE", "POSITIONS_TABLE", "Erasure", "Projection", "ProjectionRunner", "Status"]
