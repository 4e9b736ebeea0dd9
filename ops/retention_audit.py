"""The retention audit: from the log alone, was every record past due shredded on time?

An auditor must be able to check retention without trusting the key store or the retention job:
the log keeps the clear metadata of every record (a read's capture time, a search's time, the cases
and holds that keep reads longer) and a ``Purge.Executed`` event for every destroyed key. From those
and the active profile this module recomputes when each record fell due and which purge shredded it,
and lists every record that was not shredded, was shredded late (after its due plus a tolerance, the
job runs periodically) or early (before its due: a minimum retention cut short), and every day purge
that destroyed fewer keys than the log says the day had unheld records (see ``_count_mismatch``).

It never asks the key store for anything: events are decoded by a plain eventsourcing mapper (the
application's transcoder, no sealing), so sealed personal fields stay opaque tokens and only clear
fields are used. The audit therefore works the same on a copy of the event store with no key store.

It scales with the log by streaming topic-filtered notifications once and keeping per-day counts; only
records that need their own reckoning (on a case, on a hold, named by a purge) and records it must
list are tracked one by one. A second, narrower pass over reads and searches (decoding only the events
it needs) finds the capture day of those records and the ids of the records of a day it reports.

Due dates (``domain.retention``): a read on no case and no hold falls due with its capture day; a read
attached to a case falls due with the case (``case_due`` once closed; never while the case is open or
when its classification has no period), but never before its own day (a case keeps reads longer, as
the retention job hands the reads of a case that falls due first back to their day); a read on a hold
is not due while the hold holds, then at the later of the release and its normal due. A day purge
shreds the day's records that were neither held nor kept by a case not yet due at the time of
destruction, nor shredded before; record and case purges name their records. Purges by court order
or for an erroneous read are due at once and never early.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Mapper, Notification
from eventsourcing.utils import get_topic

from domain.case import Case
from domain.policy import PolicyProfile, format_duration
from domain.read import Read
from domain.retention import (
    MAXIMUM_MARGIN,
    RULE_CASE_RETENTION,
    RULE_HOLD_RELEASED,
    RULE_QUERY_LOG_RETENTION,
    RULE_READ_RETENTION,
    SHRED_RULES,
    Hold,
    Purge,
    case_due,
    read_day_due,
    search_day_due,
)
from domain.search import Search
from ops.keys import READS, SEARCHES, utc_day

NOT_SHREDDED: Final = "not_shredded"
LATE: Final = "late"
EARLY: Final = "early"
COUNT_MISMATCH: Final = "count_mismatch"
FINDING_KINDS: Final = (NOT_SHREDDED, LATE, EARLY, COUNT_MISMATCH)
AUDITED_CLASSES: Final = (READS, SEARCHES)
DEFAULT_TOLERANCE: Final = timedelta(days=1)
"""Slack after a record falls due before it counts as kept too long: the retention job runs on a
schedule, not at the instant a day falls due."""

_READ = get_topic(Read.Captured)
_SEARCH = get_topic(Search.Requested)
_CASE_OPENED = get_topic(Case.Opened)
_CASE_ATTACHED = get_topic(Case.ReadsAttached)
_CASE_CLOSED = get_topic(Case.Closed)
_HOLD_REQUESTED = get_topic(Hold.Requested)
_HOLD_APPROVED = get_topic(Hold.Approved)
_HOLD_RELEASED = get_topic(Hold.Released)
_PURGE = get_topic(Purge.Executed)
_RECORD_TOPICS: Final = (_READ, _SEARCH)
_TOPICS: Final = (
    _READ,
    _SEARCH,
    _CASE_OPENED,
    _CASE_ATTACHED,
    _CASE_CLOSED,
    _HOLD_REQUESTED,
    _HOLD_APPROVED,
    _HOLD_RELEASED,
    _PURGE,
)
_PAGE: Final = 1000


# ---- the result ----------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


@dataclass(frozen=True, slots=True)
class RetentionRule:
    """One retention value of the active profile and the clause that sets it."""

    rule: str
    key: str
    """The case classification for ``case_retention``; "" otherwise."""
    period: str
    """In words ("30 days", "5 years", "none": not purged by time)."""
    period_seconds: int | None
    clause: str
    quote: str

    def as_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "key": self.key,
            "period": self.period,
            "period_seconds": self.period_seconds,
            "clause": self.clause,
            "quote": self.quote,
        }


@dataclass(frozen=True, slots=True)
class Finding:
    """A record, or the records of one day, not shredded on time; or a day purge that destroyed too
    few keys.

    ``record_id`` names a record judged on its own (on a case or hold, or named by a purge);
    ``record_ids`` lists the records concerned (for a day, its records that share the fate; empty for
    a count mismatch, which the log cannot pin on a record). ``rule`` and ``clause`` are those of the
    active profile that set ``due_at``; ``due_at`` None: not due when shredded (held, or its case
    open or of a classification kept without a period).
    """

    kind: str
    retention_class: str
    day: date
    record_id: UUID | None
    record_ids: tuple[UUID, ...]
    record_count: int
    due_at: datetime | None
    shredded_at: datetime | None
    rule: str
    clause: str
    key_id: str | None = None
    """The destroyed key of the purge concerned, if any."""
    expected_count: int | None = None
    destroyed_count: int | None = None
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "retention_class": self.retention_class,
            "day": self.day.isoformat(),
            "record_id": None if self.record_id is None else str(self.record_id),
            "record_ids": [str(r) for r in self.record_ids],
            "record_count": self.record_count,
            "due_at": _iso(self.due_at),
            "shredded_at": _iso(self.shredded_at),
            "rule": self.rule,
            "clause": self.clause,
            "key_id": self.key_id,
            "expected_count": self.expected_count,
            "destroyed_count": self.destroyed_count,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class ClassSummary:
    """Counts for one retention class (``reads`` or ``searches``)."""

    retention_class: str
    seen: int
    due: int
    """Records whose due time has passed (judged when shredded, or now)."""
    shredded: int
    shredded_on_time: int
    findings: int

    def as_json(self) -> dict[str, Any]:
        return {
            "retention_class": self.retention_class,
            "seen": self.seen,
            "due": self.due,
            "shredded": self.shredded,
            "shredded_on_time": self.shredded_on_time,
            "findings": self.findings,
        }


@dataclass(frozen=True, slots=True)
class RetentionAudit:
    profile: str
    rules: tuple[RetentionRule, ...]
    now: datetime
    tolerance: timedelta
    log_size: int
    """The log's top notification id when the audit started: everything up to it was considered."""
    notifications_read: int
    """Notifications of the audited topics read and decoded in the main pass."""
    classes: tuple[ClassSummary, ...]
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return not self.findings

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "profile": self.profile,
            "rules": [r.as_json() for r in self.rules],
            "now": self.now.isoformat(),
            "tolerance_seconds": int(self.tolerance.total_seconds()),
            "log_size": self.log_size,
            "notifications_read": self.notifications_read,
            "classes": [c.as_json() for c in self.classes],
            "findings": [f.as_json() for f in self.findings],
        }


