"""The streaming core (ledger.verify._stream.LogVerifier): roots, completed nodes, chain, and
rejection of every entry that is not the canonical next one."""

from __future__ import annotations

import hashlib
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.verify import VerificationError, leaf_hash
from ledger.verify._entry import (
    ZERO_HASH,
    Entry,
    EntryFormatError,
    chain_hash,
    decode_entry,
    encode_entry,
)
from ledger.verify._merkle import EMPTY_ROOT
from ledger.verify._stream import LogVerifier
from tests.reference_tree import ref_root


def make_entry(index: int, prev: bytes, *, topic: str = "domain.read:Read.Captured") -> bytes:
    return encode_entry(
        Entry(
            index=index,
            originator_id=f"6f1c{index:032x}",
            originator_version=index % 5 + 1,
            topic=topic,
            state_sha256=hashlib.sha256(index.to_bytes(8, "big")).digest(),
            recorded_us=1_700_000_000_000_000 + index,
            prev=prev,
        )
    )


def make_log(n: int) -> list[bytes]:
    """``n`` canonical, correctly chained entries."""
    entries: list[bytes] = []
    chain = ZERO_HASH
    for index in range(n):
        entry = make_entry(index, chain)
        chain = chain_hash(chain, leaf_hash(entry))
        entries.append(entry)
    return entries


LOG = make_log(300)
LEAVES = [leaf_hash(e) for e in LOG]


def rejection(verifier: LogVerifier, entry: object) -> VerificationError:
    size, chain, root = verifier.size, verifier.chain, verifier.root()
    with pytest.raises(VerificationError) as err:
        verifier.append(entry)  # type: ignore[arg-type]
    assert (verifier.size, verifier.chain, verifier.root()) == (size, chain, root)
    return err.value


def test_root_equals_reference_root_when_log_has_each_size_up_to_300() -> None:
    verifier = LogVerifier()
    assert verifier.root() == EMPTY_ROOT == ref_root([])
    for size in range(1, len(LOG) + 1):
        verifier.append(LOG[size - 1])
        assert verifier.size == size
        assert verifier.root() == ref_root(LEAVES[:size])


def test_append_returns_leaf_and_chain_hash_when_entry_is_next() -> None:
    verifier = LogVerifier()
    chain = ZERO_HASH
    for entry in LOG[:20]:
        leaf, new_chain, _ = verifier.append(entry)
        assert leaf == hashlib.sha256(b"\x00" + entry).digest()
        assert new_chain == hashlib.sha256(chain + leaf).digest() == verifier.chain
        chain = new_chain


def test_append_returns_completed_subtrees_when_leaf_index_has_trailing_ones() -> None:
    verifier = LogVerifier()
    for index, entry in enumerate(LOG):
        _, _, completed = verifier.append(entry)
        trailing_ones = (~index & (index + 1)).bit_length() - 1
        assert len(completed) == trailing_ones + 1
        for level, node in enumerate(completed):
            first = index + 1 - (1 << level)
            assert node == ref_root(LEAVES[first : index + 1])


def test_append_completes_three_levels_when_leaf_is_index_3_and_one_when_index_4() -> None:
    verifier = LogVerifier()
    results = [verifier.append(entry)[2] for entry in LOG[:5]]
    assert results[3] == [LEAVES[3], ref_root(LEAVES[2:4]), ref_root(LEAVES[0:4])]
    assert results[4] == [LEAVES[4]]


def test_frontier_holds_one_perfect_subtree_per_set_bit_when_size_grows() -> None:
    verifier = LogVerifier()
    for size in range(1, 70):
        verifier.append(LOG[size - 1])
        expected, start = [], 0
        for bit in reversed(range(size.bit_length())):
            if size >> bit & 1:
                expected.append(ref_root(LEAVES[start : start + (1 << bit)]))
                start += 1 << bit
        assert verifier.frontier == tuple(expected)


def test_extend_matches_append_when_fed_the_same_entries_in_batches() -> None:
    one, many = LogVerifier(), LogVerifier()
    for entry in LOG:
        one.append(entry)
    for start in range(0, len(LOG), 37):
        many.extend(LOG[start : start + 37])
    assert (many.size, many.chain, many.frontier, many.root()) == (
        one.size,
        one.chain,
        one.frontier,
        one.root(),
    )


def test_extend_keeps_entries_before_the_bad_one_when_batch_has_a_bad_entry() -> None:
    verifier = LogVerifier()
    batch = LOG[:10] + [LOG[11]] + LOG[12:20]
    with pytest.raises(VerificationError) as err:
        verifier.extend(batch)
    assert err.value.index == 10
    assert verifier.size == 10
    assert verifier.root() == ref_root(LEAVES[:10])
    verifier.extend(LOG[10:20])
    assert verifier.root() == ref_root(LEAVES[:20])


