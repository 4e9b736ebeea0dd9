"""The retention engine: what falls due under the active profile, and shredding it provably.

One run (:class:`RetentionRun`, started by ``AlprLedger.run_retention``) does, in order:

a. reconcile: a key destroyed in the key store whose ``Purge`` was never saved (a crash between the
   two) gets its ``Purge`` now, so the log names every destroyed key;
b. holds: active holds past their review date are flagged; flagged holds past ``HOLD_GRACE`` are
   released, and their reads go back to normal retention (:meth:`RetentionRun.settle`);
c. read days: every live ``reads:<day>`` KEK whose day is due is destroyed (held reads and reads of
   cases not yet due are first moved under their hold/case key, should any still be under the day);
d. search days likewise, with the query-log retention;
e. closed cases past their case retention: their key is destroyed (reads also held elsewhere, or
   whose own day is not yet due, are moved away first);
f. blob hygiene: image directories of shredded records are deleted.

Keys are destroyed first and the ``Purge`` saved after: destroying is the fact that matters, and
the key store's ``destroyed`` table keeps it if the process dies before the save (step a). Two runs
at once cannot double-destroy (``destroy_kek`` deletes in one transaction and answers None to the
loser) nor double-record (a Purge's id is derived from its key id, so a second save conflicts).
"""

from __future__ import annotations

import os
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from domain.case import Case
from domain.policy import Clause, PolicyProfile
from domain.read import Read
from domain.retention import (
    HOLD_GRACE,
    RULE_CASE_RETENTION,
    RULE_COURT_ORDER,
    RULE_ERRONEOUS_READ,
    RULE_HOLD_RELEASED,
    RULE_QUERY_LOG_RETENTION,
    RULE_READ_RETENTION,
    Hold,
    HoldStatus,
    Purge,
    case_due,
    last_due_day,
    purge_id,
    read_day_due,
    search_day_due,
)
from ledger.keystore import Destruction, KeyStore, KeyStoreError, parse_kek_id
from ops.keys import CASE, HOLD, READS, SEARCHES, case_kek, hold_kek, read_kek, utc_day

if TYPE_CHECKING:
    from ops.commands.base import CommandsBase

_MARK = re.compile(r"^\[([a-z_]+)\]")
_READ_CAPTURED: Final = get_topic(Read.Captured)
_INDEXED: Final = (get_topic(Hold.Requested), get_topic(Case.Opened), get_topic(Case.ReadsAttached))
_SCAN_BATCH: Final = 500
_DAY_CACHE_SIZE: Final = 100_000
_BLOB_BATCH: Final = 1000
UNRECORDED_RULE: Final = "unrecorded"
"""Rule of a reconciled record key whose destruction reason names no rule (destroyed by hand)."""


# --------------------------------------------------------------------------------------------
# Clauses and reasons
# --------------------------------------------------------------------------------------------


def clause_text(clause: Clause) -> str:
    """A clause as one citation line: where it comes from, then its words."""
    return f'{clause.ref}: "{clause.quote}"'


def shred_clause(policy: PolicyProfile, rule: str) -> str:
    """The clause of a purge by hand: no retention period applies, the record is due at once."""
    return f"{policy.name}: {rule.replace('_', ' ')} (shredded at once, not by a retention period)"


def purge_reason(rule: str, policy: PolicyProfile, clause: str, detail: str = "") -> str:
    """The key store's destruction reason: starts with ``[rule]`` so a crash-interrupted purge can
    be recorded later under the right rule (:func:`rule_of_reason`), then names profile and clause."""
    text = f"[{rule}] profile {policy.name}; {clause}"
    return f"{text}; {detail}" if detail else text


def rule_of_reason(reason: str) -> str | None:
    found = _MARK.match(reason)
    return None if found is None else found.group(1)


# --------------------------------------------------------------------------------------------
# What a run reports, and what a read path is told
# --------------------------------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


