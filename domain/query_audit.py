"""Oversight of the query log: the ``QueryAudit`` workflow and the ``MisuseFlag`` record.

TCSO VIII.D has the office "audit all queries ... on a bi-annual basis, and provide a written
report"; MPTC VI.G asks for "periodic and random audits". A :class:`QueryAudit` makes that audit a
record of its own, each step an event, each step refused out of order (409):

1. ``Opened`` — the period audited (``[period_from, period_to)``, ended by the time it is opened),
   who opened it and why;
2. ``SampleDrawn`` — a random sample of the period's searches, drawn with a recorded seed by
   :func:`draw_sample`: the same seed over the same population (the searches of the period, sorted
   by id) always gives the same sample, so anyone can check the draw was not picked by hand;
3. ``Reviewed`` — each sampled search once, by a named reviewer who is not its searcher:
   ``ok``, or ``concern`` with notes;
4. ``Summarised`` — the written findings, once every sampled search is reviewed;
5. ``SignedOff`` — by someone who reviewed none of the sample and has no search in it (the report
   goes to someone above the audit, TCSO VIII.D; nobody signs off an audit of themselves).

Independence: whoever opens the audit, draws its sample, reviews or summarises it must have made no
search in the audited period (:func:`check_independent`, rule ``audit.independence.searched_in_period``).
Neither policy has the word: TCSO VIII.D has the audit made "to ensure the integrity of the office's
ALPR systems" and MPTC VI.G asks for audits that "measure compliance of use with this policy"; an
auditor judging the period's searches among which are their own measures nothing, and could leave
their own out of the sample. The service counts the actor's searches of the period from the query
log; the draw checks the population it is given.

A :class:`MisuseFlag` is one pattern ``ops.misuse`` found in a day of searches (NYPD 2026:
"investigating any circumstances or conditions which may indicate abuse"), raised to supervisors
and acknowledged by one of them with a note. Its id derives from the rule, the account, the day
and (for some rules) its first search, so a run repeated raises nothing twice. Flags name searches by
id and never carry a plate: the plate is in the (sealed) search criteria, for those allowed to
open them.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal
from uuid import UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate

from domain.errors import ConflictError, InvalidFieldError, PolicyRefusedError
from domain.values import parse_optional_text, parse_text, to_utc

REASON_MAX_LENGTH = 1000
NOTES_MAX_LENGTH = 2000
SUMMARY_MAX_LENGTH = 10_000
MAX_SAMPLE = 1000
MAX_PERIOD = timedelta(days=366)
"""A period is at most a year: TCSO audits twice a year, MPTC asks for periodic audits."""
MAX_SEED = 2**63 - 1
FINDINGS = ("ok", "concern")

AuditStatus = Literal["opened", "sampled", "summarised", "signed_off"]

MISUSE_NAMESPACE = UUID("6c1f0a52-3d8e-5b7a-9e41-2f6d8c0b7a13")


# --------------------------------------------------------------------------------------------
# Pure decisions
# --------------------------------------------------------------------------------------------


def parse_period(period_from: object, period_to: object, *, now: datetime) -> tuple[datetime, datetime]:
    """``[from, to)`` in UTC: ``to`` after ``from``, not later than ``now``, at most a year long."""
    if not isinstance(period_from, datetime):
        raise InvalidFieldError("from", "audit.period.type", "must be an ISO 8601 date-time")
    if not isinstance(period_to, datetime):
        raise InvalidFieldError("to", "audit.period.type", "must be an ISO 8601 date-time")
    start = to_utc(period_from, field="from", rule="audit.period")
    end = to_utc(period_to, field="to", rule="audit.period")
    if end <= start:
        raise InvalidFieldError("to", "audit.period.order", "must be later than from")
    if end > now:
        raise InvalidFieldError("to", "audit.period.future", "an audited period must have ended already")
    if end - start > MAX_PERIOD:
        raise InvalidFieldError("from", "audit.period.length", "a period is at most 366 days")
    return start, end


def parse_sample_size(raw: object) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= MAX_SAMPLE:
        raise InvalidFieldError("size", "audit.sample.size", f"must be a whole number from 1 to {MAX_SAMPLE}")
    return raw


def parse_seed(raw: object) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= MAX_SEED:
        raise InvalidFieldError("seed", "audit.sample.seed", f"must be a whole number from 0 to {MAX_SEED}")
    return raw


def population_digest(search_ids: Iterable[str]) -> str:
    """SHA-256 of the sorted population: shows later that a redraw used the same searches."""
    return hashlib.sha256("\n".join(sorted(search_ids)).encode()).hexdigest()


def draw_sample(population: Iterable[str], seed: int, size: int) -> list[str]:
    """``size`` ids (or all, when fewer) drawn from ``population`` by a PRNG seeded with ``seed``.

    The population is sorted first, so the draw depends only on the set of ids and the seed —
    never on the order a database happened to return them in."""
    ordered = sorted(set(population))
    return random.Random(seed).sample(ordered, min(size, len(ordered)))


INDEPENDENCE_RULE = "audit.independence.searched_in_period"
INDEPENDENCE_CLAUSES = "TCSO VIII.D, MPTC VI.G"


def check_independent(own_searches: int, step: str) -> None:
    """Refuse ``step`` (open, sample, review, summarise) to an actor with ``own_searches`` > 0
    searches requested in the audited period."""
    if own_searches > 0:
        raise PolicyRefusedError(
            "by",
            INDEPENDENCE_RULE,
            f"you made {own_searches} search(es) in the audited period, so you cannot {step} its audit:"
            " the audit must be made by someone independent of the searches it judges"
            f" ({INDEPENDENCE_CLAUSES}: audits to ensure the integrity of the system and measure"
            " compliance of use)",
        )


def parse_finding(raw: object) -> str:
    if raw not in FINDINGS:
        raise InvalidFieldError("finding", "audit.finding.unknown", "must be one of: ok, concern")
    return str(raw)


# --------------------------------------------------------------------------------------------
# QueryAudit
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Review:
    search_id: str
    reviewer_id: UUID
    reviewer_login: str
    finding: str
    notes: str | None
    at: datetime


class QueryAudit(Aggregate):
    """One audit of the query log over a period. Snapshots are not used."""

    if TYPE_CHECKING:
        period_from: datetime
        period_to: datetime
        opened_by: UUID
        opened_by_login: str
        reason: str
        opened_at: datetime
        status: AuditStatus
        seed: int | None
        population: int
        population_digest: str | None
        sample: list[str]
        searchers: dict[str, str]
        reviews: dict[str, Review]
        summary: str | None
        summarised_by_login: str | None
        signed_off_by: UUID | None
        signed_off_by_login: str | None
        signed_off_at: datetime | None
        statement: str | None

    class Event(Aggregate.Event):
        """Base class of every event of a QueryAudit."""

    @dataclass(frozen=True)
    class Opened(Event, Aggregate.Created):
        period_from: datetime
        period_to: datetime
        by: UUID
        by_login: str
        reason: str

        def apply(self, aggregate: QueryAudit) -> None:
            aggregate.period_from = self.period_from
            aggregate.period_to = self.period_to
            aggregate.opened_by = self.by
            aggregate.opened_by_login = self.by_login
            aggregate.reason = self.reason
            aggregate.opened_at = self.timestamp
            aggregate.status = "opened"
            aggregate.seed = None
            aggregate.population = 0
            aggregate.population_digest = None
            aggregate.sample = []
            aggregate.searchers = {}
            aggregate.reviews = {}
            aggregate.summary = None
            aggregate.summarised_by_login = None
            aggregate.signed_off_by = None
            aggregate.signed_off_by_login = None
            aggregate.signed_off_at = None
            aggregate.statement = None

    @dataclass(frozen=True)
    class SampleDrawn(Event):
        """``search_ids`` in the order drawn; ``searchers`` maps each to its searcher's account."""

        seed: int
        size: int
        population: int
        population_digest: str
        search_ids: list[str]
        searchers: dict[str, str]

        def apply(self, aggregate: QueryAudit) -> None:
            aggregate.status = "sampled"
            aggregate.seed = self.seed
            aggregate.population = self.population
            aggregate.population_digest = self.population_digest
            aggregate.sample = list(self.search_ids)
            aggregate.searchers = dict(self.searchers)

    @dataclass(frozen=True)
    class Reviewed(Event):
        search_id: str
        by: UUID
        by_login: str
        finding: str
        notes: str | None

        def apply(self, aggregate: QueryAudit) -> None:
            aggregate.reviews[self.search_id] = Review(
                self.search_id, self.by, self.by_login, self.finding, self.notes, self.timestamp
            )

    @dataclass(frozen=True)
    class Summarised(Event):
        summary: str
        by: UUID
        by_login: str
        ok: int
        concern: int

        def apply(self, aggregate: QueryAudit) -> None:
            aggregate.status = "summarised"
            aggregate.summary = self.summary
            aggregate.summarised_by_login = self.by_login

    @dataclass(frozen=True)
    class SignedOff(Event):
        by: UUID
        by_login: str
        statement: str | None

        def apply(self, aggregate: QueryAudit) -> None:
            aggregate.status = "signed_off"
            aggregate.signed_off_by = self.by
            aggregate.signed_off_by_login = self.by_login
            aggregate.signed_off_at = self.timestamp
            aggregate.statement = self.statement

    @classmethod
    def open(
        cls,
        *,
        period_from: object,
        period_to: object,
        reason: object,
        by: UUID,
        by_login: str,
        now: datetime,
        own_searches: int,
    ) -> QueryAudit:
        """``own_searches``: how many searches ``by`` requested in the period (the service counts
        them in the query log once the period parses: :func:`parse_period`)."""
        start, end = parse_period(period_from, period_to, now=now)
        check_independent(own_searches, "open")
        why = parse_text(reason, "reason", max_length=REASON_MAX_LENGTH, rule_prefix="audit.reason")
        return cls._create(
            cls.Opened,
            id=uuid4(),
            timestamp=now,
            period_from=start,
            period_to=end,
            by=by,
            by_login=by_login,
            reason=why,
        )

    def draw(
        self, population: dict[str, str], *, size: object, seed: object, by: UUID, now: datetime
    ) -> None:
        """``population`` maps each search id of the period to its searcher's account id."""
        if self.status != "opened":
            raise ConflictError("audit", "audit.sample.already_drawn", "the sample of this audit is drawn")
        check_independent(sum(1 for searcher in population.values() if searcher == str(by)), "sample")
        n = parse_sample_size(size)
        s = parse_seed(seed)
        ids = draw_sample(population, s, n)
        self.trigger_event(
            self.SampleDrawn,
            timestamp=now,
            seed=s,
            size=n,
            population=len(population),
            population_digest=population_digest(population),
            search_ids=ids,
            searchers={i: population[i] for i in ids},
        )

    def review(
        self,
        search_id: object,
        *,
        finding: object,
        notes: object,
        by: UUID,
        by_login: str,
        now: datetime,
        own_searches: int,
    ) -> None:
        """``own_searches``: how many searches ``by`` requested in the audited period."""
        if self.status == "opened":
            raise ConflictError("audit", "audit.review.not_sampled", "draw the sample before reviewing")
        if self.status != "sampled":
            raise ConflictError("audit", "audit.review.closed", f"the audit is {self.status}")
        check_independent(own_searches, "review")
        key = str(search_id)
        if key not in self.searchers:
            raise InvalidFieldError(
                "search_id", "audit.review.not_in_sample", "is not in this audit's sample"
            )
        if key in self.reviews:
            raise ConflictError("search_id", "audit.review.already_reviewed", "this search is reviewed")
        if self.searchers[key] == str(by):
            raise PolicyRefusedError(
                "search_id",
                "audit.review.own_search",
                "nobody reviews their own search; ask another reviewer",
            )
        result = parse_finding(finding)
        text = parse_optional_text(notes, "notes", max_length=NOTES_MAX_LENGTH, rule_prefix="audit.notes")
        if result == "concern" and text is None:
            raise InvalidFieldError("notes", "audit.notes.required_for_concern", "say what the concern is")
        self.trigger_event(
            self.Reviewed, timestamp=now, search_id=key, by=by, by_login=by_login, finding=result, notes=text
        )

    def summarise(
        self, summary: object, *, by: UUID, by_login: str, now: datetime, own_searches: int
    ) -> None:
        if self.status == "opened":
            raise ConflictError("audit", "audit.summary.not_sampled", "draw and review the sample first")
        if self.status != "sampled":
            raise ConflictError("audit", "audit.summary.already_summarised", f"the audit is {self.status}")
        check_independent(own_searches, "summarise")
        pending = [i for i in self.sample if i not in self.reviews]
        if pending:
            raise ConflictError(
                "audit", "audit.summary.reviews_pending", f"{len(pending)} sampled searches are not reviewed"
            )
        text = parse_text(summary, "summary", max_length=SUMMARY_MAX_LENGTH, rule_prefix="audit.summary")
        concern = sum(1 for r in self.reviews.values() if r.finding == "concern")
        self.trigger_event(
            self.Summarised,
            timestamp=now,
            summary=text,
            by=by,
            by_login=by_login,
            ok=len(self.reviews) - concern,
            concern=concern,
        )

    def sign_off(self, *, statement: object, by: UUID, by_login: str, now: datetime) -> None:
        if self.status != "summarised":
            rule = (
                "audit.signoff.already_signed"
                if self.status == "signed_off"
                else "audit.signoff.not_summarised"
            )
            raise ConflictError(
                "audit", rule, f"the audit is {self.status}; only a summarised audit is signed off"
            )
        if any(r.reviewer_id == by for r in self.reviews.values()):
            raise PolicyRefusedError(
                "by", "audit.signoff.reviewer", "a reviewer of the sample cannot sign the audit off"
            )
        if str(by) in self.searchers.values():
            raise PolicyRefusedError(
                "by", "audit.signoff.own_search", "the sample holds a search of yours: another must sign off"
            )
        text = parse_optional_text(
            statement, "statement", max_length=NOTES_MAX_LENGTH, rule_prefix="audit.statement"
        )
        self.trigger_event(self.SignedOff, timestamp=now, by=by, by_login=by_login, statement=text)


