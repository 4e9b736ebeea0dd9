"""Scheduled jobs (APScheduler): sign a checkpoint every interval while the log grows; apply
retention (``add_retention_job``); keep the views caught up with the log (``add_projection_job``)."""

from __future__ import annotations

import logging
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from ledger.checkpoints import Checkpointer

log = logging.getLogger(__name__)


def start_checkpoint_scheduler(checkpointer: Checkpointer, interval_s: float) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC")

    def sign_if_grown() -> None:
        signed = checkpointer.checkpoint_if_grown()
        if signed is not None:
            log.info("signed checkpoint at size %d", signed.size)

    scheduler.add_job(
        sign_if_grown,
        "interval",
        seconds=interval_s,
        id="checkpoint",
        max_instances=1,
        coalesce=True,
    )
    scheduler.start()
    return scheduler


def add_retention_job(scheduler: BackgroundScheduler, app: Any, interval_s: float) -> None:
    """Run ``app.run_retention()`` every interval: purges whatever fell due under the profile.

    A failed run is logged and retried at the next interval; a run already in progress (slow
    purge) is not started twice (``max_instances=1``), and several processes are safe anyway.
    """

    def run() -> None:
        try:
            report = app.run_retention()
        except Exception:
            log.exception("retention run failed; retrying at the next interval")
            return
        if report.purges or report.holds:
            log.info("retention: %d keys purged, %d holds changed", len(report.purges), len(report.holds))
        _finish_rewrites(app)

    scheduler.add_job(
        run,
        "interval",
        seconds=interval_s,
        id="retention",
        max_instances=1,
        coalesce=True,
    )


MISUSE_INTERVAL_S = 3600.0
"""The misuse check runs hourly over yesterday and today: a flag reaches supervisors within the hour,
and every day is checked once more after it ended. Flags are idempotent (``MisuseFlag`` ids)."""


def add_misuse_job(scheduler: BackgroundScheduler, app: Any, interval_s: float = MISUSE_INTERVAL_S) -> None:
    """Run ``app.raise_misuse_flags`` for yesterday and today (UTC) every interval."""
    from datetime import UTC, timedelta

    def run() -> None:
        try:
            today = app.clock().astimezone(UTC).date()
            raised = [*app.raise_misuse_flags(today - timedelta(days=1)), *app.raise_misuse_flags(today)]
        except Exception:
            log.exception("misuse check failed; retrying at the next interval")
            return
        if raised:
            log.info("misuse check: %d flags raised", len(raised))

    scheduler.add_job(run, "interval", seconds=interval_s, id="misuse", max_instances=1, coalesce=True)


def _finish_rewrites(app: Any) -> None:
    """Make the deletions of single-record shreds final on disk (deferred out of their requests)."""
    db = getattr(app, "projection_db", None)
    if db is None:
        return
    try:
        done = db.rewrite_pending()
    except Exception:
        log.exception("deferred projection rewrite failed; retrying at the next run")
        return
    if done:
        log.info("projections: rewrote %s after shreds", ", ".join(done))


def add_projection_job(scheduler: BackgroundScheduler, app: Any, interval_s: float) -> bool:
    """Catch every view up with the log every interval (``projections.registry.catch_up_all``), so a
    search after a day of ingest does not wait for minutes; it also runs the rewrites that
    single-record shreds deferred. ``interval_s`` 0 adds nothing (False)."""
    if interval_s <= 0 or getattr(app, "projection_db", None) is None:
        return False
    from projections.registry import catch_up_all

    def run() -> None:
        try:
            applied = catch_up_all(app)
        except Exception:
            log.exception("projection catch-up failed; retrying at the next interval")
            return
        if any(applied.values()):
            log.debug("projections caught up: %s", applied)

    scheduler.add_job(
        run,
        "interval",
        seconds=interval_s,
        id="projections",
        max_instances=1,
        coalesce=True,
    )
    return True
