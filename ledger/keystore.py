"""The key store: master key, key-encryption keys (KEKs) and per-record data keys (DEKs).

Personal fields are sealed under a record's data key (``ledger.sealing``). Destroying keys here is
how records are shredded: the events stay, append-only and verifiable, but nothing can open them.

Hierarchy::

    master key (file, environment, or a KMS/HSM behind ``MasterKey``)
      └─ KEK "<retention class>:<capture day>"   e.g. "reads:2026-11-23", or "case:<case id>"
           └─ DEK of one record (uuid)            32 bytes, AES-256-GCM

- Destroying one KEK shreds every record of that class and day at once (``destroy_kek``); its DEK
  rows are deleted with it, so a copy of this store taken later holds nothing for them.
- Destroying one DEK shreds one record (erroneous read, court order: ``destroy_dek``).
- A record placed on hold is re-keyed under a case KEK before its day's KEK is destroyed (``rekey``).

Every wrapped key is AES-256-GCM with associated data naming what it is (the KEK id; the record id
and its KEK id for a DEK), so a wrapped key moved to another row, or a DEK row pointed at another
KEK, fails to unwrap with :class:`KeyIntegrityError` instead of yielding a wrong key.

The store is separate from the event store (its own SQLite file, or its own PostgreSQL schema): a
copy of the event store alone opens nothing. It is the one place in the system where rows are
deleted. The ``destroyed`` table keeps, without key material, which key was destroyed, when and
why, so an audit can see it. Destroyed ids are never reused: creating a key under a destroyed KEK
or for a destroyed record raises :class:`KeyDestroyedError`.

What this store cannot do on its own: a copy of the KEY store taken before a destruction, together
with the master key, still opens the records it covered. Keep key-store backups short-lived, or
rotate the master key (re-wrap every KEK under a new one, then destroy the old) so that old
copies become useless. Master-key rotation is not implemented yet.

Adapters: ``ledger.keystore_sqlite.SQLiteKeyStore`` and ``ledger.keystore_postgres.PostgresKeyStore``.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Protocol
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
"""AES-256: every key in the hierarchy (master, KEK, DEK) is 32 random bytes."""

NONCE_BYTES = 12
_WRAP_VERSION = b"\x01"
_KEK_AAD = b"alpr-ledger/kek/1\x00"
_DEK_AAD = b"alpr-ledger/dek/1\x00"

RETENTION_CLASS_PATTERN = re.compile(r"[a-z][a-z0-9_.-]{0,63}")
"""Retention classes are short codes; no ':' so that a KEK id splits unambiguously."""
_LABEL_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")

DEFAULT_CACHE_SIZE = 1024
"""Unwrapped KEKs kept in memory: a few classes times the days still held is far below this."""


class KeyStoreError(Exception):
    """Base class of the key store's errors."""


class KeyIntegrityError(KeyStoreError):
    """A wrapped key does not unwrap: altered, swapped to another row, or wrapped by another key."""


class KeyDestroyedError(KeyStoreError):
    """The key (or the KEK it would belong to) was destroyed; destroyed ids are never reused."""


class UnknownKeyError(KeyStoreError, LookupError):
    """No such key exists (and it was not destroyed)."""


class ConcurrentKeyChangeError(KeyStoreError):
    """Another writer changed the key while this one was changing it; nothing was written."""


class MasterKey(Protocol):
    """Wraps and unwraps KEKs. A KMS or HSM client can stand in for :class:`LocalMasterKey`.

    ``unwrap`` must raise :class:`KeyIntegrityError` when ``blob`` was altered or ``aad`` differs.
    """

    def wrap(self, plaintext: bytes, aad: bytes) -> bytes: ...

    def unwrap(self, blob: bytes, aad: bytes) -> bytes: ...


