"""Cases through the service and the API, on SQLite and PostgreSQL."""

from __future__ import annotations

from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from domain.case import Case, case_id_for, normalise_case_number, parse_case_number
from domain.errors import ConflictError, InvalidFieldError, NotFoundError
from domain.policy import Role
from ops.bootstrap import Runtime
from tests.api_support import bearer, recorded, token_for
from tests.cameras_support import city_reads


def test_case_opens_attaches_reads_and_closes_with_final_classification(runtime: Runtime) -> None:
    app = runtime.app
    ids = app.record_reads(city_reads(runtime, 5))
    opened = app.open_case(" 25-004211 ", "other_felony", "Burglary, 12 Elm St", actor="inv.smith")
    assert opened.case_id == case_id_for("25-004211") and opened.number == "25-004211"
    app.attach_reads("25-004211", [ids[0], str(ids[1])], actor="inv.smith")
    case = app.attach_reads("25-004211", [ids[1], ids[2]], actor="inv.smith")  # ids[1] again: ignored
    assert case.read_ids == ids[:3]
    closed = app.close_case("25-004211", "misdemeanor", actor="sgt.jones")
    assert closed.closed and closed.final_classification == "misdemeanor" and closed.closed_by == "sgt.jones"
    assert app.find_case("25-004211") == closed == app.get_case(closed.case_id)
    assert [len(e.read_ids) for e in recorded(runtime, Case.ReadsAttached)] == [2, 1]


def test_open_case_refuses_when_classification_is_not_in_profile_schedule(runtime: Runtime) -> None:
    with pytest.raises(InvalidFieldError, match="case.classification.unknown"):
        runtime.app.open_case("25-1", "parking_ticket", "t", actor="x")
    assert recorded(runtime, Case.Opened) == []


def test_open_case_refuses_when_number_is_taken(runtime: Runtime) -> None:
    runtime.app.open_case("25-1", "misdemeanor", "first", actor="x")
    with pytest.raises(ConflictError, match="case.exists"):
        runtime.app.open_case("25-1", "violation", "second", actor="x")


def test_attach_reads_refuses_whole_request_when_a_read_is_unknown(runtime: Runtime) -> None:
    ids = runtime.app.record_reads(city_reads(runtime, 2))
    runtime.app.open_case("25-1", "misdemeanor", "t", actor="x")
    with pytest.raises(InvalidFieldError) as caught:
        runtime.app.attach_reads("25-1", [ids[0], uuid4()], actor="x")
    assert (caught.value.field, caught.value.rule) == ("read_ids[1]", "case.read.unknown")
    with pytest.raises(InvalidFieldError, match="case.read.unknown"):  # an id of another aggregate
        runtime.app.attach_reads("25-1", [case_id_for("25-1")], actor="x")
    assert runtime.app.find_case("25-1").read_ids == []


def test_closed_case_refuses_reads_and_a_second_close(runtime: Runtime) -> None:
    ids = runtime.app.record_reads(city_reads(runtime, 1))
    runtime.app.open_case("25-1", "misdemeanor", "t", actor="x")
    runtime.app.close_case("25-1", "violation", actor="x")
    with pytest.raises(ConflictError, match="case.closed"):
        runtime.app.attach_reads("25-1", ids, actor="x")
    with pytest.raises(ConflictError, match="case.closed"):
        runtime.app.close_case("25-1", "violation", actor="x")
    with pytest.raises(NotFoundError, match="case.unknown"):
        runtime.app.find_case("25-2")


def test_cases_api_opens_attaches_closes_and_reads(runtime: Runtime) -> None:
    client = TestClient(create_app(runtime))
    ids = [str(i) for i in runtime.app.record_reads(city_reads(runtime, 2))]
    inv = bearer(token_for(runtime, Role.INVESTIGATOR))
    body = {"number": "25-7", "classification": "other_felony", "title": "Robbery"}
    created = client.post("/v1/cases", json=body, headers=inv)
    assert created.status_code == 201 and created.json()["number"] == "25-7"
    assert client.post("/v1/cases", json=body, headers=inv).json()["code"] == "case.exists"
    attached = client.post("/v1/cases/25-7/reads", json={"read_ids": ids}, headers=inv)
    assert attached.status_code == 200 and attached.json()["read_ids"] == ids
    closed = client.post("/v1/cases/25-7/close", json={"final_classification": "misdemeanor"}, headers=inv)
    assert closed.status_code == 200 and closed.json()["closed"] is True
    auditor = bearer(token_for(runtime, Role.AUDITOR))
    assert client.get("/v1/cases/25-7", headers=auditor).json()["final_classification"] == "misdemeanor"
    late = client.post("/v1/cases/25-7/reads", json={"read_ids": ids}, headers=inv)
    assert (late.status_code, late.json()["code"]) == (409, "case.closed")
    bad = client.post("/v1/cases", json={**body, "number": "25-8", "classification": "x"}, headers=inv)
    assert (bad.status_code, bad.json()["code"]) == (422, "case.classification.unknown")


@pytest.mark.parametrize(
    "spelling",
    [
        "2026-004512",
        "2026-004512\u200b",
        "\ufeff2026-004512",
        "Case 2026-004512",
        "case no. 2026-004512",
        "2026\u2013004512",
        "2026\u2212004512",
        "  2026-004512  ",
        "2026-004512".lower(),
    ],
)
def test_parse_case_number_normalises_when_invisible_dash_label_or_case_differ(
    spelling: str,
) -> None:
    assert normalise_case_number(spelling) == "2026-004512"
    assert parse_case_number(spelling) == "2026-004512"


def test_parse_case_number_refuses_when_number_has_inner_space() -> None:
    with pytest.raises(InvalidFieldError) as caught:
        parse_case_number("2026 004512")
    assert caught.value.rule == "case.number.format"
    assert parse_case_number("CASE#12") == "CASE#12"  # a label needs a space or colon after it
