"""Authentication: bearer tokens, interactive log-on, and the denials authorization records.

Every log-on attempt is an event (CJIS 5.4.1.1: who, what, when, outcome). ``authenticate`` reads
the token and the account fresh on every request, so revoking a token, a role or an account takes
effect on the caller's next request. Account administration lives in ``accounts.py``.
"""

from __future__ import annotations

import os
import secrets
import threading
from collections import deque
from datetime import datetime, timedelta
from pathlib import Path
from typing import ClassVar
from uuid import UUID

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from domain.account import Account, Principal, account_id_for, parse_login, parse_reason
from domain.errors import AuthenticationError, ConflictError, InvalidFieldError, NotFoundError
from domain.logon import AccessDenial, Logon, Outcome, login_digest
from domain.token import TOKEN_PREFIX, Token, TokenKind, token_id_for
from domain.totp import decode_secret, matching_step
from ops.commands.base import CommandsBase
from ops.commands.loading import find_aggregate

PASSWORD_MAX_LENGTH = 1024  # argon2 takes any length; this only bounds the work per request
TOKEN_MAX_LENGTH = 256  # longer bearer strings are not ours: refuse without hashing them

LOGIN_FAILED = "credentials.invalid"
"""The one rule every failed log-on answers with: the response must not tell an attacker whether
the login exists or which factor was wrong. The recorded event keeps the precise reason."""

LOGIN_LOCKED = "credentials.locked"
LOCKOUT_FAILURES = 5
LOCKOUT_WINDOW = timedelta(minutes=15)
"""After LOCKOUT_FAILURES failed log-ons within LOCKOUT_WINDOW, a login is refused until the
oldest of them leaves the window: without it a six-digit TOTP code falls to brute force (the
password alone would then stand). CJIS 5.5.3 asks for no more than 5 invalid attempts."""

AUDIT_PEPPER_BYTES = 32

ActorLike = UUID | str | None


def actor_name(actor: ActorLike) -> str:
    """Who made a change, as recorded: an account id, a label such as "cli:alice", or "system"."""
    if actor is None:
        return "system"
    return str(actor)


