"""Write an export bundle that ``ledger.verify`` checks with no database (format v1, documented in
``ledger/verify/_bundle.py``)."""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Callable
from pathlib import Path

from ledger.store import LedgerStore

BUNDLE_FORMAT = "alpr-ledger-bundle/v1"
_LEN = struct.Struct(">I")


def export_bundle(
    store: LedgerStore,
    *,
    origin: str,
    vkey: str,
    size: int,
    out: Path,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the first ``size`` entries and every checkpoint up to ``size``; returns entries written."""
    out.mkdir(parents=True, exist_ok=True)
    notes = out / "checkpoints"
    notes.mkdir(exist_ok=True)
    for stale in notes.glob("*.note"):
        stale.unlink()
    for cp in store.checkpoints():
        if cp.size <= size:
            (notes / f"{cp.size:020d}.note").write_text(cp.note, encoding="utf-8")
    digest = hashlib.sha256()
    written = 0
    with (out / "entries.bin").open("wb") as fh:
        for index, entry, _, _ in store.iter_ledger():
            if index >= size:
                break
            record = _LEN.pack(len(entry)) + entry
            fh.write(record)
            digest.update(record)
            written += 1
            if progress is not None and written % 10_000 == 0:
                progress(written)
    (out / "vkey").write_text(vkey + "\n", encoding="utf-8")
    manifest = {
        "format": BUNDLE_FORMAT,
        "origin": origin,
        "size": written,
        "entries_sha256": digest.hexdigest(),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    if progress is not None:
        progress(written)
    return written
