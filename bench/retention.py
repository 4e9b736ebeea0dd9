"""Retention benchmark: sealing overhead on ingest, and shredding one expired day while ingest goes on.

    python -m bench.retention [--json] [--backend sqlite|postgres|both] [--reads 1000000]
                              [--overhead-reads 30000] [--baseline-s 10]
    python bench/retention.py ...       (the same)

For each backend (a SQLite file in a temp dir; a throwaway PostgreSQL cluster with fsync on), in
one run on this machine:

a. **Sealing overhead.** The same batches of 1,000 synthetic-city reads through
   ``AlprLedger.record_reads``, sealed (the normal runtime: a data key per read in the key store,
   personal fields AES-256-GCM) and unsealed (``sealing_policy=SealingPolicy({})``, no key store),
   each into a fresh database, alternated ``--repeats`` times; the best rate of each is compared.
b. **Shredding a day.** ``--reads`` reads captured on one UTC day (three days ago) are ingested in
   batches of 1,000 from the city's 48 cameras. A second process then ingests reads of today in
   batches of ``--ingest-batch``; after ``--baseline-s`` seconds the day is destroyed the way the
   retention job does it: ``run_retention`` with the service clock just past the day's due date
   (key destruction, the ``Purge`` event, the blob sweep). The other process's ingest rate while
   the purge runs is compared with its rate in the seconds before. Before that, a dry run brings
   the job's index of holds and cases up to the log's end, as the hourly job in a running service
   keeps it (timed apart: ``first_run_catch_up_s``), and every view (the read index among them) is
   caught up with the log, as the service's follower keeps them (timed apart:
   ``views_catch_up_s``; once more right before the shred, for what the other process ingested
   meanwhile: ``views_tick_before_shred_s``). The shred then includes what the job does to the
   views: the day's rows deleted from the read index and the deletion made final on disk
   (SQLite: WAL truncated; PostgreSQL: ``VACUUM FULL`` of the read index, kept for day purges).

Nothing here asserts a time: figures and ratios are printed, measured in this run only.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import itertools
import json
import multiprocessing as mp
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from uuid import UUID

if not __package__:  # run as ``python bench/retention.py``: bench/ledger.py would shadow ``ledger``
    _root = str(Path(__file__).resolve().parents[1])
    sys.path[:] = [_root] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]

from domain.read import Read, RecordRead
from domain.retention import read_day_due
from ledger.sealing import SealingPolicy
from ops.bootstrap import Runtime, build_runtime, persistence_env
from ops.demo import SyntheticCity, camera_registrations
from ops.keys import read_kek
from ops.pgcluster import ThrowawayCluster
from ops.service import AlprLedger
from ops.settings import Settings
from projections.registry import catch_up_all

BATCH = 1000
TARGET_OVERHEAD_RATIO = 0.8
TARGET_SHRED_S = 10.0
DAY_AGO = timedelta(days=3)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def city_reads(seed: int, start: datetime) -> Iterator[RecordRead]:
    return SyntheticCity(seed=seed, start=start).reads(10**10)


def register_city(app: AlprLedger, seed: int) -> None:
    city = SyntheticCity(seed=seed, start=datetime.now(UTC))
    app.register_cameras(camera_registrations(city), by="bench", existing_ok=True)


def batches_on_day(seed: int, day: date, n: int, batch: int = BATCH) -> Iterator[list[RecordRead]]:
    """``n`` city reads re-stamped evenly over UTC ``day`` (capture ids stay unique)."""
    start = datetime.combine(day, dtime.min, UTC)
    step = 86_400 / n
    reads = city_reads(seed, start)
    for offset in range(0, n, batch):
        chunk = list(itertools.islice(reads, min(batch, n - offset)))
        yield [
            dataclasses.replace(r, captured_at=start + timedelta(seconds=(offset + i) * step))
            for i, r in enumerate(chunk)
        ]


# ---- a. sealing overhead ------------------------------------------------------------------------


def ingest_rate(app: AlprLedger, batches: list[list[RecordRead]], warmup: list[RecordRead]) -> float:
    app.record_reads(warmup)  # connections, caches, the first KEK: not what a steady pipeline pays
    started = time.perf_counter()
    for batch in batches:
        app.record_reads(batch)
    return sum(map(len, batches)) / (time.perf_counter() - started)


def sealed_app(url: str, data_dir: Path) -> tuple[AlprLedger, Callable[[], None]]:
    runtime = build_runtime(Settings(database_url=url, data_dir=data_dir))
    return runtime.app, runtime.close


def unsealed_app(url: str) -> tuple[AlprLedger, Callable[[], None]]:
    app = AlprLedger(env=persistence_env(url, create_table=True), sealing_policy=SealingPolicy({}))
    assert app.keystore is None and not app.mapper.policy.topics  # type: ignore[attr-defined]
    return app, app.close


def overhead(make_url: Callable[[str], str], tmp: Path, reads: int, repeats: int) -> dict[str, float]:
    seed = 11
    day = datetime.now(UTC).date() - timedelta(days=1)
    batches = list(batches_on_day(seed, day, reads))
    warmup = next(batches_on_day(seed + 1, day, BATCH))
    best = {"sealed": 0.0, "unsealed": 0.0}
    for run in range(repeats):
        for mode in ("unsealed", "sealed"):
            url = make_url(f"overhead_{mode}_{run}")
            app, close = (
                sealed_app(url, tmp / f"data-{mode}-{run}") if mode == "sealed" else unsealed_app(url)
            )
            try:
                register_city(app, seed)
                register_city(app, seed + 1)
                r = ingest_rate(app, batches, warmup)
            finally:
                close()
            log(f"  {mode} run {run + 1}: {r:,.0f} reads/s")
            best[mode] = max(best[mode], r)
    return {
        "sealed_reads_per_s": best["sealed"],
        "unsealed_reads_per_s": best["unsealed"],
        "ratio": best["sealed"] / best["unsealed"],
    }


# ---- b. shredding a day while ingest continues -------------------------------------------------


def shred_day(runtime: Runtime, day: date) -> tuple[int | None, int]:
    """Destroy ``day``'s reads with the retention job; (DEKs destroyed, purges recorded).

    The job never looks ahead of the service clock, so the clock is moved just past the day's due
    date for the run: later days (today's reads, still arriving) are not due then.
    """
    app = runtime.app
    kek_id = read_kek(datetime.combine(day, dtime.min, UTC))
    due = read_day_due(day, app.policy) + timedelta(minutes=1)
    clock = app.clock
    app.clock = lambda: due
    try:
        report = app.run_retention(by="bench")
    finally:
        app.clock = clock
    counts = [p.record_count for p in report.purges if p.key_id == kek_id]
    return (counts[0] if counts else None), len(report.purges)


def read_index_rows(runtime: Runtime, day: date) -> int:
    """Rows of ``day`` in the read index (the search view)."""
    from projections.reads import READS_TABLE

    db = runtime.projections
    with db.read() as c:
        c.execute(db.sql(f"SELECT COUNT(*) FROM {READS_TABLE} WHERE day = ?"), (day.isoformat(),))
        return int(c.fetchone()[0])


def is_purged_read(aggregate: object) -> bool:
    return isinstance(aggregate, Read) and aggregate.purged


def ingester(
    database_url: str, data_dir: str, seed: int, batch: int, ready: Any, stop: Any, out: Any
) -> None:
    """Another process ingesting today's reads until told to stop; reports each batch's span."""
    runtime = build_runtime(
        Settings(database_url=database_url, data_dir=Path(data_dir)), run_migrations=False
    )
    marks: list[tuple[float, float, int]] = []
    errors: list[str] = []
    reads = city_reads(seed, datetime.now(UTC) - timedelta(hours=1))
    try:
        while not stop.is_set():
            now = datetime.now(UTC)
            chunk = [
                dataclasses.replace(r, captured_at=now - timedelta(seconds=1))
                for r in itertools.islice(reads, batch)
            ]
            started = time.monotonic()
            try:
                runtime.app.record_reads(chunk)
            except Exception as exc:  # noqa: BLE001 - a refused or timed-out batch is a finding
                errors.append(f"{type(exc).__name__}: {exc}"[:200])
                continue
            marks.append((started, time.monotonic(), len(chunk)))
            if len(marks) == 5:
                ready.set()
    finally:
        out.put({"marks": marks, "errors": errors})
        runtime.close()


def window_rate(marks: list[tuple[float, float, int]], start: float, end: float) -> float:
    """Reads per second ingested within [start, end]: each batch counts in proportion to the part
    of its span (call to return) inside the window, so a short window is not all-or-nothing."""
    total = 0.0
    for begun, done, n in marks:
        inside = min(done, end) - max(begun, start)
        if inside > 0:
            total += n * inside / (done - begun)
    return total / (end - start)


def shred_while_ingesting(
    url: str, data_dir: Path, reads: int, baseline_s: float, after_s: float, ingest_batch: int
) -> dict[str, Any]:
    seed, ingest_seed = 21, 22
    day = datetime.now(UTC).date() - DAY_AGO
    settings = Settings(database_url=url, data_dir=data_dir)
    runtime = build_runtime(settings)
    out: dict[str, Any] = {"reads": reads, "day": day.isoformat()}
    try:
        register_city(runtime.app, seed)
        register_city(runtime.app, ingest_seed)
        spent = 0.0
        sample: list[UUID] = []
        began = time.perf_counter()
        for i, batch in enumerate(batches_on_day(seed, day, reads)):
            t = time.perf_counter()
            ids = runtime.app.record_reads(batch)
            spent += time.perf_counter() - t
            if i % 97 == 0:
                sample.append(ids[i % len(ids)])
            if (i + 1) % 100 == 0:
                log(f"  ingested {(i + 1) * BATCH:,} reads ({(i + 1) * BATCH / spent:,.0f} reads/s)")
        out["day_ingest_reads_per_s"] = reads / spent
        out["day_ingest_wall_s"] = time.perf_counter() - began
        log(f"  {reads:,} reads of {day} in {out['day_ingest_wall_s']:.0f} s; now shredding under ingest")

        # The scheduled job has run before in a live service: its index of holds and cases is
        # current up to its last run. A dry run now brings it there (timed, reported apart).
        t = time.perf_counter()
        runtime.app.run_retention(dry_run=True)
        out["first_run_catch_up_s"] = time.perf_counter() - t
        # The follower keeps the views up with the log in a running service: bring them there now,
        # so the shred below times the purge's own work on them, not a day of catch-up.
        t = time.perf_counter()
        catch_up_all(runtime.app)
        out["views_catch_up_s"] = time.perf_counter() - t
        out["read_index_rows_before"] = read_index_rows(runtime, day)

        ctx = mp.get_context("spawn")
        ready, stop, results = ctx.Event(), ctx.Event(), ctx.Queue()
        proc = ctx.Process(
            target=ingester, args=(url, str(data_dir), ingest_seed, ingest_batch, ready, stop, results)
        )
        proc.start()
        try:
            if not ready.wait(300):
                raise RuntimeError("the ingesting process did not start")
            time.sleep(baseline_s)
            # The follower's last tick before the job: the views hold what the other process
            # ingested during the baseline (a live service lags them by one interval at most).
            tb = time.monotonic()
            catch_up_all(runtime.app)
            out["views_tick_before_shred_s"] = time.monotonic() - tb
            t0 = time.monotonic()
            destroyed, purges = shred_day(runtime, day)
            t1 = time.monotonic()
            time.sleep(after_s)
        finally:
            stop.set()
            report = results.get(timeout=300)
            proc.join(60)
        marks: list[tuple[float, float, int]] = report["marks"]
        shred_s = t1 - t0
        before = window_rate(marks, tb - baseline_s, tb)  # before the follower's tick, too
        during = window_rate(marks, t0, t1)
        # The longest wait of a batch that overlapped the purge: how long ingest stalled.
        overlapping = [done - begun for begun, done, _ in marks if begun < t1 and done > t0]
        purged = sum(1 for rid in sample if is_purged_read(runtime.app.repository.get(rid)))
        out["read_index_rows_after"] = read_index_rows(runtime, day)
        out.update(
            {
                "purges_recorded": purges,
                "shred_s": shred_s,
                "deks_destroyed": destroyed,
                "sample_purged": f"{purged}/{len(sample)}",
                "ingest_before_reads_per_s": before,
                "ingest_during_reads_per_s": during,
                "ingest_after_reads_per_s": window_rate(marks, t1, t1 + after_s),
                "ingest_during_ratio": during / before if before else float("nan"),
                "ingest_max_batch_s_during": max(overlapping, default=0.0),
                "ingest_batch": ingest_batch,
                "ingest_errors": len(report["errors"]),
                "ingest_first_error": report["errors"][0] if report["errors"] else None,
            }
        )
        log(
            f"  shred: {shred_s:.2f} s, {destroyed} keys; ingest {before:,.0f} reads/s before, "
            f"{during:,.0f} during ({out['ingest_during_ratio']:.2f}x); sample purged {purged}/{len(sample)}"
        )
    finally:
        runtime.close()
    return out


def sqlite_url(directory: Path, name: str) -> str:
    return f"sqlite:///{directory / (name + '.db')}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--reads", type=int, default=1_000_000, help="reads on the day that is shredded")
    parser.add_argument("--overhead-reads", type=int, default=30_000, help="reads per sealed/unsealed run")
    parser.add_argument("--repeats", type=int, default=2, help="sealed/unsealed runs, alternated")
    parser.add_argument("--baseline-s", type=float, default=10.0, help="ingest measured before the purge")
    parser.add_argument("--after-s", type=float, default=3.0, help="ingest measured after the purge")
    parser.add_argument("--ingest-batch", type=int, default=200, help="batch size of the other process")
    parser.add_argument("--skip-overhead", action="store_true")
    parser.add_argument("--skip-shred", action="store_true")
    args = parser.parse_args(argv)

    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    tmp = Path(tempfile.mkdtemp(prefix="alpr-bench-retention-"))
    cluster = ThrowawayCluster(durable=True) if "postgres" in backends else None
    if cluster is not None:
        cluster.start()
    results: dict[str, Any] = {
        "date": datetime.now(UTC).date().isoformat(),
        "cpus": os.cpu_count(),
        "reads": args.reads,
        "overhead_reads": args.overhead_reads,
        # Other work on the machine shows here: figures of a loaded machine are not comparable.
        "loadavg_1m_start": os.getloadavg()[0],
    }
    try:
        for backend in backends:
            make_url: Callable[[str], str]
            if backend == "sqlite":
                make_url = functools.partial(sqlite_url, tmp / backend)
            else:
                assert cluster is not None
                make_url = cluster.create_database
            if not args.skip_overhead:
                log(f"{backend}: sealing overhead, {args.overhead_reads:,} reads in batches of {BATCH}")
                for key, value in overhead(
                    make_url, tmp / backend, args.overhead_reads, args.repeats
                ).items():
                    results[f"{backend}_overhead_{key}"] = value
                ratio = results[f"{backend}_overhead_ratio"]
                log(f"  ratio {ratio:.2f}x (target >= {TARGET_OVERHEAD_RATIO}x)")
            if not args.skip_shred:
                log(f"{backend}: shredding a day of {args.reads:,} reads")
                shred = shred_while_ingesting(
                    make_url("shred"),
                    tmp / backend / "data-shred",
                    args.reads,
                    args.baseline_s,
                    args.after_s,
                    args.ingest_batch,
                )
                for key, value in shred.items():
                    results[f"{backend}_shred_{key}"] = value
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    results["loadavg_1m_end"] = os.getloadavg()[0]
    if args.json:
        print(json.dumps(results, indent=2, sort_keys=True, default=str))
    else:
        for key, value in sorted(results.items()):
            print(f"{key:44} {value:,.3f}" if isinstance(value, float) else f"{key:44} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
