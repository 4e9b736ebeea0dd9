"""Several writer processes, and writers killed with SIGKILL mid-batch: the log stays gap-free,
holds whole batches only, keeps every acknowledged batch, and verifies."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from ledger.audit import audit
from ops.bootstrap import Runtime
from tests.ledger_support import RawDatabase

ROOT = Path(__file__).resolve().parent.parent


def _writer(
    url: str, data_dir: Path, name: str, batches: int, per_batch: int, *, barrier: bool = False
) -> subprocess.Popen[str]:
    args = [url, str(data_dir), name, str(batches), str(per_batch)]
    return subprocess.Popen(
        [sys.executable, "-m", "tests.writer", *args, *(["--wait-for-go"] if barrier else [])],
        cwd=ROOT,
        stdin=subprocess.PIPE if barrier else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )


def _batches_in_store(raw: RawDatabase) -> Counter[str]:
    counts: Counter[str] = Counter()
    for (state,) in raw.execute(f"SELECT state FROM {raw.events}"):
        counts[json.loads(bytes(state))["batch"]] += 1
    return counts


def _assert_gap_free_and_verifies(runtime: Runtime, expected: int) -> None:
    assert runtime.ledger.size() == expected
    indices = [i for i, _ in runtime.ledger.entries(0, expected + 10)] if expected <= 1000 else None
    if indices is not None:
        assert indices == list(range(expected))
    report = audit(runtime.ledger, runtime.checkpointer.signer.vkey)
    assert report.ok, report.problems
    assert report.size == expected


@pytest.mark.slow
def test_concurrent_writers_leave_gap_free_verifiable_log_when_four_processes_append(
    runtime: Runtime, database_url: str
) -> None:
    writers, batches, per_batch = 4, 30, 50
    procs = [
        _writer(database_url, runtime.settings.data_dir, f"w{i}", batches, per_batch, barrier=True)
        for i in range(writers)
    ]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
        assert out.count("ack ") == batches
    total = writers * batches * per_batch
    counts = _batches_in_store(RawDatabase(database_url))
    assert len(counts) == writers * batches and set(counts.values()) == {per_batch}
    _assert_gap_free_and_verifies(runtime, total)
    # Batches from different writers interleave only at batch boundaries.
    keys = [
        json.loads(bytes(s))["batch"]
        for (s,) in RawDatabase(database_url).execute(
            f"SELECT state FROM {RawDatabase(database_url).events} ORDER BY {RawDatabase(database_url).order}"
        )
    ]
    runs = [k for i, k in enumerate(keys) if i == 0 or keys[i - 1] != k]
    assert len(runs) == writers * batches
    # The writers really overlapped: the order of batches switches between writers often.
    switches = sum(1 for a, b in zip(runs, runs[1:], strict=False) if a.split("-")[0] != b.split("-")[0])
    assert switches >= writers, f"writers barely overlapped ({switches} switches)"


@pytest.mark.slow
def test_killed_writers_leave_only_whole_acknowledged_batches_when_sigkilled_mid_batch(
    runtime: Runtime, database_url: str
) -> None:
    rng = random.Random(2026)
    per_batch = 300
    acked: set[str] = set()
    for round_no in range(12):
        proc = _writer(database_url, runtime.settings.data_dir, f"k{round_no}", 1000, per_batch)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.05, 0.6))
        os.kill(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate(timeout=60)
        acked.update(line.split()[1] for line in out.splitlines() if line.startswith("ack "))
    counts = _batches_in_store(RawDatabase(database_url))
    assert acked <= set(counts), "an acknowledged batch is missing"
    assert set(counts.values()) <= {per_batch}, "a partial batch was stored"
    _assert_gap_free_and_verifies(runtime, sum(counts.values()))
    # The log keeps working after the crashes.
    from tests.ledger_support import notes

    runtime.app.save(*notes(3))
    _assert_gap_free_and_verifies(runtime, sum(counts.values()) + 3)
