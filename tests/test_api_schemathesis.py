"""Property-based API conformance: schemathesis drives every operation of the OpenAPI document
against the real app on SQLite. Any server error, undocumented status code or content type, or
response body that breaks the document fails the test.

Schemathesis' pytest plugin cannot load a schema from a fixture under this pytest, so the test
is parametrized by operation from the document itself and draws cases from each operation's
strategy with Hypothesis.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.main import create_app
from domain.policy import Role
from ops.bootstrap import Runtime, build_runtime
from ops.settings import Settings
from tests.ledger_support import notes

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
STREAMING = {"/v1/alerts/stream"}  # infinite by design: exercised by the alerts tests


def _operations() -> list[tuple[str, str]]:
    document = create_app(None).openapi()  # type: ignore[arg-type]  # the document needs no runtime
    return sorted(
        (method.upper(), path)
        for path, methods in document["paths"].items()
        for method in methods
        if path not in STREAMING
    )


def _all_roles_token(runtime: Runtime) -> str:
    """One trained account holding every person role, so every operation is reachable."""
    from tests.api_support import token_for

    granter = runtime.app.authenticate(token_for(runtime, Role.ADMINISTRATOR))
    token = token_for(runtime, Role.ADMINISTRATOR)
    principal = runtime.app.authenticate(token)
    for role in Role:
        if role not in principal.roles and role is not Role.DEVICE:
            runtime.app.grant_role(principal.account_id, role, actor=granter.account_id)
    return token


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict[str, str]]]:
    from tests.api_support import device_token_for

    tmp: Path = tmp_path_factory.mktemp("schemathesis")
    runtime = build_runtime(
        Settings(
            database_url=f"sqlite:///{tmp / 'ledger.db'}", data_dir=tmp / "data", checkpoint_interval_s=3600
        )
    )
    runtime.app.save(*notes(25))
    tokens = {"person": _all_roles_token(runtime), "device": device_token_for(runtime)}
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(runtime))
    yield schema, tokens
    runtime.close()


@pytest.mark.parametrize(("method", "path"), _operations())
def test_api_conforms_to_openapi_when_driven_by_generated_requests(
    api: tuple[Any, dict[str, str]], method: str, path: str
) -> None:
    schema, tokens = api
    operation = schema[path][method]
    token = tokens["device"] if path.startswith("/v1/reads") else tokens["person"]

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        case = data.draw(operation.as_strategy())
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

    run()
