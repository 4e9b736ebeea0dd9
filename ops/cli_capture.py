"""``alpr-ledger capture``: images, folders, videos or streams -> reads, through a durable queue.

Flow: a source (:mod:`recognition.sources`) gives frames; the recognizer turns each into plate
candidates; the tracker (:mod:`recognition.tracking`) folds a plate seen in consecutive frames
into one sighting; each sighting is committed to the local queue (:mod:`recognition.delivery`)
before anything is sent; a sender thread drains the queue to the ledger, in-process (``--db``,
the application service) or over HTTP (``--server`` and a device token). When the source ends
the queue is drained for up to ``--drain-timeout`` seconds; reads still waiting stay in the
queue file and go out with the next run (``capture --camera ID`` without ``--source`` only
drains).

``alpr-ledger demo-capture`` renders a few plates into a folder and captures them into a demo
camera with the out-of-the-box recognizer (``make run`` calls it).
"""

from __future__ import annotations

import re
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from rich.console import Console

from recognition.models import DEFAULT_MODEL_DIR

if TYPE_CHECKING:
    from recognition.base import Recognizer
    from recognition.delivery import CameraInfo, DeliveryQueue, Sender
    from recognition.sources import Source
    from recognition.tracking import Tracker

console = Console(stderr=True)


DbOption = Annotated[
    Optional[str],  # noqa: UP045 - typer needs Optional here
    typer.Option(
        "--db", help="Database URL (sqlite:///PATH or postgresql://...); default from ALPR_DATABASE_URL."
    ),
]


@dataclass(slots=True)
class CaptureStats:
    frames: int = 0
    sightings: int = 0
    queued: int = 0
    failed_frames: int = 0


IDLE_TICK_S = 0.5
"""How often a live source's idle spells are checked for tracks to end (seconds of wall time)."""


def capture_frames(
    source: Source,
    recognizer: Recognizer,
    tracker: Tracker,
    queue: DeliveryQueue,
    camera: CameraInfo,
    *,
    on_queued: Callable[[], None] | None = None,
    idle_tick_s: float = IDLE_TICK_S,
) -> CaptureStats:
    """Run ``source`` through recognition and tracking into ``queue``; every sighting is committed
    to the queue as soon as its track ends, and all live tracks are flushed when the source ends.

    With a live source (a followed folder, a stream) frames may stop coming for a while: a
    ticker thread then gives the tracker idle ticks (:meth:`Tracker.expire`), its clock being
    the last frame's time plus the wall time since, so the last plate before a quiet spell is
    queued once ``window`` has passed rather than when the next vehicle comes."""
    import time

    stats = CaptureStats()
    lock = threading.Lock()  # the tracker and the queue's connection, shared with the ticker
    last_frame_wall = [time.monotonic()]

    def enqueue(sightings: list[Any]) -> None:
        for sighting in sightings:
            stats.sightings += 1
            if queue.put_sighting(sighting, camera):
                stats.queued += 1
                if on_queued is not None:
                    on_queued()

    done = threading.Event()

    def tick() -> None:
        while not done.wait(idle_tick_s):
            with lock:
                last = tracker.last_frame_at
                if last is None or tracker.live == 0:
                    continue
                idle = time.monotonic() - last_frame_wall[0]
                if idle <= tracker.window.total_seconds():
                    continue
                try:
                    enqueue(tracker.expire(last + timedelta(seconds=idle)))
                except Exception as exc:  # noqa: BLE001 - retried at the next tick or flush
                    console.print(f"[yellow]idle tick failed:[/yellow] {type(exc).__name__}: {exc}")

    ticker = None
    if getattr(source, "live", False):
        ticker = threading.Thread(target=tick, name="capture-idle-tick", daemon=True)
        ticker.start()
    try:
        for frame in source:
            with lock:
                stats.frames += 1
                last_frame_wall[0] = time.monotonic()
                try:
                    candidates = recognizer.recognize(frame)
                except Exception as exc:  # noqa: BLE001 - one bad frame must not stop a camera
                    stats.failed_frames += 1
                    # The frame's index, never its file name (agencies name files by plate).
                    console.print(f"[yellow]frame {frame.index} skipped:[/yellow] {type(exc).__name__}")
                    continue
                enqueue(tracker.update(frame, candidates))
    finally:
        done.set()
        if ticker is not None:
            ticker.join()
        enqueue(tracker.flush())
    return stats


