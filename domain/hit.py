"""The ``Hit`` aggregate: a read that matched a hotlist entry, and what officers did about it.

Life of a hit (TCSO C.2-C.3, IACP C.4-C.5, NYS MPTC C.2):

1. :meth:`Hit.raise_from` - raised at ingest, in the same transaction as its read
   (``Hit.Raised``): which read, which hotlist entry, exact or possible match and why.
2. :meth:`Hit.verify` - an officer checks the plate characters and the state of registration
   against the captured image before acting (``Hit.Verified``). May happen more than once (a
   second officer, a better look); the latest verification is the one that counts, and an
   officer confirms only on a passing verification of their own (TCSO C.2, IACP C.4).
3. :meth:`Hit.disposition` - what came of it (``Hit.Dispositioned``), exactly once.

The decisions are pure functions (:func:`check_verification_allowed`,
:func:`check_disposition_allowed`, :func:`parse_outcome`, :func:`parse_notes`) that tests call
directly; the aggregate methods call them before triggering an event.

Personal data: the plate and state the camera read and the plate and state of the hotlist entry
identify a vehicle. They are copied into ``Hit.Raised`` under the names in
:data:`PERSONAL_FIELDS` so the sealing issue can encrypt exactly those; everything else in a hit
(ids, camera, times, match kind, hotlist source and reason, officers' checks) stays clear.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from domain.errors import ConflictError, InvalidFieldError, PolicyRefusedError
from domain.matching import MatchKind
from domain.values import is_purged

NOTES_MAX_LENGTH = 2000
"""Longest notes an officer may attach to a verification or a disposition."""

PERSONAL_FIELDS = ("read_plate", "read_state", "entry_plate", "entry_state")
"""Attributes of ``Hit.Raised`` (and of ``Hit``) that identify a vehicle: sealed later."""

RAISED_FIELDS: tuple[str, ...] = (
    "read_id",
    "camera_id",
    "captured_at",
    "hotlist_id",
    "entry_id",
    "hotlist_source",
    "hotlist_name",
    "reason",
    "case_number",
    *PERSONAL_FIELDS,
)
"""Attributes that :class:`RaiseHit`, ``Hit.Raised``, ``Hit`` and an alert carry under the same name
and as the same value (``match_kind`` and ``basis`` change type on the way, so they are not here)."""


class Outcome(StrEnum):
    """Dispositions an officer may record (IACP C.5, TCSO C.3)."""

    CONFIRMED = "confirmed"  # the vehicle is the listed one
    MISREAD = "misread"  # the camera misread the plate characters
    WRONG_STATE = "wrong_state"  # same characters, another state of registration
    NOT_LOCATED = "not_located"  # the vehicle was not found
    NO_ACTION = "no_action"  # seen and checked, nothing done (e.g. entry no longer of interest)
    OTHER = "other"  # anything else: notes must say what


_OUTCOMES = frozenset(o.value for o in Outcome)

# --------------------------------------------------------------------------------------------
# Commands, value objects and pure decisions
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RaiseHit:
    """Raise one hit: a read matched one hotlist entry (built by the service from a match)."""

    read_id: UUID
    camera_id: str
    captured_at: datetime
    hotlist_id: UUID
    entry_id: UUID
    match_kind: MatchKind
    basis: tuple[str, ...]  # why only possible: "plate_confusable", "read_without_state", ...
    hotlist_source: str  # "ncic", "amber", "state_dmv", "manual", ...
    hotlist_name: str
    reason: str | None  # the entry's reason or category, e.g. "stolen vehicle"
    case_number: str | None
    read_plate: str
    read_state: str | None
    entry_plate: str
    entry_state: str | None


@dataclass(frozen=True, slots=True)
class Officer:
    """Who acted on a hit: their account id and, when known, their login."""

    account_id: UUID
    login: str | None = None


@dataclass(frozen=True, slots=True)
class Verification:
    """One officer's check of the captured image against the hotlist entry."""

    officer_id: UUID
    officer_login: str | None
    plate_characters_match: bool
    state_matches: bool
    notes: str
    at: datetime

    @property
    def passed(self) -> bool:
        """Both the characters and the state of registration match (TCSO C.2, IACP C.4.a)."""
        return self.plate_characters_match and self.state_matches


@dataclass(frozen=True, slots=True)
class Disposition:
    outcome: Outcome
    notes: str
    officer_id: UUID
    officer_login: str | None
    at: datetime


def parse_outcome(raw: object) -> Outcome:
    """The outcome named by ``raw`` or InvalidFieldError naming the allowed values."""
    if isinstance(raw, str) and raw in _OUTCOMES:
        return Outcome(raw)
    allowed = ", ".join(o.value for o in Outcome)
    raise InvalidFieldError("outcome", "outcome.unknown", f"must be one of: {allowed}")


