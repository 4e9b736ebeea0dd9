"""Retention in the domain: when records fall due, purges as recorded facts, and holds.

Records are shredded by destroying keys (``ledger.keystore``); the log keeps the events, sealed.
What the log must say, so that an auditor can check retention from the log alone, is recorded here:

- :class:`Purge`: one per destroyed key. A day key (``reads:2026-01-02``) shreds a whole expired
  day at once; a record key shreds one record (erroneous read, court order, a released hold past
  due); a case key shreds a closed case's reads. Each says which profile, rule and clause applied,
  when the records fell due and when the key was destroyed. Its id is derived from the key id, so
  one key is purged (and recorded) once.
- :class:`Hold`: reads kept past their day for a case: requested with a case number, reason and
  review date, approved by a supervisor (not the requester), re-justified by each review date,
  flagged when a review date passes, then released back to normal retention.

Due dates (pure functions of clear metadata and the profile):

- a read captured on UTC day D falls due at ``D + 1 day + read_retention`` (the whole day at once,
  so no read is kept less than the period);
- a search requested on day D: ``D + 1 day + query_log_retention``;
- a case's reads: ``closed_at + case_retention[final classification]`` (None: not by time).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Final
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.errors import ConflictError, InvalidFieldError
from domain.policy import PolicyProfile

PURGE_NAMESPACE: Final = uuid5(NAMESPACE_URL, "https://alpr-ledger.example/purge")
HOLD_GRACE: Final = timedelta(days=7)
"""A flagged hold (review date passed, not re-justified) is released this long after flagging, so a
supervisor sees the flag before the records go back to normal retention."""
MAX_HOLD_READS: Final = 1000
MAX_REVIEW_AHEAD: Final = timedelta(days=366)
"""A hold is re-justified at least yearly."""
REASON_MAX_LENGTH: Final = 500

# Rules a purge can name (with the profile clause that sets each).
RULE_READ_RETENTION: Final = "read_retention"
RULE_QUERY_LOG_RETENTION: Final = "query_log_retention"
RULE_CASE_RETENTION: Final = "case_retention"
RULE_COURT_ORDER: Final = "court_order"
RULE_ERRONEOUS_READ: Final = "erroneous_read"
RULE_HOLD_RELEASED: Final = "hold_released_past_due"
SHRED_RULES: Final = frozenset({RULE_COURT_ORDER, RULE_ERRONEOUS_READ})
"""Rules a person may name when shredding one record by hand."""

_CONTROL = re.compile("[\\x00-\\x1f\\x7f-\\x9f]")


def end_of_day(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)


MAXIMUM_MARGIN: Final = timedelta(hours=2)
"""Under a maximum read retention a day falls due this long before its first read reaches the
maximum, so that a retention job running at least this often destroys every read in time. The
service refuses a longer retention interval under such a profile."""


def read_day_due(day: date, policy: PolicyProfile) -> datetime:
    """When the reads captured on UTC ``day`` fall due.

    Under a minimum retention (NYPD, MPTC "a minimum of one year"): once the day's LAST read has
    been kept for the period (end of day + period). Under a maximum ("not to exceed 30 days",
    TCSO VII.A): before the day's FIRST read exceeds it (start of day + period - margin).
    """
    if policy.read_retention_is_maximum:
        return read_day_limit(day, policy) - MAXIMUM_MARGIN
    return end_of_day(day) + policy.read_retention.value


def read_day_limit(day: date, policy: PolicyProfile) -> datetime:
    """Under a maximum read retention, when the day's first read reaches the maximum: a purge
    after this is late, whatever the audit's tolerance."""
    return datetime.combine(day, time.min, tzinfo=UTC) + policy.read_retention.value


def search_day_due(day: date, policy: PolicyProfile) -> datetime:
    return end_of_day(day) + policy.query_log_retention.value


def case_due(classification: str, closed_at: datetime, policy: PolicyProfile) -> datetime | None:
    """When a closed case's reads fall due; None when its classification is not purged by time."""
    period = policy.case_retention.get(classification)
    if period is None or period.value is None:
        return None
    return closed_at + period.value


def last_due_day(now: datetime, retention: timedelta) -> date:
    """The latest capture day whose records are all due at ``now`` (days <= this one are due)."""
    return (now - retention).astimezone(UTC).date() - timedelta(days=1)


def purge_id(key_id: str) -> UUID:
    """The id of the Purge of one key: a key is destroyed, and recorded, once."""
    return uuid5(PURGE_NAMESPACE, key_id)


def parse_reason(raw: object, field: str = "reason") -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidFieldError(field, "retention.reason.required", "must say why, in words")
    if len(raw) > REASON_MAX_LENGTH or _CONTROL.search(raw):
        raise InvalidFieldError(
            field, "retention.reason.format", f"must be at most {REASON_MAX_LENGTH} characters on one line"
        )
    return raw.strip()


