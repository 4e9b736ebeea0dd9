"""Log-on, bearer authentication and authorization over HTTP and through the service, on SQLite
and PostgreSQL. Every attempt is an event (CJIS 5.4.1.1); revocation bites on the next request;
untrained accounts cannot act on hits (MPTC VII.A, IACP C.2)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Annotated
from uuid import UUID

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api import errors
from api.deps import Authorize
from api.main import create_app
from domain.account import Account, Principal
from domain.errors import AuthenticationError
from domain.logon import AccessDenial, Logon, login_digest
from domain.policy import Role
from domain.totp import decode_secret, totp
from ops.bootstrap import Runtime
from ops.commands.accounts import AccountCommands
from tests.api_support import bearer, recorded, token_for

PASSWORD = "correct horse battery staple"
T0 = datetime(2025, 3, 1, 8, 0, 10, tzinfo=UTC)


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Production argon2 costs ~0.3 s a check, by design; the rules under test do not depend on it."""
    monkeypatch.setattr(
        AccountCommands, "password_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(runtime: Runtime) -> FakeClock:
    fake = FakeClock(T0)
    runtime.app.clock = fake
    return fake


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime)) as c:
        yield c


def _person(runtime: Runtime, login: str = "jsmith", role: Role = Role.OFFICER) -> tuple[UUID, bytes]:
    app = runtime.app
    account_id = app.enrol_account(login, "J. Smith", roles=[role], actor="admin")
    app.set_password(account_id, PASSWORD, actor="admin")
    secret = app.enrol_totp(account_id, actor="admin")
    app.record_training(account_id, "ALPR", actor="admin")
    return account_id, decode_secret(secret)


def _attempts(runtime: Runtime) -> list[tuple[str, UUID | None, str, str]]:
    return [(e.login, e.account_id, e.outcome, e.reason) for e in recorded(runtime, Logon.Attempted)]


# ---- log-on through the service ---------------------------------------------------------------


def test_login_issues_working_token_and_records_success_when_credentials_right(
    runtime: Runtime, clock: FakeClock
) -> None:
    account_id, secret = _person(runtime)
    token, expires_at = runtime.app.login("JSmith", PASSWORD, totp(secret, clock.now), source="10.0.0.7")
    assert expires_at == clock.now + runtime.app.token_ttl
    assert runtime.app.authenticate(token).account_id == account_id
    assert _attempts(runtime) == [("jsmith", account_id, "success", "ok")]
    (attempt,) = recorded(runtime, Logon.Attempted)
    assert (attempt.source, attempt.timestamp) == ("10.0.0.7", clock.now)


@pytest.mark.parametrize(
    ("password", "code_offset_steps", "reason"),
    [
        ("wrong password here", 0, "password.wrong"),
        (PASSWORD, 3, "totp.wrong"),
        (PASSWORD, None, "totp.wrong"),
    ],
)
def test_login_refused_and_failure_recorded_when_a_factor_is_wrong(
    runtime: Runtime, clock: FakeClock, password: str, code_offset_steps: int | None, reason: str
) -> None:
    account_id, secret = _person(runtime)
    code = (
        "000000"
        if code_offset_steps is None
        else totp(secret, clock.now + timedelta(seconds=30 * code_offset_steps))
    )
    with pytest.raises(AuthenticationError) as err:
        runtime.app.login("jsmith", password, code, source="10.0.0.7")
    assert err.value.rule == "credentials.invalid"  # the answer does not say which factor failed
    assert _attempts(runtime) == [("jsmith", account_id, "failure", reason)]


def test_login_failure_recorded_without_account_when_login_unknown(
    runtime: Runtime, clock: FakeClock
) -> None:
    with pytest.raises(AuthenticationError) as err:
        runtime.app.login("Nobody", PASSWORD, "123456", source="203.0.113.9")
    assert err.value.rule == "credentials.invalid"
    # Only a keyed digest of the normalised text: it may be a password typed in the wrong field.
    digest = login_digest(runtime.app._audit_pepper(), "nobody")
    assert _attempts(runtime) == [(digest, None, "failure", "login.unknown")]


def test_login_failure_recorded_without_the_typed_text_when_login_malformed(
    runtime: Runtime, clock: FakeClock
) -> None:
    # A malformed login is often a password typed into the wrong field: it must not be stored.
    with pytest.raises(AuthenticationError):
        runtime.app.login("Tr0ub4dor&3 x", PASSWORD, "123456", source="203.0.113.9")
    digest = login_digest(runtime.app._audit_pepper(), "Tr0ub4dor&3 x")
    assert _attempts(runtime) == [(digest, None, "failure", "login.unknown")]


