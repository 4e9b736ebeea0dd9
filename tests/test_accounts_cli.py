"""`alpr-ledger accounts ...` bootstraps accounts without the API, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from typer.testing import CliRunner

from domain.account import Account
from domain.errors import AuthenticationError
from domain.totp import decode_secret, totp
from ops.bootstrap import build_runtime
from ops.cli import app as cli
from ops.commands.accounts import AccountCommands
from ops.settings import Settings

runner = CliRunner()


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Production argon2 costs ~0.3 s a check, by design; the rules under test do not depend on it."""
    monkeypatch.setattr(
        AccountCommands, "password_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )


PASSWORD = "correct horse battery staple"


def _run(settings: Settings, *args: str, stdin: str | None = None) -> tuple[int, str]:
    env = {"ALPR_DATA_DIR": str(settings.data_dir), "ALPR_LOG_ORIGIN": settings.log_origin}
    result = runner.invoke(cli, ["accounts", *args, "--db", settings.database_url], env=env, input=stdin)
    return result.exit_code, result.stdout


def test_bootstrap_commands_give_a_working_administrator_when_run_in_order(settings: Settings) -> None:
    code, out = _run(
        settings, "add", "Chief", "--role", "administrator", "--password-stdin", stdin=PASSWORD + "\n"
    )
    assert code == 0, out
    fields = dict(line.split(": ", 1) for line in out.splitlines())
    assert fields["otpauth_uri"].startswith(
        "otpauth://totp/alpr-ledger:chief?secret=" + fields["totp_secret"]
    )
    assert _run(settings, "train", "chief", "--course", "ALPR policy")[0] == 0
    assert _run(settings, "grant", "chief", "supervisor")[0] == 0
    code, token = _run(settings, "token", "chief", "--interactive")
    assert code == 0
    code, listing = _run(settings, "list")
    assert listing.split("\t")[:5] == ["chief", "person", "administrator,supervisor", "trained", "active"]

    runtime = build_runtime(settings)
    try:
        principal = runtime.app.authenticate(token.strip())
        assert principal.login == "chief" and principal.trained
        secret = decode_secret(fields["totp_secret"])
        runtime.app.login("chief", PASSWORD, totp(secret, runtime.app.clock()), source="test")
        events = [
            runtime.app.mapper.to_domain_event(n) for n in runtime.app.recorder.select_notifications(1, 100)
        ]
        grants = [(e.role, e.actor) for e in events if isinstance(e, Account.RoleGranted)]
        assert [role for role, _ in grants] == ["administrator", "supervisor"]
        assert all(actor.startswith("cli") for _, actor in grants)  # who did it, from the host
    finally:
        runtime.close()


def test_device_token_printed_once_and_revocation_refuses_it_when_revoked(settings: Settings) -> None:
    assert _run(settings, "add", "cam-1", "--device", "--camera", "CAM-1")[0] == 0
    code, token = _run(settings, "token", "cam-1")
    assert code == 0 and token.strip().startswith("alpr_")
    assert _run(settings, "revoke", "cam-1", "--reason", "decommissioned")[0] == 0
    runtime = build_runtime(settings)
    try:
        with pytest.raises(AuthenticationError) as err:
            runtime.app.authenticate(token.strip())
        assert err.value.rule == "account.revoked"
    finally:
        runtime.close()


def test_commands_exit_1_with_rule_when_input_breaks_one(settings: Settings) -> None:
    assert _run(settings, "add", "jsmith", "--role", "officer")[0] == 0
    code, _ = _run(settings, "add", "JSMITH", "--role", "officer")
    assert code == 1
    code, _ = _run(settings, "token", "jsmith")  # a person gets no device token
    assert code == 1
    code, _ = _run(settings, "grant", "nobody", "officer")
    assert code == 1


def test_password_refused_until_reset_when_account_already_has_one(settings: Settings) -> None:
    stdin = PASSWORD + "\n"
    assert _run(settings, "add", "jsmith", "--role", "officer", "--password-stdin", stdin=stdin)[0] == 0
    assert _run(settings, "password", "jsmith", stdin="another long passphrase\n")[0] == 1
    assert _run(settings, "totp", "jsmith")[0] == 1
    assert _run(settings, "reset", "jsmith")[0] != 0  # the reason is required
    assert _run(settings, "reset", "jsmith", "--reason", "forgotten; identity checked")[0] == 0
    assert _run(settings, "password", "jsmith", stdin="another long passphrase\n")[0] == 0
    code, out = _run(settings, "totp", "jsmith")
    assert code == 0 and "totp_secret: " in out
    runtime = build_runtime(settings)
    try:
        events = [
            runtime.app.mapper.to_domain_event(n) for n in runtime.app.recorder.select_notifications(1, 100)
        ]
        (reset,) = [e for e in events if isinstance(e, Account.CredentialsReset)]
        assert reset.reason == "forgotten; identity checked" and reset.actor.startswith("cli")
    finally:
        runtime.close()
