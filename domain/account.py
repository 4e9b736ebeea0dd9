"""Accounts: people and devices, their roles, training and credentials.

An :class:`Account` is keyed by its login (``uuid5`` of a namespace and ``"account:" + login``),
so enrolling the same login twice collides on the event store's unique (id, version) key instead
of relying on a read-then-write check. Logins are not personal data about the public; plates
never reach an id.

Every change is an event naming the actor (CJIS 5.4.1.1: who, what, when, outcome). Passwords
are stored only as argon2 hashes (computed by the service: the domain does no I/O and knows no
hashing library); bearer tokens live in ``domain/token.py`` as SHA-256 hashes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.errors import ConflictError, InvalidFieldError
from domain.policy import Role
from domain.values import (
    OPTIONAL_TEXT_PATTERN,
    TEXT_PATTERN,
    parse_identifier,
    parse_optional_text,
    parse_text,
)

ACCOUNT_NAMESPACE = UUID("6f0f2c1e-4b7a-5d8e-9a51-3c2d7e8f9a10")
"""Namespace of the name-based ids of accounts and tokens (never of anything derived from a plate)."""

LOGIN_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,63}$")
DISPLAY_NAME_MAX_LENGTH = 128
UNIT_MAX_LENGTH = 128
COURSE_MAX_LENGTH = 200
REASON_MAX_LENGTH = 500
CAMERA_ID_MAX_LENGTH = 64


class AccountKind(StrEnum):
    PERSON = "person"  # logs on with password + TOTP, gets short-lived tokens
    DEVICE = "device"  # a camera or pipeline: long-lived device tokens only


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, as established from a bearer token on this request."""

    account_id: UUID
    login: str
    roles: frozenset[Role]
    trained: bool
    is_device: bool = False
    camera_id: str | None = None  # a device token may be bound to one camera
    token_id: UUID | None = None  # the token this request presented (logout revokes it)


# --------------------------------------------------------------------------------------------
# Pure decisions
# --------------------------------------------------------------------------------------------


def account_id_for(login: str) -> UUID:
    """The id of the account with ``login`` (already normalised by :func:`parse_login`)."""
    return uuid5(ACCOUNT_NAMESPACE, "account:" + login)


def parse_login(raw: object, field: str = "login") -> str:
    """A login, case-folded so "JSmith" and "jsmith" are one person: 1-64 of a-z 0-9 . _ @ -."""
    if not isinstance(raw, str):
        raise InvalidFieldError(field, "login.type", "must be a string")
    login = raw.strip()
    # Matched before case-folding: str.lower() maps some non-ASCII letters (the Kelvin sign) to
    # ASCII ones, and two spellings of one login must not both be accepted.
    if not LOGIN_PATTERN.fullmatch(login.lower()) or not login.isascii():
        raise InvalidFieldError(
            field,
            "login.format",
            "must be 1 to 64 characters of a-z, 0-9, '.', '_', '@' or '-', starting with a letter or digit",
        )
    return login.lower()


LOGIN_SCHEMA_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"
"""JSON Schema pattern of a login as sent (the domain also trims surrounding spaces)."""


def _text(raw: object, field: str, rule: str, max_length: int, *, required: bool = True) -> str | None:
    """One line of free text of at most ``max_length`` characters as sent, without control
    characters; returned stripped. Blank is an error when ``required``, else None."""
    if required:
        return parse_text(
            raw, field, max_length=max_length, rule_prefix=rule, blank_message="must not be blank"
        )
    return parse_optional_text(raw, field, max_length=max_length, rule_prefix=rule)


def parse_display_name(raw: object) -> str:
    value = _text(raw, "display_name", "display_name", DISPLAY_NAME_MAX_LENGTH)
    assert value is not None  # required=True never returns None
    return value


def parse_unit(raw: object) -> str | None:
    """The command or unit a person or device belongs to (optional)."""
    return _text(raw, "unit", "unit", UNIT_MAX_LENGTH, required=False)


def parse_course(raw: object) -> str:
    value = _text(raw, "course", "course", COURSE_MAX_LENGTH)
    assert value is not None
    return value


def parse_trainer(raw: object) -> str | None:
    return _text(raw, "trainer", "trainer", DISPLAY_NAME_MAX_LENGTH, required=False)


