"""Assembles the app from routers; nothing is built at import time."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import errors
from ops.bootstrap import Runtime

# One router module per resource, each exporting ``router``.
ROUTERS = (
    "auth",
    "accounts",
    "cameras",
    "reads",
    "hotlists",
    "hits",
    "alerts",
    "searches",
    "cases",
    "disclosures",
    "ledger",
    "retention",
    "audit",
    "reports",
)


def create_app(runtime: Runtime, *, schedule_checkpoints: bool = False) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        scheduler = None
        if schedule_checkpoints:
            from ops.scheduler import (
                add_misuse_job,
                add_projection_job,
                add_retention_job,
                start_checkpoint_scheduler,
            )

            runtime.checkpointer.checkpoint_if_grown()
            scheduler = start_checkpoint_scheduler(
                runtime.checkpointer, runtime.settings.checkpoint_interval_s
            )
            add_retention_job(scheduler, runtime.app, runtime.settings.retention_interval_s)
            add_misuse_job(scheduler, runtime.app)
            add_projection_job(scheduler, runtime.app, runtime.settings.projection_interval_s)
        try:
            yield
        finally:
            # The runtime belongs to whoever built it (the CLI, a test); only the scheduler is ours.
            if scheduler is not None:
                scheduler.shutdown(wait=False)

    app = FastAPI(
        title="alpr-ledger",
        version="0.1.0",
        description="Records and audit ledger for licence plate readers.",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    errors.install(app)
    for name in ROUTERS:
        app.include_router(
            importlib.import_module(f"api.routers.{name}").router, responses=errors.COMMON_RESPONSES
        )
    return app
