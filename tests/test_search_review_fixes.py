"""Search rules found wanting in review, end to end on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from domain.policy import Role
from domain.profiles import get_profile
from ops.bootstrap import Runtime
from tests.api_support import bearer, token_for

BODY = {
    "search_type": "plate",
    "criteria": {"plate": "ABC1234"},
    "purpose": "criminal_investigation",
    "reason": "vehicle seen leaving the burglary at 12 Elm St",
    "case_number": "25-004211",
}

SPELLINGS = ["2026-004512\u200b", "Case 2026-004512", "2026\u2013004512", " case no. 2026-004512 "]


def test_post_search_answers_403_when_closed_case_is_spelled_differently(runtime: Runtime) -> None:
    client = TestClient(create_app(runtime))
    inv = bearer(token_for(runtime, Role.INVESTIGATOR))
    case = {"number": "2026-004512", "classification": "misdemeanor", "title": "t"}
    assert client.post("/v1/cases", headers=inv, json=case).status_code == 201
    closed = client.post(
        "/v1/cases/2026-004512/close", headers=inv, json={"final_classification": "misdemeanor"}
    )
    assert closed.status_code == 200
    for spelling in SPELLINGS:
        response = client.post("/v1/searches", headers=inv, json={**BODY, "case_number": spelling})
        assert (response.status_code, response.json()["code"]) == (403, "search.case.closed"), spelling


def test_post_search_answers_422_when_required_case_number_cannot_be_a_case_number(runtime: Runtime) -> None:
    client = TestClient(create_app(runtime))
    inv = bearer(token_for(runtime, Role.INVESTIGATOR))
    response = client.post("/v1/searches", headers=inv, json={**BODY, "case_number": "2026 004512"})
    assert (response.status_code, response.json()["code"]) == (422, "search.case_number.format")


@pytest.mark.parametrize("why", ["x", "went north"])
def test_post_search_answers_422_when_left_jurisdiction_reason_is_insufficient(
    runtime: Runtime, why: str
) -> None:
    runtime.app.policy = get_profile("nypd-2026")
    client = TestClient(create_app(runtime))
    inv = bearer(token_for(runtime, Role.INVESTIGATOR))
    body = {**BODY, "purpose": "external_repository_lookup", "left_jurisdiction_reason": why}
    response = client.post("/v1/searches", headers=inv, json=body)
    assert (response.status_code, response.json()["code"]) == (
        422,
        "search.left_jurisdiction_reason.insufficient",
    )
    ok = {**body, "left_jurisdiction_reason": "plate read on the Thruway heading to Ohio"}
    assert client.post("/v1/searches", headers=inv, json=ok).status_code == 201


def test_post_search_answers_422_when_criteria_time_is_at_the_end_of_the_calendar(runtime: Runtime) -> None:
    client = TestClient(create_app(runtime))
    inv = bearer(token_for(runtime, Role.INVESTIGATOR))
    criteria = {"plate": "ABC1234", "from": "0001-01-01T00:00:00+05:00"}
    response = client.post("/v1/searches", headers=inv, json={**BODY, "criteria": criteria})
    assert (response.status_code, response.json()["code"]) == (422, "criteria.time.range")