def test_login_refused_when_totp_code_replayed(runtime: Runtime, clock: FakeClock) -> None:
    _, secret = _person(runtime)
    code = totp(secret, clock.now)
    runtime.app.login("jsmith", PASSWORD, code, source="a")
    clock.now += timedelta(seconds=5)  # same 30 s step: the code is still "current"
    with pytest.raises(AuthenticationError):
        runtime.app.login("jsmith", PASSWORD, code, source="b")
    assert [a[3] for a in _attempts(runtime)] == ["ok", "totp.replayed"]
    clock.now += timedelta(seconds=30)
    runtime.app.login("jsmith", PASSWORD, totp(secret, clock.now), source="c")


def test_login_refused_when_account_access_revoked(runtime: Runtime, clock: FakeClock) -> None:
    account_id, secret = _person(runtime)
    runtime.app.revoke_access(account_id, actor="admin")
    with pytest.raises(AuthenticationError):
        runtime.app.login("jsmith", PASSWORD, totp(secret, clock.now), source="a")
    assert [a[3] for a in _attempts(runtime)] == ["account.revoked"]


def test_login_refused_when_no_password_set(runtime: Runtime, clock: FakeClock) -> None:
    runtime.app.enrol_account("nopw", "No Password", roles=[Role.OFFICER])
    with pytest.raises(AuthenticationError):
        runtime.app.login("nopw", PASSWORD, "123456", source="a")
    assert [a[3] for a in _attempts(runtime)] == ["password.unset"]


# ---- over HTTP ----------------------------------------------------------------------------------


def test_login_endpoint_returns_token_usable_for_me_and_logout_when_credentials_right(
    runtime: Runtime, clock: FakeClock, client: TestClient
) -> None:
    account_id, secret = _person(runtime)
    r = client.post(
        "/v1/auth/login", json={"login": "jsmith", "password": PASSWORD, "totp": totp(secret, clock.now)}
    )
    assert r.status_code == 200, r.text
    token = r.json()["token"]
    me = client.get("/v1/auth/me", headers=bearer(token))
    assert me.status_code == 200
    assert me.json() | {"account_id": str(account_id)} == {
        "account_id": str(account_id),
        "login": "jsmith",
        "roles": ["officer"],
        "trained": True,
        "is_device": False,
        "camera_id": None,
    }
    assert client.post("/v1/auth/logout", headers=bearer(token)).status_code == 204
    after = client.get("/v1/auth/me", headers=bearer(token))
    assert after.status_code == 401
    assert after.json()["code"] == "token.revoked"


def test_login_endpoint_answers_401_with_rule_and_records_when_password_wrong(
    runtime: Runtime, clock: FakeClock, client: TestClient
) -> None:
    _, secret = _person(runtime)
    r = client.post(
        "/v1/auth/login",
        json={"login": "jsmith", "password": "nope nope nope", "totp": totp(secret, clock.now)},
    )
    assert r.status_code == 401
    assert r.json()["code"] == "credentials.invalid"
    assert r.headers["www-authenticate"] == "Bearer"
    assert [a[3] for a in _attempts(runtime)] == ["password.wrong"]


def test_requests_answer_401_when_token_missing_or_unknown(client: TestClient) -> None:
    assert client.get("/v1/auth/me").json()["code"] == "token.missing"
    r = client.get("/v1/auth/me", headers=bearer("alpr_forged"))
    assert (r.status_code, r.json()["code"]) == (401, "token.invalid")


def test_role_revoked_over_api_refuses_next_request_when_role_was_needed(
    runtime: Runtime, client: TestClient
) -> None:
    admin = token_for(runtime, Role.ADMINISTRATOR)
    auditor = token_for(runtime, Role.AUDITOR, login="aud")
    aud_id = runtime.app.find_account("aud").id
    assert client.get("/v1/accounts", headers=bearer(auditor)).status_code == 200
    r = client.post(f"/v1/accounts/{aud_id}/roles/auditor/revoke", headers=bearer(admin))
    assert r.status_code == 200 and r.json()["roles"] == []
    denied = client.get("/v1/accounts", headers=bearer(auditor))
    assert (denied.status_code, denied.json()["code"]) == (403, "role.missing")


def test_account_revoked_over_api_refuses_next_request_when_token_still_unexpired(
    runtime: Runtime, client: TestClient
) -> None:
    admin = token_for(runtime, Role.ADMINISTRATOR)
    sup = token_for(runtime, Role.SUPERVISOR, login="sup")
    sup_id = runtime.app.find_account("sup").id
    r = client.post(f"/v1/accounts/{sup_id}/revoke", json={"reason": "left the unit"}, headers=bearer(admin))
    assert r.status_code == 200 and r.json()["access_revoked"] is True
    after = client.get("/v1/auth/me", headers=bearer(sup))
    assert (after.status_code, after.json()["code"]) == (401, "account.revoked")
    (revoked,) = recorded(runtime, Account.AccessRevoked)
    assert (revoked.reason, revoked.actor) == (
        "left the unit",
        str(runtime.app.authenticate(admin).account_id),
    )


