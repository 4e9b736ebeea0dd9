"""Searches of stored reads: recorded before they run, refused (and recorded) when policy says no.

Results only ever leave through :meth:`SearchCommands.run_search`, which saves the
``Search.Requested`` event in its own transaction *before* calling the executor, then saves
``Executed`` with the count and digest of the results. A refusal is saved as ``Requested`` +
``Refused`` in one transaction and then raised, so the query log shows every attempt
(MPTC VI.E, TCSO V.D.3, NYPD 2026 §Safeguards: every search auditable).

The service re-checks the searcher against the stored Account (revoked, untrained) rather than
trusting the Principal, because the API's ``Authorize`` is not the only caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.utils import get_topic

from domain.account import Account, Principal
from domain.case import Case, case_id_for, case_number_or_none
from domain.copying import copied_record
from domain.errors import InvalidFieldError, NotFoundError
from domain.search import (
    SEARCH_TYPES,
    ParsedSearch,
    Refusal,
    RunSearch,
    Search,
    SearchStatus,
    Standing,
    decide_search,
    parse_search,
    parse_type_criteria,
)
from domain.values import is_purged
from ops.commands.base import CommandsBase
from ops.search_executor import (
    MAX_PAGE,
    AssociateResult,
    ReadResult,
    ResultPage,
    SearchExecutor,
    read_index_executors,
)

_REQUESTED = get_topic(Search.Requested)
_PAGE = 1000


@dataclass(frozen=True, slots=True)
class SearchResult:
    """What a caller gets back: the id of the recorded search and one page of its results.

    ``count`` is the number of ALL results (reads; associate plates for ``associates``), as
    recorded; ``results`` the page's reads (empty for associates, whose page is ``associates``)."""

    search_id: UUID
    results: list[ReadResult]
    count: int
    offset: int = 0
    limit: int = MAX_PAGE
    next_offset: int | None = None
    associates: list[AssociateResult] | None = None


@dataclass(frozen=True, slots=True)
class SearchRecord:
    """One entry of the query log: the request, the clauses that allowed it, the outcome."""

    search_id: UUID
    account_id: UUID
    login: str
    roles: list[str]
    search_type: str
    criteria: dict[str, Any] | None  # None once purged (the query log's retention has passed)
    purpose: str
    grounds: list[str]
    reason: str | None
    case_number: str | None
    left_jurisdiction_reason: str | None
    profile: str
    clause_refs: list[dict[str, str]]
    requested_at: datetime
    status: SearchStatus
    result_count: int | None
    result_digest: str | None
    executed_at: datetime | None
    refusal: dict[str, str] | None

    @classmethod
    def of(cls, search: Search) -> SearchRecord:
        return copied_record(
            cls,
            search,
            search_id=search.id,
            roles=list(search.roles),
            criteria=None if is_purged(search.criteria) else dict(search.criteria),
            grounds=list(search.grounds),
            clause_refs=[dict(r) for r in search.clause_refs],
            refusal=None if search.refusal is None else dict(search.refusal),
        )


