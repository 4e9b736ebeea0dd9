"""Tracking and dedupe (pure), frame sources and their capture times (real files through OpenCV)."""

from __future__ import annotations

import functools
import http.server
import inspect
import logging
import os
import struct
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import cv2
import numpy as np
import pytest

from recognition.base import Frame, PlateCandidate, Sighting
from recognition.delivery import CameraInfo, capture_id, sighting_read
from recognition.sources import (
    FolderSource,
    SourceError,
    StreamSource,
    VideoFileSource,
    exif_capture_time,
    open_source,
    redact_url,
)
from recognition.tracking import Tracker, continues, iou
from tests.capture_support import FPS, VIDEO_FRAMES, write_video

T0 = datetime(2026, 3, 3, 14, 0, tzinfo=UTC)


def frame(seconds: float, index: int = 0) -> Frame:
    image = np.full((120, 200, 3), index % 255, np.uint8)
    return Frame(image=image, captured_at=T0 + timedelta(seconds=seconds), index=index)


def cand(text: str, confidence: float, box: tuple[int, int, int, int] = (10, 10, 60, 35)) -> PlateCandidate:
    return PlateCandidate(text=text, confidence=confidence, box=box)


# ------------------------------------------------------------------------------------------------
# Tracking
# ------------------------------------------------------------------------------------------------


def test_tracker_gives_one_sighting_with_best_frame_when_plate_seen_in_consecutive_frames() -> None:
    tracker = Tracker(window=timedelta(seconds=1))
    confidences = [0.71, 0.93, 0.88]
    ended = []
    for i, c in enumerate(confidences):
        ended += tracker.update(frame(0.5 * i, i), [cand("ABC-1234", c, (10 + 5 * i, 10, 60 + 5 * i, 35))])
    assert ended == []
    [sighting] = tracker.flush()
    assert (sighting.plate, sighting.frames, sighting.confidence) == ("ABC1234", 3, 0.93)
    assert sighting.captured_at == T0 + timedelta(seconds=0.5)
    assert sighting.box == (15, 10, 65, 35)
    assert (sighting.first_seen, sighting.last_seen) == (T0, T0 + timedelta(seconds=1))
    assert sighting.plate_crop is not None and sighting.plate_crop.startswith(b"\xff\xd8")
    crop = cv2.imdecode(np.frombuffer(sighting.plate_crop, np.uint8), cv2.IMREAD_COLOR)
    assert crop.shape[:2] == (25, 50)
    assert crop.mean() == pytest.approx(1, abs=2)  # pixels of frame 1, the best one
    assert sighting.vehicle_image is not None and sighting.vehicle_image.startswith(b"\xff\xd8")


def test_tracker_ends_sighting_when_plate_unseen_longer_than_window() -> None:
    tracker = Tracker(window=timedelta(seconds=2))
    assert tracker.update(frame(0, 0), [cand("ABC1234", 0.9)]) == []
    assert tracker.update(frame(1.5, 1), [cand("XYZ9876", 0.8)]) == []
    first = tracker.update(frame(4.5, 2), [cand("ABC1234", 0.95)])
    assert [s.plate for s in first] == ["ABC1234", "XYZ9876"]
    assert first[0].frames == 1 and first[0].captured_at == T0
    [second] = tracker.flush()
    assert second.plate == "ABC1234" and second.captured_at == T0 + timedelta(seconds=4.5)
    assert tracker.live == 0


def test_tracker_keeps_distinct_plates_of_one_frame_apart_and_drops_non_plates() -> None:
    tracker = Tracker()
    tracker.update(frame(0), [cand("ABC1234", 0.9), cand("TOYOTA", 0.99), cand("7XYZ123", 0.8)])
    plates = sorted(s.plate for s in tracker.flush())
    assert plates == ["7XYZ123", "ABC1234"]


def test_tracker_starts_new_sighting_when_boxes_do_not_overlap_with_min_overlap() -> None:
    tracker = Tracker(window=timedelta(seconds=5), min_overlap=0.3)
    tracker.update(frame(0, 0), [cand("ABC1234", 0.9, (0, 0, 50, 25))])
    ended = tracker.update(frame(0.5, 1), [cand("ABC1234", 0.9, (300, 200, 350, 225))])
    assert [s.frames for s in ended] == [1]
    assert len(tracker.flush()) == 1


