"""``alpr-ledger audit ...``: compliance checks computed from the log.

``audit retention`` recomputes from the log alone (clear metadata and purge events; the key store is
not consulted) whether every record past due under the active profile was shredded on time. It exits
1 when there are findings, so a scheduled job or CI step fails loudly.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from ops.retention_audit import RetentionAudit, audit_retention
from ops.settings import Settings

if TYPE_CHECKING:
    from ops.service import AlprLedger

app = typer.Typer(no_args_is_help=True)

SHOWN_IDS = 5
"""Record ids a table row shows; ``--json`` lists them all."""


def _console() -> Console:
    console = Console()
    return console if console.is_terminal else Console(width=200)


def _parse_at(raw: str | None) -> datetime | None:
    if raw is None:
        return None
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        raise typer.BadParameter(
            "must be an ISO 8601 date-time, e.g. 2026-01-02T00:00:00Z", param_hint="--at"
        ) from None
    if at.tzinfo is None or at.utcoffset() is None:
        raise typer.BadParameter("must carry a UTC offset, e.g. 2026-01-02T00:00:00Z", param_hint="--at")
    return at.astimezone(UTC)


def log_only_app(settings: Settings) -> AlprLedger:
    """The application over the event store with no key store at all (nor master key, signing key
    or blobs): what an auditor holding a copy of the log has. Sealed fields cannot even be asked for."""
    from domain.profiles import get_profile
    from ops.bootstrap import migrate, persistence_env
    from ops.service import AlprLedger

    migrate(settings)
    return AlprLedger(
        env=persistence_env(settings.database_url, create_table=False), policy=get_profile(settings.policy)
    )


def _print_table(audit: RetentionAudit) -> None:
    console = _console()
    console.print(
        f"Retention audit under [bold]{audit.profile}[/bold] at {audit.now.isoformat()} "
        f"(tolerance {audit.tolerance}); log size {audit.log_size}, "
        f"{audit.notifications_read} notifications read"
    )
    rules = Table(title="Retention rules of the profile")
    for column in ("rule", "classification", "period", "clause"):
        rules.add_column(column)
    for rule in audit.rules:
        rules.add_row(rule.rule, rule.key, rule.period, rule.clause)
    console.print(rules)
    summary = Table(title="Records")
    for column in ("class", "seen", "due", "shredded", "on time", "findings"):
        summary.add_column(column, justify="left" if column == "class" else "right")
    for c in audit.classes:
        summary.add_row(
            c.retention_class,
            str(c.seen),
            str(c.due),
            str(c.shredded),
            str(c.shredded_on_time),
            str(c.findings),
        )
    console.print(summary)
    if audit.ok:
        console.print("[green]ok[/green]: every record past due was shredded on time")
        return
    findings = Table(title=f"Findings ({len(audit.findings)})")
    for column in ("kind", "class", "day", "records", "due", "shredded", "rule", "clause", "detail"):
        findings.add_column(column)
    for f in audit.findings:
        ids = [str(r) for r in f.record_ids[:SHOWN_IDS]]
        more = f.record_count - len(ids)
        records = (
            "\n".join(ids) + (f"\n... {more} more" if ids and more > 0 else "")
            if ids
            else str(f.record_count)
        )
        findings.add_row(
            f.kind,
            f.retention_class,
            f.day.isoformat(),
            records,
            "not due" if f.due_at is None else f.due_at.isoformat(),
            "-" if f.shredded_at is None else f.shredded_at.isoformat(),
            f.rule,
            f.clause,
            f.detail,
        )
    console.print(findings)


@app.command()
def retention(
    as_json: Annotated[bool, typer.Option("--json", help="Print the audit as JSON.")] = False,
    at: Annotated[
        Optional[str],  # noqa: UP045 - typer needs Optional here
        typer.Option("--at", help="Judge as of this ISO 8601 instant (with offset); default now."),
    ] = None,
    db: Annotated[
        Optional[str],  # noqa: UP045 - typer needs Optional here
        typer.Option("--db", help="Database URL; default from ALPR_DATABASE_URL."),
    ] = None,
) -> None:
    """Was every record past due under the active profile shredded on time? From the log alone.

    Exit code 0 when there are no findings, 1 when there are (records not shredded, shredded late or
    early, or a day purge whose count differs from the log's).
    """
    now = _parse_at(at)
    log = log_only_app(Settings(database_url=db) if db else Settings())
    try:
        audit = audit_retention(log, now=now)
    finally:
        log.close()
    if as_json:
        print(json.dumps(audit.as_json(), indent=2))
    else:
        _print_table(audit)
    raise typer.Exit(0 if audit.ok else 1)
