"""Bearer tokens, stored only as SHA-256 hashes.

A :class:`Token`'s id is ``uuid5(namespace, "token:" + sha256hex(raw token))``, so the service
finds the token a request presents with one repository get, and the database never holds a
token that could be replayed. Tokens carry 256 bits of randomness, so an unsalted fast hash is
enough (unlike passwords, they cannot be guessed from a dictionary).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.account import ACCOUNT_NAMESPACE

TOKEN_PREFIX = "alpr_"
"""Marks our tokens so secret scanners and people recognise a leaked one."""


class TokenKind(StrEnum):
    INTERACTIVE = "interactive"  # from a password + TOTP log-on; expires after the token TTL
    DEVICE = "device"  # for a camera or pipeline; valid until revoked


def hash_token(raw: str) -> str:
    """SHA-256 hex of the token as presented."""
    # surrogatepass: a JSON body can carry a lone surrogate; it must hash, not crash
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def token_id_for(raw: str) -> UUID:
    """The id of the :class:`Token` aggregate for the token ``raw`` as presented."""
    return uuid5(ACCOUNT_NAMESPACE, "token:" + hash_token(raw))


class Token(Aggregate):
    """One issued bearer token: whose, which kind, until when, and whether it was revoked."""

    if TYPE_CHECKING:
        account_id: UUID
        kind: TokenKind
        expires_at: datetime | None
        revoked: bool

    class Event(Aggregate.Event):
        """Base class of every event of a Token."""

    @dataclass(frozen=True)
    class Issued(Event, Aggregate.Created):
        """A token was issued to ``account_id`` by ``actor``; ``expires_at`` None = until revoked."""

        account_id: UUID
        kind: str
        expires_at: datetime | None
        actor: str

        def apply(self, aggregate: Token) -> None:
            aggregate.account_id = self.account_id
            aggregate.kind = TokenKind(self.kind)
            aggregate.expires_at = self.expires_at
            aggregate.revoked = False

    @dataclass(frozen=True)
    class Revoked(Event):
        actor: str
        reason: str | None

        def apply(self, aggregate: Token) -> None:
            aggregate.revoked = True

    @classmethod
    def issue(
        cls,
        raw: str,
        *,
        account_id: UUID,
        kind: TokenKind,
        expires_at: datetime | None,
        actor: str,
        timestamp: datetime,
    ) -> Token:
        return cls._create(
            cls.Issued,
            id=token_id_for(raw),
            account_id=account_id,
            kind=kind.value,
            expires_at=expires_at,
            actor=actor,
            timestamp=timestamp,
        )

    def revoke(self, *, actor: str, reason: str | None = None, at: datetime | None = None) -> bool:
        """Revoke the token; False (and no event) when it already was."""
        if self.revoked:
            return False
        self.trigger_event(self.Revoked, actor=actor, reason=reason, timestamp=at)
        return True

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at


__all__ = ["TOKEN_PREFIX", "Token", "TokenKind", "hash_token", "token_id_for"]
