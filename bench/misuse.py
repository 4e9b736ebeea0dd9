"""Cost of one misuse check (``AlprLedger.raise_misuse_flags``) over a day of N searches.

    python -m bench.misuse [--searches 10000 50000] [--backend sqlite|postgres|both] [--json]

Per backend and N: a fresh ledger gets N executed searches on one UTC day, saved through the
application service in batches of 1,000 (sealed criteria, like any search): 70 % plate searches
over a pool of N/2 plates (so some plates repeat), 10 % associates, 20 % area, by 200 accounts
under 300 case numbers, plus three planted searches of one plate by one account (one flag). The
``query_log`` view is caught up first (timed on its own), then the check runs twice over the day as
the scheduler would once the day has ended: the first run raises the flags, the second finds the
same ones and raises nothing (the cost of a repeated hourly run). Figures are printed, never asserted:
record them in bench/README.md with the date.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import ops.misuse  # noqa: F401 - loaded up front: a run measures the code it started with
import projections.reports  # noqa: F401
from domain.policy import Role
from domain.search import RunSearch, Search, parse_search
from ops.bootstrap import Runtime, build_runtime
from ops.settings import Settings
from projections.registry import runner

REASON = "benchmark: vehicle seen leaving the burglary at 12 Elm St"
BATCH = 1000
ACCOUNTS = 200
CASES = 300
LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _search(
    account: tuple[UUID, str], when: datetime, kind: str, criteria: dict[str, Any], case: str
) -> Search:
    parsed = parse_search(RunSearch(kind, criteria, "criminal_investigation", REASON, case))
    s = Search.request(
        parsed, account_id=account[0], login=account[1], roles=[Role.INVESTIGATOR], profile="bench", at=when
    )
    s.execute([], at=when)
    return s


def _criteria(kind: str, plate: str) -> dict[str, Any]:
    if kind == "area":
        return {"circle": {"center": [40.7, -74.0], "radius_m": 300}}
    if kind == "associates":
        return {"plate": plate, "window_s": 120}
    return {"plate": plate}


def seed(runtime: Runtime, day: date, n: int, rng: random.Random) -> float:
    """Searches/s saved through the service."""
    accounts = [(uuid4(), f"bench-{i:03d}") for i in range(ACCOUNTS)]
    plates = ["".join(rng.choice(LETTERS) for _ in range(7)) for _ in range(max(1, n // 2))]
    cases = [f"26-{i:06d}" for i in range(CASES)]
    start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    batch: list[Search] = []
    t0 = time.perf_counter()
    for i in range(n):
        when = start + timedelta(seconds=rng.randrange(8 * 3600, 20 * 3600), microseconds=i)
        roll = rng.random()
        kind = "plate" if roll < 0.7 else "associates" if roll < 0.8 else "area"
        batch.append(
            _search(rng.choice(accounts), when, kind, _criteria(kind, rng.choice(plates)), rng.choice(cases))
        )
        if len(batch) == BATCH:
            runtime.app.save(*batch)
            batch = []
    for hour in (9, 12, 15):  # the planted pattern: one account, one plate, three times
        when = start + timedelta(hours=hour)
        batch.append(_search(accounts[0], when, "plate", {"plate": "QQ77Q7"}, cases[0]))
    runtime.app.save(*batch)
    return (n + 3) / (time.perf_counter() - t0)


def bench_backend(url: str, data_dir: Path, n: int) -> dict[str, Any]:
    runtime = build_runtime(Settings(database_url=url, data_dir=data_dir))
    try:
        day = datetime.now(UTC).date() - timedelta(days=2)
        out: dict[str, Any] = {"searches": n}
        out["save_searches_per_s"] = seed(runtime, day, n, random.Random(n))
        t0 = time.perf_counter()
        runner(runtime.app, "query_log").catch_up()
        out["query_log_catch_up_s"] = time.perf_counter() - t0
        runtime.app.clock = lambda: datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        t0 = time.perf_counter()
        raised = runtime.app.raise_misuse_flags(day)
        out["first_check_s"] = time.perf_counter() - t0
        out["flags"] = len(raised)
        t0 = time.perf_counter()
        again = runtime.app.raise_misuse_flags(day)
        out["repeat_check_s"] = time.perf_counter() - t0
        out["flags_again"] = len(again)
        log(
            f"  {n:,}: first check {out['first_check_s']:.2f} s ({len(raised)} flags),"
            f" repeat {out['repeat_check_s']:.2f} s"
        )
        return out
    finally:
        runtime.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--searches", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count()}
    work = Path(tempfile.mkdtemp(prefix="alpr-bench-misuse-"))
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    for backend in backends:
        results[backend] = []
        if backend == "sqlite":
            for n in args.searches:
                log(f"sqlite: {n:,} searches")
                results[backend].append(
                    bench_backend(f"sqlite:///{work / f'ledger-{n}.db'}", work / f"sqlite-{n}", n)
                )
            continue
        from ops.pgcluster import ThrowawayCluster

        cluster = ThrowawayCluster(durable=True)
        cluster.start()
        try:
            for n in args.searches:
                log(f"postgres: {n:,} searches")
                url = cluster.create_database(f"bench_misuse_{n}")
                results[backend].append(bench_backend(url, work / f"pg-{n}", n))
        finally:
            cluster.stop()
    print(json.dumps(results, indent=2, default=str) if args.json else _table(results))
    return 0


def _table(results: dict[str, Any]) -> str:
    lines = [f"date {results['date']}  cpus {results['cpus']}"]
    for backend, runs in results.items():
        if not isinstance(runs, list):
            continue
        for f in runs:
            lines.append(
                f"{backend:<9}{f['searches']:>7,} searches  save {f['save_searches_per_s']:>7,.0f}/s  "
                f"view catch-up {f['query_log_catch_up_s']:>6.2f} s  "
                f"check {f['first_check_s']:>6.2f} s ({f['flags']} flags)  "
                f"repeat {f['repeat_check_s']:>6.2f} s"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
