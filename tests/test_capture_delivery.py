"""Delivery: the durable queue, the sender in-process and over HTTP, on SQLite and PostgreSQL.

The server-down story runs the ledger under a real uvicorn server on a real socket (in a thread)
and the capture and sender as real ``alpr-ledger capture`` processes, killed with SIGKILL.
"""

from __future__ import annotations

import collections
import http.server
import json
import logging
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
import uvicorn

from api.main import create_app
from domain.hit import Hit
from domain.read import Read
from ops.bootstrap import Runtime
from ops.pgcluster import free_port
from recognition.base import Sighting
from recognition.delivery import (
    CameraInfo,
    DeliveryQueue,
    FatalDeliveryError,
    HttpTransport,
    InsecureServerError,
    QueueKeyMissingError,
    Sender,
    ServiceTransport,
    capture_id,
    sighting_read,
)
from tests.api_support import device_token_for, recorded
from tests.cameras_support import register
from tests.capture_support import write_plate_folder

CAMERA = CameraInfo("FX-1", "fixed", 43.0481, -76.1474)


def sighting(plate: str, at: datetime, confidence: float = 0.9) -> Sighting:
    image = np.full((60, 120, 3), 200, np.uint8)
    cv2.putText(image, plate, (4, 40), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 2)
    crop = cv2.imencode(".jpg", image)[1].tobytes()
    return Sighting(
        plate=plate,
        state="NY",
        confidence=confidence,
        captured_at=at,
        box=(0, 0, 120, 60),
        frames=2,
        plate_crop=crop,
        vehicle_image=crop + b"",
        first_seen=at - timedelta(milliseconds=500),
        last_seen=at,
    )


def plates(n: int, prefix: str = "ABC") -> list[str]:
    return [f"{prefix}{1000 + i}" for i in range(n)]


def captured(runtime: Runtime) -> list[Read.Captured]:
    return [e for e in recorded(runtime, Read.Captured) if e.camera_id == CAMERA.camera_id]


# ------------------------------------------------------------------------------------------------
# The queue
# ------------------------------------------------------------------------------------------------


