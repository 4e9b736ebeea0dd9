"""The query-log audit workflow: opened, sampled with a recorded seed, reviewed, summarised, signed off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from domain.errors import ConflictError, InvalidFieldError, PolicyRefusedError
from domain.policy import Role
from domain.query_audit import INDEPENDENCE_RULE, QueryAudit, draw_sample
from ops.bootstrap import Runtime
from tests.api_support import bearer, recorded, token_for
from tests.test_misuse_flags import person, search


def test_draw_sample_is_reproducible_from_seed_and_independent_of_order() -> None:
    ids = [f"id-{i:03d}" for i in range(200)]
    first = draw_sample(ids, 1234, 20)
    assert draw_sample(list(reversed(ids)), 1234, 20) == first
    assert len(set(first)) == 20 and set(first) <= set(ids)
    assert draw_sample(ids, 1235, 20) != first
    assert sorted(draw_sample(ids[:5], 7, 20)) == ids[:5]


def test_audit_runs_in_order_with_named_reviewer_and_independent_sign_off(runtime: Runtime) -> None:
    app = runtime.app
    now = datetime.now(UTC)
    searchers = [person(runtime) for _ in range(3)]
    for i in range(12):
        search(runtime, searchers[i % 3], now - timedelta(hours=5, minutes=i))
    search(runtime, searchers[0], now - timedelta(days=3))  # outside the period
    auditor = person(runtime, Role.AUDITOR)
    reviewer = person(runtime, Role.AUDITOR)
    admin = person(runtime, Role.ADMINISTRATOR)
    with pytest.raises(InvalidFieldError) as caught:
        app.open_query_audit(now, now - timedelta(days=1), "bi-annual audit", actor=auditor)
    assert (caught.value.field, caught.value.rule) == ("to", "audit.period.order")
    with pytest.raises(InvalidFieldError, match="audit.period.future"):
        app.open_query_audit(now - timedelta(days=1), now + timedelta(days=1), "audit", actor=auditor)
    audit = app.open_query_audit(now - timedelta(days=1), now, "bi-annual audit, TCSO VIII.D", actor=auditor)
    with pytest.raises(ConflictError, match="audit.review.not_sampled"):
        app.review_audited_search(audit.audit_id, "x", "ok", None, actor=reviewer)
    with pytest.raises(InvalidFieldError) as caught:
        app.draw_audit_sample(audit.audit_id, 0, actor=auditor)
    assert (caught.value.field, caught.value.rule) == ("size", "audit.sample.size")
    audit = app.draw_audit_sample(audit.audit_id, 5, actor=auditor)
    assert audit.seed is not None and audit.population == 12 and len(audit.sample) == 5
    assert app.check_audit_sample(audit.audit_id)
    with pytest.raises(ConflictError, match="audit.sample.already_drawn"):
        app.draw_audit_sample(audit.audit_id, 5, actor=auditor)
    with pytest.raises(ConflictError, match="audit.summary.reviews_pending"):
        app.summarise_query_audit(audit.audit_id, "all fine", actor=auditor)
    with pytest.raises(InvalidFieldError, match="audit.notes.required_for_concern"):
        app.review_audited_search(audit.audit_id, audit.sample[0], "concern", None, actor=reviewer)
    with pytest.raises(InvalidFieldError, match="audit.review.not_in_sample"):
        app.review_audited_search(audit.audit_id, "not-a-sampled-id", "ok", None, actor=reviewer)
    for i, search_id in enumerate(audit.sample):
        finding = "concern" if i == 0 else "ok"
        audit = app.review_audited_search(
            audit.audit_id, search_id, finding, "reason too vague" if i == 0 else None, actor=reviewer
        )
    with pytest.raises(ConflictError, match="audit.review.already_reviewed"):
        app.review_audited_search(audit.audit_id, audit.sample[0], "ok", None, actor=auditor)
    assert [r.reviewer_login for r in audit.reviews] == [reviewer.login] * 5
    with pytest.raises(ConflictError, match="audit.signoff.not_summarised"):
        app.sign_off_query_audit(audit.audit_id, None, actor=admin)
    audit = app.summarise_query_audit(audit.audit_id, "one vague reason; otherwise in order", actor=auditor)
    with pytest.raises(PolicyRefusedError, match="audit.signoff.reviewer"):
        app.sign_off_query_audit(audit.audit_id, None, actor=reviewer)
    audit = app.sign_off_query_audit(audit.audit_id, "report to the Undersheriff", actor=admin)
    assert audit.status == "signed_off" and audit.signed_off_by == admin.login
    summarised = recorded(runtime, QueryAudit.Summarised)[-1]
    assert (summarised.ok, summarised.concern) == (4, 1)
    assert [a.audit_id for a in app.list_query_audits()] == [audit.audit_id]


def test_review_of_own_sampled_search_is_refused_by_the_audit_itself() -> None:
    """Defence in depth below the service's independence check: the sample's searchers are known."""
    now = datetime.now(UTC)
    opener, searcher = uuid4(), uuid4()
    audit = QueryAudit.open(
        period_from=now - timedelta(days=1),
        period_to=now,
        reason="random audit, MPTC VI.G",
        by=opener,
        by_login="opener",
        now=now,
        own_searches=0,
    )
    audit.draw({"s-1": str(searcher)}, size=1, seed=3, by=opener, now=now)
    with pytest.raises(PolicyRefusedError, match="audit.review.own_search"):
        audit.review("s-1", finding="ok", notes=None, by=searcher, by_login="s", now=now, own_searches=0)
    with pytest.raises(PolicyRefusedError) as caught:
        audit.review("s-1", finding="ok", notes=None, by=opener, by_login="o", now=now, own_searches=2)
    assert (caught.value.field, caught.value.rule) == ("by", INDEPENDENCE_RULE)
    assert "TCSO VIII.D" in caught.value.message and "MPTC VI.G" in caught.value.message
    assert audit.status == "sampled" and audit.reviews == {}
    fresh = QueryAudit.open(
        period_from=now - timedelta(days=1),
        period_to=now,
        reason="bi-annual",
        by=searcher,
        by_login="s",
        now=now,
        own_searches=0,
    )
    with pytest.raises(PolicyRefusedError, match=INDEPENDENCE_RULE):
        fresh.draw({"s-1": str(searcher), "s-2": str(opener)}, size=1, seed=1, by=searcher, now=now)
    assert fresh.status == "opened" and fresh.sample == []


def test_searcher_whose_search_is_sampled_cannot_sign_off(runtime: Runtime) -> None:
    app = runtime.app
    now = datetime.now(UTC)
    supervisor = person(runtime, Role.SUPERVISOR)
    search(runtime, supervisor, now - timedelta(hours=2))
    auditor = person(runtime, Role.AUDITOR)
    audit = app.open_query_audit(now - timedelta(days=1), now, "random audit, MPTC VI.G", actor=auditor)
    audit = app.draw_audit_sample(audit.audit_id, 3, actor=auditor)
    assert audit.seed is not None and len(audit.sample) == 1
    app.review_audited_search(
        audit.audit_id, audit.sample[0], "ok", None, actor=person(runtime, Role.AUDITOR)
    )
    app.summarise_query_audit(audit.audit_id, "in order", actor=auditor)
    with pytest.raises(PolicyRefusedError, match="audit.signoff.own_search"):
        app.sign_off_query_audit(audit.audit_id, None, actor=supervisor)


def test_auditor_who_searched_in_period_is_refused_every_step_and_nothing_is_recorded(
    runtime: Runtime,
) -> None:
    client = TestClient(create_app(runtime))
    now = datetime.now(UTC)
    token = token_for(runtime, Role.SUPERVISOR)  # supervisors both search and conduct audits
    searcher = runtime.app.authenticate(token)
    search(runtime, searcher, now - timedelta(hours=3))
    search(runtime, person(runtime), now - timedelta(hours=2))
    conflicted = bearer(token)
    auditor = bearer(token_for(runtime, Role.AUDITOR))
    period = {"from": (now - timedelta(days=1)).isoformat(), "to": now.isoformat(), "reason": "bi-annual"}

    def refused(response: Any, step: str) -> None:
        assert response.status_code == 403, response.text
        body = response.json()
        assert body["code"] == INDEPENDENCE_RULE
        assert body["errors"] == [
            {"field": "by", "rule": INDEPENDENCE_RULE, "message": body["errors"][0]["message"]}
        ]
        message = body["errors"][0]["message"]
        assert f"cannot {step}" in message and "TCSO VIII.D" in message and "MPTC VI.G" in message

    refused(client.post("/v1/audits/queries", json=period, headers=conflicted), "open")
    assert recorded(runtime, QueryAudit.Opened) == []
    # a period that ended before the search is theirs to audit
    earlier = {**period, "to": (now - timedelta(hours=4)).isoformat()}
    assert client.post("/v1/audits/queries", json=earlier, headers=conflicted).status_code == 201

    audit_id = client.post("/v1/audits/queries", json=period, headers=auditor).json()["audit_id"]
    refused(
        client.post(f"/v1/audits/queries/{audit_id}/sample", json={"size": 5}, headers=conflicted), "sample"
    )
    assert recorded(runtime, QueryAudit.SampleDrawn) == []
    assert client.get(f"/v1/audits/queries/{audit_id}", headers=auditor).json()["status"] == "opened"

    sampled = client.post(f"/v1/audits/queries/{audit_id}/sample", json={"size": 5}, headers=auditor).json()
    assert len(sampled["sample"]) == 2
    for search_id in sampled["sample"]:
        review = {"search_id": search_id, "finding": "ok"}
        refused(
            client.post(f"/v1/audits/queries/{audit_id}/reviews", json=review, headers=conflicted), "review"
        )
    assert recorded(runtime, QueryAudit.Reviewed) == []
    for search_id in sampled["sample"]:
        review = {"search_id": search_id, "finding": "ok"}
        assert (
            client.post(f"/v1/audits/queries/{audit_id}/reviews", json=review, headers=auditor).status_code
            == 200
        )
    summary = {"summary": "in order"}
    refused(
        client.post(f"/v1/audits/queries/{audit_id}/summary", json=summary, headers=conflicted), "summarise"
    )
    assert recorded(runtime, QueryAudit.Summarised) == []
    assert (
        client.post(f"/v1/audits/queries/{audit_id}/summary", json=summary, headers=auditor).status_code
        == 200
    )


def test_audit_api_walks_the_workflow_and_reports_out_of_order_steps(runtime: Runtime) -> None:
    client = TestClient(create_app(runtime))
    now = datetime.now(UTC)
    search(runtime, person(runtime), now - timedelta(hours=1))
    auditor = bearer(token_for(runtime, Role.AUDITOR))
    period = {
        "from": (now - timedelta(days=2)).isoformat(),
        "to": now.isoformat(),
        "reason": "bi-annual audit",
    }
    opened = client.post("/v1/audits/queries", json=period, headers=auditor)
    assert opened.status_code == 201, opened.text
    audit_id = opened.json()["audit_id"]
    early = client.post(f"/v1/audits/queries/{audit_id}/summary", json={"summary": "x"}, headers=auditor)
    assert (early.status_code, early.json()["code"]) == (409, "audit.summary.not_sampled")
    sampled = client.post(f"/v1/audits/queries/{audit_id}/sample", json={"size": 10}, headers=auditor)
    assert sampled.status_code == 200 and isinstance(sampled.json()["seed"], int)
    chosen = client.post(
        f"/v1/audits/queries/{audit_id}/sample", json={"size": 10, "seed": 9}, headers=auditor
    )
    assert chosen.status_code == 422  # a caller cannot pick the seed
    (search_id,) = sampled.json()["sample"]
    reviewed = client.post(
        f"/v1/audits/queries/{audit_id}/reviews",
        json={"search_id": search_id, "finding": "ok"},
        headers=auditor,
    )
    assert reviewed.status_code == 200 and reviewed.json()["reviews"][0]["finding"] == "ok"
    client.post(f"/v1/audits/queries/{audit_id}/summary", json={"summary": "in order"}, headers=auditor)
    denied = client.post(f"/v1/audits/queries/{audit_id}/sign-off", json={}, headers=auditor)
    assert denied.status_code == 403  # auditors conduct, the administrator signs off
    signed = client.post(
        f"/v1/audits/queries/{audit_id}/sign-off",
        json={},
        headers=bearer(token_for(runtime, Role.ADMINISTRATOR)),
    )
    assert signed.status_code == 200 and signed.json()["status"] == "signed_off"
    check = client.get(f"/v1/audits/queries/{audit_id}/sample-check", headers=auditor)
    assert check.json()["reproducible"] is True
    stats = client.get("/v1/public/statistics").json()
    assert stats["last_query_audit_signed_off"] == now.date().isoformat()
