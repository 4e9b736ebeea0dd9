"""RFC 6962 / RFC 9162 section 2.1 Merkle tree hashing and proof verification.

Pure functions over 32-byte SHA-256 hashes. The proof verifiers follow the algorithms of
RFC 9162 sections 2.1.3.2 and 2.1.4.2 in the bit-decomposition form used by
transparency-dev/merkle (``proof/verify.go``): the expected proof length is computed from the
index and sizes first, so a proof that is too short or too long is rejected before any hashing
and the error can say which length was expected.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


class VerificationError(Exception):
    """A verification failed; the attributes keep the evidence.

    Every failure in :mod:`ledger.verify` raises this one type (it lives in this module only
    because this is the lowest layer of the package). Attributes that do not apply are ``None``:

    * ``index`` -- the leaf / entry index the failure is about
    * ``size`` -- the tree size involved (the newer size for consistency proofs)
    * ``old_size`` -- the older size of a consistency proof
    * ``expected`` -- the trusted value the check compared against (a root, a chain hash)
    * ``computed`` -- the value recomputed from the evidence
    * ``checkpoint`` -- the name of the checkpoint (file) at fault
    """

    def __init__(
        self,
        message: str,
        *,
        index: int | None = None,
        size: int | None = None,
        old_size: int | None = None,
        expected: bytes | None = None,
        computed: bytes | None = None,
        checkpoint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.index = index
        self.size = size
        self.old_size = old_size
        self.expected = expected
        self.computed = computed
        self.checkpoint = checkpoint

    @property
    def root(self) -> bytes | None:
        """The root the failed check was made against (alias of ``expected``)."""
        return self.expected


def leaf_hash(entry: bytes) -> bytes:
    """Return the RFC 6962 leaf hash ``SHA-256(0x00 || entry)``."""
    return hashlib.sha256(_LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 6962 interior node hash ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` leaves with ``root``.

    Implements RFC 9162 section 2.1.3.2. Returns ``None`` on success and raises
    :class:`VerificationError` (with ``index``, ``size``, ``expected`` = ``root`` and
    ``computed``) on any failure, including a malformed proof.
    """
    _check_size(size, "size")
    _check_size(index, "index")
    if index >= size:
        raise VerificationError(f"leaf index {index} is not below tree size {size}", index=index, size=size)
    leaf = _hash_arg(leaf_hash, "leaf hash", index=index, size=size)
    want = _hash_arg(root, "root", index=index, size=size)
    path = _proof_arg(proof, index=index, size=size)

    inner, border = _decompose(index, size)
    if len(path) != inner + border:
        raise VerificationError(
            f"inclusion proof for leaf {index} in tree size {size} has {len(path)} "
            f"hashes, expected {inner + border}",
            index=index,
            size=size,
        )
    got = _chain_border_right(_chain_inner(leaf, path[:inner], index), path[inner:])
    if got != want:
        raise VerificationError(
            f"inclusion proof for leaf {index} in tree size {size} gives root {got.hex()}, "
            f"expected {want.hex()}",
            index=index,
            size=size,
            expected=want,
            computed=got,
        )


