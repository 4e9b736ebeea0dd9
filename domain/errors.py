"""Errors a caller can cause with bad input to the domain."""

from __future__ import annotations


class InvalidFieldError(ValueError):
    """A field of an input failed one validation rule.

    ``field`` is the dotted path of the offending field ("plate", "vehicle.make"); a caller that
    nests the input elsewhere prefixes it with :meth:`within` ("reads[3].plate"). ``rule`` is a
    short stable machine code ("plate.charset") that clients may switch on; ``message`` is
    written for the integrator who has to fix the input.
    """

    __slots__ = ("field", "rule", "message")

    def __init__(self, field: str, rule: str, message: str) -> None:
        super().__init__(f"{field}: {message} [{rule}]")
        self.field = field
        self.rule = rule
        self.message = message

    def within(self, parent: str) -> InvalidFieldError:
        """The same error with its field under ``parent`` ("plate" -> "reads[3].plate")."""
        return InvalidFieldError(f"{parent}.{self.field}", self.rule, self.message)

    def renamed(self, field: str) -> InvalidFieldError:
        """The same error reported against ``field`` (a value object used under another name)."""
        return InvalidFieldError(field, self.rule, self.message)

    def __reduce__(self) -> tuple[type[InvalidFieldError], tuple[str, str, str]]:
        # Keeps the error picklable (process pools, multiprocessing) despite the custom __init__.
        return (type(self), (self.field, self.rule, self.message))

    def __repr__(self) -> str:
        return f"InvalidFieldError(field={self.field!r}, rule={self.rule!r}, message={self.message!r})"
