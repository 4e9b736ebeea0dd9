"""Tracking and dedupe: the same plate seen in consecutive frames of one camera is one sighting.

A track is keyed by the normalised plate. A candidate continues a live track of the same plate
when it comes no later than ``window`` after the track's last frame (and, with ``min_overlap``,
when its box overlaps the track's last box by at least that intersection-over-union; frames
lower in the track's plate are ignored for the overlap test since a vehicle moves). A track ends
when ``window`` passes without its plate (noticed at the next frame, or at an idle tick through
:meth:`Tracker.expire`), when the source ends (:meth:`Tracker.flush`), or when
more than ``max_tracks`` are live (the longest-quiet one first), so memory stays bounded: a track
holds one frame (its best) and a few numbers.

The decision of which track a candidate joins is :func:`continues`, a pure function; the tracker
only keeps state and encodes the best frame's plate crop and vehicle image (JPEG) when a track
ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import cv2

from recognition.base import BoundingBox, Frame, PlateCandidate, Sighting
from recognition.plates import normalise_plate

DEFAULT_WINDOW = timedelta(seconds=3)
DEFAULT_MAX_TRACKS = 64
JPEG_QUALITY = 90


@dataclass(frozen=True, slots=True)
class Reading:
    """A candidate after normalisation: the plate value, its state and confidence."""

    plate: str
    state: str | None
    confidence: float
    char_confidences: tuple[float, ...] | None = None


Normaliser = Callable[[PlateCandidate], Reading | None]
"""Candidate -> normalised reading, or None when the text is not a plate."""


def plate_normaliser(candidate: PlateCandidate) -> Reading | None:
    """Our plate value (:func:`recognition.plates.normalise_plate`), or None when not a plate."""
    plate = normalise_plate(
        candidate.text, state=candidate.region, char_confidences=candidate.char_confidences
    )
    if plate is None:
        return None
    return Reading(plate.text, plate.state, candidate.confidence, plate.char_confidences)


def iou(a: BoundingBox, b: BoundingBox) -> float:
    """Intersection over union of two boxes (0 when they do not touch)."""
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def continues(
    last_seen: datetime,
    last_box: BoundingBox,
    seen_at: datetime,
    box: BoundingBox,
    *,
    window: timedelta,
    min_overlap: float | None,
) -> bool:
    """Whether a sighting of a track's plate at ``seen_at`` in ``box`` continues that track."""
    if seen_at < last_seen or seen_at - last_seen > window:
        return False
    return min_overlap is None or iou(last_box, box) >= min_overlap


def vehicle_region(box: BoundingBox, width: int, height: int) -> BoundingBox:
    """The part of the frame where the vehicle carrying a plate in ``box`` is: about three plate
    widths wide and four plate heights above it, clipped to the frame."""
    x1, y1, x2, y2 = box
    pw, ph = max(1, x2 - x1), max(1, y2 - y1)
    return (
        max(0, x1 - pw),
        max(0, y1 - 4 * ph),
        min(width, x2 + pw),
        min(height, y2 + ph),
    )


def encode_jpeg(image: Any) -> bytes | None:
    """JPEG bytes of a BGR image, or None for an empty one."""
    if image is None or image.size == 0:
        return None
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    return buffer.tobytes() if ok else None


@dataclass(slots=True)
class _Track:
    reading: Reading
    box: BoundingBox
    best_frame: Frame
    best_box: BoundingBox
    first_seen: datetime
    last_seen: datetime
    last_box: BoundingBox
    frames: int
    region: str | None
    detector_confidence: float | None