class Purge(Aggregate):
    """The record of one key's destruction. Created once; never changed."""

    if TYPE_CHECKING:
        key_id: str
        scope: str
        retention_class: str
        day: str | None
        record_ids: list[UUID]
        record_count: int
        rule: str
        clause: str
        profile: str
        due_at: datetime | None
        destroyed_at: datetime
        reason: str
        by: str

    class Event(Aggregate.Event):
        """Base class of every event of a Purge."""

    @dataclass(frozen=True)
    class Executed(Event, Aggregate.Created):
        """Key ``key_id`` was destroyed at ``destroyed_at``: ``record_count`` records are shredded.

        ``day``: the ISO day of a day key, else None. ``scope``: "kek" (a day's or a case's key:
        every record under it) or "record" (one data key). ``record_ids``: the records named
        individually (record and case purges; empty for a day, whose records are every read
        captured that day and not held). ``due_at``: when the records fell due under ``rule`` of
        ``profile`` (clause quoted); None for a court order or an erroneous read, due at once.
        """

        key_id: str
        scope: str
        retention_class: str
        day: str | None
        record_ids: list[UUID]
        record_count: int
        rule: str
        clause: str
        profile: str
        due_at: datetime | None
        destroyed_at: datetime
        reason: str
        by: str

        def apply(self, aggregate: Purge) -> None:
            for name in (
                "key_id",
                "scope",
                "retention_class",
                "day",
                "record_count",
                "rule",
                "clause",
                "profile",
                "due_at",
                "destroyed_at",
                "reason",
                "by",
            ):
                setattr(aggregate, name, getattr(self, name))
            aggregate.record_ids = list(self.record_ids)

    @classmethod
    def record(
        cls,
        *,
        key_id: str,
        scope: str,
        retention_class: str,
        day: date | None,
        record_ids: Iterable[UUID],
        record_count: int,
        rule: str,
        clause: str,
        profile: str,
        due_at: datetime | None,
        destroyed_at: datetime,
        reason: str,
        by: str,
    ) -> Purge:
        if scope not in ("kek", "record"):
            raise ValueError(f"purge scope must be 'kek' or 'record', not {scope!r}")
        return cls._create(
            cls.Executed,
            id=purge_id(key_id),
            timestamp=destroyed_at,
            key_id=key_id,
            scope=scope,
            retention_class=retention_class,
            day=None if day is None else day.isoformat(),
            record_ids=list(record_ids),
            record_count=record_count,
            rule=rule,
            clause=clause,
            profile=profile,
            due_at=due_at,
            destroyed_at=destroyed_at,
            reason=reason,
            by=by,
        )


class HoldStatus:
    REQUESTED: Final = "requested"
    ACTIVE: Final = "active"
    FLAGGED: Final = "flagged"
    DENIED: Final = "denied"
    RELEASED: Final = "released"