def new_token() -> str:
    """A bearer token: our prefix and 256 random bits."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def load_or_create_pepper(path: Path) -> bytes:
    """The deployment's audit pepper (32 random bytes), created mode 0600 on first use.

    It keys :func:`domain.logon.login_digest`; losing it only stops old digests being matched.
    """
    try:
        pepper = path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        pepper = secrets.token_bytes(AUDIT_PEPPER_BYTES)
        # Written aside then linked into place: another process never reads a half-written file,
        # and if one got there first its pepper wins (os.link refuses to replace).
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(pepper)
            os.link(temporary, path)
        except FileExistsError:
            pepper = path.read_bytes()
        finally:
            temporary.unlink(missing_ok=True)
    if len(pepper) != AUDIT_PEPPER_BYTES:
        raise RuntimeError(f"the audit pepper file {path.name} is not {AUDIT_PEPPER_BYTES} bytes")
    return pepper


class FailureCounter:
    """Failed log-ons per key (an account, or the digest of an unknown login) in a sliding window.

    In memory of this process: a restart forgets it, and several API processes each count on
    their own (so the effective limit is per process). Unknown logins are counted too, so that
    a locked answer does not tell an attacker the login exists.
    """

    MAX_KEYS = 10_000  # unknown logins are attacker-chosen: bound the memory they can take

    def __init__(self, limit: int = LOCKOUT_FAILURES, window: timedelta = LOCKOUT_WINDOW) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: datetime) -> deque[datetime]:
        failures = self._failures.get(key, deque())
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures

    def locked(self, key: str, now: datetime) -> bool:
        with self._lock:
            return len(self._recent(key, now)) >= self.limit

    def fail(self, key: str, now: datetime) -> None:
        with self._lock:
            if key not in self._failures and len(self._failures) >= self.MAX_KEYS:
                for stale in [k for k in self._failures if not self._recent(k, now)]:
                    del self._failures[stale]
            failures = self._recent(key, now)
            failures.append(now)
            self._failures[key] = failures

    def clear(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


class _LogonFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AuthenticationCommands(CommandsBase):
    token_ttl: timedelta = timedelta(hours=8)
    """Lifetime of an interactive token; the composition root sets it from settings."""

    password_hasher: ClassVar[PasswordHasher] = PasswordHasher()
    """argon2id with the RFC 9106 low-memory profile (t=3, m=64 MiB, p=4): about 0.3 s a check
    here, which is the point. Tests swap in a cheap hasher; stored hashes carry their own
    parameters, so a change of profile leaves old hashes verifiable."""

    audit_pepper_path: Path | None = None
    """File of the per-deployment key of :func:`domain.logon.login_digest` (the composition root
    sets it under the data dir). None: a random key per process, so digests of unknown logins
    cannot be matched across restarts (fine for tests)."""

    # ---- audit pepper and lockout ------------------------------------------------------------------

    def _audit_pepper(self) -> bytes:
        pepper: bytes | None = self.__dict__.get("_audit_pepper_bytes")
        if pepper is None:
            path = self.audit_pepper_path
            pepper = secrets.token_bytes(AUDIT_PEPPER_BYTES) if path is None else load_or_create_pepper(path)
            self.__dict__["_audit_pepper_bytes"] = pepper
        return pepper

    @property
    def logon_failures(self) -> FailureCounter:
        """This application's counter of recent failed log-ons (see :class:`FailureCounter`)."""
        counter: FailureCounter = self.__dict__.setdefault("_logon_failures", FailureCounter())
        return counter

    # ---- loading -------------------------------------------------------------------------------

    def _load(self, aggregate_id: UUID, kind: type[Aggregate], field: str, rule: str) -> Aggregate:
        aggregate = find_aggregate(self.repository, aggregate_id, kind)
        if aggregate is None:
            raise NotFoundError(field, rule, f"no such {kind.__name__.lower()}: {aggregate_id}")
        return aggregate

    def get_account(self, account_id: UUID) -> Account:
        account = self._load(account_id, Account, "account_id", "account.unknown")
        assert isinstance(account, Account)
        return account

    def find_account(self, login: str) -> Account:
        """The account with ``login`` (case-insensitive)."""
        found = self._load(account_id_for(parse_login(login)), Account, "login", "account.unknown")
        assert isinstance(found, Account)
        return found

    # ---- tokens ---------------------------------------------------------------------------------

    def issue_interactive_token(self, account_id: UUID, *, actor: ActorLike = None) -> tuple[str, datetime]:
        """A short-lived token for a person without a log-on (bootstrap CLI, tests)."""
        account = self.get_account(account_id)
        self._check_can_hold_token(account, TokenKind.INTERACTIVE)
        now = self.clock()
        raw, expires_at, token = self._new_interactive_token(account, actor=actor_name(actor), now=now)
        self.save(token)
        return raw, expires_at

    def _new_interactive_token(
        self, account: Account, *, actor: str, now: datetime
    ) -> tuple[str, datetime, Token]:
        """A short-lived token for ``account``, not yet saved, with its raw value and expiry."""
        raw = new_token()
        expires_at = now + self.token_ttl
        token = Token.issue(
            raw,
            account_id=account.id,
            kind=TokenKind.INTERACTIVE,
            expires_at=expires_at,
            actor=actor,
            timestamp=now,
        )
        return raw, expires_at, token

    def issue_device_token(self, account_id: UUID, *, actor: ActorLike = None) -> str:
        """A long-lived token for a camera or pipeline account; shown once, stored as a hash."""
        account = self.get_account(account_id)
        self._check_can_hold_token(account, TokenKind.DEVICE)
        raw = new_token()
        token = Token.issue(
            raw,
            account_id=account.id,
            kind=TokenKind.DEVICE,
            expires_at=None,
            actor=actor_name(actor),
            timestamp=self.clock(),
        )
        self.save(token)
        return raw

    @staticmethod
    def _check_can_hold_token(account: Account, kind: TokenKind) -> None:
        if account.access_revoked:
            raise ConflictError("account_id", "account.revoked", "access of this account is revoked")
        if (kind is TokenKind.DEVICE) != account.is_device:
            raise ConflictError(
                "account_id",
                "token.kind_mismatch",
                "device tokens are for device accounts; people log on (or get an interactive token)",
            )

    def get_token(self, token: str | UUID) -> Token:
        """The token by its id (a UUID) or by the raw token as presented (a str)."""
        token_id = token_id_for(token) if isinstance(token, str) else token
        found = self._load(token_id, Token, "token", "token.unknown")
        assert isinstance(found, Token)
        return found

    def revoke_token(self, token: str | UUID, *, actor: ActorLike = None, reason: str | None = None) -> bool:
        """Revoke a token given raw or by id (effective on the next request); False if it was."""
        why = parse_reason(reason)
        found = self.get_token(token)
        changed = found.revoke(actor=actor_name(actor), reason=why, at=self.clock())
        self.save(found)
        return changed

    def logout(self, principal: Principal) -> None:
        """Revoke the token the principal's request presented."""
        if principal.token_id is None:
            raise NotFoundError("token", "token.unknown", "this request presented no token")
        self.revoke_token(principal.token_id, actor=principal.account_id, reason="logout")

    # ---- authentication --------------------------------------------------------------------------

    def login(self, login: str, password: str, totp_code: str, *, source: str) -> tuple[str, datetime]:
        """Interactive log-on: argon2 password and TOTP code; every attempt is recorded.

        Returns a short-lived bearer token and its expiry. Any failure answers the same
        :class:`AuthenticationError` (rule ``credentials.invalid``); the recorded event names
        the precise reason.
        """
        now = self.clock()
        name: str | None = None
        account: object = None
        try:
            name = parse_login(login)
            account = self.repository.get(account_id_for(name))
        except (InvalidFieldError, AggregateNotFoundError):
            pass
        failures = self.logon_failures
        if not isinstance(account, Account):
            # Text matching no account is often a password typed into the wrong field, and events
            # are never deleted: only a keyed digest of it is recorded.
            typed = name if name is not None else (login if isinstance(login, str) else "")
            digest = login_digest(self._audit_pepper(), typed)
            if failures.locked(digest, now):
                self._record_logon(digest, None, Outcome.FAILURE, LOGIN_LOCKED, source, now)
                raise self._login_locked()
            self._burn_password_check(password)  # same work as a real check: no timing oracle
            failures.fail(digest, now)
            self._record_logon(digest, None, Outcome.FAILURE, "login.unknown", source, now)
            raise self._login_failed()
        key = f"account:{account.id}"
        if failures.locked(key, now):
            self._record_logon(account.login, account.id, Outcome.FAILURE, LOGIN_LOCKED, source, now)
            raise self._login_locked()
        try:
            step = self._check_credentials(account, password, totp_code, now)
        except _LogonFailed as failure:
            failures.fail(key, now)
            self._record_logon(account.login, account.id, Outcome.FAILURE, failure.reason, source, now)
            raise self._login_failed() from None
        raw, expires_at, token = self._new_interactive_token(account, actor=str(account.id), now=now)
        account.log_on(totp_step=step, token_id=token.id, source=source, at=now)
        attempt = Logon.attempt(
            login=account.login,
            account_id=account.id,
            outcome=Outcome.SUCCESS,
            reason="ok",
            source=source,
            timestamp=now,
        )
        try:
            self.save(account, token, attempt)
        except IntegrityError:
            # A concurrent log-on with the same code won the race: this one is a replay.
            failures.fail(key, now)
            self._record_logon(account.login, account.id, Outcome.FAILURE, "totp.replayed", source, now)
            raise self._login_failed() from None
        failures.clear(key)
        return raw, expires_at

    def _check_credentials(self, account: Account, password: str, totp_code: str, now: datetime) -> int:
        """The TOTP step of a correct password + code for ``account``; raises :class:`_LogonFailed`."""
        # The password is checked (or the same work burnt) on every path, so response time does
        # not tell an attacker whether the account is a device, revoked or without a password.
        password_ok = self._password_matches(account.password_hash, password)
        if account.is_device:
            raise _LogonFailed("account.device")
        if account.access_revoked:
            raise _LogonFailed("account.revoked")
        if account.password_hash is None:
            raise _LogonFailed("password.unset")
        if not password_ok:
            raise _LogonFailed("password.wrong")
        if account.totp_secret is None:
            raise _LogonFailed("totp.unenrolled")
        code = totp_code.strip() if isinstance(totp_code, str) else ""
        step = matching_step(decode_secret(account.totp_secret), code, now)
        if step is None:
            raise _LogonFailed("totp.wrong")
        if account.last_totp_step is not None and step <= account.last_totp_step:
            raise _LogonFailed("totp.replayed")  # RFC 6238 section 5.2
        return step

    def _password_matches(self, password_hash: str | None, password: object) -> bool:
        if password_hash is None or not isinstance(password, str) or len(password) > PASSWORD_MAX_LENGTH:
            self._burn_password_check(password)
            return False
        try:
            return self.password_hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def _burn_password_check(self, password: object) -> None:
        dummy: str | None = self.__dict__.get("_dummy_hash")
        if dummy is None or self.password_hasher.check_needs_rehash(dummy):
            dummy = self.password_hasher.hash(secrets.token_urlsafe(16))
            self.__dict__["_dummy_hash"] = dummy
        attempt = password[:PASSWORD_MAX_LENGTH] if isinstance(password, str) else ""
        try:
            self.password_hasher.verify(dummy, attempt)
        except (VerificationError, InvalidHashError):
            pass

    def _record_logon(
        self, login: str, account_id: UUID | None, outcome: Outcome, reason: str, source: str, now: datetime
    ) -> None:
        self.save(
            Logon.attempt(
                login=login,
                account_id=account_id,
                outcome=outcome,
                reason=reason,
                source=source,
                timestamp=now,
            )
        )

    @staticmethod
    def _login_failed() -> AuthenticationError:
        return AuthenticationError(
            "login", LOGIN_FAILED, "login, password or one-time code is wrong, or the account cannot log on"
        )

    @staticmethod
    def _login_locked() -> AuthenticationError:
        return AuthenticationError(
            "login",
            LOGIN_LOCKED,
            f"too many failed log-ons: try again in at most {LOCKOUT_WINDOW.seconds // 60} minutes",
        )

    def authenticate(self, token: str) -> Principal:
        """The caller presenting ``token``, with roles and training as of now.

        Raises :class:`AuthenticationError` with rule ``token.invalid``, ``token.expired``,
        ``token.revoked`` (also for a token issued at or before the account's latest revocation
        or credentials reset) or ``account.revoked``.
        """
        if not isinstance(token, str) or not 0 < len(token) <= TOKEN_MAX_LENGTH:
            raise AuthenticationError("authorization", "token.invalid", "the bearer token is not valid")
        found = find_aggregate(self.repository, token_id_for(token), Token)
        if found is None:
            raise AuthenticationError("authorization", "token.invalid", "the bearer token is not valid")
        if found.revoked:
            raise AuthenticationError("authorization", "token.revoked", "the bearer token was revoked")
        if found.expired(self.clock()):
            raise AuthenticationError(
                "authorization", "token.expired", "the bearer token expired; log on again"
            )
        account = find_aggregate(self.repository, found.account_id, Account)
        if account is None:
            raise AuthenticationError("authorization", "token.invalid", "the bearer token is not valid")
        if account.access_revoked:
            raise AuthenticationError("authorization", "account.revoked", "access of this account is revoked")
        if account.token_predates_revocation(found.created_on):
            raise AuthenticationError(
                "authorization",
                "token.revoked",
                "the account was revoked or its credentials reset after this token was issued; log on again",
            )
        return account.principal(found.id)

    def record_access_denied(self, principal: Principal, *, permission: str, path: str, rule: str) -> None:
        """Record a 403 (who, which permission, which path, which rule) before it is answered."""
        self.save(
            AccessDenial.record(
                account_id=principal.account_id,
                login=principal.login,
                permission=permission,
                path=path,
                rule=rule,
                roles=[r.value for r in principal.roles],
                timestamp=self.clock(),
            )
        )
