"""Scheduled jobs (APScheduler): sign a checkpoint every interval while the log grows."""

from __future__ import annotations

import logging

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