@dataclass(frozen=True, slots=True)
class PurgeItem:
    """One key destroyed (or, in a dry run, to be destroyed)."""

    key_id: str
    scope: str
    """"kek" (a day's or a case's key) or "record" (one read's data key)."""
    retention_class: str
    day: date | None
    due_at: datetime | None
    rule: str
    clause: str
    record_count: int | None
    """DEKs destroyed with the key; None for a day key in a dry run (counted only when destroyed)."""
    record_ids: tuple[UUID, ...] = ()
    reconciled: bool = False
    """True when the key was destroyed earlier and only its Purge is recorded now (step a)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "scope": self.scope,
            "retention_class": self.retention_class,
            "day": None if self.day is None else self.day.isoformat(),
            "due_at": _iso(self.due_at),
            "rule": self.rule,
            "clause": self.clause,
            "record_count": self.record_count,
            "record_ids": [str(r) for r in self.record_ids],
            "reconciled": self.reconciled,
        }


@dataclass(frozen=True, slots=True)
class HoldChange:
    """A hold flagged (review date passed) or released automatically by a run."""

    hold_id: UUID
    case_number: str
    action: str
    """"flagged" or "released"."""
    review_by: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "hold_id": str(self.hold_id),
            "case_number": self.case_number,
            "action": self.action,
            "review_by": self.review_by.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class RetentionReport:
    """What one run did (or, with ``dry_run``, would do) under ``profile`` at ``now``."""

    profile: str
    now: datetime
    dry_run: bool
    purges: tuple[PurgeItem, ...]
    holds: tuple[HoldChange, ...]
    rekeyed: int
    """Reads moved under another key (back to their day, under a hold or a case)."""
    blobs_deleted: int

    def to_json(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "now": self.now.isoformat(),
            "dry_run": self.dry_run,
            "purges": [p.to_json() for p in self.purges],
            "holds": [h.to_json() for h in self.holds],
            "rekeyed": self.rekeyed,
            "blobs_deleted": self.blobs_deleted,
        }


@dataclass(frozen=True, slots=True)
class PurgeInfo:
    """Why a read's data is gone: the Purge of the key that shredded it."""

    purge_id: UUID
    key_id: str
    rule: str
    clause: str
    profile: str
    due_at: datetime | None
    destroyed_at: datetime
    reason: str

    @classmethod
    def of(cls, purge: Purge) -> PurgeInfo:
        return cls(
            purge_id=purge.id,
            key_id=purge.key_id,
            rule=purge.rule,
            clause=purge.clause,
            profile=purge.profile,
            due_at=purge.due_at,
            destroyed_at=purge.destroyed_at,
            reason=purge.reason,
        )


# --------------------------------------------------------------------------------------------
# Per-application state: which holds and cases name each read, and cached Purge lookups
# --------------------------------------------------------------------------------------------


