"""The key store, on a SQLite file and on a PostgreSQL schema: create, destroy, rekey, tamper, backups."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest

from ledger.keystore import (
    KeyDestroyedError,
    KeyIntegrityError,
    KeyStore,
    LocalMasterKey,
    UnknownKeyError,
    kek_id_for,
    load_master_key,
    make_kek_id,
    parse_kek_id,
)
from ledger.keystore_postgres import PostgresKeyStore
from ledger.keystore_sqlite import SQLiteKeyStore
from ledger.sealing import PURGED, default_policy
from tests.conftest import PostgresServer

DAY = date(2026, 11, 2)
OTHER_DAY = date(2026, 11, 3)
NOW = datetime(2026, 12, 3, 4, 5, 6, tzinfo=UTC)


@dataclass
class Backend:
    """One key store's storage: open store instances on it, run raw SQL, copy it (a backup)."""

    name: str
    master: LocalMasterKey
    open: Callable[[], KeyStore]
    raw: Callable[[str, tuple[Any, ...]], list[tuple[Any, ...]]]
    """SQL with ``?`` marks and ``{keks}``/``{deks}``/``{destroyed}`` for the tables."""
    backup: Callable[[], Backend]


def _sqlite_backend(path: Path, master: LocalMasterKey) -> Backend:
    def raw(sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with sqlite3.connect(path) as conn:
            rows = conn.execute(
                sql.format(keks="keks", deks="deks", destroyed="destroyed"), params
            ).fetchall()
        conn.close()
        return rows

    def backup() -> Backend:
        copy = path.with_name(f"backup-{uuid4().hex[:8]}-{path.name}")
        with sqlite3.connect(path) as src, sqlite3.connect(copy) as dst:
            src.backup(dst)
        src.close()
        dst.close()
        return _sqlite_backend(copy, master)

    return Backend("sqlite", master, lambda: SQLiteKeyStore(path, master, clock=lambda: NOW), raw, backup)


def _postgres_backend(url: str, master: LocalMasterKey, schema: str = "alpr_keys") -> Backend:
    def raw(sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        tables = {t: f"{schema}.{t}" for t in ("keks", "deks", "destroyed")}
        with psycopg.connect(url, autocommit=True) as conn:
            cur = conn.execute(sql.format(**tables).replace("?", "%s"), params)  # type: ignore[call-overload]
            return list(cur.fetchall()) if cur.description else []

    def backup() -> Backend:
        copy = f"backup_{uuid4().hex[:8]}"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {copy}")  # type: ignore[call-overload]
            for table in ("keks", "deks", "destroyed"):
                conn.execute(  # type: ignore[call-overload]
                    f"CREATE TABLE {copy}.{table} (LIKE {schema}.{table} INCLUDING ALL); "
                    f"INSERT INTO {copy}.{table} SELECT * FROM {schema}.{table}"
                )
        return _postgres_backend(url, master, copy)

    return Backend(
        "postgres",
        master,
        lambda: PostgresKeyStore(url, master, schema=schema, pool_size=2, clock=lambda: NOW),
        raw,
        backup,
    )


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    master = LocalMasterKey.generate()
    if request.param == "sqlite":
        return _sqlite_backend(tmp_path / "keys.db", master)
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return _postgres_backend(server.new_database(), master)


@pytest.fixture
def store(backend: Backend) -> Iterator[KeyStore]:
    with backend.open() as s:
        yield s


def _fresh(backend: Backend) -> KeyStore:
    """Another process on the same storage: nothing cached."""
    return backend.open()


# -- create / get / destroy -------------------------------------------------------------------


def test_create_data_key_returns_the_key_data_key_returns_when_asked_again(
    backend: Backend, store: KeyStore
) -> None:
    rid = uuid4()
    key = store.create_data_key(rid, "reads", DAY)
    assert len(key) == 32
    assert store.data_key(rid) == key
    assert store.kek_of(rid) == "reads:2026-11-02"
    with _fresh(backend) as other:
        assert other.data_key(rid) == key


def test_create_data_key_returns_the_existing_key_when_the_record_already_has_one(store: KeyStore) -> None:
    rid = uuid4()
    assert store.create_data_key(rid, "reads", DAY) == store.create_data_key(rid, "reads", DAY)


def test_create_data_keys_shares_one_kek_per_class_and_day_when_batched(store: KeyStore) -> None:
    ids = [uuid4() for _ in range(5)]
    keys = store.create_data_keys(
        [(ids[0], "reads", DAY), (ids[1], "reads", DAY), (ids[2], "reads", OTHER_DAY), (ids[3], "hits", DAY)]
        + [(ids[4], "reads", DAY)]
    )
    assert len(set(keys.values())) == 5
    assert [k.kek_id for k in store.keks()] == ["hits:2026-11-02", "reads:2026-11-02", "reads:2026-11-03"]
    assert [k.kek_id for k in store.keks(retention_class="reads", before=OTHER_DAY)] == ["reads:2026-11-02"]


def test_two_stores_agree_on_one_kek_when_both_create_it(backend: Backend) -> None:
    with _fresh(backend) as a, _fresh(backend) as b:
        ra, rb = uuid4(), uuid4()
        ka = a.create_data_key(ra, "reads", DAY)
        kb = b.create_data_key(rb, "reads", DAY)
        assert b.data_key(ra) == ka and a.data_key(rb) == kb
        assert len(a.keks()) == 1


def test_concurrent_stores_create_one_kek_when_they_race_on_a_new_day(backend: Backend) -> None:
    stores = [_fresh(backend) for _ in range(4)]
    barrier = threading.Barrier(len(stores))
    made: dict[UUID, bytes] = {}

    def ingest(store: KeyStore) -> None:
        ids = [uuid4() for _ in range(20)]
        barrier.wait()
        made.update(store.create_data_keys([(r, "reads", DAY) for r in ids]))

    threads = [threading.Thread(target=ingest, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    with _fresh(backend) as check:
        assert len(made) == 80 and check.data_keys(made) == made
        assert [k.kek_id for k in check.keks()] == ["reads:2026-11-02"]


def test_data_key_returns_none_when_the_record_has_no_key(store: KeyStore) -> None:
    assert store.data_key(uuid4()) is None
    assert store.data_keys([uuid4(), uuid4()]) == {}


def test_destroy_dek_makes_data_key_none_and_records_the_destruction(store: KeyStore) -> None:
    rid, kept = uuid4(), uuid4()
    store.create_data_keys([(rid, "reads", DAY), (kept, "reads", DAY)])
    assert store.destroy_dek(rid, reason="court order 2026-17") is True
    assert store.data_key(rid) is None
    assert store.data_key(kept) is not None
    assert store.destroy_dek(rid, reason="again") is False
    d = store.destruction(rid)
    assert d is not None and (d.kind, d.kek_id, d.reason, d.destroyed_at) == (
        "dek",
        "reads:2026-11-02",
        "court order 2026-17",
        NOW,
    )


def test_destroy_kek_destroys_every_dek_under_it_and_no_other(backend: Backend, store: KeyStore) -> None:
    doomed = [uuid4() for _ in range(30)]
    kept = uuid4()
    store.create_data_keys([(r, "reads", DAY) for r in doomed] + [(kept, "reads", OTHER_DAY)])
    assert store.destroy_kek("reads:2026-11-02", reason="TCSO retention 30 days") == 30
    assert store.data_keys(doomed) == {}
    assert store.data_key(kept) is not None
    assert backend.raw("SELECT count(*) FROM {deks} WHERE kek_id = ?", ("reads:2026-11-02",)) == [(0,)]
    assert backend.raw("SELECT count(*) FROM {keks} WHERE kek_id = ?", ("reads:2026-11-02",)) == [(0,)]
    d = store.destruction("reads:2026-11-02")
    assert d is not None and (d.kind, d.dek_count, d.reason) == ("kek", 30, "TCSO retention 30 days")
    assert store.destroy_kek("reads:2026-11-02", reason="again") is None
    with _fresh(backend) as other:
        assert other.data_keys(doomed) == {}


def test_destroy_kek_invalidates_the_cached_kek_when_it_was_cached(store: KeyStore) -> None:
    store.create_data_key(uuid4(), "reads", DAY)
    store.destroy_kek(kek_id_for("reads", DAY), reason="due")
    with pytest.raises(KeyDestroyedError):
        store.create_data_key(uuid4(), "reads", DAY)


def test_create_data_key_refuses_when_another_store_destroyed_the_cached_kek(backend: Backend) -> None:
    with _fresh(backend) as ingest, _fresh(backend) as retention:
        ingest.create_data_key(uuid4(), "reads", DAY)  # ingest now caches the KEK
        retention.destroy_kek(kek_id_for("reads", DAY), reason="due")
        late = uuid4()
        with pytest.raises(KeyDestroyedError):
            ingest.create_data_key(late, "reads", DAY)
        assert ingest.data_key(late) is None


def test_create_data_key_refuses_when_the_record_key_was_destroyed(store: KeyStore) -> None:
    rid = uuid4()
    store.create_data_key(rid, "reads", DAY)
    store.destroy_dek(rid, reason="erroneous read")
    with pytest.raises(KeyDestroyedError):
        store.create_data_key(rid, "reads", DAY)


# -- rekey (holds) ----------------------------------------------------------------------------


def test_rekey_keeps_the_data_key_when_the_old_kek_is_destroyed(backend: Backend, store: KeyStore) -> None:
    held, other = uuid4(), uuid4()
    keys = store.create_data_keys([(held, "reads", DAY), (other, "reads", DAY)])
    case_kek = make_kek_id("case", str(uuid4()))
    store.rekey(held, case_kek)
    assert store.kek_of(held) == case_kek
    assert store.destroy_kek(kek_id_for("reads", DAY), reason="due") == 1
    assert store.data_key(other) is None
    with _fresh(backend) as later:
        assert later.data_key(held) == keys[held]
        later.destroy_kek(case_kek, reason="hold released")
        assert later.data_key(held) is None


def test_rekey_is_a_no_op_when_already_under_that_kek(store: KeyStore) -> None:
    rid = uuid4()
    key = store.create_data_key(rid, "reads", DAY)
    store.rekey(rid, kek_id_for("reads", DAY))
    assert store.data_key(rid) == key


def test_rekey_refuses_when_the_record_key_is_gone(store: KeyStore) -> None:
    rid = uuid4()
    store.create_data_key(rid, "reads", DAY)
    store.destroy_dek(rid, reason="court order")
    with pytest.raises(KeyDestroyedError):
        store.rekey(rid, "case:c1")
    with pytest.raises(UnknownKeyError):
        store.rekey(uuid4(), "case:c1")


def test_rekey_refuses_when_the_target_kek_was_destroyed(store: KeyStore) -> None:
    rid = uuid4()
    store.create_data_key(uuid4(), "case", DAY)
    store.destroy_kek(kek_id_for("case", DAY), reason="closed")
    store.create_data_key(rid, "reads", DAY)
    with pytest.raises(KeyDestroyedError):
        store.rekey(rid, kek_id_for("case", DAY))


# -- tamper -----------------------------------------------------------------------------------


def _flip(blob: bytes, at: int = -1) -> bytes:
    b = bytearray(blob)
    b[at] ^= 0x01
    return bytes(b)


def test_data_key_raises_key_integrity_error_when_a_wrapped_kek_is_altered(
    backend: Backend, store: KeyStore
) -> None:
    rid = uuid4()
    store.create_data_key(rid, "reads", DAY)
    [(wrapped,)] = backend.raw("SELECT wrapped FROM {keks}", ())
    backend.raw("UPDATE {keks} SET wrapped = ?", (_flip(bytes(wrapped)),))
    with _fresh(backend) as other, pytest.raises(KeyIntegrityError):
        other.data_key(rid)


def test_data_key_raises_key_integrity_error_when_wrapped_keks_are_swapped(
    backend: Backend, store: KeyStore
) -> None:
    a, b = uuid4(), uuid4()
    store.create_data_keys([(a, "reads", DAY), (b, "reads", OTHER_DAY)])
    rows = dict(backend.raw("SELECT kek_id, wrapped FROM {keks}", ()))
    backend.raw(
        "UPDATE {keks} SET wrapped = ? WHERE kek_id = ?", (rows["reads:2026-11-03"], "reads:2026-11-02")
    )
    with _fresh(backend) as other, pytest.raises(KeyIntegrityError):
        other.data_key(a)


def test_data_key_raises_key_integrity_error_when_a_wrapped_dek_is_altered(
    backend: Backend, store: KeyStore
) -> None:
    rid = uuid4()
    store.create_data_key(rid, "reads", DAY)
    [(wrapped,)] = backend.raw("SELECT wrapped FROM {deks}", ())
    backend.raw("UPDATE {deks} SET wrapped = ?", (_flip(bytes(wrapped), 20),))
    with pytest.raises(KeyIntegrityError):
        store.data_key(rid)


def test_data_key_raises_key_integrity_error_when_wrapped_deks_are_swapped_between_records(
    backend: Backend, store: KeyStore
) -> None:
    a, b = uuid4(), uuid4()
    store.create_data_keys([(a, "reads", DAY), (b, "reads", DAY)])
    [(wb,)] = backend.raw("SELECT wrapped FROM {deks} WHERE record_id = ?", (_rid(backend, b),))
    backend.raw("UPDATE {deks} SET wrapped = ? WHERE record_id = ?", (wb, _rid(backend, a)))
    with pytest.raises(KeyIntegrityError):
        store.data_key(a)
    assert store.data_key(b) is not None


def test_data_key_raises_key_integrity_error_when_a_dek_row_is_moved_to_another_kek(
    backend: Backend, store: KeyStore
) -> None:
    rid = uuid4()
    store.create_data_keys([(rid, "reads", DAY), (uuid4(), "reads", OTHER_DAY)])
    backend.raw("UPDATE {deks} SET kek_id = ? WHERE record_id = ?", ("reads:2026-11-03", _rid(backend, rid)))
    with pytest.raises(KeyIntegrityError):
        store.data_key(rid)


def test_data_key_raises_key_integrity_error_when_the_master_key_is_another(backend: Backend) -> None:
    rid = uuid4()
    with _fresh(backend) as s:
        s.create_data_key(rid, "reads", DAY)
    with _fresh(backend) as opened:
        opened.master = LocalMasterKey.generate()
        with pytest.raises(KeyIntegrityError):
            opened.data_key(rid)


def _rid(backend: Backend, record_id: UUID) -> Any:
    return str(record_id) if backend.name == "sqlite" else record_id


# -- the destroyed table, backups and what a copy of the event store is worth ------------------


def test_destroyed_table_holds_no_key_material_when_keys_are_destroyed(
    backend: Backend, store: KeyStore
) -> None:
    ids = [uuid4() for _ in range(3)]
    store.create_data_keys([(r, "reads", DAY) for r in ids])
    secrets_before = [bytes(w) for (w,) in backend.raw("SELECT wrapped FROM {keks}", ())]
    secrets_before += [bytes(w) for (w,) in backend.raw("SELECT wrapped FROM {deks}", ())]
    keys = [k for k in store.data_keys(ids).values()]
    store.destroy_dek(ids[0], reason="erroneous read")
    store.destroy_kek(kek_id_for("reads", DAY), reason="due")
    rows = backend.raw("SELECT * FROM {destroyed}", ())
    assert len(rows) == 2
    for row in rows:
        for value in row:
            assert not isinstance(value, bytes | bytearray | memoryview)
            text = str(value)
            for secret in secrets_before + keys:
                assert secret.hex() not in text and secret not in text.encode()
    assert [d.kind for d in store.destructions()] == ["dek", "kek"]


def test_sqlite_file_holds_no_trace_of_destroyed_wrapped_keys_when_a_kek_is_destroyed(tmp_path: Path) -> None:
    path = tmp_path / "keys.db"
    with SQLiteKeyStore(path, LocalMasterKey.generate()) as store:
        ids = [uuid4() for _ in range(50)]
        store.create_data_keys([(r, "reads", DAY) for r in ids])
        with sqlite3.connect(path) as conn:
            wrapped = [
                bytes(w)
                for (w,) in conn.execute("SELECT wrapped FROM keks UNION ALL SELECT wrapped FROM deks")
            ]
        conn.close()
        store.destroy_kek(kek_id_for("reads", DAY), reason="due")
        files = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("keys.db"))
        assert wrapped and not any(w in files for w in wrapped)


def test_key_store_backup_taken_before_a_destroy_still_opens_the_records(backend: Backend) -> None:
    # The honest limit of crypto-shredding: old KEY-store copies must be handled with care.
    rid = uuid4()
    with _fresh(backend) as s:
        key = s.create_data_key(rid, "reads", DAY)
        copy = backend.backup()
        s.destroy_kek(kek_id_for("reads", DAY), reason="due")
        assert s.data_key(rid) is None
    with copy.open() as old:
        assert old.data_key(rid) == key


def test_event_store_copy_is_useless_without_the_key_store_and_after_a_destroy(
    backend: Backend, store: KeyStore, tmp_path: Path
) -> None:
    policy = default_policy()
    topic = "domain.read:Read.Captured"
    rid = uuid4()
    state = {"plate": "KX57QWE", "state": "NY", "vehicle": {"make": "Volvo"}, "camera_id": "cam-1"}
    state |= {"plate_image": None, "vehicle_image": None, "camera_kind": "fixed", "latitude": 40.7}
    key = store.create_data_key(rid, "reads", DAY)
    events = tmp_path / "events.json"  # the "event store": what eventsourcing would persist
    events.write_text(json.dumps(policy.seal_state(state, topic, rid, key)))
    backup = tmp_path / "events-backup.json"
    backup.write_bytes(events.read_bytes())
    assert b"KX57QWE" not in events.read_bytes() and b"Volvo" not in events.read_bytes()

    stored = json.loads(events.read_text())
    assert policy.unseal_state(stored, topic, rid, store.data_key(rid)) == state
    # A copy of the event store with an empty (or another site's) key store: nothing opens.
    with SQLiteKeyStore(tmp_path / "elsewhere.db", LocalMasterKey.generate()) as elsewhere:
        opened = policy.unseal_state(json.loads(backup.read_text()), topic, rid, elsewhere.data_key(rid))
    assert opened["plate"] is PURGED and opened["vehicle"] is PURGED and opened["camera_id"] == "cam-1"
    # After the destroy, the old event-store copy restored beside the current key store: purged.
    store.destroy_kek(kek_id_for("reads", DAY), reason="due")
    with _fresh(backend) as current:
        opened = policy.unseal_state(json.loads(backup.read_text()), topic, rid, current.data_key(rid))
    assert opened["plate"] is PURGED and opened["state"] is PURGED and opened["latitude"] == 40.7


# -- master key -------------------------------------------------------------------------------


def test_master_key_file_is_created_with_mode_0600_when_absent(tmp_path: Path) -> None:
    path = tmp_path / "secret" / "master.key"
    created = LocalMasterKey.from_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_bytes()) == 32
    again = LocalMasterKey.from_file(path)
    blob = created.wrap(b"k" * 32, b"aad")
    assert again.unwrap(blob, b"aad") == b"k" * 32


def test_master_key_file_is_refused_when_others_may_read_it(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    LocalMasterKey.from_file(path)
    os.chmod(path, 0o644)
    with pytest.raises(PermissionError, match="0600"):
        LocalMasterKey.from_file(path)


def test_master_key_file_is_refused_when_missing_and_not_to_be_created(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        LocalMasterKey.from_file(tmp_path / "absent.key", create=False)


def test_master_key_from_text_round_trips_and_text_wins_over_file(tmp_path: Path) -> None:
    master = LocalMasterKey.generate()
    from_env = load_master_key(file=tmp_path / "unused.key", text=master.to_text())
    assert from_env.unwrap(master.wrap(b"x" * 32, b"a"), b"a") == b"x" * 32
    assert not (tmp_path / "unused.key").exists()
    with pytest.raises(ValueError):
        LocalMasterKey.from_text("c2hvcnQ")  # "short"
    assert "redacted" in repr(master)


def test_master_key_unwrap_raises_when_the_aad_differs() -> None:
    master = LocalMasterKey.generate()
    with pytest.raises(KeyIntegrityError):
        master.unwrap(master.wrap(b"x" * 32, b"kek a"), b"kek b")


def test_sqlite_key_store_file_is_created_with_mode_0600(tmp_path: Path) -> None:
    with SQLiteKeyStore(tmp_path / "keys.db", LocalMasterKey.generate()) as s:
        s.create_data_key(uuid4(), "reads", DAY)
    assert stat.S_IMODE((tmp_path / "keys.db").stat().st_mode) == 0o600


class CountingMaster:
    """A stand-in for a KMS: any object with wrap/unwrap is a master key."""

    def __init__(self) -> None:
        self.inner = LocalMasterKey.generate()
        self.unwraps = 0

    def wrap(self, plaintext: bytes, aad: bytes) -> bytes:
        return self.inner.wrap(plaintext, aad)

    def unwrap(self, blob: bytes, aad: bytes) -> bytes:
        self.unwraps += 1
        return self.inner.unwrap(blob, aad)


def test_keks_are_unwrapped_once_while_cached_and_again_when_evicted(tmp_path: Path) -> None:
    master = CountingMaster()
    a, b = uuid4(), uuid4()
    with SQLiteKeyStore(tmp_path / "keys.db", master) as setup:
        setup.create_data_keys([(a, "reads", DAY), (b, "reads", OTHER_DAY)])
    master.unwraps = 0
    with SQLiteKeyStore(tmp_path / "keys.db", master, cache_size=1) as small:
        for _ in range(3):
            small.data_key(a)
        assert master.unwraps == 1
        small.data_key(b)  # evicts a's KEK
        small.data_key(a)
        assert master.unwraps == 3


# -- ids --------------------------------------------------------------------------------------


def test_kek_ids_parse_back_to_class_and_day_and_refuse_bad_parts() -> None:
    assert kek_id_for("reads", DAY) == "reads:2026-11-02"
    assert parse_kek_id("reads:2026-11-02") == ("reads", DAY)
    assert parse_kek_id("case:2026-000123") == ("case", None)
    for bad in ("Reads", "re:ads", "", "r" * 65):
        with pytest.raises(ValueError):
            kek_id_for(bad, DAY)
    with pytest.raises(ValueError):
        make_kek_id("case", "a b")
    with pytest.raises(ValueError):
        parse_kek_id("nocolon")


def test_records_of_classes_lists_records_under_those_classes_only(store: KeyStore) -> None:
    kept, day_read = uuid4(), uuid4()
    store.create_data_keys_under([(kept, "hold:one"), (day_read, kek_id_for("reads", date(2026, 1, 2)))])
    assert store.records_of_classes(["hold", "case"]) == {kept}
    assert store.records_of_classes(["reads"]) == {day_read}
    assert store.records_of_classes([]) == set()
