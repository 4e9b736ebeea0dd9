"""The blob store: image bytes kept by the SHA-256 of their content, beside (never inside) the events.

Layout: ``<root>/<first two hex chars>/<64 hex chars>``, so no directory grows past 1/256 of the
store. A blob is written to a temporary file in its final directory, flushed to disk and renamed
into place, so a reader sees the whole blob or none of it, and a crash leaves at most a stray
``.tmp-*`` file. Content addressing makes ``put`` idempotent and lets two reads share one image.

Plain for now. The sealing issue encrypts each blob with its record's data key so that destroying
the key shreds the image too; ``put``/``get`` already take the ``key`` argument that will carry it.

    store = BlobStore(Path("data/blobs"))
    ref = store.put(jpeg_bytes)        # "9f86d0..." (64 lowercase hex)
    assert store.get(ref) == jpeg_bytes
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class BlobNotFoundError(KeyError):
    """No blob with this digest is stored."""


class BlobCorruptedError(ValueError):
    """A stored blob's bytes no longer hash to its name: the file was altered or damaged."""


def blob_digest(data: bytes) -> str:
    """The reference of ``data`` in the store: its SHA-256 as 64 lowercase hex characters."""
    return hashlib.sha256(data).hexdigest()


class BlobStore:
    """Content-addressed bytes under ``root`` (created on first write)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_for(self, sha256: str) -> Path:
        # Checked here because the digest becomes a file name: anything else could escape root.
        if _SHA256_HEX.fullmatch(sha256) is None:
            raise ValueError(f"not a lowercase hex SHA-256 digest: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def put(self, data: bytes, *, key: bytes | None = None) -> str:
        """Store ``data`` (if not already there) and return its digest."""
        _plain_only(key)
        sha256 = blob_digest(data)
        final = self.path_for(sha256)
        if final.is_file():
            return sha256
        final.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # mkstemp creates the file 0600: images are personal data.
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=final.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, final)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _fsync_dir(final.parent)
        return sha256

    def get(self, sha256: str, *, key: bytes | None = None) -> bytes:
        """The bytes stored under ``sha256``; raises if missing or if they no longer match it."""
        _plain_only(key)
        try:
            data = self.path_for(sha256).read_bytes()
        except FileNotFoundError:
            raise BlobNotFoundError(sha256) from None
        if blob_digest(data) != sha256:
            raise BlobCorruptedError(f"blob {sha256} does not hash to its name")
        return data


def _plain_only(key: bytes | None) -> None:
    if key is not None:
        raise NotImplementedError("sealed blobs arrive with the sealing issue; this store is plain")


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
