"""``GET /v1/alerts/stream``: hits raised after connecting arrive as server-sent events, by any
process, and a reconnect with Last-Event-ID resumes after the last one received."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from api.main import create_app
from domain.policy import Role
from ops.bootstrap import Runtime, build_runtime
from ops.commands.hits import AlertBatch
from ops.pgcluster import free_port
from tests.api_support import bearer, token_for
from tests.hits_support import store_hit


@pytest.fixture
def client(runtime: Runtime) -> TestClient:
    return TestClient(create_app(runtime))


def sse_events(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """Events of a text/event-stream (comments skipped): {"id", "event", "data"}."""
    event: dict[str, Any] = {}
    for line in lines:
        if not line:
            if "data" in event:
                yield event
            event = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            event[name] = value.removeprefix(" ")


def test_stream_delivers_hit_raised_after_connecting_when_officer_listens(
    runtime: Runtime, client: TestClient
) -> None:
    store_hit(runtime)  # before connecting: not delivered
    headers = bearer(token_for(runtime, Role.OFFICER))
    started = time.monotonic()
    with client.stream("GET", "/v1/alerts/stream?max_events=1&timeout=10", headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        hit = store_hit(runtime, plate="XYZ9876", state="PA")
        events = list(sse_events(response.iter_lines()))
    assert time.monotonic() - started < 5
    (event,) = events
    assert event["event"] == "hit"
    data = json.loads(event["data"])
    assert data["hit_id"] == str(hit.id) and data["read_id"] == str(hit.read_id)
    assert (data["read_plate"], data["read_state"], data["match_kind"]) == ("XYZ9876", "PA", "exact")
    assert (data["hotlist_source"], data["reason"], data["camera_id"]) == ("ncic", "stolen vehicle", "cam-1")
    assert int(event["id"]) == runtime.app.alerts_after(0).alerts[-1].position


def test_stream_resumes_after_last_event_id_when_client_reconnects(
    runtime: Runtime, client: TestClient
) -> None:
    first, second, third = store_hit(runtime), store_hit(runtime), store_hit(runtime)
    positions = {a.hit_id: a.position for a in runtime.app.alerts_after(0).alerts}
    headers = bearer(token_for(runtime, Role.OFFICER)) | {"Last-Event-ID": str(positions[first.id])}
    with client.stream("GET", "/v1/alerts/stream?max_events=2&timeout=10", headers=headers) as response:
        events = list(sse_events(response.iter_lines()))
    assert [json.loads(e["data"])["hit_id"] for e in events] == [str(second.id), str(third.id)]
    assert [int(e["id"]) for e in events] == [positions[second.id], positions[third.id]]
    # ``after`` does the same for clients that cannot set headers; Last-Event-ID wins over it.
    with client.stream(
        "GET", f"/v1/alerts/stream?max_events=1&timeout=10&after={positions[second.id]}", headers=headers
    ) as response:
        events = list(sse_events(response.iter_lines()))
    assert [json.loads(e["data"])["hit_id"] for e in events] == [str(second.id)]


def test_stream_delivers_hit_raised_by_another_process_when_sharing_the_database(
    runtime: Runtime, client: TestClient
) -> None:
    other = build_runtime(runtime.settings, run_migrations=False)
    try:
        headers = bearer(token_for(runtime, Role.OFFICER))
        with client.stream("GET", "/v1/alerts/stream?max_events=1&timeout=10", headers=headers) as response:
            hit = store_hit(other)
            events = list(sse_events(response.iter_lines()))
    finally:
        other.close()
    assert [json.loads(e["data"])["hit_id"] for e in events] == [str(hit.id)]


def test_stream_ends_when_timeout_passes_without_hits(runtime: Runtime, client: TestClient) -> None:
    headers = bearer(token_for(runtime, Role.OFFICER))
    started = time.monotonic()
    with client.stream("GET", "/v1/alerts/stream?timeout=0.5", headers=headers) as response:
        body = response.read().decode()
    assert 0.4 < time.monotonic() - started < 5
    assert body.startswith("retry: ") and "event: hit" not in body


def test_stream_ends_when_the_service_closes(runtime: Runtime, client: TestClient) -> None:
    headers = bearer(token_for(runtime, Role.OFFICER))
    started = time.monotonic()
    with client.stream("GET", "/v1/alerts/stream?timeout=20", headers=headers) as response:
        runtime.app.alerts_closed.set()
        response.read()
    assert time.monotonic() - started < 5


def test_stream_stops_polling_when_client_disconnects(runtime: Runtime, client: TestClient) -> None:
    headers = bearer(token_for(runtime, Role.OFFICER))
    calls = 0
    original = runtime.app.alerts_after

    def counting(position: int, limit: int = 100) -> AlertBatch:
        nonlocal calls
        calls += 1
        return original(position, limit)

    runtime.app.alerts_after = counting  # type: ignore[method-assign]
    with client.stream("GET", "/v1/alerts/stream?timeout=20", headers=headers) as response:
        next(response.iter_lines())
    time.sleep(0.3)
    settled = calls
    time.sleep(0.5)
    assert calls == settled  # the generator was cancelled with the connection


@pytest.mark.parametrize(
    ("role", "trained", "status"),
    [(Role.AUDITOR, True, 403), (Role.OFFICER, False, 403), (Role.DEVICE, True, 403)],
)
def test_stream_refuses_when_role_or_training_is_missing(
    runtime: Runtime, client: TestClient, role: Role, trained: bool, status: int
) -> None:
    r = client.get(
        "/v1/alerts/stream?max_events=0", headers=bearer(token_for(runtime, role, trained=trained))
    )
    assert r.status_code == status


def test_stream_answers_422_when_last_event_id_is_not_a_position(
    runtime: Runtime, client: TestClient
) -> None:
    headers = bearer(token_for(runtime, Role.OFFICER)) | {"Last-Event-ID": "abc"}
    r = client.get("/v1/alerts/stream?max_events=0", headers=headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "Last-Event-ID"


def test_stream_answers_401_when_no_token(client: TestClient) -> None:
    assert client.get("/v1/alerts/stream?max_events=0").status_code == 401


class _ServerThread(threading.Thread):
    """The app under a real uvicorn server on 127.0.0.1, in a thread."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(daemon=True)
        config = uvicorn.Config(
            create_app(runtime),
            host="127.0.0.1",
            port=free_port(),
            log_level="warning",
            timeout_graceful_shutdown=5,
        )
        self.server = uvicorn.Server(config)
        self.base_url = f"http://127.0.0.1:{config.port}"

    def run(self) -> None:
        self.server.run()

    def __enter__(self) -> _ServerThread:
        self.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.join(10)


def test_stream_over_http_delivers_hit_and_ends_when_client_hangs_up(runtime: Runtime) -> None:
    headers = bearer(token_for(runtime, Role.OFFICER))
    with _ServerThread(runtime) as server, httpx.Client(base_url=server.base_url, timeout=10) as http:
        with http.stream("GET", "/v1/alerts/stream?max_events=1&timeout=10", headers=headers) as response:
            hit = store_hit(runtime)
            events = list(sse_events(response.iter_lines()))
        assert [json.loads(e["data"])["hit_id"] for e in events] == [str(hit.id)]
        # An open stream whose client goes away must end at once, not hold up shutdown.
        with http.stream("GET", "/v1/alerts/stream", headers=headers) as response:
            next(response.iter_lines())
        started = time.monotonic()
    assert not server.is_alive()
    assert time.monotonic() - started < 3  # under the 5 s graceful-shutdown limit
