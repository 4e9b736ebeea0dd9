"""What every command mixin may rely on: the eventsourcing application, the clock, the policy."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from uuid import UUID

from eventsourcing.application import Application

if TYPE_CHECKING:
    from domain.policy import PolicyProfile
    from ledger.checkpoints import Checkpointer
    from ledger.store import LedgerStore


def utcnow() -> datetime:
    return datetime.now(UTC)


class CommandsBase(Application[UUID]):
    """Shared state of the service. Set by ``AlprLedger.__init__``; mixins read, never rebind."""

    name = "AlprLedger"  # one application, one events table, one chain
    clock: Callable[[], datetime]
    policy: PolicyProfile
    ledger: LedgerStore  # set by the composition root
    checkpointer: Checkpointer  # set by the composition root
