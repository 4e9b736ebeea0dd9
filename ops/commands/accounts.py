"""Account administration: enrolment, roles, training, credentials, revocation.

Every change is an event naming its actor (CJIS 5.4.1.1: who, what, when, outcome). Tokens,
log-on and authentication are in ``authentication.py``, which this mixin builds on.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import date
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from domain.account import (
    Account,
    AccountKind,
    account_id_for,
    check_may_set_credential,
    check_role_fits_kind,
    parse_camera_id,
    parse_course,
    parse_display_name,
    parse_kind,
    parse_login,
    parse_reason,
    parse_required_reason,
    parse_role,
    parse_trainer,
    parse_training_date,
    parse_unit,
)
from domain.errors import AccessDeniedError, ConflictError, InvalidFieldError
from domain.logon import Outcome
from domain.policy import Role
from domain.totp import encode_secret
from ops.commands.authentication import (
    LOGIN_LOCKED,
    PASSWORD_MAX_LENGTH,
    ActorLike,
    AuthenticationCommands,
    _LogonFailed,
    actor_name,
)

PASSWORD_MIN_LENGTH = 12
TOTP_SECRET_BYTES = 20  # 160 bits, the RFC 4226 recommendation for HMAC-SHA1
LIST_LIMIT_MAX = 500


def check_password(raw: object) -> str:
    if not isinstance(raw, str):
        raise InvalidFieldError("password", "password.type", "must be a string")
    if not PASSWORD_MIN_LENGTH <= len(raw) <= PASSWORD_MAX_LENGTH:
        raise InvalidFieldError(
            "password",
            "password.length",
            f"must be {PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters (a passphrase is best)",
        )
    return raw


class AccountCommands(AuthenticationCommands):
    """Administration of accounts; authentication comes from :class:`AuthenticationCommands`."""

    # ---- helpers -----------------------------------------------------------------------------

    def _save_changes(self, *aggregates: Aggregate) -> None:
        try:
            self.save(*aggregates)
        except IntegrityError:
            # Another request changed the same account between our read and our write.
            raise ConflictError(
                "account_id", "account.concurrent_change", "the account changed meanwhile; retry"
            ) from None

    @staticmethod
    def _refuse_self_change(account: Account, actor: ActorLike, what: str) -> None:
        # A role or a training record means something only when someone else vouches for it.
        if actor is not None and str(actor) == str(account.id):
            raise AccessDeniedError(
                "account_id", "account.self_change", f"you cannot {what} on your own account"
            )

    # ---- enrolment and administration ---------------------------------------------------------

    def enrol_account(
        self,
        login: str,
        display_name: str,
        *,
        kind: AccountKind | str = AccountKind.PERSON,
        roles: Iterable[Role | str] = (),
        unit: str | None = None,
        camera_id: str | None = None,
        actor: ActorLike = None,
    ) -> UUID:
        """Enrol a person or a device; roles are granted in the same transaction.

        A device account with no roles gets the device role. The login is unique: a second
        enrolment of it is a :class:`ConflictError`, whatever the letter case.
        """
        name = parse_login(login)
        kind = parse_kind(kind.value if isinstance(kind, AccountKind) else kind)
        display = parse_display_name(display_name)
        unit_value = parse_unit(unit)
        camera = parse_camera_id(kind, camera_id)
        wanted = [parse_role(r, f"roles[{i}]") for i, r in enumerate(roles)]
        if not wanted and kind is AccountKind.DEVICE:
            wanted = [Role.DEVICE]
        for i, role in enumerate(wanted):
            check_role_fits_kind(kind, role, f"roles[{i}]")
        conflict = ConflictError("login", "login.taken", f"an account with login {name!r} already exists")
        try:
            self.repository.get(account_id_for(name))
            raise conflict
        except AggregateNotFoundError:
            pass
        now = self.clock()
        who = actor_name(actor)
        account = Account.enrol(
            login=name, display_name=display, kind=kind, unit=unit_value, camera_id=camera, actor=who, at=now
        )
        for role in wanted:
            account.grant_role(role, actor=who, at=now)
        try:
            self.save(account)
        except IntegrityError:  # enrolled concurrently: the uuid5 id made the store refuse it
            raise conflict from None
        return account.id

    def list_accounts(self, *, after: int = 0, limit: int = 50) -> tuple[list[Account], int | None]:
        """Accounts in enrolment order from the notification log (a projection comes later).

        ``after`` is the cursor returned by the previous page (0 for the first); the second value
        is the cursor of the next page, or None at the end.
        """
        if after < 0:
            raise InvalidFieldError("after", "after.range", "must be 0 or a cursor from a previous page")
        if not 1 <= limit <= LIST_LIMIT_MAX:
            raise InvalidFieldError("limit", "limit.range", f"must be 1 to {LIST_LIMIT_MAX}")
        notifications = self.recorder.select_notifications(
            after + 1, limit, topics=[get_topic(Account.Enrolled)]
        )
        accounts = [self.get_account(UUID(str(n.originator_id))) for n in notifications]
        cursor = notifications[-1].id if len(notifications) == limit else None
        return accounts, cursor

    @staticmethod
    def _refuse_device(account: Account) -> None:
        if account.is_device:
            raise ConflictError(
                "account_id", "account.device", "devices authenticate with device tokens only"
            )

    def set_password(self, account_id: UUID, password: str, *, actor: ActorLike = None) -> None:
        """Set a person's password; only its argon2 hash is stored.

        Someone other than the holder may do so only while the account has no password
        (initial enrolment, or after :meth:`reset_credentials`): ConflictError
        ``credentials.already_set`` otherwise.
        """
        account = self.get_account(account_id)
        self._refuse_device(account)
        who = actor_name(actor)
        check_may_set_credential(
            account_id=account.id, actor=who, already_set=account.password_hash is not None, what="password"
        )
        hashed = self.password_hasher.hash(check_password(password))
        account.set_password(hashed, actor=who, at=self.clock())
        self._save_changes(account)

    def enrol_totp(self, account_id: UUID, *, actor: ActorLike = None) -> str:
        """Give a person a TOTP secret; returns it in base32.

        As with :meth:`set_password`, someone other than the holder may do so only while the
        account has none (ConflictError ``credentials.already_set`` otherwise).
        """
        account = self.get_account(account_id)
        self._refuse_device(account)
        who = actor_name(actor)
        check_may_set_credential(
            account_id=account.id, actor=who, already_set=account.totp_secret is not None, what="TOTP secret"
        )
        secret = encode_secret(secrets.token_bytes(TOTP_SECRET_BYTES))
        account.enrol_totp(secret, actor=who, at=self.clock())
        self._save_changes(account)
        return secret

    def reset_credentials(self, account_id: UUID, *, reason: str | None, actor: ActorLike = None) -> None:
        """Clear password and TOTP and make every token issued until now fail (reason required).

        Afterwards an administrator may set initial credentials again (both steps recorded).
        """
        why = parse_required_reason(reason)
        account = self.get_account(account_id)
        account.reset_credentials(why, actor=actor_name(actor), at=self.clock())
        self._save_changes(account)

    def change_own_password(
        self,
        account_id: UUID,
        current_password: str,
        totp_code: str,
        new_password: str,
        *,
        source: str = "api",
    ) -> None:
        """The holder changes their own password, proving the current one and a TOTP code.

        A wrong proof is recorded as a failed log-on attempt and counts towards the lockout (a
        stolen token must not become a way to guess the password); the code cannot be reused.
        """
        new = check_password(new_password)  # before anything is recorded: 422 stores nothing
        account = self.get_account(account_id)
        self._refuse_device(account)
        now = self.clock()
        where = f"password change from {source}"
        key = f"account:{account.id}"
        failures = self.logon_failures
        if failures.locked(key, now):
            self._record_logon(account.login, account.id, Outcome.FAILURE, LOGIN_LOCKED, where, now)
            raise AccessDeniedError(
                "current_password", LOGIN_LOCKED, "too many failed attempts: try again later"
            )
        try:
            step = self._check_credentials(account, current_password, totp_code, now)
        except _LogonFailed as failure:
            failures.fail(key, now)
            self._record_logon(account.login, account.id, Outcome.FAILURE, failure.reason, where, now)
            raise AccessDeniedError(
                "current_password", "credentials.invalid", "the current password or one-time code is wrong"
            ) from None
        account.change_password(self.password_hasher.hash(new), totp_step=step, actor=str(account.id), at=now)
        self._save_changes(account)
        failures.clear(key)

    def record_training(
        self,
        account_id: UUID,
        course: str,
        *,
        completed_on: date | str | None = None,
        trainer: str | None = None,
        actor: ActorLike = None,
    ) -> None:
        """Record completed training (required before searching or acting on hits)."""
        account = self.get_account(account_id)
        self._refuse_self_change(account, actor, "record training")
        now = self.clock()
        course_name = parse_course(course)
        day = parse_training_date(now.date() if completed_on is None else completed_on, now.date())
        trainer_name = parse_trainer(trainer)
        account.record_training(course_name, day, trainer_name, actor=actor_name(actor), at=now)
        self._save_changes(account)

    def grant_role(self, account_id: UUID, role: Role | str, *, actor: ActorLike = None) -> bool:
        """Grant a role; False when the account already holds it (nothing recorded)."""
        wanted = parse_role(role)
        account = self.get_account(account_id)
        self._refuse_self_change(account, actor, "grant roles")
        changed = account.grant_role(wanted, actor=actor_name(actor), at=self.clock())
        self._save_changes(account)
        return changed

    def revoke_role(self, account_id: UUID, role: Role | str, *, actor: ActorLike = None) -> bool:
        """Revoke a role (effective on the next request); False when it was not held."""
        unwanted = parse_role(role)
        account = self.get_account(account_id)
        changed = account.revoke_role(unwanted, actor=actor_name(actor), at=self.clock())
        self._save_changes(account)
        return changed

    def revoke_access(self, account_id: UUID, *, reason: str | None = None, actor: ActorLike = None) -> bool:
        """Stop every token of the account from working (next request); False if already revoked."""
        why = parse_reason(reason)
        account = self.get_account(account_id)
        changed = account.revoke_access(why, actor=actor_name(actor), at=self.clock())
        self._save_changes(account)
        return changed

    def restore_access(self, account_id: UUID, *, reason: str | None = None, actor: ActorLike = None) -> bool:
        """Undo :meth:`revoke_access` (tokens revoked one by one stay revoked)."""
        why = parse_reason(reason)
        account = self.get_account(account_id)
        self._refuse_self_change(account, actor, "restore access")
        changed = account.restore_access(why, actor=actor_name(actor), at=self.clock())
        self._save_changes(account)
        return changed


__all__ = ["PASSWORD_MAX_LENGTH", "PASSWORD_MIN_LENGTH", "AccountCommands", "check_password"]
