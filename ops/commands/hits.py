"""Hits: raised at ingest from hotlist matches, verified and dispositioned by officers.

``raise_hits`` only builds hits; the caller (``record_reads``) saves them with their reads in one
transaction, so a hit never exists without its read and a failed batch leaves neither.

Views over hits (lists, the supervisor's undispositioned list, the alert tail) read the
notification log. Projections come in a later issue; until then :class:`_HitView` keeps the hits
in memory and applies only the events stored since its last position, so each call costs one
short query plus the new events, and hits saved by other processes show up too.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from domain.account import Account, Principal
from domain.errors import AccessDeniedError, ConflictError, InvalidFieldError, NotFoundError
from domain.hit import RAISED_FIELDS, Hit, Officer, RaiseHit
from domain.retention import Purge
from domain.values import is_purged
from ops.commands.hotlists import HotlistCommands
from ops.commands.loading import find_aggregate
from ops.keys import utc_day
from ops.search_executor import purge_candidates

if TYPE_CHECKING:
    from domain.matching import Match
    from domain.read import Read

RAISED_TOPIC = get_topic(Hit.Raised)
HIT_TOPICS = (RAISED_TOPIC, get_topic(Hit.Verified), get_topic(Hit.Dispositioned))

_VIEW_BATCH = 1000
_VIEW_TOPICS = (*HIT_TOPICS, get_topic(Purge.Executed))
_SAVE_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Alert:
    """A raised hit as officers receive it; ``position`` is its notification id (the SSE id).

    ``read_plate``/``read_state`` (what the camera read) and ``entry_plate``/``entry_state``
    (what the hotlist lists) are personal fields; the rest is clear metadata.
    """

    position: int
    hit_id: UUID
    read_id: UUID
    camera_id: str
    captured_at: datetime
    raised_at: datetime
    match_kind: str
    basis: tuple[str, ...]
    hotlist_id: UUID
    entry_id: UUID
    hotlist_source: str
    hotlist_name: str
    reason: str | None
    case_number: str | None
    read_plate: str
    read_state: str | None
    entry_plate: str
    entry_state: str | None

    def as_json(self) -> dict[str, Any]:
        """Every field but ``position`` (the SSE id), in declaration order, as JSON values."""
        return {f.name: _json_value(getattr(self, f.name)) for f in fields(self) if f.name != "position"}


@dataclass(frozen=True, slots=True)
class AlertBatch:
    """Alerts found by one poll and the log position to poll from next."""

    alerts: list[Alert]
    position: int


def _json_value(value: object) -> object:
    if is_purged(value):
        return None  # the read was shredded: its plate is gone for good
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


def _alert(position: int, event: Any) -> Alert:
    if not isinstance(event, Hit.Raised):  # the topic filter makes this impossible
        raise TypeError(f"expected Hit.Raised at position {position}, got {type(event).__name__}")
    return Alert(
        position=position,
        hit_id=event.originator_id,
        raised_at=event.timestamp,
        match_kind=event.match_kind,
        basis=tuple(event.basis),
        **{name: getattr(event, name) for name in RAISED_FIELDS},
    )


class _HitView:
    """Every hit, rebuilt in memory from the log and brought up to date on each use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._position = 0
        self._hits: dict[UUID, Hit] = {}

    def select(
        self,
        app: HitCommands,
        keep: Callable[[Hit], bool],
        *,
        newest_first: bool,
        limit: int | None,
    ) -> list[Hit]:
        """Copies of the hits ``keep`` accepts, by time raised, after applying new events.

        Copies, made under the lock: the view's own hits change as events arrive, and a caller
        must neither see that happen nor change the view.
        """
        with self._lock:
            self._catch_up(app)
            chosen = sorted(filter(keep, self._hits.values()), key=_raised_at, reverse=newest_first)
            return [copy.deepcopy(hit) for hit in chosen[:limit]]

    def _catch_up(self, app: HitCommands) -> None:
        # Scan up to the log's top and remember it, so rows of other aggregates (reads, by far
        # the most) are scanned once, not on every call. Writers commit in notification order
        # (the table lock), so no hit event can later appear at or below ``top``.
        top = app.recorder.max_notification_id() or 0
        while self._position < top:
            notifications = app.recorder.select_notifications(
                self._position, _VIEW_BATCH, stop=top, topics=_VIEW_TOPICS, inclusive_of_start=False
            )
            for notification in notifications:
                event: Any = app.mapper.to_domain_event(notification)
                if isinstance(event, Purge.Executed):
                    self._forget_purged(app, event)
                else:
                    self._hits[event.originator_id] = event.mutate(self._hits.get(event.originator_id))
                self._position = notification.id
            if len(notifications) < _VIEW_BATCH:
                self._position = top

    def _forget_purged(self, app: HitCommands, purge: Any) -> None:
        """Hits of reads this purge shredded are reloaded: their plates now read as PURGED."""
        by_read: dict[UUID, list[UUID]] = {}
        by_day: dict[date, set[UUID]] = {}
        for hit in self._hits.values():
            if not hit.purged:
                by_read.setdefault(hit.read_id, []).append(hit.id)
                by_day.setdefault(utc_day(hit.captured_at), set()).add(hit.read_id)
        candidates = purge_candidates(purge, by_read.keys(), by_day)
        if not candidates or app.keystore is None:
            return
        alive = app.keystore.data_keys(candidates)
        for read_id in candidates:
            if read_id not in alive:
                for hit_id in by_read[read_id]:
                    reloaded = app.repository.get(hit_id)
                    assert isinstance(reloaded, Hit)
                    self._hits[hit_id] = reloaded


