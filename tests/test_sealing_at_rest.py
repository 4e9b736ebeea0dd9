"""Personal data at rest, on SQLite and PostgreSQL: what the raw files hold before and after a purge,
what an old copy of the event store opens with the current key store, and tampered wrapped keys.

The scans read storage as an attacker with the disks would: every byte of the SQLite files (with
their -wal/-shm), of the PostgreSQL cluster's data directory after a CHECKPOINT (heap, indexes and
WAL), and of the blob and data directories. Projections are in memory, so nothing may be found
anywhere. A clear field (a camera id) is looked for the same way first, so a scan that reads the
wrong files fails instead of passing.
"""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
import uuid
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest

from domain.hit import Hit
from domain.policy import Role
from domain.read import Read
from domain.retention import RULE_READ_RETENTION, Purge, read_day_due
from domain.search import RunSearch
from domain.values import is_purged
from ledger.audit import audit
from ledger.blobs import blob_digest
from ledger.keystore import KeyIntegrityError
from ledger.verify._bundle import verify_package
from ops.bootstrap import Runtime, build_runtime, sqlite_path
from ops.keys import KEY_STORE_SCHEMA, key_database_url, read_kek, utc_day
from ops.settings import Settings
from tests.api_support import token_for
from tests.cameras_support import read_from, register
from tests.conftest import PostgresServer
from tests.disclosure_support import person, request
from tests.hits_support import FakeClock

OLD = timedelta(days=3)
"""Reads this far back fall on a capture day that is purged; today's reads stay."""


def distinctive_plate() -> str:
    """A plate no other test uses (the PostgreSQL cluster is shared by the whole session)."""
    return "QZX" + str(uuid.uuid4().int % 100_000).zfill(5)


def image_naming(plate: str, seed: int) -> bytes:
    """JPEG-signed bytes that spell the plate: a blob stored in the clear would give it away."""
    return b"\xff\xd8\xff\xe0" + f"plate {plate} frame {seed}".encode() + b"\xff\xd9"


def is_postgres(settings: Settings) -> bool:
    return settings.database_url.startswith(("postgresql://", "postgres://"))


def purge_day(runtime: Runtime, day: date, reads: int) -> None:
    """Shred every read captured on ``day`` with the retention job, run when the day has fallen due.

    The job refuses to look ahead of the service clock, so the clock is moved just past the due
    date for the run (and back after): reads of later days are not yet due then.
    """
    app = runtime.app
    due = read_day_due(day, app.policy)
    kek_id = read_kek(datetime.combine(day, time.min, UTC))
    clock = app.clock
    app.clock = FakeClock(due + timedelta(minutes=1))
    try:
        report = app.run_retention()
    finally:
        app.clock = clock
    (item,) = [p for p in report.purges if p.key_id == kek_id]
    assert (item.scope, item.rule, item.record_count) == ("kek", RULE_READ_RETENTION, reads)
    assert runtime.keystore.destruction(kek_id) is not None


# ---- raw storage --------------------------------------------------------------------------------