def test_tracker_bounds_live_tracks_when_many_plates_pass() -> None:
    tracker = Tracker(window=timedelta(hours=1), max_tracks=3)
    ended = []
    for i in range(10):
        ended += tracker.update(frame(i, i), [cand(f"ABC{1000 + i}", 0.9)])
        assert tracker.live <= 3
    assert [s.plate for s in ended] == [f"ABC{1000 + i}" for i in range(7)]


def test_tracker_flushes_when_time_goes_backwards() -> None:
    tracker = Tracker(window=timedelta(seconds=10))
    tracker.update(frame(5, 0), [cand("ABC1234", 0.9)])
    ended = tracker.update(frame(1, 1), [cand("ABC1234", 0.9)])
    assert len(ended) == 1
    assert len(tracker.flush()) == 1


def test_continues_and_iou_decide_by_window_and_overlap() -> None:
    box = (0, 0, 10, 10)
    assert iou(box, box) == 1.0 and iou(box, (20, 20, 30, 30)) == 0.0
    assert iou(box, (5, 0, 15, 10)) == pytest.approx(50 / 150)
    w = timedelta(seconds=2)
    assert continues(T0, box, T0 + w, box, window=w, min_overlap=None)
    assert not continues(T0, box, T0 + w + timedelta(microseconds=1), box, window=w, min_overlap=None)
    assert not continues(T0, box, T0 + w, (5, 0, 15, 10), window=w, min_overlap=0.5)


def test_capture_id_is_deterministic_and_built_without_the_plate_when_same_sighting_repeats() -> None:
    box = (10, 10, 60, 35)
    a = capture_id("FX-1", T0, T0 + timedelta(seconds=1), box)
    assert a == capture_id("FX-1", T0, T0 + timedelta(seconds=1), box)
    assert a != capture_id("FX-2", T0, T0 + timedelta(seconds=1), box)
    assert a != capture_id("FX-1", T0 + timedelta(microseconds=1), T0 + timedelta(seconds=1), box)
    assert a != capture_id("FX-1", T0, T0 + timedelta(seconds=2), box)
    assert a != capture_id("FX-1", T0, T0 + timedelta(seconds=1), (11, 10, 60, 35))  # another plate
    assert len(a) <= 128
    # The plate is no input at all: two sightings that differ only in the plate get one id, so
    # nothing (no key kept beside the queue either) lets the id be brute-forced back to a plate.
    sightings = [
        sighting_read(
            Sighting(plate=p, state="NY", confidence=0.9, captured_at=T0, box=box, frames=1, first_seen=T0),
            CameraInfo("FX-1", "fixed", 43.0, -76.0),
        )[0].capture_id
        for p in ("ABC1234", "XYZ9876")
    ]
    assert sightings[0] == sightings[1] == capture_id("FX-1", T0, T0, box)
    assert "capture_key" not in inspect.signature(capture_id).parameters


def test_tracker_expire_ends_quiet_tracks_when_no_frame_comes() -> None:
    tracker = Tracker(window=timedelta(seconds=2))
    assert tracker.update(frame(0, 0), [cand("ABC1234", 0.8)]) == []
    assert tracker.update(frame(1, 1), [cand("ABC1234", 0.9), cand("XYZ9876", 0.7, (100, 10, 150, 35))]) == []
    assert tracker.last_frame_at == T0 + timedelta(seconds=1)
    # An idle tick within the window ends nothing; past it, both quiet tracks end, oldest first.
    assert tracker.expire(T0 + timedelta(seconds=3)) == []
    ended = tracker.expire(T0 + timedelta(seconds=3, microseconds=1))
    assert [(s.plate, s.frames, s.confidence) for s in ended] == [("ABC1234", 2, 0.9), ("XYZ9876", 1, 0.7)]
    assert tracker.live == 0 and tracker.flush() == []


# ------------------------------------------------------------------------------------------------
# Sources
# ------------------------------------------------------------------------------------------------


