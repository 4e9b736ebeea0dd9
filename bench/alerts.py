"""Alert benchmark: read-to-alert latency at 1,000 reads/s against 100,000 hotlist entries.

    python -m bench.alerts [--json] [--seconds 30] [--rate 1000] [--entries 100000]

For each backend (SQLite file in a temp dir; a throwaway PostgreSQL cluster with fsync on), in one
run on this machine:

1. a hotlist of ``--entries`` entries is created and imported from a generated CSV through the
   service; a fraction of the synthetic city's vehicles is among them, so hits occur;
2. the city's cameras are registered and an officer with training gets a bearer token;
3. the API is started in a separate process (uvicorn on 127.0.0.1) and a real SSE client
   connects to ``GET /v1/alerts/stream``;
4. this process ingests city reads through the service at ``--rate`` reads/s in paced batches
   (100 reads every 100 ms at the default rate), each read stamped ``captured_at`` = now;
5. read-to-alert latency = when the client received the alert - the read's ``captured_at``.

The server is another process, so every alert crosses from the ingesting process to the
streaming one through the database, as it does in production with several workers.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from domain.account import AccountKind
from domain.camera import RegisterCamera
from domain.policy import Role
from ops.bootstrap import Runtime, build_runtime
from ops.demo import SyntheticCity, random_plate
from ops.pgcluster import ThrowawayCluster, free_port
from ops.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[1]
BATCH_INTERVAL_S = 0.1
SEEDED_VEHICLE_FRACTION = 0.01  # share of the city's vehicles on the hotlist
TARGET_P95_S = 1.0


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def server_app() -> Any:
    """uvicorn factory for the API process: settings from the ALPR_ environment."""
    from api.main import create_app

    return create_app(build_runtime(Settings(), run_migrations=False))


# --------------------------------------------------------------------------------------------
# Setup through the service
# --------------------------------------------------------------------------------------------


def hotlist_csv(city: SyntheticCity, entries: int, rng: random.Random) -> tuple[str, int]:
    """A CSV of ``entries`` distinct plates, a few of them the city's vehicles; and how many."""
    vehicles = city.vehicles()
    seeded = rng.sample(vehicles, max(1, int(len(vehicles) * SEEDED_VEHICLE_FRACTION)))
    rows: dict[tuple[str, str], str] = {(v.plate, v.state): "stolen vehicle" for v in seeded}
    states = ["NY"] * 85 + ["PA"] * 4 + ["NJ"] * 3 + ["MA"] * 3 + ["OH"] * 3 + ["ON"] * 2
    reasons = ["stolen vehicle", "stolen plate", "wanted person", "suspended registration"]
    while len(rows) < entries:
        state = rng.choice(states)
        rows.setdefault((random_plate(state, rng), state), rng.choice(reasons))
    lines = ["plate,state,reason"] + [f"{p},{s},{r}" for (p, s), r in rows.items()]
    return "\n".join(lines) + "\n", len(seeded)


def register_cameras(runtime: Runtime, city: SyntheticCity) -> int:
    commands = [
        RegisterCamera(
            camera_id=spec.camera_id,
            kind=spec.kind.value,
            latitude=spec.location.latitude,
            longitude=spec.location.longitude,
            agency="Syracuse PD (synthetic)",
            description=f"synthetic {spec.kind.value} camera",
            patrol_vehicle=spec.patrol_vehicle,
        )
        for spec in city.cameras()
    ]
    return len(runtime.app.register_cameras(commands, by="bench", existing_ok=True))


def officer_token(runtime: Runtime) -> str:
    app = runtime.app
    account_id = app.enrol_account(
        "bench.officer", "Bench officer", roles=[Role.OFFICER], kind=AccountKind.PERSON, actor="bench"
    )
    app.record_training(account_id, "ALPR system and policy", trainer="bench", actor="bench")
    token, _ = app.issue_interactive_token(account_id, actor="bench")
    return token


# --------------------------------------------------------------------------------------------
# The API process and the SSE client
# --------------------------------------------------------------------------------------------


class ApiServer:
    """``uvicorn bench.alerts:server_app`` in a child process on 127.0.0.1."""

    def __init__(self, settings: Settings) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "ALPR_DATABASE_URL": settings.database_url,
            "ALPR_DATA_DIR": str(settings.data_dir),
            "ALPR_CHECKPOINT_INTERVAL_S": "3600",
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "bench.alerts:server_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
                "--timeout-graceful-shutdown",
                "3",
            ],
            cwd=PROJECT_ROOT,
            env=env,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.base_url}/openapi.json", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the API server did not start")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def sse_events(lines: Iterator[str]) -> Iterator[dict[str, str]]:
    event: dict[str, str] = {}
    for line in lines:
        if not line:
            if "data" in event:
                yield event
            event = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            event[name] = value.removeprefix(" ")


