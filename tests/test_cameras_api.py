"""``/v1/cameras`` over HTTP: who may manage and read cameras, and the IACP B.2 service rules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from ops.bootstrap import Runtime
from tests.api_support import bearer, device_token_for, token_for

FIXED = {
    "camera_id": "FX-017",
    "kind": "fixed",
    "latitude": 43.0481,
    "longitude": -76.1474,
    "agency": "Syracuse Police Department",
    "description": "Pole at S Salina St and E Fayette St",
}


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime)) as c:
        yield c


@pytest.fixture
def supervisor(runtime: Runtime) -> dict[str, str]:
    return bearer(token_for(runtime, "supervisor"))


def test_register_camera_answers_201_and_lists_it_when_supervisor(
    client: TestClient, runtime: Runtime, supervisor: dict[str, str]
) -> None:
    response = client.post("/v1/cameras", json=FIXED, headers=supervisor)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["camera_id"] == "FX-017" and body["in_service"] and body["last_check"] is None
    officer = bearer(token_for(runtime, "officer"))
    listed = client.get("/v1/cameras", headers=officer).json()["cameras"]
    assert [c["camera_id"] for c in listed] == ["FX-017"]
    assert client.get("/v1/cameras/FX-017", headers=officer).json()["agency"] == "Syracuse Police Department"


def test_register_camera_answers_409_when_id_taken(client: TestClient, supervisor: dict[str, str]) -> None:
    client.post("/v1/cameras", json=FIXED, headers=supervisor)
    again = client.post("/v1/cameras", json=FIXED, headers=supervisor)
    assert again.status_code == 409 and again.json()["code"] == "camera.exists"


def test_register_camera_answers_422_naming_field_when_mobile_without_vehicle(
    client: TestClient, supervisor: dict[str, str]
) -> None:
    response = client.post(
        "/v1/cameras", json=FIXED | {"kind": "mobile", "camera_id": "MB-1"}, headers=supervisor
    )
    assert response.status_code == 422
    assert response.json()["errors"][0] == {
        "field": "patrol_vehicle",
        "rule": "patrol_vehicle.required",
        "message": response.json()["errors"][0]["message"],
    }


@pytest.mark.parametrize("role", ["officer", "investigator", "auditor", "device"])
def test_register_camera_forbidden_when_role_may_not_manage(
    client: TestClient, runtime: Runtime, role: str
) -> None:
    token = device_token_for(runtime) if role == "device" else token_for(runtime, role)
    assert client.post("/v1/cameras", json=FIXED, headers=bearer(token)).status_code == 403


def test_failed_check_takes_camera_out_of_service_until_passing_check_when_recorded_over_http(
    client: TestClient, supervisor: dict[str, str]
) -> None:
    client.post("/v1/cameras", json=FIXED, headers=supervisor)
    failed = client.post(
        "/v1/cameras/FX-017/checks", json={"function_ok": True, "alignment_ok": False}, headers=supervisor
    )
    assert failed.status_code == 201
    assert failed.json()["in_service"] is False and failed.json()["last_check"]["passed"] is False
    refused = client.post("/v1/cameras/FX-017/return-to-service", headers=supervisor)
    assert refused.status_code == 409 and refused.json()["code"] == "camera.deficiency_uncorrected"
    client.post(
        "/v1/cameras/FX-017/checks", json={"function_ok": True, "alignment_ok": True}, headers=supervisor
    )
    back = client.post("/v1/cameras/FX-017/return-to-service", headers=supervisor)
    assert back.status_code == 200 and back.json()["in_service"] is True


def test_out_of_service_answers_200_then_409_when_repeated(
    client: TestClient, supervisor: dict[str, str]
) -> None:
    client.post("/v1/cameras", json=FIXED | {"camera_id": "NORTH 7"}, headers=supervisor)
    out = client.post(
        "/v1/cameras/NORTH%207/out-of-service", json={"reason": "pole replaced"}, headers=supervisor
    )
    assert out.status_code == 200 and out.json()["out_of_service_reason"] == "pole replaced"
    again = client.post("/v1/cameras/NORTH%207/out-of-service", json={"reason": "x"}, headers=supervisor)
    assert again.status_code == 409


def test_get_camera_answers_404_when_unknown(client: TestClient, supervisor: dict[str, str]) -> None:
    response = client.get("/v1/cameras/nope", headers=supervisor)
    assert response.status_code == 404 and response.json()["code"] == "camera.unknown"


def test_equipment_check_refused_when_recorder_untrained(
    client: TestClient, runtime: Runtime, supervisor: dict[str, str]
) -> None:
    # IACP B.2: "Designated, trained personnel shall check equipment".
    client.post("/v1/cameras", json=FIXED, headers=supervisor)
    untrained = bearer(token_for(runtime, "supervisor", trained=False))
    refused = client.post(
        "/v1/cameras/FX-017/checks", json={"function_ok": True, "alignment_ok": True}, headers=untrained
    )
    assert refused.status_code == 403 and refused.json()["code"] == "training.required"
    trained_officer = bearer(token_for(runtime, "officer"))
    done = client.post(
        "/v1/cameras/FX-017/checks", json={"function_ok": True, "alignment_ok": True}, headers=trained_officer
    )
    assert done.status_code == 201
