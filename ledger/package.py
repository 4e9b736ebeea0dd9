"""Write a release package: the records of one disclosure with the evidence that they are in the log.

Format ``alpr-ledger-package/v1`` (a directory; ``ledger.verify._bundle.verify_package`` checks it
offline, ``alpr-ledger verify --bundle DIR`` and ``python -m ledger.verify DIR`` dispatch on the
manifest's ``format``):

``manifest.json``
    ``format``, ``origin``, ``disclosure_id``, ``recipient`` (agency, person, contact), ``purpose``,
    ``case_number``, ``legal_basis``, ``approval`` (by, role, reference), ``released_at``,
    ``released_read_ids``, ``checkpoint_size``, ``records`` (for each: ``read_id``, ``ledger_index``,
    ``state_sha256``, ``topic`` and the paths of its files), ``files`` (SHA-256 of every file kept
    at rest) and ``readable_files`` (a note that the readable copies are not among them). The
    SHA-256 of ``manifest.json`` is the package digest the ``Released`` event records; the
    manifest is written once, at release.
``records/<read id>.state``
    The read's ``Captured`` event state bytes exactly as stored: SHA-256 of these is the entry's
    ``state_sha256``.
``records/<read id>.json``
    A readable copy of the same event (not evidence: the ``.state`` bytes are; once personal fields
    are sealed the ``.state`` bytes are ciphertext and this copy is what the recipient reads). It is
    NOT written to disk: a plaintext copy kept beside the package would outlive the read's key, so
    the crypto-shredding of retention would never reach it. It is rendered from the sealed record
    when the package is downloaded (``zip_package(..., extra=...)``), so after a purge it shows the
    read as purged. Being a view that changes with the key's fate, it is not in ``files``.
``entries/<index>.bin``
    The canonical ledger entry of the record (``ledger.verify._entry``).
``proofs/<index>.json``
    ``{"index", "size", "leaf_hash", "proof": [...]}`` (hashes base64): RFC 6962 inclusion proof
    of the entry in the tree the checkpoint signs.
``checkpoint.note``
    The signed checkpoint (C2SP signed note) every proof leads to.
``vkey``
    The log's verifier key; compare it with the key the log publishes (or pin it with ``--vkey``).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import struct
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ledger.store import LedgerStore

PACKAGE_FORMAT = "alpr-ledger-package/v1"
READABLE_FILES_NOTE = "rendered at download from the sealed records; not covered by files hashes"
_FIXED = 96  # tag, index, version, recorded time, state hash, prev (ledger.verify._entry)
_U16 = struct.Struct(">H")
_VERSION = struct.Struct(">Q")


@dataclass(frozen=True, slots=True)
class LocatedEntry:
    index: int
    entry: bytes


def _originator(entry: bytes) -> tuple[str, int]:
    # Only the originator id and version: decoding whole entries would cost more for no gain.
    (length,) = _U16.unpack_from(entry, _FIXED)
    (version,) = _VERSION.unpack_from(entry, 16)
    return entry[_FIXED + 2 : _FIXED + 2 + length].decode("utf-8"), version


def locate_entries(
    store: LedgerStore, originators: Iterable[str], size: int, *, version: int = 1
) -> dict[str, LocatedEntry]:
    """The entry of each originator's event ``version`` among the first ``size`` entries.

    Scans the log (O(size)); an index of originator -> entry belongs to the projections issue.
    """
    wanted = set(originators)
    found: dict[str, LocatedEntry] = {}
    for index, entry, _, _ in store.iter_ledger():
        if index >= size or len(found) == len(wanted):
            break
        originator, entry_version = _originator(entry)
        if originator in wanted and entry_version == version:
            found[originator] = LocatedEntry(index, entry)
    return found


@dataclass(frozen=True, slots=True)
class PackageRecord:
    read_id: str
    topic: str
    state: bytes  # exactly as stored
    index: int
    entry: bytes
    leaf_hash: bytes
    proof: list[bytes]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _json(data: object) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, default=str) + "\n").encode("utf-8")


def write_package(
    out: Path,
    *,
    origin: str,
    vkey: str,
    checkpoint_note: str,
    checkpoint_size: int,
    disclosure: dict[str, Any],
    records: list[PackageRecord],
) -> str:
    """Write the package into the directory ``out`` (created; must be empty) and return the
    SHA-256 (hex) of its ``manifest.json``. ``disclosure`` holds the manifest's descriptive keys
    (disclosure_id, recipient, purpose, case_number, legal_basis, approval, released_at)."""
    out.mkdir(parents=True, exist_ok=True)
    if any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty")
    for sub in ("records", "entries", "proofs"):
        (out / sub).mkdir()
    files: dict[str, str] = {}

    def put(name: str, data: bytes) -> None:
        (out / name).write_bytes(data)
        files[name] = hashlib.sha256(data).hexdigest()

    listed: list[dict[str, Any]] = []
    for record in records:
        state_name = f"records/{record.read_id}.state"
        readable_name = f"records/{record.read_id}.json"
        entry_name = f"entries/{record.index}.bin"
        proof_name = f"proofs/{record.index}.json"
        put(state_name, record.state)  # sealed: the readable copy is rendered at download
        put(entry_name, record.entry)
        proof = {
            "index": record.index,
            "size": checkpoint_size,
            "leaf_hash": _b64(record.leaf_hash),
            "proof": [_b64(h) for h in record.proof],
        }
        put(proof_name, _json(proof))
        listed.append(
            {
                "read_id": record.read_id,
                "ledger_index": record.index,
                "state_sha256": hashlib.sha256(record.state).hexdigest(),
                "topic": record.topic,
                "state": state_name,
                "readable": readable_name,
                "entry": entry_name,
                "proof": proof_name,
            }
        )
    put("checkpoint.note", checkpoint_note.encode("utf-8"))
    put("vkey", (vkey.strip() + "\n").encode("utf-8"))
    manifest = {
        "format": PACKAGE_FORMAT,
        "origin": origin,
        **disclosure,
        "released_read_ids": [r.read_id for r in records],
        "checkpoint_size": checkpoint_size,
        "records": listed,
        "files": files,
        "readable_files": READABLE_FILES_NOTE,
    }
    data = _json(manifest)
    (out / "manifest.json").write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def readable_json(readable: dict[str, Any]) -> bytes:
    """The bytes of a record's readable copy (``records/<read id>.json``) as the archive carries it."""
    return _json(readable)


def zip_package(path: Path, extra: Mapping[str, bytes] | None = None) -> bytes:
    """The package directory as a zip archive (paths relative to the package, sorted), with the
    files of ``extra`` (archive name -> bytes) added: the readable copies rendered at download.

    An ``extra`` name that is also a file of the directory is refused, so nothing rendered can pass
    itself off as (or hide) a file the manifest hashes.
    """
    files = {item.relative_to(path).as_posix(): item for item in path.rglob("*") if item.is_file()}
    added = dict(extra or {})
    for name in added:
        parts = PurePosixPath(name).parts
        if not name or name.startswith("/") or ".." in parts or name in files:
            raise ValueError(f"extra file {name!r} is not a new path inside the package")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted({*files, *added}):
            if name in files:
                archive.write(files[name], name)
            else:
                archive.writestr(name, added[name])
    return buffer.getvalue()
