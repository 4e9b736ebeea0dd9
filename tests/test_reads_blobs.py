"""The blob store: images sealed per record under the record's data key (files only; no database)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from uuid import uuid4

import pytest

from ledger.blobs import BlobCorruptedError, BlobNotFoundError, BlobStore, blob_digest

KEY = os.urandom(32)


def test_put_returns_sha256_and_get_returns_bytes_when_stored(tmp_path: Path) -> None:
    store, rid = BlobStore(tmp_path), uuid4()
    data = b"\xff\xd8\xff plate crop"
    ref = store.put(data, record_id=rid, key=KEY)
    assert ref == hashlib.sha256(data).hexdigest() == blob_digest(data)
    assert store.exists(ref, record_id=rid) and store.get(ref, record_id=rid, key=KEY) == data
    assert store.path_for(ref, record_id=rid) == tmp_path / str(rid)[:2] / str(rid) / ref


def test_put_stores_no_plaintext_when_sealed(tmp_path: Path) -> None:
    store, rid = BlobStore(tmp_path), uuid4()
    data = b"PLATE ABC1234 " * 20
    ref = store.put(data, record_id=rid, key=KEY)
    raw = store.path_for(ref, record_id=rid).read_bytes()
    assert b"ABC1234" not in raw and len(raw) > len(data)


def test_put_is_idempotent_and_leaves_no_temp_file_when_repeated(tmp_path: Path) -> None:
    store, rid = BlobStore(tmp_path), uuid4()
    assert store.put(b"x", record_id=rid, key=KEY) == store.put(b"x", record_id=rid, key=KEY)
    files = [p.name for p in tmp_path.rglob("*") if p.is_file()]
    assert files == [blob_digest(b"x")]


def test_get_raises_not_found_when_missing(tmp_path: Path) -> None:
    rid = uuid4()
    with pytest.raises(BlobNotFoundError):
        BlobStore(tmp_path).get("0" * 64, record_id=rid, key=KEY)
    assert not BlobStore(tmp_path).exists("0" * 64, record_id=rid)


def test_get_raises_corrupted_when_file_altered_or_key_wrong_or_moved(tmp_path: Path) -> None:
    store, rid, other = BlobStore(tmp_path), uuid4(), uuid4()
    ref = store.put(b"original", record_id=rid, key=KEY)
    with pytest.raises(BlobCorruptedError):
        store.get(ref, record_id=rid, key=os.urandom(32))
    moved = store.path_for(ref, record_id=other)
    moved.parent.mkdir(parents=True)
    moved.write_bytes(store.path_for(ref, record_id=rid).read_bytes())
    with pytest.raises(BlobCorruptedError):
        store.get(ref, record_id=other, key=KEY)
    path = store.path_for(ref, record_id=rid)
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 1
    path.write_bytes(bytes(raw))
    with pytest.raises(BlobCorruptedError):
        store.get(ref, record_id=rid, key=KEY)


@pytest.mark.parametrize("bad", ["../../etc/passwd", "A" * 64, "0" * 63, ""])
def test_path_for_refuses_when_not_a_digest(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError):
        BlobStore(tmp_path).path_for(bad, record_id=uuid4())


def test_delete_record_removes_its_blobs_only(tmp_path: Path) -> None:
    store, rid, other = BlobStore(tmp_path), uuid4(), uuid4()
    store.put(b"a", record_id=rid, key=KEY)
    store.put(b"b", record_id=rid, key=KEY)
    kept = store.put(b"c", record_id=other, key=KEY)
    assert store.delete_record(rid) == 2 and store.delete_record(rid) == 0
    assert store.get(kept, record_id=other, key=KEY) == b"c"
