"""``alpr-ledger audit queries ...`` and ``alpr-ledger misuse ...``: the query-log audit workflow and
misuse flags from the command line, with the API's rules and roles.

Thin: parse, check the acting account, call the service, print. Unlike ``accounts`` (bootstrap, with
the actor ``cli:<operating-system user>``), every step here is done by a named account: ``--as
LOGIN``. It must be active and hold a role of the API permission of the same step
(``api.authz.PERMISSIONS``: ``audits.conduct`` to open, sample, review and summarise, ``audits.sign_off``
to sign off, ``audits.read`` to list, show and check, ``misuse.read`` / ``misuse.act`` for flags). A
refusal is recorded like the API's 403 (``AccessDenial``) and exits 1 with the rule; the service's
own rules (independence of the auditor, order of steps, ...) are the API's. Results go to stdout
(``--json`` for JSON), errors to stderr.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Optional
from uuid import UUID

import typer
from rich.console import Console
from rich.markup import escape

from domain.errors import AccessDeniedError, DomainError, InvalidFieldError
from ops.cli_accounts import DbOption, _service

if TYPE_CHECKING:
    from domain.account import Principal
    from ops.commands.reports import MisuseFlagView, QueryAuditView
    from ops.service import AlprLedger

queries_app = typer.Typer(no_args_is_help=True, help="Query-log audits (TCSO VIII.D, MPTC VI.G).")
misuse_app = typer.Typer(no_args_is_help=True, help="Misuse flags: run the check, list, acknowledge.")
console = Console(stderr=True)

AsOption = Annotated[
    str, typer.Option("--as", help="Login of the account doing this (needs the API's role for it).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
AuditIdArg = Annotated[str, typer.Argument(help="Id of the query audit.")]


# ---- the acting account ---------------------------------------------------------------------------


def acting(svc: AlprLedger, login: str, permission: str, command: str) -> Principal:
    """The account ``login`` as a principal holding ``permission``, or AccessDeniedError (recorded
    as an access denial, like the API's 403)."""
    from api.authz import PERMISSIONS

    rule = PERMISSIONS[permission]
    account = svc.find_account(login)
    principal = account.principal()
    reason: tuple[str, str] | None = None
    if account.access_revoked:
        reason = ("account.revoked", f"the access of {account.login} is revoked")
    elif not principal.roles & rule.roles:
        needed = ", ".join(sorted(r.value for r in rule.roles))
        reason = ("role.missing", f"{permission} needs one of the roles: {needed}")
    elif rule.needs_training and svc.policy.training_required.value and not principal.trained:
        reason = ("training.required", f"{permission} needs recorded training first")
    if reason is not None:
        svc.record_access_denied(principal, permission=permission, path=f"cli {command}", rule=reason[0])
        raise AccessDeniedError("as", reason[0], f"{account.login}: {reason[1]}")
    return principal


@contextmanager
def _acting(
    db: str | None, login: str, permission: str, command: str
) -> Iterator[tuple[AlprLedger, Principal]]:
    with _service(db) as svc:
        try:
            yield svc, acting(svc, login, permission, command)
        except DomainError as exc:
            # escaped: the "[rule]" would otherwise be read as console markup and vanish
            console.print(
                f"[red]error[/red] {escape(f'{exc.field}: {exc.message} [{exc.rule}]')}", soft_wrap=True
            )
            raise typer.Exit(1) from None


def _uuid(raw: str, field: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise InvalidFieldError(field, "id.format", "must be a UUID") from None


def _instant(raw: str, field: str) -> datetime:
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidFieldError(
            field, "time.format", "must be an ISO 8601 date-time with a UTC offset, e.g. 2026-07-01T00:00:00Z"
        ) from None


def _json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str))


# ---- query audits ---------------------------------------------------------------------------------


