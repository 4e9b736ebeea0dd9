"""How the API shows a shredded record: an explicit "purged" answer, never an error, never plaintext."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field


class PurgedOut(BaseModel):
    """This record's personal data was destroyed under retention (or by order); it is gone for good.

    Fields are null only when the key was destroyed but the purge is not yet in the log (the
    retention job records it on its next run)."""

    destroyed_at: datetime | None = Field(description="When the data key was destroyed")
    rule: str | None = Field(
        description="read_retention, query_log_retention, case_retention, court_order..."
    )
    clause: str | None = Field(description="The policy clause the rule comes from")
    profile: str | None = Field(description="The policy profile in force")
    due_at: datetime | None = Field(description="When the record fell due (null for an order to shred)")


def purged_out(app: Any, read_id: UUID) -> PurgedOut:
    """The purge that shredded ``read_id``, as the retention service records it."""
    lookup = getattr(app, "purge_info", None)
    info = None if lookup is None else lookup(read_id)
    if info is None:
        return PurgedOut(destroyed_at=None, rule=None, clause=None, profile=None, due_at=None)
    return PurgedOut(
        destroyed_at=info.destroyed_at,
        rule=info.rule,
        clause=info.clause,
        profile=info.profile,
        due_at=info.due_at,
    )


__all__ = ["PurgedOut", "purged_out"]
