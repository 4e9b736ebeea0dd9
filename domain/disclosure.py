"""Disclosures of ALPR data to other agencies, routine designations, unauthorized disclosures.

Life of a disclosure (NYPD 2021/2026 §External Entities, TCSO V.E, MPTC D, IACP D):

1. :meth:`Disclosure.request` - ``Disclosure.Requested``: who asks (agency, person, contact), for
   what (purpose code, case number, statement of need), on which legal basis of the profile, for
   which reads (``scope``), out of state or not, public-records (FOIL) or not. The *kind* follows
   (:func:`disclosure_kind`) and with it the role that must approve (:func:`approver_role`).
   A prohibited purpose (immigration enforcement: NYPD §External Entities, TCSO VI.C) is
   requested *and* refused (``Disclosure.Refused``) so the attempt stays on the record.
2. ``Approved`` (with a written reference and the approved scope, which legal review of a
   public-records request may narrow) or ``Denied``; an approval may be revoked
   (``ApprovalRevoked``) until the release.
3. ``Released``: only after an approval that was not revoked, and only reads inside the approved
   scope. The release names the package digest and the checkpoint its proofs lead to; releases
   form the dissemination log (IACP D.1, MPTC D.3).

:class:`RoutineDesignation` is the NYPD 2026 ground 5 ("designated as routine by the Agency Privacy
Officer"): a disclosure citing ``designated_routine`` must name an active designation.
:class:`UnauthorizedDisclosure` records a disclosure that broke the rules and whether it reached the
Chief Privacy Officer within the profile's deadline (NYPD 2026: 24 hours).

The rules are pure functions tests call directly; aggregates call them before triggering events.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from domain.errors import AccessDeniedError, ConflictError, InvalidFieldError, PolicyRefusedError
from domain.policy import LEGAL_REVIEW, PolicyProfile, ProhibitedGround, Role
from domain.values import to_utc

TEXT_MAX_LENGTH = 200
"""Longest name, contact, case number or reference."""
STATEMENT_MAX_LENGTH = 2000
"""Longest statement of need, reason or description."""
MAX_SCOPE = 1000
"""Most reads one disclosure may ask for."""
MAX_CLOCK_SKEW = timedelta(minutes=5)
DESIGNATED_ROUTINE = "designated_routine"
"""The NYPD legal basis that needs a :class:`RoutineDesignation`."""
WRITTEN_REQUEST_EXTRA = "out_of_state_request_contents"
"""Profile ``extra`` key (TCSO V.E.2.a): out-of-state requests come as a written request."""

_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")


class DisclosureKind(StrEnum):
    STANDARD = "standard"
    OUT_OF_STATE = "out_of_state"
    PUBLIC_RECORDS = "public_records"


class DisclosureStatus(StrEnum):
    REQUESTED = "requested"  # awaiting a decision
    REFUSED = "refused"  # refused by policy at request (prohibited purpose); final
    APPROVED = "approved"
    DENIED = "denied"  # final
    REVOKED = "revoked"  # approval revoked before release; final (file a new request)
    RELEASED = "released"  # final


# --------------------------------------------------------------------------------------------
# Commands and pure decisions
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequestDisclosure:
    """A request for ALPR data from outside the agency (raw input)."""

    requesting_agency: str
    requesting_person: str
    contact: str
    purpose: str
    legal_basis: str
    scope: tuple[str, ...]
    case_number: str | None = None
    out_of_state: bool = False
    public_records: bool = False
    statement_of_need: str | None = None
    written_request_reference: str | None = None
    routine_designation_id: str | None = None


@dataclass(frozen=True, slots=True)
class ValidDisclosureRequest:
    requesting_agency: str
    requesting_person: str
    contact: str
    purpose: str
    legal_basis: str
    scope: tuple[UUID, ...]
    case_number: str | None
    out_of_state: bool
    public_records: bool
    statement_of_need: str | None
    written_request_reference: str | None
    routine_designation_id: UUID | None
    kind: DisclosureKind


def disclosure_kind(*, out_of_state: bool, public_records: bool) -> DisclosureKind:
    """Public-records (FOIL) requests go to legal review whoever asks; otherwise out-of-state
    requests go to the profile's out-of-state approver (TCSO V.E.2: the Sheriff or designee)."""
    if public_records:
        return DisclosureKind.PUBLIC_RECORDS
    if out_of_state:
        return DisclosureKind.OUT_OF_STATE
    return DisclosureKind.STANDARD


