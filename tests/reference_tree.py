"""A deliberately naive RFC 6962 Merkle tree, written straight from RFC 9162 section 2.1.

Every function recomputes subtree hashes from the leaf hashes, exactly as the recursive
definitions read, so it shares no code or cleverness with the implementations it checks.
All functions take the list of leaf hashes ``leaves`` (``MTH({d(i)})`` = ``leaves[i]``).
"""

from __future__ import annotations

import hashlib


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    # "k is the largest power of two smaller than n (i.e., k < n <= 2k)"
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _mth(leaves: list[bytes], lo: int, hi: int) -> bytes:
    # MTH(D[lo:hi]); index bounds instead of slices only to avoid copying big lists.
    n = hi - lo
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[lo]
    k = _split(n)
    return _node(_mth(leaves, lo, lo + k), _mth(leaves, lo + k, hi))


def ref_root(leaves: list[bytes]) -> bytes:
    """MTH(D[n]) (RFC 9162 2.1.1); SHA-256 of the empty string for no leaves."""
    return _mth(leaves, 0, len(leaves))


def _path(m: int, leaves: list[bytes], lo: int, hi: int) -> list[bytes]:
    n = hi - lo
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return _path(m, leaves, lo, lo + k) + [_mth(leaves, lo + k, hi)]
    return _path(m - k, leaves, lo + k, hi) + [_mth(leaves, lo, lo + k)]


def ref_inclusion(index: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(index, D[n]) (RFC 9162 2.1.3.1), leaf-to-root order."""
    if not 0 <= index < len(leaves):
        raise ValueError(f"index {index} outside tree of size {len(leaves)}")
    return _path(index, leaves, 0, len(leaves))


def _subproof(m: int, leaves: list[bytes], lo: int, hi: int, b: bool) -> list[bytes]:
    n = hi - lo
    if m == n:
        return [] if b else [_mth(leaves, lo, hi)]
    k = _split(n)
    if m <= k:
        return _subproof(m, leaves, lo, lo + k, b) + [_mth(leaves, lo + k, hi)]
    return _subproof(m - k, leaves, lo + k, hi, False) + [_mth(leaves, lo, lo + k)]


def ref_consistency(m: int, leaves: list[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) = SUBPROOF(m, D[n], true) (RFC 9162 2.1.4.1) with n = len(leaves).

    RFC 9162 defines it for 0 < m < n; for m == n it is the empty list (SUBPROOF's first
    case) and for m == 0 we return the empty list too, the convention our verifier accepts.
    """
    n = len(leaves)
    if not 0 <= m <= n:
        raise ValueError(f"size {m} outside 0..{n}")
    if m == 0:
        return []
    return _subproof(m, leaves, 0, n, True)
