"""``/v1/hits`` over HTTP: officers verify and disposition, supervisors see what is left undone."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from domain.policy import Role
from ops.bootstrap import Runtime
from tests.api_support import bearer, token_for
from tests.hits_support import FakeClock, store_hit


@pytest.fixture
def client(runtime: Runtime) -> TestClient:
    return TestClient(create_app(runtime))


@pytest.fixture
def clock(runtime: Runtime) -> FakeClock:
    fake = FakeClock()
    runtime.app.clock = fake
    return fake


def test_verify_and_disposition_record_the_officers_checks_when_officer_is_trained(
    runtime: Runtime, client: TestClient
) -> None:
    hit = store_hit(runtime)
    officer = bearer(token_for(runtime, Role.OFFICER))
    r = client.post(
        f"/v1/hits/{hit.id}/verify",
        json={"plate_characters_match": True, "state_matches": True, "notes": "image clear"},
        headers=officer,
    )
    assert r.status_code == 200, r.text
    assert r.json()["verifications"][0]["plate_characters_match"] is True
    r = client.post(
        f"/v1/hits/{hit.id}/disposition", json={"outcome": "confirmed", "notes": "stopped"}, headers=officer
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["disposition"]["outcome"] == "confirmed" and body["id"] == str(hit.id)
    r = client.get(f"/v1/hits/{hit.id}", headers=bearer(token_for(runtime, Role.SUPERVISOR)))
    assert r.status_code == 200 and r.json()["disposition"]["notes"] == "stopped"


def test_disposition_answers_403_naming_rule_when_confirming_unverified_hit(
    runtime: Runtime, client: TestClient
) -> None:
    hit = store_hit(runtime)
    r = client.post(
        f"/v1/hits/{hit.id}/disposition",
        json={"outcome": "confirmed"},
        headers=bearer(token_for(runtime, Role.OFFICER)),
    )
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "hit.verification_required"
    assert not runtime.app.get_hit(hit.id).dispositioned


def test_disposition_answers_409_when_hit_already_dispositioned(runtime: Runtime, client: TestClient) -> None:
    hit = store_hit(runtime)
    officer = bearer(token_for(runtime, Role.OFFICER))
    assert client.post(
        f"/v1/hits/{hit.id}/disposition", json={"outcome": "misread"}, headers=officer
    ).is_success
    r = client.post(f"/v1/hits/{hit.id}/disposition", json={"outcome": "no_action"}, headers=officer)
    assert r.status_code == 409 and r.json()["code"] == "hit.already_dispositioned"
    r = client.post(
        f"/v1/hits/{hit.id}/verify",
        json={"plate_characters_match": True, "state_matches": True},
        headers=officer,
    )
    assert r.status_code == 409


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("disposition", {"outcome": "other", "notes": ""}, "notes"),
        ("disposition", {"outcome": "arrested"}, "outcome"),
        ("verify", {"plate_characters_match": "yes", "state_matches": True}, "plate_characters_match"),
        ("verify", {"plate_characters_match": True}, "state_matches"),
    ],
)
def test_hit_actions_answer_422_naming_field_when_body_is_invalid(
    runtime: Runtime, client: TestClient, path: str, body: dict[str, object], field: str
) -> None:
    hit = store_hit(runtime)
    r = client.post(f"/v1/hits/{hit.id}/{path}", json=body, headers=bearer(token_for(runtime, Role.OFFICER)))
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == field
    assert len(list(runtime.app.recorder.select_events(hit.id))) == 1


def test_hit_actions_answer_403_when_officer_is_untrained(runtime: Runtime, client: TestClient) -> None:
    hit = store_hit(runtime)
    r = client.post(
        f"/v1/hits/{hit.id}/disposition",
        json={"outcome": "misread"},
        headers=bearer(token_for(runtime, Role.OFFICER, trained=False)),
    )
    assert r.status_code == 403 and r.json()["code"] == "training.required"


def test_get_hit_answers_404_when_hit_is_unknown(runtime: Runtime, client: TestClient) -> None:
    r = client.get(f"/v1/hits/{uuid4()}", headers=bearer(token_for(runtime, Role.OFFICER)))
    assert r.status_code == 404 and r.json()["code"] == "hit.not_found"


def test_undispositioned_lists_hits_older_than_a_shift_for_supervisors_only(
    runtime: Runtime, client: TestClient, clock: FakeClock
) -> None:
    old = store_hit(runtime)
    clock.advance(runtime.app.policy.shift.value + timedelta(minutes=1))
    store_hit(runtime)  # recent: not yet a supervisor's concern
    supervisor = bearer(token_for(runtime, Role.SUPERVISOR))
    r = client.get("/v1/hits/undispositioned", headers=supervisor)
    assert r.status_code == 200
    assert [h["id"] for h in r.json()["hits"]] == [str(old.id)]
    r = client.get("/v1/hits/undispositioned", headers=bearer(token_for(runtime, Role.OFFICER)))
    assert r.status_code == 403
    assert client.post(f"/v1/hits/{old.id}/disposition", json={"outcome": "not_located"}, headers=supervisor)
    assert client.get("/v1/hits/undispositioned", headers=supervisor).json()["hits"] == []


def test_list_hits_filters_undispositioned_and_age_when_given(
    runtime: Runtime, client: TestClient, clock: FakeClock
) -> None:
    old = store_hit(runtime)
    clock.advance(timedelta(hours=2))
    new = store_hit(runtime)
    officer = bearer(token_for(runtime, Role.OFFICER))
    r = client.get("/v1/hits", headers=officer)
    assert [h["id"] for h in r.json()["hits"]] == [str(new.id), str(old.id)]
    r = client.get("/v1/hits", params={"undispositioned": "true", "older_than": 3600}, headers=officer)
    assert [h["id"] for h in r.json()["hits"]] == [str(old.id)]
    assert client.get("/v1/hits").status_code == 401
