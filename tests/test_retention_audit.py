"""The retention audit, on SQLite and PostgreSQL: computed from the log alone (clear metadata and purge
events), it finds days and records not shredded, shredded late or early, day purges whose key count
differs from the log's, and leaves held and case-linked reads alone while they are kept.

Purges are made here as the retention job makes them: the key destroyed in the key store, then the
matching ``Purge.Executed`` saved through the application.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.main import create_app
from domain.policy import Clause, Role, Sourced
from domain.profiles import get_profile
from domain.retention import (
    MAXIMUM_MARGIN,
    RULE_CASE_RETENTION,
    RULE_ERRONEOUS_READ,
    RULE_QUERY_LOG_RETENTION,
    RULE_READ_RETENTION,
    Hold,
    Purge,
    read_day_due,
)
from domain.search import RunSearch
from ops.bootstrap import Runtime
from ops.cli import app as cli
from ops.keys import case_kek, hold_kek, read_kek, search_kek
from ops.retention_audit import (
    COUNT_MISMATCH,
    EARLY,
    LATE,
    NOT_SHREDDED,
    RetentionAudit,
    audit_retention,
)
from tests.api_support import bearer, token_for
from tests.cameras_support import read_from, register
from tests.hits_support import FakeClock

PROFILE = "county-sheriff-2025"  # reads: 30 days (TCSO VII.A)
D1 = (datetime.now(UTC) - timedelta(days=200)).date()
D2 = D1 + timedelta(days=1)
TOLERANCE = timedelta(days=1)
# The county's 30 days are a maximum ("not to exceed"): past a read day's due the audit allows only
# the margin the due already leaves before the maximum, whatever the tolerance asked for.
READ_SLACK = min(TOLERANCE, MAXIMUM_MARGIN)


def at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


@pytest.fixture
def rt(runtime: Runtime) -> Runtime:
    runtime.app.policy = get_profile(PROFILE)
    runtime.app.clock = FakeClock(at(D1 - timedelta(days=1)))
    register(runtime)
    return runtime


def clock(runtime: Runtime) -> FakeClock:
    c = runtime.app.clock
    assert isinstance(c, FakeClock)
    return c


def reads_on(runtime: Runtime, day: date, n: int) -> list[UUID]:
    """``n`` reads captured at noon UTC on ``day``, ingested an hour later."""
    clock(runtime).now = at(day, 13)
    tag = uuid4().hex[:8]
    return runtime.app.record_reads(
        [read_from(captured_at=at(day) + timedelta(seconds=i), capture_id=f"{tag}-{i}") for i in range(n)]
    )


def due(runtime: Runtime, day: date) -> datetime:
    return read_day_due(day, runtime.app.policy)


def purge_day(runtime: Runtime, day: date, when: datetime, kind: str = "reads") -> int:
    """Destroy the day key and record the purge, as the retention job does."""
    policy = runtime.app.policy
    key_id = read_kek(at(day)) if kind == "reads" else search_kek(at(day))
    destroyed = runtime.keystore.destroy_kek(key_id, reason="retention")
    assert destroyed is not None
    retention = policy.read_retention if kind == "reads" else policy.query_log_retention
    runtime.app.save(
        Purge.record(
            key_id=key_id,
            scope="kek",
            retention_class=kind,
            day=day,
            record_ids=[],
            record_count=destroyed,
            rule=RULE_READ_RETENTION if kind == "reads" else RULE_QUERY_LOG_RETENTION,
            clause=retention.clause.ref,
            profile=policy.name,
            due_at=at(day, 0) + timedelta(days=1) + retention.value,
            destroyed_at=when,
            reason="retention",
            by="retention",
        )
    )
    return destroyed


def purge_record(
    runtime: Runtime, record_id: UUID, when: datetime, rule: str, key_id: str | None = None
) -> None:
    """One record's key (or a case's key naming its records) destroyed and recorded."""
    policy = runtime.app.policy
    if key_id is None:
        assert runtime.keystore.destroy_dek(record_id, reason=rule)
    else:
        assert runtime.keystore.destroy_kek(key_id, reason=rule) == 1
    runtime.app.save(
        Purge.record(
            key_id=key_id or str(record_id),
            scope="record" if key_id is None else "kek",
            retention_class="reads" if key_id is None else "case",
            day=None,
            record_ids=[record_id],
            record_count=1,
            rule=rule,
            clause="court" if rule == RULE_ERRONEOUS_READ else policy.read_retention.clause.ref,
            profile=policy.name,
            due_at=None,
            destroyed_at=when,
            reason="test",
            by="tests",
        )
    )


def audit(runtime: Runtime, now: datetime) -> RetentionAudit:
    return audit_retention(runtime.app, now=now, tolerance=TOLERANCE)


def kinds(result: RetentionAudit) -> list[tuple[str, str, date, UUID | None]]:
    return [(f.kind, f.retention_class, f.day, f.record_id) for f in result.findings]


def reads_summary(result: RetentionAudit) -> Any:
    return next(c for c in result.classes if c.retention_class == "reads")


# ---- the audit -----------------------------------------------------------------------------------


def test_audit_is_ok_when_every_due_day_was_purged_on_time(rt: Runtime) -> None:
    reads_on(rt, D1, 3)
    reads_on(rt, D2, 2)
    recent = reads_on(rt, D2 + timedelta(days=25), 1)  # not due at the audit
    assert purge_day(rt, D1, due(rt, D1) + timedelta(hours=1)) == 3
    assert purge_day(rt, D2, due(rt, D2) + timedelta(hours=2)) == 2

    result = audit(rt, due(rt, D2) + timedelta(days=3))

    assert result.ok and result.findings == ()
    summary = reads_summary(result)
    assert (summary.seen, summary.due, summary.shredded, summary.shredded_on_time, summary.findings) == (
        6,
        5,
        5,
        5,
        0,
    )
    assert result.profile == PROFILE
    rule = next(r for r in result.rules if r.rule == RULE_READ_RETENTION)
    assert (rule.period, rule.clause) == ("30 days", "TCSO VII.A")
    assert result.notifications_read >= 6 + 2 and result.log_size >= result.notifications_read
    assert json.loads(json.dumps(result.as_json()))["ok"] is True
    assert recent  # kept, not due, not reported


def test_day_left_unpurged_after_its_due_lists_its_reads_as_not_shredded(rt: Runtime) -> None:
    ids = reads_on(rt, D1, 3)
    purged = reads_on(rt, D2, 1)
    purge_day(rt, D2, due(rt, D2))

    assert audit(rt, due(rt, D1) + READ_SLACK - timedelta(minutes=30)).ok  # within the slack

    result = audit(rt, due(rt, D1) + READ_SLACK + timedelta(minutes=30))
    assert kinds(result) == [(NOT_SHREDDED, "reads", D1, None)]
    (finding,) = result.findings
    assert set(finding.record_ids) == set(ids) and finding.record_count == 3
    assert finding.due_at == due(rt, D1) and finding.shredded_at is None
    assert (finding.rule, finding.clause) == (RULE_READ_RETENTION, "TCSO VII.A")
    assert not set(purged) & set(finding.record_ids)
    assert reads_summary(result).findings == 1 and not result.ok


def test_purge_after_due_and_tolerance_is_late(rt: Runtime) -> None:
    ids = reads_on(rt, D1, 2)
    when = due(rt, D1) + TOLERANCE + timedelta(hours=5)
    purge_day(rt, D1, when)

    result = audit(rt, when + timedelta(days=1))

    assert kinds(result) == [(LATE, "reads", D1, None)]
    (finding,) = result.findings
    assert finding.shredded_at == when and finding.key_id == read_kek(at(D1))
    assert set(finding.record_ids) == set(ids)
    summary = reads_summary(result)
    assert (summary.shredded, summary.shredded_on_time) == (2, 0)


def test_day_purged_before_its_due_is_early(rt: Runtime) -> None:
    ids = reads_on(rt, D1, 2)
    when = due(rt, D1) - timedelta(days=3)  # 27 days kept of 30
    purge_day(rt, D1, when)

    result = audit(rt, due(rt, D1) + timedelta(days=5))

    assert kinds(result) == [(EARLY, "reads", D1, None)]
    assert set(result.findings[0].record_ids) == set(ids)
    assert result.findings[0].due_at == due(rt, D1) and result.findings[0].shredded_at == when


def test_read_left_unshredded_under_another_key_is_a_count_mismatch(rt: Runtime) -> None:
    ids = reads_on(rt, D1, 3)
    # Deliberately left behind: re-keyed under a KEK that no purge destroys, with nothing in the log
    # saying why (no hold, no case). The day purge then destroys one key fewer than the log's count.
    rt.keystore.rekey(ids[1], hold_kek(uuid4()))
    assert purge_day(rt, D1, due(rt, D1) + timedelta(hours=1)) == 2

    result = audit(rt, due(rt, D1) + timedelta(days=3))

    assert kinds(result) == [(COUNT_MISMATCH, "reads", D1, None)]
    (finding,) = result.findings
    assert (finding.expected_count, finding.destroyed_count, finding.record_count) == (3, 2, 1)
    assert finding.key_id == read_kek(at(D1)) and finding.record_ids == ()
    assert rt.keystore.data_key(ids[1]) is not None  # the data really is still readable


def test_day_purge_destroying_keys_of_reads_never_stored_is_no_count_mismatch(rt: Runtime) -> None:
    ids = reads_on(rt, D1, 3)
    # Data keys are committed before their events: a batch whose events then failed to store leaves
    # keys of reads the log never had, under the day key.
    orphans = [uuid4(), uuid4()]
    for orphan in orphans:
        rt.keystore.create_data_key(orphan, "reads", D1)
    assert purge_day(rt, D1, due(rt, D1) + timedelta(hours=1)) == 5

    result = audit(rt, due(rt, D1) + timedelta(days=3))

    assert result.ok, result.findings
    summary = reads_summary(result)
    assert (summary.seen, summary.shredded, summary.shredded_on_time) == (3, 3, 3)
    assert all(rt.keystore.data_key(r) is None for r in [*ids, *orphans])


def test_erroneous_read_purged_early_by_name_is_neither_early_nor_a_count_mismatch(rt: Runtime) -> None:
    ids = reads_on(rt, D1, 3)
    purge_record(rt, ids[0], at(D1, 15), RULE_ERRONEOUS_READ)
    assert purge_day(rt, D1, due(rt, D1) + timedelta(hours=1)) == 2

    result = audit(rt, due(rt, D1) + timedelta(days=3))

    assert result.ok, result.findings
    summary = reads_summary(result)
    assert (summary.seen, summary.shredded, summary.shredded_on_time) == (3, 3, 3)


def test_held_and_case_reads_are_not_reported_while_kept_and_are_after(rt: Runtime) -> None:
    app = rt.app
    ids = reads_on(rt, D1, 4)
    held, on_case, on_closed_case = ids[0], ids[1], ids[2]
    clock(rt).now = at(D1 + timedelta(days=2))
    app.open_case("25-OPEN", "misdemeanor", "open case", actor="inv.a")
    app.attach_reads("25-OPEN", [on_case], actor="inv.a")
    app.open_case("25-SHUT", "violation", "closed case", actor="inv.a")
    app.attach_reads("25-SHUT", [on_closed_case], actor="inv.a")
    closed_at = at(D1 + timedelta(days=3))
    clock(rt).now = closed_at
    closed = app.close_case("25-SHUT", "violation", actor="sgt.b")
    hold = Hold.request(
        read_ids=[held],
        case_number="25-OPEN",
        reason="needed for trial",
        review_by=at(D1 + timedelta(days=300)),
        by="inv.a",
        at=at(D1 + timedelta(days=2)),
    )
    hold.approve(by="sgt.b", at=at(D1 + timedelta(days=2), 14))
    app.save(hold)
    rt.keystore.rekey(held, hold_kek(hold.id))
    rt.keystore.rekey(on_case, case_kek(app.find_case("25-OPEN").case_id))
    rt.keystore.rekey(on_closed_case, case_kek(closed.case_id))
    assert purge_day(rt, D1, due(rt, D1) + timedelta(hours=1)) == 1  # only ids[3]

    # Long after the day's due: the held read and the case reads are kept, and rightly so.
    later = due(rt, D1) + timedelta(days=100)
    result = audit(rt, later)
    assert result.ok, result.findings
    summary = reads_summary(result)
    assert (summary.seen, summary.due, summary.shredded) == (4, 1, 1)

    # Released: back to normal retention, already past due, so due at the release.
    released_at = later + timedelta(days=1)
    hold.release(reason="trial over", automatic=False, by="sgt.b", at=released_at)
    app.save(hold)
    assert audit(rt, released_at + timedelta(hours=2)).ok
    result = audit(rt, released_at + TOLERANCE + timedelta(hours=1))
    assert kinds(result) == [(NOT_SHREDDED, "reads", D1, held)]
    assert result.findings[0].due_at == released_at

    # The closed violation case's read falls due a year after closing (calendar_years(1)).
    case_due_at = closed_at + timedelta(days=366)
    result = audit(rt, case_due_at + TOLERANCE + timedelta(hours=1))
    assert (NOT_SHREDDED, "reads", D1, on_closed_case) in kinds(result)
    finding = next(f for f in result.findings if f.record_id == on_closed_case)
    assert (finding.due_at, finding.rule) == (case_due_at, RULE_CASE_RETENTION)
    assert on_case not in {f.record_id for f in result.findings}  # its case is still open

    # Shredding the case read on time clears it; shredding the open case's read is early.
    purge_record(
        rt, on_closed_case, case_due_at + timedelta(hours=1), RULE_CASE_RETENTION, case_kek(closed.case_id)
    )
    purge_record(rt, held, released_at + timedelta(hours=1), RULE_READ_RETENTION)
    case_id = app.find_case("25-OPEN").case_id
    purge_record(rt, on_case, case_due_at + timedelta(hours=2), RULE_CASE_RETENTION, case_kek(case_id))
    result = audit(rt, case_due_at + timedelta(days=3))
    assert kinds(result) == [(EARLY, "reads", D1, on_case)]
    assert result.findings[0].due_at is None


def test_search_past_query_log_retention_is_reported_until_purged(rt: Runtime) -> None:
    app = rt.app
    app.policy = replace(
        app.policy, query_log_retention=Sourced(timedelta(days=60), Clause("TEST 1", "sixty days"))
    )
    who = app.authenticate(token_for(rt, Role.INVESTIGATOR))
    clock(rt).now = at(D1, 9)
    app.run_search(
        who,
        RunSearch(
            search_type="plate",
            criteria={"plate": "ABC1234"},
            purpose="criminal_investigation",
            reason="vehicle seen leaving the burglary at 12 Elm St",
            case_number="25-004211",
        ),
    )
    search_due = at(D1, 0) + timedelta(days=61)
    result = audit(rt, search_due + TOLERANCE + timedelta(hours=1))
    assert kinds(result) == [(NOT_SHREDDED, "searches", D1, None)]
    assert (result.findings[0].rule, result.findings[0].clause) == (RULE_QUERY_LOG_RETENTION, "TEST 1")

    assert purge_day(rt, D1, search_due + timedelta(hours=1), kind="searches") == 1
    result = audit(rt, search_due + timedelta(days=3))
    assert result.ok, result.findings
    searches = next(c for c in result.classes if c.retention_class == "searches")
    assert (searches.seen, searches.shredded_on_time) == (1, 1)


def test_audit_as_of_an_earlier_instant_ignores_later_purges(rt: Runtime) -> None:
    reads_on(rt, D1, 1)
    when = due(rt, D1) + timedelta(days=10)
    purge_day(rt, D1, when)
    assert kinds(audit(rt, when - timedelta(hours=1))) == [(NOT_SHREDDED, "reads", D1, None)]
    assert kinds(audit(rt, when + timedelta(hours=1))) == [(LATE, "reads", D1, None)]


class _NoKeys:
    """Stands in for the key store: any use fails the test."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the retention audit used the key store ({name})")