def parse_reason(raw: object) -> str | None:
    return _text(raw, "reason", "reason", REASON_MAX_LENGTH, required=False)


def parse_kind(raw: object) -> AccountKind:
    if not isinstance(raw, str) or raw not in {k.value for k in AccountKind}:
        raise InvalidFieldError(
            "kind", "kind.unknown", f"must be one of: {', '.join(k.value for k in AccountKind)}"
        )
    return AccountKind(raw)


def parse_role(raw: object, field: str = "role") -> Role:
    if not isinstance(raw, str) or raw not in {r.value for r in Role}:
        raise InvalidFieldError(field, "role.unknown", f"must be one of: {', '.join(r.value for r in Role)}")
    return Role(raw)


def check_role_fits_kind(kind: AccountKind, role: Role, field: str = "role") -> None:
    """Devices hold only the device role, and people never hold it.

    A device token is long-lived and carries no second factor, so it must not open anything a
    person's role opens; and a person with the device role could inject reads as a camera.
    """
    if (kind is AccountKind.DEVICE) != (role is Role.DEVICE):
        need = "only the device role" if kind is AccountKind.DEVICE else "any role but device"
        raise InvalidFieldError(field, "role.kind_mismatch", f"a {kind.value} account may hold {need}")


def check_may_set_credential(
    *, account_id: UUID, actor: str, already_set: bool, what: str, field: str = "account_id"
) -> None:
    """Someone else may set a password or TOTP only while the account has none (initial
    enrolment). Replacing one needs an explicit credentials reset, which is recorded with its
    reason and kills every live token: otherwise an administrator could take over any account
    silently and act as its holder (e.g. approve a disclosure as the privacy officer)."""
    if already_set and actor != str(account_id):
        raise ConflictError(
            field,
            "credentials.already_set",
            f"the account already has a {what}; only its holder may change it, "
            "or reset the credentials first (POST /v1/accounts/{id}/credentials/reset)",
        )


def parse_required_reason(raw: object) -> str:
    """A reason that must be given (a credentials reset is never silent)."""
    value = _text(raw, "reason", "reason", REASON_MAX_LENGTH)
    assert value is not None
    return value


def parse_camera_id(kind: AccountKind, raw: object) -> str | None:
    """A device may be bound to one camera; a person never is."""
    if raw is None:
        return None
    if kind is not AccountKind.DEVICE:
        raise InvalidFieldError("camera_id", "camera_id.person", "only device accounts are bound to a camera")
    return parse_identifier(raw, field="camera_id", max_length=CAMERA_ID_MAX_LENGTH)


def parse_training_date(raw: object, today: date) -> date:
    """The day training was completed: a date, not in the future."""
    if isinstance(raw, str):
        try:
            raw = date.fromisoformat(raw)
        except ValueError:
            raise InvalidFieldError(
                "completed_on", "completed_on.format", "must be a date YYYY-MM-DD"
            ) from None
    if not isinstance(raw, date):
        raise InvalidFieldError("completed_on", "completed_on.type", "must be a date YYYY-MM-DD")
    if raw > today:
        raise InvalidFieldError(
            "completed_on", "completed_on.future", "training cannot be completed in the future"
        )
    return raw


# --------------------------------------------------------------------------------------------
# Aggregate
# --------------------------------------------------------------------------------------------


