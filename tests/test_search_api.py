"""``/v1/searches`` end to end, on SQLite and PostgreSQL."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.main import create_app
from domain.policy import Role
from domain.profiles import get_profile
from domain.search import Search
from ops.bootstrap import Runtime
from tests.api_support import bearer, recorded, token_for
from tests.cameras_support import city_reads

BODY = {
    "search_type": "plate",
    "criteria": {"plate": "ABC1234"},
    "purpose": "criminal_investigation",
    "reason": "vehicle seen leaving the burglary at 12 Elm St",
    "case_number": "25-004211",
}


def test_post_search_answers_201_with_results_and_search_id_when_allowed(runtime: Runtime) -> None:
    reads = city_reads(runtime, 50)
    ids = runtime.app.record_reads(reads)
    client = TestClient(create_app(runtime))
    inv = bearer(token_for(runtime, Role.INVESTIGATOR))
    response = client.post("/v1/searches", json={**BODY, "criteria": {"plate": reads[0].plate}}, headers=inv)
    assert response.status_code == 201
    body = response.json()
    expected = {str(i) for i, r in zip(ids, reads, strict=True) if r.plate == reads[0].plate}
    assert {r["read_id"] for r in body["results"]} == expected and body["count"] == len(expected)
    record = client.get(f"/v1/searches/{body['search_id']}", headers=inv).json()
    assert record["status"] == "executed" and record["result_count"] == len(expected)
    assert record["profile"] == "nys-mptc-2022" and record["clause_refs"]


def test_post_search_answers_403_problem_and_records_refusal_when_purpose_is_prohibited(
    runtime: Runtime,
) -> None:
    runtime.app.policy = get_profile("nypd-2026")
    client = TestClient(create_app(runtime))
    inv = bearer(token_for(runtime, Role.INVESTIGATOR))
    response = client.post("/v1/searches", json={**BODY, "purpose": "immigration_enforcement"}, headers=inv)
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "search.purpose.prohibited" and problem["errors"][0]["field"] == "purpose"
    (event,) = recorded(runtime, Search.Refused)
    assert event.rule == "search.purpose.prohibited"
    auditor = bearer(token_for(runtime, Role.AUDITOR))
    log = client.get("/v1/searches", headers=auditor).json()["searches"]
    assert [(s["status"], s["refusal"]["rule"]) for s in log] == [("refused", "search.purpose.prohibited")]


def test_post_search_answers_422_and_records_when_reason_is_one_word(runtime: Runtime) -> None:
    client = TestClient(create_app(runtime))
    inv = bearer(token_for(runtime, Role.INVESTIGATOR))
    response = client.post("/v1/searches", json={**BODY, "reason": "investigation"}, headers=inv)
    assert (response.status_code, response.json()["code"]) == (422, "search.reason.insufficient")
    assert [e.rule for e in recorded(runtime, Search.Refused)] == ["search.reason.insufficient"]


def test_get_search_answers_403_when_caller_is_neither_searcher_nor_auditor(runtime: Runtime) -> None:
    client = TestClient(create_app(runtime))
    mine = bearer(token_for(runtime, Role.INVESTIGATOR))
    search_id = client.post("/v1/searches", json=BODY, headers=mine).json()["search_id"]
    other = client.get(f"/v1/searches/{search_id}", headers=bearer(token_for(runtime, Role.INVESTIGATOR)))
    assert (other.status_code, other.json()["code"]) == (403, "search.not_yours")
    supervisor = client.get(f"/v1/searches/{search_id}", headers=bearer(token_for(runtime, Role.SUPERVISOR)))
    assert supervisor.status_code == 200 and supervisor.json()["search_id"] == search_id


def test_query_log_filters_by_account_and_window(runtime: Runtime) -> None:
    client = TestClient(create_app(runtime))
    a_token = token_for(runtime, Role.INVESTIGATOR)
    a = runtime.app.authenticate(a_token)
    client.post("/v1/searches", json=BODY, headers=bearer(a_token))
    client.post("/v1/searches", json=BODY, headers=bearer(token_for(runtime, Role.OFFICER)))
    auditor = bearer(token_for(runtime, Role.AUDITOR))
    by_a = client.get("/v1/searches", params={"account_id": str(a.account_id)}, headers=auditor).json()
    assert [s["login"] for s in by_a["searches"]] == [a.login]
    everything = client.get("/v1/searches", headers=auditor).json()["searches"]
    later = client.get("/v1/searches", params={"from": everything[-1]["executed_at"]}, headers=auditor)
    assert later.status_code == 200 and later.json()["searches"] == []