def test_audit_never_touches_the_key_store(rt: Runtime) -> None:
    ids = reads_on(rt, D1, 3)
    rt.keystore.rekey(ids[0], hold_kek(uuid4()))
    purge_day(rt, D1, due(rt, D1) + TOLERANCE + timedelta(days=2))
    now = due(rt, D1) + timedelta(days=5)
    expected = audit(rt, now)
    assert {f.kind for f in expected.findings} == {LATE, COUNT_MISMATCH}

    rt.keystore.close()
    mapper: Any = rt.app.mapper
    rt.app.keystore = mapper.keystore = _NoKeys()  # type: ignore[assignment]
    assert audit(rt, now) == expected


# ---- API and CLI ---------------------------------------------------------------------------------


def test_api_serves_the_audit_to_auditors_and_refuses_officers(rt: Runtime) -> None:
    ids = reads_on(rt, D1, 2)
    client = TestClient(create_app(rt))
    auditor = bearer(token_for(rt, Role.AUDITOR))
    late = (due(rt, D1) + TOLERANCE + timedelta(hours=1)).isoformat()

    response = client.get("/v1/audit/retention", params={"at": late}, headers=auditor)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ok"] is False and body["profile"] == PROFILE
    (finding,) = body["findings"]
    assert finding["kind"] == NOT_SHREDDED and finding["day"] == D1.isoformat()
    assert sorted(finding["record_ids"]) == sorted(str(i) for i in ids)
    assert finding["clause"] == "TCSO VII.A"

    early = (due(rt, D1) - timedelta(days=1)).isoformat()
    ok = client.get("/v1/audit/retention", params={"at": early}, headers=auditor)
    assert ok.status_code == 200 and ok.json()["ok"] is True

    officer = bearer(token_for(rt, Role.OFFICER))
    assert client.get("/v1/audit/retention", headers=officer).status_code == 403
    naive = client.get("/v1/audit/retention", params={"at": "2026-01-02T00:00:00"}, headers=auditor)
    assert naive.status_code == 422