def test_queue_keeps_order_and_reads_when_reopened(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    path = tmp_path / "q.db"
    with DeliveryQueue(path) as queue:
        for i, plate in enumerate(plates(3)):
            assert queue.put_sighting(sighting(plate, now + timedelta(seconds=i)), CAMERA)
        # The same sighting again (a re-run of the same source) is not queued twice.
        assert not queue.put_sighting(sighting("ABC1000", now), CAMERA)
        # The file and its WAL / shared-memory companions are the owner's only (umask 077).
        companions = [p for p in tmp_path.iterdir() if p.name.startswith("q.db")]
        assert {p.name for p in companions} >= {"q.db", "q.db-wal", "q.db-shm", "q.db.key"}
        assert {p.name: oct(p.stat().st_mode & 0o777) for p in companions} == {
            p.name: "0o600" for p in companions
        }
    with DeliveryQueue(path) as queue:
        items = queue.pending(10)
        assert [i.read.plate for i in items] == plates(3)
        assert all(set(i.images) == {i.read.plate_image, i.read.vehicle_image} for i in items)
        assert queue.pending(2, max_image_bytes=1)[0].seq == items[0].seq
        assert len(queue.pending(10, max_image_bytes=1)) == 1  # the first always goes
        queue.ack([items[0].seq])
        queue.reject(items[1].seq, "reads[0].plate: bad")
        assert [i.read.plate for i in queue.pending(10)] == ["ABC1002"]
        assert [(r.capture_id, r.error) for r in queue.rejected()] == [
            (items[1].read.capture_id, "reads[0].plate: bad")
        ]
        assert queue.requeue_rejected() == 1
        assert [i.read.plate for i in queue.pending(10)] == ["ABC1001", "ABC1002"]


def test_queue_keeps_no_capture_id_key_so_ids_cannot_be_reversed_to_plates(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    # A queue made before capture ids left the plate out held an HMAC key in its meta table.
    with DeliveryQueue(path):
        pass
    db = sqlite3.connect(path)
    db.execute("INSERT INTO meta (name, value) VALUES ('capture_key', ?)", (os.urandom(32),))
    db.commit()
    db.close()
    now = datetime(2026, 3, 3, 14, 0, tzinfo=UTC)
    with DeliveryQueue(path) as queue:
        queue.put_sighting(sighting("ZZT4821", now), CAMERA)
        [item] = queue.pending(10)
    db = sqlite3.connect(path)
    assert db.execute("SELECT count(*) FROM meta").fetchone()[0] == 0
    db.close()
    # The id is the same for any plate seen at that moment in that box: it says nothing of it.
    assert item.read.capture_id == sighting_read(sighting("AAA0000", now), CAMERA)[0].capture_id
    assert item.read.capture_id == capture_id(
        CAMERA.camera_id, now - timedelta(milliseconds=500), now, (0, 0, 120, 60)
    )


# ------------------------------------------------------------------------------------------------
# In-process sender (both backends)
# ------------------------------------------------------------------------------------------------


def test_sender_stores_reads_with_images_once_when_queue_drained_twice(
    runtime: Runtime, tmp_path: Path
) -> None:
    register(runtime, CAMERA.camera_id)
    now = runtime.app.clock() - timedelta(minutes=5)
    sightings = [sighting(p, now + timedelta(seconds=i)) for i, p in enumerate(plates(5))]
    with DeliveryQueue(tmp_path / "q.db") as queue:
        for s in sightings:
            queue.put_sighting(s, CAMERA)
        sender = Sender(queue, ServiceTransport(runtime.app), batch_size=2)
        assert sender.pump()
        assert (sender.stats.sent, sender.stats.duplicates, queue.pending_count()) == (5, 0, 0)
        # The same sightings again (the source captured a second time): nothing new is stored.
        for s in sightings:
            queue.put_sighting(s, CAMERA)
        assert sender.pump()
        assert (sender.stats.sent, sender.stats.duplicates) == (5, 5)
    events = captured(runtime)
    # In the order queued (oldest first), each once.
    assert [e.capture_id for e in events] == [sighting_read(s, CAMERA)[0].capture_id for s in sightings]
    assert [e.plate for e in events] == plates(5)
    read = runtime.app.repository.get(events[0].originator_id)
    assert read.plate == "ABC1000" and read.captured_at == sightings[0].captured_at
    assert runtime.app.read_image(read.id, read.plate_image) == sightings[0].plate_crop


def test_sender_keeps_refused_read_aside_and_stores_rest_when_one_read_is_bad(
    runtime: Runtime, tmp_path: Path
) -> None:
    register(runtime, CAMERA.camera_id)
    now = runtime.app.clock() - timedelta(minutes=5)
    future = runtime.app.clock() + timedelta(hours=1)  # beyond the allowed clock skew: a 4xx
    with DeliveryQueue(tmp_path / "q.db") as queue:
        queue.put_sighting(sighting("ABC1000", now), CAMERA)
        queue.put_sighting(sighting("ABC1001", future), CAMERA)
        queue.put_sighting(sighting("ABC1002", now + timedelta(seconds=1)), CAMERA)
        # A camera of the wrong kind: refused for its own reason.
        queue.put_sighting(
            sighting("ABC1003", now + timedelta(seconds=3)), CameraInfo("FX-1", "mobile", 43.0, -76.0, "P-9")
        )
        queue.put_sighting(sighting("ABC1004", now + timedelta(seconds=2)), CAMERA)
        sender = Sender(queue, ServiceTransport(runtime.app), batch_size=10)
        assert sender.pump()
        rejected = queue.rejected()
        assert queue.pending_count() == 0
    assert sorted(e.plate for e in captured(runtime)) == ["ABC1000", "ABC1002", "ABC1004"]
    assert sender.stats.rejected == 2 and len(rejected) == 2
    assert "captured_at.future" in rejected[0].error
    assert "camera_kind" in rejected[1].error


class AckDiesOnce(DeliveryQueue):
    """A queue whose first ``ack`` fails: the ledger stored the batch, then the process died
    before the queue forgot it."""

    died = False

    def ack(self, seqs):  # type: ignore[no-untyped-def]
        if not AckDiesOnce.died:
            AckDiesOnce.died = True
            raise SystemExit("killed between send and ack")
        super().ack(seqs)


def test_batch_stored_but_not_acked_is_resent_once_when_sender_dies_before_ack(
    runtime: Runtime, tmp_path: Path
) -> None:
    register(runtime, CAMERA.camera_id)
    now = runtime.app.clock() - timedelta(minutes=5)
    sightings = [sighting(p, now + timedelta(seconds=i)) for i, p in enumerate(plates(5))]
    path = tmp_path / "q.db"
    AckDiesOnce.died = False
    with AckDiesOnce(path) as queue:
        for s in sightings:
            queue.put_sighting(s, CAMERA)
        expected = [item.read.capture_id for item in queue.pending(10)]
        with pytest.raises(SystemExit):
            Sender(queue, ServiceTransport(runtime.app), batch_size=2).pump()
        assert queue.pending_count() == 5  # nothing forgotten: the first batch waits again
    assert [e.capture_id for e in captured(runtime)] == expected[:2]  # ... though it was stored
    with DeliveryQueue(path) as queue:  # the restarted process
        sender = Sender(queue, ServiceTransport(runtime.app), batch_size=2)
        assert sender.pump() and queue.pending_count() == 0
        assert (sender.stats.sent, sender.stats.duplicates) == (3, 2)
    events = captured(runtime)
    assert [e.capture_id for e in events] == expected  # exactly one each, in the order queued
    assert [e.plate for e in events] == plates(5)


def test_capture_ids_keep_personal_data_out_when_stored_in_clear(runtime: Runtime, tmp_path: Path) -> None:
    register(runtime, CAMERA.camera_id)
    now = runtime.app.clock() - timedelta(minutes=1)
    with DeliveryQueue(tmp_path / "q.db") as queue:
        queue.put_sighting(sighting("ZZT4821", now), CAMERA)
        Sender(queue, ServiceTransport(runtime.app)).pump()
    [event] = captured(runtime)
    assert "ZZT" not in event.capture_id and "4821" not in event.capture_id


# ------------------------------------------------------------------------------------------------
# Over HTTP, with the server down, a capture killed and the sender killed midway (both backends)
# ------------------------------------------------------------------------------------------------


class LedgerServer:
    """The API under uvicorn on a fixed port, in a thread; can be started and stopped again."""

    def __init__(self, runtime: Runtime, port: int) -> None:
        self.runtime = runtime
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        config = uvicorn.Config(
            create_app(self.runtime), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        while not self._server.started:
            assert self._thread.is_alive(), "uvicorn did not start"
            time.sleep(0.02)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(30)
            self._server = self._thread = None


def _capture_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "ops.cli", "capture", *args]


def _wait_for(condition, what: str, proc: subprocess.Popen[bytes] | None = None) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 300  # a guard against hanging forever, not a performance check
    while not condition():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what}: the process ended early: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.01)