# ---- what the log says ---------------------------------------------------------------------------


@dataclass
class _CaseFacts:
    classification: str
    closed_at: datetime | None = None
    final_classification: str | None = None


@dataclass
class _HoldFacts:
    read_ids: tuple[UUID, ...]
    approved_at: datetime | None = None
    released_at: datetime | None = None

    def holding_at(self, t: datetime) -> bool:
        return (
            self.approved_at is not None
            and self.approved_at <= t
            and (self.released_at is None or self.released_at > t)
        )

    def released_by(self, t: datetime) -> datetime | None:
        """When the hold stopped holding, if it held and stopped by ``t``."""
        if self.approved_at is None or self.released_at is None or self.released_at > t:
            return None
        return self.released_at


@dataclass(frozen=True)
class _PurgeFacts:
    key_id: str
    scope: str
    retention_class: str
    day: date | None
    record_ids: tuple[UUID, ...]
    record_count: int
    rule: str
    destroyed_at: datetime


@dataclass
class _Due:
    at: datetime | None
    rule: str
    clause: str
    detail: str = ""


@dataclass
class _Log:
    """Pass one: compact facts of the log up to ``top``, as of ``now``."""

    days: dict[str, Counter[date]] = field(default_factory=lambda: {c: Counter() for c in AUDITED_CLASSES})
    cases: dict[UUID, _CaseFacts] = field(default_factory=dict)
    read_cases: dict[UUID, list[tuple[UUID, datetime]]] = field(default_factory=lambda: defaultdict(list))
    holds: dict[UUID, _HoldFacts] = field(default_factory=dict)
    read_holds: dict[UUID, list[UUID]] = field(default_factory=lambda: defaultdict(list))
    day_purges: dict[tuple[str, date], _PurgeFacts] = field(default_factory=dict)
    named_purges: dict[UUID, list[_PurgeFacts]] = field(default_factory=lambda: defaultdict(list))
    notifications: int = 0


