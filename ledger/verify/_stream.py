"""Streaming verification of the log: entries in, leaf/chain hashes and Merkle frontier out.

Both the database verifier and the bundle verifier feed every entry through
:meth:`LogVerifier.append` (or its batch form :meth:`LogVerifier.extend`), so it is the auditor's
hot path. It therefore checks the canonical
v1 layout (see ``_entry.py``) with fixed-offset reads instead of building an ``Entry``: the tag,
the index, ``prev`` and both length fields must match exactly and the two text fields must be
UTF-8, which is precisely what ``decode_entry`` accepts. Only a rejected entry is fully decoded,
to say what is wrong with it.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable

from ._entry import ENTRY_TAG_V1, ZERO_HASH, EntryFormatError, decode_entry
from ._merkle import EMPTY_ROOT, VerificationError, node_hash

# Copying a primed hash object is measurably cheaper than hashing a freshly concatenated
# buffer, and these three hashes are almost all of the per-entry cost.
_EMPTY_SHA = hashlib.sha256()
_LEAF_SHA = hashlib.sha256(b"\x00")
_NODE_SHA = hashlib.sha256(b"\x01")
# tag, index, prev and the originator_id length, skipping the fields nobody checks here.
_unpack_head = struct.Struct(">8sQ16x32x32sH").unpack_from
_OID_OFFSET = 98  # first byte of originator_id
# What the fast checks raise on bytes too short to hold the fields, or on a non-bytes value.
_NOT_AN_ENTRY = (struct.error, IndexError, TypeError, AttributeError)
_TEXT_OVERHEAD = 100  # fixed part plus both u16 length fields


class LogVerifier:
    """Feed canonical entries in log order; checks index, prev-chain; maintains the Merkle frontier.

    ``size`` is the number of entries appended so far and ``chain`` the chain hash of the last
    one (``ZERO_HASH`` when empty). A rejected entry leaves the verifier unchanged.
    """

    __slots__ = ("size", "chain", "_frontier")

    def __init__(self) -> None:
        """Start an empty log."""
        self.size: int = 0
        self.chain: bytes = ZERO_HASH
        # Roots of the perfect subtrees covering the log so far, largest (leftmost) first:
        # one per 1-bit of `size`.
        self._frontier: list[bytes] = []

    def append(self, entry: bytes) -> tuple[bytes, bytes, list[bytes]]:
        """Verify and append the next entry; return ``(leaf_hash, chain_hash, completed)``.

        ``completed[l]`` is the hash of the perfect subtree at level ``l`` (level 0 = this
        leaf) that appending this leaf completed, for ``l = 0..t`` with ``t`` the number of
        trailing 1-bits of the leaf index: leaf 3 completes leaf 3, leaves 2..3 and leaves
        0..3; leaf 4 completes only itself. Raises :class:`VerificationError` with ``index``
        set if the bytes are not a canonical entry, its index is not ``self.size`` or its
        ``prev`` is not ``self.chain``.
        """
        index = self.size
        chain = self.chain
        try:
            tag, got_index, prev, oid_len = _unpack_head(entry)
            end = _TEXT_OVERHEAD + oid_len
            canonical = (
                got_index == index
                and prev == chain
                and tag == ENTRY_TAG_V1
                and len(entry) == end + ((entry[end - 2] << 8) | entry[end - 1])
                # Everything from originator_id on is text plus the topic length; when it is
                # all ASCII (the usual case) both texts are UTF-8 and one scan suffices.
                and (entry[_OID_OFFSET:].isascii() or _texts_are_utf8(entry, end))
            )
        except _NOT_AN_ENTRY:
            canonical = False
        if not canonical:
            raise _rejection(entry, index, chain)

        h = _LEAF_SHA.copy()
        h.update(entry)
        leaf = h.digest()
        h = _EMPTY_SHA.copy()
        h.update(chain)
        h.update(leaf)
        self.chain = chain = h.digest()
        self.size = index + 1
        if not index & 1:
            self._frontier.append(leaf)
            return leaf, chain, [leaf]
        frontier = self._frontier
        completed = [leaf]
        node = leaf
        while index & 1:
            h = _NODE_SHA.copy()
            h.update(frontier.pop())
            h.update(node)
            node = h.digest()
            completed.append(node)
            index >>= 1
        frontier.append(node)
        return leaf, chain, completed

    def extend(self, entries: Iterable[bytes]) -> None:
        """Append every entry of ``entries`` in order, like :meth:`append` without the result.

        The same checks as :meth:`append`, in one loop without per-entry method calls or
        result lists; for verifiers that only need the chain and the roots. On failure the
        entries before the bad one stay appended and the error names the bad one's index.
        """
        index = self.size
        chain = self.chain
        frontier = self._frontier
        unpack_head = _unpack_head
        tag_v1 = ENTRY_TAG_V1
        leaf_sha, empty_sha, node_sha = _LEAF_SHA, _EMPTY_SHA, _NODE_SHA
        try:
            for entry in entries:
                try:
                    tag, got_index, prev, oid_len = unpack_head(entry)
                    end = _TEXT_OVERHEAD + oid_len
                    canonical = (
                        got_index == index
                        and prev == chain
                        and tag == tag_v1
                        and len(entry) == end + ((entry[end - 2] << 8) | entry[end - 1])
                        and (entry[_OID_OFFSET:].isascii() or _texts_are_utf8(entry, end))
                    )
                except _NOT_AN_ENTRY:
                    canonical = False
                if not canonical:
                    raise _rejection(entry, index, chain)
                h = leaf_sha.copy()
                h.update(entry)
                node = h.digest()
                h = empty_sha.copy()
                h.update(chain)
                h.update(node)
                chain = h.digest()
                bits = index
                while bits & 1:
                    h = node_sha.copy()
                    h.update(frontier.pop())
                    h.update(node)
                    node = h.digest()
                    bits >>= 1
                frontier.append(node)
                index += 1
        finally:
            # Everything before the failing entry (if any) is verified and stays appended.
            self.size = index
            self.chain = chain

    def root(self) -> bytes:
        """RFC 6962 root of the entries appended so far (EMPTY_ROOT if none)."""
        frontier = self._frontier
        if not frontier:
            return EMPTY_ROOT
        root = frontier[-1]
        for left in reversed(frontier[:-1]):
            root = node_hash(left, root)
        return root

    @property
    def frontier(self) -> tuple[bytes, ...]:
        """Roots of the perfect subtrees that make up the tree, largest (leftmost) first."""
        return tuple(self._frontier)


def _texts_are_utf8(entry: bytes, end: int) -> bool:
    try:
        entry[_OID_OFFSET : end - 2].decode()
        entry[end:].decode()
    except UnicodeDecodeError:
        return False
    return True


def _rejection(entry: object, index: int, chain: bytes) -> VerificationError:
    # Slow path: say precisely why the fast checks refused this entry.
    if isinstance(entry, bytearray):
        entry = bytes(entry)
    if not isinstance(entry, bytes):
        return VerificationError(f"entry {index}: expected bytes, got {type(entry).__name__}", index=index)
    try:
        decoded = decode_entry(entry)
    except EntryFormatError as exc:
        return VerificationError(f"entry {index}: not a canonical entry: {exc}", index=index)
    if decoded.index != index:
        return VerificationError(f"entry at position {index} carries index {decoded.index}", index=index)
    if decoded.prev != chain:
        return VerificationError(
            f"entry {index}: prev {decoded.prev.hex()} is not the chain hash "
            f"{chain.hex()} of entries 0..{index - 1}",
            index=index,
            expected=decoded.prev,
            computed=chain,
        )
    return VerificationError(f"entry {index}: not a canonical entry", index=index)