class Tracker:
    """Folds per-frame candidates of one camera into sightings. Not thread-safe: one per source."""

    def __init__(
        self,
        *,
        window: timedelta = DEFAULT_WINDOW,
        min_overlap: float | None = None,
        max_tracks: int = DEFAULT_MAX_TRACKS,
        normalise: Normaliser = plate_normaliser,
    ) -> None:
        if window < timedelta(0):
            raise ValueError("window must not be negative")
        if max_tracks < 1:
            raise ValueError("max_tracks must be at least 1")
        self.window = window
        self.min_overlap = min_overlap
        self.max_tracks = max_tracks
        self.normalise = normalise
        self._tracks: dict[str, _Track] = {}
        self._now: datetime | None = None

    @property
    def live(self) -> int:
        return len(self._tracks)

    def update(self, frame: Frame, candidates: Iterable[PlateCandidate]) -> list[Sighting]:
        """Take one frame's candidates; return the sightings that ended before this frame."""
        now = frame.captured_at
        ended: list[Sighting] = []
        if self._now is not None and now < self._now:
            # Time went backwards (a new file with an older timestamp, a camera clock reset):
            # nothing seen before can continue into this frame.
            ended.extend(self.flush())
        self._now = now
        ended.extend(self._expire(now))
        best_in_frame: dict[str, tuple[Reading, PlateCandidate]] = {}
        for candidate in candidates:
            reading = self.normalise(candidate)
            if reading is None:
                continue
            held = best_in_frame.get(reading.plate)
            if held is None or reading.confidence > held[0].confidence:
                best_in_frame[reading.plate] = (reading, candidate)
        for plate, (reading, candidate) in best_in_frame.items():
            track = self._tracks.get(plate)
            if track is not None and not continues(
                track.last_seen, track.last_box, now, candidate.box,
                window=self.window, min_overlap=self.min_overlap,
            ):  # fmt: skip
                ended.append(self._end(self._tracks.pop(plate)))
                track = None
            if track is None:
                self._tracks[plate] = _Track(
                    reading=reading,
                    box=candidate.box,
                    best_frame=frame,
                    best_box=candidate.box,
                    first_seen=now,
                    last_seen=now,
                    last_box=candidate.box,
                    frames=1,
                    region=reading.state,
                    detector_confidence=candidate.detector_confidence,
                )
                continue
            track.frames += 1
            track.last_seen = now
            track.last_box = candidate.box
            if track.region is None and reading.state is not None:
                track.region = reading.state
            if reading.confidence > track.reading.confidence:
                track.reading = reading
                track.best_frame = frame
                track.best_box = candidate.box
                track.detector_confidence = candidate.detector_confidence
        while len(self._tracks) > self.max_tracks:
            quietest = min(self._tracks, key=lambda p: self._tracks[p].last_seen)
            ended.append(self._end(self._tracks.pop(quietest)))
        return ended

    def expire(self, now: datetime) -> list[Sighting]:
        """End the tracks unseen for longer than ``window`` at ``now`` (an idle tick: no frame came,
        e.g. a followed folder or a stream waiting for its camera), oldest first. Without it a
        track ends only when a later frame arrives, so the last plate before a quiet spell would
        wait for the next vehicle."""
        return self._expire(now)

    @property
    def last_frame_at(self) -> datetime | None:
        """The capture time of the last frame given to :meth:`update`."""
        return self._now

    def flush(self) -> list[Sighting]:
        """End every live track (end of source), oldest first."""
        tracks = sorted(self._tracks.values(), key=lambda t: t.first_seen)
        self._tracks.clear()
        return [self._end(t) for t in tracks]

    def _expire(self, now: datetime) -> list[Sighting]:
        gone = [p for p, t in self._tracks.items() if now - t.last_seen > self.window]
        gone.sort(key=lambda p: self._tracks[p].first_seen)
        return [self._end(self._tracks.pop(p)) for p in gone]

    def _end(self, track: _Track) -> Sighting:
        image = track.best_frame.image
        height, width = image.shape[:2]
        x1, y1, x2, y2 = track.best_box
        crop = image[max(0, y1) : min(height, y2), max(0, x1) : min(width, x2)]
        vx1, vy1, vx2, vy2 = vehicle_region(track.best_box, width, height)
        extra: dict[str, Any] = {"origin": track.best_frame.origin, "frame_index": track.best_frame.index}
        if track.detector_confidence is not None:
            extra["detector_confidence"] = track.detector_confidence
        return Sighting(
            plate=track.reading.plate,
            state=track.reading.state or track.region,
            confidence=track.reading.confidence,
            captured_at=track.best_frame.captured_at,
            box=track.best_box,
            frames=track.frames,
            plate_crop=encode_jpeg(crop),
            vehicle_image=encode_jpeg(image[vy1:vy2, vx1:vx2]),
            char_confidences=track.reading.char_confidences,
            first_seen=track.first_seen,
            last_seen=track.last_seen,
            extra=extra,
        )


__all__ = [
    "DEFAULT_WINDOW",
    "Normaliser",
    "Reading",
    "Tracker",
    "continues",
    "encode_jpeg",
    "iou",
    "plate_normaliser",
    "vehicle_region",
]
