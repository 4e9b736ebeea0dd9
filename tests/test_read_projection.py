"""The read index projection on SQLite and PostgreSQL: its rows are the live reads, purges remove
them (a day purge keeps held and case reads; a record purge), and a rebuild gives identical rows."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from uuid import UUID, uuid4

import psycopg
import pytest
from typer.testing import CliRunner

from domain.matching import confusable_key
from domain.read import RecordRead
from ops.bootstrap import Runtime
from ops.cli import app as cli
from projections.reads import GEO, PLATES, READS_TABLE, to_micros
from projections.registry import runner
from projections.store import PostgresProjectionDB, SQLiteProjectionDB
from tests.cameras_support import city_reads
from tests.test_purged_read_paths import purge_day, purge_record
from tests.test_search import plate_search, searcher

REASON = "suspect vehicle in an open burglary investigation"


def contents(runtime: Runtime) -> dict[str, Any]:
    """The index's rows by value (integer keys replaced by what they stand for)."""
    db = runtime.projections
    runner(runtime.app, "reads").catch_up()
    with db.read() as c:
        c.execute(
            f"SELECT r.read_id, p.plate, r.state, r.camera_id, r.camera_kind, r.patrol_vehicle, r.latitude,"
            f" r.longitude, r.captured_at, r.day, r.confidence FROM {READS_TABLE} r"
            f" JOIN {PLATES} p ON p.plate_id = r.plate_id"
        )
        reads = sorted(tuple(row) for row in c.fetchall())
        c.execute(f"SELECT plate, skeleton FROM {PLATES}")
        plates = sorted(tuple(row) for row in c.fetchall())
        c.execute(f"SELECT COUNT(*) FROM {READS_TABLE}")
        count = int(c.fetchone()[0])
        geo: list[tuple[Any, ...]] = []
        if db.dialect == "sqlite":
            c.execute(
                f"SELECT r.read_id, g.min_lon, g.max_lat FROM {GEO} g JOIN {READS_TABLE} r ON r.rid = g.rid"
            )
            geo = sorted(tuple(row) for row in c.fetchall())
            c.execute(f"SELECT COUNT(*) FROM {GEO}")
            assert int(c.fetchone()[0]) == count, "one R*Tree entry per read"
    return {"reads": reads, "plates": plates, "geo": geo}


def expected_rows(stored: list[tuple[UUID, RecordRead]]) -> list[tuple[Any, ...]]:
    return sorted(
        (
            str(i),
            r.plate,
            r.state,
            r.camera_id,
            r.camera_kind,
            r.patrol_vehicle,
            r.latitude,
            r.longitude,
            to_micros(r.captured_at),
            r.captured_at.astimezone(UTC).date().isoformat(),
            r.confidence,
        )
        for i, r in stored
    )


def two_days(runtime: Runtime, n: int = 400) -> list[tuple[UUID, RecordRead]]:
    reads = city_reads(runtime, n)
    reads = [replace(r, captured_at=r.captured_at - timedelta(days=i % 2)) for i, r in enumerate(reads)]
    return list(zip(runtime.app.record_reads(reads), reads, strict=True))


def test_index_holds_every_live_read_and_each_plate_once_with_its_skeleton(runtime: Runtime) -> None:
    stored = two_days(runtime)
    found = contents(runtime)
    assert found["reads"] == expected_rows(stored)
    assert found["plates"] == sorted({(r.plate, confusable_key(r.plate)) for _, r in stored})


def test_day_purge_removes_the_days_reads_but_keeps_held_and_case_reads(runtime: Runtime) -> None:
    stored = two_days(runtime)
    contents(runtime)  # indexed before the purge: the purge must delete rows, not just skip them
    day = stored[0][1].captured_at.astimezone(UTC).date()
    of_day = [(i, r) for i, r in stored if r.captured_at.astimezone(UTC).date() == day]
    on_case, on_hold = of_day[0][0], of_day[1][0]
    app = runtime.app
    app.open_case("25-004211", "other_felony", "Burglary, 12 Elm St", actor="inv.smith")
    app.attach_reads("25-004211", [on_case], actor="inv.smith")
    hold = app.request_hold(
        [on_hold], "25-004211", REASON, datetime.now(UTC) + timedelta(days=90), actor="inv"
    )
    app.approve_hold(hold.hold_id, actor="sgt.jones")

    assert purge_day(runtime, stored[0][1].captured_at) == len(of_day) - 2
    survivors = [
        (i, r) for i, r in stored if r.captured_at.astimezone(UTC).date() != day or i in (on_case, on_hold)
    ]
    found = contents(runtime)
    assert found["reads"] == expected_rows(survivors)
    # no plate is left in the dictionary that only purged reads had
    assert found["plates"] == sorted({(r.plate, confusable_key(r.plate)) for _, r in survivors})
    gone = {r.plate for _, r in of_day} - {r.plate for _, r in survivors}
    assert gone, "some plates of the purged day were read on that day only"

    # a search no longer finds the purged reads; the held one is still found
    who = searcher(runtime)
    held_plate = next(r.plate for i, r in stored if i == on_hold)
    assert on_hold in {r.read_id for r in app.run_search(who, plate_search(held_plate)).results}
    assert app.run_search(who, plate_search(sorted(gone)[0])).count == 0

    # a record purge (e.g. the hold released and the read shredded) removes the named read
    purge_record(runtime, on_case)
    found = contents(runtime)
    assert str(on_case) not in {row[0] for row in found["reads"]}
    assert found["reads"] == expected_rows([(i, r) for i, r in survivors if i != on_case])


