"""`alpr-ledger models ...`: install and verify the local model files of the fast-alpr recognizer.

Nothing is downloaded: an agency provides a directory with the files and a ``manifest.json`` of
their SHA-256 sums (see :mod:`recognition.models`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from recognition.base import ModelError
from recognition.models import DEFAULT_MODEL_DIR

app = typer.Typer(no_args_is_help=True)
_err = Console(stderr=True)


@app.command("install")
def install(
    source: Annotated[
        Path, typer.Option("--from", help="Directory with the model files and their manifest.json.")
    ],
    target: Annotated[
        Path, typer.Option("--to", help="Directory the recognizer loads models from.")
    ] = DEFAULT_MODEL_DIR,
) -> None:
    """Verify the files in --from against its manifest (a detector, an ocr and an ocr_config
    entry are required), copy them to --to and verify the copies."""
    from recognition.models import install_models

    try:
        manifest = install_models(source, target)
    except ModelError as exc:
        _err.print(f"[red]models install failed:[/red] {exc}")
        raise typer.Exit(1) from None
    for entry in manifest.entries:
        print(f"installed {entry.role:<10} {entry.file}  sha256 {entry.sha256}  licence {entry.licence}")
    print(f"{len(manifest.entries)} model files verified in {target}")


@app.command("verify")
def verify(
    model_dir: Annotated[
        Path, typer.Option("--dir", help="Directory holding manifest.json and the model files.")
    ] = DEFAULT_MODEL_DIR,
) -> None:
    """Check every model file of the manifest against its SHA-256; exit 1 naming the first bad one."""
    from recognition.models import load_manifest, verify_models

    try:
        manifest = load_manifest(model_dir)
        verify_models(model_dir, manifest)
    except ModelError as exc:
        _err.print(f"[red]models verify failed:[/red] {exc}")
        raise typer.Exit(1) from None
    for entry in manifest.entries:
        print(f"ok {entry.role:<10} {entry.file}  sha256 {entry.sha256}")