def test_device_token_revoked_over_api_refuses_next_request(runtime: Runtime, client: TestClient) -> None:
    admin = token_for(runtime, Role.ADMINISTRATOR)
    enrolled = client.post(
        "/v1/accounts",
        json={"login": "cam-9", "display_name": "Camera 9", "kind": "device", "camera_id": "CAM-9"},
        headers=bearer(admin),
    )
    assert enrolled.status_code == 201, enrolled.text
    assert enrolled.json()["roles"] == ["device"]
    issued = client.post(f"/v1/accounts/{enrolled.json()['id']}/device-tokens", headers=bearer(admin))
    assert issued.status_code == 201
    device = issued.json()["token"]
    assert client.get("/v1/auth/me", headers=bearer(device)).json()["camera_id"] == "CAM-9"
    r = client.post("/v1/tokens/revoke", json={"token_id": issued.json()["token_id"]}, headers=bearer(admin))
    assert r.status_code == 200
    assert client.get("/v1/auth/me", headers=bearer(device)).json()["code"] == "token.revoked"


def test_enrol_over_api_answers_409_when_login_taken(runtime: Runtime, client: TestClient) -> None:
    admin = token_for(runtime, Role.ADMINISTRATOR)
    body = {"login": "jdoe", "display_name": "J. Doe", "roles": ["investigator"]}
    assert client.post("/v1/accounts", json=body, headers=bearer(admin)).status_code == 201
    r = client.post("/v1/accounts", json=body | {"login": "JDoe"}, headers=bearer(admin))
    assert (r.status_code, r.json()["code"]) == (409, "login.taken")


def test_totp_and_password_set_over_api_allow_login_when_enrolled(
    runtime: Runtime, clock: FakeClock, client: TestClient
) -> None:
    admin = token_for(runtime, Role.ADMINISTRATOR)
    created = client.post(
        "/v1/accounts",
        json={"login": "new", "display_name": "New", "roles": ["officer"]},
        headers=bearer(admin),
    )
    account_id = created.json()["id"]
    short = client.post(
        f"/v1/accounts/{account_id}/password", json={"password": "short"}, headers=bearer(admin)
    )
    assert (short.status_code, short.json()["errors"][0]["field"]) == (422, "password")
    assert (
        client.post(
            f"/v1/accounts/{account_id}/password", json={"password": PASSWORD}, headers=bearer(admin)
        ).status_code
        == 204
    )
    enrolled = client.post(f"/v1/accounts/{account_id}/totp", headers=bearer(admin)).json()
    assert enrolled["otpauth_uri"].startswith("otpauth://totp/alpr-ledger:new?")
    code = totp(decode_secret(enrolled["secret"]), clock.now)
    r = client.post("/v1/auth/login", json={"login": "new", "password": PASSWORD, "totp": code})
    assert r.status_code == 200, r.text


# ---- training and denials ------------------------------------------------------------------------


def _tiny_app(runtime: Runtime) -> FastAPI:
    app = FastAPI()
    app.state.runtime = runtime
    errors.install(app)

    @app.post("/act")
    def act(who: Annotated[Principal, Authorize("hits.act")]) -> dict[str, str]:
        return {"ok": who.login}

    return app


def test_untrained_officer_refused_and_denial_recorded_when_acting_on_hits(runtime: Runtime) -> None:
    client = TestClient(_tiny_app(runtime))
    untrained = token_for(runtime, Role.OFFICER, trained=False, login="rookie")
    r = client.post("/act", headers=bearer(untrained))
    assert (r.status_code, r.json()["code"]) == (403, "training.required")
    (denied,) = recorded(runtime, AccessDenial.AccessDenied)
    assert (denied.login, denied.permission, denied.path, denied.rule, denied.roles) == (
        "rookie",
        "hits.act",
        "POST /act",
        "training.required",
        ["officer"],
    )
    runtime.app.record_training(runtime.app.find_account("rookie").id, "ALPR", actor="sup")
    assert client.post("/act", headers=bearer(untrained)).status_code == 200  # next request


@pytest.mark.parametrize(
    "body",
    [
        {"login": "p1", "display_name": "P", "camera_id": "CAM-1"},  # people are bound to no camera
        {"login": "p2", "display_name": "P", "roles": ["device"]},  # people never hold the device role
        {"login": "d1", "display_name": "D", "kind": "device", "roles": ["officer"]},
        {"login": "bad login", "display_name": "P"},
        {"login": "p3", "display_name": "   "},
    ],
)
def test_enrol_over_api_answers_422_and_stores_nothing_when_body_breaks_a_rule(
    runtime: Runtime, client: TestClient, body: dict[str, object]
) -> None:
    admin = token_for(runtime, Role.ADMINISTRATOR)
    size = runtime.ledger.size()
    r = client.post("/v1/accounts", json=body, headers=bearer(admin))
    assert r.status_code == 422, r.text
    assert r.json()["errors"]
    assert runtime.ledger.size() == size


def test_person_roles_of_the_enrol_schema_are_every_role_but_device_when_roles_change() -> None:
    from typing import get_args

    from api.routers.accounts import PersonRole

    assert set(get_args(PersonRole)) == {r.value for r in Role} - {Role.DEVICE.value}