def default_queue_path(data_dir: Path, camera_id: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", camera_id)[:64] or "camera"
    return data_dir / "capture" / f"{safe}.queue.db"


def _zone(name: str | None) -> tzinfo | None:
    """``--exif-tz``: an IANA zone name."""
    if name is None:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise typer.BadParameter(
            f"{name!r} is not an IANA time zone (e.g. America/New_York)", param_hint="--exif-tz"
        ) from None


def _utc(raw: str | None) -> datetime | None:
    """``--start``: ISO 8601, UTC unless it carries an offset."""
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"{raw!r} is not an ISO 8601 date-time", param_hint="--start") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@contextmanager
def _stop_on_signals(source: Source | None, stop: threading.Event) -> Iterator[None]:
    """SIGINT / SIGTERM end the source gracefully: live tracks are flushed and queued."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: object) -> None:
        console.print(f"signal {signum}: finishing (live tracks are queued)")
        if source is not None:
            source.stop()
        stop.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _camera_from_registry(app: Any, camera_id: str) -> CameraInfo:
    from recognition.delivery import CameraInfo

    camera = app.find_camera(camera_id)
    if camera is None:
        raise typer.BadParameter(f"camera {camera_id!r} is not registered", param_hint="--camera")
    if not camera.in_service:
        raise typer.BadParameter(
            f"camera {camera_id!r} is out of service ({camera.out_of_service_reason})", param_hint="--camera"
        )
    return CameraInfo(
        camera_id=str(camera.camera_id),
        kind=camera.kind.value,
        latitude=camera.latitude,
        longitude=camera.longitude,
        patrol_vehicle=None if camera.patrol_vehicle is None else str(camera.patrol_vehicle),
    )


def run_capture(
    *,
    camera: CameraInfo,
    sender: Sender,
    queue_path: Path,
    source: Source | None,
    recognizer: Recognizer | None,
    tracker: Tracker | None,
    drain_timeout_s: float | None,
) -> tuple[CaptureStats, int]:
    """Capture ``source`` (if any) while ``sender`` drains in a thread, then drain what is left
    for up to ``drain_timeout_s``. Returns the capture figures and the reads still queued."""
    from recognition.delivery import DeliveryQueue, FatalDeliveryError

    stats = CaptureStats()
    interrupted = threading.Event()  # set by SIGINT / SIGTERM
    stop_sender = threading.Event()
    wake = threading.Event()
    failure: list[BaseException] = []

    def send() -> None:
        import logging

        delay = sender.backoff_s
        while not stop_sender.is_set():
            try:
                sender.run(stop_sender, wake=wake)
                return
            except FatalDeliveryError as exc:
                failure.append(exc)
                if source is not None:
                    source.stop()
                return
            except Exception as exc:  # noqa: BLE001 - the sender must not die silently
                sender.stats.failures += 1
                sender.stats.last_error = f"{type(exc).__name__}: {exc}"
                logging.getLogger(__name__).exception("capture sender failed; retrying in %.1f s", delay)
                console.print(
                    f"[yellow]sender error[/yellow] {sender.stats.last_error}; retrying in {delay:.1f} s"
                )
                stop_sender.wait(delay)
                delay = min(sender.max_backoff_s, delay * 2)

    with _stop_on_signals(source, interrupted):
        if source is not None and recognizer is not None and tracker is not None:
            thread = threading.Thread(target=send, name="capture-sender", daemon=True)
            thread.start()
            try:
                with DeliveryQueue(queue_path) as writer:
                    stats = capture_frames(source, recognizer, tracker, writer, camera, on_queued=wake.set)
            finally:
                source.close()
                stop_sender.set()
                wake.set()
                thread.join()
            if failure:
                raise failure[0]
        if not interrupted.is_set():
            sender.drain(timeout_s=drain_timeout_s, stop=interrupted)
    return stats, sender.queue.pending_count()


def capture(
    camera_id: Annotated[str, typer.Option("--camera", help="The registered camera's id.")],
    source_spec: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--source",
            help="Image file, folder of images, video file, or rtsp:// / http(s):// stream URL. "
            "Without it, only the queue is drained.",
        ),
    ] = None,
    server: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--server", help="Ledger URL (send over HTTP); default: append in-process (--db)."),
    ] = None,
    token: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--token", help="Device token for --server (see `alpr-ledger accounts token`)."),
    ] = None,
    token_file: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--token-file", help="A file holding the device token (keeps it out of `ps`)."),
    ] = None,
    queue_file: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--queue", help="Local queue file (SQLite). Default: DATA_DIR/capture/CAMERA.queue.db."),
    ] = None,
    recognizer_name: Annotated[
        str, typer.Option("--recognizer", help="rapidocr (no model files) or fast-alpr (--model-dir).")
    ] = "rapidocr",
    model_dir: Annotated[
        Path,
        typer.Option(
            "--model-dir", help="Verified model directory (fast-alpr); where `models install` puts them."
        ),
    ] = DEFAULT_MODEL_DIR,
    window: Annotated[
        float,
        typer.Option("--window", min=0.0, help="Seconds a plate may go unseen and still be the same read."),
    ] = 3.0,
    min_overlap: Annotated[
        Optional[float],  # noqa: UP045
        typer.Option("--min-overlap", min=0.0, max=1.0, help="Also require this box overlap (IoU)."),
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow", help="Keep watching a folder for new images until stopped.")
    ] = False,
    start: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--start", help="Recording start of a video file (ISO 8601; UTC unless an offset)."),
    ] = None,
    exif_tz: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--exif-tz",
            help="The camera's time zone (IANA, e.g. America/New_York) for EXIF times without an "
            "offset; without it such images are stamped with the file's modification time.",
        ),
    ] = None,
    insecure_http: Annotated[
        bool,
        typer.Option("--insecure-http", help="Allow plain http to a --server that is not on the loopback."),
    ] = False,
    batch: Annotated[int, typer.Option("--batch", min=1, max=1000, help="Reads per batch sent.")] = 50,
    drain_timeout: Annotated[
        float,
        typer.Option(
            "--drain-timeout",
            min=0.0,
            help="Seconds to keep retrying an unreachable ledger after the source ends (0: no wait).",
        ),
    ] = 30.0,
    requeue_rejected: Annotated[
        bool, typer.Option("--requeue-rejected", help="Send reads refused earlier again (after a fix).")
    ] = False,
    kind: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--kind", help="With --server: the camera's kind (fixed, mobile, portable)."),
    ] = None,
    latitude: Annotated[
        Optional[float],  # noqa: UP045
        typer.Option("--latitude", help="With --server: the camera's registered latitude."),
    ] = None,
    longitude: Annotated[
        Optional[float],  # noqa: UP045
        typer.Option("--longitude", help="With --server: the camera's registered longitude."),
    ] = None,
    patrol_vehicle: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--patrol-vehicle", help="With --server: the mobile camera's patrol vehicle."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Turn images, a folder, a video or a stream into reads (one per plate passage) and append them.

    In-process (default) the camera's kind, location and patrol vehicle come from the camera
    registry. With --server the device token cannot read the registry: give --kind, --latitude
    and --longitude (and --patrol-vehicle for a mobile camera); the ledger checks them against
    the registration. Reads wait in the local queue while the ledger is unreachable."""
    from ops.settings import Settings
    from recognition.base import ModelError
    from recognition.delivery import (
        CameraInfo,
        DeliveryQueue,
        FatalDeliveryError,
        HttpTransport,
        InsecureServerError,
        QueueKeyMissingError,
        Sender,
        ServiceTransport,
        Transport,
    )
    from recognition.sources import SourceError, open_source, redact_url
    from recognition.tracking import Tracker

    if token_file is not None:
        token = token_file.read_text(encoding="utf-8").strip()
    if server is not None and not token:
        raise typer.BadParameter("--server needs --token or --token-file", param_hint="--token")
    settings = Settings(database_url=db) if db else Settings()
    runtime = None
    try:
        transport: Transport
        if server is None:
            from ops.cli import _runtime

            runtime = _runtime(db)
            camera = _camera_from_registry(runtime.app, camera_id)
            transport = ServiceTransport(runtime.app)
        else:
            if kind is None or latitude is None or longitude is None:
                raise typer.BadParameter(
                    "--server needs the camera's --kind, --latitude and --longitude", param_hint="--kind"
                )
            camera = CameraInfo(camera_id, kind, latitude, longitude, patrol_vehicle)
            try:
                transport = HttpTransport(server, token or "", allow_insecure=insecure_http)
            except InsecureServerError as exc:
                raise typer.BadParameter(str(exc), param_hint="--server") from None
        queue_path = queue_file or default_queue_path(settings.data_dir, camera_id)
        source = recognizer = tracker = None
        if source_spec is not None:
            try:
                source = open_source(source_spec, start=_utc(start), follow=follow, exif_tz=_zone(exif_tz))
            except SourceError as exc:
                raise typer.BadParameter(str(exc), param_hint="--source") from None
            try:
                from recognition.recognizers import build_recognizer

                recognizer = build_recognizer(recognizer_name, model_dir)
            except (ModelError, ValueError) as exc:
                console.print(f"[red]error[/red] recognizer {recognizer_name}: {exc}")
                raise typer.Exit(1) from None
            tracker = Tracker(window=timedelta(seconds=window), min_overlap=min_overlap)
        try:
            opened = DeliveryQueue(queue_path)
        except QueueKeyMissingError as exc:
            console.print(f"[red]error[/red] {exc}")
            raise typer.Exit(1) from None
        with opened as queue:
            if requeue_rejected:
                console.print(f"requeued {queue.requeue_rejected()} rejected read(s)")
            waiting = queue.pending_count()
            where = source.description if source is not None else "no source (draining only)"
            console.print(
                f"capture: camera {camera.camera_id}, {where}, to {transport.description}; "
                f"queue {queue_path.name} holds {waiting} read(s)"
            )
            sender = Sender(queue, transport, batch_size=batch)
            try:
                stats, left = run_capture(
                    camera=camera,
                    sender=sender,
                    queue_path=queue_path,
                    source=source,
                    recognizer=recognizer,
                    tracker=tracker,
                    drain_timeout_s=drain_timeout,
                )
            except FatalDeliveryError as exc:
                console.print(f"[red]error[/red] the ledger refuses this sender: {exc}")
                raise typer.Exit(1) from None
            except SourceError as exc:
                console.print(f"[red]error[/red] {redact_url(str(exc))}")
                raise typer.Exit(1) from None
            rejected = len(queue.rejected())
        sent = sender.stats
        typer.echo(
            f"frames: {stats.frames}\tsightings: {stats.sightings}\tqueued: {stats.queued}\t"
            f"sent: {sent.sent}\tduplicates: {sent.duplicates}\thits: {sent.hits}\t"
            f"rejected: {sent.rejected}\twaiting: {left}"
        )
        if rejected:
            console.print(
                f"{rejected} read(s) refused by the ledger are kept in {queue_path.name} "
                "(fix the cause, then --requeue-rejected)"
            )
        if left:
            console.print(f"{left} read(s) still queued in {queue_path}; they are sent on the next run")
            if server is not None and sent.last_error:
                console.print(f"last error: {sent.last_error}")
    finally:
        if runtime is not None:
            runtime.close()


