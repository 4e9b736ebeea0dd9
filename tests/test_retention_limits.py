"""Retention as a maximum and as a minimum, and reads that arrive already past retention.

TCSO VII.A: reads "will be stored for a period not to exceed 30 days" — no read may be older than
30 days when its day is shredded. MPTC VI.B: "retained for a minimum of one year" — no read may be
shredded before it is a year old. The two put a capture day's due at opposite ends of the day.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import InvalidFieldError
from domain.profiles import get_profile
from domain.read import Read
from domain.retention import MAXIMUM_MARGIN, read_day_due, read_day_limit
from ops.bootstrap import ConfigurationError, Runtime, build_runtime
from ops.commands.reads import BatchRejectedError
from ops.retention_audit import LATE, audit_retention
from ops.settings import Settings
from tests.cameras_support import read_from, register
from tests.hits_support import FakeClock

FIRST_INSTANT = datetime(2026, 3, 3, 0, 0, 5, tzinfo=UTC)  # the day's first read
LAST_INSTANT = datetime(2026, 3, 3, 23, 59, 55, tzinfo=UTC)  # and its last
DAY = FIRST_INSTANT.date()


def at_clock(runtime: Runtime, now: datetime) -> FakeClock:
    clock = FakeClock(now)
    runtime.app.clock = clock
    runtime.keystore.clock = clock
    return clock


def store_day(runtime: Runtime, profile: str) -> list[Read]:
    runtime.app.policy = get_profile(profile)
    at_clock(runtime, LAST_INSTANT + timedelta(minutes=1))
    register(runtime, "FX-1")
    ids = runtime.app.record_reads(
        [
            read_from(captured_at=FIRST_INSTANT, capture_id="first"),
            read_from(captured_at=LAST_INSTANT, capture_id="last"),
        ]
    )
    return [runtime.app.repository.get(rid) for rid in ids]


def test_maximum_retention_shreds_the_day_before_its_first_read_exceeds_the_maximum(runtime: Runtime) -> None:
    first, last = store_day(runtime, "county-sheriff-2025")
    limit = FIRST_INSTANT.replace(second=0) + timedelta(days=30)
    assert read_day_limit(DAY, runtime.app.policy) == limit
    due = read_day_due(DAY, runtime.app.policy)
    assert due == limit - MAXIMUM_MARGIN

    at_clock(runtime, due - timedelta(minutes=1))
    assert runtime.app.run_retention().purges == ()
    at_clock(runtime, due)
    (purge,) = runtime.app.run_retention().purges
    assert purge.due_at == due
    for read in (first, last):
        reloaded = runtime.app.repository.get(read.id)
        assert reloaded.purged
    # no read of the day was kept up to 30 days: the first was 29 days 22 hours old
    assert due - FIRST_INSTANT < timedelta(days=30)


def test_minimum_retention_keeps_the_day_until_its_last_read_reached_the_minimum(runtime: Runtime) -> None:
    first, last = store_day(runtime, "nys-mptc-2022")
    due = read_day_due(DAY, runtime.app.policy)
    assert due - LAST_INSTANT >= runtime.app.policy.read_retention.value  # even the last read: a year
    at_clock(runtime, due - timedelta(seconds=1))
    assert runtime.app.run_retention().purges == ()
    assert not runtime.app.repository.get(first.id).purged
    at_clock(runtime, due)
    assert len(runtime.app.run_retention().purges) == 1


def test_audit_reports_late_past_a_maximum_whatever_the_tolerance(runtime: Runtime) -> None:
    store_day(runtime, "county-sheriff-2025")
    limit = read_day_limit(DAY, runtime.app.policy)
    at_clock(runtime, limit + timedelta(hours=1))  # the job missed the margin: 31 days for the first read
    runtime.app.run_retention()
    result = audit_retention(runtime.app, now=limit + timedelta(days=2), tolerance=timedelta(days=1))
    assert [f.kind for f in result.findings] == [LATE]


def test_read_already_past_retention_is_refused_and_nothing_of_its_batch_stored(runtime: Runtime) -> None:
    runtime.app.policy = get_profile("county-sheriff-2025")
    now = datetime.now(UTC)
    at_clock(runtime, now)
    register(runtime, "FX-1")
    size = runtime.ledger.size()
    batch = [
        read_from(captured_at=now - timedelta(minutes=5), capture_id="fresh"),
        read_from(captured_at=now - timedelta(days=31), capture_id="stale"),
    ]
    with pytest.raises(BatchRejectedError) as rejected:
        runtime.app.record_reads(batch)
    [error] = rejected.value.errors
    assert isinstance(error, InvalidFieldError)
    assert (error.field, error.rule) == ("reads[1].captured_at", "read.captured_at.past_retention")
    assert "TCSO VII.A" in error.message
    assert runtime.ledger.size() == size


def test_service_refuses_a_retention_interval_longer_than_a_maximums_margin(settings: Settings) -> None:
    slow = settings.model_copy(
        update={"policy": "county-sheriff-2025", "retention_interval_s": MAXIMUM_MARGIN.total_seconds() + 1}
    )
    with pytest.raises(ConfigurationError, match="retention_interval_s"):
        build_runtime(slow)