def _audit_line(v: QueryAuditView) -> str:
    signed = f"  signed off by {v.signed_off_by}" if v.signed_off_by else ""
    return (
        f"{v.audit_id}  {v.status:<10}  {v.period_from.isoformat()} .. {v.period_to.isoformat()}"
        f"  opened by {v.opened_by}  sample {len(v.sample)}, reviewed {len(v.reviews)}{signed}"
    )


def _print_audit(v: QueryAuditView, as_json: bool) -> None:
    if as_json:
        _json(asdict(v))
        return
    print(_audit_line(v))
    print(f"  reason: {v.reason}")
    if v.seed is not None:
        print(f"  seed {v.seed} over {v.population} searches (population sha256 {v.population_digest})")
    reviewed = {r.search_id: r for r in v.reviews}
    for search_id in v.sample:
        r = reviewed.get(search_id)
        finding = (
            "pending"
            if r is None
            else f"{r.finding} by {r.reviewer_login}" + (f": {r.notes}" if r.notes else "")
        )
        print(f"  {search_id}  {finding}")
    if v.summary is not None:
        print(f"  summary: {v.summary}")
    if v.statement is not None:
        print(f"  sign-off statement: {v.statement}")


@queries_app.command("open")
def open_audit(
    start: Annotated[str, typer.Option("--from", help="Start of the period (ISO 8601, with offset).")],
    end: Annotated[str, typer.Option("--to", help="End of the period, exclusive (ended already).")],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded), e.g. bi-annual audit.")],
    actor: AsOption,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Open an audit of the searches requested in [from, to). Not by someone who searched in it."""
    with _acting(db, actor, "audits.conduct", "audit queries open") as (svc, who):
        view = svc.open_query_audit(_instant(start, "from"), _instant(end, "to"), reason, actor=who)
        _print_audit(view, as_json)


@queries_app.command("sample")
def sample(
    audit_id: AuditIdArg,
    size: Annotated[int, typer.Option("--size", help="How many searches to draw (1 to 1000).")],
    actor: AsOption,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Draw the random sample with a seed the service picks and records (once)."""
    with _acting(db, actor, "audits.conduct", "audit queries sample") as (svc, who):
        _print_audit(svc.draw_audit_sample(_uuid(audit_id, "audit_id"), size, actor=who), as_json)


@queries_app.command("sample-check")
def sample_check(
    audit_id: AuditIdArg, actor: AsOption, as_json: JsonOption = False, db: DbOption = None
) -> None:
    """Redraw the sample from the log with its recorded seed; exit 1 when it differs."""
    with _acting(db, actor, "audits.read", "audit queries sample-check") as (svc, _who):
        aid = _uuid(audit_id, "audit_id")
        same = svc.check_audit_sample(aid)
    if as_json:
        _json({"audit_id": str(aid), "reproducible": same})
    else:
        print(f"{aid}: " + ("the recorded seed redraws the same sample" if same else "NOT reproducible"))
    if not same:
        raise typer.Exit(1)


