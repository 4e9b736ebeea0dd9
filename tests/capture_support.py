"""Helpers of the capture tests: synthetic videos and folders of rendered plates, a recognizer spy."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np

from recognition.base import Frame, PlateCandidate, Recognizer
from recognition.synthetic import PlateStyle, render_plate, scene

FPS = 2.0
VIDEO_SIZE = (640, 400)

# (text, state, first frame, last frame, x at first frame, y); frame 3 and 4 hold both plates.
VIDEO_PLATES: tuple[tuple[str, str, int, int, int, int], ...] = (
    ("KDT4821", "TX", 0, 4, 30, 60),
    ("7XYZ123", "CA", 3, 7, 330, 230),
)
VIDEO_FRAMES = 9  # frame 8 holds no plate
BLUR_BY_FRAME = (5, 3, 0, 5, 3, 0, 5, 3, 0)


def write_video(path: Path) -> None:
    """An MJPG .avi of two plates moving across the frame; each plate is sharper in some frames
    than in others, so the recognizer's confidence varies from frame to frame."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, VIDEO_SIZE)
    assert writer.isOpened()
    rng = np.random.default_rng(5)
    try:
        for index in range(VIDEO_FRAMES):
            placed = []
            for text, state, first, last, x, y in VIDEO_PLATES:
                if first <= index <= last:
                    style = PlateStyle(width=220, blur=BLUR_BY_FRAME[index])
                    plate = render_plate(text, state=state, style=style)
                    placed.append((plate, (x + 25 * (index - first), y)))
            frame, _ = scene(placed, size=VIDEO_SIZE, rng=rng)
            writer.write(frame)
    finally:
        writer.release()


def write_plate_folder(
    folder: Path, plates: list[tuple[str, str]], *, start: datetime, gap_s: float = 60
) -> None:
    """One street scene per plate, with modification times ``gap_s`` apart from ``start``."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(9)
    for i, (text, state) in enumerate(plates):
        plate = render_plate(text, state=state, style=PlateStyle(width=260))
        frame, _ = scene([(plate, (270, 330))], size=(800, 600), rng=rng)
        path = folder / f"{i:03d}.jpg"
        cv2.imwrite(str(path), frame)
        moment = start.timestamp() + i * gap_s
        os.utime(path, (moment, moment))


@dataclass
class RecordingRecognizer:
    """The real recognizer, with what it returned for each frame kept for the assertions."""

    inner: Recognizer
    seen: list[tuple[Frame, list[PlateCandidate]]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.inner.name

    def recognize(self, frame: Frame) -> list[PlateCandidate]:
        candidates = self.inner.recognize(frame)
        self.seen.append((frame, candidates))
        return candidates
