"""Searches through the service, on SQLite and PostgreSQL: every refusal rule, recorded; recorded
before running; exact plate results and their digest; partner scope; profile switching."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pytest

from domain.account import Principal
from domain.errors import AccessDeniedError, DomainError, InvalidFieldError, PolicyRefusedError
from domain.policy import Role
from domain.profiles import get_profile
from domain.search import RunSearch, Search, result_digest
from ops.bootstrap import Runtime
from ops.search_executor import ReadResult
from tests.api_support import recorded, token_for, token_for_roles
from tests.cameras_support import city_reads

REASON = "vehicle seen leaving the burglary at 12 Elm St"


def searcher(runtime: Runtime, role: Role = Role.INVESTIGATOR, *, trained: bool = True) -> Principal:
    return runtime.app.authenticate(token_for(runtime, role, trained=trained))


def plate_search(plate: str = "ABC1234", **changes: Any) -> RunSearch:
    fields: dict[str, Any] = {
        "search_type": "plate",
        "criteria": {"plate": plate},
        "purpose": "criminal_investigation",
        "reason": REASON,
        "case_number": "25-004211",
    }
    fields.update(changes)
    return RunSearch(**fields)


def refused(runtime: Runtime, rule: str) -> list[Search.Refused]:
    return [e for e in recorded(runtime, Search.Refused) if e.rule == rule]


def assert_refused_and_recorded(
    runtime: Runtime, who: Principal, request: RunSearch, error: type[DomainError], field: str, rule: str
) -> DomainError:
    before = len(refused(runtime, rule))
    with pytest.raises(error) as caught:
        runtime.app.run_search(who, request)
    assert (caught.value.field, caught.value.rule) == (field, rule)
    events = refused(runtime, rule)
    assert len(events) == before + 1
    record = runtime.app.get_search(events[-1].originator_id)
    assert record.status == "refused" and record.account_id == who.account_id
    assert record.refusal is not None and record.refusal["clause_ref"]
    return caught.value


# ---- refusals ----------------------------------------------------------------------------------


def test_run_search_refuses_and_records_when_purpose_is_prohibited(runtime: Runtime) -> None:
    runtime.app.policy = get_profile("nypd-2026")
    assert_refused_and_recorded(
        runtime,
        searcher(runtime),
        plate_search(purpose="immigration_enforcement"),
        PolicyRefusedError,
        "purpose",
        "search.purpose.prohibited",
    )
    assert refused(runtime, "search.purpose.prohibited")[-1].clause_ref == "NYPD 2026 §External Entities"


def test_run_search_refuses_and_records_when_a_ground_is_prohibited(runtime: Runtime) -> None:
    runtime.app.policy = get_profile("nypd-2026")
    assert_refused_and_recorded(
        runtime,
        searcher(runtime),
        plate_search(grounds=["race"]),
        PolicyRefusedError,
        "grounds[0]",
        "search.purpose.prohibited",
    )


def test_run_search_refuses_and_records_when_purpose_is_unknown_to_profile(runtime: Runtime) -> None:
    assert_refused_and_recorded(
        runtime,
        searcher(runtime),
        plate_search(purpose="curiosity"),
        InvalidFieldError,
        "purpose",
        "search.purpose.unknown",
    )


def test_run_search_refuses_and_records_when_purpose_is_not_historical(runtime: Runtime) -> None:
    assert_refused_and_recorded(
        runtime,
        searcher(runtime),
        plate_search(purpose="routine_patrol"),
        PolicyRefusedError,
        "purpose",
        "search.purpose.not_historical",
    )


def test_run_search_refuses_and_records_when_case_number_is_missing(runtime: Runtime) -> None:
    assert_refused_and_recorded(
        runtime,
        searcher(runtime),
        plate_search(case_number=None),
        InvalidFieldError,
        "case_number",
        "search.case_number.required",
    )


def test_run_search_refuses_and_records_when_reason_is_missing(runtime: Runtime) -> None:
    assert_refused_and_recorded(
        runtime,
        searcher(runtime),
        plate_search(reason="  "),
        InvalidFieldError,
        "reason",
        "search.reason.required",
    )


@pytest.mark.parametrize("reason", ["investigation", "see case", "stolen car!"])
def test_run_search_refuses_and_records_when_reason_is_a_word_or_two(runtime: Runtime, reason: str) -> None:
    assert_refused_and_recorded(
        runtime,
        searcher(runtime),
        plate_search(reason=reason),
        InvalidFieldError,
        "reason",
        "search.reason.insufficient",
    )


def test_run_search_refuses_and_records_when_account_is_untrained(runtime: Runtime) -> None:
    assert_refused_and_recorded(
        runtime,
        searcher(runtime, trained=False),
        plate_search(),
        AccessDeniedError,
        "account",
        "training.required",
    )


def test_run_search_refuses_and_records_when_account_was_revoked_after_its_token(runtime: Runtime) -> None:
    who = searcher(runtime)
    runtime.app.revoke_access(who.account_id, reason="left the unit", actor="tests")
    assert_refused_and_recorded(runtime, who, plate_search(), AccessDeniedError, "account", "account.revoked")


def test_run_search_refuses_and_records_when_search_type_is_unsupported(runtime: Runtime) -> None:
    assert_refused_and_recorded(
        runtime,
        searcher(runtime),
        plate_search(search_type="area_in_window", criteria={"polygon": [[43.0, -76.1]]}),
        InvalidFieldError,
        "search_type",
        "search.type.unsupported",
    )


def test_run_search_refuses_and_records_when_its_case_is_closed(runtime: Runtime) -> None:
    who = searcher(runtime)
    runtime.app.open_case("25-004211", "misdemeanor", "Burglary, 12 Elm St", actor=who)
    runtime.app.run_search(who, plate_search(case_number="25-004211"))  # open: runs
    runtime.app.close_case("25-004211", "misdemeanor", actor=who)
    assert_refused_and_recorded(
        runtime,
        who,
        plate_search(case_number="25-004211"),
        PolicyRefusedError,
        "case_number",
        "search.case.closed",
    )


# ---- partner agencies and external repositories (NYPD 2026 §External Entities, §Safeguards) -----


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"search_type": "associates", "criteria": {"plate": "ABC1234"}}, "search_type"),
        ({"criteria": {"plate": "ABC*"}}, "criteria.plate"),
        ({"criteria": {"state": "NJ"}}, "criteria.plate"),
        ({"criteria": {"plate": "ABC1234", "confusable": True}}, "criteria.plate"),
    ],
)
def test_run_search_refuses_and_records_when_partner_agency_asks_more_than_one_plate(
    runtime: Runtime, changes: Mapping[str, Any], field: str
) -> None:
    runtime.app.policy = get_profile("nypd-2026")
    partner = searcher(runtime, Role.PARTNER_AGENCY)
    assert_refused_and_recorded(
        runtime, partner, plate_search(**changes), PolicyRefusedError, field, "search.partner_scope"
    )


def test_run_search_runs_when_partner_agency_looks_up_a_complete_plate(runtime: Runtime) -> None:
    runtime.app.policy = get_profile("nypd-2026")
    partner = searcher(runtime, Role.PARTNER_AGENCY)
    result = runtime.app.run_search(partner, plate_search("NJX1234"))
    record = runtime.app.get_search(result.search_id)
    assert record.status == "executed"
    assert {
        "check": "partner_scope.complete_plate",
        "ref": "NYPD 2026 §External Entities",
    } in record.clause_refs


def test_run_search_applies_partner_scope_when_account_also_holds_wider_roles(runtime: Runtime) -> None:
    who = runtime.app.authenticate(token_for_roles(runtime, [Role.PARTNER_AGENCY, Role.INVESTIGATOR]))
    with pytest.raises(PolicyRefusedError, match="search.partner_scope"):
        runtime.app.run_search(who, plate_search(criteria={"plate": "AB?1234"}))


def test_run_search_refuses_and_records_when_external_lookup_has_no_left_jurisdiction_reason(
    runtime: Runtime,
) -> None:
    runtime.app.policy = get_profile("nypd-2026")
    who = searcher(runtime)
    request = plate_search(purpose="external_repository_lookup")
    assert_refused_and_recorded(
        runtime,
        who,
        request,
        InvalidFieldError,
        "left_jurisdiction_reason",
        "search.left_jurisdiction_reason.required",
    )
    from dataclasses import replace

    result = runtime.app.run_search(
        who, replace(request, left_jurisdiction_reason="toll record at the Holland Tunnel")
    )
    record = runtime.app.get_search(result.search_id)
    assert record.status == "executed"
    assert record.left_jurisdiction_reason == "toll record at the Holland Tunnel"
    assert record.purpose == "external_repository_lookup"


# ---- profile switching -------------------------------------------------------------------------


def test_run_search_requires_case_number_per_profile_when_profile_is_switched(runtime: Runtime) -> None:
    who = searcher(runtime)
    urgent = plate_search(purpose="amber_alert", case_number=None)
    with pytest.raises(InvalidFieldError, match="search.case_number.required"):
        runtime.app.run_search(who, urgent)  # MPTC VI.E: every inquiry has a case number
    runtime.app.policy = get_profile("nypd-2026")
    result = runtime.app.run_search(who, urgent)  # NYPD: urgent AMBER searches need none
    assert runtime.app.get_search(result.search_id).profile == "nypd-2026"
    with pytest.raises(InvalidFieldError, match="search.case_number.required"):
        runtime.app.run_search(who, plate_search(case_number=None))  # investigations do


@pytest.mark.parametrize("profile", ["iacp-2010", "nys-mptc-2022", "county-sheriff-2025", "nypd-2026"])
def test_run_search_refuses_immigration_as_prohibited_under_every_profile(
    runtime: Runtime, profile: str
) -> None:
    # The policy texts differ (IACP and MPTC are silent); the product refuses it under all of them.
    who = searcher(runtime)
    runtime.app.policy = get_profile(profile)
    with pytest.raises(PolicyRefusedError, match="search.purpose.prohibited"):
        runtime.app.run_search(who, plate_search(purpose="immigration_enforcement"))


# ---- recorded before it runs; results; digest -----------------------------------------------


class Exploding:
    def supports(self, search_type: str) -> bool:
        return True

    def execute(self, criteria: Mapping[str, Any]) -> list[ReadResult]:
        raise RuntimeError("projection offline")


def test_run_search_leaves_requested_event_when_executor_raises(runtime: Runtime) -> None:
    runtime.app.search_executors = [Exploding()]
    who = searcher(runtime)
    with pytest.raises(RuntimeError):
        runtime.app.run_search(who, plate_search())
    (requested,) = recorded(runtime, Search.Requested)
    assert requested.account_id == who.account_id and requested.reason == REASON
    assert runtime.app.get_search(requested.originator_id).status == "failed"
    assert recorded(runtime, Search.Executed) == []


def test_run_search_returns_exactly_the_stored_reads_of_the_plate_with_their_digest(runtime: Runtime) -> None:
    reads = city_reads(runtime, 300)
    ids = runtime.app.record_reads(reads)
    stored = list(zip(ids, reads, strict=True))
    plate = max({r.plate for r in reads}, key=lambda p: sum(r.plate == p for r in reads))
    expected = {i for i, r in stored if r.plate == plate}
    who = searcher(runtime)
    result = runtime.app.run_search(who, plate_search(plate.lower()))  # normalised like reads
    assert {r.read_id for r in result.results} == expected and result.count == len(expected)
    assert [r.captured_at for r in result.results] == sorted(r.captured_at for r in result.results)
    record = runtime.app.get_search(result.search_id)
    assert record.result_count == len(expected)
    assert record.result_digest == result_digest(expected)
    assert record.criteria == {"plate": plate}
    (executed,) = recorded(runtime, Search.Executed)
    assert executed.result_digest == result_digest(expected)

    # reads stored after the first search are seen by the next one (the view catches up)
    more = city_reads(runtime, 400)[300:]
    more_ids = runtime.app.record_reads(more)
    expected |= {i for i, r in zip(more_ids, more, strict=True) if r.plate == plate}
    assert {r.read_id for r in runtime.app.run_search(who, plate_search(plate)).results} == expected


def test_run_search_filters_by_state_camera_and_window_when_criteria_name_them(runtime: Runtime) -> None:
    reads = city_reads(runtime, 300)
    ids = runtime.app.record_reads(reads)
    stored = list(zip(ids, reads, strict=True))
    plate = max({r.plate for r in reads}, key=lambda p: sum(r.plate == p for r in reads))
    mine = [(i, r) for i, r in stored if r.plate == plate]
    first = min(r.captured_at for _, r in mine)
    camera = mine[0][1].camera_id
    who = searcher(runtime)

    def found(**criteria: Any) -> set[Any]:
        return {
            r.read_id
            for r in runtime.app.run_search(who, plate_search(criteria={"plate": plate, **criteria})).results
        }

    assert found(camera_ids=[camera]) == {i for i, r in mine if r.camera_id == camera}
    assert found(**{"from": (first + timedelta(seconds=1)).isoformat()}) == {
        i for i, r in mine if r.captured_at >= first + timedelta(seconds=1)
    }
    assert found(to=first.isoformat()) == set()
    other_state = "QC" if mine[0][1].state != "QC" else "ON"
    assert found(state=other_state) == {i for i, r in mine if r.state == other_state}


def test_run_search_answers_422_and_records_nothing_when_criteria_cannot_be_read(runtime: Runtime) -> None:
    who = searcher(runtime)
    for criteria, field in [
        ({"plate": "AB$12"}, "criteria.plate"),
        ({"plate": "ABC1234", "from": "yesterday"}, "criteria.from"),
        ({"plate": "ABC1234", "colour": "red"}, "criteria.colour"),
        ({"plate": "A*"}, "criteria.plate"),  # a partial plate names at least 2 known characters
        ({"plate": "AB%"}, "criteria.plate"),  # SQL wildcards are refused: ? and * only
    ]:
        with pytest.raises(InvalidFieldError) as caught:
            runtime.app.run_search(who, plate_search(criteria=criteria))
        assert caught.value.field == field
    assert recorded(runtime, Search.Requested) == []


def test_query_log_lists_searches_by_account_and_time(runtime: Runtime) -> None:
    a, b = searcher(runtime), searcher(runtime)
    runtime.app.run_search(a, plate_search())
    with pytest.raises(InvalidFieldError):
        runtime.app.run_search(b, plate_search(reason="busy"))
    log = runtime.app.query_log()
    assert [(r.login, r.status) for r in log] == [(a.login, "executed"), (b.login, "refused")]
    assert [r.login for r in runtime.app.query_log(account=b.account_id)] == [b.login]
    after = log[1].requested_at + timedelta(microseconds=1)
    assert runtime.app.query_log(after) == []
    assert [r.login for r in runtime.app.query_log(None, log[1].requested_at)] == [a.login]
