"""The application service: the one door to the record.

Commands check their input and policy, build aggregates, and save them. Every save goes through the
chained recorder, so every stored event gets its ledger entry in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import Application

from domain.errors import InvalidFieldError
from domain.read import Read, RecordRead, validate_read

MAX_BATCH = 1000


class BatchRejectedError(ValueError):
    """A batch had invalid items; nothing of it was stored. ``errors`` holds one per bad item."""

    def __init__(self, errors: list[InvalidFieldError]) -> None:
        self.errors = errors
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"{first.field}: {first.message}{more}")


def _utcnow() -> datetime:
    return datetime.now(UTC)


class AlprLedger(Application[UUID]):
    """One application, one events table, one chain, for every aggregate."""

    name = "AlprLedger"

    def __init__(self, env: dict[str, str] | None = None, *, clock: Callable[[], datetime] = _utcnow) -> None:
        super().__init__(env=env)
        self.clock = clock

    def record_reads(self, batch: Sequence[RecordRead]) -> list[UUID]:
        """Validate and save a batch of reads atomically: all stored, or none and every error."""
        if not batch:
            return []
        if len(batch) > MAX_BATCH:
            raise BatchRejectedError(
                [InvalidFieldError("reads", "batch.size", f"at most {MAX_BATCH} reads per batch")]
            )
        now = self.clock()
        reads: list[Read] = []
        errors: list[InvalidFieldError] = []
        for position, command in enumerate(batch):
            try:
                reads.append(Read.capture(validate_read(command, now), timestamp=now))
            except InvalidFieldError as exc:
                errors.append(exc.within(f"reads[{position}]"))
        if errors:
            raise BatchRejectedError(errors)
        self.save(*reads)
        return [read.id for read in reads]

    def get_read(self, read_id: UUID) -> Any:
        return self.repository.get(read_id)
