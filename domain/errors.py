"""Errors a caller can cause. Each names the field and a stable rule code; the API maps each
class to one HTTP status in ``api/errors.py`` (the domain knows nothing of HTTP)."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every user-caused error: ``field`` (dotted path or "request"), ``rule`` (stable
    machine code such as "search.purpose.prohibited"), ``message`` (for the person who must act)."""

    def __init__(self, field: str, rule: str, message: str) -> None:
        super().__init__(f"{field}: {message} [{rule}]")
        self.field = field
        self.rule = rule
        self.message = message

    def __reduce__(self) -> tuple[type[DomainError], tuple[str, str, str]]:
        return (type(self), (self.field, self.rule, self.message))


class NotFoundError(DomainError):
    """The named thing does not exist (or is not visible to the caller)."""


class ConflictError(DomainError):
    """The request contradicts the current state (already exists, already dispositioned...)."""


class AuthenticationError(DomainError):
    """No valid credentials: missing, wrong, expired or revoked."""


class AccessDeniedError(DomainError):
    """Authenticated, but the role, training or policy does not allow this."""


class PolicyRefusedError(DomainError):
    """The active policy profile forbids this (prohibited purpose, missing case number...)."""


class InvalidFieldError(DomainError, ValueError):
    """A field of an input failed one validation rule.

    ``field`` is the dotted path of the offending field ("plate", "vehicle.make"); a caller that
    nests the input elsewhere prefixes it with :meth:`within` ("reads[3].plate"). ``rule`` is a
    short stable machine code ("plate.charset") that clients may switch on; ``message`` is
    written for the integrator who has to fix the input.
    """

    def within(self, parent: str) -> InvalidFieldError:
        """The same error with its field under ``parent`` ("plate" -> "reads[3].plate")."""
        return InvalidFieldError(f"{parent}.{self.field}", self.rule, self.message)

    def renamed(self, field: str) -> InvalidFieldError:
        """The same error reported against ``field`` (a value object used under another name)."""
        return InvalidFieldError(field, self.rule, self.message)

    def __repr__(self) -> str:
        return f"InvalidFieldError(field={self.field!r}, rule={self.rule!r}, message={self.message!r})"
