"""The chained recorders: one gap-free chain, written with the events, on both backends."""

from __future__ import annotations

import hashlib

import pytest
from eventsourcing.persistence import IntegrityError

from ledger.audit import audit
from ledger.verify import leaf_hash, verify_checkpoint, verify_consistency, verify_inclusion
from ledger.verify._entry import ZERO_HASH, chain_hash, decode_entry
from ops.bootstrap import Runtime
from tests.ledger_support import Note, RawDatabase, notes
from tests.reference_tree import ref_root


def test_save_writes_one_entry_per_event_in_log_order_when_batches_saved(
    runtime: Runtime, database_url: str
) -> None:
    first = notes(5)
    runtime.app.save(*first)
    first[0].amend("changed")
    runtime.app.save(first[0])
    runtime.app.save(*notes(3))

    entries = runtime.ledger.entries(0, 100)
    keys = RawDatabase(database_url).event_keys()
    assert [i for i, _ in entries] == list(range(9))
    prev = ZERO_HASH
    for (index, raw), (oid, version) in zip(entries, keys, strict=True):
        entry = decode_entry(raw)
        assert entry.index == index
        assert entry.prev == prev
        assert entry.originator_id == RawDatabase(database_url).uuid_text(oid)
        assert entry.originator_version == version
        prev = chain_hash(prev, leaf_hash(raw))
    assert runtime.ledger.chain_at(9) == prev


def test_entry_commits_to_state_hash_when_event_stored(runtime: Runtime, database_url: str) -> None:
    runtime.app.save(Note(text="hello"))
    _, _, topic, state = RawDatabase(database_url).event_at(0)
    entry = decode_entry(runtime.ledger.entries(0, 1)[0][1])
    assert entry.state_sha256 == hashlib.sha256(state).digest()
    assert entry.topic == topic


def test_failed_save_leaves_no_event_entry_or_gap_when_version_conflicts(runtime: Runtime) -> None:
    note = Note(text="a")
    runtime.app.save(note)
    stale = runtime.app.repository.get(note.id)
    note.amend("b")
    runtime.app.save(note)
    stale.amend("conflict")
    with pytest.raises(IntegrityError):
        runtime.app.save(stale, *notes(3))
    assert runtime.ledger.size() == 2
    runtime.app.save(*notes(2))
    assert [i for i, _ in runtime.ledger.entries(0, 10)] == [0, 1, 2, 3]
    assert audit(runtime.ledger, runtime.checkpointer.signer.vkey).ok


def test_roots_match_reference_tree_when_log_grows_in_uneven_batches(runtime: Runtime) -> None:
    leaves: list[bytes] = []
    for batch in (1, 2, 3, 5, 8, 13, 1, 1, 30):
        runtime.app.save(*notes(batch))
        leaves = [leaf_hash(e) for _, e in runtime.ledger.entries(0, 1000)]
        for size in range(len(leaves) + 1):
            assert runtime.ledger.root_at(size) == ref_root(leaves[:size])


def test_checkpoint_verifies_and_is_kept_when_signed_at_each_size(runtime: Runtime) -> None:
    runtime.app.save(*notes(4))
    first = runtime.checkpointer.checkpoint()
    assert runtime.checkpointer.checkpoint() == first  # same size: no new checkpoint
    runtime.app.save(*notes(6))
    second = runtime.checkpointer.checkpoint()
    vkey = runtime.checkpointer.signer.vkey

    cp1 = verify_checkpoint(first.note, vkey)
    cp2 = verify_checkpoint(second.note, vkey)

    assert (cp1.size, cp2.size) == (4, 10)
    assert cp1.origin == runtime.settings.log_origin
    assert [c.size for c in runtime.ledger.checkpoints()] == [4, 10]
    verify_consistency(4, 10, runtime.ledger.consistency_proof(4, 10), cp1.root, cp2.root)
    leaf, proof = runtime.ledger.inclusion_proof(6, 10)
    verify_inclusion(leaf, 6, 10, proof, cp2.root)


def test_signing_key_is_created_private_and_reused_when_absent(runtime: Runtime, settings: object) -> None:
    path = runtime.settings.data_dir / "signing-key.pem"
    assert path.stat().st_mode & 0o777 == 0o600
    from ops.bootstrap import signer_for

    assert signer_for(runtime.settings).vkey == runtime.checkpointer.signer.vkey
