"""Turn stored events into ledger rows: canonical entry, chain hash and completed tree nodes.

Pure: the recorders read the head of the log under their write lock, call :func:`append`, and
write the rows it returns in the same transaction as the events.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from ledger.tree import frontier, node_from_row, node_row
from ledger.verify._entry import ZERO_HASH, pack_entry


class StoredEventLike(Protocol):
    @property
    def originator_id(self) -> UUID | str: ...
    @property
    def originator_version(self) -> int: ...
    @property
    def topic(self) -> str: ...
    @property
    def state(self) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Head:
    """What the next append builds on: size, last chain hash, and the frontier of perfect subtrees
    as ``(level, hash)`` pairs from the leftmost (largest) to the rightmost (smallest)."""

    size: int
    chain: bytes
    frontier: tuple[tuple[int, bytes], ...]


EMPTY_HEAD = Head(size=0, chain=ZERO_HASH, frontier=())

LedgerRow = tuple[int, bytes, bytes, bytes]  # (index, entry, chain, hashes)


def head_rows(size: int) -> list[int]:
    """Rows to read to rebuild the head of a log of ``size`` entries (the last is the chain's)."""
    rows = [node_row(n) for n in frontier(size)]
    return rows


def head_from_rows(size: int, rows: Mapping[int, tuple[bytes, bytes]]) -> Head:
    """``rows`` maps leaf index -> (chain, hashes) for at least :func:`head_rows`."""
    if size == 0:
        return EMPTY_HEAD
    nodes = frontier(size)
    front = tuple((level, node_from_row(rows[node_row((level, j))][1], level)) for level, j in nodes)
    return Head(size=size, chain=rows[size - 1][0], frontier=front)


def originator_text(originator_id: UUID | str) -> str:
    return str(originator_id)


def append(
    head: Head,
    stored_events: Sequence[StoredEventLike],
    recorded_us: int,
) -> tuple[list[LedgerRow], Head]:
    """Ledger rows for ``stored_events`` appended after ``head``, and the new head."""
    rows: list[LedgerRow] = []
    index = head.size
    chain = head.chain
    stack = list(head.frontier)
    sha256 = hashlib.sha256
    topics: dict[str, bytes] = {}
    for event in stored_events:
        topic = topics.get(event.topic)
        if topic is None:
            topic = topics[event.topic] = event.topic.encode("utf-8")
        entry = pack_entry(
            index,
            originator_text(event.originator_id).encode("utf-8"),
            event.originator_version,
            topic,
            sha256(event.state).digest(),
            recorded_us,
            chain,
        )
        node = sha256(b"\x00" + entry).digest()
        chain = sha256(chain + node).digest()
        if index & 1:
            completed = [node]
            level = 0
            while stack and stack[-1][0] == level:
                node = sha256(b"\x01" + stack.pop()[1] + node).digest()
                level += 1
                completed.append(node)
            stack.append((level, node))
            rows.append((index, entry, chain, b"".join(completed)))
        else:
            # An even index completes nothing above its own leaf.
            stack.append((0, node))
            rows.append((index, entry, chain, node))
        index += 1
    return rows, Head(size=index, chain=chain, frontier=tuple(stack))


Clock = Callable[[], int]