def approver_role(policy: PolicyProfile, kind: DisclosureKind | str) -> Role:
    """The role that decides a disclosure of ``kind`` under ``policy`` (``LEGAL_REVIEW`` is the
    legal reviewer role: MPTC VI.H, TCSO V.E.5)."""
    value = policy.approver(str(kind))
    if value == LEGAL_REVIEW:
        return Role.LEGAL_REVIEWER
    return Role(value)


def written_request_required(policy: PolicyProfile) -> bool:
    """Whether out-of-state requests must carry the written-request fields (TCSO V.E.2.a)."""
    return WRITTEN_REQUEST_EXTRA in policy.extra


def parse_text(raw: object, field: str, *, required: bool, max_length: int = TEXT_MAX_LENGTH) -> str | None:
    """Stripped text of at most ``max_length`` characters; blank counts as missing."""
    if raw is None:
        text = ""
    elif not isinstance(raw, str):
        raise InvalidFieldError(field, "text.type", "must be text")
    else:
        text = raw.strip()
    if not text:
        if required:
            raise InvalidFieldError(field, f"{field}.required", "is required")
        return None
    if len(text) > max_length:
        raise InvalidFieldError(field, "text.length", f"must have at most {max_length} characters")
    if any(ord(c) < 32 and c not in "\n\t" for c in text):
        raise InvalidFieldError(field, "text.control", "must not contain control characters")
    return text


def _required(raw: object, field: str, max_length: int = TEXT_MAX_LENGTH) -> str:
    text = parse_text(raw, field, required=True, max_length=max_length)
    assert text is not None  # required=True never returns None
    return text


def parse_code(raw: object, field: str) -> str:
    if not isinstance(raw, str) or _CODE.fullmatch(raw) is None:
        raise InvalidFieldError(
            field, f"{field}.format", "must be a code of a-z, 0-9 and _ (e.g. criminal_investigation)"
        )
    return raw


def parse_uuid(raw: object, field: str, rule: str) -> UUID:
    if isinstance(raw, UUID):
        return raw
    try:
        return UUID(str(raw))
    except ValueError:
        raise InvalidFieldError(field, rule, "must be a UUID") from None


def parse_scope(raw: object, field: str = "scope") -> tuple[UUID, ...]:
    """1 to :data:`MAX_SCOPE` distinct read ids."""
    if isinstance(raw, str) or not isinstance(raw, (list, tuple)):
        raise InvalidFieldError(field, "disclosure.scope.type", "must be a list of read ids")
    if not 1 <= len(raw) <= MAX_SCOPE:
        raise InvalidFieldError(field, "disclosure.scope.size", f"must name 1 to {MAX_SCOPE} read ids")
    ids: list[UUID] = []
    seen: set[UUID] = set()
    for i, item in enumerate(raw):
        read_id = parse_uuid(item, f"{field}[{i}]", "disclosure.scope.read_id")
        if read_id in seen:
            raise InvalidFieldError(
                f"{field}[{i}]", "disclosure.scope.duplicate", "names a read already listed"
            )
        seen.add(read_id)
        ids.append(read_id)
    return tuple(ids)


def prohibited_ground(policy: PolicyProfile, purpose: str) -> ProhibitedGround | None:
    """The profile's ground forbidding ``purpose`` (immigration enforcement: NYPD §External
    Entities "not shared in furtherance of immigration enforcement", TCSO VI.C), if any."""
    return policy.prohibited(purpose)