# --------------------------------------------------------------------------------------------
# MisuseFlag
# --------------------------------------------------------------------------------------------


def misuse_flag_id(rule: str, account_id: UUID, day: date, key: str = "") -> UUID:
    """One flag per rule, account, day and ``key`` (the first search of a repeated plate, the
    search of an unused case number; empty for rules judged per account and day), so a run
    repeated later the same day does not raise the same finding again with one more search."""
    return uuid5(MISUSE_NAMESPACE, f"{rule}|{account_id}|{day.isoformat()}|{key}")


class MisuseFlag(Aggregate):
    """A pattern of searches a supervisor should look at. Snapshots are not used."""

    if TYPE_CHECKING:
        rule: str
        day: str
        account_id: UUID
        login: str
        search_ids: list[str]
        detail: str
        metrics: dict[str, Any]
        raised_at: datetime
        acknowledged_by_login: str | None
        acknowledged_at: datetime | None
        note: str | None

    class Event(Aggregate.Event):
        """Base class of every event of a MisuseFlag."""

    @dataclass(frozen=True)
    class Raised(Event, Aggregate.Created):
        rule: str
        day: str
        account_id: UUID
        login: str
        search_ids: list[str]
        detail: str
        metrics: dict[str, Any]

        def apply(self, aggregate: MisuseFlag) -> None:
            aggregate.rule = self.rule
            aggregate.day = self.day
            aggregate.account_id = self.account_id
            aggregate.login = self.login
            aggregate.search_ids = list(self.search_ids)
            aggregate.detail = self.detail
            aggregate.metrics = dict(self.metrics)
            aggregate.raised_at = self.timestamp
            aggregate.acknowledged_by_login = None
            aggregate.acknowledged_at = None
            aggregate.note = None

    @dataclass(frozen=True)
    class Acknowledged(Event):
        by: UUID
        by_login: str
        note: str

        def apply(self, aggregate: MisuseFlag) -> None:
            aggregate.acknowledged_by_login = self.by_login
            aggregate.acknowledged_at = self.timestamp
            aggregate.note = self.note

    @classmethod
    def raise_flag(
        cls,
        *,
        rule: str,
        day: date,
        account_id: UUID,
        login: str,
        search_ids: Sequence[str],
        detail: str,
        metrics: dict[str, Any],
        now: datetime,
        key: str = "",
    ) -> MisuseFlag:
        return cls._create(
            cls.Raised,
            id=misuse_flag_id(rule, account_id, day, key),
            timestamp=now,
            rule=rule,
            day=day.isoformat(),
            account_id=account_id,
            login=login,
            search_ids=sorted(search_ids),
            detail=detail,
            metrics=metrics,
        )

    def acknowledge(self, *, note: object, by: UUID, by_login: str, now: datetime) -> None:
        if self.acknowledged_at is not None:
            raise ConflictError("flag", "misuse.flag.acknowledged", "this flag is acknowledged already")
        if str(by) == str(self.account_id):
            raise PolicyRefusedError(
                "flag", "misuse.flag.own", "a flag about your own searches is for another"
            )
        text = parse_text(note, "note", max_length=NOTES_MAX_LENGTH, rule_prefix="misuse.note")
        self.trigger_event(self.Acknowledged, timestamp=now, by=by, by_login=by_login, note=text)


QUERY_AUDIT_EVENT_CLASSES = (
    QueryAudit.Opened,
    QueryAudit.SampleDrawn,
    QueryAudit.Reviewed,
    QueryAudit.Summarised,
    QueryAudit.SignedOff,
    MisuseFlag.Raised,
    MisuseFlag.Acknowledged,
)

__all__ = [
    "FINDINGS",
    "INDEPENDENCE_RULE",
    "MAX_SAMPLE",
    "QUERY_AUDIT_EVENT_CLASSES",
    "MisuseFlag",
    "QueryAudit",
    "Review",
    "check_independent",
    "draw_sample",
    "misuse_flag_id",
    "parse_period",
    "population_digest",
]
