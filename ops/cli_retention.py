"""``alpr-ledger retention ...``: apply the active profile's retention now, shred one read, list
holds. Thin: parse, call the service, print. Changes are recorded with the actor
``cli:<operating-system user>``; results go to stdout, errors to stderr.
"""

from __future__ import annotations

import json
from typing import Annotated, Optional
from uuid import UUID

import typer
from rich.console import Console

from ops.cli_accounts import DbOption, _actor, _service

app = typer.Typer(no_args_is_help=True)
console = Console(stderr=True)


@app.command()
def run(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report what is due; destroy nothing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    db: DbOption = None,
) -> None:
    """Destroy the keys of every record past due under the active profile, recording each purge."""
    with _service(db) as svc:
        report = svc.run_retention(dry_run=dry_run, by=_actor())
        svc.projection_db.rewrite_pending()  # no follower may run where this command does
    if as_json:
        print(json.dumps(report.to_json(), indent=2))
        return
    verb = "would purge" if dry_run else "purged"
    print(f"profile {report.profile} at {report.now.isoformat()}: {verb} {len(report.purges)} keys")
    for p in report.purges:
        count = "?" if p.record_count is None else str(p.record_count)
        due = "at once" if p.due_at is None else f"due {p.due_at.isoformat()}"
        mark = " (reconciled)" if p.reconciled else ""
        print(f"  {p.key_id}: {count} records, {p.rule}, {due}{mark}")
        print(f"    {p.clause}")
    for h in report.holds:
        print(f"  hold {h.hold_id} (case {h.case_number}): {h.action}, review date {h.review_by.isoformat()}")
    if report.rekeyed or report.blobs_deleted:
        print(f"  {report.rekeyed} reads re-keyed, {report.blobs_deleted} image files deleted")


@app.command()
def shred(
    read_id: Annotated[str, typer.Argument(help="Id of the read to shred.")],
    rule: Annotated[str, typer.Option("--rule", help="court_order or erroneous_read.")],
    reason: Annotated[str, typer.Option("--reason", help="Why, in words (e.g. the order's reference).")],
    db: DbOption = None,
) -> None:
    """Shred one read now: destroy its data key (cannot be undone) and record why."""
    try:
        rid = UUID(read_id)
    except ValueError:
        console.print("[red]error[/red] read_id: must be a UUID \\[id.format]")
        raise typer.Exit(1) from None
    with _service(db) as svc:
        info = svc.shred_record(rid, rule=rule, reason=reason, actor=_actor())
        svc.projection_db.rewrite_pending()  # the read's row, final on disk before we say "shredded"
    print(f"shredded {rid}: {info.rule} at {info.destroyed_at.isoformat()} (purge {info.purge_id})")


@app.command()
def holds(
    status: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--status", help="requested, active, flagged, denied or released."),
    ] = None,
    db: DbOption = None,
) -> None:
    """List holds (flagged ones need a supervisor: re-justify or release)."""
    with _service(db) as svc:
        views = svc.list_holds(status)
    for v in views:
        print(
            f"{v.hold_id}  {v.status:<9}  case {v.case_number}  {len(v.read_ids)} reads  "
            f"review by {v.review_by.isoformat()}  requested by {v.requested_by}"
        )
    if not views:
        console.print("no holds")
