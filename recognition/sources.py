"""Frame sources: image files, folders, video files and live RTSP/HTTP streams, through OpenCV.

Every :class:`~recognition.base.Frame` carries its capture time, timezone-aware UTC:

* image file: EXIF ``DateTimeOriginal`` when it can be placed in time: with the
  ``OffsetTimeOriginal`` the camera wrote, else in the camera's zone ``exif_tz`` (an IANA name,
  ``--exif-tz``) when given; else the file's modification time (``DateTimeOriginal`` alone is
  the camera's local wall time, not UTC);
* video file: the frame's position in the video (``CAP_PROP_POS_MSEC``) added to the start of the
  recording, which is ``start`` when given, else the file's modification time minus the video's
  duration (a recorder writes the file's mtime when it finishes, and a start taken from it keeps
  the last frame from lying in the future);
* live stream: the clock when the frame was read (stream timestamps of RTSP cameras are relative
  and often reset on reconnect).

:func:`open_source` picks the kind from the spec. A live stream that drops is reopened with
exponential backoff. Credentials in stream URLs never reach logs or ``Frame.origin``, and file
names (agencies often name image files by plate) never reach logs or errors: frames are named
by their index.

Usage::

    with open_source("cam1.mp4") as source:
        for frame in source:
            ...
"""

from __future__ import annotations

import logging
import struct
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import cv2
import numpy as np

from recognition.base import Frame

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mkv", ".mov", ".m4v", ".mpg", ".mpeg", ".ts", ".webm"})
STREAM_SCHEMES = frozenset({"rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp"})

Clock = Callable[[], datetime]


class SourceError(RuntimeError):
    """A source cannot be opened or read (missing file, unknown kind, unreadable video)."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


def redact_url(url: str) -> str:
    """``url`` without user name and password, for logs and frame origins."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = f"***@{host}" + (f":{parts.port}" if parts.port is not None else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


# ------------------------------------------------------------------------------------------------
# EXIF: just enough of TIFF to find DateTimeOriginal (0x9003) and OffsetTimeOriginal (0x9011).
# ------------------------------------------------------------------------------------------------

_EXIF_IFD_POINTER = 0x8769
_DATETIME_ORIGINAL = 0x9003
_OFFSET_TIME_ORIGINAL = 0x9011


def exif_capture_time(data: bytes, local_zone: tzinfo | None = None) -> datetime | None:
    """The EXIF ``DateTimeOriginal`` of a JPEG (or raw TIFF/EXIF block), in UTC; None if absent
    or malformed. Without ``OffsetTimeOriginal`` the time is the camera's local wall time: it is
    placed in ``local_zone`` when given, else None (the caller falls back to another clock)."""
    tiff = _exif_block(data)
    if tiff is None or len(tiff) < 8:
        return None
    try:
        order = {b"II": "<", b"MM": ">"}[tiff[:2]]
        ifd0 = struct.unpack_from(order + "I", tiff, 4)[0]
        pointer = _ifd_values(tiff, order, ifd0).get(_EXIF_IFD_POINTER)
        if not isinstance(pointer, int):
            return None
        tags = _ifd_values(tiff, order, pointer)
        raw = tags.get(_DATETIME_ORIGINAL)
        if not isinstance(raw, str):
            return None
        moment = datetime.strptime(raw.strip(), "%Y:%m:%d %H:%M:%S")
        offset = tags.get(_OFFSET_TIME_ORIGINAL)
        tz: tzinfo | None = local_zone
        if isinstance(offset, str) and len(offset.strip()) == 6 and offset.strip()[0] in "+-":
            sign = -1 if offset.strip()[0] == "-" else 1
            hours, minutes = int(offset.strip()[1:3]), int(offset.strip()[4:6])
            tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
        if tz is None:
            return None
        return moment.replace(tzinfo=tz).astimezone(UTC)
    except (KeyError, ValueError, struct.error, OverflowError):
        return None


def _exif_block(data: bytes) -> bytes | None:
    if data[:2] in (b"II", b"MM"):
        return data
    if data[:2] != b"\xff\xd8":
        return None
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker in (0xD9, 0xDA):  # end of image, start of scan: no more metadata
            return None
        length = struct.unpack_from(">H", data, pos + 2)[0]
        segment = data[pos + 4 : pos + 2 + length]
        if marker == 0xE1 and segment.startswith(b"Exif\x00\x00"):
            return segment[6:]
        pos += 2 + length
    return None