def aead_wrap(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """``0x01 || nonce(12) || AES-256-GCM(plaintext, aad)``; a random nonce per wrap."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    return _WRAP_VERSION + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def aead_unwrap(key: bytes, blob: bytes, aad: bytes) -> bytes:
    """The inverse of :func:`aead_wrap`; :class:`KeyIntegrityError` on any mismatch."""
    blob = bytes(blob)
    if len(blob) < 1 + NONCE_BYTES + 16 or blob[:1] != _WRAP_VERSION:
        raise KeyIntegrityError("wrapped key has an unknown format")
    try:
        return AESGCM(key).decrypt(blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :], aad)
    except InvalidTag:
        raise KeyIntegrityError("wrapped key fails its integrity check (altered or moved)") from None


class LocalMasterKey:
    """A 32-byte master key held in this process (from a file or an environment setting)."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"master key must be {KEY_BYTES} bytes, got {len(key)}")
        self._key = bytes(key)

    def __repr__(self) -> str:  # never print the key
        return "LocalMasterKey(<redacted>)"

    @classmethod
    def generate(cls) -> LocalMasterKey:
        return cls(secrets.token_bytes(KEY_BYTES))

    @classmethod
    def from_file(cls, path: Path, *, create: bool = True) -> LocalMasterKey:
        """The key in ``path`` (exactly 32 raw bytes); created with mode 0600 if absent and ``create``.

        A file that group or others may read is refused: the master key opens every record.
        """
        path = Path(path)
        if create and not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            key = secrets.token_bytes(KEY_BYTES)
            # O_EXCL: two processes starting at once cannot both create (and one overwrite) the key.
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "wb") as f:
                    f.write(key)
                    f.flush()
                    os.fsync(f.fileno())
                return cls(key)
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise PermissionError(f"master key file {path.name} has mode {mode:04o}; it must be 0600")
        data = path.read_bytes()
        for _ in range(50):  # another process created the file a moment ago and is still writing it
            if data:
                break
            time.sleep(0.02)
            data = path.read_bytes()
        if len(data) != KEY_BYTES:
            raise ValueError(f"master key file {path.name} must hold {KEY_BYTES} bytes, has {len(data)}")
        return cls(data)

    @classmethod
    def from_text(cls, text: str) -> LocalMasterKey:
        """A key given as base64 (standard or URL-safe) text, e.g. from an environment variable."""
        raw = text.strip()
        try:
            key = base64.urlsafe_b64decode(raw.replace("+", "-").replace("/", "_") + "=" * (-len(raw) % 4))
        except (binascii.Error, ValueError):
            raise ValueError("master key text must be base64") from None
        return cls(key)

    def to_text(self) -> str:
        """The key as URL-safe base64, for an environment setting (:meth:`from_text` reads it)."""
        return base64.urlsafe_b64encode(self._key).decode("ascii").rstrip("=")

    def wrap(self, plaintext: bytes, aad: bytes) -> bytes:
        return aead_wrap(self._key, plaintext, aad)

    def unwrap(self, blob: bytes, aad: bytes) -> bytes:
        return aead_unwrap(self._key, blob, aad)


def load_master_key(*, file: Path | None = None, text: str | None = None) -> LocalMasterKey:
    """The master key from an environment-provided ``text`` if given, else from ``file``."""
    if text:
        return LocalMasterKey.from_text(text)
    if file is None:
        raise ValueError("a master key needs a file or a text value")
    return LocalMasterKey.from_file(file)


# --------------------------------------------------------------------------------------------
# Ids and associated data
# --------------------------------------------------------------------------------------------


def kek_id_for(retention_class: str, day: date) -> str:
    """The id of the KEK of ``retention_class`` for records captured on ``day``."""
    return make_kek_id(retention_class, day.isoformat())


def make_kek_id(retention_class: str, label: str) -> str:
    """A KEK id ``"<class>:<label>"`` (label: a day, or e.g. a case id for hold keys)."""
    if RETENTION_CLASS_PATTERN.fullmatch(retention_class) is None:
        raise ValueError(f"retention class {retention_class!r} must match {RETENTION_CLASS_PATTERN.pattern}")
    if _LABEL_PATTERN.fullmatch(label) is None:
        raise ValueError(f"KEK label {label!r} must match {_LABEL_PATTERN.pattern}")
    return f"{retention_class}:{label}"


def parse_kek_id(kek_id: str) -> tuple[str, date | None]:
    """``(retention class, day)``; day is None when the label is not an ISO date (case keys)."""
    retention_class, sep, label = kek_id.partition(":")
    if not sep:
        raise ValueError(f"not a KEK id: {kek_id!r}")
    make_kek_id(retention_class, label)  # validates both parts
    try:
        return retention_class, date.fromisoformat(label)
    except ValueError:
        return retention_class, None


