"""`alpr-ledger policy show|list`: the profile with the clause behind every value. No database."""

from __future__ import annotations

from typer.testing import CliRunner

from ops.cli import app as cli

runner = CliRunner()


def test_show_prints_values_with_clauses_when_profile_named() -> None:
    result = runner.invoke(cli, ["policy", "show", "county-sheriff-2025"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "county-sheriff-2025" in out
    assert "30 days" in out and "TCSO VII.A" in out and "not to exceed 30 days" in out
    assert "immigration_enforcement" in out and "TCSO VI.C" in out
    assert "out_of_state" in out and "approver" in out and "TCSO V.E.3" in out
    assert "not stated; default" in out  # defaults are shown as such, with their reason


def test_show_uses_configured_profile_when_no_name_given() -> None:
    result = runner.invoke(cli, ["policy", "show"], env={"ALPR_POLICY": "nypd-2026"})
    assert result.exit_code == 0, result.output
    assert "nypd-2026" in result.stdout and "│ 24 hours" in result.stdout

    result = runner.invoke(cli, ["policy", "show"], env={"ALPR_POLICY": None})
    assert result.exit_code == 0, result.output
    assert "nys-mptc-2022" in result.stdout and "MPTC VI.F" in result.stdout


def test_show_fails_listing_valid_names_when_profile_unknown() -> None:
    result = runner.invoke(cli, ["policy", "show", "nope"])
    assert result.exit_code == 2
    assert "unknown policy profile 'nope'" in result.stderr
    assert "county-sheriff-2025" in result.stderr and "iacp-2010" in result.stderr

    result = runner.invoke(cli, ["policy", "show"], env={"ALPR_POLICY": "nope"})
    assert result.exit_code == 2
    assert "ALPR_POLICY" in result.stderr


def test_list_names_every_profile_when_asked() -> None:
    result = runner.invoke(cli, ["policy", "list"], env={"ALPR_POLICY": "iacp-2010"})
    assert result.exit_code == 0, result.output
    for name in ("nypd-2026", "nypd-2021", "nys-mptc-2022", "county-sheriff-2025", "iacp-2010"):
        assert name in result.stdout
    assert "configured" in result.stdout and "default" in result.stdout