def _raised_at(hit: Hit) -> datetime:
    return hit.raised_at


class HitCommands(HotlistCommands):
    """Raise hits at ingest, record officers' verifications and dispositions, show hits."""

    _hit_view: _HitView | None = None
    _alerts_closed: threading.Event | None = None

    # ----------------------------------------------------------------------------------------
    # Raise (called by record_reads inside its transaction; nothing is saved here)
    # ----------------------------------------------------------------------------------------

    def raise_hits(self, reads: Sequence[Read]) -> list[Hit]:
        """One unsaved Hit per hotlist match of each newly captured read.

        Matches come from the active hotlist index: exact plate and state, or a possible match
        (OCR-confusable characters, or no state read). The caller saves the hits with the reads.
        """
        if not reads:
            return []
        index = self.hotlist_index()
        now = self.clock()
        hits: list[Hit] = []
        for read in reads:
            for match in index.match(read.plate, read.state, at=now):
                hits.append(Hit.raise_from(_raise_command(read, match), now=now))
        return hits

    # ----------------------------------------------------------------------------------------
    # Officers act on a hit
    # ----------------------------------------------------------------------------------------

    def verify_hit(
        self,
        hit_id: UUID | str,
        *,
        officer: Principal | UUID,
        plate_characters_match: bool,
        state_matches: bool,
        notes: str | None = "",
    ) -> Hit:
        """Record that ``officer`` checked the plate characters and state against the image
        (TCSO C.2, IACP C.4.a, NYS MPTC C.2). Refused once the hit has a disposition."""
        who = self._acting_officer(officer)

        def act(hit: Hit) -> None:
            hit.verify(
                who,
                plate_characters_match=plate_characters_match,
                state_matches=state_matches,
                notes=notes,
                now=self.clock(),
            )

        return self._act_on_hit(hit_id, act)

    def disposition_hit(
        self,
        hit_id: UUID | str,
        *,
        outcome: str,
        notes: str | None = "",
        officer: Principal | UUID,
    ) -> Hit:
        """Record what came of a hit, once (IACP C.5, TCSO C.3). "confirmed" needs a passing
        verification where the policy requires one; "other" needs notes."""
        who = self._acting_officer(officer)
        required = self.policy.hit_verification_required.value

        def act(hit: Hit) -> None:
            hit.disposition(
                who, outcome=outcome, notes=notes, now=self.clock(), verification_required=required
            )

        return self._act_on_hit(hit_id, act)

    # ----------------------------------------------------------------------------------------
    # Views
    # ----------------------------------------------------------------------------------------

    def get_hit(self, hit_id: UUID | str) -> Hit:
        """The hit, or NotFoundError (also for ids of other kinds of record)."""
        uid = _hit_uuid(hit_id)
        hit = find_aggregate(self.repository, uid, Hit)
        if hit is None:
            raise NotFoundError("hit_id", "hit.not_found", f"no hit with id {uid}")
        return hit

    def list_hits(
        self,
        *,
        undispositioned: bool | None = None,
        older_than: timedelta | None = None,
        camera_id: str | None = None,
        limit: int | None = None,
        newest_first: bool = True,
    ) -> list[Hit]:
        """Hits filtered by state; ``older_than`` keeps hits raised at least that long ago."""
        cutoff: datetime | None = None
        if older_than is not None:
            if older_than < timedelta(0):
                raise InvalidFieldError("older_than", "older_than.negative", "must not be negative")
            try:
                cutoff = self.clock() - older_than
            except OverflowError:  # before year 1: no hit is that old
                return []

        def keep(hit: Hit) -> bool:
            return (
                (undispositioned is None or hit.dispositioned is not undispositioned)
                and (cutoff is None or hit.raised_at <= cutoff)
                and (camera_id is None or hit.camera_id == camera_id)
            )

        return self._hits_view().select(self, keep, newest_first=newest_first, limit=limit)

    def undispositioned_hits(self, older_than: timedelta | None = None) -> list[Hit]:
        """Hits nobody has dispositioned, raised more than a shift ago (or ``older_than``),
        oldest first: what a supervisor must chase (IACP C.5, TCSO C.3)."""
        if older_than is None:
            older_than = self.policy.shift.value
        return self.list_hits(undispositioned=True, older_than=older_than, newest_first=False)

    # ----------------------------------------------------------------------------------------
    # Alert tail: what GET /v1/alerts/stream and the benchmark consume
    # ----------------------------------------------------------------------------------------

    def latest_alert_position(self) -> int:
        """The log position now; a stream opened now delivers hits stored after it."""
        return self.recorder.max_notification_id() or 0

    def alerts_after(self, position: int, limit: int = 100) -> AlertBatch:
        """Hits raised after log ``position`` (by any process), oldest first, at most ``limit``,
        and the position to ask from next time.

        The next position is the log's top when the batch is not full, so a tail that finds
        nothing new does not rescan the reads stored since the last hit on its next poll. That
        is sound because writers commit in notification order (the table lock).
        """
        top = self.recorder.max_notification_id() or 0
        if top <= position:
            return AlertBatch([], position)
        notifications = self.recorder.select_notifications(
            position, limit, stop=top, topics=(RAISED_TOPIC,), inclusive_of_start=False
        )
        alerts = [
            _alert(notification.id, self.mapper.to_domain_event(notification))
            for notification in notifications
        ]
        return AlertBatch(alerts, alerts[-1].position if len(alerts) == limit else top)

    @property
    def alerts_closed(self) -> threading.Event:
        """Set when the service closes, so open alert streams end instead of polling a closed
        database."""
        if self._alerts_closed is None:
            self._alerts_closed = threading.Event()
        return self._alerts_closed

    def close(self) -> None:
        self.alerts_closed.set()
        super().close()

    # ----------------------------------------------------------------------------------------
    # Helpers
    # ----------------------------------------------------------------------------------------

    def _hits_view(self) -> _HitView:
        if self._hit_view is None:
            self._hit_view = _HitView()
        return self._hit_view

    def _acting_officer(self, officer: Principal | UUID) -> Officer:
        """The officer acting, checked: a person (not a device) with training on record where the
        policy requires it (IACP C.2, TCSO "training"). The API checks the role; callers inside
        the process that pass an account id get the same checks from the stored account."""
        if isinstance(officer, UUID):
            account = find_aggregate(self.repository, officer, Account)
            if account is None:
                raise NotFoundError("officer", "account.unknown", f"no account with id {officer}")
            if account.access_revoked:
                raise AccessDeniedError("officer", "account.revoked", "this account's access is revoked")
            officer = account.principal()
        if officer.is_device:
            raise AccessDeniedError("officer", "role.missing", "a device cannot verify or disposition a hit")
        if self.policy.training_required.value and not officer.trained:
            raise AccessDeniedError(
                "officer", "training.required", "record the officer's training before they act on hits"
            )
        return Officer(officer.account_id, officer.login)

    def _act_on_hit(self, hit_id: UUID | str, act: Any) -> Hit:
        # Two officers acting at once both load version n and save n+1; the second save fails
        # on the version constraint. Reload and decide again: the loser then sees the winner's
        # event (e.g. ConflictError hit.already_dispositioned) instead of a server error.
        for attempt in range(_SAVE_ATTEMPTS):
            hit = self.get_hit(hit_id)
            act(hit)
            try:
                self.save(hit)
            except IntegrityError:
                if attempt == _SAVE_ATTEMPTS - 1:
                    raise ConflictError(
                        "hit", "hit.concurrent_update", "the hit changed while saving; try again"
                    ) from None
                continue
            return hit
        raise AssertionError("unreachable")


def _hit_uuid(hit_id: UUID | str) -> UUID:
    if isinstance(hit_id, UUID):
        return hit_id
    try:
        return UUID(str(hit_id))
    except ValueError:
        raise InvalidFieldError("hit_id", "hit_id.format", "must be a UUID") from None


def _raise_command(read: Read, match: Match) -> RaiseHit:
    return RaiseHit(
        read_id=read.id,
        camera_id=read.camera_id,
        captured_at=read.captured_at,
        hotlist_id=match.hotlist_id,
        entry_id=match.entry_id,
        match_kind=match.kind,
        basis=tuple(b.value for b in match.basis),
        hotlist_source=match.source.value,
        hotlist_name=match.hotlist_name,
        reason=match.reason,
        case_number=match.case_number,
        read_plate=read.plate,
        read_state=read.state,
        entry_plate=match.entry_plate,
        entry_state=match.entry_state,
    )
