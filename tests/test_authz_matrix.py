"""The whole authorization matrix: every route of the app x every role, on SQLite and PostgreSQL.

Routes are discovered from ``create_app(runtime).routes``, so a route added later is checked
without touching this file. For each route: it declares exactly one permission (or is public);
a request without a token gets 401; every role outside the permission gets 403 and the denial is
recorded as an event; every role inside it passes authorization (whatever the handler then says
about the dummy path and body: 404 or 422 are fine); and where the permission needs training, an
untrained holder of an allowed role gets 403 ``training.required``.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import anyio
from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from api.authz import PERMISSIONS
from api.main import create_app
from domain.errors import AuthenticationError
from domain.logon import AccessDenial
from domain.policy import Role
from ops.bootstrap import Runtime
from tests.api_support import bearer, recorded, token_for

PUBLIC_PATHS = {"/v1/ledger/checkpoint", "/v1/ledger/vkey", "/v1/auth/login"}
PUBLIC_PREFIXES = ("/v1/ledger/proof/", "/v1/public/")
DOCS = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
AUTHZ_RULES = {"role.missing", "training.required"}


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES) or path in DOCS


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # with {placeholders}
    dependant: Dependant  # the route's effective dependency tree (router-level ones included)


def endpoints(app: FastAPI) -> Iterator[Endpoint]:
    """Every (method, API route) of the app, through included routers at any depth."""
    iter_contexts = getattr(routing, "iter_route_contexts", None)
    if iter_contexts is None:  # FastAPI before routers were included lazily: routes are flat
        contexts: Iterable[Any] = [r for r in app.routes if isinstance(r, APIRoute)]
    else:
        contexts = [c for c in iter_contexts(app.routes) if isinstance(c.original_route, APIRoute)]
    for route in contexts:
        for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
            yield Endpoint(method, route.path_format, route.dependant)


def permissions_of(endpoint: Endpoint) -> list[str]:
    """Every ``Authorize(...)`` permission among the endpoint's dependencies, at any depth."""
    found: list[str] = []
    stack = list(endpoint.dependant.dependencies)
    while stack:
        dependant = stack.pop()
        permission = getattr(dependant.call, "permission", None)
        if permission is not None:
            found.append(permission)
        stack.extend(dependant.dependencies)
    return found


def dummy_path(endpoint: Endpoint) -> str:
    """The path with every parameter filled by a plausible dummy of its type."""
    values: dict[str, str] = {}
    for param in endpoint.dependant.path_params:
        annotation = param.field_info.annotation
        if annotation is UUID:
            values[param.name] = str(uuid4())
        elif annotation is int:
            values[param.name] = "1"
        elif isinstance(annotation, type) and issubclass(annotation, enum.Enum):
            values[param.name] = str(next(iter(annotation)).value)
        else:
            values[param.name] = "dummy"
    return endpoint.path.format(**values)


class _ResponseStarted(Exception):
    """Raised from ``send`` to stop a successful (possibly endless, e.g. SSE) response early."""


def call(
    app: FastAPI, method: str, path: str, headers: dict[str, str], body: bytes
) -> tuple[int, dict[str, Any]]:
    """One request straight through ASGI: the status, and the JSON body of an error.

    A test client would wait for a streaming response to end; this stops at the status line
    of any non-error answer, so server-sent-event routes are checked like the others.
    """
    status = 0
    chunks: list[bytes] = []
    raw_headers = [(b"host", b"testserver"), (b"content-type", b"application/json")]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": raw_headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            if status < 400:
                raise _ResponseStarted
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    async def run() -> None:
        try:
            await app(scope, receive, send)
        except _ResponseStarted:
            pass
        except BaseExceptionGroup as group:  # raised inside a task group (streaming responses)
            _, rest = group.split(_ResponseStarted)
            if rest is not None:
                raise rest from None

    anyio.run(run)
    content = b"".join(chunks)
    try:
        parsed = json.loads(content) if content else {}
    except ValueError:
        parsed = {}
    return status, parsed if isinstance(parsed, dict) else {}


