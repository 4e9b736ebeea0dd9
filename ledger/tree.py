"""RFC 6962 / RFC 9162 §2 tree shapes over stored perfect-subtree nodes.

Storage keeps, for every leaf index ``i``, the hashes of the perfect subtrees that appending leaf
``i`` completed: level 0 (the leaf itself) up to level ``t`` (``t`` = trailing 1-bits of ``i``).
So node ``(level, j)`` — the perfect subtree over leaves ``[j * 2**level, (j + 1) * 2**level)`` —
lives in row ``(j + 1) * 2**level - 1`` at byte offset ``32 * level``. Every root, inclusion proof
and consistency proof below is planned as a list of ranges, each range the fold of its
O(log n) aligned perfect subtrees, so a proof touches O(log n) stored nodes and never rehashes
leaves.

These functions are pure: callers fetch the planned nodes in one query and fold them here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence

Node = tuple[int, int]  # (level, index at that level)
Range = tuple[int, int]  # [start, end) of leaf indices

EMPTY_ROOT = hashlib.sha256(b"").digest()


def node_row(node: Node) -> int:
    """The ledger row (leaf index) that stores ``node``."""
    level, index = node
    return ((index + 1) << level) - 1


def node_from_row(hashes: bytes, level: int) -> bytes:
    return hashes[32 * level : 32 * level + 32]


def _largest_power_of_two_below(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


def decompose(start: int, end: int) -> list[Node]:
    """The aligned perfect subtrees whose fold is MTH(D[start:end]), left to right.

    Valid for the ranges RFC 6962 recursion produces: ``start`` is a multiple of the smallest
    power of two >= ``end - start``.
    """
    nodes: list[Node] = []
    size = end - start
    pos = start
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            nodes.append((level, pos >> level))
            pos += 1 << level
    return nodes


def frontier(size: int) -> list[Node]:
    """The perfect subtrees of a tree of ``size`` leaves (what the next append builds on)."""
    return decompose(0, size)


def fold(hashes: Sequence[bytes]) -> bytes:
    """Combine the ordered perfect-subtree hashes of one range into that range's hash."""
    acc = hashes[-1]
    for left in reversed(hashes[:-1]):
        acc = hashlib.sha256(b"\x01" + left + acc).digest()
    return acc


def inclusion_plan(index: int, size: int) -> list[Range]:
    """Ranges whose hashes, in order, form PATH(index, D[0:size]) (RFC 9162 §2.1.3.1)."""
    if not 0 <= index < size:
        raise ValueError(f"index {index} is outside a tree of size {size}")
    plan: list[Range] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _largest_power_of_two_below(hi - lo)
        if index - lo < k:
            plan.append((lo + k, hi))
            hi = lo + k
        else:
            plan.append((lo, lo + k))
            lo = lo + k
    plan.reverse()  # the recursion emits the deepest sibling first
    return plan


def consistency_plan(size1: int, size2: int) -> list[Range]:
    """Ranges whose hashes, in order, form PROOF(size1, D[0:size2]) (RFC 9162 §2.1.4.1)."""
    if not 0 <= size1 <= size2:
        raise ValueError(f"sizes must satisfy 0 <= from <= to, got {size1} and {size2}")
    if size1 == 0 or size1 == size2:
        return []
    plan: list[Range] = []
    lo, hi, m, complete = 0, size2, size1, True
    while m != hi - lo:
        k = _largest_power_of_two_below(hi - lo)
        if m <= k:
            plan.append((lo + k, hi))
            hi = lo + k
        else:
            plan.append((lo, lo + k))
            m -= k
            lo = lo + k
            complete = False
    if not complete:
        plan.append((lo, hi))
    plan.reverse()
    return plan


def nodes_for(ranges: Iterable[Range]) -> set[Node]:
    needed: set[Node] = set()
    for start, end in ranges:
        needed.update(decompose(start, end))
    return needed


def rows_for(nodes: Iterable[Node]) -> set[int]:
    return {node_row(n) for n in nodes}


def resolve(ranges: Sequence[Range], rows: Mapping[int, bytes]) -> list[bytes]:
    """Hash each range from fetched rows (``rows`` maps leaf index -> stored ``hashes`` blob)."""
    out: list[bytes] = []
    for start, end in ranges:
        out.append(fold([node_from_row(rows[node_row(n)], n[0]) for n in decompose(start, end)]))
    return out