def kek_aad(kek_id: str) -> bytes:
    return _KEK_AAD + kek_id.encode()


def dek_aad(record_id: UUID, kek_id: str) -> bytes:
    return _DEK_AAD + str(record_id).encode() + b"\x00" + kek_id.encode()


def utc_now() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------------------------
# Rows the adapters hand back
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WrappedDek:
    kek_id: str
    wrapped: bytes


@dataclass(frozen=True, slots=True)
class KekInfo:
    kek_id: str
    retention_class: str
    day: date | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Destruction:
    """One row of the ``destroyed`` table: no key material, only what, when and why."""

    key_id: str
    """The KEK id, or the record id (uuid text) of a DEK."""
    kind: str
    """"kek" or "dek"."""
    destroyed_at: datetime
    reason: str
    kek_id: str | None
    """For a DEK: the KEK it was under. None for a KEK."""
    dek_count: int
    """For a KEK: how many DEKs were destroyed with it. 1 for a DEK."""


# --------------------------------------------------------------------------------------------
# The store
# --------------------------------------------------------------------------------------------


class KeyStore(ABC):
    """Key hierarchy logic over an adapter's tables; all crypto happens here, not in SQL.

    Thread-safe. ``clock`` stamps creations and destructions (inject one in tests).
    """

    def __init__(
        self,
        master: MasterKey,
        *,
        cache_size: int = DEFAULT_CACHE_SIZE,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.master = master
        self.clock = clock
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()

    # -- adapter interface (each call is one transaction) -------------------------------------

    @abstractmethod
    def _select_kek(self, kek_id: str) -> bytes | None:
        """The wrapped KEK, or None."""

    @abstractmethod
    def _insert_kek(
        self, kek_id: str, retention_class: str, day: date | None, wrapped: bytes, now: datetime
    ) -> bytes:
        """Insert unless present (raise KeyDestroyedError if destroyed); return the stored wrapped KEK."""

    @abstractmethod
    def _insert_deks(self, rows: Sequence[tuple[UUID, str, bytes]], now: datetime) -> dict[UUID, WrappedDek]:
        """Insert (record id, kek id, wrapped) unless the record has a DEK; return the rows of the
        records that already had one (those were not inserted).

        Raise KeyDestroyedError if a record's DEK or the KEK was destroyed (also when the KEK row is
        gone because another process destroyed it: the foreign key refuses the insert).
        """

    @abstractmethod
    def _select_deks(self, record_ids: Sequence[UUID]) -> dict[UUID, WrappedDek]: ...

    @abstractmethod
    def _swap_dek(self, record_id: UUID, old: WrappedDek, new: WrappedDek) -> bool:
        """Replace the row if it still equals ``old`` (compare-and-set); False if it changed."""

    @abstractmethod
    def _delete_kek(self, kek_id: str, now: datetime, reason: str) -> int | None:
        """Delete the KEK and all its DEKs and record it; DEK count, or None if no such KEK."""

    @abstractmethod
    def _delete_dek(self, record_id: UUID, now: datetime, reason: str) -> bool: ...

    @abstractmethod
    def _select_destroyed(self, key_id: str | None) -> list[Destruction]: ...

    @abstractmethod
    def _select_keks(self, retention_class: str | None, before: date | None) -> list[KekInfo]: ...

    @abstractmethod
    def _select_records_of_classes(self, classes: Sequence[str]) -> set[UUID]: ...

    @abstractmethod
    def close(self) -> None: ...

    # -- KEKs ---------------------------------------------------------------------------------

    def _cached(self, kek_id: str) -> bytes | None:
        with self._cache_lock:
            kek = self._cache.get(kek_id)
            if kek is not None:
                self._cache.move_to_end(kek_id)
            return kek

    def _remember(self, kek_id: str, kek: bytes) -> None:
        with self._cache_lock:
            self._cache[kek_id] = kek
            self._cache.move_to_end(kek_id)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    def _forget(self, kek_id: str) -> None:
        with self._cache_lock:
            self._cache.pop(kek_id, None)

    def clear_cache(self) -> None:
        with self._cache_lock:
            self._cache.clear()

    def _kek(self, kek_id: str) -> bytes | None:
        kek = self._cached(kek_id)
        if kek is not None:
            return kek
        wrapped = self._select_kek(kek_id)
        if wrapped is None:
            return None
        kek = self.master.unwrap(wrapped, kek_aad(kek_id))
        self._remember(kek_id, kek)
        return kek

    def ensure_kek(self, kek_id: str) -> None:
        """Create the KEK ``kek_id`` if it does not exist (KeyDestroyedError if it was destroyed)."""
        self._ensure_kek(kek_id)

    def _ensure_kek(self, kek_id: str) -> bytes:
        kek = self._kek(kek_id)
        if kek is not None:
            return kek
        retention_class, day = parse_kek_id(kek_id)
        fresh = secrets.token_bytes(KEY_BYTES)
        # Another process may win the insert: the stored one is the KEK, whichever it is.
        stored = self._insert_kek(
            kek_id, retention_class, day, self.master.wrap(fresh, kek_aad(kek_id)), self.clock()
        )
        kek = self.master.unwrap(stored, kek_aad(kek_id))
        self._remember(kek_id, kek)
        return kek

    def keks(self, *, retention_class: str | None = None, before: date | None = None) -> list[KekInfo]:
        """Live KEKs, optionally of one class and with a day before ``before`` (what has fallen due)."""
        return self._select_keks(retention_class, before)

    def destroy_kek(self, kek_id: str, *, reason: str) -> int | None:
        """Destroy the KEK and every DEK under it, in one transaction; how many DEKs went with it.

        None if there was no such KEK (never created, or already destroyed: see :meth:`destruction`).
        """
        try:
            return self._delete_kek(kek_id, self.clock(), reason)
        finally:
            self._forget(kek_id)

    # -- DEKs ---------------------------------------------------------------------------------

    def create_data_key(self, record_id: UUID, retention_class: str, day: date) -> bytes:
        """The new data key of ``record_id`` under the KEK of (class, day), created on first use.

        Idempotent: a record that already has a DEK gets that one back (a retried ingest).
        """
        return self.create_data_keys([(record_id, retention_class, day)])[record_id]

    def create_data_keys(self, items: Iterable[tuple[UUID, str, date]]) -> dict[UUID, bytes]:
        """:meth:`create_data_key` for a batch, in one transaction per call (the ingest path)."""
        return self.create_data_keys_under([(rid, kek_id_for(cls, day)) for rid, cls, day in items])

    def create_data_keys_under(self, items: Iterable[tuple[UUID, str]]) -> dict[UUID, bytes]:
        """New data keys for (record id, kek id) pairs; KEKs are created on first use."""
        wanted: dict[UUID, str] = {}
        for record_id, kek_id in items:
            wanted.setdefault(record_id, kek_id)  # a record named twice gets one key, the first KEK
        if not wanted:
            return {}
        wrappers: dict[str, AESGCM] = {}
        fresh: dict[UUID, bytes] = {}
        rows: list[tuple[UUID, str, bytes]] = []
        # One read of the OS random source for the whole batch (the ingest path): key, then nonce.
        chunk = KEY_BYTES + NONCE_BYTES
        randomness = secrets.token_bytes(chunk * len(wanted))
        for i, (record_id, kek_id) in enumerate(wanted.items()):
            aead = wrappers.get(kek_id)
            if aead is None:
                aead = wrappers[kek_id] = AESGCM(self._ensure_kek(kek_id))
            dek = randomness[i * chunk : i * chunk + KEY_BYTES]
            nonce = randomness[i * chunk + KEY_BYTES : (i + 1) * chunk]
            wrapped = _WRAP_VERSION + nonce + aead.encrypt(nonce, dek, dek_aad(record_id, kek_id))
            fresh[record_id] = dek
            rows.append((record_id, kek_id, wrapped))
        try:
            existing = self._insert_deks(rows, self.clock())
        except KeyDestroyedError:
            for kek_id in wrappers:  # a KEK destroyed by another process: stop trusting the cache
                self._forget(kek_id)
            raise
        for record_id, row in existing.items():  # a retried ingest: the stored key is the key
            fresh[record_id] = self._unwrap_dek(record_id, row)
        return fresh

    def _unwrap_dek(self, record_id: UUID, row: WrappedDek) -> bytes:
        kek = self._kek(row.kek_id)
        if kek is None:
            # The foreign key keeps a DEK from outliving its KEK; reaching here means tampering.
            raise KeyIntegrityError(f"data key of {record_id} names KEK {row.kek_id!r}, which is missing")
        return aead_unwrap(kek, row.wrapped, dek_aad(record_id, row.kek_id))

    def data_key(self, record_id: UUID) -> bytes | None:
        """The data key of ``record_id``, or None when it is gone (destroyed: report "purged")."""
        return self.data_keys([record_id]).get(record_id)

    def data_keys(self, record_ids: Iterable[UUID]) -> dict[UUID, bytes]:
        """Data keys of the records that still have one (missing ids are destroyed or unknown)."""
        rows = self._select_deks(list(dict.fromkeys(record_ids)))
        return {record_id: self._unwrap_dek(record_id, row) for record_id, row in rows.items()}

    def kek_of(self, record_id: UUID) -> str | None:
        """The KEK id the record's data key is under, or None if it has none."""
        row = self._select_deks([record_id]).get(record_id)
        return None if row is None else row.kek_id

    def records_of_classes(self, classes: Iterable[str]) -> set[UUID]:
        """Records whose data key sits under a KEK of one of ``classes`` (e.g. the reads kept on
        holds and cases while their day is shredded); no key material is read."""
        wanted = sorted(set(classes))
        return self._select_records_of_classes(wanted) if wanted else set()

    def rekey(self, record_id: UUID, new_kek_id: str) -> None:
        """Move the record's data key under ``new_kek_id`` (created on first use), e.g. a case KEK.

        The data key itself is unchanged, so sealed fields stay readable; only its wrapping changes,
        by compare-and-set, so a concurrent destroy or rekey either happens wholly before or after.
        """
        new_kek = self._ensure_kek(new_kek_id)
        for _ in range(5):
            old = self._select_deks([record_id]).get(record_id)
            if old is None:
                if self._select_destroyed(str(record_id)):
                    raise KeyDestroyedError(f"data key of {record_id} was destroyed")
                raise UnknownKeyError(f"no data key for {record_id} (or its KEK was destroyed)")
            if old.kek_id == new_kek_id:
                return
            dek = self._unwrap_dek(record_id, old)
            new = WrappedDek(new_kek_id, aead_wrap(new_kek, dek, dek_aad(record_id, new_kek_id)))
            try:
                if self._swap_dek(record_id, old, new):
                    return
            except KeyDestroyedError:
                self._forget(new_kek_id)
                raise
        raise ConcurrentKeyChangeError(f"data key of {record_id} kept changing during rekey")

    def destroy_dek(self, record_id: UUID, *, reason: str) -> bool:
        """Destroy one record's data key; False if it had none (already destroyed or never made)."""
        return self._delete_dek(record_id, self.clock(), reason)

    # -- audit --------------------------------------------------------------------------------

    def destruction(self, key_id: str | UUID) -> Destruction | None:
        """When and why the KEK id / record id's DEK was destroyed, or None if it was not."""
        found = self._select_destroyed(str(key_id))
        return found[0] if found else None

    def destructions(self) -> list[Destruction]:
        """Every destruction, oldest first."""
        return self._select_destroyed(None)

    def __enter__(self) -> KeyStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = [
    "DEFAULT_CACHE_SIZE",
    "KEY_BYTES",
    "RETENTION_CLASS_PATTERN",
    "ConcurrentKeyChangeError",
    "Destruction",
    "KekInfo",
    "KeyDestroyedError",
    "KeyIntegrityError",
    "KeyStore",
    "KeyStoreError",
    "LocalMasterKey",
    "MasterKey",
    "UnknownKeyError",
    "WrappedDek",
    "aead_unwrap",
    "aead_wrap",
    "dek_aad",
    "kek_aad",
    "kek_id_for",
    "load_master_key",
    "make_kek_id",
    "parse_kek_id",
    "utc_now",
]
