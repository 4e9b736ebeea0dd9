"""`alpr-ledger audit queries ...` and `alpr-ledger misuse ...` act as a named account with the API's
roles and rules, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from domain.account import Principal
from domain.logon import AccessDenial
from domain.policy import Role
from domain.query_audit import INDEPENDENCE_RULE, MisuseFlag, QueryAudit
from ops import misuse
from ops.bootstrap import Runtime, build_runtime
from ops.cli import app as cli
from ops.settings import Settings
from tests.api_support import recorded
from tests.test_misuse_flags import search

runner = CliRunner()


@pytest.fixture
def rt(settings: Settings) -> Iterator[Runtime]:
    runtime = build_runtime(settings)
    try:
        yield runtime
    finally:
        runtime.close()


def enrol(runtime: Runtime, login: str, role: Role) -> Principal:
    app = runtime.app
    account_id = app.enrol_account(login, login.title(), roles=[role], actor="tests")
    app.record_training(account_id, "ALPR system and policy", trainer="tests", actor="tests")
    return app.get_account(account_id).principal()


def run(settings: Settings, *args: str) -> Any:
    env = {"ALPR_DATA_DIR": str(settings.data_dir), "ALPR_LOG_ORIGIN": settings.log_origin}
    return runner.invoke(cli, [*args, "--db", settings.database_url], env=env)


def ok_json(settings: Settings, *args: str) -> Any:
    result = run(settings, *args, "--json")
    assert result.exit_code == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def refused(result: Any, rule: str) -> str:
    assert result.exit_code == 1, result.stdout + result.stderr
    assert result.stdout == ""
    assert f"[{rule}]" in result.stderr
    return str(result.stderr)


def test_audit_workflow_runs_from_the_cli_with_roles_and_independence_enforced(
    settings: Settings, rt: Runtime
) -> None:
    now = datetime.now(UTC)
    sup = enrol(rt, "sup", Role.SUPERVISOR)
    inv = enrol(rt, "inv", Role.INVESTIGATOR)
    enrol(rt, "aud", Role.AUDITOR)
    enrol(rt, "aud2", Role.AUDITOR)
    enrol(rt, "chief", Role.ADMINISTRATOR)
    search(rt, sup, now - timedelta(hours=3))
    for hours in (5, 6):
        search(rt, inv, now - timedelta(hours=hours))
    period = ("--from", (now - timedelta(days=1)).isoformat(), "--to", now.isoformat())

    # the supervisor searched in the period: refused, with the rule and the clauses, nothing recorded
    message = refused(
        run(settings, "audit", "queries", "open", *period, "--reason", "bi-annual", "--as", "sup"),
        INDEPENDENCE_RULE,
    )
    assert "TCSO VIII.D" in message and "MPTC VI.G" in " ".join(message.split())
    # an investigator holds no audit role: refused and recorded like the API's 403
    refused(
        run(settings, "audit", "queries", "open", *period, "--reason", "x", "--as", "inv"), "role.missing"
    )
    assert recorded(rt, QueryAudit.Opened) == []
    assert [(d.login, d.permission) for d in recorded(rt, AccessDenial.AccessDenied)] == [
        ("inv", "audits.conduct")
    ]

    opened = ok_json(settings, "audit", "queries", "open", *period, "--reason", "bi-annual", "--as", "aud")
    audit_id = opened["audit_id"]
    assert opened["status"] == "opened" and opened["opened_by"] == "aud"
    refused(
        run(settings, "audit", "queries", "sample", audit_id, "--size", "5", "--as", "sup"), INDEPENDENCE_RULE
    )
    sampled = ok_json(settings, "audit", "queries", "sample", audit_id, "--size", "5", "--as", "aud")
    assert len(sampled["sample"]) == 3 and isinstance(sampled["seed"], int)
    first, *rest = sampled["sample"]
    bad = run(settings, "audit", "queries", "review", audit_id, first, "--finding", "concern", "--as", "aud2")
    refused(bad, "audit.notes.required_for_concern")
    args = ("audit", "queries", "review", audit_id)
    ok_json(settings, *args, first, "--finding", "concern", "--notes", "reason too vague", "--as", "aud2")
    for search_id in rest:
        ok_json(settings, *args, search_id, "--finding", "ok", "--as", "aud2")
    ok_json(
        settings, "audit", "queries", "summarise", audit_id, "--summary", "one vague reason", "--as", "aud"
    )
    refused(run(settings, "audit", "queries", "sign-off", audit_id, "--as", "aud"), "role.missing")
    signed = ok_json(
        settings,
        "audit",
        "queries",
        "sign-off",
        audit_id,
        "--statement",
        "to the Undersheriff",
        "--as",
        "chief",
    )
    assert signed["status"] == "signed_off" and signed["signed_off_by"] == "chief"

    listed = run(settings, "audit", "queries", "list", "--as", "aud")
    assert listed.exit_code == 0 and audit_id in listed.stdout and "signed_off" in listed.stdout
    shown = run(settings, "audit", "queries", "show", audit_id, "--as", "chief")
    assert "concern by aud2: reason too vague" in shown.stdout and "summary: one vague reason" in shown.stdout
    check = run(settings, "audit", "queries", "sample-check", audit_id, "--as", "aud")
    assert check.exit_code == 0 and "the recorded seed redraws the same sample" in check.stdout
    refused(run(settings, "audit", "queries", "show", "not-a-uuid", "--as", "aud"), "id.format")


def test_misuse_check_list_and_acknowledge_from_the_cli(settings: Settings, rt: Runtime) -> None:
    yesterday = (datetime.now(UTC) - timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    inv = enrol(rt, "inv", Role.INVESTIGATOR)
    enrol(rt, "sup", Role.SUPERVISOR)
    enrol(rt, "aud", Role.AUDITOR)
    for minutes in (0, 30, 60):
        search(rt, inv, yesterday + timedelta(minutes=minutes), criteria={"plate": "KX4471"})
    day = yesterday.date().isoformat()

    refused(run(settings, "misuse", "check", "--day", day, "--as", "aud"), "role.missing")
    refused(run(settings, "misuse", "check", "--day", "10/03/2026", "--as", "sup"), "misuse.day.format")
    flags = ok_json(settings, "misuse", "check", "--day", day, "--as", "sup")
    assert [(f["rule"], f["login"], len(f["search_ids"])) for f in flags] == [(misuse.RULE_REPEAT, "inv", 3)]
    assert "KX4471" not in json.dumps(flags)
    assert ok_json(settings, "misuse", "check", "--day", day, "--as", "sup") == []  # raised once

    flag_id = flags[0]["flag_id"]
    listed = run(settings, "misuse", "list", "--open", "--as", "aud")
    assert listed.exit_code == 0 and flag_id in listed.stdout and "open" in listed.stdout
    refused(run(settings, "misuse", "acknowledge", flag_id, "--note", "seen", "--as", "aud"), "role.missing")
    acked = ok_json(
        settings, "misuse", "acknowledge", flag_id, "--note", "spoke to the investigator", "--as", "sup"
    )
    assert acked[0]["acknowledged_by"] == "sup"
    again = run(settings, "misuse", "acknowledge", flag_id, "--note", "again", "--as", "sup")
    refused(again, "misuse.flag.acknowledged")
    assert len(recorded(rt, MisuseFlag.Acknowledged)) == 1
    assert ok_json(settings, "misuse", "list", "--open", "--as", "sup") == []
    refused(run(settings, "misuse", "list", "--as", "nobody"), "account.unknown")
