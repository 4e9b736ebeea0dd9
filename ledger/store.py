"""Reading the ledger: sizes, roots, proofs, entries and checkpoints, over any backend.

Backends implement the few primitive queries; roots and proofs are planned by ``ledger.tree`` so
each one reads O(log n) stored rows in one query.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from ledger import tree
from ledger.chain import Head, head_from_rows, head_rows
from ledger.verify._entry import ZERO_HASH

LEDGER_TABLE = "ledger_entries"
CHECKPOINT_TABLE = "ledger_checkpoints"


class LedgerRangeError(ValueError):
    """A requested index or size is outside the log. ``parameter`` names the offending input."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    size: int
    root: bytes
    note: str
    signed_at: datetime


@dataclass(frozen=True, slots=True)
class StoredEventRow:
    originator_id: str
    originator_version: int
    topic: str
    state: bytes


class LedgerStore(ABC):
    # -- primitives each backend implements -------------------------------------------------
    @abstractmethod
    def size(self) -> int: ...

    @abstractmethod
    def fetch_rows(self, indices: Sequence[int]) -> dict[int, tuple[bytes, bytes]]:
        """leaf index -> (chain, hashes) for the given indices."""

    @abstractmethod
    def entries(self, start: int, limit: int) -> list[tuple[int, bytes]]: ...

    @abstractmethod
    def iter_ledger(self, start: int = 0, batch: int = 5000) -> Iterator[tuple[int, bytes, bytes, bytes]]:
        """(index, entry, chain, hashes) in index order."""

    @abstractmethod
    def iter_events(self, batch: int = 5000) -> Iterator[StoredEventRow]:
        """Every stored event in the order the log recorded them."""

    @abstractmethod
    def add_checkpoint(self, checkpoint: StoredCheckpoint) -> None: ...

    @abstractmethod
    def checkpoints(self) -> list[StoredCheckpoint]: ...

    @abstractmethod
    def latest_checkpoint(self) -> StoredCheckpoint | None: ...

    @abstractmethod
    def checkpoint_at(self, size: int) -> StoredCheckpoint | None: ...

    # -- derived ------------------------------------------------------------------------------
    def head(self) -> Head:
        size = self.size()
        return head_from_rows(size, self.fetch_rows(head_rows(size)))

    def _resolve(self, ranges: Sequence[tree.Range]) -> list[bytes]:
        rows = self.fetch_rows(sorted(tree.rows_for(tree.nodes_for(ranges))))
        return [h for h in tree.resolve(ranges, {i: r[1] for i, r in rows.items()})]

    def _check_size(self, size: int, parameter: str) -> None:
        current = self.size()
        if not 0 <= size <= current:
            raise LedgerRangeError(parameter, f"{parameter} must be between 0 and {current}")

    def root_at(self, size: int) -> bytes:
        self._check_size(size, "size")
        if size == 0:
            return tree.EMPTY_ROOT
        return self._resolve([(0, size)])[0]

    def leaf_hash(self, index: int) -> bytes:
        rows = self.fetch_rows([index])
        if index not in rows:
            raise LedgerRangeError("index", f"no entry at index {index}")
        return rows[index][1][:32]

    def inclusion_proof(self, index: int, size: int) -> tuple[bytes, list[bytes]]:
        """(leaf hash, proof) for leaf ``index`` in the tree of ``size`` leaves."""
        self._check_size(size, "size")
        if not 0 <= index < size:
            raise LedgerRangeError("index", f"index must be between 0 and size-1 ({size - 1})")
        plan = tree.inclusion_plan(index, size)
        needed = tree.rows_for(tree.nodes_for(plan)) | {index}
        rows = self.fetch_rows(sorted(needed))
        hashes = {i: r[1] for i, r in rows.items()}
        return hashes[index][:32], tree.resolve(plan, hashes)

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        self._check_size(size2, "to")
        if not 0 <= size1 <= size2:
            raise LedgerRangeError("from", f"from must be between 0 and to ({size2})")
        return self._resolve(tree.consistency_plan(size1, size2))

    def chain_at(self, size: int) -> bytes:
        if size == 0:
            return ZERO_HASH
        return self.fetch_rows([size - 1])[size - 1][0]