def parse_notes(raw: object, *, field: str = "notes") -> str:
    """Free-text notes, stripped; at most :data:`NOTES_MAX_LENGTH` characters."""
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise InvalidFieldError(field, "notes.type", "must be text")
    text = raw.strip()
    if len(text) > NOTES_MAX_LENGTH:
        raise InvalidFieldError(
            field, "notes.length", f"must have at most {NOTES_MAX_LENGTH} characters, got {len(text)}"
        )
    return text


def parse_check(raw: object, *, field: str) -> bool:
    """An officer's yes/no check; must be a real boolean, never a truthy string or number."""
    if not isinstance(raw, bool):
        raise InvalidFieldError(field, "check.type", "must be true or false")
    return raw


def check_verification_allowed(*, dispositioned: bool) -> None:
    """A verification after the disposition would rewrite what the officer knew when acting."""
    if dispositioned:
        raise ConflictError(
            "hit",
            "hit.already_dispositioned",
            "this hit already has a disposition; a verification can no longer be added",
        )


def check_disposition_allowed(
    outcome: Outcome,
    notes: str,
    *,
    dispositioned: bool,
    last_verification: Verification | None,
    verification_required: bool,
    own_verification: Verification | None = None,
) -> None:
    """Decide whether ``outcome`` may be recorded now; raise the broken rule otherwise.

    - A hit has one disposition (IACP C.5: "record the disposition").
    - "other" needs notes saying what happened.
    - "confirmed" needs, where the policy requires verification, that the latest verification
      found both the plate characters and the state matching (TCSO C.2, IACP C.4.a, NYS MPTC
      C.2): an officer may not confirm a hit nobody checked against the image;
    - and that the confirming officer's own latest verification (``own_verification``) passed:
      the officer acting on the hit is the one who checks it (TCSO C.2, IACP C.4), so one
      officer cannot confirm on the strength of another's look at the image.
    """
    if dispositioned:
        raise ConflictError(
            "hit", "hit.already_dispositioned", "this hit already has a disposition; it is recorded once"
        )
    if outcome is Outcome.OTHER and not notes:
        raise InvalidFieldError(
            "notes", "notes.required_for_other", "say what happened when the outcome is 'other'"
        )
    if outcome is Outcome.CONFIRMED and verification_required:
        if last_verification is None:
            raise PolicyRefusedError(
                "outcome",
                "hit.verification_required",
                "verify the plate characters and state against the captured image before confirming",
            )
        if not last_verification.passed:
            failed = [
                name
                for name, ok in (
                    ("plate_characters_match", last_verification.plate_characters_match),
                    ("state_matches", last_verification.state_matches),
                )
                if not ok
            ]
            raise PolicyRefusedError(
                "outcome",
                "hit.verification_failed",
                "the latest verification found a mismatch (" + ", ".join(failed) + "); a hit can be "
                "confirmed only when both the plate characters and the state match",
            )
        if own_verification is None or not own_verification.passed:
            raise PolicyRefusedError(
                "outcome",
                "hit.verification_not_own",
                "verify the plate characters and state against the captured image yourself before "
                "confirming; another officer's verification does not count (TCSO C.2, IACP C.4)",
            )


# --------------------------------------------------------------------------------------------
# Aggregate
# --------------------------------------------------------------------------------------------


