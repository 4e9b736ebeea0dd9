"""Holds and cases through the retention run, on SQLite and PostgreSQL: a hold keeps data through a
purge and loses it after release (by hand, and by flag + grace); a case keeps attached reads past
their day, and its close + case retention shreds them."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from domain.errors import ConflictError, InvalidFieldError, NotFoundError
from domain.retention import (
    HOLD_GRACE,
    RULE_CASE_RETENTION,
    RULE_ERRONEOUS_READ,
    RULE_HOLD_RELEASED,
    RULE_READ_RETENTION,
    Hold,
    HoldStatus,
    Purge,
    case_due,
    read_day_due,
)
from ops.bootstrap import Runtime
from ops.keys import case_kek, hold_kek, read_kek
from ops.retention import clause_text
from tests.api_support import recorded
from tests.hits_support import FakeClock
from tests.test_retention_job import DAY, T0, clock, ingest, read, verifies

__all__ = ["clock"]  # the fixture, shared with the job tests

REASON = "suspect vehicle in an open burglary investigation"


def held(runtime: Runtime, clock: FakeClock, read_ids: list, *, review_in: timedelta = timedelta(days=90)):  # type: ignore[no-untyped-def, type-arg]
    view = runtime.app.request_hold(read_ids, "25-004211", REASON, clock.now + review_in, actor="inv.smith")
    return runtime.app.approve_hold(view.hold_id, actor="sgt.jones")


def test_hold_keeps_reads_through_day_purge_and_loses_them_after_release(
    runtime: Runtime, clock: FakeClock
) -> None:
    app = runtime.app
    ids = ingest(runtime, clock, ["ABC1001", "ABC1002", "ABC1003"])
    hold = held(runtime, clock, ids[:2], review_in=timedelta(days=366))
    assert hold.status == HoldStatus.ACTIVE and hold.approved_by == "sgt.jones"
    assert {runtime.keystore.kek_of(r) for r in ids[:2]} == {hold_kek(hold.hold_id)}
    due = read_day_due(DAY, app.policy)
    clock.now = due + timedelta(hours=1)
    (day,) = app.run_retention().purges
    assert (day.key_id, day.record_count) == (read_kek(T0), 1)
    assert read(runtime, ids[2]).purged
    assert not read(runtime, ids[0]).purged and read(runtime, ids[1]).plate == "ABC1002"
    assert app.purge_info(ids[0]) is None

    released = app.release_hold(hold.hold_id, "investigation closed", actor="sgt.jones")

    assert released.status == HoldStatus.RELEASED and released.release_reason == "investigation closed"
    assert read(runtime, ids[0]).purged and read(runtime, ids[1]).purged
    events = [e for e in recorded(runtime, Purge.Executed) if e.scope == "record"]
    assert sorted(e.key_id for e in events) == sorted(str(r) for r in ids[:2])
    assert {(e.rule, e.due_at) for e in events} == {(RULE_HOLD_RELEASED, due)}
    assert all(e.clause == clause_text(app.policy.read_retention.clause) for e in events)
    info = app.purge_info(ids[0])
    assert info is not None and info.rule == RULE_HOLD_RELEASED
    with pytest.raises(ConflictError, match="hold.release.state"):
        app.release_hold(hold.hold_id, "again", actor="sgt.jones")
    assert verifies(runtime)


def test_released_hold_reads_go_back_to_their_day_when_not_yet_due(
    runtime: Runtime, clock: FakeClock
) -> None:
    app = runtime.app
    ids = ingest(runtime, clock, ["ABC1001"])
    hold = held(runtime, clock, ids)
    app.release_hold(hold.hold_id, "not needed after all", actor="po.lee")
    assert runtime.keystore.kek_of(ids[0]) == read_kek(T0) and not read(runtime, ids[0]).purged
    clock.now = read_day_due(DAY, app.policy)
    (item,) = app.run_retention().purges
    assert item.record_count == 1 and read(runtime, ids[0]).purged
    info = app.purge_info(ids[0])
    assert info is not None and info.rule == RULE_READ_RETENTION


def test_run_flags_hold_past_review_and_releases_it_after_grace(runtime: Runtime, clock: FakeClock) -> None:
    app = runtime.app
    ids = ingest(runtime, clock, ["ABC1001"])
    due = read_day_due(DAY, app.policy)
    clock.now = due - timedelta(days=30)
    hold = held(runtime, clock, ids, review_in=timedelta(days=40))
    clock.now = hold.review_by + timedelta(minutes=1)  # past the day's due date too
    report = app.run_retention()
    assert [(h.hold_id, h.action) for h in report.holds] == [(hold.hold_id, "flagged")]
    assert app.get_hold(hold.hold_id).status == HoldStatus.FLAGGED
    assert [v.hold_id for v in app.flagged_holds()] == [hold.hold_id]
    assert not read(runtime, ids[0]).purged  # flagged still keeps

    clock.advance(HOLD_GRACE - timedelta(minutes=2))
    assert app.run_retention().holds == ()
    clock.advance(timedelta(minutes=2))
    report = app.run_retention()
    assert [(h.hold_id, h.action) for h in report.holds] == [(hold.hold_id, "released")]
    assert [(p.key_id, p.rule) for p in report.purges] == [(str(ids[0]), RULE_HOLD_RELEASED)]
    (released,) = recorded(runtime, Hold.Released)
    assert released.automatic and released.by == "retention-job"
    assert read(runtime, ids[0]).purged and app.get_hold(hold.hold_id).status == HoldStatus.RELEASED
    assert app.run_retention().holds == ()


def test_rejustified_hold_is_not_flagged(runtime: Runtime, clock: FakeClock) -> None:
    app = runtime.app
    ids = ingest(runtime, clock, ["ABC1001"])
    hold = held(runtime, clock, ids, review_in=timedelta(days=10))
    clock.advance(timedelta(days=9))
    view = app.rejustify_hold(
        hold.hold_id, "trial set for June", clock.now + timedelta(days=60), actor="sgt.jones"
    )
    clock.advance(timedelta(days=2))
    assert app.run_retention().holds == () and view.status == HoldStatus.ACTIVE
    (event,) = recorded(runtime, Hold.Rejustified)
    assert event.by == "sgt.jones"


def test_requester_cannot_rejustify_their_own_hold(runtime: Runtime, clock: FakeClock) -> None:
    app = runtime.app
    ids = ingest(runtime, clock, ["ABC1001"])
    hold = held(runtime, clock, ids, review_in=timedelta(days=10))
    later = clock.now + timedelta(days=300)
    with pytest.raises(ConflictError) as raised:
        app.rejustify_hold(hold.hold_id, "still needed", later, actor="inv.smith")
    assert (raised.value.field, raised.value.rule) == ("hold", "hold.rejustify.own")
    assert recorded(runtime, Hold.Rejustified) == []
    assert app.get_hold(hold.hold_id).review_by == hold.review_by
    clock.advance(timedelta(days=11))
    assert [h.action for h in app.run_retention().holds] == ["flagged"]
    with pytest.raises(ConflictError, match="hold.rejustify.own"):  # nor lift its flag
        app.rejustify_hold(hold.hold_id, "still needed", later, actor="inv.smith")
    view = app.rejustify_hold(hold.hold_id, "still needed", later, actor="lt.brown")
    assert view.status == HoldStatus.ACTIVE and view.review_by == later


def test_hold_reasons_naming_a_plate_of_the_hold_are_refused(runtime: Runtime, clock: FakeClock) -> None:
    app = runtime.app
    ids = ingest(runtime, clock, ["ABC1001", "XYZ7777"])
    review = clock.now + timedelta(days=30)

    def personal(call) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(InvalidFieldError) as raised:
            call()
        assert (raised.value.field, raised.value.rule) == ("reason", "retention.reason.personal")

    personal(lambda: app.request_hold(ids, "25-1", "vehicle xyz 7777 seen at scene", review, actor="inv"))
    assert recorded(runtime, Hold.Requested) == []
    hold = app.request_hold(ids, "25-1", REASON, review, actor="inv")
    personal(lambda: app.deny_hold(hold.hold_id, "abc-1001 is not the suspect's car", actor="sgt"))
    app.approve_hold(hold.hold_id, actor="sgt")
    personal(lambda: app.rejustify_hold(hold.hold_id, "trial for ABC1001", review, actor="sgt"))
    personal(lambda: app.release_hold(hold.hold_id, "XYZ7777 cleared", actor="sgt"))
    assert app.get_hold(hold.hold_id).status == HoldStatus.ACTIVE
    changes = (Hold.Denied, Hold.Rejustified, Hold.Released)
    assert [e for kind in changes for e in recorded(runtime, kind)] == []
    # A plate of another read, not on this hold, is not this hold's personal data.
    other = ingest(runtime, clock, ["QRS5555"], tag="b")
    assert other
    released = app.release_hold(hold.hold_id, "cleared, see QRS5555 instead", actor="sgt")
    assert released.status == HoldStatus.RELEASED


def test_hold_requests_are_checked(runtime: Runtime, clock: FakeClock) -> None:
    app = runtime.app
    ids = ingest(runtime, clock, ["ABC1001", "ABC1002"])
    review = clock.now + timedelta(days=30)
    with pytest.raises(InvalidFieldError, match="hold.read.unknown"):
        app.request_hold([ids[0], uuid4()], "25-1", REASON, review, actor="inv")
    with pytest.raises(InvalidFieldError, match="case.number.format"):
        app.request_hold(ids, "no spaces allowed", REASON, review, actor="inv")
    with pytest.raises(InvalidFieldError, match="hold.review_by.past"):
        app.request_hold(ids, "25-1", REASON, clock.now - timedelta(days=1), actor="inv")
    app.shred_record(ids[1], rule=RULE_ERRONEOUS_READ, reason="misread", actor="sgt")
    with pytest.raises(ConflictError) as caught:
        app.request_hold(ids, "25-1", REASON, review, actor="inv")
    assert (caught.value.field, caught.value.rule) == ("read_ids[1]", "hold.read.purged")
    view = app.request_hold(ids[:1], "case no. 25-1", REASON, review, actor="inv")
    assert view.case_number == "25-1" and view.status == HoldStatus.REQUESTED
    assert runtime.keystore.kek_of(ids[0]) == read_kek(T0)  # not kept until approved
    with pytest.raises(ConflictError, match="hold.approve.own"):
        app.approve_hold(view.hold_id, actor="inv")
    denied = app.deny_hold(view.hold_id, "no case number on file", actor="sgt")
    assert denied.status == HoldStatus.DENIED
    with pytest.raises(NotFoundError, match="hold.unknown"):
        app.get_hold(uuid4())
    with pytest.raises(InvalidFieldError, match="hold.status.unknown"):
        app.list_holds("pending")
    assert [v.status for v in app.list_holds()] == [HoldStatus.DENIED]


def test_case_keeps_attached_reads_past_their_day_until_case_retention_runs_out(
    runtime: Runtime, clock: FakeClock
) -> None:
    app = runtime.app
    ids = ingest(runtime, clock, ["ABC1001", "ABC1002", "ABC1003"])
    case = app.open_case("25-7", "misdemeanor", "Theft", actor="inv.smith")
    app.attach_reads("25-7", ids[:2], actor="inv.smith")
    assert {runtime.keystore.kek_of(r) for r in ids[:2]} == {case_kek(case.case_id)}
    clock.now = read_day_due(DAY, app.policy) + timedelta(days=1)
    (day,) = app.run_retention().purges
    assert day.record_count == 1 and read(runtime, ids[2]).purged and not read(runtime, ids[0]).purged
    with pytest.raises(ConflictError) as caught:
        app.attach_reads("25-7", [ids[2]], actor="inv.smith")
    assert caught.value.rule == "case.read.purged"

    closed = app.close_case("25-7", "misdemeanor", actor="sgt.jones")
    assert closed.closed_at is not None
    due = case_due("misdemeanor", closed.closed_at, app.policy)
    if due is None:
        pytest.skip(f"{app.policy.name} keeps misdemeanor cases indefinitely")
    clock.now = due - timedelta(seconds=1)
    assert app.run_retention().purges == ()
    clock.now = due
    (item,) = app.run_retention().purges
    assert (item.key_id, item.rule, item.due_at, item.record_count) == (
        case_kek(case.case_id),
        RULE_CASE_RETENTION,
        due,
        2,
    )
    assert sorted(item.record_ids) == sorted(ids[:2])
    assert item.clause == clause_text(app.policy.case_retention["misdemeanor"].clause)
    assert read(runtime, ids[0]).purged and read(runtime, ids[1]).purged
    info = app.purge_info(ids[0])
    assert info is not None and info.rule == RULE_CASE_RETENTION
    assert verifies(runtime)


def test_case_purge_moves_reads_also_on_a_hold_under_the_hold(runtime: Runtime, clock: FakeClock) -> None:
    app = runtime.app
    ids = ingest(runtime, clock, ["ABC1001", "ABC1002"])
    case = app.open_case("25-8", "misdemeanor", "Theft", actor="inv.smith")
    app.attach_reads("25-8", ids, actor="inv.smith")
    closed = app.close_case("25-8", "misdemeanor", actor="sgt.jones")
    due = case_due("misdemeanor", closed.closed_at, app.policy)  # type: ignore[arg-type]
    assert due is not None
    clock.now = max(due, read_day_due(DAY, app.policy)) - timedelta(days=30)
    hold = held(runtime, clock, ids[:1], review_in=timedelta(days=300))
    assert runtime.keystore.kek_of(ids[0]) == hold_kek(hold.hold_id)
    clock.now += timedelta(days=30)
    report = app.run_retention()
    (item,) = [p for p in report.purges if p.key_id == case_kek(case.case_id)]
    assert item.record_ids == (ids[1],) and item.record_count == 1
    assert not read(runtime, ids[0]).purged and read(runtime, ids[1]).purged


def test_attach_moves_read_under_case_even_when_its_earlier_rekey_was_lost(
    runtime: Runtime, clock: FakeClock
) -> None:
    app = runtime.app
    ids = ingest(runtime, clock, ["ABC1001"])
    case = app.open_case("25-9", "misdemeanor", "Theft", actor="inv.smith")
    app.attach_reads("25-9", ids, actor="inv.smith")
    runtime.keystore.rekey(ids[0], read_kek(T0))  # as if the process died after saving the attach
    clock.now = read_day_due(DAY, app.policy)
    report = app.run_retention()
    assert report.rekeyed == 1 and runtime.keystore.kek_of(ids[0]) == case_kek(case.case_id)
    assert not read(runtime, ids[0]).purged