def test_cli_exit_code_says_whether_there_are_findings(rt: Runtime) -> None:
    reads_on(rt, D1, 2)
    runner = CliRunner()
    env = {"ALPR_POLICY": PROFILE, "ALPR_DATABASE_URL": rt.settings.database_url}
    before = (due(rt, D1) - timedelta(days=1)).isoformat()
    after = (due(rt, D1) + TOLERANCE + timedelta(hours=1)).isoformat()

    result = runner.invoke(cli, ["audit", "retention", "--at", before], env=env)
    assert result.exit_code == 0, result.output
    assert "ok" in result.stdout and PROFILE in result.stdout

    result = runner.invoke(cli, ["audit", "retention", "--at", after], env=env)
    assert result.exit_code == 1, result.output
    assert NOT_SHREDDED in result.stdout and D1.isoformat() in result.stdout

    result = runner.invoke(cli, ["audit", "retention", "--json", "--at", after], env=env)
    assert result.exit_code == 1
    body = json.loads(result.stdout)
    assert [f["kind"] for f in body["findings"]] == [NOT_SHREDDED] and body["findings"][0][
        "record_count"
    ] == 2

    result = runner.invoke(cli, ["audit", "retention", "--at", "2026-01-02T00:00:00"], env=env)
    assert result.exit_code == 2 and "UTC offset" in result.output


