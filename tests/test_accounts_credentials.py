"""Credentials after enrolment, on SQLite and PostgreSQL: no silent takeover by an administrator
(set or replace someone's password or TOTP), reset and revocation end every earlier token for
good, the holder changes their own password, unknown logins are recorded only as a keyed digest,
and repeated failures lock the log-on."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from api.main import create_app
from domain.account import Account
from domain.errors import AccessDeniedError, AuthenticationError, ConflictError, InvalidFieldError
from domain.logon import Logon, login_digest
from domain.policy import Role
from domain.totp import decode_secret, totp
from ops.bootstrap import Runtime
from ops.commands.accounts import AccountCommands
from ops.commands.authentication import LOCKOUT_FAILURES, LOCKOUT_WINDOW, load_or_create_pepper
from tests.api_support import bearer, recorded, token_for

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a brand new and longer passphrase"
T0 = datetime(2025, 3, 1, 8, 0, 10, tzinfo=UTC)
STEP = timedelta(seconds=30)  # one TOTP step: a fresh code


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

    def advance(self, delta: timedelta = STEP) -> None:
        self.now += delta


@pytest.fixture
def clock(runtime: Runtime) -> FakeClock:
    fake = FakeClock(T0)
    runtime.app.clock = fake
    return fake


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime)) as c:
        yield c


def _person(
    runtime: Runtime, login: str = "po.chen", role: Role = Role.PRIVACY_OFFICER
) -> tuple[UUID, bytes]:
    """A person whose credentials were enrolled (by the bootstrap CLI) and who is trained."""
    app = runtime.app
    account_id = app.enrol_account(login, "P. Chen", roles=[role], actor="cli:bootstrap")
    app.set_password(account_id, PASSWORD, actor="cli:bootstrap")
    secret = app.enrol_totp(account_id, actor="cli:bootstrap")
    app.record_training(account_id, "ALPR", actor="cli:bootstrap")
    return account_id, decode_secret(secret)


def _auth_rule(runtime: Runtime, token: str) -> str:
    with pytest.raises(AuthenticationError) as err:
        runtime.app.authenticate(token)
    return err.value.rule


def _id_of(runtime: Runtime, token: str) -> UUID:
    return runtime.app.authenticate(token).account_id


# ---- no takeover of established credentials -----------------------------------------------------


def test_administrator_refused_409_and_given_no_secret_when_replacing_someones_credentials(
    runtime: Runtime, clock: FakeClock, client: TestClient
) -> None:
    po_id, secret = _person(runtime)
    admin = token_for(runtime, Role.ADMINISTRATOR)
    before = runtime.app.get_account(po_id)
    r = client.post(f"/v1/accounts/{po_id}/password", json={"password": NEW_PASSWORD}, headers=bearer(admin))
    assert (r.status_code, r.json()["code"]) == (409, "credentials.already_set")
    r = client.post(f"/v1/accounts/{po_id}/totp", headers=bearer(admin))
    assert (r.status_code, r.json()["code"]) == (409, "credentials.already_set")
    assert "secret" not in r.json()
    after = runtime.app.get_account(po_id)
    assert (after.password_hash, after.totp_secret, after.version) == (
        before.password_hash,
        before.totp_secret,
        before.version,
    )
    # the holder's own credentials still work; the administrator's chosen password does not
    with pytest.raises(AuthenticationError):
        runtime.app.login("po.chen", NEW_PASSWORD, totp(secret, clock.now), source="t")
    runtime.app.login("po.chen", PASSWORD, totp(secret, clock.now), source="t")


def test_holder_may_replace_own_credentials_when_actor_is_the_account(
    runtime: Runtime, clock: FakeClock
) -> None:
    po_id, _ = _person(runtime)
    runtime.app.set_password(po_id, NEW_PASSWORD, actor=po_id)
    runtime.app.enrol_totp(po_id, actor=po_id)
    with pytest.raises(ConflictError) as err:
        runtime.app.set_password(po_id, PASSWORD, actor="cli:someone")
    assert err.value.rule == "credentials.already_set"


def test_reset_clears_credentials_ends_tokens_and_allows_initial_enrolment_when_reason_given(
    runtime: Runtime, clock: FakeClock, client: TestClient
) -> None:
    po_id, secret = _person(runtime)
    po_token, _ = runtime.app.login("po.chen", PASSWORD, totp(secret, clock.now), source="t")
    admin = token_for(runtime, Role.ADMINISTRATOR)
    missing = client.post(f"/v1/accounts/{po_id}/credentials/reset", json={}, headers=bearer(admin))
    assert missing.status_code == 422
    blank = client.post(
        f"/v1/accounts/{po_id}/credentials/reset", json={"reason": "  "}, headers=bearer(admin)
    )
    assert (blank.status_code, blank.json()["errors"][0]["field"]) == (422, "reason")
    assert recorded(runtime, Account.CredentialsReset) == []  # nothing partial stored
    clock.advance()
    r = client.post(
        f"/v1/accounts/{po_id}/credentials/reset",
        json={"reason": "lost authenticator; identity checked in person"},
        headers=bearer(admin),
    )
    assert r.status_code == 200, r.text
    assert (r.json()["has_password"], r.json()["has_totp"]) == (False, False)
    (event,) = recorded(runtime, Account.CredentialsReset)
    assert (event.reason, event.actor) == (
        "lost authenticator; identity checked in person",
        str(_id_of(runtime, admin)),
    )
    assert _auth_rule(runtime, po_token) == "token.revoked"
    # now initial credentials may be set again (recorded as usual), and the holder logs on anew
    clock.advance()
    assert (
        client.post(f"/v1/accounts/{po_id}/password", json={"password": NEW_PASSWORD}, headers=bearer(admin))
    ).status_code == 204
    fresh = decode_secret(client.post(f"/v1/accounts/{po_id}/totp", headers=bearer(admin)).json()["secret"])
    token, _ = runtime.app.login("po.chen", NEW_PASSWORD, totp(fresh, clock.now), source="t")
    assert _id_of(runtime, token) == po_id


def test_reset_refused_403_when_caller_lacks_accounts_manage(runtime: Runtime, client: TestClient) -> None:
    po_id, _ = _person(runtime)
    supervisor = token_for(runtime, Role.SUPERVISOR)
    r = client.post(
        f"/v1/accounts/{po_id}/credentials/reset", json={"reason": "x"}, headers=bearer(supervisor)
    )
    assert (r.status_code, r.json()["code"]) == (403, "role.missing")
    assert recorded(runtime, Account.CredentialsReset) == []


# ---- revocation watermark -------------------------------------------------------------------------


def test_restore_does_not_revive_tokens_issued_before_revocation_when_account_restored(
    runtime: Runtime, client: TestClient
) -> None:
    admin, admin2 = token_for(runtime, Role.ADMINISTRATOR), token_for(runtime, Role.ADMINISTRATOR)
    old = token_for(runtime, Role.INVESTIGATOR)
    account_id = _id_of(runtime, old)
    assert (
        client.post(
            f"/v1/accounts/{account_id}/revoke", json={"reason": "laptop stolen"}, headers=bearer(admin)
        ).status_code
        == 200
    )
    assert (
        client.post(
            f"/v1/accounts/{account_id}/restore", json={"reason": "new laptop"}, headers=bearer(admin2)
        ).status_code
        == 200
    )
    r = client.get("/v1/auth/me", headers=bearer(old))
    assert (r.status_code, r.json()["code"]) == (401, "token.revoked")
    assert "revoked" in r.json()["errors"][0]["message"]
    new, _ = runtime.app.issue_interactive_token(account_id, actor="tests")
    assert client.get("/v1/auth/me", headers=bearer(new)).status_code == 200


# ---- changing one's own password ------------------------------------------------------------------


def test_holder_changes_own_password_when_current_password_and_code_right(
    runtime: Runtime, clock: FakeClock, client: TestClient
) -> None:
    po_id, secret = _person(runtime)
    token, _ = runtime.app.login("po.chen", PASSWORD, totp(secret, clock.now), source="t")
    clock.advance()
    code = totp(secret, clock.now)
    body = {"current_password": PASSWORD, "totp": code, "new_password": NEW_PASSWORD}
    r = client.post("/v1/auth/password", json=body, headers=bearer(token))
    assert r.status_code == 204, r.text
    (changed,) = recorded(runtime, Account.PasswordChanged)
    assert changed.actor == str(po_id)
    with pytest.raises(AuthenticationError):  # the code used for the change cannot be replayed
        runtime.app.login("po.chen", NEW_PASSWORD, code, source="t")
    clock.advance()
    runtime.app.login("po.chen", NEW_PASSWORD, totp(secret, clock.now), source="t")


def test_own_password_change_refused_403_and_recorded_when_current_password_wrong(
    runtime: Runtime, clock: FakeClock, client: TestClient
) -> None:
    po_id, secret = _person(runtime)
    token = runtime.app.issue_interactive_token(po_id, actor="tests")[0]
    body = {
        "current_password": "not the password",
        "totp": totp(secret, clock.now),
        "new_password": NEW_PASSWORD,
    }
    r = client.post("/v1/auth/password", json=body, headers=bearer(token))
    assert (r.status_code, r.json()["code"]) == (403, "credentials.invalid")
    assert [(e.account_id, e.outcome, e.reason) for e in recorded(runtime, Logon.Attempted)] == [
        (po_id, "failure", "password.wrong")
    ]
    assert recorded(runtime, Account.PasswordChanged) == []
    short = client.post("/v1/auth/password", json=body | {"new_password": "short"}, headers=bearer(token))
    assert (short.status_code, short.json()["errors"][0]["field"]) == (422, "new_password")


# ---- unknown logins: only a keyed digest --------------------------------------------------------


def test_unknown_login_recorded_only_as_keyed_digest_when_it_matches_no_account(
    runtime: Runtime, clock: FakeClock, tmp_path: Path
) -> None:
    runtime.app.audit_pepper_path = tmp_path / "audit-pepper"
    runtime.app.__dict__.pop("_audit_pepper_bytes", None)
    _person(runtime)
    for typed in ("Winter2026secret", "Tr0ub4dor&3 x"):
        with pytest.raises(AuthenticationError):
            runtime.app.login(typed, "x", "000000", source="t")
    with pytest.raises(AuthenticationError):
        runtime.app.login("PO.Chen", "wrong password", "000000", source="t")  # known: recorded as is
    pepper = (tmp_path / "audit-pepper").read_bytes()
    assert [e.login for e in recorded(runtime, Logon.Attempted)] == [
        login_digest(pepper, "winter2026secret"),
        login_digest(pepper, "Tr0ub4dor&3 x"),
        "po.chen",
    ]
    assert stat.S_IMODE((tmp_path / "audit-pepper").stat().st_mode) == 0o600


def test_audit_pepper_created_once_and_reused_when_loaded_again(tmp_path: Path) -> None:
    path = tmp_path / "data" / "audit-pepper"
    first = load_or_create_pepper(path)
    assert len(first) == 32
    assert load_or_create_pepper(path) == first
    assert login_digest(first, "a") != login_digest(load_or_create_pepper(tmp_path / "other"), "a")


# ---- lockout --------------------------------------------------------------------------------------


def test_login_locked_401_and_recorded_when_too_many_failures_in_window(
    runtime: Runtime, clock: FakeClock, client: TestClient
) -> None:
    _, secret = _person(runtime)
    for i in range(LOCKOUT_FAILURES):
        r = client.post("/v1/auth/login", json={"login": "po.chen", "password": PASSWORD, "totp": f"{i:06d}"})
        assert (r.status_code, r.json()["code"]) == (401, "credentials.invalid")
    right = {"login": "po.chen", "password": PASSWORD, "totp": totp(secret, clock.now)}
    r = client.post("/v1/auth/login", json=right)
    assert (r.status_code, r.json()["code"]) == (401, "credentials.locked")
    assert [e.reason for e in recorded(runtime, Logon.Attempted)][-1] == "credentials.locked"
    clock.advance(LOCKOUT_WINDOW)
    right["totp"] = totp(secret, clock.now)
    assert client.post("/v1/auth/login", json=right).status_code == 200


def test_unknown_login_locked_like_a_known_one_when_too_many_failures(
    runtime: Runtime, clock: FakeClock
) -> None:
    # Otherwise a locked answer would tell an attacker which logins exist.
    for _ in range(LOCKOUT_FAILURES):
        with pytest.raises(AuthenticationError):
            runtime.app.login("nobody", PASSWORD, "000000", source="t")
    with pytest.raises(AuthenticationError) as err:
        runtime.app.login("nobody", PASSWORD, "000000", source="t")
    assert err.value.rule == "credentials.locked"


def test_own_password_change_failures_lock_the_log_on_when_too_many(
    runtime: Runtime, clock: FakeClock
) -> None:
    po_id, secret = _person(runtime)
    for _ in range(LOCKOUT_FAILURES):
        with pytest.raises(AccessDeniedError):
            runtime.app.change_own_password(po_id, "wrong password!", "000000", NEW_PASSWORD)
    with pytest.raises(AccessDeniedError) as err:
        runtime.app.change_own_password(po_id, PASSWORD, totp(secret, clock.now), NEW_PASSWORD)
    assert err.value.rule == "credentials.locked"
    with pytest.raises(AuthenticationError) as login_err:
        runtime.app.login("po.chen", PASSWORD, totp(secret, clock.now), source="t")
    assert login_err.value.rule == "credentials.locked"


def test_reset_refused_and_nothing_stored_when_reason_missing(runtime: Runtime) -> None:
    po_id, _ = _person(runtime)
    with pytest.raises(InvalidFieldError) as err:
        runtime.app.reset_credentials(po_id, reason=None, actor="cli:x")
    assert (err.value.field, err.value.rule) == ("reason", "reason.type")
    assert runtime.app.get_account(po_id).password_hash is not None
