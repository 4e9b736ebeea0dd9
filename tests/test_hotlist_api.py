"""``/v1/hotlists`` end to end through the HTTP API, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from domain.policy import Role
from domain.profiles import get_profile
from ops.bootstrap import Runtime
from tests.api_support import bearer, token_for

CSV = "plate,state,reason,expiry\nABC1234,NY,stolen vehicle,6/30/2030\nXYZ987,,AMBER alert,\n"


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime)) as test_client:
        yield test_client


@pytest.fixture
def admin(runtime: Runtime) -> dict[str, str]:
    return bearer(token_for(runtime, Role.ADMINISTRATOR))


@pytest.fixture
def officer(runtime: Runtime) -> dict[str, str]:
    return bearer(token_for(runtime, Role.OFFICER))


def _create(client: TestClient, headers: dict[str, str], source: str = "ncic") -> str:
    response = client.post(
        "/v1/hotlists",
        json={"name": f"{source} list", "source": source, "provenance": "state switch"},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["hotlist_id"])


def test_import_csv_body_stores_version_and_entries_when_file_is_valid(
    client: TestClient, runtime: Runtime, admin: dict[str, str]
) -> None:
    hotlist_id = _create(client, admin)
    response = client.post(
        f"/v1/hotlists/{hotlist_id}/versions",
        params={"version": "2025-03-03"},
        content=CSV.replace(",", ";"),
        headers={**admin, "Content-Type": "text/csv"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["row_count"], body["added"], body["entry_count"], body["delimiter"]) == (2, 2, 2, ";")
    [match] = runtime.app.match_plate("ABC1234", "NY")
    assert match.kind == "exact"

    entries = client.get(f"/v1/hotlists/{hotlist_id}/entries", params={"limit": 1}, headers=admin).json()
    assert entries["total"] == 2 and len(entries["entries"]) == 1
    detail = client.get(f"/v1/hotlists/{hotlist_id}", headers=admin).json()
    assert detail["current_version"] == "2025-03-03" and detail["versions"][0]["row_count"] == 2
    assert detail["versions"][0]["imported_by"].startswith("test-administrator")


def test_import_multipart_upload_records_file_name_when_sent_as_form_part(
    client: TestClient, admin: dict[str, str]
) -> None:
    hotlist_id = _create(client, admin)
    response = client.post(
        f"/v1/hotlists/{hotlist_id}/versions?version=v1",
        files={"file": ("ncic-0303.csv", CSV.replace(",", "\t").encode(), "text/csv")},
        headers=admin,
    )
    assert response.status_code == 201, response.text
    assert response.json()["delimiter"] == "\t"
    detail = client.get(f"/v1/hotlists/{hotlist_id}", headers=admin).json()
    assert detail["versions"][0]["file_name"] == "ncic-0303.csv"


def test_import_answers_422_naming_line_and_field_and_stores_nothing_when_file_has_an_error(
    client: TestClient, runtime: Runtime, admin: dict[str, str]
) -> None:
    hotlist_id = _create(client, admin)
    size = runtime.ledger.size()
    response = client.post(
        f"/v1/hotlists/{hotlist_id}/versions?version=v1",
        content=CSV + "GOOD1,NY,x,\nBAD!,NY,x,\n",
        headers={**admin, "Content-Type": "text/csv"},
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "plate.charset"
    assert problem["errors"][0]["field"] == "line 5.plate"
    assert runtime.ledger.size() == size


def test_import_answers_422_when_content_type_is_not_csv(client: TestClient, admin: dict[str, str]) -> None:
    hotlist_id = _create(client, admin)
    response = client.post(
        f"/v1/hotlists/{hotlist_id}/versions?version=v1", json={"plate": "X"}, headers=admin
    )
    assert response.status_code == 422
    assert response.json()["code"] == "hotlist.file.content_type"


def test_manual_entry_answers_422_naming_case_number_when_policy_requires_it(
    client: TestClient, runtime: Runtime, admin: dict[str, str], officer: dict[str, str]
) -> None:
    runtime.app.policy = get_profile("county-sheriff-2025")
    hotlist_id = _create(client, admin, "manual")
    url = f"/v1/hotlists/{hotlist_id}/entries"
    refused = client.post(url, json={"plate": "ABC1234", "state": "NY", "reason": "suspect"}, headers=officer)
    assert refused.status_code == 422
    assert (refused.json()["errors"][0]["field"], refused.json()["code"]) == (
        "case_number",
        "hotlist.case_number.required",
    )
    refused = client.post(url, json={"plate": "ABC1234", "case_number": "25-1"}, headers=officer)
    assert refused.json()["code"] == "hotlist.reason.required"

    accepted = client.post(
        url,
        json={"plate": "ABC1234", "state": "NY", "reason": "suspect", "case_number": "25-1"},
        headers=officer,
    )
    assert accepted.status_code == 201, accepted.text
    entry_id = accepted.json()["entry_id"]
    assert runtime.app.match_plate("ABC1234", "NY")[0].entry_id.hex == entry_id.replace("-", "")

    removed = client.post(f"{url}/{entry_id}/remove", json={"why": "vehicle recovered"}, headers=admin)
    assert removed.status_code == 204
    assert runtime.app.match_plate("ABC1234", "NY") == []


def test_manual_entry_answers_403_when_caller_is_an_auditor(client: TestClient, runtime: Runtime) -> None:
    auditor = bearer(token_for(runtime, Role.AUDITOR))
    hotlist_id = runtime.app.create_hotlist("m", "manual", provenance="p", actor="t")
    response = client.post(
        f"/v1/hotlists/{hotlist_id}/entries",
        json={"plate": "A1", "reason": "x", "case_number": "1"},
        headers=auditor,
    )
    assert response.status_code == 403


def test_list_warns_about_stale_hotlist_when_last_import_is_older_than_a_shift(
    client: TestClient, runtime: Runtime, admin: dict[str, str]
) -> None:
    hotlist_id = _create(client, admin)
    client.post(
        f"/v1/hotlists/{hotlist_id}/versions?version=v1",
        content=CSV,
        headers={**admin, "Content-Type": "text/csv"},
    )
    listed = client.get("/v1/hotlists", headers=admin).json()
    assert listed["warnings"] == [] and listed["hotlists"][0]["stale"] is False

    later = runtime.app.clock() + runtime.app.policy.shift.value + timedelta(minutes=1)
    runtime.app.clock = lambda: later
    fresh = bearer(token_for(runtime, Role.SUPERVISOR))  # a token issued at the new time
    listed = client.get("/v1/hotlists", headers=fresh).json()
    assert listed["hotlists"][0]["stale"] is True
    assert [(w["hotlist_id"], w["rule"]) for w in listed["warnings"]] == [(hotlist_id, "hotlist.stale")]


def test_expire_answers_with_expired_hotlist_and_refuses_later_imports(
    client: TestClient, runtime: Runtime, admin: dict[str, str]
) -> None:
    hotlist_id = _create(client, admin)
    client.post(
        f"/v1/hotlists/{hotlist_id}/versions?version=v1",
        content=CSV,
        headers={**admin, "Content-Type": "text/csv"},
    )
    expired = client.post(
        f"/v1/hotlists/{hotlist_id}/expire", json={"why": "source withdrawn"}, headers=admin
    )
    assert expired.status_code == 200 and expired.json()["expired_at"] is not None
    assert runtime.app.match_plate("ABC1234", "NY") == []
    again = client.post(
        f"/v1/hotlists/{hotlist_id}/versions?version=v2",
        content=CSV,
        headers={**admin, "Content-Type": "text/csv"},
    )
    assert again.status_code == 409 and again.json()["code"] == "hotlist.expired"


def test_get_answers_404_when_hotlist_is_unknown(client: TestClient, admin: dict[str, str]) -> None:
    response = client.get("/v1/hotlists/00000000-0000-4000-8000-000000000000", headers=admin)
    assert response.status_code == 404 and response.json()["code"] == "hotlist.unknown"
