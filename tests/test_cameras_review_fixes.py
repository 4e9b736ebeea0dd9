"""An equipment check at the end of the calendar is a 422, not a 500 (both backends)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.main import create_app
from ops.bootstrap import Runtime
from tests.api_support import bearer, token_for

FIXED = {
    "camera_id": "FX-017",
    "kind": "fixed",
    "latitude": 43.0481,
    "longitude": -76.1474,
    "agency": "Syracuse Police Department",
    "description": "Pole at S Salina St and E Fayette St",
}


def test_equipment_check_answers_422_when_checked_at_overflows(runtime: Runtime) -> None:
    client = TestClient(create_app(runtime))
    supervisor = bearer(token_for(runtime, "supervisor"))
    assert client.post("/v1/cameras", json=FIXED, headers=supervisor).status_code == 201
    body = {"function_ok": True, "alignment_ok": True, "checked_at": "0001-01-01T00:00:00+05:00"}
    response = client.post("/v1/cameras/FX-017/checks", json=body, headers=supervisor)
    assert (response.status_code, response.json()["code"]) == (422, "checked_at.range")
    assert client.get("/v1/cameras/FX-017", headers=supervisor).json()["last_check"] is None
