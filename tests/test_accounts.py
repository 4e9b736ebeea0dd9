"""Accounts through the service, on SQLite and PostgreSQL: enrolment, roles, training,
revocation, tokens, and that no password or token is stored in the clear."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import psycopg
import pytest
from argon2 import PasswordHasher

from domain.account import Account, AccountKind
from domain.errors import (
    AccessDeniedError,
    AuthenticationError,
    ConflictError,
    InvalidFieldError,
    NotFoundError,
)
from domain.policy import Role
from domain.token import Token
from ops.bootstrap import Runtime
from ops.commands.accounts import AccountCommands
from tests.api_support import device_token_for, recorded, token_for


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


def _auth_rule(runtime: Runtime, token: str) -> str:
    with pytest.raises(AuthenticationError) as err:
        runtime.app.authenticate(token)
    return err.value.rule


def test_enrol_refused_as_conflict_when_login_taken_in_any_case(runtime: Runtime) -> None:
    app = runtime.app
    app.enrol_account("jsmith", "J. Smith", roles=[Role.OFFICER])
    with pytest.raises(ConflictError) as err:
        app.enrol_account("JSmith", "Another J. Smith")
    assert (err.value.field, err.value.rule) == ("login", "login.taken")
    assert len(recorded(runtime, Account.Enrolled)) == 1


def test_enrol_stores_nothing_when_a_role_does_not_fit_the_kind(runtime: Runtime) -> None:
    size = runtime.ledger.size()
    with pytest.raises(InvalidFieldError) as err:
        runtime.app.enrol_account("jsmith", "J. Smith", roles=[Role.OFFICER, Role.DEVICE])
    assert (err.value.field, err.value.rule) == ("roles[1]", "role.kind_mismatch")
    assert runtime.ledger.size() == size


def test_enrol_records_actor_and_roles_when_administrator_enrols(runtime: Runtime) -> None:
    admin = uuid4()
    account_id = runtime.app.enrol_account("jsmith", "J. Smith", roles=["officer"], unit="PBN", actor=admin)
    enrolled = recorded(runtime, Account.Enrolled)[0]
    assert (enrolled.login, enrolled.kind, enrolled.unit, enrolled.actor) == (
        "jsmith",
        "person",
        "PBN",
        str(admin),
    )
    granted = recorded(runtime, Account.RoleGranted)
    assert [(g.originator_id, g.role, g.actor) for g in granted] == [(account_id, "officer", str(admin))]


def test_device_account_gets_device_role_and_camera_when_enrolled_without_roles(runtime: Runtime) -> None:
    principal = runtime.app.authenticate(device_token_for(runtime, "CAM-7"))
    assert principal.roles == {Role.DEVICE}
    assert principal.is_device and principal.camera_id == "CAM-7"
    assert principal.trained is False


def test_role_revocation_takes_effect_when_next_authenticated(runtime: Runtime) -> None:
    app = runtime.app
    token = token_for(runtime, Role.INVESTIGATOR, login="inv")
    account = app.find_account("inv")
    app.grant_role(account.id, Role.SUPERVISOR, actor="admin")
    assert app.authenticate(token).roles == {Role.INVESTIGATOR, Role.SUPERVISOR}
    assert app.revoke_role(account.id, Role.INVESTIGATOR, actor="admin") is True
    assert app.authenticate(token).roles == {Role.SUPERVISOR}
    assert app.revoke_role(account.id, Role.INVESTIGATOR, actor="admin") is False  # nothing recorded
    assert [e.actor for e in recorded(runtime, Account.RoleRevoked)] == ["admin"]


def test_account_revocation_refuses_every_token_when_next_authenticated(runtime: Runtime) -> None:
    app = runtime.app
    device = app.enrol_account("cam-1", "Camera 1", kind=AccountKind.DEVICE)
    first, second = app.issue_device_token(device), app.issue_device_token(device)
    app.revoke_access(device, reason="stolen", actor="admin")
    assert _auth_rule(runtime, first) == "account.revoked"
    assert _auth_rule(runtime, second) == "account.revoked"
    with pytest.raises(ConflictError):
        app.issue_device_token(device)
    app.restore_access(device, actor="admin")
    # Restoring access does not bring back the tokens of before (a device token never expires).
    assert _auth_rule(runtime, first) == "token.revoked"
    assert _auth_rule(runtime, second) == "token.revoked"
    assert app.authenticate(app.issue_device_token(device)).login == "cam-1"


def test_token_revocation_refuses_only_that_token_when_next_authenticated(runtime: Runtime) -> None:
    app = runtime.app
    device = app.enrol_account("cam-1", "Camera 1", kind="device")
    kept, revoked = app.issue_device_token(device), app.issue_device_token(device)
    assert app.revoke_token(revoked, actor="admin") is True
    assert _auth_rule(runtime, revoked) == "token.revoked"
    assert app.authenticate(kept).login == "cam-1"
    by_id = app.get_token(kept).id
    app.revoke_token(by_id, actor="admin", reason="rotated")
    assert _auth_rule(runtime, kept) == "token.revoked"
    assert [(e.actor, e.reason) for e in recorded(runtime, Token.Revoked)] == [
        ("admin", None),
        ("admin", "rotated"),
    ]


def test_logout_revokes_presented_token_when_principal_logs_out(runtime: Runtime) -> None:
    token = token_for(runtime, Role.OFFICER)
    runtime.app.logout(runtime.app.authenticate(token))
    assert _auth_rule(runtime, token) == "token.revoked"


def test_interactive_token_expires_when_ttl_elapsed(runtime: Runtime) -> None:
    clock = FakeClock(datetime(2025, 3, 1, 8, 0, tzinfo=UTC))
    runtime.app.clock = clock
    runtime.app.token_ttl = timedelta(hours=1)
    token = token_for(runtime, Role.OFFICER)
    clock.now += timedelta(minutes=59)
    runtime.app.authenticate(token)
    clock.now += timedelta(minutes=1)
    assert _auth_rule(runtime, token) == "token.expired"


@pytest.mark.parametrize("token", ["", "alpr_not-issued", "x" * 10_000])
def test_authenticate_refuses_token_when_never_issued(runtime: Runtime, token: str) -> None:
    assert _auth_rule(runtime, token) == "token.invalid"


def test_device_token_refused_when_account_is_a_person(runtime: Runtime) -> None:
    person = runtime.app.enrol_account("jsmith", "J. Smith", roles=[Role.OFFICER])
    with pytest.raises(ConflictError) as err:
        runtime.app.issue_device_token(person)
    assert err.value.rule == "token.kind_mismatch"


def test_training_recorded_with_course_and_trainer_when_supervisor_records_it(runtime: Runtime) -> None:
    token = token_for(runtime, Role.OFFICER, trained=False, login="off")
    assert runtime.app.authenticate(token).trained is False
    account_id = runtime.app.find_account("off").id
    runtime.app.record_training(
        account_id, "ALPR use and policy", completed_on="2025-01-15", trainer="Sgt. R", actor="sup"
    )
    assert runtime.app.authenticate(token).trained is True
    trained = [e for e in recorded(runtime, Account.Trained) if e.originator_id == account_id]
    assert [(e.course, e.completed_on, e.trainer, e.actor) for e in trained] == [
        ("ALPR use and policy", "2025-01-15", "Sgt. R", "sup")
    ]


@pytest.mark.parametrize(
    "change",
    [
        lambda app, me: app.grant_role(me, Role.ADMINISTRATOR, actor=me),
        lambda app, me: app.record_training(me, "self-taught", actor=me),
    ],
    ids=["grant", "train"],
)
def test_change_refused_when_actor_changes_own_account(
    runtime: Runtime, change: Callable[..., object]
) -> None:
    me = runtime.app.enrol_account("sup", "Supervisor", roles=[Role.SUPERVISOR])
    with pytest.raises(AccessDeniedError) as err:
        change(runtime.app, me)
    assert err.value.rule == "account.self_change"


def test_unknown_account_answers_not_found_when_changed(runtime: Runtime) -> None:
    with pytest.raises(NotFoundError):
        runtime.app.grant_role(uuid4(), Role.OFFICER)
    with pytest.raises(NotFoundError):
        runtime.app.find_account("nobody")


def test_list_accounts_pages_in_enrolment_order_when_limit_smaller_than_total(runtime: Runtime) -> None:
    for i in range(5):
        runtime.app.enrol_account(f"user{i}", f"User {i}", roles=[Role.OFFICER])
    logins: list[str] = []
    after: int | None = 0
    while after is not None:
        page, after = runtime.app.list_accounts(after=after, limit=2)
        logins += [a.login for a in page]
    assert logins == [f"user{i}" for i in range(5)]


def _database_bytes(runtime: Runtime) -> bytes:
    """Everything the database holds, as bytes (every file of SQLite, every row of PostgreSQL)."""
    url = runtime.settings.database_url
    if url.startswith("sqlite://"):
        db = Path(url[len("sqlite:///") :])
        return b"".join(p.read_bytes() for p in db.parent.iterdir() if p.name.startswith(db.name))
    chunks: list[bytes] = []
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchall()
        for (table,) in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):  # noqa: S608 - names from the catalogue
                chunks += [v if isinstance(v, bytes) else str(v).encode() for v in row]
    return b"\n".join(chunks)


def test_database_holds_no_password_or_token_when_credentials_issued(runtime: Runtime) -> None:
    app = runtime.app
    password = "correct horse battery staple"
    person = app.enrol_account("jsmith", "J. Smith", roles=[Role.OFFICER])
    app.set_password(person, password)
    app.enrol_totp(person)
    interactive, _ = app.issue_interactive_token(person)
    device = device_token_for(runtime, "CAM-1")
    (password_set,) = recorded(runtime, Account.PasswordSet)
    assert password_set.password_hash.startswith("$argon2id$")
    states = b"".join(bytes(n.state) for n in app.recorder.select_notifications(1, 10_000))
    everything = _database_bytes(runtime)
    for secret in (password, interactive, device):
        for blob in (states, everything):
            assert secret.encode() not in blob
    assert b"$argon2id$" in everything  # the scan does see the stored events


def test_set_password_refused_and_nothing_stored_when_too_short(runtime: Runtime) -> None:
    person = runtime.app.enrol_account("jsmith", "J. Smith", roles=[Role.OFFICER])
    with pytest.raises(InvalidFieldError) as err:
        runtime.app.set_password(person, "short")
    assert (err.value.field, err.value.rule) == ("password", "password.length")
    assert recorded(runtime, Account.PasswordSet) == []