def test_append_rejects_naming_position_when_entry_index_is_wrong() -> None:
    verifier = LogVerifier()
    verifier.extend(LOG[:5])
    err = rejection(verifier, LOG[6])
    assert err.index == 5
    assert "index 6" in str(err)
    err = rejection(verifier, make_entry(4, verifier.chain))
    assert err.index == 5


def test_append_rejects_with_both_hashes_when_prev_is_not_the_chain() -> None:
    verifier = LogVerifier()
    verifier.extend(LOG[:5])
    wrong = make_entry(5, LOG[3][64:96])
    err = rejection(verifier, wrong)
    assert err.index == 5
    assert err.expected == LOG[3][64:96]
    assert err.computed == verifier.chain
    assert verifier.chain.hex() in str(err)


def test_append_rejects_when_first_entry_prev_is_not_zero() -> None:
    assert rejection(LogVerifier(), make_entry(0, b"\x01" * 32)).index == 0


def _set_u16(entry: bytes, offset: int, value: int) -> bytes:
    return entry[:offset] + struct.pack(">H", value) + entry[offset + 2 :]


def _non_canonical(entry: bytes) -> dict[str, bytes]:
    oid_len = struct.unpack_from(">H", entry, 96)[0]
    topic_at = 98 + oid_len
    topic_len = struct.unpack_from(">H", entry, topic_at)[0]
    return {
        "empty": b"",
        "fixed part only": entry[:96],
        "cut inside originator_id": entry[:100],
        "cut inside topic": entry[:-1],
        "trailing byte": entry + b"\x00",
        "wrong tag": b"ALPRLE\x00\x02" + entry[8:],
        "oid length too long": _set_u16(entry, 96, oid_len + 1),
        "oid length too short": _set_u16(entry, 96, oid_len - 1),
        "topic length too long": _set_u16(entry, topic_at, topic_len + 1),
        "topic length too short": _set_u16(entry, topic_at, topic_len - 1),
        "oid not utf-8": entry[:98] + b"\xff" + entry[99:],
        "topic not utf-8": entry[:-1] + b"\x80",
        "topic cut utf-8": entry[: topic_at + 2] + b"\xc3" + entry[topic_at + 3 :],
    }


@pytest.mark.parametrize("case", list(_non_canonical(LOG[7])))
def test_append_rejects_naming_position_when_entry_is_not_canonical(case: str) -> None:
    verifier = LogVerifier()
    verifier.extend(LOG[:7])
    bad = _non_canonical(LOG[7])[case]
    with pytest.raises(EntryFormatError):
        decode_entry(bad)  # the case really is non-canonical
    err = rejection(verifier, bad)
    assert err.index == 7
    with pytest.raises(VerificationError) as batch_err:
        verifier.extend([bad])
    assert batch_err.value.index == 7


@pytest.mark.parametrize("value", ["text", None, 42, [LOG[0]], memoryview(LOG[0])])
def test_append_rejects_when_entry_is_not_bytes(value: object) -> None:
    assert rejection(LogVerifier(), value).index == 0


def test_append_accepts_when_texts_are_non_ascii_or_topic_is_long() -> None:
    verifier = LogVerifier()
    chain = ZERO_HASH
    for index, topic in enumerate(["caf\u00e9.Read", "x" * 200, "\U0001f697" * 40, "t"]):
        entry = make_entry(index, chain, topic=topic)
        leaf, chain, _ = verifier.append(entry)
    assert verifier.size == 4


@settings(max_examples=300, deadline=None)
@given(
    position=st.integers(0, 160),
    value=st.integers(0, 255),
    index=st.integers(0, 4),
    cut=st.booleans(),
)
def test_append_accepts_exactly_what_decode_entry_accepts_when_a_byte_changes(
    position: int, value: int, index: int, cut: bool
) -> None:
    verifier = LogVerifier()
    verifier.extend(LOG[:index])
    entry = LOG[index]
    position %= len(entry)
    mutated = entry[:position] + (b"" if cut else bytes([value])) + entry[position + 1 :]
    try:
        decoded = decode_entry(mutated)
        should_accept = decoded.index == index and decoded.prev == verifier.chain
    except EntryFormatError:
        should_accept = False
    try:
        verifier.append(mutated)
        accepted = True
    except VerificationError as exc:
        assert exc.index == index
        accepted = False
    assert accepted == should_accept
