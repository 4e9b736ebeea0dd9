"""The operator's full verification: recompute every entry from the stored events, the chain, the
stored tree nodes, every checkpoint's root and signature, and consistency with a saved checkpoint.

Stops at the first bad index and names it. Uses the same streaming core as the auditor's
standalone verifier, so the service and outsiders check the log the same way.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import zip_longest

from ledger.chain import originator_text
from ledger.store import LedgerStore, StoredEventRow
from ledger.verify import Checkpoint, VerificationError, verify_checkpoint, verify_consistency
from ledger.verify._stream import LogVerifier

LedgerRow = tuple[int, bytes, bytes, bytes]
# Field positions in a canonical v1 entry (see ledger/verify/_entry.py).
_VERSION = slice(16, 24)
_STATE = slice(32, 64)
_TAIL = slice(96, None)  # originator_id and topic, each with its u16 length
_U64 = struct.Struct(">Q")
_LEN = struct.Struct(">H")


@dataclass
class AuditReport:
    size: int = 0
    root: bytes = b""
    checkpoints_checked: int = 0
    first_bad_index: int | None = None
    problems: list[str] = field(default_factory=list)
    saved_checkpoint: Checkpoint | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def audit(
    store: LedgerStore,
    vkey: str,
    *,
    saved_note: str | None = None,
    progress: Callable[[int], None] | None = None,
    check_events: bool = True,
) -> AuditReport:
    report = AuditReport()
    saved: Checkpoint | None = None
    if saved_note is not None:
        try:
            saved = verify_checkpoint(saved_note, vkey)
        except VerificationError as exc:
            report.problems.append(f"saved checkpoint: {exc}")
            return report
        report.saved_checkpoint = saved

    stored = store.checkpoints()
    expected_roots: dict[int, list[tuple[str, bytes]]] = {}
    for cp in stored:
        try:
            parsed = verify_checkpoint(cp.note, vkey)
        except VerificationError as exc:
            report.problems.append(f"stored checkpoint at size {cp.size}: {exc}")
            return report
        if parsed.size != cp.size or parsed.root != cp.root:
            report.problems.append(f"stored checkpoint at size {cp.size}: note disagrees with row")
            return report
        expected_roots.setdefault(parsed.size, []).append((f"checkpoint at size {cp.size}", parsed.root))
    if saved is not None:
        expected_roots.setdefault(saved.size, []).append(("saved checkpoint", saved.root))

    verifier = LogVerifier()
    sha256 = hashlib.sha256

    def check_roots() -> bool:
        for label, root in expected_roots.pop(verifier.size, []):
            if verifier.root() != root:
                report.problems.append(
                    f"{label}: root {root.hex()} does not match the log's root "
                    f"{verifier.root().hex()} at that size"
                )
                report.first_bad_index = verifier.size - 1 if verifier.size else 0
                return False
            report.checkpoints_checked += 1
        return True

    def bad(position: int, why: str) -> AuditReport:
        report.first_bad_index = position
        report.problems.append(f"entry {position}: {why}")
        report.size = verifier.size
        return report

    if not check_roots():
        return report
    next_root_check = min(expected_roots, default=-1)
    topics: dict[str, bytes] = {}
    rows = store.iter_ledger()
    pairs: Iterator[tuple[LedgerRow | None, StoredEventRow | None]] = (
        zip_longest(rows, store.iter_events()) if check_events else ((r, None) for r in rows)
    )
    for position, (row, event) in enumerate(pairs):
        if row is None:
            return bad(position, "stored event has no ledger entry")
        index, entry, chain, hashes = row
        if index != position:
            return bad(position, f"ledger entry missing or out of order (found index {index})")
        if check_events and event is None:
            return bad(position, "ledger entry has no stored event")
        try:
            _, computed_chain, completed = verifier.append(entry)
        except VerificationError as exc:
            return bad(position, str(exc))
        if computed_chain != chain:
            return bad(position, "stored chain hash does not match the recomputed chain")
        if b"".join(completed) != hashes:
            return bad(position, "stored tree nodes do not match the recomputed tree")
        if event is not None:
            # The entry is canonical (the verifier checked), so compare its fields in place.
            topic = topics.get(event.topic)
            if topic is None:
                encoded = event.topic.encode("utf-8")
                topic = topics[event.topic] = _LEN.pack(len(encoded)) + encoded
            oid = originator_text(event.originator_id).encode("utf-8")
            if (
                entry[_STATE] != sha256(event.state).digest()
                or entry[_VERSION] != _U64.pack(event.originator_version)
                or entry[_TAIL] != _LEN.pack(len(oid)) + oid + topic
            ):
                return bad(position, "stored event does not match its ledger entry")
        if position + 1 == next_root_check and not check_roots():
            return report
        if position + 1 == next_root_check:
            next_root_check = min(expected_roots, default=-1)
        if progress is not None and position % 10_000 == 9_999:
            progress(position + 1)
    report.size = verifier.size
    report.root = verifier.root()
    if progress is not None:
        progress(report.size)
    for size in sorted(expected_roots):
        for label, _ in expected_roots[size]:
            report.problems.append(f"{label}: size {size} is larger than the log ({report.size})")
    if saved is not None and not report.problems:
        # Also exercise the proof path an outside auditor would use.
        try:
            proof = store.consistency_proof(saved.size, report.size)
            verify_consistency(saved.size, report.size, proof, saved.root, report.root)
        except VerificationError as exc:
            report.problems.append(f"consistency with saved checkpoint: {exc}")
    return report
