"""``alpr-ledger``: the command line. Thin: parse, call the service or the ledger, print."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ops.settings import Settings

if TYPE_CHECKING:
    from ops.bootstrap import Runtime

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="alpr-ledger: the ALPR records and audit ledger."
)
console = Console(stderr=True)

DbOption = Annotated[
    Optional[str],  # noqa: UP045 - typer needs Optional here
    typer.Option(
        "--db", help="Database URL (sqlite:///PATH or postgresql://...); default from ALPR_DATABASE_URL."
    ),
]


def _settings(db: str | None) -> Settings:
    return Settings(database_url=db) if db else Settings()


def _runtime(db: str | None):  # type: ignore[no-untyped-def]
    from ops.bootstrap import build_runtime

    return build_runtime(_settings(db))


@contextmanager
def _progress(description: str, total: int | None) -> Iterator[Progress]:
    columns = [
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=console, transient=False) as progress:
        progress.add_task(description, total=total)
        yield progress


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    db: DbOption = None,
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs) and sign checkpoints on schedule."""
    import uvicorn

    from api.main import create_app

    runtime = _runtime(db)
    console.print(
        f"alpr-ledger serving {runtime.settings.database_url} on http://{host}:{port} (docs: /docs)"
    )
    try:
        uvicorn.run(
            create_app(runtime, schedule_checkpoints=True),
            host=host,
            port=port,
            log_level="info",
            timeout_graceful_shutdown=5,  # open alert streams must not hold shutdown forever
        )
    finally:
        runtime.close()


CITY_READS_PER_DAY = 15_000
"""A conservative floor of what the synthetic city's 3,000 vehicles produce in a day (~20,000)."""
CITY_VEHICLES = 3_000


def seed_span(reads: int, retention: timedelta) -> tuple[datetime, int]:
    """Where the synthetic city starts, and how many vehicles it needs, so that ``reads`` reads all
    lie in the past (a read ahead of the clock is refused) and inside the profile's read retention
    (an older one is refused too): a longer history than retention allows is packed into denser
    days by adding vehicles."""
    span_days = max(1, retention.days - 2)
    wanted_days = reads // CITY_READS_PER_DAY + 2
    days = min(wanted_days, span_days)
    vehicles = CITY_VEHICLES
    if wanted_days > span_days:
        vehicles = -(-CITY_VEHICLES * reads // (CITY_READS_PER_DAY * (span_days - 1 or 1)))
    return datetime.now(UTC).replace(microsecond=0) - timedelta(days=days), vehicles


@app.command()
def seed(
    reads: Annotated[
        int, typer.Option("--reads", min=1, help="How many synthetic reads to append.")
    ] = 10_000,
    batch: Annotated[int, typer.Option(min=1, max=1000, help="Reads per atomic batch.")] = 500,
    seed_value: Annotated[int, typer.Option("--seed", help="Random seed of the synthetic city.")] = 7,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing when the log already has events.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Append a synthetic city's reads through the application service."""
    from domain.read import RecordRead
    from ops.demo import SyntheticCity, camera_registrations

    runtime = _runtime(db)
    try:
        if if_empty and runtime.ledger.size() > 0:
            console.print(f"log already holds {runtime.ledger.size()} entries; not seeding")
            return
        start, vehicles = seed_span(reads, runtime.app.policy.read_retention.value)
        city = SyntheticCity(seed=seed_value, start=start, vehicles=vehicles)
        runtime.app.register_cameras(camera_registrations(city), by="alpr-ledger seed", existing_ok=True)
        stored = duplicates = 0
        started = time.perf_counter()
        with _progress("seeding reads", reads) as progress:
            pending: list[RecordRead] = []
            for command in city.reads(reads):
                pending.append(command)
                if len(pending) == batch or len(pending) + stored + duplicates == reads:
                    result = runtime.app.ingest_reads(pending)
                    duplicates += len(result.duplicates)
                    stored += len(pending) - len(result.duplicates)
                    pending = []
                    progress.update(progress.task_ids[0], completed=stored + duplicates)
        elapsed = time.perf_counter() - started
        cp = runtime.checkpointer.checkpoint()
        console.print(
            f"{stored} reads in {elapsed:.1f} s: {stored / elapsed:,.0f} reads/s; log size {cp.size}"
        )
        _catch_up_projections(runtime)
    finally:
        runtime.close()


def _catch_up_projections(runtime: Runtime) -> None:
    """Bring every search and report view up to the log, so the first search after a large seed
    does not pay for it."""
    from projections.registry import runners

    for name, runner in sorted(runners(runtime.app).items()):
        started = time.perf_counter()
        with _progress(f"projection {name}", max(1, runner.lag())) as progress:
            base = runner.position()

            def report(position: int, top: int, progress: Any = progress, base: int = base) -> None:
                progress.update(progress.task_ids[0], completed=position - base, total=max(1, top - base))

            applied = runner.catch_up(progress=report)
        console.print(f"projection {name}: {applied:,} events in {time.perf_counter() - started:.1f} s")


@app.command()
def checkpoint(db: DbOption = None) -> None:
    """Print the latest signed checkpoint (signing one if the log grew)."""
    runtime = _runtime(db)
    try:
        sys.stdout.write(runtime.checkpointer.checkpoint().note)
    finally:
        runtime.close()


@app.command()
def verify(
    checkpoint_file: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--checkpoint", help="A saved signed checkpoint the log must be consistent with."),
    ] = None,
    save_checkpoint: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--save-checkpoint", help="After a clean verification, save the latest checkpoint here."
        ),
    ] = None,
    bundle: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--bundle", help="Verify an export bundle directory; needs no database."),
    ] = None,
    vkey: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--vkey", help="Verifier key (or a file holding it); default: this log's own key."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Check signatures, every entry, the chain and the root. Exit 0 when intact, 1 otherwise."""
    if bundle is not None:
        _verify_bundle(bundle, _read_vkey(vkey) if vkey else None)
        return
    from ledger.audit import audit

    runtime = _runtime(db)
    try:
        key = _read_vkey(vkey) if vkey else runtime.checkpointer.signer.vkey
        saved_note = checkpoint_file.read_text(encoding="utf-8") if checkpoint_file else None
        # Sign the current size first so the newest entries are covered by a checkpoint too.
        runtime.checkpointer.checkpoint()
        total = runtime.ledger.size()
        with _progress("verifying entries", total) as progress:
            report = audit(
                runtime.ledger,
                key,
                saved_note=saved_note,
                progress=lambda n: progress.update(progress.task_ids[0], completed=n),
            )
        if not report.ok:
            for problem in report.problems:
                console.print(f"[red]FAIL[/red] {problem}")
            if report.first_bad_index is not None:
                print(f"first bad entry: {report.first_bad_index}")
            raise typer.Exit(1)
        print(
            f"ok: {report.size} entries, root {report.root.hex()}, "
            f"{report.checkpoints_checked} checkpoint(s) verified"
        )
        if report.saved_checkpoint is not None:
            print(f"consistent with saved checkpoint at size {report.saved_checkpoint.size}")
        if save_checkpoint is not None:
            latest = runtime.checkpointer.checkpoint()
            save_checkpoint.write_text(latest.note, encoding="utf-8")
            print(f"saved checkpoint at size {latest.size} to {save_checkpoint}")
    finally:
        runtime.close()