# ---- with the retention job ----------------------------------------------------------------------


def run_job(runtime: Runtime, when: datetime) -> Any:
    clock(runtime).now = when
    return runtime.app.run_retention()


def test_audit_agrees_with_the_retention_job_through_holds_cases_and_release(rt: Runtime) -> None:
    app = rt.app
    ids = reads_on(rt, D1, 4)
    others = reads_on(rt, D2, 2)
    clock(rt).now = at(D1 + timedelta(days=2))
    hold = app.request_hold(
        [ids[0]], "25-HOLD", "needed for trial", at(D1 + timedelta(days=200)), actor="inv.a"
    )
    app.approve_hold(hold.hold_id, actor="sgt.b")
    app.open_case("25-OPEN", "misdemeanor", "open case", actor="inv.a")
    app.attach_reads("25-OPEN", [ids[1]], actor="inv.a")

    run_job(rt, due(rt, D1) + timedelta(hours=1))
    run_job(rt, due(rt, D2) + timedelta(hours=1))
    result = audit(rt, due(rt, D2) + timedelta(days=3))
    assert result.ok, result.findings
    summary = reads_summary(result)
    assert (summary.seen, summary.due, summary.shredded, summary.shredded_on_time) == (6, 4, 4, 4)

    # Released by hand long after its day: shredded at once by name, on time.
    clock(rt).now = due(rt, D2) + timedelta(days=20)
    app.release_hold(hold.hold_id, "trial over", actor="sgt.b")
    result = audit(rt, due(rt, D2) + timedelta(days=25))
    assert result.ok, result.findings
    assert reads_summary(result).shredded == 5
    assert others


def test_audit_reports_a_read_the_job_left_unshredded(rt: Runtime) -> None:
    ids = reads_on(rt, D1, 3)
    rt.keystore.rekey(ids[2], hold_kek(uuid4()))  # slipped out from under its day key, unrecorded
    run_job(rt, due(rt, D1) + timedelta(hours=1))

    result = audit(rt, due(rt, D1) + timedelta(days=2))

    assert kinds(result) == [(COUNT_MISMATCH, "reads", D1, None)]
    assert (result.findings[0].expected_count, result.findings[0].destroyed_count) == (3, 2)