def _pending(path: Path) -> int:
    """Rows waiting in a queue file, looked at read-only while other processes use it."""
    if not path.exists():
        return 0
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return int(db.execute("SELECT count(*) FROM pending").fetchone()[0])
    except sqlite3.OperationalError:  # the capture has not created its tables yet
        return 0
    finally:
        db.close()


def test_reads_queued_while_server_down_arrive_once_when_capture_and_sender_are_killed(
    runtime: Runtime, tmp_path: Path
) -> None:
    register(runtime, CAMERA.camera_id)
    token_file = tmp_path / "token"
    token_file.write_text(device_token_for(runtime, CAMERA.camera_id))
    server = LedgerServer(runtime, free_port())
    queue_path = tmp_path / "queue.db"
    camera_args = ["--camera", CAMERA.camera_id, "--kind", "fixed", "--latitude", "43.0481",
                   "--longitude", "-76.1474", "--server", server.url, "--token-file", str(token_file),
                   "--queue", str(queue_path)]  # fmt: skip
    env = {**os.environ, "ALPR_DATA_DIR": str(tmp_path / "data")}

    # 1. The server is down. A capture of two rendered plates queues its reads; it is killed
    #    with SIGKILL while it waits for the server.
    folder = tmp_path / "frames"
    write_plate_folder(
        folder, [("KDT4821", "TX"), ("7XYZ123", "CA")], start=runtime.app.clock() - timedelta(hours=1)
    )
    capture = subprocess.Popen(
        _capture_cmd(*camera_args, "--source", str(folder), "--drain-timeout", "600"),
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        _wait_for(lambda: _pending(queue_path) == 2, "the capture queued both reads", capture)
    finally:
        capture.send_signal(signal.SIGKILL)
        capture.wait()
    # More reads wait, queued by another capture process before the server went down.
    now = runtime.app.clock() - timedelta(minutes=30)
    with DeliveryQueue(queue_path) as queue:
        for i, plate in enumerate(plates(150, "HJK")):
            queue.put_sighting(sighting(plate, now + timedelta(seconds=i)), CAMERA)
        expected = [item.read.capture_id for item in queue.pending(1000)]
    assert len(expected) == 152 and captured(runtime) == []

    # 2. The server comes back. A sender drains in small batches and is killed midway.
    server.start()
    try:
        sender = subprocess.Popen(
            _capture_cmd(*camera_args, "--batch", "2", "--drain-timeout", "600"),
            env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            _wait_for(lambda: _pending(queue_path) < 152, "the sender started sending", sender)
        finally:
            sender.send_signal(signal.SIGKILL)
            sender.wait()
        left = _pending(queue_path)
        assert 0 < left < 152, "the sender was killed midway"

        # 3. A new sender (here in-process, over HTTP) finishes the queue.
        with DeliveryQueue(queue_path) as queue:
            transport = HttpTransport(server.url, token_file.read_text())
            resumed = Sender(queue, transport, batch_size=7, backoff_s=0.05)
            assert resumed.drain(timeout_s=120)
            assert queue.pending_count() == 0 and queue.rejected() == []
    finally:
        server.stop()

    counts = collections.Counter(e.capture_id for e in captured(runtime))
    assert sorted(counts) == sorted(expected)
    assert set(counts.values()) == {1}
    assert sorted(e.plate for e in captured(runtime) if not e.plate.startswith("HJK")) == [
        "7XYZ123",
        "KDT4821",
    ]
    # Reads sent over HTTP raise hits like any other: none here (no hotlist), and none twice.
    assert recorded(runtime, Hit.Raised) == []


def test_http_sender_stops_when_token_is_refused(runtime: Runtime, tmp_path: Path) -> None:
    register(runtime, CAMERA.camera_id)
    server = LedgerServer(runtime, free_port())
    server.start()
    try:
        with DeliveryQueue(tmp_path / "q.db") as queue:
            queue.put_sighting(sighting("ABC1000", runtime.app.clock() - timedelta(minutes=1)), CAMERA)
            sender = Sender(queue, HttpTransport(server.url, "not-a-token"))
            with pytest.raises(FatalDeliveryError, match="401"):
                sender.pump()
            assert queue.pending_count() == 1 and queue.rejected() == []
    finally:
        server.stop()


def test_queued_and_rejected_reads_are_sealed_and_unreadable_without_the_key_file(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    path = tmp_path / "q.db"
    with DeliveryQueue(path) as queue:
        for i, plate in enumerate(("QZX4821", "QZX4822")):
            assert queue.put_sighting(sighting(plate, now + timedelta(seconds=i)), CAMERA)
        first = queue.pending(10)[0]
        assert first.read.plate == "QZX4821"  # opened with the key file
        queue.reject(first.seq, "test")
    key_file = tmp_path / "q.db.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    on_disk = b"".join(
        p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("q.db") and p != key_file
    )
    assert b"QZX482" not in on_disk
    key_file.unlink()  # shreds what is still queued or rejected
    # A new key would make the waiting rows unreadable: the queue refuses to open, saying why.
    with pytest.raises(QueueKeyMissingError, match=r"q\.db\.key is missing .* 2 sealed read"):
        DeliveryQueue(path)
    assert not key_file.exists()


def test_rows_that_do_not_open_are_set_aside_and_never_block_the_queue(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    now = datetime.now(UTC)
    path = tmp_path / "q.db"
    with DeliveryQueue(path) as queue:
        for i, plate in enumerate(("QZX4821", "QZX4822")):
            assert queue.put_sighting(sighting(plate, now + timedelta(seconds=i)), CAMERA)
        old_ids = [item.read.capture_id for item in queue.pending(10)]
    key_file = tmp_path / "q.db.key"
    key_file.write_bytes(os.urandom(32))  # the wrong key (a key file restored from another queue)
    with caplog.at_level(logging.INFO), DeliveryQueue(path) as queue:
        assert queue.put_sighting(sighting("QZX4823", now + timedelta(seconds=5)), CAMERA)
        # The two rows sealed under the lost key move aside; the new one behind them goes out.
        assert [item.read.plate for item in queue.pending(10)] == ["QZX4823"]
        assert queue.unreadable() == old_ids
        assert queue.pending_count() == 1
    assert all(capture in caplog.text for capture in old_ids)
    assert "QZX482" not in caplog.text


def test_empty_queue_without_key_file_makes_a_new_key(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    with DeliveryQueue(path) as queue:
        queue.put_sighting(sighting("QZX4821", datetime.now(UTC)), CAMERA)
        queue.ack([item.seq for item in queue.pending(10)])
    (tmp_path / "q.db.key").unlink()
    with DeliveryQueue(path) as queue:  # nothing waits: nothing to lose
        assert queue.put_sighting(sighting("QZX4822", datetime.now(UTC)), CAMERA)
        assert [item.read.plate for item in queue.pending(10)] == ["QZX4822"]


# ------------------------------------------------------------------------------------------------
# The HTTP transport against misbehaving servers (real sockets on the loopback)
# ------------------------------------------------------------------------------------------------


class _Misbehaving(http.server.BaseHTTPRequestHandler):
    """Answers every POST as ``self.server.mode`` says; records what it received."""

    def do_POST(self) -> None:  # noqa: N802
        server = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        server.seen.append((self.path, self.headers.get("Authorization"), body))  # type: ignore[attr-defined]
        mode = server.mode  # type: ignore[attr-defined]
        size = len(json.loads(body)["reads"]) if body else 0
        if mode == "truncated":  # promises more than it sends, then hangs up: IncompleteRead
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b'{"read_ids": [')
            self.wfile.flush()
            self.close_connection = True
            return
        if mode == "redirect":
            self.send_response(302)
            self.send_header("Location", server.elsewhere + "/v1/reads")  # type: ignore[attr-defined]
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        answers = {
            "short": {"read_ids": ["x"] * max(0, size - 1), "duplicates": [], "hits": []},
            "not-json": None,
            "list": [],
            "accepted": {"read_ids": ["x"] * size, "duplicates": [], "hits": []},
        }
        payload = b"<html>proxy says hi</html>" if mode == "not-json" else json.dumps(answers[mode]).encode()
        self.send_response(202 if mode == "accepted" else 200)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:  # noqa: N802 - what a client following a 302 would send
        self.server.seen.append((self.path, self.headers.get("Authorization"), b""))  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def misbehaving() -> Iterator[list[http.server.ThreadingHTTPServer]]:
    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Misbehaving) for _ in range(2)]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for server in servers:
        server.seen = []  # type: ignore[attr-defined]
        server.mode = "accepted"  # type: ignore[attr-defined]
    servers[0].elsewhere = f"http://127.0.0.1:{servers[1].server_address[1]}"  # type: ignore[attr-defined]
    for thread in threads:
        thread.start()
    try:
        yield servers
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("truncated", "IncompleteRead"),
        ("short", "does not acknowledge the 3 read(s)"),
        ("not-json", "not JSON"),
        ("list", "does not acknowledge"),
    ],
)
def test_http_sender_keeps_reads_and_retries_when_the_answer_is_not_a_full_acknowledgement(
    misbehaving: list[http.server.ThreadingHTTPServer], tmp_path: Path, mode: str, reason: str
) -> None:
    server = misbehaving[0]
    server.mode = mode  # type: ignore[attr-defined]
    url = f"http://127.0.0.1:{server.server_address[1]}"
    with DeliveryQueue(tmp_path / "q.db") as queue:
        for i, plate in enumerate(plates(3)):
            queue.put_sighting(sighting(plate, datetime.now(UTC) + timedelta(seconds=i)), CAMERA)
        sender = Sender(queue, HttpTransport(url, "device-token"), batch_size=10)
        assert sender.pump() is False  # not acknowledged: retry later, nothing forgotten
        assert queue.pending_count() == 3 and queue.rejected() == []
        assert sender.stats.failures == 1 and reason in (sender.stats.last_error or "")
        server.mode = "accepted"  # type: ignore[attr-defined]
        assert sender.pump() is True and queue.pending_count() == 0
    assert len(server.seen) == 2  # type: ignore[attr-defined]