def _exif_jpeg(moment: str, offset: str | None = None) -> bytes:
    """A JPEG whose APP1 holds a little-endian TIFF with an Exif IFD (DateTimeOriginal)."""
    ok, body = cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))
    assert ok
    entries = [(0x9003, 2, moment.encode() + b"\x00")]
    if offset is not None:
        entries.append((0x9011, 2, offset.encode() + b"\x00"))
    exif_ifd = 8 + 2 + 12 + 4
    data_at = exif_ifd + 2 + 12 * len(entries) + 4
    tiff = b"II*\x00" + struct.pack("<I", 8)
    tiff += struct.pack("<H", 1) + struct.pack("<HHII", 0x8769, 4, 1, exif_ifd) + b"\x00" * 4
    blobs = b""
    ifd = struct.pack("<H", len(entries))
    for tag, kind, value in entries:
        ifd += struct.pack("<HHII", tag, kind, len(value), data_at + len(blobs))
        blobs += value
    tiff += ifd + b"\x00" * 4 + blobs
    app1 = b"Exif\x00\x00" + tiff
    raw = body.tobytes()
    return raw[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + raw[2:]


def test_exif_capture_time_reads_date_time_original_with_offset_when_present() -> None:
    assert exif_capture_time(_exif_jpeg("2025:07:04 09:15:30", "-05:00")) == datetime(
        2025, 7, 4, 14, 15, 30, tzinfo=UTC
    )
    assert exif_capture_time(cv2.imencode(".jpg", np.zeros((4, 4, 3), np.uint8))[1].tobytes()) is None
    assert exif_capture_time(b"not an image") is None


def test_exif_time_without_offset_is_local_wall_time_placed_in_the_given_zone_else_unknown() -> None:
    summer = _exif_jpeg("2025:07:04 09:15:30")
    # Without an offset the camera wrote its local wall time: not UTC, and unknown without a zone.
    assert exif_capture_time(summer) is None
    new_york = ZoneInfo("America/New_York")
    assert exif_capture_time(summer, new_york) == datetime(2025, 7, 4, 13, 15, 30, tzinfo=UTC)  # EDT
    winter = _exif_jpeg("2025:01:04 09:15:30")
    assert exif_capture_time(winter, new_york) == datetime(2025, 1, 4, 14, 15, 30, tzinfo=UTC)  # EST
    # An offset the camera wrote wins over the zone.
    assert exif_capture_time(_exif_jpeg("2025:07:04 09:15:30", "+02:00"), new_york) == datetime(
        2025, 7, 4, 7, 15, 30, tzinfo=UTC
    )


def test_folder_source_reads_images_in_name_order_with_exif_else_mtime(tmp_path: Path) -> None:
    (tmp_path / "b.jpg").write_bytes(_exif_jpeg("2025:07:04 09:15:30"))
    os.utime(tmp_path / "b.jpg", (1_700_000_100, 1_700_000_100))
    (tmp_path / "d.jpg").write_bytes(_exif_jpeg("2025:07:04 09:15:30", "-04:00"))
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((8, 8, 3), np.uint8))
    os.utime(tmp_path / "a.png", (1_700_000_000, 1_700_000_000))
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "c.jpg").write_bytes(b"broken")
    frames = list(open_source(str(tmp_path)))
    assert [f.origin for f in frames] == ["a.png", "b.jpg", "d.jpg"]
    assert [f.index for f in frames] == [0, 1, 2]
    assert frames[0].captured_at == datetime.fromtimestamp(1_700_000_000, UTC)
    # EXIF without an offset and no --exif-tz: the file's modification time, not the EXIF as UTC.
    assert frames[1].captured_at == datetime.fromtimestamp(1_700_000_100, UTC)
    assert frames[2].captured_at == datetime(2025, 7, 4, 13, 15, 30, tzinfo=UTC)
    zoned = list(open_source(str(tmp_path), exif_tz=ZoneInfo("America/Chicago")))
    assert zoned[1].captured_at == datetime(2025, 7, 4, 14, 15, 30, tzinfo=UTC)  # CDT
    assert isinstance(open_source(str(tmp_path)), FolderSource)