def _plain_mapper(app: Application[UUID]) -> Mapper[UUID]:
    """A mapper that decodes stored events without opening sealed fields (no key store at all)."""
    mapper = app.mapper
    return Mapper(mapper.transcoder, compressor=mapper.compressor, cipher=mapper.cipher)


def _notifications(app: Application[UUID], topics: tuple[str, ...], top: int) -> Iterator[Notification]:
    position = 0
    while position < top:
        page = app.recorder.select_notifications(
            position, _PAGE, stop=top, topics=list(topics), inclusive_of_start=False
        )
        yield from page
        if len(page) < _PAGE:
            return
        position = page[-1].id


def _scan(app: Application[UUID], mapper: Mapper[UUID], top: int, now: datetime) -> _Log:
    log = _Log()
    for notification in _notifications(app, _TOPICS, top):
        log.notifications += 1
        topic = notification.topic
        event: Any = mapper.to_domain_event(notification)
        if topic == _READ:
            log.days[READS][utc_day(event.captured_at)] += 1
            continue
        if topic == _SEARCH:
            log.days[SEARCHES][utc_day(event.timestamp)] += 1
            continue
        if event.timestamp > now:  # the audit judges the record as it stood at ``now``
            continue
        if topic == _CASE_OPENED:
            log.cases[event.originator_id] = _CaseFacts(event.classification)
        elif topic == _CASE_ATTACHED:
            for read_id in event.read_ids:
                log.read_cases[read_id].append((event.originator_id, event.timestamp))
        elif topic == _CASE_CLOSED:
            case = log.cases.get(event.originator_id)
            if case is not None:
                case.closed_at = event.closed_at
                case.final_classification = event.final_classification
        elif topic == _HOLD_REQUESTED:
            log.holds[event.originator_id] = _HoldFacts(tuple(event.read_ids))
            for read_id in event.read_ids:
                log.read_holds[read_id].append(event.originator_id)
        elif topic == _HOLD_APPROVED:
            if (hold := log.holds.get(event.originator_id)) is not None:
                hold.approved_at = event.timestamp
        elif topic == _HOLD_RELEASED:
            if (hold := log.holds.get(event.originator_id)) is not None:
                hold.released_at = event.timestamp
        elif topic == _PURGE:
            _add_purge(log, event)
    return log


def _add_purge(log: _Log, event: Any) -> None:
    if event.destroyed_at is None:
        return
    purge = _PurgeFacts(
        key_id=event.key_id,
        scope=event.scope,
        retention_class=event.retention_class,
        day=None if event.day is None else date.fromisoformat(event.day),
        record_ids=tuple(event.record_ids),
        record_count=event.record_count,
        rule=event.rule,
        destroyed_at=event.destroyed_at,
    )
    if purge.scope == "kek" and purge.day is not None and purge.retention_class in AUDITED_CLASSES:
        log.day_purges[(purge.retention_class, purge.day)] = purge
    for record_id in purge.record_ids:
        log.named_purges[record_id].append(purge)


# ---- judging -------------------------------------------------------------------------------------