def test_http_sender_does_not_follow_a_redirect_with_the_token(
    misbehaving: list[http.server.ThreadingHTTPServer], tmp_path: Path
) -> None:
    first, other = misbehaving
    first.mode = "redirect"  # type: ignore[attr-defined]
    with DeliveryQueue(tmp_path / "q.db") as queue:
        queue.put_sighting(sighting("ABC1000", datetime.now(UTC)), CAMERA)
        sender = Sender(queue, HttpTransport(f"http://127.0.0.1:{first.server_address[1]}", "device-token"))
        with pytest.raises(FatalDeliveryError, match=r"HTTP 302: the ledger redirects to .*not followed"):
            sender.pump()
        assert queue.pending_count() == 1
    assert [auth for _, auth, _ in first.seen] == ["Bearer device-token"]  # type: ignore[attr-defined]
    assert other.seen == []  # type: ignore[attr-defined]


def test_http_transport_requires_https_for_a_server_off_the_loopback() -> None:
    with pytest.raises(InsecureServerError, match="use https"):
        HttpTransport("http://ledger.example.org", "t")
    with pytest.raises(InsecureServerError, match="use https"):
        HttpTransport("http://10.1.2.3:8000", "t")
    with pytest.raises(InsecureServerError):
        HttpTransport("ftp://ledger.example.org", "t")
    for allowed in ("https://ledger.example.org", "http://127.0.0.1:8000", "http://localhost:8000",
                    "http://[::1]:8000"):  # fmt: skip
        assert HttpTransport(allowed, "t").url.endswith("/v1/reads")
    assert HttpTransport("http://ledger.example.org", "t", allow_insecure=True).url.startswith("http://")