def validate_request(cmd: RequestDisclosure, policy: PolicyProfile) -> ValidDisclosureRequest:
    """Check a request's fields against ``policy``; raise :class:`InvalidFieldError` on the first
    broken rule. A *prohibited* purpose passes here: the service records it, then refuses it."""
    agency = _required(cmd.requesting_agency, "requesting_agency")
    person = _required(cmd.requesting_person, "requesting_person")
    contact = _required(cmd.contact, "contact")
    purpose = parse_code(cmd.purpose, "purpose")
    if not cmd.public_records and policy.prohibited(purpose) is None and policy.purpose(purpose) is None:
        allowed = ", ".join(p.code for p in policy.permitted_purposes)
        raise InvalidFieldError(
            "purpose",
            "disclosure.purpose.unknown",
            f"is not a purpose of the {policy.name} profile: {allowed}",
        )
    basis_code = parse_code(cmd.legal_basis, "legal_basis")
    if policy.legal_basis(basis_code) is None:
        allowed = ", ".join(b.value for b in policy.legal_bases)
        raise InvalidFieldError(
            "legal_basis",
            "disclosure.legal_basis.unknown",
            f"must be one of the legal bases of the {policy.name} profile: {allowed}",
        )
    scope = parse_scope(list(cmd.scope) if isinstance(cmd.scope, tuple) else cmd.scope)
    case_number = parse_text(cmd.case_number, "case_number", required=False)
    statement = parse_text(
        cmd.statement_of_need, "statement_of_need", required=False, max_length=STATEMENT_MAX_LENGTH
    )
    written = parse_text(cmd.written_request_reference, "written_request_reference", required=False)
    kind = disclosure_kind(out_of_state=bool(cmd.out_of_state), public_records=bool(cmd.public_records))
    if kind is DisclosureKind.OUT_OF_STATE and written_request_required(policy):
        # TCSO V.E.2: a written request naming the agency, the person, the purpose with a case
        # number, supported by a specific law enforcement need; V.E.4 keeps it on file.
        clause = policy.extra[WRITTEN_REQUEST_EXTRA].clause.ref
        for name, value in (
            ("case_number", case_number),
            ("statement_of_need", statement),
            ("written_request_reference", written),
        ):
            if value is None:
                raise InvalidFieldError(
                    name,
                    f"disclosure.out_of_state.{name}_required",
                    f"is required for an out-of-state request under {policy.name} ({clause})",
                )
    designation: UUID | None = None
    if basis_code == DESIGNATED_ROUTINE:
        if cmd.routine_designation_id is None:
            raise InvalidFieldError(
                "routine_designation_id",
                "disclosure.routine.designation_required",
                "name the routine designation approved by the Agency Privacy Officer "
                "(legal basis designated_routine)",
            )
        designation = parse_uuid(
            cmd.routine_designation_id, "routine_designation_id", "disclosure.routine.id"
        )
    elif cmd.routine_designation_id is not None:
        raise InvalidFieldError(
            "routine_designation_id",
            "disclosure.routine.only_with_designated_routine",
            "is only given with the legal basis designated_routine",
        )
    return ValidDisclosureRequest(
        requesting_agency=agency,
        requesting_person=person,
        contact=contact,
        purpose=purpose,
        legal_basis=basis_code,
        scope=scope,
        case_number=case_number,
        out_of_state=bool(cmd.out_of_state),
        public_records=bool(cmd.public_records),
        statement_of_need=statement,
        written_request_reference=written,
        routine_designation_id=designation,
        kind=kind,
    )


def check_designation_usable(
    designation: RoutineDesignation | None, designation_id: UUID, purpose: str
) -> None:
    """A ``designated_routine`` disclosure needs an active designation for its purpose."""
    if designation is None or not designation.active:
        raise PolicyRefusedError(
            "routine_designation_id",
            "disclosure.routine.designation_not_active",
            f"no active routine designation {designation_id}",
        )
    if designation.purpose != purpose:
        raise PolicyRefusedError(
            "routine_designation_id",
            "disclosure.routine.purpose_mismatch",
            f"designation {designation_id} covers purpose {designation.purpose!r}, not {purpose!r}",
        )


def check_decider(
    policy: PolicyProfile, kind: DisclosureKind, roles: frozenset[Role], *, field: str = "approver"
) -> Role:
    """The decider must hold the role the profile names for ``kind``; returns that role."""
    required = approver_role(policy, kind)
    if required not in roles:
        clause = policy.disclosure_approvers[kind.value].clause.ref
        raise AccessDeniedError(
            field,
            "disclosure.approver.role",
            f"{kind.value} disclosures are decided by the {required.value} role "
            f"under {policy.name} ({clause})",
        )
    return required


def check_pending(status: DisclosureStatus) -> None:
    if status is not DisclosureStatus.REQUESTED:
        raise ConflictError(
            "disclosure", "disclosure.already_decided", f"the disclosure is already {status.value}"
        )


