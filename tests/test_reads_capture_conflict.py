"""A used (camera id, capture id) with different content is a conflict, not a duplicate; and
hostile input (out-of-range times, deep nesting, huge bodies) gets a 4xx, never a 500."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient

import api.routers.reads as reads_router
from api.main import create_app
from domain.camera import capture_read_id
from domain.errors import ConflictError, InvalidFieldError
from domain.read import Read, parse_captured_at
from ops.bootstrap import Runtime
from tests.api_support import bearer, device_token_for
from tests.cameras_support import read_from, register

CSV = "plate,state,reason,case_number\nKDX4821,NY,stolen vehicle,24-000123\n"


@pytest.fixture
def hotlisted(runtime: Runtime) -> None:
    hotlist_id = runtime.app.create_hotlist("NCIC stolen", "ncic", provenance="NCIC extract", actor="tests")
    runtime.app.import_hotlist_csv(hotlist_id, CSV, version="2025-03-03", actor="tests")
    register(runtime, "FX-1")


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    register(runtime, "FX-1")
    with TestClient(create_app(runtime), raise_server_exceptions=False) as c:
        yield c


def body(**changes: Any) -> dict[str, Any]:
    read = {
        "plate": "ABC1234",
        "state": "NY",
        "confidence": 0.9,
        "camera_id": "FX-1",
        "camera_kind": "fixed",
        "latitude": 43.0481,
        "longitude": -76.1474,
        "captured_at": "2026-01-05T10:00:00.120+00:00",
        "capture_id": "FX-1-000002",
    }
    return {"reads": [read | changes]}


def test_ingest_refuses_batch_when_stored_capture_id_has_different_content(
    runtime: Runtime, hotlisted: None
) -> None:
    first = read_from(capture_id="cap-1", plate="AAA1111")
    [rid] = runtime.app.record_reads([first])
    size = runtime.ledger.size()
    hit_raising = read_from(capture_id="cap-1", plate="KDX4821", captured_at=first.captured_at)
    with pytest.raises(ConflictError) as caught:
        runtime.app.ingest_reads([read_from(capture_id="cap-2"), hit_raising])
    assert (caught.value.field, caught.value.rule) == ("reads[1].capture_id", "read.capture_id.conflict")
    assert "'FX-1'" in caught.value.message and "'cap-1'" in caught.value.message
    assert runtime.ledger.size() == size  # nothing of the batch stored
    assert runtime.app.list_hits() == []
    stored: object = runtime.app.repository.get(rid)
    assert isinstance(stored, Read) and stored.plate == "AAA1111"


@pytest.mark.parametrize(
    "change",
    [
        {"state": "PA"},
        {"confidence": 0.5},
        {"latitude": 43.1},
        {"captured_at": datetime(2026, 1, 5, 10, 0, 1, tzinfo=UTC)},
        {"vehicle": {"make": "Ford"}},
    ],
)
def test_ingest_refuses_batch_when_capture_repeated_in_batch_with_different_content(
    runtime: Runtime, change: dict[str, Any]
) -> None:
    register(runtime, "FX-1")
    one = read_from(capture_id="cap-7", captured_at=datetime(2026, 1, 5, 10, 0, tzinfo=UTC))
    size = runtime.ledger.size()
    with pytest.raises(ConflictError) as caught:
        runtime.app.ingest_reads([one, dataclasses.replace(one, **change)])
    assert (caught.value.field, caught.value.rule) == ("reads[1].capture_id", "read.capture_id.conflict")
    assert runtime.ledger.size() == size


def test_ingest_reports_duplicate_when_retry_repeats_stored_read_exactly(runtime: Runtime) -> None:
    register(runtime, "FX-1")
    one = read_from(capture_id="cap-9", vehicle={"make": "Honda", "colour": "blue"})
    [rid] = runtime.app.record_reads([one])
    size = runtime.ledger.size()
    result = runtime.app.ingest_reads([one, read_from(capture_id="cap-10")])
    assert result.read_ids[0] == rid == capture_read_id("FX-1", "cap-9")
    assert result.duplicates == (0,)
    assert runtime.ledger.size() == size + 1


def test_post_reads_answers_409_when_capture_id_is_taken_by_different_read(
    client: TestClient, runtime: Runtime
) -> None:
    device = bearer(device_token_for(runtime))
    assert client.post("/v1/reads", json=body(plate="AAA1111"), headers=device).status_code == 201
    r = client.post("/v1/reads", json=body(plate="KDX4821"), headers=device)
    assert r.status_code == 409, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    (error,) = r.json()["errors"]
    assert (error["field"], error["rule"]) == ("reads[0].capture_id", "read.capture_id.conflict")
    retry = client.post("/v1/reads", json=body(plate="AAA1111"), headers=device)
    assert retry.status_code == 201 and retry.json()["duplicates"] == [0]


def test_parse_captured_at_refuses_with_range_rule_when_utc_time_is_not_representable() -> None:
    early = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5)))
    with pytest.raises(InvalidFieldError) as caught:
        parse_captured_at(early, datetime.now(UTC))
    assert (caught.value.field, caught.value.rule) == ("captured_at", "captured_at.range")


def test_post_reads_answers_422_when_captured_at_lies_before_year_one_in_utc(
    client: TestClient, runtime: Runtime
) -> None:
    r = client.post(
        "/v1/reads",
        json=body(captured_at="0001-01-01T00:00:00+05:00"),
        headers=bearer(device_token_for(runtime)),
    )
    assert r.status_code == 422, r.text
    (error,) = r.json()["errors"]
    assert (error["field"], error["rule"]) == ("reads[0].captured_at", "captured_at.range")


def test_post_reads_answers_422_when_json_nests_too_deeply(client: TestClient, runtime: Runtime) -> None:
    deep = '{"reads": ' + "[" * 50_000 + "]" * 50_000 + "}"
    headers = bearer(device_token_for(runtime)) | {"content-type": "application/json"}
    r = client.post("/v1/reads", content=deep, headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["rule"] == "json.depth"


def test_post_reads_answers_413_when_body_exceeds_cap(
    client: TestClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reads_router, "MAX_BODY", 1024)
    device = bearer(device_token_for(runtime))
    big = body(plate="A" * 2000)
    r = client.post("/v1/reads", json=big, headers=device)
    assert r.status_code == 413, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["rule"] == "body.size"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap is enforced while reading
        yield b'{"reads": [], "pad": "'
        yield b"x" * 2000
        yield b'"}'

    r = client.post("/v1/reads", content=chunks(), headers=device | {"content-type": "application/json"})
    assert r.status_code == 413, r.text
    files = {"plate_image[0]": ("p.png", b"\x89PNG\r\n\x1a\n" + b"0" * 2000, "image/png")}
    r = client.post("/v1/reads", data={"reads": '{"reads": []}'}, files=files, headers=device)
    assert r.status_code == 413, r.text
    assert client.post("/v1/reads", json=body(), headers=device).status_code == 201  # under the cap