class Account(Aggregate):
    """A person or a device that may call the API. Snapshots are not used (credentials inside)."""

    if TYPE_CHECKING:  # Declared for type checkers only.
        login: str
        display_name: str
        kind: AccountKind
        unit: str | None
        camera_id: str | None
        roles: set[Role]
        trainings: list[dict[str, Any]]
        password_hash: str | None
        totp_secret: str | None
        last_totp_step: int | None
        access_revoked: bool
        tokens_invalid_before: datetime | None

    class Event(Aggregate.Event):
        """Base class of every event of an Account. ``actor`` names who made the change."""

    @dataclass(frozen=True)
    class Enrolled(Event, Aggregate.Created):
        """A person or device was given an account (roles follow as RoleGranted events)."""

        login: str
        display_name: str
        kind: str
        unit: str | None
        camera_id: str | None
        actor: str

        def apply(self, aggregate: Account) -> None:
            aggregate.login = self.login
            aggregate.display_name = self.display_name
            aggregate.kind = AccountKind(self.kind)
            aggregate.unit = self.unit
            aggregate.camera_id = self.camera_id
            aggregate.roles = set()
            aggregate.trainings = []
            aggregate.password_hash = None
            aggregate.totp_secret = None
            aggregate.last_totp_step = None
            aggregate.access_revoked = False
            aggregate.tokens_invalid_before = None

    @dataclass(frozen=True)
    class PasswordSet(Event):
        """A new password, as its argon2 hash (never the password)."""

        password_hash: str
        actor: str

        def apply(self, aggregate: Account) -> None:
            aggregate.password_hash = self.password_hash

    @dataclass(frozen=True)
    class TotpEnrolled(Event):
        """A TOTP second factor (base32 secret); sealed under the account's data key in the store
        (``ledger.sealing.default_policy``)."""

        secret: str
        actor: str

        def apply(self, aggregate: Account) -> None:
            aggregate.totp_secret = self.secret
            aggregate.last_totp_step = None

    @dataclass(frozen=True)
    class PasswordChanged(Event):
        """The holder changed their own password, proving the old one and a TOTP code; the
        code's step is remembered so it cannot be replayed for a log-on."""

        password_hash: str
        totp_step: int
        actor: str

        def apply(self, aggregate: Account) -> None:
            aggregate.password_hash = self.password_hash
            aggregate.last_totp_step = self.totp_step

    @dataclass(frozen=True)
    class CredentialsReset(Event):
        """Password and TOTP were cleared and every token issued until now stopped working.

        The only way for someone other than the holder to replace credentials once set: an
        administrator who could silently set them could log on as anyone (e.g. as the privacy
        officer who approves their own disclosure request).
        """

        reason: str
        actor: str

        def apply(self, aggregate: Account) -> None:
            aggregate.password_hash = None
            aggregate.totp_secret = None
            aggregate.last_totp_step = None
            aggregate.tokens_invalid_before = self.timestamp

    @dataclass(frozen=True)
    class Trained(Event):
        """Training on the system and its policy was completed (all policies: before access)."""

        course: str
        completed_on: str  # ISO date
        trainer: str | None
        actor: str

        def apply(self, aggregate: Account) -> None:
            aggregate.trainings.append(
                {"course": self.course, "completed_on": self.completed_on, "trainer": self.trainer}
            )

    @dataclass(frozen=True)
    class RoleGranted(Event):
        role: str
        actor: str

        def apply(self, aggregate: Account) -> None:
            aggregate.roles.add(Role(self.role))

    @dataclass(frozen=True)
    class RoleRevoked(Event):
        role: str
        actor: str

        def apply(self, aggregate: Account) -> None:
            aggregate.roles.discard(Role(self.role))

    @dataclass(frozen=True)
    class AccessRevoked(Event):
        """Every token of the account stops working on the next request."""

        reason: str | None
        actor: str

        def apply(self, aggregate: Account) -> None:
            aggregate.access_revoked = True
            # Restoring access must not bring back the tokens of before (a device token never
            # expires): tokens issued up to now stay refused for good.
            aggregate.tokens_invalid_before = self.timestamp

    @dataclass(frozen=True)
    class AccessRestored(Event):
        reason: str | None
        actor: str

        def apply(self, aggregate: Account) -> None:
            aggregate.access_revoked = False

    @dataclass(frozen=True)
    class LoggedOn(Event):
        """A successful interactive log-on; remembers the TOTP step so its code is not reused.

        Failed attempts are recorded as :class:`domain.logon.Logon` aggregates instead, so that
        an attacker guessing passwords cannot grow this account's history (replayed on every
        request) or contend with the account holder's own writes.
        """

        totp_step: int
        token_id: UUID
        source: str

        def apply(self, aggregate: Account) -> None:
            aggregate.last_totp_step = self.totp_step

    # ---- commands (each triggers one event; the service validates input first) ------------

    @classmethod
    def enrol(
        cls,
        *,
        login: str,
        display_name: str,
        kind: AccountKind,
        unit: str | None,
        camera_id: str | None,
        actor: str,
        at: datetime | None = None,
    ) -> Account:
        return cls._create(
            cls.Enrolled,
            timestamp=at,
            id=account_id_for(login),
            login=login,
            display_name=display_name,
            kind=kind.value,
            unit=unit,
            camera_id=camera_id,
            actor=actor,
        )

    def set_password(self, password_hash: str, *, actor: str, at: datetime | None = None) -> None:
        self.trigger_event(self.PasswordSet, timestamp=at, password_hash=password_hash, actor=actor)

    def enrol_totp(self, secret: str, *, actor: str, at: datetime | None = None) -> None:
        self.trigger_event(self.TotpEnrolled, timestamp=at, secret=secret, actor=actor)

    def change_password(
        self, password_hash: str, *, totp_step: int, actor: str, at: datetime | None = None
    ) -> None:
        self.trigger_event(
            self.PasswordChanged, timestamp=at, password_hash=password_hash, totp_step=totp_step, actor=actor
        )

    def reset_credentials(self, reason: str, *, actor: str, at: datetime | None = None) -> None:
        self.trigger_event(self.CredentialsReset, timestamp=at, reason=reason, actor=actor)

    def record_training(
        self, course: str, completed_on: date, trainer: str | None, *, actor: str, at: datetime | None = None
    ) -> None:
        self.trigger_event(
            self.Trained,
            timestamp=at,
            course=course,
            completed_on=completed_on.isoformat(),
            trainer=trainer,
            actor=actor,
        )

    def grant_role(self, role: Role, *, actor: str, at: datetime | None = None) -> bool:
        """Grant ``role``; False (and no event) when it is already held."""
        check_role_fits_kind(self.kind, role)
        if role in self.roles:
            return False
        self.trigger_event(self.RoleGranted, timestamp=at, role=role.value, actor=actor)
        return True

    def revoke_role(self, role: Role, *, actor: str, at: datetime | None = None) -> bool:
        """Revoke ``role``; False (and no event) when it is not held."""
        if role not in self.roles:
            return False
        self.trigger_event(self.RoleRevoked, timestamp=at, role=role.value, actor=actor)
        return True

    def revoke_access(self, reason: str | None, *, actor: str, at: datetime | None = None) -> bool:
        if self.access_revoked:
            return False
        self.trigger_event(self.AccessRevoked, timestamp=at, reason=reason, actor=actor)
        return True

    def restore_access(self, reason: str | None, *, actor: str, at: datetime | None = None) -> bool:
        if not self.access_revoked:
            return False
        self.trigger_event(self.AccessRestored, timestamp=at, reason=reason, actor=actor)
        return True

    def log_on(self, *, totp_step: int, token_id: UUID, source: str, at: datetime | None = None) -> None:
        self.trigger_event(self.LoggedOn, timestamp=at, totp_step=totp_step, token_id=token_id, source=source)

    # ---- views ----------------------------------------------------------------------------

    @property
    def is_device(self) -> bool:
        return self.kind is AccountKind.DEVICE

    def token_predates_revocation(self, issued_at: datetime) -> bool:
        """True when a token issued at ``issued_at`` was issued at or before the latest access
        revocation or credentials reset (so it stays refused even after a restore)."""
        watermark: datetime | None = getattr(self, "tokens_invalid_before", None)
        return watermark is not None and issued_at <= watermark

    @property
    def trained(self) -> bool:
        return bool(self.trainings)

    def principal(self, token_id: UUID | None = None) -> Principal:
        """The caller this account is on a request (roles and training as of now)."""
        return Principal(
            account_id=self.id,
            login=self.login,
            roles=frozenset(self.roles),
            trained=self.trained,
            is_device=self.is_device,
            camera_id=self.camera_id,
            token_id=token_id,
        )


__all__ = [
    "ACCOUNT_NAMESPACE",
    "LOGIN_SCHEMA_PATTERN",
    "OPTIONAL_TEXT_PATTERN",
    "TEXT_PATTERN",
    "Account",
    "AccountKind",
    "Principal",
    "account_id_for",
    "check_may_set_credential",
    "check_role_fits_kind",
    "parse_camera_id",
    "parse_course",
    "parse_display_name",
    "parse_kind",
    "parse_login",
    "parse_reason",
    "parse_required_reason",
    "parse_role",
    "parse_trainer",
    "parse_training_date",
    "parse_unit",
]
