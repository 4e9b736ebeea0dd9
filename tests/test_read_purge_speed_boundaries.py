"""A day purge of the read index takes exactly the reads of that UTC day, from its first microsecond
to its last (SQLite finds them by a ``captured_at`` range, PostgreSQL by the ``day`` column), and
the R*Tree rows of exactly those reads."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from ops.bootstrap import Runtime
from projections.reads import READS_TABLE
from tests.cameras_support import city_reads
from tests.test_purged_read_paths import purge_day
from tests.test_read_projection import contents, expected_rows


def test_a_day_purge_takes_the_days_first_and_last_microsecond_and_nothing_either_side(
    runtime: Runtime,
) -> None:
    base = city_reads(runtime, 8)
    midnight = datetime.combine(base[0].captured_at.astimezone(UTC).date(), datetime.min.time(), UTC)
    micro = timedelta(microseconds=1)
    moments = [
        midnight - micro,  # the day before, last microsecond
        midnight,  # the day, first microsecond
        midnight + timedelta(hours=12),
        midnight + timedelta(days=1) - micro,  # the day, last microsecond
        midnight + timedelta(days=1),  # the day after, first microsecond
        midnight - timedelta(days=1),
        midnight + timedelta(days=1, hours=1),
        midnight + timedelta(hours=1),
    ]
    reads = [replace(r, captured_at=m) for r, m in zip(base, moments, strict=True)]
    stored = list(zip(runtime.app.record_reads(reads), reads, strict=True))
    contents(runtime)  # indexed before the purge

    assert purge_day(runtime, midnight) == 4
    survivors = [
        (i, r) for i, r in stored if r.captured_at < midnight or r.captured_at >= midnight + timedelta(days=1)
    ]
    assert len(survivors) == 4
    found = contents(runtime)  # also checks one R*Tree row per surviving read on SQLite
    assert found["reads"] == expected_rows(survivors)
    if runtime.projections.dialect == "sqlite":
        assert sorted(row[0] for row in found["geo"]) == sorted(str(i) for i, _ in survivors)
        with runtime.projections.read() as c:
            c.execute(f"SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = '{READS_TABLE}'")
            names = {row[0] for row in c.fetchall()}
        assert f"{READS_TABLE}_time" in names and f"{READS_TABLE}_day" not in names
