"""Ledger benchmark: chained vs plain recorders, read ingest, verification and proofs.

    python -m bench.ledger [--json] [--leaves 1000000] [--events 20000]

Everything is measured in one run on this machine: SQLite files in a temp dir and a throwaway
PostgreSQL cluster (fsync on, as in production) started and stopped here. Ratios compare figures
from the same run, never a number remembered from elsewhere.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

from eventsourcing.persistence import ApplicationRecorder, InfrastructureFactory, StoredEvent
from eventsourcing.utils import Environment

from domain.read import RecordRead
from ledger.audit import audit
from ledger.bundle import export_bundle
from ledger.verify import verify_consistency, verify_inclusion
from ledger.verify._bundle import verify_bundle
from ops.bootstrap import build_runtime, persistence_env
from ops.demo import SyntheticCity, camera_registrations
from ops.keys import open_keystore
from ops.pgcluster import ThrowawayCluster
from ops.service import AlprLedger
from ops.settings import Settings

TOPIC = "domain.read:Read.Captured"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def stored_events(n: int, state_size: int = 400) -> list[StoredEvent]:
    rng = random.Random(n)
    return [StoredEvent(uuid4(), 1, TOPIC, rng.randbytes(state_size)) for _ in range(n)]


def recorder(url: str, *, chained: bool) -> ApplicationRecorder:
    env = persistence_env(url, create_table=True)
    if not chained:
        del env["APPLICATION_RECORDER_TOPIC"]
    factory = InfrastructureFactory.construct(Environment("AlprLedger", env))
    return factory.application_recorder()


def rate(n: int, fn: Callable[[], None]) -> float:
    started = time.perf_counter()
    fn()
    return n / (time.perf_counter() - started)


def insert_rate(rec: ApplicationRecorder, events: Sequence[StoredEvent], batch: int) -> float:
    def run() -> None:
        for i in range(0, len(events), batch):
            rec.insert_events(events[i : i + batch])

    return rate(len(events), run)


def recorders_compare(urls: dict[str, str], events: int, singles: int) -> dict[str, float]:
    out: dict[str, float] = {}
    for backend, make_url in urls.items():
        for kind, chained in (("plain", False), ("chained", True)):
            rec = recorder(make_url(f"{kind}_batch"), chained=chained)  # type: ignore[operator]
            out[f"{backend}_{kind}_eps"] = insert_rate(rec, stored_events(events), 500)
            rec_single = recorder(make_url(f"{kind}_single"), chained=chained)  # type: ignore[operator]
            out[f"{backend}_{kind}_single_eps"] = insert_rate(rec_single, stored_events(singles), 1)
            log(
                f"{backend} {kind}: batch {out[f'{backend}_{kind}_eps']:,.0f} ev/s, "
                f"single {out[f'{backend}_{kind}_single_eps']:,.0f} ev/s"
            )
        out[f"{backend}_ratio"] = out[f"{backend}_chained_eps"] / out[f"{backend}_plain_eps"]
        out[f"{backend}_single_ratio"] = (
            out[f"{backend}_chained_single_eps"] / out[f"{backend}_plain_single_eps"]
        )
    return out


def ingest_reads(url: str, data_dir: Path, reads: int, *, chained: bool = True) -> float:
    """Reads/s through AlprLedger.record_reads (validation, aggregates, mapping, save)."""
    if chained:
        runtime = build_runtime(Settings(database_url=url, data_dir=data_dir))
        app, close = runtime.app, runtime.close
    else:
        env = persistence_env(url, create_table=True)
        del env["APPLICATION_RECORDER_TOPIC"]
        # Sealed like the chained service, so the ratio isolates the ledger's cost.
        keystore = open_keystore(Settings(database_url=url, data_dir=data_dir))
        app = AlprLedger(env=env, keystore=keystore)

        def close() -> None:
            app.close()
            keystore.close()

    city = SyntheticCity(seed=11, start=datetime.now(UTC) - timedelta(days=3))
    app.register_cameras(camera_registrations(city), by="bench", existing_ok=True)
    batches: list[list[RecordRead]] = []  # generated up front: we time the service, not the city
    pending: list[RecordRead] = []
    for command in city.reads(reads):
        pending.append(command)
        if len(pending) == 500:
            batches.append(pending)
            pending = []
    if pending:
        batches.append(pending)

    def run() -> None:
        for batch in batches:
            app.record_reads(batch)

    result = rate(reads, run)
    close()
    return result


def big_log(url: str, data_dir: Path, leaves: int) -> dict[str, float]:
    rec = recorder(url, chained=True)
    chunk = 10_000
    started = time.perf_counter()
    for done in range(0, leaves, chunk):
        rec.insert_events(stored_events(min(chunk, leaves - done), 120))
        if done and done % 200_000 == 0:
            log(f"  built {done:,} leaves")
    build_s = time.perf_counter() - started
    runtime = build_runtime(Settings(database_url=url, data_dir=data_dir))
    store = runtime.ledger
    size = store.size()
    rng = random.Random(1)
    root = store.root_at(size)

    serve_incl, verify_incl, serve_cons, verify_cons = [], [], [], []
    for _ in range(200):
        index = rng.randrange(size)
        t0 = time.perf_counter()
        leaf, proof = store.inclusion_proof(index, size)
        t1 = time.perf_counter()
        verify_inclusion(leaf, index, size, proof, root)
        t2 = time.perf_counter()
        serve_incl.append(t1 - t0)
        verify_incl.append(t2 - t1)
        older = rng.randrange(1, size)
        old_root = store.root_at(older)
        t0 = time.perf_counter()
        cproof = store.consistency_proof(older, size)
        t1 = time.perf_counter()
        verify_consistency(older, size, cproof, old_root, root)
        t2 = time.perf_counter()
        serve_cons.append(t1 - t0)
        verify_cons.append(t2 - t1)

    def ms(values: list[float]) -> float:
        return statistics.median(values) * 1000

    vkey = runtime.checkpointer.signer.vkey
    runtime.checkpointer.checkpoint()
    started = time.perf_counter()
    report = audit(store, vkey)
    verify_s = time.perf_counter() - started
    assert report.ok, report.problems
    started = time.perf_counter()
    entries_only = audit(store, vkey, check_events=False)
    verify_entries_s = time.perf_counter() - started
    assert entries_only.ok

    bundle = data_dir / "bundle"
    export_bundle(store, origin=runtime.settings.log_origin, vkey=vkey, size=size, out=bundle)
    started = time.perf_counter()
    verify_bundle(bundle, vkey=vkey)
    bundle_s = time.perf_counter() - started

    entries = [e for _, e, _, _ in store.iter_ledger()]
    sha256 = hashlib.sha256
    started = time.perf_counter()
    c = bytes(32)
    for e in entries:
        c = sha256(c + sha256(b"\x00" + e).digest()).digest()
    raw_s = time.perf_counter() - started
    runtime.close()
    return {
        "leaves": size,
        "build_eps": size / build_s,
        "inclusion_serve_ms": ms(serve_incl),
        "inclusion_verify_ms": ms(verify_incl),
        "consistency_serve_ms": ms(serve_cons),
        "consistency_verify_ms": ms(verify_cons),
        "proof_serve_p95_ms": sorted(serve_incl + serve_cons)[int(0.95 * 400)] * 1000,
        "verify_eps": size / verify_s,
        "verify_entries_only_eps": size / verify_entries_s,
        "verify_bundle_eps": size / bundle_s,
        "raw_hash_eps": size / raw_s,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--events", type=int, default=20_000, help="events per recorder comparison")
    parser.add_argument("--singles", type=int, default=1_000, help="events saved one at a time")
    parser.add_argument("--reads", type=int, default=20_000, help="reads through record_reads")
    parser.add_argument("--leaves", type=int, default=1_000_000, help="log size for proofs/verify")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="alpr-bench-"))
    cluster = ThrowawayCluster(durable=True)
    cluster.start()
    try:
        urls = {
            "sqlite": lambda name: f"sqlite:///{tmp / (name + '.db')}",
            "postgres": lambda name: cluster.create_database(name),
        }
        results: dict[str, object] = {"date": datetime.now(UTC).date().isoformat(), "cpus": os.cpu_count()}
        results.update(recorders_compare(urls, args.events, args.singles))
        for backend, make_url in urls.items():
            data = tmp / f"data-{backend}"
            r = ingest_reads(make_url("reads"), data, args.reads)  # type: ignore[operator]
            plain = ingest_reads(make_url("reads_plain"), data, args.reads, chained=False)  # type: ignore[operator]
            results[f"{backend}_reads_per_s"] = r
            results[f"{backend}_plain_reads_per_s"] = plain
            results[f"{backend}_reads_ratio"] = r / plain
            log(f"{backend} record_reads batches of 500: {r:,.0f} reads/s (plain recorder {plain:,.0f})")
        log(f"building a {args.leaves:,}-leaf log on SQLite ...")
        big = big_log(urls["sqlite"]("big"), tmp / "data-big", args.leaves)  # type: ignore[operator]
        results.update({f"big_{k}": v for k, v in big.items()})
        results["verify_eps"] = big["verify_eps"]
        results["raw_hash_eps"] = big["raw_hash_eps"]
        results["verify_ratio"] = big["verify_eps"] / big["raw_hash_eps"]
        results["verify_entries_only_ratio"] = big["verify_entries_only_eps"] / big["raw_hash_eps"]
        results["verify_bundle_ratio"] = big["verify_bundle_eps"] / big["raw_hash_eps"]
        results["proof_ms"] = {
            "inclusion_serve": big["inclusion_serve_ms"],
            "inclusion_verify": big["inclusion_verify_ms"],
            "consistency_serve": big["consistency_serve_ms"],
            "consistency_verify": big["consistency_verify_ms"],
        }
    finally:
        cluster.stop()
    if args.json:
        print(json.dumps(results, indent=2, sort_keys=True))
    else:
        for key, value in sorted(results.items()):
            print(f"{key:32} {value:,.3f}" if isinstance(value, float) else f"{key:32} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
