"""Hotlist instants at the ends of the calendar: 422 or "never expires", never a 500 (both backends)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from domain.errors import InvalidFieldError
from domain.policy import Role
from ops.bootstrap import Runtime
from ops.hotlist_csv import parse_csv_date
from tests.api_support import bearer, token_for


def test_parse_csv_date_reads_last_date_expiry_as_no_expiry_when_agency_means_never() -> None:
    assert parse_csv_date("9999-12-31", "expiry", end_of_day=True) is None
    assert parse_csv_date("12/31/9999", "expiry", end_of_day=True) is None
    assert parse_csv_date("2030-06-30", "expiry", end_of_day=True) == datetime(2030, 7, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ("0001-01-01T00:00:00+05:00", "expiry"),
        ("9999-12-31T23:00:00-05:00", "effective"),
        ("0001-01-01", "effective"),
    ],
)
def test_parse_csv_date_refuses_instant_when_outside_the_calendar(raw: str, field: str) -> None:
    with pytest.raises(InvalidFieldError) as caught:
        parse_csv_date(raw, field, end_of_day=field == "expiry")
    assert caught.value.rule == "date.range"


def _hotlist(client: TestClient, admin: dict[str, str], source: str) -> str:
    body = {"name": f"{source} list", "source": source, "provenance": "state switch"}
    response = client.post("/v1/hotlists", json=body, headers=admin)
    assert response.status_code == 201, response.text
    return str(response.json()["hotlist_id"])


def test_import_answers_201_when_expiry_is_9999_12_31_and_422_when_time_overflows(
    runtime: Runtime,
) -> None:
    client = TestClient(create_app(runtime))
    admin = bearer(token_for(runtime, Role.ADMINISTRATOR))
    sup = {**bearer(token_for(runtime, Role.SUPERVISOR)), "content-type": "text/csv"}
    hotlist_id = _hotlist(client, admin, "ncic")
    url = f"/v1/hotlists/{hotlist_id}/versions"
    never = "plate,state,reason,effective,expiry\nABC1234,NY,stolen,2025-01-01,9999-12-31\n"
    assert client.post(url, params={"version": "v1"}, headers=sup, content=never.encode()).status_code == 201
    bad = "plate,state,reason,effective,expiry\nABC1234,NY,stolen,2025-01-01,0001-01-01T00:00:00+05:00\n"
    response = client.post(url, params={"version": "v2"}, headers=sup, content=bad.encode())
    assert (response.status_code, response.json()["errors"][0]["rule"]) == (422, "date.range")
    response = client.post(
        url,
        params={"version": "v3", "effective_at": "0001-01-01T00:00:00+05:00"},
        headers=sup,
        content=b"plate,state,reason\nABC1234,NY,stolen\n",
    )
    assert (response.status_code, response.json()["code"]) == (422, "effective_at.range")


def test_manual_entry_answers_422_when_expires_at_overflows(runtime: Runtime) -> None:
    client = TestClient(create_app(runtime))
    admin = bearer(token_for(runtime, Role.ADMINISTRATOR))
    sup = bearer(token_for(runtime, Role.SUPERVISOR))
    hotlist_id = _hotlist(client, admin, "manual")
    body = {
        "plate": "ABC1234",
        "state": "NY",
        "reason": "Stolen vehicle report",
        "case_number": "2026-1",
        "expires_at": "9999-12-31T23:59:59-05:00",
    }
    response = client.post(f"/v1/hotlists/{hotlist_id}/entries", json=body, headers=sup)
    assert (response.status_code, response.json()["code"]) == (422, "expires_at.range")
