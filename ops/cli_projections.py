"""``alpr-ledger projections ...``: how far each view is behind the log, catching all of them up
(in one process or several), and rebuilding one from it."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ops.cli_accounts import DbOption

app = typer.Typer(no_args_is_help=True)
out = Console()
err = Console(stderr=True)


@app.command()
def status(db: DbOption = None) -> None:
    """Each projection's position in the log and how many notifications it is behind."""
    from ops.cli import _runtime
    from projections.registry import runners

    runtime = _runtime(db)
    try:
        table = Table("projection", "version", "position", "log top", "lag")
        for name, runner in sorted(runners(runtime.app).items()):
            s = runner.status()
            table.add_row(name, str(s.version), f"{s.position:,}", f"{s.top:,}", f"{s.lag:,}")
        out.print(table)
    finally:
        runtime.close()


@app.command()
def rebuild(
    name: Annotated[str, typer.Argument(help="The projection to drop and rebuild from the log.")],
    db: DbOption = None,
) -> None:
    """Drop a projection's tables and replay the whole log into new ones, with progress."""
    from ops.cli import _runtime
    from projections.registry import names, runner

    if name not in names():
        err.print(f"[red]error[/red] name: no projection {name!r}; known: {', '.join(names())}")
        raise typer.Exit(2)
    runtime = _runtime(db)
    try:
        target = runner(runtime.app, name)
        with Progress(
            TextColumn(f"rebuilding {name}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
        ) as progress:
            task = progress.add_task(name, total=None)

            def report(position: int, top: int) -> None:
                progress.update(task, completed=position, total=top)

            applied = target.rebuild(progress=report)
        out.print(f"{name}: {applied:,} events applied; position {target.position():,}")
    finally:
        runtime.close()


def _catch_up_worker(db: str | None, names: Any, results: Any) -> None:
    """One process of ``catch-up --workers N``: takes view names off the queue until it is empty."""
    import queue

    from ops.cli import _runtime
    from projections.registry import runner

    runtime = _runtime(db)
    try:
        while True:
            try:
                name = names.get_nowait()
            except queue.Empty:
                break
            started = time.perf_counter()
            applied = runner(runtime.app, name).catch_up()
            results.put((name, applied, time.perf_counter() - started))
    finally:
        runtime.close()


@app.command("catch-up")
def catch_up(
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="Processes sharing the views (1: this process).")
    ] = 1,
    db: DbOption = None,
) -> None:
    """Catch every view up to the log's top, then run the rewrites that single-record shreds
    deferred. With --workers N>1 the views are shared among N processes (the costliest first)."""
    from ops.cli import _runtime
    from projections.registry import catch_up_all, ordered_names

    started = time.perf_counter()
    if workers == 1:
        runtime = _runtime(db)
        try:
            for name, applied in catch_up_all(runtime.app).items():
                out.print(f"{name}: {applied:,} events applied")
        finally:
            runtime.close()
    else:
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        names, results = ctx.Queue(), ctx.Queue()
        every = ordered_names()
        for name in every:
            names.put(name)
        procs = [ctx.Process(target=_catch_up_worker, args=(db, names, results)) for _ in range(workers)]
        for proc in procs:
            proc.start()
        done = 0
        while done < len(every) and any(p.is_alive() for p in procs) or not results.empty():
            try:
                name, applied, seconds = results.get(timeout=1)
            except Exception:  # noqa: BLE001 - queue.Empty: poll the workers again
                continue
            done += 1
            out.print(f"{name}: {applied:,} events applied in {seconds:.1f} s")
        for proc in procs:
            proc.join()
        failed = [p.exitcode for p in procs if p.exitcode]
        if failed or done < len(every):
            err.print(f"[red]error[/red] a catch-up process failed (exit codes {failed})")
            raise typer.Exit(1)
        runtime = _runtime(db)
        try:
            runtime.app.projection_db.rewrite_pending()
        finally:
            runtime.close()
    out.print(f"all views caught up in {time.perf_counter() - started:.1f} s")