@dataclass
class RawStorage:
    """Where a runtime's bytes live on disk, and how to make them current before reading them."""

    settings: Settings
    tmp_path: Path
    pg_data_dir: Path | None
    pg_admin_url: str | None

    def files(self) -> list[Path]:
        if is_postgres(self.settings):
            assert self.pg_data_dir is not None and self.pg_admin_url is not None
            with psycopg.connect(self.pg_admin_url, autocommit=True) as conn:
                conn.execute("CHECKPOINT")  # dirty pages of heap and indexes out to their files
            with psycopg.connect(self.pg_admin_url, autocommit=True) as conn:
                dbname = self.settings.database_url.rsplit("/", 1)[-1]
                row = conn.execute("SELECT oid FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
                views = conn.execute(
                    "SELECT oid FROM pg_database WHERE datname = %s", (dbname + "_projections",)
                ).fetchone()
            assert row is not None
            # This test's database, the shared catalogs and the WAL (every database writes there);
            # the other test databases of the throwaway cluster are not ours to read. The search and
            # report views' database too (its tables are unlogged: they never reach the WAL).
            pg = self.pg_data_dir
            roots = [pg / "base" / str(row[0]), pg / "global", pg / "pg_wal", self.settings.data_dir]
            if views is not None:
                roots.append(pg / "base" / str(views[0]))
        else:
            db = Path(sqlite_path(self.settings.database_url))
            # The database, its -wal/-shm, and everything of the data dir (key store, blobs, keys).
            roots = [self.tmp_path, self.settings.data_dir]
            assert db.is_file() and self.tmp_path in db.parents
        return sorted({f for root in roots for f in walk(root)})

    def projection_files(self) -> list[Path]:
        """The files of the search and report views, where live plates may be kept in the clear."""
        if is_postgres(self.settings):
            assert self.pg_admin_url is not None and self.pg_data_dir is not None
            with psycopg.connect(self.pg_admin_url, autocommit=True) as conn:
                dbname = self.settings.database_url.rsplit("/", 1)[-1] + "_projections"
                row = conn.execute("SELECT oid FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
            return [] if row is None else sorted(walk(self.pg_data_dir / "base" / str(row[0])))
        return sorted(self.settings.data_dir.glob("projections.db*"))

    def event_files(self) -> list[Path]:
        """The files that hold the events: the control scan must find clear metadata here."""
        if is_postgres(self.settings):
            assert self.pg_data_dir is not None
            return [f for f in self.files() if self.pg_data_dir in f.parents]
        db = Path(sqlite_path(self.settings.database_url))
        return [f for f in (db, Path(f"{db}-wal")) if f.is_file()]


def walk(root: Path) -> Iterator[Path]:
    for path in root.rglob("*"):
        try:
            if path.is_file() and not path.is_symlink():
                yield path
        except OSError:  # a PostgreSQL temp file gone between listing and stat
            continue


def find(files: Iterable[Path], texts: Iterable[str]) -> dict[str, list[str]]:
    """Which of ``texts`` occur (ASCII, upper, lower or as given) in which files.

    Plain byte searches (C speed): the PostgreSQL scan reads the cluster's WAL, which after a full
    test run holds hundreds of megabytes.
    """
    needles = {t: {v.encode() for v in (t, t.upper(), t.lower())} for t in texts}
    found: dict[str, list[str]] = {}
    for path in files:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            continue
        for text, variants in needles.items():
            if any(v in data for v in variants):
                found.setdefault(text, []).append(path.name)
    return found


@pytest.fixture
def raw(request: pytest.FixtureRequest, settings: Settings, tmp_path: Path) -> RawStorage:
    if not is_postgres(settings):
        return RawStorage(settings, tmp_path, None, None)
    server: PostgresServer = request.getfixturevalue("postgres_server")
    if server.data_dir is None:
        pytest.skip(
            "ALPR_TEST_POSTGRES_URL names an external server: its data directory is not ours to scan "
            "(run under `python -m ops.pgcluster` or without the variable to scan a throwaway cluster)"
        )
    return RawStorage(settings, tmp_path, server.data_dir, server.admin_url)


# ---- data ---------------------------------------------------------------------------------------


@dataclass
class Ingested:
    camera_id: str
    old_day: date
    read_id: UUID  # old day, with images, raises a hit
    other_id: UUID  # old day, no images
    today_id: UUID  # today: never purged here
    hit_id: UUID
    images: dict[str, bytes]
    plates: dict[str, str]  # role -> plate
    totp_secret: str

    @property
    def secrets(self) -> list[str]:
        return [*self.plates.values(), self.totp_secret]


def ingest_everything(runtime: Runtime) -> Ingested:
    """Reads with images, a hotlist entry that raises a hit, a manual entry, two plate searches and a
    TOTP enrolment: every kind of record whose personal fields are sealed."""
    app = runtime.app
    roles = ("read", "other", "today", "listed", "manual", "searched")
    plates: dict[str, str] = {}
    while len(set(plates.values())) < len(roles):
        plates = {role: distinctive_plate() for role in roles}
    camera_id = f"QZXCAM-{uuid.uuid4().hex[:8]}"
    register(runtime, camera_id)
    listed = app.create_hotlist("NCIC stolen", "ncic", provenance="NCIC extract", actor="tests")
    csv = (
        "plate,state,reason,case_number\n"
        f"{plates['read']},NY,stolen vehicle,24-000123\n{plates['listed']},NY,AMBER alert,\n"
    )
    app.import_hotlist_csv(listed, csv, version="2026-11-01", actor="tests")
    manual = app.create_hotlist("Patrol notes", "manual", provenance="entered by hand", actor="tests")
    app.add_manual_entry(
        manual, plates["manual"], "NY", reason="seen at the burglary", case_number="25-004211", actor="tests"
    )

    now = datetime.now(UTC)
    old = datetime.combine((now - OLD).date(), time(12), UTC)  # both old reads on one UTC day
    plate_image = image_naming(plates["read"], 1)
    vehicle_image = image_naming(plates["read"], 2)
    images = {blob_digest(plate_image): plate_image, blob_digest(vehicle_image): vehicle_image}
    batch = [
        read_from(
            camera_id,
            plate=plates["read"],
            captured_at=old,
            plate_image=blob_digest(plate_image),
            vehicle_image=blob_digest(vehicle_image),
        ),
        read_from(camera_id, plate=plates["other"], captured_at=old + timedelta(seconds=1)),
        read_from(camera_id, plate=plates["today"], captured_at=now - timedelta(seconds=5)),
    ]
    result = app.ingest_reads(batch, images=images)
    read_id, other_id, today_id = result.read_ids
    (hit_id,) = result.hit_ids

    who = app.authenticate(token_for(runtime, Role.INVESTIGATOR))
    for plate in (plates["read"], plates["searched"]):
        app.run_search(
            who,
            RunSearch(
                search_type="plate",
                criteria={"plate": plate},
                purpose="criminal_investigation",
                reason="vehicle seen leaving the burglary at 12 Elm St",
                case_number="25-004211",
            ),
        )
    holder = app.enrol_account(
        f"qzx-{uuid.uuid4().hex[:8]}", "Test holder", roles=[Role.OFFICER], actor="tests"
    )
    secret = app.enrol_totp(holder, actor="tests")
    return Ingested(camera_id, utc_day(old), read_id, other_id, today_id, hit_id, images, plates, secret)


def assert_nowhere(
    raw: RawStorage,
    data: Ingested,
    *,
    purged: Sequence[str] = (),
    searched_live: Sequence[str] = (),
    runtime: Runtime | None = None,
) -> None:
    """No secret anywhere but in the views (which keep live plates to search them); a ``purged``
    plate not even there."""
    files = raw.files()
    control = find(raw.event_files(), [data.camera_id])
    assert control, "the scan must see clear metadata in the event store's files, or it reads nothing"
    views = set(raw.projection_files())
    assert find([f for f in files if f not in views], data.secrets) == {}
    if purged:
        assert find([f for f in files if f not in views], purged) == {}
        # A purged read's plate that a still-live search names stays in the query log view's plate
        # column (cleared with that search's own key, at the query log's retention), nowhere else.
        searched = [p for p in purged if p in searched_live]
        assert find(views, [p for p in purged if p not in searched]) == {}
        if searched:
            assert runtime is not None
            db = runtime.projections
            with db.read() as c:
                for plate in searched:
                    c.execute(db.sql("SELECT COUNT(*) FROM read_plates WHERE plate = ?"), (plate,))
                    assert c.fetchone()[0] == 0
                    c.execute(db.sql("SELECT COUNT(*) FROM rpt_query_log WHERE plate = ?"), (plate,))
                    assert c.fetchone()[0] == 1


# ---- tests --------------------------------------------------------------------------------------


def release_disclosure_of(runtime: Runtime, read_id: UUID) -> UUID:
    """Release one read to an outside agency: its package is written under the data directory."""
    app = runtime.app
    po = person(Role.PRIVACY_OFFICER)
    disclosure = app.request_disclosure(request([read_id]), by=person(Role.INVESTIGATOR))
    app.approve_disclosure(disclosure.id, by=po, reference="APO memo 1")
    app.release_disclosure(disclosure.id, by=po)
    return disclosure.id


def download_package(runtime: Runtime, disclosure_id: UUID, into: Path) -> Path:
    """The package as GET /v1/disclosures/{id}/package serves it, unzipped into ``into``."""
    with zipfile.ZipFile(io.BytesIO(runtime.app.package_zip(disclosure_id))) as archive:
        archive.extractall(into)
    return into


def test_raw_storage_holds_no_plate_after_ingest_nor_after_purge(
    runtime: Runtime, raw: RawStorage, tmp_path_factory: pytest.TempPathFactory
) -> None:
    data = ingest_everything(runtime)
    app = runtime.app
    # A released package lives in the data directory the scans read: it must hold no plate either.
    disclosure_id = release_disclosure_of(runtime, data.read_id)
    before = download_package(runtime, disclosure_id, tmp_path_factory.mktemp("before"))
    readable = json.loads((before / "records" / f"{data.read_id}.json").read_text())
    assert readable["plate"] == data.plates["read"] and "purged" not in readable  # rendered, not stored
    read: object = app.repository.get(data.read_id)
    assert isinstance(read, Read) and read.plate == data.plates["read"]  # sealed, yet it opens
    for sha, image in data.images.items():
        assert app.read_image(data.read_id, sha) == image
    assert_nowhere(raw, data)

    purge_day(runtime, data.old_day, 2)

    assert_nowhere(
        raw,
        data,
        purged=[data.plates["read"], data.plates["other"]],
        searched_live=[data.plates["read"]],
        runtime=runtime,
    )
    for read_id in (data.read_id, data.other_id):
        read = app.repository.get(read_id)
        assert isinstance(read, Read) and read.purged
        assert is_purged(read.plate) and is_purged(read.state)
        assert read.camera_id == data.camera_id and utc_day(read.captured_at) == data.old_day  # clear
    (stored,) = list(app.recorder.select_events(data.read_id))
    captured = app.mapper.to_domain_event(stored)
    assert isinstance(captured, Read.Captured)
    assert is_purged(captured.plate) and is_purged(captured.plate_image) and is_purged(captured.vehicle_image)
    hit = app.get_hit(data.hit_id)
    assert isinstance(hit, Hit) and is_purged(hit.read_plate)
    for sha in data.images:
        assert app.read_image(data.read_id, sha) is None
    today: object = app.repository.get(data.today_id)
    assert isinstance(today, Read) and today.plate == data.plates["today"]
    assert audit(runtime.ledger, runtime.checkpointer.signer.vkey).ok
    # The download now renders the released read as purged, and the package still verifies.
    after = download_package(runtime, disclosure_id, tmp_path_factory.mktemp("after"))
    readable = json.loads((after / "records" / f"{data.read_id}.json").read_text())
    assert readable["plate"] is None and readable["state"] is None and readable["camera_id"] == data.camera_id
    assert readable["purged"]["rule"] == RULE_READ_RETENTION and readable["purged"]["clause"]
    assert readable["purged"]["destroyed_at"] is not None
    assert find(walk(after), data.secrets) == {}
    report = verify_package(after, vkey=runtime.checkpointer.signer.vkey)
    assert report.disclosure_id == str(disclosure_id) and report.records == (str(data.read_id),)


def copy_event_store(settings: Settings, name: str) -> str:
    """A copy of the event store as it is now (nothing may be writing); the copy's URL."""
    if is_postgres(settings):
        original = settings.database_url.rsplit("/", 1)
        copy = f"{original[1]}_{name}"
        with psycopg.connect(f"{original[0]}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{original[1]}"')
        return f"{original[0]}/{copy}"
    db = Path(sqlite_path(settings.database_url))
    with sqlite3.connect(db) as conn:
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    assert busy == 0, "the WAL could not be checkpointed into the file"
    target = db.with_name(f"{db.stem}-{name}.db")
    shutil.copyfile(db, target)
    return f"sqlite:///{target}"


def test_old_copy_of_event_store_reads_purged_with_current_key_store(settings: Settings) -> None:
    runtime = build_runtime(settings)
    try:
        data = ingest_everything(runtime)
    finally:
        runtime.close()  # CREATE DATABASE ... TEMPLATE needs the original without connections
    backup_url = copy_event_store(settings, "backup")

    runtime = build_runtime(settings)
    try:
        purge_day(runtime, data.old_day, 2)
    finally:
        runtime.close()

    # The old copy restored beside the CURRENT key store (for PostgreSQL the original's key
    # database: a copy of the events database carries no keys at all).
    restored = settings.model_copy(
        update={
            "database_url": backup_url,
            "key_store_url": key_database_url(settings.database_url) if is_postgres(settings) else None,
        }
    )
    copy = build_runtime(restored)
    try:
        app = copy.app
        for read_id in (data.read_id, data.other_id):
            read: object = app.repository.get(read_id)
            assert isinstance(read, Read) and read.purged and is_purged(read.plate)
        hit = app.get_hit(data.hit_id)
        assert is_purged(hit.read_plate) and is_purged(hit.entry_plate)
        for sha in data.images:
            assert app.read_image(data.read_id, sha) is None
        today: object = app.repository.get(data.today_id)
        assert isinstance(today, Read) and today.plate == data.plates["today"]  # the copy is real
        assert not any(isinstance(e, Purge.Executed) for e in events_of(copy))  # taken before the purge
        assert audit(copy.ledger, copy.checkpointer.signer.vkey).ok
    finally:
        copy.close()


def events_of(runtime: Runtime) -> list[Any]:
    app = runtime.app
    return [app.mapper.to_domain_event(n) for n in app.recorder.select_notifications(1, 1_000_000)]


# ---- tampering with wrapped keys ---------------------------------------------------------------


class KeyRows:
    """Direct access to the key store's rows, as someone with write access to its database has."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def _sql(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if is_postgres(self.settings):
            sql = sql.replace("?", "%s").replace("deks", f"{KEY_STORE_SCHEMA}.deks")
            sql = sql.replace("keks", f"{KEY_STORE_SCHEMA}.keks")
            with psycopg.connect(key_database_url(self.settings.database_url), autocommit=True) as conn:
                cur = conn.execute(sql, params)
                return cur.fetchall() if cur.description else []
        with sqlite3.connect(self.settings.data_dir / "keys.db") as conn:
            return conn.execute(sql, params).fetchall()

    def _id(self, record_id: UUID) -> Any:
        return record_id if is_postgres(self.settings) else str(record_id)

    def dek(self, record_id: UUID) -> bytes:
        [(wrapped,)] = self._sql("SELECT wrapped FROM deks WHERE record_id = ?", (self._id(record_id),))
        return bytes(wrapped)

    def set_dek(self, record_id: UUID, wrapped: bytes) -> None:
        self._sql("UPDATE deks SET wrapped = ? WHERE record_id = ?", (wrapped, self._id(record_id)))

    def kek(self, kek_id: str) -> bytes:
        [(wrapped,)] = self._sql("SELECT wrapped FROM keks WHERE kek_id = ?", (kek_id,))
        return bytes(wrapped)

    def set_kek(self, kek_id: str, wrapped: bytes) -> None:
        self._sql("UPDATE keks SET wrapped = ? WHERE kek_id = ?", (wrapped, kek_id))


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


@pytest.mark.parametrize("tampering", ["flip_dek", "swap_deks", "flip_kek"])
def test_loading_read_raises_key_integrity_error_when_wrapped_key_tampered(
    runtime: Runtime, settings: Settings, tampering: str
) -> None:
    register(runtime, "QZX-CAM")
    plates = [distinctive_plate(), distinctive_plate()]
    captured = datetime.now(UTC) - timedelta(minutes=1)
    first, second = runtime.app.record_reads(
        [read_from("QZX-CAM", plate=p, captured_at=captured) for p in plates]
    )
    app = runtime.app
    read: object = app.repository.get(first)
    assert isinstance(read, Read) and read.plate == plates[0]  # opens before the tampering
    rows = KeyRows(settings)
    if tampering == "flip_dek":
        wrapped = rows.dek(first)
        rows.set_dek(first, flip(wrapped, len(wrapped) // 2))
    elif tampering == "swap_deks":
        a, b = rows.dek(first), rows.dek(second)
        rows.set_dek(first, b)
        rows.set_dek(second, a)
    else:
        kek_id = read_kek(captured)
        rows.set_kek(kek_id, flip(rows.kek(kek_id), 20))
        runtime.keystore.clear_cache()  # as a process started after the tampering would
    with pytest.raises(KeyIntegrityError):
        app.repository.get(first)
    if tampering != "flip_dek":
        with pytest.raises(KeyIntegrityError):
            app.repository.get(second)
