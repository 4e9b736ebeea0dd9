"""Holds, shredding and the retention run through the HTTP API, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

from fastapi.testclient import TestClient

from api.main import create_app
from domain.policy import Role
from domain.retention import read_day_due
from ops.bootstrap import Runtime
from ops.keys import hold_kek, read_kek
from tests.api_support import bearer, token_for
from tests.hits_support import FakeClock
from tests.test_retention_job import DAY, T0, clock, ingest, read

__all__ = ["clock"]

REASON = "suspect vehicle in an open burglary investigation"


def test_hold_lifecycle_through_api(runtime: Runtime, clock: FakeClock) -> None:
    client = TestClient(create_app(runtime))
    ids = [str(i) for i in ingest(runtime, clock, ["ABC1001", "ABC1002"])]
    inv = bearer(token_for(runtime, Role.INVESTIGATOR))
    sgt = bearer(token_for(runtime, Role.SUPERVISOR))
    review = (clock.now + timedelta(days=90)).isoformat()
    body = {"read_ids": ids, "case_number": "25-004211", "reason": REASON, "review_by": review}

    created = client.post("/v1/holds", json=body, headers=inv)
    assert created.status_code == 201, created.text
    hold = created.json()
    assert hold["status"] == "requested" and hold["read_ids"] == ids and hold["approved_by"] is None
    hold_id = hold["hold_id"]

    assert client.post(f"/v1/holds/{hold_id}/approve", headers=inv).status_code == 403  # not a supervisor
    approved = client.post(f"/v1/holds/{hold_id}/approve", headers=sgt)
    assert approved.status_code == 200 and approved.json()["status"] == "active"
    first = runtime.app.get_hold(hold_id).read_ids[0]
    assert runtime.keystore.kek_of(first) == hold_kek(runtime.app.get_hold(hold_id).hold_id)
    assert client.post(f"/v1/holds/{hold_id}/approve", headers=sgt).status_code == 409

    listed = client.get("/v1/holds", params={"status": "active"}, headers=sgt)
    assert listed.status_code == 200 and [h["hold_id"] for h in listed.json()] == [hold_id]
    assert client.get("/v1/holds", params={"status": "flagged"}, headers=sgt).json() == []
    assert client.get("/v1/holds", params={"status": "bogus"}, headers=sgt).status_code == 422
    assert client.get(f"/v1/holds/{hold_id}", headers=inv).json()["case_number"] == "25-004211"
    assert client.get(f"/v1/holds/{uuid4()}", headers=inv).json()["code"] == "hold.unknown"

    new_review = (clock.now + timedelta(days=200)).isoformat()
    rejustify = {"reason": "trial in June", "review_by": new_review}
    # Re-justifying keeps reads for another period: a supervisor's act, as approval is.
    assert client.post(f"/v1/holds/{hold_id}/rejustify", json=rejustify, headers=inv).status_code == 403
    again = client.post(f"/v1/holds/{hold_id}/rejustify", json=rejustify, headers=sgt)
    assert again.status_code == 200 and again.json()["reason"] == "trial in June"
    plate = client.post(
        f"/v1/holds/{hold_id}/rejustify", json=rejustify | {"reason": "abc 1002 at trial"}, headers=sgt
    )
    assert plate.status_code == 422 and plate.json()["errors"][0]["rule"] == "retention.reason.personal"

    assert (
        client.post(f"/v1/holds/{hold_id}/release", json={"reason": "done"}, headers=inv).status_code == 403
    )
    released = client.post(f"/v1/holds/{hold_id}/release", json={"reason": "case closed"}, headers=sgt)
    assert released.status_code == 200 and released.json()["status"] == "released"
    assert runtime.keystore.kek_of(first) == read_kek(T0)
    conflict = client.post(f"/v1/holds/{hold_id}/release", json={"reason": "again"}, headers=sgt)
    assert conflict.status_code == 409 and conflict.json()["code"] == "hold.release.state"


def test_hold_request_refuses_bad_input_through_api(runtime: Runtime, clock: FakeClock) -> None:
    client = TestClient(create_app(runtime))
    ids = [str(i) for i in ingest(runtime, clock, ["ABC1001"])]
    inv = bearer(token_for(runtime, Role.INVESTIGATOR))
    review = (clock.now + timedelta(days=90)).isoformat()
    base = {"read_ids": ids, "case_number": "25-1", "reason": REASON, "review_by": review}
    unknown = client.post("/v1/holds", json=base | {"read_ids": [str(uuid4())]}, headers=inv)
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["rule"] == "hold.read.unknown"
    naive = client.post("/v1/holds", json=base | {"review_by": "2025-06-01T00:00:00"}, headers=inv)
    assert naive.status_code == 422 and naive.json()["errors"][0]["rule"] == "hold.review_by.naive"
    assert client.post("/v1/holds", json=base | {"read_ids": []}, headers=inv).status_code == 422
    assert (
        client.post("/v1/holds", json=base, headers=bearer(token_for(runtime, Role.OFFICER))).status_code
        == 403
    )
    denied = client.post(
        f"/v1/holds/{uuid4()}/deny",
        json={"reason": "no"},
        headers=bearer(token_for(runtime, Role.SUPERVISOR)),
    )
    assert denied.status_code == 404
    assert runtime.app.list_holds() == []


def test_supervisor_cannot_rejustify_their_own_hold_through_api(runtime: Runtime, clock: FakeClock) -> None:
    client = TestClient(create_app(runtime))
    ids = [str(i) for i in ingest(runtime, clock, ["ABC1001"])]
    sgt, other = (bearer(token_for(runtime, Role.SUPERVISOR)) for _ in range(2))
    review = (clock.now + timedelta(days=90)).isoformat()
    body = {"read_ids": ids, "case_number": "25-1", "reason": REASON, "review_by": review}
    hold_id = client.post("/v1/holds", json=body, headers=sgt).json()["hold_id"]
    assert client.post(f"/v1/holds/{hold_id}/approve", headers=other).status_code == 200
    rejustify = {"reason": "trial in June", "review_by": (clock.now + timedelta(days=200)).isoformat()}
    own = client.post(f"/v1/holds/{hold_id}/rejustify", json=rejustify, headers=sgt)
    assert own.status_code == 409 and own.json()["code"] == "hold.rejustify.own"
    assert client.post(f"/v1/holds/{hold_id}/rejustify", json=rejustify, headers=other).status_code == 200


def test_shred_read_through_api(runtime: Runtime, clock: FakeClock) -> None:
    client = TestClient(create_app(runtime))
    ids = ingest(runtime, clock, ["ABC1001"])
    po = bearer(token_for(runtime, Role.PRIVACY_OFFICER))
    body = {"rule": "court_order", "reason": "order 2025-117 of the county court"}
    assert (
        client.post(
            f"/v1/reads/{ids[0]}/shred", json=body, headers=bearer(token_for(runtime, Role.OFFICER))
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"/v1/reads/{ids[0]}/shred", json=body | {"rule": "read_retention"}, headers=po
        ).status_code
        == 422
    )
    personal = client.post(
        f"/v1/reads/{ids[0]}/shred", json=body | {"reason": "plate abc-1001 misread"}, headers=po
    )
    assert personal.status_code == 422 and personal.json()["errors"][0]["field"] == "reason"
    assert personal.json()["errors"][0]["rule"] == "retention.reason.personal"
    assert runtime.keystore.destructions() == []
    sgt = token_for(runtime, Role.SUPERVISOR)
    hold = runtime.app.request_hold(ids, "25-1", REASON, clock.now + timedelta(days=9), actor="inv")
    runtime.app.approve_hold(hold.hold_id, actor="sgt")
    held = client.post(f"/v1/reads/{ids[0]}/shred", json=body, headers=bearer(sgt))
    assert held.status_code == 409 and held.json()["code"] == "read.held"
    assert not read(runtime, ids[0]).purged
    runtime.app.release_hold(hold.hold_id, "court ordered the read shredded", actor="sgt")
    done = client.post(f"/v1/reads/{ids[0]}/shred", json=body, headers=po)
    assert done.status_code == 200, done.text
    out = done.json()
    assert out["rule"] == "court_order" and out["key_id"] == str(ids[0]) and out["due_at"] is None
    assert out["profile"] == runtime.app.policy.name and read(runtime, ids[0]).purged
    again = client.post(f"/v1/reads/{ids[0]}/shred", json=body, headers=po)
    assert again.status_code == 409 and again.json()["code"] == "read.purged"
    assert client.post(f"/v1/reads/{uuid4()}/shred", json=body, headers=po).status_code == 404


def test_retention_run_through_api(runtime: Runtime, clock: FakeClock) -> None:
    client = TestClient(create_app(runtime))
    ids = ingest(runtime, clock, ["ABC1001"])
    clock.now = read_day_due(DAY, runtime.app.policy)
    admin = bearer(token_for(runtime, Role.ADMINISTRATOR))
    assert (
        client.post("/v1/retention/run", headers=bearer(token_for(runtime, Role.INVESTIGATOR))).status_code
        == 403
    )
    dry = client.post("/v1/retention/run", params={"dry_run": "true"}, headers=admin)
    assert dry.status_code == 200 and dry.json()["dry_run"] is True
    assert [p["key_id"] for p in dry.json()["purges"]] == [read_kek(T0)] and not read(runtime, ids[0]).purged
    dry_body = client.post("/v1/retention/run", json={"dry_run": True}, headers=admin)
    assert dry_body.json()["dry_run"] is True and not read(runtime, ids[0]).purged
    done = client.post("/v1/retention/run", headers=bearer(token_for(runtime, Role.PRIVACY_OFFICER)))
    assert done.status_code == 200 and done.json()["purges"][0]["record_count"] == 1
    assert done.json()["profile"] == runtime.app.policy.name and read(runtime, ids[0]).purged
    assert client.post("/v1/retention/run", json={"dry_run": "maybe"}, headers=admin).status_code == 422
