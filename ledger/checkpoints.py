"""Signed checkpoints: C2SP tlog-checkpoint bodies signed as C2SP signed notes with Ed25519.

The key is handed in (the composition root loads it); :func:`load_or_create_signing_key` is the
edge that touches the file system.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.store import LedgerStore, StoredCheckpoint
from ledger.verify._note import (
    assemble_note,
    format_checkpoint_body,
    format_signature_line,
    format_vkey,
)


class CheckpointNotFoundError(LookupError):
    """No checkpoint was signed at the requested size."""

    parameter = "size"


class SigningKeyError(RuntimeError):
    """The configured signing key cannot be used."""


def load_or_create_signing_key(path: Path, *, create: bool) -> Ed25519PrivateKey:
    """Load a PEM (PKCS#8) Ed25519 key; create it with mode 0600 when allowed and missing."""
    if path.exists():
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (ValueError, TypeError) as exc:
            raise SigningKeyError(f"{path}: not a PEM private key without password") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningKeyError(f"{path}: not an Ed25519 key")
        return key
    if not create:
        raise SigningKeyError(f"{path}: signing key file does not exist")
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        # O_EXCL: two processes starting at once must not each write a different key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return load_or_create_signing_key(path, create=False)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    return key


@dataclass(frozen=True)
class CheckpointSigner:
    origin: str
    key: Ed25519PrivateKey

    @property
    def public_key(self) -> bytes:
        return self.key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    @property
    def vkey(self) -> str:
        return format_vkey(self.origin, self.public_key)

    def sign(self, size: int, root: bytes) -> str:
        body = format_checkpoint_body(self.origin, size, root)
        signature = self.key.sign(body.encode("utf-8"))
        return assemble_note(body, [format_signature_line(self.origin, self.public_key, signature)])


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Checkpointer:
    """Signs the log's current size on demand and keeps every signed checkpoint."""

    def __init__(
        self, store: LedgerStore, signer: CheckpointSigner, clock: Callable[[], datetime] = _utcnow
    ) -> None:
        self.store = store
        self.signer = signer
        self.clock = clock

    def checkpoint(self) -> StoredCheckpoint:
        """The checkpoint at the current size, signing one if the log grew since the last."""
        size = self.store.size()
        existing = self.store.checkpoint_at(size)
        if existing is not None:
            return existing
        root = self.store.root_at(size)
        signed = StoredCheckpoint(size, root, self.signer.sign(size, root), self.clock())
        self.store.add_checkpoint(signed)
        # Another process may have signed this size first: keep and return the stored one.
        stored = self.store.checkpoint_at(size)
        return stored if stored is not None else signed

    def checkpoint_at(self, size: int) -> StoredCheckpoint:
        """A checkpoint signed earlier, so auditors can fetch any two and ask for consistency."""
        found = self.store.checkpoint_at(size)
        if found is None:
            raise CheckpointNotFoundError(f"no checkpoint was signed at size {size}")
        return found

    def checkpoint_if_grown(self) -> StoredCheckpoint | None:
        latest = self.store.latest_checkpoint()
        if latest is not None and latest.size == self.store.size():
            return None
        return self.checkpoint()