class Hold(Aggregate):
    """Reads kept for a case past their retention, under supervisor approval and periodic review."""

    if TYPE_CHECKING:
        read_ids: list[UUID]
        case_number: str
        reason: str
        review_by: datetime
        requested_by: str
        approved_by: str | None
        status: str
        flagged_at: datetime | None
        released_at: datetime | None
        release_reason: str | None

    class Event(Aggregate.Event):
        """Base class of every event of a Hold. ``by`` names who made the change."""

    @dataclass(frozen=True)
    class Requested(Event, Aggregate.Created):
        read_ids: list[UUID]
        case_number: str
        reason: str
        review_by: datetime
        by: str

        def apply(self, aggregate: Hold) -> None:
            aggregate.read_ids = list(self.read_ids)
            aggregate.case_number = self.case_number
            aggregate.reason = self.reason
            aggregate.review_by = self.review_by
            aggregate.requested_by = self.by
            aggregate.approved_by = None
            aggregate.status = HoldStatus.REQUESTED
            aggregate.flagged_at = None
            aggregate.released_at = None
            aggregate.release_reason = None

    @dataclass(frozen=True)
    class Approved(Event):
        by: str

        def apply(self, aggregate: Hold) -> None:
            aggregate.approved_by = self.by
            aggregate.status = HoldStatus.ACTIVE

    @dataclass(frozen=True)
    class Denied(Event):
        by: str
        reason: str

        def apply(self, aggregate: Hold) -> None:
            aggregate.status = HoldStatus.DENIED
            aggregate.release_reason = self.reason

    @dataclass(frozen=True)
    class Rejustified(Event):
        reason: str
        review_by: datetime
        by: str

        def apply(self, aggregate: Hold) -> None:
            aggregate.reason = self.reason
            aggregate.review_by = self.review_by
            aggregate.status = HoldStatus.ACTIVE
            aggregate.flagged_at = None

    @dataclass(frozen=True)
    class Flagged(Event):
        """The review date passed without re-justification; released after :data:`HOLD_GRACE`."""

        review_by: datetime
        by: str

        def apply(self, aggregate: Hold) -> None:
            aggregate.status = HoldStatus.FLAGGED
            aggregate.flagged_at = self.timestamp

    @dataclass(frozen=True)
    class Released(Event):
        """Back to normal retention: reads past due are shredded at once, others at their day."""

        reason: str
        automatic: bool
        by: str

        def apply(self, aggregate: Hold) -> None:
            aggregate.status = HoldStatus.RELEASED
            aggregate.released_at = self.timestamp
            aggregate.release_reason = self.reason

    @property
    def holding(self) -> bool:
        """Whether the hold keeps its reads now (approved and not released; flagged still keeps)."""
        return self.status in (HoldStatus.ACTIVE, HoldStatus.FLAGGED)

    @classmethod
    def request(
        cls,
        *,
        read_ids: Iterable[UUID],
        case_number: str,
        reason: str,
        review_by: datetime,
        by: str,
        at: datetime,
    ) -> Hold:
        ids = list(dict.fromkeys(read_ids))
        if not ids:
            raise InvalidFieldError("read_ids", "hold.read_ids.empty", "name at least one read")
        if len(ids) > MAX_HOLD_READS:
            raise InvalidFieldError("read_ids", "hold.read_ids.size", f"at most {MAX_HOLD_READS} reads")
        check_review_by(review_by, at)
        return cls._create(
            cls.Requested,
            timestamp=at,
            read_ids=ids,
            case_number=case_number,
            reason=parse_reason(reason),
            review_by=review_by,
            by=by,
        )

    def approve(self, *, by: str, at: datetime) -> None:
        self._require(HoldStatus.REQUESTED, "approve")
        if by == self.requested_by:
            raise ConflictError(
                "hold", "hold.approve.own", "a hold is approved by someone other than its requester"
            )
        self.trigger_event(self.Approved, timestamp=at, by=by)

    def deny(self, *, by: str, reason: str, at: datetime) -> None:
        self._require(HoldStatus.REQUESTED, "deny")
        self.trigger_event(self.Denied, timestamp=at, by=by, reason=parse_reason(reason))

    def rejustify(self, *, reason: str, review_by: datetime, by: str, at: datetime) -> None:
        if not self.holding:
            raise ConflictError(
                "hold", "hold.rejustify.state", f"a {self.status} hold cannot be re-justified"
            )
        check_review_by(review_by, at)
        self.trigger_event(
            self.Rejustified, timestamp=at, reason=parse_reason(reason), review_by=review_by, by=by
        )

    def flag(self, *, by: str, at: datetime) -> None:
        self._require(HoldStatus.ACTIVE, "flag")
        self.trigger_event(self.Flagged, timestamp=at, review_by=self.review_by, by=by)

    def release(self, *, reason: str, automatic: bool, by: str, at: datetime) -> None:
        if not self.holding:
            raise ConflictError("hold", "hold.release.state", f"a {self.status} hold cannot be released")
        self.trigger_event(
            self.Released, timestamp=at, reason=parse_reason(reason), automatic=automatic, by=by
        )

    def _require(self, status: str, action: str) -> None:
        if self.status != status:
            raise ConflictError("hold", f"hold.{action}.state", f"a {self.status} hold cannot be {action}d")


def check_review_by(review_by: datetime, now: datetime) -> None:
    if review_by.tzinfo is None:
        raise InvalidFieldError("review_by", "hold.review_by.naive", "must include a time zone")
    if review_by <= now:
        raise InvalidFieldError("review_by", "hold.review_by.past", "must be in the future")
    if review_by > now + MAX_REVIEW_AHEAD:
        raise InvalidFieldError(
            "review_by", "hold.review_by.too_far", f"must be within {MAX_REVIEW_AHEAD.days} days"
        )


__all__ = [
    "HOLD_GRACE",
    "MAXIMUM_MARGIN",
    "MAX_HOLD_READS",
    "RULE_CASE_RETENTION",
    "RULE_COURT_ORDER",
    "RULE_ERRONEOUS_READ",
    "RULE_HOLD_RELEASED",
    "RULE_QUERY_LOG_RETENTION",
    "RULE_READ_RETENTION",
    "SHRED_RULES",
    "Hold",
    "HoldStatus",
    "Purge",
    "case_due",
    "check_review_by",
    "end_of_day",
    "last_due_day",
    "parse_reason",
    "purge_id",
    "read_day_due",
    "read_day_limit",
    "search_day_due",
]