def test_folder_source_logs_frame_index_not_file_name_when_image_is_unreadable(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cv2.imwrite(str(tmp_path / "ABC1234.png"), np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "KDT4821.jpg").write_bytes(b"broken")
    with caplog.at_level(logging.DEBUG):
        frames = list(open_source(str(tmp_path)))
    assert [f.index for f in frames] == [0]
    assert "frame 1" in caplog.text
    assert "KDT4821" not in caplog.text and "ABC1234" not in caplog.text
    single = open_source(str(tmp_path / "KDT4821.jpg"))
    assert "KDT4821" not in single.description
    with pytest.raises(SourceError) as raised:
        list(single)
    assert "KDT4821" not in str(raised.value)


def test_video_source_stamps_frames_from_position_and_start_when_given(tmp_path: Path) -> None:
    video = tmp_path / "pass.avi"
    write_video(video)
    os.utime(video, (1_700_000_000, 1_700_000_000))
    source = open_source(str(video), start=T0)
    assert isinstance(source, VideoFileSource)
    times = [f.captured_at for f in source]
    assert times == [T0 + timedelta(seconds=i / FPS) for i in range(VIDEO_FRAMES)]
    # Without --start the recording ends at the file's modification time.
    end = datetime.fromtimestamp(1_700_000_000, UTC)
    times = [f.captured_at for f in open_source(str(video))]
    assert times[0] == end - timedelta(seconds=VIDEO_FRAMES / FPS)
    assert times[-1] < end


def test_open_source_refuses_missing_and_unknown_files(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        open_source(str(tmp_path / "gone.mp4"))
    (tmp_path / "x.doc").write_text("?")
    with pytest.raises(SourceError, match="unknown kind"):
        open_source(str(tmp_path / "x.doc"))


def test_redact_url_hides_credentials_when_stream_url_has_them() -> None:
    assert redact_url("rtsp://admin:s3cret@10.0.0.7:554/stream1") == "rtsp://***@10.0.0.7:554/stream1"
    assert redact_url("http://cam.example/video.mjpg") == "http://cam.example/video.mjpg"
    source = open_source("rtsp://admin:s3cret@10.0.0.7/live", max_reconnects=0)
    assert isinstance(source, StreamSource)
    assert "s3cret" not in repr(source) and "s3cret" not in source.description


def test_stream_source_reconnects_and_stamps_with_clock_when_stream_drops(tmp_path: Path) -> None:
    """A stream that ends is reopened (here a real video file stands in for the camera: each
    open plays it once, as a camera that drops after a while)."""
    video = tmp_path / "cam.avi"
    write_video(video)
    ticks = iter(range(1000))
    clock = lambda: T0 + timedelta(seconds=next(ticks))  # noqa: E731
    opened: list[str] = []

    def opener(url: str) -> cv2.VideoCapture:
        opened.append(url)
        return cv2.VideoCapture(str(video))

    source = StreamSource(
        "rtsp://u:pw@cam.local/live", clock=clock, backoff_s=0.01, max_reconnects=2, opener=opener
    )
    frames = list(source)
    assert len(opened) == 3 and len(frames) == 3 * VIDEO_FRAMES
    assert [f.captured_at for f in frames] == [T0 + timedelta(seconds=i) for i in range(3 * VIDEO_FRAMES)]
    assert {f.origin for f in frames} == {"rtsp://***@cam.local/live"}
    assert source.reconnects == 2


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def test_http_stream_is_reopened_and_credentials_never_logged_when_stream_ends(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A real HTTP stream through OpenCV's FFmpeg backend; each open plays the video once."""
    write_video(tmp_path / "cam.avi")
    handler = functools.partial(_QuietHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://viewer:pa55word@127.0.0.1:{server.server_address[1]}/cam.avi"
        source = open_source(url, max_reconnects=1)
        assert isinstance(source, StreamSource)
        source.backoff_s = 0.01
        with caplog.at_level(logging.DEBUG, logger="recognition"):
            frames = list(source)
    finally:
        server.shutdown()
        server.server_close()
    assert len(frames) == 2 * VIDEO_FRAMES and source.reconnects == 1
    assert all(f.origin.startswith("http://***@127.0.0.1:") for f in frames)
    times = [f.captured_at for f in frames]
    assert times == sorted(times) and times[0].tzinfo is UTC
    assert "reconnecting" in caplog.text and "pa55word" not in caplog.text


def test_folder_source_picks_up_new_images_when_following(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "001.png"), np.zeros((8, 8, 3), np.uint8))
    source = FolderSource(tmp_path, follow=True, poll_s=0.01)
    seen: list[str] = []

    def consume() -> None:
        for f in source:
            seen.append(f.origin)
            if len(seen) == 1:
                cv2.imwrite(str(tmp_path / "002.png"), np.zeros((8, 8, 3), np.uint8))
            if len(seen) == 2:
                source.stop()

    worker = threading.Thread(target=consume)
    worker.start()
    worker.join(60)
    source.stop()
    assert not worker.is_alive()
    assert seen == ["001.png", "002.png"]
