"""Canonical, versioned encoding of one ledger entry (the bytes that become a Merkle leaf).

Layout of format v1 (all integers big-endian)::

    tag                 8 bytes   b"ALPRLE" 0x00 0x01   (name, format version 1)
    index               u64       0-based leaf index in the one global log
    originator_version  u64       version of the event within its aggregate
    recorded_us         i64       recorded time, microseconds since 1970-01-01 UTC
    state_sha256        32 bytes  SHA-256 of the stored state bytes (ciphertext where sealed)
    prev                32 bytes  chain hash of entry index-1 (32 zero bytes for index 0)
    originator_id       u16 length + UTF-8
    topic               u16 length + UTF-8

Exactly one byte string encodes a given entry, and decoding rejects anything else, so an
auditor who re-encodes what they decoded gets the same leaf.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

ENTRY_TAG_V1 = b"ALPRLE\x00\x01"
ZERO_HASH = bytes(32)
_FIXED = struct.Struct(">8sQQq32s32s")
_LEN = struct.Struct(">H")


class EntryFormatError(ValueError):
    """The bytes are not a canonical v1 ledger entry."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One decoded ledger entry; see the module docstring for what each field commits to."""

    index: int
    originator_id: str
    originator_version: int
    topic: str
    state_sha256: bytes
    recorded_us: int
    prev: bytes


def encode_entry(entry: Entry) -> bytes:
    """The canonical v1 bytes of ``entry`` (the Merkle leaf is ``SHA-256(0x00 || these)``)."""
    return pack_entry(
        entry.index,
        entry.originator_id.encode("utf-8"),
        entry.originator_version,
        entry.topic.encode("utf-8"),
        entry.state_sha256,
        entry.recorded_us,
        entry.prev,
    )


def pack_entry(
    index: int,
    originator_id: bytes,
    originator_version: int,
    topic: bytes,
    state_sha256: bytes,
    recorded_us: int,
    prev: bytes,
) -> bytes:
    """The one encoder, on already-encoded text fields (the ledger's hot path calls it directly)."""
    if len(state_sha256) != 32 or len(prev) != 32:
        raise EntryFormatError("state_sha256 and prev must be 32 bytes")
    if len(originator_id) > 0xFFFF or len(topic) > 0xFFFF:
        raise EntryFormatError("originator_id and topic must be at most 65535 bytes")
    return (
        _FIXED.pack(ENTRY_TAG_V1, index, originator_version, recorded_us, state_sha256, prev)
        + _LEN.pack(len(originator_id))
        + originator_id
        + _LEN.pack(len(topic))
        + topic
    )


def decode_entry(data: bytes) -> Entry:
    """Parse canonical v1 bytes; raises :class:`EntryFormatError` on anything else.

    >>> e = Entry(0, "id", 1, "topic", bytes(32), 0, ZERO_HASH)
    >>> decode_entry(encode_entry(e)) == e
    True
    """
    if len(data) < _FIXED.size + 2 * _LEN.size:
        raise EntryFormatError(f"entry too short ({len(data)} bytes)")
    tag, index, version, recorded_us, state_sha256, prev = _FIXED.unpack_from(data, 0)
    if tag != ENTRY_TAG_V1:
        raise EntryFormatError(f"unknown entry format tag {tag!r}")
    pos = _FIXED.size
    fields: list[str] = []
    for name in ("originator_id", "topic"):
        if pos + _LEN.size > len(data):
            raise EntryFormatError(f"entry truncated before {name}")
        (length,) = _LEN.unpack_from(data, pos)
        pos += _LEN.size
        raw = data[pos : pos + length]
        if len(raw) != length:
            raise EntryFormatError(f"entry truncated inside {name}")
        try:
            fields.append(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise EntryFormatError(f"{name} is not UTF-8") from exc
        pos += length
    if pos != len(data):
        raise EntryFormatError(f"{len(data) - pos} trailing bytes after entry")
    return Entry(
        index=index,
        originator_id=fields[0],
        originator_version=version,
        topic=fields[1],
        state_sha256=state_sha256,
        recorded_us=recorded_us,
        prev=prev,
    )


def chain_hash(prev_chain: bytes, leaf: bytes) -> bytes:
    """``c_i = SHA-256(c_{i-1} || leaf_hash_i)``; ``c_{-1}`` is 32 zero bytes."""
    return hashlib.sha256(prev_chain + leaf).digest()
