"""The blob store: image bytes beside (never inside) the events, each sealed under its read's data key.

Layout: ``<root>/<2 hex of record id>/<record id>/<SHA-256 of the image>``. A blob belongs to one
record: its bytes are AES-256-GCM under that record's data key (the key that seals the read's
personal fields), bound by associated data to the record id and the image's digest, so destroying
the key shreds the image with the read, and a blob copied to another record or name does not open.
The event references the image by the SHA-256 of its plaintext (itself a sealed field).

A blob is written to a temporary file in its final directory, flushed to disk and renamed into
place, so a reader sees the whole blob or none of it; a crash leaves at most a stray ``.tmp-*``.
``put`` is idempotent per (record, image). Purges also delete a shredded record's directory
(:meth:`BlobStore.delete_record`): the key's destruction already made it unreadable, and deleting
the files keeps the store from growing with data nobody can open.

    ref = store.put(jpeg_bytes, record_id=read_id, key=dek)   # "9f86d0..." (64 lowercase hex)
    assert store.get(ref, record_id=read_id, key=dek) == jpeg_bytes
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_MAGIC = b"ALB1"
_NONCE = 12
_AAD = b"alpr-ledger/blob/1\x00"


class BlobNotFoundError(KeyError):
    """No blob with this digest is stored for this record."""


class BlobCorruptedError(ValueError):
    """A stored blob does not open under its record's key, or no longer hashes to its name."""


def blob_digest(data: bytes) -> str:
    """The reference of ``data``: its SHA-256 as 64 lowercase hex characters."""
    return hashlib.sha256(data).hexdigest()


def _aad(record_id: UUID, sha256: str) -> bytes:
    return _AAD + f"{record_id}\x00{sha256}".encode()


def _aead(key: bytes) -> AESGCM:
    if len(key) != 32:
        raise ValueError(f"a data key is 32 bytes (AES-256), got {len(key)}")
    return AESGCM(key)


class BlobStore:
    """Sealed image bytes under ``root`` (created on first write)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def record_dir(self, record_id: UUID) -> Path:
        text = str(UUID(str(record_id)))
        return self.root / text[:2] / text

    def path_for(self, sha256: str, *, record_id: UUID) -> Path:
        # Checked here because the digest becomes a file name: anything else could escape root.
        if _SHA256_HEX.fullmatch(sha256) is None:
            raise ValueError(f"not a lowercase hex SHA-256 digest: {sha256!r}")
        return self.record_dir(record_id) / sha256

    def exists(self, sha256: str, *, record_id: UUID) -> bool:
        return self.path_for(sha256, record_id=record_id).is_file()

    def put(self, data: bytes, *, record_id: UUID, key: bytes) -> str:
        """Seal ``data`` under ``key`` for ``record_id`` (if not already there); its digest."""
        sha256 = blob_digest(data)
        final = self.path_for(sha256, record_id=record_id)
        if final.is_file():
            return sha256
        nonce = os.urandom(_NONCE)
        sealed = _MAGIC + nonce + _aead(key).encrypt(nonce, data, _aad(record_id, sha256))
        final.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=final.parent)  # 0600
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(sealed)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, final)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _fsync_dir(final.parent)
        return sha256

    def get(self, sha256: str, *, record_id: UUID, key: bytes) -> bytes:
        """The image stored under ``sha256`` for ``record_id``; raises if missing or altered."""
        try:
            sealed = self.path_for(sha256, record_id=record_id).read_bytes()
        except FileNotFoundError:
            raise BlobNotFoundError(sha256) from None
        if not sealed.startswith(_MAGIC) or len(sealed) < len(_MAGIC) + _NONCE + 16:
            raise BlobCorruptedError(f"blob {sha256} of {record_id} is not a sealed blob")
        body = sealed[len(_MAGIC) :]
        try:
            data = _aead(key).decrypt(body[:_NONCE], body[_NONCE:], _aad(record_id, sha256))
        except InvalidTag:
            raise BlobCorruptedError(f"blob {sha256} of {record_id} fails its integrity check") from None
        if blob_digest(data) != sha256:  # pragma: no cover - the associated data already binds it
            raise BlobCorruptedError(f"blob {sha256} does not hash to its name")
        return data

    def delete_record(self, record_id: UUID) -> int:
        """Delete every blob of a (shredded) record; how many files went."""
        directory = self.record_dir(record_id)
        if not directory.is_dir():
            return 0
        count = sum(1 for p in directory.iterdir() if p.is_file())
        shutil.rmtree(directory, ignore_errors=True)
        return count


def _fsync_dir(path: Path) -> None:
    # Makes the rename durable; not every platform lets a directory be opened.
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


__all__ = ["BlobCorruptedError", "BlobNotFoundError", "BlobStore", "blob_digest"]