@dataclass
class _Judge:
    policy: PolicyProfile
    log: _Log
    now: datetime
    tolerance: timedelta

    def day_due(self, retention_class: str, day: date) -> _Due:
        if retention_class == READS:
            return _Due(
                read_day_due(day, self.policy), RULE_READ_RETENTION, self.policy.read_retention.clause.ref
            )
        return _Due(
            search_day_due(day, self.policy),
            RULE_QUERY_LOG_RETENTION,
            self.policy.query_log_retention.clause.ref,
        )

    def holding(self, read_id: UUID, t: datetime) -> bool:
        return any(self.log.holds[h].holding_at(t) for h in self.log.read_holds.get(read_id, ()))

    def attached(self, read_id: UUID, t: datetime) -> list[UUID]:
        return [case_id for case_id, at in self.log.read_cases.get(read_id, ()) if at <= t]

    def record_due(self, retention_class: str, record_id: UUID, day: date, t: datetime) -> _Due:
        """The record's due as the log stood at ``t``."""
        due = self.day_due(retention_class, day)
        if retention_class != READS:
            return due
        # A case keeps its reads longer, never shorter: their own day still bounds them (a case that
        # falls due first hands its reads back to their day, as the retention job does).
        case = self._case_due(self.attached(record_id, t), t)
        if case is not None and (case.at is None or due.at is None or case.at > due.at):
            due = case
        releases = [
            released
            for h in self.log.read_holds.get(record_id, ())
            if (released := self.log.holds[h].released_by(t)) is not None
        ]
        if due.at is not None and releases and max(releases) > due.at:
            due = _Due(max(releases), RULE_HOLD_RELEASED, due.clause, "released from hold after its due")
        if self.holding(record_id, t):
            due = _Due(None, due.rule, due.clause, "on hold")
        return due

    def _case_due(self, case_ids: list[UUID], t: datetime) -> _Due | None:
        """The latest due of the read's cases at ``t``: at None while one is open or is kept without
        a period; None when the read is on no case the log knows."""
        latest: _Due | None = None
        for case_id in case_ids:
            case = self.log.cases.get(case_id)
            if case is None:
                continue
            classification = case.final_classification or case.classification
            sourced = self.policy.case_retention.get(classification)
            clause = "" if sourced is None else sourced.clause.ref
            if case.closed_at is None or case.closed_at > t or case.final_classification is None:
                return _Due(None, RULE_CASE_RETENTION, clause, "its case is open")
            at = case_due(case.final_classification, case.closed_at, self.policy)
            if at is None:
                return _Due(
                    None, RULE_CASE_RETENTION, clause, f"case classification {classification} has no period"
                )
            if latest is None or latest.at is None or at > latest.at:
                latest = _Due(at, RULE_CASE_RETENTION, clause)
        return latest

    def day_purge_covers(self, retention_class: str, record_id: UUID, purge: _PurgeFacts) -> bool:
        """Whether a day purge shredded the record: not held, nor kept by a case not yet due, when it ran."""
        if retention_class != READS:
            return True
        t = purge.destroyed_at
        if self.holding(record_id, t):
            return False
        case = self._case_due(self.attached(record_id, t), t)
        return case is None or (case.at is not None and case.at <= t)

    def slack(self, due: _Due) -> timedelta:
        """How long after its due a shred is still on time. A maximum read retention ("not to
        exceed") allows no tolerance past the maximum itself, which is the due plus its margin."""
        if due.rule == RULE_READ_RETENTION and self.policy.read_retention_is_maximum:
            return min(self.tolerance, MAXIMUM_MARGIN)
        return self.tolerance

    def verdict(self, due: _Due, shredded_by: _PurgeFacts | None) -> str | None:
        if shredded_by is None:
            if due.at is not None and due.at + self.slack(due) < self.now:
                return NOT_SHREDDED
            return None
        at = shredded_by.destroyed_at
        if shredded_by.rule not in SHRED_RULES and (due.at is None or at < due.at):
            return EARLY
        if due.at is not None and at > due.at + self.slack(due):
            return LATE
        return None


@dataclass
class _Tally:
    seen: int = 0
    due: int = 0
    shredded: int = 0
    shredded_on_time: int = 0
    findings: int = 0

    def add(self, count: int, due: _Due, now: datetime, shredded: bool, verdict: str | None) -> None:
        self.due += count if due.at is not None and due.at <= now else 0
        if shredded:
            self.shredded += count
            self.shredded_on_time += count if verdict is None else 0