def check_not_self(decider: UUID, requested_by: UUID) -> None:
    """Separation of duties: nobody approves a disclosure they requested themselves."""
    if decider == requested_by:
        raise AccessDeniedError(
            "approver", "disclosure.approval.self", "the person who requested a disclosure cannot approve it"
        )


def check_approved_scope(requested: tuple[UUID, ...], approved: object | None) -> tuple[UUID, ...]:
    """The approved reads: all requested ones by default, else a non-empty subset of them (legal
    review may approve only part of a public-records request: MPTC VI.H, TCSO V.E.5)."""
    if approved is None:
        return requested
    scope = parse_scope(approved, "scope")
    allowed = set(requested)
    for i, read_id in enumerate(scope):
        if read_id not in allowed:
            raise InvalidFieldError(
                f"scope[{i}]", "disclosure.approval.scope_outside_request", "was not asked for in the request"
            )
    return scope


def check_release(
    status: DisclosureStatus, approved_scope: tuple[UUID, ...], read_ids: object | None
) -> tuple[UUID, ...]:
    """Release only after an approval that still stands, and only reads the approval covers."""
    if status is DisclosureStatus.REVOKED:
        raise PolicyRefusedError(
            "disclosure",
            "disclosure.release.approval_revoked",
            "the approval was revoked; nothing may be released",
        )
    if status is DisclosureStatus.RELEASED:
        raise ConflictError(
            "disclosure", "disclosure.already_released", "the disclosure was already released"
        )
    if status is not DisclosureStatus.APPROVED:
        raise PolicyRefusedError(
            "disclosure",
            "disclosure.release.not_approved",
            f"the disclosure is {status.value}; only an approved disclosure is released",
        )
    if read_ids is None:
        return approved_scope
    wanted = parse_scope(read_ids, "read_ids")
    allowed = set(approved_scope)
    for i, read_id in enumerate(wanted):
        if read_id not in allowed:
            raise PolicyRefusedError(
                f"read_ids[{i}]",
                "disclosure.release.outside_scope",
                f"read {read_id} is outside the approved scope of this disclosure",
            )
    return wanted


# --------------------------------------------------------------------------------------------
# Disclosure
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Decision:
    by: UUID
    by_login: str
    role: str
    reference: str
    at: datetime
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Release:
    by: UUID
    by_login: str
    package_sha256: str
    read_ids: tuple[UUID, ...]
    checkpoint_size: int
    at: datetime


