"""The shared shapes of the recognition pipeline: frames in, plate candidates out.

Flow: a source (:mod:`recognition.sources`) yields :class:`Frame` s with their capture time; a
:class:`Recognizer` (:mod:`recognition.recognizers`) turns one frame into
:class:`PlateCandidate` s; :mod:`recognition.plates` normalises candidate text to our plate value
(US state formats, O/0 and I/1 by position); the tracker (:mod:`recognition.tracking`) folds the
same plate seen in consecutive frames of one camera into one :class:`Sighting` (best-confidence
frame, its plate crop and vehicle image); delivery (:mod:`recognition.delivery`) turns sightings
into ``RecordRead`` commands and appends them in-process or over HTTP through a durable local
queue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

BoundingBox = tuple[int, int, int, int]
"""(x1, y1, x2, y2) in pixels of the frame, x2/y2 exclusive."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One image: ``image`` is an OpenCV BGR ``numpy.ndarray`` (height x width x 3, uint8).

    ``captured_at`` is timezone-aware UTC: from the stream's timestamp, the file (EXIF or
    modification time) or the clock. ``index`` counts frames of the source from 0; ``origin``
    names where the frame came from (file path relative to the source, or stream URL without
    credentials) for logs only."""

    image: Any
    captured_at: datetime
    index: int = 0
    origin: str = ""


@dataclass(frozen=True, slots=True)
class PlateCandidate:
    """One plate a recognizer found in a frame.

    ``text`` is the recognizer's raw reading (upper case, may hold separators or confusable
    characters); ``confidence`` in [0, 1] for the whole plate; ``char_confidences`` one value per
    character of ``text`` when the model gives them; ``box`` the plate's bounding box in the frame;
    ``region`` the state/region the model recognised, if any (two-letter US state code when known).
    """

    text: str
    confidence: float
    box: BoundingBox
    char_confidences: tuple[float, ...] | None = None
    region: str | None = None
    detector_confidence: float | None = None


@runtime_checkable
class Recognizer(Protocol):
    """Frame -> plate candidates. Implementations load their models once, at construction, from
    explicit local paths (never downloading), and raise :class:`ModelError` when a model is missing,
    altered or unreadable."""

    name: str

    def recognize(self, frame: Frame) -> list[PlateCandidate]: ...


class ModelError(RuntimeError):
    """A model file is missing, does not match its manifest's SHA-256, or cannot be loaded."""


@dataclass(frozen=True, slots=True)
class Sighting:
    """One read-to-be: a plate tracked across consecutive frames of one camera.

    ``plate`` is normalised (A-Z, 0-9); ``captured_at`` is the time of the best frame;
    ``plate_crop`` and ``vehicle_image`` are JPEG bytes of the best frame (crop of the plate box,
    and the vehicle region or whole frame)."""

    plate: str
    state: str | None
    confidence: float
    captured_at: datetime
    box: BoundingBox
    frames: int
    plate_crop: bytes | None = None
    vehicle_image: bytes | None = None
    char_confidences: tuple[float, ...] | None = None
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


__all__ = ["BoundingBox", "Frame", "ModelError", "PlateCandidate", "Recognizer", "Sighting"]