def verify_consistency(size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes) -> None:
    """Check that the tree of ``size2`` leaves with ``root2`` extends the one of ``size1``.

    Implements RFC 9162 section 2.1.4.2 for ``0 < size1 < size2``. The edge cases, which
    RFC 9162 leaves undefined (it defines proofs only for ``0 < m < n``), follow
    transparency-dev/merkle:

    * ``size1 == size2``: the proof must be empty and ``root1 == root2``.
    * ``size1 == 0``: the proof must be empty; every tree extends the empty tree. Unlike
      transparency-dev (which ignores ``root1`` here) we also require ``root1`` to be
      ``SHA-256("")``, the only root an empty RFC 6962 tree has, so a bogus claim about the
      old tree is not waved through.
    * ``size1 > size2`` is an error.

    Returns ``None`` on success; raises :class:`VerificationError` (with ``old_size``,
    ``size``, ``expected`` and ``computed`` where applicable) otherwise.
    """
    _check_size(size1, "size1")
    _check_size(size2, "size2")
    old = _hash_arg(root1, "root1", old_size=size1, size=size2)
    new = _hash_arg(root2, "root2", old_size=size1, size=size2)
    path = _proof_arg(proof, old_size=size1, size=size2)
    if size1 > size2:
        raise VerificationError(f"tree size went backwards: {size1} > {size2}", old_size=size1, size=size2)
    if size1 == size2 or size1 == 0:
        if path:
            raise VerificationError(
                f"consistency proof from size {size1} to {size2} must be empty, got {len(path)} hashes",
                old_size=size1,
                size=size2,
            )
        if size1 == 0 and old != EMPTY_ROOT:
            raise VerificationError(
                f"root of the empty tree is {EMPTY_ROOT.hex()}, not {old.hex()}",
                expected=old,
                computed=EMPTY_ROOT,
                old_size=size1,
                size=size2,
            )
        if size1 == size2 and old != new:
            raise VerificationError(
                f"two roots for tree size {size1}: {old.hex()} and {new.hex()}",
                expected=new,
                computed=old,
                old_size=size1,
                size=size2,
            )
        return

    # The proof is a suffix of the inclusion proof of leaf size1-1 in the size2 tree, minus
    # the levels below the largest perfect subtree that leaf ends (those hash into the seed).
    inner, border = _decompose(size1 - 1, size2)
    shift = _trailing_zeros(size1)
    inner -= shift
    if size1 == 1 << shift:
        # The old tree is itself a perfect subtree of the new one: its root is the seed.
        seed, start = old, 0
    else:
        seed, start = (path[0] if path else b""), 1
    if len(path) != start + inner + border:
        raise VerificationError(
            f"consistency proof from size {size1} to {size2} has {len(path)} hashes, "
            f"expected {start + inner + border}",
            old_size=size1,
            size=size2,
        )
    rest = path[start:]
    mask = (size1 - 1) >> shift

    got1 = _chain_border_right(_chain_inner_right(seed, rest[:inner], mask), rest[inner:])
    if got1 != old:
        raise VerificationError(
            f"consistency proof from size {size1} to {size2} gives old root {got1.hex()}, "
            f"expected {old.hex()}",
            expected=old,
            computed=got1,
            old_size=size1,
            size=size2,
        )
    got2 = _chain_border_right(_chain_inner(seed, rest[:inner], mask), rest[inner:])
    if got2 != new:
        raise VerificationError(
            f"consistency proof from size {size1} to {size2} gives new root {got2.hex()}, "
            f"expected {new.hex()}",
            expected=new,
            computed=got2,
            old_size=size1,
            size=size2,
        )


def _decompose(index: int, size: int) -> tuple[int, int]:
    # Split the inclusion path of `index` where it diverges from the path of leaf size-1:
    # below that point siblings sit on either side ("inner"), above it every sibling is a
    # left subtree on the right border ("border").
    inner = (index ^ (size - 1)).bit_length()
    border = (index >> inner).bit_count()
    return inner, border


def _trailing_zeros(n: int) -> int:
    return (n & -n).bit_length() - 1


def _chain_inner(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    sha = hashlib.sha256
    for level, sibling in enumerate(proof):
        if (index >> level) & 1:
            seed = sha(_NODE_PREFIX + sibling + seed).digest()
        else:
            seed = sha(_NODE_PREFIX + seed + sibling).digest()
    return seed


def _chain_inner_right(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    # Only left siblings existed in the older tree; right ones were appended later.
    sha = hashlib.sha256
    for level, sibling in enumerate(proof):
        if (index >> level) & 1:
            seed = sha(_NODE_PREFIX + sibling + seed).digest()
    return seed


def _chain_border_right(seed: bytes, proof: Sequence[bytes]) -> bytes:
    sha = hashlib.sha256
    for sibling in proof:
        seed = sha(_NODE_PREFIX + sibling + seed).digest()
    return seed


def _check_size(value: object, what: str) -> None:
    # bool is an int subclass; True as a tree size is always a caller bug.
    if not isinstance(value, int) or isinstance(value, bool):
        raise VerificationError(f"{what} must be an integer, got {type(value).__name__}")
    if value < 0:
        raise VerificationError(f"{what} must not be negative, got {value}")


def _hash_arg(
    value: object,
    what: str,
    *,
    index: int | None = None,
    size: int | None = None,
    old_size: int | None = None,
) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        if len(raw) == HASH_SIZE:
            return raw
        problem = f"{len(raw)} bytes"
    else:
        problem = type(value).__name__
    raise VerificationError(
        f"{what} must be {HASH_SIZE} bytes, got {problem}",
        index=index,
        size=size,
        old_size=old_size,
    )


def _proof_arg(
    proof: object,
    *,
    index: int | None = None,
    size: int | None = None,
    old_size: int | None = None,
) -> list[bytes]:
    if isinstance(proof, bytes | bytearray | memoryview | str) or not isinstance(proof, Sequence):
        raise VerificationError(
            "proof must be a sequence of 32-byte hashes",
            index=index,
            size=size,
            old_size=old_size,
        )
    return [
        _hash_arg(p, f"proof hash {i}", index=index, size=size, old_size=old_size)
        for i, p in enumerate(proof)
    ]