class _FailsOnce:
    """A transport that raises something unexpected on its first send, then sends for real."""

    description = "flaky"

    def __init__(self, inner: ServiceTransport) -> None:
        self.inner = inner
        self.calls = 0

    def send(self, batch):  # type: ignore[no-untyped-def]
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("a bug in the transport")
        return self.inner.send(batch)


def test_capture_sender_thread_survives_an_unexpected_error_and_retries(
    runtime: Runtime, tmp_path: Path
) -> None:
    from ops.cli_capture import run_capture
    from recognition.sources import FolderSource
    from recognition.tracking import Tracker

    register(runtime, CAMERA.camera_id)
    path = tmp_path / "q.db"
    now = runtime.app.clock() - timedelta(minutes=5)
    with DeliveryQueue(path) as queue:
        for i, plate in enumerate(plates(3)):
            queue.put_sighting(sighting(plate, now + timedelta(seconds=i)), CAMERA)
    folder = tmp_path / "watched"
    folder.mkdir()
    source = FolderSource(folder, follow=True, poll_s=0.05)  # live, and never gives a frame

    class NoFrames:
        name = "none"

        def recognize(self, frame):  # type: ignore[no-untyped-def]
            raise AssertionError("no frame was expected")

    transport = _FailsOnce(ServiceTransport(runtime.app))
    result: list[object] = []
    with DeliveryQueue(path) as queue:
        sender = Sender(queue, transport, backoff_s=0.05)
        worker = threading.Thread(
            target=lambda: result.append(
                run_capture(camera=CAMERA, sender=sender, queue_path=path, source=source,
                            recognizer=NoFrames(), tracker=Tracker(), drain_timeout_s=0)  # type: ignore[arg-type]
            )
        )  # fmt: skip
        worker.start()
        try:
            # While the source is still running, the sender thread got past its error and sent.
            _wait_for(lambda: len(captured(runtime)) == 3, "the sender retried after its error")
            assert worker.is_alive() and not source.stopped
        finally:
            source.stop()
            worker.join(60)
        assert sender.stats.failures >= 1 and "a bug in the transport" in (sender.stats.last_error or "")
    assert transport.calls >= 2 and [e.plate for e in captured(runtime)] == plates(3)