def _read_vkey(value: str) -> str:
    path = Path(value)
    return path.read_text(encoding="utf-8").strip() if path.is_file() else value.strip()


def _verify_bundle(bundle: Path, vkey: str | None) -> None:
    from ledger.verify import VerificationError
    from ledger.verify._bundle import PackageReport, verify_bundle

    try:
        with _progress("verifying bundle", None) as progress:
            report = verify_bundle(
                bundle, progress=lambda n: progress.update(progress.task_ids[0], completed=n), vkey=vkey
            )
    except VerificationError as exc:
        console.print(f"[red]FAIL[/red] {exc}")
        index = getattr(exc, "index", None)
        record = getattr(exc, "record", None)
        if record is not None:
            print(f"bad record: {record}")
        elif index is not None:
            print(f"first bad entry: {index}")
        raise typer.Exit(1) from exc
    if isinstance(report, PackageReport):
        print(
            f"ok: release package of disclosure {report.disclosure_id}: {len(report.records)} record(s), "
            f"each included in the log at size {report.size} (root {report.root.hex()})"
        )
        return
    print(
        f"ok: bundle of {report.size} entries, root {report.root.hex()}, "
        f"{report.checkpoints_checked} checkpoint(s) verified"
    )


@app.command()
def export(
    out: Annotated[Path, typer.Option("--out", help="Directory to write the bundle to.")],
    db: DbOption = None,
) -> None:
    """Export entries, checkpoints and the verifier key as a bundle an auditor checks offline."""
    from ledger.bundle import export_bundle

    runtime = _runtime(db)
    try:
        latest = runtime.checkpointer.checkpoint()
        with _progress("exporting entries", latest.size) as progress:
            written = export_bundle(
                runtime.ledger,
                origin=runtime.settings.log_origin,
                vkey=runtime.checkpointer.signer.vkey,
                size=latest.size,
                out=out,
                progress=lambda n: progress.update(progress.task_ids[0], completed=n),
            )
        print(f"exported {written} entries and checkpoints up to size {latest.size} to {out}")
    finally:
        runtime.close()


def _register_subcommands() -> None:
    from ops.cli_accounts import app as accounts_app
    from ops.cli_policy import app as policy_app

    app.add_typer(policy_app, name="policy", help="Policy profiles and the clauses behind each rule.")
    app.add_typer(accounts_app, name="accounts", help="Bootstrap accounts without the API.")
    from ops.cli_audit import app as audit_app
    from ops.cli_reports import misuse_app, queries_app

    audit_app.add_typer(queries_app, name="queries", help="Query-log audits: open, sample, review, sign off.")
    app.add_typer(audit_app, name="audit", help="Compliance audits: retention (from the log) and of queries.")
    app.add_typer(misuse_app, name="misuse", help="Misuse flags: run the check, list, acknowledge.")
    from ops.cli_projections import app as projections_app

    app.add_typer(projections_app, name="projections", help="Search and report views: status, rebuild.")
    from ops.cli_retention import app as retention_app

    app.add_typer(retention_app, name="retention", help="Apply retention, shred one read, list holds.")
    from ops.cli_capture import capture, demo_capture

    app.command("capture")(capture)
    app.command("demo-capture")(demo_capture)
    from ops.cli_models import app as models_app

    app.add_typer(models_app, name="models", help="Install and verify local recognizer model files.")


_register_subcommands()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
