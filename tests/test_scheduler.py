"""The checkpoint job signs while the log grows, and only then."""

from __future__ import annotations

import time

from ops.bootstrap import Runtime
from ops.scheduler import start_checkpoint_scheduler
from tests.ledger_support import notes


def _wait_for_size(runtime: Runtime, size: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        latest = runtime.ledger.latest_checkpoint()
        if latest is not None and latest.size == size:
            return True
        time.sleep(0.05)
    return False


def test_scheduler_signs_checkpoint_each_interval_when_log_grows(runtime: Runtime) -> None:
    scheduler = start_checkpoint_scheduler(runtime.checkpointer, 0.2)
    try:
        runtime.app.save(*notes(3))
        assert _wait_for_size(runtime, 3)
        runtime.app.save(*notes(4))
        assert _wait_for_size(runtime, 7)
        time.sleep(0.6)  # three more intervals with no growth
        assert [c.size for c in runtime.ledger.checkpoints()] == [3, 7]
    finally:
        scheduler.shutdown(wait=True)