class Disclosure(Aggregate):
    """One request for ALPR data from outside the agency, and what became of it."""

    if TYPE_CHECKING:
        requesting_agency: str
        requesting_person: str
        contact: str
        purpose: str
        legal_basis: str
        requested_scope: tuple[UUID, ...]
        case_number: str | None
        out_of_state: bool
        public_records: bool
        statement_of_need: str | None
        written_request_reference: str | None
        routine_designation_id: UUID | None
        kind: DisclosureKind
        approver_role: Role
        requested_by: UUID
        requested_by_login: str
        status: DisclosureStatus
        refusal: dict[str, str] | None
        approval: Decision | None
        denial: Decision | None
        revocation: Decision | None
        release: Release | None
        approved_scope: tuple[UUID, ...]

    class Event(Aggregate.Event):
        """Base class of every event of a Disclosure."""

    @dataclass(frozen=True)
    class Requested(Event, Aggregate.Created):
        requesting_agency: str
        requesting_person: str
        contact: str
        purpose: str
        legal_basis: str
        scope: list[str]
        case_number: str | None
        out_of_state: bool
        public_records: bool
        statement_of_need: str | None
        written_request_reference: str | None
        routine_designation_id: str | None
        kind: str
        approver_role: str
        requested_by: UUID
        requested_by_login: str

        def apply(self, aggregate: Disclosure) -> None:
            aggregate.requesting_agency = self.requesting_agency
            aggregate.requesting_person = self.requesting_person
            aggregate.contact = self.contact
            aggregate.purpose = self.purpose
            aggregate.legal_basis = self.legal_basis
            aggregate.requested_scope = tuple(UUID(s) for s in self.scope)
            aggregate.case_number = self.case_number
            aggregate.out_of_state = self.out_of_state
            aggregate.public_records = self.public_records
            aggregate.statement_of_need = self.statement_of_need
            aggregate.written_request_reference = self.written_request_reference
            aggregate.routine_designation_id = (
                None if self.routine_designation_id is None else UUID(self.routine_designation_id)
            )
            aggregate.kind = DisclosureKind(self.kind)
            aggregate.approver_role = Role(self.approver_role)
            aggregate.requested_by = self.requested_by
            aggregate.requested_by_login = self.requested_by_login
            aggregate.status = DisclosureStatus.REQUESTED
            aggregate.refusal = None
            aggregate.approval = None
            aggregate.denial = None
            aggregate.revocation = None
            aggregate.release = None
            aggregate.approved_scope = ()

    @dataclass(frozen=True)
    class Refused(Event):
        """Refused by policy at request: which rule, which ground and the clause that forbids it."""

        rule: str
        ground: str
        clause: str
        message: str

        def apply(self, aggregate: Disclosure) -> None:
            aggregate.status = DisclosureStatus.REFUSED
            aggregate.refusal = {
                "rule": self.rule,
                "ground": self.ground,
                "clause": self.clause,
                "message": self.message,
            }

    @dataclass(frozen=True)
    class Approved(Event):
        by: UUID
        by_login: str
        role: str
        reference: str
        scope: list[str]

        def apply(self, aggregate: Disclosure) -> None:
            aggregate.status = DisclosureStatus.APPROVED
            aggregate.approval = Decision(self.by, self.by_login, self.role, self.reference, self.timestamp)
            aggregate.approved_scope = tuple(UUID(s) for s in self.scope)

    @dataclass(frozen=True)
    class Denied(Event):
        by: UUID
        by_login: str
        role: str
        reference: str
        reason: str

        def apply(self, aggregate: Disclosure) -> None:
            aggregate.status = DisclosureStatus.DENIED
            aggregate.denial = Decision(
                self.by, self.by_login, self.role, self.reference, self.timestamp, self.reason
            )

    @dataclass(frozen=True)
    class ApprovalRevoked(Event):
        by: UUID
        by_login: str
        role: str
        reason: str

        def apply(self, aggregate: Disclosure) -> None:
            aggregate.status = DisclosureStatus.REVOKED
            aggregate.revocation = Decision(
                self.by, self.by_login, self.role, "", self.timestamp, self.reason
            )

    @dataclass(frozen=True)
    class Released(Event):
        by: UUID
        by_login: str
        package_sha256: str
        read_ids: list[str]
        checkpoint_size: int

        def apply(self, aggregate: Disclosure) -> None:
            aggregate.status = DisclosureStatus.RELEASED
            aggregate.release = Release(
                self.by,
                self.by_login,
                self.package_sha256,
                tuple(UUID(s) for s in self.read_ids),
                self.checkpoint_size,
                self.timestamp,
            )

    @classmethod
    def request(
        cls, valid: ValidDisclosureRequest, policy: PolicyProfile, *, by: UUID, by_login: str, now: datetime
    ) -> Disclosure:
        return cls._create(
            cls.Requested,
            id=uuid4(),
            timestamp=now,
            requesting_agency=valid.requesting_agency,
            requesting_person=valid.requesting_person,
            contact=valid.contact,
            purpose=valid.purpose,
            legal_basis=valid.legal_basis,
            scope=[str(s) for s in valid.scope],
            case_number=valid.case_number,
            out_of_state=valid.out_of_state,
            public_records=valid.public_records,
            statement_of_need=valid.statement_of_need,
            written_request_reference=valid.written_request_reference,
            routine_designation_id=None
            if valid.routine_designation_id is None
            else str(valid.routine_designation_id),
            kind=valid.kind.value,
            approver_role=approver_role(policy, valid.kind).value,
            requested_by=by,
            requested_by_login=by_login,
        )

    def refuse(self, ground: ProhibitedGround, *, now: datetime) -> PolicyRefusedError:
        """Record the refusal of a prohibited purpose; returns the error for the caller to raise."""
        error = PolicyRefusedError(
            "purpose",
            "disclosure.purpose.prohibited",
            f"{ground.description} is a prohibited purpose ({ground.clause.ref})",
        )
        self.trigger_event(
            self.Refused,
            timestamp=now,
            rule=error.rule,
            ground=ground.code,
            clause=ground.clause.ref,
            message=error.message,
        )
        return error

    def approve(
        self,
        policy: PolicyProfile,
        *,
        by: UUID,
        by_login: str,
        roles: frozenset[Role],
        reference: object,
        scope: object | None,
        now: datetime,
    ) -> None:
        check_pending(self.status)
        role = check_decider(policy, self.kind, roles)
        check_not_self(by, self.requested_by)
        written = _required(reference, "reference")
        approved = check_approved_scope(self.requested_scope, scope)
        self.trigger_event(
            self.Approved,
            timestamp=now,
            by=by,
            by_login=by_login,
            role=role.value,
            reference=written,
            scope=[str(s) for s in approved],
        )

    def deny(
        self,
        policy: PolicyProfile,
        *,
        by: UUID,
        by_login: str,
        roles: frozenset[Role],
        reference: object,
        reason: object,
        now: datetime,
    ) -> None:
        check_pending(self.status)
        role = check_decider(policy, self.kind, roles)
        written = _required(reference, "reference")
        why = _required(reason, "reason", STATEMENT_MAX_LENGTH)
        self.trigger_event(
            self.Denied,
            timestamp=now,
            by=by,
            by_login=by_login,
            role=role.value,
            reference=written,
            reason=why,
        )

    def revoke_approval(
        self,
        policy: PolicyProfile,
        *,
        by: UUID,
        by_login: str,
        roles: frozenset[Role],
        reason: object,
        now: datetime,
    ) -> None:
        if self.status is not DisclosureStatus.APPROVED:
            raise ConflictError(
                "disclosure",
                "disclosure.revoke.not_approved",
                f"the disclosure is {self.status.value}; only a standing approval can be revoked",
            )
        role = check_decider(policy, self.kind, roles)
        why = _required(reason, "reason", STATEMENT_MAX_LENGTH)
        self.trigger_event(
            self.ApprovalRevoked, timestamp=now, by=by, by_login=by_login, role=role.value, reason=why
        )

    def check_release(self, read_ids: object | None) -> tuple[UUID, ...]:
        return check_release(self.status, self.approved_scope, read_ids)

    def record_release(
        self,
        *,
        by: UUID,
        by_login: str,
        package_sha256: str,
        read_ids: tuple[UUID, ...],
        checkpoint_size: int,
        now: datetime,
    ) -> None:
        self.check_release([str(r) for r in read_ids])
        self.trigger_event(
            self.Released,
            timestamp=now,
            by=by,
            by_login=by_login,
            package_sha256=package_sha256,
            read_ids=[str(r) for r in read_ids],
            checkpoint_size=checkpoint_size,
        )

    @property
    def scope(self) -> tuple[UUID, ...]:
        """What may be released: the approved reads once approved, else nothing."""
        return self.approved_scope

    @property
    def requested_at(self) -> datetime:
        return self.created_on