@dataclass
class RetentionState:
    """Kept on the application instance, shared by its threads (API, scheduler)."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    run_lock: threading.Lock = field(default_factory=threading.Lock)
    position: int = 0
    holds: dict[UUID, None] = field(default_factory=dict)
    cases: dict[UUID, None] = field(default_factory=dict)
    members: dict[UUID, list[tuple[str, UUID]]] = field(default_factory=dict)
    purges: dict[str, tuple[PurgeInfo, frozenset[UUID]]] = field(default_factory=dict)
    days: OrderedDict[UUID, date] = field(default_factory=OrderedDict)
    foreign: set[str] = field(default_factory=set)
    """Destroyed keys retention does not own (e.g. a hotlist's): not reconciled."""

    def refresh(self, app: CommandsBase) -> None:
        """Read the hold and case events appended since the last refresh (the log only grows).

        Scans up to the log's committed top, so the next refresh starts there: a run costs the
        new events, not the whole log.
        """
        with self.lock:
            top = app.recorder.max_notification_id() or 0
            while self.position < top:
                batch = app.recorder.select_notifications(
                    self.position + 1, _SCAN_BATCH, stop=top, topics=_INDEXED
                )
                for notification in batch:
                    self._index(app.mapper.to_domain_event(notification))
                if len(batch) < _SCAN_BATCH:
                    self.position = top
                else:
                    self.position = batch[-1].id

    def _index(self, event: Any) -> None:
        owner: UUID = event.originator_id
        if isinstance(event, Hold.Requested):
            self.holds[owner] = None
            for read_id in event.read_ids:
                self.members.setdefault(read_id, []).append((HOLD, owner))
        elif isinstance(event, Case.Opened):
            self.cases[owner] = None
        elif isinstance(event, Case.ReadsAttached):
            for read_id in event.read_ids:
                self.members.setdefault(read_id, []).append((CASE, owner))

    def memberships(self, read_id: UUID) -> list[tuple[str, UUID]]:
        with self.lock:
            return list(self.members.get(read_id, ()))

    def member_reads(self) -> list[UUID]:
        with self.lock:
            return list(self.members)

    def remember_day(self, read_id: UUID, day: date) -> None:
        with self.lock:
            self.days[read_id] = day
            self.days.move_to_end(read_id)
            while len(self.days) > _DAY_CACHE_SIZE:
                self.days.popitem(last=False)


def purge_lookup(
    app: CommandsBase, state: RetentionState, key_id: str
) -> tuple[PurgeInfo, frozenset[UUID]] | None:
    """The recorded Purge of ``key_id`` (cached: a Purge never changes), or None."""
    found = state.purges.get(key_id)
    if found is not None:
        return found
    try:
        purge: object = app.repository.get(purge_id(key_id))
    except AggregateNotFoundError:
        return None
    if not isinstance(purge, Purge):
        return None
    found = (PurgeInfo.of(purge), frozenset(purge.record_ids))
    with state.lock:
        state.purges[key_id] = found
    return found


def capture_day(app: CommandsBase, state: RetentionState, read_id: UUID) -> date | None:
    """The UTC capture day of a stored read (clear metadata, readable after a purge), or None."""
    day = state.days.get(read_id)
    if day is not None:
        return day
    events = app.recorder.select_events(read_id, limit=1)
    if not events or events[0].topic != _READ_CAPTURED:
        return None
    captured: Any = app.mapper.to_domain_event(events[0])
    day = utc_day(captured.captured_at)
    state.remember_day(read_id, day)
    return day


def is_read(app: CommandsBase, read_id: UUID) -> bool:
    events = app.recorder.select_events(read_id, limit=1)
    return bool(events) and events[0].topic == _READ_CAPTURED


# --------------------------------------------------------------------------------------------
# One run
# --------------------------------------------------------------------------------------------


class RetentionRun:
    """Applies the active profile once. ``dry_run``: the same decisions, nothing changed or saved."""

    def __init__(
        self, app: CommandsBase, state: RetentionState, *, now: datetime, dry_run: bool, by: str
    ) -> None:
        if app.keystore is None:
            raise RuntimeError("retention needs a key store")
        self.app = app
        self.keystore: KeyStore = app.keystore
        self.state = state
        self.policy = app.policy
        self.now = now
        self.dry_run = dry_run
        self.by = by
        self.purges: list[PurgeItem] = []
        self.hold_changes: list[HoldChange] = []
        self.rekeyed = 0
        self.blobs_deleted = 0
        self._holds: dict[UUID, Hold | None] = {}
        self._cases: dict[UUID, Case | None] = {}
        self._released: set[UUID] = set()  # holds released by this (dry) run
        self._gone_cases: set[str] = set()  # case keys destroyed (or to be) by this run
        self._live_days: set[str] | None = None
        self._shredded: list[UUID] = []  # records named by a purge: their blobs go
        self._day_destroyed = False

    # -- the steps ---------------------------------------------------------------------------

    def execute(self) -> RetentionReport:
        self.state.refresh(self.app)
        self.reconcile()
        self.review_holds()
        self.purge_days(READS)
        self.purge_days(SEARCHES)
        self.purge_cases()
        self.sweep_blobs()
        return self.report()

    def report(self) -> RetentionReport:
        return RetentionReport(
            profile=self.policy.name,
            now=self.now,
            dry_run=self.dry_run,
            purges=tuple(self.purges),
            holds=tuple(self.hold_changes),
            rekeyed=self.rekeyed,
            blobs_deleted=self.blobs_deleted,
        )

    def reconcile(self) -> None:
        """a. Record the Purge of every retention key destroyed without one."""
        for destruction in self.keystore.destructions():
            if destruction.key_id in self.state.foreign:
                continue
            if purge_lookup(self.app, self.state, destruction.key_id) is not None:
                continue  # the usual case: cached after the first look
            item = self._reconciled_item(destruction)
            if item is None:
                self.state.foreign.add(destruction.key_id)
                continue
            self.purges.append(item)
            if not self.dry_run:
                self._record(item, destruction.destroyed_at, destruction.reason)
            if item.scope == "record" or item.retention_class == CASE:
                self._shredded.extend(item.record_ids)

    def review_holds(self) -> None:
        """b. Flag holds past their review date; release those flagged longer than the grace."""
        for hold_id in list(self.state.holds):
            hold = self.hold(hold_id)
            if hold is None:
                continue
            if hold.status == HoldStatus.ACTIVE and hold.review_by <= self.now:
                self.hold_changes.append(HoldChange(hold.id, hold.case_number, "flagged", hold.review_by))
                if not self.dry_run:
                    self._change(hold, None)
            elif (
                hold.status == HoldStatus.FLAGGED
                and hold.flagged_at is not None
                and hold.flagged_at + HOLD_GRACE <= self.now
            ):
                self.hold_changes.append(HoldChange(hold.id, hold.case_number, "released", hold.review_by))
                reason = (
                    f"review date {hold.review_by.isoformat()} passed without re-justification; "
                    f"flagged {hold.flagged_at.isoformat()}, released after {HOLD_GRACE.days} days"
                )
                if self.dry_run or self._change(hold, reason):
                    self._released.add(hold.id)
                    self.settle_released(hold)

    def purge_days(self, retention_class: str) -> None:
        """c./d. Destroy every live day key of ``retention_class`` whose day is due."""
        if retention_class == READS:
            period, due_of, rule = self.policy.read_retention, read_day_due, RULE_READ_RETENTION
        else:
            period, due_of, rule = self.policy.query_log_retention, search_day_due, RULE_QUERY_LOG_RETENTION
        cutoff = last_due_day(self.now, period.value)
        due = [
            k
            # A pre-filter only (a maximum retention makes a day due up to a day earlier than a
            # minimum would): the exact test is the due time below.
            for k in self.keystore.keks(retention_class=retention_class, before=cutoff + timedelta(days=3))
            if k.day is not None and due_of(k.day, self.policy) <= self.now
        ]
        if not due:
            return
        clause = clause_text(period.clause)
        if retention_class == READS:
            self._protect_before_day_purge({k.kek_id for k in due})
        for kek in sorted(due, key=lambda k: (k.day, k.kek_id)):
            assert kek.day is not None
            due_at = due_of(kek.day, self.policy)
            detail = f"day {kek.day.isoformat()} fell due {due_at.isoformat()}"
            reason = purge_reason(rule, self.policy, clause, detail)
            count: int | None = None
            if not self.dry_run:
                count = self.keystore.destroy_kek(kek.kek_id, reason=reason)
                if count is None:
                    continue  # destroyed by a concurrent run, which records it
                if retention_class == READS:
                    self._day_destroyed = True
                if self._live_days is not None:
                    self._live_days.discard(kek.kek_id)
            item = PurgeItem(kek.kek_id, "kek", retention_class, kek.day, due_at, rule, clause, count)
            self.purges.append(item)
            if not self.dry_run:
                self._record(item, self._at(), reason)

    def purge_cases(self) -> None:
        """e. Destroy the key of every closed case whose case retention has run out."""
        live = {k.kek_id for k in self.keystore.keks(retention_class=CASE)}
        for case_id in list(self.state.cases):
            key = case_kek(case_id)
            if key not in live:
                continue
            case = self.case(case_id)
            due_at = None if case is None else self.case_due(case)
            if case is None or due_at is None or due_at > self.now:
                continue
            assert case.final_classification is not None
            self._gone_cases.add(key)
            # Reads kept by something else (a hold, another case, their own day) are moved first.
            staying = [
                r
                for r in dict.fromkeys(case.read_ids)
                if self._current(r) == key and self.settle(r, key) in ("stays", "due")
            ]
            sourced = self.policy.case_retention[case.final_classification]
            clause = clause_text(sourced.clause)
            detail = f"case {case.number} closed {case.closed_at}, {case.final_classification}"
            reason = purge_reason(RULE_CASE_RETENTION, self.policy, clause, detail)
            count: int | None = len(staying)
            if not self.dry_run:
                count = self.keystore.destroy_kek(key, reason=reason)
                if count is None:
                    continue
            item = PurgeItem(
                key, "kek", CASE, None, due_at, RULE_CASE_RETENTION, clause, count, tuple(staying)
            )
            self.purges.append(item)
            self._shredded.extend(staying)
            if not self.dry_run:
                self._record(item, self._at(), reason)

    def sweep_blobs(self) -> None:
        """f. Delete the image directories of shredded records."""
        blobs = getattr(self.app, "blobs", None)
        if self.dry_run or blobs is None:
            return
        for record_id in dict.fromkeys(self._shredded):
            self.blobs_deleted += blobs.delete_record(record_id)
        if self._day_destroyed:
            self.blobs_deleted += sweep_keyless_blobs(blobs.root, self.keystore, blobs.delete_record)

    # -- holds -------------------------------------------------------------------------------

    def settle_released(self, hold: Hold) -> None:
        """A released hold's reads go back to normal retention; those past due are shredded now."""
        for read_id in dict.fromkeys(hold.read_ids):
            if self._current(read_id) is None:
                continue  # already shredded
            if self.settle(read_id, hold_kek(hold.id)) == "due":
                self._shred_released(read_id)

    def settle(self, read_id: UUID, leaving: str) -> str:
        """Move ``read_id`` off key ``leaving`` to where it belongs now.

        "moved" (or already there): under a holding hold, a case not yet due, or its own day that is
        not yet due. "due": nothing keeps it and its day is due. "stays": nothing else applies (its
        day key is gone or it never had one), so it stays under ``leaving``.
        """
        current = self._current(read_id)
        keepers = self.keepers(read_id, leaving)
        if keepers:
            if current not in keepers:
                self._rekey(read_id, keepers[0])
            return "moved"
        day = capture_day(self.app, self.state, read_id)
        if day is None:
            return "stays"
        if read_day_due(day, self.policy) <= self.now:
            return "due"
        day_key = read_kek(datetime(day.year, day.month, day.day, tzinfo=UTC))
        if day_key not in self.live_days():
            return "stays"
        if current != day_key:
            self._rekey(read_id, day_key)
        return "moved"

    def keepers(self, read_id: UUID, leaving: str | None = None) -> list[str]:
        """Keys that may keep ``read_id`` now, best first: holding holds, then cases not due."""
        holds: list[str] = []
        cases: list[tuple[float, str]] = []
        for kind, owner in self.state.memberships(read_id):
            if kind == HOLD:
                key = hold_kek(owner)
                hold = self.hold(owner)
                if key != leaving and hold is not None and hold.holding and owner not in self._released:
                    holds.append(key)
            else:
                key = case_kek(owner)
                case = self.case(owner)
                if key == leaving or key in self._gone_cases or case is None:
                    continue
                due = self.case_due(case)
                if due is None or due > self.now:
                    cases.append((float("inf") if due is None else due.timestamp(), key))
        return list(dict.fromkeys(holds + [k for _, k in sorted(cases, reverse=True)]))

    def case_due(self, case: Case) -> datetime | None:
        """When a case's key falls due; None while it is open or when it is not purged by time."""
        if not case.closed or case.closed_at is None or case.final_classification is None:
            return None
        return case_due(case.final_classification, case.closed_at, self.policy)

    def hold(self, hold_id: UUID) -> Hold | None:
        if hold_id not in self._holds:
            self._holds[hold_id] = _load(self.app, hold_id, Hold)
        return self._holds[hold_id]

    def case(self, case_id: UUID) -> Case | None:
        if case_id not in self._cases:
            self._cases[case_id] = _load(self.app, case_id, Case)
        return self._cases[case_id]

    def live_days(self) -> set[str]:
        if self._live_days is None:
            self._live_days = {k.kek_id for k in self.keystore.keks(retention_class=READS)}
        return self._live_days

    # -- internals ---------------------------------------------------------------------------

    def _at(self) -> datetime:
        """When a change is made: the service clock, read as it is made (a long run's last purge
        is stamped when it happened), never before the run's time (a clock stepping back must
        not make a purge look early). A dry run changes nothing: its own time."""
        if self.dry_run:
            return self.now
        return max(self.now, self.app.clock())

    def _current(self, read_id: UUID) -> str | None:
        return self.keystore.kek_of(read_id)

    def _rekey(self, read_id: UUID, kek_id: str) -> None:
        self.rekeyed += 1
        if self.dry_run:
            return
        try:
            self.keystore.rekey(read_id, kek_id)
        except KeyStoreError:
            # Destroyed meanwhile (a concurrent run or a shred): nothing is left to move.
            self.rekeyed -= 1

    def _protect_before_day_purge(self, due_days: set[str]) -> None:
        """Held reads and reads of cases not yet due must not be under a day key about to go."""
        for read_id in self.state.member_reads():
            current = self._current(read_id)
            if current is None or current not in due_days:
                continue
            keepers = self.keepers(read_id)
            if keepers:
                self._rekey(read_id, keepers[0])

    def _shred_released(self, read_id: UUID) -> None:
        day = capture_day(self.app, self.state, read_id)
        assert day is not None
        due_at = read_day_due(day, self.policy)
        clause = clause_text(self.policy.read_retention.clause)
        detail = f"hold released; day {day.isoformat()} fell due {due_at.isoformat()}"
        reason = purge_reason(RULE_HOLD_RELEASED, self.policy, clause, detail)
        if not self.dry_run and not self.keystore.destroy_dek(read_id, reason=reason):
            return  # shredded meanwhile by another run
        item = PurgeItem(
            str(read_id), "record", READS, day, due_at, RULE_HOLD_RELEASED, clause, 1, (read_id,)
        )
        self.purges.append(item)
        self._shredded.append(read_id)
        if not self.dry_run:
            self._record(item, self._at(), reason)

    def _change(self, hold: Hold, release_reason: str | None) -> bool:
        """Flag (``release_reason`` None) or release a hold automatically and save it; False when
        another writer changed it first (that run or person decided)."""
        try:
            if release_reason is None:
                hold.flag(by=self.by, at=self._at())
            else:
                hold.release(reason=release_reason, automatic=True, by=self.by, at=self._at())
            self.app.save(hold)
        except IntegrityError:
            self._holds[hold.id] = _load(self.app, hold.id, Hold)
            return False
        return True

    def _record(self, item: PurgeItem, destroyed_at: datetime, reason: str) -> None:
        purge = Purge.record(
            key_id=item.key_id,
            scope=item.scope,
            retention_class=item.retention_class,
            day=item.day,
            record_ids=item.record_ids,
            record_count=item.record_count or 0,
            rule=item.rule,
            clause=item.clause,
            profile=self.policy.name,
            due_at=item.due_at,
            destroyed_at=destroyed_at,
            reason=reason,
            by=self.by,
        )
        try:
            self.app.save(purge)
        except IntegrityError:
            pass  # recorded by a concurrent run: one key, one Purge
        purge_lookup(self.app, self.state, item.key_id)

    def _reconciled_item(self, d: Destruction) -> PurgeItem | None:
        """The Purge a destroyed key should have had, or None when retention does not own the key."""
        marked = rule_of_reason(d.reason)
        if d.kind == "kek":
            retention_class, day = parse_kek_id(d.key_id)
            if retention_class == READS and day is not None:
                period = self.policy.read_retention
                return PurgeItem(
                    d.key_id,
                    "kek",
                    READS,
                    day,
                    read_day_due(day, self.policy),
                    marked or RULE_READ_RETENTION,
                    clause_text(period.clause),
                    d.dek_count,
                    reconciled=True,
                )
            if retention_class == SEARCHES and day is not None:
                period = self.policy.query_log_retention
                return PurgeItem(
                    d.key_id,
                    "kek",
                    SEARCHES,
                    day,
                    search_day_due(day, self.policy),
                    marked or RULE_QUERY_LOG_RETENTION,
                    clause_text(period.clause),
                    d.dek_count,
                    reconciled=True,
                )
            if retention_class == CASE:
                case = self.case(UUID(d.key_id.partition(":")[2]))
                due_at = None if case is None else self.case_due(case)
                classification = None if case is None else case.final_classification
                sourced = self.policy.case_retention.get(classification or "")
                clause = (
                    clause_text(sourced.clause)
                    if sourced is not None
                    else f"{self.policy.name}: case retention"
                )
                gone = (
                    ()
                    if case is None
                    else tuple(r for r in dict.fromkeys(case.read_ids) if self._current(r) is None)
                )
                return PurgeItem(
                    d.key_id,
                    "kek",
                    CASE,
                    None,
                    due_at,
                    marked or RULE_CASE_RETENTION,
                    clause,
                    d.dek_count,
                    gone,
                    reconciled=True,
                )
            return None
        try:
            read_id = UUID(d.key_id)
        except ValueError:
            return None
        if d.kek_id is None or parse_kek_id(d.kek_id)[0] not in (READS, CASE, HOLD):
            return None
        day = capture_day(self.app, self.state, read_id)
        rule = marked or UNRECORDED_RULE
        if rule in (RULE_COURT_ORDER, RULE_ERRONEOUS_READ) or day is None:
            due_at, clause = None, shred_clause(self.policy, rule)
        else:
            due_at, clause = read_day_due(day, self.policy), clause_text(self.policy.read_retention.clause)
        return PurgeItem(d.key_id, "record", READS, day, due_at, rule, clause, 1, (read_id,), reconciled=True)


def _load(app: CommandsBase, aggregate_id: UUID, kind: type[Any]) -> Any:
    try:
        found: object = app.repository.get(aggregate_id)
    except AggregateNotFoundError:
        return None
    return found if isinstance(found, kind) else None


def _record_dirs(root: Path) -> Iterator[UUID]:
    """Record ids with a directory in a blob store (``<root>/<2 hex>/<record id>/``)."""
    with os.scandir(root) as prefixes:
        for prefix in prefixes:
            if len(prefix.name) != 2 or not prefix.is_dir(follow_symlinks=False):
                continue
            with os.scandir(prefix.path) as records:
                for record in records:
                    try:
                        record_id = UUID(record.name)
                    except ValueError:
                        continue
                    if str(record_id) == record.name and record.is_dir(follow_symlinks=False):
                        yield record_id


def sweep_keyless_blobs(root: Path, keystore: KeyStore, delete: Any) -> int:
    """Delete the blob directories of records whose data key is gone; how many files went.

    Costs the number of records WITH images, one key-store query per thousand, rather than the
    reads of the shredded day: the log is not read at all. A directory is only ever created after
    its record's key (ingest creates keys first), so "no key" means "shredded".
    """
    if not Path(root).is_dir():
        return 0
    deleted = 0
    batch: list[UUID] = []

    def flush() -> int:
        alive = keystore.data_keys(batch)
        gone = sum(int(delete(r)) for r in batch if r not in alive)
        batch.clear()
        return gone

    for record_id in _record_dirs(Path(root)):
        batch.append(record_id)
        if len(batch) >= _BLOB_BATCH:
            deleted += flush()
    if batch:
        deleted += flush()
    return deleted


__all__ = [
    "HoldChange",
    "PurgeInfo",
    "PurgeItem",
    "RetentionReport",
    "RetentionRun",
    "RetentionState",
    "capture_day",
    "clause_text",
    "is_read",
    "purge_lookup",
    "purge_reason",
    "rule_of_reason",
    "shred_clause",
    "sweep_keyless_blobs",
]
