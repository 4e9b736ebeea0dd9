"""How a recorded search is run: the executor interface and the executors over the read index.

The service records a Search, then hands its criteria to the first executor that ``supports`` its
type. :class:`ReadIndexExecutor` runs each of the five types over the stored read index
(:mod:`projections.reads`, queries in :mod:`projections.search`), bringing the projection up to
the log's top first, so a read ingested before the search is found.

An executor returns every result (``execute``) or one page with the ids of all results
(``page``): the search records the count and digest of ALL result ids, whatever page is shown.
"""

from __future__ import annotations

from collections.abc import Iterable, KeysView, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

from eventsourcing.persistence import Mapper

from domain.errors import InvalidFieldError
from domain.retention import Purge
from domain.search import (
    SEARCH_TYPES,
    AreaCriteria,
    AssociatesCriteria,
    PlateCriteria,
    ReadersCriteria,
    parse_type_criteria,
)
from ops.keys import READS

MAX_PAGE = 1000
"""Largest page of results one call returns (``limit``)."""

MAX_RESULTS = 100_000
"""Most result reads one search may have. Every page of a search computes the count and digest of
ALL its results, so this bounds the work (and the personal data) one request can pull from the
index; a search with more is recorded as failed and answered 422 ``search.results.too_many``: the
investigator narrows the window, the readers or the pattern."""


class TooManyResultsError(InvalidFieldError):
    """A search matched more than :data:`MAX_RESULTS` reads."""

    def __init__(self, cap: int = MAX_RESULTS) -> None:
        self.cap = cap
        super().__init__(
            "criteria",
            "search.results.too_many",
            f"matches more than {cap:,} reads; narrow the time window, the readers or the pattern",
        )

    def __reduce__(self) -> Any:
        return (type(self), (self.cap,))


@dataclass(frozen=True, slots=True)
class ReadResult:
    """One read as a search returns it."""

    read_id: UUID
    plate: str
    state: str | None
    camera_id: str
    camera_kind: str
    patrol_vehicle: str | None
    latitude: float
    longitude: float
    captured_at: datetime
    confidence: float


@runtime_checkable
class SearchExecutor(Protocol):
    """Runs one kind of search. ``execute`` gets the criteria as recorded in the Search."""

    def supports(self, search_type: str) -> bool: ...

    def execute(self, criteria: Mapping[str, Any]) -> list[ReadResult]: ...


@dataclass(frozen=True, slots=True)
class AssociateResult:
    """An associate of the searched plate: how many distinct sightings of it this plate was seen
    near (same reader, within the window), and those reads of this plate."""

    plate: str
    shared_sightings: int
    reads: tuple[ReadResult, ...]


@dataclass(frozen=True, slots=True)
class ResultPage:
    """One page of a search's ordered results, with the ids of ALL its result reads.

    ``total`` counts the ordered result rows: reads, or for ``associates`` the associate plates
    (whose reads are the result ids). ``next_offset`` is None on the last page."""

    result_ids: tuple[UUID, ...]
    total: int
    offset: int
    limit: int
    reads: tuple[ReadResult, ...] = ()
    associates: tuple[AssociateResult, ...] | None = None

    @property
    def next_offset(self) -> int | None:
        following = self.offset + self.limit
        return following if following < self.total else None

    @classmethod
    def of(cls, results: Sequence[ReadResult], *, limit: int, offset: int) -> ResultPage:
        """The page of a plain list of results (executors without ``page``)."""
        return cls(
            tuple(r.read_id for r in results),
            len(results),
            offset,
            limit,
            tuple(results[offset : offset + limit]),
        )


def domain_events(mapper: Mapper[UUID], notifications: Sequence[Any]) -> list[Any]:
    """Notifications as domain events, with one key-store query per page where the mapper seals."""
    batch = getattr(mapper, "to_domain_events", None)
    if batch is not None:
        return list(batch(notifications))
    return [mapper.to_domain_event(n) for n in notifications]