# --------------------------------------------------------------------------------------------
# Routine designations (NYPD 2021/2026 §External Entities, ground 5)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DesignateRoutine:
    purpose: str
    recipient_class: str
    description: str
    reference: str


def check_designator(roles: frozenset[Role]) -> None:
    """Ground 5: "designated as routine by the Agency Privacy Officer"."""
    if Role.PRIVACY_OFFICER not in roles:
        raise AccessDeniedError(
            "designated_by",
            "routine.designator.role",
            "only the agency privacy officer designates a disclosure routine",
        )


class RoutineDesignation(Aggregate):
    """A purpose and class of recipients whose disclosures the privacy officer designated routine."""

    if TYPE_CHECKING:
        purpose: str
        recipient_class: str
        description: str
        reference: str
        designated_by: UUID
        designated_by_login: str
        active: bool
        withdrawal: Decision | None

    class Event(Aggregate.Event):
        """Base class of every event of a RoutineDesignation."""

    @dataclass(frozen=True)
    class Designated(Event, Aggregate.Created):
        """The designation and its approval in one event: only the privacy officer makes it."""

        purpose: str
        recipient_class: str
        description: str
        reference: str
        designated_by: UUID
        designated_by_login: str
        role: str

        def apply(self, aggregate: RoutineDesignation) -> None:
            aggregate.purpose = self.purpose
            aggregate.recipient_class = self.recipient_class
            aggregate.description = self.description
            aggregate.reference = self.reference
            aggregate.designated_by = self.designated_by
            aggregate.designated_by_login = self.designated_by_login
            aggregate.active = True
            aggregate.withdrawal = None

    @dataclass(frozen=True)
    class Withdrawn(Event):
        by: UUID
        by_login: str
        reason: str

        def apply(self, aggregate: RoutineDesignation) -> None:
            aggregate.active = False
            aggregate.withdrawal = Decision(
                self.by, self.by_login, Role.PRIVACY_OFFICER.value, "", self.timestamp, self.reason
            )

    @classmethod
    def designate(
        cls,
        cmd: DesignateRoutine,
        policy: PolicyProfile,
        *,
        by: UUID,
        by_login: str,
        roles: frozenset[Role],
        now: datetime,
    ) -> RoutineDesignation:
        check_designator(roles)
        if policy.legal_basis(DESIGNATED_ROUTINE) is None:
            raise PolicyRefusedError(
                "purpose",
                "routine.not_in_profile",
                f"the {policy.name} profile has no '{DESIGNATED_ROUTINE}' legal basis",
            )
        purpose = parse_code(cmd.purpose, "purpose")
        if policy.prohibited(purpose) is not None:
            raise PolicyRefusedError(
                "purpose", "routine.purpose.prohibited", f"{purpose} is a prohibited purpose"
            )
        return cls._create(
            cls.Designated,
            id=uuid4(),
            timestamp=now,
            purpose=purpose,
            recipient_class=_required(cmd.recipient_class, "recipient_class"),
            description=_required(cmd.description, "description", STATEMENT_MAX_LENGTH),
            reference=_required(cmd.reference, "reference"),
            designated_by=by,
            designated_by_login=by_login,
            role=Role.PRIVACY_OFFICER.value,
        )

    def withdraw(
        self, *, by: UUID, by_login: str, roles: frozenset[Role], reason: object, now: datetime
    ) -> None:
        check_designator(roles)
        if not self.active:
            raise ConflictError(
                "designation", "routine.already_withdrawn", "the designation was already withdrawn"
            )
        self.trigger_event(
            self.Withdrawn,
            timestamp=now,
            by=by,
            by_login=by_login,
            reason=_required(reason, "reason", STATEMENT_MAX_LENGTH),
        )