@queries_app.command("review")
def review(
    audit_id: AuditIdArg,
    search_id: Annotated[str, typer.Argument(help="Id of the sampled search.")],
    finding: Annotated[str, typer.Option("--finding", help="ok or concern.")],
    actor: AsOption,
    notes: Annotated[Optional[str], typer.Option("--notes", help="Required for a concern.")] = None,  # noqa: UP045
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Review one sampled search (once each; never one's own)."""
    with _acting(db, actor, "audits.conduct", "audit queries review") as (svc, who):
        view = svc.review_audited_search(
            _uuid(audit_id, "audit_id"), str(_uuid(search_id, "search_id")), finding, notes, actor=who
        )
        _print_audit(view, as_json)


@queries_app.command("summarise")
def summarise(
    audit_id: AuditIdArg,
    summary: Annotated[str, typer.Option("--summary", help="The written findings.")],
    actor: AsOption,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Write the findings, once every sampled search is reviewed."""
    with _acting(db, actor, "audits.conduct", "audit queries summarise") as (svc, who):
        _print_audit(svc.summarise_query_audit(_uuid(audit_id, "audit_id"), summary, actor=who), as_json)


@queries_app.command("sign-off")
def sign_off(
    audit_id: AuditIdArg,
    actor: AsOption,
    statement: Annotated[Optional[str], typer.Option("--statement", help="Optional statement.")] = None,  # noqa: UP045
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Sign a summarised audit off (not by a reviewer, nor by a searcher in the sample)."""
    with _acting(db, actor, "audits.sign_off", "audit queries sign-off") as (svc, who):
        _print_audit(svc.sign_off_query_audit(_uuid(audit_id, "audit_id"), statement, actor=who), as_json)


@queries_app.command("list")
def list_audits(actor: AsOption, as_json: JsonOption = False, db: DbOption = None) -> None:
    """Every query audit, oldest first."""
    with _acting(db, actor, "audits.read", "audit queries list") as (svc, _who):
        views = svc.list_query_audits()
    if as_json:
        _json([asdict(v) for v in views])
        return
    for v in views:
        print(_audit_line(v))
    if not views:
        console.print("no query audits")


@queries_app.command("show")
def show(audit_id: AuditIdArg, actor: AsOption, as_json: JsonOption = False, db: DbOption = None) -> None:
    """One audit: period, seed, sample with its reviews, summary, sign-off."""
    with _acting(db, actor, "audits.read", "audit queries show") as (svc, _who):
        _print_audit(svc.get_query_audit(_uuid(audit_id, "audit_id")), as_json)


# ---- misuse flags ---------------------------------------------------------------------------------


def _print_flags(views: list[MisuseFlagView], as_json: bool, empty: str) -> None:
    if as_json:
        _json([asdict(v) for v in views])
        return
    for v in views:
        ack = f"  acknowledged by {v.acknowledged_by}: {v.note}" if v.acknowledged_by else "  open"
        print(f"{v.flag_id}  {v.day.isoformat()}  {v.rule}  {v.login}  {len(v.search_ids)} searches{ack}")
        print(f"  {v.detail}")
    if not views:
        console.print(empty)


@misuse_app.command("list")
def list_flags(
    actor: AsOption,
    open_only: Annotated[bool, typer.Option("--open", help="Only flags not acknowledged.")] = False,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Misuse flags, oldest first."""
    with _acting(db, actor, "misuse.read", "misuse list") as (svc, _who):
        views = svc.list_misuse_flags(open_only=open_only)
    _print_flags(views, as_json, "no misuse flags")


@misuse_app.command("check")
def check(
    actor: AsOption,
    day: Annotated[Optional[str], typer.Option("--day", help="UTC day YYYY-MM-DD; default today.")] = None,  # noqa: UP045
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Check a day's searches now (as the scheduler does); prints the flags this run raised."""
    with _acting(db, actor, "misuse.act", "misuse check") as (svc, _who):
        try:
            parsed = None if day is None else date.fromisoformat(day)
        except ValueError:
            raise InvalidFieldError("day", "misuse.day.format", "must be a day, YYYY-MM-DD") from None
        views = svc.raise_misuse_flags(parsed)
    _print_flags(views, as_json, "no new flags")


@misuse_app.command("acknowledge")
def acknowledge(
    flag_id: Annotated[str, typer.Argument(help="Id of the misuse flag.")],
    note: Annotated[str, typer.Option("--note", help="What was done about it (recorded).")],
    actor: AsOption,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Acknowledge a flag with a note (not a flag about one's own searches)."""
    with _acting(db, actor, "misuse.act", "misuse acknowledge") as (svc, who):
        view = svc.acknowledge_misuse_flag(_uuid(flag_id, "flag_id"), note, actor=who)
    _print_flags([view], as_json, "")


__all__ = ["acting", "misuse_app", "queries_app"]
