"""The projection machinery: positions tracked with the rows, restarts, concurrent runners, rebuild."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, ClassVar

from eventsourcing.utils import get_topic

from domain.read import Read
from ops.bootstrap import Runtime
from projections.base import Projection, ProjectionRunner
from projections.store import Cursor, ProjectionDB
from tests.cameras_support import city_reads


class ReadsPerCamera(Projection):
    """A small real projection: how many reads each camera took (one row per camera)."""

    name: ClassVar[str] = "test_reads_per_camera"
    topics: ClassVar[tuple[str, ...]] = (get_topic(Read.Captured),)
    tables: ClassVar[tuple[str, ...]] = ("test_reads_per_camera",)

    def __init__(self, version: int = 1) -> None:
        self.version = version  # type: ignore[misc]

    def create(self, c: Cursor, db: ProjectionDB) -> None:
        unlogged = "UNLOGGED " if db.dialect == "postgres" else ""
        c.execute(
            f"CREATE {unlogged}TABLE IF NOT EXISTS test_reads_per_camera "
            "(camera_id TEXT PRIMARY KEY, reads BIGINT NOT NULL)"
        )

    def apply(self, c: Cursor, db: ProjectionDB, events: Sequence[Any]) -> bool:
        counts: dict[str, int] = {}
        for event in events:
            counts[event.camera_id] = counts.get(event.camera_id, 0) + 1
        c.executemany(
            db.sql(
                "INSERT INTO test_reads_per_camera VALUES (?, ?) "
                "ON CONFLICT (camera_id) DO UPDATE SET reads = test_reads_per_camera.reads + excluded.reads"
            ),
            sorted(counts.items()),
        )
        return False


def counts(runtime: Runtime) -> dict[str, int]:
    with runtime.projections.read() as c:
        c.execute("SELECT camera_id, reads FROM test_reads_per_camera")
        return {row[0]: int(row[1]) for row in c.fetchall()}


def expected(reads: Sequence[Any]) -> dict[str, int]:
    found: dict[str, int] = {}
    for r in reads:
        found[r.camera_id] = found.get(r.camera_id, 0) + 1
    return found


def runner(runtime: Runtime, page: int = 50, version: int = 1) -> ProjectionRunner:
    return ProjectionRunner(runtime.app, ReadsPerCamera(version), runtime.projections, page=page)


def test_catch_up_applies_each_read_once_and_tracks_the_position(runtime: Runtime) -> None:
    reads = city_reads(runtime, 220)
    runtime.app.record_reads(reads[:120])
    first = runner(runtime)
    assert first.lag() > 0
    assert first.catch_up() == 120
    assert first.lag() == 0 and counts(runtime) == expected(reads[:120])
    runtime.app.record_reads(reads[120:])
    # a restart: a new runner starts from the stored position, not from the beginning
    again = runner(runtime)
    assert again.position() == first.position()
    assert again.catch_up() == 100
    assert counts(runtime) == expected(reads) and again.catch_up() == 0


def test_two_runners_at_once_never_apply_a_page_twice(runtime: Runtime) -> None:
    reads = city_reads(runtime, 400)
    runtime.app.record_reads(reads)
    runners = [runner(runtime, page=25) for _ in range(3)]
    failures: list[BaseException] = []

    def run(r: ProjectionRunner) -> None:
        try:
            r.catch_up()
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(r,)) for r in runners]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert counts(runtime) == expected(reads)
    assert all(r.lag() == 0 for r in runners)


def test_rebuild_gives_identical_rows_and_reports_progress(runtime: Runtime) -> None:
    reads = city_reads(runtime, 150)
    runtime.app.record_reads(reads)
    r = runner(runtime)
    r.catch_up()
    before = counts(runtime)
    seen: list[tuple[int, int]] = []
    assert r.rebuild(progress=lambda position, top: seen.append((position, top))) == 150
    assert counts(runtime) == before
    assert seen and seen[-1][0] == seen[-1][1] == r.position()


def test_a_new_version_drops_the_old_rows_and_rebuilds(runtime: Runtime) -> None:
    reads = city_reads(runtime, 60)
    runtime.app.record_reads(reads)
    runner(runtime).catch_up()
    with runtime.projections.transaction() as c:
        c.execute("UPDATE test_reads_per_camera SET reads = 0")  # rows of an older shape
    newer = runner(runtime, version=2)
    assert newer.position() == 0
    newer.catch_up()
    assert counts(runtime) == expected(reads)


def test_a_lost_position_row_rebuilds_instead_of_spinning(runtime: Runtime) -> None:
    # PostgreSQL empties unlogged tables after a crash: rows and positions go together.
    reads = city_reads(runtime, 80)
    runtime.app.record_reads(reads[:50])
    r = runner(runtime)
    r.catch_up()
    with runtime.projections.transaction() as c:
        c.execute("DELETE FROM test_reads_per_camera")
        c.execute("DELETE FROM projection_positions")
    runtime.app.record_reads(reads[50:])
    done = threading.Event()
    worker = threading.Thread(target=lambda: (r.catch_up(), done.set()), daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert done.is_set(), "catch_up did not return"
    assert counts(runtime) == expected(reads)
