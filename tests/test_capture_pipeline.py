"""The whole pipeline with the out-of-the-box recognizer (RapidOCR, no model files): a synthetic
video deduplicated to one read per plate, and ``alpr-ledger capture`` on a folder of rendered
plates producing reads and a hotlist hit, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from domain.hit import Hit
from domain.read import Read
from ops.bootstrap import Runtime
from ops.cli import app as cli
from ops.cli_capture import capture_frames
from ops.settings import Settings
from recognition.delivery import CameraInfo, DeliveryQueue, Sender, ServiceTransport
from recognition.recognizers import build_recognizer
from recognition.sources import FolderSource, open_source
from recognition.tracking import Tracker, plate_normaliser
from tests.api_support import recorded
from tests.cameras_support import register
from tests.capture_support import (
    VIDEO_FRAMES,
    VIDEO_PLATES,
    RecordingRecognizer,
    write_plate_folder,
    write_video,
)

CAMERA = CameraInfo("FX-1", "fixed", 43.0481, -76.1474)

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
"""For tests whose cost is OCR and whose database part the capture-to-hit test covers on both."""


@pytest.fixture(scope="module")
def recognizer() -> Any:
    return build_recognizer("rapidocr")


@pytest.fixture(scope="module")
def video_capture(tmp_path_factory: pytest.TempPathFactory, recognizer: Any) -> dict[str, Any]:
    """The synthetic video run through source, recognizer and tracker into a queue, once."""
    folder = tmp_path_factory.mktemp("video")
    video = folder / "pass.avi"
    write_video(video)
    spy = RecordingRecognizer(recognizer)
    queue_path = folder / "queue.db"
    with DeliveryQueue(queue_path) as queue:
        stats = capture_frames(
            open_source(str(video)), spy, Tracker(window=timedelta(seconds=2)), queue, CAMERA
        )
        items = queue.pending(100)
    return {"stats": stats, "seen": spy.seen, "items": items, "queue": queue_path}


def test_video_gives_one_read_per_plate_with_best_frame_when_plate_seen_in_many_frames(
    video_capture: dict[str, Any],
) -> None:
    stats, seen, items = video_capture["stats"], video_capture["seen"], video_capture["items"]
    assert stats.frames == VIDEO_FRAMES
    assert sorted(i.read.plate for i in items) == sorted(text for text, *_ in VIDEO_PLATES)
    assert stats.sightings == stats.queued == 2
    for text, state, first, last, *_ in VIDEO_PLATES:
        [item] = [i for i in items if i.read.plate == text]
        readings = [
            (frame, r)
            for frame, candidates in seen
            for c in candidates
            if (r := plate_normaliser(c)) is not None and r.plate == text
        ]
        # The recognizer read the plate in (nearly) every frame that shows it ...
        frames = sorted(f.index for f, _ in readings)
        assert set(frames) <= set(range(first, last + 1)) and len(frames) >= last - first
        # ... and the read keeps the frame where it was surest (the first of equals).
        best = max(r.confidence for _, r in readings)
        best_frame = next(f for f, r in readings if r.confidence == best)
        assert item.read.captured_at == best_frame.captured_at
        assert item.read.confidence == pytest.approx(best, abs=1e-4)
        assert item.read.state == state
        crop = cv2.imdecode(np.frombuffer(item.images[item.read.plate_image], np.uint8), cv2.IMREAD_COLOR)
        assert crop is not None and crop.shape[1] > crop.shape[0] > 10


def test_video_reads_are_stored_once_when_delivered_in_process(
    video_capture: dict[str, Any], runtime: Runtime, tmp_path: Path
) -> None:
    register(runtime, CAMERA.camera_id)
    items = video_capture["items"]
    with DeliveryQueue(tmp_path / "q.db") as queue:
        for item in items:
            queue.put(item.read, item.images)
        sender = Sender(queue, ServiceTransport(runtime.app))
        assert sender.pump() and sender.stats.sent == 2
        for item in items:  # sent again: the ledger already has them
            queue.put(item.read, item.images)
        assert sender.pump() and sender.stats.duplicates == 2
    events = recorded(runtime, Read.Captured)
    assert sorted((e.plate, e.capture_id) for e in events) == sorted(
        (i.read.plate, i.read.capture_id) for i in items
    )


def test_last_plate_of_a_followed_folder_is_queued_within_the_window_while_the_source_waits(
    recognizer: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "watched"
    write_plate_folder(folder, [("KDT4821", "TX")], start=datetime.now(UTC))
    source = FolderSource(folder, follow=True, poll_s=0.05)
    queue_path = tmp_path / "q.db"
    result: list[Any] = []
    with DeliveryQueue(queue_path) as queue:
        worker = threading.Thread(
            target=lambda: result.append(
                capture_frames(
                    source,
                    recognizer,
                    Tracker(window=timedelta(seconds=0.5)),
                    queue,
                    CAMERA,
                    idle_tick_s=0.05,
                )
            )
        )
        worker.start()
        try:
            deadline = time.monotonic() + 300  # a guard against hanging, not a performance check
            while queue.pending_count() == 0:
                assert time.monotonic() < deadline, "the quiet plate was never queued"
                time.sleep(0.05)
            # Queued by an idle tick: no further frame came and the source has not ended.
            assert worker.is_alive() and not source.stopped
            [item] = queue.pending(10)
            assert item.read.plate == "KDT4821"
        finally:
            source.stop()
            worker.join(60)
    [stats] = result
    assert (stats.frames, stats.sightings, stats.queued) == (1, 1, 1)  # nothing left for the flush


def _cli(settings: Settings, *args: str) -> tuple[int, str]:
    env = {"ALPR_DATA_DIR": str(settings.data_dir), "ALPR_LOG_ORIGIN": settings.log_origin}
    result = CliRunner().invoke(cli, [*args, "--db", settings.database_url], env=env)
    return result.exit_code, result.stdout + (result.stderr or "") + repr(result.exception or "")


def test_capture_cli_appends_reads_and_raises_hit_when_folder_holds_hotlisted_plate(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    register(runtime, CAMERA.camera_id)
    hotlist = runtime.app.create_hotlist("Stolen (test)", "manual", provenance="tests", actor="tests")
    runtime.app.add_manual_entry(
        hotlist, "KDT4821", "TX", reason="stolen vehicle", case_number="C-1", actor="tests"
    )
    folder = tmp_path / "frames"
    rendered = [("ABC1234", "NY"), ("KDT4821", "TX"), ("7XYZ123", "CA")]
    write_plate_folder(folder, rendered, start=runtime.app.clock() - timedelta(hours=2))
    args = ["capture", "--camera", CAMERA.camera_id, "--source", str(folder)]

    code, out = _cli(settings, *args)
    assert code == 0, out
    assert (
        "frames: 3\tsightings: 3\tqueued: 3\tsent: 3\tduplicates: 0\thits: 1\trejected: 0\twaiting: 0" in out
    )
    reads = recorded(runtime, Read.Captured)
    assert sorted((e.plate, e.state, e.camera_kind) for e in reads) == sorted(
        (p, s, "fixed") for p, s in rendered
    )
    [hit] = recorded(runtime, Hit.Raised)
    [hot_read] = [e for e in reads if e.plate == "KDT4821"]
    assert hit.read_id == hot_read.originator_id

    # Capturing the same folder again (same queue) stores nothing new and raises no new hit.
    code, out = _cli(settings, *args)
    assert code == 0, out
    assert "sent: 0\tduplicates: 3\thits: 0" in out
    assert len(recorded(runtime, Read.Captured)) == 3 and len(recorded(runtime, Hit.Raised)) == 1


def test_capture_cli_refuses_unregistered_camera_and_stores_nothing(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "frames"
    write_plate_folder(folder, [("ABC1234", "NY")], start=runtime.app.clock() - timedelta(hours=1))
    code, out = _cli(settings, "capture", "--camera", "NOPE-1", "--source", str(folder))
    assert code == 2 and "not registered" in out
    assert recorded(runtime, Read.Captured) == []


@SQLITE_ONLY
def test_demo_capture_reads_rendered_plates_and_raises_hit_once_when_run_twice(
    runtime: Runtime, settings: Settings
) -> None:
    from ops.cli_capture import DEMO_CAMERA, DEMO_HOTLISTED
    from recognition.demo import DEMO_PLATES

    for _ in range(2):
        code, out = _cli(settings, "demo-capture")
        assert code == 0, out
    reads = recorded(runtime, Read.Captured)
    assert sorted(e.plate for e in reads) == sorted(p for p, _ in DEMO_PLATES)
    assert {e.camera_id for e in reads} == {DEMO_CAMERA}
    [hit] = recorded(runtime, Hit.Raised)
    assert hit.read_id == next(e.originator_id for e in reads if e.plate == DEMO_HOTLISTED)
