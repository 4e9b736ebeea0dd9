"""Merkle hashing and proof verification (ledger.verify._merkle) against published vectors, the
naive reference tree, and the literal RFC 9162 algorithms."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.verify import VerificationError, leaf_hash, verify_consistency, verify_inclusion
from ledger.verify._merkle import EMPTY_ROOT, node_hash
from tests.reference_tree import ref_consistency, ref_inclusion, ref_root

# Published RFC 6962 test data from transparency-dev/merkle: leaf inputs, node hashes and roots
# from testonly/constants.go; proofs from proof/verify_test.go (the same tree Certificate
# Transparency's merkle_tree_test uses).
LEAF_INPUTS = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
LEVEL0 = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
    "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
    "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
]
LEVEL1 = [
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
]
LEVEL2 = [
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
]
ROOTS = {  # tree size -> root
    0: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    2: "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    3: "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    4: "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    5: "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    6: "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    7: "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    8: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}
INCLUSION_VECTORS = [  # (leaf index, tree size, proof) -- verify_test.go lists 1-based leaves
    (0, 8, [LEVEL0[1], LEVEL1[1], LEVEL2[1]]),
    (5, 8, [LEVEL0[4], LEVEL1[3], LEVEL2[0]]),
    (2, 3, [LEVEL1[0]]),
    (1, 5, [LEVEL0[0], LEVEL1[1], LEVEL0[4]]),
]
CONSISTENCY_VECTORS = [  # (size1, size2, proof)
    (1, 8, [LEVEL0[1], LEVEL1[1], LEVEL2[1]]),
    (6, 8, [LEVEL1[2], LEVEL1[3], LEVEL2[0]]),
    (2, 5, [LEVEL1[1], LEVEL0[4]]),
    (6, 7, [LEVEL1[2], LEVEL0[6], LEVEL2[0]]),
]

VECTOR_LEAVES = [leaf_hash(data) for data in LEAF_INPUTS]
# Distinct leaf hashes for big trees, built once, and the roots of their small prefixes.
MANY = [hashlib.sha256(b"\x00" + i.to_bytes(4, "big")).digest() for i in range(100_000)]
ROOT_OF = [ref_root(MANY[:size]) for size in range(256)]
# Hypothesis favours small integers; make sure big and power-of-two-edge trees come up too.
BIG_SIZES = st.one_of(st.integers(301, len(MANY)), st.sampled_from([65_535, 65_536, 65_537, len(MANY)]))


def h(hexes: list[str]) -> list[bytes]:
    return [bytes.fromhex(x) for x in hexes]


def flip(data: bytes, bit: int) -> bytes:
    buf = bytearray(data)
    buf[bit // 8] ^= 0x80 >> (bit % 8)
    return bytes(buf)


def rejects_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> bool:
    try:
        verify_inclusion(leaf, index, size, proof, root)
    except VerificationError:
        return True
    return False


def rejects_consistency(size1: int, size2: int, proof: list[bytes], root1: bytes, root2: bytes) -> bool:
    try:
        verify_consistency(size1, size2, proof, root1, root2)
    except VerificationError:
        return True
    return False


# The verification algorithms exactly as RFC 9162 sections 2.1.3.2 and 2.1.4.2 word them, for a
# differential check: ours must accept precisely what these accept.
def rfc_inclusion_ok(leaf: bytes, index: int, size: int, path: list[bytes], root: bytes) -> bool:
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def rfc_consistency_ok(
    first: int, second: int, path: list[bytes], first_hash: bytes, second_hash: bytes
) -> bool:
    if not path:
        return False
    if first & (first - 1) == 0:
        path = [first_hash, *path]
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == first_hash and sr == second_hash and sn == 0


# --- published vectors ----------------------------------------------------------------------


def test_leaf_hash_matches_published_hashes_when_given_rfc6962_leaf_inputs() -> None:
    assert [x.hex() for x in VECTOR_LEAVES] == LEVEL0


def test_node_hash_matches_published_level_one_when_pairing_published_leaves() -> None:
    pairs = zip(VECTOR_LEAVES[0::2], VECTOR_LEAVES[1::2], strict=True)
    assert [node_hash(a, b).hex() for a, b in pairs] == LEVEL1


def test_reference_root_matches_published_roots_when_tree_has_zero_to_eight_leaves() -> None:
    assert EMPTY_ROOT.hex() == ROOTS[0]
    for size, root in ROOTS.items():
        assert ref_root(VECTOR_LEAVES[:size]).hex() == root


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION_VECTORS)
def test_verify_inclusion_accepts_when_proof_is_published_vector(
    index: int, size: int, proof: list[str]
) -> None:
    assert ref_inclusion(index, VECTOR_LEAVES[:size]) == h(proof)
    verify_inclusion(VECTOR_LEAVES[index], index, size, h(proof), bytes.fromhex(ROOTS[size]))


@pytest.mark.parametrize(("size1", "size2", "proof"), CONSISTENCY_VECTORS)
def test_verify_consistency_accepts_when_proof_is_published_vector(
    size1: int, size2: int, proof: list[str]
) -> None:
    assert ref_consistency(size1, VECTOR_LEAVES[:size2]) == h(proof)
    root1, root2 = bytes.fromhex(ROOTS[size1]), bytes.fromhex(ROOTS[size2])
    verify_consistency(size1, size2, h(proof), root1, root2)


# --- every small tree -----------------------------------------------------------------------


def test_verify_inclusion_accepts_when_proof_is_reference_path_for_every_index_up_to_300() -> None:
    for size in range(1, 301):
        leaves = MANY[:size]
        root = ref_root(leaves)
        for index in range(size):
            verify_inclusion(leaves[index], index, size, ref_inclusion(index, leaves), root)


def test_verify_consistency_accepts_when_proof_is_reference_for_every_size_pair_up_to_300() -> None:
    roots = [ref_root(MANY[:size]) for size in range(301)]
    assert roots[:256] == ROOT_OF
    for size2 in range(1, 301):
        leaves = MANY[:size2]
        for size1 in range(size2 + 1):
            proof = ref_consistency(size1, leaves)
            verify_consistency(size1, size2, proof, roots[size1], roots[size2])


@settings(max_examples=12, deadline=None)
@given(data=st.data())
def test_verify_inclusion_accepts_reference_and_rejects_flipped_bit_when_tree_is_large(
    data: st.DataObject,
) -> None:
    size = data.draw(BIG_SIZES, label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    leaves = MANY[:size]
    root = ref_root(leaves)
    proof = ref_inclusion(index, leaves)
    verify_inclusion(leaves[index], index, size, proof, root)

    element = data.draw(st.integers(0, len(proof) - 1), label="element")
    bit = data.draw(st.integers(0, 255), label="bit")
    bad = list(proof)
    bad[element] = flip(bad[element], bit)
    assert rejects_inclusion(leaves[index], index, size, bad, root)
    assert rejects_inclusion(leaves[index], index, size, proof, flip(root, bit))
    assert rejects_inclusion(flip(leaves[index], bit), index, size, proof, root)


@settings(max_examples=12, deadline=None)
@given(data=st.data())
def test_verify_consistency_accepts_reference_and_rejects_flipped_bit_when_tree_is_large(
    data: st.DataObject,
) -> None:
    size2 = data.draw(BIG_SIZES, label="size2")
    size1 = data.draw(st.integers(1, size2 - 1), label="size1")
    leaves = MANY[:size2]
    root1, root2 = ref_root(leaves[:size1]), ref_root(leaves)
    proof = ref_consistency(size1, leaves)
    verify_consistency(size1, size2, proof, root1, root2)

    element = data.draw(st.integers(0, len(proof) - 1), label="element")
    bit = data.draw(st.integers(0, 255), label="bit")
    bad = list(proof)
    bad[element] = flip(bad[element], bit)
    assert rejects_consistency(size1, size2, bad, root1, root2)
    assert rejects_consistency(size1, size2, proof, flip(root1, bit), root2)
    assert rejects_consistency(size1, size2, proof, root1, flip(root2, bit))


# --- tampering ------------------------------------------------------------------------------


def test_verify_inclusion_rejects_when_any_bit_of_proof_root_or_leaf_is_flipped() -> None:
    for size in range(1, 10):
        leaves = MANY[:size]
        root = ref_root(leaves)
        for index in range(size):
            proof = ref_inclusion(index, leaves)
            for bit in range(256):
                assert rejects_inclusion(leaves[index], index, size, proof, flip(root, bit))
                assert rejects_inclusion(flip(leaves[index], bit), index, size, proof, root)
                for element in range(len(proof)):
                    bad = list(proof)
                    bad[element] = flip(bad[element], bit)
                    assert rejects_inclusion(leaves[index], index, size, bad, root)


def test_verify_consistency_rejects_when_any_bit_of_proof_or_roots_is_flipped() -> None:
    for size2 in range(2, 10):
        leaves = MANY[:size2]
        root2 = ref_root(leaves)
        for size1 in range(1, size2):
            root1 = ref_root(leaves[:size1])
            proof = ref_consistency(size1, leaves)
            for bit in range(256):
                assert rejects_consistency(size1, size2, proof, flip(root1, bit), root2)
                assert rejects_consistency(size1, size2, proof, root1, flip(root2, bit))
                for element in range(len(proof)):
                    bad = list(proof)
                    bad[element] = flip(bad[element], bit)
                    assert rejects_consistency(size1, size2, bad, root1, root2)


def test_verify_inclusion_rejects_when_index_has_any_single_bit_changed() -> None:
    for size in range(1, 70):
        leaves = MANY[:size]
        root = ref_root(leaves)
        for index in range(size):
            proof = ref_inclusion(index, leaves)
            for bit in range(8):
                assert rejects_inclusion(leaves[index], index ^ (1 << bit), size, proof, root)


def test_verify_inclusion_accepts_changed_size_only_when_rfc9162_algorithm_does() -> None:
    # The size only fixes the proof's shape; where a changed size gives the same shape no
    # RFC 9162 verifier can notice (the signed checkpoint binds size to root). Everywhere else
    # the change must be caught, and against the real root of the other size it always is.
    accepted_elsewhere = 0
    for size in range(1, 70):
        leaves = MANY[:size]
        root = ref_root(leaves)
        for index in range(size):
            proof = ref_inclusion(index, leaves)
            for bit in range(8):
                other = size ^ (1 << bit)
                ours = not rejects_inclusion(leaves[index], index, other, proof, root)
                assert ours == rfc_inclusion_ok(leaves[index], index, other, proof, root)
                accepted_elsewhere += ours
                if index < other:
                    real = ROOT_OF[other]
                    assert rejects_inclusion(leaves[index], index, other, proof, real)
    assert accepted_elsewhere > 0  # the differential check above has teeth both ways


def test_verify_consistency_accepts_changed_sizes_only_when_rfc9162_algorithm_does() -> None:
    roots = ROOT_OF
    for size2 in range(2, 40):
        for size1 in range(1, size2):
            proof = ref_consistency(size1, MANY[:size2])
            for bit in range(7):
                for s1, s2 in ((size1 ^ (1 << bit), size2), (size1, size2 ^ (1 << bit))):
                    if not 0 < s1 < s2:
                        assert rejects_consistency(s1, s2, proof, roots[size1], roots[size2])
                        continue
                    ours = not rejects_consistency(s1, s2, proof, roots[size1], roots[size2])
                    rfc = rfc_consistency_ok(s1, s2, proof, roots[size1], roots[size2])
                    assert ours == rfc
                    assert rejects_consistency(s1, s2, proof, roots[s1], roots[s2])


def test_verify_inclusion_agrees_with_rfc9162_algorithm_when_proofs_are_valid_or_mutated() -> None:
    for size in range(1, 40):
        leaves = MANY[:size]
        root = ref_root(leaves)
        for index in range(size):
            proof = ref_inclusion(index, leaves)
            assert rfc_inclusion_ok(leaves[index], index, size, proof, root)
            for bad in (proof[:-1], [*proof, root], [root, *proof], proof[::-1]):
                ours = not rejects_inclusion(leaves[index], index, size, bad, root)
                assert ours == rfc_inclusion_ok(leaves[index], index, size, bad, root)


def test_verify_inclusion_rejects_when_proof_has_wrong_length() -> None:
    leaves = MANY[:13]
    root = ref_root(leaves)
    for index in range(13):
        proof = ref_inclusion(index, leaves)
        for bad in (proof[:-1], [*proof, root], [root, *proof], [*proof, proof[-1]], []):
            with pytest.raises(VerificationError) as err:
                verify_inclusion(leaves[index], index, 13, bad, root)
            assert err.value.index == index
            assert err.value.size == 13


def test_verify_consistency_rejects_when_proof_has_wrong_length() -> None:
    leaves = MANY[:13]
    root2 = ref_root(leaves)
    for size1 in range(1, 13):
        root1 = ref_root(leaves[:size1])
        proof = ref_consistency(size1, leaves)
        for bad in (proof[:-1], [*proof, root1], [root2, *proof], [proof[0], *proof], []):
            with pytest.raises(VerificationError) as err:
                verify_consistency(size1, 13, bad, root1, root2)
            assert (err.value.old_size, err.value.size) == (size1, 13)


@pytest.mark.parametrize(("index", "size"), [(0, 0), (1, 1), (5, 3), (-1, 4), (0, -1), (True, 2), (0, 2.0)])
def test_verify_inclusion_rejects_when_index_or_size_is_invalid(index: object, size: object) -> None:
    with pytest.raises(VerificationError):
        verify_inclusion(MANY[0], index, size, [MANY[1]], MANY[2])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "proof",
    [[b"\x00" * 31], [b"\x00" * 33], ["00" * 32], [None], b"\x00" * 32, "x" * 32],
)
def test_verify_inclusion_rejects_when_proof_elements_are_not_32_bytes(proof: object) -> None:
    with pytest.raises(VerificationError) as err:
        verify_inclusion(MANY[0], 0, 2, proof, node_hash(MANY[0], MANY[1]))  # type: ignore[arg-type]
    assert (err.value.index, err.value.size) == (0, 2)


def test_verify_inclusion_rejects_when_leaf_or_root_is_not_32_bytes() -> None:
    root = node_hash(MANY[0], MANY[1])
    with pytest.raises(VerificationError):
        verify_inclusion(MANY[0][:31], 0, 2, [MANY[1]], root)
    with pytest.raises(VerificationError):
        verify_inclusion(MANY[0], 0, 2, [MANY[1]], root + b"\x00")


def test_verification_error_names_index_and_both_roots_when_inclusion_fails() -> None:
    leaves = MANY[:6]
    root = ref_root(leaves)
    proof = ref_inclusion(4, leaves)
    with pytest.raises(VerificationError) as err:
        verify_inclusion(leaves[3], 4, 6, proof, root)
    exc = err.value
    assert (exc.index, exc.size, exc.expected, exc.root) == (4, 6, root, root)
    assert exc.computed is not None and exc.computed != root
    assert root.hex() in str(exc) and exc.computed.hex() in str(exc) and "leaf 4" in str(exc)


def test_verification_error_names_sizes_and_roots_when_consistency_fails() -> None:
    leaves = MANY[:9]
    root1, root2 = ref_root(leaves[:5]), ref_root(leaves)
    proof = ref_consistency(5, leaves)
    with pytest.raises(VerificationError) as err:
        verify_consistency(5, 9, proof, root2, root2)
    exc = err.value
    assert (exc.old_size, exc.size, exc.expected) == (5, 9, root2)
    assert exc.computed == root1  # the proof does prove the real old root
    assert root1.hex() in str(exc) and root2.hex() in str(exc)


# --- consistency edge cases (documented in verify_consistency) ------------------------------


def test_verify_consistency_accepts_when_sizes_are_equal_and_proof_is_empty() -> None:
    root = ref_root(MANY[:7])
    verify_consistency(7, 7, [], root, root)
    verify_consistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)


def test_verify_consistency_rejects_when_sizes_are_equal_but_roots_differ_or_proof_given() -> None:
    root = ref_root(MANY[:7])
    assert rejects_consistency(7, 7, [], root, MANY[0])
    assert rejects_consistency(7, 7, [root], root, root)
    assert rejects_consistency(0, 0, [], EMPTY_ROOT, MANY[0])


def test_verify_consistency_accepts_when_old_tree_is_empty_and_proof_is_empty() -> None:
    verify_consistency(0, 5, [], EMPTY_ROOT, ref_root(MANY[:5]))


def test_verify_consistency_rejects_when_old_tree_is_empty_but_root_or_proof_is_not() -> None:
    root2 = ref_root(MANY[:5])
    assert rejects_consistency(0, 5, [], MANY[0], root2)
    assert rejects_consistency(0, 5, [EMPTY_ROOT], EMPTY_ROOT, root2)


def test_verify_consistency_rejects_when_size_goes_backwards_or_sizes_are_invalid() -> None:
    root = ref_root(MANY[:5])
    assert rejects_consistency(5, 4, [], root, root)
    assert rejects_consistency(-1, 4, [], root, root)
    assert rejects_consistency(1, 2, [], MANY[0], node_hash(MANY[0], MANY[1]))
    assert rejects_consistency(1, True, [], MANY[0], MANY[0])  # type: ignore[arg-type]
