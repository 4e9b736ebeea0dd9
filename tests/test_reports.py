"""Report views: the query-log report, the dissemination log, hits by source; every report view a
registered projection that rebuilds to the same rows and holds no plate; purges are recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from api.main import create_app
from domain.policy import Role
from domain.retention import Purge
from domain.search import RunSearch, Search
from ops.bootstrap import Runtime
from ops.keys import search_kek
from projections.registry import runner
from projections.reports import REPORT_PROJECTIONS
from tests.api_support import bearer, recorded, token_for
from tests.disclosure_support import request as disclosure_request
from tests.hits_support import store_hit
from tests.test_misuse_flags import REASON, person, search

PLATE = "QZX7781"
QUERY_LOG_PURGED = 13  # rpt_query_log.criteria_purged
QUERY_LOG_PLATE = 14  # rpt_query_log.plate


def rows(runtime: Runtime) -> dict[str, list[tuple[Any, ...]]]:
    found: dict[str, list[tuple[Any, ...]]] = {}
    for projection in REPORT_PROJECTIONS:
        runner(runtime.app, projection.name).catch_up()
        with runtime.projections.read() as c:
            for table in projection.tables:
                c.execute(f"SELECT * FROM {table}")
                found[table] = sorted(tuple(r) for r in c.fetchall())
    return found


def populate(runtime: Runtime) -> None:
    app = runtime.app
    inv = app.authenticate(token_for(runtime, Role.INVESTIGATOR))
    app.run_search(inv, RunSearch("plate", {"plate": PLATE}, "criminal_investigation", REASON, "25-4"))
    try:
        app.run_search(inv, RunSearch("plate", {"plate": PLATE}, "criminal_investigation", "x", "25-4"))
    except Exception:  # noqa: BLE001 - refused and recorded, which is what the report shows
        pass
    hit = store_hit(runtime, plate=PLATE)
    officer = app.authenticate(token_for(runtime, Role.OFFICER))
    app.disposition_hit(hit.id, outcome="not_located", officer=officer)
    store_hit(runtime, plate="ZZZ0001")
    from tests.disclosure_support import stored_reads

    read_ids = stored_reads(runtime, 2)
    app.request_disclosure(disclosure_request(read_ids), by=inv)


def test_query_log_report_counts_accounts_purposes_cases_and_refusals(runtime: Runtime) -> None:
    populate(runtime)
    client = TestClient(create_app(runtime))
    auditor = bearer(token_for(runtime, Role.AUDITOR))
    report = client.get("/v1/reports/query-log", headers=auditor)
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["searches"] == 2 and body["by_status"] == {"executed": 1, "refused": 1}
    assert body["by_account"][0]["searches"] == 2 and body["by_account"][0]["refused"] == 1
    assert body["case_numbers"] == [{"case_number": "25-4", "searches": 2}]
    assert [(r["rule"], r["count"]) for r in body["refusals"]] == [("search.reason.insufficient", 1)]
    assert body["refusals"][0]["clause"]
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    empty = client.get("/v1/reports/query-log", params={"from": later}, headers=auditor).json()
    assert empty["searches"] == 0
    naive = client.get("/v1/reports/query-log", params={"from": "2026-01-01T00:00:00"}, headers=auditor)
    assert (naive.status_code, naive.json()["code"]) == (422, "time.naive")
    assert PLATE not in report.text


def test_disclosure_log_and_hits_by_source_report_without_plates(runtime: Runtime) -> None:
    populate(runtime)
    client = TestClient(create_app(runtime))
    privacy = bearer(token_for(runtime, Role.PRIVACY_OFFICER))
    log = client.get("/v1/reports/disclosures", headers=privacy)
    assert log.status_code == 200, log.text
    (entry,) = log.json()
    assert entry["requesting_agency"] == "Onondaga County DA" and entry["requested_reads"] == 2
    assert entry["status"] == "requested" and "ADA J. Rivera" not in log.text
    hits = client.get("/v1/reports/hits-by-source", headers=bearer(token_for(runtime, Role.SUPERVISOR)))
    assert hits.status_code == 200, hits.text
    (ncic,) = hits.json()["sources"]
    assert (ncic["source"], ncic["hits"], ncic["dispositioned"]) == ("ncic", 2, 1)
    assert ncic["outcomes"] == {"not_located": 1} and ncic["confirmed_ratio"] == 0.0
    assert hits.json()["reads"] == 2 and ncic["hit_ratio"] == 1.0
    assert PLATE not in hits.text and PLATE not in log.text


def test_rebuild_of_every_report_view_gives_identical_rows_and_no_plate_is_stored(runtime: Runtime) -> None:
    populate(runtime)
    before = rows(runtime)
    assert (
        before["rpt_query_log"] and before["rpt_hits"] and before["rpt_disclosures"] and before["pub_daily"]
    )
    for projection in REPORT_PROJECTIONS:
        runner(runtime.app, projection.name).rebuild()
    assert rows(runtime) == before
    # the one plate a report view holds: the query log's ``plate`` column, until the search's key goes
    others = {t: r for t, r in before.items() if t != "rpt_query_log"}
    assert PLATE not in repr(others) and "ZZZ0001" not in repr(before)
    assert {r[QUERY_LOG_PLATE] for r in before["rpt_query_log"]} == {PLATE}
    assert PLATE not in repr([r[:QUERY_LOG_PLATE] for r in before["rpt_query_log"]])


def test_search_day_purge_marks_criteria_purged_live_and_on_rebuild(runtime: Runtime) -> None:
    populate(runtime)
    assert [r[QUERY_LOG_PURGED] for r in rows(runtime)["rpt_query_log"]] == [0, 0]
    # the day the searches were recorded on (the test may cross midnight UTC)
    when = recorded(runtime, Search.Requested)[0].timestamp
    kek = search_kek(when)
    runtime.keystore.destroy_kek(kek, reason="test purge")
    runtime.app.save(
        Purge.record(
            key_id=kek,
            scope="kek",
            retention_class="searches",
            day=when.date(),
            record_ids=[],
            record_count=2,
            rule="query_log_retention",
            clause="test",
            profile=runtime.app.policy.name,
            due_at=when,
            destroyed_at=when,
            reason="test",
            by="tests",
        )
    )
    live = rows(runtime)
    assert [r[QUERY_LOG_PURGED] for r in live["rpt_query_log"]] == [1, 1]
    assert [r[QUERY_LOG_PLATE] for r in live["rpt_query_log"]] == [None, None]
    assert PLATE not in repr(live)
    runner(runtime.app, "query_log").rebuild()
    assert rows(runtime) == live


def test_report_routes_refuse_roles_outside_their_permission(runtime: Runtime) -> None:
    client = TestClient(create_app(runtime))
    officer = bearer(token_for(runtime, Role.OFFICER))
    for path in (
        "/v1/reports/query-log",
        "/v1/misuse-flags",
        "/v1/audits/queries",
        "/v1/reports/hits-by-source",
    ):
        assert client.get(path, headers=officer).status_code == 403
    assert client.get("/v1/reports/query-log").status_code == 401
    search(runtime, person(runtime), datetime.now(UTC))