# --------------------------------------------------------------------------------------------
# Unauthorized disclosures (NYPD 2026 §External Entities: report within 24 hours)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReportUnauthorizedDisclosure:
    what: str
    occurred_at: datetime
    discovered_at: datetime
    reported_to_cpo_at: datetime | None = None


def parse_instant(raw: object, field: str, now: datetime) -> datetime:
    """A timezone-aware instant not later than ``now`` (plus clock skew)."""
    if not isinstance(raw, datetime):
        raise InvalidFieldError(field, "datetime.type", "must be a date-time with a UTC offset")
    moment = to_utc(raw, field=field, rule="datetime")
    if moment - now > MAX_CLOCK_SKEW:
        raise InvalidFieldError(field, "datetime.future", "must not lie in the future")
    return moment


def report_due_at(discovered_at: datetime, within: timedelta | None) -> datetime | None:
    return None if within is None else discovered_at + within


def report_overdue(
    discovered_at: datetime,
    reported_at: datetime | None,
    within: timedelta | None,
    now: datetime,
    *,
    recorded_at: datetime | None = None,
) -> bool:
    """Flag a report to the Chief Privacy Officer that is late: not made by the deadline (counted
    from discovery, "upon becoming aware") and either still missing or made after it.

    ``reported_at`` is what the recorder claims; ``recorded_at`` is when the ledger learnt of it.
    A report recorded after the deadline stays overdue whatever earlier time it claims, or the
    24-hour rule could be met by backdating (NYPD 2026 §External Entities)."""
    due = report_due_at(discovered_at, within)
    if due is None:
        return False
    if reported_at is None:
        return now > due
    return reported_at > due or (recorded_at is not None and recorded_at > due)


