"""Loading an aggregate of one kind by id, shared by the command mixins."""

from __future__ import annotations

from typing import TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Repository
from eventsourcing.domain import Aggregate

A = TypeVar("A", bound=Aggregate)


def find_aggregate(repository: Repository[UUID], aggregate_id: UUID, kind: type[A]) -> A | None:
    """The aggregate with ``aggregate_id`` if it exists and is a ``kind``, else None: the id of
    another kind of record is "not found" too, so callers raise their own NotFoundError (or
    AuthenticationError) and never leak what the id belongs to."""
    try:
        found: object = repository.get(aggregate_id)
    except AggregateNotFoundError:
        return None
    return found if isinstance(found, kind) else None