def audit_retention(
    app: Any,
    *,
    now: datetime | None = None,
    tolerance: timedelta = DEFAULT_TOLERANCE,
) -> RetentionAudit:
    """Audit retention under ``app.policy`` from ``app``'s log alone, as of ``now`` (the app's clock).

    Events after ``now`` (cases, holds, purges) are not taken into account, so an audit "at" a past
    instant says what an auditor would have found then.
    """
    policy: PolicyProfile = app.policy
    now = (now or app.clock()).astimezone(UTC)
    mapper = _plain_mapper(app)
    top = app.recorder.max_notification_id() or 0
    log = _scan(app, mapper, top, now)
    judge = _Judge(policy, log, now, tolerance)

    # Records judged one by one; their class and day come from pass two.
    special = set(log.read_cases) | set(log.read_holds) | set(log.named_purges)
    # Day groups (records judged together) that will be reported: their ids come from pass two.
    flagged: dict[tuple[str, date], tuple[str, _Due, _PurgeFacts | None]] = {}
    for retention_class in AUDITED_CLASSES:
        for day in log.days[retention_class]:
            due = judge.day_due(retention_class, day)
            purge = log.day_purges.get((retention_class, day))
            verdict = judge.verdict(due, purge)
            if verdict is not None:
                flagged[(retention_class, day)] = (verdict, due, purge)

    located: dict[UUID, tuple[str, date]] = {}
    listed: dict[tuple[str, date], list[UUID]] = defaultdict(list)
    if special or flagged:
        for notification in _notifications(app, _RECORD_TOPICS, top):
            raw_id = notification.originator_id
            record_id = raw_id if isinstance(raw_id, UUID) else UUID(raw_id)
            if record_id not in special and not flagged:
                continue
            event: Any = mapper.to_domain_event(notification)
            if notification.topic == _READ:
                where = (READS, utc_day(event.captured_at))
            else:
                where = (SEARCHES, utc_day(event.timestamp))
            if record_id in special:
                located[record_id] = where
            elif where in flagged:
                listed[where].append(record_id)

    tallies = {c: _Tally(seen=sum(log.days[c].values())) for c in AUDITED_CLASSES}
    findings: list[Finding] = []
    special_per_day: Counter[tuple[str, date]] = Counter(located.values())
    shredded_by_day_purge: Counter[str] = Counter()  # key id -> special records it shredded

    for record_id, (retention_class, day) in located.items():
        candidates = [p for p in log.named_purges.get(record_id, ())]
        day_purge = log.day_purges.get((retention_class, day))
        if day_purge is not None and judge.day_purge_covers(retention_class, record_id, day_purge):
            candidates.append(day_purge)
        first = min(candidates, key=lambda p: p.destroyed_at, default=None)
        if first is not None and first is day_purge:
            shredded_by_day_purge[first.key_id] += 1
        due = judge.record_due(retention_class, record_id, day, first.destroyed_at if first else now)
        verdict = judge.verdict(due, first)
        tallies[retention_class].add(1, due, now, first is not None, verdict)
        if verdict is not None:
            findings.append(
                Finding(
                    kind=verdict,
                    retention_class=retention_class,
                    day=day,
                    record_id=record_id,
                    record_ids=(record_id,),
                    record_count=1,
                    due_at=due.at,
                    shredded_at=None if first is None else first.destroyed_at,
                    rule=due.rule,
                    clause=due.clause,
                    key_id=None if first is None else first.key_id,
                    detail=_detail(verdict, due, first),
                )
            )

    for retention_class in AUDITED_CLASSES:
        for day, total in sorted(log.days[retention_class].items()):
            where = (retention_class, day)
            count = total - special_per_day[where]
            purge = log.day_purges.get(where)
            if count > 0:
                due = judge.day_due(retention_class, day)
                verdict = flagged[where][0] if where in flagged else None
                tallies[retention_class].add(count, due, now, purge is not None, verdict)
                if verdict is not None:
                    findings.append(
                        Finding(
                            kind=verdict,
                            retention_class=retention_class,
                            day=day,
                            record_id=None,
                            record_ids=tuple(sorted(listed[where], key=str)),
                            record_count=count,
                            due_at=due.at,
                            shredded_at=None if purge is None else purge.destroyed_at,
                            rule=due.rule,
                            clause=due.clause,
                            key_id=None if purge is None else purge.key_id,
                            detail=_detail(verdict, due, purge),
                        )
                    )
            if purge is None:
                continue
            mismatch = _count_mismatch(
                judge, retention_class, day, purge, count + shredded_by_day_purge[purge.key_id]
            )
            if mismatch is not None:
                findings.append(mismatch)

    findings.sort(
        key=lambda f: (f.retention_class, f.day, FINDING_KINDS.index(f.kind), str(f.record_id or ""))
    )
    for finding in findings:
        tallies[finding.retention_class].findings += 1
    return RetentionAudit(
        profile=policy.name,
        rules=profile_rules(policy),
        now=now,
        tolerance=tolerance,
        log_size=top,
        notifications_read=log.notifications,
        classes=tuple(
            ClassSummary(c, t.seen, t.due, t.shredded, t.shredded_on_time, t.findings)
            for c, t in tallies.items()
        ),
        findings=tuple(findings),
    )


