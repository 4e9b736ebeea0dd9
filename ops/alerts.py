"""The real-time alert feed: hits raised by any process, tailed from the notification log.

Every process that stores hits writes them to the one events table, so a stream that polls the
log for ``Hit.Raised`` notifications after its position sees hits from every ingest worker, not
only its own. Polling every :data:`POLL_INTERVAL_S` keeps read-to-alert latency well under the
one-second target; the query only touches rows after the position (primary-key range), so an
idle poll costs one index probe.

The notification id is the SSE event id, so a client that reconnects with ``Last-Event-ID``
resumes exactly after the last alert it received. Resuming reaches back at most ``not_before``
(the API passes one shift): older hits are skipped, so a position of 0 cannot replay the log.

A stream carries plates, so it ends as soon as its listener may no longer have them:
``authorized`` (the token re-authenticated and the permission re-checked) is asked before every
delivery and at least every :data:`RECHECK_S` while idle.

    async for chunk in alert_events(app, app.latest_alert_position()):
        ...  # bytes of text/event-stream
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime

import anyio.to_thread

from ops.commands.hits import Alert, HitCommands

POLL_INTERVAL_S = 0.15
"""How often an idle stream asks the log for new hits."""

HEARTBEAT_S = 15.0
"""An idle stream sends a comment this often, so proxies keep it open and dead peers surface."""

RETRY_MS = 1000
"""Reconnection delay suggested to EventSource clients."""

BATCH = 200
"""Alerts fetched per poll; a backlog is drained without waiting between batches."""

RECHECK_S = 1.0
"""How often an idle stream re-checks that its listener is still authorized."""

MAX_STREAM_S = 3600.0
"""Longest a stream stays open; EventSource reconnects (authorizing afresh) when it ends."""


def sse_event(alert: Alert) -> bytes:
    """One ``event: hit`` frame; the id is the alert's log position (for Last-Event-ID)."""
    data = json.dumps(alert.as_json(), separators=(",", ":"))
    return f"id: {alert.position}\nevent: hit\ndata: {data}\n\n".encode()


async def alert_events(
    app: HitCommands,
    after: int,
    *,
    max_events: int | None = None,
    timeout_s: float | None = None,
    poll_interval_s: float = POLL_INTERVAL_S,
    heartbeat_s: float = HEARTBEAT_S,
    authorized: Callable[[], bool] | None = None,
    recheck_s: float = RECHECK_S,
    not_before: datetime | None = None,
) -> AsyncIterator[bytes]:
    """``text/event-stream`` frames of hits raised after log position ``after``.

    Ends after ``max_events`` alerts, after ``timeout_s`` seconds, when the service closes, or
    when ``authorized()`` (run in a worker thread before every delivery and every ``recheck_s``
    while idle) answers False. Hits raised before ``not_before`` are skipped.
    A client disconnect or server shutdown cancels the task at its next ``await``, which ends
    the generator without leaving anything behind (the polls run in worker threads and hold
    no connection between polls).
    """
    yield f"retry: {RETRY_MS}\n: alerts after position {after}\n\n".encode()
    if max_events == 0:
        return
    clock = time.monotonic
    deadline = None if timeout_s is None else clock() + timeout_s
    closed = app.alerts_closed
    sent = 0
    last_write = last_check = clock()
    while not closed.is_set():
        try:
            batch = await anyio.to_thread.run_sync(app.alerts_after, after, BATCH)
        except Exception:
            if closed.is_set():  # the service closed under a poll in flight
                return
            raise
        alerts = batch.alerts
        if not_before is not None:
            alerts = [alert for alert in alerts if alert.raised_at >= not_before]
        if authorized is not None and (alerts or clock() - last_check >= recheck_s):
            if not await anyio.to_thread.run_sync(authorized):
                yield b": access ended\n\n"
                return
            last_check = clock()
        for alert in alerts:
            yield sse_event(alert)
            sent += 1
            if max_events is not None and sent >= max_events:
                return
        after = batch.position
        now = clock()
        if alerts:
            last_write = now
        if len(batch.alerts) == BATCH:
            continue  # drain a backlog (delivered or skipped) without sleeping
        if deadline is not None and now >= deadline:
            return
        if now - last_write >= heartbeat_s:
            yield b": keep-alive\n\n"
            last_write = now
        delay = poll_interval_s if deadline is None else max(0.0, min(poll_interval_s, deadline - now))
        await asyncio.sleep(delay)


def tail_alerts(
    app: HitCommands,
    after: int,
    stop: threading.Event,
    *,
    poll_interval_s: float = POLL_INTERVAL_S,
) -> Iterator[Alert]:
    """The same tail as :func:`alert_events`, synchronously, until ``stop`` is set."""
    while not stop.is_set() and not app.alerts_closed.is_set():
        batch = app.alerts_after(after, BATCH)
        yield from batch.alerts
        after = batch.position
        if len(batch.alerts) < BATCH:
            stop.wait(poll_interval_s)


__all__ = [
    "BATCH",
    "HEARTBEAT_S",
    "MAX_STREAM_S",
    "POLL_INTERVAL_S",
    "RECHECK_S",
    "RETRY_MS",
    "alert_events",
    "sse_event",
    "tail_alerts",
]