def purge_candidates(
    purge: Purge.Executed, known: Iterable[UUID], by_day: Mapping[date, set[UUID]]
) -> list[UUID]:
    """The records a view holds that ``purge`` may have shredded: the ones it names, plus every
    read of its day for a day purge. The caller checks them against the key store."""
    known_ids = known if isinstance(known, set | frozenset | KeysView) else set(known)
    found = [r for r in purge.record_ids if r in known_ids]
    if purge.scope == "kek" and purge.retention_class == READS and purge.day is not None:
        found.extend(by_day.get(date.fromisoformat(purge.day), ()))
    return list(dict.fromkeys(found))


def _result(row: Sequence[Any]) -> ReadResult:
    from projections.reads import from_micros

    return ReadResult(
        read_id=UUID(str(row[0])),
        plate=str(row[1]),
        state=row[2],
        camera_id=str(row[3]),
        camera_kind=str(row[4]),
        patrol_vehicle=row[5],
        latitude=float(row[6]),
        longitude=float(row[7]),
        captured_at=from_micros(int(row[8])),
        confidence=float(row[9]),
    )


@dataclass
class ReadIndexExecutor:
    """Runs one search type over the read index of ``app`` (its ``reads`` projection)."""

    app: Any
    search_type: str
    max_results: int = MAX_RESULTS
    _runner: Any = field(default=None, repr=False)

    def supports(self, search_type: str) -> bool:
        return search_type == self.search_type

    def normalise(self, criteria: Mapping[str, Any]) -> dict[str, Any]:
        """The criteria in canonical form, or InvalidFieldError (checked before recording)."""
        return parse_type_criteria(self.search_type, criteria).as_dict()

    def _db(self) -> Any:
        """The projections database, with the read index caught up to the log's top."""
        if self._runner is None:
            from projections.registry import runner

            self._runner = runner(self.app, "reads")
        self._runner.catch_up()
        return self._runner.db

    def execute(self, criteria: Mapping[str, Any]) -> list[ReadResult]:
        """Every result, in the type's order (associates: their reads, best-ranked plate first)."""
        page = self.page(criteria, limit=None, offset=0)
        if page.associates is not None:
            return [r for a in page.associates for r in a.reads]
        return list(page.reads)

    def page(self, criteria: Mapping[str, Any], *, limit: int | None, offset: int) -> ResultPage:
        """Results ``offset`` .. ``offset + limit`` (all when ``limit`` is None) and all result ids."""
        from projections import search as q

        db = self._db()
        parsed = parse_type_criteria(self.search_type, criteria)
        cap = self.max_results
        if isinstance(parsed, AssociatesCriteria):
            try:
                found = q.associates_search(db, parsed, cap)
            except q.TooManyAssociateReads:
                raise TooManyResultsError(cap) from None
            size = len(found) if limit is None else limit
            shown = found[offset : offset + size]
            by_id = q.fetch(db, [r for a in shown for r in a.read_ids])
            associates = tuple(
                AssociateResult(
                    a.plate, len(a.sightings), tuple(_result(by_id[r]) for r in a.read_ids if r in by_id)
                )
                for a in shown
            )
            ids = tuple(UUID(r) for a in found for r in a.read_ids)
            return ResultPage(ids, len(found), offset, size, (), associates)
        if isinstance(parsed, PlateCriteria):
            rows = q.plate_search(db, parsed, cap + 1)
        elif isinstance(parsed, ReadersCriteria):
            rows = q.readers_search(db, parsed, cap + 1)
        else:
            assert isinstance(parsed, AreaCriteria)
            rows = q.area_search(db, parsed, cap + 1)
        if len(rows) > cap:
            raise TooManyResultsError(cap)
        size = len(rows) if limit is None else limit
        reads = tuple(_result(row) for row in rows[offset : offset + size])
        return ResultPage(tuple(UUID(str(row[0])) for row in rows), len(rows), offset, size, reads)


def read_index_executors(app: Any) -> list[SearchExecutor]:
    """One executor per search type, over ``app``'s read index."""
    return [ReadIndexExecutor(app, t) for t in SEARCH_TYPES]


__all__ = [
    "MAX_PAGE",
    "MAX_RESULTS",
    "AssociateResult",
    "ReadIndexExecutor",
    "ReadResult",
    "ResultPage",
    "SearchExecutor",
    "TooManyResultsError",
    "domain_events",
    "purge_candidates",
    "read_index_executors",
]
