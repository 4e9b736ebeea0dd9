"""The application service: the one door to the record.

Commands check their input and the active policy, build aggregates, and save them. Every save goes
through the chained recorder, so every stored event gets its ledger entry in the same transaction.
One application class carries every aggregate (one events table, one chain); its commands live in
``ops/commands/``, one module per aggregate.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from domain.policy import PolicyProfile
from ledger.blobs import BlobStore
from ledger.keystore import KeyStore
from ledger.sealing import SealingPolicy
from ops.commands.accounts import AccountCommands
from ops.commands.base import utcnow
from ops.commands.cases import CaseCommands
from ops.commands.disclosures import DisclosureCommands
from ops.commands.reads import MAX_BATCH, BatchRejectedError, ReadCommands
from ops.commands.reports import ReportCommands
from ops.commands.retention import RetentionCommands
from ops.commands.searches import SearchCommands

__all__ = ["AlprLedger", "BatchRejectedError", "MAX_BATCH"]


class AlprLedger(
    ReadCommands,
    AccountCommands,
    SearchCommands,
    DisclosureCommands,
    CaseCommands,
    RetentionCommands,
    ReportCommands,
):
    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
        policy: PolicyProfile | None = None,
        blobs: BlobStore | None = None,
        token_ttl: timedelta | None = None,
        keystore: KeyStore | None = None,
        sealing_policy: SealingPolicy | None = None,
    ) -> None:
        # Before Application.__init__, which builds the (sealing) mapper. Without a key store the
        # application stores and reads only events without personal fields (the migrate step).
        self.keystore = keystore
        self.sealing_policy = sealing_policy
        super().__init__(env=env)
        self.clock = clock
        if blobs is not None:
            self.blobs = blobs
        if token_ttl is not None:
            self.token_ttl = token_ttl
        if policy is None:
            from domain.profiles import DEFAULT_PROFILE, get_profile

            policy = get_profile(DEFAULT_PROFILE)
        self.policy = policy