class UnauthorizedDisclosure(Aggregate):
    """A disclosure of ALPR data that broke the rules, and its report to the Chief Privacy Officer."""

    if TYPE_CHECKING:
        what: str
        occurred_at: datetime
        discovered_at: datetime
        reported_by: UUID
        reported_by_login: str
        reported_to_cpo_at: datetime | None
        reported_to_cpo_recorded_at: datetime | None  # when the report to the CPO was recorded
        report_within_s: float | None

    class Event(Aggregate.Event):
        """Base class of every event of an UnauthorizedDisclosure."""

    @dataclass(frozen=True)
    class Reported(Event, Aggregate.Created):
        what: str
        occurred_at: datetime
        discovered_at: datetime
        reported_by: UUID
        reported_by_login: str
        reported_to_cpo_at: datetime | None
        report_within_s: float | None  # the profile's deadline when recorded (None: no rule)

        def apply(self, aggregate: UnauthorizedDisclosure) -> None:
            aggregate.what = self.what
            aggregate.occurred_at = self.occurred_at
            aggregate.discovered_at = self.discovered_at
            aggregate.reported_by = self.reported_by
            aggregate.reported_by_login = self.reported_by_login
            aggregate.reported_to_cpo_at = self.reported_to_cpo_at
            # The event's own timestamp is the recording time the claimed time travels with.
            aggregate.reported_to_cpo_recorded_at = (
                None if self.reported_to_cpo_at is None else self.timestamp
            )
            aggregate.report_within_s = self.report_within_s

    @dataclass(frozen=True)
    class ReportedToPrivacyOfficer(Event):
        reported_at: datetime
        by: UUID
        by_login: str

        def apply(self, aggregate: UnauthorizedDisclosure) -> None:
            aggregate.reported_to_cpo_at = self.reported_at
            aggregate.reported_to_cpo_recorded_at = self.timestamp

    @classmethod
    def report(
        cls,
        cmd: ReportUnauthorizedDisclosure,
        policy: PolicyProfile,
        *,
        by: UUID,
        by_login: str,
        now: datetime,
    ) -> UnauthorizedDisclosure:
        what = _required(cmd.what, "what", STATEMENT_MAX_LENGTH)
        occurred = parse_instant(cmd.occurred_at, "occurred_at", now)
        discovered = parse_instant(cmd.discovered_at, "discovered_at", now)
        if discovered < occurred:
            raise InvalidFieldError(
                "discovered_at", "discovered_at.before_occurred", "must not precede occurred_at"
            )
        reported = None
        if cmd.reported_to_cpo_at is not None:
            reported = parse_instant(cmd.reported_to_cpo_at, "reported_to_cpo_at", now)
            check_report_after_discovery(reported, discovered)
        within = policy.unauthorized_disclosure_report_within.value
        return cls._create(
            cls.Reported,
            id=uuid4(),
            timestamp=now,
            what=what,
            occurred_at=occurred,
            discovered_at=discovered,
            reported_by=by,
            reported_by_login=by_login,
            reported_to_cpo_at=reported,
            report_within_s=None if within is None else within.total_seconds(),
        )

    def record_report_to_cpo(self, reported_at: object, *, by: UUID, by_login: str, now: datetime) -> None:
        if self.reported_to_cpo_at is not None:
            raise ConflictError(
                "report",
                "unauthorized.already_reported",
                "the report to the Chief Privacy Officer is already recorded",
            )
        at = parse_instant(reported_at, "reported_at", now)
        check_report_after_discovery(at, self.discovered_at, field="reported_at")
        self.trigger_event(
            self.ReportedToPrivacyOfficer, timestamp=now, reported_at=at, by=by, by_login=by_login
        )

    @property
    def within(self) -> timedelta | None:
        return None if self.report_within_s is None else timedelta(seconds=self.report_within_s)

    @property
    def due_at(self) -> datetime | None:
        return report_due_at(self.discovered_at, self.within)

    def overdue(self, now: datetime) -> bool:
        return report_overdue(
            self.discovered_at,
            self.reported_to_cpo_at,
            self.within,
            now,
            recorded_at=self.reported_to_cpo_recorded_at,
        )


def check_may_record_report_to_cpo(roles: Iterable[Role]) -> None:
    """Only the privacy officer records that the Chief Privacy Officer was told: the person who
    reports an unauthorized disclosure cannot also certify that it reached the CPO in time."""
    if Role.PRIVACY_OFFICER not in set(roles):
        raise AccessDeniedError(
            "role",
            "unauthorized.report_to_cpo.role",
            "only the privacy officer records the report to the Chief Privacy Officer",
        )


def check_report_after_discovery(
    reported: datetime, discovered: datetime, *, field: str = "reported_to_cpo_at"
) -> None:
    if reported < discovered:
        raise InvalidFieldError(field, f"{field}.before_discovery", "must not precede discovered_at")
