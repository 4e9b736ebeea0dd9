"""Limits of ``GET /v1/alerts/stream``: it ends when its listener loses access, it is bounded in
time, and resuming reaches back at most one shift (both backends)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from domain.policy import Role
from ops.bootstrap import Runtime
from tests.api_support import bearer, token_for
from tests.hits_support import FakeClock, store_hit
from tests.test_alerts_api import sse_events


@pytest.fixture
def client(runtime: Runtime) -> TestClient:
    return TestClient(create_app(runtime))


def _revoke_token(runtime: Runtime, token: str) -> None:
    runtime.app.revoke_token(token, actor="tests", reason="lost device")


def _revoke_access(runtime: Runtime, token: str) -> None:
    runtime.app.revoke_access(runtime.app.authenticate(token).account_id, reason="left", actor="tests")


def _revoke_role(runtime: Runtime, token: str) -> None:
    account_id = runtime.app.authenticate(token).account_id
    runtime.app.grant_role(account_id, Role.AUDITOR, actor="tests")  # keeps a role, loses the permission
    runtime.app.revoke_role(account_id, Role.OFFICER, actor="tests")


@pytest.mark.parametrize("revoke", [_revoke_token, _revoke_access, _revoke_role])
def test_stream_ends_without_delivering_when_token_account_or_role_is_revoked(
    runtime: Runtime, client: TestClient, revoke: Callable[[Runtime, str], None]
) -> None:
    token = token_for(runtime, Role.OFFICER)
    started = time.monotonic()
    with client.stream("GET", "/v1/alerts/stream?timeout=10", headers=bearer(token)) as response:
        assert response.status_code == 200
        revoke(runtime, token)
        store_hit(runtime)
        events = list(sse_events(response.iter_lines()))
    assert events == []
    assert time.monotonic() - started < 5  # ended on the re-check, not at the timeout


def test_stream_ends_within_seconds_when_revoked_while_idle(runtime: Runtime, client: TestClient) -> None:
    token = token_for(runtime, Role.OFFICER)
    with client.stream("GET", "/v1/alerts/stream?timeout=10", headers=bearer(token)) as response:
        lines = response.iter_lines()
        next(lines)
        _revoke_token(runtime, token)
        revoked = time.monotonic()
        body = "\n".join(lines)
    assert time.monotonic() - revoked < 3
    assert ": access ended" in body


def test_stream_refuses_timeout_when_longer_than_an_hour(runtime: Runtime, client: TestClient) -> None:
    headers = bearer(token_for(runtime, Role.OFFICER))
    r = client.get("/v1/alerts/stream?max_events=0&timeout=3601", headers=headers)
    assert r.status_code == 422
    assert client.get("/v1/alerts/stream?max_events=0&timeout=3600", headers=headers).status_code == 200


@pytest.mark.parametrize("resume", [{"params": {"after": "0"}}, {"headers": {"Last-Event-ID": "0"}}])
def test_stream_skips_hits_older_than_a_shift_when_resuming_from_start(
    runtime: Runtime, client: TestClient, resume: dict[str, dict[str, str]]
) -> None:
    clock = FakeClock()
    runtime.app.clock = clock
    store_hit(runtime, plate="OLD1111")
    clock.advance(runtime.app.policy.shift.value + timedelta(minutes=1))
    recent = store_hit(runtime, plate="NEW2222")
    headers = bearer(token_for(runtime, Role.OFFICER)) | resume.get("headers", {})
    params = {"max_events": "2", "timeout": "1"} | resume.get("params", {})
    with client.stream("GET", "/v1/alerts/stream", params=params, headers=headers) as response:
        events = list(sse_events(response.iter_lines()))
    assert [json.loads(e["data"])["hit_id"] for e in events] == [str(recent.id)]
