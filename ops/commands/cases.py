"""Cases: open with a classification of the profile's retention schedule, attach reads, close.

Case-linked retention (a later issue) reads the final classification of closed cases. A closed
case takes no more reads, and no new search may be run under its number (see searches.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from domain.case import (
    MAX_ATTACH,
    Case,
    case_id_for,
    parse_case_number,
    parse_classification,
    parse_title,
)
from domain.copying import copied_record
from domain.errors import ConflictError, InvalidFieldError, NotFoundError
from domain.read import Read
from ops.commands.base import CommandsBase
from ops.commands.hotlists import Actor, actor_fields

_READ_CAPTURED = get_topic(Read.Captured)


@dataclass(frozen=True, slots=True)
class CaseView:
    case_id: UUID
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

    @classmethod
    def of(cls, case: Case) -> CaseView:
        return copied_record(cls, case, case_id=case.id, read_ids=list(case.read_ids))


class CaseCommands(CommandsBase):
    def open_case(self, number: str, classification: str, title: str, *, actor: Actor) -> CaseView:
        """Open a case; its number is unique (409 ``case.exists`` for a second one)."""
        case = Case.open(
            number=parse_case_number(number),
            classification=parse_classification(classification, self.policy),
            title=parse_title(title),
            by=actor_fields(actor)[0],
            at=self.clock(),
        )
        try:
            self.save(case)
        except IntegrityError:
            raise ConflictError("number", "case.exists", f"case {case.number} is already open") from None
        return CaseView.of(case)

    def attach_reads(self, number: str, read_ids: Iterable[UUID | str], *, actor: Actor) -> CaseView:
        """Attach stored reads to an open case (unknown read ids refuse the whole request, 422; purged
        ones too, 409). The reads are then kept under the case's key, past their day."""
        case = self._case(number)
        ids = list(read_ids)
        if not ids or len(ids) > MAX_ATTACH:
            raise InvalidFieldError(
                "read_ids", "case.read_ids.length", f"must list 1 to {MAX_ATTACH} read ids"
            )
        parsed: list[UUID] = []
        for i, raw in enumerate(ids):
            try:
                read_id = raw if isinstance(raw, UUID) else UUID(str(raw))
            except ValueError:
                raise InvalidFieldError(f"read_ids[{i}]", "read_id.format", "must be a UUID") from None
            if not self._is_read(read_id):
                raise InvalidFieldError(f"read_ids[{i}]", "case.read.unknown", "no stored read has this id")
            parsed.append(read_id)
        alive = None if self.keystore is None else self.keystore.data_keys(parsed)
        for i, read_id in enumerate(parsed):
            if alive is not None and read_id not in alive:
                raise ConflictError(
                    f"read_ids[{i}]", "case.read.purged", "this read is purged (its data key is destroyed)"
                )
        case.attach(parsed, by=actor_fields(actor)[0], at=self.clock())
        self._save_case(case)
        self._keep_under_case(case.id, parsed)
        return CaseView.of(case)

    def _keep_under_case(self, case_id: UUID, read_ids: Iterable[UUID]) -> None:
        """Move attached reads still under their day's key under the case's key, so that the day's
        purge passes them by (case-linked retention). After the save: if this is interrupted, the
        retention run moves them before it destroys their day. Reads under a hold's or another
        case's key stay there (the run moves them when that key falls due)."""
        from ledger.keystore import KeyStoreError
        from ops.keys import READS, case_kek

        if self.keystore is None:
            return
        for read_id in dict.fromkeys(read_ids):
            current = self.keystore.kek_of(read_id)
            if current is not None and current.startswith(READS + ":"):
                try:
                    self.keystore.rekey(read_id, case_kek(case_id))
                except KeyStoreError:
                    pass  # its day was purged a moment ago: nothing left to keep

    def close_case(self, number: str, final_classification: str, *, actor: Actor) -> CaseView:
        """Close a case with its final classification (which sets its retention)."""
        case = self._case(number)
        final = parse_classification(final_classification, self.policy, field="final_classification")
        case.close(final, by=actor_fields(actor)[0], at=self.clock())
        self._save_case(case)
        return CaseView.of(case)

    def get_case(self, case_id: UUID) -> CaseView:
        return CaseView.of(self._load_case(case_id))

    def find_case(self, number: str) -> CaseView:
        return CaseView.of(self._case(number))

    # ---- internals ---------------------------------------------------------------------------

    def _case(self, number: str) -> Case:
        try:
            normalised = parse_case_number(number)
        except InvalidFieldError:
            raise NotFoundError("number", "case.unknown", "no case has this number") from None
        return self._load_case(case_id_for(normalised))

    def _load_case(self, case_id: UUID) -> Case:
        found: object
        try:
            found = self.repository.get(case_id)
        except AggregateNotFoundError:
            found = None
        if not isinstance(found, Case):
            raise NotFoundError("number", "case.unknown", "no case has this number")
        return found

    def _save_case(self, case: Case) -> None:
        try:
            self.save(case)
        except IntegrityError:
            raise ConflictError(
                "number", "case.concurrent_change", "the case changed meanwhile; retry"
            ) from None

    def _is_read(self, read_id: UUID) -> bool:
        events = self.recorder.select_events(read_id, limit=1)
        return bool(events) and events[0].topic == _READ_CAPTURED


__all__ = ["CaseCommands", "CaseView"]
