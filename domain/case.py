"""The ``Case`` aggregate: an investigation that reads are attached to, driving case-linked retention.

A case is keyed by its number (``uuid5`` of a namespace and ``"case:" + number``), so opening the
same number twice collides on the event store's unique key instead of relying on a read-then-write
check. Case numbers are agency identifiers, not personal data; plates never reach an id.

Its classification must be one of the active profile's ``case_retention`` keys (the NYPD 2021
schedule), because retention is computed from the final classification once the case is closed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.errors import ConflictError, InvalidFieldError
from domain.policy import PolicyProfile

CASE_NAMESPACE = UUID("2b7c8e4a-91d3-5f6a-8c2e-7d4b1a9e3f50")
CASE_NUMBER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:#-]{0,63}$"
"""A case or incident number: 1-64 letters, digits and ``. _ : # -`` (no spaces or slashes, so it
can stand in a URL path). Compared case-insensitively: stored upper-case."""
TITLE_MAX_LENGTH = 200
MAX_ATTACH = 1000

_NUMBER = re.compile(CASE_NUMBER_PATTERN)
_CONTROL = re.compile("[\\x00-\\x1f\\x7f-\\x9f\\ud800-\\udfff]")


_DASHES = re.compile("[\u2010-\u2015\u2212\ufe58\ufe63\uff0d]")
_LABEL = re.compile(r"^case(?:\s+(?:no\.?|number))?(?::\s*|\s+#?\s*)", re.IGNORECASE)


def normalise_case_number(raw: str) -> str:
    """The comparable spelling of a case number, used by cases and searches alike so that one
    case cannot be named two ways (a closed case must be found however it is typed): drops
    invisible format characters (Unicode Cf, e.g. a zero-width space), folds dash variants to
    ``-``, collapses whitespace, drops a leading "Case"/"Case No." label, case-folds (upper).
    Does not validate: see :func:`parse_case_number`."""
    text = "".join(ch for ch in raw if unicodedata.category(ch) != "Cf")
    text = " ".join(_DASHES.sub("-", text).split())
    text = _LABEL.sub("", text)
    return text.casefold().upper()


def parse_case_number(raw: object, field: str = "number") -> str:
    number = normalise_case_number(raw) if isinstance(raw, str) else None
    if number is None or not _NUMBER.fullmatch(number):
        raise InvalidFieldError(
            field,
            "case.number.format",
            "must be 1 to 64 letters, digits and . _ : # - (starting with a letter or digit)",
        )
    return number


def case_number_or_none(raw: str | None) -> str | None:
    """The normalised number, or None when ``raw`` cannot be a Case number (free incident text)."""
    if raw is None:
        return None
    try:
        return parse_case_number(raw)
    except InvalidFieldError:
        return None


def case_id_for(number: str) -> UUID:
    """The id of the case with the (normalised) ``number``."""
    return uuid5(CASE_NAMESPACE, "case:" + number)


def parse_classification(raw: object, policy: PolicyProfile, field: str = "classification") -> str:
    """A classification of the profile's case-retention schedule."""
    if not isinstance(raw, str) or raw not in policy.case_retention:
        raise InvalidFieldError(
            field,
            "case.classification.unknown",
            f"must be a classification of the {policy.name} retention schedule: "
            + ", ".join(sorted(policy.case_retention)),
        )
    return raw


def parse_title(raw: object) -> str:
    if not isinstance(raw, str):
        raise InvalidFieldError("title", "case.title.type", "must be a string")
    if len(raw) > TITLE_MAX_LENGTH or _CONTROL.search(raw) or not raw.strip():
        raise InvalidFieldError(
            "title", "case.title.format", f"must be 1 to {TITLE_MAX_LENGTH} characters on one line"
        )
    return raw.strip()


class Case(Aggregate):
    """One case: opened, reads attached, closed. Snapshots are not used."""

    if TYPE_CHECKING:  # Declared for type checkers only.
        number: str
        classification: str
        title: str
        opened_by: str
        opened_at: datetime
        read_ids: list[UUID]
        closed: bool
        final_classification: str | None
        closed_by: str | None
        closed_at: datetime | None

    class Event(Aggregate.Event):
        """Base class of every event of a Case. ``by`` names who made the change."""

    @dataclass(frozen=True)
    class Opened(Event, Aggregate.Created):
        number: str
        classification: str
        title: str
        by: str

        def apply(self, aggregate: Case) -> None:
            aggregate.number = self.number
            aggregate.classification = self.classification
            aggregate.title = self.title
            aggregate.opened_by = self.by
            aggregate.opened_at = self.timestamp
            aggregate.read_ids = []
            aggregate.closed = False
            aggregate.final_classification = None
            aggregate.closed_by = None
            aggregate.closed_at = None

    @dataclass(frozen=True)
    class ReadsAttached(Event):
        read_ids: list[UUID]
        by: str

        def apply(self, aggregate: Case) -> None:
            aggregate.read_ids.extend(self.read_ids)

    @dataclass(frozen=True)
    class Closed(Event):
        final_classification: str
        by: str
        closed_at: datetime

        def apply(self, aggregate: Case) -> None:
            aggregate.closed = True
            aggregate.final_classification = self.final_classification
            aggregate.closed_by = self.by
            aggregate.closed_at = self.closed_at

    @classmethod
    def open(
        cls, *, number: str, classification: str, title: str, by: str, at: datetime | None = None
    ) -> Case:
        return cls._create(
            cls.Opened,
            id=case_id_for(number),
            timestamp=at,
            number=number,
            classification=classification,
            title=title,
            by=by,
        )

    def _refuse_if_closed(self) -> None:
        if self.closed:
            raise ConflictError("number", "case.closed", f"case {self.number} is closed")

    def attach(self, read_ids: Iterable[UUID], *, by: str, at: datetime | None = None) -> list[UUID]:
        """Attach the reads not attached yet; returns them (no event when there are none)."""
        self._refuse_if_closed()
        present = set(self.read_ids)
        new = [r for r in dict.fromkeys(read_ids) if r not in present]
        if new:
            self.trigger_event(self.ReadsAttached, timestamp=at, read_ids=new, by=by)
        return new

    def close(self, final_classification: str, *, by: str, at: datetime) -> None:
        self._refuse_if_closed()
        self.trigger_event(
            self.Closed, timestamp=at, final_classification=final_classification, by=by, closed_at=at
        )


CASE_EVENT_CLASSES = (Case.Opened, Case.ReadsAttached, Case.Closed)

__all__ = [
    "CASE_EVENT_CLASSES",
    "CASE_NUMBER_PATTERN",
    "Case",
    "case_id_for",
    "case_number_or_none",
    "normalise_case_number",
    "parse_case_number",
    "parse_classification",
    "parse_title",
]