# ------------------------------------------------------------------------------------------------
# demo-capture
# ------------------------------------------------------------------------------------------------

DEMO_CAMERA = "DEMO-CAPTURE-1"
DEMO_HOTLISTED = "KDT4821"
DEMO_HOTLIST = "Demo capture watch list"


def demo_capture(
    folder: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--folder", help="Where the rendered plates go. Default: DATA_DIR/demo-capture."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Render a few plates, register a demo camera and a watch list with one of them, and capture
    the folder in-process with the out-of-the-box recognizer (reads appear, one raises a hit)."""
    from domain.camera import RegisterCamera
    from ops.cli import _runtime
    from recognition.delivery import DeliveryQueue, Sender, ServiceTransport
    from recognition.demo import render_demo_folder
    from recognition.recognizers import build_recognizer
    from recognition.sources import FolderSource
    from recognition.tracking import Tracker

    runtime = _runtime(db)
    try:
        app = runtime.app
        folder = folder or runtime.settings.data_dir / "demo-capture"
        render_demo_folder(folder, now=app.clock())
        app.register_cameras(
            [
                RegisterCamera(
                    camera_id=DEMO_CAMERA,
                    kind="fixed",
                    latitude=43.0481,
                    longitude=-76.1474,
                    agency="Syracuse PD (synthetic)",
                    description="demo capture: rendered plates at Salina St and Fayette St",
                )
            ],
            by="alpr-ledger demo-capture",
            existing_ok=True,
        )
        _ensure_demo_hotlist(app)
        camera = _camera_from_registry(app, DEMO_CAMERA)
        queue_path = default_queue_path(runtime.settings.data_dir, DEMO_CAMERA)
        with DeliveryQueue(queue_path) as queue:
            sender = Sender(queue, ServiceTransport(app))
            stats, left = run_capture(
                camera=camera,
                sender=sender,
                queue_path=queue_path,
                source=FolderSource(folder),
                recognizer=build_recognizer("rapidocr"),
                tracker=Tracker(window=timedelta(seconds=3)),
                drain_timeout_s=10,
            )
        s = sender.stats
        console.print(
            f"demo capture: {stats.frames} images, {stats.sightings} plates read; {s.sent} new reads, "
            f"{s.duplicates} already recorded, {s.hits} hit(s); {left} waiting"
        )
    finally:
        runtime.close()


def _ensure_demo_hotlist(app: Any) -> None:
    if any(h.name == DEMO_HOTLIST for h in app.list_hotlists()):
        return
    hotlist_id = app.create_hotlist(
        DEMO_HOTLIST, "manual", provenance="demo: rendered plates", actor="alpr-ledger demo-capture"
    )
    app.add_manual_entry(
        hotlist_id,
        DEMO_HOTLISTED,
        "TX",
        reason="demo: a rendered plate, to show a hit",
        case_number="DEMO-0001",
        actor="alpr-ledger demo-capture",
    )


__all__ = ["CaptureStats", "capture", "capture_frames", "demo_capture", "run_capture"]
