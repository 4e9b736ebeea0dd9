"""The views' follower: clear-only decoding, the scheduled catch-up, the CLI catch-up, and the
rewrite that a single-record shred defers out of its request (PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC
from typing import Any
from uuid import UUID

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from eventsourcing.utils import get_topic
from typer.testing import CliRunner

from domain.read import Read
from domain.values import is_purged
from ledger.sealing_mapper import UNOPENED
from ops.bootstrap import Runtime
from ops.cli import app as cli
from ops.scheduler import add_projection_job
from ops.settings import Settings
from projections.reads import PLATES, READS_TABLE
from projections.registry import catch_up_all, runner, runners
from projections.reports import HitsBySourceProjection, PublicStatisticsProjection
from tests.cameras_support import city_reads

CAPTURED = get_topic(Read.Captured)


def captured_notifications(runtime: Runtime) -> list[Any]:
    return runtime.app.recorder.select_notifications(0, 10_000, topics=[CAPTURED])


class CountingKeyStore:
    """The real key store, counting the lookups made through it."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.lookups = 0

    def data_keys(self, owners: Any) -> Any:
        self.lookups += 1
        return self.real.data_keys(owners)

    def data_key(self, owner: UUID) -> Any:
        self.lookups += 1
        return self.real.data_key(owner)


def test_clear_only_decoding_asks_no_key_and_marks_sealed_fields_unopened_when_keys_live(
    runtime: Runtime,
) -> None:
    reads = city_reads(runtime, 20)
    runtime.app.record_reads(reads)
    mapper: Any = runtime.app.mapper
    counting = CountingKeyStore(mapper.keystore)
    mapper.keystore = counting
    try:
        closed = mapper.to_domain_events(captured_notifications(runtime), open_sealed=False)
        assert counting.lookups == 0
        opened = mapper.to_domain_events(captured_notifications(runtime))
        assert counting.lookups == 1
    finally:
        mapper.keystore = counting.real
    plates = {r.plate for r in reads}
    for shut, live in zip(closed, opened, strict=True):
        assert shut.plate is UNOPENED and shut.state is UNOPENED and shut.vehicle is UNOPENED
        assert not is_purged(shut.plate)
        assert live.plate in plates and shut.plate not in plates
        # Clear fields decode the same either way.
        assert (shut.captured_at, shut.camera_id, shut.camera_kind, shut.confidence) == (
            live.captured_at,
            live.camera_id,
            live.camera_kind,
            live.confidence,
        )
        if live.camera_kind == "fixed":
            assert (shut.latitude, shut.longitude) == (live.latitude, live.longitude)
        else:  # a mobile read's place is personal: sealed, so unopened
            assert shut.latitude is UNOPENED and shut.longitude is UNOPENED


def test_clear_only_decoding_of_a_shredded_read_is_unopened_not_purged(runtime: Runtime) -> None:
    (rid,) = runtime.app.record_reads(city_reads(runtime, 1))
    runtime.app.shred_record(rid, rule="erroneous_read", reason="misread by the camera", actor="tests")
    mapper: Any = runtime.app.mapper
    (shut,) = mapper.to_domain_events(captured_notifications(runtime), open_sealed=False)
    (opened,) = mapper.to_domain_events(captured_notifications(runtime))
    assert shut.plate is UNOPENED and not is_purged(shut.plate)
    assert is_purged(opened.plate)


def test_count_views_read_clear_fields_only_and_still_count_every_read(runtime: Runtime) -> None:
    assert not HitsBySourceProjection.opens_sealed and not PublicStatisticsProjection.opens_sealed
    reads = city_reads(runtime, 50)
    runtime.app.record_reads(reads)
    expected: dict[str, int] = {}
    for r in reads:
        day = r.captured_at.astimezone(UTC).date().isoformat()
        expected[day] = expected.get(day, 0) + 1
    catch_up_all(runtime.app, only=["hits_by_source", "public_statistics"])
    with runtime.projections.read() as c:
        c.execute("SELECT day, reads FROM rpt_reads_daily")
        by_source = {str(d): int(n) for d, n in c.fetchall()}
        c.execute("SELECT day, reads FROM pub_daily")
        public = {str(d): int(n) for d, n in c.fetchall()}
    assert by_source == expected and public == expected


@pytest.fixture
def scheduler() -> Iterator[BackgroundScheduler]:
    s = BackgroundScheduler(timezone="UTC")
    s.start()
    try:
        yield s
    finally:
        s.shutdown(wait=True)


def wait_until_caught_up(runtime: Runtime, done: threading.Event) -> bool:
    """Polls the views' lag (no search, no report asks for a catch-up) until every one is at the top."""
    for _ in range(600):
        if all(r.lag() == 0 for r in runners(runtime.app).values()):
            return True
        done.wait(0.1)
    return False


