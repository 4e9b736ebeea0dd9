"""Verify an export bundle of the log without any database.

Bundle format ``alpr-ledger-bundle/v1`` (a directory; the server's exporter writes exactly this):

``manifest.json``
    ``{"format": "alpr-ledger-bundle/v1", "origin": str, "size": int,
    "entries_sha256": "<hex SHA-256 of entries.bin>"}``. Other keys are ignored.
``vkey``
    One line: the log's signed-note verifier key (``name+keyid+base64(0x01||pubkey)``).
``entries.bin``
    The entries in index order, each a 4-byte big-endian length followed by the exact
    canonical entry bytes.
``checkpoints/<size as 20-digit zero-padded decimal>.note``
    Every signed checkpoint note the log issued, one per size.

Nothing in a bundle vouches for the bundle's own ``vkey``: compare it with the key the log
publishes (or pass ``vkey=``). The manifest is not signed either; only checkpoint signatures
and the hash chain are evidence.

What is checked: every checkpoint's signature and origin; every entry's canonical form, index
and ``prev`` link; that the RFC 6962 root of the first ``size`` entries equals each
checkpoint's root (which also proves every pair of checkpoints consistent); the entry count
and file hash against the manifest. Entries after the latest checkpoint are only chain-checked;
the report says how many.

A release package (``alpr-ledger-package/v1``, written by ``ledger/package.py``, which documents
the layout) is recognised by its manifest's ``format`` and checked by :func:`verify_package`.

Naming the first bad entry: a broken ``prev`` link at entry ``p`` means entry ``p-1`` was
altered or entry ``p``'s ``prev`` was. The verifier looks at the next entry (whose ``prev``
vouches for entry ``p``), a checkpoint ending at ``p``, or a checkpoint ending at ``p+1`` to
tell which; with no such evidence it names the earlier one, so nothing earlier is missed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import struct
from collections.abc import Callable, Generator, Iterator
from contextlib import closing
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from ._entry import EntryFormatError, chain_hash, decode_entry
from ._merkle import EMPTY_ROOT, VerificationError, leaf_hash, node_hash, verify_inclusion
from ._note import Checkpoint, verify_checkpoint
from ._stream import LogVerifier

BUNDLE_FORMAT = "alpr-ledger-bundle/v1"
PACKAGE_FORMAT = "alpr-ledger-package/v1"
PROGRESS_EVERY = 1 << 16
_CHUNK = 1 << 22
_U32 = struct.Struct(">I")
# The largest canonical entry: 100 fixed bytes plus two texts of at most 65535 bytes.
_MAX_ENTRY = 100 + 2 * 0xFFFF
_CHECKPOINT_NAME = re.compile(r"([0-9]{20})\.note")


@dataclass(frozen=True, slots=True)
class BundleReport:
    """What an intact bundle proved: ``size`` entries with RFC 6962 ``root``."""

    origin: str
    size: int
    root: bytes
    checkpoints_checked: int
    latest: Checkpoint
    vkey: str

    @property
    def unsigned_entries(self) -> int:
        """Entries after the latest checkpoint: hash-chained, but not yet signed."""
        return self.size - self.latest.size


def verify_bundle(
    path: str | os.PathLike[str],
    progress: Callable[[int], None] | None = None,
    *,
    vkey: str | None = None,
) -> BundleReport:
    """Verify the bundle directory at ``path`` and return a :class:`BundleReport`.

    ``progress`` (if given) is called with the number of entries verified so far every
    65,536 entries and at the end. ``vkey``, if given, must equal the bundle's own key.
    Raises :class:`VerificationError`: ``.index`` names the first bad entry when an entry was
    altered, removed, reordered or truncated; ``.checkpoint`` names the checkpoint file when
    its signature, origin or root does not match.
    """
    bundle = Path(path)
    if _manifest_format(bundle / "manifest.json") == PACKAGE_FORMAT:
        return verify_package(bundle, vkey=vkey)
    manifest = _read_manifest(bundle / "manifest.json")
    bundle_vkey = _read_text(bundle / "vkey").strip()
    if vkey is not None and bundle_vkey != vkey.strip():
        raise VerificationError(f"bundle is signed by {bundle_vkey!r}, not by {vkey!r}")
    checkpoints = _read_checkpoints(bundle / "checkpoints", bundle_vkey, manifest.origin)

    entries_path = bundle / "entries.bin"
    if not entries_path.is_file():
        raise VerificationError(f"bundle has no {entries_path.name}")
    digest = hashlib.sha256()
    verifier = LogVerifier()
    proven = 0  # entries [0, proven) are exactly as a matching checkpoint signed them
    with closing(_read_records(entries_path, digest.update)) as reader:
        for size in sorted(checkpoints):
            name, checkpoint = checkpoints[size]
            _advance(verifier, reader, size, entries_path, proven, checkpoints, progress)
            if verifier.size < size:
                raise VerificationError(
                    f"checkpoint {name} covers {size} entries but entries.bin ends after "
                    f"{verifier.size}: entries from {verifier.size} are missing",
                    index=verifier.size,
                    size=size,
                    checkpoint=name,
                )
            if verifier.root() != checkpoint.root:
                raise _root_mismatch(entries_path, verifier, name, checkpoint, proven)
            proven = size
        _advance(verifier, reader, None, entries_path, proven, checkpoints, progress)
    if progress is not None and (verifier.size % PROGRESS_EVERY or not verifier.size):
        progress(verifier.size)

    if verifier.size != manifest.size:
        missing = verifier.size < manifest.size
        raise VerificationError(
            f"manifest says {manifest.size} entries, entries.bin holds {verifier.size}"
            + (f": entries from {verifier.size} are missing" if missing else ""),
            index=min(verifier.size, manifest.size),
            size=manifest.size,
        )
    if digest.hexdigest() != manifest.entries_sha256:
        raise VerificationError(
            f"entries.bin has SHA-256 {digest.hexdigest()}, manifest says {manifest.entries_sha256}",
            expected=bytes.fromhex(manifest.entries_sha256),
            computed=digest.digest(),
        )
    latest_size = max(checkpoints)
    return BundleReport(
        origin=manifest.origin,
        size=verifier.size,
        root=verifier.root(),
        checkpoints_checked=len(checkpoints),
        latest=checkpoints[latest_size][1],
        vkey=bundle_vkey,
    )


# --- streaming ------------------------------------------------------------------------------


class _TruncatedRecord(Exception):
    """entries.bin ends inside a record, or a record cannot be a canonical entry."""


def _advance(
    verifier: LogVerifier,
    reader: Iterator[bytes],
    target: int | None,
    entries_path: Path,
    proven: int,
    checkpoints: dict[int, tuple[str, Checkpoint]],
    progress: Callable[[int], None] | None,
) -> None:
    # Feed entries until `target` (or the end), in slices so progress can be reported.
    while target is None or verifier.size < target:
        before = verifier.size
        step = PROGRESS_EVERY - before % PROGRESS_EVERY
        if target is not None:
            step = min(step, target - before)
        try:
            verifier.extend(islice(reader, step))
        except _TruncatedRecord as exc:
            raise VerificationError(
                f"entries.bin is truncated or corrupt at entry {verifier.size}: {exc}",
                index=verifier.size,
            ) from None
        except VerificationError as exc:
            raise _locate(exc, entries_path, verifier, proven, checkpoints) from None
        if progress is not None and verifier.size % PROGRESS_EVERY == 0 and verifier.size:
            progress(verifier.size)
        if verifier.size - before < step:
            return  # end of entries


def _read_records(path: Path, observe: Callable[[bytes], None]) -> Generator[bytes, None, None]:
    # Yields each record's entry bytes; `observe` sees the raw file (to hash it for the
    # manifest check) without a second read.
    with path.open("rb") as f:
        pending = b""
        while chunk := f.read(_CHUNK):
            observe(chunk)
            data = pending + chunk if pending else chunk
            pos, end_of_data = 0, len(data)
            while pos + 4 <= end_of_data:
                (length,) = _U32.unpack_from(data, pos)
                if length > _MAX_ENTRY:
                    raise _TruncatedRecord(f"record length {length} exceeds any entry")
                end = pos + 4 + length
                if end > end_of_data:
                    break
                yield data[pos + 4 : end]
                pos = end
            pending = data[pos:]
        if pending:
            raise _TruncatedRecord(f"{len(pending)} bytes of an incomplete record at the end")


def _entries_at(path: Path, wanted: set[int]) -> dict[int, bytes]:
    # Only used after a failure, to look at the neighbours of the bad entry.
    found: dict[int, bytes] = {}
    last = max(wanted)
    try:
        for index, entry in enumerate(_read_records(path, lambda _chunk: None)):
            if index in wanted:
                found[index] = entry
            if index >= last:
                break
    except _TruncatedRecord:
        pass
    return found


# --- naming the culprit ---------------------------------------------------------------------


def _locate(
    exc: VerificationError,
    entries_path: Path,
    verifier: LogVerifier,
    proven: int,
    checkpoints: dict[int, tuple[str, Checkpoint]],
) -> VerificationError:
    p = exc.index
    # LogVerifier sets `computed` (our chain hash) only when the prev link is what failed;
    # otherwise entry p itself is not canonical or not at its index.
    if p is None or exc.computed is None or p == 0:
        return exc
    # Entry p is canonical but its prev does not match: entry p-1 or entry p was altered.
    near = _entries_at(entries_path, {p, p + 1})
    entry = near[p]
    successor = near.get(p + 1)
    prev = decode_entry(entry).prev
    if proven == p:
        culprit, why = p, f"entries before {p} match a signed checkpoint"
    elif successor is not None:
        if _vouches_for(successor, p + 1, chain_hash(prev, leaf_hash(entry))):
            culprit, why = p - 1, f"entry {p + 1} confirms entry {p} as it is"
        else:
            culprit, why = p, f"entry {p + 1} does not confirm entry {p} either"
    elif _prev_repair_matches(entry, verifier, checkpoints.get(p + 1)):
        culprit, why = p, f"with a correct prev, entry {p} matches checkpoint size {p + 1}"
    else:
        culprit, why = p - 1, f"no later evidence; entry {p - 1} or {p}"
    return VerificationError(
        f"{exc.message}; first bad entry: {culprit} ({why})",
        index=culprit,
        expected=exc.expected,
        computed=exc.computed,
    )


def _root_mismatch(
    entries_path: Path,
    verifier: LogVerifier,
    name: str,
    checkpoint: Checkpoint,
    proven: int,
) -> VerificationError:
    size = checkpoint.size
    root = verifier.root()
    message = (
        f"checkpoint {name} signs root {checkpoint.root.hex()} for size {size}, but "
        f"entries 0..{size - 1} have root {root.hex()}"
    )
    culprit: int | None
    if size == 0:
        culprit, why = None, f"the empty tree's root is {EMPTY_ROOT.hex()}"
    else:
        successor = _entries_at(entries_path, {size}).get(size)
        if successor is None:
            # Altering any earlier entry would have broken a prev link: only the last one's
            # content is not vouched for by a later entry.
            culprit, why = size - 1, "the only entry no later prev vouches for"
        elif _vouches_for(successor, size, verifier.chain):
            culprit = None
            why = (
                f"entries are hash-chained through {size}, so either the chain from entry "
                f"{proven} on was rewritten or this checkpoint is not of this log"
            )
        else:
            culprit, why = size - 1, f"entry {size} records a different entry {size - 1}"
    if culprit is not None:
        message += f"; first bad entry: {culprit} ({why})"
    else:
        message += f" ({why})"
    return VerificationError(
        message,
        index=culprit,
        size=size,
        expected=checkpoint.root,
        computed=root,
        checkpoint=name,
    )


def _vouches_for(entry: bytes, index: int, chain: bytes) -> bool:
    # Does this canonical entry at `index` record `chain` as the chain hash before it?
    try:
        decoded = decode_entry(entry)
    except EntryFormatError:
        return False
    return decoded.index == index and decoded.prev == chain


def _prev_repair_matches(
    entry: bytes, verifier: LogVerifier, checkpoint: tuple[str, Checkpoint] | None
) -> bool:
    # If only entry p's prev field was altered, putting the computed chain hash back gives
    # the original entry, whose root must then match a checkpoint ending at it.
    if checkpoint is None:
        return False
    repaired = entry[:64] + verifier.chain + entry[96:]
    root = leaf_hash(repaired)
    for left in reversed(verifier.frontier):
        root = node_hash(left, root)
    return root == checkpoint[1].root


# --- files ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Manifest:
    origin: str
    size: int
    entries_sha256: str


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise VerificationError(f"bundle has no {path.name}") from None
    except UnicodeDecodeError:
        raise VerificationError(f"{path.name} is not UTF-8") from None
    except OSError as exc:
        raise VerificationError(f"cannot read {path.name}: {exc.strerror}") from None


def _read_manifest(path: Path) -> _Manifest:
    try:
        data = json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise VerificationError(f"manifest.json is not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != BUNDLE_FORMAT:
        raise VerificationError(f"manifest.json is not an {BUNDLE_FORMAT} manifest")
    origin, size, sha = data.get("origin"), data.get("size"), data.get("entries_sha256")
    if not isinstance(origin, str) or not origin:
        raise VerificationError("manifest.json: origin must be a non-empty string")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise VerificationError("manifest.json: size must be a non-negative integer")
    if not isinstance(sha, str) or not re.fullmatch(r"[0-9a-f]{64}", sha):
        raise VerificationError("manifest.json: entries_sha256 must be 64 lowercase hex digits")
    return _Manifest(origin=origin, size=size, entries_sha256=sha)


def _read_checkpoints(directory: Path, vkey: str, origin: str) -> dict[int, tuple[str, Checkpoint]]:
    if not directory.is_dir():
        raise VerificationError("bundle has no checkpoints directory")
    found: dict[int, tuple[str, Checkpoint]] = {}
    for item in sorted(directory.iterdir()):
        name = item.name
        if name.startswith("."):
            continue  # editor and OS droppings are not part of the bundle
        match = _CHECKPOINT_NAME.fullmatch(name)
        if match is None or not item.is_file():
            raise VerificationError(
                f"unexpected {name!r} in checkpoints/: names are <20-digit size>.note",
                checkpoint=name,
            )
        size = int(match.group(1))
        try:
            checkpoint = verify_checkpoint(_read_text(item), vkey, origin=origin)
        except VerificationError as exc:
            raise VerificationError(f"checkpoint {name}: {exc.message}", size=size, checkpoint=name) from None
        if checkpoint.size != size:
            raise VerificationError(
                f"checkpoint {name} is for size {checkpoint.size}, not {size}",
                size=checkpoint.size,
                checkpoint=name,
            )
        found[size] = (name, checkpoint)
    if not found:
        raise VerificationError("bundle has no signed checkpoint, so nothing vouches for it")
    return found


# --- release packages -----------------------------------------------------------------------

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_FILE_NAME = re.compile(r"(records|entries|proofs)/[0-9a-z.-]+|checkpoint\.note|vkey")


class PackageVerificationError(VerificationError):
    """A release package failed; ``record`` names the read id at fault when one is."""

    def __init__(self, message: str, *, record: str | None = None, index: int | None = None) -> None:
        super().__init__(message, index=index)
        self.record = record


@dataclass(frozen=True, slots=True)
class PackageReport(BundleReport):
    """What an intact release package proved: each record is in the log under ``latest``."""

    disclosure_id: str
    records: tuple[str, ...]


def _manifest_format(path: Path) -> object:
    # Only to choose the verifier: a broken manifest is reported by the bundle checks.
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data.get("format") if isinstance(data, dict) else None


def _read_bytes(path: Path, what: str, record: str | None = None) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise PackageVerificationError(f"package has no {what}", record=record) from None
    except OSError as exc:
        raise PackageVerificationError(f"cannot read {what}: {exc.strerror}", record=record) from None


def verify_package(path: str | os.PathLike[str], *, vkey: str | None = None) -> PackageReport:
    """Verify the release package directory at ``path``.

    Checks the checkpoint's signature (with the package's ``vkey``, which must equal ``vkey`` when
    given) and, for every record: its state bytes hash to its entry's ``state_sha256``, the entry
    names the read as its originator and sits at the stated index, and the inclusion proof leads
    to the checkpoint's root from that entry. Then every file against the manifest's digests.
    Raises :class:`PackageVerificationError` naming the record (``.record``) at fault.
    """
    package = Path(path)
    try:
        manifest = json.loads(_read_text(package / "manifest.json"))
    except json.JSONDecodeError as exc:
        raise PackageVerificationError(f"manifest.json is not JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != PACKAGE_FORMAT:
        raise PackageVerificationError(f"manifest.json is not an {PACKAGE_FORMAT} manifest")
    origin = manifest.get("origin")
    size = manifest.get("checkpoint_size")
    records = manifest.get("records")
    released = manifest.get("released_read_ids")
    files = manifest.get("files")
    disclosure_id = manifest.get("disclosure_id")
    if not isinstance(origin, str) or not origin:
        raise PackageVerificationError("manifest.json: origin must be a non-empty string")
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise PackageVerificationError("manifest.json: checkpoint_size must be a positive integer")
    if not isinstance(disclosure_id, str):
        raise PackageVerificationError("manifest.json: disclosure_id must be a string")
    if not isinstance(records, list) or not records:
        raise PackageVerificationError("manifest.json: records must be a non-empty list")
    if not isinstance(released, list) or not isinstance(files, dict):
        raise PackageVerificationError("manifest.json: released_read_ids must be a list and files an object")

    package_vkey = _read_text(package / "vkey").strip()
    if vkey is not None and package_vkey != vkey.strip():
        raise PackageVerificationError(f"package is signed by {package_vkey!r}, not by {vkey!r}")
    try:
        checkpoint = verify_checkpoint(_read_text(package / "checkpoint.note"), package_vkey, origin=origin)
    except VerificationError as exc:
        raise PackageVerificationError(f"checkpoint.note: {exc.message}") from None
    if checkpoint.size != size:
        raise PackageVerificationError(f"checkpoint.note is for size {checkpoint.size}, manifest says {size}")

    seen: list[str] = []
    for position, record in enumerate(records):
        seen.append(_verify_record(package, record, position, checkpoint))
    if sorted(seen) != sorted(str(r) for r in released) or len(set(seen)) != len(seen):
        raise PackageVerificationError(
            "manifest.json: released_read_ids and records do not list the same reads once each"
        )
    _verify_files(package, files, seen)
    return PackageReport(
        origin=origin,
        size=checkpoint.size,
        root=checkpoint.root,
        checkpoints_checked=1,
        latest=checkpoint,
        vkey=package_vkey,
        disclosure_id=disclosure_id,
        records=tuple(seen),
    )


def _verify_record(package: Path, record: object, position: int, checkpoint: Checkpoint) -> str:
    if not isinstance(record, dict):
        raise PackageVerificationError(f"manifest.json: records[{position}] must be an object")
    read_id, index, state_sha = record.get("read_id"), record.get("ledger_index"), record.get("state_sha256")
    if not isinstance(read_id, str) or _UUID.fullmatch(read_id) is None:
        raise PackageVerificationError(f"manifest.json: records[{position}].read_id must be a lowercase UUID")
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise PackageVerificationError(
            f"record {read_id}: ledger_index must be a non-negative integer", record=read_id
        )
    if not isinstance(state_sha, str) or _SHA256_HEX.fullmatch(state_sha) is None:
        raise PackageVerificationError(
            f"record {read_id}: state_sha256 must be 64 lowercase hex digits", record=read_id
        )

    def fail(message: str) -> PackageVerificationError:
        # No ``index``: callers print it as "first bad entry", which a bad record byte is not.
        return PackageVerificationError(f"record {read_id} (ledger index {index}): {message}", record=read_id)

    # File names are built here from the checked id and index, never taken from the manifest.
    state = _read_bytes(package / "records" / f"{read_id}.state", f"records/{read_id}.state", read_id)
    state_digest = hashlib.sha256(state).digest()
    if state_digest.hex() != state_sha:
        raise fail(f"state bytes have SHA-256 {state_digest.hex()}, the manifest says {state_sha}")
    entry_bytes = _read_bytes(package / "entries" / f"{index}.bin", f"entries/{index}.bin", read_id)
    try:
        entry = decode_entry(entry_bytes)
    except EntryFormatError as exc:
        raise fail(f"entries/{index}.bin is not a canonical entry: {exc}") from None
    if entry.index != index:
        raise fail(f"the entry is at index {entry.index}, not {index}")
    if entry.originator_id != read_id:
        raise fail(f"the entry's originator is {entry.originator_id}, not this read")
    if entry.state_sha256 != state_digest:
        raise fail(
            f"the entry commits to state SHA-256 {entry.state_sha256.hex()}, "
            f"the record's bytes hash to {state_digest.hex()}"
        )
    proof_name = f"proofs/{index}.json"
    try:
        proof = json.loads(
            _read_bytes(package / "proofs" / f"{index}.json", proof_name, read_id).decode("utf-8")
        )
        hashes = [base64.b64decode(h, validate=True) for h in proof["proof"]]
        proof_leaf = base64.b64decode(proof["leaf_hash"], validate=True)
        proof_index, proof_size = proof["index"], proof["size"]
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, binascii.Error) as exc:
        raise fail(f"{proof_name} is malformed: {exc}") from None
    leaf = leaf_hash(entry_bytes)
    if proof_index != index or proof_size != checkpoint.size:
        raise fail(
            f"{proof_name} is for index {proof_index} in size {proof_size}, not {index} in {checkpoint.size}"
        )
    if proof_leaf != leaf:
        raise fail(f"{proof_name} is for leaf {proof_leaf.hex()}, the entry's leaf hash is {leaf.hex()}")
    try:
        verify_inclusion(leaf, index, checkpoint.size, hashes, checkpoint.root)
    except VerificationError as exc:
        raise fail(f"inclusion proof does not lead to the signed root: {exc.message}") from None
    return read_id


def _verify_files(package: Path, files: dict[object, object], records: list[str]) -> None:
    owners = {f"records/{r}.json": r for r in records}
    for name, digest in files.items():
        if not isinstance(name, str) or _FILE_NAME.fullmatch(name) is None or ".." in name:
            raise PackageVerificationError(f"manifest.json: unexpected file name {name!r}")
        record = owners.get(name)
        data = _read_bytes(package / name, name, record)
        if hashlib.sha256(data).hexdigest() != digest:
            where = f"record {record}: " if record else ""
            raise PackageVerificationError(
                f"{where}{name} does not match its SHA-256 in the manifest", record=record
            )
