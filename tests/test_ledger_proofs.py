"""Proofs served from stored nodes equal a naive reference tree's, for every size up to 300."""

from __future__ import annotations

import random

import pytest

from ledger import tree
from ledger.store import LedgerRangeError
from ledger.verify import leaf_hash, verify_consistency, verify_inclusion
from ops.bootstrap import Runtime
from tests.ledger_support import notes
from tests.reference_tree import ref_consistency, ref_inclusion, ref_root


def test_stored_proofs_equal_reference_proofs_when_sizes_up_to_300(runtime: Runtime) -> None:
    runtime.app.save(*notes(150))
    runtime.app.save(*notes(150))
    leaves = [leaf_hash(e) for _, e in runtime.ledger.entries(0, 1000)]
    assert len(leaves) == 300
    rng = random.Random(300)
    for size in range(1, 301):
        root = runtime.ledger.root_at(size)
        assert root == ref_root(leaves[:size])
        for index in {0, size - 1, size // 2, rng.randrange(size)}:
            leaf, proof = runtime.ledger.inclusion_proof(index, size)
            assert leaf == leaves[index]
            assert proof == ref_inclusion(index, leaves[:size])
            verify_inclusion(leaf, index, size, proof, root)
        for older in {0, 1, size - 1, size, rng.randrange(1, size + 1)}:
            proof = runtime.ledger.consistency_proof(older, size)
            assert proof == ref_consistency(older, leaves[:size])
            if older:
                verify_consistency(older, size, proof, runtime.ledger.root_at(older), root)


def test_proof_requests_raise_range_error_naming_parameter_when_out_of_range(runtime: Runtime) -> None:
    runtime.app.save(*notes(5))
    with pytest.raises(LedgerRangeError) as size_error:
        runtime.ledger.inclusion_proof(0, 6)
    assert size_error.value.parameter == "size"
    with pytest.raises(LedgerRangeError) as index_error:
        runtime.ledger.inclusion_proof(5, 5)
    assert index_error.value.parameter == "index"
    with pytest.raises(LedgerRangeError) as from_error:
        runtime.ledger.consistency_proof(4, 3)
    assert from_error.value.parameter == "from"
    with pytest.raises(LedgerRangeError) as to_error:
        runtime.ledger.consistency_proof(1, 9)
    assert to_error.value.parameter == "to"


def test_plans_touch_logarithmic_nodes_when_tree_is_large() -> None:
    size = 1_000_003
    for index in (0, 1, size // 3, size - 1):
        plan = tree.inclusion_plan(index, size)
        assert len(tree.nodes_for(plan)) <= 2 * size.bit_length()
    plan = tree.consistency_plan(123_457, size)
    assert len(tree.nodes_for(plan)) <= 2 * size.bit_length()
