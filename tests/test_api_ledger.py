"""The /v1/ledger endpoints: what an outside auditor fetches, and verifies with ledger.verify."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from domain.policy import Role
from ledger.verify import verify_checkpoint, verify_consistency, verify_inclusion
from ops.bootstrap import Runtime
from tests.api_support import bearer, token_for
from tests.ledger_support import notes


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    runtime.app.save(*notes(37))
    with TestClient(create_app(runtime)) as c:
        yield c


def _b(s: str) -> bytes:
    return base64.b64decode(s)


def test_checkpoint_and_proofs_verify_when_fetched_over_http(client: TestClient, runtime: Runtime) -> None:
    note = client.get("/v1/ledger/checkpoint")
    assert note.status_code == 200 and note.headers["content-type"].startswith("text/plain")
    vkey = client.get("/v1/ledger/vkey").text.strip()
    checkpoint = verify_checkpoint(note.text, vkey)
    assert checkpoint.size == 37

    inclusion = client.get("/v1/ledger/proof/inclusion", params={"index": 12, "size": 37}).json()
    assert (inclusion["index"], inclusion["size"]) == (12, 37)
    verify_inclusion(_b(inclusion["leaf_hash"]), 12, 37, [_b(p) for p in inclusion["proof"]], checkpoint.root)

    auditor = bearer(token_for(runtime, Role.AUDITOR))
    entries = client.get("/v1/ledger/entries", params={"start": 0, "limit": 1000}, headers=auditor)
    size = runtime.ledger.size()
    assert [e["index"] for e in entries.json()["entries"]] == list(range(size))
    officer = bearer(token_for(runtime, Role.OFFICER))
    assert client.get("/v1/ledger/entries", headers=officer).status_code == 403
    assert client.get("/v1/ledger/entries").status_code == 401


def test_consistency_proof_verifies_between_two_checkpoints_when_log_grew(
    client: TestClient, runtime: Runtime
) -> None:
    vkey = client.get("/v1/ledger/vkey").text.strip()
    old = verify_checkpoint(client.get("/v1/ledger/checkpoint").text, vkey)
    runtime.app.save(*notes(20))
    new = verify_checkpoint(client.get("/v1/ledger/checkpoint").text, vkey)
    again = client.get("/v1/ledger/checkpoint", params={"size": old.size})
    assert verify_checkpoint(again.text, vkey) == old
    body = client.get("/v1/ledger/proof/consistency", params={"from": old.size, "to": new.size}).json()
    assert (body["from"], body["to"]) == (37, 57)
    verify_consistency(old.size, new.size, [_b(p) for p in body["proof"]], old.root, new.root)


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/ledger/proof/inclusion", {"index": 37, "size": 37}, "index"),
        ("/v1/ledger/proof/inclusion", {"index": 0, "size": 10**6}, "size"),
        ("/v1/ledger/proof/inclusion", {"index": -1, "size": 5}, "index"),
        ("/v1/ledger/proof/inclusion", {"size": 5}, "index"),
        ("/v1/ledger/proof/consistency", {"from": 9, "to": 5}, "from"),
        ("/v1/ledger/proof/consistency", {"from": 1, "to": 10**6}, "to"),
        ("/v1/ledger/entries", {"limit": 1001}, "limit"),
        ("/v1/ledger/entries", {"start": -3}, "start"),
        ("/v1/ledger/checkpoint", {"size": 5}, "size"),
        ("/v1/ledger/checkpoint", {"size": -5}, "size"),
    ],
)
def test_out_of_range_parameters_get_problem_naming_parameter_when_requested(
    client: TestClient, runtime: Runtime, path: str, params: dict[str, int], field: str
) -> None:
    response = client.get(path, params=params, headers=bearer(token_for(runtime, Role.AUDITOR)))
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["errors"][0]["field"] == field
    assert field in body["detail"]


def test_openapi_document_lists_ledger_endpoints_when_requested(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/v1/ledger/checkpoint",
        "/v1/ledger/vkey",
        "/v1/ledger/proof/inclusion",
        "/v1/ledger/proof/consistency",
        "/v1/ledger/entries",
    ):
        assert path in paths