class SearchCommands(CommandsBase):
    _search_executors: list[SearchExecutor] | None = None

    @property
    def search_executors(self) -> list[SearchExecutor]:
        """Executors tried in order; the first whose ``supports`` accepts the type runs it."""
        if self._search_executors is None:
            self._search_executors = read_index_executors(self)
        return self._search_executors

    @search_executors.setter
    def search_executors(self, executors: Sequence[SearchExecutor]) -> None:
        self._search_executors = list(executors)

    # ---- commands ------------------------------------------------------------------------------

    def run_search(
        self, principal: Principal, request: RunSearch, *, limit: int = MAX_PAGE, offset: int = 0
    ) -> SearchResult:
        """Record, check, run. Raises the refusal's error after recording it; raises
        :class:`InvalidFieldError` without recording anything when the request cannot be read.

        Returns results ``offset`` .. ``offset + limit`` (``limit`` at most :data:`MAX_PAGE`) in
        the type's stable order; the search records the count and digest of ALL results."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
            raise InvalidFieldError("limit", "search.limit.range", f"must be from 1 to {MAX_PAGE}")
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise InvalidFieldError("offset", "search.offset.range", "must be 0 or more")
        parsed = parse_search(request)
        executor = next((e for e in self.search_executors if e.supports(parsed.search_type)), None)
        standing = self._standing(principal)
        decision = decide_search(
            parsed,
            policy=self.policy,
            standing=standing,
            supported=executor is not None,
            case_closed=self._case_closed(parsed.case_number),
        )
        now = self.clock()
        roles = standing.roles if standing.known else principal.roles

        def requested(clause_refs: Sequence[dict[str, str]] = ()) -> Search:
            return Search.request(
                parsed,
                account_id=principal.account_id,
                login=principal.login,
                roles=roles,
                profile=self.policy.name,
                clause_refs=clause_refs,
                at=now,
            )

        if isinstance(decision, Refusal):
            if parsed.search_type in SEARCH_TYPES:  # recorded in canonical form where it can be read
                try:
                    parsed = _with_criteria(
                        parsed, parse_type_criteria(parsed.search_type, parsed.criteria).as_dict()
                    )
                except InvalidFieldError:
                    pass
            search = requested()
            search.refuse(decision, at=now)
            self.save(search)
            raise decision.error()
        assert executor is not None  # decide_search refuses unsupported types
        normalise = getattr(executor, "normalise", None)
        if normalise is not None:  # malformed criteria: 422, nothing recorded
            parsed = _with_criteria(parsed, normalise(parsed.criteria))
        search = requested(decision.clause_refs)
        self.save(search)  # recorded before it runs
        try:
            pager = getattr(executor, "page", None)
            page: ResultPage = (
                pager(parsed.criteria, limit=limit, offset=offset)
                if pager is not None
                else ResultPage.of(executor.execute(parsed.criteria), limit=limit, offset=offset)
            )
        except Exception as exc:
            search.fail(type(exc).__name__, at=self.clock())
            self.save(search)
            raise
        search.execute(page.result_ids, at=self.clock())
        self.save(search)
        return SearchResult(
            search.id,
            list(page.reads),
            page.total,
            offset=offset,
            limit=limit,
            next_offset=page.next_offset,
            associates=None if page.associates is None else list(page.associates),
        )

    # ---- views ---------------------------------------------------------------------------------

    def get_search(self, search_id: UUID) -> SearchRecord:
        found: object
        try:
            found = self.repository.get(search_id)
        except AggregateNotFoundError:
            found = None
        if not isinstance(found, Search):
            raise NotFoundError("search_id", "search.unknown", "no search has this id")
        return SearchRecord.of(found)

    def query_log(
        self, start: datetime | None = None, end: datetime | None = None, account: UUID | None = None
    ) -> list[SearchRecord]:
        """Every search requested in [start, end) (by ``account`` if given), oldest first."""
        for value, name in ((start, "from"), (end, "to")):
            if value is not None and value.utcoffset() is None:
                raise InvalidFieldError(name, "time.naive", "must carry a UTC offset")
        ids: list[UUID] = []
        position = 0
        while True:
            page = self.recorder.select_notifications(
                position, _PAGE, topics=[_REQUESTED], inclusive_of_start=False
            )
            for notification in page:
                event = self.mapper.to_domain_event(notification)
                position = notification.id
                assert isinstance(event, Search.Requested)
                if start is not None and event.timestamp < start:
                    continue
                if end is not None and event.timestamp >= end:
                    continue
                if account is not None and event.account_id != account:
                    continue
                ids.append(event.originator_id)
            if len(page) < _PAGE:
                break
        return [self.get_search(i) for i in ids]

    # ---- internals -----------------------------------------------------------------------------

    def _standing(self, principal: Principal) -> Standing:
        found: object
        try:
            found = self.repository.get(principal.account_id)
        except AggregateNotFoundError:
            found = None
        if not isinstance(found, Account):
            return Standing(frozenset(principal.roles), trained=False, revoked=False, known=False)
        return Standing(frozenset(found.roles), trained=found.trained, revoked=found.access_revoked)

    def _case_closed(self, case_number: str | None) -> bool:
        number = case_number_or_none(case_number)
        if number is None:
            return False
        case: object
        try:
            case = self.repository.get(case_id_for(number))
        except AggregateNotFoundError:
            return False
        return isinstance(case, Case) and case.closed


def _with_criteria(parsed: ParsedSearch, criteria: dict[str, Any]) -> ParsedSearch:
    return replace(parsed, criteria=criteria)


__all__ = ["SearchCommands", "SearchRecord", "SearchResult"]