def _flat(output: str) -> str:
    """CLI output with rich's box drawing and line wrapping taken out."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", output).split())


def test_capture_cli_refuses_plain_http_off_loopback_and_a_queue_whose_key_is_gone(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ops.cli import app as cli

    token_file = tmp_path / "token"
    token_file.write_text("device-token")
    queue_path = tmp_path / "q.db"
    camera = ["--camera", CAMERA.camera_id, "--kind", "fixed", "--latitude", "43.0481",
              "--longitude", "-76.1474", "--token-file", str(token_file),
              "--queue", str(queue_path)]  # fmt: skip
    env = {"ALPR_DATA_DIR": str(tmp_path / "data")}
    runner = CliRunner()
    result = runner.invoke(cli, ["capture", *camera, "--server", "http://ledger.example.org"], env=env)
    assert result.exit_code == 2 and "use https" in _flat(result.output)
    assert not queue_path.exists()  # refused before anything was opened or sent

    with DeliveryQueue(queue_path) as queue:
        queue.put_sighting(sighting("ABC1000", datetime.now(UTC)), CAMERA)
    (tmp_path / "q.db.key").unlink()
    result = runner.invoke(
        cli, ["capture", *camera, "--server", "http://127.0.0.1:9", "--drain-timeout", "0"], env=env
    )
    assert result.exit_code == 1 and "q.db.key is missing" in _flat(result.output)
    assert not (tmp_path / "q.db.key").exists()
