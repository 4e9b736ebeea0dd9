"""``alpr-ledger projections ...``: how far each view is behind the log, and rebuilding one from it."""

from __future__ import annotations

from typing import Annotated

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