def _ifd_values(tiff: bytes, order: str, offset: int) -> dict[int, int | str]:
    """Tags of one IFD that are a single LONG/SHORT or an ASCII string."""
    count = struct.unpack_from(order + "H", tiff, offset)[0]
    values: dict[int, int | str] = {}
    for i in range(count):
        tag, kind, n, value = struct.unpack_from(order + "HHI4s", tiff, offset + 2 + 12 * i)
        if kind == 2:  # ASCII
            start = struct.unpack_from(order + "I", value)[0] if n > 4 else None
            raw = value[:n] if start is None else tiff[start : start + n]
            values[tag] = raw.split(b"\x00", 1)[0].decode("ascii", "replace")
        elif kind == 4 and n == 1:  # LONG
            values[tag] = struct.unpack_from(order + "I", value)[0]
        elif kind == 3 and n == 1:  # SHORT
            values[tag] = struct.unpack_from(order + "H", value)[0]
    return values


# ------------------------------------------------------------------------------------------------
# Sources
# ------------------------------------------------------------------------------------------------


class Source(ABC):
    """An iterable of frames that holds a resource; close it (or use ``with``) when done.

    :meth:`stop` may be called from another thread or a signal handler: iteration ends after the
    current frame."""

    description: str = ""
    live: bool = False
    """Whether frames may stop coming for a while without the source ending (a followed folder,
    a stream): the capture then gives the tracker idle ticks."""

    def __init__(self) -> None:
        self._stopped = threading.Event()

    @abstractmethod
    def __iter__(self) -> Iterator[Frame]:
        """The frames, in order, each with its capture time."""

    def stop(self) -> None:
        self._stopped.set()

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def close(self) -> None:
        self.stop()

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_image(path: Path, exif_tz: tzinfo | None = None) -> tuple[np.ndarray, datetime]:
    """An image file as a BGR array with its capture time (EXIF, else modification time)."""
    data = path.read_bytes()
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise SourceError("not a readable image")
    return image, exif_capture_time(data, exif_tz) or _mtime(path)


class ImageSource(Source):
    """One image file."""

    def __init__(self, path: Path, *, exif_tz: tzinfo | None = None) -> None:
        super().__init__()
        self.path = path
        self.exif_tz = exif_tz
        self.description = "one image file"

    def __iter__(self) -> Iterator[Frame]:
        try:
            image, captured_at = read_image(self.path, self.exif_tz)
        except OSError as exc:
            raise SourceError(f"the image cannot be read: {exc.strerror or type(exc).__name__}") from None
        yield Frame(image=image, captured_at=captured_at, index=0, origin=self.path.name)


class FolderSource(Source):
    """The images of a folder in name order (other files are skipped). With ``follow``, keeps
    watching the folder for new images, each read once, until stopped; a file is taken once its
    size stopped changing between two polls, so half-written images are not read."""

    def __init__(
        self, path: Path, *, follow: bool = False, poll_s: float = 1.0, exif_tz: tzinfo | None = None
    ) -> None:
        super().__init__()
        self.path = path
        self.follow = follow
        self.live = follow
        self.poll_s = poll_s
        self.exif_tz = exif_tz
        self.description = f"folder {path.name or path}" + (" (following)" if follow else "")

    def _images(self) -> list[Path]:
        return sorted(p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())

    def __iter__(self) -> Iterator[Frame]:
        seen: set[str] = set()
        sizes: dict[str, int] = {}
        index = 0
        while not self.stopped:
            for path in self._images():
                if self.stopped:
                    return
                if path.name in seen:
                    continue
                if self.follow:
                    size = path.stat().st_size
                    if sizes.get(path.name) != size:  # new or still growing: look again next poll
                        sizes[path.name] = size
                        continue
                seen.add(path.name)
                sizes.pop(path.name, None)
                try:
                    image, captured_at = read_image(path, self.exif_tz)
                except (SourceError, OSError) as exc:
                    reason = exc.strerror if isinstance(exc, OSError) else str(exc)
                    log.warning("skipping an unreadable image at frame %d: %s", index, reason)
                    continue
                yield Frame(image=image, captured_at=captured_at, index=index, origin=path.name)
                index += 1
            if not self.follow:
                return
            self._stopped.wait(self.poll_s)