class Hit(Aggregate):
    """A read that matched a hotlist entry. Snapshots are not used (personal fields)."""

    if TYPE_CHECKING:  # Declared for type checkers only: annotations would make a dataclass.
        read_id: UUID
        camera_id: str
        captured_at: datetime
        hotlist_id: UUID
        entry_id: UUID
        match_kind: MatchKind
        basis: tuple[str, ...]
        hotlist_source: str
        hotlist_name: str
        reason: str | None
        case_number: str | None
        read_plate: str
        read_state: str | None
        entry_plate: str
        entry_state: str | None
        verifications: list[Verification]
        disposition_record: Disposition | None

    class Event(Aggregate.Event):
        """Base class of every event of a Hit."""

    @dataclass(frozen=True)  # already made a dataclass by eventsourcing; this informs mypy
    class Raised(Event, Aggregate.Created):
        """A read matched a hotlist entry (the creation event of a Hit).

        ``basis`` is empty for an exact match and says why a match is only possible otherwise
        ("plate_confusable", "read_without_state", "entry_without_state").

        ``read_plate``/``read_state`` are what the camera read; ``entry_plate``/``entry_state``
        what the hotlist lists. They differ for a possible match; both are personal fields.
        """

        read_id: UUID
        camera_id: str
        captured_at: datetime
        hotlist_id: UUID
        entry_id: UUID
        match_kind: str
        basis: list[str]
        hotlist_source: str
        hotlist_name: str
        reason: str | None
        case_number: str | None
        read_plate: str
        read_state: str | None
        entry_plate: str
        entry_state: str | None

        def apply(self, aggregate: Hit) -> None:
            for name in RAISED_FIELDS:
                setattr(aggregate, name, getattr(self, name))
            aggregate.match_kind = MatchKind(self.match_kind)
            aggregate.basis = tuple(self.basis)
            aggregate.verifications = []
            aggregate.disposition_record = None

    @dataclass(frozen=True)
    class Verified(Event):
        """An officer checked the plate characters and state against the captured image."""

        officer_id: UUID
        officer_login: str | None
        plate_characters_match: bool
        state_matches: bool
        notes: str
        verified_at: datetime

        def apply(self, aggregate: Hit) -> None:
            aggregate.verifications.append(
                Verification(
                    officer_id=self.officer_id,
                    officer_login=self.officer_login,
                    plate_characters_match=self.plate_characters_match,
                    state_matches=self.state_matches,
                    notes=self.notes,
                    at=self.verified_at,
                )
            )

    @dataclass(frozen=True)
    class Dispositioned(Event):
        """An officer recorded what came of the hit."""

        outcome: str
        notes: str
        officer_id: UUID
        officer_login: str | None
        dispositioned_at: datetime

        def apply(self, aggregate: Hit) -> None:
            aggregate.disposition_record = Disposition(
                outcome=Outcome(self.outcome),
                notes=self.notes,
                officer_id=self.officer_id,
                officer_login=self.officer_login,
                at=self.dispositioned_at,
            )

    @classmethod
    def raise_from(cls, command: RaiseHit, *, now: datetime, hit_id: UUID | None = None) -> Hit:
        """A new Hit with its pending ``Raised`` event; ``now`` is the service clock."""
        fields = {name: getattr(command, name) for name in RAISED_FIELDS}
        fields["hotlist_source"] = str(command.hotlist_source)  # a HotlistSource is stored as its value
        return cls._create(
            cls.Raised,
            id=uuid4() if hit_id is None else hit_id,
            timestamp=now,
            match_kind=MatchKind(command.match_kind).value,
            basis=[str(b) for b in command.basis],
            **fields,
        )

    def verify(
        self,
        officer: Officer,
        *,
        plate_characters_match: object,
        state_matches: object,
        notes: object,
        now: datetime,
    ) -> None:
        """Record an officer's check of characters and state (TCSO C.2, IACP C.4.a)."""
        characters = parse_check(plate_characters_match, field="plate_characters_match")
        state = parse_check(state_matches, field="state_matches")
        text = parse_notes(notes)
        check_verification_allowed(dispositioned=self.dispositioned)
        self.trigger_event(
            self.Verified,
            timestamp=now,
            officer_id=officer.account_id,
            officer_login=officer.login,
            plate_characters_match=characters,
            state_matches=state,
            notes=text,
            verified_at=now,
        )

    def disposition(
        self,
        officer: Officer,
        *,
        outcome: object,
        notes: object,
        now: datetime,
        verification_required: bool,
    ) -> None:
        """Record what came of the hit, once (IACP C.5, TCSO C.3)."""
        parsed = parse_outcome(outcome)
        text = parse_notes(notes)
        check_disposition_allowed(
            parsed,
            text,
            dispositioned=self.dispositioned,
            last_verification=self.last_verification,
            verification_required=verification_required,
            own_verification=self.last_verification_by(officer.account_id),
        )
        self.trigger_event(
            self.Dispositioned,
            timestamp=now,
            outcome=parsed.value,
            notes=text,
            officer_id=officer.account_id,
            officer_login=officer.login,
            dispositioned_at=now,
        )

    @property
    def raised_at(self) -> datetime:
        return self.created_on

    @property
    def purged(self) -> bool:
        """True when the hit's read was shredded: its plate fields read as PURGED."""
        return is_purged(self.read_plate)

    @property
    def dispositioned(self) -> bool:
        return self.disposition_record is not None

    @property
    def last_verification(self) -> Verification | None:
        return self.verifications[-1] if self.verifications else None

    def last_verification_by(self, officer_id: UUID) -> Verification | None:
        """The latest verification the officer ``officer_id`` made, if any."""
        return next((v for v in reversed(self.verifications) if v.officer_id == officer_id), None)


__all__ = [
    "NOTES_MAX_LENGTH",
    "PERSONAL_FIELDS",
    "RAISED_FIELDS",
    "Disposition",
    "Hit",
    "MatchKind",
    "Officer",
    "Outcome",
    "RaiseHit",
    "Verification",
    "check_disposition_allowed",
    "check_verification_allowed",
    "parse_check",
    "parse_notes",
    "parse_outcome",
]
