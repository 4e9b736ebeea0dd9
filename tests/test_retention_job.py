"""The retention run on SQLite and PostgreSQL: day purges under every profile, only once due; the
Purge record; purged reads and hits; the ledger still verifies; dry runs; reruns; reconciliation
after a crash; shredding one record; blobs; two runs at once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from domain.errors import ConflictError, DomainError, InvalidFieldError, NotFoundError
from domain.policy import Role
from domain.profiles import PROFILES, get_profile
from domain.read import Read
from domain.retention import (
    RULE_COURT_ORDER,
    RULE_ERRONEOUS_READ,
    RULE_QUERY_LOG_RETENTION,
    RULE_READ_RETENTION,
    Purge,
    case_due,
    purge_id,
    read_day_due,
    search_day_due,
)
from domain.search import RunSearch, Search
from domain.values import is_purged
from ledger.audit import audit
from ops.bootstrap import Runtime, build_runtime
from ops.keys import read_kek, search_kek
from ops.retention import clause_text
from ops.settings import Settings
from tests.api_support import recorded, token_for
from tests.cameras_support import png, read_from, register, use_blob_store
from tests.hits_support import FakeClock

T0 = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
DAY = T0.date()
CSV = "plate,state,reason,case_number\nHIT1000,NY,stolen vehicle,24-000123\n"


def set_clock(runtime: Runtime, clock: FakeClock) -> None:
    runtime.app.clock = clock
    runtime.keystore.clock = clock


@pytest.fixture
def clock(runtime: Runtime) -> FakeClock:
    c = FakeClock(T0)
    set_clock(runtime, c)
    register(runtime, "FX-1")
    return c


def ingest(runtime: Runtime, clock: FakeClock, plates: list[str], *, tag: str = "a") -> list[UUID]:
    reads = [
        read_from(plate=p, captured_at=clock.now - timedelta(minutes=1), capture_id=f"{tag}-{i}")
        for i, p in enumerate(plates)
    ]
    return runtime.app.record_reads(reads)


def read(runtime: Runtime, read_id: UUID) -> Read:
    found = runtime.app.repository.get(read_id)
    assert isinstance(found, Read)
    return found


def purges(runtime: Runtime) -> list[Purge.Executed]:
    return recorded(runtime, Purge.Executed)


def verifies(runtime: Runtime) -> bool:
    runtime.checkpointer.checkpoint()
    return audit(runtime.ledger, runtime.checkpointer.signer.vkey).ok


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_run_purges_read_day_only_once_due_under_every_profile(
    runtime: Runtime, clock: FakeClock, profile: str
) -> None:
    app = runtime.app
    app.policy = get_profile(profile)
    hotlist = app.create_hotlist("NCIC stolen", "ncic", provenance="NCIC extract", actor="tests")
    app.import_hotlist_csv(hotlist, CSV, version="2025-03-03", actor="tests")
    ids = ingest(runtime, clock, ["HIT1000", "ABC1001", "ABC1002"])
    (hit,) = app.list_hits(newest_first=False)
    assert hit.read_plate == "HIT1000"
    due = read_day_due(DAY, app.policy)

    clock.now = due - timedelta(seconds=1)
    assert app.run_retention().purges == ()
    assert read(runtime, ids[0]).plate == "HIT1000" and purges(runtime) == []

    clock.now = due
    report = app.run_retention()

    (item,) = report.purges
    assert (item.key_id, item.scope, item.rule, item.record_count) == (
        read_kek(T0),
        "kek",
        RULE_READ_RETENTION,
        3,
    )
    (event,) = purges(runtime)
    clause = clause_text(app.policy.read_retention.clause)
    assert event.originator_id == purge_id(read_kek(T0))
    assert (event.key_id, event.scope, event.retention_class, event.day) == (
        read_kek(T0),
        "kek",
        "reads",
        "2025-03-03",
    )
    assert (event.rule, event.profile, event.clause, event.record_count) == (
        RULE_READ_RETENTION,
        profile,
        clause,
        3,
    )
    assert event.due_at == due and event.destroyed_at == due and event.record_ids == []
    assert profile in event.reason and app.policy.read_retention.clause.ref in event.reason
    for read_id in ids:
        r = read(runtime, read_id)
        assert r.purged and is_purged(r.plate) and is_purged(r.state)
        assert r.camera_id == "FX-1" and r.captured_at == T0 - timedelta(minutes=1)  # clear metadata stays
    (hit,) = app.list_hits(newest_first=False)
    assert hit.purged and is_purged(hit.read_plate) and is_purged(hit.entry_plate)
    info = app.purge_info(ids[0])
    assert info is not None and (info.key_id, info.rule, info.profile, info.due_at) == (
        read_kek(T0),
        RULE_READ_RETENTION,
        profile,
        due,
    )
    assert verifies(runtime)


def test_run_purges_search_day_when_query_log_retention_passed(runtime: Runtime, clock: FakeClock) -> None:
    app = runtime.app
    who = app.authenticate(token_for(runtime, Role.INVESTIGATOR))
    request = RunSearch(
        search_type="plate",
        criteria={"plate": "ABC1234"},
        purpose="no_such_purpose",
        reason="vehicle seen leaving the burglary at 12 Elm St",
        case_number="25-004211",
    )
    with pytest.raises(DomainError):
        app.run_search(who, request)  # refused, but recorded (criteria sealed under the day's key)
    (requested,) = recorded(runtime, Search.Requested)
    search_id = requested.originator_id
    assert runtime.keystore.kek_of(search_id) == search_kek(T0)
    due = search_day_due(DAY, app.policy)
    clock.now = due - timedelta(seconds=1)
    assert [p.key_id for p in app.run_retention().purges if p.retention_class == "searches"] == []
    clock.now = due
    report = app.run_retention()
    (item,) = [p for p in report.purges if p.retention_class == "searches"]
    assert (item.key_id, item.rule, item.due_at) == (search_kek(T0), RULE_QUERY_LOG_RETENTION, due)
    assert item.clause == clause_text(app.policy.query_log_retention.clause)
    assert runtime.keystore.data_key(search_id) is None
    assert app.get_search(search_id).search_id == search_id  # still readable, never an error
    assert verifies(runtime)


def test_dry_run_reports_the_same_and_changes_nothing(runtime: Runtime, clock: FakeClock) -> None:
    ids = ingest(runtime, clock, ["ABC1001", "ABC1002"])
    clock.now = read_day_due(DAY, runtime.app.policy) + timedelta(hours=1)
    size = runtime.ledger.size()
    planned = runtime.app.run_retention(dry_run=True)
    assert [(p.key_id, p.rule, p.record_count) for p in planned.purges] == [
        (read_kek(T0), RULE_READ_RETENTION, None)
    ]
    assert planned.dry_run and planned.to_json()["purges"][0]["key_id"] == read_kek(T0)
    assert runtime.ledger.size() == size and purges(runtime) == []
    assert runtime.keystore.destructions() == [] and not read(runtime, ids[0]).purged
    done = runtime.app.run_retention()
    assert [(p.key_id, p.record_count) for p in done.purges] == [(read_kek(T0), 2)]


def test_rerun_is_idempotent(runtime: Runtime, clock: FakeClock) -> None:
    ingest(runtime, clock, ["ABC1001"])
    clock.now = read_day_due(DAY, runtime.app.policy)
    assert len(runtime.app.run_retention().purges) == 1
    size = runtime.ledger.size()
    again = runtime.app.run_retention()
    assert again.purges == () and again.holds == ()
    assert runtime.ledger.size() == size and len(purges(runtime)) == 1


def test_run_records_purge_when_key_was_destroyed_without_one(runtime: Runtime, clock: FakeClock) -> None:
    ingest(runtime, clock, ["ABC1001", "ABC1002"])
    clock.now = read_day_due(DAY, runtime.app.policy) + timedelta(minutes=5)
    # A crash between the destruction and the save of its Purge.
    assert runtime.keystore.destroy_kek(read_kek(T0), reason="[read_retention] interrupted") == 2
    clock.advance(timedelta(hours=1))
    report = runtime.app.run_retention()
    (item,) = report.purges
    assert item.reconciled and (item.key_id, item.rule, item.record_count) == (
        read_kek(T0),
        RULE_READ_RETENTION,
        2,
    )
    (event,) = purges(runtime)
    assert event.destroyed_at == runtime.keystore.destruction(read_kek(T0)).destroyed_at  # type: ignore[union-attr]
    assert event.due_at == read_day_due(DAY, runtime.app.policy)
    assert runtime.app.run_retention().purges == () and len(purges(runtime)) == 1


def test_shred_record_destroys_one_read_and_records_why(runtime: Runtime, clock: FakeClock) -> None:
    app = runtime.app
    ids = ingest(runtime, clock, ["ABC1001", "ABC1002"])
    info = app.shred_record(
        ids[0], rule=RULE_COURT_ORDER, reason="order 2025-117 of the county court", actor="po.lee"
    )
    assert (info.key_id, info.rule, info.due_at, info.profile) == (
        str(ids[0]),
        RULE_COURT_ORDER,
        None,
        app.policy.name,
    )
    assert read(runtime, ids[0]).purged and not read(runtime, ids[1]).purged
    (event,) = purges(runtime)
    assert (event.scope, event.record_ids, event.record_count, event.by) == ("record", [ids[0]], 1, "po.lee")
    assert app.purge_info(ids[0]) == info and app.purge_info(ids[1]) is None
    with pytest.raises(ConflictError, match="read.purged"):
        app.shred_record(ids[0], rule=RULE_ERRONEOUS_READ, reason="again", actor="po.lee")
    with pytest.raises(NotFoundError, match="read.unknown"):
        app.shred_record(uuid4(), rule=RULE_ERRONEOUS_READ, reason="misread", actor="po.lee")
    with pytest.raises(InvalidFieldError, match="retention.rule.unknown"):
        app.shred_record(ids[1], rule=RULE_READ_RETENTION, reason="early", actor="po.lee")
    with pytest.raises(InvalidFieldError, match="retention.reason.required"):
        app.shred_record(ids[1], rule=RULE_ERRONEOUS_READ, reason="  ", actor="po.lee")
    assert len(purges(runtime)) == 1 and not read(runtime, ids[1]).purged
    # The day purge later counts only the keys still under the day.
    clock.now = read_day_due(DAY, app.policy)
    (item,) = app.run_retention().purges
    assert item.record_count == 1
    assert app.purge_info(ids[0]) == info  # still the court order, not the day
    assert verifies(runtime)


def test_shred_record_refuses_a_reason_naming_the_plate_of_the_read(
    runtime: Runtime, clock: FakeClock
) -> None:
    app = runtime.app
    ids = ingest(runtime, clock, ["ABC1234", "I", "XYZ9"])
    for reason in (
        "camera misread abc-1234 as a plate",
        "ABC 1234",
        "wrong car: Abc.1234!",
        "ａｂｃ１２３４",
    ):
        with pytest.raises(InvalidFieldError) as raised:
            app.shred_record(ids[0], rule=RULE_ERRONEOUS_READ, reason=reason, actor="po.lee")
        assert (raised.value.field, raised.value.rule) == ("reason", "retention.reason.personal")
    assert purges(runtime) == [] and runtime.keystore.destructions() == []
    assert runtime.keystore.data_key(ids[0]) is not None
    # Another read's plate, or a partial one, is no plate of this read.
    app.shred_record(ids[0], rule=RULE_ERRONEOUS_READ, reason="misread of XYZ9 plate ABC123", actor="po.lee")
    (event,) = purges(runtime)
    assert "XYZ9" in event.reason and runtime.keystore.destruction(ids[0]) is not None
    # A short plate is matched as a whole word, not inside any word.
    with pytest.raises(InvalidFieldError, match="retention.reason.personal"):
        app.shred_record(ids[1], rule=RULE_ERRONEOUS_READ, reason="read as i, a shadow", actor="po.lee")
    app.shred_record(ids[1], rule=RULE_ERRONEOUS_READ, reason="misread shadow", actor="po.lee")
    with pytest.raises(InvalidFieldError, match="retention.reason.personal"):
        app.shred_record(ids[2], rule=RULE_COURT_ORDER, reason="order on xyz-9", actor="po.lee")
    assert len(purges(runtime)) == 2


def test_shred_record_refuses_held_and_case_reads_until_released(runtime: Runtime, clock: FakeClock) -> None:
    app = runtime.app
    ids = ingest(runtime, clock, ["ABC1001", "ABC1002", "ABC1003", "ABC1004"])
    hold = app.request_hold(ids[:1], "25-1", "needed for trial", clock.now + timedelta(days=30), actor="inv")
    app.approve_hold(hold.hold_id, actor="sgt")
    case = app.open_case("25-2", "misdemeanor", "Theft", actor="inv")
    app.attach_reads("25-2", ids[1:3], actor="inv")
    runtime.keystore.rekey(ids[2], read_kek(T0))  # its re-key lost: the log still says it is on the case

    def refused(read_id: UUID) -> str:
        with pytest.raises(ConflictError) as raised:
            app.shred_record(read_id, rule=RULE_COURT_ORDER, reason="court order 25-117", actor="po.lee")
        assert raised.value.field == "read_id"
        return raised.value.rule

    assert refused(ids[0]) == "read.held"
    assert refused(ids[1]) == "read.on_case" and refused(ids[2]) == "read.on_case"
    assert purges(runtime) == [] and runtime.keystore.destructions() == []
    assert not any(read(runtime, r).purged for r in ids)
    app.shred_record(ids[3], rule=RULE_COURT_ORDER, reason="court order 25-117", actor="po.lee")

    app.release_hold(hold.hold_id, "order to shred received", actor="sgt")
    app.shred_record(ids[0], rule=RULE_COURT_ORDER, reason="court order 25-117", actor="po.lee")
    assert read(runtime, ids[0]).purged
    closed = app.close_case("25-2", "misdemeanor", actor="sgt")
    due = case_due("misdemeanor", closed.closed_at, app.policy)  # type: ignore[arg-type]
    if due is not None:  # once its case retention has fallen due, the case no longer keeps it
        clock.now = due
        app.shred_record(ids[1], rule=RULE_COURT_ORDER, reason="court order 25-118", actor="po.lee")
        assert read(runtime, ids[1]).purged
    else:
        assert refused(ids[1]) == "read.on_case"
    assert case.case_id and verifies(runtime)


def test_purge_deletes_blobs_of_shredded_reads(runtime: Runtime, clock: FakeClock, tmp_path: object) -> None:
    from pathlib import Path

    from ledger.blobs import blob_digest

    blobs = use_blob_store(runtime, Path(str(tmp_path)) / "blobs")
    images = {blob_digest(png(seed=i)): png(seed=i) for i in range(2)}
    refs = list(images)
    commands = [
        read_from(
            plate=f"ABC100{i}",
            captured_at=T0 - timedelta(minutes=1),
            capture_id=f"img-{i}",
            plate_image=refs[i],
        )
        for i in range(2)
    ]
    result = runtime.app.ingest_reads(commands, images=images)
    ids = list(result.read_ids)
    assert all(blobs.record_dir(r).is_dir() for r in ids)
    runtime.app.shred_record(ids[0], rule=RULE_ERRONEOUS_READ, reason="misread plate", actor="sgt")
    assert not blobs.record_dir(ids[0]).exists() and blobs.record_dir(ids[1]).is_dir()
    clock.now = read_day_due(DAY, runtime.app.policy)
    report = runtime.app.run_retention()
    assert report.blobs_deleted == 1 and not blobs.record_dir(ids[1]).exists()


@pytest.fixture
def second(settings: Settings) -> Iterator[Runtime]:
    rt = build_runtime(settings)
    try:
        yield rt
    finally:
        rt.close()


def test_two_runs_at_once_destroy_and_record_each_key_once(
    runtime: Runtime, clock: FakeClock, second: Runtime
) -> None:
    set_clock(second, clock)
    ingest(runtime, clock, ["ABC1001", "ABC1002"])
    clock.advance(timedelta(days=1))
    ingest(runtime, clock, ["ABC1003"], tag="b")
    clock.now = read_day_due(DAY + timedelta(days=1), runtime.app.policy)
    reports: list[object] = []
    errors: list[BaseException] = []

    def go(rt: Runtime) -> None:
        try:
            reports.append(rt.app.run_retention())
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(rt,)) for rt in (runtime, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    events = purges(runtime)
    assert sorted(e.key_id for e in events) == sorted({read_kek(T0), read_kek(T0 + timedelta(days=1))})
    assert sorted(d.key_id for d in runtime.keystore.destructions()) == sorted(e.key_id for e in events)
    assert sum(e.record_count for e in events) == 3
    assert verifies(runtime)


def test_cli_runs_retention_shreds_and_lists_holds(
    runtime: Runtime, clock: FakeClock, settings: Settings
) -> None:
    import json

    from typer.testing import CliRunner

    from ops.cli import app as cli

    ids = ingest(runtime, clock, ["ABC1001", "ABC1002"])
    # The CLI runs on the real clock: under the 30-day profile, the 2025 day is long due.
    env = {"ALPR_DATA_DIR": str(settings.data_dir), "ALPR_LOG_ORIGIN": settings.log_origin}
    env["ALPR_POLICY"] = "county-sheriff-2025"
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(cli, ["retention", *args, "--db", settings.database_url], env=env)
        return result.exit_code, result.stdout

    code, out = run("run", "--dry-run", "--json")
    assert code == 0, out
    report = json.loads(out)
    assert report["dry_run"] and report["profile"] == "county-sheriff-2025"
    assert [(p["key_id"], p["record_count"]) for p in report["purges"]] == [(read_kek(T0), None)]
    assert not read(runtime, ids[0]).purged
    code, out = run("shred", str(ids[0]), "--rule", "erroneous_read", "--reason", "misread plate")
    assert code == 0 and f"shredded {ids[0]}" in out
    assert run("shred", str(ids[0]), "--rule", "erroneous_read", "--reason", "again")[0] == 1
    code, out = run("run")
    assert code == 0 and "purged 1 keys" in out and read_kek(T0) in out
    assert read(runtime, ids[1]).purged
    assert run("holds")[0] == 0 and run("holds", "--status", "bogus")[0] == 1


def test_scheduled_job_purges_what_fell_due(runtime: Runtime, clock: FakeClock) -> None:
    import time

    from apscheduler.schedulers.background import BackgroundScheduler

    from ops.scheduler import add_retention_job

    ids = ingest(runtime, clock, ["ABC1001"])
    clock.now = read_day_due(DAY, runtime.app.policy)
    scheduler = BackgroundScheduler(timezone="UTC")
    add_retention_job(scheduler, runtime.app, 0.05)
    scheduler.start()
    try:
        deadline = time.monotonic() + 10
        while not purges(runtime) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        scheduler.shutdown(wait=True)
    assert [e.key_id for e in purges(runtime)] == [read_kek(T0)] and read(runtime, ids[0]).purged


def test_run_retention_refuses_a_real_run_dated_after_now_but_previews_it(runtime: Runtime) -> None:
    later = runtime.app.clock() + timedelta(days=4000)
    for when in (later, runtime.app.clock() + timedelta(minutes=6)):
        with pytest.raises(InvalidFieldError) as raised:
            runtime.app.run_retention(now=when)
        assert (raised.value.field, raised.value.rule) == ("now", "retention.now.future")
    assert runtime.app.run_retention(now=later, dry_run=True).dry_run


def test_run_retention_refuses_a_real_run_dated_before_now_and_stamps_the_clock(
    runtime: Runtime, clock: FakeClock
) -> None:
    app = runtime.app
    ids = ingest(runtime, clock, ["ABC1001"])
    due = read_day_due(DAY, app.policy)
    clock.now = due + timedelta(days=40)  # purged late: a backdated run would hide that
    for earlier in (due, clock.now - timedelta(minutes=6)):
        with pytest.raises(InvalidFieldError) as raised:
            app.run_retention(now=earlier)
        assert (raised.value.field, raised.value.rule) == ("now", "retention.now.not_current")
    assert purges(runtime) == [] and not read(runtime, ids[0]).purged
    preview = app.run_retention(now=due, dry_run=True)  # a preview may be dated anywhere
    assert preview.now == due and [p.key_id for p in preview.purges] == [read_kek(T0)]

    # Within the skew it runs, but at the clock: the caller's time stamps nothing.
    report = app.run_retention(now=clock.now - timedelta(minutes=4))
    assert report.now == clock.now and [p.key_id for p in report.purges] == [read_kek(T0)]
    (event,) = purges(runtime)
    assert event.destroyed_at == clock.now and event.timestamp == clock.now
    assert read(runtime, ids[0]).purged
