"""The content-addressed blob store (files only; no database)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from ledger.blobs import BlobCorruptedError, BlobNotFoundError, BlobStore, blob_digest


def test_put_returns_sha256_and_get_returns_bytes_when_stored(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    data = b"\xff\xd8\xff plate crop"
    ref = store.put(data)
    assert ref == hashlib.sha256(data).hexdigest() == blob_digest(data)
    assert store.exists(ref) and store.get(ref) == data
    assert store.path_for(ref) == tmp_path / ref[:2] / ref


def test_put_is_idempotent_and_leaves_no_temp_file_when_repeated(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    assert store.put(b"x") == store.put(b"x")
    files = [p.name for p in tmp_path.rglob("*") if p.is_file()]
    assert files == [blob_digest(b"x")]


def test_get_raises_not_found_when_missing(tmp_path: Path) -> None:
    with pytest.raises(BlobNotFoundError):
        BlobStore(tmp_path).get("0" * 64)
    assert not BlobStore(tmp_path).exists("0" * 64)


def test_get_raises_corrupted_when_file_altered(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    ref = store.put(b"original")
    store.path_for(ref).write_bytes(b"altered")
    with pytest.raises(BlobCorruptedError):
        store.get(ref)


@pytest.mark.parametrize("bad", ["../../etc/passwd", "A" * 64, "0" * 63, ""])
def test_path_for_refuses_when_not_a_digest(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError):
        BlobStore(tmp_path).path_for(bad)


def test_put_refuses_key_until_sealing_lands(tmp_path: Path) -> None:
    with pytest.raises(NotImplementedError):
        BlobStore(tmp_path).put(b"x", key=b"k" * 32)