def test_follower_job_catches_every_view_up_without_a_search(
    runtime: Runtime, scheduler: BackgroundScheduler
) -> None:
    runtime.app.record_reads(city_reads(runtime, 30))
    behind = {name: r.lag() for name, r in runners(runtime.app).items()}
    assert behind["reads"] > 0 and behind["public_statistics"] > 0
    assert add_projection_job(scheduler, runtime.app, 0.05)
    assert wait_until_caught_up(runtime, threading.Event())
    with runtime.projections.read() as c:
        c.execute(f"SELECT COUNT(*) FROM {READS_TABLE}")
        assert int(c.fetchone()[0]) == 30


def test_follower_job_is_not_added_when_the_interval_is_zero(
    runtime: Runtime, scheduler: BackgroundScheduler
) -> None:
    assert not add_projection_job(scheduler, runtime.app, 0)
    assert scheduler.get_job("projections") is None
    assert Settings(database_url="sqlite:///x.db").projection_interval_s > 0


def test_cli_catch_up_with_two_workers_brings_every_view_to_the_top(settings: Settings) -> None:
    from ops.bootstrap import build_runtime

    rt = build_runtime(settings)
    try:
        rt.app.record_reads(city_reads(rt, 40))
        assert all(r.lag() > 0 for name, r in runners(rt.app).items() if name in ("reads", "hits_by_source"))
    finally:
        rt.close()
    env = {"ALPR_DATA_DIR": str(settings.data_dir), "ALPR_LOG_ORIGIN": settings.log_origin}
    result = CliRunner().invoke(
        cli, ["projections", "catch-up", "--workers", "2", "--db", settings.database_url], env=env
    )
    assert result.exit_code == 0, result.output
    assert "reads: 40 events applied" in result.stdout
    rt = build_runtime(settings)
    try:
        assert {name: r.lag() for name, r in runners(rt.app).items()} == dict.fromkeys(runners(rt.app), 0)
    finally:
        rt.close()


def filenodes(runtime: Runtime) -> dict[str, int]:
    with runtime.projections.read() as c:
        c.execute(f"SELECT pg_relation_filenode('{READS_TABLE}'), pg_relation_filenode('{PLATES}')")
        row = c.fetchone()
    return {READS_TABLE: int(row[0]), PLATES: int(row[1])}


def test_single_shred_defers_the_rewrite_to_the_next_follower_tick_on_postgres(
    runtime: Runtime, scheduler: BackgroundScheduler
) -> None:
    db = runtime.projections
    reads = city_reads(runtime, 10)
    ids = runtime.app.record_reads(reads)
    runner(runtime.app, "reads").catch_up()
    before = filenodes(runtime) if db.dialect == "postgres" else {}
    runtime.app.shred_record(ids[0], rule="erroneous_read", reason="misread by the camera", actor="tests")
    with db.read() as c:  # gone from the index as the request returns
        c.execute(db.sql(f"SELECT COUNT(*) FROM {READS_TABLE} WHERE read_id = ?"), (str(ids[0]),))
        assert int(c.fetchone()[0]) == 0
        c.execute(f"SELECT COUNT(*) FROM {READS_TABLE}")
        assert int(c.fetchone()[0]) == 9
    if db.dialect == "sqlite":  # zeroed in place (secure_delete): nothing is deferred
        assert db.pending_rewrites() == []
        return
    # Not rewritten inside the request: the old files hold the dead tuple until the rewrite.
    assert set(db.pending_rewrites()) == {READS_TABLE, PLATES}
    assert filenodes(runtime) == before
    assert add_projection_job(scheduler, runtime.app, 0.05)
    done = threading.Event()
    for _ in range(600):
        if not db.pending_rewrites():
            break
        done.wait(0.1)
    assert db.pending_rewrites() == []
    after = filenodes(runtime)
    assert all(after[t] != before[t] for t in before), (before, after)


def test_day_purge_still_rewrites_at_once_on_postgres(runtime: Runtime) -> None:
    from tests.test_purged_read_paths import purge_day

    db = runtime.projections
    reads = city_reads(runtime, 6)
    runtime.app.record_reads(reads)
    runner(runtime.app, "reads").catch_up()
    before = filenodes(runtime) if db.dialect == "postgres" else {}
    purge_day(runtime, reads[0].captured_at)
    runner(runtime.app, "reads").catch_up()
    assert db.pending_rewrites() == []
    if db.dialect == "postgres":
        after = filenodes(runtime)
        assert all(after[t] != before[t] for t in before), (before, after)