def test_rebuild_from_the_cli_gives_identical_rows_after_purges(runtime: Runtime) -> None:
    stored = two_days(runtime, 300)
    app = runtime.app
    app.open_case("25-004211", "other_felony", "Burglary, 12 Elm St", actor="inv.smith")
    app.attach_reads("25-004211", [stored[0][0]], actor="inv.smith")
    purge_day(runtime, stored[0][1].captured_at)
    purge_record(runtime, stored[1][0])
    before = contents(runtime)
    assert before["reads"] and len(before["reads"]) < len(stored)

    settings = runtime.settings
    result = CliRunner().invoke(
        cli,
        ["projections", "rebuild", "reads", "--db", settings.database_url],
        env={"ALPR_DATA_DIR": str(settings.data_dir), "ALPR_LOG_ORIGIN": settings.log_origin},
    )
    assert result.exit_code == 0, result.output
    assert "reads:" in result.stdout
    assert contents(runtime) == before

    # the runner of this process carries on from the rebuilt position: new reads are indexed once
    more = city_reads(runtime, 320)[300:]
    now = datetime.now(UTC)  # today: the purged day is shredded for good, no read may join it
    more = [
        replace(r, capture_id=f"again-{n}", captured_at=now - timedelta(seconds=n + 1))
        for n, r in enumerate(more)
    ]
    ids = app.record_reads(more)
    after = contents(runtime)
    assert after["reads"] == sorted(before["reads"] + expected_rows(list(zip(ids, more, strict=True))))


def projection_files(runtime: Runtime, request: pytest.FixtureRequest, tmp_path: Path) -> list[Path]:
    """The files the projections database lives in (PostgreSQL: flushed by a CHECKPOINT first;
    its WAL too, though unlogged tables never write there)."""
    db = runtime.projections
    if db.dialect == "sqlite":
        assert isinstance(db, SQLiteProjectionDB)
        return [p for p in db.path.parent.iterdir() if p.name.startswith(db.path.name)]
    server = request.getfixturevalue("postgres_server")
    if server.data_dir is None:
        pytest.skip("an external PostgreSQL server: its data directory is not ours to scan")
    assert isinstance(db, PostgresProjectionDB)
    name = unquote(urlsplit(db.url).path.lstrip("/"))
    with psycopg.connect(server.admin_url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
        row = conn.execute("SELECT oid FROM pg_database WHERE datname = %s", (name,)).fetchone()
    assert row is not None
    roots = [Path(server.data_dir) / "base" / str(row[0]), Path(server.data_dir) / "pg_wal"]
    return [p for root in roots for p in root.rglob("*") if p.is_file()]


def holding(files: list[Path], needles: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for f in files:
        data = f.read_bytes()
        for needle in needles:
            if needle.encode() in data:
                found.setdefault(needle, []).append(f.name)
    return found


def test_after_a_purge_the_purged_plates_are_nowhere_in_the_projection_files(
    runtime: Runtime, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    old = now - timedelta(days=2)
    marker = uuid4().hex[:4].upper()
    gone, kept = f"QJ{marker}1", f"QJ{marker}2"
    reads = city_reads(runtime, 2)
    stored = runtime.app.record_reads(
        [
            replace(reads[0], plate=gone, captured_at=old, capture_id=None),
            replace(reads[1], plate=kept, captured_at=now - timedelta(seconds=5), capture_id=None),
        ]
    )
    contents(runtime)
    files_before = filenodes(runtime)
    control = holding(projection_files(runtime, request, tmp_path), [gone, kept])
    if runtime.projections.dialect == "sqlite":
        assert gone in control and kept in control, (
            "the scan must see the index's plates, or it reads nothing"
        )
    purge_day(runtime, old)
    assert str(stored[0]) not in {row[0] for row in contents(runtime)["reads"]}
    found = holding(projection_files(runtime, request, tmp_path), [gone, kept])
    assert gone not in found
    if runtime.projections.dialect == "sqlite":
        assert kept in found
    else:
        # Unlogged pages are not flushed by a CHECKPOINT, so the scan above may see little; what
        # proves the deletion final is VACUUM FULL: the tables now live in new files, the old unlinked.
        after = filenodes(runtime)
        assert all(after[t] != files_before[t] for t in files_before), (files_before, after)


def filenodes(runtime: Runtime) -> dict[str, int]:
    if runtime.projections.dialect == "sqlite":
        return {}
    with runtime.projections.read() as c:
        c.execute(f"SELECT pg_relation_filenode('{READS_TABLE}'), pg_relation_filenode('{PLATES}')")
        row = c.fetchone()
    return {READS_TABLE: int(row[0]), PLATES: int(row[1])}


def test_shredding_one_read_removes_that_read_only_not_its_day(runtime: Runtime) -> None:
    stored = two_days(runtime, 60)
    victim, read = stored[0]
    runner(runtime.app, "reads").catch_up()
    day = read.captured_at.astimezone(UTC).date()
    same_day = [rid for rid, r in stored if r.captured_at.astimezone(UTC).date() == day]
    assert len(same_day) > 1
    runtime.app.shred_record(victim, rule="erroneous_read", reason="misread by the camera", actor="tests")
    runner(runtime.app, "reads").catch_up()
    assert contents(runtime)["reads"] == expected_rows([s for s in stored if s[0] != victim])
