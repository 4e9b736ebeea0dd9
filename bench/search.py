"""Search latency of the five NYPD historical search types, and projection catch-up vs ingest.

    python -m bench.search [--reads 1000000] [--backend sqlite|postgres|both] [--queries 40]
                           [--reuse URL DATA_DIR [--ingest-rate R] [--searches-only]]
                           [--skip-together] [--json]

Per backend: a fresh ledger is seeded with ``--reads`` synthetic-city reads through
``AlprLedger.record_reads`` (batches of 1,000; the same path as ``alpr-ledger seed``), timing the
ingest; then every projection catches up from an empty state, timed (events/s, and the ratio to the
ingest rate: the target is >= 1, so views never fall behind). Then "all views caught up together":
every view is dropped and the whole set caught up as the service's follower does it
(``projections.registry.catch_up_all``), once in this process and once shared by 2 processes
(``alpr-ledger projections catch-up --workers 2``); its rate is the log's events brought into
every view per second (the log holds one event per read, plus a few camera registrations), and
its ratio is to the ingest rate of the same run (with ``--reuse``, to ``--ingest-rate``, a rate
measured when that ledger was seeded). Then each search type runs
``--queries`` times through ``AlprLedger.run_search`` — recorded like any search (Requested, then
Executed with count and digest), so the figures include the query log's two writes — with parameters
drawn from reads picked at random positions of the log (so plates, cameras, times and places are
real ones), and p50/p95 are printed. ``--reuse`` points at an existing ledger (e.g. one seeded with
10 million reads ahead of time) instead of seeding.

Targets at 10M reads (issue 6): exact plate p95 < 50 ms; wildcard and confusable p95 < 250 ms;
area + window p95 < 250 ms; associates for a plate with ~100 sightings < 1 s; catch-up >= ingest.
Figures are printed, never asserted: record them in bench/README.md with the date.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from domain.policy import Role
from domain.read import Read
from domain.search import RunSearch
from ops.bootstrap import Runtime, build_runtime
from ops.cli import seed_span
from ops.demo import SyntheticCity, camera_registrations
from ops.settings import Settings

REASON = "benchmark: vehicle seen leaving the burglary at 12 Elm St"
CASE = "25-004211"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def seed(runtime: Runtime, reads: int) -> float:
    """Reads/s through the service, in batches of 1,000."""
    app = runtime.app
    start, vehicles = seed_span(reads, app.policy.read_retention.value)
    city = SyntheticCity(seed=7, start=start, vehicles=vehicles)
    app.register_cameras(camera_registrations(city), by="bench", existing_ok=True)
    pending = []
    started = time.perf_counter()
    done = 0
    for command in city.reads(reads):
        pending.append(command)
        if len(pending) == 1000:
            app.record_reads(pending)
            done += len(pending)
            pending = []
            if done % 200_000 == 0:
                log(f"  seeded {done:,} ({done / (time.perf_counter() - started):,.0f} reads/s)")
    if pending:
        app.record_reads(pending)
    return reads / (time.perf_counter() - started)


def catch_up(runtime: Runtime) -> dict[str, float]:
    """Events/s of each projection catching up from empty."""
    from projections.registry import runners

    out: dict[str, float] = {}
    for name, runner in sorted(runners(runtime.app).items()):
        started = time.perf_counter()
        events = runner.rebuild()  # drop whatever is there and catch up from the empty state
        elapsed = time.perf_counter() - started
        out[name] = events / elapsed if elapsed > 0 and events else 0.0
        log(f"  projection {name}: {events:,} events in {elapsed:.1f} s")
    return out


def _together_worker(url: str, data_dir: str, names: Any, results: Any) -> None:
    """One of the processes of the shared catch-up: takes views off the queue until it is empty."""
    import queue

    from projections.registry import runner

    runtime = build_runtime(Settings(database_url=url, data_dir=Path(data_dir)), run_migrations=False)
    try:
        while True:
            try:
                name = names.get_nowait()
            except queue.Empty:
                break
            results.put((name, runner(runtime.app, name).catch_up()))
    finally:
        runtime.close()


def catch_up_together(runtime: Runtime, url: str, data_dir: Path, workers: int) -> dict[str, float]:
    """Every view dropped, then all caught up: in this process (``workers`` 1, the follower's
    ``catch_up_all``) or shared by ``workers`` processes, the costliest views handed out first."""
    from projections.registry import catch_up_all, ordered_names, runners

    found = runners(runtime.app)
    for r in found.values():
        r.reset()
    top = runtime.app.recorder.max_notification_id() or 0
    started = time.perf_counter()
    if workers == 1:
        applied = sum(catch_up_all(runtime.app).values())
    else:
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        names, results = ctx.Queue(), ctx.Queue()
        for name in ordered_names():
            names.put(name)
        procs = [
            ctx.Process(target=_together_worker, args=(url, str(data_dir), names, results))
            for _ in range(workers)
        ]
        for proc in procs:
            proc.start()
        applied = sum(results.get()[1] for _ in ordered_names())
        for proc in procs:
            proc.join()
        if any(proc.exitcode for proc in procs):
            raise RuntimeError("a catch-up process failed")
    elapsed = time.perf_counter() - started
    lag = max(r.lag() for r in found.values())
    log(f"  all views together, {workers} process(es): {top:,} log events in {elapsed:.1f} s (lag {lag})")
    return {"log_events_per_s": top / elapsed, "view_events_applied": applied, "seconds": elapsed}


def sample_reads(runtime: Runtime, count: int, rng: random.Random) -> list[Read.Captured]:
    """Reads at random positions of the log (decoded: plates open while their keys live)."""
    app = runtime.app
    top = app.recorder.max_notification_id() or 0
    found: list[Read.Captured] = []
    topic = [f"{Read.Captured.__module__}:{Read.Captured.__qualname__}"]
    while len(found) < count:
        start = rng.randint(1, max(1, top))
        page = app.recorder.select_notifications(start, 1, topics=topic)
        if page:
            event = app.mapper.to_domain_event(page[0])
            if isinstance(event, Read.Captured) and isinstance(event.plate, str):
                found.append(event)
    return found


def wildcard(plate: str, rng: random.Random) -> str:
    chars = list(plate)
    chars[rng.randrange(len(chars))] = "?"
    return "".join(chars[: max(3, len(chars) - 2)]) + "*"


_CONFUSE = {
    "0": "O",
    "O": "0",
    "1": "I",
    "I": "1",
    "8": "B",
    "B": "8",
    "5": "S",
    "S": "5",
    "2": "Z",
    "Z": "2",
}


def confused(plate: str) -> str:
    return "".join(_CONFUSE.get(c, c) for c in plate)


def window(read: Read.Captured, hours: float) -> dict[str, str]:
    half = timedelta(hours=hours / 2)
    return {"from": (read.captured_at - half).isoformat(), "to": (read.captured_at + half).isoformat()}


def queries(runtime: Runtime, per_type: int, rng: random.Random) -> dict[str, list[dict[str, Any]]]:
    reads = sample_reads(runtime, per_type * 3, rng)
    fixed = [r for r in reads if r.camera_kind == "fixed"] or reads
    mobile = [r for r in reads if r.patrol_vehicle] or reads
    out: dict[str, list[dict[str, Any]]] = {
        "plate_exact": [{"plate": r.plate} for r in reads[:per_type]],
        "plate_wildcard": [{"plate": wildcard(r.plate, rng)} for r in reads[:per_type]],
        "plate_confusable": [{"plate": confused(r.plate), "confusable": True} for r in reads[:per_type]],
        "fixed_readers": [{"camera_ids": [r.camera_id], **window(r, 2)} for r in fixed[:per_type]],
        "mobile_readers": [
            {"patrol_vehicles": [r.patrol_vehicle], **window(r, 4)} for r in mobile[:per_type]
        ],
        "area": [
            {"circle": {"center": [r.longitude, r.latitude], "radius_m": 300}, **window(r, 24)}
            for r in reads[:per_type]
        ],
        "associates": [{"plate": p, "window_s": 60} for p in plates_seen_about(runtime, 100, per_type)],
    }
    return out


def plates_seen_about(runtime: Runtime, sightings: int, count: int) -> list[str]:
    """Plates whose number of reads is closest to ``sightings`` (the issue's associates target)."""
    from projections.reads import PLATES, READS_TABLE

    with runtime.projections.read() as c:
        c.execute(
            f"SELECT p.plate, n FROM (SELECT plate_id, COUNT(*) AS n FROM {READS_TABLE} GROUP BY plate_id) t"
            f" JOIN {PLATES} p ON p.plate_id = t.plate_id ORDER BY ABS(n - {int(sightings)}), p.plate"
            f" LIMIT {int(count)}"
        )
        rows = c.fetchall()
    log(f"  associates: plates with {min(r[1] for r in rows)}-{max(r[1] for r in rows)} sightings")
    return [r[0] for r in rows]


SEARCH_TYPE = {
    "plate_exact": "plate",
    "plate_wildcard": "plate",
    "plate_confusable": "plate",
    "fixed_readers": "fixed_readers",
    "mobile_readers": "mobile_readers",
    "area": "area",
    "associates": "associates",
}


def run_queries(runtime: Runtime, per_type: int, seed_value: int) -> dict[str, dict[str, float]]:
    app = runtime.app
    account = app.enrol_account(
        f"bench-{os.getpid()}-{seed_value}", "Bench investigator", roles=[Role.INVESTIGATOR], actor="bench"
    )
    app.record_training(account, "ALPR system and policy", trainer="bench", actor="bench")
    token, _ = app.issue_interactive_token(account, actor="bench")
    who = app.authenticate(token)
    rng = random.Random(seed_value)
    results: dict[str, dict[str, float]] = {}
    for label, criteria_list in queries(runtime, per_type, rng).items():
        times: list[float] = []
        counts: list[int] = []
        for criteria in criteria_list:
            request = RunSearch(
                search_type=SEARCH_TYPE[label],
                criteria=criteria,
                purpose="criminal_investigation",
                reason=REASON,
                case_number=CASE,
            )
            started = time.perf_counter()
            result = app.run_search(who, request)
            times.append((time.perf_counter() - started) * 1000)
            counts.append(result.count)
        results[label] = {
            "p50_ms": percentile(times, 0.5),
            "p95_ms": percentile(times, 0.95),
            "max_ms": max(times),
            "median_results": statistics.median(counts),
        }
        log(f"  {label}: p50 {results[label]['p50_ms']:.1f} ms, p95 {results[label]['p95_ms']:.1f} ms")
    return results


def bench_backend(
    url: str,
    data_dir: Path,
    reads: int,
    per_type: int,
    *,
    reuse: bool,
    ingest_rate: float | None = None,
    together: bool = True,
    rebuild: bool = True,
) -> dict[str, Any]:
    runtime = build_runtime(Settings(database_url=url, data_dir=data_dir))
    try:
        out: dict[str, Any] = {"reads": reads}
        if not reuse:
            out["ingest_reads_per_s"] = seed(runtime, reads)
            log(f"  ingest {out['ingest_reads_per_s']:,.0f} reads/s")
        elif ingest_rate:
            out["ingest_reads_per_s"] = ingest_rate
            out["ingest_measured_when_seeding"] = True
        if rebuild:
            rates = catch_up(runtime)
            out["catch_up_events_per_s"] = rates
            if "ingest_reads_per_s" in out and rates.get("reads"):
                out["catch_up_vs_ingest"] = rates["reads"] / out["ingest_reads_per_s"]
        if together and rebuild:
            for workers in (1, 2):
                figures = catch_up_together(runtime, url, data_dir, workers)
                if "ingest_reads_per_s" in out:
                    figures["vs_ingest"] = figures["log_events_per_s"] / out["ingest_reads_per_s"]
                out[f"all_views_workers_{workers}"] = figures
        out["searches"] = run_queries(runtime, per_type, seed_value=11)
        return out
    finally:
        runtime.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reads", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--queries", type=int, default=40, help="queries per search type")
    parser.add_argument("--reuse", nargs=2, metavar=("URL", "DATA_DIR"), help="an already seeded ledger")
    parser.add_argument(
        "--ingest-rate",
        type=float,
        metavar="R",
        help="with --reuse: the reads/s measured when that ledger was seeded (catch-up is compared to it)",
    )
    parser.add_argument("--skip-together", action="store_true", help="skip the all-views-together figure")
    parser.add_argument(
        "--searches-only",
        action="store_true",
        help="with --reuse: keep the views as they are (caught up, not rebuilt); time the searches",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    results: dict[str, Any] = {"date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count()}
    if args.reuse:
        url, data = args.reuse
        results["reused"] = bench_backend(
            url,
            Path(data),
            args.reads,
            args.queries,
            reuse=True,
            ingest_rate=args.ingest_rate,
            together=not args.skip_together,
            rebuild=not args.searches_only,
        )
    else:
        work = Path(tempfile.mkdtemp(prefix="alpr-bench-search-"))
        backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
        for backend in backends:
            log(f"{backend}: {args.reads:,} reads")
            if backend == "sqlite":
                results[backend] = bench_backend(
                    f"sqlite:///{work / 'ledger.db'}",
                    work / "sqlite-data",
                    args.reads,
                    args.queries,
                    reuse=False,
                    together=not args.skip_together,
                )
                continue
            from ops.pgcluster import ThrowawayCluster

            cluster = ThrowawayCluster(durable=True)
            cluster.start()
            try:
                url = cluster.create_database("bench_search")
                results[backend] = bench_backend(
                    url,
                    work / "pg-data",
                    args.reads,
                    args.queries,
                    reuse=False,
                    together=not args.skip_together,
                )
            finally:
                cluster.stop()
    print(json.dumps(results, indent=2, default=str) if args.json else _table(results))
    return 0


def _table(results: dict[str, Any]) -> str:
    lines = [f"date {results['date']}  cpus {results['cpus']}"]
    for backend, figures in results.items():
        if not isinstance(figures, dict):
            continue
        lines.append(f"\n{backend} ({figures.get('reads', 0):,} reads)")
        if "ingest_reads_per_s" in figures:
            lines.append(f"  ingest                 {figures['ingest_reads_per_s']:>12,.0f} reads/s")
        for name, rate in figures.get("catch_up_events_per_s", {}).items():
            lines.append(f"  catch-up {name:<14}{rate:>12,.0f} events/s")
        if "catch_up_vs_ingest" in figures:
            lines.append(f"  catch-up vs ingest     {figures['catch_up_vs_ingest']:>12.2f}x (target >= 1)")
        for workers in (1, 2):
            t = figures.get(f"all_views_workers_{workers}")
            if t:
                ratio = f"  {t['vs_ingest']:.2f}x ingest" if "vs_ingest" in t else ""
                lines.append(
                    f"  all views, {workers} proc(s)  {t['log_events_per_s']:>12,.0f} log events/s{ratio}"
                )
        for label, f in figures.get("searches", {}).items():
            lines.append(
                f"  {label:<18} p50 {f['p50_ms']:>8.1f} ms  p95 {f['p95_ms']:>8.1f} ms  "
                f"max {f['max_ms']:>8.1f} ms  median results {f['median_results']:>8.0f}"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