class AlertListener(threading.Thread):
    """An officer's SSE client: records each alert with the wall-clock time it arrived."""

    def __init__(self, base_url: str, token: str) -> None:
        super().__init__(daemon=True)
        self.url = f"{base_url}/v1/alerts/stream"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.connected = threading.Event()
        self.received: list[tuple[float, dict[str, Any]]] = []
        self.error: BaseException | None = None
        self._client = httpx.Client(timeout=httpx.Timeout(10.0, read=None))
        self._response: httpx.Response | None = None

    def run(self) -> None:
        try:
            with self._client.stream("GET", self.url, headers=self.headers) as response:
                response.raise_for_status()
                self._response = response
                self.connected.set()
                for event in sse_events(response.iter_lines()):
                    self.received.append((time.time(), json.loads(event["data"])))
        except (httpx.HTTPError, RuntimeError) as exc:  # closed under us at the end: expected
            self.error = exc
        finally:
            self.connected.set()

    def close(self) -> None:
        """Hang up, as an officer's client does; the server's stream ends with the connection."""
        if self._response is not None:
            # httpx cannot close a response another thread is reading; shutting the socket
            # down ends that read, as a network drop or a closed laptop would.
            sock = self._response.extensions["network_stream"].get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        self.join(5)
        self._client.close()


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def run_backend(name: str, database_url: str, tmp: Path, args: argparse.Namespace) -> dict[str, Any]:
    settings = Settings(database_url=database_url, data_dir=tmp / f"data-{name}", checkpoint_interval_s=3600)
    runtime = build_runtime(settings)
    try:
        rng = random.Random(11)
        city = SyntheticCity(seed=11, start=datetime(2025, 3, 3, 5, tzinfo=UTC))
        csv, seeded = hotlist_csv(city, args.entries, rng)
        started = time.perf_counter()
        hotlist_id = runtime.app.create_hotlist(
            "NCIC extract (synthetic)", "ncic", provenance="bench generator", actor="bench"
        )
        runtime.app.import_hotlist_csv(hotlist_id, csv, version="bench-1", actor="bench")
        import_s = time.perf_counter() - started
        started = time.perf_counter()
        indexed = len(runtime.app.hotlist_index())  # warm the ingest process's index
        index_s = time.perf_counter() - started
        log(f"[{name}] hotlist: {indexed} entries ({seeded} city vehicles) imported in {import_s:.1f} s")
        cameras = register_cameras(runtime, city)
        token = officer_token(runtime)

        server = ApiServer(settings)
        listener = AlertListener(server.base_url, token)
        try:
            listener.start()
            if not listener.connected.wait(30) or listener.error is not None:
                raise RuntimeError(f"SSE client could not connect: {listener.error!r}")
            result = ingest(runtime, city, args)
            deadline = time.monotonic() + 5
            while len(listener.received) < result["hits"] and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            listener.close()
            server.stop()
    finally:
        runtime.close()

    raised_hits: set[str] = result.pop("hit_ids")
    latencies: list[float] = []
    delivery: list[float] = []
    for arrived, alert in listener.received:
        if alert["hit_id"] not in raised_hits:
            continue
        latencies.append(arrived - datetime.fromisoformat(alert["captured_at"]).timestamp())
        delivery.append(arrived - datetime.fromisoformat(alert["raised_at"]).timestamp())
    return {
        "backend": name,
        "hotlist_entries": indexed,
        "hotlist_import_s": round(import_s, 2),
        "hotlist_index_build_s": round(index_s, 2),
        "cameras": cameras,
        **result,
        "alerts_delivered": len(latencies),
        "read_to_alert_ms": {
            "p50": round(percentile(latencies, 0.50) * 1000, 1),
            "p95": round(percentile(latencies, 0.95) * 1000, 1),
            "max": round(max(latencies, default=float("nan")) * 1000, 1),
        },
        "raised_to_alert_ms": {
            "p50": round(percentile(delivery, 0.50) * 1000, 1),
            "p95": round(percentile(delivery, 0.95) * 1000, 1),
            "max": round(max(delivery, default=float("nan")) * 1000, 1),
        },
        "target_p95_met": bool(latencies) and percentile(latencies, 0.95) < TARGET_P95_S,
    }