class VideoFileSource(Source):
    """A video file, frame by frame; capture time = start of recording + position in the video."""

    def __init__(self, path: Path, *, start: datetime | None = None) -> None:
        super().__init__()
        self.path = path
        self.start = start
        self.description = "one video file"

    def __iter__(self) -> Iterator[Frame]:
        capture = cv2.VideoCapture(str(self.path))
        if not capture.isOpened():
            raise SourceError("cannot open the video")
        try:
            start = self.start
            if start is None:
                fps = capture.get(cv2.CAP_PROP_FPS) or 0.0
                count = capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0.0
                duration = timedelta(seconds=count / fps) if fps > 0 and count > 0 else timedelta(0)
                start = _mtime(self.path) - duration
            index = 0
            while not self.stopped:
                ok, image = capture.read()
                if not ok:
                    return
                # POS_MSEC after a read is the position of the frame just decoded.
                position = max(0.0, capture.get(cv2.CAP_PROP_POS_MSEC) or 0.0)
                yield Frame(
                    image=image,
                    captured_at=start + timedelta(milliseconds=position),
                    index=index,
                    origin=f"{self.path.name}#{index}",
                )
                index += 1
        finally:
            capture.release()


class StreamSource(Source):
    """A live RTSP/HTTP stream, stamped with the clock; reopened with exponential backoff when it
    cannot be opened or stops giving frames, until stopped (or ``max_reconnects`` is used up)."""

    def __init__(
        self,
        url: str,
        *,
        clock: Clock = _utc_now,
        backoff_s: float = 1.0,
        max_backoff_s: float = 30.0,
        max_reconnects: int | None = None,
        opener: Callable[[str], cv2.VideoCapture] | None = None,
    ) -> None:
        super().__init__()
        self._url = url
        self.safe_url = redact_url(url)
        self.clock = clock
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.max_reconnects = max_reconnects
        self.reconnects = 0
        self._open = opener or (lambda u: cv2.VideoCapture(u, cv2.CAP_FFMPEG))
        self.description = f"stream {self.safe_url}"
        self.live = True

    def __repr__(self) -> str:  # never the credentials
        return f"StreamSource({self.safe_url!r})"

    def __iter__(self) -> Iterator[Frame]:
        index = 0
        delay = self.backoff_s
        attempt = 0
        while not self.stopped:
            capture = self._open(self._url)
            got = 0
            try:
                if capture.isOpened():
                    log.info("stream %s opened", self.safe_url)
                    while not self.stopped:
                        ok, image = capture.read()
                        if not ok or image is None:
                            break
                        got += 1
                        yield Frame(image=image, captured_at=self.clock(), index=index, origin=self.safe_url)
                        index += 1
            finally:
                capture.release()
            if self.stopped:
                return
            if got:
                delay = self.backoff_s  # it worked for a while: start the backoff over
            if self.max_reconnects is not None and attempt >= self.max_reconnects:
                log.warning("stream %s ended; giving up after %d reconnects", self.safe_url, attempt)
                return
            attempt += 1
            self.reconnects = attempt
            log.warning("stream %s dropped (%d frames); reconnecting in %.1f s", self.safe_url, got, delay)
            self._stopped.wait(delay)
            delay = min(self.max_backoff_s, delay * 2)


def is_stream(spec: str) -> bool:
    scheme = urlsplit(spec).scheme.lower()
    return scheme in STREAM_SCHEMES


def open_source(
    spec: str,
    *,
    start: datetime | None = None,
    follow: bool = False,
    clock: Clock = _utc_now,
    max_reconnects: int | None = None,
    exif_tz: tzinfo | None = None,
) -> Source:
    """The source ``spec`` names: a stream URL, a folder, a video file or an image file.

    ``start`` sets the recording start of a video file; ``follow`` keeps watching a folder for
    new images; ``exif_tz`` is the zone of EXIF times that carry no offset. Raises
    :class:`SourceError` for a missing path or an unknown file kind."""
    if is_stream(spec):
        return StreamSource(spec, clock=clock, max_reconnects=max_reconnects)
    path = Path(spec)
    if path.is_dir():
        return FolderSource(path, follow=follow, exif_tz=exif_tz)
    if not path.is_file():
        raise SourceError("no such file, folder or stream URL")
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return ImageSource(path, exif_tz=exif_tz)
    if suffix in VIDEO_SUFFIXES:
        return VideoFileSource(path, start=start)
    raise SourceError(
        f"unknown kind of file {suffix or '(no suffix)'} (images: {', '.join(sorted(IMAGE_SUFFIXES))}; "
        f"videos: {', '.join(sorted(VIDEO_SUFFIXES))})"
    )


__all__ = [
    "FolderSource",
    "ImageSource",
    "Source",
    "SourceError",
    "StreamSource",
    "VideoFileSource",
    "exif_capture_time",
    "open_source",
    "read_image",
    "redact_url",
]
