"""What every command mixin may rely on: the eventsourcing application, the clock, the policy."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from uuid import UUID

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.persistence import Mapper, Recording

if TYPE_CHECKING:
    from domain.policy import PolicyProfile
    from ledger.checkpoints import Checkpointer
    from ledger.keystore import KeyStore
    from ledger.sealing import SealingPolicy
    from ledger.store import LedgerStore
    from projections.store import ProjectionDB


def utcnow() -> datetime:
    return datetime.now(UTC)


class CommandsBase(Application[UUID]):
    """Shared state of the service. Set by ``AlprLedger.__init__``; mixins read, never rebind."""

    name = "AlprLedger"  # one application, one events table, one chain
    clock: Callable[[], datetime]
    policy: PolicyProfile
    ledger: LedgerStore  # set by the composition root
    checkpointer: Checkpointer  # set by the composition root
    keystore: KeyStore | None = None  # set before Application.__init__ (the mapper needs it)
    projection_db: ProjectionDB | None = None  # set by the composition root (search and report views)
    sealing_policy: SealingPolicy | None = None  # None: ledger.sealing.default_policy()

    def construct_mapper(self) -> Mapper[UUID]:
        """Events pass through the sealing mapper: personal fields are sealed before they are stored."""
        from ledger.sealing_mapper import SealingMapper

        return SealingMapper(self.construct_transcoder(), keystore=self.keystore, policy=self.sealing_policy)

    def _record(self, processing_event: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        """Create the data keys the events need (one key-store transaction), then store the events.

        The keys are committed first: an event must never be stored sealed under a key that was not.
        If the events then fail to store, the unused keys are destroyed with their day's KEK.
        """
        from domain.errors import ConflictError
        from ledger.keystore import KeyDestroyedError
        from ledger.sealing_mapper import MissingDataKeyError, SealingMapper
        from ops.keys import placement

        wanted = [p for p in map(placement, processing_event.events) if p is not None]
        mapper = self.mapper
        if not wanted or not isinstance(mapper, SealingMapper) or not mapper.policy.topics:
            return super()._record(processing_event)
        if self.keystore is None:
            raise MissingDataKeyError(
                "no key store is configured: records with personal fields cannot be saved"
            )
        try:
            keys = self.keystore.create_data_keys_under(wanted)
        except KeyDestroyedError as exc:  # a day shredded a moment ago, after the checks ran
            raise ConflictError(
                "record", "retention.key_destroyed", f"{exc}: the record falls in a period already shredded"
            ) from exc
        with mapper.staged_keys(keys):
            return super()._record(processing_event)
