"""Public statistics: no login, counts from the log, and no plate, account, location or case number."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from api.main import create_app
from domain.policy import Role
from domain.search import RunSearch
from ops.bootstrap import Runtime
from tests.api_support import token_for
from tests.cameras_support import read_from, register
from tests.disclosure_support import request as disclosure_request
from tests.hits_support import store_hit
from tests.test_misuse_flags import REASON

PLATE = "QJX4417"
LOGIN = "zz-distinctive-login"
CASE = "CASE-77771"
LATITUDE, LONGITUDE = 43.04813, -76.14742


def earlier_today() -> datetime:
    """A minute ago, but never yesterday (the test may run just after midnight UTC)."""
    now = datetime.now(UTC)
    return max(now - timedelta(minutes=1), now.replace(hour=0, minute=0, second=0, microsecond=0))


def test_public_statistics_count_the_log_without_personal_data(runtime: Runtime) -> None:
    app = runtime.app
    register(runtime, "FX-PUB-1")
    register(runtime, "MB-PUB-2", "mobile", patrol_vehicle="CAR-991")
    yesterday = datetime.now(UTC) - timedelta(days=1)
    read_ids = app.record_reads(
        [
            read_from("FX-PUB-1", plate=PLATE, latitude=LATITUDE, longitude=LONGITUDE, captured_at=yesterday),
            read_from("MB-PUB-2", "mobile", plate=PLATE, captured_at=earlier_today()),
        ]
    )
    store_hit(runtime, plate=PLATE, captured_at=yesterday)
    token = token_for(runtime, Role.INVESTIGATOR, login=LOGIN)
    who = app.authenticate(token)
    app.run_search(who, RunSearch("plate", {"plate": PLATE}, "criminal_investigation", REASON, CASE))
    app.request_disclosure(disclosure_request(read_ids, case_number=CASE), by=who)

    response = TestClient(create_app(runtime)).get("/v1/public/statistics")  # no token
    assert response.status_code == 200, response.text
    body = response.json()
    assert {k["kind"]: k["cameras"] for k in body["cameras_by_kind"]} == {"fixed": 1, "mobile": 1}
    daily = {d["day"]: (d["reads"], d["hits"]) for d in body["daily"]}
    assert len(daily) == 30
    assert daily[yesterday.date().isoformat()] == (1, 1)
    assert sum(r for r, _ in daily.values()) == 2
    assert body["searches_by_purpose"] == [{"purpose": "criminal_investigation", "searches": 1}]
    assert body["disclosures_by_recipient_type"] == [
        {"recipient_type": "standard", "requests": 1, "released": 0}
    ]
    assert body["read_retention_days"] == app.policy.read_retention.value.days
    assert body["last_query_audit_signed_off"] is None

    text = response.text
    for secret in (
        PLATE,
        LOGIN,
        CASE,
        str(who.account_id),
        "FX-PUB-1",
        "MB-PUB-2",
        "CAR-991",
        "43.048",
        "76.147",
        "Onondaga",
        *(str(r) for r in read_ids),
    ):
        assert secret not in text, secret