def still_valid(runtime: Runtime, token: str, role: Role, *, trained: bool = True) -> str:
    """``token``, or a fresh one for ``role`` when the last request revoked it (logout does)."""
    try:
        runtime.app.authenticate(token)
    except AuthenticationError:
        return token_for(runtime, role, trained=trained)
    return token


def _denials(runtime: Runtime) -> int:
    return len(recorded(runtime, AccessDenial.AccessDenied))


def test_every_route_allows_exactly_the_roles_of_its_permission(runtime: Runtime) -> None:
    app = create_app(runtime)
    trained = {role: token_for(runtime, role) for role in Role}
    untrained = {role: token_for(runtime, role, trained=False) for role in Role if role is not Role.DEVICE}
    training_enforced = runtime.app.policy.training_required.value
    problems: list[str] = []
    checked = 0
    for endpoint in endpoints(app):
        permissions = permissions_of(endpoint)
        method = endpoint.method
        where = f"{method} {endpoint.path}"
        if is_public(endpoint.path):
            if permissions:
                problems.append(f"{where}: public route declares {permissions}")
            continue
        if len(permissions) != 1:
            problems.append(
                f"{where}: declares {len(permissions)} permissions {permissions}, not exactly one"
            )
            continue
        (permission,) = permissions
        if permission not in PERMISSIONS:
            problems.append(f"{where}: unknown permission {permission!r}")
            continue
        rule = PERMISSIONS[permission]
        path = dummy_path(endpoint)
        body = b"{}" if endpoint.dependant.body_params else b""
        status, problem = call(app, method, path, {}, body)
        if status != 401:
            problems.append(f"{where}: without a token answered {status}, not 401")
        for role in Role:
            before = _denials(runtime)
            status, problem = call(app, method, path, bearer(trained[role]), body)
            denied = _denials(runtime) - before
            if role in rule.roles:
                trained[role] = still_valid(runtime, trained[role], role)  # logout revokes it
                if status == 401 or (status == 403 and problem.get("code") in AUTHZ_RULES) or denied:
                    problems.append(
                        f"{where}: {role} holds {permission} but got {status} {problem.get('code')}"
                    )
            else:
                if status != 403 or problem.get("code") != "role.missing":
                    problems.append(
                        f"{where}: {role} lacks {permission} but got {status} {problem.get('code')}"
                    )
                if denied != 1:
                    problems.append(f"{where}: {role} was refused but {denied} denials were recorded")
        if rule.needs_training and training_enforced:
            for role in sorted(rule.roles & untrained.keys()):
                before = _denials(runtime)
                status, problem = call(app, method, path, bearer(untrained[role]), body)
                if (status, problem.get("code")) != (403, "training.required") or _denials(
                    runtime
                ) != before + 1:
                    problems.append(f"{where}: untrained {role} got {status} {problem.get('code')}")
                untrained[role] = still_valid(runtime, untrained[role], role, trained=False)
        checked += 1
    assert not problems, "\n".join(problems)
    assert checked >= 15  # the walk found the app's routes


# Permissions that open plate data (hits, alerts, hotlists): MPTC VII.A and TCSO IX.A ("personnel
# with access to LPR data ... will have received initial training"), IACP C.2.
LPR_DATA = ("hits.", "alerts.", "hotlists.")


def test_permission_table_requires_training_when_permission_opens_lpr_data() -> None:
    untrained = [
        name for name, p in PERMISSIONS.items() if name.startswith(LPR_DATA) and not p.needs_training
    ]
    assert untrained == []


def test_permission_table_keeps_devices_and_auditors_away_from_plates_and_people() -> None:
    device = {name for name, p in PERMISSIONS.items() if Role.DEVICE in p.roles}
    assert device == {"reads.ingest", "auth.session"}  # a long-lived token without a second factor
    auditor = {name for name, p in PERMISSIONS.items() if Role.AUDITOR in p.roles}
    assert not any(name.startswith(LPR_DATA) for name in auditor)  # checks the log by its hashes
    managers = {
        name: p.roles for name, p in PERMISSIONS.items() if name in ("accounts.manage", "tokens.issue_device")
    }
    assert all(roles == {Role.ADMINISTRATOR} for roles in managers.values())  # MPTC VI.A.2, IACP B.1.d
