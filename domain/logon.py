"""Log-on attempts and access denials: one small aggregate per occurrence.

CJIS 5.4.1.1 asks for who, what, when and outcome of every log-on attempt, successful or not,
including attempts against logins that do not exist. Each attempt (and each 403) is its own
single-event aggregate with a random id: recording one never contends with the account's own
writes, and a flood of failures cannot grow the account history that every request replays.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

SOURCE_MAX_LENGTH = 200
LOGIN_ECHO_MAX_LENGTH = 100


class Outcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"


def clip(text: str, limit: int) -> str:
    """Attacker-supplied text is recorded, but bounded."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


LOGIN_DIGEST_PREFIX = "hmac-sha256:"


def login_digest(pepper: bytes, typed: str) -> str:
    """What is recorded of a login that matches no account: a keyed HMAC-SHA256 of the text.

    Such text is often a password typed into the wrong field, and events are never deleted, so
    the text itself must not be stored. The digest still lets an auditor see that the same
    unknown login was tried many times, and check a suspected value (with the pepper), while the
    per-deployment secret key stops a dictionary attack on the log alone.
    """
    mac = hmac.new(pepper, typed.encode("utf-8", "surrogatepass"), hashlib.sha256)
    return LOGIN_DIGEST_PREFIX + mac.hexdigest()


class Logon(Aggregate):
    """One interactive log-on attempt."""

    if TYPE_CHECKING:
        login: str
        account_id: UUID | None
        outcome: Outcome
        reason: str
        source: str

    class Event(Aggregate.Event):
        """Base class of every event of a Logon."""

    @dataclass(frozen=True)
    class Attempted(Event, Aggregate.Created):
        """``login`` of the account, or :func:`login_digest` of the text typed when it matches no
        account (``account_id`` None then);
        ``reason`` a rule code ("password.wrong", "totp.replayed", "ok"...); ``source`` the
        client address or "cli"."""

        login: str
        account_id: UUID | None
        outcome: str
        reason: str
        source: str

        def apply(self, aggregate: Logon) -> None:
            aggregate.login = self.login
            aggregate.account_id = self.account_id
            aggregate.outcome = Outcome(self.outcome)
            aggregate.reason = self.reason
            aggregate.source = self.source

    @classmethod
    def attempt(
        cls,
        *,
        login: str,
        account_id: UUID | None,
        outcome: Outcome,
        reason: str,
        source: str,
        timestamp: datetime,
    ) -> Logon:
        return cls._create(
            cls.Attempted,
            id=uuid4(),
            login=clip(login, LOGIN_ECHO_MAX_LENGTH),
            account_id=account_id,
            outcome=outcome.value,
            reason=reason,
            source=clip(source, SOURCE_MAX_LENGTH),
            timestamp=timestamp,
        )


class AccessDenial(Aggregate):
    """One request refused with 403: who, which permission, which path, which rule."""

    if TYPE_CHECKING:
        account_id: UUID
        login: str
        permission: str
        path: str
        rule: str
        roles: list[str]

    class Event(Aggregate.Event):
        """Base class of every event of an AccessDenial."""

    @dataclass(frozen=True)
    class AccessDenied(Event, Aggregate.Created):
        """``roles`` are those the caller held when refused; ``rule`` is the refusal's code."""

        account_id: UUID
        login: str
        permission: str
        path: str
        rule: str
        roles: list[str]

        def apply(self, aggregate: AccessDenial) -> None:
            aggregate.account_id = self.account_id
            aggregate.login = self.login
            aggregate.permission = self.permission
            aggregate.path = self.path
            aggregate.rule = self.rule
            aggregate.roles = list(self.roles)

    @classmethod
    def record(
        cls,
        *,
        account_id: UUID,
        login: str,
        permission: str,
        path: str,
        rule: str,
        roles: list[str],
        timestamp: datetime,
    ) -> AccessDenial:
        return cls._create(
            cls.AccessDenied,
            id=uuid4(),
            account_id=account_id,
            login=login,
            permission=permission,
            path=clip(path, SOURCE_MAX_LENGTH),
            rule=rule,
            roles=sorted(roles),
            timestamp=timestamp,
        )


__all__ = ["LOGIN_DIGEST_PREFIX", "AccessDenial", "Logon", "Outcome", "clip", "login_digest"]