def ingest(runtime: Runtime, city: SyntheticCity, args: argparse.Namespace) -> dict[str, Any]:
    """Paced batches for ``args.seconds``; reads are stamped with the time they are sent."""
    per_batch = max(1, round(args.rate * BATCH_INTERVAL_S))
    batches = round(args.seconds / BATCH_INTERVAL_S)
    source = city.reads(per_batch * batches)
    hit_ids: set[str] = set()
    batch_ms: list[float] = []
    late = 0
    reads = 0
    t0 = time.perf_counter()
    for k in range(batches):
        due = t0 + k * BATCH_INTERVAL_S
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        elif wait < -BATCH_INTERVAL_S:
            late += 1
        now = datetime.now(UTC)
        batch = [
            dataclasses.replace(r, captured_at=now, capture_id=f"bench-{k}-{i}")
            for i, r in enumerate(next(source) for _ in range(per_batch))
        ]
        started = time.perf_counter()
        result = runtime.app.ingest_reads(batch)
        batch_ms.append((time.perf_counter() - started) * 1000)
        hit_ids.update(str(h) for h in result.hit_ids)
        reads += len(batch)
    elapsed = time.perf_counter() - t0
    log(f"ingested {reads} reads in {elapsed:.1f} s; {len(hit_ids)} hits")
    return {
        "reads": reads,
        "ingest_seconds": round(elapsed, 2),
        "achieved_reads_per_s": round(reads / elapsed, 1),
        "batch_size": per_batch,
        "batch_ms": {"p50": round(percentile(batch_ms, 0.5), 1), "p95": round(percentile(batch_ms, 0.95), 1)},
        "late_batches": late,
        "hits": len(hit_ids),
        "hit_ids": hit_ids,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long to ingest (default 30)")
    parser.add_argument("--rate", type=float, default=1000.0, help="reads per second (default 1000)")
    parser.add_argument("--entries", type=int, default=100_000, help="hotlist entries (default 100000)")
    parser.add_argument("--backends", default="sqlite,postgres", help="comma-separated: sqlite,postgres")
    args = parser.parse_args(argv)

    results: dict[str, Any] = {
        "date": datetime.now(UTC).date().isoformat(),
        "cpus": os.cpu_count(),
        "rate_target": args.rate,
        "hotlist_entries": args.entries,
        "backends": [],
    }
    with tempfile.TemporaryDirectory(prefix="alpr-bench-alerts-") as tmp_name:
        tmp = Path(tmp_name)
        backends = [b.strip() for b in args.backends.split(",") if b.strip()]
        for backend in backends:
            if backend == "sqlite":
                results["backends"].append(run_backend("sqlite", f"sqlite:///{tmp / 'alerts.db'}", tmp, args))
            elif backend == "postgres":
                cluster = ThrowawayCluster(durable=True)
                url = cluster.start()
                try:
                    results["backends"].append(run_backend("postgres", url, tmp, args))
                finally:
                    cluster.stop()
            else:
                parser.error(f"unknown backend {backend!r}")

    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print_table(results)
    return 0


def print_table(results: dict[str, Any]) -> None:
    print(
        f"alert benchmark {results['date']} ({results['cpus']} CPUs), "
        f"target {results['rate_target']:.0f} reads/s"
    )
    for r in results["backends"]:
        lat, dlv = r["read_to_alert_ms"], r["raised_to_alert_ms"]
        print(
            f"  {r['backend']:<9} hotlist {r['hotlist_entries']:,} entries "
            f"(import {r['hotlist_import_s']} s); "
            f"{r['reads']:,} reads in {r['ingest_seconds']} s = {r['achieved_reads_per_s']:,} reads/s "
            f"(batch p50 {r['batch_ms']['p50']} ms, p95 {r['batch_ms']['p95']} ms, late {r['late_batches']})"
        )
        print(
            f"  {'':<9} {r['hits']} hits, {r['alerts_delivered']} alerts delivered; read-to-alert p50 "
            f"{lat['p50']} ms, p95 {lat['p95']} ms, max {lat['max']} ms "
            f"(raised-to-alert p50 {dlv['p50']} ms, p95 {dlv['p95']} ms); "
            f"p95 < 1 s: {'yes' if r['target_p95_met'] else 'NO'}"
        )


if __name__ == "__main__":
    sys.exit(main())