def _count_mismatch(
    judge: _Judge, retention_class: str, day: date, purge: _PurgeFacts, expected: int
) -> Finding | None:
    """A finding when a day purge destroyed FEWER keys than the log's unheld records of that day.

    Fewer means some record the log says was shredded kept its data key (under another key, with
    nothing in the log saying why): its data is still readable. More is harmless and not reported:
    data keys are created and committed before their events are stored, so a batch whose events
    then failed to store (a conflict, a crash) leaves keys of reads the log never had; the day key
    destroys them with the rest, shredding nothing the log knows of.
    """
    if purge.record_count >= expected:
        return None
    due = judge.day_due(retention_class, day)
    return Finding(
        kind=COUNT_MISMATCH,
        retention_class=retention_class,
        day=day,
        record_id=None,
        record_ids=(),
        record_count=expected - purge.record_count,
        due_at=due.at,
        shredded_at=purge.destroyed_at,
        rule=due.rule,
        clause=due.clause,
        key_id=purge.key_id,
        expected_count=expected,
        destroyed_count=purge.record_count,
        detail=(
            f"the log has {expected} unheld records of {day.isoformat()} but destroying "
            f"{purge.key_id} shredded only {purge.record_count}"
        ),
    )


def _detail(verdict: str, due: _Due, purge: _PurgeFacts | None) -> str:
    reason = f" ({due.detail})" if due.detail else ""
    if verdict == NOT_SHREDDED:
        return f"past due{reason} and no purge shredded it"
    assert purge is not None
    if verdict == EARLY:
        if due.at is None:
            return f"shredded by {purge.key_id} ({purge.rule}) while not due{reason}"
        return f"shredded by {purge.key_id} ({purge.rule}) before its due{reason}"
    return f"shredded by {purge.key_id} ({purge.rule}) after its due and the tolerance{reason}"


def profile_rules(policy: PolicyProfile) -> tuple[RetentionRule, ...]:
    """The profile's retention values, each with its clause."""

    def rule(name: str, key: str, value: timedelta | None, ref: str, quote: str) -> RetentionRule:
        seconds = None if value is None else int(value.total_seconds())
        return RetentionRule(name, key, format_duration(value), seconds, ref, quote)

    rules = [
        rule(
            RULE_READ_RETENTION,
            "",
            policy.read_retention.value,
            policy.read_retention.clause.ref,
            policy.read_retention.clause.quote,
        ),
        rule(
            RULE_QUERY_LOG_RETENTION,
            "",
            policy.query_log_retention.value,
            policy.query_log_retention.clause.ref,
            policy.query_log_retention.clause.quote,
        ),
    ]
    for classification, period in sorted(policy.case_retention.items()):
        rules.append(
            rule(RULE_CASE_RETENTION, classification, period.value, period.clause.ref, period.clause.quote)
        )
    return tuple(rules)


__all__ = [
    "COUNT_MISMATCH",
    "DEFAULT_TOLERANCE",
    "EARLY",
    "FINDING_KINDS",
    "LATE",
    "NOT_SHREDDED",
    "ClassSummary",
    "Finding",
    "RetentionAudit",
    "RetentionRule",
    "audit_retention",
    "profile_rules",
]
