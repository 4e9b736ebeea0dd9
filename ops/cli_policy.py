"""`alpr-ledger policy ...`: the policy profiles and the clause behind every value (issue 3)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from domain.policy import PolicyProfile, ProhibitedGround, Purpose, format_duration
from domain.profiles import DEFAULT_PROFILE, PROFILES, UnknownProfileError, get_profile
from ops.settings import Settings

app = typer.Typer(no_args_is_help=True)

# Section headings, in the order rows come from PolicyProfile.rules().
_SECTIONS = {
    "read_retention": "Retention",
    "case_retention": "Case-linked retention (after the case is closed)",
    "permitted_purposes": "Permitted purposes",
    "prohibited_grounds": "Prohibited purposes and grounds",
    "search_requires_case_number": "Searches",
    "disclosure_approvers": "Disclosure approvers",
    "legal_bases": "Legal bases for disclosure",
    "unauthorized_disclosure_report_within": "Unauthorized disclosure",
    "training_required": "Use of the system",
    "extra": "Other rules of this policy",
}


def _console() -> Console:
    # Piped output (files, tests) gets wide lines so quotes are not folded into narrow columns.
    console = Console()
    return console if console.is_terminal else Console(width=200)


def _describe(value: object) -> str:
    if isinstance(value, Purpose):
        flags = ["case number required" if value.requires_case_number else "no case number needed"]
        if not value.historical_search:
            flags.append("not for searches of stored reads")
        return f"{value.description} ({'; '.join(flags)})"
    if isinstance(value, ProhibitedGround):
        return value.description
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, timedelta):
        return format_duration(value)
    if value is None:
        return "none"
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def _value_text(profile: PolicyProfile, field: str, key: str, value: object) -> str:
    if field == "case_retention" and value is None:
        until = profile.case_retention_until.get(key)
        return "permanent" if until is None else f"until {until.value}"
    return _describe(value)


def _rule_name(field: str, key: str) -> str:
    if field == "case_retention":
        return key
    if field == "case_retention_until":
        return f"{key}: kept until"
    if key:
        return key
    return field.replace("_", " ")


def _table(profile: PolicyProfile) -> Table:
    table = Table(title=f"{profile.name}: {profile.title}", caption=f"source: {profile.source}")
    table.add_column("Rule", style="bold", overflow="fold", max_width=36)
    table.add_column("Value", overflow="fold", max_width=48)
    table.add_column("Clause", overflow="fold", max_width=40)
    table.add_column("Quote (or the reason, where the policy is silent)", overflow="fold", ratio=1)
    previous_field, previous_clause = "", None
    for field, key, value, clause in profile.rules():
        if field == "case_retention_until" and clause == profile.case_retention[key].clause:
            continue  # shown in its classification's row, under the same clause
        if field != previous_field and field in _SECTIONS:
            table.add_section()
            table.add_row(f"[underline]{_SECTIONS[field]}[/underline]", "", "", "")
        previous_field = field
        ref, quote = (clause.ref, clause.quote) if clause != previous_clause else ("(same as above)", "")
        previous_clause = clause
        table.add_row(_rule_name(field, key), _value_text(profile, field, key, value), ref, quote)
    return table


@app.command("show")
def show(
    name: Annotated[
        Optional[str],  # noqa: UP045 - typer needs Optional here
        typer.Argument(help="Profile name; default: the configured one (ALPR_POLICY)."),
    ] = None,
) -> None:
    """Print a policy profile: every value with the clause it comes from."""
    chosen = name if name is not None else Settings().policy
    try:
        profile = get_profile(chosen)
    except UnknownProfileError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    _console().print(_table(profile))


@app.command("list")
def list_profiles() -> None:
    """List the policy profiles (the configured one is marked)."""
    configured = Settings().policy
    table = Table(title="Policy profiles")
    table.add_column("Name", style="bold", no_wrap=True)
    table.add_column("Title")
    table.add_column("Source")
    table.add_column("")
    for profile in PROFILES.values():
        marks = []
        if profile.name == configured:
            marks.append("configured")
        if profile.name == DEFAULT_PROFILE:
            marks.append("default")
        table.add_row(profile.name, profile.title, profile.source, ", ".join(marks))
    _console().print(table)
