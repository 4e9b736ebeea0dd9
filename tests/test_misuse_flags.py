"""Misuse flags fire on planted patterns and stay quiet on ordinary use (SQLite and PostgreSQL).

Searches are saved through the service with chosen times (the search executors are not what is
tested here); one test runs a real plate search end to end.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from domain.account import Principal
from domain.errors import ConflictError, PolicyRefusedError
from domain.policy import Role
from domain.query_audit import MisuseFlag
from domain.retention import Purge
from domain.search import RunSearch, Search, parse_search
from ops import misuse
from ops.bootstrap import Runtime
from ops.keys import search_kek
from projections.registry import runner
from tests.api_support import bearer, recorded, token_for
from tests.cameras_support import read_from, register
from tests.hits_support import FakeClock

DAY = date(2026, 3, 10)
REASON = "vehicle seen leaving the burglary at 12 Elm St"


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def person(runtime: Runtime, role: Role = Role.INVESTIGATOR) -> Principal:
    return runtime.app.authenticate(token_for(runtime, role))


def search(
    runtime: Runtime,
    who: Principal,
    when: datetime,
    *,
    search_type: str = "plate",
    criteria: dict[str, Any] | None = None,
    purpose: str = "criminal_investigation",
    case_number: str | None = "25-000100",
) -> Search:
    parsed = parse_search(
        RunSearch(
            search_type,
            criteria if criteria is not None else {"plate": f"R{uuid4().hex[:6].upper()}"},
            purpose,
            REASON,
            case_number,
        )
    )
    s = Search.request(
        parsed, account_id=who.account_id, login=who.login, roles=who.roles, profile="test", at=when
    )
    s.execute([], at=when)
    runtime.app.save(s)
    return s


def routine_history(runtime: Runtime, who: Principal, days: int = 20) -> None:
    """25+ searches over ``days`` days before DAY, office hours, one purpose, a working case."""
    for i in range(days):
        d = DAY - timedelta(days=days - i)
        search(runtime, who, at(d, 9 + i % 8), case_number="25-000100")
        if i % 3 == 0:
            search(runtime, who, at(d, 14), case_number="25-000100")


def flags(runtime: Runtime, day: date = DAY) -> list[Any]:
    runtime.app.clock = FakeClock(at(day, 23, 59))
    return runtime.app.raise_misuse_flags(day)


def rules(found: list[Any]) -> list[str]:
    return sorted(f.rule for f in found)


@pytest.fixture
def working_case(runtime: Runtime) -> None:
    """Case 25-000100 exists, so its number has other activity."""
    runtime.app.open_case("25-000100", "other_felony", "Burglary", actor="inv")


def test_repeated_plate_without_linking_case_raises_flag_naming_searches_not_plate(
    runtime: Runtime, working_case: None
) -> None:
    who = person(runtime)
    planted = [
        search(runtime, who, at(DAY - timedelta(days=5), 10), criteria={"plate": "kx-4471"}),
        search(runtime, who, at(DAY - timedelta(days=2), 11), criteria={"plate": "KX 4471"}),
        search(runtime, who, at(DAY, 10), criteria={"plate": "KX4471"}),
    ]
    found = flags(runtime)
    assert rules(found) == [misuse.RULE_REPEAT]
    assert sorted(found[0].search_ids) == sorted(s.id for s in planted)
    assert found[0].account_id == who.account_id
    raised = recorded(runtime, MisuseFlag.Raised)
    assert len(raised) == 1 and "KX4471" not in repr(raised[0].__dict__).upper().replace(" ", "")
    assert flags(runtime) == []  # a second run over the day raises nothing new
    search(runtime, who, at(DAY, 15), criteria={"plate": "KX4471"})
    assert flags(runtime) == []  # one more search the same day: the same flag


def test_repeated_plate_raises_nothing_when_case_links_the_plate(
    runtime: Runtime, working_case: None
) -> None:
    register(runtime, "FX-1")
    (read_id,) = runtime.app.record_reads([read_from("FX-1", plate="KX4471", captured_at=at(DAY, 8))])
    runtime.app.attach_reads("25-000100", [read_id], actor="inv")
    who = person(runtime)
    for days in (5, 2, 0):
        search(runtime, who, at(DAY - timedelta(days=days), 10), criteria={"plate": "KX4471"})
    assert flags(runtime) == []


def test_search_under_case_number_without_other_activity_raises_flag(
    runtime: Runtime, working_case: None
) -> None:
    who = person(runtime)
    lone = search(runtime, who, at(DAY, 10), case_number="99-LONELY")
    search(runtime, who, at(DAY, 11), case_number="25-000100")  # an opened case
    other = person(runtime)
    search(runtime, who, at(DAY, 12), case_number="31-SHARED")
    search(runtime, other, at(DAY - timedelta(days=1), 12), case_number="31-shared")  # used by another
    # Judged only once the day has ended: during it the case may still be opened or searched again.
    assert rules(flags(runtime)) == []
    runtime.app.clock = FakeClock(at(DAY + timedelta(days=1), 1))
    found = runtime.app.raise_misuse_flags(DAY)
    assert rules(found) == [misuse.RULE_ORPHAN_CASE]
    assert found[0].search_ids == [lone.id]


def test_search_at_unusual_hour_or_new_purpose_raises_flags(runtime: Runtime, working_case: None) -> None:
    who = person(runtime)
    routine_history(runtime, who)
    night = search(runtime, who, at(DAY, 3))
    odd = search(runtime, who, at(DAY, 11), purpose="missing_person")
    found = {f.rule: f for f in flags(runtime)}
    assert set(found) == {misuse.RULE_HOUR, misuse.RULE_PURPOSE}
    assert found[misuse.RULE_HOUR].search_ids == [night.id]
    assert found[misuse.RULE_PURPOSE].search_ids == [odd.id]


def test_many_area_and_associate_searches_raise_flag_above_limit_only(
    runtime: Runtime, working_case: None
) -> None:
    who = person(runtime)
    busy = person(runtime)
    for i in range(misuse.AREA_ASSOCIATE_DAILY_DEFAULT + 1):
        kind = "area" if i % 2 else "associates"
        search(runtime, who, at(DAY, 9, i), search_type=kind, criteria={"area": i})
    for i in range(misuse.AREA_ASSOCIATE_DAILY_DEFAULT):
        search(runtime, busy, at(DAY, 9, i), search_type="area", criteria={"area": i})
    found = flags(runtime)
    assert rules(found) == [misuse.RULE_VOLUME]
    assert found[0].account_id == who.account_id
    assert len(found[0].search_ids) == misuse.AREA_ASSOCIATE_DAILY_DEFAULT + 1


def test_ordinary_use_raises_no_flag(runtime: Runtime, working_case: None) -> None:
    register(runtime, "FX-1")
    (read_id,) = runtime.app.record_reads([read_from("FX-1", plate="KX4471", captured_at=at(DAY, 8))])
    runtime.app.attach_reads("25-000100", [read_id], actor="inv")
    who = person(runtime)
    routine_history(runtime, who)
    # the day: usual hours, usual purpose, the working case, a plate the case links, a few sweeps
    search(runtime, who, at(DAY, 10), criteria={"plate": "KX4471"})
    search(runtime, who, at(DAY, 12), criteria={"plate": "KX4471"})
    search(runtime, who, at(DAY, 13), criteria={"plate": "KX4471"})
    search(runtime, who, at(DAY, 14), criteria={"plate": "ZB1120"})
    search(runtime, who, at(DAY, 15), search_type="area", criteria={"area": 1})
    search(runtime, who, at(DAY, 16), search_type="associates", criteria={"plate": "ZB1120"})
    assert flags(runtime) == []


def test_real_plate_searches_feed_the_check_and_flags_are_acknowledged(runtime: Runtime) -> None:
    clock = FakeClock(datetime.now(UTC).replace(hour=12))
    runtime.app.clock = clock
    token = token_for(runtime, Role.INVESTIGATOR)
    who = runtime.app.authenticate(token)
    for _ in range(3):
        runtime.app.run_search(
            who, RunSearch("plate", {"plate": "QW 5521"}, "criminal_investigation", REASON, "25-77")
        )
    client = TestClient(create_app(runtime))
    supervisor = bearer(token_for(runtime, Role.SUPERVISOR))
    ran = client.post("/v1/misuse-flags/run", json={}, headers=supervisor)
    assert ran.status_code == 200, ran.text
    assert sorted(f["rule"] for f in ran.json()) == [misuse.RULE_REPEAT]
    listed = client.get("/v1/misuse-flags", params={"open": True}, headers=supervisor).json()
    assert [f["flag_id"] for f in listed] == [ran.json()[0]["flag_id"]]
    flag_id = listed[0]["flag_id"]
    own = client.post(f"/v1/misuse-flags/{flag_id}/acknowledge", json={"note": "mine"}, headers=bearer(token))
    assert own.status_code == 403  # investigators hold no misuse permission
    ack = client.post(
        f"/v1/misuse-flags/{flag_id}/acknowledge",
        json={"note": "spoke to the investigator"},
        headers=supervisor,
    )
    assert ack.status_code == 200 and ack.json()["acknowledged_at"] is not None
    again = client.post(f"/v1/misuse-flags/{flag_id}/acknowledge", json={"note": "again"}, headers=supervisor)
    assert (again.status_code, again.json()["code"]) == (409, "misuse.flag.acknowledged")
    assert client.get("/v1/misuse-flags", params={"open": True}, headers=supervisor).json() == []
    future = client.post("/v1/misuse-flags/run", json={"day": "2999-01-01"}, headers=supervisor)
    assert (future.status_code, future.json()["code"]) == (422, "misuse.day.future")


def test_flag_about_own_searches_cannot_be_acknowledged_by_its_subject(runtime: Runtime) -> None:
    who = person(runtime, Role.SUPERVISOR)
    for days in (2, 1, 0):
        search(
            runtime, who, at(DAY - timedelta(days=days), 10), criteria={"plate": "KX4471"}, case_number=None
        )
    (found,) = flags(runtime)
    with pytest.raises(PolicyRefusedError, match="misuse.flag.own"):
        runtime.app.acknowledge_misuse_flag(found.flag_id, "fine", actor=who)
    other = person(runtime, Role.SUPERVISOR)
    runtime.app.acknowledge_misuse_flag(found.flag_id, "looked into it", actor=other)
    with pytest.raises(ConflictError):
        runtime.app.acknowledge_misuse_flag(found.flag_id, "twice", actor=other)


def test_pure_rules_judge_hours_around_the_clock() -> None:
    def row(hour: int, n: int = 0) -> misuse.SearchRow:
        return misuse.SearchRow(
            f"s{hour}-{n}", at(DAY - timedelta(days=1 + n), hour), "a", "l", "plate", "p", None, "executed"
        )

    history = [row(23, n) for n in range(misuse.MIN_HISTORY)]
    near_midnight = misuse.SearchRow("x", at(DAY, 1), "a", "l", "plate", "p", None, "executed")
    far = misuse.SearchRow("y", at(DAY, 12), "a", "l", "plate", "p", None, "executed")
    assert misuse.unusual_patterns([near_midnight], history) == []
    assert [f.search_ids for f in misuse.unusual_patterns([far], history)] == [("y",)]
    assert misuse.unusual_patterns([far], history[:-1]) == []  # too little history to judge


def query_log_plates(runtime: Runtime) -> dict[str, str | None]:
    runner(runtime.app, "query_log").catch_up()
    with runtime.projections.read() as c:
        c.execute("SELECT search_id, plate FROM rpt_query_log")
        return {str(r[0]): r[1] for r in c.fetchall()}


def test_purged_search_day_takes_its_plates_out_of_the_query_log_view_and_the_check(
    runtime: Runtime, working_case: None
) -> None:
    who = person(runtime)
    old = [
        search(runtime, who, at(DAY - timedelta(days=d), 10), criteria={"plate": "kx-4471"}) for d in (3, 2)
    ]
    today = search(runtime, who, at(DAY, 10), criteria={"plate": "KX4471"})
    partial = search(runtime, who, at(DAY, 11), criteria={"plate": "KX44*"})
    plates = query_log_plates(runtime)
    assert [plates[str(s.id)] for s in (*old, today)] == ["KX4471"] * 3
    assert plates[str(partial.id)] is None  # only complete plates are grouped
    day = DAY - timedelta(days=3)
    kek = search_kek(at(day, 10))
    runtime.keystore.destroy_kek(kek, reason="test purge")
    runtime.app.save(
        Purge.record(
            key_id=kek,
            scope="kek",
            retention_class="searches",
            day=day,
            record_ids=[],
            record_count=1,
            rule="query_log_retention",
            clause="test",
            profile=runtime.app.policy.name,
            due_at=at(day, 10),
            destroyed_at=at(DAY, 1),
            reason="test",
            by="tests",
        )
    )
    plates = query_log_plates(runtime)
    assert plates[str(old[0].id)] is None and plates[str(old[1].id)] == "KX4471"
    assert flags(runtime) == []  # two searches of the plate are left: under the threshold
    runner(runtime.app, "query_log").rebuild()
    assert query_log_plates(runtime) == plates
