"""Standalone verifier for the alpr-ledger log: Merkle proofs and signed checkpoints.

Needs only the standard library and ``cryptography``, so an auditor can run it without the
server or its database. Every failure raises :class:`VerificationError`, whose attributes keep
the evidence (``index``, ``size``, ``expected``, ``computed``, ...).

Usage::

    from ledger.verify import (
        VerificationError, leaf_hash, verify_checkpoint, verify_consistency, verify_inclusion,
    )

    checkpoint = verify_checkpoint(note_text, vkey)  # signature, format: raises if bad
    try:
        verify_inclusion(leaf_hash(entry_bytes), index, checkpoint.size, proof,
                         checkpoint.root)
        verify_consistency(saved.size, checkpoint.size, consistency_proof,
                           saved.root, checkpoint.root)
    except VerificationError as exc:
        print("log is not as claimed:", exc, exc.index)

A whole export bundle is checked with ``python -m ledger.verify BUNDLE_DIR`` (see
``ledger.verify._bundle``).
"""

from __future__ import annotations

from ._merkle import VerificationError, leaf_hash, verify_consistency, verify_inclusion
from ._note import Checkpoint, verify_checkpoint

__all__ = [
    "Checkpoint",
    "VerificationError",
    "leaf_hash",
    "verify_checkpoint",
    "verify_consistency",
    "verify_inclusion",
]
