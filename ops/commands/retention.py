"""Retention commands: the retention run, holds, shredding one record, and why a read is purged.

The engine is :mod:`ops.retention`; these are the service's doors to it. Holds keep reads past their
day for a case: requested (case number, reason, review date), approved by a supervisor other than
the requester (the reads are then re-keyed under the hold's key), re-justified by each review date
(also by a supervisor other than the requester, or a requester could keep reads forever alone),
else flagged and released by the retention run. A released hold's reads go back to normal retention
at once: past their day, they are shredded on release.

Reasons (of a shred, a hold request, a denial, a re-justification, a release) are stored in the
clear for good: in ``Purge`` and ``Hold`` events and in the key store's record of destroyed keys. So
a reason that names the plate of a read it concerns is refused (``retention.reason.personal``);
otherwise shredding the read would leave its plate readable forever.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from domain.case import parse_case_number
from domain.errors import ConflictError, InvalidFieldError, NotFoundError
from domain.read import Read
from domain.retention import (
    MAX_HOLD_READS,
    SHRED_RULES,
    Hold,
    HoldStatus,
    Purge,
    parse_reason,
    purge_id,
)
from ledger.keystore import KeyStore, KeyStoreError
from ops.commands.base import CommandsBase
from ops.commands.hotlists import Actor, actor_fields
from ops.keys import CASE, HOLD, READS, case_kek, hold_kek, read_kek
from ops.retention import (
    PurgeInfo,
    RetentionReport,
    RetentionRun,
    RetentionState,
    capture_day,
    is_read,
    purge_lookup,
    purge_reason,
    shred_clause,
)

_STATE_LOCK = threading.Lock()
HOLD_STATUSES = (
    HoldStatus.REQUESTED,
    HoldStatus.ACTIVE,
    HoldStatus.FLAGGED,
    HoldStatus.DENIED,
    HoldStatus.RELEASED,
)


@dataclass(frozen=True, slots=True)
class HoldView:
    hold_id: UUID
    read_ids: list[UUID]
    case_number: str
    reason: str
    review_by: datetime
    requested_by: str
    requested_at: datetime
    approved_by: str | None
    status: str
    flagged_at: datetime | None
    released_at: datetime | None
    release_reason: str | None

    @classmethod
    def of(cls, hold: Hold) -> HoldView:
        return cls(
            hold_id=hold.id,
            read_ids=list(hold.read_ids),
            case_number=hold.case_number,
            reason=hold.reason,
            review_by=hold.review_by,
            requested_by=hold.requested_by,
            requested_at=hold.created_on,
            approved_by=hold.approved_by,
            status=hold.status,
            flagged_at=hold.flagged_at,
            released_at=hold.released_at,
            release_reason=hold.release_reason,
        )


_NOW_SKEW = timedelta(minutes=5)
_PLATE_CHARS = re.compile("[A-Z0-9]+")
_SHORT_PLATE = 4
"""Plates shorter than this are matched in a reason as whole words only (see ``_names_plate``)."""


class RetentionCommands(CommandsBase):
    # -- the run -----------------------------------------------------------------------------

    def run_retention(
        self, *, now: datetime | None = None, dry_run: bool = False, by: str = "retention-job"
    ) -> RetentionReport:
        """Apply the active profile: destroy the keys of everything past due and record each purge.

        ``now`` (default: the service clock) is a dry run's time: what would be due at it. A real
        run always runs at the service clock, and its purges and hold changes are stamped with the
        clock, never with a caller's time: a run "in the future" would shred records before their
        retention minimum, and one "in the past" would stamp purges with a false time (an auditor
        would see them on time when they were late). So a real run refuses a ``now`` more than
        five minutes from the clock either way; tests and benches move the service clock instead.
        Runs in one process take turns; runs in several processes at once are safe too (see
        ``ops.retention``).
        """
        clock_now = self.clock()
        at = clock_now if now is None else now
        if at.tzinfo is None:
            raise InvalidFieldError("now", "retention.now.naive", "must include a time zone")
        if not dry_run:
            if at > clock_now + _NOW_SKEW:
                raise InvalidFieldError("now", "retention.now.future", "a real run cannot be dated after now")
            if at < clock_now - _NOW_SKEW:
                raise InvalidFieldError(
                    "now", "retention.now.not_current", "a real run cannot be dated before now"
                )
            at = clock_now
        state = self._retention_state()
        if dry_run:
            return RetentionRun(self, state, now=at, dry_run=True, by=by).execute()
        with state.run_lock:
            report = RetentionRun(self, state, now=at, dry_run=False, by=by).execute()
        if report.purges:
            self._clean_projections()
        return report

    def _clean_projections(self) -> None:
        """Bring the search and report views past the purges just recorded, so the shredded rows
        leave them (and their files) now, not at the next search."""
        if getattr(self, "projection_db", None) is None:
            return
        from projections.registry import runners

        for runner in runners(self).values():
            runner.catch_up()

    # -- one record --------------------------------------------------------------------------

    def shred_record(self, read_id: UUID | str, *, rule: str, reason: str, actor: Actor) -> PurgeInfo:
        """Shred one read now (court order, erroneous read): destroy its data key, record why.

        Refused for a read that something keeps: a holding hold (409 ``read.held``: release the
        hold first, a recorded act of its own) or a case whose retention has not fallen due (409
        ``read.on_case``), so one person cannot shred evidence kept under supervisor approval.
        """
        rid = _parse_id(read_id, "read_id")
        if rule not in SHRED_RULES:
            raise InvalidFieldError(
                "rule", "retention.rule.unknown", "must be one of: " + ", ".join(sorted(SHRED_RULES))
            )
        text = parse_reason(reason)
        keystore = self._keystore()
        state = self._retention_state()
        day = capture_day(self, state, rid)
        if day is None:
            raise NotFoundError("read_id", "read.unknown", "no stored read has this id")
        if keystore.data_key(rid) is None:
            raise ConflictError("read_id", "read.purged", "this read is already purged")
        self._refuse_reason_naming_plates(text, [rid])
        self._refuse_if_kept(rid, state)
        clause = shred_clause(self.policy, rule)
        full_reason = purge_reason(rule, self.policy, clause, text)
        who = actor_fields(actor)[0]
        if not keystore.destroy_dek(rid, reason=full_reason):
            raise ConflictError("read_id", "read.purged", "this read is already purged")
        purge = Purge.record(
            key_id=str(rid),
            scope="record",
            retention_class=READS,
            day=day,
            record_ids=[rid],
            record_count=1,
            rule=rule,
            clause=clause,
            profile=self.policy.name,
            due_at=None,
            destroyed_at=self.clock(),
            reason=full_reason,
            by=who,
        )
        try:
            self.save(purge)
        except IntegrityError:  # pragma: no cover - the key was ours to destroy, so is the record
            pass
        blobs = getattr(self, "blobs", None)
        if blobs is not None:
            blobs.delete_record(rid)
        self._clean_projections()
        found = purge_lookup(self, state, str(rid))
        assert found is not None
        return found[0]

    def purge_info(self, read_id: UUID) -> PurgeInfo | None:
        """Why ``read_id``'s personal fields read as purged: the Purge of the key that shredded it.

        None when the read still has its data key (or is no read). Looked up in order: a purge of
        the read's own key; of a hold or case key it was under (the purge names it); of its day.
        """
        keystore = self.keystore
        if keystore is None or keystore.data_key(read_id) is not None:
            return None
        state = self._retention_state()
        found = purge_lookup(self, state, str(read_id))
        if found is not None:
            return found[0]
        state.refresh(self)
        for kind, owner in reversed(state.memberships(read_id)):
            key = hold_kek(owner) if kind == HOLD else case_kek(owner)
            found = purge_lookup(self, state, key)
            if found is not None and read_id in found[1]:
                return found[0]
        day = capture_day(self, state, read_id)
        if day is None:
            return None
        day_key = read_kek(datetime(day.year, day.month, day.day, tzinfo=UTC))
        found = purge_lookup(self, state, day_key)
        if found is not None:
            return found[0]
        # Destroyed, but its Purge is not recorded yet (the next run reconciles it).
        for key in (str(read_id), day_key):
            row = keystore.destruction(key)
            if row is not None:
                return PurgeInfo(
                    purge_id=purge_id(key),
                    key_id=key,
                    rule="unrecorded",
                    clause="",
                    profile=self.policy.name,
                    due_at=None,
                    destroyed_at=row.destroyed_at,
                    reason=row.reason,
                )
        return None

    # -- holds -------------------------------------------------------------------------------

    def request_hold(
        self,
        read_ids: Iterable[UUID | str],
        case_number: str,
        reason: str,
        review_by: datetime,
        *,
        actor: Actor,
    ) -> HoldView:
        """Ask to keep stored, unpurged reads past their day for a case (a supervisor approves)."""
        ids = list(read_ids)
        if len(ids) > MAX_HOLD_READS:
            raise InvalidFieldError("read_ids", "hold.read_ids.size", f"at most {MAX_HOLD_READS} reads")
        parsed = [_parse_id(raw, f"read_ids[{i}]") for i, raw in enumerate(ids)]
        number = parse_case_number(case_number, field="case_number")
        if not isinstance(review_by, datetime):
            raise InvalidFieldError(
                "review_by", "hold.review_by.type", "must be a date-time with a UTC offset"
            )
        for i, read_id in enumerate(parsed):
            if not is_read(self, read_id):
                raise InvalidFieldError(f"read_ids[{i}]", "hold.read.unknown", "no stored read has this id")
        alive = self._keystore().data_keys(parsed)
        for i, read_id in enumerate(parsed):
            if read_id not in alive:
                raise ConflictError(
                    f"read_ids[{i}]", "hold.read.purged", "this read is purged; it cannot be held"
                )
        if isinstance(reason, str):  # else Hold.request says what is wrong with it
            self._refuse_reason_naming_plates(reason, parsed)
        hold = Hold.request(
            read_ids=parsed,
            case_number=number,
            reason=reason,
            review_by=review_by,
            by=actor_fields(actor)[0],
            at=self.clock(),
        )
        self.save(hold)
        return HoldView.of(hold)

    def approve_hold(self, hold_id: UUID | str, *, actor: Actor) -> HoldView:
        """Approve a requested hold (by someone other than its requester): its reads move under
        the hold's key, so their day's purge passes them by."""
        hold = self._hold(hold_id)
        hold.approve(by=actor_fields(actor)[0], at=self.clock())
        self._save_hold(hold)
        keystore = self._keystore()
        for read_id in dict.fromkeys(hold.read_ids):
            try:
                keystore.rekey(read_id, hold_kek(hold.id))
            except KeyStoreError:
                pass  # purged between the request and the approval: nothing is left to hold
        return HoldView.of(hold)

    def deny_hold(self, hold_id: UUID | str, reason: str, *, actor: Actor) -> HoldView:
        hold = self._hold(hold_id)
        self._refuse_reason_naming_plates(parse_reason(reason), hold.read_ids)
        hold.deny(by=actor_fields(actor)[0], reason=reason, at=self.clock())
        self._save_hold(hold)
        return HoldView.of(hold)

    def rejustify_hold(
        self, hold_id: UUID | str, reason: str, review_by: datetime, *, actor: Actor
    ) -> HoldView:
        """Keep a hold for another period (also lifts a flag).

        Like approval, by a supervisor other than the hold's requester (409 ``hold.rejustify.own``):
        each period kept past the reads' day needs a second person, or a requester could extend
        a hold forever alone.
        """
        hold = self._hold(hold_id)
        if not isinstance(review_by, datetime):
            raise InvalidFieldError(
                "review_by", "hold.review_by.type", "must be a date-time with a UTC offset"
            )
        who = actor_fields(actor)[0]
        if who == hold.requested_by:
            raise ConflictError(
                "hold", "hold.rejustify.own", "a hold is re-justified by someone other than its requester"
            )
        self._refuse_reason_naming_plates(parse_reason(reason), hold.read_ids)
        hold.rejustify(reason=reason, review_by=review_by, by=who, at=self.clock())
        self._save_hold(hold)
        return HoldView.of(hold)

    def release_hold(self, hold_id: UUID | str, reason: str, *, actor: Actor) -> HoldView:
        """Release a hold by hand: its reads go back to normal retention (past due: shredded now)."""
        hold = self._hold(hold_id)
        who = actor_fields(actor)[0]
        self._refuse_reason_naming_plates(parse_reason(reason), hold.read_ids)
        hold.release(reason=reason, automatic=False, by=who, at=self.clock())
        state = self._retention_state()
        with state.run_lock:
            self._save_hold(hold)
            state.refresh(self)
            run = RetentionRun(self, state, now=self.clock(), dry_run=False, by=who)
            run._holds[hold.id] = hold  # noqa: SLF001 - the released state, just saved
            run.settle_released(hold)
            run.sweep_blobs()
        return HoldView.of(hold)

    def get_hold(self, hold_id: UUID | str) -> HoldView:
        return HoldView.of(self._hold(hold_id))

    def list_holds(self, status: str | None = None) -> list[HoldView]:
        """Every hold (or those in ``status``), oldest request first."""
        if status is not None and status not in HOLD_STATUSES:
            raise InvalidFieldError(
                "status", "hold.status.unknown", "must be one of: " + ", ".join(HOLD_STATUSES)
            )
        state = self._retention_state()
        state.refresh(self)
        views = []
        for hold_id in list(state.holds):
            hold: object = self.repository.get(hold_id)
            if isinstance(hold, Hold) and (status is None or hold.status == status):
                views.append(HoldView.of(hold))
        return sorted(views, key=lambda v: (v.requested_at, str(v.hold_id)))

    def flagged_holds(self) -> list[HoldView]:
        """Holds whose review date passed without re-justification: a supervisor should act."""
        return self.list_holds(HoldStatus.FLAGGED)

    # -- internals ---------------------------------------------------------------------------

    def _retention_state(self) -> RetentionState:
        state: RetentionState | None = getattr(self, "_retention", None)
        if state is None:
            with _STATE_LOCK:
                state = getattr(self, "_retention", None)
                if state is None:
                    state = RetentionState()
                    self._retention = state
        return state

    def _refuse_reason_naming_plates(self, reason: str, read_ids: Iterable[UUID]) -> None:
        """Refuse (422 ``retention.reason.personal``) a reason naming the plate of one of ``read_ids``.

        Reasons stay in the clear for good (events, the key store's destruction rows), so a plate
        in one would outlive the shredding of its read. Plates are loaded through the repository
        (sealed fields open while the key exists; a purged read has no plate left to leak).
        """
        words = _PLATE_CHARS.findall(unicodedata.normalize("NFKC", reason).upper())
        if not words:
            return
        for read_id in dict.fromkeys(read_ids):
            try:
                found: object = self.repository.get(read_id)
            except AggregateNotFoundError:
                continue
            plate = getattr(found, "plate", None) if isinstance(found, Read) else None
            if isinstance(plate, str) and _names_plate(words, plate):
                raise InvalidFieldError(
                    "reason",
                    "retention.reason.personal",
                    "must not contain the plate of a read it concerns: reasons are kept in the clear",
                )

    def _refuse_if_kept(self, read_id: UUID, state: RetentionState) -> None:
        """Refuse to shred a read kept by a holding hold or by a case not yet due (409).

        The read's current key (``hold:``/``case:``) is the usual sign, but the log decides: a
        read may be named by a hold or case while still under its day key (its re-key was lost),
        and a key may outlive what it stood for (a released hold, a case past its retention).
        """
        state.refresh(self)
        check = RetentionRun(self, state, now=self.clock(), dry_run=True, by="shred-check")
        for key in check.keepers(read_id):
            kind, _, owner = key.partition(":")
            if kind == HOLD:
                raise ConflictError(
                    "read_id",
                    "read.held",
                    f"this read is kept by hold {owner}; release the hold first to shred it",
                )
            if kind == CASE:
                raise ConflictError(
                    "read_id",
                    "read.on_case",
                    f"this read is attached to case {owner}, whose retention has not fallen due",
                )

    def _keystore(self) -> KeyStore:
        if self.keystore is None:
            raise RuntimeError("retention needs a key store")
        return self.keystore

    def _hold(self, hold_id: UUID | str) -> Hold:
        hid = _parse_id(hold_id, "hold_id", missing=NotFoundError)
        hold: object
        try:
            hold = self.repository.get(hid)
        except AggregateNotFoundError:
            hold = None
        if not isinstance(hold, Hold):
            raise NotFoundError("hold_id", "hold.unknown", "no hold has this id")
        return hold

    def _save_hold(self, hold: Hold) -> None:
        try:
            self.save(hold)
        except IntegrityError:
            raise ConflictError(
                "hold_id", "hold.concurrent_change", "the hold changed meanwhile; retry"
            ) from None


def _names_plate(words: list[str], plate: str) -> bool:
    """Whether a reason (its runs of letters and digits, upper-case) names ``plate``.

    Compared with separators dropped, so "abc-1234" names ABC1234. A plate of fewer than
    ``_SHORT_PLATE`` characters is matched only as whole words ("A-1" or "A 1" for A1), since as a
    bare substring it would be found in almost any sentence ("misread" names plate I).
    """
    key = "".join(_PLATE_CHARS.findall(plate.upper()))
    if not key:
        return False
    if len(key) >= _SHORT_PLATE:
        return key in "".join(words)
    for start in range(len(words)):
        joined = ""
        for word in words[start:]:
            joined += word
            if len(joined) >= len(key):
                break
        if joined == key:
            return True
    return False


def _parse_id(raw: object, field: str, *, missing: type[Exception] = InvalidFieldError) -> UUID:
    if isinstance(raw, UUID):
        return raw
    try:
        return UUID(str(raw))
    except ValueError:
        if missing is NotFoundError:
            raise NotFoundError(field, "hold.unknown", "no hold has this id") from None
        raise InvalidFieldError(field, "id.format", "must be a UUID") from None


__all__ = ["HOLD_STATUSES", "HoldView", "PurgeInfo", "RetentionCommands", "RetentionReport"]
